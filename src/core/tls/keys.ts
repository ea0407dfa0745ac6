// Key derivation: the TLS 1.3 key schedule (RFC 8446 §7.1 HKDF-Expand-Label and Derive-Secret, §7.3 traffic keys,
// §4.4.4 Finished keys, §4.6.3 KeyUpdate) and the TLS 1.2 PRF (RFC 5246 §5) with the extended master secret
// (RFC 7627 §4) and key block (RFC 5246 §6.3). Small inputs, computed synchronously.
import { expand, extract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { concat, utf8 } from '../bytes.ts';
import { hashFn, hashLength } from './primitives.ts';
import type { HashAlgorithm } from './wire.ts';

const LABEL_PREFIX = utf8('tls13 ');

/** RFC 8446 §7.1 HKDF-Expand-Label. */
export function expandLabel(hash: HashAlgorithm, secret: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  const l = utf8(label);
  const info = new Uint8Array(2 + 1 + LABEL_PREFIX.length + l.length + 1 + context.length);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = LABEL_PREFIX.length + l.length;
  info.set(LABEL_PREFIX, 3);
  info.set(l, 3 + LABEL_PREFIX.length);
  info[3 + LABEL_PREFIX.length + l.length] = context.length;
  info.set(context, 4 + LABEL_PREFIX.length + l.length);
  return expand(hashFn(hash), secret, info, length);
}

/** RFC 8446 §7.1 Derive-Secret, given the transcript hash already computed. */
export function deriveSecret(hash: HashAlgorithm, secret: Uint8Array, label: string, transcriptHash: Uint8Array): Uint8Array {
  return expandLabel(hash, secret, label, transcriptHash, hashLength(hash));
}

export function hkdfExtract(hash: HashAlgorithm, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return extract(hashFn(hash), ikm, salt);
}

export function hmacOf(hash: HashAlgorithm, key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(hashFn(hash), key, data);
}

/** The TLS 1.3 secrets up to the application traffic secrets (RFC 8446 §7.1), for one handshake. */
export class KeySchedule13 {
  private readonly zeros: Uint8Array;
  private readonly emptyHash: Uint8Array;
  earlySecret: Uint8Array;
  handshakeSecret?: Uint8Array;
  masterSecret?: Uint8Array;

  constructor(
    readonly hash: HashAlgorithm,
    psk?: Uint8Array,
  ) {
    this.zeros = new Uint8Array(hashLength(hash));
    this.emptyHash = hashFn(hash)(new Uint8Array(0));
    this.earlySecret = hkdfExtract(hash, new Uint8Array(0), psk ?? this.zeros);
  }

  /** binder_key for a resumption PSK (RFC 8446 §7.1 "res binder"). */
  binderKey(): Uint8Array {
    return deriveSecret(this.hash, this.earlySecret, 'res binder', this.emptyHash);
  }

  /** Enters the handshake secret with the (EC)DHE shared secret; returns the client and server handshake traffic secrets. */
  handshake(sharedSecret: Uint8Array, helloHash: Uint8Array): { client: Uint8Array; server: Uint8Array } {
    const derived = deriveSecret(this.hash, this.earlySecret, 'derived', this.emptyHash);
    this.handshakeSecret = hkdfExtract(this.hash, derived, sharedSecret);
    return {
      client: deriveSecret(this.hash, this.handshakeSecret, 'c hs traffic', helloHash),
      server: deriveSecret(this.hash, this.handshakeSecret, 's hs traffic', helloHash),
    };
  }

  /** The master secret and the application traffic secrets, from the hash through the server Finished. */
  application(serverFinishedHash: Uint8Array): { client: Uint8Array; server: Uint8Array } {
    const derived = deriveSecret(this.hash, this.handshakeSecret!, 'derived', this.emptyHash);
    this.masterSecret = hkdfExtract(this.hash, derived, this.zeros);
    return {
      client: deriveSecret(this.hash, this.masterSecret, 'c ap traffic', serverFinishedHash),
      server: deriveSecret(this.hash, this.masterSecret, 's ap traffic', serverFinishedHash),
    };
  }

  /** resumption_master_secret, from the hash through the client Finished. */
  resumptionMaster(clientFinishedHash: Uint8Array): Uint8Array {
    return deriveSecret(this.hash, this.masterSecret!, 'res master', clientFinishedHash);
  }
}

/** RFC 8446 §4.4.4: verify_data = HMAC(finished_key, transcript hash). */
export function finishedMac13(hash: HashAlgorithm, baseKey: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
  const finishedKey = expandLabel(hash, baseKey, 'finished', new Uint8Array(0), hashLength(hash));
  return hmacOf(hash, finishedKey, transcriptHash);
}

/** RFC 8446 §7.3: the write key and IV of a traffic secret. */
export function trafficKeys(hash: HashAlgorithm, secret: Uint8Array, keyLength: number): { key: Uint8Array; iv: Uint8Array } {
  return { key: expandLabel(hash, secret, 'key', new Uint8Array(0), keyLength), iv: expandLabel(hash, secret, 'iv', new Uint8Array(0), 12) };
}

/** RFC 8446 §7.2: the next traffic secret after a KeyUpdate. */
export function nextTrafficSecret(hash: HashAlgorithm, secret: Uint8Array): Uint8Array {
  return expandLabel(hash, secret, 'traffic upd', new Uint8Array(0), hashLength(hash));
}

/** RFC 8446 §4.6.1: the PSK of a ticket, from the resumption master secret and the ticket's nonce. */
export function ticketPsk(hash: HashAlgorithm, resumptionMaster: Uint8Array, nonce: Uint8Array): Uint8Array {
  return expandLabel(hash, resumptionMaster, 'resumption', nonce, hashLength(hash));
}

/** RFC 5246 §5: PRF(secret, label, seed) = P_hash(secret, label ‖ seed), `length` bytes. */
export function prf12(hash: HashAlgorithm, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const fn = hashFn(hash);
  const labelSeed = concat([utf8(label), seed]);
  const out = new Uint8Array(length);
  let a = labelSeed;
  for (let at = 0; at < length; ) {
    a = hmac(fn, secret, a);
    const block = hmac(fn, secret, concat([a, labelSeed]));
    out.set(block.subarray(0, Math.min(block.length, length - at)), at);
    at += block.length;
  }
  return out;
}

/** RFC 7627 §4: master_secret = PRF(pre_master_secret, "extended master secret", session_hash)[0..47]. */
export function extendedMasterSecret(hash: HashAlgorithm, preMaster: Uint8Array, sessionHash: Uint8Array): Uint8Array {
  return prf12(hash, preMaster, 'extended master secret', sessionHash, 48);
}

/** RFC 5246 §6.3 key block for an AEAD suite: client and server write keys and IVs (RFC 5288 §3: 4-byte salt; RFC 7905: 12-byte IV). */
export function keyBlock12(hash: HashAlgorithm, master: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array, keyLength: number, ivLength: number) {
  const block = prf12(hash, master, 'key expansion', concat([serverRandom, clientRandom]), 2 * keyLength + 2 * ivLength);
  let at = 0;
  const take = (n: number) => block.slice(at, (at += n));
  return { clientKey: take(keyLength), serverKey: take(keyLength), clientIv: take(ivLength), serverIv: take(ivLength) };
}

/** RFC 5246 §7.4.9: verify_data = PRF(master, finished_label, Hash(handshake_messages))[0..11]. */
export function finishedMac12(hash: HashAlgorithm, master: Uint8Array, label: 'client finished' | 'server finished', handshakeHash: Uint8Array): Uint8Array {
  return prf12(hash, master, label, handshakeHash, 12);
}
