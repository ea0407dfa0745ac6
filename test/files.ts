// Large files for transfer tests and benchmarks: generated under the lab state dir (never in the
// repository, which wrangler dev watches), deterministic, with their SHA-256 known from the generation.
import { createCipheriv, createHash } from 'node:crypto';
import { chmodSync, closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
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

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A unique name for a file a test writes (removed by the test when it passes). */
export function scratchName(label: string): string {
  return `${label}-${process.pid}-${Date.now().toString(36)}`;
}
