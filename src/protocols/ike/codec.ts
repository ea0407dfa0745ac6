// IKEv2 (RFC 7296) IKE_SA_INIT: the header, SA payload with proposals and transforms (section 3.3), KE,
// Nonce, Notify (3.10, with the error and status types), Vendor ID and NAT detection (2.23). Sans I/O.
import { ByteReader, ByteWriter, concat } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

const HEADER = 28;
const MAX_PAYLOADS = 64;
export const PAYLOAD = { SA: 33, KE: 34, NONCE: 40, NOTIFY: 41, VENDOR_ID: 43 } as const;
const PAYLOAD_NAMES: Record<number, string> = { 33: 'SA', 34: 'KE', 35: 'IDi', 36: 'IDr', 37: 'CERT', 38: 'CERTREQ', 39: 'AUTH', 40: 'Nonce', 41: 'Notify', 42: 'Delete', 43: 'Vendor ID', 44: 'TSi', 45: 'TSr', 46: 'SK', 47: 'CP', 48: 'EAP', 53: 'SKF' };

/** IANA "IKEv2 Transform Attribute Types" and transform IDs, as names. */
export const TRANSFORM_TYPES: Record<number, string> = { 1: 'ENCR', 2: 'PRF', 3: 'INTEG', 4: 'DH', 5: 'ESN' };
export const TRANSFORMS: Record<number, Record<number, string>> = {
  1: { 3: '3DES', 12: 'AES-CBC', 13: 'AES-CTR', 14: 'AES-CCM-8', 16: 'AES-CCM-16', 18: 'AES-GCM-8', 19: 'AES-GCM-12', 20: 'AES-GCM-16', 23: 'CAMELLIA-CBC', 28: 'CHACHA20-POLY1305' },
  2: { 1: 'PRF-HMAC-MD5', 2: 'PRF-HMAC-SHA1', 4: 'PRF-AES128-XCBC', 5: 'PRF-HMAC-SHA2-256', 6: 'PRF-HMAC-SHA2-384', 7: 'PRF-HMAC-SHA2-512', 8: 'PRF-AES128-CMAC' },
  3: { 0: 'NONE', 1: 'HMAC-MD5-96', 2: 'HMAC-SHA1-96', 5: 'AES-XCBC-96', 12: 'HMAC-SHA2-256-128', 13: 'HMAC-SHA2-384-192', 14: 'HMAC-SHA2-512-256' },
  4: { 0: 'NONE', 1: 'MODP-768', 2: 'MODP-1024', 5: 'MODP-1536', 14: 'MODP-2048', 15: 'MODP-3072', 16: 'MODP-4096', 17: 'MODP-6144', 18: 'MODP-8192', 19: 'ECP-256', 20: 'ECP-384', 21: 'ECP-521', 31: 'Curve25519', 32: 'Curve448' },
  5: { 0: 'No ESN', 1: 'ESN' },
};

/** Public value sizes (bytes) of the DH groups we can send a KE for. */
export const KE_SIZES: Record<number, number> = { 2: 128, 5: 192, 14: 256, 15: 384, 16: 512, 19: 64, 20: 96, 21: 132, 31: 32, 32: 56 };

export const NOTIFY_TYPES: Record<number, string> = {
  1: 'UNSUPPORTED_CRITICAL_PAYLOAD', 4: 'INVALID_IKE_SPI', 5: 'INVALID_MAJOR_VERSION', 7: 'INVALID_SYNTAX', 9: 'INVALID_MESSAGE_ID', 11: 'INVALID_SPI', 14: 'NO_PROPOSAL_CHOSEN', 17: 'INVALID_KE_PAYLOAD', 24: 'AUTHENTICATION_FAILED', 34: 'SINGLE_PAIR_REQUIRED', 35: 'NO_ADDITIONAL_SAS', 36: 'INTERNAL_ADDRESS_FAILURE', 37: 'FAILED_CP_REQUIRED', 38: 'TS_UNACCEPTABLE', 39: 'INVALID_SELECTORS', 43: 'TEMPORARY_FAILURE', 44: 'CHILD_SA_NOT_FOUND',
  16384: 'INITIAL_CONTACT', 16385: 'SET_WINDOW_SIZE', 16388: 'NAT_DETECTION_SOURCE_IP', 16389: 'NAT_DETECTION_DESTINATION_IP', 16390: 'COOKIE', 16391: 'USE_TRANSPORT_MODE', 16392: 'HTTP_CERT_LOOKUP_SUPPORTED', 16396: 'MOBIKE_SUPPORTED',
  16404: 'MULTIPLE_AUTH_SUPPORTED', 16406: 'REDIRECT_SUPPORTED', 16407: 'REDIRECT', 16408: 'REDIRECTED_FROM', 16417: 'EAP_ONLY_AUTHENTICATION', 16418: 'CHILDLESS_IKEV2_SUPPORTED',
  16430: 'IKEV2_FRAGMENTATION_SUPPORTED', 16431: 'SIGNATURE_HASH_ALGORITHMS', 16432: 'CLONE_IKE_SA_SUPPORTED', 16434: 'PUZZLE', 16435: 'USE_PPK', 16436: 'PPK_IDENTITY', 16437: 'NO_PPK_AUTH', 16438: 'INTERMEDIATE_EXCHANGE_SUPPORTED',
};

export interface Transform {
  type: number;
  id: number;
  keyLength?: number;
}

export interface Proposal {
  number: number;
  protocol: number;
  spi: Uint8Array;
  transforms: Transform[];
}

export interface Notify {
  protocol: number;
  type: number;
  spi: Uint8Array;
  data: Uint8Array;
}

export interface Message {
  spiI: Uint8Array;
  spiR: Uint8Array;
  exchange: number;
  flags: number;
  messageId: number;
  /** Payloads in order: type and body (after the generic header). */
  payloads: { type: number; body: Uint8Array }[];
}

export function transformName(t: Transform): string {
  const n = TRANSFORMS[t.type]?.[t.id] ?? `${TRANSFORM_TYPES[t.type] ?? `type ${t.type}`} ${t.id}`;
  return t.keyLength ? `${n}-${t.keyLength}` : n;
}

export function encodeSa(proposals: Proposal[]): Uint8Array {
  const w = new ByteWriter(256);
  proposals.forEach((p, pi) => {
    const t = new ByteWriter(128);
    p.transforms.forEach((x, ti) => {
      const attrs = x.keyLength ? new ByteWriter(4).u16(0x800e).u16(x.keyLength).finish() : new Uint8Array(0);
      t.u8(ti === p.transforms.length - 1 ? 0 : 3).u8(0).u16(8 + attrs.length).u8(x.type).u8(0).u16(x.id).bytes(attrs);
    });
    const tb = t.finish();
    w.u8(pi === proposals.length - 1 ? 0 : 2).u8(0).u16(8 + p.spi.length + tb.length).u8(p.number).u8(p.protocol).u8(p.spi.length).u8(p.transforms.length).bytes(p.spi).bytes(tb);
  });
  return w.finish();
}

export function decodeSa(body: Uint8Array): Proposal[] {
  const r = new ByteReader(body);
  const out: Proposal[] = [];
  while (!r.done) {
    if (out.length >= 64) throw new ProtocolError('more than 64 proposals');
    r.u8('last substructure');
    r.u8('reserved');
    const len = r.u16('proposal length');
    if (len < 8) throw new ProtocolError(`proposal length ${len} is under 8`);
    const p = new ByteReader(r.bytesN(len - 4, 'proposal'));
    const number = p.u8('proposal number');
    const protocol = p.u8('protocol id');
    const spiSize = p.u8('SPI size');
    const count = p.u8('number of transforms');
    const spi = p.bytesN(spiSize, 'SPI');
    const transforms: Transform[] = [];
    for (let i = 0; i < count; i++) {
      p.u8('last substructure');
      p.u8('reserved');
      const tlen = p.u16('transform length');
      if (tlen < 8) throw new ProtocolError(`transform length ${tlen} is under 8`);
      const t = new ByteReader(p.bytesN(tlen - 4, 'transform'));
      const type = t.u8('transform type');
      t.u8('reserved');
      const id = t.u16('transform id');
      let keyLength: number | undefined;
      while (t.remaining >= 4) {
        const at = t.u16('attribute type');
        if (at & 0x8000) {
          const v = t.u16('attribute value');
          if ((at & 0x7fff) === 14) keyLength = v;
        } else t.lengthPrefixed('u16', 'attribute value');
      }
      transforms.push({ type, id, ...(keyLength ? { keyLength } : {}) });
    }
    out.push({ number, protocol, spi, transforms });
  }
  return out;
}

export function encodeNotify(type: number, data: Uint8Array): Uint8Array {
  return new ByteWriter(8 + data.length).u8(0).u8(0).u16(type).bytes(data).finish();
}

export function decodeNotify(body: Uint8Array): Notify {
  const r = new ByteReader(body);
  const protocol = r.u8('protocol id');
  const spiSize = r.u8('SPI size');
  const type = r.u16('notify message type');
  return { protocol, type, spi: r.bytesN(spiSize, 'SPI'), data: r.rest() };
}

/** A whole IKE message from payloads: each payload's generic header names the next one. */
export function encodeMessage(h: { spiI: Uint8Array; spiR: Uint8Array; exchange: number; flags: number; messageId: number; version?: number }, payloads: { type: number; body: Uint8Array }[]): Uint8Array {
  const parts = payloads.map((p, i) => new ByteWriter(4 + p.body.length).u8(payloads[i + 1]?.type ?? 0).u8(0).u16(4 + p.body.length).bytes(p.body).finish());
  const body = concat(parts);
  return new ByteWriter(HEADER + body.length).bytes(h.spiI).bytes(h.spiR).u8(payloads[0]?.type ?? 0).u8(h.version ?? 0x20).u8(h.exchange).u8(h.flags).u32(h.messageId).u32(HEADER + body.length).bytes(body).finish();
}

/** `major`: 2, or 1 for an ISAKMP (IKEv1) message, whose header and generic payload header are the same. */
export function decodeMessage(bytes: Uint8Array, major = 2): Message {
  const r = new ByteReader(bytes);
  const spiI = r.bytesN(8, 'initiator SPI');
  const spiR = r.bytesN(8, 'responder SPI');
  let next = r.u8('next payload');
  const version = r.u8('version');
  if (major === 1 && version >> 4 !== 1) throw new ProtocolError(`IKE major version ${version >> 4}, not 1`);
  if (major === 2 && version >> 4 !== 2) throw new ProtocolError(`IKE major version ${version >> 4}, not 2${version >> 4 === 1 ? ' (an IKEv1 responder)' : ''}`);
  const exchange = r.u8('exchange type');
  const flags = r.u8('flags');
  const messageId = r.u32('message id');
  const length = r.u32('length');
  if (length !== bytes.length) throw new ProtocolError(`IKE length ${length} does not match the ${bytes.length}-byte datagram`);
  const payloads: { type: number; body: Uint8Array }[] = [];
  while (next !== 0) {
    if (payloads.length >= MAX_PAYLOADS) throw new ProtocolError(`more than ${MAX_PAYLOADS} payloads`);
    const type = next;
    next = r.u8('next payload');
    r.u8('critical and reserved');
    const len = r.u16('payload length');
    if (len < 4) throw new ProtocolError(`payload length ${len} is under 4`);
    payloads.push({ type, body: r.bytesN(len - 4, `${PAYLOAD_NAMES[type] ?? type} payload`) });
    // SK: the rest is encrypted and the next-payload field names the first inner payload.
    if (type === 46 && major === 2) break;
  }
  return { spiI, spiR, exchange, flags, messageId, payloads };
}

/**
 * RFC 3948 section 2.2: on the NAT-T port an IKE message follows four zero bytes, the non-ESP marker;
 * anything else arriving there is ESP (RFC 7296 section 2.23 lets an initiator start on that port).
 */
export function addNonEspMarker(message: Uint8Array): Uint8Array {
  return concat([new Uint8Array(4), message]);
}

/** The IKE message after the non-ESP marker, or undefined for a datagram without it (ESP). */
export function stripNonEspMarker(datagram: Uint8Array): Uint8Array | undefined {
  return datagram.length >= 4 && (datagram[0] | datagram[1] | datagram[2] | datagram[3]) === 0 ? datagram.subarray(4) : undefined;
}

/** RFC 7296 section 2.23: SHA-1(SPIi | SPIr | IP address | port). */
export function natDetectionInput(spiI: Uint8Array, spiR: Uint8Array, ip: Uint8Array, port: number): Uint8Array {
  return concat([spiI, spiR, ip, new ByteWriter(2).u16(port).finish()]);
}

export function describe(m: Message): string {
  const ex: Record<number, string> = { 34: 'IKE_SA_INIT', 35: 'IKE_AUTH', 36: 'CREATE_CHILD_SA', 37: 'INFORMATIONAL' };
  return `${ex[m.exchange] ?? `exchange ${m.exchange}`} ${m.flags & 0x20 ? 'response' : 'request'}: ${m.payloads.map((p) => (p.type === PAYLOAD.NOTIFY ? `N(${NOTIFY_TYPES[decodeNotify(p.body).type] ?? decodeNotify(p.body).type})` : (PAYLOAD_NAMES[p.type] ?? p.type))).join(', ')}`;
}
