// HTTP/1.1 message syntax, RFC 9112: request line (§3), status line (§4), field lines (§5),
// message body length (§6.3) and the chunked transfer coding (§7.1), both directions.
//
// How it works: every reader is a sans-I/O `Frame` over the receive buffer, so the client can read a
// response head, then each chunk-size line, each piece of chunk data and the trailer section straight
// from a Conn without copying the body into one buffer first (bodies can be large; chunks too). The
// same frames compose into `chunkedBodyFrame` and `responseFrame` for small whole messages, which is
// what the split-feed and fuzz tests drive. Every frame returns the exact wire bytes it consumed
// (`raw`) so the client can show the response as received beside the parsed one.
import { ByteWriter, fromLatin1, indexOf, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

const CRLF = utf8('\r\n');
const END_OF_HEAD = utf8('\r\n\r\n');
/** Longest header block (status line and fields) we accept. */
export const MAX_HEAD = 64 * 1024;
export const MAX_FIELDS = 200;
const MAX_CHUNK_LINE = 4096;
/** A chunk-size is at most 15 hex digits: it must fit a JS safe integer. */
const MAX_CHUNK_DIGITS = 13;

/** RFC 9110 §5.6.2: token = 1*tchar. */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export type Field = [name: string, value: string];

export interface RequestHead {
  method: string;
  /** origin-form ("/path?q"), absolute-form, authority-form (CONNECT) or "*" (OPTIONS). */
  target: string;
  /** Fields in order, as given (the caller adds Host). */
  headers: Field[];
}

/** RFC 9110 §5.5: a field value has no CR, LF or NUL; leading and trailing whitespace is not part of it. */
export function checkField(name: string, value: string, where = 'header'): void {
  if (!TOKEN.test(name)) throw new ProtocolError(`${where} name ${JSON.stringify(name.slice(0, 60))} is not a token (RFC 9110 §5.1)`);
  if (/[\r\n\0]/.test(value)) throw new ProtocolError(`${where} ${name} has CR, LF or NUL in its value (RFC 9110 §5.5)`);
}

/** The request line and field lines, ending with the empty line. Values are sent as UTF-8. */
export function encodeRequestHead(req: RequestHead): Uint8Array {
  if (!TOKEN.test(req.method)) throw new ProtocolError(`method ${JSON.stringify(req.method)} is not a token (RFC 9110 §9.1)`);
  // RFC 9112 §3.2: the request-target has no whitespace or control characters.
  if (!/^[\x21-\x7e]+$/.test(req.target)) throw new ProtocolError(`request target ${JSON.stringify(req.target.slice(0, 80))} has spaces or control characters`);
  const lines = [`${req.method} ${req.target} HTTP/1.1`];
  for (const [name, value] of req.headers) {
    checkField(name, value);
    lines.push(`${name}: ${value.trim()}`);
  }
  return utf8(lines.join('\r\n') + '\r\n\r\n');
}

/** One chunk (RFC 9112 §7.1): hex size, CRLF, data, CRLF. An empty chunk is never written here. */
export function encodeChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) throw new ProtocolError('an empty chunk would end the body; use encodeLastChunk');
  return new ByteWriter(data.length + 16).text(`${data.length.toString(16)}\r\n`).bytes(data).text('\r\n').finish();
}

/** last-chunk, optional trailer fields, and the final CRLF (RFC 9112 §7.1, §7.1.2). */
export function encodeLastChunk(trailers: Field[] = []): Uint8Array {
  let text = '0\r\n';
  for (const [name, value] of trailers) {
    checkField(name, value, 'trailer');
    text += `${name}: ${value.trim()}\r\n`;
  }
  return utf8(text + '\r\n');
}

/** A whole chunked body: `data` cut into chunks of `chunkSize` bytes. */
export function encodeChunkedBody(data: Uint8Array, chunkSize: number, trailers: Field[] = []): Uint8Array {
  const w = new ByteWriter(data.length + 64);
  for (let at = 0; at < data.length; at += chunkSize) w.bytes(encodeChunk(data.subarray(at, at + chunkSize)));
  return w.bytes(encodeLastChunk(trailers)).finish();
}

export interface ResponseHead {
  /** "1.1" or "1.0". */
  version: string;
  status: number;
  reason: string;
  /** Field names lower-cased, values trimmed, in the order received. */
  headers: Field[];
  /** The head as received, status line through the empty line. */
  raw: Uint8Array;
}

export function fieldValue(headers: readonly Field[], name: string): string | undefined {
  const lower = name.toLowerCase();
  const values = headers.filter(([n]) => n === lower).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(', ');
}

/** Field lines (RFC 9112 §5): name ":" OWS value OWS; no obs-fold (§5.2), no space before the colon (§5.1). */
function parseFields(lines: string[], where: string): Field[] {
  if (lines.length > MAX_FIELDS) throw new ProtocolError(`more than ${MAX_FIELDS} ${where} fields`);
  const out: Field[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (/^[ \t]/.test(line)) throw new ProtocolError(`${where} field line starts with whitespace (obsolete line folding, RFC 9112 §5.2): ${JSON.stringify(line.slice(0, 80))}`);
    if (colon <= 0) throw new ProtocolError(`malformed ${where} field line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new ProtocolError(`malformed ${where} field name ${JSON.stringify(name.slice(0, 80))} (RFC 9112 §5.1)`);
    out.push([name.toLowerCase(), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '')]);
  }
  return out;
}

/** Splits a field block on CRLF; a bare LF is accepted as a line end (RFC 9112 §2.2 allows it). */
function lines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** Status line and fields up to the empty line (RFC 9112 §4, §5). */
export function responseHeadFrame(maxHead = MAX_HEAD): Frame<ResponseHead> {
  return (buf) => {
    const end = indexOf(buf, END_OF_HEAD);
    if (end === -1) {
      if (buf.length > maxHead) throw new ProtocolError(`HTTP response head larger than ${maxHead} bytes`);
      // Say early when the peer is not speaking HTTP/1.x at all (an h2 server, TLS, a banner).
      if (buf.length >= 5 && fromLatin1(buf.subarray(0, 5)) !== 'HTTP/') throw notHttp(buf);
      return undefined;
    }
    if (end > maxHead) throw new ProtocolError(`HTTP response head larger than ${maxHead} bytes`);
    const all = lines(fromLatin1(buf.subarray(0, end)));
    // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
    const m = /^HTTP\/(\d)\.(\d) (\d{3})(?: ([^\r\n]*))?$/.exec(all[0]);
    if (!m) throw notHttp(buf);
    const size = end + 4;
    return {
      value: { version: `${m[1]}.${m[2]}`, status: Number(m[3]), reason: m[4] ?? '', headers: parseFields(all.slice(1), 'header'), raw: buf.slice(0, size) },
      size,
    };
  };
}

function notHttp(buf: Uint8Array): ProtocolError {
  const head = buf.subarray(0, 24);
  if (head.length >= 9 && head[3] === 0x04) return new ProtocolError('the server answered with an HTTP/2 SETTINGS frame: it speaks HTTP/2 here (try the http2 protocol)');
  if (head[0] === 0x15 || head[0] === 0x16) return new ProtocolError('the server answered with a TLS record: use tls: implicit');
  const text = fromLatin1(head).replace(/[^\x20-\x7e]/g, '.');
  return new ProtocolError(`not an HTTP/1.x status line: ${JSON.stringify(text)}`);
}

/** How the response body is delimited (RFC 9112 §6.3). */
export type BodyLength =
  | { kind: 'none'; why: string }
  | { kind: 'length'; length: number }
  | { kind: 'chunked'; codings: string[] }
  | { kind: 'close'; why: string };

export function responseBodyLength(head: Pick<ResponseHead, 'status' | 'headers'>, method: string): BodyLength {
  // §6.3 item 1: HEAD responses, 1xx, 204 and 304 end at the empty line.
  if (method === 'HEAD') return { kind: 'none', why: 'response to HEAD' };
  if (head.status < 200 || head.status === 204 || head.status === 304) return { kind: 'none', why: `status ${head.status}` };
  // §6.3 item 2: a 2xx answer to CONNECT turns the connection into a tunnel.
  if (method === 'CONNECT' && head.status < 300) return { kind: 'none', why: 'CONNECT tunnel established' };
  const te = fieldValue(head.headers, 'transfer-encoding');
  if (te !== undefined) {
    const codings = te.toLowerCase().split(',').map((s) => s.trim()).filter(Boolean);
    // §6.3 item 4: chunked last means chunked framing (it overrides Content-Length, item 3);
    // otherwise the body runs until the server closes.
    if (codings[codings.length - 1] === 'chunked') return { kind: 'chunked', codings };
    return { kind: 'close', why: `transfer coding ${te} without chunked` };
  }
  const cl = fieldValue(head.headers, 'content-length');
  if (cl !== undefined) {
    // §6.3 item 5: a list of identical values is one value; anything else is unrecoverable.
    const values = [...new Set(cl.split(',').map((s) => s.trim()))];
    if (values.length !== 1 || !/^\d{1,15}$/.test(values[0])) throw new ProtocolError(`invalid Content-Length ${JSON.stringify(cl.slice(0, 60))} (RFC 9112 §6.3)`);
    return { kind: 'length', length: Number(values[0]) };
  }
  // §6.3 item 8: no framing fields: the body is everything until the connection closes.
  return { kind: 'close', why: 'no Content-Length or Transfer-Encoding' };
}

/** Whether the connection may carry another request after this response (RFC 9112 §9.3). */
export function keepsAlive(head: Pick<ResponseHead, 'version' | 'headers'>, body: BodyLength): boolean {
  if (body.kind === 'close') return false;
  const connection = (fieldValue(head.headers, 'connection') ?? '').toLowerCase().split(',').map((s) => s.trim());
  if (connection.includes('close')) return false;
  if (head.version === '1.0') return connection.includes('keep-alive');
  return true;
}

export interface ChunkLine {
  size: number;
  /** chunk-ext as received, without the leading ";". */
  extensions: string;
  raw: Uint8Array;
}

/** chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1, §7.1.1). */
export const chunkLineFrame: Frame<ChunkLine> = (buf) => {
  const eol = buf.indexOf(0x0a);
  if (eol === -1) {
    if (buf.length > MAX_CHUNK_LINE) throw new ProtocolError(`chunk-size line longer than ${MAX_CHUNK_LINE} bytes`);
    return undefined;
  }
  if (eol > MAX_CHUNK_LINE) throw new ProtocolError(`chunk-size line longer than ${MAX_CHUNK_LINE} bytes`);
  const line = fromLatin1(buf.subarray(0, eol > 0 && buf[eol - 1] === 0x0d ? eol - 1 : eol));
  const m = /^([0-9A-Fa-f]+)[ \t]*(?:;(.*))?$/.exec(line);
  if (!m) throw new ProtocolError(`malformed chunk-size line ${JSON.stringify(line.slice(0, 40))} (RFC 9112 §7.1)`);
  const digits = m[1].replace(/^0+(?=.)/, '');
  if (digits.length > MAX_CHUNK_DIGITS) throw new ProtocolError(`chunk-size ${m[1].slice(0, 20)} is too large`);
  return { value: { size: parseInt(digits, 16), extensions: (m[2] ?? '').trim(), raw: buf.slice(0, eol + 1) }, size: eol + 1 };
};

/** The CRLF after chunk data (RFC 9112 §7.1). */
export const chunkEndFrame: Frame<Uint8Array> = (buf) => {
  if (buf.length === 0) return undefined;
  if (buf[0] === 0x0a) return { value: buf.slice(0, 1), size: 1 };
  if (buf.length < 2) return buf[0] === 0x0d ? undefined : badChunkEnd();
  if (buf[0] !== 0x0d || buf[1] !== 0x0a) return badChunkEnd();
  return { value: buf.slice(0, 2), size: 2 };
};

function badChunkEnd(): never {
  throw new ProtocolError('chunk data is not followed by CRLF (RFC 9112 §7.1): the chunk-size was wrong');
}

/** trailer-section and the final CRLF (RFC 9112 §7.1.2). */
export function trailerFrame(maxHead = MAX_HEAD): Frame<{ trailers: Field[]; raw: Uint8Array }> {
  return (buf) => {
    // An empty trailer section is just the final CRLF.
    if (buf.length === 0) return undefined;
    if (buf[0] === 0x0a) return { value: { trailers: [], raw: buf.slice(0, 1) }, size: 1 };
    if (buf[0] === 0x0d) {
      if (buf.length < 2) return undefined;
      if (buf[1] === 0x0a) return { value: { trailers: [], raw: buf.slice(0, 2) }, size: 2 };
    }
    const end = indexOf(buf, END_OF_HEAD);
    if (end === -1) {
      if (buf.length > maxHead) throw new ProtocolError(`trailer section larger than ${maxHead} bytes`);
      return undefined;
    }
    const size = end + 4;
    return { value: { trailers: parseFields(lines(fromLatin1(buf.subarray(0, end))), 'trailer'), raw: buf.slice(0, size) }, size };
  };
}

export interface DecodedBody {
  body: Uint8Array;
  trailers: Field[];
  chunks: number;
}

/** A whole chunked body in the buffer (for small bodies and tests); the client reads chunk by chunk. */
export function chunkedBodyFrame(maxBody = 16 * 1024 * 1024): Frame<DecodedBody> {
  const trailer = trailerFrame();
  return (buf) => {
    let at = 0;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const line = chunkLineFrame(buf.subarray(at));
      if (!line) return undefined;
      at += line.size;
      if (line.value.size === 0) {
        const t = trailer(buf.subarray(at));
        if (!t) return undefined;
        at += t.size;
        const body = new ByteWriter(total || 1);
        for (const p of parts) body.bytes(p);
        return { value: { body: body.finish(), trailers: t.value.trailers, chunks: parts.length }, size: at };
      }
      total += line.value.size;
      if (total > maxBody) throw new ProtocolError(`chunked body larger than ${maxBody} bytes`);
      if (buf.length < at + line.value.size) return undefined;
      parts.push(buf.subarray(at, at + line.value.size));
      at += line.value.size;
      const end = chunkEndFrame(buf.subarray(at));
      if (!end) return undefined;
      at += end.size;
    }
  };
}

export interface WholeResponse {
  head: Omit<ResponseHead, 'raw'>;
  body: Uint8Array;
  trailers: Field[];
}

/** One whole response to `method` whose body is delimited by length or chunks (for tests and DoH-size bodies). */
export function responseFrame(method = 'GET', maxBody = 16 * 1024 * 1024): Frame<WholeResponse> {
  const headFrame = responseHeadFrame();
  const chunked = chunkedBodyFrame(maxBody);
  return (buf) => {
    const h = headFrame(buf);
    if (!h) return undefined;
    const { raw: _raw, ...head } = h.value;
    const length = responseBodyLength(head, method);
    if (length.kind === 'none') return { value: { head, body: new Uint8Array(0), trailers: [] }, size: h.size };
    if (length.kind === 'close') throw new ProtocolError(`response body runs until the connection closes (${length.why}); a whole-message frame cannot delimit it`);
    if (length.kind === 'length') {
      if (length.length > maxBody) throw new ProtocolError(`response body of ${length.length} bytes exceeds ${maxBody}`);
      if (buf.length < h.size + length.length) return undefined;
      return { value: { head, body: buf.slice(h.size, h.size + length.length), trailers: [] }, size: h.size + length.length };
    }
    const c = chunked(buf.subarray(h.size));
    if (!c) return undefined;
    return { value: { head, body: c.value.body, trailers: c.value.trailers }, size: h.size + c.size };
  };
}

/** One line for the transcript. */
export function describeHead(h: Pick<ResponseHead, 'version' | 'status' | 'reason' | 'headers'>): string {
  const type = fieldValue(h.headers, 'content-type');
  const length = fieldValue(h.headers, 'content-length');
  const te = fieldValue(h.headers, 'transfer-encoding');
  return `HTTP/${h.version} ${h.status} ${h.reason}${type ? `; ${type}` : ''}${length !== undefined ? `; ${length} bytes` : ''}${te ? `; ${te}` : ''} (${h.headers.length} fields)`;
}

export { CRLF };
