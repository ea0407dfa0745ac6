// 9P (Plan 9's file protocol: 9P2000, the Unix extension 9P2000.u, the Linux dialect 9P2000.L), sans-I/O:
// message framing (size[4] type[1] tag[2], little-endian), the T-messages a client sends, the R-messages parsed.
import { ByteReader, ByteWriter, fromUtf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export type Dialect = '9P2000' | '9P2000.u' | '9P2000.L';
export const DIALECTS: readonly Dialect[] = ['9P2000.L', '9P2000.u', '9P2000'];

export const NOTAG = 0xffff;
export const NOFID = 0xffffffff;

export const T = {
  statfs: 8,
  lopen: 12,
  lcreate: 14,
  getattr: 24,
  readdir: 40,
  mkdir: 72,
  version: 100,
  auth: 102,
  attach: 104,
  flush: 108,
  walk: 110,
  open: 112,
  create: 114,
  read: 116,
  write: 118,
  clunk: 120,
  remove: 122,
  stat: 124,
} as const;
const T_NAMES: Record<number, string> = Object.fromEntries(Object.entries(T).flatMap(([k, v]) => [[v, `T${k}`], [v + 1, `R${k}`]]));
T_NAMES[6] = 'Tlerror';
T_NAMES[7] = 'Rlerror';
T_NAMES[106] = 'Terror';
T_NAMES[107] = 'Rerror';
export const messageName = (type: number): string => T_NAMES[type] ?? `message ${type}`;

/** Largest message this client accepts and offers (msize): 1 MiB of payload and headers. */
export const MAX_MSIZE = 1024 * 1024 + 24;
/** The msize offered by default. */
export const DEFAULT_MSIZE = 256 * 1024;
/** Most path elements one Twalk may carry (MAXWELEM). */
export const MAXWELEM = 16;

export interface Message {
  type: number;
  tag: number;
  body: Uint8Array;
}

/** One 9P message: size[4] (itself included), type[1], tag[2], body. */
export function messageFrame(max = MAX_MSIZE): Frame<Message> {
  return (buf) => {
    if (buf.length < 4) return undefined;
    const size = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0, true);
    if (size < 7) throw new ProtocolError(`9P: message size ${size} is shorter than its header`);
    if (size > max) throw new ProtocolError(`9P: message size ${size} exceeds ${max}`);
    if (buf.length < size) return undefined;
    return { value: { type: buf[4], tag: buf[5] | (buf[6] << 8), body: buf.slice(7, size) }, size };
  };
}

/** A message: the header around a body the writer fills. */
export function encode(type: number, tag: number, fill: (w: ByteWriter) => void = () => {}): Uint8Array {
  const w = new ByteWriter(64);
  const size = w.lengthAt('u32le', true);
  w.u8(type).u16le(tag);
  fill(w);
  size();
  return w.finish();
}

/** A 9P string: len[2] and UTF-8. */
export function str(w: ByteWriter, s: string): ByteWriter {
  return w.lengthPrefixed('u16le', s);
}

const readStr = (r: ByteReader, field: string): string => fromUtf8(r.lengthPrefixed('u16le', field, 65535));

export interface Qid {
  type: number;
  version: number;
  path: string;
}

export const QTDIR = 0x80;
export const QTSYMLINK = 0x02;

function readQid(r: ByteReader, field = 'qid'): Qid {
  return { type: r.u8(`${field}.type`), version: r.u32le(`${field}.version`), path: r.u64le(`${field}.path`).toString() };
}

export const qidKind = (q: Qid): 'directory' | 'symlink' | 'file' => (q.type & QTDIR ? 'directory' : q.type & QTSYMLINK ? 'symlink' : 'file');

function u64n(r: ByteReader, field: string): number {
  const v = r.u64le(field);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`9P: ${field} ${v} is too large`);
  return Number(v);
}

// T-messages

export const tversion = (msize: number, version: string): Uint8Array => encode(T.version, NOTAG, (w) => str(w.u32le(msize), version));

export function tattach(tag: number, dialect: Dialect, a: { fid: number; uname: string; aname: string; uid: number }): Uint8Array {
  return encode(T.attach, tag, (w) => {
    str(str(w.u32le(a.fid).u32le(NOFID), a.uname), a.aname);
    if (dialect !== '9P2000') w.u32le(a.uid);
  });
}

export function twalk(tag: number, fid: number, newfid: number, names: readonly string[]): Uint8Array {
  if (names.length > MAXWELEM) throw new ProtocolError(`9P: a walk of ${names.length} elements (at most ${MAXWELEM})`);
  return encode(T.walk, tag, (w) => {
    w.u32le(fid).u32le(newfid).u16le(names.length);
    for (const n of names) str(w, n);
  });
}

export const tclunk = (tag: number, fid: number): Uint8Array => encode(T.clunk, tag, (w) => w.u32le(fid));
export const tremove = (tag: number, fid: number): Uint8Array => encode(T.remove, tag, (w) => w.u32le(fid));
export const tstat = (tag: number, fid: number): Uint8Array => encode(T.stat, tag, (w) => w.u32le(fid));
export const topen = (tag: number, fid: number, mode: number): Uint8Array => encode(T.open, tag, (w) => w.u32le(fid).u8(mode));
export const tlopen = (tag: number, fid: number, flags: number): Uint8Array => encode(T.lopen, tag, (w) => w.u32le(fid).u32le(flags));
export const tread = (tag: number, fid: number, offset: number, count: number): Uint8Array => encode(T.read, tag, (w) => w.u32le(fid).u64le(BigInt(offset)).u32le(count));
export const twrite = (tag: number, fid: number, offset: number, data: Uint8Array): Uint8Array => encode(T.write, tag, (w) => w.u32le(fid).u64le(BigInt(offset)).u32le(data.length).bytes(data));
export const treaddir = (tag: number, fid: number, offset: bigint, count: number): Uint8Array => encode(T.readdir, tag, (w) => w.u32le(fid).u64le(offset).u32le(count));
/** Tgetattr asking for the basic fields (P9_GETATTR_BASIC, 0x7ff). */
export const tgetattr = (tag: number, fid: number): Uint8Array => encode(T.getattr, tag, (w) => w.u32le(fid).u64le(0x7ffn));
export const tstatfs = (tag: number, fid: number): Uint8Array => encode(T.statfs, tag, (w) => w.u32le(fid));

export function tcreate(tag: number, dialect: Dialect, fid: number, name: string, perm: number, mode: number): Uint8Array {
  return encode(T.create, tag, (w) => {
    str(w.u32le(fid), name).u32le(perm).u8(mode);
    if (dialect === '9P2000.u') str(w, '');
  });
}

export const tlcreate = (tag: number, fid: number, name: string, flags: number, mode: number, gid: number): Uint8Array => encode(T.lcreate, tag, (w) => str(w.u32le(fid), name).u32le(flags).u32le(mode).u32le(gid));
export const tmkdir = (tag: number, dfid: number, name: string, mode: number, gid: number): Uint8Array => encode(T.mkdir, tag, (w) => str(w.u32le(dfid), name).u32le(mode).u32le(gid));

// R-messages

export function parseRversion(body: Uint8Array): { msize: number; version: string } {
  const r = new ByteReader(body);
  return { msize: r.u32le('msize'), version: readStr(r, 'version') };
}

/** Rerror (the server's words; 9P2000.u adds an errno) or Rlerror (an errno alone). */
export function parseError(m: Message, dialect: Dialect): { message: string; errno: number | null } {
  const r = new ByteReader(m.body);
  if (m.type === 7) {
    const errno = r.u32le('ecode');
    return { message: errnoText(errno), errno };
  }
  const message = readStr(r, 'ename');
  return { message, errno: dialect === '9P2000.u' && r.remaining >= 4 ? r.u32le('errno') : null };
}

const ERRNO: Record<number, string> = {
  1: 'EPERM: operation not permitted',
  2: 'ENOENT: no such file or directory',
  5: 'EIO: input/output error',
  9: 'EBADF: bad file descriptor',
  12: 'ENOMEM: out of memory',
  13: 'EACCES: permission denied',
  17: 'EEXIST: file exists',
  20: 'ENOTDIR: not a directory',
  21: 'EISDIR: is a directory',
  22: 'EINVAL: invalid argument',
  28: 'ENOSPC: no space left on device',
  30: 'EROFS: read-only file system',
  36: 'ENAMETOOLONG: file name too long',
  39: 'ENOTEMPTY: directory not empty',
  95: 'EOPNOTSUPP: operation not supported',
};
export const errnoText = (e: number): string => ERRNO[e] ?? `errno ${e}`;

export const parseQidReply = (body: Uint8Array): Qid => readQid(new ByteReader(body));

export function parseRwalk(body: Uint8Array): Qid[] {
  const r = new ByteReader(body);
  const n = r.u16le('nwqid');
  if (n > MAXWELEM) throw new ProtocolError(`9P: Rwalk with ${n} qids (at most ${MAXWELEM})`);
  return Array.from({ length: n }, (_, i) => readQid(r, `wqid[${i}]`));
}

/** Ropen, Rlopen, Rcreate, Rlcreate: the qid and the iounit (0: msize - 24). */
export function parseOpened(body: Uint8Array): { qid: Qid; iounit: number } {
  const r = new ByteReader(body);
  return { qid: readQid(r), iounit: r.u32le('iounit') };
}

/** Rread's data (its count checked against the body). */
export function parseRread(body: Uint8Array): Uint8Array {
  const r = new ByteReader(body);
  const count = r.u32le('count');
  if (count !== r.remaining) throw new ProtocolError(`9P: Rread count ${count} with ${r.remaining} bytes of data`);
  return r.rest();
}

export const parseRwrite = (body: Uint8Array): number => new ByteReader(body).u32le('count');

export interface Attr {
  qid: Qid;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  blocks: number;
  atime: string;
  mtime: string;
  ctime: string;
}

const isoOf = (sec: number, nsec = 0): string => {
  const d = new Date(sec * 1000 + Math.floor(nsec / 1e6));
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
};

/** Rgetattr (9P2000.L). */
export function parseRgetattr(body: Uint8Array): Attr {
  const r = new ByteReader(body);
  r.u64le('valid');
  const qid = readQid(r);
  const mode = r.u32le('mode');
  const uid = r.u32le('uid');
  const gid = r.u32le('gid');
  const nlink = u64n(r, 'nlink');
  r.u64le('rdev');
  const size = u64n(r, 'size');
  r.u64le('blksize');
  const blocks = u64n(r, 'blocks');
  const atime = isoOf(u64n(r, 'atime_sec'), u64n(r, 'atime_nsec'));
  const mtime = isoOf(u64n(r, 'mtime_sec'), u64n(r, 'mtime_nsec'));
  const ctime = isoOf(u64n(r, 'ctime_sec'), u64n(r, 'ctime_nsec'));
  return { qid, mode, uid, gid, nlink, size, blocks, atime, mtime, ctime };
}

export interface DirEntry {
  qid: Qid;
  offset: bigint;
  type: number;
  name: string;
}

/** Rreaddir's entries (9P2000.L): qid, the offset of the next entry, the dirent type, the name. */
export function parseRreaddir(body: Uint8Array): DirEntry[] {
  const data = parseRread(body);
  const r = new ByteReader(data);
  const out: DirEntry[] = [];
  while (!r.done) out.push({ qid: readQid(r), offset: r.u64le('offset'), type: r.u8('type'), name: readStr(r, 'name') });
  return out;
}

export interface Stat {
  qid: Qid;
  mode: number;
  atime: string;
  mtime: string;
  length: number;
  name: string;
  uid: string;
  gid: string;
  muid: string;
  extension?: string;
  nuid?: number;
}

/** A classic stat record (size[2] first), with the 9P2000.u fields when `dialect` says so. */
export function readStat(r: ByteReader, dialect: Dialect): Stat {
  const size = r.u16le('stat size');
  const inner = new ByteReader(r.bytesN(size, 'stat'));
  inner.u16le('stat.type');
  inner.u32le('stat.dev');
  const qid = readQid(inner);
  const mode = inner.u32le('stat.mode');
  const atime = isoOf(inner.u32le('stat.atime'));
  const mtime = isoOf(inner.u32le('stat.mtime'));
  const length = u64n(inner, 'stat.length');
  const out: Stat = { qid, mode, atime, mtime, length, name: readStr(inner, 'stat.name'), uid: readStr(inner, 'stat.uid'), gid: readStr(inner, 'stat.gid'), muid: readStr(inner, 'stat.muid') };
  if (dialect === '9P2000.u' && inner.remaining > 0) {
    out.extension = readStr(inner, 'stat.extension');
    out.nuid = inner.u32le('stat.n_uid');
  }
  return out;
}

/** Rstat: nstat[2] then one stat record. */
export function parseRstat(body: Uint8Array, dialect: Dialect): Stat {
  const r = new ByteReader(body);
  r.u16le('nstat');
  return readStat(r, dialect);
}

/** The stat records a classic Tread of a directory returns, back to back. */
export function parseDirStats(data: Uint8Array, dialect: Dialect): Stat[] {
  const r = new ByteReader(data);
  const out: Stat[] = [];
  while (!r.done) out.push(readStat(r, dialect));
  return out;
}

/** The Unix mode of a classic 9P mode word (DMDIR and permission bits). */
export const DMDIR = 0x80000000;
