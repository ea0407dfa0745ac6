// OpenWire (Apache ActiveMQ 5, "OpenWire Version 2 Specification" and the generated marshallers of later
// versions): size-prefixed commands, WireFormatInfo (type 1) with its marshalled primitive map, and BrokerInfo
// (type 2) in loose encoding, which the broker uses once both sides turned tight encoding and caching off.
import { ByteReader, ByteWriter, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const MAGIC = utf8('ActiveMQ');
export const CommandType = { WIREFORMAT_INFO: 1, BROKER_INFO: 2, KEEP_ALIVE_INFO: 10, SHUTDOWN_INFO: 11, EXCEPTION_RESPONSE: 31, BROKER_ID: 124 } as const;

const MAX_COMMAND = 64 * 1024 * 1024;
const MAX_MAP_ENTRIES = 10_000;
const MAX_PEERS = 1000;

/** MarshallingSupport's primitive types. */
export type Primitive = null | boolean | number | string | Uint8Array | { long: string };

function readPrimitive(r: ByteReader, field: string): Primitive {
  const type = r.u8(`${field} type`);
  switch (type) {
    case 0:
      return null;
    case 1:
      return r.u8(field) !== 0;
    case 2:
      return r.i8(field);
    case 3:
      return String.fromCharCode(r.u16(field));
    case 4:
      return r.i16(field);
    case 5:
      return r.i32(field);
    case 6: {
      const v = r.i64(field);
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : { long: v.toString() };
    }
    case 7:
      return r.f64(field);
    case 8:
      return r.f32(field);
    case 9:
      return fromUtf8(r.lengthPrefixed('u16', field));
    case 10:
      return r.lengthPrefixed('u32', field, MAX_COMMAND).slice();
    case 13:
      return fromUtf8(r.lengthPrefixed('u32', field, MAX_COMMAND));
    default:
      throw new ProtocolError(`${field}: primitive type ${type} is not supported here`);
  }
}

/** A marshalled primitive map: entry count, then name (u16-length UTF-8) and typed value. */
export function readPrimitiveMap(bytes: Uint8Array): Record<string, Primitive> {
  const r = new ByteReader(bytes);
  const n = r.i32('map size');
  if (n < 0 || n > MAX_MAP_ENTRIES) throw new ProtocolError(`property map with ${n} entries`);
  const out: Record<string, Primitive> = {};
  for (let i = 0; i < n; i++) {
    const name = fromUtf8(r.lengthPrefixed('u16', 'property name'));
    out[name] = readPrimitive(r, name);
  }
  return out;
}

export function writePrimitiveMap(map: Record<string, boolean | number | string | { long: number }>): Uint8Array {
  const w = new ByteWriter(256).i32(Object.keys(map).length);
  for (const [k, v] of Object.entries(map)) {
    w.lengthPrefixed('u16', k);
    if (typeof v === 'boolean') w.u8(1).u8(v ? 1 : 0);
    else if (typeof v === 'number') w.u8(5).i32(v);
    else if (typeof v === 'string') w.u8(9).lengthPrefixed('u16', v);
    else w.u8(6).i64(BigInt(v.long));
  }
  return w.finish();
}

export interface WireFormatInfo {
  type: 'wireformat';
  version: number;
  properties: Record<string, Primitive>;
}

export interface BrokerInfo {
  type: 'broker';
  brokerId: string | null;
  brokerUrl: string | null;
  brokerName: string | null;
  peers: { brokerId: string | null; brokerUrl: string | null; brokerName: string | null }[];
  slaveBroker: boolean;
  masterBroker: boolean;
  faultTolerantConfiguration: boolean;
  duplexConnection: boolean;
  networkConnection: boolean;
  connectionId: number;
  brokerUploadUrl: string | null;
  networkProperties: string | null;
}

export type Command = WireFormatInfo | BrokerInfo | { type: 'other'; dataType: number; size: number };

export function encodeWireFormatInfo(version: number, properties: Record<string, boolean | number | string | { long: number }>): Uint8Array {
  const map = writePrimitiveMap(properties);
  const body = new ByteWriter(map.length + 32).u8(CommandType.WIREFORMAT_INFO).bytes(MAGIC).i32(version).u8(1).lengthPrefixed('u32', map).finish();
  return new ByteWriter(body.length + 4).lengthPrefixed('u32', body).finish();
}

/** looseUnmarshalString: a "not null" boolean, then modified UTF-8 with a u16 length. */
function looseString(r: ByteReader, field: string): string | null {
  return r.u8(`${field} present`) ? fromUtf8(r.lengthPrefixed('u16', field)) : null;
}

/** A nested BrokerId (type 124) in loose encoding: present flag, type, its string value. */
function looseBrokerId(r: ByteReader): string | null {
  if (!r.u8('brokerId present')) return null;
  const t = r.u8('brokerId type');
  if (t !== CommandType.BROKER_ID) throw new ProtocolError(`brokerId of data type ${t}, not BrokerId (124)`);
  return looseString(r, 'brokerId value');
}

function looseBrokerInfo(r: ByteReader, version: number, depth: number): BrokerInfo {
  // BaseCommand: commandId, responseRequired.
  r.i32('commandId');
  r.u8('responseRequired');
  const brokerId = looseBrokerId(r);
  const brokerUrl = looseString(r, 'brokerURL');
  const peers: BrokerInfo['peers'] = [];
  if (r.u8('peerBrokerInfos present')) {
    const n = r.i16('peerBrokerInfos size');
    if (n < 0 || n > MAX_PEERS) throw new ProtocolError(`${n} peer brokers`);
    if (n > 0 && depth > 2) throw new ProtocolError('peer broker infos nested too deep');
    for (let i = 0; i < n; i++) {
      if (!r.u8('peer present')) continue;
      const t = r.u8('peer type');
      if (t !== CommandType.BROKER_INFO) throw new ProtocolError(`peer broker of data type ${t}`);
      const p = looseBrokerInfo(r, version, depth + 1);
      peers.push({ brokerId: p.brokerId, brokerUrl: p.brokerUrl, brokerName: p.brokerName });
    }
  }
  const brokerName = looseString(r, 'brokerName');
  const slaveBroker = r.u8('slaveBroker') !== 0;
  const masterBroker = r.u8('masterBroker') !== 0;
  const faultTolerantConfiguration = r.u8('faultTolerantConfiguration') !== 0;
  const duplexConnection = version >= 2 ? r.u8('duplexConnection') !== 0 : false;
  const networkConnection = version >= 2 ? r.u8('networkConnection') !== 0 : false;
  const connectionId = version >= 2 ? Number(r.i64('connectionId')) : 0;
  const brokerUploadUrl = version >= 3 ? looseString(r, 'brokerUploadUrl') : null;
  const networkProperties = version >= 3 ? looseString(r, 'networkProperties') : null;
  return { type: 'broker', brokerId, brokerUrl, brokerName, peers, slaveBroker, masterBroker, faultTolerantConfiguration, duplexConnection, networkConnection, connectionId, brokerUploadUrl, networkProperties };
}

/** One size-prefixed command. WireFormatInfo and (loose) BrokerInfo are decoded; others are named by type. */
export function commandFrame(version: () => number, max = 1024 * 1024): Frame<Command> {
  return (buf) => {
    if (buf.length < 4) return undefined;
    const size = ((buf[0] << 24) >>> 0) + (buf[1] << 16) + (buf[2] << 8) + buf[3];
    if (size > max) throw new ProtocolError(`OpenWire command of ${size} bytes exceeds the ${max}-byte limit (is this an ActiveMQ OpenWire port?)`);
    if (size === 0) throw new ProtocolError('OpenWire command of size 0');
    if (buf.length < 4 + size) return undefined;
    const r = new ByteReader(buf.subarray(4, 4 + size));
    const dataType = r.u8('data type');
    if (dataType === CommandType.WIREFORMAT_INFO) {
      const magic = r.bytesN(8, 'magic');
      if (fromUtf8(magic) !== 'ActiveMQ') throw new ProtocolError('WireFormatInfo without the ActiveMQ magic');
      const v = r.i32('version');
      const properties = r.u8('properties present') ? readPrimitiveMap(r.lengthPrefixed('u32', 'properties', max)) : {};
      return { value: { type: 'wireformat', version: v, properties }, size: 4 + size };
    }
    if (dataType === CommandType.BROKER_INFO) return { value: looseBrokerInfo(r, version(), 0), size: 4 + size };
    return { value: { type: 'other', dataType, size }, size: 4 + size };
  };
}

const TYPE_NAMES: Record<number, string> = { 1: 'WireFormatInfo', 2: 'BrokerInfo', 3: 'ConnectionInfo', 10: 'KeepAliveInfo', 11: 'ShutdownInfo', 30: 'Response', 31: 'ExceptionResponse' };

export function describeCommand(c: Command): string {
  if (c.type === 'wireformat') return `WireFormatInfo version ${c.version} ${JSON.stringify(c.properties).slice(0, 300)}`;
  if (c.type === 'broker') return `BrokerInfo ${c.brokerName ?? ''} ${c.brokerUrl ?? ''} id ${c.brokerId ?? ''}`;
  return `${TYPE_NAMES[c.dataType] ?? `command type ${c.dataType}`}, ${c.size} bytes`;
}
