// JSON arguments to Thrift wire values and wire values back to JSON, both guided by the IDL's types.
import { fromBase64, fromHex, fromUtf8, toBase64, toHex, utf8 } from '../../core/bytes.ts';
import { InvalidInput } from '../../core/errors.ts';
import { T, textOrBase64, wireJson, type Wire } from './codec.ts';
import { resolve, type Document, type Field, type TypeRef } from './idl.ts';

const RANGES: Record<string, [number, number]> = { byte: [-128, 127], i8: [-128, 127], i16: [-32768, 32767], i32: [-2147483648, 2147483647] };

/** The wire type id a (resolved) IDL type travels as. */
export function wireType(doc: Document, t: TypeRef): number {
  const r = resolve(doc, t);
  switch (r.kind) {
    case 'list':
      return T.LIST;
    case 'set':
      return T.SET;
    case 'map':
      return T.MAP;
    case 'named':
      return doc.enums.has(r.name) ? T.I32 : T.STRUCT;
    case 'base':
      return { bool: T.BOOL, byte: T.BYTE, i8: T.BYTE, i16: T.I16, i32: T.I32, i64: T.I64, double: T.DOUBLE, string: T.STRING, binary: T.STRING, uuid: T.UUID, void: T.VOID }[r.name];
  }
}

function bad(path: string, message: string): InvalidInput {
  return InvalidInput.field(path, message);
}

export function toWire(doc: Document, t: TypeRef, v: unknown, path: string, depth = 0): Wire {
  if (depth > 64) throw bad(path, 'nested deeper than 64');
  const r = resolve(doc, t);
  if (r.kind === 'list' || r.kind === 'set') {
    if (!Array.isArray(v)) throw bad(path, `must be an array (${r.kind})`);
    return { t: r.kind === 'list' ? T.LIST : T.SET, etype: wireType(doc, r.elem), items: v.map((x, i) => toWire(doc, r.elem, x, `${path}[${i}]`, depth + 1)) } as Wire;
  }
  if (r.kind === 'map') {
    let pairs: [unknown, unknown][];
    if (Array.isArray(v)) pairs = v.map((p, i) => (Array.isArray(p) && p.length === 2 ? (p as [unknown, unknown]) : (() => { throw bad(`${path}[${i}]`, 'must be a [key, value] pair'); })()));
    else if (v && typeof v === 'object') pairs = Object.entries(v);
    else throw bad(path, 'must be an object or an array of [key, value] pairs (map)');
    const keyBase = resolve(doc, r.key);
    const numericKey = keyBase.kind === 'base' && ['byte', 'i8', 'i16', 'i32', 'i64', 'double'].includes(keyBase.name);
    return {
      t: T.MAP,
      ktype: wireType(doc, r.key),
      vtype: wireType(doc, r.value),
      entries: pairs.map(([k, x]) => [toWire(doc, r.key, numericKey && typeof k === 'string' && k.trim() !== '' && !Number.isNaN(Number(k)) ? Number(k) : k, `${path}.${String(k)}`, depth + 1), toWire(doc, r.value, x, `${path}.${String(k)}`, depth + 1)]),
    };
  }
  if (r.kind === 'named') {
    const e = doc.enums.get(r.name);
    if (e) {
      if (typeof v === 'number' && Number.isInteger(v)) return { t: T.I32, v };
      if (typeof v === 'string' && e.has(v)) return { t: T.I32, v: e.get(v)! };
      throw bad(path, `must be one of ${[...e.keys()].join(', ')} (enum ${r.name}) or its number`);
    }
    const s = doc.structs.get(r.name)!;
    return { t: T.STRUCT, fields: structFields(doc, s.fields, v, path, depth + 1, s.kind === 'union') };
  }
  if (r.kind !== 'base') throw bad(path, 'unsupported type');
  switch (r.name) {
    case 'bool':
      if (typeof v !== 'boolean') throw bad(path, 'must be true or false');
      return { t: T.BOOL, v };
    case 'byte':
    case 'i8':
    case 'i16':
    case 'i32': {
      const [lo, hi] = RANGES[r.name];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw bad(path, `must be a whole number in ${lo}–${hi} (${r.name})`);
      return { t: r.name === 'i16' ? T.I16 : r.name === 'i32' ? T.I32 : T.BYTE, v };
    }
    case 'i64':
      if (typeof v === 'number' && Number.isSafeInteger(v)) return { t: T.I64, v: BigInt(v) };
      if (typeof v === 'string' && /^-?\d{1,19}$/.test(v)) {
        const b = BigInt(v);
        if (b === BigInt.asIntN(64, b)) return { t: T.I64, v: b };
      }
      throw bad(path, 'must be a whole number, or a decimal string for values past 2^53 (i64)');
    case 'double':
      if (typeof v === 'number') return { t: T.DOUBLE, v };
      if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return { t: T.DOUBLE, v: Number(v) };
      throw bad(path, 'must be a number (double)');
    case 'string':
      if (typeof v !== 'string') throw bad(path, 'must be a string');
      return { t: T.STRING, v: utf8(v) };
    case 'binary':
      if (typeof v === 'string') return { t: T.STRING, v: utf8(v) };
      if (v && typeof v === 'object' && 'base64' in v && typeof v.base64 === 'string') return { t: T.STRING, v: fromBase64(v.base64) };
      if (v && typeof v === 'object' && 'hex' in v && typeof v.hex === 'string') return { t: T.STRING, v: fromHex(v.hex) };
      throw bad(path, 'must be a string, {"base64": ...} or {"hex": ...} (binary)');
    case 'uuid':
      if (typeof v !== 'string' || !/^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/.test(v)) throw bad(path, 'must be a UUID');
      return { t: T.UUID, v: fromHex(v.replace(/-/g, '')) };
    default:
      throw bad(path, `cannot send a value of type ${r.name}`);
  }
}

/** The fields of a struct (or the arguments of a call) from a JSON object: unknown names refused, required ones checked. */
export function structFields(doc: Document, fields: Field[], v: unknown, path: string, depth = 0, union = false): { id: number; value: Wire }[] {
  if (v === undefined || v === null) v = {};
  if (typeof v !== 'object' || Array.isArray(v)) throw bad(path, 'must be an object');
  const given = v as Record<string, unknown>;
  const known = new Set(fields.map((f) => f.name));
  const unknown = Object.keys(given).filter((k) => !known.has(k));
  if (unknown.length) throw bad(path, `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (it has ${fields.map((f) => f.name).join(', ') || 'none'})`);
  const out: { id: number; value: Wire }[] = [];
  for (const f of fields) {
    const x = given[f.name];
    if (x === undefined || x === null) {
      if (f.requiredness === 'required') throw bad(`${path}.${f.name}`, 'is required');
      continue;
    }
    out.push({ id: f.id, value: toWire(doc, f.type, x, path ? `${path}.${f.name}` : f.name, depth + 1) });
  }
  if (union && out.length !== 1) throw bad(path, `a union takes exactly one field (${out.length} given)`);
  return out;
}

/** A wire value as JSON by its IDL type: names for fields and enums, objects for string-keyed maps. */
export function fromWire(doc: Document, t: TypeRef, w: Wire, depth = 0): unknown {
  if (depth > 64) return wireJson(w);
  const r = resolve(doc, t);
  if (w.t !== wireType(doc, r)) return wireJson(w);
  switch (w.t) {
    case T.STRUCT: {
      const s = r.kind === 'named' ? doc.structs.get(r.name) : undefined;
      if (!s) return wireJson(w);
      const out: Record<string, unknown> = {};
      for (const f of w.fields) {
        const def = s.fields.find((x) => x.id === f.id);
        if (def) out[def.name] = fromWire(doc, def.type, f.value, depth + 1);
        else out[`#${f.id}`] = wireJson(f.value);
      }
      return out;
    }
    case T.LIST:
    case T.SET:
      return r.kind === 'list' || r.kind === 'set' ? w.items.map((x) => fromWire(doc, r.elem, x, depth + 1)) : wireJson(w);
    case T.MAP: {
      if (r.kind !== 'map') return wireJson(w);
      const entries = w.entries.map(([k, x]) => [fromWire(doc, r.key, k, depth + 1), fromWire(doc, r.value, x, depth + 1)] as const);
      return entries.every(([k]) => typeof k === 'string' || typeof k === 'number') ? Object.fromEntries(entries.map(([k, x]) => [String(k), x])) : entries;
    }
    case T.I32:
      if (r.kind === 'named') {
        const e = doc.enums.get(r.name);
        const name = e && [...e].find(([, n]) => n === w.v)?.[0];
        return name ?? w.v;
      }
      return w.v;
    case T.STRING:
      return r.kind === 'base' && r.name === 'binary' ? { base64: toBase64(w.v), bytes: w.v.length } : textOrBase64(w.v);
    case T.UUID: {
      const h = toHex(w.v);
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    }
    default:
      return wireJson(w);
  }
}

/** TApplicationException (fields 1 message, 2 type) as text. */
export const APPLICATION_EXCEPTION_TYPES = ['UNKNOWN', 'UNKNOWN_METHOD', 'INVALID_MESSAGE_TYPE', 'WRONG_METHOD_NAME', 'BAD_SEQUENCE_ID', 'MISSING_RESULT', 'INTERNAL_ERROR', 'PROTOCOL_ERROR', 'INVALID_TRANSFORM', 'INVALID_PROTOCOL', 'UNSUPPORTED_CLIENT_TYPE'];

export function applicationException(w: Wire): { message: string; type: string } {
  if (w.t !== T.STRUCT) return { message: 'TApplicationException', type: 'UNKNOWN' };
  const msg = w.fields.find((f) => f.id === 1)?.value;
  const type = w.fields.find((f) => f.id === 2)?.value;
  return {
    message: msg && msg.t === T.STRING ? fromUtf8(msg.v) : '',
    type: type && type.t === T.I32 ? (APPLICATION_EXCEPTION_TYPES[type.v] ?? String(type.v)) : 'UNKNOWN',
  };
}
