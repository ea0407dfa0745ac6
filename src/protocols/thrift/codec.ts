// Thrift's binary and compact protocols (Apache Thrift doc/specs/thrift-binary-protocol.md and
// thrift-compact-protocol.md) over the buffered and framed transports: messages, structs, containers.
//
// How it works: arguments are turned into a wire tree (typed by the wire's own type ids) from JSON and the
// IDL, then written by one of the two protocol writers. A reply is read back into a wire tree by the
// matching reader — incrementally: running out of bytes throws NeedMore, which the frame function turns
// into "need more" — and only then mapped to JSON with the IDL's names. Lengths, counts and depth are capped.
import { ByteWriter, fromUtf8, toBase64 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** Wire type ids of the binary protocol (the compact protocol maps them to its own). */
export const T = { STOP: 0, VOID: 1, BOOL: 2, BYTE: 3, DOUBLE: 4, I16: 6, I32: 8, I64: 10, STRING: 11, STRUCT: 12, MAP: 13, SET: 14, LIST: 15, UUID: 16 } as const;
export const MessageType = { CALL: 1, REPLY: 2, EXCEPTION: 3, ONEWAY: 4 } as const;

export type Wire =
  | { t: 2; v: boolean }
  | { t: 3 | 6 | 8; v: number }
  | { t: 10; v: bigint }
  | { t: 4; v: number }
  | { t: 11 | 16; v: Uint8Array }
  | { t: 12; fields: { id: number; value: Wire }[] }
  | { t: 14 | 15; etype: number; items: Wire[] }
  | { t: 13; ktype: number; vtype: number; entries: [Wire, Wire][] };

export interface Message {
  name: string;
  type: number;
  seqid: number;
  body: Wire & { t: 12 };
}

export type ProtocolName = 'binary' | 'compact';
export type TransportName = 'buffered' | 'framed';

const MAX_DEPTH = 64;
const MAX_ITEMS = 1_000_000;

// Writing

function writeValue(p: ProtocolName, w: ByteWriter, v: Wire, depth = 0): void {
  if (depth > MAX_DEPTH) throw new ProtocolError(`value nested deeper than ${MAX_DEPTH}`);
  const compact = p === 'compact';
  switch (v.t) {
    case T.BOOL:
      w.u8(compact ? (v.v ? 1 : 2) : v.v ? 1 : 0);
      return;
    case T.BYTE:
      w.i8(v.v);
      return;
    case T.I16:
    case T.I32:
      if (compact) w.uvarint(zigzag(BigInt(v.v)));
      else if (v.t === T.I16) w.i16(v.v);
      else w.i32(v.v);
      return;
    case T.I64:
      if (compact) w.uvarint(zigzag(v.v));
      else w.i64(v.v);
      return;
    case T.DOUBLE:
      if (compact) w.f64le(v.v);
      else w.f64(v.v);
      return;
    case T.STRING:
      if (compact) w.uvarint(v.v.length).bytes(v.v);
      else w.u32(v.v.length).bytes(v.v);
      return;
    case T.UUID:
      w.bytes(v.v);
      return;
    case T.STRUCT: {
      let last = 0;
      for (const f of v.fields) {
        if (compact) {
          const ct = f.value.t === T.BOOL ? ((f.value as { v: boolean }).v ? 1 : 2) : COMPACT_OF[f.value.t];
          const delta = f.id - last;
          if (delta > 0 && delta <= 15) w.u8((delta << 4) | ct);
          else w.u8(ct).uvarint(zigzag(BigInt(f.id)));
          last = f.id;
          if (f.value.t !== T.BOOL) writeValue(p, w, f.value, depth + 1);
        } else {
          w.u8(f.value.t).i16(f.id);
          writeValue(p, w, f.value, depth + 1);
        }
      }
      w.u8(T.STOP);
      return;
    }
    case T.LIST:
    case T.SET:
      if (compact) {
        const ct = v.etype === T.BOOL ? 1 : COMPACT_OF[v.etype];
        if (v.items.length < 15) w.u8((v.items.length << 4) | ct);
        else w.u8(0xf0 | ct).uvarint(v.items.length);
      } else w.u8(v.etype).u32(v.items.length);
      for (const x of v.items) writeValue(p, w, x, depth + 1);
      return;
    case T.MAP:
      if (compact) {
        if (v.entries.length === 0) w.u8(0);
        else w.uvarint(v.entries.length).u8((compactOf(v.ktype) << 4) | compactOf(v.vtype));
      } else w.u8(v.ktype).u8(v.vtype).u32(v.entries.length);
      for (const [k, x] of v.entries) {
        writeValue(p, w, k, depth + 1);
        writeValue(p, w, x, depth + 1);
      }
  }
}

const compactOf = (t: number) => (t === T.BOOL ? 1 : COMPACT_OF[t]);

/** Binary type id → compact type id. */
const COMPACT_OF: Record<number, number> = { [T.BYTE]: 3, [T.I16]: 4, [T.I32]: 5, [T.I64]: 6, [T.DOUBLE]: 7, [T.STRING]: 8, [T.LIST]: 9, [T.SET]: 10, [T.MAP]: 11, [T.STRUCT]: 12, [T.UUID]: 13 };
/** Compact type id → binary type id (1 and 2 are bool true/false). */
const BINARY_OF: Record<number, number> = { 1: T.BOOL, 2: T.BOOL, 3: T.BYTE, 4: T.I16, 5: T.I32, 6: T.I64, 7: T.DOUBLE, 8: T.STRING, 9: T.LIST, 10: T.SET, 11: T.MAP, 12: T.STRUCT, 13: T.UUID };

function zigzag(n: bigint): bigint {
  return n >= 0n ? n << 1n : ((-n) << 1n) - 1n;
}

function unzigzag(n: bigint): bigint {
  return n & 1n ? -((n + 1n) >> 1n) : n >> 1n;
}

/** A whole call as it goes on the wire: the message, in a frame when the transport is framed. */
export function encodeMessage(p: ProtocolName, transport: TransportName, m: Message): Uint8Array {
  const w = new ByteWriter();
  const name = new TextEncoder().encode(m.name);
  if (p === 'binary') w.u32((0x80010000 | m.type) >>> 0).u32(name.length).bytes(name).i32(m.seqid);
  else w.u8(0x82).u8((m.type << 5) | 1).uvarint(m.seqid >>> 0).uvarint(name.length).bytes(name);
  writeValue(p, w, m.body);
  const body = w.finish();
  return transport === 'framed' ? new ByteWriter(4 + body.length).u32(body.length).bytes(body).finish() : body;
}

// Reading

class NeedMore {}
const NEED_MORE = new NeedMore();

class Cursor {
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly complete: boolean,
    private readonly maxLength: number,
  ) {}
  private need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.complete) throw new ProtocolError(`the frame ends inside a value (needs ${n} bytes at ${this.pos})`);
    throw NEED_MORE;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  view(n: number): DataView {
    this.need(n);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return v;
  }
  bytes(n: number, what: string): Uint8Array {
    if (n < 0 || n > this.maxLength) throw new ProtocolError(`${what} of ${n} bytes exceeds the ${this.maxLength}-byte limit`);
    this.need(n);
    const v = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  varint(): bigint {
    let out = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      out |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (!(b & 0x80)) return out;
    }
    throw new ProtocolError('varint longer than 10 bytes');
  }
  count(n: number, what: string): number {
    if (n < 0 || n > MAX_ITEMS) throw new ProtocolError(`${what} of ${n} elements (at most ${MAX_ITEMS})`);
    return n;
  }
}

class Reader {
  private pendingBool: boolean | undefined;
  constructor(
    private readonly p: ProtocolName,
    readonly c: Cursor,
  ) {}

  message(): Message {
    const c = this.c;
    let name: string;
    let type: number;
    let seqid: number;
    if (this.p === 'binary') {
      const first = c.view(4).getInt32(0);
      if (first < 0) {
        if ((first & 0xffff0000) !== (0x80010000 | 0)) throw new ProtocolError(`binary protocol version 0x${(first >>> 16).toString(16)} (expected 0x8001)`);
        type = first & 0xff;
        name = fromUtf8(c.bytes(c.view(4).getInt32(0), 'method name'));
      } else {
        name = fromUtf8(c.bytes(first, 'method name'));
        type = c.u8();
      }
      seqid = c.view(4).getInt32(0);
    } else {
      const id = c.u8();
      if (id !== 0x82) throw new ProtocolError(`compact protocol id 0x${id.toString(16)} (expected 0x82)`);
      const vt = c.u8();
      if ((vt & 0x1f) !== 1) throw new ProtocolError(`compact protocol version ${vt & 0x1f} (expected 1)`);
      type = vt >> 5;
      seqid = Number(BigInt.asIntN(32, c.varint()));
      name = fromUtf8(c.bytes(Number(c.varint()), 'method name'));
    }
    if (type < 1 || type > 4) throw new ProtocolError(`message type ${type}`);
    const body = this.value(T.STRUCT, 0) as Wire & { t: 12 };
    return { name, type, seqid, body };
  }

  private wireType(t: number): number {
    if (this.p === 'binary') {
      if (![2, 3, 4, 6, 8, 10, 11, 12, 13, 14, 15, 16].includes(t)) throw new ProtocolError(`unknown wire type ${t}`);
      return t;
    }
    const b = BINARY_OF[t];
    if (b === undefined) throw new ProtocolError(`unknown compact type ${t}`);
    return b;
  }

  value(t: number, depth: number): Wire {
    if (depth > MAX_DEPTH) throw new ProtocolError(`value nested deeper than ${MAX_DEPTH}`);
    const c = this.c;
    const compact = this.p === 'compact';
    switch (t) {
      case T.BOOL: {
        if (this.pendingBool !== undefined) {
          const v = this.pendingBool;
          this.pendingBool = undefined;
          return { t: T.BOOL, v };
        }
        const b = c.u8();
        return { t: T.BOOL, v: compact ? b === 1 : b !== 0 };
      }
      case T.BYTE:
        return { t: T.BYTE, v: (c.u8() << 24) >> 24 };
      case T.I16:
        return { t: T.I16, v: compact ? Number(BigInt.asIntN(16, unzigzag(c.varint()))) : c.view(2).getInt16(0) };
      case T.I32:
        return { t: T.I32, v: compact ? Number(BigInt.asIntN(32, unzigzag(c.varint()))) : c.view(4).getInt32(0) };
      case T.I64:
        return { t: T.I64, v: compact ? BigInt.asIntN(64, unzigzag(c.varint())) : c.view(8).getBigInt64(0) };
      case T.DOUBLE:
        return { t: T.DOUBLE, v: c.view(8).getFloat64(0, compact) };
      case T.STRING: {
        const n = compact ? Number(c.varint()) : c.view(4).getInt32(0);
        return { t: T.STRING, v: c.bytes(n, 'string') };
      }
      case T.UUID:
        return { t: T.UUID, v: c.bytes(16, 'uuid') };
      case T.STRUCT: {
        const fields: { id: number; value: Wire }[] = [];
        let last = 0;
        for (;;) {
          const head = c.u8();
          if (head === T.STOP) return { t: T.STRUCT, fields };
          let id: number;
          let wt: number;
          if (compact) {
            const ct = head & 0x0f;
            const delta = head >> 4;
            id = delta ? last + delta : Number(BigInt.asIntN(16, unzigzag(c.varint())));
            last = id;
            wt = this.wireType(ct);
            if (wt === T.BOOL) this.pendingBool = ct === 1;
          } else {
            wt = this.wireType(head);
            id = c.view(2).getInt16(0);
          }
          fields.push({ id, value: this.value(wt, depth + 1) });
          this.pendingBool = undefined;
          if (fields.length > 65536) throw new ProtocolError('struct with more than 65536 fields');
        }
      }
      case T.LIST:
      case T.SET: {
        let etype: number;
        let size: number;
        if (compact) {
          const h = c.u8();
          etype = this.wireType(h & 0x0f);
          size = h >> 4 === 15 ? Number(c.varint()) : h >> 4;
        } else {
          etype = this.wireType(c.u8());
          size = c.view(4).getInt32(0);
        }
        c.count(size, t === T.LIST ? 'list' : 'set');
        const items: Wire[] = [];
        for (let i = 0; i < size; i++) items.push(this.value(etype, depth + 1));
        return { t, etype, items } as Wire;
      }
      case T.MAP: {
        let size: number;
        let ktype = T.STRING as number;
        let vtype = T.STRING as number;
        if (compact) {
          size = c.count(Number(c.varint()), 'map');
          if (size > 0) {
            const kv = c.u8();
            ktype = this.wireType(kv >> 4);
            vtype = this.wireType(kv & 0x0f);
          }
        } else {
          ktype = this.wireType(c.u8());
          vtype = this.wireType(c.u8());
          size = c.count(c.view(4).getInt32(0), 'map');
        }
        const entries: [Wire, Wire][] = [];
        for (let i = 0; i < size; i++) entries.push([this.value(ktype, depth + 1), this.value(vtype, depth + 1)]);
        return { t: T.MAP, ktype, vtype, entries };
      }
      default:
        throw new ProtocolError(`unknown wire type ${t}`);
    }
  }
}

/** One reply message: framed (a 4-byte length, capped) or buffered (parsed until it is whole). */
export function messageFrame(p: ProtocolName, transport: TransportName, maxBytes: number): Frame<Message> {
  return (buf) => {
    if (transport === 'framed') {
      if (buf.length < 4) return undefined;
      const n = new DataView(buf.buffer, buf.byteOffset, 4).getInt32(0);
      if (n < 0 || n > maxBytes) throw new ProtocolError(`frame of ${n} bytes exceeds the ${maxBytes}-byte limit`);
      if (buf.length < 4 + n) return undefined;
      const r = new Reader(p, new Cursor(buf.subarray(4, 4 + n), true, maxBytes));
      const m = r.message();
      return { value: m, size: 4 + n };
    }
    try {
      const r = new Reader(p, new Cursor(buf, false, maxBytes));
      const m = r.message();
      return { value: m, size: r.c.pos };
    } catch (e) {
      if (e instanceof NeedMore) {
        if (buf.length > maxBytes) throw new ProtocolError(`reply larger than ${maxBytes} bytes`);
        return undefined;
      }
      throw e;
    }
  };
}

/** A wire value as JSON when no IDL type says more: numbers, strings (or base64), arrays, {id: value}. */
export function wireJson(v: Wire): unknown {
  switch (v.t) {
    case T.I64:
      return Number.isSafeInteger(Number(v.v)) ? Number(v.v) : v.v.toString();
    case T.STRING:
    case T.UUID:
      return textOrBase64(v.v);
    case T.STRUCT:
      return Object.fromEntries(v.fields.map((f) => [String(f.id), wireJson(f.value)]));
    case T.LIST:
    case T.SET:
      return v.items.map(wireJson);
    case T.MAP:
      return v.entries.map(([k, x]) => [wireJson(k), wireJson(x)]);
    default:
      return v.v;
  }
}

export function textOrBase64(b: Uint8Array): string | { base64: string } {
  try {
    return fromUtf8(b, true);
  } catch {
    return { base64: toBase64(b) };
  }
}

export const TYPE_NAMES: Record<number, string> = { 2: 'bool', 3: 'byte', 4: 'double', 6: 'i16', 8: 'i32', 10: 'i64', 11: 'string', 12: 'struct', 13: 'map', 14: 'set', 15: 'list', 16: 'uuid' };
