// RFC 5929 tls-server-end-point against certificates made by openssl (fixtures/): the hash follows the
// certificate's signature algorithm, checked here with node:crypto over the same DER bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateSignatureAlgorithm, tlsServerEndPoint } from './channel-binding.ts';
import { webCrypto } from './crypto.ts';

const der = (name: string) => new Uint8Array(new X509Certificate(readFileSync(join(import.meta.dirname, 'fixtures', name))).raw);

test('tls-server-end-point: SHA-256 for an ecdsa-with-SHA256 certificate, SHA-384 for ecdsa-with-SHA384', async () => {
  for (const [name, oid, hash] of [
    ['cert-p256-sha256.pem', '1.2.840.10045.4.3.2', 'sha256'],
    ['cert-p384-sha384.pem', '1.2.840.10045.4.3.3', 'sha384'],
  ] as const) {
    const bytes = der(name);
    assert.equal(certificateSignatureAlgorithm(bytes), oid, name);
    const got = await tlsServerEndPoint(webCrypto(), bytes);
    assert.equal(Buffer.from(got).toString('hex'), createHash(hash).update(bytes).digest('hex'), name);
  }
});

test('tls-server-end-point: an Ed25519 certificate has no defined hash, and says so with its algorithm', async () => {
  await assert.rejects(tlsServerEndPoint(webCrypto(), der('cert-ed25519.pem')), /1\.3\.101\.112.*RFC 5929/);
});

test('tls-server-end-point: bytes that are not a certificate are a protocol error, not a crash', async () => {
  await assert.rejects(tlsServerEndPoint(webCrypto(), new Uint8Array([0x30, 0x03, 0x02, 0x01])), (e: Error & { code?: string }) => e.code === 'protocol_error');
});
