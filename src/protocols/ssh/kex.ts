// Key exchange: RFC 4253 7.1 (negotiation), 7.2 (key derivation), 8 (DH, exchange hash); RFC 8731 (curve25519-sha256),
// RFC 5656 4 (ecdh-sha2-nistp*), RFC 8268 (group14-sha256, group16-sha512), RFC 4419 (group exchange), RFC 3526 (MODP groups),
// draft-ietf-sshm-ntruprime-ssh (sntrup761x25519-sha512, as OpenSSH's kexsntrup761x25519.c does it).
import { sha512 } from '@noble/hashes/sha2.js';
import type { CryptoPort, HashName } from '../../core/crypto.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import { CIPHERS, MACS } from './ciphers.ts';
import type { KexInit } from './codec.ts';
import { HOST_KEY_ALGORITHMS } from './hostkey.ts';
import { modpPrime } from './pi.ts';
import { SNTRUP761, sntrup761Decap, sntrup761KeyPair } from './sntrup761.ts';
import { bigIntToBytes, bytesToBigInt, mpintBytes, SshWriter } from './wire.ts';

export type KexKind = 'x25519' | 'ecdh' | 'dh' | 'gex' | 'sntrup761x25519';

export interface KexMethod {
  hash: HashName;
  kind: KexKind;
  curve?: 'P-256' | 'P-384' | 'P-521';
  /** RFC 3526 group: bit size and the offset n of its formula. */
  group?: { bits: number; n: number };
  /** K enters the exchange hash and the key derivation as a string, not an mpint (the hybrid post-quantum exchanges). */
  kString?: boolean;
}

export const KEX_METHODS: Record<string, KexMethod> = {
  'sntrup761x25519-sha512@openssh.com': { hash: 'SHA-512', kind: 'sntrup761x25519', kString: true },
  'sntrup761x25519-sha512': { hash: 'SHA-512', kind: 'sntrup761x25519', kString: true },
  'curve25519-sha256': { hash: 'SHA-256', kind: 'x25519' },
  'curve25519-sha256@libssh.org': { hash: 'SHA-256', kind: 'x25519' },
  'ecdh-sha2-nistp256': { hash: 'SHA-256', kind: 'ecdh', curve: 'P-256' },
  'ecdh-sha2-nistp384': { hash: 'SHA-384', kind: 'ecdh', curve: 'P-384' },
  'ecdh-sha2-nistp521': { hash: 'SHA-512', kind: 'ecdh', curve: 'P-521' },
  'diffie-hellman-group-exchange-sha256': { hash: 'SHA-256', kind: 'gex' },
  'diffie-hellman-group16-sha512': { hash: 'SHA-512', kind: 'dh', group: { bits: 4096, n: 240904 } },
  'diffie-hellman-group14-sha256': { hash: 'SHA-256', kind: 'dh', group: { bits: 2048, n: 124476 } },
};

/** Our default offers, best first. Weak algorithms (SHA-1, ssh-rsa) only when asked for. */
export const DEFAULT_KEX = Object.keys(KEX_METHODS);
export const DEFAULT_HOST_KEYS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256'];
/** AES-GCM first: WebCrypto runs it natively on every runtime, ChaCha20 is JavaScript (@noble/ciphers). */
export const DEFAULT_CIPHERS = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr'];
export const DEFAULT_MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'];

export const SUPPORTED = {
  kex: Object.keys(KEX_METHODS),
  hostKey: Object.keys(HOST_KEY_ALGORITHMS),
  cipher: Object.keys(CIPHERS),
  mac: Object.keys(MACS),
};

/** RFC 8308 2.1 and OpenSSH PROTOCOL 1.10 (strict kex): pseudo-algorithms in kex_algorithms. */
export const EXT_INFO_C = 'ext-info-c';
export const KEX_STRICT_C = 'kex-strict-c-v00@openssh.com';
export const KEX_STRICT_S = 'kex-strict-s-v00@openssh.com';

export interface Negotiated {
  kex: string;
  hostKey: string;
  cipherCS: string;
  cipherSC: string;
  macCS: string | null;
  macSC: string | null;
  compressionCS: string;
  compressionSC: string;
}

/** RFC 4253 7.1: the first algorithm on the client's list that the server also lists. */
function pick(what: string, ours: readonly string[], theirs: readonly string[]): string {
  for (const a of ours) if (theirs.includes(a)) return a;
  throw new PortolanError('protocol_error', `no common ${what} algorithm: we offer ${ours.join(',') || '(nothing)'}; the server offers ${theirs.join(',') || '(nothing)'}`, {
    what,
    ours,
    theirs,
  });
}

export function negotiate(client: KexInit, server: KexInit): Negotiated {
  const kexOurs = client.kex.filter((k) => k in KEX_METHODS);
  const kex = pick('key exchange', kexOurs, server.kex);
  // RFC 4253 7.1: a host key algorithm must fit the key exchange (every one here signs).
  const hostKey = pick('host key', client.hostKey, server.hostKey);
  const cipherCS = pick('client-to-server cipher', client.cipherCS, server.cipherCS);
  const cipherSC = pick('server-to-client cipher', client.cipherSC, server.cipherSC);
  // AEAD ciphers carry their own integrity; the MAC list is not consulted (OpenSSH PROTOCOL 1.6).
  const macCS = CIPHERS[cipherCS].aead ? null : pick('client-to-server MAC', client.macCS, server.macCS);
  const macSC = CIPHERS[cipherSC].aead ? null : pick('server-to-client MAC', client.macSC, server.macSC);
  const compressionCS = pick('client-to-server compression', client.compressionCS, server.compressionCS);
  const compressionSC = pick('server-to-client compression', client.compressionSC, server.compressionSC);
  return { kex, hostKey, cipherCS, cipherSC, macCS, macSC, compressionCS, compressionSC };
}

// ---------------------------------------------------------------- the exchange hash and keys

const bs = (b: Uint8Array) => b as unknown as BufferSource;

/** The exchange hash H over the SSH-encoded parts (RFC 4253 8, RFC 5656 4, RFC 4419 3). */
export async function exchangeHash(crypto: CryptoPort, hash: HashName, parts: ExchangeParts): Promise<Uint8Array> {
  const w = new SshWriter(4096).string(parts.vC).string(parts.vS).string(parts.iC).string(parts.iS).string(parts.hostKey);
  if (parts.gex) w.u32(parts.gex.min).u32(parts.gex.n).u32(parts.gex.max).mpint(parts.gex.p).mpint(parts.gex.g);
  if (parts.kind === 'dh') w.mpint(parts.clientPublic).mpint(parts.serverPublic);
  else w.string(parts.clientPublic).string(parts.serverPublic);
  if (parts.kString) w.string(parts.sharedSecret);
  else w.mpint(parts.sharedSecret);
  return crypto.digest(hash, w.finish());
}

export interface ExchangeParts {
  vC: string;
  vS: string;
  /** The payloads of both KEXINIT messages. */
  iC: Uint8Array;
  iS: Uint8Array;
  hostKey: Uint8Array;
  /** DH publics are mpints (e, f); ECDH publics are strings (Q_C, Q_S). */
  kind: 'dh' | 'ecdh';
  clientPublic: Uint8Array;
  serverPublic: Uint8Array;
  /** K as unsigned big-endian bytes, or the bytes of a string K (kString). */
  sharedSecret: Uint8Array;
  kString?: boolean;
  gex?: { min: number; n: number; max: number; p: bigint; g: bigint };
}

export interface SessionKeys {
  ivCS: Uint8Array;
  ivSC: Uint8Array;
  keyCS: Uint8Array;
  keySC: Uint8Array;
  macCS: Uint8Array;
  macSC: Uint8Array;
}

/** RFC 4253 7.2: K1 = HASH(K || H || X || session_id), Kn = HASH(K || H || K1 || ... || Kn-1). */
export async function deriveKey(crypto: CryptoPort, hash: HashName, sharedSecret: Uint8Array, h: Uint8Array, letter: string, sessionId: Uint8Array, size: number, kString = false): Promise<Uint8Array> {
  if (size === 0) return new Uint8Array(0);
  const k = kString ? new SshWriter(600).string(sharedSecret).finish() : new SshWriter(600).mpint(sharedSecret).finish();
  const first = await crypto.digest(hash, new SshWriter(700).bytes(k).bytes(h).u8(letter.charCodeAt(0)).bytes(sessionId).finish());
  const out: Uint8Array[] = [first];
  let have = first.length;
  while (have < size) {
    const w = new SshWriter(1024).bytes(k).bytes(h);
    for (const part of out) w.bytes(part);
    const next = await crypto.digest(hash, w.finish());
    out.push(next);
    have += next.length;
  }
  const all = new Uint8Array(have);
  let at = 0;
  for (const part of out) {
    all.set(part, at);
    at += part.length;
  }
  return all.subarray(0, size);
}

export async function deriveSessionKeys(crypto: CryptoPort, hash: HashName, sharedSecret: Uint8Array, h: Uint8Array, sessionId: Uint8Array, n: Negotiated, kString = false): Promise<SessionKeys> {
  const cCS = CIPHERS[n.cipherCS];
  const cSC = CIPHERS[n.cipherSC];
  const d = (letter: string, size: number) => deriveKey(crypto, hash, sharedSecret, h, letter, sessionId, size, kString);
  const [ivCS, ivSC, keyCS, keySC, macCS, macSC] = await Promise.all([
    d('A', cCS.ivLen),
    d('B', cSC.ivLen),
    d('C', cCS.keyLen),
    d('D', cSC.keyLen),
    d('E', n.macCS ? MACS[n.macCS].keyLen : 0),
    d('F', n.macSC ? MACS[n.macSC].keyLen : 0),
  ]);
  return { ivCS, ivSC, keyCS, keySC, macCS, macSC };
}

// ---------------------------------------------------------------- the agreements

/** One side of a key agreement: our public value, then the shared secret from the server's. */
export interface Agreement {
  /** Q_C (ECDH, raw point) or e (DH, unsigned bytes). */
  clientPublic: Uint8Array;
  /** K as unsigned big-endian bytes; throws ProtocolError for an invalid server public value. */
  sharedSecret(serverPublic: Uint8Array): Promise<Uint8Array>;
}

/** RFC 8731 3: X25519 through WebCrypto. */
export async function x25519Agreement(crypto: CryptoPort): Promise<Agreement> {
  const s = crypto.subtle;
  const pair = (await s.generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair;
  const clientPublic = new Uint8Array((await s.exportKey('raw', pair.publicKey)) as ArrayBuffer);
  return {
    clientPublic,
    async sharedSecret(serverPublic) {
      // RFC 8731 3: Q_S must be 32 bytes.
      if (serverPublic.length !== 32) throw new ProtocolError(`server's X25519 public key is ${serverPublic.length} bytes, not 32`);
      let secret: Uint8Array;
      try {
        const peer = await s.importKey('raw', bs(serverPublic), { name: 'X25519' }, false, []);
        secret = new Uint8Array(await s.deriveBits({ name: 'X25519', public: peer } as unknown as Parameters<SubtleCrypto['deriveBits']>[0], pair.privateKey, 256));
      } catch {
        throw new ProtocolError("server's X25519 public key is invalid");
      }
      // RFC 8731 3: an all-zero shared secret must be refused.
      if (secret.every((b) => b === 0)) throw new ProtocolError('X25519 shared secret is all zero (small-order server key)');
      return secret;
    },
  };
}

/**
 * sntrup761x25519-sha512: Q_C = sntrup761 public key || X25519 public key; Q_S = sntrup761 ciphertext || X25519
 * public key; K = SHA-512(sntrup761 shared key || X25519 shared secret), a string in the exchange hash.
 */
export async function sntrup761x25519Agreement(crypto: CryptoPort): Promise<Agreement> {
  const kem = sntrup761KeyPair((n) => crypto.randomBytes(n));
  const x = await x25519Agreement(crypto);
  const clientPublic = new Uint8Array(SNTRUP761.publicKeyBytes + 32);
  clientPublic.set(kem.publicKey, 0);
  clientPublic.set(x.clientPublic, SNTRUP761.publicKeyBytes);
  return {
    clientPublic,
    async sharedSecret(serverPublic) {
      const want = SNTRUP761.ciphertextBytes + 32;
      if (serverPublic.length !== want) throw new ProtocolError(`server's sntrup761x25519 reply is ${serverPublic.length} bytes, not ${want}`);
      const kemKey = sntrup761Decap(serverPublic.subarray(0, SNTRUP761.ciphertextBytes), kem.secretKey);
      const xKey = await x.sharedSecret(serverPublic.subarray(SNTRUP761.ciphertextBytes));
      return sha512.create().update(kemKey).update(xKey).digest();
    },
  };
}

/** RFC 5656 4: ECDH on a NIST curve through WebCrypto; K is the x coordinate. */
export async function ecdhAgreement(crypto: CryptoPort, curve: 'P-256' | 'P-384' | 'P-521'): Promise<Agreement> {
  const s = crypto.subtle;
  const pair = (await s.generateKey({ name: 'ECDH', namedCurve: curve }, true, ['deriveBits'])) as CryptoKeyPair;
  const clientPublic = new Uint8Array((await s.exportKey('raw', pair.publicKey)) as ArrayBuffer);
  const bits = curve === 'P-256' ? 256 : curve === 'P-384' ? 384 : 528;
  return {
    clientPublic,
    async sharedSecret(serverPublic) {
      // RFC 5656 4: Q_S is an uncompressed point on the curve; WebCrypto's import validates it (3.2.2.1 checks).
      if (serverPublic.length !== clientPublic.length || serverPublic[0] !== 4) throw new ProtocolError(`server's ${curve} public point is malformed`);
      try {
        const peer = await s.importKey('raw', bs(serverPublic), { name: 'ECDH', namedCurve: curve }, false, []);
        return new Uint8Array(await s.deriveBits({ name: 'ECDH', public: peer } as unknown as Parameters<SubtleCrypto['deriveBits']>[0], pair.privateKey, bits));
      } catch {
        throw new ProtocolError(`server's ${curve} public point is not on the curve`);
      }
    },
  };
}

export function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return result;
}

const groupCache = new Map<string, bigint>();

export function modpGroup(bits: number, n: number): bigint {
  const key = `${bits}/${n}`;
  let p = groupCache.get(key);
  if (p === undefined) {
    p = modpPrime(bits, n);
    groupCache.set(key, p);
  }
  return p;
}

/** Finite-field DH (RFC 4253 8) with a 512-bit private exponent (twice the strength of the largest group used). */
export function dhAgreement(crypto: CryptoPort, p: bigint, g: bigint): Agreement {
  const x = (bytesToBigInt(crypto.randomBytes(64)) | (1n << 511n)) % (p - 2n) + 1n;
  const e = modPow(g, x, p);
  return {
    clientPublic: bigIntToBytes(e),
    async sharedSecret(serverPublic) {
      const f = bytesToBigInt(serverPublic);
      // RFC 4253 8: values not in [1, p-1] must not be accepted; 1 and p-1 are degenerate too.
      if (f <= 1n || f >= p - 1n) throw new ProtocolError('server DH value f is out of range');
      return bigIntToBytes(modPow(f, x, p));
    },
  };
}

export function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** Encodes K as the mpint the hash needs; exposed for tests. */
export const sharedSecretMpint = (k: Uint8Array) => mpintBytes(k);
