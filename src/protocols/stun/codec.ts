// STUN (RFC 8489) and TURN's Allocate (RFC 8656): messages to bytes and back, XOR address attributes,
// MESSAGE-INTEGRITY (HMAC-SHA1, section 14.5) and FINGERPRINT (CRC-32, section 14.7). Sans I/O.
//
// How it works: a message is a 20-byte header (type, length, magic cookie, transaction id) and
// attributes, each type, length and value padded to 4 bytes. Over TCP and TLS messages follow each
// other with no other framing (RFC 8489 section 6.2.2): `messageFrame` cuts them by the header's length.
import { ByteReader, ByteWriter, concat, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { formatIp, parseIp } from '../../core/ip.ts';

export const MAGIC_COOKIE = 0x2112a442;
const HEADER = 20;
/** Largest message accepted: a STUN message over UDP fits a datagram; over TCP the same bound holds. */
const MAX_MESSAGE = 64 * 1024;
const MAX_ATTRIBUTES = 128;

/** RFC 8489 section 5: method and class interleaved in the 14-bit type. */
export const METHODS: Record<number, string> = { 0x001: 'Binding', 0x003: 'Allocate', 0x004: 'Refresh', 0x006: 'Send', 0x007: 'Data', 0x008: 'CreatePermission', 0x009: 'ChannelBind' };
export type MessageClass = 'request' | 'indication' | 'success' | 'error';
const CLASSES: MessageClass[] = ['request', 'indication', 'success', 'error'];

export const ATTR = {
  MAPPED_ADDRESS: 0x0001,
  USERNAME: 0x0006,
  MESSAGE_INTEGRITY: 0x0008,
  ERROR_CODE: 0x0009,
  UNKNOWN_ATTRIBUTES: 0x000a,
  LIFETIME: 0x000d,
  XOR_PEER_ADDRESS: 0x0012,
  REALM: 0x0014,
  NONCE: 0x0015,
  XOR_RELAYED_ADDRESS: 0x0016,
  REQUESTED_TRANSPORT: 0x0019,
  XOR_MAPPED_ADDRESS: 0x0020,
  SOFTWARE: 0x8022,
  ALTERNATE_SERVER: 0x8023,
  FINGERPRINT: 0x8028,
  RESPONSE_ORIGIN: 0x802b,
  OTHER_ADDRESS: 0x802c,
} as const;

const ATTR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ATTR).map(([k, v]) => [v, k.replace(/_/g, '-')]));

export function attributeName(type: number): string {
  return ATTR_NAMES[type] ?? `0x${type.toString(16).padStart(4, '0')}`;
}

export interface Attribute {
  type: number;
  value: Uint8Array;
}

export interface StunMessage {
  method: number;
  cls: MessageClass;
  transactionId: Uint8Array;
  attributes: Attribute[];
  /** The message as received (for MESSAGE-INTEGRITY and FINGERPRINT checks). */
  raw: Uint8Array;
}

export function messageType(method: number, cls: MessageClass): number {
  const c = CLASSES.indexOf(cls);
  // M11..M7 C1 M6..M4 C0 M3..M0
  return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | ((c & 2) << 7) | ((c & 1) << 4);
}

function splitType(type: number): { method: number; cls: MessageClass } {
  const method = ((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) | (type & 0x000f);
  const c = ((type & 0x0100) >> 7) | ((type & 0x0010) >> 4);
  return { method, cls: CLASSES[c] };
}

export function describeMessage(m: Pick<StunMessage, 'method' | 'cls' | 'attributes'>): string {
  return `${METHODS[m.method] ?? `method 0x${m.method.toString(16)}`} ${m.cls}: ${m.attributes.map((a) => attributeName(a.type)).join(', ') || 'no attributes'}`;
}

/**
 * Encodes a message. `integrityKey` adds MESSAGE-INTEGRITY over everything before it (with the length
 * already counting it, section 14.5); `fingerprint` adds FINGERPRINT last.
 */
export async function encodeMessage(
  m: { method: number; cls: MessageClass; transactionId: Uint8Array; attributes: Attribute[] },
  opts: { integrityKey?: Uint8Array; hmacSha1?: (key: Uint8Array, data: Uint8Array) => Promise<Uint8Array>; fingerprint?: boolean } = {},
): Promise<Uint8Array> {
  if (m.transactionId.length !== 12) throw new InvalidInput([{ field: 'transactionId', message: 'is 12 bytes' }]);
  const body = new ByteWriter(256);
  for (const a of m.attributes) writeAttribute(body, a);
  let attrs = body.finish();
  const header = (length: number) => new ByteWriter(HEADER).u16(messageType(m.method, m.cls)).u16(length).u32(MAGIC_COOKIE).bytes(m.transactionId).finish();
  if (opts.integrityKey) {
    const mac = await opts.hmacSha1!(opts.integrityKey, concat([header(attrs.length + 24), attrs]));
    attrs = concat([attrs, attributeBytes({ type: ATTR.MESSAGE_INTEGRITY, value: mac })]);
  }
  if (opts.fingerprint) {
    const crc = (crc32(concat([header(attrs.length + 8), attrs])) ^ 0x5354554e) >>> 0;
    attrs = concat([attrs, attributeBytes({ type: ATTR.FINGERPRINT, value: new ByteWriter(4).u32(crc).finish() })]);
  }
  return concat([header(attrs.length), attrs]);
}

function writeAttribute(w: ByteWriter, a: Attribute): void {
  w.u16(a.type).u16(a.value.length).bytes(a.value);
  const pad = (4 - (a.value.length % 4)) % 4;
  for (let i = 0; i < pad; i++) w.u8(0);
}

function attributeBytes(a: Attribute): Uint8Array {
  const w = new ByteWriter(a.value.length + 8);
  writeAttribute(w, a);
  return w.finish();
}

/** One message from the front of `buf` (TCP/TLS framing), or undefined until it is whole. */
export const messageFrame: Frame<StunMessage> = (buf) => {
  if (buf.length < HEADER) return undefined;
  if ((buf[0] & 0xc0) !== 0) throw new ProtocolError(`not a STUN message: the first two bits are ${buf[0] >> 6}, not 0 (RFC 8489 section 5)`);
  const cookie = ((buf[4] << 24) | (buf[5] << 16) | (buf[6] << 8) | buf[7]) >>> 0;
  if (cookie !== MAGIC_COOKIE) throw new ProtocolError(`not a STUN message: magic cookie 0x${cookie.toString(16).padStart(8, '0')}, not 0x2112a442`);
  const length = (buf[2] << 8) | buf[3];
  if (length % 4 !== 0) throw new ProtocolError(`STUN message length ${length} is not a multiple of 4`);
  if (HEADER + length > MAX_MESSAGE) throw new ProtocolError(`STUN message of ${HEADER + length} bytes exceeds ${MAX_MESSAGE}`);
  if (buf.length < HEADER + length) return undefined;
  return { value: decodeMessage(buf.subarray(0, HEADER + length)), size: HEADER + length };
};

/** A whole message (one UDP datagram, or one frame). */
export function decodeMessage(bytes: Uint8Array): StunMessage {
  const r = new ByteReader(bytes);
  const type = r.u16('message type');
  if (type & 0xc000) throw new ProtocolError('not a STUN message: the first two bits are not 0');
  const length = r.u16('message length');
  const cookie = r.u32('magic cookie');
  if (cookie !== MAGIC_COOKIE) throw new ProtocolError(`not a STUN message: magic cookie 0x${cookie.toString(16)} (RFC 3489 servers send none)`);
  const transactionId = r.bytesN(12, 'transaction id');
  if (length !== bytes.length - HEADER) throw new ProtocolError(`STUN length ${length} does not match the ${bytes.length - HEADER} bytes after the header`);
  const attributes: Attribute[] = [];
  while (!r.done) {
    if (attributes.length >= MAX_ATTRIBUTES) throw new ProtocolError(`more than ${MAX_ATTRIBUTES} STUN attributes`);
    const at = r.u16('attribute type');
    const len = r.u16('attribute length');
    const value = r.bytesN(len, `${attributeName(at)} value`);
    r.skip((4 - (len % 4)) % 4, 'attribute padding');
    attributes.push({ type: at, value });
  }
  return { ...splitType(type), transactionId, attributes, raw: bytes.slice() };
}

export function attribute(m: Pick<StunMessage, 'attributes'>, type: number): Uint8Array | undefined {
  return m.attributes.find((a) => a.type === type)?.value;
}

export interface TransportAddress {
  family: 'IPv4' | 'IPv6';
  address: string;
  port: number;
}

/** MAPPED-ADDRESS and friends (section 14.1); with `xor`, XOR-MAPPED-ADDRESS's X-Port and X-Address (14.2). */
export function decodeAddress(value: Uint8Array, transactionId: Uint8Array, xor: boolean): TransportAddress {
  const r = new ByteReader(value);
  r.u8('reserved');
  const family = r.u8('address family');
  if (family !== 1 && family !== 2) throw new ProtocolError(`address family ${family} is neither 1 (IPv4) nor 2 (IPv6)`);
  let port = r.u16('port');
  const bytes = r.bytesN(family === 1 ? 4 : 16, 'address').slice();
  if (xor) {
    port ^= MAGIC_COOKIE >>> 16;
    const mask = concat([new ByteWriter(4).u32(MAGIC_COOKIE).finish(), transactionId]);
    for (let i = 0; i < bytes.length; i++) bytes[i] ^= mask[i];
  }
  return { family: family === 1 ? 'IPv4' : 'IPv6', address: formatIp({ family: family === 1 ? 4 : 6, bytes }), port };
}

export function encodeXorAddress(addr: { address: string; port: number }, transactionId: Uint8Array): Uint8Array {
  const ip = parseIp(addr.address);
  if (!ip) throw InvalidInput.field('address', `${addr.address} is not an IP address`);
  const bytes = ip.bytes.slice();
  const mask = concat([new ByteWriter(4).u32(MAGIC_COOKIE).finish(), transactionId]);
  for (let i = 0; i < bytes.length; i++) bytes[i] ^= mask[i];
  return new ByteWriter(20).u8(0).u8(ip.family === 4 ? 1 : 2).u16(addr.port ^ (MAGIC_COOKIE >>> 16)).bytes(bytes).finish();
}

/** ERROR-CODE (section 14.8): class * 100 + number, and the reason phrase. */
export function decodeErrorCode(value: Uint8Array): { code: number; reason: string } {
  if (value.length < 4) throw new ProtocolError('ERROR-CODE shorter than 4 bytes');
  const code = (value[2] & 0x07) * 100 + value[3];
  return { code, reason: fromUtf8(value.subarray(4)) };
}

export function textAttribute(m: Pick<StunMessage, 'attributes'>, type: number): string | undefined {
  const v = attribute(m, type);
  return v ? fromUtf8(v) : undefined;
}

export function u32Attribute(m: Pick<StunMessage, 'attributes'>, type: number): number | undefined {
  const v = attribute(m, type);
  return v && v.length >= 4 ? new ByteReader(v).u32(attributeName(type)) : undefined;
}

/** Checks FINGERPRINT when present: true, false, or null when absent. */
export function fingerprintValid(m: StunMessage): boolean | null {
  const at = findAttributeOffset(m.raw, ATTR.FINGERPRINT);
  if (at < 0) return null;
  const expected = (crc32(m.raw.subarray(0, at)) ^ 0x5354554e) >>> 0;
  return new ByteReader(m.raw, at + 4).u32('FINGERPRINT') === expected;
}

/** Checks MESSAGE-INTEGRITY when present: the HMAC over the message up to it, length adjusted (section 14.5). */
export async function integrityValid(m: StunMessage, key: Uint8Array, hmacSha1: (key: Uint8Array, data: Uint8Array) => Promise<Uint8Array>): Promise<boolean | null> {
  const at = findAttributeOffset(m.raw, ATTR.MESSAGE_INTEGRITY);
  if (at < 0) return null;
  const covered = m.raw.slice(0, at);
  const len = at - HEADER + 24;
  covered[2] = len >> 8;
  covered[3] = len & 0xff;
  const mac = await hmacSha1(key, covered);
  const got = m.raw.subarray(at + 4, at + 24);
  return mac.length === got.length && mac.every((b, i) => b === got[i]);
}

function findAttributeOffset(raw: Uint8Array, type: number): number {
  let at = HEADER;
  while (at + 4 <= raw.length) {
    const t = (raw[at] << 8) | raw[at + 1];
    const len = (raw[at + 2] << 8) | raw[at + 3];
    if (t === type) return at;
    at += 4 + len + ((4 - (len % 4)) % 4);
  }
  return -1;
}

/** REQUESTED-TRANSPORT (RFC 8656 section 18.7): protocol 17 is UDP. */
export function requestedTransport(protocol = 17): Attribute {
  return { type: ATTR.REQUESTED_TRANSPORT, value: Uint8Array.of(protocol, 0, 0, 0) };
}

export function textAttr(type: number, text: string, max = 763): Attribute {
  const value = utf8(text);
  if (value.length > max) throw InvalidInput.field(attributeName(type).toLowerCase(), `longer than ${max} bytes`);
  return { type, value };
}

export function lifetimeAttr(seconds: number): Attribute {
  return { type: ATTR.LIFETIME, value: new ByteWriter(4).u32(seconds).finish() };
}

let table: Uint32Array | undefined;

/** CRC-32 (ISO-HDLC, the one zlib and STUN's FINGERPRINT use). */
export function crc32(bytes: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const b of bytes) crc = table[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
