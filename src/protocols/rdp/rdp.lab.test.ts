import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';
import { certPath, ports } from '../../../lab/index.ts';
import { rdpNlaFacts as facts } from '../../../lab/servers/desktop-rdp.ts';

const p = ports.http;
const xrdp = { host: '127.0.0.1', port: p.xrdp };

const node = useNodeHost();

const nla = { host: '127.0.0.1', port: ports['desktop-rdp'].rdpNla };
const good = { ...nla, user: facts.user, password: facts.password };

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

// FreeRDP 2.11's shadow server, NLA only, NTLM against a SAM file; its names come from the lab's host name.

type Entry = { dir: string; decode?: string; hex?: string; size: number };

function tsRequests(t: { entries: Entry[] }): string[] {
  return t.entries.filter((e) => e.decode?.startsWith('TSRequest')).map((e) => `${e.dir} ${e.decode}`);
}

test('rdp: the FreeRDP shadow server requires NLA — a TLS-only offer gets HYBRID_REQUIRED_BY_SERVER, TLS|CredSSP selects hybrid', async () => {
  const refused = await ok('negotiate', { ...nla, protocols: ['tls'] });
  assert.deepEqual(refused.failure, { code: 5, name: 'HYBRID_REQUIRED_BY_SERVER' });
  const r = await ok('negotiate', nla);
  assert.equal(r.selected, 'hybrid');
  const noNla = await call('rdp', 'ntlm-info', { ...xrdp });
  assert.equal(noNla.status, 502, JSON.stringify(noNla.body));
  assert.match(noNla.body.error.message, /selected TLS, not CredSSP/);
});

for (const host of ['workerd', 'Node host'] as const) {
  const run = (op: string, input: Record<string, unknown>, transcript = false) => (host === 'workerd' ? call('rdp', op, input, { transcript }) : callNode(node, 'rdp', op, input, { transcript }));

  test(`rdp (${host}): ntlm-info names the shadow server from its NTLM CHALLENGE, with CredSSP version 6`, async () => {
    const r = await run('ntlm-info', nla, true);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const x = r.body.result;
    assert.equal(x.negotiation.selected, 'hybrid');
    assert.equal(x.credsspVersion, 6);
    assert.equal(x.targetName, 'PORTOLAN-NLA');
    assert.equal(x.netbiosComputerName, 'PORTOLAN-NLA');
    assert.equal(x.netbiosDomainName, 'PORTOLAN-NLA');
    assert.equal(x.dnsComputerName, facts.hostname);
    assert.equal(x.dnsDomainName, facts.hostname);
    assert.equal(x.dnsTreeName, null);
    // WinPR announces Windows 7 SP1's version (6.1.7601) with NTLM revision 15.
    assert.deepEqual(x.productVersion, { major: 6, minor: 1, build: 7601, ntlmRevision: 15, text: '6.1.7601' });
    assert.ok(Math.abs(Date.parse(x.serverTime) - Date.now()) < 60_000, x.serverTime);
    for (const f of ['unicode', 'ntlm', 'extendedSessionSecurity', 'sign', 'seal', 'keyExchange', 'targetInfo', 'version', 'n128']) assert.ok(x.flags.includes(f), f);
    const reqs = tsRequests(r.body.transcript);
    assert.equal(reqs[0], 'out TSRequest v6, negoTokens [NTLM NEGOTIATE flags 0xe2888235]');
    assert.match(reqs[1], /^in TSRequest v6, negoTokens \[NTLM CHALLENGE flags 0x[0-9a-f]{8}\]/);
  });

  test(`rdp (${host}): login with the right password — CredSSP v6, the server's pubKeyAuth verified, MCS Connect Response read`, async () => {
    const r = await run('login', good, true);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const x = r.body.result;
    assert.equal(x.negotiation.selected, 'hybrid');
    assert.deepEqual(x.credssp, { version: 6, serverVersion: 6, binding: 'sha256-nonce', pubKeyAuthVerified: true, mic: true, ntlmFlags: ['sign', 'seal', 'extendedSessionSecurity', 'version', 'n128', 'keyExchange'], earlyUserAuthorization: null });
    assert.equal(x.server.result, 'rt-successful');
    assert.deepEqual(x.server.clientRequestedProtocols, ['tls', 'hybrid'], 'the server echoes what the Connection Request offered');
    const reqs = tsRequests(r.body.transcript);
    assert.equal(reqs.length, 5, reqs.join('\n'));
    assert.match(reqs[2], /^out TSRequest v6, negoTokens \[NTLM AUTHENTICATE\], pubKeyAuth \(48 bytes, sealed\), clientNonce [0-9a-f]{64}$/);
    assert.match(reqs[3], /^in TSRequest v6, pubKeyAuth \(48 bytes, sealed\)/);
    assert.match(reqs[4], /^out TSRequest v6, authInfo \(\d+ bytes, sealed TSCredentials\)$/);
    // The AUTHENTICATE and the credentials are secret writes (size and decode, no bytes); the password appears nowhere.
    const secret = (r.body.transcript.entries as Entry[]).filter((e) => /NTLM AUTHENTICATE|authInfo/.test(e.decode ?? ''));
    assert.equal(secret.length, 2);
    assert.ok(secret.every((e) => e.hex === undefined && e.size > 0));
    const all = JSON.stringify(r.body.transcript);
    for (const form of [facts.password, Buffer.from(facts.password).toString('hex'), Buffer.from(facts.password, 'utf16le').toString('hex')]) assert.ok(!all.includes(form), form);
  });

  test(`rdp (${host}): login with a wrong password — auth_failed: FreeRDP closes the connection after the NTLM AUTHENTICATE`, async () => {
    const r = await run('login', { ...good, password: 'not-the-password' }, true);
    assert.equal(r.status, 502, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'auth_failed');
    assert.match(r.body.error.message, /closed the connection after the NTLM AUTHENTICATE/);
    assert.equal(r.body.error.detail.closedAfter, 'AUTHENTICATE');
    const unknown = await run('login', { ...good, user: 'nobody' });
    assert.equal(unknown.body.error.code, 'auth_failed');
  });
}

test('rdp (Node host): login announcing CredSSP versions 2 to 5 — the server follows, binding the key itself before 5', async () => {
  for (const v of [2, 3, 4, 5]) {
    const r = await callNode(node, 'rdp', 'login', { ...good, credsspVersion: v });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.credssp.version, v);
    assert.equal(r.body.result.credssp.binding, v >= 5 ? 'sha256-nonce' : 'public-key');
    assert.equal(r.body.result.credssp.pubKeyAuthVerified, true);
  }
});

test('rdp (workerd): login with the runtime TLS (tlsEngine runtime) cannot read the server key: 501 naming tlsEngine; ntlm-info needs no key and runs on it', async () => {
  const r = await call('rdp', 'login', { ...good, tlsEngine: 'runtime' });
  assert.equal(r.status, 501, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'unsupported_runtime');
  assert.deepEqual(r.body.error.detail.missing, ['peerCert']);
  assert.match(JSON.stringify(r.body.error), /tlsEngine/);
  const info = await call('rdp', 'ntlm-info', { ...nla, tlsEngine: 'runtime' });
  assert.equal(info.status, 200, JSON.stringify(info.body));
  assert.equal(info.body.result.netbiosComputerName, 'PORTOLAN-NLA');
});
