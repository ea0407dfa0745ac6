// HTTP/1.1 client driver, RFC 9112 over a Conn: one exchange (request out, interim 1xx responses,
// the final response head, its body by length, chunks or close), keep-alive bookkeeping, and the
// redirect rules of RFC 9110 §15.4.
//
// How it works: `exchange` writes the request (Content-Length or chunked, §6.2/§7.1), then reads
// frames from the codec: heads until a non-1xx one (§15.2), then the body in pieces no larger than
// 256 KiB, collected up to a cap or handed to a sink (a streamed download). Bytes past the body cap are not read: the connection is then closed rather than reused.
// Every frame's wire bytes go into `raw` (capped) so the answer can show the response as received.
import { concat, fromLatin1, fromUtf8, toBase64 as toB64 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { PortolanError, ProtocolError, classify } from '../../core/errors.ts';
import type { ByteSink } from '../../core/files.ts';
import { cutShort } from './files.ts';
import {
  chunkEndFrame,
  chunkLineFrame,
  describeHead,
  encodeChunk,
  encodeLastChunk,
  encodeRequestHead,
  fieldValue,
  keepsAlive,
  responseBodyLength,
  responseHeadFrame,
  trailerFrame,
  type BodyLength,
  type Field,
  type ResponseHead,
} from './codec.ts';

const PIECE = 256 * 1024;
const MAX_INTERIM = 20;

export interface ExchangeRequest {
  method: string;
  target: string;
  /** Header fields in order, Host first. */
  headers: Field[];
  body?: Uint8Array;
  /** Send the body with the chunked transfer coding in chunks of this many bytes. */
  chunkSize?: number;
  trailers?: Field[];
  maxBodyBytes: number;
  maxRawBytes: number;
  /** The head carries credentials (Proxy-Authorization): the transcript keeps its size and first line only. */
  secretHead?: boolean;
  /** The body carries credentials (a password in a login form): the transcript keeps its size only. */
  secretBody?: boolean;
  /**
   * Streams the body instead of collecting it: called with the final head, it returns where the body
   * goes (no cap then; each write is awaited before the next read). A body cut short throws `closed`.
   */
  bodySink?: (head: ResponseHead) => Promise<ByteSink>;
}

export interface ExchangeResult {
  requestHead: string;
  requestBodyBytes: number;
  interim: { status: number; reason: string; headers: Field[] }[];
  head: Omit<ResponseHead, 'raw'>;
  framing: BodyLength;
  body: Uint8Array;
  /** Body bytes received (after de-chunking). */
  bodyBytes: number;
  /** The body went past maxBodyBytes and was not read to its end. */
  truncated: boolean;
  chunks: number;
  trailers: Field[];
  raw: Uint8Array;
  rawBytes: number;
  /** The server may take another request on this connection. */
  reusable: boolean;
  /** A `close`-delimited body ended by a reset rather than a clean close. */
  uncleanEnd: boolean;
  /** ms from the operation's clock: request written, first response byte, head complete, body complete. */
  sentAt: number;
  firstByteAt: number;
  headAt: number;
  doneAt: number;
}

/** Whatever has arrived, 1 to `max` bytes (a view, not a copy); `closed` when the stream ends first. */
async function readSome(conn: Conn, max: number, what: string): Promise<Uint8Array> {
  const piece = await conn.read(max);
  if (piece === null) throw new PortolanError('closed', `server closed the connection while waiting for ${what}`);
  return piece;
}

/** Collects the raw response up to a cap. */
class RawCapture {
  private parts: Uint8Array[] = [];
  size = 0;
  kept = 0;
  constructor(private readonly max: number) {}
  add(bytes: Uint8Array): void {
    this.size += bytes.length;
    if (this.kept >= this.max) return;
    const take = bytes.subarray(0, this.max - this.kept);
    this.parts.push(take.slice());
    this.kept += take.length;
  }
  bytes(): Uint8Array {
    return concat(this.parts);
  }
}

/** Collects the body up to a cap, or hands it on to a sink. */
class BodyCapture {
  private parts: Uint8Array[] = [];
  size = 0;
  constructor(
    readonly max: number,
    private readonly sink?: ByteSink,
  ) {}
  get room(): number {
    return this.max - this.size;
  }
  async add(bytes: Uint8Array): Promise<void> {
    this.size += bytes.length;
    if (this.sink) return this.sink.write(bytes);
    this.parts.push(bytes);
  }
  bytes(): Uint8Array {
    return concat(this.parts);
  }
}

export async function exchange(conn: Conn, req: ExchangeRequest, now: () => number): Promise<ExchangeResult> {
  const sent = await writeRequest(conn, req);
  return readResponse(conn, req, now, { ...sent, sentAt: now() });
}

export interface SentRequest {
  requestHead: string;
  requestBodyBytes: number;
}

/** Writes one request: head, then the body as is or chunked. */
export async function writeRequest(conn: Conn, req: ExchangeRequest): Promise<SentRequest> {
  const head = encodeRequestHead({ method: req.method, target: req.target, headers: req.headers });
  const requestHead = fromLatin1(head);
  const firstLine = requestHead.slice(0, requestHead.indexOf('\r\n'));
  await conn.write(head, { decode: `${firstLine} (${req.headers.length} fields${req.secretHead ? ', credentials masked' : ''})`, secret: req.secretHead });
  const body = req.body ?? new Uint8Array(0);
  if (req.chunkSize !== undefined) {
    for (let at = 0; at < body.length; at += req.chunkSize) {
      const piece = body.subarray(at, at + req.chunkSize);
      await conn.write(encodeChunk(piece), { decode: `chunk of ${piece.length} bytes`, secret: req.secretBody });
    }
    await conn.write(encodeLastChunk(req.trailers ?? []), { decode: `last chunk${req.trailers?.length ? ` with ${req.trailers.length} trailer fields` : ''}` });
  } else if (body.length > 0) {
    for (let at = 0; at < body.length; at += PIECE) await conn.write(body.subarray(at, at + PIECE), { decode: `request body, ${Math.min(PIECE, body.length - at)} bytes${req.secretBody ? ' (masked)' : ''}`, secret: req.secretBody });
  }  return { requestHead, requestBodyBytes: body.length };
}

/** Reads the response to a request written earlier (at `sentAt` on the `now` clock); with pipelining, in request order. */
export async function readResponse(conn: Conn, req: ExchangeRequest, now: () => number, sent: SentRequest & { sentAt: number }): Promise<ExchangeResult> {
  const { requestHead, requestBodyBytes, sentAt } = sent;
  let firstByteAt = -1;
  const headFrame = responseHeadFrame();
  const timedHead = (buf: Uint8Array) => {
    if (firstByteAt < 0 && buf.length > 0) firstByteAt = now();
    return headFrame(buf);
  };
  const raw = new RawCapture(req.maxRawBytes);
  const interim: ExchangeResult['interim'] = [];
  let final: ResponseHead | undefined;
  for (let i = 0; i <= MAX_INTERIM; i++) {
    // A response to a request with credentials may set a session cookie: its head is then kept out too.
    const h = await conn.readFrame(timedHead, 'HTTP response head', describeHead, (head) => req.secretHead === true && head.headers.some(([name]) => name.toLowerCase() === 'set-cookie'));
    raw.add(h.raw);
    // RFC 9110 §15.2: 1xx responses are interim; the final response follows. 101 ends HTTP/1.1 here.
    if (h.status >= 100 && h.status < 200 && h.status !== 101) {
      interim.push({ status: h.status, reason: h.reason, headers: h.headers });
      continue;
    }
    final = h;
    break;
  }
  if (!final) throw new ProtocolError(`more than ${MAX_INTERIM} interim (1xx) responses`);
  const headAt = now();
  const { raw: _raw, ...parsedHead } = final;
  const framing = responseBodyLength(final, req.method);
  const sink = req.bodySink ? await req.bodySink(final) : undefined;
  // The body in reads that grow with what arrives (a 4 KiB read costs a Worker as much as a large one).
  conn.bulkReads(PIECE);
  const captured = new BodyCapture(sink ? Number.POSITIVE_INFINITY : req.maxBodyBytes, sink);
  let truncated = false;
  let chunks = 0;
  let trailers: Field[] = [];
  let uncleanEnd = false;
  if (framing.kind === 'length') {
    let left = framing.length;
    while (left > 0) {
      if (captured.room <= 0) {
        truncated = true;
        break;
      }
      const piece = await readSome(conn, Math.min(left, PIECE, captured.room), 'response body').catch((e: unknown) => {
        throw sink && classify(e).code === 'closed' ? cutShort(`a ${framing.length}-byte body`) : e;
      });
      raw.add(piece);
      await captured.add(piece);
      left -= piece.length;
    }
  } else if (framing.kind === 'chunked') {
    read: for (;;) {
      const line = await conn.readFrame(chunkLineFrame, 'chunk-size line', (c) => `chunk-size ${c.size}${c.extensions ? `; ${c.extensions}` : ''}`).catch((e: unknown) => {
        throw sink && classify(e).code === 'closed' ? cutShort('a chunked body') : e;
      });
      raw.add(line.raw);
      if (line.size === 0) {
        const t = await conn.readFrame(trailerFrame(), 'trailer section', (x) => (x.trailers.length ? `trailers: ${x.trailers.map(([n]) => n).join(', ')}` : 'end of chunked body'));
        raw.add(t.raw);
        trailers = t.trailers;
        break;
      }
      chunks++;
      let left = line.size;
      while (left > 0) {
        if (captured.room <= 0) {
          truncated = true;
          break read;
        }
        const piece = await readSome(conn, Math.min(left, PIECE, captured.room), 'chunk data').catch((e: unknown) => {
          throw sink && classify(e).code === 'closed' ? cutShort('a chunked body') : e;
        });
        raw.add(piece);
        await captured.add(piece);
        left -= piece.length;
      }
      raw.add(await conn.readFrame(chunkEndFrame, 'CRLF after chunk data', () => 'CRLF'));
    }
  } else if (framing.kind === 'close') {
    for (;;) {
      if (captured.room <= 0) {
        truncated = true;
        break;
      }
      let piece: Uint8Array | null;
      try {
        piece = await conn.read(Math.min(PIECE, captured.room));
      } catch (e) {
        // A peer that resets instead of closing cleanly still delivered what came before.
        const err = classify(e);
        if (err.code !== 'closed') throw err;
        // Streamed, a reset is no end of file: only a clean close is.
        if (sink) throw cutShort('a body delimited by the connection');
        uncleanEnd = true;
        piece = null;
      }
      if (piece === null) break;
      raw.add(piece);
      await captured.add(piece);
    }
  }
  return {
    requestHead,
    requestBodyBytes,
    interim,
    head: parsedHead,
    framing,
    body: captured.bytes(),
    bodyBytes: captured.size,
    truncated,
    chunks,
    trailers,
    raw: raw.bytes(),
    rawBytes: raw.size,
    reusable: !truncated && keepsAlive(final, framing) && final.status !== 101,
    uncleanEnd,
    sentAt,
    firstByteAt: firstByteAt < 0 ? headAt : firstByteAt,
    headAt,
    doneAt: now(),
  };
}

export interface Origin {
  scheme: 'http' | 'https';
  host: string;
  port: number;
}

export function defaultPortOf(scheme: 'http' | 'https'): number {
  return scheme === 'https' ? 443 : 80;
}

/** The Host field value for an origin (RFC 9110 §7.2): the port only when it is not the scheme's default. */
export function hostField(o: Origin): string {
  const h = o.host.includes(':') ? `[${o.host}]` : o.host;
  return o.port === defaultPortOf(o.scheme) ? h : `${h}:${o.port}`;
}

export function urlOf(o: Origin, target: string): string {
  return `${o.scheme}://${hostField(o)}${target.startsWith('/') ? target : ''}`;
}

/** Resolves a Location value against the request URL (RFC 9110 §10.2.2, RFC 3986 §5). */
export function resolveLocation(base: Origin, target: string, location: string): { origin: Origin; target: string; url: string } {
  let url: URL;
  try {
    url = new URL(location, urlOf(base, target.startsWith('/') ? target : '/'));
  } catch {
    throw new ProtocolError(`Location ${JSON.stringify(location.slice(0, 200))} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ProtocolError(`Location ${JSON.stringify(location.slice(0, 200))} leaves HTTP (${url.protocol})`);
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const origin: Origin = { scheme, host, port: url.port ? Number(url.port) : defaultPortOf(scheme) };
  return { origin, target: `${url.pathname}${url.search}`, url: url.href };
}

export function sameOrigin(a: Origin, b: Origin): boolean {
  return a.scheme === b.scheme && a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port;
}

export const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * The method and body of the next hop (RFC 9110 §15.4): 303 turns anything but HEAD into GET without
 * a body; 301 and 302 do so for POST (what user agents do, §15.4.2/§15.4.3); 307 and 308 keep both.
 */
export function redirectMethod(status: number, method: string): { method: string; keepBody: boolean } {
  if (status === 303 && method !== 'HEAD') return { method: 'GET', keepBody: false };
  if ((status === 301 || status === 302) && method === 'POST') return { method: 'GET', keepBody: false };
  return { method, keepBody: status === 307 || status === 308 };
}

/** Header names that describe the body: dropped when a redirect drops the body. */
export const BODY_HEADERS = new Set(['content-length', 'content-type', 'transfer-encoding', 'content-encoding']);

export function location(head: Pick<ResponseHead, 'headers'>): string | undefined {
  return fieldValue(head.headers, 'location');
}

/** The text of a body: UTF-8 when it is valid UTF-8, otherwise undefined. */
export function textOf(bytes: Uint8Array): string | undefined {
  try {
    return fromUtf8(bytes, true);
  } catch {
    return undefined;
  }
}

export function isTextType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const t = contentType.toLowerCase();
  return t.startsWith('text/') || /json|xml|javascript|ecmascript|x-www-form-urlencoded|charset=/.test(t);
}

export type BodyEncoding = 'auto' | 'text' | 'base64';

/** A body for JSON: text when asked or when it looks like text and decodes; base64 otherwise. */
export function bodyJson(bytes: Uint8Array, encoding: BodyEncoding, contentType?: string): { text?: string; base64?: string } {
  if (encoding !== 'base64') {
    const text = textOf(bytes);
    if (text !== undefined && (encoding === 'text' || isTextType(contentType) || bytes.length === 0 || looksTextual(bytes))) return { text };
    if (encoding === 'text') return { text: fromUtf8(bytes) };
  }
  return { base64: toB64(bytes) };
}

function looksTextual(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 512);
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b < 0x09 || (b > 0x0d && b < 0x20) || b === 0x7f) return false;
  }
  return true;
}

/** The deadline fired or the server reset while reading: say which part was missing. */
export function duringBody(e: unknown, what: string): PortolanError {
  const err = classify(e);
  return new PortolanError(err.code, `${what}: ${err.message}`, err.detail);
}
