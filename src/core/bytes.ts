// Byte toolkit: one reader and one writer over Uint8Array for every binary codec.
import { ProtocolError } from './errors.ts';

const utf8Encoder = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const utf8Lenient = new TextDecoder('utf-8');
const latin1 = new TextDecoder('latin1');

export type Bytes = Uint8Array;

export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Decodes UTF-8; invalid sequences become U+FFFD unless `strict`, then ProtocolError. */
export function fromUtf8(bytes: Uint8Array, strict = false, field = 'text'): string {
  if (!strict) return utf8Lenient.decode(bytes);
  try {
    return utf8Strict.decode(bytes);
  } catch {
    throw new ProtocolError(`${field} is not valid UTF-8`);
  }
}

/** One char per byte: for ASCII protocol lines where every byte must survive. */
export function fromLatin1(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

export function isPrintableAscii(bytes: Uint8Array): boolean {
  for (const b of bytes) if ((b < 0x20 || b > 0x7e) && b !== 0x0d && b !== 0x0a && b !== 0x09) return false;
  return true;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A receive buffer: chunks append in amortised constant time (capacity doubles), bytes leave from the
 * front, and a view it has handed out is never written over (appends only go past every byte handed
 * out; a full buffer moves to new memory).
 */
export class ReceiveBuffer {
  private store: Uint8Array = new Uint8Array(0);
  private start = 0;
  private end = 0;
  /** Whether `store` is this buffer's own memory (a chunk taken as it came is not). */
  private owned = false;

  get length(): number {
    return this.end - this.start;
  }

  /** The buffered bytes (a view, valid until the next append). */
  get bytes(): Uint8Array {
    return this.store.subarray(this.start, this.end);
  }

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.length === 0) {
      // Nothing buffered: keep the chunk itself, no copy.
      this.store = chunk;
      this.start = 0;
      this.end = chunk.length;
      this.owned = false;
      return;
    }
    if (!this.owned || this.end + chunk.length > this.store.length) {
      const next = new Uint8Array(Math.max(64 * 1024, 2 * (this.length + chunk.length)));
      next.set(this.bytes);
      this.end = this.length;
      this.start = 0;
      this.store = next;
      this.owned = true;
    }
    this.store.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The first `n` bytes, removed from the buffer (a view). */
  take(n: number): Uint8Array {
    const out = this.store.subarray(this.start, this.start + n);
    this.start += n;
    if (this.start === this.end) {
      // Empty: let go of the memory, so the next append never writes where a view was handed out.
      this.store = new Uint8Array(0);
      this.start = this.end = 0;
      this.owned = false;
    }
    return out;
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Equality that takes the same time wherever the first difference is (MACs, Finished values). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Position of `needle` in `haystack` at or after `from`, or -1. */
export function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  if (needle.length === 0) return from;
  const first = needle[0];
  const last = haystack.length - needle.length;
  outer: for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes: Uint8Array, separator = ''): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (i && separator ? separator : '') + HEX[bytes[i]];
  return out;
}

/** Parses hex, ignoring whitespace, colons and `0x` prefixes; throws ProtocolError on odd or bad digits. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new ProtocolError('hex string is malformed');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += B64[n >> 18] + B64[(n >> 12) & 63] + '==';
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + '=';
  }
  return out;
}

/** Base64url without padding (RFC 4648 §5): JWK members, DoH's `dns` parameter. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;
B64_INDEX['-'.charCodeAt(0)] = 62;
B64_INDEX['_'.charCodeAt(0)] = 63;

/** Decodes standard or URL-safe base64, padding optional, whitespace ignored. */
export function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/[\s=]/g, '');
  if (clean.length % 4 === 1) throw new ProtocolError('base64 string is malformed');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (let i = 0; i < clean.length; i++) {
    const code = clean.charCodeAt(i);
    const v = code < 128 ? B64_INDEX[code] : -1;
    if (v < 0) throw new ProtocolError('base64 string is malformed');
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
  }
  return out.subarray(0, at);
}

/**
 * Reads fields from a byte array. Every read checks bounds and throws
 * ProtocolError naming the field, so a truncated message never reads garbage.
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  offset: number;

  constructor(bytes: Uint8Array, offset = 0) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  private need(n: number, field: string): number {
    if (n < 0 || this.offset + n > this.bytes.length) {
      throw new ProtocolError(`${field}: needs ${n} bytes at offset ${this.offset}, ${this.remaining} left`);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(field = 'u8'): number {
    return this.view.getUint8(this.need(1, field));
  }
  i8(field = 'i8'): number {
    return this.view.getInt8(this.need(1, field));
  }
  u16(field = 'u16'): number {
    return this.view.getUint16(this.need(2, field));
  }
  u16le(field = 'u16'): number {
    return this.view.getUint16(this.need(2, field), true);
  }
  i16(field = 'i16'): number {
    return this.view.getInt16(this.need(2, field));
  }
  i16le(field = 'i16'): number {
    return this.view.getInt16(this.need(2, field), true);
  }
  u24(field = 'u24'): number {
    const at = this.need(3, field);
    return (this.bytes[at] << 16) | (this.bytes[at + 1] << 8) | this.bytes[at + 2];
  }
  u24le(field = 'u24'): number {
    const at = this.need(3, field);
    return this.bytes[at] | (this.bytes[at + 1] << 8) | (this.bytes[at + 2] << 16);
  }
  u32(field = 'u32'): number {
    return this.view.getUint32(this.need(4, field));
  }
  u32le(field = 'u32'): number {
    return this.view.getUint32(this.need(4, field), true);
  }
  i32(field = 'i32'): number {
    return this.view.getInt32(this.need(4, field));
  }
  i32le(field = 'i32'): number {
    return this.view.getInt32(this.need(4, field), true);
  }
  u64(field = 'u64'): bigint {
    return this.view.getBigUint64(this.need(8, field));
  }
  u64le(field = 'u64'): bigint {
    return this.view.getBigUint64(this.need(8, field), true);
  }
  i64(field = 'i64'): bigint {
    return this.view.getBigInt64(this.need(8, field));
  }
  i64le(field = 'i64'): bigint {
    return this.view.getBigInt64(this.need(8, field), true);
  }
  f32(field = 'f32'): number {
    return this.view.getFloat32(this.need(4, field));
  }
  f32le(field = 'f32'): number {
    return this.view.getFloat32(this.need(4, field), true);
  }
  f64(field = 'f64'): number {
    return this.view.getFloat64(this.need(8, field));
  }
  f64le(field = 'f64'): number {
    return this.view.getFloat64(this.need(8, field), true);
  }

  /** A view (not a copy) of the next n bytes. */
  bytesN(n: number, field = 'bytes'): Uint8Array {
    const at = this.need(n, field);
    return this.bytes.subarray(at, at + n);
  }

  rest(): Uint8Array {
    return this.bytesN(this.remaining, 'rest');
  }

  skip(n: number, field = 'skip'): void {
    this.need(n, field);
  }

  peekU8(field = 'u8'): number {
    if (this.offset >= this.bytes.length) throw new ProtocolError(`${field}: no bytes left`);
    return this.bytes[this.offset];
  }

  /** Unsigned LEB128 (protobuf, MQTT remaining length uses `mqttVarint`). Capped at `maxBytes`. */
  uvarint(field = 'varint', maxBytes = 10): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < maxBytes; i++) {
      const b = this.u8(field);
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new ProtocolError(`${field}: varint longer than ${maxBytes} bytes`);
  }

  /** Unsigned LEB128 that must fit a JS safe integer. */
  uvarintNumber(field = 'varint', maxBytes = 8): number {
    const v = this.uvarint(field, maxBytes);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`${field}: varint too large`);
    return Number(v);
  }

  /** Bytes up to a NUL (consumed, not returned); `max` caps the search. */
  cstring(field = 'cstring', max = 65536): Uint8Array {
    const end = this.bytes.indexOf(0, this.offset);
    if (end === -1 || end - this.offset > max) {
      throw new ProtocolError(`${field}: no NUL terminator within ${Math.min(max, this.remaining)} bytes`);
    }
    const out = this.bytes.subarray(this.offset, end);
    this.offset = end + 1;
    return out;
  }

  cstringUtf8(field = 'cstring', max = 65536): string {
    return fromUtf8(this.cstring(field, max));
  }

  /** A length-prefixed byte string: `u8`, `u16`, `u32` (big endian) or `u32le`. */
  lengthPrefixed(width: 'u8' | 'u16' | 'u32' | 'u16le' | 'u32le', field = 'string', max = 16 * 1024 * 1024): Uint8Array {
    const n = this[width](`${field} length`);
    if (n > max) throw new ProtocolError(`${field}: length ${n} exceeds limit ${max}`);
    return this.bytesN(n, field);
  }
}

/**
 * Builds a byte array. Grows as needed; `lengthAt` reserves a length field
 * whose value is written when the matching `patch` is called.
 */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(initial = 256) {
    this.buf = new Uint8Array(initial);
    this.view = new DataView(this.buf.buffer);
  }

  private room(n: number): number {
    const need = this.length + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length = need;
    return at;
  }

  u8(v: number): this {
    const at = this.room(1);
    this.view.setUint8(at, v);
    return this;
  }
  i8(v: number): this {
    const at = this.room(1);
    this.view.setInt8(at, v);
    return this;
  }
  u16(v: number): this {
    const at = this.room(2);
    this.view.setUint16(at, v);
    return this;
  }
  u16le(v: number): this {
    const at = this.room(2);
    this.view.setUint16(at, v, true);
    return this;
  }
  i16(v: number): this {
    const at = this.room(2);
    this.view.setInt16(at, v);
    return this;
  }
  u24(v: number): this {
    const at = this.room(3);
    this.buf[at] = (v >>> 16) & 0xff;
    this.buf[at + 1] = (v >>> 8) & 0xff;
    this.buf[at + 2] = v & 0xff;
    return this;
  }
  u24le(v: number): this {
    const at = this.room(3);
    this.buf[at] = v & 0xff;
    this.buf[at + 1] = (v >>> 8) & 0xff;
    this.buf[at + 2] = (v >>> 16) & 0xff;
    return this;
  }
  u32(v: number): this {
    const at = this.room(4);
    this.view.setUint32(at, v);
    return this;
  }
  u32le(v: number): this {
    const at = this.room(4);
    this.view.setUint32(at, v, true);
    return this;
  }
  i32(v: number): this {
    const at = this.room(4);
    this.view.setInt32(at, v);
    return this;
  }
  i32le(v: number): this {
    const at = this.room(4);
    this.view.setInt32(at, v, true);
    return this;
  }
  u64(v: bigint): this {
    const at = this.room(8);
    this.view.setBigUint64(at, v);
    return this;
  }
  u64le(v: bigint): this {
    const at = this.room(8);
    this.view.setBigUint64(at, v, true);
    return this;
  }
  i64(v: bigint): this {
    const at = this.room(8);
    this.view.setBigInt64(at, v);
    return this;
  }
  f32(v: number): this {
    const at = this.room(4);
    this.view.setFloat32(at, v);
    return this;
  }
  f64(v: number): this {
    const at = this.room(8);
    this.view.setFloat64(at, v);
    return this;
  }
  f64le(v: number): this {
    const at = this.room(8);
    this.view.setFloat64(at, v, true);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return this;
  }

  /** UTF-8 text, no terminator. */
  text(s: string): this {
    return this.bytes(utf8(s));
  }

  cstring(s: string | Uint8Array): this {
    this.bytes(typeof s === 'string' ? utf8(s) : s);
    return this.u8(0);
  }

  uvarint(v: number | bigint): this {
    let n = BigInt(v);
    if (n < 0n) throw new RangeError('uvarint must be non-negative');
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) b |= 0x80;
      this.u8(b);
    } while (n > 0n);
    return this;
  }

  lengthPrefixed(width: 'u8' | 'u16' | 'u32' | 'u16le' | 'u32le', b: Uint8Array | string): this {
    const data = typeof b === 'string' ? utf8(b) : b;
    this[width](data.length);
    return this.bytes(data);
  }

  /**
   * Reserves a length field; call the returned function after writing the body.
   * `inclusive` counts the field itself (PostgreSQL), otherwise only what follows.
   */
  lengthAt(width: 'u8' | 'u16' | 'u24' | 'u24le' | 'u32' | 'u32le', inclusive = false): () => this {
    const size = width === 'u8' ? 1 : width === 'u16' ? 2 : width === 'u24' || width === 'u24le' ? 3 : 4;
    const at = this.room(size);
    return () => {
      const n = this.length - at - (inclusive ? 0 : size);
      if (width === 'u8') this.view.setUint8(at, n);
      else if (width === 'u16') this.view.setUint16(at, n);
      else if (width === 'u24') {
        this.buf[at] = (n >>> 16) & 0xff;
        this.buf[at + 1] = (n >>> 8) & 0xff;
        this.buf[at + 2] = n & 0xff;
      } else if (width === 'u24le') {
        this.buf[at] = n & 0xff;
        this.buf[at + 1] = (n >>> 8) & 0xff;
        this.buf[at + 2] = (n >>> 16) & 0xff;
      } else this.view.setUint32(at, n, width === 'u32le');
      return this;
    };
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }

  /** What was written, without a copy: for a writer sized for its message and not written to again. */
  written(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

// Text fields read in place from wire bytes (row decoders): one latin1 view of a buffer, sliced.
const NON_ASCII = /[^\x00-\x7f]/;

/** A buffer as latin1 text, and whether every byte is ASCII. */
export function latin1View(buf: Uint8Array): { latin1: string; ascii: boolean } {
  const text = latin1.decode(buf);
  return { latin1: text, ascii: !NON_ASCII.test(text) };
}

/** Text at a place in the buffer: a slice of the latin1 view when it is ASCII, else UTF-8 decoded. */
export function textAt(buf: Uint8Array, start: number, len: number, latin1: string, ascii: boolean): string {
  const s = latin1.slice(start, start + len);
  if (ascii || !NON_ASCII.test(s)) return s;
  return utf8Lenient.decode(buf.subarray(start, start + len));
}

/** A decimal integer of at most 15 digits (always a safe integer), or undefined when the bytes are not one. */
export function smallIntAt(buf: Uint8Array, start: number, len: number): number | undefined {
  let i = start;
  const end = start + len;
  let negative = false;
  if (buf[i] === 0x2d) {
    negative = true;
    i++;
  }
  if (i >= end || end - i > 15) return undefined;
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

export type ByteEncoding = 'auto' | 'text' | 'base64' | 'hex';

/** Bytes for JSON: UTF-8 text when valid (auto), else base64; or always base64 / hex. */
export function bytesJson(bytes: Uint8Array, encoding: ByteEncoding = 'auto'): { text?: string; base64?: string; hex?: string } {
  if (encoding === 'base64') return { base64: toBase64(bytes) };
  if (encoding === 'hex') return { hex: toHex(bytes) };
  if (encoding === 'text') return { text: fromUtf8(bytes) };
  try {
    return { text: fromUtf8(bytes, true) };
  } catch {
    return { base64: toBase64(bytes) };
  }
}
