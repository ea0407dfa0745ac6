// Python pickle, the subset carbon speaks (protocols 2–5): dicts, lists, tuples, str, int, float, None, bool.
// Written for the cache-query exchange; anything outside the subset is a ProtocolError, never executed.
import { ByteReader, ByteWriter, fromUtf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

export type PickleValue = null | boolean | number | bigint | string | Uint8Array | PickleValue[] | { [key: string]: PickleValue } | PickleTuple;
export class PickleTuple {
  constructor(readonly items: PickleValue[]) {}
}

const MARK = Symbol('mark');
type Stack = (PickleValue | typeof MARK)[];

const MAX_ITEMS = 1_000_000;

/** Encodes a dict of strings/numbers with protocol 2. */
export function dumps(value: PickleValue): Uint8Array {
  const w = new ByteWriter();
  w.u8(0x80).u8(2); // PROTO 2
  encode(w, value, 0);
  w.u8(0x2e); // STOP
  return w.finish();
}

function encode(w: ByteWriter, v: PickleValue, depth: number): void {
  if (depth > 32) throw new ProtocolError('pickle nesting too deep');
  if (v === null) w.u8(0x4e);
  else if (v === true) w.u8(0x88);
  else if (v === false) w.u8(0x89);
  else if (typeof v === 'string') w.u8(0x58).lengthPrefixed('u32le', v); // BINUNICODE
  else if (typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) w.u8(0x4a).i32le(v); // BININT
  else if (typeof v === 'number') w.u8(0x47).f64(v); // BINFLOAT (big endian)
  else if (v instanceof PickleTuple) {
    w.u8(0x28);
    for (const x of v.items) encode(w, x, depth + 1);
    w.u8(0x74); // TUPLE
  } else if (Array.isArray(v)) {
    w.u8(0x5d).u8(0x28);
    for (const x of v) encode(w, x, depth + 1);
    w.u8(0x65); // APPENDS
  } else if (typeof v === 'object' && !(v instanceof Uint8Array) && typeof v !== 'bigint') {
    w.u8(0x7d).u8(0x28);
    for (const [k, x] of Object.entries(v)) {
      encode(w, k, depth + 1);
      encode(w, x, depth + 1);
    }
    w.u8(0x75); // SETITEMS
  } else throw new ProtocolError('value cannot be pickled by this encoder');
}

/** Decodes the data-only subset of pickle. */
export function loads(bytes: Uint8Array): PickleValue {
  const r = new ByteReader(bytes);
  const stack: Stack = [];
  const memo: PickleValue[] = [];
  let count = 0;
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new ProtocolError('pickle stack underflow');
    return v;
  };
  const popMark = (): PickleValue[] => {
    const at = stack.lastIndexOf(MARK);
    if (at === -1) throw new ProtocolError('pickle MARK missing');
    const items = stack.splice(at) as PickleValue[];
    items.shift();
    return items;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new ProtocolError('pickle stack empty');
    return v;
  };
  const setItems = (target: PickleValue, items: PickleValue[]) => {
    if (typeof target !== 'object' || target === null || Array.isArray(target) || target instanceof PickleTuple || target instanceof Uint8Array) throw new ProtocolError('pickle SETITEM target is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) {
      const key = items[i];
      (target as Record<string, PickleValue>)[typeof key === 'string' ? key : String(key)] = items[i + 1];
    }
  };
  for (;;) {
    if (++count > MAX_ITEMS) throw new ProtocolError('pickle too large');
    const op = r.u8('pickle opcode');
    switch (op) {
      case 0x80: r.u8('protocol'); break; // PROTO
      case 0x95: r.u64le('frame'); break; // FRAME
      case 0x2e: return pop(); // STOP
      case 0x28: stack.push(MARK); break;
      case 0x4e: stack.push(null); break;
      case 0x88: stack.push(true); break;
      case 0x89: stack.push(false); break;
      case 0x4a: stack.push(r.i32le('BININT')); break;
      case 0x4b: stack.push(r.u8('BININT1')); break;
      case 0x4d: stack.push(r.u16le('BININT2')); break;
      case 0x8a: { // LONG1
        const n = r.u8('LONG1 length');
        const b = r.bytesN(n, 'LONG1');
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: stack.push(r.f64('BINFLOAT')); break;
      case 0x8c: stack.push(fromUtf8(r.lengthPrefixed('u8', 'SHORT_BINUNICODE'))); break;
      case 0x58: stack.push(fromUtf8(r.lengthPrefixed('u32le', 'BINUNICODE'))); break;
      case 0x43: stack.push(r.lengthPrefixed('u8', 'SHORT_BINBYTES').slice()); break;
      case 0x42: stack.push(r.lengthPrefixed('u32le', 'BINBYTES').slice()); break;
      case 0x55: stack.push(fromUtf8(r.lengthPrefixed('u8', 'SHORT_BINSTRING'))); break;
      case 0x7d: stack.push({}); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(new PickleTuple([])); break; // EMPTY_TUPLE
      case 0x85: stack.push(new PickleTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(new PickleTuple([a, b])); break; }
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(new PickleTuple([a, b, c])); break; }
      case 0x74: stack.push(new PickleTuple(popMark())); break; // TUPLE
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const d = {}; setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) throw new ProtocolError('pickle APPEND target is not a list'); l.push(v); break; }
      case 0x65: { const items = popMark(); const l = top(); if (!Array.isArray(l)) throw new ProtocolError('pickle APPENDS target is not a list'); l.push(...items); break; }
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x94: memo.push(top()); break; // MEMOIZE
      case 0x71: { const i = r.u8('BINPUT'); memo[i] = top(); break; }
      case 0x72: { const i = r.u32le('LONG_BINPUT'); if (i > MAX_ITEMS) throw new ProtocolError('pickle memo index too large'); memo[i] = top(); break; }
      case 0x68: { const i = r.u8('BINGET'); if (!(i in memo)) throw new ProtocolError('pickle memo miss'); stack.push(memo[i]); break; }
      case 0x6a: { const i = r.u32le('LONG_BINGET'); if (!(i in memo)) throw new ProtocolError('pickle memo miss'); stack.push(memo[i]); break; }
      default:
        throw new ProtocolError(`pickle opcode 0x${op.toString(16)} is outside the data-only subset`);
    }
  }
}
