// RADIUS packets, RFC 2865 §3–§5 (Access), RFC 2866 §3–§4 (Accounting), RFC 3579 §3.2 (Message-Authenticator),
// RFC 5997 (Status-Server); the same packets carry RADIUS over TCP (RFC 6613) and over TLS (RFC 6614).
//
// How it works: a packet is Code, Identifier, Length (20–4096, RFC 2865 §3), a 16-octet Authenticator and
// type-length-value attributes. Requests are built with their authenticator (random for Access-Request and
// Status-Server, the MD5 of the packet and secret for Accounting-Request, RFC 2866 §3) and, when asked, a
// Message-Authenticator (HMAC-MD5 over the packet with that attribute zeroed). Replies are checked: the
// Response Authenticator is MD5(Code+ID+Length+RequestAuth+Attributes+Secret), and a Message-Authenticator,
// when present, must verify. Passwords are hidden as RFC 2865 §5.2 says; the secret never leaves this module.
import { concat, fromUtf8, toHex, utf8 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { ATTRIBUTES, attributeByName, VENDORS, type AttrDef } from './dictionary.ts';

export const Code = {
  'Access-Request': 1,
  'Access-Accept': 2,
  'Access-Reject': 3,
  'Accounting-Request': 4,
  'Accounting-Response': 5,
  'Access-Challenge': 11,
  'Status-Server': 12,
  'Status-Client': 13,
  'Disconnect-Request': 40,
  'Disconnect-ACK': 41,
  'Disconnect-NAK': 42,
  'CoA-Request': 43,
  'CoA-ACK': 44,
  'CoA-NAK': 45,
  'Protocol-Error': 52,
} as const;
export type CodeName = keyof typeof Code;
const CODE_NAMES = new Map<number, CodeName>(Object.entries(Code).map(([k, v]) => [v, k as CodeName]));

export function codeName(code: number): string {
  return CODE_NAMES.get(code) ?? `code ${code}`;
}

/** RFC 2865 §3: Length is 20–4096. */
export const MIN_PACKET = 20;
export const MAX_PACKET = 4096;
const MESSAGE_AUTHENTICATOR = 80;

export interface RawAttribute {
  type: number;
  value: Uint8Array;
}

export interface Packet {
  code: number;
  identifier: number;
  authenticator: Uint8Array;
  attributes: RawAttribute[];
  /** The packet as it came. */
  raw: Uint8Array;
}

/** A stream frame for RADIUS over TCP and TLS (RFC 6613 §2.1): the Length field delimits each packet. */
export const packetFrame: Frame<Uint8Array> = (buf) => {
  if (buf.length < 4) return undefined;
  const length = (buf[2] << 8) | buf[3];
  if (length < MIN_PACKET || length > MAX_PACKET) throw new ProtocolError(`RADIUS Length ${length} is outside ${MIN_PACKET}–${MAX_PACKET} (RFC 2865 §3)`);
  if (buf.length < length) return undefined;
  return { value: buf.slice(0, length), size: length };
};

export function decodePacket(bytes: Uint8Array): Packet {
  if (bytes.length < MIN_PACKET) throw new ProtocolError(`RADIUS packet of ${bytes.length} bytes: shorter than ${MIN_PACKET}`);
  const length = (bytes[2] << 8) | bytes[3];
  if (length < MIN_PACKET || length > MAX_PACKET) throw new ProtocolError(`RADIUS Length ${length} is outside ${MIN_PACKET}–${MAX_PACKET}`);
  // RFC 2865 §3: octets beyond Length are padding and ignored; fewer than Length is a malformed packet.
  if (bytes.length < length) throw new ProtocolError(`RADIUS Length ${length} but only ${bytes.length} bytes`);
  // A plain copy: a Node Buffer's slice() is a view, and the checks below write into their copies.
  const raw = new Uint8Array(bytes.subarray(0, length));
  const attributes: RawAttribute[] = [];
  for (let at = MIN_PACKET; at < length; ) {
    if (at + 2 > length) throw new ProtocolError(`RADIUS attribute header cut off at offset ${at}`);
    const type = raw[at];
    const len = raw[at + 1];
    if (len < 2 || at + len > length) throw new ProtocolError(`RADIUS attribute ${type} at offset ${at} has length ${len}, beyond the packet`);
    attributes.push({ type, value: raw.slice(at + 2, at + len) });
    at += len;
  }
  return { code: raw[0], identifier: raw[1], authenticator: raw.slice(4, 20), attributes, raw };
}

function header(code: number, identifier: number, authenticator: Uint8Array, attrs: Uint8Array): Uint8Array {
  const length = MIN_PACKET + attrs.length;
  if (length > MAX_PACKET) throw new ProtocolError(`RADIUS packet of ${length} bytes exceeds ${MAX_PACKET}`);
  return concat([Uint8Array.of(code, identifier, length >> 8, length & 0xff), authenticator, attrs]);
}

export function encodeAttributes(attrs: readonly RawAttribute[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const a of attrs) {
    if (a.value.length > 253) throw new ProtocolError(`RADIUS attribute ${a.type}: value of ${a.value.length} bytes exceeds 253`);
    parts.push(Uint8Array.of(a.type, a.value.length + 2), a.value);
  }
  return concat(parts);
}

/** RFC 2865 §5.2: the password padded to a multiple of 16, each block XORed with MD5(secret + previous block), the first with the Request Authenticator. */
export function hidePassword(crypto: CryptoPort, password: Uint8Array, secret: Uint8Array, requestAuthenticator: Uint8Array): Uint8Array {
  if (password.length > 128) throw new ProtocolError('User-Password longer than 128 bytes (RFC 2865 §5.2)');
  const padded = new Uint8Array(Math.max(16, Math.ceil(password.length / 16) * 16));
  padded.set(password);
  const out = new Uint8Array(padded.length);
  let prev = requestAuthenticator;
  for (let i = 0; i < padded.length; i += 16) {
    const b = crypto.md5(concat([secret, prev]));
    for (let j = 0; j < 16; j++) out[i + j] = padded[i + j] ^ b[j];
    prev = out.subarray(i, i + 16);
  }
  return out;
}

/** RFC 1994 §4.1 via RFC 2865 §5.3: CHAP-Password = CHAP Ident + MD5(Ident + password + challenge). */
export function chapPassword(crypto: CryptoPort, ident: number, password: Uint8Array, challenge: Uint8Array): Uint8Array {
  return concat([Uint8Array.of(ident), crypto.md5(concat([Uint8Array.of(ident), password, challenge]))]);
}

/** Sets the Message-Authenticator value in place: HMAC-MD5 over the packet with the attribute zeroed (RFC 3579 §3.2). */
function signMessageAuthenticator(crypto: CryptoPort, packet: Uint8Array, secret: Uint8Array): void {
  const at = findAttribute(packet, MESSAGE_AUTHENTICATOR);
  if (at < 0) return;
  packet.fill(0, at + 2, at + 18);
  packet.set(crypto.hmacMd5(secret, packet), at + 2);
}

function findAttribute(packet: Uint8Array, type: number): number {
  for (let at = MIN_PACKET; at + 2 <= packet.length; at += Math.max(2, packet[at + 1])) if (packet[at] === type) return at;
  return -1;
}

export interface RequestOptions {
  code: number;
  identifier: number;
  attributes: RawAttribute[];
  secret: Uint8Array;
  /** Random 16 octets for Access-Request and Status-Server (RFC 2865 §3); ignored for Accounting-Request. */
  authenticator: Uint8Array;
  messageAuthenticator: boolean;
}

/** A request packet with its authenticator and, when asked, its Message-Authenticator. */
export function encodeRequest(crypto: CryptoPort, o: RequestOptions): Uint8Array {
  const attrs = [...o.attributes];
  // RFC 3579 §3.2: Message-Authenticator is 16 zero octets while the HMAC is computed.
  if (o.messageAuthenticator) attrs.push({ type: MESSAGE_AUTHENTICATOR, value: new Uint8Array(16) });
  const body = encodeAttributes(attrs);
  // RFC 2866 §3 (and RFC 5176 §2.3): an Accounting-Request authenticator is MD5 over the packet with 16 zero octets there, plus the secret.
  const signedByMd5 = o.code === Code['Accounting-Request'] || o.code === Code['Disconnect-Request'] || o.code === Code['CoA-Request'];
  const packet = header(o.code, o.identifier, signedByMd5 ? new Uint8Array(16) : o.authenticator, body);
  if (signedByMd5) {
    // RFC 5080 §2.2.2: the Message-Authenticator is computed first, over the zero authenticator.
    signMessageAuthenticator(crypto, packet, o.secret);
    packet.set(crypto.md5(concat([packet, o.secret])), 4);
  } else signMessageAuthenticator(crypto, packet, o.secret);
  return packet;
}

export interface Verified {
  responseAuthenticator: boolean;
  messageAuthenticator: boolean | null;
}

/** Checks a reply against the request it answers; throws ProtocolError when a check fails. */
export function verifyReply(crypto: CryptoPort, reply: Packet, requestAuthenticator: Uint8Array, secret: Uint8Array): Verified {
  const copy = new Uint8Array(reply.raw);
  copy.set(requestAuthenticator, 4);
  const expected = crypto.md5(concat([copy, secret]));
  if (toHex(expected) !== toHex(reply.authenticator)) {
    throw new ProtocolError(`the ${codeName(reply.code)}'s Response Authenticator does not verify: the shared secret differs from the server's, or the reply was altered (RFC 2865 §3)`);
  }
  const at = findAttribute(copy, MESSAGE_AUTHENTICATOR);
  if (at < 0) return { responseAuthenticator: true, messageAuthenticator: null };
  const got = copy.slice(at + 2, at + 18);
  copy.fill(0, at + 2, at + 18);
  if (toHex(crypto.hmacMd5(secret, copy)) !== toHex(got)) throw new ProtocolError(`the ${codeName(reply.code)}'s Message-Authenticator does not verify (RFC 3579 §3.2)`);
  return { responseAuthenticator: true, messageAuthenticator: true };
}

// Attribute values

export interface DecodedAttribute {
  type: number;
  name: string;
  vendor?: string;
  vendorId?: number;
  vendorType?: number;
  value: string | number;
  /** The raw value as hex, for octets and unknown attributes. */
  hex?: string;
}

function ipv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** One value by its dictionary type; a value of the wrong size is shown as hex rather than guessed. */
export function decodeValue(def: AttrDef | undefined, v: Uint8Array): { value: string | number; hex?: string } {
  const asHex = { value: toHex(v), hex: toHex(v) };
  if (!def) return asHex;
  if (def.secret) return { value: `(hidden, ${v.length} bytes)` };
  switch (def.type) {
    case 'text':
    case 'string':
      try {
        return { value: fromUtf8(v, true) };
      } catch {
        return asHex;
      }
    case 'integer':
    case 'date': {
      if (v.length !== 4) return asHex;
      const n = ((v[0] << 24) >>> 0) + (v[1] << 16) + (v[2] << 8) + v[3];
      if (def.type === 'date') return { value: new Date(n * 1000).toISOString() };
      return { value: def.values?.[n] ?? n };
    }
    case 'ipaddr':
      return v.length === 4 ? { value: Array.from(v).join('.') } : asHex;
    case 'ipv6addr':
      return v.length === 16 ? { value: ipv6(v) } : asHex;
    case 'ipv6prefix': {
      if (v.length < 2 || v[1] > 128) return asHex;
      const full = new Uint8Array(16);
      full.set(v.subarray(2, 18));
      return { value: `${ipv6(full)}/${v[1]}` };
    }
    default:
      return asHex;
  }
}

/** Names and values of a reply's attributes, Vendor-Specific ones split into their sub-attributes (RFC 2865 §5.26). */
export function decodeAttributes(attrs: readonly RawAttribute[]): DecodedAttribute[] {
  const out: DecodedAttribute[] = [];
  for (const a of attrs) {
    if (a.type === 26 && a.value.length >= 6) {
      const vendorId = ((a.value[0] << 24) >>> 0) + (a.value[1] << 16) + (a.value[2] << 8) + a.value[3];
      const vendor = VENDORS[vendorId];
      let at = 4;
      let ok = true;
      const subs: DecodedAttribute[] = [];
      while (at < a.value.length) {
        const t = a.value[at];
        const len = a.value[at + 1];
        if (len === undefined || len < 2 || at + len > a.value.length) {
          ok = false;
          break;
        }
        const def = vendor?.attributes[t];
        subs.push({ type: 26, name: def?.name ?? `${vendor?.name ?? `Vendor-${vendorId}`}-Attr-${t}`, vendor: vendor?.name ?? `Vendor-${vendorId}`, vendorId, vendorType: t, ...decodeValue(def, a.value.subarray(at + 2, at + len)) });
        at += len;
      }
      if (ok) {
        out.push(...subs);
        continue;
      }
    }
    const def = ATTRIBUTES[a.type];
    out.push({ type: a.type, name: def?.name ?? `Attr-${a.type}`, ...decodeValue(def, a.value) });
  }
  return out;
}

/** A value for the wire from its dictionary type; throws ProtocolError naming the attribute when it does not fit. */
export function encodeValue(name: string, value: string | number): RawAttribute {
  const found = attributeByName(name);
  if (!found) throw new ProtocolError(`unknown RADIUS attribute ${name}`);
  const { def } = found;
  let bytes: Uint8Array;
  switch (def.type) {
    case 'integer':
    case 'date': {
      let n = typeof value === 'number' ? value : Number.NaN;
      if (typeof value === 'string') {
        const named = Object.entries(def.values ?? {}).find(([, v]) => v.toLowerCase() === value.toLowerCase());
        n = named ? Number(named[0]) : /^\d+$/.test(value) ? Number(value) : Number.NaN;
      }
      if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new ProtocolError(`${name}: ${JSON.stringify(value)} is not a 32-bit value${def.values ? ` or one of ${Object.values(def.values).join(', ')}` : ''}`);
      bytes = Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
      break;
    }
    case 'ipaddr': {
      const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(String(value));
      if (!m || m.slice(1).some((x) => Number(x) > 255)) throw new ProtocolError(`${name}: ${JSON.stringify(value)} is not an IPv4 address`);
      bytes = Uint8Array.from(m.slice(1).map(Number));
      break;
    }
    case 'octets': {
      const hex = String(value).replace(/^0x/i, '');
      if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new ProtocolError(`${name}: give octets as hex`);
      bytes = Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
      break;
    }
    default:
      bytes = utf8(String(value));
  }
  if (found.vendor !== undefined) {
    const v = found.vendor;
    bytes = concat([Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255, found.type, bytes.length + 2), bytes]);
    return { type: 26, value: bytes };
  }
  return { type: found.type, value: bytes };
}

/** One line for the transcript: never an attribute marked secret. */
export function describePacket(p: Packet): string {
  const attrs = decodeAttributes(p.attributes).map((a) => `${a.name}=${typeof a.value === 'string' ? JSON.stringify(a.value).slice(0, 60) : a.value}`);
  return `${codeName(p.code)} id=${p.identifier} len=${p.raw.length}${attrs.length ? ` ${attrs.join(' ')}` : ''}`;
}
