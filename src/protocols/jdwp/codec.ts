// JDWP, the Java Debug Wire Protocol (JDK "Java Debug Wire Protocol" specification and its command
// reference): a 14-byte handshake each way, then command packets (length, id, flags 0, command set,
// command, data) answered by reply packets (length, id, flags 0x80, error code, data). Strings are a
// 4-byte length and modified UTF-8; object and reference-type IDs have the sizes IDSizes reports.
import { ByteReader, ByteWriter, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const HANDSHAKE = utf8('JDWP-Handshake');
export const REPLY_FLAG = 0x80;
/** Largest packet we accept: AllClasses of a big VM is a few MB. */
export const MAX_PACKET = 32 * 1024 * 1024;

export const Commands = {
  Version: [1, 1],
  AllClasses: [1, 3],
  AllThreads: [1, 4],
  Dispose: [1, 6],
  IDSizes: [1, 7],
  ThreadName: [11, 1],
  ThreadStatus: [11, 4],
  ThreadGroup: [11, 5],
  ThreadGroupName: [12, 1],
} as const satisfies Record<string, readonly [number, number]>;

export function encodeCommand(id: number, [set, cmd]: readonly [number, number], data: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new ByteWriter(11 + data.length).u32(11 + data.length).u32(id).u8(0).u8(set).u8(cmd).bytes(data).finish();
}

export type Packet =
  | { kind: 'reply'; id: number; errorCode: number; data: Uint8Array }
  | { kind: 'command'; id: number; commandSet: number; command: number; data: Uint8Array };

export const packetFrame: Frame<Packet> = (buf) => {
  if (buf.length < 11) return undefined;
  const r = new ByteReader(buf);
  const length = r.u32('length');
  if (length < 11) throw new ProtocolError(`JDWP packet length ${length} is shorter than its header`);
  if (length > MAX_PACKET) throw new ProtocolError(`JDWP packet length ${length} exceeds the ${MAX_PACKET}-byte limit`);
  if (buf.length < length) return undefined;
  const id = r.u32('id');
  const flags = r.u8('flags');
  const data = buf.slice(11, length);
  if (flags & REPLY_FLAG) return { value: { kind: 'reply', id, errorCode: (buf[9] << 8) | buf[10], data }, size: length };
  return { value: { kind: 'command', id, commandSet: buf[9], command: buf[10], data }, size: length };
};

/** JDWP Error constants a reply may carry (the common ones; others are shown by number). */
export const ERRORS: Record<number, string> = {
  10: 'INVALID_THREAD', 11: 'INVALID_THREAD_GROUP', 13: 'THREAD_NOT_SUSPENDED', 20: 'INVALID_OBJECT', 21: 'INVALID_CLASS', 99: 'NOT_IMPLEMENTED',
  100: 'NULL_POINTER', 101: 'ABSENT_INFORMATION', 110: 'ILLEGAL_ARGUMENT', 112: 'VM_DEAD', 113: 'INTERNAL', 115: 'OUT_OF_MEMORY', 502: 'INVALID_LENGTH',
};

export interface IdSizes {
  fieldID: number;
  methodID: number;
  objectID: number;
  referenceTypeID: number;
  frameID: number;
}

/** Reads JDWP values from reply data. */
export class JdwpReader extends ByteReader {
  constructor(bytes: Uint8Array, readonly sizes?: IdSizes) {
    super(bytes);
  }
  string(field: string): string {
    return fromUtf8(this.lengthPrefixed('u32', field, 1024 * 1024));
  }
  /** An ID of `size` bytes (1–8), as hex: IDs are opaque and may not fit a JS number. */
  id(size: number, field: string): string {
    if (size < 1 || size > 8) throw new ProtocolError(`${field}: ID size ${size} out of 1–8`);
    let hex = '';
    for (const b of this.bytesN(size, field)) hex += b.toString(16).padStart(2, '0');
    return hex;
  }
  /** A count, capped so no reply makes us loop for ever. */
  count(field: string, max = 1_000_000): number {
    const n = this.i32(field);
    if (n < 0 || n > max) throw new ProtocolError(`${field} ${n} out of 0–${max}`);
    return n;
  }
}

export function idBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function parseVersion(data: Uint8Array) {
  const r = new JdwpReader(data);
  return { description: r.string('description'), jdwpMajor: r.i32('jdwpMajor'), jdwpMinor: r.i32('jdwpMinor'), vmVersion: r.string('vmVersion'), vmName: r.string('vmName') };
}

export function parseIdSizes(data: Uint8Array): IdSizes {
  const r = new JdwpReader(data);
  const sizes = { fieldID: r.i32('fieldIDSize'), methodID: r.i32('methodIDSize'), objectID: r.i32('objectIDSize'), referenceTypeID: r.i32('referenceTypeIDSize'), frameID: r.i32('frameIDSize') };
  for (const [k, v] of Object.entries(sizes)) if (v < 1 || v > 8) throw new ProtocolError(`IDSizes ${k} ${v} out of 1–8`);
  return sizes;
}

export const TYPE_TAGS: Record<number, string> = { 1: 'class', 2: 'interface', 3: 'array' };

export interface ClassInfo {
  kind: string;
  signature: string;
  name: string;
  status: number;
}

/** JNI signature to the Java name: Ljava/lang/String; → java.lang.String, [I → int[]. */
export function javaName(signature: string): string {
  let dims = 0;
  while (signature[dims] === '[') dims++;
  const base = signature.slice(dims);
  const prims: Record<string, string> = { Z: 'boolean', B: 'byte', C: 'char', S: 'short', I: 'int', J: 'long', F: 'float', D: 'double', V: 'void' };
  const name = base.startsWith('L') && base.endsWith(';') ? base.slice(1, -1).replace(/\//g, '.') : (prims[base] ?? base);
  return name + '[]'.repeat(dims);
}

/** AllClasses: count, then (refTypeTag, typeID, signature, status) each; `keep` filters without storing the rest. */
export function parseAllClasses(data: Uint8Array, sizes: IdSizes, keep: (c: ClassInfo) => boolean, limit: number): { total: number; classes: ClassInfo[]; matched: number } {
  const r = new JdwpReader(data, sizes);
  const total = r.count('classes', 10_000_000);
  const classes: ClassInfo[] = [];
  let matched = 0;
  for (let i = 0; i < total; i++) {
    const tag = r.u8('refTypeTag');
    r.skip(sizes.referenceTypeID, 'typeID');
    const signature = r.string('signature');
    const status = r.i32('status');
    const c = { kind: TYPE_TAGS[tag] ?? `tag ${tag}`, signature, name: javaName(signature), status };
    if (!keep(c)) continue;
    matched++;
    if (classes.length < limit) classes.push(c);
  }
  return { total, classes, matched };
}

/** ThreadStatus constants (JDWP ThreadStatus). */
export const THREAD_STATUS: Record<number, string> = { 0: 'zombie', 1: 'running', 2: 'sleeping', 3: 'monitor', 4: 'wait' };
