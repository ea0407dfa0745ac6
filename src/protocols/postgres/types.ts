// PostgreSQL text-format values to JSON, by type OID (PostgreSQL docs chapter 8 "Data Types"; OIDs from pg_type.dat).
//
// How it works: every column arrives in text format (format 0). `decodeValue` turns the bytes of
// one value into JSON by the column's type OID: integers become numbers (int8 only while it is a
// safe integer, otherwise a string), numeric stays a string so no digit is lost, bytea becomes
// {hex}, json/jsonb are parsed, timestamps become ISO 8601, arrays (8.15.6 "Array Value Input")
// are parsed into nested JSON arrays of their element type. Unknown types stay text.
import { fromHex, fromUtf8, smallIntAt, textAt, toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import type { JsonValue } from '../sql/fields.ts';


export const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  regproc: 24,
  text: 25,
  oid: 26,
  xid: 28,
  json: 114,
  xml: 142,
  float4: 700,
  float8: 701,
  money: 790,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  bit: 1560,
  varbit: 1562,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
  inet: 869,
  cidr: 650,
  macaddr: 829,
  regclass: 2205,
  regtype: 2206,
} as const;

/** Type names for the common OIDs (what pg_type.typname says). */
export const TYPE_NAMES: Record<number, string> = {};
for (const [name, oid] of Object.entries(OID)) TYPE_NAMES[oid] = name;

/** Array type OID → element type OID (pg_type.typelem for the built-in array types). */
export const ARRAY_ELEMENT: Record<number, number> = {
  1000: OID.bool,
  1001: OID.bytea,
  1002: OID.char,
  1003: OID.name,
  1005: OID.int2,
  1007: OID.int4,
  1009: OID.text,
  1014: OID.bpchar,
  1015: OID.varchar,
  1016: OID.int8,
  1021: OID.float4,
  1022: OID.float8,
  1028: OID.oid,
  1115: OID.timestamp,
  1182: OID.date,
  1183: OID.time,
  1185: OID.timestamptz,
  1187: OID.interval,
  1231: OID.numeric,
  1270: OID.timetz,
  199: OID.json,
  2951: OID.uuid,
  3807: OID.jsonb,
  1041: OID.inet,
  651: OID.cidr,
  1040: OID.macaddr,
  143: OID.xml,
  791: OID.money,
};
for (const [arr, elem] of Object.entries(ARRAY_ELEMENT)) TYPE_NAMES[Number(arr)] = `${TYPE_NAMES[elem]}[]`;

export function typeName(oid: number): string {
  return TYPE_NAMES[oid] ?? `oid:${oid}`;
}

const MAX_ARRAY_DEPTH = 6; // PostgreSQL's MAXDIM
const MAX_ARRAY_ITEMS = 1_000_000;

/** One text-format value to JSON by its type OID. */
export function decodeValue(oid: number, bytes: Uint8Array): JsonValue {
  if (oid === OID.bytea) return { hex: byteaHex(bytes) };
  const text = fromUtf8(bytes);
  const elem = ARRAY_ELEMENT[oid];
  if (elem !== undefined) return parseArray(text, elem);
  return decodeText(oid, text);
}

/** A value already as text (also array elements). */
export function decodeText(oid: number, text: string): JsonValue {
  switch (oid) {
    case OID.bool:
      return text === 't' || text === 'true';
    case OID.int2:
    case OID.int4:
    case OID.oid:
    case OID.xid:
      return Number(text);
    case OID.int8: {
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case OID.float4:
    case OID.float8: {
      const n = Number(text);
      return Number.isFinite(n) ? n : text; // NaN, Infinity, -Infinity stay text: JSON has no such numbers
    }
    case OID.json:
    case OID.jsonb:
      try {
        return JSON.parse(text) as JsonValue;
      } catch {
        return text;
      }
    case OID.timestamp:
      return isoTimestamp(text, false);
    case OID.timestamptz:
      return isoTimestamp(text, true);
    default:
      return text;
  }
}

/**
 * 8.4.1 bytea hex format `\x0a1b...` (the default bytea_output); the escape format
 * (`\\`, `\ooo` octal, other bytes as they are) is read too.
 */
export function byteaHex(bytes: Uint8Array): string {
  if (bytes.length >= 2 && bytes[0] === 0x5c && bytes[1] === 0x78) {
    const hex = fromUtf8(bytes.subarray(2));
    if (hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) throw new ProtocolError('bytea value in hex format has a bad digit');
    return hex.toLowerCase();
  }
  return toHex(byteaEscapeDecode(bytes));
}

function byteaEscapeDecode(bytes: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b !== 0x5c) {
      out.push(b);
      continue;
    }
    if (bytes[i + 1] === 0x5c) {
      out.push(0x5c);
      i++;
      continue;
    }
    const oct = bytes.subarray(i + 1, i + 4);
    if (oct.length === 3 && oct.every((d) => d >= 0x30 && d <= 0x37)) {
      out.push(((oct[0] - 48) << 6) | ((oct[1] - 48) << 3) | (oct[2] - 48));
      i += 3;
      continue;
    }
    throw new ProtocolError('bytea value in escape format has a bad backslash sequence');
  }
  return Uint8Array.from(out);
}

/** bytea hex input for a Bind parameter: `\x` + hex. */
export function byteaLiteral(hex: string): string {
  return `\\x${toHex(fromHex(hex))}`;
}

/** ISO DateStyle output `2024-01-02 03:04:05.123+01` → `2024-01-02T03:04:05.123+01:00`; anything else (infinity, BC) unchanged. */
export function isoTimestamp(text: string, withZone: boolean): string {
  const m = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)?(?::(\d\d))?(?::(\d\d))?$/.exec(text);
  if (!m) return text;
  if (!withZone || m[3] === undefined) return `${m[1]}T${m[2]}`;
  if (m[5] !== undefined) return text; // a zone offset with seconds has no ISO 8601 spelling
  return `${m[1]}T${m[2]}${m[3]}:${m[4] ?? '00'}`;
}

/**
 * 8.15.6 array input syntax: `{1,2,NULL}`, `{{a,"b c"},{"d\"e",f}}`, optional `[1:2]=` bounds.
 * Elements are decoded with the element type; NULL (unquoted) is null.
 */
export function parseArray(text: string, elemOid: number): JsonValue {
  let i = 0;
  let count = 0;
  if (text[0] === '[') {
    const eq = text.indexOf('=');
    if (eq === -1) throw new ProtocolError('array value has bounds but no =');
    i = eq + 1;
  }
  const delim = elemOid === 603 ? ';' : ','; // only box uses ';'
  const parse = (depth: number): JsonValue[] => {
    if (depth > MAX_ARRAY_DEPTH) throw new ProtocolError(`array nested deeper than ${MAX_ARRAY_DEPTH}`);
    if (text[i] !== '{') throw new ProtocolError(`array value: expected { at ${i}`);
    i++;
    const out: JsonValue[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (++count > MAX_ARRAY_ITEMS) throw new ProtocolError(`array has more than ${MAX_ARRAY_ITEMS} elements`);
      if (text[i] === '{') out.push(parse(depth + 1));
      else if (text[i] === '"') {
        i++;
        let s = '';
        for (;;) {
          if (i >= text.length) throw new ProtocolError('array value: unterminated quoted element');
          const c = text[i++];
          if (c === '"') break;
          if (c === '\\') {
            if (i >= text.length) throw new ProtocolError('array value: backslash at the end');
            s += text[i++];
          } else s += c;
        }
        out.push(elemOid === OID.bytea ? { hex: byteaHex(new TextEncoder().encode(s)) } : decodeText(elemOid, s));
      } else {
        const start = i;
        while (i < text.length && text[i] !== delim && text[i] !== '}') i++;
        if (i >= text.length) throw new ProtocolError('array value: unterminated element');
        const raw = text.slice(start, i).trim();
        out.push(raw === 'NULL' ? null : elemOid === OID.bytea ? { hex: byteaHex(new TextEncoder().encode(raw)) } : decodeText(elemOid, raw));
      }
      const c = text[i++];
      if (c === '}') return out;
      if (c !== delim) throw new ProtocolError(`array value: expected ${delim} or } at ${i - 1}`);
    }
  };
  const value = parse(1);
  if (i !== text.length) throw new ProtocolError('array value: bytes after the closing }');
  return value;
}

/** A bind parameter from JSON: strings and numbers go as text, booleans as t/f, {hex} as bytea binary, objects/arrays as JSON text. */
export function encodeParam(v: unknown): string | Uint8Array | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { hex?: unknown }).hex === 'string' && Object.keys(v).length === 1) {
    return fromHex((v as { hex: string }).hex);
  }
  if (Array.isArray(v)) return arrayLiteral(v);
  return JSON.stringify(v);
}

/** A JSON array as a PostgreSQL array literal (every element quoted). */
export function arrayLiteral(items: unknown[], depth = 1): string {
  if (depth > MAX_ARRAY_DEPTH) throw new ProtocolError(`array parameter nested deeper than ${MAX_ARRAY_DEPTH}`);
  return `{${items
    .map((x) => {
      if (x === null || x === undefined) return 'NULL';
      if (Array.isArray(x)) return arrayLiteral(x, depth + 1);
      const s = typeof x === 'boolean' ? (x ? 't' : 'f') : typeof x === 'object' ? JSON.stringify(x) : String(x);
      return `"${s.replace(/(["\\])/g, '\\$1')}"`;
    })
    .join(',')}}`;
}

// ---------------------------------------------------------------- row decoding straight from the wire bytes

/**
 * Decodes one column value from `buf[start, start + len)`. `latin1` is the whole buffer as a
 * one-char-per-byte string and `ascii` says whether it has no byte above 0x7F, so ASCII text is
 * a cheap slice of it instead of a TextDecoder call per value.
 */
export type ColumnDecoder = (buf: Uint8Array, start: number, len: number, latin1: string, ascii: boolean) => JsonValue;


/** The decoder for a column of type `oid` in `format` (0 text, 1 binary → hex). */
export function columnDecoder(oid: number, format: number): ColumnDecoder {
  if (format === 1) return (buf, start, len) => ({ hex: toHex(buf.subarray(start, start + len)) });
  switch (oid) {
    case OID.int2:
    case OID.int4:
    case OID.oid:
    case OID.xid:
    case OID.int8:
      return (buf, start, len, latin1, ascii) => smallIntAt(buf, start, len) ?? decodeText(oid, textAt(buf, start, len, latin1, ascii));
    case OID.bool:
      return (buf, start, len) => len === 1 && buf[start] === 0x74;
    case OID.text:
    case OID.varchar:
    case OID.bpchar:
    case OID.name:
    case OID.char:
    case OID.numeric:
    case OID.uuid:
    case OID.date:
    case OID.time:
    case OID.timetz:
    case OID.interval:
    case OID.money:
    case OID.inet:
    case OID.cidr:
    case OID.macaddr:
    case OID.xml:
      return textAt;
    case OID.float4:
    case OID.float8:
    case OID.json:
    case OID.jsonb:
    case OID.timestamp:
    case OID.timestamptz:
      return (buf, start, len, latin1, ascii) => decodeText(oid, textAt(buf, start, len, latin1, ascii));
    default:
      return (buf, start, len) => decodeValue(oid, buf.subarray(start, start + len));
  }
}

/**
 * One DataRow body at `buf[start, end)` (55.7 DataRow: Int16 column count, then per column an
 * Int32 length, -1 for NULL, and the bytes), decoded to JSON with one decoder per column.
 */
export function decodeDataRowAt(buf: Uint8Array, start: number, end: number, decoders: ColumnDecoder[], latin1: string, ascii: boolean): JsonValue[] {
  const n = decoders.length;
  if (end - start < 2) throw new ProtocolError('DataRow shorter than its column count');
  const count = (buf[start] << 8) | buf[start + 1];
  if (count !== n) throw new ProtocolError(`DataRow has ${count} columns, RowDescription ${n}`);
  const row: JsonValue[] = new Array(n);
  let at = start + 2;
  for (let i = 0; i < n; i++) {
    if (at + 4 > end) throw new ProtocolError(`DataRow column ${i}: length runs past the message`);
    const len = (buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3];
    at += 4;
    if (len === -1) {
      row[i] = null;
      continue;
    }
    if (len < 0 || at + len > end) throw new ProtocolError(`DataRow column ${i} has length ${len}, beyond the message`);
    row[i] = decoders[i](buf, at, len, latin1, ascii);
    at += len;
  }
  if (at !== end) throw new ProtocolError(`DataRow has ${end - at} bytes after its last column`);
  return row;
}
