// Streamlined NTRU Prime sntrup761 (NTRU Prime round-3 submission, parameters p = 761, q = 4591, w = 286):
// the KEM with implicit rejection that OpenSSH's sntrup761x25519-sha512@openssh.com key exchange uses.
// Sans-I/O and fixed-size: every array has a size fixed by the parameters, inputs of the wrong size throw.
// Polynomials live in Z[x]/(x^p - x - 1): "small" ones with coefficients in {-1, 0, 1} (Int8Array),
// ones in R/q with coefficients in [-(q-1)/2, (q-1)/2] (Int16Array).
import { sha512 } from '@noble/hashes/sha2.js';
import { ProtocolError } from '../../core/errors.ts';

const P = 761;
const Q = 4591;
const W = 286;
const Q12 = (Q - 1) / 2;

const SMALL_BYTES = (P + 3) >> 2; // 191
const RQ_BYTES = 1158;
const ROUNDED_BYTES = 1007;
const HASH_BYTES = 32;

export const SNTRUP761 = {
  publicKeyBytes: RQ_BYTES,
  secretKeyBytes: 2 * SMALL_BYTES + RQ_BYTES + SMALL_BYTES + HASH_BYTES, // 1763
  ciphertextBytes: ROUNDED_BYTES + HASH_BYTES, // 1039
  sharedKeyBytes: 32,
} as const;

// ---------------------------------------------------------------- arithmetic mod 3 and mod q

/** x mod 3 in {-1, 0, 1}, for |x| < 2^30. */
function f3(x: number): number {
  const r = (x + 1) % 3;
  return r + (3 & (r >> 31)) - 1;
}

/** x mod q in [-(q-1)/2, (q-1)/2], for |x| < 2^31 - q. */
function fq(x: number): number {
  const r = (x + Q12) % Q;
  return r + (Q & (r >> 31)) - Q12;
}

/** a^(q-2) = 1/a in Z/q. */
function fqRecip(a: number): number {
  let out = 1;
  let base = fq(a);
  for (let e = Q - 2; e > 0; e >>= 1) {
    if (e & 1) out = fq(out * base);
    base = fq(base * base);
  }
  return out;
}

/** -1 when x != 0, else 0 (x a small integer). */
const nonzeroMask = (x: number) => -((x | -x) >>> 31) | 0;
/** -1 when x < 0, else 0. */
const negativeMask = (x: number) => x >> 31;

// ---------------------------------------------------------------- the rings

/** f * g in Z[x]/(x^p - x - 1), each coefficient reduced by `reduce` (g small, so sums stay far below 2^31). */
function multiply(f: Int16Array | Int8Array, g: Int8Array, reduce: (x: number) => number): Int32Array {
  const fg = new Int32Array(2 * P - 1);
  for (let i = 0; i < P; i++) {
    const fi = f[i];
    if (fi === 0) continue;
    for (let j = 0; j < P; j++) fg[i + j] = (fg[i + j] + fi * g[j]) | 0;
  }
  // x^p = x + 1: fold the high half down.
  for (let i = 2 * P - 2; i >= P; i--) {
    fg[i - P] = reduce(fg[i - P] + fg[i]);
    fg[i - P + 1] = reduce(fg[i - P + 1] + fg[i]);
  }
  for (let i = 0; i < P; i++) fg[i] = reduce(fg[i]);
  return fg.subarray(0, P);
}

/** h = f * g in R/q, g small. */
export const rqMultSmall = (f: Int16Array, g: Int8Array): Int16Array => Int16Array.from(multiply(f, g, fq));

/** h = f * g in R/3. */
export const r3Mult = (f: Int8Array, g: Int8Array): Int8Array => Int8Array.from(multiply(f, g, f3));

/**
 * 1/(3s) in R/q by the submission's constant-time extended GCD (divsteps) over Z/q: f starts as x^p - x - 1
 * reversed, g as s reversed, r as 1/3; each step swaps (f, v) with (g, r) when delta > 0 and g0 != 0, then
 * g = f0 g - g0 f, r = f0 r - g0 v, g /= x. Afterwards v / f0 is 1/(3s), unless delta is not 0 (s not
 * invertible: null). Only coefficients that can be nonzero are updated: v and r hold at most loop + 2 at step
 * `loop` (v shifts one place a step, from zero); f and g together hold at most 2p + 1 - loop (each step divides g
 * by x, and its new length is at most the longer of the two, less one), so each at most that many.
 */
export function rqRecip3(s: Int8Array): Int16Array | null {
  // x mod q centred, for |x| < 2^31: q is odd, so x / q is never halfway between integers. The `| 0` keep every
  // value a small integer (a product such as -1 * 0 is -0 in JavaScript, which would turn the loop to doubles).
  const m = Q;
  const inv = 1 / Q;
  const f = new Int16Array(P + 1);
  const g = new Int16Array(P + 1);
  const v = new Int16Array(P + 1);
  const r = new Int16Array(P + 1);
  r[0] = fqRecip(3);
  f[0] = 1;
  f[P - 1] = -1;
  f[P] = -1;
  for (let i = 0; i < P; i++) g[P - 1 - i] = s[i];
  let delta = 1;
  for (let loop = 0; loop < 2 * P - 1; loop++) {
    const vr = Math.min(loop + 2, P + 1);
    const fg = Math.min(2 * P + 1 - loop, P + 1);
    v.copyWithin(1, 0, vr - 1);
    v[0] = 0;
    const swap = negativeMask(-delta) & nonzeroMask(g[0]);
    delta ^= swap & (delta ^ -delta);
    delta += 1;
    const t0 = swap & (f[0] ^ g[0]);
    const f0 = f[0] ^ t0;
    const g0 = g[0] ^ t0;
    for (let i = 0; i < fg; i++) {
      const t = swap & (f[i] ^ g[i]);
      const fi = f[i] ^ t;
      f[i] = fi;
      const x = (f0 * (g[i] ^ t) - g0 * fi) | 0;
      g[i] = x - m * (Math.floor(x * inv + 0.5) | 0);
    }
    for (let i = 0; i < vr; i++) {
      const t = swap & (v[i] ^ r[i]);
      const vi = v[i] ^ t;
      v[i] = vi;
      const x = (f0 * (r[i] ^ t) - g0 * vi) | 0;
      r[i] = x - m * (Math.floor(x * inv + 0.5) | 0);
    }
    g.copyWithin(0, 1, fg);
    g[fg - 1] = 0;
  }
  if (delta !== 0) return null;
  const scale = fqRecip(f[0]);
  const out = new Int16Array(P);
  for (let i = 0; i < P; i++) out[i] = fq(scale * v[P - 1 - i]);
  return out;
}

// R/3 bitsliced: a polynomial over Z/3 as two bit planes of 32 coefficients a word, `n` (nonzero) and `s` (sign:
// -1 where both are set), so one word operation does 32 coefficients. Sums follow the table of Z/3: x + 0 = x,
// 1 + 1 = -1, -1 + -1 = 1, 1 + -1 = 0.
const WORDS = (P + 1 + 31) >> 5;

/** (n, s) += c * (bn, bs) for a constant c in {-1, 0, 1}, word by word over the first `words` words. */
function addScaled3(n: Int32Array, s: Int32Array, bn: Int32Array, bs: Int32Array, c: number, words: number): void {
  const cz = -(c & 1); // c != 0
  const cneg = c >> 31; // c == -1
  for (let i = 0; i < words; i++) {
    const yn = bn[i] & cz;
    const ys = (bs[i] ^ cneg) & yn;
    const xn = n[i];
    const xs = s[i];
    const both = xn & yn;
    const same = both & ~(xs ^ ys);
    n[i] = (xn ^ yn) | same;
    s[i] = (xn & ~yn & xs) | (yn & ~xn & ys) | (same & ~xs);
  }
}

/** Coefficient 0 of a bitsliced polynomial, as -1, 0 or 1. */
const coeff0 = (n: Int32Array, s: Int32Array) => (n[0] & 1) - ((n[0] & s[0] & 1) << 1);

/**
 * 1/s in R/3: the divsteps of rqRecip3 over Z/3, on bit planes. With f0 and g0 in {-1, 1} when used, the step
 * g = f0 g - g0 f is f0 (g - f0 g0 f), and the common factor f0 is left out, as the submission's R3_recip does;
 * the result is then scaled by the final f0 (its own inverse). Null when s is not invertible.
 */
export function r3Recip(src: Int8Array): Int8Array | null {
  const fn = new Int32Array(WORDS);
  const fs = new Int32Array(WORDS);
  const gn = new Int32Array(WORDS);
  const gs = new Int32Array(WORDS);
  const vn = new Int32Array(WORDS);
  const vs = new Int32Array(WORDS);
  const rn = new Int32Array(WORDS);
  const rs = new Int32Array(WORDS);
  const set = (n: Int32Array, s: Int32Array, i: number, x: number) => {
    if (x !== 0) n[i >> 5] |= 1 << (i & 31);
    if (x < 0) s[i >> 5] |= 1 << (i & 31);
  };
  rn[0] = 1;
  set(fn, fs, 0, 1);
  set(fn, fs, P - 1, -1);
  set(fn, fs, P, -1);
  for (let i = 0; i < P; i++) set(gn, gs, P - 1 - i, src[i]);
  let delta = 1;
  for (let loop = 0; loop < 2 * P - 1; loop++) {
    // v *= x; as in rqRecip3, only the words that can hold nonzero coefficients of v, r, f and g are touched.
    const vw = Math.min((loop + 2 + 31) >> 5, WORDS);
    const fgw = Math.min((2 * P + 1 - loop + 31) >> 5, WORDS);
    for (let i = vw - 1; i > 0; i--) {
      vn[i] = (vn[i] << 1) | (vn[i - 1] >>> 31);
      vs[i] = (vs[i] << 1) | (vs[i - 1] >>> 31);
    }
    vn[0] <<= 1;
    vs[0] <<= 1;
    const sign = -coeff0(gn, gs) * coeff0(fn, fs);
    const swap = negativeMask(-delta) & -(gn[0] & 1);
    delta ^= swap & (delta ^ -delta);
    delta += 1;
    for (let i = 0; i < fgw; i++) {
      let t = swap & (fn[i] ^ gn[i]);
      fn[i] ^= t;
      gn[i] ^= t;
      t = swap & (fs[i] ^ gs[i]);
      fs[i] ^= t;
      gs[i] ^= t;
    }
    for (let i = 0; i < vw; i++) {
      let t = swap & (vn[i] ^ rn[i]);
      vn[i] ^= t;
      rn[i] ^= t;
      t = swap & (vs[i] ^ rs[i]);
      vs[i] ^= t;
      rs[i] ^= t;
    }
    addScaled3(gn, gs, fn, fs, sign, fgw);
    addScaled3(rn, rs, vn, vs, sign, vw);
    // g /= x.
    for (let i = 0; i < fgw - 1; i++) {
      gn[i] = (gn[i] >>> 1) | (gn[i + 1] << 31);
      gs[i] = (gs[i] >>> 1) | (gs[i + 1] << 31);
    }
    gn[fgw - 1] >>>= 1;
    gs[fgw - 1] >>>= 1;
  }
  if (delta !== 0) return null;
  const f0 = coeff0(fn, fs);
  const out = new Int8Array(P);
  for (let i = 0; i < P; i++) {
    const j = P - 1 - i;
    const bit = 1 << (j & 31);
    const x = vn[j >> 5] & bit ? (vs[j >> 5] & bit ? -1 : 1) : 0;
    out[i] = f0 * x;
  }
  return out;
}


// ---------------------------------------------------------------- encodings

/** The submission's mixed-radix Encode: R[i] in [0, M[i]), 1 <= M[i] <= 16384. */
function encode(out: Uint8Array, at: number, r: Uint16Array, m: Uint16Array): number {
  let len = r.length;
  let rr = r;
  let mm = m;
  while (len > 1) {
    const half = (len + 1) >> 1;
    const r2 = new Uint16Array(half);
    const m2 = new Uint16Array(half);
    let i = 0;
    for (; i < len - 1; i += 2) {
      let v = rr[i] + rr[i + 1] * mm[i];
      let mv = mm[i + 1] * mm[i];
      while (mv >= 16384) {
        out[at++] = v & 0xff;
        v >>>= 8;
        mv = (mv + 255) >>> 8;
      }
      r2[i >> 1] = v;
      m2[i >> 1] = mv;
    }
    if (i < len) {
      r2[i >> 1] = rr[i];
      m2[i >> 1] = mm[i];
    }
    rr = r2;
    mm = m2;
    len = half;
  }
  let v = rr[0];
  for (let mv = mm[0]; mv > 1; mv = (mv + 255) >>> 8) {
    out[at++] = v & 0xff;
    v >>>= 8;
  }
  return at;
}

/** The inverse of encode: reads len values with moduli m from s (whose size the moduli fix). */
function decode(s: Uint8Array, m: Uint16Array): Uint16Array {
  return decodeAt(s, 0, m);
}

function decodeAt(s: Uint8Array, at: number, m: Uint16Array): Uint16Array {
  const len = m.length;
  const out = new Uint16Array(len);
  if (len === 1) {
    if (m[0] === 1) out[0] = 0;
    else if (m[0] <= 256) out[0] = s[at] % m[0];
    else out[0] = (s[at] + (s[at + 1] << 8)) % m[0];
    return out;
  }
  const half = (len + 1) >> 1;
  const m2 = new Uint16Array(half);
  const bottomR = new Uint32Array(len >> 1);
  const bottomT = new Uint32Array(len >> 1);
  let i = 0;
  for (; i < len - 1; i += 2) {
    const mv = m[i] * m[i + 1];
    if (mv > 256 * 16383) {
      bottomT[i >> 1] = 65536;
      bottomR[i >> 1] = s[at] + 256 * s[at + 1];
      at += 2;
      m2[i >> 1] = (((mv + 255) >>> 8) + 255) >>> 8;
    } else if (mv >= 16384) {
      bottomT[i >> 1] = 256;
      bottomR[i >> 1] = s[at];
      at += 1;
      m2[i >> 1] = (mv + 255) >>> 8;
    } else {
      bottomT[i >> 1] = 1;
      bottomR[i >> 1] = 0;
      m2[i >> 1] = mv;
    }
  }
  if (i < len) m2[i >> 1] = m[i];
  const r2 = decodeAt(s, at, m2);
  let o = 0;
  for (i = 0; i < len - 1; i += 2) {
    const v = bottomR[i >> 1] + bottomT[i >> 1] * r2[i >> 1];
    out[o++] = v % m[i];
    // Reduced again: only an invalid encoding makes the quotient reach m[i+1].
    out[o++] = Math.floor(v / m[i]) % m[i + 1];
  }
  if (i < len) out[o++] = r2[i >> 1];
  return out;
}

const M_Q = new Uint16Array(P).fill(Q);
const M_ROUNDED = new Uint16Array(P).fill((Q + 2) / 3);

export function rqEncode(h: Int16Array): Uint8Array {
  const r = new Uint16Array(P);
  for (let i = 0; i < P; i++) r[i] = h[i] + Q12;
  const out = new Uint8Array(RQ_BYTES);
  encode(out, 0, r, M_Q);
  return out;
}

export function rqDecode(s: Uint8Array): Int16Array {
  const r = decode(s, M_Q);
  const h = new Int16Array(P);
  for (let i = 0; i < P; i++) h[i] = r[i] - Q12;
  return h;
}

export function roundedEncode(h: Int16Array): Uint8Array {
  const r = new Uint16Array(P);
  for (let i = 0; i < P; i++) r[i] = ((h[i] + Q12) * 10923) >>> 15;
  const out = new Uint8Array(ROUNDED_BYTES);
  encode(out, 0, r, M_ROUNDED);
  return out;
}

export function roundedDecode(s: Uint8Array): Int16Array {
  const r = decode(s, M_ROUNDED);
  const h = new Int16Array(P);
  for (let i = 0; i < P; i++) h[i] = r[i] * 3 - Q12;
  return h;
}

/** Four coefficients (+1, in {0, 1, 2}) a byte, the last byte holding one. */
export function smallEncode(f: Int8Array): Uint8Array {
  const out = new Uint8Array(SMALL_BYTES);
  for (let i = 0; i < P >> 2; i++) {
    out[i] = (f[4 * i] + 1) | ((f[4 * i + 1] + 1) << 2) | ((f[4 * i + 2] + 1) << 4) | ((f[4 * i + 3] + 1) << 6);
  }
  out[P >> 2] = f[P - 1] + 1;
  return out;
}

export function smallDecode(s: Uint8Array): Int8Array {
  const f = new Int8Array(P);
  for (let i = 0; i < P >> 2; i++) {
    const x = s[i];
    f[4 * i] = (x & 3) - 1;
    f[4 * i + 1] = ((x >> 2) & 3) - 1;
    f[4 * i + 2] = ((x >> 4) & 3) - 1;
    f[4 * i + 3] = ((x >> 6) & 3) - 1;
  }
  f[P - 1] = (s[P >> 2] & 3) - 1;
  return f;
}

// ---------------------------------------------------------------- hashing

/** Hash_prefix: the first 32 bytes of SHA-512(b || x). */
function hashPrefix(b: number, ...parts: Uint8Array[]): Uint8Array {
  const h = sha512.create().update(new Uint8Array([b]));
  for (const part of parts) h.update(part);
  return h.digest().subarray(0, HASH_BYTES);
}

/** HashConfirm: Hash_prefix(2, Hash_prefix(3, r) || Hash_prefix(4, pk)), the last item cached in the secret key. */
const hashConfirm = (rEnc: Uint8Array, pkHash: Uint8Array) => hashPrefix(2, hashPrefix(3, rEnc), pkHash);
/** HashSession: Hash_prefix(b, Hash_prefix(3, y) || z); b = 1 for a valid ciphertext, 0 for a rejected one. */
const hashSession = (b: number, y: Uint8Array, z: Uint8Array) => hashPrefix(b, hashPrefix(3, y), z);

// ---------------------------------------------------------------- random polynomials

type RandomBytes = (n: number) => Uint8Array;

function u32s(random: RandomBytes, n: number): Uint32Array {
  const b = random(4 * n);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = (b[4 * i] | (b[4 * i + 1] << 8) | (b[4 * i + 2] << 16) | (b[4 * i + 3] << 24)) >>> 0;
  return out;
}

/** Small_random: each coefficient uniform in {-1, 0, 1}. */
function smallRandom(random: RandomBytes): Int8Array {
  const l = u32s(random, P);
  const f = new Int8Array(P);
  for (let i = 0; i < P; i++) f[i] = Math.floor(((l[i] & 0x3fffffff) * 3) / 2 ** 30) - 1;
  return f;
}

/** Short_random: w coefficients ±1, the rest 0, in random places (sorting tagged random words). */
function shortRandom(random: RandomBytes): Int8Array {
  const l = u32s(random, P);
  for (let i = 0; i < W; i++) l[i] = l[i] & ~1;
  for (let i = W; i < P; i++) l[i] = ((l[i] & ~3) | 1) >>> 0;
  l.sort();
  const f = new Int8Array(P);
  for (let i = 0; i < P; i++) f[i] = (l[i] & 3) - 1;
  return f;
}

// ---------------------------------------------------------------- the KEM

export interface Sntrup761KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

/** KeyGen: g invertible in R/3, f short, h = g/(3f) in R/q; the secret key is f || 1/g || pk || rho || Hash_prefix(4, pk). */
export function sntrup761KeyPair(random: RandomBytes): Sntrup761KeyPair {
  let g: Int8Array;
  let ginv: Int8Array | null;
  do {
    g = smallRandom(random);
    ginv = r3Recip(g);
  } while (!ginv);
  let f: Int8Array;
  let finv3: Int16Array | null;
  // A short f is invertible in R/q for every one (q is prime and x^p - x - 1 is irreducible mod q); the loop is defensive.
  do {
    f = shortRandom(random);
    finv3 = rqRecip3(f);
  } while (!finv3);
  const publicKey = rqEncode(rqMultSmall(finv3, g));
  const secretKey = new Uint8Array(SNTRUP761.secretKeyBytes);
  let at = 0;
  for (const part of [smallEncode(f), smallEncode(ginv), publicKey, random(SMALL_BYTES), hashPrefix(4, publicKey)]) {
    secretKey.set(part, at);
    at += part.length;
  }
  return { publicKey, secretKey };
}

/** Round each coefficient to the nearest multiple of 3. */
function round3(h: Int16Array): Int16Array {
  const out = new Int16Array(P);
  for (let i = 0; i < P; i++) out[i] = h[i] - f3(h[i]);
  return out;
}

/** Hide: the ciphertext Rounded(h * r) || HashConfirm, and r's encoding. */
function hide(r: Int8Array, publicKey: Uint8Array, pkHash: Uint8Array): { ciphertext: Uint8Array; rEnc: Uint8Array } {
  const rEnc = smallEncode(r);
  const ciphertext = new Uint8Array(SNTRUP761.ciphertextBytes);
  ciphertext.set(roundedEncode(round3(rqMultSmall(rqDecode(publicKey), r))), 0);
  ciphertext.set(hashConfirm(rEnc, pkHash), ROUNDED_BYTES);
  return { ciphertext, rEnc };
}

function checkSize(what: string, b: Uint8Array, size: number): void {
  if (b.length !== size) throw new ProtocolError(`sntrup761 ${what} is ${b.length} bytes, not ${size}`);
}

/** Encap: a short r hidden under the public key; the session key is HashSession(1, r, ciphertext). */
export function sntrup761Encap(publicKey: Uint8Array, random: RandomBytes): { ciphertext: Uint8Array; sharedKey: Uint8Array } {
  checkSize('public key', publicKey, SNTRUP761.publicKeyBytes);
  const { ciphertext, rEnc } = hide(shortRandom(random), publicKey, hashPrefix(4, publicKey));
  return { ciphertext, sharedKey: hashSession(1, rEnc, ciphertext) };
}

/**
 * Decap: r from c*3f/g, then re-encrypted; a ciphertext that does not re-encrypt to itself gives
 * HashSession(0, rho, c) instead (implicit rejection), never an error.
 */
export function sntrup761Decap(ciphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  checkSize('ciphertext', ciphertext, SNTRUP761.ciphertextBytes);
  checkSize('secret key', secretKey, SNTRUP761.secretKeyBytes);
  let at = 0;
  const take = (n: number) => secretKey.subarray(at, (at += n));
  const f = smallDecode(take(SMALL_BYTES));
  const ginv = smallDecode(take(SMALL_BYTES));
  const publicKey = take(RQ_BYTES);
  const rho = take(SMALL_BYTES);
  const pkHash = take(HASH_BYTES);

  // Decrypt: e = 3 * c * f in R/3, ev = e / g; r = ev when its weight is w, else a fixed short vector.
  const cf = rqMultSmall(roundedDecode(ciphertext.subarray(0, ROUNDED_BYTES)), f);
  const e = new Int8Array(P);
  for (let i = 0; i < P; i++) e[i] = f3(fq(3 * cf[i]));
  const ev = r3Mult(e, ginv);
  let weight = 0;
  for (let i = 0; i < P; i++) weight += ev[i] & 1;
  const bad = nonzeroMask(weight - W);
  const r = new Int8Array(P);
  for (let i = 0; i < W; i++) r[i] = ((ev[i] ^ 1) & ~bad) ^ 1;
  for (let i = W; i < P; i++) r[i] = ev[i] & ~bad;

  const again = hide(r, publicKey, pkHash);
  let diff = 0;
  for (let i = 0; i < ciphertext.length; i++) diff |= ciphertext[i] ^ again.ciphertext[i];
  const mask = nonzeroMask(diff);
  const y = new Uint8Array(SMALL_BYTES);
  for (let i = 0; i < SMALL_BYTES; i++) y[i] = again.rEnc[i] ^ (mask & (again.rEnc[i] ^ rho[i]));
  return hashSession(1 + mask, y, ciphertext);
}
