// PostgreSQL binary-format values (format code 1, each type's send function) to JSON: the same JSON the text
// format gives (types.ts), so a result reads the same either way.
//
// How it works: `binaryDecoder(oid)` returns the decoder of a type this file knows, or undefined; a query that
// asks for binary results asks for format 1 only for those columns (the others stay text). Integers and floats
// come from a DataView; int8 stays a number while it is a safe integer; float4 is given as the shortest
// decimal that reads back as the same float4 (what the server prints); numeric is rebuilt from its base-10000
// digits at its display scale; dates and times count days and microseconds from 2000-01-01 and are written in
// ISO 8601 (timestamptz in UTC); interval is written in the server's default IntervalStyle (postgres); arrays
// carry their dimensions and element type, and become nested JSON arrays. Every length is checked: a value of
// the wrong size is a ProtocolError naming the type.
import { fromUtf8, toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { formatIp } from '../../core/ip.ts';
import type { JsonValue } from '../sql/fields.ts';
import { ARRAY_ELEMENT, decodeText, OID, typeName } from './types.ts';

export type BinaryDecoder = (v: Uint8Array) => JsonValue;

const MAX_ARRAY_DEPTH = 6; // PostgreSQL's MAXDIM
const MAX_ARRAY_ITEMS = 1_000_000;
const NUMERIC_MAX_DSCALE = 0x3fff; // NUMERIC_DSCALE_MAX
const USECS_PER_DAY = 86_400_000_000n;
const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;

function view(v: Uint8Array): DataView {
  return new DataView(v.buffer, v.byteOffset, v.byteLength);
}

function sized(oid: number, v: Uint8Array, n: number): DataView {
  if (v.length !== n) throw new ProtocolError(`${typeName(oid)} binary value has ${v.length} bytes, not ${n}`);
  return view(v);
}

const pad = (n: number | bigint, width: number): string => String(n).padStart(width, '0');

/** Float4 as the server prints it: the shortest decimal that reads back as the same float4. */
function float4Value(f: number): JsonValue {
  if (!Number.isFinite(f)) return String(f);
  for (let p = 1; p <= 9; p++) {
    const n = Number(f.toPrecision(p));
    if (Math.fround(n) === f) return n;
  }
  return f;
}

/** numeric_send: Int16 ndigits, Int16 weight, UInt16 sign, UInt16 dscale, then ndigits base-10000 digits. */
export function numericValue(v: Uint8Array): string {
  if (v.length < 8) throw new ProtocolError(`numeric binary value has ${v.length} bytes, fewer than its 8-byte header`);
  const d = view(v);
  const ndigits = d.getInt16(0);
  const weight = d.getInt16(2);
  const sign = d.getUint16(4);
  const dscale = d.getUint16(6);
  if (ndigits < 0 || v.length !== 8 + 2 * ndigits) throw new ProtocolError(`numeric binary value has ${v.length} bytes for ${ndigits} digits`);
  if (sign === 0xc000) return 'NaN';
  if (sign === 0xd000) return 'Infinity';
  if (sign === 0xf000) return '-Infinity';
  if (sign !== 0 && sign !== 0x4000) throw new ProtocolError(`numeric sign 0x${sign.toString(16)} is not one of 0000, 4000, c000, d000, f000`);
  if (dscale > NUMERIC_MAX_DSCALE) throw new ProtocolError(`numeric display scale ${dscale} exceeds ${NUMERIC_MAX_DSCALE}`);
  const digit = (i: number): number => {
    if (i < 0 || i >= ndigits) return 0;
    const x = d.getInt16(8 + 2 * i);
    if (x < 0 || x > 9999) throw new ProtocolError(`numeric digit ${x} is not a base-10000 digit`);
    return x;
  };
  let out = sign === 0x4000 ? '-' : '';
  if (weight < 0) out += '0';
  else for (let i = 0; i <= weight; i++) out += i === 0 ? String(digit(i)) : pad(digit(i), 4);
  if (dscale > 0) {
    let frac = '';
    for (let i = weight + 1; frac.length < dscale; i++) frac += pad(digit(i), 4);
    out += `.${frac.slice(0, dscale)}`;
  }
  return out;
}

/** Days from 2000-01-01 to a proleptic Gregorian date (civil-from-days), written as the ISO DateStyle does (BC for year <= 0). */
function civil(days: number): { date: string; bc: boolean } {
  const z = days + 10957 + 719468; // to days from 0000-03-01
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const bc = year <= 0;
  return { date: `${pad(bc ? 1 - year : year, 4)}-${pad(month, 2)}-${pad(day, 2)}`, bc };
}

/** Microseconds of a day as HH:MM:SS with the fraction, trailing zeros dropped (hours may pass 24 in an interval). */
function clock(usecs: bigint): string {
  const hours = usecs / 3_600_000_000n;
  const minutes = (usecs / 60_000_000n) % 60n;
  const seconds = (usecs / 1_000_000n) % 60n;
  const fraction = usecs % 1_000_000n;
  const base = `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}`;
  return fraction === 0n ? base : `${base}.${pad(fraction, 6).replace(/0+$/, '')}`;
}

function dateValue(v: Uint8Array): string {
  const days = sized(OID.date, v, 4).getInt32(0);
  if (days === 0x7fffffff) return 'infinity';
  if (days === -0x80000000) return '-infinity';
  const { date, bc } = civil(days);
  return bc ? `${date} BC` : date;
}

/** timestamp and timestamptz: microseconds from 2000-01-01 00:00:00 (UTC for timestamptz). */
function timestampValue(v: Uint8Array, withZone: boolean): string {
  const us = sized(withZone ? OID.timestamptz : OID.timestamp, v, 8).getBigInt64(0);
  if (us === INT64_MAX) return 'infinity';
  if (us === INT64_MIN) return '-infinity';
  let days = us / USECS_PER_DAY;
  let rest = us % USECS_PER_DAY;
  if (rest < 0n) {
    days -= 1n;
    rest += USECS_PER_DAY;
  }
  const { date, bc } = civil(Number(days));
  const zone = withZone ? '+00' : '';
  // As the text path: ISO 8601 with T for AD; a BC value keeps the server's spelling.
  return bc ? `${date} ${clock(rest)}${zone} BC` : `${date}T${clock(rest)}${withZone ? '+00:00' : ''}`;
}

/** A zone offset in seconds east of UTC as the server prints it: +HH, +HH:MM or +HH:MM:SS. */
function zoneOffset(east: number): string {
  const abs = Math.abs(east);
  const h = Math.floor(abs / 3600);
  const m = Math.floor(abs / 60) % 60;
  const s = abs % 60;
  return `${east < 0 ? '-' : '+'}${pad(h, 2)}${s !== 0 ? `:${pad(m, 2)}:${pad(s, 2)}` : m !== 0 ? `:${pad(m, 2)}` : ''}`;
}

/** interval_send: Int64 microseconds, Int32 days, Int32 months; written as IntervalStyle postgres does ("1 year 2 mons 3 days 04:05:06"). */
export function intervalValue(v: Uint8Array): string {
  const d = sized(OID.interval, v, 16);
  const time = d.getBigInt64(0);
  const days = d.getInt32(8);
  const months = d.getInt32(12);
  const parts: string[] = [];
  let before = false;
  const part = (value: number, unit: string): void => {
    if (value === 0) return;
    parts.push(`${before && value > 0 ? '+' : ''}${value} ${unit}${value === 1 ? '' : 's'}`);
    before = value < 0;
  };
  part(Math.trunc(months / 12), 'year');
  part(months % 12, 'mon');
  part(days, 'day');
  if (parts.length === 0 || time !== 0n) {
    const minus = time < 0n;
    parts.push(`${minus ? '-' : before ? '+' : ''}${clock(minus ? -time : time)}`);
  }
  return parts.join(' ');
}

function uuidValue(v: Uint8Array): string {
  sized(OID.uuid, v, 16);
  const h = toHex(v);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** inet_send/cidr_send: family (2 IPv4, 3 IPv6), prefix bits, is_cidr, address length, the address. */
function inetValue(oid: number, v: Uint8Array): string {
  if (v.length < 4) throw new ProtocolError(`${typeName(oid)} binary value has ${v.length} bytes, fewer than its 4-byte header`);
  const [family, bits, , nb] = v;
  const size = family === 2 ? 4 : family === 3 ? 16 : 0;
  if (size === 0) throw new ProtocolError(`${typeName(oid)} family ${family} is neither 2 (IPv4) nor 3 (IPv6)`);
  if (nb !== size || v.length !== 4 + size) throw new ProtocolError(`${typeName(oid)} address of ${v.length - 4} bytes for family ${family}`);
  if (bits > size * 8) throw new ProtocolError(`${typeName(oid)} prefix /${bits} is longer than the address`);
  const addr = v.subarray(4);
  // The server writes an IPv4-compatible address (::a.b.c.d, the first 96 bits zero) with its IPv4 tail too.
  const compatible = family === 3 && addr.subarray(0, 12).every((x) => x === 0) && (addr[12] | addr[13]) !== 0;
  const text = compatible ? `::${addr.subarray(12).join('.')}` : formatIp({ family: family === 2 ? 4 : 6, bytes: addr });
  return oid === OID.cidr || bits !== size * 8 ? `${text}/${bits}` : text;
}

/** array_send: Int32 dimensions, Int32 has-nulls flag, element type OID, (Int32 size, Int32 lower bound) per dimension, then each element (Int32 length, -1 for NULL). */
function arrayValue(oid: number, v: Uint8Array): JsonValue {
  if (v.length < 12) throw new ProtocolError(`${typeName(oid)} binary value has ${v.length} bytes, fewer than its 12-byte header`);
  const d = view(v);
  const ndim = d.getInt32(0);
  const flags = d.getInt32(4);
  const elemOid = d.getUint32(8);
  if (ndim < 0 || ndim > MAX_ARRAY_DEPTH) throw new ProtocolError(`${typeName(oid)} has ${ndim} dimensions (0 to ${MAX_ARRAY_DEPTH})`);
  if (flags !== 0 && flags !== 1) throw new ProtocolError(`${typeName(oid)} has-nulls flag ${flags} is not 0 or 1`);
  if (elemOid !== ARRAY_ELEMENT[oid]) throw new ProtocolError(`${typeName(oid)} holds elements of type ${elemOid}, not ${ARRAY_ELEMENT[oid]}`);
  const decode = binaryDecoder(elemOid);
  if (!decode) throw new ProtocolError(`${typeName(oid)}: no binary decoder for ${typeName(elemOid)}`);
  if (v.length < 12 + 8 * ndim) throw new ProtocolError(`${typeName(oid)} ends inside its dimensions`);
  const dims: number[] = [];
  let total = ndim === 0 ? 0 : 1;
  for (let i = 0; i < ndim; i++) {
    const n = d.getInt32(12 + 8 * i);
    if (n < 0) throw new ProtocolError(`${typeName(oid)} dimension ${i + 1} has size ${n}`);
    dims.push(n);
    total *= n;
    if (total > MAX_ARRAY_ITEMS) throw new ProtocolError(`${typeName(oid)} has more than ${MAX_ARRAY_ITEMS} elements`);
  }
  let at = 12 + 8 * ndim;
  const next = (): JsonValue => {
    if (at + 4 > v.length) throw new ProtocolError(`${typeName(oid)} ends before element ${at}`);
    const len = d.getInt32(at);
    at += 4;
    if (len === -1) {
      if (flags === 0) throw new ProtocolError(`${typeName(oid)} has a NULL element but says it has none`);
      return null;
    }
    if (len < 0 || at + len > v.length) throw new ProtocolError(`${typeName(oid)} element of length ${len} runs past the value`);
    const value = decode(v.subarray(at, at + len));
    at += len;
    return value;
  };
  const build = (dim: number): JsonValue[] => Array.from({ length: dims[dim] }, () => (dim === ndim - 1 ? next() : build(dim + 1)));
  const out = ndim === 0 || total === 0 ? [] : build(0);
  if (at !== v.length) throw new ProtocolError(`${typeName(oid)} has ${v.length - at} bytes after its last element`);
  return out;
}

function int8Value(v: Uint8Array): JsonValue {
  const n = sized(OID.int8, v, 8).getBigInt64(0);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : String(n);
}

/** The binary decoder of a type, or undefined when its values are read in text format. */
export function binaryDecoder(oid: number): BinaryDecoder | undefined {
  switch (oid) {
    case OID.bool:
      return (v) => sized(oid, v, 1).getUint8(0) !== 0;
    case OID.int2:
      return (v) => sized(oid, v, 2).getInt16(0);
    case OID.int4:
      return (v) => sized(oid, v, 4).getInt32(0);
    case OID.oid:
    case OID.xid:
      return (v) => sized(oid, v, 4).getUint32(0);
    case OID.int8:
      return int8Value;
    case OID.float4:
      return (v) => float4Value(sized(oid, v, 4).getFloat32(0));
    case OID.float8:
      return (v) => {
        const f = sized(oid, v, 8).getFloat64(0);
        return Number.isFinite(f) ? f : String(f);
      };
    case OID.numeric:
      return numericValue;
    case OID.text:
    case OID.varchar:
    case OID.bpchar:
    case OID.name:
    case OID.char:
      return (v) => fromUtf8(v);
    case OID.json:
      return (v) => decodeText(OID.json, fromUtf8(v));
    case OID.jsonb:
      return (v) => {
        if (v.length < 1 || v[0] !== 1) throw new ProtocolError(`jsonb binary value has version ${v.length < 1 ? 'none' : v[0]}, not 1`);
        return decodeText(OID.jsonb, fromUtf8(v.subarray(1)));
      };
    case OID.bytea:
      return (v) => ({ hex: toHex(v) });
    case OID.uuid:
      return uuidValue;
    case OID.date:
      return dateValue;
    case OID.time:
      return (v) => clock(sized(oid, v, 8).getBigInt64(0));
    case OID.timetz:
      return (v) => {
        const d = sized(oid, v, 12);
        // The zone is stored in seconds west of UTC.
        return `${clock(d.getBigInt64(0))}${zoneOffset(-d.getInt32(8))}`;
      };
    case OID.timestamp:
      return (v) => timestampValue(v, false);
    case OID.timestamptz:
      return (v) => timestampValue(v, true);
    case OID.interval:
      return intervalValue;
    case OID.inet:
    case OID.cidr:
      return (v) => inetValue(oid, v);
    default: {
      const elem = ARRAY_ELEMENT[oid];
      if (elem !== undefined && elem !== oid && binaryDecoder(elem) && ARRAY_ELEMENT[elem] === undefined) return (v) => arrayValue(oid, v);
      return undefined;
    }
  }
}
