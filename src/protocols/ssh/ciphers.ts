// SSH packet protection: RFC 4344 4 (aes*-ctr), RFC 6668 (hmac-sha2), OpenSSH PROTOCOL 1.6 (-etm MACs),
// RFC 5647 as amended by OpenSSH PROTOCOL 1.6 (aes*-gcm@openssh.com), PROTOCOL.chacha20poly1305.
//
// How it works: a direction's protection is a PacketOpener (receive) or PacketSealer (send).
// An opener is split in two so framing stays synchronous: `wireSize` learns the packet's length
// from its first bytes (decrypting them when the length is encrypted: AES-CTR's first block via
// @noble/ciphers, ChaCha20 via @noble/ciphers) and `open` verifies and decrypts the whole packet
// (AES and HMAC through WebCrypto where it has them). Sequence numbers come from the caller.
import { ctr as nobleCtr } from '@noble/ciphers/aes.js';
import { chacha20orig } from '@noble/ciphers/chacha.js';
import { poly1305 } from '@noble/ciphers/_poly1305.js';
import type { CryptoPort, HashName } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { checkPacketLength, pad, unpad } from './codec.ts';

export interface CipherSpec {
  keyLen: number;
  ivLen: number;
  block: number;
  /** Authenticated encryption: no separate MAC is negotiated (RFC 5647 5.1, OpenSSH PROTOCOL 1.6). */
  aead: boolean;
  kind: 'ctr' | 'gcm' | 'chacha';
}

export const CIPHERS: Record<string, CipherSpec> = {
  'chacha20-poly1305@openssh.com': { keyLen: 64, ivLen: 0, block: 8, aead: true, kind: 'chacha' },
  'aes128-gcm@openssh.com': { keyLen: 16, ivLen: 12, block: 16, aead: true, kind: 'gcm' },
  'aes256-gcm@openssh.com': { keyLen: 32, ivLen: 12, block: 16, aead: true, kind: 'gcm' },
  'aes128-ctr': { keyLen: 16, ivLen: 16, block: 16, aead: false, kind: 'ctr' },
  'aes192-ctr': { keyLen: 24, ivLen: 16, block: 16, aead: false, kind: 'ctr' },
  'aes256-ctr': { keyLen: 32, ivLen: 16, block: 16, aead: false, kind: 'ctr' },
};

export interface MacSpec {
  keyLen: number;
  len: number;
  hash: HashName;
  /** Encrypt-then-MAC: the length is sent in the clear and the MAC covers the ciphertext. */
  etm: boolean;
}

export const MACS: Record<string, MacSpec> = {
  'hmac-sha2-256-etm@openssh.com': { keyLen: 32, len: 32, hash: 'SHA-256', etm: true },
  'hmac-sha2-512-etm@openssh.com': { keyLen: 64, len: 64, hash: 'SHA-512', etm: true },
  'hmac-sha2-256': { keyLen: 32, len: 32, hash: 'SHA-256', etm: false },
  'hmac-sha2-512': { keyLen: 64, len: 64, hash: 'SHA-512', etm: false },
  'hmac-sha1-etm@openssh.com': { keyLen: 20, len: 20, hash: 'SHA-1', etm: true },
  'hmac-sha1': { keyLen: 20, len: 20, hash: 'SHA-1', etm: false },
};

export interface PacketOpener {
  readonly name: string;
  /** Bytes needed before the packet's wire size is known. */
  readonly headerSize: number;
  /** Total bytes on the wire (length, body, tag) of the packet starting with `head`. Throws ProtocolError. */
  wireSize(head: Uint8Array, seq: number): number;
  /** Verifies and decrypts one whole packet; returns its payload. */
  open(wire: Uint8Array, seq: number): Promise<Uint8Array>;
}

export interface PacketSealer {
  readonly name: string;
  seal(payload: Uint8Array, seq: number): Promise<Uint8Array>;
}

export interface DirectionKeys {
  key: Uint8Array;
  iv: Uint8Array;
  macKey: Uint8Array;
}

const u32 = (b: Uint8Array, at = 0) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
const bs = (b: Uint8Array) => b as unknown as BufferSource;

function seqPrefixed(seq: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint32(0, seq);
  out.set(data, 4);
  return out;
}

/** Adds `blocks` to a 128-bit big-endian counter in place (RFC 4344 4: X = (X + 1) mod 2^L). */
export function addCounter(counter: Uint8Array, blocks: number): void {
  let carry = blocks;
  for (let i = 15; i >= 0 && carry > 0; i--) {
    const sum = counter[i] + (carry & 0xff);
    counter[i] = sum & 0xff;
    carry = Math.floor(carry / 256) + (sum >> 8);
  }
}

/** Increments the 64-bit invocation counter of a GCM nonce (RFC 5647 7.1). */
function incrementGcmNonce(iv: Uint8Array): void {
  for (let i = 11; i >= 4; i--) {
    iv[i] = (iv[i] + 1) & 0xff;
    if (iv[i] !== 0) break;
  }
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function chachaNonce(seq: number): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setUint32(4, seq);
  return n;
}

/** Unencrypted packets before the first NEWKEYS (RFC 4253 6: block size 8). */
export const plainOpener: PacketOpener = {
  name: 'none',
  headerSize: 4,
  wireSize(head) {
    const len = u32(head);
    checkPacketLength(len, 8, true);
    return 4 + len;
  },
  async open(wire) {
    return unpad(wire.subarray(4));
  },
};

/**
 * Random bytes for packet padding, drawn from a pool filled 4 KiB at a time: a packet needs 4 to 19 bytes,
 * and asking the runtime for each costs more than the rest of sealing a small packet.
 */
function randomPool(crypto: CryptoPort): (n: number) => Uint8Array {
  let pool: Uint8Array = new Uint8Array(0);
  let at = 0;
  return (n) => {
    if (at + n > pool.length) {
      pool = crypto.randomBytes(Math.max(4096, n));
      at = 0;
    }
    const out = pool.subarray(at, at + n);
    at += n;
    return out;
  };
}

export function plainSealer(random: (n: number) => Uint8Array): PacketSealer {
  return { name: 'none', seal: async (payload) => pad(payload, 8, true, random) };
}

async function hmacKey(crypto: CryptoPort, mac: MacSpec, key: Uint8Array, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', bs(key), { name: 'HMAC', hash: mac.hash }, false, [usage]);
}

/** Receive-side protection for a negotiated cipher and MAC. */
export async function createOpener(crypto: CryptoPort, cipherName: string, macName: string | null, keys: DirectionKeys): Promise<PacketOpener> {
  const spec = CIPHERS[cipherName];
  if (!spec) throw new ProtocolError(`cipher ${cipherName} is not supported`);
  const name = spec.aead ? cipherName : `${cipherName} + ${macName}`;
  const key = keys.key.subarray(0, spec.keyLen);

  if (spec.kind === 'chacha') {
    // PROTOCOL.chacha20poly1305: K_2 = first 32 bytes (payload, Poly1305 key), K_1 = next 32 (length).
    const k2 = key.slice(0, 32);
    const k1 = key.slice(32, 64);
    return {
      name,
      headerSize: 4,
      wireSize(head, seq) {
        const len = u32(chacha20orig(k1, chachaNonce(seq), head.subarray(0, 4)));
        checkPacketLength(len, 8, false);
        return 4 + len + 16;
      },
      async open(wire, seq) {
        const nonce = chachaNonce(seq);
        const body = wire.subarray(0, wire.length - 16);
        const polyKey = chacha20orig(k2, nonce, new Uint8Array(32));
        if (!constantTimeEqual(poly1305(body, polyKey), wire.subarray(wire.length - 16))) throw new ProtocolError('message authentication failed (chacha20-poly1305 tag)');
        return unpad(chacha20orig(k2, nonce, body.subarray(4), undefined, 1));
      },
    };
  }

  if (spec.kind === 'gcm') {
    const iv = keys.iv.slice(0, 12);
    const ck = await crypto.subtle.importKey('raw', bs(key), 'AES-GCM', false, ['decrypt']);
    return {
      name,
      headerSize: 4,
      wireSize(head) {
        // RFC 5647 7.2 (OpenSSH): the length is additional authenticated data, sent in the clear.
        const len = u32(head);
        checkPacketLength(len, 16, false);
        return 4 + len + 16;
      },
      async open(wire) {
        let plain: ArrayBuffer;
        try {
          plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bs(iv), additionalData: bs(wire.subarray(0, 4)), tagLength: 128 }, ck, bs(wire.subarray(4)));
        } catch {
          throw new ProtocolError('message authentication failed (AES-GCM tag)');
        } finally {
          incrementGcmNonce(iv);
        }
        return unpad(new Uint8Array(plain));
      },
    };
  }

  const mac = macName ? MACS[macName] : undefined;
  if (!mac) throw new ProtocolError(`MAC ${macName} is not supported`);
  const counter = keys.iv.slice(0, 16);
  const aesKey = await crypto.subtle.importKey('raw', bs(key), 'AES-CTR', false, ['decrypt']);
  const macKey = await hmacKey(crypto, mac, keys.macKey.subarray(0, mac.keyLen), 'verify');
  let cached: { seq: number; len: number } | undefined;
  const ctrDecrypt = async (data: Uint8Array) => new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CTR', counter: bs(counter), length: 128 }, aesKey, bs(data)));
  if (mac.etm) {
    return {
      name,
      headerSize: 4,
      wireSize(head) {
        const len = u32(head);
        checkPacketLength(len, 16, false);
        return 4 + len + mac.len;
      },
      async open(wire, seq) {
        const body = wire.subarray(0, wire.length - mac.len);
        // OpenSSH PROTOCOL 1.6: mac = MAC(key, sequence_number || packet_length || encrypted_packet), checked before decrypting.
        const ok = await crypto.subtle.verify('HMAC', macKey, bs(wire.subarray(body.length)), bs(seqPrefixed(seq, body)));
        if (!ok) throw new ProtocolError(`message authentication failed (${macName})`);
        const plain = await ctrDecrypt(body.subarray(4));
        addCounter(counter, plain.length / 16);
        return unpad(plain);
      },
    };
  }
  return {
    name,
    headerSize: 16,
    wireSize(head, seq) {
      if (cached?.seq !== seq) {
        const first = nobleCtr(key, counter).encrypt(head.subarray(0, 16));
        cached = { seq, len: u32(first) };
      }
      checkPacketLength(cached.len, 16, true);
      return 4 + cached.len + mac.len;
    },
    async open(wire, seq) {
      const plain = await ctrDecrypt(wire.subarray(0, wire.length - mac.len));
      addCounter(counter, plain.length / 16);
      cached = undefined;
      // RFC 4253 6.4: mac = MAC(key, sequence_number || unencrypted_packet).
      const ok = await crypto.subtle.verify('HMAC', macKey, bs(wire.subarray(plain.length)), bs(seqPrefixed(seq, plain)));
      if (!ok) throw new ProtocolError(`message authentication failed (${macName})`);
      return unpad(plain.subarray(4));
    },
  };
}

/** Send-side protection for a negotiated cipher and MAC. */
export async function createSealer(crypto: CryptoPort, cipherName: string, macName: string | null, keys: DirectionKeys): Promise<PacketSealer> {
  const spec = CIPHERS[cipherName];
  if (!spec) throw new ProtocolError(`cipher ${cipherName} is not supported`);
  const name = spec.aead ? cipherName : `${cipherName} + ${macName}`;
  const key = keys.key.subarray(0, spec.keyLen);
  const random = randomPool(crypto);

  if (spec.kind === 'chacha') {
    const k2 = key.slice(0, 32);
    const k1 = key.slice(32, 64);
    return {
      name,
      async seal(payload, seq) {
        const nonce = chachaNonce(seq);
        const packet = pad(payload, 8, false, random);
        const out = new Uint8Array(packet.length + 16);
        chacha20orig(k1, nonce, packet.subarray(0, 4), out.subarray(0, 4));
        chacha20orig(k2, nonce, packet.subarray(4), out.subarray(4, packet.length), 1);
        const polyKey = chacha20orig(k2, nonce, new Uint8Array(32));
        out.set(poly1305(out.subarray(0, packet.length), polyKey), packet.length);
        return out;
      },
    };
  }

  if (spec.kind === 'gcm') {
    const iv = keys.iv.slice(0, 12);
    const ck = await crypto.subtle.importKey('raw', bs(key), 'AES-GCM', false, ['encrypt']);
    return {
      name,
      async seal(payload) {
        const packet = pad(payload, 16, false, random);
        const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: bs(iv), additionalData: bs(packet.subarray(0, 4)), tagLength: 128 }, ck, bs(packet.subarray(4))));
        incrementGcmNonce(iv);
        const out = new Uint8Array(4 + sealed.length);
        out.set(packet.subarray(0, 4));
        out.set(sealed, 4);
        return out;
      },
    };
  }

  const mac = macName ? MACS[macName] : undefined;
  if (!mac) throw new ProtocolError(`MAC ${macName} is not supported`);
  const counter = keys.iv.slice(0, 16);
  const aesKey = await crypto.subtle.importKey('raw', bs(key), 'AES-CTR', false, ['encrypt']);
  const macKey = await hmacKey(crypto, mac, keys.macKey.subarray(0, mac.keyLen), 'sign');
  const ctrEncrypt = async (data: Uint8Array) => new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CTR', counter: bs(counter), length: 128 }, aesKey, bs(data)));
  return {
    name,
    async seal(payload, seq) {
      const packet = pad(payload, 16, !mac.etm, random);
      const out = new Uint8Array(packet.length + mac.len);
      if (mac.etm) {
        out.set(packet.subarray(0, 4));
        out.set(await ctrEncrypt(packet.subarray(4)), 4);
        addCounter(counter, (packet.length - 4) / 16);
        out.set(new Uint8Array(await crypto.subtle.sign('HMAC', macKey, bs(seqPrefixed(seq, out.subarray(0, packet.length))))), packet.length);
      } else {
        const tag = crypto.subtle.sign('HMAC', macKey, bs(seqPrefixed(seq, packet)));
        out.set(await ctrEncrypt(packet));
        addCounter(counter, packet.length / 16);
        out.set(new Uint8Array(await tag), packet.length);
      }
      return out;
    },
  };
}
