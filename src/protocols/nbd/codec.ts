// NBD, the Network Block Device protocol (github.com/NetworkBlockDevice/nbd doc/proto.md), sans-I/O: the newstyle
// greeting (and the oldstyle one, to name it), option haggling, and the transmission phase's requests, simple
// replies and structured reply chunks.
import { ByteReader, ByteWriter, concat, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const NBDMAGIC = 0x4e42444d41474943n;
export const IHAVEOPT = 0x49484156454f5054n;
const OLDSTYLE_MAGIC = 0x00420281861253n;
const OPTION_REPLY_MAGIC = 0x0003e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;
const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

/** Handshake flags of the server (NBD_FLAG_FIXED_NEWSTYLE, NBD_FLAG_NO_ZEROES). */
export const HANDSHAKE_FLAGS = { fixedNewstyle: 1, noZeroes: 2 } as const;

export const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, PEEK_EXPORT: 4, STARTTLS: 5, INFO: 6, GO: 7, STRUCTURED_REPLY: 8, LIST_META_CONTEXT: 9, SET_META_CONTEXT: 10, EXTENDED_HEADERS: 11 } as const;
const OPT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(OPT).map(([k, v]) => [v, `NBD_OPT_${k}`]));
export const optionName = (o: number): string => OPT_NAMES[o] ?? `option ${o}`;

export const REP = { ACK: 1, SERVER: 2, INFO: 3, META_CONTEXT: 4 } as const;
const REP_ERRORS: Record<number, string> = {
  1: 'NBD_REP_ERR_UNSUP',
  2: 'NBD_REP_ERR_POLICY',
  3: 'NBD_REP_ERR_INVALID',
  4: 'NBD_REP_ERR_PLATFORM',
  5: 'NBD_REP_ERR_TLS_REQD',
  6: 'NBD_REP_ERR_UNKNOWN',
  7: 'NBD_REP_ERR_SHUTDOWN',
  8: 'NBD_REP_ERR_BLOCK_SIZE_REQD',
  9: 'NBD_REP_ERR_TOO_BIG',
  10: 'NBD_REP_ERR_EXT_HEADER_REQD',
};
const REP_ERROR_BIT = 0x80000000;
export const isReplyError = (type: number): boolean => (type & REP_ERROR_BIT) !== 0;
export const replyErrorName = (type: number): string => REP_ERRORS[type & 0x7fffffff] ?? `error reply ${type >>> 0}`;

export const INFO = { EXPORT: 0, NAME: 1, DESCRIPTION: 2, BLOCK_SIZE: 3 } as const;

/** Transmission flags of an export (NBD_FLAG_*), bit by bit. */
export const TRANSMISSION_FLAGS = [
  'hasFlags',
  'readOnly',
  'sendFlush',
  'sendFua',
  'rotational',
  'sendTrim',
  'sendWriteZeroes',
  'sendDf',
  'canMultiConn',
  'sendResize',
  'sendCache',
  'sendFastZero',
  'blockStatusPayload',
] as const;
export type TransmissionFlag = (typeof TRANSMISSION_FLAGS)[number];

export function transmissionFlagNames(flags: number): TransmissionFlag[] {
  return TRANSMISSION_FLAGS.filter((_, bit) => (flags & (1 << bit)) !== 0);
}

export const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, CACHE: 5, WRITE_ZEROES: 6, BLOCK_STATUS: 7, RESIZE: 8 } as const;
export const CMD_FLAG = { FUA: 1, NO_HOLE: 2, DF: 4, REQ_ONE: 8, FAST_ZERO: 16 } as const;

/** errno values the protocol uses, by name. */
const ERRNO: Record<number, string> = { 1: 'EPERM', 5: 'EIO', 12: 'ENOMEM', 22: 'EINVAL', 28: 'ENOSPC', 75: 'EOVERFLOW', 95: 'ENOTSUP', 108: 'ESHUTDOWN' };
export const errnoName = (e: number): string => ERRNO[e] ?? `error ${e}`;

/** Longest option reply or structured chunk payload accepted (a READ chunk is bounded by the request instead). */
export const MAX_OPTION_REPLY = 1024 * 1024;
/** Longest export name or description accepted (the protocol says 4096). */
const MAX_NAME = 4096;

function u64Number(r: ByteReader, field: string): number {
  const v = r.u64(field);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`NBD: ${field} ${v} is larger than this client can address`);
  return Number(v);
}

export type Greeting = { style: 'newstyle'; flags: number; fixedNewstyle: boolean; noZeroes: boolean } | { style: 'oldstyle'; size: number; flags: number };

/** The server's first words: newstyle (18 bytes) or oldstyle (152 bytes). */
export const greetingFrame: Frame<Greeting> = (buf) => {
  if (buf.length < 16) return undefined;
  const r = new ByteReader(buf);
  if (r.u64('NBDMAGIC') !== NBDMAGIC) throw new ProtocolError('NBD: the greeting does not start with NBDMAGIC');
  const second = r.u64('greeting magic');
  if (second === IHAVEOPT) {
    if (buf.length < 18) return undefined;
    const flags = r.u16('handshake flags');
    return { value: { style: 'newstyle', flags, fixedNewstyle: (flags & 1) !== 0, noZeroes: (flags & 2) !== 0 }, size: 18 };
  }
  if (second === OLDSTYLE_MAGIC) {
    if (buf.length < 152) return undefined;
    const size = u64Number(r, 'export size');
    const flags = r.u32('export flags');
    return { value: { style: 'oldstyle', size, flags: flags & 0xffff }, size: 152 };
  }
  throw new ProtocolError(`NBD: unknown greeting magic 0x${second.toString(16)}`);
};

/** The client's flags after a newstyle greeting. */
export function clientFlags(g: { fixedNewstyle: boolean; noZeroes: boolean }): Uint8Array {
  return new ByteWriter(4).u32((g.fixedNewstyle ? 1 : 0) | (g.noZeroes ? 2 : 0)).finish();
}

/** An option request: IHAVEOPT, the option, its data. */
export function encodeOption(option: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new ByteWriter(16 + data.length).u64(IHAVEOPT).u32(option).u32(data.length).bytes(data).finish();
}

/** NBD_OPT_EXPORT_NAME's data: the name alone. */
export const encodeExportName = (name: string): Uint8Array => utf8(name);

/** NBD_OPT_INFO and NBD_OPT_GO data: the export name and the information asked for. */
export function encodeInfoRequest(name: string, infos: readonly number[]): Uint8Array {
  const n = utf8(name);
  const w = new ByteWriter(6 + n.length + 2 * infos.length).u32(n.length).bytes(n).u16(infos.length);
  for (const i of infos) w.u16(i);
  return w.finish();
}

export interface OptionReply {
  option: number;
  type: number;
  data: Uint8Array;
}

/** One option reply: magic, the option it answers, its type, its data. */
export function optionReplyFrame(max = MAX_OPTION_REPLY): Frame<OptionReply> {
  return (buf) => {
    if (buf.length < 20) return undefined;
    const r = new ByteReader(buf);
    if (r.u64('option reply magic') !== OPTION_REPLY_MAGIC) throw new ProtocolError('NBD: an option reply without its magic');
    const option = r.u32('option');
    const type = r.u32('reply type');
    const length = r.u32('reply length');
    if (length > max) throw new ProtocolError(`NBD: option reply length ${length} exceeds ${max}`);
    if (buf.length < 20 + length) return undefined;
    return { value: { option, type, data: buf.slice(20, 20 + length) }, size: 20 + length };
  };
}

/** An error reply's message, when the server gave one (UTF-8 text). */
export function replyMessage(data: Uint8Array): string {
  return fromUtf8(data).replace(/\0+$/, '');
}

/** NBD_REP_SERVER: an export's name and the rest of the data (its description). */
export function parseServerReply(data: Uint8Array): { name: string; description: string } {
  const r = new ByteReader(data);
  const len = r.u32('export name length');
  if (len > MAX_NAME) throw new ProtocolError(`NBD: export name length ${len} exceeds ${MAX_NAME}`);
  const name = fromUtf8(r.bytesN(len, 'export name'));
  return { name, description: fromUtf8(r.rest()) };
}

export type Info =
  | { type: 'export'; size: number; flags: number }
  | { type: 'name'; name: string }
  | { type: 'description'; description: string }
  | { type: 'blockSize'; minimum: number; preferred: number; maximum: number }
  | { type: 'unknown'; code: number };

/** NBD_REP_INFO's data: one piece of information about the export. */
export function parseInfo(data: Uint8Array): Info {
  const r = new ByteReader(data);
  const code = r.u16('information type');
  switch (code) {
    case INFO.EXPORT:
      return { type: 'export', size: u64Number(r, 'export size'), flags: r.u16('transmission flags') };
    case INFO.NAME:
      return { type: 'name', name: fromUtf8(r.rest()) };
    case INFO.DESCRIPTION:
      return { type: 'description', description: fromUtf8(r.rest()) };
    case INFO.BLOCK_SIZE:
      return { type: 'blockSize', minimum: r.u32('minimum block size'), preferred: r.u32('preferred block size'), maximum: r.u32('maximum block size') };
    default:
      return { type: 'unknown', code };
  }
}

/** The export size and flags that end NBD_OPT_EXPORT_NAME (124 zero bytes follow unless both sides said NO_ZEROES). */
export function exportNameReplyFrame(noZeroes: boolean): Frame<{ size: number; flags: number }> {
  const total = noZeroes ? 10 : 134;
  return (buf) => {
    if (buf.length < total) return undefined;
    const r = new ByteReader(buf);
    return { value: { size: u64Number(r, 'export size'), flags: r.u16('transmission flags') }, size: total };
  };
}

export interface Request {
  flags?: number;
  type: number;
  cookie: bigint;
  offset?: number;
  length?: number;
}

/** A transmission request header (28 bytes); a WRITE's data follows it. */
export function encodeRequest(q: Request, data?: Uint8Array): Uint8Array {
  const header = new ByteWriter(28)
    .u32(REQUEST_MAGIC)
    .u16(q.flags ?? 0)
    .u16(q.type)
    .u64(q.cookie)
    .u64(BigInt(q.offset ?? 0))
    .u32(q.length ?? data?.length ?? 0)
    .finish();
  return data ? concat([header, data]) : header;
}

export type Reply =
  | { kind: 'simple'; error: number; cookie: bigint; data: Uint8Array }
  | { kind: 'chunk'; done: boolean; type: number; cookie: bigint; data: Uint8Array };

export const CHUNK = { NONE: 0, OFFSET_DATA: 1, OFFSET_HOLE: 2, BLOCK_STATUS: 5, ERROR: 32769, ERROR_OFFSET: 32770 } as const;

/**
 * A reply of the transmission phase: a simple reply (its data length is the READ's, which only the request
 * knows: `readLength(cookie)`, 0 for other commands) or a structured reply chunk (its own length, capped at
 * `maxChunk`).
 */
export function replyFrame(readLength: (cookie: bigint) => number | undefined, maxChunk: number): Frame<Reply> {
  return (buf) => {
    if (buf.length < 4) return undefined;
    const r = new ByteReader(buf);
    const magic = r.u32('reply magic');
    if (magic === SIMPLE_REPLY_MAGIC) {
      if (buf.length < 16) return undefined;
      const error = r.u32('error');
      const cookie = r.u64('cookie');
      const expected = readLength(cookie);
      if (expected === undefined) throw new ProtocolError(`NBD: a reply to cookie ${cookie}, which no request carries`);
      const n = error === 0 ? expected : 0;
      if (buf.length < 16 + n) return undefined;
      return { value: { kind: 'simple', error, cookie, data: buf.slice(16, 16 + n) }, size: 16 + n };
    }
    if (magic === STRUCTURED_REPLY_MAGIC) {
      if (buf.length < 20) return undefined;
      const flags = r.u16('chunk flags');
      const type = r.u16('chunk type');
      const cookie = r.u64('cookie');
      const length = r.u32('chunk length');
      if (length > maxChunk) throw new ProtocolError(`NBD: reply chunk length ${length} exceeds ${maxChunk}`);
      if (buf.length < 20 + length) return undefined;
      return { value: { kind: 'chunk', done: (flags & 1) !== 0, type, cookie, data: buf.slice(20, 20 + length) }, size: 20 + length };
    }
    throw new ProtocolError(`NBD: unknown reply magic 0x${magic.toString(16).padStart(8, '0')}`);
  };
}

export type ChunkBody =
  | { type: 'none' }
  | { type: 'data'; offset: number; data: Uint8Array }
  | { type: 'hole'; offset: number; length: number }
  | { type: 'error'; error: number; message: string; offset?: number }
  | { type: 'other'; code: number };

/** The payload of a structured reply chunk. */
export function parseChunk(type: number, data: Uint8Array): ChunkBody {
  const r = new ByteReader(data);
  switch (type) {
    case CHUNK.NONE:
      return { type: 'none' };
    case CHUNK.OFFSET_DATA:
      return { type: 'data', offset: u64Number(r, 'data offset'), data: r.rest() };
    case CHUNK.OFFSET_HOLE:
      return { type: 'hole', offset: u64Number(r, 'hole offset'), length: r.u32('hole size') };
    case CHUNK.ERROR:
    case CHUNK.ERROR_OFFSET: {
      const error = r.u32('error');
      const message = fromUtf8(r.lengthPrefixed('u16', 'error message', 65535));
      return type === CHUNK.ERROR ? { type: 'error', error, message } : { type: 'error', error, message, offset: u64Number(r, 'error offset') };
    }
    default:
      if (type & 0x8000) return { type: 'error', error: r.remaining >= 4 ? r.u32('error') : 0, message: `error chunk type ${type}` };
      return { type: 'other', code: type };
  }
}
