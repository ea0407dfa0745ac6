// TLS inspect: the lab CA's servers and a self-signed one through the Node host (chain, ALPN, pinning, the versions
// two nginx configurations accept), and what workerd can and cannot say about the same servers.
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
import { nodeFacts } from '../../../lab/servers/node.ts';
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
  assert.deepEqual(fields, ['chain', 'alpn', 'version', 'versions', 'trust']);
  assert.match(r.body.result.unavailable[0].reason, /does not expose it/);
  assert.equal(r.body.result.versions, null);
  assert.equal(r.body.result.acceptedVersions, null);
  const versions = r.body.result.unavailable[3].reason;
  assert.match(versions, /connect\(\) takes only secureTransport/);
  assert.match(versions, /What it can report: that one handshake with its own settings succeeded/);
});

/** nginx in the http area: `ssl_protocols TLSv1.2 TLSv1.3` (lab/servers/http.ts). */
const modernNginx = { host: '127.0.0.1', port: ports.http.nginxTls };
/** nginx in the node area: `ssl_protocols TLSv1 TLSv1.1 TLSv1.2` at OpenSSL security level 0. */
const legacyNginx = { host: '127.0.0.1', port: ports.node.tlsLegacy };

test('tls versions on the Node host: nginx with ssl_protocols TLSv1.2 TLSv1.3 accepts exactly those; 1.0 and 1.1 end in a protocol_version alert', async () => {
  const r = await callNode(node, 'tls', 'inspect', modernNginx);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body.result;
  assert.deepEqual(x.acceptedVersions, ['TLSv1.2', 'TLSv1.3']);
  assert.deepEqual(x.versions.map((v: { version: string }) => v.version), ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);
  for (const v of x.versions.slice(0, 2)) {
    assert.equal(v.accepted, false);
    assert.match(v.error, /protocol version/i);
  }
  assert.match(x.versions[2].cipher, /^ECDHE-/);
  assert.match(x.versions[3].cipher, /^TLS_/);
  assert.equal(x.version, 'TLSv1.3');
  assert.equal(x.alpn, 'h2');
});

test('tls versions on the Node host: nginx with ssl_protocols TLSv1 TLSv1.1 TLSv1.2 accepts exactly those; 1.3 is refused', async () => {
  const r = await callNode(node, 'tls', 'inspect', legacyNginx);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body.result;
  assert.deepEqual(x.acceptedVersions, [...nodeFacts.tlsLegacy.versions]);
  assert.equal(x.version, 'TLSv1.2', 'the plain handshake settles on the highest version both sides have');
  assert.equal(x.versions[3].accepted, false);
  assert.match(x.versions[3].error, /protocol version/i);
  // TLS 1.0 and 1.1 have no AEAD suites: a CBC suite with SHA-1 MACs.
  assert.match(x.versions[0].cipher, /-SHA$/);
  const text = await fetch(`${node.url}/tls/127.0.0.1:${ports.node.tlsLegacy}`).then((res) => res.text());
  assert.match(text, /versions accepted: TLSv1, TLSv1\.1, TLSv1\.2 \(refused: TLSv1\.3\)/);
});

test('tls versions: versions=false skips the probe; workerd names why it cannot probe and what it can say instead', async () => {
  const off = await callNode(node, 'tls', 'inspect', { ...modernNginx, versions: false });
  assert.equal(off.body.result.versions, null);
  assert.ok(!off.body.result.unavailable.some((u: { field: string }) => u.field === 'versions'));
  const w = await call('tls', 'inspect', modernNginx);
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.equal(w.body.result.acceptedVersions, null);
  assert.ok(w.body.result.unavailable.some((u: { field: string; reason: string }) => u.field === 'versions' && /no TLS version bounds/.test(u.reason)));
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
