// Files over the API (docs/files.md): a download operation's bytes as the HTTP response body, an upload's
// from a multipart/form-data request body, and both as a WebSocket transfer with credits and progress.
//
// How it works: each carrier implements the core's DownloadTarget or UploadSource (core/files.ts) and runs
// the operation with it. A streamed download answers nothing until the operation's first write (or its
// end, for an empty file), so an error before the first byte is the usual JSON error. After it, an error
// aborts the body: with a Content-Length (the server told the size) the client sees a short body; the
// Node host resets the connection. The body is a stream the runtime reads as the client takes it, so a
// write settles only when there is room: a client that stops reading pauses the operation.
import type { Context } from 'hono';
import { concat } from '../core/bytes.ts';
import { classify, InvalidInput, PortolanError } from '../core/errors.ts';
import type { ByteSink, DownloadTarget, FileInfo, UploadSource } from '../core/files.ts';
import type { DefinedOperation, Protocol } from '../core/protocol.ts';
import { runOperation, type HostEnv } from '../core/runner.ts';
import type { MultipartEvent, MultipartReader } from './multipart.ts';
import type { ServerSocket } from './websocket.ts';

/** A readable/writable byte pipe for a response body; `length` when the size is known (workerd: FixedLengthStream, so Content-Length is sent). */
export type BodyPipe = (length: number | null) => { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };

// A body pipe holds no bytes ahead of the client: with a highWaterMark, workerd's FixedLengthStream stalled some
// clients' downloads midway (Node's http client, at 2–25 MiB of 64), while curl and undici read to the end.
const defaultPipe: BodyPipe = () => new TransformStream<Uint8Array, Uint8Array>();

/** The reason a streamed download is aborted with after its first byte: runtimes log it (workerd as an uncaught exception). */
export const DOWNLOAD_CUT = 'download cut after its first byte';

/** The most bytes of the `input` part of a multipart upload (the JSON input). */
export const MAX_INPUT_PART_BYTES = 1024 * 1024;

/** The caller asked for the file itself: `Accept: application/octet-stream`. */
export function wantsFileStream(c: Context): boolean {
  return /(^|,)\s*application\/octet-stream\s*(;(?!\s*q\s*=\s*0(\.0*)?\s*(,|$))|,|$)/i.test(c.req.header('accept') ?? '');
}

/** `Range: bytes=N-` (one open-ended range, RFC 9110 §14.1.2): N; any other form is ignored (the whole file answers 200). */
export function parseRange(header: string | undefined): number | undefined {
  const m = /^\s*bytes\s*=\s*(\d{1,15})\s*-\s*$/i.exec(header ?? '');
  return m ? Number(m[1]) : undefined;
}

/** RFC 6266 §4: an ASCII filename for old clients, and filename* (RFC 8187) with the UTF-8 name. */
export function contentDisposition(name: string): string {
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '_');
  const ascii = clean.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(clean).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  return ascii === clean ? `attachment; filename="${ascii}"` : `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** Header name of a metadata key: `X-Portolan-` and the key in Train-Case (`httpStatus` → X-Portolan-Http-Status). */
function metaHeader(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
  return `X-Portolan-${words.map((w) => w[0].toUpperCase() + w.slice(1).toLowerCase()).join('-')}`;
}

/** A header value: printable ASCII as it is, anything else percent-encoded (UTF-8). */
function headerValue(v: string | number | boolean): string {
  const s = String(v);
  return /^[\x20-\x7e]*$/.test(s) ? s : encodeURIComponent(s);
}

/** The response headers of a file: type, disposition, length and range, and the metadata. */
export function fileHeaders(info: FileInfo, opts: { resumable: boolean }): { status: 200 | 206; headers: Headers; length: number | null } {
  const offset = info.offset ?? 0;
  const size = typeof info.size === 'number' ? info.size : null;
  const length = size === null ? null : Math.max(0, size - offset);
  const headers = new Headers({
    'content-type': info.contentType ?? 'application/octet-stream',
    'content-disposition': contentDisposition(info.name),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  if (opts.resumable) headers.set('accept-ranges', 'bytes');
  if (length !== null) headers.set('content-length', String(length));
  if (size !== null) headers.set('x-portolan-size', String(size));
  if (info.modified) headers.set('x-portolan-modified', info.modified);
  headers.set('x-portolan-offset', String(offset));
  for (const [k, v] of Object.entries(info.meta ?? {})) if (v !== undefined && v !== null) headers.set(metaHeader(k), headerValue(v));
  let status: 200 | 206 = 200;
  if (offset > 0) {
    status = 206;
    // RFC 9110 §14.4: the range and the complete length; without a known size only the start is known.
    if (size !== null) headers.set('content-range', `bytes ${offset}-${Math.max(offset, size - 1)}/${size}`);
  }
  return { status, headers, length };
}

/** The JSON error answer, or 416 with the size for a resume at or past the end. */
function errorAnswer(e: unknown, answer: (err: unknown) => Response): Response {
  const err = classify(e);
  const size = err.detail?.size;
  if (err.name === 'RangeNotSatisfiable' && typeof size === 'number') {
    const r = answer(err);
    const headers = new Headers(r.headers);
    headers.set('content-range', `bytes */${size}`);
    return new Response(r.body, { status: 416, headers });
  }
  return answer(err);
}

/** POST with `Accept: application/octet-stream`: the file as the body. */
export function streamDownload(
  env: HostEnv,
  p: Protocol,
  op: DefinedOperation,
  body: unknown,
  opts: { range?: string; signal?: AbortSignal; pipe?: BodyPipe; answerError: (err: unknown) => Response; transcript?: boolean },
): Promise<Response> {
  if (op.transfer?.direction !== 'download') throw InvalidInput.field('accept', `${p.id} ${op.name} answers JSON; application/octet-stream is for download operations`);
  const resumable = op.transfer.resume === true;
  const range = resumable ? parseRange(opts.range) : undefined;
  let respond!: (r: Response) => void;
  const response = new Promise<Response>((r) => (respond = r));
  let info: FileInfo | undefined;
  let writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  let length: number | null = null;
  let sent = 0;
  let closed = false;

  const commit = () => {
    const head = fileHeaders(info!, { resumable });
    length = head.length;
    const { readable, writable } = (opts.pipe ?? defaultPipe)(length);
    writer = writable.getWriter();
    respond(new Response(readable, { status: head.status, headers: head.headers }));
  };

  const target: DownloadTarget = {
    offset: range,
    async begin(i) {
      info = { ...i, offset: i.offset ?? 0 };
      const sink: ByteSink = {
        async write(chunk) {
          if (chunk.length === 0) return;
          if (!writer) commit();
          sent += chunk.length;
          if (length !== null && sent > length) throw new PortolanError('protocol_error', `the server sent more than the ${length} bytes it announced`);
          // Settles when the client's side has taken the chunk: a client that stops reading holds the operation.
          await writer!.write(chunk);
          // The announced length is complete: the response ends now, not when the operation has finished with
          // the server (FTP's 226, closing the connection). A client may send its next request on the same
          // connection as soon as it has the last byte; the runtime reads it only once this response is closed,
          // and aborting a response the client already has whole breaks that connection under the next request.
          if (length !== null && sent === length) {
            closed = true;
            await writer!.close();
          }
        },
      };
      return sink;
    },
  };

  runOperation(env, p, op, body, { download: target, signal: opts.signal, transcript: opts.transcript }).then(
    () => {
      if (!info) return respond(opts.answerError(new PortolanError('protocol_error', `${p.id} ${op.name} ended without a file`)));
      if (!writer) commit();
      if (closed) return;
      if (length !== null && sent !== length) {
        void writer!.abort(new Error(`${DOWNLOAD_CUT}: closed: the server sent ${sent} of the ${length} bytes it announced`)).catch(() => {});
        return;
      }
      void writer!.close().catch(() => {});
    },
    (e) => {
      if (!writer) return respond(errorAnswer(e, opts.answerError));
      // Every announced byte went out and the response is closed: what failed after it (a late reply on the
      // control connection) cannot make the file the client has incomplete.
      if (closed) return;
      // After the first byte: abort, so the client never sees a clean end. The runtime logs an aborted
      // response as an uncaught exception; the reason says it is this one.
      const err = classify(e);
      void writer.abort(new Error(`${DOWNLOAD_CUT}: ${err.code}: ${err.message}`)).catch(() => {});
    },
  );
  return response;
}

/** Bytes the file part's pieces are gathered into before they go to the operation (each write to a server costs more than its bytes). */
const UPLOAD_CHUNK = 128 * 1024;

/** The upload's bytes from the `file` part, after the `input` part (see multipartUpload). */
class PartSource implements UploadSource {
  readonly name?: string;
  private after: MultipartEvent | undefined;

  constructor(
    private readonly reader: MultipartReader,
    name: string | undefined,
  ) {
    this.name = name;
  }

  async read(): Promise<Uint8Array | null> {
    const pieces: Uint8Array[] = [];
    let size = 0;
    while (size < UPLOAD_CHUNK && this.after === undefined) {
      const ev = await this.reader.next();
      if (ev.type !== 'data') {
        this.after = ev;
        break;
      }
      pieces.push(ev.bytes);
      size += ev.bytes.length;
    }
    if (pieces.length === 1) return pieces[0];
    if (size > 0) {
      const whole = concat(pieces);
      for (const p of pieces) this.reader.recycle(p);
      return whole;
    }
    const ev = this.after;
    if (ev?.type === 'part') {
      throw InvalidInput.field(ev.name ?? `part ${ev.index}`, `part ${ev.index} (${JSON.stringify(ev.name ?? '')}) follows the file: send one file per request, part "input" then part "file"`);
    }
    return null;
  }

  recycle(chunk: Uint8Array): void {
    this.reader.recycle(chunk);
  }
}

/** What is read and dropped of a multipart body after an error, so the client gets to read the answer. */
export const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * A multipart/form-data upload: part `input` (the JSON input without the content field) first, part
 * `file` second, streamed to the operation as it arrives. Returns the input and the source; throws
 * invalid_input naming the part when the order or the parts are wrong.
 */
export async function multipartUpload(reader: MultipartReader): Promise<{ input: Record<string, unknown>; source: UploadSource }> {
  const first = await reader.next();
  if (first.type !== 'part') throw InvalidInput.field('input', 'is missing: the body has no parts');
  if (first.name !== 'input') throw InvalidInput.field('input', `must be the first part (the JSON input); part 1 is ${JSON.stringify(first.name ?? '')}`);
  const pieces: Uint8Array[] = [];
  let size = 0;
  let ev: MultipartEvent;
  for (ev = await reader.next(); ev.type === 'data'; ev = await reader.next()) {
    size += ev.bytes.length;
    if (size > MAX_INPUT_PART_BYTES) {
      throw InvalidInput.field('input', `is larger than ${MAX_INPUT_PART_BYTES} bytes`);
    }
    pieces.push(ev.bytes.slice());
  }
  let input: unknown;
  try {
    const text = new TextDecoder().decode(pieces.length === 1 ? pieces[0] : concat(pieces));
    input = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    throw InvalidInput.field('input', 'is not valid JSON');
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw InvalidInput.field('input', 'must be a JSON object');
  }
  if (ev.type === 'end') throw InvalidInput.field('file', 'is missing: send the file as the second part, named "file"');
  if (ev.name !== 'file') throw InvalidInput.field(ev.name === 'input' ? 'input' : 'file', `must be the second part; part 2 is ${JSON.stringify(ev.name ?? '')}`);
  return { input: input as Record<string, unknown>, source: new PartSource(reader, ev.filename) };
}

// ------------------------------------------------------------------ WebSocket transfers

/** Largest data message of a WebSocket transfer; smaller writes are gathered up to it while credit is outstanding. */
export const TRANSFER_MESSAGE = 256 * 1024;
/** Progress messages come at least this often while a transfer runs. */
export const PROGRESS_MS = 250;
const COALESCE_MS = 5;
const DEFAULT_WINDOW = 4 * 1024 * 1024;

export const TRANSFER_CLOSE = { normal: 1000, error: 1011, flowControl: 4003 } as const;

type Control = { type: string; [key: string]: unknown };

/**
 * A download or an upload as a WebSocket session (docs/files.md has the messages). The first client
 * message is {"type":"start","input":{...}} with, optionally, "offset" (resume a download), "window"
 * (bytes in flight, 64 KiB–16 MiB) and, for an upload, "name" and "size".
 */
export async function serveTransfer(ws: ServerSocket, env: HostEnv, p: Protocol, op: DefinedOperation, queryInput: Record<string, unknown>): Promise<void> {
  const direction = op.transfer!.direction;
  let closed = false;
  let started = false;
  const abort = new AbortController();
  let fail: ((e: PortolanError) => void) | undefined;
  // Download state: bytes sent and not acknowledged, gathered and not sent.
  let unacked = 0;
  let window = DEFAULT_WINDOW;
  let wakeWriter: (() => void) | undefined;
  let gathered: Uint8Array[] = [];
  let gatheredBytes = 0;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  // Upload state: client bytes received and not yet taken by the operation, and taken but not acknowledged.
  const queue: (Uint8Array | null)[] = [];
  let queued = 0;
  let taken = 0;
  let wakeReader: (() => void) | undefined;
  let clientEof = false;
  // Progress.
  let bytes = 0;
  let total: number | null = null;
  const t0 = Date.now();
  let lastBytes = 0;
  let lastAt = t0;
  let progressTimer: ReturnType<typeof setInterval> | undefined;

  const send = (msg: Control | Uint8Array) => {
    if (closed) return;
    try {
      ws.send(msg instanceof Uint8Array ? msg : JSON.stringify(msg));
    } catch {
      closed = true;
    }
  };
  const progress = () => {
    const now = Date.now();
    const rate = now > lastAt ? Math.round(((bytes - lastBytes) * 1000) / (now - lastAt)) : 0;
    lastBytes = bytes;
    lastAt = now;
    send({ type: 'progress', bytes, size: total, bytesPerSecond: rate, averageBytesPerSecond: now > t0 ? Math.round((bytes * 1000) / (now - t0)) : 0 });
  };
  const finish = (code: number, reason: string) => {
    if (closed) return;
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    if (progressTimer !== undefined) clearInterval(progressTimer);
    closed = true;
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      // already gone
    }
  };
  const flush = () => {
    if (flushTimer !== undefined) {
      clearTimeout(flushTimer);
      flushTimer = undefined;
    }
    if (gatheredBytes === 0) return;
    const message = gathered.length === 1 ? gathered[0] : concat(gathered);
    unacked += gatheredBytes;
    gathered = [];
    gatheredBytes = 0;
    send(message);
  };

  let resolveStart!: (m: Control | null) => void;
  const startMessage = new Promise<Control | null>((r) => (resolveStart = r));
  const startTimer = setTimeout(() => resolveStart(null), 30_000);

  ws.onClose(() => {
    if (closed) return;
    closed = true;
    if (progressTimer !== undefined) clearInterval(progressTimer);
    resolveStart(null);
    fail?.(new PortolanError('closed', 'the client closed the transfer'));
    abort.abort(new PortolanError('closed', 'the client closed the transfer'));
    wakeWriter?.();
    wakeReader?.();
  });
  ws.onMessage((data) => {
    if (closed) return;
    if (typeof data !== 'string') {
      if (direction !== 'upload' || !started || clientEof) return finish(TRANSFER_CLOSE.flowControl, 'binary data is only for an upload, between start and eof');
      queued += data.length;
      if (queued > window) return finish(TRANSFER_CLOSE.flowControl, `more than ${window} bytes sent without acknowledgement`);
      queue.push(data);
      const w = wakeReader;
      wakeReader = undefined;
      w?.();
      return;
    }
    let msg: Control;
    try {
      msg = JSON.parse(data);
      if (typeof msg !== 'object' || msg === null || typeof msg.type !== 'string') throw new Error('no type');
    } catch {
      return send({ type: 'error', error: { code: 'invalid_input', message: 'text messages must be JSON objects with a "type"' } });
    }
    if (!started) {
      if (msg.type === 'start') {
        started = true;
        clearTimeout(startTimer);
        resolveStart(msg);
      } else send({ type: 'error', error: { code: 'invalid_input', message: 'the first message must be {"type":"start","input":{...}}' } });
      return;
    }
    if (msg.type === 'ack' && typeof msg.bytes === 'number' && msg.bytes >= 0) {
      unacked = Math.max(0, unacked - msg.bytes);
      if (unacked < TRANSFER_MESSAGE) flush();
      const w = wakeWriter;
      wakeWriter = undefined;
      w?.();
    } else if (msg.type === 'eof' && direction === 'upload') {
      clientEof = true;
      queue.push(null);
      const w = wakeReader;
      wakeReader = undefined;
      w?.();
    } else if (msg.type === 'cancel') {
      fail?.(new PortolanError('closed', 'cancelled by the client'));
      abort.abort(new PortolanError('closed', 'cancelled by the client'));
    }
  });

  try {
    const first = await startMessage;
    if (first === null) {
      if (!closed) throw InvalidInput.field('start', 'the first message must be {"type":"start","input":{...}} within 30 s');
      return;
    }
    const input = { ...queryInput, ...((first.input as Record<string, unknown> | undefined) ?? {}) };
    if (first.window !== undefined) {
      if (typeof first.window !== 'number' || !Number.isInteger(first.window) || first.window < 64 * 1024 || first.window > 16 * 1024 * 1024) throw InvalidInput.field('window', 'must be a whole number of bytes, 65536–16777216');
      window = first.window;
    }
    const failed = new Promise<never>((_, reject) => (fail = reject));
    failed.catch(() => {});
    progressTimer = setInterval(progress, PROGRESS_MS);
    let download: DownloadTarget | undefined;
    let upload: UploadSource | undefined;
    if (direction === 'download') {
      if (first.offset !== undefined && (typeof first.offset !== 'number' || !Number.isSafeInteger(first.offset) || first.offset < 0)) throw InvalidInput.field('offset', 'must be a whole number of bytes, 0 or more');
      download = {
        offset: op.transfer?.direction === 'download' && op.transfer.resume && typeof first.offset === 'number' && first.offset > 0 ? first.offset : undefined,
        async begin(info) {
          total = typeof info.size === 'number' ? info.size - (info.offset ?? 0) : null;
          send({ type: 'file', name: info.name, size: info.size ?? null, offset: info.offset ?? 0, modified: info.modified ?? null, contentType: info.contentType ?? 'application/octet-stream', meta: info.meta ?? {} });
          return {
            async write(chunk) {
              for (let at = 0; at < chunk.length; ) {
                while (unacked + gatheredBytes >= window && !closed) await Promise.race([new Promise<void>((r) => (wakeWriter = r)), failed]);
                if (closed) throw new PortolanError('closed', 'the client closed the transfer');
                const piece = chunk.subarray(at, at + Math.min(TRANSFER_MESSAGE - gatheredBytes, window - unacked - gatheredBytes));
                at += piece.length;
                bytes += piece.length;
                gathered.push(piece);
                gatheredBytes += piece.length;
                if (unacked === 0 || gatheredBytes >= TRANSFER_MESSAGE) flush();
                else flushTimer ??= setTimeout(flush, COALESCE_MS);
              }
            },
          };
        },
      };
    } else {
      if (first.size !== undefined && (typeof first.size !== 'number' || !Number.isSafeInteger(first.size) || first.size < 0)) throw InvalidInput.field('size', 'must be a whole number of bytes');
      total = typeof first.size === 'number' ? first.size : null;
      send({ type: 'ready', window });
      let ackable = 0;
      upload = {
        name: typeof first.name === 'string' ? first.name : undefined,
        size: total ?? undefined,
        async read() {
          // The operation is done with what it took before: acknowledge it (in runs, like the tunnel).
          taken += ackable;
          ackable = 0;
          if (taken > 0 && (queue.length === 0 || taken >= window / 4)) {
            send({ type: 'ack', bytes: taken });
            taken = 0;
          }
          while (queue.length === 0) {
            if (closed) throw new PortolanError('closed', 'the client closed the transfer');
            await Promise.race([new Promise<void>((r) => (wakeReader = r)), failed]);
          }
          const next = queue.shift()!;
          if (next === null) {
            queue.unshift(null);
            return null;
          }
          queued -= next.length;
          ackable = next.length;
          bytes += next.length;
          return next;
        },
      };
    }
    const answer = await runOperation(env, p, op, input, { download, upload, signal: abort.signal });
    flush();
    progress();
    send({ type: 'end', result: answer.result as unknown, timing: answer.timing });
    finish(TRANSFER_CLOSE.normal, 'transfer ended');
  } catch (e) {
    const err = classify(e);
    flush();
    send({ type: 'error', error: err.toJSON() });
    finish(TRANSFER_CLOSE.error, err.code);
  }
}
