// Kerberos encryption types: aes128/256-cts-hmac-sha1-96 (RFC 3962 over the RFC 3961 simplified profile) and
// aes128-cts-hmac-sha256-128 / aes256-cts-hmac-sha384-192 (RFC 8009).
//
// How it works: a password becomes a base key by PBKDF2 and one derivation (string-to-key); every message is
// protected with keys derived from the base key for its key usage: Ke encrypts, Ki authenticates, Kc checksums.
// Encryption is AES in CBC mode with ciphertext stealing (RFC 3962 §5, "CBC-CS3": the last two blocks swapped),
// after a random 16-octet confounder, followed by a truncated HMAC. AES-ECB and unpadded CBC come from
// @noble/ciphers (WebCrypto has neither); PBKDF2 and HMAC from WebCrypto.
import { cbc, ecb } from '@noble/ciphers/aes.js';
import { concat, toHex, utf8 } from '../../core/bytes.ts';
import type { CryptoPort, HashName } from '../../core/crypto.ts';
import { PortolanError } from '../../core/errors.ts';

export interface Enctype {
  id: number;
  name: string;
  keyBytes: number;
  /** Truncated HMAC length of the integrity tag and checksum, in bytes. */
  macBytes: number;
  hash: HashName;
  /** RFC 3962 (SHA-1, DK with n-fold) or RFC 8009 (SHA-2 KDF). */
  family: 'rfc3962' | 'rfc8009';
  defaultIterations: number;
  checksumType: number;
}

export const ENCTYPES: Record<number, Enctype> = {
  17: { id: 17, name: 'aes128-cts-hmac-sha1-96', keyBytes: 16, macBytes: 12, hash: 'SHA-1', family: 'rfc3962', defaultIterations: 4096, checksumType: 15 },
  18: { id: 18, name: 'aes256-cts-hmac-sha1-96', keyBytes: 32, macBytes: 12, hash: 'SHA-1', family: 'rfc3962', defaultIterations: 4096, checksumType: 16 },
  19: { id: 19, name: 'aes128-cts-hmac-sha256-128', keyBytes: 16, macBytes: 16, hash: 'SHA-256', family: 'rfc8009', defaultIterations: 32768, checksumType: 19 },
  20: { id: 20, name: 'aes256-cts-hmac-sha384-192', keyBytes: 32, macBytes: 24, hash: 'SHA-384', family: 'rfc8009', defaultIterations: 32768, checksumType: 20 },
};

/** Names of enctypes a KDC may offer that Portolan does not implement (RFC 3961 §8, RFC 4757, RFC 6803). */
export const OTHER_ENCTYPES: Record<number, string> = {
  1: 'des-cbc-crc',
  3: 'des-cbc-md5',
  16: 'des3-cbc-sha1-kd',
  23: 'rc4-hmac',
  24: 'rc4-hmac-exp',
  25: 'camellia128-cts-cmac',
  26: 'camellia256-cts-cmac',
};

export function enctypeName(id: number): string {
  return ENCTYPES[id]?.name ?? OTHER_ENCTYPES[id] ?? `enctype ${id}`;
}

const BLOCK = 16;

function aesEncryptBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  return ecb(key, { disablePadding: true }).encrypt(block);
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** RFC 3962 §5: AES-CBC with ciphertext stealing, IV zero; a single block is plain AES. */
export function ctsEncrypt(key: Uint8Array, plain: Uint8Array): Uint8Array {
  if (plain.length < BLOCK) throw new PortolanError('protocol_error', 'AES-CTS needs at least one block');
  if (plain.length === BLOCK) return aesEncryptBlock(key, plain);
  const padded = new Uint8Array(Math.ceil(plain.length / BLOCK) * BLOCK);
  padded.set(plain);
  const c = cbc(key, new Uint8Array(BLOCK), { disablePadding: true }).encrypt(padded);
  const n = c.length / BLOCK;
  const lastLen = plain.length - (n - 1) * BLOCK;
  // Swap the last two blocks; the (new) last one keeps only as many bytes as the plaintext's last block.
  return concat([c.subarray(0, (n - 2) * BLOCK), c.subarray((n - 1) * BLOCK, n * BLOCK), c.subarray((n - 2) * BLOCK, (n - 2) * BLOCK + lastLen)]);
}

export function ctsDecrypt(key: Uint8Array, cipher: Uint8Array): Uint8Array {
  if (cipher.length < BLOCK) throw new PortolanError('protocol_error', 'Kerberos ciphertext shorter than one AES block');
  const dec = ecb(key, { disablePadding: true });
  if (cipher.length === BLOCK) return dec.decrypt(cipher);
  const n = Math.ceil(cipher.length / BLOCK);
  const lastLen = cipher.length - (n - 1) * BLOCK;
  const head = cipher.subarray(0, (n - 2) * BLOCK);
  const cnMinus1 = cipher.subarray((n - 2) * BLOCK, (n - 1) * BLOCK); // the swapped: E(P_{n-1}-ish) of the full last block
  const cn = cipher.subarray((n - 1) * BLOCK); // partial
  // D(C_{n-1}) = (P_n || stolen tail) XOR C_n-padded; the tail completes C_n.
  const dn = dec.decrypt(cnMinus1);
  const cnFull = new Uint8Array(BLOCK);
  cnFull.set(cn);
  cnFull.set(dn.subarray(lastLen), lastLen);
  const pn = xor(dn, cnFull).subarray(0, lastLen);
  const prev = n > 2 ? head.subarray(head.length - BLOCK) : new Uint8Array(BLOCK);
  const pnMinus1 = xor(dec.decrypt(cnFull), prev);
  const first = head.length ? cbc(key, new Uint8Array(BLOCK), { disablePadding: true }).decrypt(head) : new Uint8Array(0);
  return concat([first, pnMinus1, pn]);
}

/** RFC 3961 §5.1 n-fold: the constant replicated with 13-bit rotations and added with end-around carry. */
export function nfold(input: Uint8Array, outBytes: number): Uint8Array {
  const inBytes = input.length;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const lcm = (inBytes * outBytes) / gcd(inBytes, outBytes);
  const out = new Uint8Array(outBytes);
  let carry = 0;
  for (let i = lcm - 1; i >= 0; i--) {
    const msbit = ((inBytes << 3) - 1 + (((inBytes << 3) + 13) * Math.floor(i / inBytes)) + ((inBytes - (i % inBytes)) << 3)) % (inBytes << 3);
    const hi = input[((inBytes - 1 - (msbit >>> 3)) % inBytes + inBytes) % inBytes];
    const lo = input[((inBytes - (msbit >>> 3)) % inBytes + inBytes) % inBytes];
    const byte = (((hi << 8) | lo) >>> ((msbit & 7) + 1)) & 0xff;
    carry += byte + out[i % outBytes];
    out[i % outBytes] = carry & 0xff;
    carry >>>= 8;
  }
  if (carry) {
    for (let i = outBytes - 1; i >= 0; i--) {
      carry += out[i];
      out[i] = carry & 0xff;
      carry >>>= 8;
    }
  }
  return out;
}

/** RFC 3961 §5.1 DK(Key, Constant) for AES: DR's blocks, E(key, n-fold(constant)) then E of that, up to the key size (random-to-key is the identity). */
function dk3962(key: Uint8Array, constant: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  let block = nfold(constant, BLOCK);
  let have = 0;
  while (have < key.length) {
    block = aesEncryptBlock(key, block);
    out.push(block);
    have += BLOCK;
  }
  return concat(out).subarray(0, key.length);
}

/** RFC 8009 §3 KDF-HMAC-SHA2(key, label, k): the first k bits of HMAC(key, 00000001 | label | 00 | k). */
async function kdf8009(crypto: CryptoPort, e: Enctype, key: Uint8Array, label: Uint8Array, bits: number): Promise<Uint8Array> {
  const input = concat([Uint8Array.of(0, 0, 0, 1), label, Uint8Array.of(0), Uint8Array.of(bits >>> 24, (bits >>> 16) & 255, (bits >>> 8) & 255, bits & 255)]);
  return (await crypto.hmac(e.hash, key, input)).subarray(0, bits / 8);
}

/** String-to-key (RFC 3962 §4, RFC 8009 §4): PBKDF2 of the password and salt, then the "kerberos" derivation. */
export async function stringToKey(crypto: CryptoPort, e: Enctype, password: string, salt: Uint8Array, iterations = e.defaultIterations): Promise<Uint8Array> {
  if (iterations < 1 || iterations > 1_000_000) throw new PortolanError('protocol_error', `string-to-key with ${iterations} PBKDF2 iterations`);
  const saltp = e.family === 'rfc8009' ? concat([utf8(e.name), Uint8Array.of(0), salt]) : salt;
  const base = await crypto.subtle.importKey('raw', utf8(password) as BufferSource, 'PBKDF2', false, ['deriveBits']);
  const tkey = new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: e.family === 'rfc8009' ? e.hash : 'SHA-1', salt: saltp as BufferSource, iterations }, base, e.keyBytes * 8));
  return e.family === 'rfc8009' ? kdf8009(crypto, e, tkey, utf8('kerberos'), e.keyBytes * 8) : dk3962(tkey, utf8('kerberos'));
}

/** The RFC 3962 s2kparams / RFC 8009 s2kparams: a 4-octet big-endian iteration count. */
export function iterationsOf(e: Enctype, s2kparams: Uint8Array | undefined): number {
  if (!s2kparams) return e.defaultIterations;
  if (s2kparams.length !== 4) throw new PortolanError('protocol_error', `s2kparams of ${s2kparams.length} octets`);
  return ((s2kparams[0] << 24) >>> 0) + (s2kparams[1] << 16) + (s2kparams[2] << 8) + s2kparams[3];
}

async function usageKey(crypto: CryptoPort, e: Enctype, key: Uint8Array, usage: number, kind: 0xaa | 0x55 | 0x99): Promise<Uint8Array> {
  const constant = Uint8Array.of(usage >>> 24, (usage >>> 16) & 255, (usage >>> 8) & 255, usage & 255, kind);
  if (e.family === 'rfc3962') return dk3962(key, constant);
  // RFC 8009 §5: Ke has the key size; Ki and Kc the MAC size (128 or 192 bits).
  return kdf8009(crypto, e, key, constant, kind === 0xaa ? e.keyBytes * 8 : e.macBytes * 8);
}

/** Encrypts for a key usage: confounder, AES-CTS, truncated HMAC (RFC 3961 §5.3, RFC 8009 §5). */
export async function encrypt(crypto: CryptoPort, e: Enctype, key: Uint8Array, usage: number, plain: Uint8Array, confounder = crypto.randomBytes(BLOCK)): Promise<Uint8Array> {
  const ke = await usageKey(crypto, e, key, usage, 0xaa);
  const ki = await usageKey(crypto, e, key, usage, 0x55);
  const data = concat([confounder, plain]);
  const c = ctsEncrypt(ke, data);
  const mac = e.family === 'rfc3962' ? await crypto.hmac(e.hash, ki, data) : await crypto.hmac(e.hash, ki, concat([new Uint8Array(BLOCK), c]));
  return concat([c, mac.subarray(0, e.macBytes)]);
}

/** Decrypts and checks integrity; a wrong key (wrong password) fails the HMAC as an auth failure. */
export async function decrypt(crypto: CryptoPort, e: Enctype, key: Uint8Array, usage: number, cipher: Uint8Array): Promise<Uint8Array> {
  if (cipher.length < BLOCK + e.macBytes) throw new PortolanError('protocol_error', `${e.name} ciphertext of ${cipher.length} bytes is too short`);
  const ke = await usageKey(crypto, e, key, usage, 0xaa);
  const ki = await usageKey(crypto, e, key, usage, 0x55);
  const c = cipher.subarray(0, cipher.length - e.macBytes);
  const mac = cipher.subarray(cipher.length - e.macBytes);
  const data = ctsDecrypt(ke, c);
  const expect = e.family === 'rfc3962' ? await crypto.hmac(e.hash, ki, data) : await crypto.hmac(e.hash, ki, concat([new Uint8Array(BLOCK), c]));
  if (toHex(expect.subarray(0, e.macBytes)) !== toHex(mac)) throw new PortolanError('auth_failed', `${e.name}: the reply does not decrypt with this key (integrity check failed): wrong password or key`);
  return data.subarray(BLOCK);
}

/** A keyed checksum for a key usage (RFC 3961 §5.4 get_mic; RFC 8009 §5). */
export async function checksum(crypto: CryptoPort, e: Enctype, key: Uint8Array, usage: number, data: Uint8Array): Promise<Uint8Array> {
  const kc = await usageKey(crypto, e, key, usage, 0x99);
  return (await crypto.hmac(e.hash, kc, data)).subarray(0, e.macBytes);
}
