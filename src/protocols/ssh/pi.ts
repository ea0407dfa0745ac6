// The binary digits of pi, the "nothing up my sleeve" constants of RFC 3526 (MODP primes) and Blowfish (P-array, S-boxes).
// Computed with Machin's formula, pi = 16 atan(1/5) - 4 atan(1/239), in BigInt fixed point, so no table is copied in.

const cache = new Map<number, bigint>();

function atanInverse(x: bigint, scale: bigint): bigint {
  const x2 = x * x;
  let power = scale / x;
  let sum = power;
  let n = 1n;
  let negative = true;
  while (power !== 0n) {
    power /= x2;
    n += 2n;
    const term = power / n;
    sum = negative ? sum - term : sum + term;
    negative = !negative;
  }
  return sum;
}

/** floor(pi * 2^bits). */
export function piScaled(bits: number): bigint {
  const hit = cache.get(bits);
  if (hit !== undefined) return hit;
  const guard = 64n;
  const scale = 1n << (BigInt(bits) + guard);
  const pi = (16n * atanInverse(5n, scale) - 4n * atanInverse(239n, scale)) >> guard;
  cache.set(bits, pi);
  return pi;
}

/** RFC 3526 section 1: p = 2^k - 2^(k-64) - 1 + 2^64 * ( floor(2^(k-130) pi) + n ). */
export function modpPrime(k: number, n: number): bigint {
  const K = BigInt(k);
  return (1n << K) - (1n << (K - 64n)) - 1n + (1n << 64n) * (piScaled(k - 130) + BigInt(n));
}

/** The first `count` 32-bit words of pi's fractional part (Blowfish's initial P-array then S-boxes). */
export function piFractionWords(count: number): Uint32Array {
  const bits = count * 32;
  const frac = piScaled(bits) & ((1n << BigInt(bits)) - 1n);
  const out = new Uint32Array(count);
  let v = frac;
  for (let i = count - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
  return out;
}
