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
import { call, workerUrl } from '../../../test/harness.ts';
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
  assert.match(wrong.body.error.message, /matches no pinned fingerprint/);
});

test("tls on workerd (Portolan's TLS engine): version, suite, group, ALPN h2 and the chain to the lab CA", async () => {
  const r = await call('tls', 'inspect', { ...labServer, versions: false, suites: false, groups: false }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body.result;
  assert.equal(x.engine, 'portolan');
  assert.equal(x.version, 'TLSv1.3');
  assert.match(x.cipher, /^TLS_/);
  assert.equal(x.group, 'x25519');
  assert.equal(x.signatureScheme, 'rsa_pss_rsae_sha256', 'the lab certificate is RSA-2048');
  assert.equal(x.alpn, null, 'the gopher port offers no ALPN protocol');
  const leaf = new X509Certificate(readFileSync(certPath));
  const ca = new X509Certificate(readFileSync(caPath));
  assert.deepEqual(x.chain.map((c: { fingerprintSha256: string }) => c.fingerprintSha256), [leaf.fingerprint256, ca.fingerprint256]);
  assert.deepEqual(x.chain[0].subjectAltNames, ['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1']);
  assert.equal(x.chain[0].validTo, new Date(leaf.validTo).toISOString());
  assert.deepEqual([x.chain[0].keyType, x.chain[0].keyBits], ['rsa', 2048]);
  assert.match(x.trust, /through O=Portolan Lab, CN=Portolan Lab Test CA/);
  assert.deepEqual(x.unavailable, []);
  const messages = r.body.transcript.entries.filter((e: { decode?: string }) => e.decode?.startsWith('TLS ')).map((e: { decode: string }) => e.decode.split(/[ ,]/)[1]);
  assert.deepEqual(messages.slice(0, 8), ['ClientHello', 'ServerHello', '←', 'EncryptedExtensions', 'Certificate:', 'CertificateVerify', 'Finished', '→']);
  assert.ok(!JSON.stringify(r.body.transcript).match(/secret|traffic key/i));
});

test("tls on workerd with the runtime's TLS: the handshake succeeds, and the chain, ALPN and version are named as unavailable with reasons", async () => {
  const r = await call('tls', 'inspect', { ...labServer, tlsEngine: 'runtime' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.chain, null);
  assert.deepEqual(r.body.result.alpnOffered, []);
  const fields = r.body.result.unavailable.map((u: { field: string }) => u.field);
  assert.deepEqual(fields, ['chain', 'alpn', 'version', 'versions', 'resumption', 'suites']);
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

test('tls versions: versions=false skips the probe; workerd probes 1.2 and 1.3 with the engine and says 1.0 and 1.1 were not tried', async () => {
  const off = await callNode(node, 'tls', 'inspect', { ...modernNginx, versions: false });
  assert.equal(off.body.result.versions, null);
  assert.ok(!off.body.result.unavailable.some((u: { field: string }) => u.field === 'versions'));
  const w = await call('tls', 'inspect', modernNginx);
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.deepEqual(w.body.result.acceptedVersions, ['TLSv1.2', 'TLSv1.3']);
  assert.deepEqual(w.body.result.versions.map((v: { accepted: boolean | null }) => v.accepted), [null, null, true, true]);
  assert.match(w.body.result.versions[0].error, /TLS 1\.2 and 1\.3 only/);
  const legacy = await call('tls', 'inspect', legacyNginx);
  assert.equal(legacy.status, 200, JSON.stringify(legacy.body));
  assert.deepEqual(legacy.body.result.versions.map((v: { accepted: boolean | null }) => v.accepted), [null, null, true, false]);
  assert.match(legacy.body.result.versions[3].error, /protocol_version/);
  assert.equal(legacy.body.result.version, 'TLSv1.2');
  assert.match(legacy.body.result.cipher, /^ECDHE-RSA-/);
});

test('tls suites and groups on workerd: nginx with an RSA certificate accepts the three TLS 1.3 suites and the ECDHE-RSA ones, not ECDHE-ECDSA', async () => {
  const w = await call('tls', 'inspect', { ...modernNginx, versions: false });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.deepEqual(w.body.result.acceptedSuites, ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256']);
  const ecdsa = w.body.result.suites.find((s: { suite: string }) => s.suite === 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
  assert.equal(ecdsa.accepted, false);
  assert.match(ecdsa.error, /handshake_failure/);
  assert.deepEqual(w.body.result.acceptedGroups, ['x25519', 'secp256r1', 'secp384r1']);
  const text = await fetch(`${workerUrl()}/tls/127.0.0.1:${ports.http.nginxTls}?versions=false`).then((res) => res.text());
  assert.match(text, /cipher suites accepted: TLS_AES_128_GCM_SHA256, /);
  assert.match(text, /groups accepted: x25519, secp256r1, secp384r1/);
});

test('tls resumption: nginx issues a TLS 1.3 ticket and resumes the session with it, on workerd and the Node host; a TLS 1.2 server is named unavailable', async () => {
  const quick = { versions: false, suites: false, groups: false };
  const w = await call('tls', 'inspect', { ...modernNginx, ...quick }, { transcript: true });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  const res = w.body.result.resumption;
  assert.deepEqual([res.ticket, res.resumed, res.error], [true, true, null], JSON.stringify(res));
  assert.ok(res.lifetime > 0 && res.handshakeMs > 0, JSON.stringify(res));
  const tls = w.body.transcript.entries.map((e: { decode?: string }) => e.decode ?? '').filter((d: string) => d.startsWith('TLS '));
  assert.ok(tls.some((d: string) => /NewSessionTicket lifetime \d+ s/.test(d)), tls.join(' | '));
  assert.ok(tls.some((d: string) => /ServerHello .*pre_shared_key accepted/.test(d)), tls.join(' | '));
  const text = await fetch(`${workerUrl()}/tls/127.0.0.1:${ports.http.nginxTls}?versions=false&suites=false&groups=false`).then((r) => r.text());
  assert.match(text, /resumption \(TLS 1\.3\): resumed with its ticket in [\d.]+ ms, ticket lifetime \d+ s/);
  const n = await callNode(node, 'tls', 'inspect', { ...modernNginx, ...quick, tlsEngine: 'portolan' });
  assert.equal(n.status, 200, JSON.stringify(n.body));
  assert.deepEqual([n.body.result.resumption.ticket, n.body.result.resumption.resumed], [true, true]);
  const legacy = await call('tls', 'inspect', { ...legacyNginx, ...quick });
  assert.equal(legacy.status, 200, JSON.stringify(legacy.body));
  assert.equal(legacy.body.result.resumption, null);
  const why = legacy.body.result.unavailable.find((u: { field: string }) => u.field === 'resumption');
  assert.match(why?.reason ?? '', /resumes TLS 1\.3 sessions .*negotiated TLSv1\.2/);
});

test('tls on workerd: a self-signed server is untrusted_peer with its fingerprint, accepted when pinned (certificate or public key); a wrong pin is refused', async () => {
  const untrusted = await call('tls', 'inspect', { host: '127.0.0.1', port: selfSignedPort });
  assert.equal(untrusted.status, 502);
  assert.equal(untrusted.body.error.code, 'untrusted_peer');
  assert.equal(untrusted.body.error.detail.reason, 'self_signed');
  assert.equal(untrusted.body.error.detail.fingerprintSha256.replace(/:/g, '').toLowerCase(), fingerprint);
  const colons = fingerprint.toUpperCase().match(/../g)!.join(':');
  const pinned = await call('tls', 'inspect', { host: '127.0.0.1', port: selfSignedPort, pinSha256: colons, versions: false, suites: false, groups: false });
  assert.equal(pinned.status, 200, JSON.stringify(pinned.body));
  assert.equal(pinned.body.result.pinned, true);
  assert.equal(pinned.body.result.alpn, 'h2');
  assert.equal(pinned.body.result.trust, 'by its pinned fingerprint');
  assert.deepEqual([pinned.body.result.chain[0].subject, pinned.body.result.chain[0].keyType, pinned.body.result.chain[0].keyBits], ['CN=self-signed.portolan.test', 'ec', 256]);
  const spki = createHash('sha256').update(new X509Certificate(readFileSync(join(dir, 'cert.pem'))).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  const bySpki = await call('tls', 'inspect', { host: '127.0.0.1', port: selfSignedPort, pinSpkiSha256: `sha256//${spki}`, versions: false, suites: false, groups: false });
  assert.equal(bySpki.status, 200, JSON.stringify(bySpki.body));
  const wrong = await call('tls', 'inspect', { host: '127.0.0.1', port: selfSignedPort, pinSha256: '00'.repeat(32) });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.body.error.code, 'untrusted_peer');
  assert.equal(wrong.body.error.detail.reason, 'pin_mismatch');
  const runtime = await call('tls', 'inspect', { ...labServer, tlsEngine: 'runtime', pinSha256: fingerprint });
  assert.equal(runtime.status, 501);
  assert.deepEqual(runtime.body.error.detail.missing, ['selfSigned']);
});
