// NKeys (nats-io/nkeys README and ADR "NKeys"): Ed25519 keys written as base32 with a type prefix and a CRC-16, and nonce signatures for CONNECT.
//
// A public key is base32(prefix byte ‖ 32-byte key ‖ CRC-16/XMODEM little endian); a seed is
// base32(two prefix bytes ‖ 32-byte Ed25519 seed ‖ CRC): 'S' (18 << 3) with the key type's five
// bits spread across both bytes, so a user seed reads "SU...". The server's INFO nonce is signed
// with the seed; CONNECT carries the public key and the signature in base64url without padding.
import { ed25519 } from '@noble/curves/ed25519.js';
import { toBase64, utf8 } from '../../core/bytes.ts';
import { InvalidInput } from '../../core/errors.ts';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function toBase32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function fromBase32(text: string, field: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const v = B32.indexOf(ch);
    if (v < 0) throw InvalidInput.field(field, 'is not an NKey (base32 letters A–Z and digits 2–7)');
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

/** CRC-16/XMODEM (polynomial 0x1021, initial 0), as nkeys computes it. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** Key type prefixes (nkeys PrefixByte*): the first letter of the encoded key. */
export const PREFIX = { seed: 18 << 3, operator: 14 << 3, server: 13 << 3, cluster: 2 << 3, account: 0, user: 20 << 3 } as const;

function withCrc(body: Uint8Array): string {
  const out = new Uint8Array(body.length + 2);
  out.set(body);
  const crc = crc16(body);
  out[body.length] = crc & 0xff;
  out[body.length + 1] = crc >> 8;
  return toBase32(out);
}

function checked(text: string, field: string): Uint8Array {
  const raw = fromBase32(text.trim(), field);
  if (raw.length < 3) throw InvalidInput.field(field, 'is too short to be an NKey');
  const body = raw.subarray(0, raw.length - 2);
  const crc = raw[raw.length - 2] | (raw[raw.length - 1] << 8);
  if (crc16(body) !== crc) throw InvalidInput.field(field, 'fails its CRC-16 check (mistyped or cut short)');
  return body;
}

export function encodePublicKey(prefix: number, key: Uint8Array): string {
  const body = new Uint8Array(33);
  body[0] = prefix;
  body.set(key, 1);
  return withCrc(body);
}

export function encodeSeed(prefix: number, seed: Uint8Array): string {
  const body = new Uint8Array(34);
  body[0] = PREFIX.seed | (prefix >> 5);
  body[1] = (prefix & 31) << 3;
  body.set(seed, 2);
  return withCrc(body);
}

export interface NKeyPair {
  /** The key type's prefix byte (PREFIX.user for a user). */
  prefix: number;
  seed: Uint8Array;
  publicKey: string;
}

/** Reads a seed ("SU..." for a user); throws InvalidInput naming `field` when it is not one. */
export function decodeSeed(text: string, field: string): NKeyPair {
  const body = checked(text, field);
  if (body.length !== 34 || (body[0] & 0xf8) !== PREFIX.seed) throw InvalidInput.field(field, 'is not an NKey seed (a seed starts with "S" and is 58 characters)');
  const prefix = ((body[0] & 7) << 5) | (body[1] >> 3);
  if (!Object.values(PREFIX).includes(prefix as never) || prefix === PREFIX.seed) throw InvalidInput.field(field, 'has an unknown key type');
  const seed = body.slice(2);
  return { prefix, seed, publicKey: encodePublicKey(prefix, ed25519.getPublicKey(seed)) };
}

/** The CONNECT `sig`: the nonce's bytes signed with the seed, base64url without padding. */
export function signNonce(pair: NKeyPair, nonce: string): string {
  return toBase64(ed25519.sign(utf8(nonce), pair.seed)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
