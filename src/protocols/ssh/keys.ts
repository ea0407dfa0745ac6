// Client private keys: OpenSSH PROTOCOL.key ("openssh-key-v1", bcrypt KDF, aes256-ctr / aes256-gcm), PEM PKCS#1 (RFC 8017 A.1.2),
// SEC1 (RFC 5915 3), PKCS#8 (RFC 5208 5, RFC 8410 7); signatures as RFC 8709 6 (Ed25519), RFC 5656 3.1.2 (ECDSA), RFC 8332 3 (RSA).
import { ctr as nobleCtr } from '@noble/ciphers/aes.js';
import { equalBytes, fromBase64, toBase64, utf8 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { InvalidInput } from '../../core/errors.ts';
import { bcryptPbkdf } from './bcrypt.ts';
import { derChildren, derOid, derSequence, derUnsigned, OID, type DerNode } from './der.ts';
import { EC_CURVES } from './hostkey.ts';
import { bigIntToBytes, bytesToBigInt, SshReader, SshWriter } from './wire.ts';

export type KeyType = 'ssh-ed25519' | 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521' | 'ssh-rsa';

export interface PrivateKey {
  type: KeyType;
  /** The public key blob as it goes on the wire and into authorized_keys. */
  publicBlob: Uint8Array;
  comment: string;
  /** For RSA: force this signature algorithm (rsa-sha2-512, rsa-sha2-256, ssh-rsa). */
  rsaAlgorithm?: string;
  /** Signs `data`; returns the SSH signature blob (string algorithm, string signature). */
  sign(algorithm: string, data: Uint8Array): Promise<Uint8Array>;
}

const bs = (b: Uint8Array) => b as unknown as BufferSource;
const b64url = (b: Uint8Array) => toBase64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

function badKey(message: string): InvalidInput {
  return InvalidInput.field('privateKey', message);
}

/** Limits on key input: a key file is a few KiB; rounds bound the bcrypt work (ssh-keygen uses 16). */
const MAX_KEY_TEXT = 64 * 1024;
const MAX_BCRYPT_ROUNDS = 256;

/**
 * Parses a private key file (OpenSSH or PEM) into a signer. An encrypted key without a passphrase
 * and a wrong passphrase are `invalid_input` on the field `passphrase`, each with its own message.
 */
export async function parsePrivateKey(crypto: CryptoPort, text: string, passphrase?: string): Promise<PrivateKey> {
  try {
    return await parseKeyText(crypto, text, passphrase);
  } catch (e) {
    if (e instanceof InvalidInput) throw e;
    // WebCrypto refusing key material (DataError) or a truncated structure: the key file is bad.
    throw badKey(`malformed key: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function parseKeyText(crypto: CryptoPort, text: string, passphrase?: string): Promise<PrivateKey> {
  if (text.length > MAX_KEY_TEXT) throw badKey(`longer than ${MAX_KEY_TEXT} characters`);
  const pem = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(text);
  if (!pem) {
    if (/^(ssh-|ecdsa-)\S+ [A-Za-z0-9+/=]+/.test(text.trim())) throw badKey('this is a public key; give the private key file');
    if (/PuTTY-User-Key-File/.test(text)) throw badKey('unsupported key format: PuTTY .ppk (convert it with puttygen -O private-openssh)');
    throw badKey('unsupported key format: expected an OpenSSH ("BEGIN OPENSSH PRIVATE KEY") or PEM key');
  }
  const label = pem[1];
  const body = pem[2];
  if (/Proc-Type:\s*4,ENCRYPTED/.test(body)) {
    throw badKey('unsupported key format: legacy PEM encryption (Proc-Type 4,ENCRYPTED); convert with ssh-keygen -p -f KEY (writes the OpenSSH format)');
  }
  const der = fromBase64(body.replace(/^[A-Za-z-]+:.*$/gm, ''));
  switch (label) {
    case 'OPENSSH PRIVATE KEY':
      return openSshKey(crypto, der, passphrase);
    case 'RSA PRIVATE KEY':
      return rsaFromPkcs1(crypto, der, '');
    case 'EC PRIVATE KEY':
      return ecFromSec1(crypto, der, null, '');
    case 'PRIVATE KEY':
      return fromPkcs8(crypto, der);
    case 'ENCRYPTED PRIVATE KEY':
      throw badKey('unsupported key format: encrypted PKCS#8; convert with ssh-keygen -p -f KEY (writes the OpenSSH format)');
    default:
      throw badKey(`unsupported key format: PEM "${label}"`);
  }
}

// ---------------------------------------------------------------- OpenSSH format (PROTOCOL.key)

const AUTH_MAGIC = utf8('openssh-key-v1\0');

const KEY_CIPHERS: Record<string, { keyLen: number; ivLen: number; gcm: boolean }> = {
  'aes256-ctr': { keyLen: 32, ivLen: 16, gcm: false },
  'aes128-ctr': { keyLen: 16, ivLen: 16, gcm: false },
  'aes192-ctr': { keyLen: 24, ivLen: 16, gcm: false },
  'aes256-gcm@openssh.com': { keyLen: 32, ivLen: 12, gcm: true },
  'aes128-gcm@openssh.com': { keyLen: 16, ivLen: 12, gcm: true },
};

async function openSshKey(crypto: CryptoPort, der: Uint8Array, passphrase: string | undefined): Promise<PrivateKey> {
  if (der.length < AUTH_MAGIC.length || !equalBytes(der.subarray(0, AUTH_MAGIC.length), AUTH_MAGIC)) throw badKey('not an openssh-key-v1 key');
  try {
    const r = new SshReader(der, AUTH_MAGIC.length);
    const cipherName = r.text('ciphername', 64);
    const kdfName = r.text('kdfname', 64);
    const kdfOptions = r.string('kdfoptions', 1024);
    const count = r.u32('number of keys');
    if (count !== 1) throw badKey(`the file holds ${count} keys; give a file with one`);
    const publicBlob = r.string('public key', 16 * 1024).slice();
    const sealedLen = r.u32('private section length');
    let section: Uint8Array;
    if (cipherName === 'none') {
      section = r.bytesN(sealedLen, 'private section');
    } else {
      const spec = KEY_CIPHERS[cipherName];
      if (!spec) throw badKey(`unsupported key encryption ${cipherName}`);
      if (kdfName !== 'bcrypt') throw badKey(`unsupported key derivation ${kdfName}`);
      if (passphrase === undefined || passphrase === '') throw InvalidInput.field('passphrase', 'the private key is encrypted: give its passphrase');
      const k = new SshReader(kdfOptions);
      const salt = k.string('bcrypt salt', 64);
      const rounds = k.u32('bcrypt rounds');
      if (rounds > MAX_BCRYPT_ROUNDS) throw badKey(`bcrypt rounds ${rounds} exceed the limit of ${MAX_BCRYPT_ROUNDS}`);
      const material = bcryptPbkdf(utf8(passphrase), salt, spec.keyLen + spec.ivLen, rounds);
      const key = material.subarray(0, spec.keyLen);
      const iv = material.subarray(spec.keyLen);
      const sealed = r.bytesN(sealedLen, 'private section');
      if (spec.gcm) {
        // PROTOCOL.key: for AEAD ciphers the 16-byte tag follows the encrypted section.
        const tag = r.bytesN(16, 'authentication tag');
        const both = new Uint8Array(sealed.length + 16);
        both.set(sealed);
        both.set(tag, sealed.length);
        const ck = await crypto.subtle.importKey('raw', bs(key), 'AES-GCM', false, ['decrypt']);
        try {
          section = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bs(iv), tagLength: 128 }, ck, bs(both)));
        } catch {
          throw InvalidInput.field('passphrase', 'wrong passphrase for the private key');
        }
      } else {
        section = nobleCtr(key, iv).decrypt(sealed);
      }
    }
    const p = new SshReader(section);
    // PROTOCOL.key: two equal check integers; unequal means a wrong passphrase.
    if (p.u32('checkint') !== p.u32('checkint')) throw InvalidInput.field('passphrase', 'wrong passphrase for the private key');
    const key = await openSshPrivateFields(crypto, p);
    // PROTOCOL.key: the public key in the header must be the one in the private section.
    if (!equalBytes(key.publicBlob, publicBlob)) throw badKey('the public and private halves of the key do not match');
    return key;
  } catch (e) {
    if (e instanceof InvalidInput) throw e;
    throw badKey(`malformed OpenSSH key: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function openSshPrivateFields(crypto: CryptoPort, p: SshReader): Promise<PrivateKey> {
  const type = p.text('key type', 64);
  if (type === 'ssh-ed25519') {
    const pk = p.string('ed25519 public', 64);
    const sk = p.string('ed25519 private', 128);
    if (pk.length !== 32 || sk.length !== 64) throw badKey('ed25519 key has wrong sizes');
    return ed25519Key(crypto, sk.subarray(0, 32), pk, p.text('comment', 4096));
  }
  if (type.startsWith('ecdsa-sha2-')) {
    const curve = p.text('curve', 64);
    const point = p.string('public point', 256);
    const d = p.mpintBytes('private scalar', 80);
    return ecKey(crypto, curve, point, d, p.text('comment', 4096));
  }
  if (type === 'ssh-rsa') {
    const n = p.mpintBytes('n', 2049);
    const e = p.mpintBytes('e', 64);
    const d = p.mpintBytes('d', 2049);
    const qi = p.mpintBytes('iqmp', 1025);
    const pp = p.mpintBytes('p', 1025);
    const q = p.mpintBytes('q', 1025);
    return rsaKey(crypto, { n, e, d, p: pp, q, qi }, p.text('comment', 4096));
  }
  throw badKey(`unsupported key type ${type}`);
}

// ---------------------------------------------------------------- signers

async function ed25519Key(crypto: CryptoPort, seed: Uint8Array, pk: Uint8Array | null, comment: string): Promise<PrivateKey> {
  let publicKey = pk;
  if (!publicKey) {
    // Derive the public half: WebCrypto computes it on a PKCS#8 import (RFC 8410 7).
    const pkcs8 = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20, ...seed]);
    const k = await crypto.subtle.importKey('pkcs8', bs(pkcs8), { name: 'Ed25519' }, true, ['sign']);
    const jwk = (await crypto.subtle.exportKey('jwk', k)) as JsonWebKey;
    publicKey = fromBase64(jwk.x!);
  }
  const key = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(publicKey) }, { name: 'Ed25519' }, false, ['sign']);
  const publicBlob = new SshWriter(64).string('ssh-ed25519').string(publicKey).finish();
  return {
    type: 'ssh-ed25519',
    publicBlob,
    comment,
    async sign(_alg, data) {
      const sig = new Uint8Array(await crypto.subtle.sign('Ed25519', key, bs(data)));
      return new SshWriter(96).string('ssh-ed25519').string(sig).finish();
    },
  };
}

async function ecKey(crypto: CryptoPort, curveName: string, point: Uint8Array, d: Uint8Array, comment: string): Promise<PrivateKey> {
  const spec = EC_CURVES[curveName];
  if (!spec) throw badKey(`unsupported ECDSA curve ${curveName}`);
  if (point.length !== 1 + 2 * spec.size || point[0] !== 4) throw badKey('ECDSA public point is not uncompressed');
  if (d.length > spec.size) throw badKey('ECDSA private scalar is too long');
  const x = point.subarray(1, 1 + spec.size);
  const y = point.subarray(1 + spec.size);
  const dd = new Uint8Array(spec.size);
  dd.set(d, spec.size - d.length);
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('jwk', { kty: 'EC', crv: spec.curve, x: b64url(x), y: b64url(y), d: b64url(dd) }, { name: 'ECDSA', namedCurve: spec.curve }, false, ['sign']);
  } catch {
    throw badKey(`ECDSA ${curveName} key is invalid`);
  }
  const type = `ecdsa-sha2-${curveName}` as KeyType;
  const publicBlob = new SshWriter(200).string(type).string(curveName).string(point).finish();
  return {
    type,
    publicBlob,
    comment,
    async sign(_alg, data) {
      const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: spec.hash }, key, bs(data)));
      // RFC 5656 3.1.2: ecdsa_signature_blob is mpint r, mpint s.
      const inner = new SshWriter(160).mpint(raw.subarray(0, spec.size)).mpint(raw.subarray(spec.size)).finish();
      return new SshWriter(200).string(type).string(inner).finish();
    },
  };
}

interface RsaParts {
  n: Uint8Array;
  e: Uint8Array;
  d: Uint8Array;
  p: Uint8Array;
  q: Uint8Array;
  qi: Uint8Array;
  dp?: Uint8Array;
  dq?: Uint8Array;
}

const RSA_HASH: Record<string, 'SHA-1' | 'SHA-256' | 'SHA-512'> = { 'rsa-sha2-512': 'SHA-512', 'rsa-sha2-256': 'SHA-256', 'ssh-rsa': 'SHA-1' };

async function rsaKey(crypto: CryptoPort, k: RsaParts, comment: string): Promise<PrivateKey> {
  const d = bytesToBigInt(k.d);
  const dp = k.dp ?? bigIntToBytes(d % (bytesToBigInt(k.p) - 1n));
  const dq = k.dq ?? bigIntToBytes(d % (bytesToBigInt(k.q) - 1n));
  const jwk: JsonWebKey = { kty: 'RSA', n: b64url(k.n), e: b64url(k.e), d: b64url(k.d), p: b64url(k.p), q: b64url(k.q), dp: b64url(dp), dq: b64url(dq), qi: b64url(k.qi) };
  const keys = new Map<string, Promise<CryptoKey>>();
  const keyFor = (hash: string) => {
    let p = keys.get(hash);
    if (!p) {
      p = crypto.subtle.importKey('jwk', jwk, { name: 'RSASSA-PKCS1-v1_5', hash }, false, ['sign']);
      keys.set(hash, p);
    }
    return p;
  };
  try {
    await keyFor('SHA-512');
  } catch {
    throw badKey('RSA key is invalid');
  }
  const publicBlob = new SshWriter(600).string('ssh-rsa').mpint(k.e).mpint(k.n).finish();
  return {
    type: 'ssh-rsa',
    publicBlob,
    comment,
    async sign(alg, data) {
      const hash = RSA_HASH[alg];
      if (!hash) throw badKey(`RSA keys cannot sign with ${alg}`);
      const sig = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', await keyFor(hash), bs(data)));
      return new SshWriter(sig.length + 32).string(alg).string(sig).finish();
    },
  };
}

// ---------------------------------------------------------------- PEM

function rsaFromPkcs1(crypto: CryptoPort, der: Uint8Array, comment: string): Promise<PrivateKey> {
  // RFC 8017 A.1.2: version, n, e, d, p, q, dP, dQ, qInv.
  const f = derSequence(der);
  if (f.length < 9) throw badKey('malformed RSA PRIVATE KEY');
  const [n, e, d, p, q, dp, dq, qi] = f.slice(1, 9).map(derUnsigned);
  return rsaKey(crypto, { n, e, d, p, q, dp, dq, qi }, comment);
}

const CURVE_BY_OID: Record<string, string> = { [OID.prime256v1]: 'nistp256', [OID.secp384r1]: 'nistp384', [OID.secp521r1]: 'nistp521' };

async function ecFromSec1(crypto: CryptoPort, der: Uint8Array, curveOid: string | null, comment: string): Promise<PrivateKey> {
  // RFC 5915 3: version 1, privateKey OCTET STRING, [0] parameters, [1] publicKey BIT STRING.
  const f = derSequence(der);
  const d = f[1];
  if (!d || d.tag !== 0x04) throw badKey('malformed EC PRIVATE KEY');
  let oid = curveOid;
  let point: Uint8Array | null = null;
  for (const node of f.slice(2)) {
    if (node.tag === 0xa0) oid = derOid(derChildren(node.body)[0]);
    if (node.tag === 0xa1) {
      const bits = derChildren(node.body)[0];
      if (bits?.tag === 0x03) point = bits.body.subarray(1);
    }
  }
  const curve = oid ? CURVE_BY_OID[oid] : undefined;
  if (!curve) throw badKey(`unsupported EC curve ${oid ?? '(none given)'}`);
  if (!point) {
    // Derive the public point through WebCrypto from a PKCS#8 wrapping is not needed for keys ssh-keygen or openssl write: they include it.
    throw badKey('EC private key has no public point');
  }
  return ecKey(crypto, curve, point, d.body, comment);
}

async function fromPkcs8(crypto: CryptoPort, der: Uint8Array): Promise<PrivateKey> {
  // RFC 5208 5: version, privateKeyAlgorithm AlgorithmIdentifier, privateKey OCTET STRING.
  const f = derSequence(der);
  const alg = f[1] ? derChildren(f[1].body) : [];
  const oid = alg[0] ? derOid(alg[0]) : '';
  const inner: DerNode | undefined = f[2];
  if (!inner || inner.tag !== 0x04) throw badKey('malformed PKCS#8 key');
  if (oid === OID.rsaEncryption) return rsaFromPkcs1(crypto, inner.body, '');
  if (oid === OID.ecPublicKey) return ecFromSec1(crypto, inner.body, alg[1] ? derOid(alg[1]) : null, '');
  if (oid === OID.ed25519) {
    // RFC 8410 7: CurvePrivateKey is an OCTET STRING holding the 32-byte seed.
    const seed = derChildren(inner.body)[0];
    if (!seed || seed.tag !== 0x04 || seed.body.length !== 32) throw badKey('malformed Ed25519 PKCS#8 key');
    return ed25519Key(crypto, seed.body, null, '');
  }
  throw badKey(`unsupported PKCS#8 key algorithm ${oid}`);
}

/** The OpenSSH public key line for a key: `type base64 comment`. */
export function publicKeyLine(key: PrivateKey): string {
  return `${key.type} ${toBase64(key.publicBlob)}${key.comment ? ` ${key.comment}` : ''}`;
}
