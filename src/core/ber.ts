// ASN.1 Basic Encoding Rules, ITU-T X.690 §8 (definite lengths only), shared by SNMP (RFC 3416) and LDAP (RFC 4511).
//
// How it works: a value is a TLV — identifier octets (§8.1.2: class, constructed bit, tag number),
// length octets (§8.1.3) and contents. Decoding is sans-I/O: `berFrame` says how long the next whole TLV
// is (undefined while incomplete), `readTlv` splits one TLV off a buffer, and `BerReader` walks the
// children of a constructed value with typed getters that name the field on failure. Encoding builds
// TLVs bottom-up (`tlv`, `sequence`, `integer`, ...), each returning finished bytes. Both SNMP (RFC 3417
// §8: "only the definite form") and LDAP (RFC 4511 §5.1: no indefinite length) forbid the indefinite
// form, so it is refused. Lengths, tag numbers and nesting depth are capped.
import { ProtocolError } from './errors.ts';
import { concat, toHex, utf8 } from './bytes.ts';
import type { Frame } from './conn.ts';

export const BerClass = { universal: 0, application: 1, context: 2, private: 3 } as const;
export type BerClassName = keyof typeof BerClass;

/** X.690 §8.1.2 universal tags used by SNMP and LDAP. */
export const UniversalTag = {
  boolean: 1,
  integer: 2,
  bitString: 3,
  octetString: 4,
  null: 5,
  oid: 6,
  enumerated: 10,
  utf8String: 12,
  sequence: 16,
  set: 17,
} as const;

export interface Tlv {
  cls: BerClassName;
  constructed: boolean;
  tag: number;
  /** The identifier byte(s) as one number for single-byte identifiers (0x30 for SEQUENCE), else -1. */
  identifier: number;
  value: Uint8Array;
  /** Bytes the whole TLV took. */
  size: number;
}

export const MAX_BER_LENGTH = 16 * 1024 * 1024;
export const MAX_BER_DEPTH = 32;
const CLASS_NAMES: BerClassName[] = ['universal', 'application', 'context', 'private'];

/** Parses the identifier and length at the start of `buf`: undefined when more bytes are needed. */
function header(buf: Uint8Array, maxLength: number): { cls: BerClassName; constructed: boolean; tag: number; identifier: number; headerSize: number; length: number } | undefined {
  if (buf.length < 1) return undefined;
  const first = buf[0];
  const cls = CLASS_NAMES[first >> 6];
  const constructed = (first & 0x20) !== 0;
  let tag = first & 0x1f;
  let at = 1;
  let identifier = first;
  if (tag === 0x1f) {
    // §8.1.2.4: high tag numbers in base 128, bit 8 set on every octet but the last.
    identifier = -1;
    tag = 0;
    for (;;) {
      if (at >= buf.length) return undefined;
      const b = buf[at++];
      if (at === 2 && b === 0x80) throw new ProtocolError('BER: tag number with a leading zero octet (X.690 §8.1.2.4.2 c)');
      tag = tag * 128 + (b & 0x7f);
      if (at > 5) throw new ProtocolError('BER: tag number longer than 4 octets');
      if ((b & 0x80) === 0) break;
    }
  }
  if (at >= buf.length) return undefined;
  const l0 = buf[at++];
  let length: number;
  if (l0 < 0x80) length = l0;
  else if (l0 === 0x80) throw new ProtocolError('BER: indefinite length, which SNMP and LDAP forbid (RFC 3417 §8, RFC 4511 §5.1)');
  else if (l0 === 0xff) throw new ProtocolError('BER: length octet 0xff is reserved (X.690 §8.1.3.5 c)');
  else {
    const n = l0 & 0x7f;
    if (n > 4) throw new ProtocolError(`BER: a ${n}-octet length field`);
    if (at + n > buf.length) return undefined;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[at++];
  }
  if (length > maxLength) throw new ProtocolError(`BER: value of ${length} bytes exceeds the ${maxLength}-byte limit`);
  return { cls, constructed, tag, identifier, headerSize: at, length };
}

/** One TLV from the start of `buf`, or undefined while it is incomplete. */
export function readTlv(buf: Uint8Array, maxLength = MAX_BER_LENGTH): Tlv | undefined {
  const h = header(buf, maxLength);
  if (!h) return undefined;
  const size = h.headerSize + h.length;
  if (buf.length < size) return undefined;
  return { cls: h.cls, constructed: h.constructed, tag: h.tag, identifier: h.identifier, value: buf.subarray(h.headerSize, size), size };
}

/** A whole TLV read from a stream, with its encoding (`raw`) as it arrived. */
export type FramedTlv = Tlv & { raw: Uint8Array };

/** A Frame for streams of BER messages (SNMP over TCP, RFC 3430; LDAP): one whole outer TLV at a time. */
export function berFrame(maxLength = MAX_BER_LENGTH): Frame<FramedTlv> {
  return (buf) => {
    const t = readTlv(buf, maxLength);
    if (!t) return undefined;
    const raw = buf.slice(0, t.size);
    return { value: { ...t, value: raw.subarray(t.size - t.value.length), raw }, size: t.size };
  };
}

/** Reads exactly one TLV that fills `bytes` (a datagram, a message). */
export function decodeTlv(bytes: Uint8Array, what = 'message'): Tlv {
  const t = readTlv(bytes);
  if (!t) throw new ProtocolError(`${what}: truncated BER (${bytes.length} bytes)`);
  if (t.size !== bytes.length) throw new ProtocolError(`${what}: ${bytes.length - t.size} bytes after the BER value`);
  return t;
}

export function describeTag(t: Pick<Tlv, 'cls' | 'constructed' | 'tag'>): string {
  const prefix = t.cls === 'universal' ? 'UNIVERSAL' : t.cls === 'application' ? 'APPLICATION' : t.cls === 'context' ? '' : 'PRIVATE';
  return `[${prefix ? `${prefix} ` : ''}${t.tag}]${t.constructed ? ' constructed' : ''}`;
}

// Contents decoders (X.690 §8.2–8.19)

/** §8.3: two's complement, minimal. Returns a number when it fits exactly, a bigint otherwise. */
export function decodeInteger(value: Uint8Array, field = 'INTEGER'): number | bigint {
  if (value.length === 0) throw new ProtocolError(`${field}: INTEGER with no content octets (X.690 §8.3.1)`);
  if (value.length > 32) throw new ProtocolError(`${field}: INTEGER of ${value.length} octets`);
  let n = BigInt.asIntN(8, BigInt(value[0]));
  for (let i = 1; i < value.length; i++) n = (n << 8n) | BigInt(value[i]);
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** An unsigned application type (SNMP Counter32, Gauge32, TimeTicks, Counter64): a non-negative INTEGER encoding. */
export function decodeUnsigned(value: Uint8Array, bits: 32 | 64, field = 'unsigned'): number | bigint {
  if (value.length === 0) throw new ProtocolError(`${field}: no content octets`);
  // A leading zero octet is allowed to keep the sign bit clear (RFC 3417 §8 via X.690 §8.3).
  const max = bits / 8 + 1;
  if (value.length > max || (value.length === max && value[0] !== 0)) throw new ProtocolError(`${field}: more than ${bits} bits`);
  let n = 0n;
  for (const b of value) n = (n << 8n) | BigInt(b);
  // Some agents send values with the sign bit set and no padding: read them as unsigned anyway.
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** §8.19: OBJECT IDENTIFIER contents to dotted text. */
export function decodeOid(value: Uint8Array, field = 'OBJECT IDENTIFIER'): string {
  if (value.length === 0) throw new ProtocolError(`${field}: empty OBJECT IDENTIFIER`);
  if (value.length > 1024) throw new ProtocolError(`${field}: OBJECT IDENTIFIER of ${value.length} octets`);
  const arcs: bigint[] = [];
  let n = 0n;
  let inArc = false;
  for (let i = 0; i < value.length; i++) {
    const b = value[i];
    if (!inArc && b === 0x80) throw new ProtocolError(`${field}: sub-identifier with a leading 0x80 octet (X.690 §8.19.2)`);
    n = (n << 7n) | BigInt(b & 0x7f);
    inArc = (b & 0x80) !== 0;
    if (!inArc) {
      arcs.push(n);
      n = 0n;
    }
  }
  if (inArc) throw new ProtocolError(`${field}: OBJECT IDENTIFIER ends inside a sub-identifier`);
  // §8.19.4: the first sub-identifier packs the first two arcs as X*40+Y.
  const first = arcs[0];
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

export function decodeBoolean(value: Uint8Array, field = 'BOOLEAN'): boolean {
  if (value.length !== 1) throw new ProtocolError(`${field}: BOOLEAN of ${value.length} octets`);
  return value[0] !== 0;
}

/** Walks the TLVs inside a constructed value (or a buffer of concatenated TLVs). */
export class BerReader {
  private at = 0;

  constructor(
    private readonly bytes: Uint8Array,
    readonly what = 'BER',
    readonly depth = 0,
  ) {
    if (depth > MAX_BER_DEPTH) throw new ProtocolError(`${what}: nested deeper than ${MAX_BER_DEPTH} levels`);
  }

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  /** The next TLV, without consuming it; undefined at the end. */
  peek(): Tlv | undefined {
    if (this.done) return undefined;
    const t = readTlv(this.bytes.subarray(this.at));
    if (!t) throw new ProtocolError(`${this.what}: truncated BER value at offset ${this.at}`);
    return t;
  }

  next(field = 'value'): Tlv {
    const t = this.peek();
    if (!t) throw new ProtocolError(`${this.what}: ${field} missing`);
    this.at += t.size;
    return t;
  }

  /** The next TLV, which must carry this class/tag. */
  expect(field: string, tag: number, cls: BerClassName = 'universal', constructed?: boolean): Tlv {
    const t = this.next(field);
    if (t.tag !== tag || t.cls !== cls || (constructed !== undefined && t.constructed !== constructed)) {
      throw new ProtocolError(`${this.what}: ${field} should be ${describeTag({ cls, tag, constructed: constructed ?? false })}, got ${describeTag(t)}`);
    }
    return t;
  }

  /** A constructed child as a reader of its own. */
  sequence(field: string, tag: number = UniversalTag.sequence, cls: BerClassName = 'universal'): BerReader {
    const t = this.expect(field, tag, cls, true);
    return new BerReader(t.value, `${this.what} ${field}`, this.depth + 1);
  }

  integer(field: string): number | bigint {
    return decodeInteger(this.expect(field, UniversalTag.integer).value, field);
  }

  /** An INTEGER that must fit a JS number between `min` and `max`. */
  int(field: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.integer(field);
    if (typeof v !== 'number' || v < min || v > max) throw new ProtocolError(`${this.what}: ${field} ${v} is outside ${min}–${max}`);
    return v;
  }

  enumerated(field: string): number {
    const v = decodeInteger(this.expect(field, UniversalTag.enumerated).value, field);
    if (typeof v !== 'number') throw new ProtocolError(`${this.what}: ${field} out of range`);
    return v;
  }

  octets(field: string, tag: number = UniversalTag.octetString, cls: BerClassName = 'universal'): Uint8Array {
    return this.expect(field, tag, cls, false).value;
  }

  oid(field: string): string {
    return decodeOid(this.expect(field, UniversalTag.oid).value, field);
  }

  boolean(field: string): boolean {
    return decodeBoolean(this.expect(field, UniversalTag.boolean).value, field);
  }

  end(): void {
    if (!this.done) throw new ProtocolError(`${this.what}: ${this.bytes.length - this.at} unexpected bytes at the end`);
  }
}

// Encoders

/** §8.1.3: short form below 128, else the long form with the fewest octets. */
export function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return Uint8Array.of(0x80 | out.length, ...out);
}

function identifierOctets(tag: number, cls: BerClassName, constructed: boolean): Uint8Array {
  const lead = (BerClass[cls] << 6) | (constructed ? 0x20 : 0);
  if (tag < 31) return Uint8Array.of(lead | tag);
  const parts: number[] = [];
  for (let v = tag; ; v = Math.floor(v / 128)) {
    parts.unshift((v & 0x7f) | (parts.length ? 0x80 : 0));
    if (v < 128) break;
  }
  return Uint8Array.of(lead | 0x1f, ...parts);
}

export function tlv(tag: number, content: Uint8Array, cls: BerClassName = 'universal', constructed = false): Uint8Array {
  return concat([identifierOctets(tag, cls, constructed), encodeLength(content.length), content]);
}

export function sequence(children: readonly Uint8Array[], tag: number = UniversalTag.sequence, cls: BerClassName = 'universal'): Uint8Array {
  return tlv(tag, concat(children), cls, true);
}

/** An explicit context tag [n] around one encoded value (Kerberos, CredSSP: every field so tagged). */
export function explicit(n: number, inner: Uint8Array): Uint8Array {
  return tlv(n, inner, 'context', true);
}

/** The explicit [n] fields of a SEQUENCE being read, by tag number (each may appear once). */
export function explicitFields(r: BerReader): Map<number, Tlv> {
  const out = new Map<number, Tlv>();
  while (!r.done) {
    const t = r.next('field');
    if (t.cls !== 'context' || !t.constructed) throw new ProtocolError(`${r.what}: expected an explicit context tag, got ${t.cls} ${t.tag}`);
    if (out.has(t.tag)) throw new ProtocolError(`${r.what}: field [${t.tag}] twice`);
    out.set(t.tag, t);
  }
  return out;
}

/** Minimal two's-complement contents of an integer (§8.3.2). */
export function integerContents(v: number | bigint): Uint8Array {
  let n = BigInt(v);
  const out: number[] = [];
  for (;;) {
    out.unshift(Number(n & 0xffn));
    const rest = n >> 8n;
    const signClear = (out[0] & 0x80) === 0;
    if ((rest === 0n && signClear) || (rest === -1n && !signClear)) break;
    n = rest;
  }
  return Uint8Array.from(out);
}

export function integer(v: number | bigint, tag: number = UniversalTag.integer, cls: BerClassName = 'universal'): Uint8Array {
  return tlv(tag, integerContents(v), cls);
}

/** An unsigned value as INTEGER contents (a zero octet in front when the top bit is set). */
export function unsigned(v: number | bigint, tag: number, cls: BerClassName = 'application'): Uint8Array {
  if (BigInt(v) < 0n) throw new RangeError('unsigned value is negative');
  return tlv(tag, integerContents(v), cls);
}

export function enumerated(v: number): Uint8Array {
  return integer(v, UniversalTag.enumerated);
}

export function octetString(v: Uint8Array | string, tag: number = UniversalTag.octetString, cls: BerClassName = 'universal'): Uint8Array {
  return tlv(tag, typeof v === 'string' ? utf8(v) : v, cls);
}

export function boolean(v: boolean): Uint8Array {
  return tlv(UniversalTag.boolean, Uint8Array.of(v ? 0xff : 0));
}

export function nullValue(tag: number = UniversalTag.null, cls: BerClassName = 'universal'): Uint8Array {
  return tlv(tag, new Uint8Array(0), cls);
}

const OID_RE = /^[0-2](\.\d{1,20}){1,127}$/;

export function isOid(text: string): boolean {
  if (!OID_RE.test(text)) return false;
  const [a, b] = text.split('.').map(Number);
  return a === 2 || b < 40;
}

/** §8.19 contents of a dotted OID. Throws RangeError for text that is not an OID (validate input first). */
export function oidContents(text: string): Uint8Array {
  if (!isOid(text)) throw new RangeError(`${text} is not an object identifier`);
  const arcs = text.split('.').map((a) => BigInt(a));
  const subs = [arcs[0] * 40n + arcs[1], ...arcs.slice(2)];
  const out: number[] = [];
  for (const s of subs) {
    const parts: number[] = [];
    let v = s;
    do {
      parts.unshift(Number(v & 0x7fn) | (parts.length ? 0x80 : 0));
      v >>= 7n;
    } while (v > 0n);
    out.push(...parts);
  }
  return Uint8Array.from(out);
}

export function oid(text: string): Uint8Array {
  return tlv(UniversalTag.oid, oidContents(text));
}

/** A short description of a TLV tree, for transcripts. */
export function describeTlv(t: Tlv, depth = 0): string {
  if (depth > 4) return '…';
  if (t.constructed) {
    const r = new BerReader(t.value, 'describe', depth);
    const parts: string[] = [];
    while (!r.done && parts.length < 12) parts.push(describeTlv(r.next(), depth + 1));
    return `${describeTag(t)}{${parts.join(', ')}}`;
  }
  return `${describeTag(t)}:${toHex(t.value.subarray(0, 16))}${t.value.length > 16 ? '…' : ''}`;
}
