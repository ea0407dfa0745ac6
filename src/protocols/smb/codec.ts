// SMB 2 and 3, [MS-SMB2]: the direct-TCP transport (§2.1), the SMB2 header (§2.2.1), the messages of the
// commands this client sends (§2.2.3–§2.2.36), the transform header (§2.2.41), FILE_DIRECTORY_INFORMATION
// ([MS-FSCC] §2.4.10) and the NTSTATUS names ([MS-ERREF] §2.3) a user sees. Sans-I/O: bytes in, messages out.
import { ByteReader, ByteWriter } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { fromUtf16le, utf16le } from '../dcerpc/ntlmssp.ts';

export { fromUtf16le, utf16le };

/** §2.1: each message is preceded by a 4-byte header: a zero byte and a 24-bit big-endian length. */
export const MAX_MESSAGE = 16 * 1024 * 1024 - 1;

/** The 24-bit length of a Direct TCP transport header ([MS-SMB2] §2.1). */
function transportLength(buf: Uint8Array): number {
  return (buf[1] << 16) | (buf[2] << 8) | buf[3];
}

export function smbFrame(max = MAX_MESSAGE): Frame<Uint8Array> {
  const frame: Frame<Uint8Array> = (buf) => {
    if (buf.length < 4) return undefined;
    if (buf[0] !== 0) throw new ProtocolError(`SMB transport: the first byte of a message header is 0x${buf[0].toString(16)}, not zero (not SMB over TCP, or NetBIOS framing)`);
    const len = transportLength(buf);
    if (len > max) throw new ProtocolError(`SMB transport: a ${len}-byte message exceeds the ${max}-byte limit`);
    if (len < 4) throw new ProtocolError(`SMB transport: a ${len}-byte message is too short for any SMB header`);
    if (buf.length < 4 + len) return undefined;
    return { value: buf.subarray(4, 4 + len), size: 4 + len };
  };
  // Asked once the frame has checked the header: a READ answer of a MiB is read into memory of its own.
  frame.sizeOf = (buf) => (buf.length >= 4 ? 4 + transportLength(buf) : undefined);
  return frame;
}

export function transportFrame(message: Uint8Array): Uint8Array {
  if (message.length > MAX_MESSAGE) throw new ProtocolError(`SMB transport: a ${message.length}-byte message cannot be framed`);
  const out = new Uint8Array(4 + message.length);
  out[1] = message.length >> 16;
  out[2] = (message.length >> 8) & 0xff;
  out[3] = message.length & 0xff;
  out.set(message, 4);
  return out;
}

export const SMB2_MAGIC = 0x424d53fe; // 0xFE 'S' 'M' 'B', little-endian
export const TRANSFORM_MAGIC = 0x424d53fd; // 0xFD 'S' 'M' 'B'
export const SMB1_MAGIC = 0x424d53ff;

export const COMMAND = {
  negotiate: 0,
  sessionSetup: 1,
  logoff: 2,
  treeConnect: 3,
  treeDisconnect: 4,
  create: 5,
  close: 6,
  flush: 7,
  read: 8,
  write: 9,
  lock: 10,
  ioctl: 11,
  cancel: 12,
  echo: 13,
  queryDirectory: 14,
  changeNotify: 15,
  queryInfo: 16,
  setInfo: 17,
  oplockBreak: 18,
} as const;

const COMMAND_NAMES = Object.fromEntries(Object.entries(COMMAND).map(([k, v]) => [v, k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()]));

export function commandName(c: number): string {
  return COMMAND_NAMES[c] ?? `command ${c}`;
}

export const FLAGS = { serverToRedir: 0x1, async: 0x2, related: 0x4, signed: 0x8, dfs: 0x10000000 } as const;

export const DIALECTS = { '2.0.2': 0x0202, '2.1': 0x0210, '3.0': 0x0300, '3.0.2': 0x0302, '3.1.1': 0x0311 } as const;
export type Dialect = keyof typeof DIALECTS;

export function dialectName(code: number): string {
  const name = Object.entries(DIALECTS).find(([, v]) => v === code)?.[0];
  return name ?? `0x${code.toString(16).padStart(4, '0')}`;
}

export const CAPABILITIES = { dfs: 0x1, leasing: 0x2, largeMtu: 0x4, multiChannel: 0x8, persistentHandles: 0x10, directoryLeasing: 0x20, encryption: 0x40, notifications: 0x80 } as const;

export function capabilityNames(caps: number): string[] {
  return Object.entries(CAPABILITIES)
    .filter(([, v]) => caps & v)
    .map(([k]) => k);
}

export const SECURITY_MODE = { signingEnabled: 1, signingRequired: 2 } as const;

/** §2.2.3.1.2 and §2.2.3.1.7: cipher and signing algorithm ids. */
export const CIPHERS = { 'AES-128-CCM': 1, 'AES-128-GCM': 2, 'AES-256-CCM': 3, 'AES-256-GCM': 4 } as const;
export type CipherName = keyof typeof CIPHERS;
export const SIGNING_ALGORITHMS = { 'HMAC-SHA256': 0, 'AES-CMAC': 1, 'AES-GMAC': 2 } as const;
export type SigningName = keyof typeof SIGNING_ALGORITHMS;

const nameOf = <T extends Record<string, number>>(table: T, v: number): string => Object.entries(table).find(([, x]) => x === v)?.[0] ?? `0x${v.toString(16)}`;

export interface Header {
  creditCharge: number;
  status: number;
  command: number;
  credits: number;
  flags: number;
  nextCommand: number;
  messageId: bigint;
  asyncId: bigint;
  treeId: number;
  sessionId: bigint;
  signature: Uint8Array;
}

export const HEADER_SIZE = 64;

/** §2.2.1.2 SMB2 Packet Header - SYNC, with the signature zeroed (signing fills it in). */
export function encodeHeader(h: { command: number; creditCharge: number; credits: number; flags?: number; messageId: bigint; treeId?: number; sessionId?: bigint }): ByteWriter {
  return new ByteWriter(256)
    .u32le(SMB2_MAGIC)
    .u16le(HEADER_SIZE)
    .u16le(h.creditCharge)
    .u32le(0)
    .u16le(h.command)
    .u16le(h.credits)
    .u32le(h.flags ?? 0)
    .u32le(0)
    .u64le(h.messageId)
    .u32le(0)
    .u32le(h.treeId ?? 0)
    .u64le(h.sessionId ?? 0n)
    .bytes(new Uint8Array(16));
}

export function decodeHeader(msg: Uint8Array): Header {
  const r = new ByteReader(msg);
  const magic = r.u32le('ProtocolId');
  if (magic === SMB1_MAGIC) throw new ProtocolError('SMB: the server answered with SMB1, which this client does not speak (SMB 2.0.2 or later)');
  if (magic !== SMB2_MAGIC) throw new ProtocolError(`SMB: ProtocolId 0x${magic.toString(16)} is not SMB2 (0xFE 'SMB')`);
  const size = r.u16le('StructureSize');
  if (size !== HEADER_SIZE) throw new ProtocolError(`SMB: header StructureSize ${size}, expected 64`);
  const creditCharge = r.u16le('CreditCharge');
  const status = r.u32le('Status');
  const command = r.u16le('Command');
  const credits = r.u16le('CreditResponse');
  const flags = r.u32le('Flags');
  const nextCommand = r.u32le('NextCommand');
  const messageId = r.u64le('MessageId');
  let asyncId = 0n;
  let treeId = 0;
  if (flags & FLAGS.async) asyncId = r.u64le('AsyncId');
  else {
    r.u32le('Reserved');
    treeId = r.u32le('TreeId');
  }
  const sessionId = r.u64le('SessionId');
  const signature = r.bytesN(16, 'Signature');
  return { creditCharge, status, command, credits, flags, nextCommand, messageId, asyncId, treeId, sessionId, signature };
}

/** A response body: a reader positioned after the header, and a way to take a buffer by its header-relative offset. */
export class Body {
  readonly r: ByteReader;
  constructor(
    readonly msg: Uint8Array,
    readonly what: string,
  ) {
    this.r = new ByteReader(msg, HEADER_SIZE);
  }

  structure(expected: number): void {
    const size = this.r.u16le(`${this.what} StructureSize`);
    if (size !== expected) throw new ProtocolError(`SMB: ${this.what} StructureSize ${size}, expected ${expected}`);
  }

  /** The bytes at `offset` (from the start of the SMB2 header) of `length`, inside the message. */
  buffer(offset: number, length: number, field: string): Uint8Array {
    if (length === 0) return new Uint8Array(0);
    if (offset < HEADER_SIZE || offset + length > this.msg.length) throw new ProtocolError(`SMB: ${this.what} ${field} (${length} bytes at ${offset}) lies outside the ${this.msg.length}-byte message`);
    return this.msg.subarray(offset, offset + length);
  }
}

// NEGOTIATE, §2.2.3 and §2.2.4.

export interface NegotiateRequest {
  dialects: number[];
  securityMode: number;
  capabilities: number;
  clientGuid: Uint8Array;
  /** 3.1.1 contexts. */
  salt: Uint8Array;
  ciphers: number[];
  signing: number[];
}

const CONTEXT = { preauthIntegrity: 1, encryption: 2, compression: 3, netnameNegotiate: 5, transport: 6, rdmaTransform: 7, signing: 8 } as const;

export function negotiateBody(n: NegotiateRequest): Uint8Array {
  const with311 = n.dialects.includes(DIALECTS['3.1.1']);
  const fixed = 36;
  const dialectsEnd = HEADER_SIZE + fixed + n.dialects.length * 2;
  const contextsAt = (dialectsEnd + 7) & ~7;
  const w = new ByteWriter(256).u16le(36).u16le(n.dialects.length).u16le(n.securityMode).u16le(0).u32le(n.capabilities).bytes(n.clientGuid);
  if (with311) w.u32le(contextsAt).u16le(3).u16le(0);
  else w.u64le(0n);
  for (const d of n.dialects) w.u16le(d);
  if (!with311) return w.finish();
  w.bytes(new Uint8Array(contextsAt - dialectsEnd));
  const contexts: [number, Uint8Array][] = [
    [CONTEXT.preauthIntegrity, new ByteWriter(40).u16le(1).u16le(n.salt.length).u16le(1).bytes(n.salt).finish()],
    [CONTEXT.encryption, list16(n.ciphers)],
    [CONTEXT.signing, list16(n.signing)],
  ];
  contexts.forEach(([type, data], i) => {
    w.u16le(type).u16le(data.length).u32le(0).bytes(data);
    if (i < contexts.length - 1) w.bytes(new Uint8Array((8 - (data.length % 8)) % 8));
  });
  return w.finish();
}

function list16(values: number[]): Uint8Array {
  const w = new ByteWriter(2 + values.length * 2).u16le(values.length);
  for (const v of values) w.u16le(v);
  return w.finish();
}

export interface NegotiateResponse {
  securityMode: number;
  dialect: number;
  serverGuid: Uint8Array;
  capabilities: number;
  maxTransactSize: number;
  maxReadSize: number;
  maxWriteSize: number;
  systemTime: bigint;
  serverStartTime: bigint;
  securityBlob: Uint8Array;
  preauthHash: number | null;
  cipher: number | null;
  signingAlgorithm: number | null;
  /** Other contexts the server answered, by type. */
  otherContexts: number[];
}

export function decodeNegotiateResponse(msg: Uint8Array): NegotiateResponse {
  const b = new Body(msg, 'NEGOTIATE response');
  b.structure(65);
  const r = b.r;
  const securityMode = r.u16le('SecurityMode');
  const dialect = r.u16le('DialectRevision');
  const contextCount = r.u16le('NegotiateContextCount');
  const serverGuid = r.bytesN(16, 'ServerGuid').slice();
  const capabilities = r.u32le('Capabilities');
  const maxTransactSize = r.u32le('MaxTransactSize');
  const maxReadSize = r.u32le('MaxReadSize');
  const maxWriteSize = r.u32le('MaxWriteSize');
  const systemTime = r.u64le('SystemTime');
  const serverStartTime = r.u64le('ServerStartTime');
  const blobOffset = r.u16le('SecurityBufferOffset');
  const blobLength = r.u16le('SecurityBufferLength');
  const contextOffset = r.u32le('NegotiateContextOffset');
  const securityBlob = b.buffer(blobOffset, blobLength, 'SecurityBuffer').slice();
  const out: NegotiateResponse = { securityMode, dialect, serverGuid, capabilities, maxTransactSize, maxReadSize, maxWriteSize, systemTime, serverStartTime, securityBlob, preauthHash: null, cipher: null, signingAlgorithm: null, otherContexts: [] };
  if (dialect !== DIALECTS['3.1.1']) return out;
  if (contextCount > 32) throw new ProtocolError(`SMB: ${contextCount} negotiate contexts (at most 32 expected)`);
  let at = contextOffset;
  for (let i = 0; i < contextCount; i++) {
    at = (at + 7) & ~7;
    const c = new ByteReader(b.buffer(at, 8, 'NegotiateContext header'));
    const type = c.u16le('ContextType');
    const len = c.u16le('DataLength');
    const data = new ByteReader(b.buffer(at + 8, len, 'NegotiateContext data'));
    if (type === CONTEXT.preauthIntegrity) {
      const count = data.u16le('HashAlgorithmCount');
      data.u16le('SaltLength');
      if (count !== 1) throw new ProtocolError(`SMB: the server chose ${count} preauth integrity hash algorithms, not one`);
      out.preauthHash = data.u16le('HashAlgorithm');
    } else if (type === CONTEXT.encryption) {
      if (data.u16le('CipherCount') !== 1) throw new ProtocolError('SMB: the server chose more than one cipher');
      out.cipher = data.u16le('Cipher');
    } else if (type === CONTEXT.signing) {
      if (data.u16le('SigningAlgorithmCount') !== 1) throw new ProtocolError('SMB: the server chose more than one signing algorithm');
      out.signingAlgorithm = data.u16le('SigningAlgorithm');
    } else out.otherContexts.push(type);
    at += 8 + len;
  }
  return out;
}

export const cipherName = (v: number): string => nameOf(CIPHERS, v);
export const signingName = (v: number): string => nameOf(SIGNING_ALGORITHMS, v);

// SESSION_SETUP, §2.2.5 and §2.2.6.

export function sessionSetupBody(securityMode: number, blob: Uint8Array): Uint8Array {
  return new ByteWriter(32 + blob.length)
    .u16le(25)
    .u8(0)
    .u8(securityMode)
    .u32le(0)
    .u32le(0)
    .u16le(HEADER_SIZE + 24)
    .u16le(blob.length)
    .u64le(0n)
    .bytes(blob)
    .finish();
}

export const SESSION_FLAGS = { isGuest: 1, isNull: 2, encryptData: 4 } as const;

export function decodeSessionSetupResponse(msg: Uint8Array): { sessionFlags: number; blob: Uint8Array } {
  const b = new Body(msg, 'SESSION_SETUP response');
  b.structure(9);
  const sessionFlags = b.r.u16le('SessionFlags');
  const offset = b.r.u16le('SecurityBufferOffset');
  const length = b.r.u16le('SecurityBufferLength');
  return { sessionFlags, blob: b.buffer(offset, length, 'SecurityBuffer').slice() };
}

// TREE_CONNECT, §2.2.9 and §2.2.10.

export function treeConnectBody(path: string): Uint8Array {
  const name = utf16le(path);
  return new ByteWriter(8 + name.length).u16le(9).u16le(0).u16le(HEADER_SIZE + 8).u16le(name.length).bytes(name).finish();
}

export const SHARE_TYPES: Record<number, string> = { 1: 'disk', 2: 'pipe', 3: 'print' };
export const SHARE_FLAGS = { dfs: 0x1, dfsRoot: 0x2, restrictExclusiveOpens: 0x100, forceSharedDelete: 0x200, allowNamespaceCaching: 0x400, accessBasedDirectoryEnum: 0x800, forceLevelIIOplock: 0x1000, enableHashV1: 0x2000, enableHashV2: 0x4000, encryptData: 0x8000, identityRemoting: 0x40000, compressData: 0x100000 } as const;

export interface TreeConnectResponse {
  shareType: number;
  shareFlags: number;
  capabilities: number;
  maximalAccess: number;
}

export function decodeTreeConnectResponse(msg: Uint8Array): TreeConnectResponse {
  const b = new Body(msg, 'TREE_CONNECT response');
  b.structure(16);
  const shareType = b.r.u8('ShareType');
  b.r.u8('Reserved');
  return { shareType, shareFlags: b.r.u32le('ShareFlags'), capabilities: b.r.u32le('Capabilities'), maximalAccess: b.r.u32le('MaximalAccess') };
}

export function flagNames(table: Record<string, number>, v: number): string[] {
  return Object.entries(table)
    .filter(([, bit]) => (v & bit) === bit)
    .map(([k]) => k);
}

// CREATE, §2.2.13 and §2.2.14.

export const ACCESS = {
  readData: 0x1,
  writeData: 0x2,
  appendData: 0x4,
  readEa: 0x8,
  writeEa: 0x10,
  execute: 0x20,
  readAttributes: 0x80,
  writeAttributes: 0x100,
  delete: 0x10000,
  readControl: 0x20000,
  synchronize: 0x100000,
  maximumAllowed: 0x02000000,
  genericWrite: 0x40000000,
  genericRead: 0x80000000,
} as const;

export const DISPOSITION = { supersede: 0, open: 1, create: 2, openIf: 3, overwrite: 4, overwriteIf: 5 } as const;
export const CREATE_OPTIONS = { directory: 0x1, nonDirectory: 0x40, deleteOnClose: 0x1000 } as const;
export const ATTRIBUTES = { readonly: 0x1, hidden: 0x2, system: 0x4, directory: 0x10, archive: 0x20, normal: 0x80, temporary: 0x100, sparse: 0x200, reparsePoint: 0x400, compressed: 0x800, offline: 0x1000, notContentIndexed: 0x2000, encrypted: 0x4000 } as const;
const SHARE_ALL = 0x7;

export interface CreateRequest {
  name: string;
  access: number;
  disposition: number;
  options: number;
  attributes?: number;
}

export function createBody(c: CreateRequest): Uint8Array {
  const name = utf16le(c.name);
  const w = new ByteWriter(64 + name.length)
    .u16le(57)
    .u8(0)
    .u8(0)
    .u32le(2)
    .u64le(0n)
    .u64le(0n)
    .u32le(c.access >>> 0)
    .u32le(c.attributes ?? 0)
    .u32le(SHARE_ALL)
    .u32le(c.disposition)
    .u32le(c.options)
    .u16le(HEADER_SIZE + 56)
    .u16le(name.length)
    .u32le(0)
    .u32le(0);
  // §2.2.13: the Buffer is at least one byte, even for an empty name (the share's root).
  w.bytes(name.length ? name : new Uint8Array(1));
  return w.finish();
}

export interface FileTimes {
  created: bigint;
  accessed: bigint;
  written: bigint;
  changed: bigint;
}

export interface CreateResponse extends FileTimes {
  createAction: number;
  allocationSize: bigint;
  endOfFile: bigint;
  attributes: number;
  fileId: Uint8Array;
}

export const CREATE_ACTIONS: Record<number, string> = { 0: 'superseded', 1: 'opened', 2: 'created', 3: 'overwritten' };

export function decodeCreateResponse(msg: Uint8Array): CreateResponse {
  const b = new Body(msg, 'CREATE response');
  b.structure(89);
  const r = b.r;
  r.u8('OplockLevel');
  r.u8('Flags');
  const createAction = r.u32le('CreateAction');
  const created = r.u64le('CreationTime');
  const accessed = r.u64le('LastAccessTime');
  const written = r.u64le('LastWriteTime');
  const changed = r.u64le('ChangeTime');
  const allocationSize = r.u64le('AllocationSize');
  const endOfFile = r.u64le('EndofFile');
  const attributes = r.u32le('FileAttributes');
  r.u32le('Reserved2');
  const fileId = r.bytesN(16, 'FileId').slice();
  return { createAction, created, accessed, written, changed, allocationSize, endOfFile, attributes, fileId };
}

// CLOSE, §2.2.15 and §2.2.16.

export function closeBody(fileId: Uint8Array, postQuery = false): Uint8Array {
  return new ByteWriter(24).u16le(24).u16le(postQuery ? 1 : 0).u32le(0).bytes(fileId).finish();
}

export function decodeCloseResponse(msg: Uint8Array): (FileTimes & { endOfFile: bigint; attributes: number }) | null {
  const b = new Body(msg, 'CLOSE response');
  b.structure(60);
  const flags = b.r.u16le('Flags');
  b.r.u32le('Reserved');
  const created = b.r.u64le('CreationTime');
  const accessed = b.r.u64le('LastAccessTime');
  const written = b.r.u64le('LastWriteTime');
  const changed = b.r.u64le('ChangeTime');
  b.r.u64le('AllocationSize');
  const endOfFile = b.r.u64le('EndofFile');
  const attributes = b.r.u32le('FileAttributes');
  return flags & 1 ? { created, accessed, written, changed, endOfFile, attributes } : null;
}

// READ and WRITE, §2.2.19–§2.2.22.

export function readBody(fileId: Uint8Array, offset: bigint, length: number): Uint8Array {
  return new ByteWriter(49).u16le(49).u8(0x50).u8(0).u32le(length).u64le(offset).bytes(fileId).u32le(0).u32le(0).u32le(0).u16le(0).u16le(0).u8(0).finish();
}

/** The data of a READ response (a view into the message), checked against what was asked. */
export function decodeReadResponse(msg: Uint8Array, asked: number): Uint8Array {
  const b = new Body(msg, 'READ response');
  b.structure(17);
  const offset = b.r.u8('DataOffset');
  b.r.u8('Reserved');
  const length = b.r.u32le('DataLength');
  if (length > asked) throw new ProtocolError(`SMB: a READ response announces ${length} bytes for a read of ${asked}`);
  return b.buffer(offset, length, 'data');
}

export function writeBody(fileId: Uint8Array, offset: bigint, data: Uint8Array): Uint8Array {
  return new ByteWriter(48 + data.length).u16le(49).u16le(HEADER_SIZE + 48).u32le(data.length).u64le(offset).bytes(fileId).u32le(0).u32le(0).u16le(0).u16le(0).u32le(0).bytes(data).finish();
}

export function decodeWriteResponse(msg: Uint8Array): number {
  const b = new Body(msg, 'WRITE response');
  b.structure(17);
  b.r.u16le('Reserved');
  return b.r.u32le('Count');
}

// QUERY_DIRECTORY, §2.2.33 and §2.2.34, with FileIdBothDirectoryInformation ([MS-FSCC] §2.4.17).

export const FILE_ID_BOTH_DIRECTORY_INFORMATION = 0x25;
export const QUERY_FLAGS = { restartScans: 1, returnSingleEntry: 2, indexSpecified: 4, reopen: 0x10 } as const;

export function queryDirectoryBody(fileId: Uint8Array, pattern: string, outputLength: number, flags: number): Uint8Array {
  const name = utf16le(pattern);
  return new ByteWriter(40 + name.length).u16le(33).u8(FILE_ID_BOTH_DIRECTORY_INFORMATION).u8(flags).u32le(0).bytes(fileId).u16le(HEADER_SIZE + 32).u16le(name.length).u32le(outputLength).bytes(name).finish();
}

export function decodeQueryDirectoryResponse(msg: Uint8Array): Uint8Array {
  const b = new Body(msg, 'QUERY_DIRECTORY response');
  b.structure(9);
  const offset = b.r.u16le('OutputBufferOffset');
  const length = b.r.u32le('OutputBufferLength');
  return b.buffer(offset, length, 'OutputBuffer');
}

export interface DirectoryEntry extends FileTimes {
  name: string;
  endOfFile: bigint;
  allocationSize: bigint;
  attributes: number;
  shortName: string;
  fileId: bigint;
}

/** [MS-FSCC] §2.4.17: entries chained by NextEntryOffset; names capped at 32 KiB of UTF-16 (MAX_PATH is far below). */
export function decodeDirectoryEntries(buf: Uint8Array, maxEntries = 100_000): DirectoryEntry[] {
  const out: DirectoryEntry[] = [];
  let at = 0;
  for (;;) {
    if (out.length >= maxEntries) throw new ProtocolError(`SMB: more than ${maxEntries} entries in one directory answer`);
    const r = new ByteReader(buf, at);
    const next = r.u32le('NextEntryOffset');
    r.u32le('FileIndex');
    const created = r.u64le('CreationTime');
    const accessed = r.u64le('LastAccessTime');
    const written = r.u64le('LastWriteTime');
    const changed = r.u64le('ChangeTime');
    const endOfFile = r.u64le('EndOfFile');
    const allocationSize = r.u64le('AllocationSize');
    const attributes = r.u32le('FileAttributes');
    const nameLength = r.u32le('FileNameLength');
    r.u32le('EaSize');
    const shortLength = r.u8('ShortNameLength');
    r.u8('Reserved1');
    const short = r.bytesN(24, 'ShortName');
    r.u16le('Reserved2');
    const fileId = r.u64le('FileId');
    if (nameLength > 65_536) throw new ProtocolError(`SMB: a directory entry's FileNameLength ${nameLength} exceeds 65536 bytes`);
    const name = fromUtf16le(r.bytesN(nameLength, 'FileName'));
    out.push({ name, created, accessed, written, changed, endOfFile, allocationSize, attributes, shortName: fromUtf16le(short.subarray(0, Math.min(24, shortLength))), fileId });
    if (next === 0) return out;
    if (next < 104 || at + next >= buf.length) throw new ProtocolError(`SMB: NextEntryOffset ${next} at ${at} points outside the ${buf.length}-byte directory answer`);
    at += next;
  }
}

// SET_INFO, §2.2.39, with FileRenameInformation ([MS-FSCC] §2.4.37, the SMB2 form of §2.4.37.2).

export const INFO_TYPE_FILE = 1;
export const FILE_RENAME_INFORMATION = 10;
export const FILE_DISPOSITION_INFORMATION = 13;

export function setInfoBody(fileId: Uint8Array, infoClass: number, data: Uint8Array): Uint8Array {
  return new ByteWriter(32 + data.length).u16le(33).u8(INFO_TYPE_FILE).u8(infoClass).u32le(data.length).u16le(HEADER_SIZE + 32).u16le(0).u32le(0).bytes(fileId).bytes(data).finish();
}

export function renameInformation(target: string, replace: boolean): Uint8Array {
  const name = utf16le(target);
  return new ByteWriter(20 + name.length).u8(replace ? 1 : 0).bytes(new Uint8Array(7)).u64le(0n).u32le(name.length).bytes(name).finish();
}

// IOCTL, §2.2.31: only to validate the negotiation of 3.0/3.0.2 is not asked here; kept for pipes later.

// The ERROR response, §2.2.2.

export function decodeErrorResponse(msg: Uint8Array): Uint8Array {
  if (msg.length < HEADER_SIZE + 8) return new Uint8Array(0);
  const b = new Body(msg, 'ERROR response');
  b.r.u16le('StructureSize');
  b.r.u8('ErrorContextCount');
  b.r.u8('Reserved');
  const count = b.r.u32le('ByteCount');
  return b.r.remaining >= count ? b.r.bytesN(count, 'ErrorData') : new Uint8Array(0);
}

// The transform header, §2.2.41.

export const TRANSFORM_HEADER_SIZE = 52;

export interface TransformHeader {
  signature: Uint8Array;
  nonce: Uint8Array;
  originalSize: number;
  flags: number;
  sessionId: bigint;
  /** Bytes 20..52: the associated data of the AEAD. */
  aad: Uint8Array;
  ciphertext: Uint8Array;
}

export function decodeTransform(msg: Uint8Array): TransformHeader {
  const r = new ByteReader(msg);
  if (r.u32le('ProtocolId') !== TRANSFORM_MAGIC) throw new ProtocolError('SMB: not a transform header');
  const signature = r.bytesN(16, 'Signature');
  const nonce = r.bytesN(16, 'Nonce');
  const originalSize = r.u32le('OriginalMessageSize');
  r.u16le('Reserved');
  const flags = r.u16le('Flags');
  const sessionId = r.u64le('SessionId');
  const ciphertext = msg.subarray(TRANSFORM_HEADER_SIZE);
  if (originalSize !== ciphertext.length) throw new ProtocolError(`SMB: a transform header announces ${originalSize} bytes and carries ${ciphertext.length}`);
  return { signature, nonce, originalSize, flags, sessionId, aad: msg.subarray(20, TRANSFORM_HEADER_SIZE), ciphertext };
}

/** The transform header with the signature left zero (filled in after encryption) and the AAD bytes in place. */
export function transformHeader(nonce: Uint8Array, size: number, sessionId: bigint): Uint8Array {
  return new ByteWriter(TRANSFORM_HEADER_SIZE).u32le(TRANSFORM_MAGIC).bytes(new Uint8Array(16)).bytes(nonce).u32le(size).u16le(0).u16le(1).u64le(sessionId).finish();
}

// Times.

/** FILETIME (100 ns since 1601-01-01) as ISO 8601; null for zero (no time). */
export function filetime(t: bigint): string | null {
  if (t === 0n) return null;
  const ms = Number(t / 10000n) - 11644473600000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  return new Date(ms).toISOString();
}

// NTSTATUS values, [MS-ERREF] §2.3.1: the ones SMB servers answer with, by name.

export const STATUS = {
  SUCCESS: 0x00000000,
  PENDING: 0x00000103,
  NOTIFY_ENUM_DIR: 0x0000010c,
  BUFFER_OVERFLOW: 0x80000005,
  NO_MORE_FILES: 0x80000006,
  INVALID_PARAMETER: 0xc000000d,
  NO_SUCH_FILE: 0xc000000f,
  END_OF_FILE: 0xc0000011,
  MORE_PROCESSING_REQUIRED: 0xc0000016,
  ACCESS_DENIED: 0xc0000022,
  OBJECT_NAME_INVALID: 0xc0000033,
  OBJECT_NAME_NOT_FOUND: 0xc0000034,
  OBJECT_NAME_COLLISION: 0xc0000035,
  OBJECT_PATH_INVALID: 0xc0000039,
  OBJECT_PATH_NOT_FOUND: 0xc000003a,
  OBJECT_PATH_SYNTAX_BAD: 0xc000003b,
  SHARING_VIOLATION: 0xc0000043,
  DELETE_PENDING: 0xc0000056,
  PRIVILEGE_NOT_HELD: 0xc0000061,
  NO_SUCH_USER: 0xc0000064,
  WRONG_PASSWORD: 0xc000006a,
  LOGON_FAILURE: 0xc000006d,
  ACCOUNT_EXPIRED: 0xc0000193,
  PASSWORD_MUST_CHANGE: 0xc0000224,
  ACCOUNT_RESTRICTION: 0xc000006e,
  PASSWORD_EXPIRED: 0xc0000071,
  ACCOUNT_DISABLED: 0xc0000072,
  INSUFFICIENT_RESOURCES: 0xc000009a,
  FILE_IS_A_DIRECTORY: 0xc00000ba,
  NOT_SUPPORTED: 0xc00000bb,
  NETWORK_NAME_DELETED: 0xc00000c9,
  BAD_NETWORK_NAME: 0xc00000cc,
  REQUEST_NOT_ACCEPTED: 0xc00000d0,
  DIRECTORY_NOT_EMPTY: 0xc0000101,
  NOT_A_DIRECTORY: 0xc0000103,
  CANCELLED: 0xc0000120,
  CANNOT_DELETE: 0xc0000121,
  FILE_CLOSED: 0xc0000128,
  USER_SESSION_DELETED: 0xc0000203,
  NETWORK_SESSION_EXPIRED: 0xc000035c,
  ACCOUNT_LOCKED_OUT: 0xc0000234,
  NOT_FOUND: 0xc0000225,
  STOPPED_ON_SYMLINK: 0x8000002d,
  INVALID_DEVICE_REQUEST: 0xc0000010,
  DISK_FULL: 0xc000007f,
  ACCESS_DENIED_ENCRYPTION: 0xc0000022,
  FILE_NOT_AVAILABLE: 0xc0000467,
  BAD_DEVICE_TYPE: 0xc00000cb,
  INVALID_INFO_CLASS: 0xc0000003,
  NOT_SAME_DEVICE: 0xc00000d4,
  CONNECTION_REFUSED: 0xc0000236,
  INVALID_SIGNATURE: 0xc000a000,
} as const;

export function statusName(status: number): string {
  const name = Object.entries(STATUS).find(([k, v]) => v === status && k !== 'ACCESS_DENIED_ENCRYPTION')?.[0];
  return name ? `STATUS_${name}` : `NTSTATUS 0x${status.toString(16).padStart(8, '0')}`;
}
