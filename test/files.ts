// Large files for transfer tests and benchmarks: generated under the lab state dir (never in the
// repository, which wrangler dev watches), deterministic, with their SHA-256 known from the generation.
import { createCipheriv, createHash } from 'node:crypto';
import { chmodSync, closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { labDir } from '../lab/index.ts';

/** Where transfer tests keep their files: readable and writable by the lab's FTP and SSH users (mode 1777, like /tmp). */
export const transferDir = join(labDir, 'transfers');

export function ensureTransferDir(): string {
  mkdirSync(transferDir, { recursive: true });
  chmodSync(transferDir, 0o1777);
  return transferDir;
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/**
 * A file of `size` pseudo-random bytes named `name` in the transfer dir (AES-128-CTR keystream keyed by
 * the name, so the same name and size always give the same bytes), and its SHA-256. Made once; a file of
 * the right size with its recorded hash is reused.
 */
export function bigFile(name: string, size: number): { path: string; sha256: string; size: number } {
  ensureTransferDir();
  const path = join(transferDir, name);
  const hashPath = `${path}.sha256`;
  if (existsSync(path) && existsSync(hashPath) && statSync(path).size === size) return { path, size, sha256: readFileSync(hashPath, 'utf8').trim() };
  rmSync(path, { force: true });
  const key = createHash('sha256').update(`portolan-transfer-${name}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(8 * MiB);
  const fd = openSync(`${path}.part`, 'w', 0o644);
  try {
    for (let left = size; left > 0; ) {
      const n = Math.min(left, zeros.length);
      const block = cipher.update(zeros.subarray(0, n));
      hash.update(block);
      writeSync(fd, block);
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
  const sha256 = hash.digest('hex');
  writeFileSync(hashPath, `${sha256}\n`, { mode: 0o644 });
  // Renamed into place only when whole, so a run cut short never leaves a file that looks finished.
  renameSync(`${path}.part`, path);
  chmodSync(path, 0o644);
  return { path, size, sha256 };
}

/** SHA-256 of a file (from byte `start`), streamed. */
export async function sha256File(path: string, start = 0): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB, start })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A unique name for a file a test writes (removed by the test when it passes). */
export function scratchName(label: string): string {
  return `${label}-${process.pid}-${Date.now().toString(36)}`;
}

export interface StreamedDownload {
  status: number;
  headers: Headers;
  /** SHA-256 of the body bytes received. */
  sha256: string;
  bytes: number;
  /** The body ended in an error (a reset, a short body), not a clean end. */
  error: string | null;
  /** The JSON error answer, when the status is not 2xx. */
  json?: any;
}

/**
 * POST /api/{protocol}/{operation} with Accept: application/octet-stream, hashing the body as it arrives. Each
 * download has a connection of its own (no kept-alive socket the server may be closing as the request goes out).
 */
export async function streamDownload(
  url: string,
  protocol: string,
  operation: string,
  input: Record<string, unknown>,
  opts: { range?: string; onBytes?: (n: number) => void } = {},
): Promise<StreamedDownload> {
  const body = JSON.stringify(input);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/octet-stream', 'content-length': String(Buffer.byteLength(body)) };
  if (opts.range) headers.range = opts.range;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(`${url}/api/${protocol}/${operation}`, { method: 'POST', headers, agent: false }, resolve);
    req.on('error', reject);
    req.end(body);
  });
  const status = res.statusCode ?? 0;
  const resHeaders = new Headers();
  for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) resHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
  if (status < 200 || status > 299) {
    const parts: Buffer[] = [];
    for await (const chunk of res as AsyncIterable<Buffer>) parts.push(chunk);
    return { status, headers: resHeaders, sha256: '', bytes: 0, error: null, json: JSON.parse(Buffer.concat(parts).toString()) };
  }
  const hash = createHash('sha256');
  let bytes = 0;
  let error: string | null = null;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      opts.onBytes?.(bytes);
    }
    // A body cut short of its Content-Length: Node ends the stream with 'aborted'; name it whatever the version does.
    const length = res.headers['content-length'];
    if (length !== undefined && bytes !== Number(length)) error = `body ended after ${bytes} of ${length} bytes`;
  } catch (e) {
    error = (e as Error).message + ((e as { cause?: Error }).cause ? `: ${(e as { cause?: Error }).cause!.message}` : '');
  }
  return { status, headers: resHeaders, sha256: hash.digest('hex'), bytes, error };
}

/** `curl -F input=… -F file=@path` to an upload operation (no Expect: 100-continue wait); the JSON answer and status. */
export async function curlUpload(url: string, protocol: string, operation: string, input: Record<string, unknown>, filePath: string): Promise<{ status: number; body: any }> {
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((resolve, reject) =>
    execFile('curl', ['-sS', '-H', 'expect:', '-w', '\n%{http_code}', '-F', `input=${JSON.stringify(input)}`, '-F', `file=@${filePath};type=application/octet-stream`, `${url}/api/${protocol}/${operation}`], { maxBuffer: 16 * MiB }, (err, stdout, stderr) =>
      err ? reject(new Error(`curl: ${err.message} ${stderr}`)) : resolve(stdout),
    ),
  );
  const at = out.lastIndexOf('\n');
  return { status: Number(out.slice(at + 1)), body: JSON.parse(out.slice(0, at)) };
}

/** Processes that have `path` open (found through /proc/<pid>/fd): a server's session process serving that file. */
export function processesWithOpen(path: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === path) {
          out.push(Number(pid));
          break;
        }
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** Bytes a process has read so far (/proc/<pid>/io rchar), or null when it is gone. */
export function bytesRead(pid: number): number | null {
  try {
    return Number(/rchar:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
  } catch {
    return null;
  }
}
