// NFS version 3 (RFC 1813) with its MOUNT protocol (RFC 1813 appendix I), and the NFSv4.1 EXCHANGE_ID operation
// (RFC 8881 18.35): arguments and results in XDR (RFC 4506), every length and count capped.
import { concat } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { XdrWriter, type XdrReader } from '../oncrpc/codec.ts';

export const NFS_PROG = 100003;
export const MOUNT_PROG = 100005;
export const MOUNT_PROC = { NULL: 0, MNT: 1, UMNT: 3, EXPORT: 5 } as const;
export const NFS3_PROC = { NULL: 0, GETATTR: 1, SETATTR: 2, LOOKUP: 3, READ: 6, WRITE: 7, CREATE: 8, READDIRPLUS: 17, FSINFO: 19, COMMIT: 21 } as const;
export const NFS4_PROC = { NULL: 0, COMPOUND: 1 } as const;

/** RFC 1813 2.5: NFS3_FHSIZE. */
const MAX_FH = 64;
/** Longest name accepted in a reply (filename3 is unbounded in XDR; no file system has names this long). */
export const MAX_NAME = 4096;
/** RFC 1813 5.0 MNTPATHLEN and MNTNAMLEN. */
const MAX_DIRPATH = 1024;
const MAX_GROUPNAME = 255;
/** Most exports, groups and directory entries one reply may list. */
const MAX_EXPORTS = 10_000;
const MAX_GROUPS = 1_000;
const MAX_ENTRIES = 100_000;
/** RFC 8881 3.2: NFS4_OPAQUE_LIMIT. */
const NFS4_OPAQUE_LIMIT = 1024;

/** RFC 1813 2.6 nfsstat3, with what each means. */
export const NFS3_STATUS: Record<number, [string, string]> = {
  1: ['NFS3ERR_PERM', 'not owner: the caller is neither privileged nor the owner'],
  2: ['NFS3ERR_NOENT', 'no such file or directory'],
  5: ['NFS3ERR_IO', 'a hard I/O error on the server'],
  6: ['NFS3ERR_NXIO', 'no such device or address'],
  13: ['NFS3ERR_ACCES', 'permission denied'],
  17: ['NFS3ERR_EXIST', 'the file exists'],
  18: ['NFS3ERR_XDEV', 'a link across devices'],
  19: ['NFS3ERR_NODEV', 'no such device'],
  20: ['NFS3ERR_NOTDIR', 'not a directory'],
  21: ['NFS3ERR_ISDIR', 'is a directory'],
  22: ['NFS3ERR_INVAL', 'an invalid argument'],
  27: ['NFS3ERR_FBIG', 'the file would grow beyond the server\'s limit'],
  28: ['NFS3ERR_NOSPC', 'no space left on the device'],
  30: ['NFS3ERR_ROFS', 'a read-only file system'],
  31: ['NFS3ERR_MLINK', 'too many hard links'],
  63: ['NFS3ERR_NAMETOOLONG', 'the name is too long'],
  66: ['NFS3ERR_NOTEMPTY', 'the directory is not empty'],
  69: ['NFS3ERR_DQUOT', 'the quota is exceeded'],
  70: ['NFS3ERR_STALE', 'a stale file handle'],
  71: ['NFS3ERR_REMOTE', 'too many levels of remote in the path'],
  10001: ['NFS3ERR_BADHANDLE', 'an illegal file handle'],
  10002: ['NFS3ERR_NOT_SYNC', 'an update synchronization mismatch'],
  10003: ['NFS3ERR_BAD_COOKIE', 'a stale READDIR cookie'],
  10004: ['NFS3ERR_NOTSUPP', 'the operation is not supported'],
  10005: ['NFS3ERR_TOOSMALL', 'the buffer or request is too small'],
  10006: ['NFS3ERR_SERVERFAULT', 'an error on the server with no NFS counterpart'],
  10007: ['NFS3ERR_BADTYPE', 'an object type the server does not support'],
  10008: ['NFS3ERR_JUKEBOX', 'the server is still working on it: try again later'],
};

/** RFC 1813 5.1.5 mountstat3. */
export const MOUNT_STATUS: Record<number, [string, string]> = {
  1: ['MNT3ERR_PERM', 'not owner'],
  2: ['MNT3ERR_NOENT', 'no such export'],
  5: ['MNT3ERR_IO', 'an I/O error'],
  13: ['MNT3ERR_ACCES', 'permission denied'],
  20: ['MNT3ERR_NOTDIR', 'not a directory'],
  22: ['MNT3ERR_INVAL', 'an invalid argument'],
  63: ['MNT3ERR_NAMETOOLONG', 'the path is too long'],
  10004: ['MNT3ERR_NOTSUPP', 'not supported'],
  10006: ['MNT3ERR_SERVERFAULT', 'a fault on the server'],
};

/** RFC 1813 2.5 ftype3. */
export const FILE_TYPES = ['unknown', 'file', 'dir', 'blockDevice', 'charDevice', 'symlink', 'socket', 'fifo'] as const;
export type FileType = (typeof FILE_TYPES)[number];

export interface Fattr3 {
  type: FileType;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: bigint;
  used: bigint;
  fsid: bigint;
  fileid: bigint;
  atime: string;
  mtime: string;
  ctime: string;
}

/** nfstime3 as ISO 8601 (null when the seconds are beyond what a Date holds). */
function nfstime(x: XdrReader, field: string): string {
  const seconds = x.u32(`${field}.seconds`);
  const nseconds = x.u32(`${field}.nseconds`);
  if (nseconds > 999_999_999) throw new ProtocolError(`NFS ${field}: ${nseconds} nanoseconds`);
  return new Date(seconds * 1000 + Math.floor(nseconds / 1e6)).toISOString();
}

/** RFC 1813 2.5 fattr3. */
export function readFattr3(x: XdrReader): Fattr3 {
  const t = x.u32('fattr3.type');
  const type = FILE_TYPES[t];
  if (type === undefined || t === 0) throw new ProtocolError(`NFS fattr3: file type ${t}`);
  const mode = x.u32('fattr3.mode');
  const nlink = x.u32('fattr3.nlink');
  const uid = x.u32('fattr3.uid');
  const gid = x.u32('fattr3.gid');
  const size = x.u64('fattr3.size');
  const used = x.u64('fattr3.used');
  x.u32('fattr3.rdev.specdata1');
  x.u32('fattr3.rdev.specdata2');
  const fsid = x.u64('fattr3.fsid');
  const fileid = x.u64('fattr3.fileid');
  return { type, mode, nlink, uid, gid, size, used, fsid, fileid, atime: nfstime(x, 'atime'), mtime: nfstime(x, 'mtime'), ctime: nfstime(x, 'ctime') };
}

/** post_op_attr: attributes the server may leave out. */
export function readPostOpAttr(x: XdrReader): Fattr3 | null {
  return x.bool('post_op_attr.attributes_follow') ? readFattr3(x) : null;
}

/** wcc_data (RFC 1813 2.6): the attributes before (skipped) and after an update. */
export function readWcc(x: XdrReader): Fattr3 | null {
  if (x.bool('pre_op_attr.attributes_follow')) {
    x.u64('wcc_attr.size');
    for (const f of ['mtime.seconds', 'mtime.nseconds', 'ctime.seconds', 'ctime.nseconds']) x.u32(`wcc_attr.${f}`);
  }
  return readPostOpAttr(x);
}

export function readFh(x: XdrReader, field = 'nfs_fh3'): Uint8Array {
  return x.opaque(field, MAX_FH);
}

function readPostOpFh(x: XdrReader): Uint8Array | null {
  return x.bool('post_op_fh3.handle_follows') ? readFh(x) : null;
}

/** A name from the server: capped, and never empty (RFC 1813 2.5 filename3). */
function readName(x: XdrReader, field: string): string {
  return x.string(field, MAX_NAME);
}

/** An NFS status other than NFS3_OK, named; the caller builds the error (it knows the path). */
export class NfsStatus {
  constructor(
    readonly code: number,
    readonly name: string,
    readonly meaning: string,
  ) {}
}

export function nfs3Status(code: number): NfsStatus {
  const [name, meaning] = NFS3_STATUS[code] ?? [`NFS3ERR ${code}`, 'a status RFC 1813 does not define'];
  return new NfsStatus(code, name, meaning);
}

/** The leading nfsstat3 of a result: null for NFS3_OK. */
function status(x: XdrReader): NfsStatus | null {
  const code = x.u32('nfsstat3');
  return code === 0 ? null : nfs3Status(code);
}

// MOUNT (RFC 1813 appendix I).

export function dirpathArgs(path: string): Uint8Array {
  return new XdrWriter().string(path).finish();
}

export type MountResult = { ok: true; fh: Uint8Array; flavors: number[] } | { ok: false; code: number; name: string; meaning: string };

/** I.5.3 MOUNTPROC3_MNT: the export's root handle and the auth flavors it takes. */
export function parseMnt(x: XdrReader): MountResult {
  const code = x.u32('mountstat3');
  if (code !== 0) {
    const [name, meaning] = MOUNT_STATUS[code] ?? [`MNT3ERR ${code}`, 'a status RFC 1813 does not define'];
    return { ok: false, code, name, meaning };
  }
  const fh = x.opaque('fhandle3', MAX_FH);
  const n = x.u32('auth_flavors count');
  if (n > 64) throw new ProtocolError(`MOUNT: ${n} auth flavors`);
  const flavors: number[] = [];
  for (let i = 0; i < n; i++) flavors.push(x.u32('auth_flavor'));
  return { ok: true, fh, flavors };
}

export interface ExportEntry {
  path: string;
  groups: string[];
}

/** I.5.6 MOUNTPROC3_EXPORT: the export list, each with the groups (hosts, netgroups) allowed to mount it. */
export function parseExports(x: XdrReader): ExportEntry[] {
  return x.list('exports', MAX_EXPORTS, () => ({ path: x.string('ex_dir', MAX_DIRPATH), groups: x.list('ex_groups', MAX_GROUPS, () => x.string('gr_name', MAX_GROUPNAME)) }));
}

// NFS version 3 procedures.

export function fhArgs(fh: Uint8Array): Uint8Array {
  return new XdrWriter().opaque(fh).finish();
}

/** 3.3.1 GETATTR. */
export function parseGetattr(x: XdrReader): { status: NfsStatus } | { status: null; attrs: Fattr3 } {
  const s = status(x);
  return s ? { status: s } : { status: null, attrs: readFattr3(x) };
}

export function lookupArgs(dir: Uint8Array, name: string): Uint8Array {
  return new XdrWriter().opaque(dir).string(name).finish();
}

/** 3.3.3 LOOKUP. */
export function parseLookup(x: XdrReader): { status: NfsStatus } | { status: null; fh: Uint8Array; attrs: Fattr3 | null } {
  const s = status(x);
  if (s) return { status: s };
  const fh = readFh(x);
  const attrs = readPostOpAttr(x);
  readPostOpAttr(x);
  return { status: null, fh, attrs };
}

export interface FsInfo {
  rtmax: number;
  rtpref: number;
  wtmax: number;
  wtpref: number;
  dtpref: number;
  maxFileSize: bigint;
}

/** 3.3.19 FSINFO. */
export function parseFsinfo(x: XdrReader): { status: NfsStatus } | ({ status: null } & FsInfo) {
  const s = status(x);
  if (s) return { status: s };
  readPostOpAttr(x);
  const rtmax = x.u32('rtmax');
  const rtpref = x.u32('rtpref');
  x.u32('rtmult');
  const wtmax = x.u32('wtmax');
  const wtpref = x.u32('wtpref');
  x.u32('wtmult');
  const dtpref = x.u32('dtpref');
  const maxFileSize = x.u64('maxfilesize');
  return { status: null, rtmax, rtpref, wtmax, wtpref, dtpref, maxFileSize };
}

export function readArgs(fh: Uint8Array, offset: number, count: number): Uint8Array {
  return new XdrWriter().opaque(fh).u64(BigInt(offset)).u32(count).finish();
}

/**
 * 3.3.6 READ: the data, no more than was asked. The opaque's length and `count` must agree (RFC 1813 says the
 * data's length is `count`): a server announcing more than the call asked is a protocol error, before its bytes.
 */
export function parseRead(x: XdrReader, asked: number): { status: NfsStatus } | { status: null; eof: boolean; data: Uint8Array; attrs: Fattr3 | null } {
  const s = status(x);
  if (s) return { status: s };
  const attrs = readPostOpAttr(x);
  const count = x.u32('READ count');
  const eof = x.bool('READ eof');
  if (count > asked) throw new ProtocolError(`NFS READ: the server announces ${count} bytes where ${asked} were asked`);
  const data = x.opaque('READ data', asked);
  if (data.length !== count) throw new ProtocolError(`NFS READ: count ${count} but ${data.length} bytes of data`);
  return { status: null, eof, data, attrs };
}

/** RFC 1813 3.3.7 stable_how. */
export const STABLE = { UNSTABLE: 0, DATA_SYNC: 1, FILE_SYNC: 2 } as const;

export function writeArgs(fh: Uint8Array, offset: number, data: Uint8Array, stable: number): Uint8Array {
  return new XdrWriter().opaque(fh).u64(BigInt(offset)).u32(data.length).u32(stable).opaque(data).finish();
}

/** 3.3.7 WRITE: bytes taken, how stable, and the write verifier (changes when the server restarts). */
export function parseWrite(x: XdrReader): { status: NfsStatus } | { status: null; count: number; committed: number; verifier: Uint8Array } {
  const s = status(x);
  readWcc(x);
  if (s) return { status: s };
  const count = x.u32('WRITE count');
  const committed = x.u32('WRITE committed');
  if (committed > 2) throw new ProtocolError(`NFS WRITE: stable_how ${committed}`);
  return { status: null, count, committed, verifier: x.fixed(8, 'writeverf3') };
}

/** 3.3.8 CREATE: UNCHECKED (truncated to size 0 when it exists) or GUARDED (NFS3ERR_EXIST when it exists), with a mode. */
export function createArgs(dir: Uint8Array, name: string, guarded: boolean, mode: number): Uint8Array {
  const w = new XdrWriter().opaque(dir).string(name).u32(guarded ? 1 : 0);
  // sattr3: mode set, uid and gid left, size 0, times set to the server's.
  return w.bool(true).u32(mode).bool(false).bool(false).bool(true).u64(0n).u32(1).u32(1).finish();
}

export function parseCreate(x: XdrReader): { status: NfsStatus } | { status: null; fh: Uint8Array | null; attrs: Fattr3 | null } {
  const s = status(x);
  if (s) {
    readWcc(x);
    return { status: s };
  }
  const fh = readPostOpFh(x);
  const attrs = readPostOpAttr(x);
  readWcc(x);
  return { status: null, fh, attrs };
}

/** 3.3.2 SETATTR of the size alone to 0 (truncation), no guard; the modification time set to the server's. */
export function truncateArgs(fh: Uint8Array): Uint8Array {
  return new XdrWriter().opaque(fh).bool(false).bool(false).bool(false).bool(true).u64(0n).u32(0).u32(1).bool(false).finish();
}

export function parseSetattr(x: XdrReader): { status: NfsStatus | null; attrs: Fattr3 | null } {
  const s = status(x);
  return { status: s, attrs: readWcc(x) };
}

export function commitArgs(fh: Uint8Array): Uint8Array {
  return new XdrWriter().opaque(fh).u64(0n).u32(0).finish();
}

/** 3.3.21 COMMIT: the file's attributes after and the write verifier. */
export function parseCommit(x: XdrReader): { status: NfsStatus } | { status: null; attrs: Fattr3 | null; verifier: Uint8Array } {
  const s = status(x);
  const attrs = readWcc(x);
  if (s) return { status: s };
  return { status: null, attrs, verifier: x.fixed(8, 'writeverf3') };
}

export function readdirplusArgs(dir: Uint8Array, cookie: bigint, verifier: Uint8Array, dircount: number, maxcount: number): Uint8Array {
  return new XdrWriter().opaque(dir).u64(cookie).fixed(verifier).u32(dircount).u32(maxcount).finish();
}

export interface DirEntry {
  fileid: bigint;
  name: string;
  cookie: bigint;
  attrs: Fattr3 | null;
  fh: Uint8Array | null;
}

/** 3.3.17 READDIRPLUS: one page of entries, the cookie verifier, and whether the directory ended. */
export function parseReaddirplus(x: XdrReader): { status: NfsStatus } | { status: null; verifier: Uint8Array; entries: DirEntry[]; eof: boolean } {
  const s = status(x);
  readPostOpAttr(x);
  if (s) return { status: s };
  const verifier = x.fixed(8, 'cookieverf3');
  const entries = x.list('entryplus3', MAX_ENTRIES, () => {
    const fileid = x.u64('fileid');
    const name = readName(x, 'entryplus3.name');
    const cookie = x.u64('cookie');
    return { fileid, name, cookie, attrs: readPostOpAttr(x), fh: readPostOpFh(x) };
  });
  return { status: null, verifier, entries, eof: x.bool('dirlistplus3.eof') };
}

// NFSv4.1 (RFC 8881): one COMPOUND with EXCHANGE_ID, and one with DESTROY_CLIENTID.

const OP = { EXCHANGE_ID: 42, DESTROY_CLIENTID: 57 } as const;

/** RFC 8881 18.35.3 eia_flags / eir_flags. */
export const EXCHGID4_FLAGS: Record<string, number> = {
  SUPP_MOVED_REFER: 0x00000001,
  SUPP_MOVED_MIGR: 0x00000002,
  SUPP_FENCE_OPS: 0x00000004,
  BIND_PRINC_STATEID: 0x00000100,
  USE_NON_PNFS: 0x00010000,
  USE_PNFS_MDS: 0x00020000,
  USE_PNFS_DS: 0x00040000,
  MASK_PNFS: 0x00070000,
  UPD_CONFIRMED_REC_A: 0x40000000,
  CONFIRMED_R: 0x80000000,
};

export function exchgidFlagNames(flags: number): string[] {
  return Object.entries(EXCHGID4_FLAGS)
    .filter(([name, bit]) => name !== 'MASK_PNFS' && (flags & bit) >>> 0 === bit)
    .map(([name]) => name);
}

/** RFC 8881 15.1 nfsstat4: the statuses a COMPOUND of EXCHANGE_ID or DESTROY_CLIENTID may carry. */
export const NFS4_STATUS: Record<number, string> = {
  1: 'NFS4ERR_PERM',
  5: 'NFS4ERR_IO',
  13: 'NFS4ERR_ACCESS',
  22: 'NFS4ERR_INVAL',
  10004: 'NFS4ERR_NOTSUPP',
  10006: 'NFS4ERR_SERVERFAULT',
  10008: 'NFS4ERR_DELAY',
  10013: 'NFS4ERR_GRACE',
  10021: 'NFS4ERR_MINOR_VERS_MISMATCH',
  10022: 'NFS4ERR_STALE_CLIENTID',
  10029: 'NFS4ERR_RESOURCE',
  10032: 'NFS4ERR_CLID_INUSE',
  10041: 'NFS4ERR_BADXDR',
  10044: 'NFS4ERR_OP_ILLEGAL',
  10049: 'NFS4ERR_NOT_SAME',
  10050: 'NFS4ERR_LOCK_NOTSUPP',
  10063: 'NFS4ERR_BADSESSION',
  10071: 'NFS4ERR_CLIENTID_BUSY',
  10073: 'NFS4ERR_ENCR_ALG_UNSUPP',
  10078: 'NFS4ERR_NOT_ONLY_OP',
  10081: 'NFS4ERR_BAD_HIGH_SLOT',
  10085: 'NFS4ERR_DEADSESSION',
  10087: 'NFS4ERR_SERVER_MIGRATED',
};

export function nfs4StatusName(code: number): string {
  return NFS4_STATUS[code] ?? `nfsstat4 ${code}`;
}

function compound(tag: string, minor: number, op: number, args: Uint8Array): Uint8Array {
  return concat([new XdrWriter().string(tag).u32(minor).u32(1).u32(op).finish(), args]);
}

/** EXCHANGE_ID (RFC 8881 18.35.1): our client owner, no flags, no state protection (SP4_NONE), no implementation id. */
export function exchangeIdCompound(verifier: Uint8Array, ownerId: Uint8Array, minor = 1): Uint8Array {
  return compound('portolan', minor, OP.EXCHANGE_ID, new XdrWriter().fixed(verifier).opaque(ownerId).u32(0).u32(0).u32(0).finish());
}

export function destroyClientidCompound(clientId: bigint, minor = 1): Uint8Array {
  return compound('portolan', minor, OP.DESTROY_CLIENTID, new XdrWriter().u64(clientId).finish());
}

export interface ImplId {
  domain: string;
  name: string;
  date: string | null;
}

export interface ExchangeIdResult {
  clientId: bigint;
  sequenceId: number;
  flags: number;
  stateProtect: string;
  serverOwner: { minorId: bigint; majorId: Uint8Array };
  serverScope: Uint8Array;
  implementation: ImplId | null;
}

/** The COMPOUND4res header and its one result's opcode; the overall status beside it. */
function compoundResult(x: XdrReader, op: number): { status: number } {
  const status = x.u32('COMPOUND4res.status');
  x.string('COMPOUND4res.tag', NFS4_OPAQUE_LIMIT);
  const n = x.u32('resarray count');
  if (n === 0) return { status };
  if (n > 1) throw new ProtocolError(`NFSv4 COMPOUND: ${n} results to one operation`);
  const resop = x.u32('resop');
  if (resop !== op) throw new ProtocolError(`NFSv4 COMPOUND: result of operation ${resop} where ${op} was sent`);
  const opStatus = x.u32('op status');
  if (opStatus !== status) throw new ProtocolError(`NFSv4 COMPOUND: status ${status} but the operation's is ${opStatus}`);
  return { status };
}

/** RFC 8881 3.3.1 nfstime4: a signed 64-bit second count and nanoseconds. */
function nfstime4(x: XdrReader): string | null {
  const seconds = x.u64('nfstime4.seconds');
  const nseconds = x.u32('nfstime4.nseconds');
  if (nseconds > 999_999_999) throw new ProtocolError(`NFSv4 nfstime4: ${nseconds} nanoseconds`);
  const s = BigInt.asIntN(64, seconds);
  if (s === 0n && nseconds === 0) return null;
  const ms = Number(s) * 1000 + Math.floor(nseconds / 1e6);
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : null;
}

/** RFC 8881 18.35.2 EXCHANGE_ID4res. */
export function parseExchangeId(x: XdrReader): { status: number } | ({ status: 0 } & ExchangeIdResult) {
  const { status } = compoundResult(x, OP.EXCHANGE_ID);
  if (status !== 0) return { status };
  const clientId = x.u64('eir_clientid');
  const sequenceId = x.u32('eir_sequenceid');
  const flags = x.u32('eir_flags');
  const how = x.u32('eir_state_protect.spr_how');
  let stateProtect: string;
  if (how === 0) stateProtect = 'SP4_NONE';
  else if (how === 1) {
    for (const f of ['spo_must_enforce', 'spo_must_allow']) {
      const words = x.u32(`${f} length`);
      if (words > 64) throw new ProtocolError(`NFSv4 ${f}: ${words} words`);
      for (let i = 0; i < words; i++) x.u32(f);
    }
    stateProtect = 'SP4_MACH_CRED';
  } else throw new ProtocolError(`NFSv4 EXCHANGE_ID: state protection ${how} where SP4_NONE was asked`);
  const minorId = x.u64('so_minor_id');
  const majorId = x.opaque('so_major_id', NFS4_OPAQUE_LIMIT);
  const serverScope = x.opaque('eir_server_scope', NFS4_OPAQUE_LIMIT);
  const impls = x.u32('eir_server_impl_id count');
  if (impls > 1) throw new ProtocolError(`NFSv4 EXCHANGE_ID: ${impls} implementation ids (at most 1)`);
  const implementation = impls === 1 ? { domain: x.string('nii_domain', NFS4_OPAQUE_LIMIT), name: x.string('nii_name', NFS4_OPAQUE_LIMIT), date: nfstime4(x) } : null;
  return { status: 0, clientId, sequenceId, flags, stateProtect, serverOwner: { minorId, majorId }, serverScope, implementation };
}

export function parseDestroyClientid(x: XdrReader): number {
  return compoundResult(x, OP.DESTROY_CLIENTID).status;
}
