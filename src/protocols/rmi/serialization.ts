// Java Object Serialization Stream Protocol (Java SE "Object Serialization Specification", chapter 6): a
// sans-I/O reader of the grammar RMI replies use — strings, arrays, objects with their class descriptors,
// proxy class descriptors, enums, block data and back references — with every count and depth capped.
//
// How it works: `readStream` parses from the start of the buffer; running out of bytes throws NeedMore,
// which frame functions turn into "need more bytes" (the caller retries with more). Values come out as
// plain JSON-friendly data: objects keep their class name, field values and the annotation contents their
// writeObject methods wrote; a back reference to an object is shown as {ref: handle} (no cycles).
import { fromLatin1, toBase64 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

export const STREAM_MAGIC = 0xaced;
export const STREAM_VERSION = 5;
export const TC = {
  NULL: 0x70, REFERENCE: 0x71, CLASSDESC: 0x72, OBJECT: 0x73, STRING: 0x74, ARRAY: 0x75, CLASS: 0x76, BLOCKDATA: 0x77,
  ENDBLOCKDATA: 0x78, RESET: 0x79, BLOCKDATALONG: 0x7a, EXCEPTION: 0x7b, LONGSTRING: 0x7c, PROXYCLASSDESC: 0x7d, ENUM: 0x7e,
} as const;
const BASE_HANDLE = 0x7e0000;
const SC_WRITE_METHOD = 0x01;
const SC_SERIALIZABLE = 0x02;
const SC_EXTERNALIZABLE = 0x04;
const SC_BLOCK_DATA = 0x08;
const MAX_DEPTH = 48;
const MAX_HANDLES = 100_000;
const MAX_ITEMS = 1_000_000;

/** Thrown when the buffer ends inside the stream: not an error, the caller waits for more. */
export class NeedMore {
  readonly needMore = true;
}
const NEED_MORE = new NeedMore();

export interface FieldDesc {
  type: string;
  name: string;
  className?: string;
}

export interface ClassDesc {
  name: string;
  flags: number;
  fields: FieldDesc[];
  interfaces?: string[];
  super: ClassDesc | null;
}

export type JValue = null | string | number | boolean | JObject | JArray | JRef | JBlock | JEnum | JClassRef;
export interface JObject {
  class: string;
  fields: Record<string, JValue>;
  /** What writeObject / writeExternal wrote after the fields, per class that has any. */
  annotations?: Record<string, JValue[]>;
  interfaces?: string[];
}
export interface JArray {
  class: string;
  items: JValue[];
}
export interface JRef {
  ref: string;
}
export interface JBlock {
  block: string;
  bytes: number;
}
export interface JEnum {
  enum: string;
  constant: string;
}
export interface JClassRef {
  classRef: string;
}

export class StreamReader {
  pos = 0;
  private readonly handles: unknown[] = [];
  private depth = 0;
  constructor(private readonly buf: Uint8Array, start = 0) {
    this.pos = start;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw NEED_MORE;
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }
  u16(): number {
    this.need(2);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getInt32(0);
    this.pos += 4;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getBigInt64(0);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** DataInput.readUTF: a 2-byte length and modified UTF-8. */
  utf(): string {
    return decodeModifiedUtf8(this.bytes(this.u16()));
  }
  peek(): number {
    this.need(1);
    return this.buf[this.pos];
  }

  header(): void {
    const magic = this.u16();
    if (magic !== STREAM_MAGIC) throw new ProtocolError(`serialization stream magic 0x${magic.toString(16)}, expected 0xaced`);
    const version = this.u16();
    if (version !== STREAM_VERSION) throw new ProtocolError(`serialization stream version ${version}, expected 5`);
  }

  private newHandle(value: unknown): number {
    if (this.handles.length >= MAX_HANDLES) throw new ProtocolError(`more than ${MAX_HANDLES} objects in one stream`);
    this.handles.push(value);
    return this.handles.length - 1;
  }

  private handle(): unknown {
    const h = this.i32() - BASE_HANDLE;
    if (h < 0 || h >= this.handles.length) throw new ProtocolError(`back reference to unknown handle 0x${(h + BASE_HANDLE).toString(16)}`);
    return this.handles[h];
  }

  /** Block data (TC_BLOCKDATA or TC_BLOCKDATALONG). */
  blockData(): Uint8Array {
    const tc = this.u8();
    if (tc === TC.BLOCKDATA) return this.bytes(this.u8());
    if (tc === TC.BLOCKDATALONG) {
      const n = this.i32();
      if (n < 0) throw new ProtocolError(`block data length ${n}`);
      return this.bytes(n);
    }
    throw new ProtocolError(`block data expected, got 0x${tc.toString(16)}`);
  }

  /** classDesc: a new one, a proxy one, null, or a back reference to one. */
  classDesc(): ClassDesc | null {
    const tc = this.u8();
    switch (tc) {
      case TC.NULL:
        return null;
      case TC.REFERENCE: {
        const d = this.handle();
        if (!isClassDesc(d)) throw new ProtocolError('back reference where a class descriptor belongs');
        return d;
      }
      case TC.CLASSDESC: {
        const name = this.utf();
        this.bytes(8); // serialVersionUID
        const desc: ClassDesc = { name, flags: 0, fields: [], super: null };
        this.newHandle(desc);
        desc.flags = this.u8();
        const count = this.u16();
        for (let i = 0; i < count; i++) {
          const type = String.fromCharCode(this.u8());
          const fieldName = this.utf();
          if ('BCDFIJSZ'.includes(type)) desc.fields.push({ type, name: fieldName });
          else if (type === 'L' || type === '[') {
            const className = this.content();
            if (typeof className !== 'string') throw new ProtocolError(`field ${fieldName}: class name is not a string`);
            desc.fields.push({ type, name: fieldName, className });
          } else throw new ProtocolError(`field ${fieldName}: unknown type code ${JSON.stringify(type)}`);
        }
        this.annotation();
        desc.super = this.nested(() => this.classDesc());
        return desc;
      }
      case TC.PROXYCLASSDESC: {
        const desc: ClassDesc = { name: '(proxy)', flags: SC_SERIALIZABLE, fields: [], super: null, interfaces: [] };
        this.newHandle(desc);
        const count = this.i32();
        if (count < 0 || count > 65535) throw new ProtocolError(`proxy class with ${count} interfaces`);
        for (let i = 0; i < count; i++) desc.interfaces!.push(this.utf());
        this.annotation();
        desc.super = this.nested(() => this.classDesc());
        return desc;
      }
      default:
        throw new ProtocolError(`class descriptor expected, got 0x${tc.toString(16)}`);
    }
  }

  /** Contents up to TC_ENDBLOCKDATA (class annotations and writeObject data). */
  annotation(): JValue[] {
    const out: JValue[] = [];
    for (;;) {
      if (this.peek() === TC.ENDBLOCKDATA) {
        this.pos++;
        return out;
      }
      if (out.length >= MAX_ITEMS) throw new ProtocolError('annotation without end');
      out.push(this.content());
    }
  }

  private nested<T>(fn: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new ProtocolError(`serialization stream nested deeper than ${MAX_DEPTH}`);
    try {
      return fn();
    } finally {
      this.depth--;
    }
  }

  private fieldValue(type: string): JValue {
    switch (type) {
      case 'B':
        return (this.u8() << 24) >> 24;
      case 'C':
        return String.fromCharCode(this.u16());
      case 'D': {
        const v = new DataView(this.bytes(8).slice().buffer).getFloat64(0);
        return v;
      }
      case 'F':
        return new DataView(this.bytes(4).slice().buffer).getFloat32(0);
      case 'I':
        return this.i32();
      case 'J': {
        const v = this.i64();
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
      }
      case 'S':
        return (this.u16() << 16) >> 16;
      case 'Z':
        return this.u8() !== 0;
      default:
        return this.content();
    }
  }

  /** One content item: an object, or block data. */
  content(): JValue {
    return this.nested(() => this.contentAt());
  }

  private contentAt(): JValue {
    const tc = this.peek();
    switch (tc) {
      case TC.NULL:
        this.pos++;
        return null;
      case TC.REFERENCE: {
        this.pos++;
        const h = this.i32();
        const v = this.handles[h - BASE_HANDLE];
        if (v === undefined) throw new ProtocolError(`back reference to unknown handle 0x${h.toString(16)}`);
        return typeof v === 'string' ? v : isClassDesc(v) ? { classRef: v.name } : { ref: `0x${h.toString(16)}` };
      }
      case TC.STRING: {
        this.pos++;
        const s = this.utf();
        this.newHandle(s);
        return s;
      }
      case TC.LONGSTRING: {
        this.pos++;
        const n = this.i64();
        if (n < 0n || n > BigInt(this.buf.length)) {
          if (n > 0n && n <= BigInt(64 * 1024 * 1024)) throw NEED_MORE;
          throw new ProtocolError(`long string of ${n} bytes`);
        }
        const s = decodeModifiedUtf8(this.bytes(Number(n)));
        this.newHandle(s);
        return s;
      }
      case TC.BLOCKDATA:
      case TC.BLOCKDATALONG: {
        const b = this.blockData();
        return { block: toBase64(b), bytes: b.length };
      }
      case TC.CLASSDESC:
      case TC.PROXYCLASSDESC: {
        const d = this.classDesc();
        return { classRef: d?.name ?? 'null' };
      }
      case TC.CLASS: {
        this.pos++;
        const d = this.classDesc();
        this.newHandle(d);
        return { classRef: d?.name ?? 'null' };
      }
      case TC.ENUM: {
        this.pos++;
        const d = this.classDesc();
        const e: JEnum = { enum: d?.name ?? '?', constant: '' };
        this.newHandle(e);
        const name = this.content();
        e.constant = typeof name === 'string' ? name : '?';
        return e;
      }
      case TC.ARRAY: {
        this.pos++;
        const d = this.classDesc();
        if (!d) throw new ProtocolError('array without a class descriptor');
        const arr: JArray = { class: d.name, items: [] };
        this.newHandle(arr);
        const size = this.i32();
        if (size < 0 || size > MAX_ITEMS) throw new ProtocolError(`array of ${size} elements`);
        const elem = d.name[1] ?? 'L';
        for (let i = 0; i < size; i++) arr.items.push(this.fieldValue(elem));
        return arr;
      }
      case TC.OBJECT: {
        this.pos++;
        const d = this.classDesc();
        if (!d) throw new ProtocolError('object without a class descriptor');
        const obj: JObject = { class: d.interfaces ? `proxy(${d.interfaces.join(', ')})` : d.name, fields: {} };
        if (d.interfaces) obj.interfaces = d.interfaces;
        this.newHandle(obj);
        const chain: ClassDesc[] = [];
        for (let c: ClassDesc | null = d; c; c = c.super) {
          if (chain.length > MAX_DEPTH) throw new ProtocolError('class hierarchy too deep');
          chain.unshift(c);
        }
        for (const c of chain) {
          if (c.flags & SC_EXTERNALIZABLE) {
            if (!(c.flags & SC_BLOCK_DATA)) throw new ProtocolError(`${c.name}: externalizable data without block data (protocol version 1) cannot be read`);
            (obj.annotations ??= {})[c.name] = this.annotation();
            continue;
          }
          if (!(c.flags & SC_SERIALIZABLE)) continue;
          for (const f of c.fields) obj.fields[f.name] = this.fieldValue(f.type);
          if (c.flags & SC_WRITE_METHOD) (obj.annotations ??= {})[c.name] = this.annotation();
        }
        return obj;
      }
      case TC.RESET:
        this.pos++;
        this.handles.length = 0;
        return this.contentAt();
      case TC.EXCEPTION:
        throw new ProtocolError('the stream carries an exception raised while writing it (TC_EXCEPTION)');
      default:
        throw new ProtocolError(`unknown serialization type code 0x${tc.toString(16)}`);
    }
  }
}

function isClassDesc(v: unknown): v is ClassDesc {
  return typeof v === 'object' && v !== null && 'flags' in v && 'fields' in v && 'super' in v;
}

/** Modified UTF-8 (DataInput §): 1–3 byte forms, NUL as C0 80, supplementary characters as surrogate pairs. */
export function decodeModifiedUtf8(b: Uint8Array): string {
  let ascii = true;
  for (const x of b) if (x & 0x80) ascii = false;
  if (ascii) return fromLatin1(b);
  const units: number[] = [];
  for (let i = 0; i < b.length; ) {
    const x = b[i];
    if (x < 0x80) {
      units.push(x);
      i++;
    } else if ((x & 0xe0) === 0xc0 && i + 1 < b.length) {
      units.push(((x & 0x1f) << 6) | (b[i + 1] & 0x3f));
      i += 2;
    } else if ((x & 0xf0) === 0xe0 && i + 2 < b.length) {
      units.push(((x & 0x0f) << 12) | ((b[i + 1] & 0x3f) << 6) | (b[i + 2] & 0x3f));
      i += 3;
    } else throw new ProtocolError(`malformed modified UTF-8 at byte ${i}`);
  }
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.slice(i, i + 4096));
  return s;
}

/** Runs a parse over the buffer; NeedMore becomes undefined. */
export function attempt<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof NeedMore) return undefined;
    throw e;
  }
}
