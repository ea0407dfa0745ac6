import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';
import { certPath, ports } from '../../../lab/index.ts';

const p = ports.http;
const xrdp = { host: '127.0.0.1', port: p.xrdp };

const node = useNodeHost();

async function ok(op: string, input: Record<string, unknown>, transcript = false) {
  const r = await call('rdp', op, input, { transcript });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return transcript ? r.body : r.body.result;
}

test('rdp: xrdp selects TLS from TLS|CredSSP and says it supports extended client data', async () => {
  const r = await ok('negotiate', { ...xrdp, protocols: ['tls', 'hybrid'], cookie: 'portolan' }, true);
  assert.equal(r.result.outcome, 'selected');
  assert.equal(r.result.selected, 'tls');
  assert.deepEqual(r.result.flags, ['EXTENDED_CLIENT_DATA_SUPPORTED']);
  const out = r.transcript.entries.find((e: { dir: string }) => e.dir === 'out');
  assert.equal(out.decode, 'X.224 Connection Request, requested tls|hybrid, cookie mstshash=portolan');
  assert.ok(Buffer.from(out.hex, 'hex').includes(Buffer.from('Cookie: mstshash=portolan\r\n')));
});

test('rdp: probe — xrdp supports standard RDP security and TLS, not CredSSP, RDSTLS or HYBRID_EX', async () => {
  const r = await ok('probe', xrdp);
  assert.deepEqual(r.supported, ['rdp', 'tls']);
  assert.equal(r.preferred, 'tls');
  const hybrid = r.results.find((x: { offered: string }) => x.offered === 'hybrid');
  // xrdp answers a CredSSP-only offer with standard RDP security rather than HYBRID_REQUIRED or a failure.
  assert.equal(hybrid.selected, 'rdp');
  const ex = await ok('negotiate', { ...xrdp, protocols: ['rdp'] });
  assert.equal(ex.notOffered, false);
  const downgrade = await ok('negotiate', { ...xrdp, protocols: ['hybrid'] });
  assert.equal(downgrade.selected, 'rdp');
  assert.equal(downgrade.notOffered, true);
});

test('rdp: negotiation failure codes — a TLS-only xrdp refuses standard security with SSL_REQUIRED_BY_SERVER', async () => {
  const r = await ok('negotiate', { host: '127.0.0.1', port: p.xrdpTlsOnly, protocols: ['rdp'] });
  assert.equal(r.outcome, 'failure');
  assert.deepEqual(r.failure, { code: 1, name: 'SSL_REQUIRED_BY_SERVER' });
  const rdpOnly = await ok('negotiate', { host: '127.0.0.1', port: p.xrdpRdpOnly, protocols: ['tls'] });
  assert.equal(rdpOnly.selected, 'rdp');
  const odd = await ok('negotiate', { ...xrdp, protocols: ['tls', 'hybrid', 'rdstls', 'hybrid_ex'] });
  assert.equal(odd.outcome, 'disconnected');
  assert.equal(odd.disconnect, 'rn-user-requested');
});

test('rdp: the TLS upgrade with startTls() after the Connection Confirm works on Workers, and MCS data flows over it', async () => {
  const r = await ok('tls', xrdp, true);
  assert.equal(r.result.negotiation.selected, 'tls');
  assert.equal(r.result.tls.established, true);
  // The proof that bytes flow through the upgraded connection: xrdp's MCS Connect Response, read over TLS.
  assert.equal(r.result.server.result, 'rt-successful');
  assert.equal(r.result.server.versionName, 'RDP 5.0 to 8.1');
  assert.deepEqual(r.result.server.clientRequestedProtocols, ['tls']);
  assert.deepEqual(r.result.server.blocks, ['SC_CORE', 'SC_NET', 'SC_SECURITY']);
  assert.equal(r.result.tls.certificateShown, false, 'Workers do not expose the certificate');
  const notes = r.transcript.entries.filter((e: { dir: string }) => e.dir === 'info').map((e: { decode: string }) => e.decode);
  assert.ok(notes.includes('starting TLS') && notes.includes('TLS established'), notes.join('\n'));
  // With the runtime's TLS, Workers cannot show the certificate: that operation answers 501 with the reason.
  const cert = await call('rdp', 'certificate', { ...xrdp, tlsEngine: 'runtime' });
  assert.equal(cert.status, 501);
  assert.deepEqual(cert.body.error.detail.missing, ['peerCert']);
});

test("rdp (workerd): the certificate xrdp presents after the upgrade, read by Portolan's TLS engine", async () => {
  const r = await call('rdp', 'certificate', xrdp);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [leaf] = r.body.result.certificates;
  assert.match(leaf.subject, /CN=localhost/);
  const fp = execFileSync('openssl', ['x509', '-in', certPath, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).trim().split('=')[1];
  assert.equal(leaf.fingerprintSha256, fp);
  assert.match(r.body.result.tlsVersion, /^TLSv1\.[23]$/);
});

test('rdp (Node host): the certificate xrdp presents after the upgrade is the lab certificate', async () => {
  const r = await callNode(node, 'rdp', 'certificate', xrdp);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [leaf] = r.body.result.certificates;
  assert.match(leaf.subject, /CN=localhost/);
  assert.ok(leaf.subjectAltNames.includes('IP Address:127.0.0.1'));
  const fp = execFileSync('openssl', ['x509', '-in', certPath, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).trim().split('=')[1];
  assert.equal(leaf.fingerprintSha256, fp);
  assert.match(r.body.result.tlsVersion, /^TLSv1\.[23]$/);
  const t = await callNode(node, 'rdp', 'tls', xrdp);
  assert.equal(t.body.result.tls.certificateShown, true);
});
