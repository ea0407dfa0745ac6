// The part of HTTP/1.1 that DNS over HTTPS needs, RFC 9112: a request (§3), a response's status line (§4),
// header fields (§5), and its body by Content-Length (§6.3) or chunked transfer coding (§7.1).
//
// How it works: `responseFrame` is a sans-I/O frame over the receive buffer. It waits for the blank line
// that ends the header block, reads the framing headers, and then either waits for the whole body (fixed
// length or every chunk through the last-chunk and trailers) or, when the response has neither, returns
// the head alone and says the body runs until the server closes. Every size is capped: the header block,
// each header count, each chunk-size line and the body.
import { ByteWriter, fromLatin1, indexOf, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

const CRLF = utf8('\r\n');
const END_OF_HEAD = utf8('\r\n\r\n');
/** Longest header block we accept. */
const MAX_HEAD = 16 * 1024;
const MAX_HEADERS = 100;
const MAX_CHUNK_LINE = 1024;

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Origin-form target: path and query (RFC 9112 §3.2.1). */
  target: string;
  /** Host header value (RFC 9112 §3.2: required). */
  host: string;
  headers?: [string, string][];
  body?: Uint8Array;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function encodeRequest(req: HttpRequest): Uint8Array {
  if (!/^\/[\x21-\x7e]*$/.test(req.target)) throw new ProtocolError(`request target ${JSON.stringify(req.target)} must be an origin-form path`);
  const lines = [`${req.method} ${req.target} HTTP/1.1`, `Host: ${req.host}`];
  for (const [name, value] of req.headers ?? []) {
    // RFC 9110 §5.1/§5.5: a token name; no CR, LF or NUL in values.
    if (!TOKEN.test(name) || /[\r\n\0]/.test(value)) throw new ProtocolError(`header ${JSON.stringify(name)} is not a valid field`);
    lines.push(`${name}: ${value}`);
  }
  if (req.body) lines.push(`Content-Length: ${req.body.length}`);
  const w = new ByteWriter(256 + (req.body?.length ?? 0));
  w.text(lines.join('\r\n') + '\r\n\r\n');
  if (req.body) w.bytes(req.body);
  return w.finish();
}

export interface HttpResponse {
  version: string;
  status: number;
  reason: string;
  /** Field names in lower case, in the order received. */
  headers: [string, string][];
  /** The body, or null when it runs until the connection closes (read it with readToEnd). */
  body: Uint8Array | null;
}

export function header(res: Pick<HttpResponse, 'headers'>, name: string): string | undefined {
  const lower = name.toLowerCase();
  const values = res.headers.filter(([n]) => n === lower).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(', ');
}

function parseHead(head: Uint8Array): Omit<HttpResponse, 'body'> {
  const text = fromLatin1(head);
  const lines = text.split('\r\n');
  // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
  const m = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new ProtocolError(`not an HTTP/1.x status line: ${JSON.stringify(lines[0].slice(0, 80))}`);
  if (lines.length - 1 > MAX_HEADERS) throw new ProtocolError(`more than ${MAX_HEADERS} header fields`);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    // RFC 9112 §5.2: obsolete line folding is rejected; §5.1: no whitespace before the colon.
    if (colon <= 0 || /^[ \t]/.test(line)) throw new ProtocolError(`malformed header field ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new ProtocolError(`malformed header name ${JSON.stringify(name.slice(0, 80))}`);
    headers.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return { version: `${m[1]}.${m[2]}`, status: Number(m[3]), reason: m[4] ?? '', headers };
}

/** Parses a chunked body starting at `at`; undefined when more bytes are needed. */
function readChunked(buf: Uint8Array, at: number, maxBody: number): { body: Uint8Array; end: number } | undefined {
  const parts: Uint8Array[] = [];
  let total = 0;
  let pos = at;
  for (;;) {
    const eol = indexOf(buf, CRLF, pos);
    if (eol === -1) {
      if (buf.length - pos > MAX_CHUNK_LINE) throw new ProtocolError('chunk-size line too long');
      return undefined;
    }
    if (eol - pos > MAX_CHUNK_LINE) throw new ProtocolError('chunk-size line too long');
    // RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF; extensions are ignored.
    const line = fromLatin1(buf.subarray(pos, eol));
    const m = /^([0-9A-Fa-f]{1,8})[ \t]*(?:;.*)?$/.exec(line);
    if (!m) throw new ProtocolError(`malformed chunk-size line ${JSON.stringify(line.slice(0, 40))}`);
    const size = parseInt(m[1], 16);
    pos = eol + 2;
    if (size === 0) {
      // Trailer section, then the final CRLF (RFC 9112 §7.1.2).
      for (;;) {
        const end = indexOf(buf, CRLF, pos);
        if (end === -1) {
          if (buf.length - pos > MAX_HEAD) throw new ProtocolError('trailer section too long');
          return undefined;
        }
        if (end === pos) {
          const body = new Uint8Array(total);
          let o = 0;
          for (const p of parts) {
            body.set(p, o);
            o += p.length;
          }
          return { body, end: end + 2 };
        }
        pos = end + 2;
      }
    }
    total += size;
    if (total > maxBody) throw new ProtocolError(`chunked body larger than ${maxBody} bytes`);
    if (buf.length < pos + size + 2) return undefined;
    if (buf[pos + size] !== 0x0d || buf[pos + size + 1] !== 0x0a) throw new ProtocolError('chunk data not followed by CRLF');
    parts.push(buf.subarray(pos, pos + size));
    pos += size + 2;
  }
}

/** One whole HTTP/1.1 response; `body` null means "until the connection closes" (RFC 9112 §6.3 item 8). */
export function responseFrame(maxBody = 65535, requestMethod: 'GET' | 'POST' | 'HEAD' = 'GET'): Frame<HttpResponse> {
  return (buf) => {
    const end = indexOf(buf, END_OF_HEAD);
    if (end === -1) {
      if (buf.length > MAX_HEAD) throw new ProtocolError(`HTTP header block larger than ${MAX_HEAD} bytes`);
      return undefined;
    }
    if (end > MAX_HEAD) throw new ProtocolError(`HTTP header block larger than ${MAX_HEAD} bytes`);
    const head = parseHead(buf.subarray(0, end));
    const bodyStart = end + 4;
    // RFC 9112 §6.3 items 1–2: 1xx, 204, 304 and answers to HEAD have no body.
    if (requestMethod === 'HEAD' || (head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304) {
      return { value: { ...head, body: new Uint8Array(0) }, size: bodyStart };
    }
    const te = header(head, 'transfer-encoding');
    if (te !== undefined) {
      // RFC 9112 §6.1: chunked must be the final coding; §6.3 item 3: it overrides Content-Length.
      const codings = te.toLowerCase().split(',').map((s) => s.trim());
      if (codings[codings.length - 1] !== 'chunked') return { value: { ...head, body: null }, size: bodyStart };
      if (codings.length > 1) throw new ProtocolError(`transfer coding ${JSON.stringify(te)} is not supported; only chunked`);
      const got = readChunked(buf, bodyStart, maxBody);
      if (!got) return undefined;
      return { value: { ...head, body: got.body.slice() }, size: got.end };
    }
    const cl = header(head, 'content-length');
    if (cl !== undefined) {
      // RFC 9112 §6.3 item 5: differing or malformed lengths are unrecoverable.
      const values = [...new Set(cl.split(',').map((s) => s.trim()))];
      if (values.length !== 1 || !/^\d{1,10}$/.test(values[0])) throw new ProtocolError(`invalid Content-Length ${JSON.stringify(cl)}`);
      const length = Number(values[0]);
      if (length > maxBody) throw new ProtocolError(`response body of ${length} bytes exceeds the ${maxBody}-byte limit`);
      if (buf.length < bodyStart + length) return undefined;
      return { value: { ...head, body: buf.slice(bodyStart, bodyStart + length) }, size: bodyStart + length };
    }
    return { value: { ...head, body: null }, size: bodyStart };
  };
}

export function describeResponse(r: HttpResponse): string {
  const type = header(r, 'content-type');
  return `HTTP/${r.version} ${r.status} ${r.reason}${type ? ` (${type})` : ''}${r.body ? `, ${r.body.length} bytes` : ', body until close'}`;
}
