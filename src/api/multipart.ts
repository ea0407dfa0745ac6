// multipart/form-data (RFC 7578 on RFC 2046 §5.1.1), parsed as it streams, for uploads of any size.
//
// How it works: `MultipartParser` is sans-I/O: it is fed the body in chunks of any size and returns
// events — a part begins (its name and filename), a piece of the part's body, the closing delimiter.
// A part's body is handed on as it arrives, except the last bytes that could still be the start of
// the next delimiter ("\r\n--" + boundary), which wait for the next chunk. `MultipartReader` pulls the
// request body through it one event at a time, so the body is read only as fast as its consumer goes.
import { concat, fromUtf8, indexOf, utf8 } from '../core/bytes.ts';
import { InvalidInput } from '../core/errors.ts';

export type MultipartEvent =
  | { type: 'part'; index: number; name?: string; filename?: string; contentType?: string }
  | { type: 'data'; bytes: Uint8Array }
  | { type: 'end' };

/** Longest header block of one part, and the most preamble skipped before the first delimiter. */
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_PREAMBLE_BYTES = 16 * 1024;
const MAX_PARTS = 64;

const CRLF = utf8('\r\n');
const HEADER_END = utf8('\r\n\r\n');

/** The boundary of a multipart/form-data Content-Type, or undefined when it is not one. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  if (!m) throw InvalidInput.field('content-type', 'multipart/form-data needs a boundary parameter');
  return m[1] ?? m[2];
}

function malformed(message: string): InvalidInput {
  return InvalidInput.field('body', `malformed multipart/form-data: ${message}`);
}

/** RFC 7578 §4.2: Content-Disposition: form-data; name="..."; filename="...". */
function dispositionParams(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /;\s*([A-Za-z0-9_*.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    const key = m[1].toLowerCase();
    let v = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
    // RFC 5987 / 8187 ext-value: UTF-8''percent-encoded.
    if (key.endsWith('*')) {
      const ext = /^utf-8'[^']*'(.*)$/i.exec(v);
      if (!ext) continue;
      try {
        v = decodeURIComponent(ext[1]);
      } catch {
        continue;
      }
      out[key.slice(0, -1)] = v;
      continue;
    }
    out[key] ??= v;
  }
  return out;
}

type State = 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'epilogue';

/**
 * Finds the delimiter in a part's body with Boyer-Moore-Horspool: the delimiter is some 40 bytes long,
 * so most positions are skipped unread (a scan for its first byte, CR, stops every 256 bytes of a binary file).
 */
class DelimiterSearch {
  private readonly skip = new Uint8Array(256);

  constructor(private readonly needle: Uint8Array) {
    const n = needle.length;
    this.skip.fill(Math.min(n, 255));
    for (let i = 0; i < n - 1; i++) this.skip[needle[i]] = n - 1 - i;
  }

  indexIn(hay: Uint8Array): number {
    const d = this.needle;
    const last = d.length - 1;
    for (let i = last; i < hay.length; ) {
      let j = last;
      let k = i;
      while (j >= 0 && hay[k] === d[j]) {
        j--;
        k--;
      }
      if (j < 0) return k + 1;
      i += this.skip[hay[i]];
    }
    return -1;
  }

  /** The length of the longest end of `hay` that is the start of the delimiter: those bytes wait for the next chunk. */
  partialAtEnd(hay: Uint8Array): number {
    const d = this.needle;
    for (let i = Math.max(0, hay.length - d.length + 1); i < hay.length; i++) {
      if (hay[i] !== d[0]) continue;
      let j = 1;
      while (i + j < hay.length && hay[i + j] === d[j]) j++;
      if (i + j === hay.length) return j;
    }
    return 0;
  }
}

export class MultipartParser {
  private readonly delimiter: Uint8Array;
  private readonly search: DelimiterSearch;
  // The body starts with "--boundary" and no CRLF before it; a CRLF put in front makes every delimiter look alike.
  private buf: Uint8Array = CRLF;
  private state: State = 'preamble';
  private parts = 0;
  private skipped = 0;

  constructor(boundary: string) {
    if (!/^[0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-]$/.test(boundary)) throw InvalidInput.field('content-type', 'the multipart boundary is not 1–70 allowed characters (RFC 2046 §5.1.1)');
    this.delimiter = utf8(`\r\n--${boundary}`);
    this.search = new DelimiterSearch(this.delimiter);
  }

  get done(): boolean {
    return this.state === 'epilogue';
  }

  feed(chunk: Uint8Array): MultipartEvent[] {
    const out: MultipartEvent[] = [];
    if (this.state === 'epilogue') return out;
    if (this.state === 'body' && this.buf.length > 0 && this.buf.length < this.delimiter.length) {
      // The few bytes held back as a possible start of the delimiter: unless it begins among them, they are
      // data, and the chunk is parsed as it is, without copying it behind them.
      const seam = concat([this.buf, chunk.subarray(0, this.delimiter.length - 1)]);
      const at = this.search.indexIn(seam);
      if (at === -1 || at >= this.buf.length) {
        if (at === -1 && chunk.length < this.delimiter.length - 1) {
          this.buf = seam;
        } else {
          out.push({ type: 'data', bytes: this.buf });
          this.buf = chunk;
        }
      } else {
        this.buf = concat([this.buf, chunk]);
      }
    } else {
      this.buf = this.buf.length === 0 ? chunk : concat([this.buf, chunk]);
    }
    for (;;) {
      const before: State = this.state;
      const size = this.buf.length;
      this.step(out);
      if (this.done) {
        this.buf = new Uint8Array(0);
        return out;
      }
      if (this.state === before && this.buf.length === size) break;
    }
    // What waits for the next chunk is copied: the chunk's memory may be read into again once its events are used.
    if (this.buf.buffer === chunk.buffer) this.buf = this.buf.slice();
    return out;
  }

  /** At the end of the body: the closing delimiter must have come. */
  finish(): void {
    if (this.state !== 'epilogue') throw malformed(this.parts === 0 ? 'no part before the end of the body' : 'the body ends before the closing boundary');
  }

  private step(out: MultipartEvent[]): void {
    const d = this.delimiter;
    switch (this.state) {
      case 'preamble': {
        const at = indexOf(this.buf, d);
        if (at === -1) {
          const keep = Math.min(this.buf.length, d.length - 1);
          this.skipped += this.buf.length - keep;
          if (this.skipped > MAX_PREAMBLE_BYTES) throw malformed('no boundary delimiter at the start of the body');
          this.buf = this.buf.subarray(this.buf.length - keep);
          return;
        }
        this.buf = this.buf.subarray(at + d.length);
        this.state = 'afterDelimiter';
        return;
      }
      case 'afterDelimiter': {
        // "--" closes; otherwise optional transport padding (spaces, tabs), then CRLF.
        if (this.buf.length < 2) return;
        if (this.buf[0] === 0x2d && this.buf[1] === 0x2d) {
          this.state = 'epilogue';
          out.push({ type: 'end' });
          return;
        }
        let i = 0;
        while (i < this.buf.length && (this.buf[i] === 0x20 || this.buf[i] === 0x09)) i++;
        if (i > 64) throw malformed('padding after a boundary is too long');
        if (this.buf.length < i + 2) return;
        if (this.buf[i] !== 0x0d || this.buf[i + 1] !== 0x0a) throw malformed('a boundary delimiter is not followed by CRLF');
        this.buf = this.buf.subarray(i + 2);
        this.state = 'headers';
        return;
      }
      case 'headers': {
        let block: Uint8Array;
        if (this.buf.length >= 2 && this.buf[0] === 0x0d && this.buf[1] === 0x0a) {
          block = new Uint8Array(0);
          this.buf = this.buf.subarray(2);
        } else {
          const end = indexOf(this.buf, HEADER_END);
          if (end === -1) {
            if (this.buf.length > MAX_HEADER_BYTES) throw malformed(`the headers of part ${this.parts + 1} are longer than ${MAX_HEADER_BYTES} bytes`);
            return;
          }
          if (end > MAX_HEADER_BYTES) throw malformed(`the headers of part ${this.parts + 1} are longer than ${MAX_HEADER_BYTES} bytes`);
          block = this.buf.subarray(0, end);
          this.buf = this.buf.subarray(end + 4);
        }
        if (++this.parts > MAX_PARTS) throw malformed(`more than ${MAX_PARTS} parts`);
        const event: MultipartEvent & { type: 'part' } = { type: 'part', index: this.parts };
        for (const line of fromUtf8(block).split('\r\n')) {
          const colon = line.indexOf(':');
          if (colon <= 0) continue;
          const name = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          if (name === 'content-disposition') {
            const params = dispositionParams(value);
            if (params.name !== undefined) event.name = params.name;
            if (params.filename !== undefined) event.filename = params.filename;
          } else if (name === 'content-type') {
            event.contentType = value;
          }
        }
        out.push(event);
        this.state = 'body';
        return;
      }
      case 'body': {
        const at = this.search.indexIn(this.buf);
        if (at !== -1) {
          if (at > 0) out.push({ type: 'data', bytes: this.buf.subarray(0, at) });
          this.buf = this.buf.subarray(at + d.length);
          this.state = 'afterDelimiter';
          return;
        }
        // An end that could be the start of the delimiter waits for more bytes; the rest goes on now.
        const safe = this.buf.length - this.search.partialAtEnd(this.buf);
        if (safe > 0) {
          out.push({ type: 'data', bytes: this.buf.subarray(0, safe) });
          this.buf = this.buf.subarray(safe);
        }
        return;
      }
      case 'epilogue':
        return;
    }
  }
}

interface BodyReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(): Promise<void>;
  /** A chunk this reader returned is no longer used by anyone: later reads may fill its memory. */
  recycle(chunk: Uint8Array): void;
}

/** Read buffers kept for reuse: enough for the chunks a consumer holds while its writes settle. */
const POOLED_BUFFERS = 8;

/**
 * Reads a body in large chunks: a BYOB reader returns, per read, what has arrived up to the buffer it is
 * given (workerd's default reader hands over small pieces, and each read costs more than its bytes);
 * a stream that is not a byte stream (Node's) is read as it comes. Buffers handed back with `recycle`
 * are read into again: allocating and collecting 256 KiB per read costs about a third of an upload's CPU.
 */
function bodyReader(body: ReadableStream<Uint8Array>): BodyReader {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = body.getReader({ mode: 'byob' });
  } catch {
    const plain = body.getReader();
    return { read: () => plain.read(), cancel: () => plain.cancel(), recycle() {} };
  }
  // The memory of every chunk handed out and not yet handed back, and the buffers ready to read into.
  const out = new WeakSet<ArrayBufferLike>();
  const pool: Uint8Array[] = [];
  return {
    async read() {
      for (;;) {
        const r = await byob.read(pool.pop() ?? new Uint8Array(BODY_READ_BYTES));
        if (r.done || (r.value && r.value.length > 0)) {
          if (r.value) out.add(r.value.buffer);
          return r as ReadableStreamReadResult<Uint8Array>;
        }
        if (r.value) pool.push(new Uint8Array(r.value.buffer));
      }
    },
    cancel: () => byob.cancel(),
    recycle(chunk) {
      // Only this reader's own memory, once, and not a buffer the runtime has taken (detached) since.
      if (!out.delete(chunk.buffer) || chunk.buffer.byteLength !== BODY_READ_BYTES || pool.length >= POOLED_BUFFERS) return;
      pool.push(new Uint8Array(chunk.buffer));
    },
  };
}

/**
 * Reads and drops up to `limit` bytes of a request body nothing has read, then stops reading: an error
 * answered before the client has sent its body makes many clients (curl, fetch) fail on the send and never
 * show the answer. A body already read, or being read, is left alone.
 */
export async function discardUnread(request: Request, limit: number): Promise<void> {
  const body = request.body;
  if (!body || body.locked || request.bodyUsed) return;
  const reader = bodyReader(body);
  await dropUpTo(reader, limit);
  void reader.cancel().catch(() => {});
}

/** Reads and drops what `reader` brings until its end or past `limit` bytes; a client gone ends it too. */
async function dropUpTo(reader: BodyReader, limit: number): Promise<void> {
  try {
    for (let dropped = 0; dropped <= limit; ) {
      const { value, done } = await reader.read();
      if (done) return;
      dropped += value.length;
      reader.recycle(value);
    }
  } catch {
    // the client went away
  }
}

/** What one read of the body asks for, where the runtime reads into the caller's buffer (a byte stream: workerd). */
const BODY_READ_BYTES = 256 * 1024;

/** Pulls a streamed body through the parser, one event at a time. */
export class MultipartReader {
  private readonly parser: MultipartParser;
  private readonly reader: BodyReader;
  private readonly queue: MultipartEvent[] = [];
  private ended = false;

  constructor(body: ReadableStream<Uint8Array>, boundary: string) {
    this.parser = new MultipartParser(boundary);
    this.reader = bodyReader(body);
  }

  /** The next event; `end` after the closing delimiter (and at every call after it). */
  async next(): Promise<MultipartEvent> {
    for (;;) {
      const ev = this.queue.shift();
      if (ev) return ev;
      if (this.ended) return { type: 'end' };
      const { value, done } = await this.reader.read();
      if (done) {
        this.parser.finish();
        this.ended = true;
        continue;
      }
      this.queue.push(...this.parser.feed(value));
      if (this.parser.done) {
        this.ended = true;
        void this.reader.cancel().catch(() => {});
      }
    }
  }

  /**
   * The consumer is done with the bytes of a data event (and holds no other view of the same read): its
   * memory may be read into again. The parser keeps no view of a chunk after `feed` returns.
   */
  recycle(bytes: Uint8Array): void {
    this.reader.recycle(bytes);
  }

  /** Stops reading the body. */
  cancel(): void {
    void this.reader.cancel().catch(() => {});
  }

  /**
   * Reads and drops the rest of the body, up to `limit` bytes, then stops reading. Answering before the
   * client has sent its body makes many clients (curl) fail on the send and never show the answer.
   */
  async drain(limit: number): Promise<void> {
    if (!this.ended) await dropUpTo(this.reader, limit);
    this.ended = true;
    this.queue.length = 0;
    this.cancel();
  }
}
