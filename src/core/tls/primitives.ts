// The cryptography the TLS engine runs on: AEADs (RFC 5116, RFC 8439), (EC)DHE key shares (RFC 7748, SEC 1),
// signature verification and signing (RFC 8017, FIPS 186, RFC 8032), and the transcript hashes. WebCrypto does the
// work where it can (native in workerd, Node and browsers); @noble fills what it lacks (ChaCha20-Poly1305 always,
// X25519 and Ed25519 where a runtime's WebCrypto has no such algorithm).
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { CHash } from '@noble/hashes/utils.js';
import { concat } from '../bytes.ts';
import { TlsError } from './errors.ts';
import { AlertDescription, type AeadName, type GroupName, type HashAlgorithm, type SignatureScheme } from './wire.ts';

type BytesLike = ArrayBuffer | ArrayBufferView;

/**
 * What the engine uses of WebCrypto's SubtleCrypto. The DOM and workerd typings of SubtleCrypto differ in their
 * parameter types; both fit this.
 */
export interface Subtle {
  importKey(format: 'raw' | 'spki' | 'pkcs8', ...rest: any[]): Promise<CryptoKey>;
  exportKey(format: 'raw', key: CryptoKey): Promise<unknown>;
  generateKey(...args: any[]): Promise<unknown>;
  deriveBits(...args: any[]): Promise<ArrayBuffer>;
  encrypt(...args: any[]): Promise<ArrayBuffer>;
  decrypt(...args: any[]): Promise<ArrayBuffer>;
  sign(...args: any[]): Promise<ArrayBuffer>;
  verify(...args: any[]): Promise<boolean>;
}

const buf = (b: Uint8Array): BytesLike => b;
const raw = async (p: Promise<unknown>): Promise<Uint8Array> => new Uint8Array((await p) as ArrayBuffer);
type KeyPair = { publicKey: CryptoKey; privateKey: CryptoKey };

/** An AEAD with a fixed key: nonces and additional data per record. */
export interface Aead {
  readonly name: AeadName;
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Rejects with bad_record_mac when the tag does not verify. */
  open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

const badMac = () => new TlsError(AlertDescription.badRecordMac, 'a record from the server failed authentication (bad_record_mac): it was altered, or the keys disagree');

export async function makeAead(subtle: Subtle, name: AeadName, key: Uint8Array): Promise<Aead> {
  if (name === 'CHACHA20-POLY1305') {
    return {
      name,
      seal: async (nonce, aad, plaintext) => chacha20poly1305(key, nonce, aad).encrypt(plaintext),
      async open(nonce, aad, ciphertext) {
        try {
          return chacha20poly1305(key, nonce, aad).decrypt(ciphertext);
        } catch {
          throw badMac();
        }
      },
    };
  }
  const k = await subtle.importKey('raw', buf(key), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  return {
    name,
    async seal(nonce, aad, plaintext) {
      return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad), tagLength: 128 }, k, buf(plaintext)));
    },
    async open(nonce, aad, ciphertext) {
      if (ciphertext.length < 16) throw badMac();
      try {
        return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad), tagLength: 128 }, k, buf(ciphertext)));
      } catch {
        throw badMac();
      }
    },
  };
}

// Transcript hashes: incremental, cloneable (the Finished and CertificateVerify inputs are hashes of prefixes).

export interface RunningHash {
  update(data: Uint8Array): RunningHash;
  digest(): Uint8Array;
  clone(): RunningHash;
}

const HASHES: Record<HashAlgorithm | 'SHA-512', CHash> = { 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 };

export function hashFn(name: HashAlgorithm | 'SHA-512'): CHash {
  return HASHES[name];
}

export function hashLength(name: HashAlgorithm | 'SHA-512'): number {
  return name === 'SHA-256' ? 32 : name === 'SHA-384' ? 48 : 64;
}

export function runningHash(name: HashAlgorithm): RunningHash {
  const wrap = (h: ReturnType<CHash['create']>): RunningHash => ({
    update(data) {
      h.update(data);
      return this;
    },
    digest: () => h.clone().digest(),
    clone: () => wrap(h.clone()),
  });
  return wrap(HASHES[name].create());
}

// Key shares (RFC 8446 §4.2.8): one private key per group offered.

export interface KeyShare {
  group: GroupName;
  /** X25519: 32 bytes; NIST curves: the uncompressed point (SEC 1 §2.3.3), as key_share and ECPoint carry it. */
  publicKey: Uint8Array;
  /** The shared secret with the peer's public value; illegal_parameter when that value is not a valid point. */
  agree(peer: Uint8Array): Promise<Uint8Array>;
}

const CURVE: Record<Exclude<GroupName, 'x25519'>, { namedCurve: string; bits: number; pointLength: number }> = {
  secp256r1: { namedCurve: 'P-256', bits: 256, pointLength: 65 },
  secp384r1: { namedCurve: 'P-384', bits: 384, pointLength: 97 },
};

const badShare = (group: GroupName, why: string) => new TlsError(AlertDescription.illegalParameter, `the server's ${group} key share is invalid: ${why}`);

/** Whether this runtime's WebCrypto has an algorithm (probed once, by generating a key). */
const probes = new Map<string, Promise<boolean>>();
function hasAlgorithm(subtle: Subtle, name: 'X25519' | 'Ed25519'): Promise<boolean> {
  let p = probes.get(name);
  if (!p) {
    const usages = name === 'X25519' ? ['deriveBits'] : ['sign', 'verify'];
    p = Promise.resolve()
      .then(() => subtle.generateKey({ name }, false, usages))
      .then(
        () => true,
        () => false,
      );
    probes.set(name, p);
  }
  return p;
}

export async function generateKeyShare(subtle: Subtle, group: GroupName, randomBytes: (n: number) => Uint8Array): Promise<KeyShare> {
  if (group === 'x25519') {
    if (await hasAlgorithm(subtle, 'X25519')) {
      const pair = (await subtle.generateKey({ name: 'X25519' }, true, ['deriveBits'])) as KeyPair;
      const publicKey = await raw(subtle.exportKey('raw', pair.publicKey));
      return {
        group,
        publicKey,
        async agree(peer) {
          if (peer.length !== 32) throw badShare(group, `${peer.length} bytes, not 32`);
          let secret: Uint8Array;
          try {
            const key = await subtle.importKey('raw', buf(peer), { name: 'X25519' }, false, []);
            secret = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: key }, pair.privateKey, 256));
          } catch {
            throw badShare(group, 'a small-order point');
          }
          return checkNotZero(group, secret);
        },
      };
    }
    const priv = randomBytes(32);
    return {
      group,
      publicKey: x25519.getPublicKey(priv),
      async agree(peer) {
        if (peer.length !== 32) throw badShare(group, `${peer.length} bytes, not 32`);
        let secret: Uint8Array;
        try {
          secret = x25519.getSharedSecret(priv, peer);
        } catch {
          throw badShare(group, 'a small-order point');
        }
        return checkNotZero(group, secret);
      },
    };
  }
  const curve = CURVE[group];
  const pair = (await subtle.generateKey({ name: 'ECDH', namedCurve: curve.namedCurve }, true, ['deriveBits'])) as KeyPair;
  const publicKey = await raw(subtle.exportKey('raw', pair.publicKey));
  return {
    group,
    publicKey,
    async agree(peer) {
      // RFC 8446 §4.2.8.2: uncompressed points only; RFC 8422 §5.4.1 the same for TLS 1.2 with ec_point_formats.
      if (peer.length !== curve.pointLength || peer[0] !== 4) throw badShare(group, `not an uncompressed ${curve.namedCurve} point of ${curve.pointLength} bytes`);
      let key: CryptoKey;
      try {
        key = await subtle.importKey('raw', buf(peer), { name: 'ECDH', namedCurve: curve.namedCurve }, false, []);
      } catch {
        throw badShare(group, `not a point on ${curve.namedCurve}`);
      }
      return new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: key }, pair.privateKey, curve.bits));
    },
  };
}

/** RFC 8446 §7.4.2: an all-zero X25519 result means the peer sent a small-order point. */
function checkNotZero(group: GroupName, secret: Uint8Array): Uint8Array {
  if (secret.every((b) => b === 0)) throw badShare(group, 'the shared secret is all zeros (a small-order point)');
  return secret;
}

// Signatures. ECDSA signatures travel DER-encoded (RFC 3279 §2.2.3: SEQUENCE { r INTEGER, s INTEGER }) while WebCrypto
// takes and gives r ‖ s of fixed width (IEEE P1363), so they are converted both ways.

/** A public key from a certificate, as the SubjectPublicKeyInfo and what it is. */
export interface PublicKeyInfo {
  spki: Uint8Array;
  /** `unsupported`: a key the engine cannot verify with (`algorithm` says what it is). */
  type: 'rsa' | 'ec' | 'ed25519' | 'unsupported';
  algorithm?: string;
  curve?: 'P-256' | 'P-384' | 'P-521';
  /** RSA modulus bits; EC field bits. */
  bits: number;
  /** Ed25519: the raw 32-byte key. */
  raw?: Uint8Array;
}

export type VerifyAlgorithm =
  | { kind: 'rsa_pkcs1'; hash: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512' }
  | { kind: 'rsa_pss'; hash: 'SHA-256' | 'SHA-384' | 'SHA-512'; saltLength: number }
  | { kind: 'ecdsa'; hash: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512' }
  | { kind: 'ed25519' };

const COORDINATE: Record<'P-256' | 'P-384' | 'P-521', number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };

/** DER ECDSA-Sig-Value to r ‖ s; undefined when it is not one. */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array | undefined {
  let at = 0;
  const length = (): number | undefined => {
    const l = der[at++];
    if (l === undefined) return undefined;
    if (l < 0x80) return l;
    if (l === 0x81) return der[at++];
    return undefined;
  };
  if (der[at++] !== 0x30) return undefined;
  const total = length();
  if (total === undefined || at + total !== der.length) return undefined;
  const out = new Uint8Array(size * 2);
  for (let i = 0; i < 2; i++) {
    if (der[at++] !== 0x02) return undefined;
    const n = length();
    if (n === undefined || n === 0 || at + n > der.length) return undefined;
    let v = der.subarray(at, at + n);
    at += n;
    if (v[0] & 0x80) return undefined;
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if (v.length > size) return undefined;
    out.set(v, i * size + size - v.length);
  }
  return at === der.length ? out : undefined;
}

/** r ‖ s to a DER ECDSA-Sig-Value. */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  const size = raw.length / 2;
  const int = (v: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    const body = v[i] & 0x80 ? concat([Uint8Array.of(0), v.subarray(i)]) : v.subarray(i);
    return concat([derLength(0x02, body.length), body]);
  };
  const body = concat([int(raw.subarray(0, size)), int(raw.subarray(size))]);
  return concat([derLength(0x30, body.length), body]);
}

function derLength(tag: number, n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(tag, n);
  if (n < 0x100) return Uint8Array.of(tag, 0x81, n);
  return Uint8Array.of(tag, 0x82, n >> 8, n & 0xff);
}

/** Imported verification keys, per SPKI and algorithm: a chain checks one key several times. */
const verifyKeys = new WeakMap<Uint8Array, Map<string, Promise<CryptoKey>>>();

function importVerifyKey(subtle: Subtle, key: PublicKeyInfo, alg: { name: string; hash?: string; namedCurve?: string }): Promise<CryptoKey> {
  let byAlg = verifyKeys.get(key.spki);
  if (!byAlg) verifyKeys.set(key.spki, (byAlg = new Map()));
  const id = JSON.stringify(alg);
  let p = byAlg.get(id);
  if (!p) {
    p = Promise.resolve().then(() => subtle.importKey('spki', buf(key.spki), alg, false, ['verify']));
    byAlg.set(id, p);
  }
  return p;
}

/**
 * Whether `signature` over `data` verifies with `key`. False for a bad signature or a key that does not fit the
 * algorithm; never throws for what the peer sent.
 */
export async function verifySignature(subtle: Subtle, key: PublicKeyInfo, alg: VerifyAlgorithm, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    switch (alg.kind) {
      case 'rsa_pkcs1': {
        if (key.type !== 'rsa') return false;
        const k = await importVerifyKey(subtle, key, { name: 'RSASSA-PKCS1-v1_5', hash: alg.hash });
        return await subtle.verify({ name: 'RSASSA-PKCS1-v1_5' }, k, buf(signature), buf(data));
      }
      case 'rsa_pss': {
        if (key.type !== 'rsa') return false;
        const k = await importVerifyKey(subtle, key, { name: 'RSA-PSS', hash: alg.hash });
        return await subtle.verify({ name: 'RSA-PSS', saltLength: alg.saltLength }, k, buf(signature), buf(data));
      }
      case 'ecdsa': {
        if (key.type !== 'ec' || !key.curve) return false;
        const raw = ecdsaDerToRaw(signature, COORDINATE[key.curve]);
        if (!raw) return false;
        const k = await importVerifyKey(subtle, key, { name: 'ECDSA', namedCurve: key.curve });
        return await subtle.verify({ name: 'ECDSA', hash: alg.hash }, k, buf(raw), buf(data));
      }
      case 'ed25519': {
        if (key.type !== 'ed25519' || !key.raw) return false;
        if (await hasAlgorithm(subtle, 'Ed25519')) {
          const k = await importVerifyKey(subtle, key, { name: 'Ed25519' });
          return await subtle.verify({ name: 'Ed25519' }, k, buf(signature), buf(data));
        }
        return ed25519.verify(signature, data, key.raw);
      }
    }
  } catch {
    return false;
  }
}

/** The verification algorithm of a TLS signature scheme (RFC 8446 §4.2.3): PSS salt as long as the hash. */
export function schemeAlgorithm(scheme: SignatureScheme): VerifyAlgorithm {
  switch (scheme.kind) {
    case 'rsa_pkcs1':
      return { kind: 'rsa_pkcs1', hash: scheme.hash! };
    case 'rsa_pss_rsae':
      return { kind: 'rsa_pss', hash: scheme.hash!, saltLength: hashLength(scheme.hash!) };
    case 'ecdsa':
      return { kind: 'ecdsa', hash: scheme.hash! };
    case 'ed25519':
      return { kind: 'ed25519' };
  }
}

/** A private key that signs handshakes (a client certificate's). */
export interface SigningKey {
  type: 'rsa' | 'ec' | 'ed25519';
  curve?: 'P-256' | 'P-384' | 'P-521';
  /** The schemes this key can sign with, in our order of preference. */
  schemes: readonly SignatureScheme[];
  sign(scheme: SignatureScheme, data: Uint8Array): Promise<Uint8Array>;
}

/** A signing key from PKCS#8 DER, for the key type the certificate names. */
export async function importSigningKey(subtle: Subtle, pkcs8: Uint8Array, info: { type: SigningKey['type']; curve?: PublicKeyInfo['curve'] }, all: readonly SignatureScheme[]): Promise<SigningKey> {
  const schemes = all.filter((s) => (info.type === 'rsa' ? s.kind === 'rsa_pss_rsae' || s.kind === 'rsa_pkcs1' : info.type === 'ed25519' ? s.kind === 'ed25519' : s.kind === 'ecdsa' && s.curve === info.curve));
  const cache = new Map<number, Promise<CryptoKey>>();
  const keyFor = (scheme: SignatureScheme): Promise<CryptoKey> => {
    let p = cache.get(scheme.id);
    if (!p) {
      const alg =
        scheme.kind === 'rsa_pkcs1'
          ? { name: 'RSASSA-PKCS1-v1_5', hash: scheme.hash! }
          : scheme.kind === 'rsa_pss_rsae'
            ? { name: 'RSA-PSS', hash: scheme.hash! }
            : scheme.kind === 'ecdsa'
              ? { name: 'ECDSA', namedCurve: info.curve! }
              : { name: 'Ed25519' };
      p = Promise.resolve().then(() => subtle.importKey('pkcs8', buf(pkcs8), alg, false, ['sign']));
      cache.set(scheme.id, p);
    }
    return p;
  };
  // Import once now, so a key that does not match its certificate fails before the handshake.
  if (schemes.length > 0) await keyFor(schemes[0]);
  return {
    type: info.type,
    curve: info.curve,
    schemes,
    async sign(scheme, data) {
      const k = await keyFor(scheme);
      switch (scheme.kind) {
        case 'rsa_pkcs1':
          return new Uint8Array(await subtle.sign({ name: 'RSASSA-PKCS1-v1_5' }, k, buf(data)));
        case 'rsa_pss_rsae':
          return new Uint8Array(await subtle.sign({ name: 'RSA-PSS', saltLength: hashLength(scheme.hash!) }, k, buf(data)));
        case 'ecdsa':
          return ecdsaRawToDer(new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: scheme.hash! }, k, buf(data))));
        case 'ed25519':
          return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, k, buf(data)));
      }
    },
  };
}
