// AMQP 0-9-1 (amqp0-9-1.pdf and its XML spec, with RabbitMQ's errata for field-table types): the protocol
// header (§4.2.2), frames (§4.2.3), method frames (§4.2.4), content header and body frames (§4.2.6),
// heartbeat frames (§4.2.7), field tables (§4.2.5.5), and the methods of the connection, channel, exchange,
// queue, basic and confirm classes.
//
// How it works: every method is a row of argument types; one encoder and one decoder walk those rows
// (consecutive bits pack into one octet, §4.2.5.2). `frameFrame(max)` reads a frame and rejects one whose
// size is over frame-max as soon as its 7-byte header is in, before the payload is buffered.
import { ByteReader, ByteWriter, fromUtf8, toBase64, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const PROTOCOL_HEADER = Uint8Array.of(0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1);
export const FRAME_END = 0xce;
export const FrameType = { METHOD: 1, HEADER: 2, BODY: 3, HEARTBEAT: 8 } as const;
/** §4.2.3: a peer must accept frames of frame-min-size (4096) before tuning; RabbitMQ's connection.start fits. */
export const FRAME_MIN_SIZE = 4096;

type ArgType = 'octet' | 'short' | 'long' | 'longlong' | 'shortstr' | 'longstr' | 'bit' | 'table' | 'timestamp';

/** class id, method id, name, arguments (from amqp0-9-1.xml). */
const METHODS: [number, number, string, [string, ArgType][]][] = [
  [10, 10, 'connection.start', [['versionMajor', 'octet'], ['versionMinor', 'octet'], ['serverProperties', 'table'], ['mechanisms', 'longstr'], ['locales', 'longstr']]],
  [10, 11, 'connection.start-ok', [['clientProperties', 'table'], ['mechanism', 'shortstr'], ['response', 'longstr'], ['locale', 'shortstr']]],
  [10, 20, 'connection.secure', [['challenge', 'longstr']]],
  [10, 21, 'connection.secure-ok', [['response', 'longstr']]],
  [10, 30, 'connection.tune', [['channelMax', 'short'], ['frameMax', 'long'], ['heartbeat', 'short']]],
  [10, 31, 'connection.tune-ok', [['channelMax', 'short'], ['frameMax', 'long'], ['heartbeat', 'short']]],
  [10, 40, 'connection.open', [['virtualHost', 'shortstr'], ['reserved1', 'shortstr'], ['reserved2', 'bit']]],
  [10, 41, 'connection.open-ok', [['reserved1', 'shortstr']]],
  [10, 50, 'connection.close', [['replyCode', 'short'], ['replyText', 'shortstr'], ['classId', 'short'], ['methodId', 'short']]],
  [10, 51, 'connection.close-ok', []],
  [10, 60, 'connection.blocked', [['reason', 'shortstr']]],
  [10, 61, 'connection.unblocked', []],
  [20, 10, 'channel.open', [['reserved1', 'shortstr']]],
  [20, 11, 'channel.open-ok', [['reserved1', 'longstr']]],
  [20, 20, 'channel.flow', [['active', 'bit']]],
  [20, 21, 'channel.flow-ok', [['active', 'bit']]],
  [20, 40, 'channel.close', [['replyCode', 'short'], ['replyText', 'shortstr'], ['classId', 'short'], ['methodId', 'short']]],
  [20, 41, 'channel.close-ok', []],
  [40, 10, 'exchange.declare', [['reserved1', 'short'], ['exchange', 'shortstr'], ['type', 'shortstr'], ['passive', 'bit'], ['durable', 'bit'], ['autoDelete', 'bit'], ['internal', 'bit'], ['noWait', 'bit'], ['arguments', 'table']]],
  [40, 11, 'exchange.declare-ok', []],
  [40, 20, 'exchange.delete', [['reserved1', 'short'], ['exchange', 'shortstr'], ['ifUnused', 'bit'], ['noWait', 'bit']]],
  [40, 21, 'exchange.delete-ok', []],
  [40, 30, 'exchange.bind', [['reserved1', 'short'], ['destination', 'shortstr'], ['source', 'shortstr'], ['routingKey', 'shortstr'], ['noWait', 'bit'], ['arguments', 'table']]],
  [40, 31, 'exchange.bind-ok', []],
  [40, 40, 'exchange.unbind', [['reserved1', 'short'], ['destination', 'shortstr'], ['source', 'shortstr'], ['routingKey', 'shortstr'], ['noWait', 'bit'], ['arguments', 'table']]],
  [40, 51, 'exchange.unbind-ok', []],
  [50, 10, 'queue.declare', [['reserved1', 'short'], ['queue', 'shortstr'], ['passive', 'bit'], ['durable', 'bit'], ['exclusive', 'bit'], ['autoDelete', 'bit'], ['noWait', 'bit'], ['arguments', 'table']]],
  [50, 11, 'queue.declare-ok', [['queue', 'shortstr'], ['messageCount', 'long'], ['consumerCount', 'long']]],
  [50, 20, 'queue.bind', [['reserved1', 'short'], ['queue', 'shortstr'], ['exchange', 'shortstr'], ['routingKey', 'shortstr'], ['noWait', 'bit'], ['arguments', 'table']]],
  [50, 21, 'queue.bind-ok', []],
  [50, 30, 'queue.purge', [['reserved1', 'short'], ['queue', 'shortstr'], ['noWait', 'bit']]],
  [50, 31, 'queue.purge-ok', [['messageCount', 'long']]],
  [50, 40, 'queue.delete', [['reserved1', 'short'], ['queue', 'shortstr'], ['ifUnused', 'bit'], ['ifEmpty', 'bit'], ['noWait', 'bit']]],
  [50, 41, 'queue.delete-ok', [['messageCount', 'long']]],
  [50, 50, 'queue.unbind', [['reserved1', 'short'], ['queue', 'shortstr'], ['exchange', 'shortstr'], ['routingKey', 'shortstr'], ['arguments', 'table']]],
  [50, 51, 'queue.unbind-ok', []],
  [60, 10, 'basic.qos', [['prefetchSize', 'long'], ['prefetchCount', 'short'], ['global', 'bit']]],
  [60, 11, 'basic.qos-ok', []],
  [60, 20, 'basic.consume', [['reserved1', 'short'], ['queue', 'shortstr'], ['consumerTag', 'shortstr'], ['noLocal', 'bit'], ['noAck', 'bit'], ['exclusive', 'bit'], ['noWait', 'bit'], ['arguments', 'table']]],
  [60, 21, 'basic.consume-ok', [['consumerTag', 'shortstr']]],
  [60, 30, 'basic.cancel', [['consumerTag', 'shortstr'], ['noWait', 'bit']]],
  [60, 31, 'basic.cancel-ok', [['consumerTag', 'shortstr']]],
  [60, 40, 'basic.publish', [['reserved1', 'short'], ['exchange', 'shortstr'], ['routingKey', 'shortstr'], ['mandatory', 'bit'], ['immediate', 'bit']]],
  [60, 50, 'basic.return', [['replyCode', 'short'], ['replyText', 'shortstr'], ['exchange', 'shortstr'], ['routingKey', 'shortstr']]],
  [60, 60, 'basic.deliver', [['consumerTag', 'shortstr'], ['deliveryTag', 'longlong'], ['redelivered', 'bit'], ['exchange', 'shortstr'], ['routingKey', 'shortstr']]],
  [60, 70, 'basic.get', [['reserved1', 'short'], ['queue', 'shortstr'], ['noAck', 'bit']]],
  [60, 71, 'basic.get-ok', [['deliveryTag', 'longlong'], ['redelivered', 'bit'], ['exchange', 'shortstr'], ['routingKey', 'shortstr'], ['messageCount', 'long']]],
  [60, 72, 'basic.get-empty', [['reserved1', 'shortstr']]],
  [60, 80, 'basic.ack', [['deliveryTag', 'longlong'], ['multiple', 'bit']]],
  [60, 90, 'basic.reject', [['deliveryTag', 'longlong'], ['requeue', 'bit']]],
  [60, 110, 'basic.recover', [['requeue', 'bit']]],
  [60, 111, 'basic.recover-ok', []],
  [60, 120, 'basic.nack', [['deliveryTag', 'longlong'], ['multiple', 'bit'], ['requeue', 'bit']]],
  [85, 10, 'confirm.select', [['noWait', 'bit']]],
  [85, 11, 'confirm.select-ok', []],
];

const BY_ID = new Map(METHODS.map(([c, m, name, args]) => [c * 65536 + m, { classId: c, methodId: m, name, args }]));
const BY_NAME = new Map(METHODS.map(([c, m, name, args]) => [name, { classId: c, methodId: m, name, args }]));

export function methodName(classId: number, methodId: number): string {
  return BY_ID.get(classId * 65536 + methodId)?.name ?? `method ${classId}.${methodId}`;
}

// Field tables (§4.2.5.5 with RabbitMQ's errata: t b B s u I i l f d D S A T F V x).

export type FieldValue = null | boolean | number | string | FieldValue[] | FieldTable | { bytes: Uint8Array } | { decimal: string } | { timestamp: number } | { int64: string };
export interface FieldTable {
  [name: string]: FieldValue;
}

const MAX_TABLE_DEPTH = 16;
const MAX_TABLE_ENTRIES = 10_000;

function writeShortstr(w: ByteWriter, s: string, field: string): void {
  const b = utf8(s);
  if (b.length > 255) throw new ProtocolError(`${field} is longer than 255 bytes (a short string, AMQP §4.2.5.3)`);
  w.u8(b.length).bytes(b);
}

function readShortstr(r: ByteReader, field: string): string {
  return fromUtf8(r.lengthPrefixed('u8', field));
}

function writeFieldValue(w: ByteWriter, v: FieldValue, depth: number): void {
  if (depth > MAX_TABLE_DEPTH) throw new ProtocolError(`field table nested deeper than ${MAX_TABLE_DEPTH}`);
  if (v === null) w.u8(0x56); // V
  else if (typeof v === 'boolean') w.u8(0x74).u8(v ? 1 : 0); // t
  else if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) w.u8(0x49).i32(v); // I
    else if (Number.isSafeInteger(v)) w.u8(0x6c).i64(BigInt(v)); // l
    else w.u8(0x64).f64(v); // d
  } else if (typeof v === 'string') w.u8(0x53).lengthPrefixed('u32', utf8(v)); // S
  else if (Array.isArray(v)) {
    w.u8(0x41); // A
    const done = w.lengthAt('u32');
    for (const x of v) writeFieldValue(w, x, depth + 1);
    done();
  } else if ('bytes' in v && v.bytes instanceof Uint8Array) w.u8(0x78).lengthPrefixed('u32', v.bytes); // x
  else if ('timestamp' in v && typeof v.timestamp === 'number') w.u8(0x54).u64(BigInt(v.timestamp)); // T
  else if ('int64' in v && typeof v.int64 === 'string') w.u8(0x6c).i64(BigInt(v.int64));
  else if ('decimal' in v && typeof v.decimal === 'string') {
    const [int, frac = ''] = v.decimal.split('.');
    w.u8(0x44).u8(frac.length).i32(Number(int + frac)); // D
  } else {
    w.u8(0x46); // F
    writeTableBody(w, v as FieldTable, depth + 1);
  }
}

function writeTableBody(w: ByteWriter, t: FieldTable, depth: number): void {
  const done = w.lengthAt('u32');
  for (const [k, v] of Object.entries(t)) {
    writeShortstr(w, k, 'field name');
    writeFieldValue(w, v, depth);
  }
  done();
}

export function encodeTable(t: FieldTable): Uint8Array {
  const w = new ByteWriter(64);
  writeTableBody(w, t, 0);
  return w.finish();
}

function int64Value(v: bigint): number | { int64: string } {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : { int64: v.toString() };
}

function readFieldValue(r: ByteReader, depth: number, field: string): FieldValue {
  const type = r.u8(`${field} type`);
  switch (type) {
    case 0x74: // t
      return r.u8(field) !== 0;
    case 0x62: // b
      return r.i8(field);
    case 0x42: // B
      return r.u8(field);
    case 0x73: // s
      return r.i16(field);
    case 0x75: // u
      return r.u16(field);
    case 0x49: // I
      return r.i32(field);
    case 0x69: // i
      return r.u32(field);
    case 0x6c: // l
      return int64Value(r.i64(field));
    case 0x4c: // L (0-9-1 spec letter for unsigned 64)
      return int64Value(r.u64(field));
    case 0x66: // f
      return r.f32(field);
    case 0x64: // d
      return r.f64(field);
    case 0x44: {
      // D: scale, then an unsigned 32-bit value
      const scale = r.u8(field);
      const raw = String(r.u32(field)).padStart(scale + 1, '0');
      return { decimal: scale ? `${raw.slice(0, -scale)}.${raw.slice(-scale)}` : raw };
    }
    case 0x53: {
      // S: long string, bytes; text when it is UTF-8
      const b = r.lengthPrefixed('u32', field);
      try {
        return fromUtf8(b, true);
      } catch {
        return { bytes: b.slice() };
      }
    }
    case 0x78: // x
      return { bytes: r.lengthPrefixed('u32', field).slice() };
    case 0x41: {
      if (depth >= MAX_TABLE_DEPTH) throw new ProtocolError(`${field}: field arrays nested deeper than ${MAX_TABLE_DEPTH}`);
      const sub = new ByteReader(r.lengthPrefixed('u32', field));
      const out: FieldValue[] = [];
      while (!sub.done) {
        if (out.length >= MAX_TABLE_ENTRIES) throw new ProtocolError(`${field}: more than ${MAX_TABLE_ENTRIES} array elements`);
        out.push(readFieldValue(sub, depth + 1, `${field}[${out.length}]`));
      }
      return out;
    }
    case 0x54: // T
      return { timestamp: Number(r.u64(field)) };
    case 0x46: // F
      if (depth >= MAX_TABLE_DEPTH) throw new ProtocolError(`${field}: field tables nested deeper than ${MAX_TABLE_DEPTH}`);
      return readTable(r, field, depth + 1);
    case 0x56: // V
      return null;
    default:
      throw new ProtocolError(`${field}: unknown field type 0x${type.toString(16)} ('${String.fromCharCode(type)}')`);
  }
}

export function readTable(r: ByteReader, field = 'table', depth = 0): FieldTable {
  const sub = new ByteReader(r.lengthPrefixed('u32', field));
  const out: FieldTable = {};
  let n = 0;
  while (!sub.done) {
    if (++n > MAX_TABLE_ENTRIES) throw new ProtocolError(`${field}: more than ${MAX_TABLE_ENTRIES} entries`);
    const name = readShortstr(sub, `${field} field name`);
    out[name] = readFieldValue(sub, depth, `${field}.${name}`);
  }
  return out;
}

/** A field value for JSON: bytes as base64. */
export function fieldJson(v: FieldValue): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(fieldJson);
  if ('bytes' in v && v.bytes instanceof Uint8Array) return { base64: toBase64(v.bytes) };
  if ('decimal' in v || 'timestamp' in v || 'int64' in v) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fieldJson(x as FieldValue)]));
}

// Methods.

export type MethodArgs = Record<string, number | bigint | string | boolean | FieldTable | Uint8Array>;

export interface Method {
  name: string;
  classId: number;
  methodId: number;
  args: MethodArgs;
}

/** A method frame's payload: class id, method id, the arguments in order, bits packed (§4.2.5.2). */
export function encodeMethodPayload(name: string, args: MethodArgs = {}): Uint8Array {
  const def = BY_NAME.get(name);
  if (!def) throw new ProtocolError(`unknown AMQP method ${name}`);
  const w = new ByteWriter(64).u16(def.classId).u16(def.methodId);
  let bits = 0;
  let bitCount = 0;
  const flush = () => {
    if (bitCount > 0) w.u8(bits);
    bits = 0;
    bitCount = 0;
  };
  for (const [field, type] of def.args) {
    const v = args[field];
    if (type === 'bit') {
      if (bitCount === 8) flush();
      if (v === true) bits |= 1 << bitCount;
      bitCount++;
      continue;
    }
    flush();
    switch (type) {
      case 'octet':
        w.u8(Number(v ?? 0));
        break;
      case 'short':
        w.u16(Number(v ?? 0));
        break;
      case 'long':
        w.u32(Number(v ?? 0));
        break;
      case 'longlong':
      case 'timestamp':
        w.u64(BigInt((v as number | bigint | undefined) ?? 0));
        break;
      case 'shortstr':
        writeShortstr(w, String(v ?? ''), `${name} ${field}`);
        break;
      case 'longstr':
        w.lengthPrefixed('u32', v instanceof Uint8Array ? v : utf8(String(v ?? '')));
        break;
      case 'table':
        writeTableBody(w, (v as FieldTable | undefined) ?? {}, 0);
        break;
    }
  }
  flush();
  return w.finish();
}

export function decodeMethod(payload: Uint8Array): Method {
  const r = new ByteReader(payload);
  const classId = r.u16('class id');
  const methodId = r.u16('method id');
  const def = BY_ID.get(classId * 65536 + methodId);
  if (!def) throw new ProtocolError(`unknown AMQP method ${classId}.${methodId}`);
  const args: MethodArgs = {};
  let bits = 0;
  let bitAt = 8;
  for (const [field, type] of def.args) {
    const label = `${def.name} ${field}`;
    if (type === 'bit') {
      if (bitAt === 8) {
        bits = r.u8(label);
        bitAt = 0;
      }
      args[field] = (bits & (1 << bitAt++)) !== 0;
      continue;
    }
    bitAt = 8;
    switch (type) {
      case 'octet':
        args[field] = r.u8(label);
        break;
      case 'short':
        args[field] = r.u16(label);
        break;
      case 'long':
        args[field] = r.u32(label);
        break;
      case 'longlong':
      case 'timestamp':
        args[field] = r.u64(label);
        break;
      case 'shortstr':
        args[field] = readShortstr(r, label);
        break;
      case 'longstr':
        args[field] = r.lengthPrefixed('u32', label).slice();
        break;
      case 'table':
        args[field] = readTable(r, label);
        break;
    }
  }
  return { name: def.name, classId, methodId, args };
}

// Content header (§4.2.6.1) with the basic class's properties.

export interface BasicProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: FieldTable;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
  clusterId?: string;
}

const PROPERTIES: [keyof BasicProperties, 'shortstr' | 'table' | 'octet' | 'timestamp'][] = [
  ['contentType', 'shortstr'],
  ['contentEncoding', 'shortstr'],
  ['headers', 'table'],
  ['deliveryMode', 'octet'],
  ['priority', 'octet'],
  ['correlationId', 'shortstr'],
  ['replyTo', 'shortstr'],
  ['expiration', 'shortstr'],
  ['messageId', 'shortstr'],
  ['timestamp', 'timestamp'],
  ['type', 'shortstr'],
  ['userId', 'shortstr'],
  ['appId', 'shortstr'],
  ['clusterId', 'shortstr'],
];

export interface ContentHeader {
  classId: number;
  bodySize: number;
  properties: BasicProperties;
}

export function encodeHeaderPayload(bodySize: number, p: BasicProperties, classId = 60): Uint8Array {
  const w = new ByteWriter(64).u16(classId).u16(0).u64(BigInt(bodySize));
  let flags = 0;
  PROPERTIES.forEach(([name], i) => {
    if (p[name] !== undefined) flags |= 1 << (15 - i);
  });
  w.u16(flags);
  for (const [name, type] of PROPERTIES) {
    const v = p[name];
    if (v === undefined) continue;
    if (type === 'shortstr') writeShortstr(w, v as string, name);
    else if (type === 'table') writeTableBody(w, v as FieldTable, 0);
    else if (type === 'octet') w.u8(v as number);
    else w.u64(BigInt(v as number));
  }
  return w.finish();
}

export function decodeHeader(payload: Uint8Array, maxBody: number): ContentHeader {
  const r = new ByteReader(payload);
  const classId = r.u16('content class');
  r.u16('content weight');
  const size = r.u64('body size');
  if (size > BigInt(maxBody)) throw new ProtocolError(`content body of ${size} bytes exceeds the ${maxBody}-byte limit`);
  const flags = r.u16('property flags');
  // §4.2.6.1: bit 0 set means more flag words follow; the basic class has 14 properties, so none should.
  if (flags & 1) throw new ProtocolError('property flags with a continuation bit: the basic class has no 15th property');
  const properties: BasicProperties = {};
  const o = properties as Record<string, unknown>;
  PROPERTIES.forEach(([name, type], i) => {
    if (!(flags & (1 << (15 - i)))) return;
    if (type === 'shortstr') o[name] = readShortstr(r, name);
    else if (type === 'table') o[name] = readTable(r, name);
    else if (type === 'octet') o[name] = r.u8(name);
    else o[name] = Number(r.u64(name));
  });
  return { classId, bodySize: Number(size), properties };
}

// Frames.

export interface RawFrame {
  type: number;
  channel: number;
  payload: Uint8Array;
}

export function encodeFrame(type: number, channel: number, payload: Uint8Array): Uint8Array {
  return new ByteWriter(payload.length + 8).u8(type).u16(channel).u32(payload.length).bytes(payload).u8(FRAME_END).finish();
}

export function encodeMethod(channel: number, name: string, args: MethodArgs = {}): Uint8Array {
  return encodeFrame(FrameType.METHOD, channel, encodeMethodPayload(name, args));
}

export const HEARTBEAT_FRAME = Uint8Array.of(8, 0, 0, 0, 0, 0, 0, FRAME_END);

/**
 * One frame (§4.2.3). A size over `frameMax` (the negotiated frame-max, header and end octet included)
 * fails as soon as the 7-byte header is in. A server that answers our protocol header with its own
 * (§4.2.2: it does not speak 0-9-1) is reported with the version it offers.
 */
export function frameFrame(frameMax: () => number): Frame<RawFrame> {
  return (buf) => {
    if (buf.length >= 8 && buf[0] === 0x41 && buf[1] === 0x4d && buf[2] === 0x51 && buf[3] === 0x50) {
      throw new ProtocolError(`the server does not speak AMQP 0-9-1: it answered with protocol header AMQP ${buf[4]}-${buf[5]}-${buf[6]}-${buf[7]} (AMQP §4.2.2)`, { offered: `${buf[5]}-${buf[6]}-${buf[7]}` });
    }
    if (buf.length < 7) return undefined;
    const type = buf[0];
    if (type !== 1 && type !== 2 && type !== 3 && type !== 8) throw new ProtocolError(`unknown AMQP frame type ${type} (§4.2.3)`);
    const size = ((buf[3] << 24) >>> 0) + (buf[4] << 16) + (buf[5] << 8) + buf[6];
    const max = frameMax();
    if (max > 0 && size + 8 > max) throw new ProtocolError(`AMQP frame of ${size + 8} bytes exceeds the negotiated frame-max of ${max} (§4.2.3)`);
    if (buf.length < size + 8) return undefined;
    if (buf[size + 7] !== FRAME_END) throw new ProtocolError(`AMQP frame end octet is 0x${buf[size + 7].toString(16)}, not 0xce (§4.2.3)`);
    return { value: { type, channel: (buf[1] << 8) | buf[2], payload: buf.slice(7, 7 + size) }, size: size + 8 };
  };
}

/** The PLAIN SASL response (RFC 4616): NUL user NUL password. */
export function plainResponse(user: string, password: string): Uint8Array {
  return new ByteWriter(64).u8(0).text(user).u8(0).text(password).finish();
}

/** AMQPLAIN: a field table of LOGIN and PASSWORD, without the table's own length prefix (RabbitMQ, py-amqp). */
export function amqplainResponse(user: string, password: string): Uint8Array {
  return encodeTable({ LOGIN: user, PASSWORD: password }).subarray(4);
}

/** §1.9 reply codes. */
export const REPLY_CODES: Record<number, string> = {
  200: 'REPLY_SUCCESS',
  311: 'CONTENT_TOO_LARGE',
  312: 'NO_ROUTE',
  313: 'NO_CONSUMERS',
  320: 'CONNECTION_FORCED',
  402: 'INVALID_PATH',
  403: 'ACCESS_REFUSED',
  404: 'NOT_FOUND',
  405: 'RESOURCE_LOCKED',
  406: 'PRECONDITION_FAILED',
  501: 'FRAME_ERROR',
  502: 'SYNTAX_ERROR',
  503: 'COMMAND_INVALID',
  504: 'CHANNEL_ERROR',
  505: 'UNEXPECTED_FRAME',
  506: 'RESOURCE_ERROR',
  530: 'NOT_ALLOWED',
  540: 'NOT_IMPLEMENTED',
  541: 'INTERNAL_ERROR',
};

function argText(v: unknown): string {
  if (v instanceof Uint8Array) return v.length <= 32 ? JSON.stringify(fromUtf8(v)) : `${v.length} bytes`;
  if (typeof v === 'bigint') return v.toString();
  if (v && typeof v === 'object') return JSON.stringify(fieldJson(v as FieldValue)).slice(0, 120);
  return JSON.stringify(v);
}

export function describeMethod(m: Method): string {
  const args = Object.entries(m.args)
    .filter(([k]) => !k.startsWith('reserved') && k !== 'response')
    .map(([k, v]) => `${k}=${argText(v)}`);
  return `${m.name}${args.length ? ` ${args.join(' ')}` : ''}`.slice(0, 400);
}

export function describeFrame(f: RawFrame): string {
  const ch = `ch ${f.channel}`;
  switch (f.type) {
    case FrameType.METHOD:
      try {
        return `${ch} ${describeMethod(decodeMethod(f.payload))}`;
      } catch {
        return `${ch} method frame, ${f.payload.length} bytes`;
      }
    case FrameType.HEADER:
      return `${ch} content header, ${f.payload.length} bytes`;
    case FrameType.BODY:
      return `${ch} content body, ${f.payload.length} bytes`;
    default:
      return 'heartbeat';
  }
}

