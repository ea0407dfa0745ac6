import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { concat, fromHex, toHex } from './bytes.ts';
import { aesCcm } from './ccm.ts';

const subtle = globalThis.crypto.subtle;

test('AES-CCM: RFC 3610 packet vector #1 (8-byte tag, 13-byte nonce)', async () => {
  const ccm = await aesCcm(subtle, fromHex('c0c1c2c3c4c5c6c7c8c9cacbcccdcecf'), 8);
  const nonce = fromHex('00000003020100a0a1a2a3a4a5');
  const aad = fromHex('0001020304050607');
  const plain = fromHex('08090a0b0c0d0e0f101112131415161718191a1b1c1d1e');
  const sealed = await ccm.seal(nonce, aad, plain);
  assert.equal(toHex(sealed), '588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0');
  assert.deepEqual(await ccm.open(nonce, aad, sealed), plain);
});

test('AES-CCM: the same bytes as OpenSSL for SMB3 shapes (11-byte nonce, 16-byte tag, 32 bytes of AAD), 128 and 256-bit keys', async () => {
  for (const bits of [128, 256]) {
    for (const size of [1, 15, 16, 17, 4096, 65_537]) {
      const key = randomBytes(bits / 8);
      const nonce = randomBytes(11);
      const aad = randomBytes(32);
      const plain = randomBytes(size);
      const c = createCipheriv(bits === 128 ? 'aes-128-ccm' : 'aes-256-ccm', key, nonce, { authTagLength: 16 });
      c.setAAD(aad, { plaintextLength: size });
      const expected = concat([c.update(plain), c.final(), c.getAuthTag()]);
      const ccm = await aesCcm(subtle, key);
      const sealed = await ccm.seal(nonce, aad, plain);
      assert.equal(toHex(sealed), toHex(expected), `${bits}-bit key, ${size} bytes`);
      assert.deepEqual(await ccm.open(nonce, aad, sealed), new Uint8Array(plain));
    }
  }
});

test('AES-CCM: an altered ciphertext, tag or AAD byte fails to open; an empty message round-trips', async () => {
  const ccm = await aesCcm(subtle, randomBytes(16));
  const nonce = randomBytes(11);
  const aad = randomBytes(32);
  const sealed = await ccm.seal(nonce, aad, randomBytes(100));
  for (const at of [0, 99, 100, 115]) {
    const bad = sealed.slice();
    bad[at] ^= 1;
    assert.equal(await ccm.open(nonce, aad, bad), null, `byte ${at}`);
  }
  const badAad = aad.slice();
  badAad[5] ^= 0x80;
  assert.equal(await ccm.open(nonce, badAad, sealed), null);
  const empty = await ccm.seal(nonce, aad, new Uint8Array(0));
  assert.equal(empty.length, 16);
  assert.deepEqual(await ccm.open(nonce, aad, empty), new Uint8Array(0));
  await assert.rejects(ccm.seal(randomBytes(6), aad, new Uint8Array(1)), /nonce of 6 bytes/);
});
