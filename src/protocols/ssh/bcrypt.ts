// bcrypt_pbkdf as OpenSSH uses it for encrypted private keys (PROTOCOL.key; OpenBSD bcrypt_pbkdf(3)), on Blowfish
// (Schneier 1993) with the Eksblowfish key schedule (Provos and Mazieres 1999). SHA-512 from @noble/hashes.
import { sha512 } from '@noble/hashes/sha2.js';
import { piFractionWords } from './pi.ts';

let initial: Uint32Array | undefined;

/** Blowfish's initial state: 18 P words then 4 x 256 S words, the fractional hex digits of pi. */
function initialState(): Uint32Array {
  initial ??= piFractionWords(18 + 1024);
  return initial;
}

class Blowfish {
  readonly P: Uint32Array;
  readonly S: Uint32Array;

  constructor() {
    const init = initialState();
    this.P = init.slice(0, 18);
    this.S = init.slice(18);
  }

  /** Enciphers the pair in `lr` (two words) in place. */
  encipher(lr: Uint32Array): void {
    const P = this.P;
    const S = this.S;
    let l = lr[0] ^ P[0];
    let r = lr[1];
    for (let i = 1; i <= 16; i += 2) {
      r ^= (((S[l >>> 24] + S[256 | ((l >>> 16) & 0xff)]) ^ S[512 | ((l >>> 8) & 0xff)]) + S[768 | (l & 0xff)]) ^ P[i];
      l ^= (((S[r >>> 24] + S[256 | ((r >>> 16) & 0xff)]) ^ S[512 | ((r >>> 8) & 0xff)]) + S[768 | (r & 0xff)]) ^ P[i + 1];
    }
    lr[0] = r ^ P[17];
    lr[1] = l;
  }

  /** Eksblowfish ExpandKey(state, salt, key); with `data` null it is ExpandKey(state, 0, key). */
  expand(data: Uint8Array | null, key: Uint8Array): void {
    const word = cyclicWords(key);
    for (let i = 0; i < 18; i++) this.P[i] ^= word();
    const dataWord = data ? cyclicWords(data) : () => 0;
    const lr = new Uint32Array(2);
    for (let i = 0; i < 18; i += 2) {
      lr[0] ^= dataWord();
      lr[1] ^= dataWord();
      this.encipher(lr);
      this.P[i] = lr[0];
      this.P[i + 1] = lr[1];
    }
    for (let i = 0; i < 1024; i += 2) {
      lr[0] ^= dataWord();
      lr[1] ^= dataWord();
      this.encipher(lr);
      this.S[i] = lr[0];
      this.S[i + 1] = lr[1];
    }
  }
}

/** Big-endian 32-bit words read cyclically from `bytes` (Blowfish_stream2word). */
function cyclicWords(bytes: Uint8Array): () => number {
  let at = 0;
  return () => {
    let w = 0;
    for (let k = 0; k < 4; k++) {
      w = (w << 8) | bytes[at];
      at = (at + 1) % bytes.length;
    }
    return w >>> 0;
  };
}

const MAGIC = new TextEncoder().encode('OxychromaticBlowfishSwatDynamite');

/** bcrypt_hash: 32 bytes from SHA-512(pass) and SHA-512(salt). */
function bcryptHash(sha2pass: Uint8Array, sha2salt: Uint8Array): Uint8Array {
  const bf = new Blowfish();
  bf.expand(sha2salt, sha2pass);
  for (let i = 0; i < 64; i++) {
    bf.expand(null, sha2salt);
    bf.expand(null, sha2pass);
  }
  const next = cyclicWords(MAGIC);
  const cdata = new Uint32Array(8);
  for (let i = 0; i < 8; i++) cdata[i] = next();
  const pair = new Uint32Array(2);
  for (let i = 0; i < 64; i++) {
    for (let b = 0; b < 8; b += 2) {
      pair[0] = cdata[b];
      pair[1] = cdata[b + 1];
      bf.encipher(pair);
      cdata[b] = pair[0];
      cdata[b + 1] = pair[1];
    }
  }
  const out = new Uint8Array(32);
  // Words are written little-endian.
  for (let i = 0; i < 8; i++) {
    out[4 * i] = cdata[i] & 0xff;
    out[4 * i + 1] = (cdata[i] >>> 8) & 0xff;
    out[4 * i + 2] = (cdata[i] >>> 16) & 0xff;
    out[4 * i + 3] = cdata[i] >>> 24;
  }
  return out;
}

/** bcrypt_pbkdf(pass, salt, keylen, rounds): PBKDF2-like, with output bytes interleaved across blocks. */
export function bcryptPbkdf(pass: Uint8Array, salt: Uint8Array, keyLen: number, rounds: number): Uint8Array {
  if (rounds < 1 || keyLen < 1 || keyLen > 1024) throw new RangeError('bcrypt_pbkdf: bad parameters');
  const stride = Math.ceil(keyLen / 32);
  let amount = Math.ceil(keyLen / stride);
  const key = new Uint8Array(keyLen);
  const sha2pass = sha512(pass);
  const countSalt = new Uint8Array(salt.length + 4);
  countSalt.set(salt);
  let remaining = keyLen;
  for (let count = 1; remaining > 0; count++) {
    new DataView(countSalt.buffer).setUint32(salt.length, count);
    let tmp = bcryptHash(sha2pass, sha512(countSalt));
    const out = tmp.slice();
    for (let i = 1; i < rounds; i++) {
      tmp = bcryptHash(sha2pass, sha512(tmp));
      for (let j = 0; j < 32; j++) out[j] ^= tmp[j];
    }
    amount = Math.min(amount, remaining);
    let i = 0;
    for (; i < amount; i++) {
      const dest = i * stride + (count - 1);
      if (dest >= keyLen) break;
      key[dest] = out[i];
    }
    remaining -= i;
  }
  return key;
}
