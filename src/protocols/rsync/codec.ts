// rsync's daemon protocol (rsyncd, TCP 873): the "@RSYNCD: <version>[.<sub>] [auth digests]" greeting, the module list,
// the challenge authentication, then rsync's binary stream: varints (rsync's own, io.c), the multiplexed frames the
// sender writes (4-byte little-endian header: tag + 7 in the top byte, 24-bit length) and the file list (flist.c) as a
// sender writes it for protocol 30 and later with varint flags.
import { ByteWriter, concat, fromLatin1, fromUtf8, toBase64, toHex, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { md4 } from '../dcerpc/ntlmssp.ts';

/** Longest text line of the daemon phase (a motd line, a module line, an error). */
const MAX_LINE = 8192;

/** One "\n"-ended line of the daemon phase, without its end. */
export const lineFrame: Frame<string> = (buf) => {
  const nl = buf.indexOf(0x0a);
  if (nl === -1) {
    if (buf.length > MAX_LINE) throw new ProtocolError(`rsync daemon line longer than ${MAX_LINE} bytes`);
    return undefined;
  }
  if (nl > MAX_LINE) throw new ProtocolError(`rsync daemon line longer than ${MAX_LINE} bytes`);
  const end = nl > 0 && buf[nl - 1] === 0x0d ? nl - 1 : nl;
  let text: string;
  try {
    text = fromUtf8(buf.subarray(0, end), true);
  } catch {
    text = fromLatin1(buf.subarray(0, end));
  }
  return { value: text, size: nl + 1 };
};

export interface Greeting {
  protocol: number;
  subprotocol: number;
  /** Authentication digests the daemon accepts, its preference first (rsync 3.2 and later). */
  digests: string[];
}

/** "@RSYNCD: 32.0 sha512 sha256 sha1 md5 md4". */
export function parseGreeting(line: string): Greeting {
  const m = /^@RSYNCD: (\d+)(?:\.(\d+))?(?: (.*))?$/.exec(line);
  if (!m) throw new ProtocolError(`not an rsync daemon greeting: ${JSON.stringify(line.slice(0, 80))}`);
  return { protocol: Number(m[1]), subprotocol: Number(m[2] ?? 0), digests: (m[3] ?? '').split(/\s+/).filter(Boolean) };
}

/** A module list line: the name (padded to 15 columns), a tab, the comment. */
export function parseModuleLine(line: string): { name: string; comment: string } {
  const tab = line.indexOf('\t');
  if (tab === -1) return { name: line.trim(), comment: '' };
  return { name: line.slice(0, tab).trim(), comment: line.slice(tab + 1) };
}

/** md4-old: the MD4 of daemons that negotiate no digest (protocol 29 and before), seeded with four zero bytes. */
export type AuthDigest = 'sha1' | 'md5' | 'md4' | 'md4-old';

/** Digests this client can answer with, preferred first. */
export const AUTH_DIGESTS: readonly AuthDigest[] = ['sha1', 'md5', 'md4'];

/**
 * The digest both sides use: when both the client's greeting and the daemon's list digests, the first of the
 * client's list the daemon offers; otherwise MD5 from protocol 30 on and MD4 before it (authenticate.c, compat.c).
 */
export function authDigest(greeting: Greeting, protocol: number, offered: readonly AuthDigest[]): AuthDigest {
  if (greeting.digests.length === 0 || offered.length === 0) return protocol >= 30 ? 'md5' : 'md4-old';
  const hit = offered.find((d) => greeting.digests.includes(d));
  if (!hit) throw new ProtocolError(`the daemon offers no authentication digest this client knows (${greeting.digests.join(' ')})`);
  return hit;
}

/** The answer to "@RSYNCD: AUTHREQD <challenge>": "user base64(digest(password + challenge))", unpadded. */
export function authResponse(user: string, password: string, challenge: string, digest: AuthDigest, crypto: CryptoPort): string {
  if (/[\s\0]/.test(user)) throw InvalidInput.field('username', 'must not contain spaces or control characters');
  const input = concat([utf8(password), utf8(challenge)]);
  // checksum.c sum_init: the old MD4 starts with the 4-byte checksum seed, zero here; the negotiated one does not.
  const hash = digest === 'md5' ? crypto.md5(input) : digest === 'sha1' ? crypto.sha1Sync(input) : digest === 'md4' ? md4(input) : md4(concat([new Uint8Array(4), input]));
  return `${user} ${toBase64(hash).replace(/=+$/, '')}`;
}

// The binary phase.

/** Bytes missing: the caller waits for more and tries again from the same place. */
export class Incomplete extends ProtocolError {
  constructor() {
    super('rsync stream: more bytes needed');
  }
}

/** Extra bytes after the first byte of a varint, by the first byte's top six bits (io.c int_byte_extra). */
export function extraBytes(first: number): number {
  if (first < 0x80) return 0;
  if (first < 0xc0) return 1;
  if (first < 0xe0) return 2;
  if (first < 0xf0) return 3;
  if (first < 0xf8) return 4;
  if (first < 0xfc) return 5;
  return 6;
}

/** A cursor over buffered stream bytes that throws Incomplete at the end. */
export class Cursor {
  constructor(
    readonly bytes: Uint8Array,
    public offset = 0,
  ) {}

  take(n: number): Uint8Array {
    if (this.offset + n > this.bytes.length) throw new Incomplete();
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  byte(): number {
    return this.take(1)[0];
  }

  u16(): number {
    const b = this.take(2);
    return b[0] | (b[1] << 8);
  }

  int32(): number {
    return this.sint32() >>> 0;
  }

  /** io.c read_int: a signed 32-bit little-endian value. */
  sint32(): number {
    const b = this.take(4);
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24);
  }

  /** io.c read_varint: a first byte whose top bits count the extra bytes, little-endian value. */
  varint(field: string): number {
    const first = this.byte();
    const extra = extraBytes(first);
    if (extra > 4) throw new ProtocolError(`rsync ${field}: varint of ${extra + 1} bytes`);
    const rest = this.take(extra);
    let value = 0;
    for (let i = 0; i < extra; i++) value += rest[i] * 2 ** (8 * i);
    const high = extra === 0 ? first : first & ((1 << (8 - extra)) - 1);
    return value + high * 2 ** (8 * extra);
  }

  /** io.c read_varlong: `min` bytes (the first says how many more follow), little-endian value up to 2^53. */
  varlong(min: number, field: string): number {
    const head = this.take(min);
    const extra = extraBytes(head[0]);
    const rest = this.take(extra);
    const le = [...head.subarray(1), ...rest];
    le.push(extra === 0 ? head[0] : head[0] & ((1 << (8 - extra)) - 1));
    let value = 0;
    for (let i = le.length - 1; i >= 0; i--) {
      value = value * 256 + le[i];
      if (value > Number.MAX_SAFE_INTEGER) throw new ProtocolError(`rsync ${field}: value beyond 2^53`);
    }
    return value;
  }

  /** compat.c vstring: one length byte (two when the top bit is set), then the bytes. */
  vstring(field: string): string {
    let len = this.byte();
    if (len & 0x80) len = ((len & 0x7f) << 8) | this.byte();
    if (len > 1024) throw new ProtocolError(`rsync ${field}: string of ${len} bytes`);
    return fromLatin1(this.take(len));
  }
}

/** compat.c write_vstring. */
export function vstring(s: string): Uint8Array {
  const b = utf8(s);
  if (b.length > 0x7fff) throw new ProtocolError('rsync vstring longer than 32767 bytes');
  return concat([b.length > 0x7f ? new Uint8Array([0x80 | (b.length >> 8), b.length & 0xff]) : new Uint8Array([b.length]), b]);
}

/** rsync.h message tags of multiplexed frames. */
export const MSG = { DATA: 0, ERROR_XFER: 1, INFO: 2, ERROR: 3, WARNING: 4, ERROR_SOCKET: 5, LOG: 6, CLIENT: 7, ERROR_UTF8: 8, REDO: 9, STATS: 10, IO_ERROR: 22, IO_TIMEOUT: 33, NOOP: 42, ERROR_EXIT: 86, SUCCESS: 100, DELETED: 101, NO_SEND: 102 } as const;

const MPLEX_BASE = 7;

export interface Message {
  tag: number;
  payload: Uint8Array;
}

/** The 4-byte header of a multiplexed frame (io.c): little-endian (tag + 7) << 24 | length. */
export const muxHeader: Frame<{ tag: number; length: number }> = (buf) => {
  if (buf.length < 4) return undefined;
  const header = (buf[0] | (buf[1] << 8) | (buf[2] << 16) | (buf[3] << 24)) >>> 0;
  const tag = (header >>> 24) - MPLEX_BASE;
  if (tag < 0) throw new ProtocolError(`rsync multiplexed frame with tag byte ${header >>> 24} (below ${MPLEX_BASE})`);
  return { value: { tag, length: header & 0xffffff }, size: 4 };
};

/** One whole multiplexed frame. */
export const messageFrame: Frame<Message> = (buf) => {
  const h = muxHeader(buf);
  if (!h || buf.length < 4 + h.value.length) return undefined;
  return { value: { tag: h.value.tag, payload: buf.subarray(4, 4 + h.value.length) }, size: 4 + h.value.length };
};

/** A MSG_DATA frame around `payload`. */
export function dataMessage(payload: Uint8Array): Uint8Array {
  if (payload.length > 0xffffff) throw new ProtocolError('rsync frame longer than 16 MiB');
  return new ByteWriter(4 + payload.length).u32le(((MPLEX_BASE + MSG.DATA) << 24) | payload.length).bytes(payload).finish();
}

/** flist.c transmit flags (varint form). */
const XMIT = { TOP_DIR: 0x1, SAME_MODE: 0x2, SAME_UID: 0x8, SAME_GID: 0x10, SAME_NAME: 0x20, LONG_NAME: 0x40, SAME_TIME: 0x80, USER_NAME_FOLLOWS: 0x400, GROUP_NAME_FOLLOWS: 0x800, MOD_NSEC: 0x2000, SAME_ATIME: 0x4000 } as const;

export interface FileEntry {
  /** Path relative to the listed directory, as the daemon sent it. */
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'device' | 'special';
  size: number;
  /** Modification time, seconds since 1970. */
  mtime: number;
  mtimeNsec: number;
  /** Permission bits (st_mode & 07777). */
  mode: number;
  target?: string;
}

const MAX_PATH = 4096;

function typeOf(mode: number): FileEntry['type'] {
  switch (mode & 0o170000) {
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    case 0o100000:
      return 'file';
    case 0o020000:
    case 0o060000:
      return 'device';
    default:
      return 'special';
  }
}

/**
 * The file list a sender writes for protocol 30+ with varint flags (CF_VARINT_FLIST_FLAGS), for the options this
 * client asks for (-l, no -o/-g/-D/-H/-c/-U/-N): entries until a zero flag word, then the io_error varint.
 * Stateful: each entry leans on the one before (shared name prefix, same time, same mode).
 */
export class FileListDecoder {
  private lastName: Uint8Array = new Uint8Array(0);
  private lastTime = 0;
  private lastMode = 0;
  readonly entries: FileEntry[] = [];
  ioError: number | null = null;
  /** Bytes of names and link targets kept so far. */
  private kept = 0;

  constructor(
    private readonly maxEntries = 100_000,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  get done(): boolean {
    return this.ioError !== null;
  }

  /** Decodes what `bytes` holds from `offset`; returns the offset after the last whole entry. */
  decode(bytes: Uint8Array, offset: number): number {
    let at = offset;
    while (!this.done) {
      const c = new Cursor(bytes, at);
      try {
        this.entry(c);
      } catch (e) {
        if (e instanceof Incomplete) return at;
        throw e;
      }
      at = c.offset;
    }
    return at;
  }

  private entry(c: Cursor): void {
    const flags = c.varint('file list flags');
    if (flags === 0) {
      this.ioError = c.varint('io_error');
      return;
    }
    if (this.entries.length >= this.maxEntries) throw new ProtocolError(`rsync file list longer than ${this.maxEntries} entries`);
    const l1 = flags & XMIT.SAME_NAME ? c.byte() : 0;
    const l2 = flags & XMIT.LONG_NAME ? c.varint('name length') : c.byte();
    if (l1 > this.lastName.length) throw new ProtocolError(`rsync file list: shared name prefix ${l1} longer than the previous name`);
    if (l1 + l2 > MAX_PATH) throw new ProtocolError(`rsync file list: name of ${l1 + l2} bytes (over ${MAX_PATH})`);
    const nameBytes = concat([this.lastName.subarray(0, l1), c.take(l2)]);
    const size = c.varlong(3, 'file size');
    const mtime = flags & XMIT.SAME_TIME ? this.lastTime : c.varlong(4, 'mtime');
    const mtimeNsec = flags & XMIT.MOD_NSEC ? c.varint('mtime nsec') : 0;
    const mode = flags & XMIT.SAME_MODE ? this.lastMode : c.int32();
    let target: string | undefined;
    if ((mode & 0o170000) === 0o120000) {
      const len = c.varint('symlink length');
      if (len > MAX_PATH) throw new ProtocolError(`rsync file list: symlink target of ${len} bytes`);
      target = text(c.take(len));
    }
    this.kept += nameBytes.length + (target?.length ?? 0);
    if (this.kept > this.maxBytes) throw new ProtocolError(`rsync file list: names longer than ${this.maxBytes} bytes in all`);
    this.lastName = nameBytes;
    this.lastTime = mtime;
    this.lastMode = mode;
    this.entries.push({ name: text(nameBytes), type: typeOf(mode), size, mtime, mtimeNsec, mode: mode & 0o7777, ...(target !== undefined ? { target } : {}) });
  }
}

function text(b: Uint8Array): string {
  try {
    return fromUtf8(b, true);
  } catch {
    return fromLatin1(b);
  }
}

/** The server arguments of a listing (options.c server_options): \0-separated from protocol 30, an empty one last. */
export function listArgs(module: string, path: string, recursive: boolean): Uint8Array {
  return serverArgs(['--server', '--sender', `-l${recursive ? 'r' : 'd'}e.LsfxCv`, '--list-only', '.', `${module}/${path}`]);
}

function serverArgs(args: string[]): Uint8Array {
  for (const a of args) if (a.includes('\0')) throw InvalidInput.field('path', 'must not contain NUL');
  return concat(args.map((a) => concat([utf8(a), new Uint8Array([0])])).concat([new Uint8Array([0])]));
}

// The transfer phase (generator.c, sender.c, receiver.c, token.c): file indexes, item flags, the checksum head,
// literal-data tokens and the whole-file checksum.

/** rsync.h: the index that ends a phase. */
export const NDX_DONE = -1;

/** rsync.h item flags (a 16-bit word beside each index from protocol 29). */
export const ITEM = { BASIS_TYPE_FOLLOWS: 1 << 11, XNAME_FOLLOWS: 1 << 12, IS_NEW: 1 << 13, LOCAL_CHANGE: 1 << 14, TRANSFER: 1 << 15 } as const;

/**
 * File indexes as io.c writes them from protocol 30: NDX_DONE as one zero byte, others as the difference from the
 * previous index of the same sign (one byte for 1-253, 0xFE and two bytes up to 32767, else 0xFE and four bytes with
 * the top bit set), negatives after 0xFF. One codec per direction: each side keeps its own previous values.
 */
export class NdxCodec {
  private prevPositive = -1;
  private prevNegative = 1;

  encode(ndx: number): Uint8Array {
    if (!Number.isInteger(ndx) || ndx < -0x7fffffff || ndx > 0x7fffffff) throw new RangeError(`file index ${ndx}`);
    if (ndx === NDX_DONE) return new Uint8Array([0]);
    const out: number[] = [];
    let value = ndx;
    let diff: number;
    if (ndx >= 0) {
      diff = ndx - this.prevPositive;
      this.prevPositive = ndx;
    } else {
      out.push(0xff);
      value = -ndx;
      diff = value - this.prevNegative;
      this.prevNegative = value;
    }
    if (diff > 0 && diff < 0xfe) out.push(diff);
    else if (diff < 0 || diff > 0x7fff) out.push(0xfe, ((value >>> 24) & 0x7f) | 0x80, value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff);
    else out.push(0xfe, diff >> 8, diff & 0xff);
    return new Uint8Array(out);
  }

  /** Reads one index; throws Incomplete without touching the state when the bytes end early. */
  decode(c: Cursor): number {
    let b = c.byte();
    if (b === 0) return NDX_DONE;
    const negative = b === 0xff;
    if (negative) b = c.byte();
    const prev = negative ? this.prevNegative : this.prevPositive;
    let num: number;
    if (b === 0xfe) {
      const x = c.take(2);
      if (x[0] & 0x80) {
        const y = c.take(2);
        num = (((x[0] & 0x7f) << 24) | x[1] | (y[0] << 8) | (y[1] << 16)) >>> 0;
      } else num = ((x[0] << 8) | x[1]) + prev;
    } else num = b + prev;
    if (negative) this.prevNegative = num;
    else this.prevPositive = num;
    return negative ? -num : num;
  }
}

/** The checksum head (match.c write_sum_head): block count, block length, strong-sum length, last block's length. */
export interface SumHead {
  count: number;
  blength: number;
  s2length: number;
  remainder: number;
}

/** The head of a request for the whole file (no basis: no blocks), as the generator writes it from protocol 27. */
export function wholeFileRequest(ndx: NdxCodec, index: number): Uint8Array {
  return new ByteWriter(32).bytes(ndx.encode(index)).u16le(ITEM.TRANSFER).bytes(new Uint8Array(16)).finish();
}

/** A literal-data token (token.c simple_send_token): a positive length of bytes that follow, 0 at the end of the file. */
export const MAX_LITERAL = 16 * 1024 * 1024;

export function literalLength(token: number): number {
  if (token < 0) throw new ProtocolError(`rsync sender sent a block-match token (${token}) for a whole-file request, which has no basis to copy from`);
  if (token > MAX_LITERAL) throw new ProtocolError(`rsync literal data token of ${token} bytes (over ${MAX_LITERAL})`);
  return token;
}

/** Compares the sender's whole-file checksum with the one of the bytes received. */
export function checkFileSum(path: string, algorithm: string, sent: Uint8Array, local: Uint8Array): void {
  const [theirs, ours] = [toHex(sent), toHex(local)];
  if (theirs !== ours) throw new ProtocolError(`${path}: the ${algorithm} of the bytes received (${ours}) differs from the sender's (${theirs}): the transfer is corrupt`, { sent: theirs, local: ours, algorithm });
}

/** The server arguments of a one-file download: the sender sends just that path (directories as entries, no recursion). */
export function downloadArgs(module: string, path: string): Uint8Array {
  return serverArgs(['--server', '--sender', '-lde.LsfxCv', '.', `${module}/${path}`]);
}
