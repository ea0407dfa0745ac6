// TLS inspect: the lab CA's server and a self-signed one through the Node host (chain, ALPN, pinning), and
// what workerd can and cannot say about the same servers.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { ports, caPath, certPath } from '../../../lab/index.ts';
import { call } from '../../../test/harness.ts';
import { callNode, startNodeHost, type RunningNodeHost } from '../../../test/node-host.ts';

let node: RunningNodeHost;
let selfSigned: tls.Server;
let selfSignedPort: number;
let fingerprint: string;
const dir = mkdtempSync(join(tmpdir(), 'portolan-tls-'));

before(async () => {
  // A server nobody vouches for: a fresh self-signed certificate (EC P-256), offering h2 over ALPN.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=self-signed.portolan.test', '-addext', 'subjectAltName=DNS:self-signed.portolan.test'], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'));
  fingerprint = createHash('sha256').update(new X509Certificate(cert).raw).digest('hex');
  selfSigned = tls.createServer({ key: readFileSync(join(dir, 'key.pem')), cert, ALPNProtocols: ['h2', 'http/1.1'] }, (s) => s.end());
  await new Promise<void>((r) => selfSigned.listen(0, '127.0.0.1', r));
  selfSignedPort = (selfSigned.address() as AddressInfo).port;
  node = await startNodeHost();
});
after(async () => {
  await node?.stop();
  selfSigned?.close();
  rmSync(dir, { recursive: true, force: true });
});

const labServer = { host: '127.0.0.1', port: ports.foundation.gopher };

test('tls: the lab server through the Node host — version, the chain with SANs, key and fingerprint', async () => {
  const r = await callNode(node, 'tls', 'inspect', labServer);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body.result;
  assert.match(x.version, /^TLSv1\.[23]$/);
  assert.deepEqual(x.alpnOffered, ['h2', 'http/1.1']);
  const leaf = new X509Certificate(readFileSync(certPath));
  assert.equal(x.chain[0].subject, leaf.subject.replace(/\n/g, ', '));
  assert.equal(x.chain[0].issuer, leaf.issuer.replace(/\n/g, ', '));
  assert.deepEqual(x.chain[0].subjectAltNames, ['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1']);
  assert.equal(x.chain[0].fingerprintSha256, leaf.fingerprint256);
  assert.equal(x.chain[0].validTo, new Date(leaf.validTo).toISOString());
  assert.ok(x.chain[0].keyType && x.chain[0].keyBits > 0);
  const ca = new X509Certificate(readFileSync(caPath));
  assert.equal(x.chain.length, 2, 'leaf, then the lab CA that issued it');
  assert.equal(x.chain[1].subject, ca.subject.replace(/\n/g, ', '));
  assert.equal(x.chain[1].fingerprintSha256, ca.fingerprint256);
  assert.deepEqual(x.unavailable, []);
});

test('tls: a self-signed server is untrusted_peer, and the refusal shows its fingerprint', async () => {
  const r = await callNode(node, 'tls', 'inspect', { host: '127.0.0.1', port: selfSignedPort });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'untrusted_peer');
  assert.equal(r.body.error.detail.fingerprintSha256, fingerprint);
  assert.match(r.body.error.message, new RegExp(`SHA256:${fingerprint}`));
  assert.match(r.body.error.detail.reason, /SELF_SIGNED|self.signed/i);
});

test('tls: with its fingerprint pinned the self-signed server is accepted; ALPN picks h2; a wrong pin is refused', async () => {
  const colons = fingerprint.toUpperCase().match(/../g)!.join(':');
  const r = await callNode(node, 'tls', 'inspect', { host: '127.0.0.1', port: selfSignedPort, pinSha256: colons });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.pinned, true);
  assert.equal(r.body.result.alpn, 'h2');
  assert.equal(r.body.result.chain.length, 1);
  assert.equal(r.body.result.chain[0].subject, 'CN=self-signed.portolan.test');
  assert.equal(r.body.result.chain[0].keyType, 'ec');
  assert.equal(r.body.result.chain[0].keyBits, 256);
  const http1 = await callNode(node, 'tls', 'inspect', { host: '127.0.0.1', port: selfSignedPort, pinSha256: fingerprint, alpn: ['http/1.1'] });
  assert.equal(http1.body.result.alpn, 'http/1.1');
  const wrong = await callNode(node, 'tls', 'inspect', { host: '127.0.0.1', port: selfSignedPort, pinSha256: '00'.repeat(32) });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.body.error.code, 'untrusted_peer');
  assert.match(wrong.body.error.message, /does not match the pinned/);
});

test('tls on workerd: the handshake succeeds, and the chain, ALPN and version are named as unavailable with reasons', async () => {
  const r = await call('tls', 'inspect', labServer);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.chain, null);
  assert.deepEqual(r.body.result.alpnOffered, []);
  const fields = r.body.result.unavailable.map((u: { field: string }) => u.field);
  assert.deepEqual(fields, ['chain', 'alpn', 'version', 'trust']);
  assert.match(r.body.result.unavailable[0].reason, /does not expose it/);
});

test('tls on workerd: pinning and ALPN are refused with 501 and the reason', async () => {
  const pin = await call('tls', 'inspect', { ...labServer, pinSha256: fingerprint });
  assert.equal(pin.status, 501);
  assert.deepEqual(pin.body.error.detail.missing, ['selfSigned']);
  const alpn = await call('tls', 'inspect', { ...labServer, alpn: ['h2'] });
  assert.equal(alpn.status, 501);
  assert.deepEqual(alpn.body.error.detail.missing, ['alpn']);
  const untrusted = await call('tls', 'inspect', { host: '127.0.0.1', port: selfSignedPort });
  assert.equal(untrusted.status, 502);
  assert.ok(['tls_error', 'untrusted_peer'].includes(untrusted.body.error.code), JSON.stringify(untrusted.body));
});
