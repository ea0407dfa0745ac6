// Files in the CLI (docs/files.md): a download written to a file (`-o FILE`, `-o -` for raw bytes on
// stdout), an upload read from a file (`--file PATH`), locally through the core's file contract or
// through a deployed Portolan (--remote: the streamed HTTP forms), with a progress bar on stderr.
import { createReadStream, createWriteStream, statSync, type WriteStream } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { InvalidInput, PortolanError } from '../src/core/errors.ts';
import type { ByteSink, DownloadTarget, FileInfo, UploadSource } from '../src/core/files.ts';

/** Where a download goes: a file, or stdout (`-`). Writes wait for the stream to drain. */
export class OutputFile {
  private out: WriteStream | NodeJS.WriteStream | undefined;
  written = 0;
  info: FileInfo | undefined;

  constructor(
    readonly path: string,
    private readonly onBytes: (n: number, info: FileInfo) => void,
  ) {}

  /** The download target for the core runner. */
  target(): DownloadTarget {
    return { begin: async (info) => this.begin(info) };
  }

  begin(info: FileInfo): ByteSink {
    this.info = info;
    this.out = this.path === '-' ? process.stdout : createWriteStream(this.path);
    const out = this.out;
    return {
      write: (chunk) => {
        this.written += chunk.length;
        this.onBytes(this.written, info);
        if (out.write(chunk)) return Promise.resolve();
        return new Promise<void>((resolve, reject) => {
          const onError = (e: Error) => reject(new PortolanError('closed', `cannot write ${this.path}: ${e.message}`));
          out.once('drain', () => {
            out.off('error', onError);
            resolve();
          });
          out.once('error', onError);
        });
      },
    };
  }

  /** Flushes and closes the file (stdout stays open). */
  async close(): Promise<void> {
    const out = this.out;
    if (!out || out === process.stdout) return;
    await new Promise<void>((resolve, reject) => (out as WriteStream).end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}

/** An upload's bytes from a file: its size and name known, read as the operation asks. */
export function inputFile(path: string, onBytes: (n: number) => void): UploadSource {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (e) {
    throw InvalidInput.field('file', `cannot read ${path}: ${(e as Error).message}`);
  }
  const chunks = createReadStream(path, { highWaterMark: 256 * 1024 })[Symbol.asyncIterator]();
  let read = 0;
  return {
    name: basename(path),
    size,
    async read() {
      const r = await chunks.next();
      if (r.done) return null;
      const chunk = new Uint8Array(r.value as Buffer);
      read += chunk.length;
      onBytes(read);
      return chunk;
    },
  };
}

/** A multipart/form-data body streamed from a file: part `input` (JSON), then part `file`. */
export function multipartBody(input: Record<string, unknown>, path: string, onBytes: (n: number) => void): { body: ReadableStream<Uint8Array>; contentType: string; length: number } {
  const boundary = `portolan-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="input"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(input)}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${basename(path).replace(/["\r\n\\]/g, '_')}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  let sent = 0;
  async function* parts(): AsyncGenerator<Uint8Array> {
    yield head;
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
      sent += (chunk as Buffer).length;
      onBytes(sent);
      yield chunk as Buffer;
    }
    yield tail;
  }
  // The length is known (the parts around the file's size): sent as Content-Length, a streamed body is not chunked (which workerd reads far slower).
  const length = head.length + statSync(path).size + tail.length;
  return { body: Readable.toWeb(Readable.from(parts())) as ReadableStream<Uint8Array>, contentType: `multipart/form-data; boundary=${boundary}`, length };
}

/** The file an HTTP download answer describes, from its headers (the inverse of the API's fileHeaders). */
export function infoFromHeaders(headers: Headers): FileInfo {
  const disposition = headers.get('content-disposition') ?? '';
  const ext = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename="([^"]*)"/.exec(disposition);
  const size = headers.get('x-portolan-size');
  return {
    name: ext ? decodeURIComponent(ext[1]) : (plain?.[1] ?? 'download'),
    size: size === null ? null : Number(size),
    offset: Number(headers.get('x-portolan-offset') ?? 0),
    modified: headers.get('x-portolan-modified'),
    contentType: headers.get('content-type') ?? undefined,
  };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function humanBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/** A transfer's progress bar on a terminal: bytes, percent, rate and ETA, redrawn at most 10 times a second. */
export class TransferBar {
  private bytes = 0;
  private total: number | null = null;
  private readonly started = Date.now();
  private lastDraw = 0;
  private shown = false;
  private samples: [number, number][] = [];

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
  ) {}

  update(bytes: number, total: number | null = this.total): void {
    this.bytes = bytes;
    this.total = total;
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.draw(now);
  }

  private draw(now: number): void {
    this.samples.push([now, this.bytes]);
    while (this.samples.length > 2 && now - this.samples[0][0] > 3000) this.samples.shift();
    const [t0, b0] = this.samples[0];
    const rate = now > t0 ? ((this.bytes - b0) * 1000) / (now - t0) : 0;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 70));
    let bar = '';
    let tail = '';
    if (this.total) {
      const f = Math.min(1, this.bytes / this.total);
      const full = Math.round(f * width);
      bar = ` [${'#'.repeat(full)}${'-'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}%`;
      tail = ` ETA ${clock(rate > 0 ? (this.total - this.bytes) / rate : Infinity)}`;
    }
    const size = `${humanBytes(this.bytes)}${this.total ? ` / ${humanBytes(this.total)}` : ''}`;
    this.stream.write(`\r\x1b[2K${this.label}${bar} ${size} ${humanBytes(rate)}/s${tail}`);
    this.shown = true;
  }

  stop(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
  }

  /** Average rate over the whole transfer. */
  get averageRate(): number {
    const ms = Date.now() - this.started;
    return ms > 0 ? (this.bytes * 1000) / ms : 0;
  }
}
