// Files as byte streams (docs/files.md): the contract between an operation that moves a file and whatever
// carries the file's bytes — a JSON answer (base64, capped), an HTTP body streamed either way, a WebSocket
// session with credits, or a local file in the CLI.
//
// How it works: an operation declares `transfer` (a download or an upload). A download asks
// `ctx.download` (present when the caller wants the bytes as a stream) for a sink with `begin(info)` once
// it knows the file (name, size, time), then writes each chunk and awaits the write: the write settles when
// the consumer has room, so a client that stops reading pauses the operation, which stops reading from the
// server, and memory stays flat. Without `ctx.download` the operation writes into a `ByteCollector` and
// answers JSON. An upload reads `ctx.upload` (present when the caller sent the bytes as a stream) chunk by
// chunk until null, or a `memorySource` over the JSON form's content. The runner wraps both ends so every
// wait obeys the operation's deadline (`guardDownload`, `guardUpload`).
import * as z from 'zod';
import { concat, fromBase64, utf8 } from './bytes.ts';
import { PortolanError, InvalidInput } from './errors.ts';

/** What a download says about its file before the first byte; the carrier turns it into headers or a message. */
export interface FileInfo {
  /** The file's name (the last path segment): Content-Disposition's filename. */
  name: string;
  /** The whole file's size in bytes, when the server told it: Content-Length (minus `offset`). */
  size?: number | null;
  /** The byte the stream starts at: the offset asked for (`DownloadTarget.offset`) when the operation resumed there, else 0. */
  offset?: number;
  /** Last modification, ISO 8601 UTC. */
  modified?: string | null;
  /** The media type, when the protocol knows it (HTTP, a MIME part); else application/octet-stream. */
  contentType?: string;
  /** More facts, as `X-Portolan-<Name>` headers (names in kebab or camel case, values short text). */
  meta?: Record<string, string | number | boolean | null | undefined>;
}

/** Where a download's bytes go. */
export interface ByteSink {
  /**
   * Hands one chunk on; settles when the consumer can take more (backpressure). Rejects when the consumer
   * has gone or the deadline fired. The chunk belongs to the sink from then on: do not reuse its buffer.
   */
  write(chunk: Uint8Array): Promise<void>;
}

/** `ctx.download`: the caller wants the file as a byte stream. */
export interface DownloadTarget {
  /** The byte to start at (`Range: bytes=N-`, a resumed WebSocket transfer); undefined for the whole file. Only operations that declare `resume` see it. */
  readonly offset?: number;
  /**
   * Declares the file and returns its sink. Call it once, before the first byte, and before the transfer
   * command when the protocol allows, so an offset past the end is refused before anything starts
   * (HTTP 416). Nothing reaches the client until the first write: an error before it is still a plain
   * JSON error.
   */
  begin(info: FileInfo): Promise<ByteSink>;
}

/** Where an upload's bytes come from. */
export interface ByteSource {
  /** The next chunk, or null at the end. Rejects when the sender has gone, sent malformed framing, or the deadline fired. */
  read(): Promise<Uint8Array | null>;
  /**
   * The caller is done with a chunk `read` gave it (written, or copied into a message): the source may read
   * later chunks into its memory. Optional on both sides; a chunk not handed back is simply left to the GC.
   */
  recycle?(chunk: Uint8Array): void;
}

/** `ctx.upload`: the caller sent the file as a byte stream. */
export interface UploadSource extends ByteSource {
  /** The name the client gave the file (multipart filename), if any. */
  readonly name?: string;
  /** The size the client announced, if it did (a WebSocket start message); multipart parts carry none. */
  readonly size?: number;
}

/** How an operation declares that it moves a file (OperationSpec.transfer). */
export type TransferSpec =
  | {
      direction: 'download';
      /** The protocol can start at an offset (FTP REST, SFTP offset, HTTP Range): `Range: bytes=N-` answers 206. */
      resume?: boolean;
    }
  | {
      direction: 'upload';
      /** The input field that carries the bytes inline in the JSON form; a streamed upload leaves it out. */
      content: string;
    };

/** Deadline of a streamed transfer when the input gives none (the operation's own default is for JSON answers). */
export const STREAM_TIMEOUT_MS = 3_600_000;
/** Longest deadline a transfer accepts unless it declares its own maxTimeoutMs. */
export const MAX_TRANSFER_TIMEOUT_MS = 24 * 3_600_000;

/** The offset past the end of the file: the carrier answers HTTP 416 with the size. */
export class RangeNotSatisfiable extends InvalidInput {
  constructor(offset: number, size: number) {
    super([{ field: 'range', message: `offset ${offset} is at or past the end of the file (${size} bytes)` }]);
    (this.detail as Record<string, unknown>).size = size;
    this.name = 'RangeNotSatisfiable';
  }
}

/** Throws RangeNotSatisfiable when a download resumes at or past the end of a file of known size. */
export function checkRange(info: FileInfo): void {
  const offset = info.offset ?? 0;
  if (offset > 0 && typeof info.size === 'number' && offset >= info.size) throw new RangeNotSatisfiable(offset, info.size);
}

/**
 * A sink that keeps the first `max` bytes and counts the rest: the content of a JSON answer. It never
 * waits; an operation that can stop early (FTP closes the data connection) stops once it is `truncated`.
 */
export class ByteCollector implements ByteSink {
  private readonly parts: Uint8Array[] = [];
  private kept = 0;
  /** Every byte written, kept or not. */
  size = 0;

  constructor(readonly max: number) {}

  /** More than `max` bytes arrived: nothing more is kept. */
  get truncated(): boolean {
    return this.size > this.max;
  }

  write(chunk: Uint8Array): Promise<void> {
    this.size += chunk.length;
    const room = this.max - this.kept;
    if (room > 0) {
      const piece = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.parts.push(piece);
      this.kept += piece.length;
    }
    return Promise.resolve();
  }

  /** The bytes kept (at most `max`). */
  bytes(): Uint8Array {
    if (this.parts.length === 1) return this.parts[0];
    const out = new Uint8Array(this.kept);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** The bytes of an upload's inline content field: UTF-8 text, or base64 (invalid_input naming `field` when it is not). */
export function inlineContent(content: string, encoding: 'utf8' | 'base64', field = 'content'): Uint8Array {
  if (encoding === 'utf8') return utf8(content);
  try {
    return fromBase64(content);
  } catch {
    throw InvalidInput.field(field, 'is not valid base64');
  }
}

/**
 * The input fields of a download that can start at an offset and answers JSON up to `maxJson` bytes (`label` says
 * how much that is): `offset`, which a stream's Range header sets too, and `maxBytes`.
 */
export function resumableDownloadFields(maxJson: number, label: string) {
  return {
    offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).describe('Start at this byte; a stream\'s Range header sets it too'),
    maxBytes: z
      .number()
      .int()
      .min(1)
      .max(maxJson, `maxBytes must be at most ${maxJson} (${label}): stream larger files (Accept: application/octet-stream)`)
      .default(maxJson)
      .describe('JSON answer: most bytes to return; more is reported as truncated. A stream has no cap.'),
  };
}

/** A source over bytes already in memory (the JSON form's content), in pieces of at most `chunk` bytes. */
export function memorySource(bytes: Uint8Array, chunk = 256 * 1024): UploadSource {
  let at = 0;
  return {
    size: bytes.length,
    read() {
      if (at >= bytes.length) return Promise.resolve(null);
      const piece = bytes.subarray(at, at + chunk);
      at += piece.length;
      return Promise.resolve(piece);
    },
  };
}

/** A sink that passes each chunk to `fn` first (a running hash, a byte count) and then on to `next`. */
export function tapSink(next: ByteSink, fn: (chunk: Uint8Array) => void): ByteSink {
  return {
    write(chunk) {
      fn(chunk);
      return next.write(chunk);
    },
  };
}

/**
 * A source's bytes in pieces of exactly `size` (the last one shorter): what a protocol with a largest write (SMB's
 * MaxWriteSize, NFS's wtmax) sends, whatever sizes the source reads in. Holds less than `size` bytes between pieces.
 */
export async function* fixedChunks(source: ByteSource, size: number): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for (let done = false; !done; ) {
    const piece = await source.read();
    if (piece === null) done = true;
    else if (piece.length > 0) {
      pending.push(piece);
      pendingBytes += piece.length;
    }
    while (pendingBytes >= size || (done && pendingBytes > 0)) {
      const all = pending.length === 1 ? pending[0] : concat(pending);
      const n = Math.min(size, all.length);
      yield all.subarray(0, n);
      const rest = all.subarray(n);
      pending = rest.length ? [rest] : [];
      pendingBytes = rest.length;
    }
  }
}

/** Reads a source to its end, `max` bytes at most (more is invalid_input naming `field`). */
export async function readAll(source: ByteSource, max: number, field: string): Promise<Uint8Array> {
  const sink = new ByteCollector(max);
  for (let chunk = await source.read(); chunk !== null; chunk = await source.read()) {
    await sink.write(chunk);
    if (sink.truncated) throw InvalidInput.field(field, `is larger than ${max} bytes`);
  }
  return sink.bytes();
}

/** The last segment of a path, for a download's file name ("/pub/a b.txt" → "a b.txt"); `fallback` when empty. */
export function baseName(path: string, fallback = 'download'): string {
  const trimmed = path.replace(/[/\\]+$/, '');
  const name = trimmed.slice(Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\')) + 1);
  return name === '' || name === '.' || name === '..' ? fallback : name;
}

/** Waits for a promise unless the operation's deadline fires first (the runner's raceSignal). */
export type DeadlineRace = <T>(p: Promise<T>) => Promise<T>;

/** The runner's wrapping of a download target: every write obeys the deadline; begin is called once; ranges are checked. */
export function guardDownload(target: DownloadTarget, race: DeadlineRace): DownloadTarget {
  let begun = false;
  return {
    offset: target.offset,
    async begin(info) {
      if (begun) throw new PortolanError('protocol_error', 'a download began twice');
      begun = true;
      checkRange(info);
      const sink = await race(target.begin(info));
      return { write: (chunk) => race(sink.write(chunk)) };
    },
  };
}

/** The runner's wrapping of an upload source: every read obeys the deadline. */
export function guardUpload(source: UploadSource, race: DeadlineRace): UploadSource {
  let pending: Promise<Uint8Array | null> | undefined;
  return {
    name: source.name,
    size: source.size,
    async read() {
      // A read abandoned at a narrowed deadline keeps its promise, so no bytes are lost.
      pending ??= source.read();
      const chunk = await race(pending);
      pending = undefined;
      return chunk;
    },
    recycle: source.recycle ? (chunk) => source.recycle!(chunk) : undefined,
  };
}
