import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from './bytes.ts';
import { desEncryptEcb } from './des.ts';

// FIPS 46-3 / NBS SP 500-20 and the widely published worked examples.
const VECTORS: [key: string, plain: string, cipher: string][] = [
  ['133457799bbcdff1', '0123456789abcdef', '85e813540f0ab405'],
  ['0e329232ea6d0d73', '8787878787878787', '0000000000000000'],
  ['0101010101010101', '95f8a5e5dd31d900', '8000000000000000'],
  ['0101010101010101', '0000000000000000', '8ca64de9c1b123a7'],
  ['8001010101010101', '0000000000000000', '95a8d72813daa94d'],
  ['7ca110454a1a6e57', '01a1d6d039776742', '690f5b0d9a26939b'],
];

test('DES encrypts the published test vectors', () => {
  for (const [key, plain, cipher] of VECTORS) assert.equal(toHex(desEncryptEcb(fromHex(key), fromHex(plain))), cipher, `key ${key}`);
});

test('DES ECB encrypts each block alone, ignores parity bits, and refuses odd sizes', () => {
  const key = fromHex('133457799bbcdff1');
  const two = desEncryptEcb(key, fromHex('0123456789abcdef0123456789abcdef'));
  assert.equal(toHex(two), '85e813540f0ab405'.repeat(2));
  // Flipping a key's parity bit (the lowest of each byte) changes nothing.
  assert.equal(toHex(desEncryptEcb(fromHex('123456789abcdef0'), fromHex('0123456789abcdef'))), toHex(desEncryptEcb(fromHex('133457799bbcdff1'), fromHex('0123456789abcdef'))));
  assert.throws(() => desEncryptEcb(key, new Uint8Array(7)), /whole 8-byte blocks/);
  assert.throws(() => desEncryptEcb(new Uint8Array(7), new Uint8Array(8)), /8 bytes/);
});
