// Shadowsocks AEAD codec against node:crypto as an independent implementation: EVP_BytesToKey, HKDF-SHA1
// subkeys, nonces, and chunks sealed by node:crypto opened here (and ours opened by node:crypto).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ProtocolError } from '../../core/errors.ts';
import { createCipheriv, createHash, hkdfSync } from 'node:crypto';
import { concat, fromHex, utf8 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { aeadFor, subkey } from './client.ts';
import { Direction, MAX_PAYLOAD, TAG, bytesToKey, encodeTarget, nonce } from './codec.ts';

const crypto = webCrypto();

function nodeSeal(alg: 'chacha20-poly1305' | 'aes-256-gcm', key: Uint8Array, n: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv(alg, key, n, { authTagLength: TAG } as never);
  return concat([c.update(data), c.final(), (c as unknown as { getAuthTag(): Buffer }).getAuthTag()]);
}

describe('Shadowsocks AEAD', () => {
  it('EVP_BytesToKey(MD5) and HKDF-SHA1 subkeys match OpenSSL’s construction', async () => {
    const md5 = (b: Uint8Array) => new Uint8Array(createHash('md5').update(b).digest());
    const d1 = md5(utf8('ss-pass-1'));
    const d2 = md5(concat([d1, utf8('ss-pass-1')]));
    const key = bytesToKey('ss-pass-1', 32, crypto.md5);
    assert.deepEqual(key, concat([d1, d2]));
    const salt = fromHex('00'.repeat(31) + '01');
    assert.deepEqual(await subkey(crypto, key, salt, 32), new Uint8Array(hkdfSync('sha1', key, salt, 'ss-subkey', 32)));
  });

  it('nonces count up little-endian', () => {
    assert.deepEqual(nonce(0), new Uint8Array(12));
    assert.deepEqual(nonce(258), fromHex('020100000000000000000000'));
  });

  for (const [method, alg] of [
    ['chacha20-ietf-poly1305', 'chacha20-poly1305'],
    ['aes-256-gcm', 'aes-256-gcm'],
  ] as const) {
    it(`${method}: chunks sealed by node:crypto open here, and ours open there`, async () => {
      const key = fromHex('11'.repeat(32));
      const payload = utf8('hello through the tunnel');
      // What a server sends: [len+tag][payload+tag], nonces 0 and 1.
      const wire = concat([nodeSeal(alg, key, nonce(0), fromHex('0018')), nodeSeal(alg, key, nonce(1), payload)]);
      const inbound = new Direction(await aeadFor(crypto, method, key));
      assert.equal(await inbound.openLength(wire.subarray(0, 2 + TAG)), payload.length);
      assert.deepEqual(await inbound.open(wire.subarray(2 + TAG)), payload);
      const outbound = new Direction(await aeadFor(crypto, method, key));
      assert.deepEqual(await outbound.seal(payload), wire);
      // A tampered chunk fails as a protocol error naming the cause.
      const bad = wire.slice();
      bad[0] ^= 1;
      await assert.rejects(new Direction(await aeadFor(crypto, method, key)).openLength(bad.subarray(0, 18)), /failed to decrypt: wrong password or cipher/);
    });
  }

  it('payloads over 0x3FFF bytes split into chunks; the target goes first in SOCKS5 form', async () => {
    const d = new Direction(await aeadFor(crypto, 'chacha20-ietf-poly1305', fromHex('22'.repeat(32))));
    const sealed = await d.seal(new Uint8Array(MAX_PAYLOAD + 10));
    assert.equal(sealed.length, 2 * (2 + TAG) + MAX_PAYLOAD + 10 + 2 * TAG);
    assert.deepEqual(encodeTarget('127.0.0.1', 7), fromHex('017f0000010007'));
    assert.deepEqual(encodeTarget('a.b', 80), fromHex('0303612e620050'));
  });

  it('fuzz: any bytes as a chunk fail as ProtocolError', async () => {
    const aead = await aeadFor(crypto, 'aes-256-gcm', fromHex('33'.repeat(32)));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 64 }), async (bytes) => {
        await assert.rejects(new Direction(aead).openLength(bytes), ProtocolError);
      }),
      { numRuns: 200 },
    );
  });
});
