// MySQL/MariaDB authentication plugins: mysql_native_password, caching_sha2_password (and sha256_password's RSA step),
// MariaDB client_ed25519 (MySQL Internals "Authentication Methods"; MariaDB KB "Authentication Plugin - ed25519";
// MariaDB server plugin/auth_ed25519/ref10/sign.c for the exact signing).
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64, utf8 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i % b.length];
  return out;
}

/** mysql_native_password: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))); empty password → empty response. */
export function nativePassword(crypto: CryptoPort, password: string, scramble: Uint8Array): Uint8Array {
  if (password === '') return new Uint8Array(0);
  const stage1 = crypto.sha1Sync(utf8(password));
  const stage2 = crypto.sha1Sync(stage1);
  const seed = new Uint8Array([...scramble.subarray(0, 20), ...stage2]);
  return xor(stage1, crypto.sha1Sync(seed));
}

/** caching_sha2_password fast path: SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble). */
export async function cachingSha2Password(crypto: CryptoPort, password: string, scramble: Uint8Array): Promise<Uint8Array> {
  if (password === '') return new Uint8Array(0);
  const p1 = await crypto.digest('SHA-256', utf8(password));
  const p2 = await crypto.digest('SHA-256', p1);
  const seed = new Uint8Array(p2.length + scramble.length);
  seed.set(p2);
  seed.set(scramble, p2.length);
  return xor(p1, await crypto.digest('SHA-256', seed));
}

/** caching_sha2_password AuthMoreData status bytes. */
export const CACHING_SHA2 = { REQUEST_PUBLIC_KEY: 0x02, FAST_AUTH_SUCCESS: 0x03, PERFORM_FULL_AUTH: 0x04 } as const;

/** The DER body of a PEM "PUBLIC KEY" (SubjectPublicKeyInfo); PKCS#1 "RSA PUBLIC KEY" is wrapped into SPKI. */
export function pemToSpki(pem: string): Uint8Array {
  const m = /-----BEGIN (RSA )?PUBLIC KEY-----([\s\S]*?)-----END (RSA )?PUBLIC KEY-----/.exec(pem);
  if (!m) throw new ProtocolError('server public key is not a PEM PUBLIC KEY');
  const der = fromBase64(m[2]);
  if (!m[1]) return der;
  // PKCS#1 RSAPublicKey → SPKI: SEQUENCE { AlgorithmIdentifier rsaEncryption NULL, BIT STRING { der } }
  const alg = Uint8Array.from([0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00]);
  const bitString = concatDer(0x03, Uint8Array.from([0x00, ...der]));
  return concatDer(0x30, Uint8Array.from([...alg, ...bitString]));
}

function concatDer(tag: number, body: Uint8Array): Uint8Array {
  const len = body.length;
  const head = len < 0x80 ? [tag, len] : len < 0x100 ? [tag, 0x81, len] : [tag, 0x82, len >> 8, len & 0xff];
  return Uint8Array.from([...head, ...body]);
}

/**
 * caching_sha2_password / sha256_password full authentication over plain TCP:
 * RSA-OAEP (SHA-1, as OpenSSL's RSA_PKCS1_OAEP_PADDING) of (password + NUL) XOR scramble.
 */
export async function rsaEncryptPassword(crypto: CryptoPort, password: string, scramble: Uint8Array, pem: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('spki', pemToSpki(pem) as BufferSource, { name: 'RSA-OAEP', hash: 'SHA-1' }, false, ['encrypt']);
  const plain = xor(new Uint8Array([...utf8(password), 0]), scramble);
  return new Uint8Array(await crypto.subtle.encrypt({ name: 'RSA-OAEP' }, key, plain as BufferSource));
}

function bytesToNumberLE(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
  return n;
}

function numberToBytesLE(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/**
 * MariaDB client_ed25519: an Ed25519 signature of the server's 32-byte scramble where the
 * expanded secret key is SHA-512 of the password itself (not of a 32-byte seed):
 * az = SHA512(password), clamp az[0..32]; r = SHA512(az[32..64] || m) mod L; R = rB;
 * A = aB; S = (r + SHA512(R || A || m) · a) mod L; signature R || S.
 */
export async function ed25519Password(crypto: CryptoPort, password: string, scramble: Uint8Array): Promise<{ signature: Uint8Array; publicKey: Uint8Array }> {
  const az = await crypto.digest('SHA-512', utf8(password));
  const a = az.slice(0, 32);
  a[0] &= 248;
  a[31] &= 63;
  a[31] |= 64;
  const scalar = bytesToNumberLE(a) % L;
  const publicKey = ed25519.Point.BASE.multiply(scalar).toBytes();
  const nonceHash = await crypto.digest('SHA-512', new Uint8Array([...az.subarray(32, 64), ...scramble]));
  const r = bytesToNumberLE(nonceHash) % L;
  if (r === 0n) throw new ProtocolError('ed25519 nonce reduced to zero');
  const R = ed25519.Point.BASE.multiply(r).toBytes();
  const hram = bytesToNumberLE(await crypto.digest('SHA-512', new Uint8Array([...R, ...publicKey, ...scramble]))) % L;
  const S = (r + hram * scalar) % L;
  const signature = new Uint8Array(64);
  signature.set(R);
  signature.set(numberToBytesLE(S, 32), 32);
  return { signature, publicKey };
}
