// IKEv1 (RFC 2408 ISAKMP, RFC 2409 IKE) Main Mode's first exchange: the SA payload with one ISAKMP proposal
// of transforms (RFC 2407 / 2409 Appendix A attributes) and the responder's chosen transform or notification.
import { ByteReader, ByteWriter, concat } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

export const V1_PAYLOAD = { SA: 1, PROPOSAL: 2, TRANSFORM: 3, NOTIFICATION: 11, VENDOR_ID: 13 } as const;
export const MAIN_MODE = 2;
const MAX_TRANSFORMS = 64;

/** RFC 2409 Appendix A attribute classes and values, as names. */
const ATTRIBUTES: Record<number, { name: string; values?: Record<number, string> }> = {
  1: { name: 'encryption', values: { 1: 'DES-CBC', 5: '3DES-CBC', 7: 'AES-CBC' } },
  2: { name: 'hash', values: { 1: 'MD5', 2: 'SHA1', 4: 'SHA2-256', 5: 'SHA2-384', 6: 'SHA2-512' } },
  3: { name: 'auth', values: { 1: 'pre-shared key', 3: 'RSA signature', 65001: 'XAUTH PSK' } },
  4: { name: 'group', values: { 1: 'MODP-768', 2: 'MODP-1024', 5: 'MODP-1536', 14: 'MODP-2048', 15: 'MODP-3072', 16: 'MODP-4096', 19: 'ECP-256', 20: 'ECP-384' } },
  11: { name: 'life type', values: { 1: 'seconds', 2: 'kilobytes' } },
  12: { name: 'life duration' },
  14: { name: 'key length' },
};

export const V1_NOTIFY: Record<number, string> = { 1: 'INVALID-PAYLOAD-TYPE', 5: 'INVALID-MAJOR-VERSION', 7: 'INVALID-EXCHANGE-TYPE', 14: 'NO-PROPOSAL-CHOSEN', 16: 'PAYLOAD-MALFORMED', 18: 'INVALID-KEY-INFORMATION', 24: 'AUTHENTICATION-FAILED' };

export interface V1Transform {
  number: number;
  id: number;
  /** Attribute class → value, all in the basic (TV) form. */
  attributes: [number, number][];
}

export function encodeV1Sa(transforms: V1Transform[]): Uint8Array {
  const ts = transforms.map((t, i) => {
    const attrs = new ByteWriter(4 * t.attributes.length);
    for (const [type, value] of t.attributes) attrs.u16(0x8000 | type).u16(value);
    const body = attrs.finish();
    return new ByteWriter(12 + body.length).u8(i === transforms.length - 1 ? 0 : V1_PAYLOAD.TRANSFORM).u8(0).u16(8 + body.length).u8(t.number).u8(t.id).u16(0).bytes(body).finish();
  });
  const tbytes = concat(ts);
  // Proposal 1, protocol ISAKMP (1), no SPI.
  const proposal = new ByteWriter(8 + tbytes.length).u8(0).u8(0).u16(8 + tbytes.length).u8(1).u8(1).u8(0).u8(transforms.length).bytes(tbytes).finish();
  // DOI IPsec (1), situation SIT_IDENTITY_ONLY (1).
  return new ByteWriter(8 + proposal.length).u32(1).u32(1).bytes(proposal).finish();
}

export function decodeV1Sa(body: Uint8Array): { doi: number; transforms: V1Transform[] } {
  const r = new ByteReader(body);
  const doi = r.u32('DOI');
  r.u32('situation');
  r.u8('proposal next payload');
  r.u8('reserved');
  const plen = r.u16('proposal length');
  const p = new ByteReader(r.bytesN(plen - 4, 'proposal'));
  p.u8('proposal number');
  p.u8('protocol id');
  const spiSize = p.u8('SPI size');
  const count = p.u8('number of transforms');
  if (count > MAX_TRANSFORMS) throw new ProtocolError(`${count} transforms in one proposal`);
  p.bytesN(spiSize, 'SPI');
  const transforms: V1Transform[] = [];
  for (let i = 0; i < count; i++) {
    p.u8('transform next payload');
    p.u8('reserved');
    const tlen = p.u16('transform length');
    if (tlen < 8) throw new ProtocolError(`transform length ${tlen} is under 8`);
    const t = new ByteReader(p.bytesN(tlen - 4, 'transform'));
    const number = t.u8('transform number');
    const id = t.u8('transform id');
    t.u16('reserved');
    const attributes: [number, number][] = [];
    while (!t.done) {
      const type = t.u16('attribute type');
      if (type & 0x8000) attributes.push([type & 0x7fff, t.u16('attribute value')]);
      else {
        // The variable (TLV) form: a value longer than 16 bits (a long lifetime), read as a number up to 4 bytes.
        const v = t.bytesN(t.u16('attribute length'), 'attribute value');
        attributes.push([type, v.length <= 4 ? v.reduce((a, b) => a * 256 + b, 0) : -1]);
      }
    }
    transforms.push({ number, id, attributes });
  }
  return { doi, transforms };
}

/** The attributes of a transform by name: `AES-CBC`, `key length 256`... */
export function describeV1Transform(t: V1Transform): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [type, value] of t.attributes) {
    const a = ATTRIBUTES[type];
    out[a?.name ?? `attribute ${type}`] = a?.values ? (a.values[value] ?? value) : value;
  }
  return out;
}

export function decodeV1Notification(body: Uint8Array): { type: number; name: string } {
  const r = new ByteReader(body);
  r.u32('DOI');
  r.u8('protocol id');
  r.u8('SPI size');
  const type = r.u16('notify message type');
  return { type, name: V1_NOTIFY[type] ?? `notify ${type}` };
}
