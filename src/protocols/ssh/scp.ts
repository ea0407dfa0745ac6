// SCP: OpenSSH's scp protocol (the rcp protocol of 4.2BSD, as scp.c speaks it in its `-f` source and `-t`
// sink modes), run over an exec channel (RFC 4254 6.5).
//
// How it works: the side that receives answers every control record with one status byte: 0 is go on,
// 1 a warning and 2 a fatal error, each followed by a message line. A file is `C<mode> <size> <name>\n`,
// then exactly <size> bytes, then the sender's status byte; `-p` adds `T<mtime> 0 <atime> 0\n` before it.
// `get` runs `scp -p -f -- PATH` on the server and plays the receiver; `put` runs `scp -t -- PATH` and
// plays the sender. The size comes before the bytes, so a download announces it, and an upload must know
// it before it starts.
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Conn, Frame } from '../../core/conn.ts';
import { InvalidInput, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { ByteSink, ByteSource } from '../../core/files.ts';

/** Longest control line accepted (scp.c's own buffer is 2 KiB plus the name). */
const MAX_LINE = 8192;

export type ScpRecord =
  | { kind: 'ok' }
  | { kind: 'warning' | 'error'; message: string }
  | { kind: 'file'; mode: number; size: number; name: string }
  | { kind: 'time'; mtime: number; atime: number }
  | { kind: 'dir'; mode: number; name: string }
  | { kind: 'end-dir' };

const LINE_END = 0x0a;

/** One record: a status byte (0, or 1/2 with a message line) or a control line (C, T, D, E). */
export const scpRecordFrame: Frame<ScpRecord> = (buf) => {
  const first = buf[0];
  if (first === 0) return { value: { kind: 'ok' }, size: 1 };
  const end = buf.indexOf(LINE_END);
  if (end === -1) {
    if (buf.length > MAX_LINE) throw new ProtocolError(`scp control line longer than ${MAX_LINE} bytes`);
    return undefined;
  }
  if (end > MAX_LINE) throw new ProtocolError(`scp control line longer than ${MAX_LINE} bytes`);
  const line = fromUtf8(buf.subarray(1, end));
  const size = end + 1;
  switch (first) {
    case 1:
    case 2:
      return { value: { kind: first === 1 ? 'warning' : 'error', message: line }, size };
    case 0x43: // C
    case 0x44: {
      // D: C<mode> <size> <name>, D<mode> 0 <name>
      const m = /^([0-7]{4}) (\d{1,20}) (.+)$/.exec(line);
      if (!m) throw new ProtocolError(`scp ${first === 0x43 ? 'file' : 'directory'} record is malformed: ${JSON.stringify(line.slice(0, 80))}`);
      const mode = parseInt(m[1], 8);
      if (first === 0x44) return { value: { kind: 'dir', mode, name: m[3] }, size };
      const fileSize = Number(m[2]);
      if (!Number.isSafeInteger(fileSize)) throw new ProtocolError(`scp file size ${m[2]} is out of range`);
      return { value: { kind: 'file', mode, size: fileSize, name: m[3] }, size };
    }
    case 0x54: {
      // T<mtime> <mtime usec> <atime> <atime usec>
      const m = /^(\d{1,15}) (\d{1,6}) (\d{1,15}) (\d{1,6})$/.exec(line);
      if (!m) throw new ProtocolError(`scp time record is malformed: ${JSON.stringify(line.slice(0, 80))}`);
      return { value: { kind: 'time', mtime: Number(m[1]), atime: Number(m[3]) }, size };
    }
    case 0x45: // E
      return { value: { kind: 'end-dir' }, size };
    default:
      throw new ProtocolError(`scp record starts with byte ${first}, not 0, 1, 2, C, D, E or T`);
  }
};

/** `C<mode> <size> <name>\n`: a name may not hold a newline or a slash (scp.c refuses both). */
export function encodeFileRecord(mode: number, size: number, name: string): Uint8Array {
  if (/[\n/]/.test(name) || name === '' || name === '.' || name === '..') throw new ProtocolError(`scp cannot send a file named ${JSON.stringify(name)}`);
  return utf8(`C${(mode & 0o7777).toString(8).padStart(4, '0')} ${size} ${name}\n`);
}

/** A word for the remote shell, in single quotes (the exec request's command line is parsed by the user's shell). */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

const OK = new Uint8Array([0]);

function describe(r: ScpRecord): string {
  switch (r.kind) {
    case 'ok':
      return 'ok (0)';
    case 'warning':
    case 'error':
      return `${r.kind} (${r.kind === 'warning' ? 1 : 2}): ${r.message}`;
    case 'file':
      return `C${r.mode.toString(8).padStart(4, '0')} ${r.size} ${r.name}`;
    case 'time':
      return `T${r.mtime} 0 ${r.atime} 0`;
    case 'dir':
      return `D${r.mode.toString(8).padStart(4, '0')} ${r.name}`;
    case 'end-dir':
      return 'E';
  }
}

/** The server's words on a warning or an error record: scp's own message ("scp: x: No such file or directory"). */
function refused(r: ScpRecord, path: string): ServerError {
  const message = 'message' in r ? r.message : describe(r);
  return new ServerError(message.startsWith('scp:') ? message : `scp: ${path}: ${message}`, { path, scp: message });
}

async function readRecord(conn: Conn): Promise<ScpRecord> {
  return conn.readFrame(scpRecordFrame, 'scp record', describe);
}

async function expectOk(conn: Conn, path: string): Promise<void> {
  const r = await readRecord(conn);
  if (r.kind !== 'ok') throw r.kind === 'warning' || r.kind === 'error' ? refused(r, path) : new ProtocolError(`scp: expected a status byte, got ${describe(r)}`);
}

export interface ScpFile {
  name: string;
  mode: number;
  size: number;
  /** Seconds since the epoch, from the T record (`-p`). */
  mtime: number | null;
}

/**
 * The receiving side of `scp -p -f`: reads the file's records and hands its bytes to the sink that
 * `open(file)` returns, as they arrive. A directory is refused (no recursion here).
 */
export async function scpReceive(conn: Conn, path: string, open: (file: ScpFile) => Promise<ByteSink>): Promise<ScpFile> {
  await conn.write(OK, { decode: 'ready (0)' });
  let mtime: number | null = null;
  for (;;) {
    const r = await readRecord(conn);
    if (r.kind === 'time') {
      mtime = r.mtime;
      await conn.write(OK, { decode: 'ok (0)' });
      continue;
    }
    if (r.kind === 'warning' || r.kind === 'error') throw refused(r, path);
    if (r.kind === 'dir') throw new ServerError(`scp: ${path} is a directory; scp-get copies one file`, { path });
    if (r.kind !== 'file') throw new ProtocolError(`scp: expected a file record, got ${describe(r)}`);
    const file: ScpFile = { name: r.name, mode: r.mode, size: r.size, mtime };
    const sink = await open(file);
    await conn.write(OK, { decode: 'ok (0)' });
    for (let left = r.size; left > 0; ) {
      const chunk = await conn.read(Math.min(left, 1024 * 1024));
      if (chunk === null) throw new PortolanError('closed', `scp: the server closed the channel after ${r.size - left} of ${r.size} bytes`);
      left -= chunk.length;
      await sink.write(chunk);
    }
    // The sender's status after the bytes: 0, or the error that cut the file (a read error on its side).
    await expectOk(conn, path);
    await conn.write(OK, { decode: 'ok (0)' });
    return file;
  }
}

/** The sending side of `scp -t`: one file of exactly `size` bytes from `source`. Returns the bytes sent. */
export async function scpSend(conn: Conn, path: string, file: { name: string; mode: number; size: number }, source: ByteSource): Promise<number> {
  await expectOk(conn, path);
  await conn.write(encodeFileRecord(file.mode, file.size, file.name));
  await expectOk(conn, path);
  let sent = 0;
  for (let chunk = await source.read(); chunk !== null; chunk = await source.read()) {
    if (sent + chunk.length > file.size) throw InvalidInput.field('size', `the file is longer than the ${file.size} bytes announced`);
    sent += chunk.length;
    await conn.write(chunk, { decode: `file data: ${chunk.length} bytes` });
  }
  if (sent !== file.size) throw InvalidInput.field('size', `the file ended after ${sent} of the ${file.size} bytes announced`);
  await conn.write(OK, { decode: 'end of file (0)' });
  await expectOk(conn, path);
  return sent;
}
