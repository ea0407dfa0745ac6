// Streamlined NTRU Prime sntrup761: ring inverses, the Rq/Rounded/Small encodings, the KEM's round trip and
// implicit rejection, and the sntrup761x25519-sha512 hybrid as OpenSSH's server side computes it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { webCrypto } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { sntrup761x25519Agreement } from './kex.ts';
import {
  r3Mult,
  r3Recip,
  rqDecode,
  rqEncode,
  rqMultSmall,
  rqRecip3,
  roundedDecode,
  roundedEncode,
  smallDecode,
  smallEncode,
  SNTRUP761,
  sntrup761Decap,
  sntrup761Encap,
  sntrup761KeyPair,
} from './sntrup761.ts';

const P = 761;
const Q = 4591;
const random = (n: number) => new Uint8Array(randomBytes(n));

/** A deterministic byte source (SHA-512 in counter mode) so that one key pair can be checked twice. */
function seeded(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let at = 0; at < n; at += 64) out.set(createHash('sha512').update(`${seed}/${counter++}`).digest().subarray(0, Math.min(64, n - at)), at);
    return out;
  };
}

function smallPoly(rnd: (n: number) => Uint8Array): Int8Array {
  const b = rnd(P);
  return Int8Array.from(b, (x) => (x % 3) - 1);
}

const one = (n: number) => {
  const a = new Int8Array(n);
  a[0] = 1;
  return a;
};

test('r3Recip: s * (1/s) = 1 in Z/3[x]/(x^761 - x - 1), and 0 has no inverse', () => {
  let inverted = 0;
  for (let k = 0; k < 6; k++) {
    const s = smallPoly(random);
    const inv = r3Recip(s);
    if (!inv) continue;
    inverted++;
    assert.deepEqual(r3Mult(s, inv), one(P));
  }
  assert.ok(inverted > 0);
  assert.equal(r3Recip(new Int8Array(P)), null);
});

test('rqRecip3: 3s * (1/(3s)) = 1 in Z/4591[x]/(x^761 - x - 1), and 0 has no inverse', () => {
  for (let k = 0; k < 3; k++) {
    const s = smallPoly(random);
    const inv = rqRecip3(s);
    assert.ok(inv);
    const prod = rqMultSmall(inv, s);
    const expected = new Int16Array(P);
    expected[0] = 1;
    const times3 = Int16Array.from(prod, (x) => {
      const r = (((3 * x) % Q) + Q) % Q;
      return r > (Q - 1) / 2 ? r - Q : r;
    });
    assert.deepEqual(times3, expected);
  }
  assert.equal(rqRecip3(new Int8Array(P)), null);
});

test('sparse polynomials (1, x, x^380, x^760, 1 + x^760, -1 + x + x^2) invert in R/3 and R/q', () => {
  for (const terms of [[[0, 1]], [[1, 1]], [[380, 1]], [[760, 1]], [[0, 1], [760, 1]], [[0, -1], [1, 1], [2, 1]]]) {
    const s = new Int8Array(P);
    for (const [at, c] of terms) s[at] = c;
    const inv3 = r3Recip(s);
    assert.ok(inv3, JSON.stringify(terms));
    assert.deepEqual(r3Mult(s, inv3), one(P), JSON.stringify(terms));
    const invq = rqRecip3(s);
    assert.ok(invq, JSON.stringify(terms));
    const times3 = Int16Array.from(rqMultSmall(invq, s), (x) => (((3 * x) % Q) + Q) % Q);
    assert.deepEqual(times3, Int16Array.from(one(P)), JSON.stringify(terms));
  }
});

test('encodings: Rq in 1158 bytes, Rounded in 1007, Small in 191, each decoding to what was encoded', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -(Q - 1) / 2, max: (Q - 1) / 2 }), { minLength: P, maxLength: P }), (xs) => {
      const h = Int16Array.from(xs);
      const e = rqEncode(h);
      assert.equal(e.length, 1158);
      assert.deepEqual(rqDecode(e), h);
      const rounded = Int16Array.from(xs, (x) => x - ((((x + 1) % 3) + 3) % 3) + 1);
      const re = roundedEncode(rounded);
      assert.equal(re.length, 1007);
      assert.deepEqual(roundedDecode(re), rounded);
    }),
    { numRuns: 30 },
  );
  const s = smallPoly(random);
  const se = smallEncode(s);
  assert.equal(se.length, 191);
  assert.deepEqual(smallDecode(se), s);
});

test('Rq decoding of any 1158 bytes gives coefficients in range (no crash, no out-of-range value)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1158, maxLength: 1158 }), (b) => {
      const h = rqDecode(b);
      assert.equal(h.length, P);
      for (const x of h) assert.ok(x >= -(Q - 1) / 2 && x <= (Q - 1) / 2);
    }),
    { numRuns: 30 },
  );
});

test('KEM: sizes, and the decapsulated key equals the encapsulated one', () => {
  for (let k = 0; k < 3; k++) {
    const kp = sntrup761KeyPair(random);
    assert.equal(kp.publicKey.length, 1158);
    assert.equal(kp.secretKey.length, 1763);
    // The secret key ends with pk and Hash_prefix(4, pk).
    assert.deepEqual(kp.secretKey.subarray(382, 382 + 1158), kp.publicKey);
    const want = createHash('sha512').update(Buffer.from([4])).update(kp.publicKey).digest().subarray(0, 32);
    assert.deepEqual(Buffer.from(kp.secretKey.subarray(1763 - 32)), want);
    const { ciphertext, sharedKey } = sntrup761Encap(kp.publicKey, random);
    assert.equal(ciphertext.length, SNTRUP761.ciphertextBytes);
    assert.equal(sharedKey.length, 32);
    assert.deepEqual(sntrup761Decap(ciphertext, kp.secretKey), sharedKey);
  }
});

test('KEM: a changed ciphertext gives the implicit-rejection key HashSession(0, rho, c), never an error', () => {
  const kp = sntrup761KeyPair(seeded('reject'));
  const { ciphertext, sharedKey } = sntrup761Encap(kp.publicKey, random);
  const rho = kp.secretKey.subarray(382 + 1158, 382 + 1158 + 191);
  for (const at of [0, 500, 1006, 1007, 1038]) {
    const bad = ciphertext.slice();
    bad[at] ^= 0x01;
    const k = sntrup761Decap(bad, kp.secretKey);
    assert.notDeepEqual(k, sharedKey);
    const inner = createHash('sha512').update(Buffer.from([3])).update(rho).digest().subarray(0, 32);
    const expected = createHash('sha512').update(Buffer.from([0])).update(inner).update(bad).digest().subarray(0, 32);
    assert.deepEqual(Buffer.from(k), expected, `byte ${at}`);
  }
});

test('KEM: a fixed random source gives a fixed key pair (key generation depends on nothing else)', () => {
  const a = sntrup761KeyPair(seeded('fixed'));
  const b = sntrup761KeyPair(seeded('fixed'));
  assert.deepEqual(a, b);
  assert.notDeepEqual(sntrup761KeyPair(seeded('other')).publicKey, a.publicKey);
});

test('KEM: decapsulation of random ciphertexts never throws', () => {
  const kp = sntrup761KeyPair(random);
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1039, maxLength: 1039 }), (c) => {
      assert.equal(sntrup761Decap(c, kp.secretKey).length, 32);
    }),
    { numRuns: 10 },
  );
});

test('KEM: inputs of the wrong size are protocol errors naming the part', () => {
  const kp = sntrup761KeyPair(random);
  assert.throws(() => sntrup761Encap(new Uint8Array(1157), random), (e) => e instanceof ProtocolError && /public key is 1157 bytes, not 1158/.test(e.message));
  assert.throws(() => sntrup761Decap(new Uint8Array(1040), kp.secretKey), (e) => e instanceof ProtocolError && /ciphertext is 1040 bytes, not 1039/.test(e.message));
});

test('sntrup761x25519-sha512: K = SHA-512(KEM key || X25519 secret) as the server computes it', async () => {
  const crypto = webCrypto();
  const ours = await sntrup761x25519Agreement(crypto);
  assert.equal(ours.clientPublic.length, 1158 + 32);
  // The server's side: encapsulate to our KEM key, X25519 with a fresh key of its own.
  const { ciphertext, sharedKey } = sntrup761Encap(ours.clientPublic.subarray(0, 1158), random);
  const s = globalThis.crypto.subtle;
  const pair = (await s.generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair;
  const serverX = new Uint8Array(await s.exportKey('raw', pair.publicKey));
  const peer = await s.importKey('raw', ours.clientPublic.slice(1158) as unknown as BufferSource, { name: 'X25519' }, false, []);
  const xSecret = new Uint8Array(await s.deriveBits({ name: 'X25519', public: peer }, pair.privateKey, 256));
  const expected = createHash('sha512').update(sharedKey).update(xSecret).digest();
  const k = await ours.sharedSecret(new Uint8Array([...ciphertext, ...serverX]));
  assert.deepEqual(Buffer.from(k), expected);
  await assert.rejects(ours.sharedSecret(new Uint8Array(1039 + 31)), /sntrup761x25519 reply is 1070 bytes, not 1071/);
});
