// SSH data types, RFC 4251 section 5: byte, boolean, uint32, uint64, string, mpint, name-list.
import { ByteReader, ByteWriter, fromUtf8, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

/** Longest string field accepted inside a packet (a packet is at most 256 KiB anyway). */
export const MAX_STRING = 256 * 1024;
/** Longest name-list accepted, and most names in one. */
export const MAX_NAME_LIST = 16 * 1024;
export const MAX_NAMES = 256;

export class SshReader extends ByteReader {
  /** RFC 4251 5: boolean, any non-zero value is TRUE. */
  bool(field = 'boolean'): boolean {
    return this.u8(field) !== 0;
  }

  /** RFC 4251 5: string, uint32 length then bytes (a view, not a copy). */
  string(field = 'string', max = MAX_STRING): Uint8Array {
    return this.lengthPrefixed('u32', field, max);
  }

  /** A string field carrying UTF-8 text (RFC 4251 5: ISO-10646 UTF-8 for text). */
  text(field = 'string', max = MAX_STRING): string {
    return fromUtf8(this.string(field, max));
  }

  /** RFC 4251 5: name-list, comma-separated US-ASCII names, no empty names. */
  nameList(field = 'name-list'): string[] {
    const raw = this.string(field, MAX_NAME_LIST);
    if (raw.length === 0) return [];
    for (const b of raw) if (b < 0x21 || b > 0x7e) throw new ProtocolError(`${field}: names must be printable US-ASCII`);
    const names = fromUtf8(raw).split(',');
    if (names.length > MAX_NAMES) throw new ProtocolError(`${field}: more than ${MAX_NAMES} names`);
    if (names.some((n) => n.length === 0)) throw new ProtocolError(`${field}: empty name in list`);
    return names;
  }

  /** RFC 4251 5: mpint, two's complement big-endian; only non-negative values are accepted here. */
  mpint(field = 'mpint', maxBytes = 1025): bigint {
    const raw = this.string(field, maxBytes + 1);
    if (raw.length === 0) return 0n;
    if (raw[0] & 0x80) throw new ProtocolError(`${field}: negative mpint`);
    return bytesToBigInt(raw);
  }

  /** An mpint as its unsigned magnitude bytes (leading zero byte removed). */
  mpintBytes(field = 'mpint', maxBytes = 1025): Uint8Array {
    const raw = this.string(field, maxBytes + 1);
    if (raw.length > 0 && raw[0] & 0x80) throw new ProtocolError(`${field}: negative mpint`);
    let at = 0;
    while (at < raw.length && raw[at] === 0) at++;
    return raw.subarray(at);
  }

  /** Everything is read: trailing bytes are a protocol error in strict places. */
  end(what: string): void {
    if (this.remaining !== 0) throw new ProtocolError(`${what}: ${this.remaining} unexpected trailing bytes`);
  }
}

export class SshWriter extends ByteWriter {
  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }

  string(v: Uint8Array | string): this {
    return this.lengthPrefixed('u32', typeof v === 'string' ? utf8(v) : v);
  }

  nameList(names: readonly string[]): this {
    return this.string(names.join(','));
  }

  /** RFC 4251 5: mpint from a non-negative bigint or unsigned big-endian bytes. */
  mpint(v: bigint | Uint8Array): this {
    return this.string(mpintBytes(v));
  }
}

/** The body of an mpint: minimal big-endian bytes with a zero byte when the high bit is set. */
export function mpintBytes(v: bigint | Uint8Array): Uint8Array {
  let raw = typeof v === 'bigint' ? bigIntToBytes(v) : v;
  let at = 0;
  while (at < raw.length && raw[at] === 0) at++;
  raw = raw.subarray(at);
  if (raw.length > 0 && raw[0] & 0x80) {
    const out = new Uint8Array(raw.length + 1);
    out.set(raw, 1);
    return out;
  }
  return raw;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return hex === '' ? 0n : BigInt('0x' + hex);
}

/** Unsigned big-endian bytes of `v`, left-padded with zeros to `size` when given. */
export function bigIntToBytes(v: bigint, size?: number): Uint8Array {
  if (v < 0n) throw new RangeError('negative');
  let hex = v === 0n ? '' : v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const n = hex.length / 2;
  const out = new Uint8Array(size ?? n);
  if (size !== undefined && n > size) throw new RangeError(`value needs ${n} bytes, more than ${size}`);
  const off = out.length - n;
  for (let i = 0; i < n; i++) out[off + i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function reader(bytes: Uint8Array, offset = 0): SshReader {
  return new SshReader(bytes, offset);
}
