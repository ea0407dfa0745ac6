// Portolan's TLS engine against OpenSSL's and GnuTLS's servers (lab/servers/tls-engine.ts). In Node: the
// interoperability matrix — every suite × group × signature scheme × version the engine offers, per key type,
// each asserting what was negotiated and sending data both ways — client certificates, renegotiation refused.
// Through workerd: tls inspect against each server, the refusal corpus, pinned and private-CA servers, a client
// certificate, the man in the middle.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ports } from '../../../lab/index.ts';
import { tlsEngineCertificates, tlsEngineFacts } from '../../../lab/servers/tls-engine.ts';
import { REFUSAL_REASONS, type CertificateCorpus, type Identity, type RefusalCase } from '../../../lab/tls-engine/certificates.ts';
import { call } from '../../../test/harness.ts';
import { NodeDialer } from '../../hosts/node/dialer.ts';
import { concat } from '../bytes.ts';
import type { Transport } from '../conn.ts';
import { TlsClient, type TlsClientConfig, type TlsProtocolVersion } from './client.ts';
import { TlsError } from './errors.ts';
import { loadClientIdentity, pemBlocks } from './pem.ts';
import { startTlsClient } from './transport.ts';
import { trustStore, verifyServerChain } from './verify.ts';
import { CIPHER_SUITES, GROUPS, SIGNATURE_SCHEMES, TLS13, alertName, type GroupName } from './wire.ts';

const p = ports['tls-engine'];
let corpus: CertificateCorpus;
let rootPem: string;
before(() => {
  corpus = tlsEngineCertificates();
  rootPem = readFileSync(corpus.root, 'utf8');
});

const dialer = new NodeDialer();

async function plain(port: number): Promise<Transport> {
  return dialer.dial({ host: 'localhost', address: '127.0.0.1', port, tls: 'off', signal: new AbortController().signal });
}

function config(o: Partial<TlsClientConfig> = {}): TlsClientConfig {
  const anchors = trustStore(pemBlocks(rootPem, 'root').map((b) => b.der), 'the test root');
  return {
    serverName: 'localhost',
    subtle: crypto.subtle,
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    verify: (chain) => verifyServerChain(crypto.subtle, chain, { serverName: 'localhost', anchors, now: Date.now() }),
    ...o,
  };
}

/** Reads until `want` has arrived (or the server closes). */
async function readUntil(t: Transport, want: (text: string) => boolean): Promise<string> {
  let text = '';
  while (!want(text)) {
    const chunk = await t.read();
    if (chunk === null) break;
    text += new TextDecoder().decode(chunk);
  }
  return text;
}

type KeyKind = 'rsa' | 'ecdsa256' | 'ecdsa384' | 'ed25519';

/**
 * The signature schemes a server with this key can use, per version (TLS 1.3: ECDSA names its curve, no PKCS#1).
 * In TLS 1.2 an ECDSA scheme names only its hash, and both servers sign with any of them.
 */
function schemesFor(key: KeyKind, version: TlsProtocolVersion): string[] {
  const tls13 = version === 'TLSv1.3';
  switch (key) {
    case 'rsa':
      return version === 'TLSv1.3' ? ['rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384', 'rsa_pss_rsae_sha512'] : ['rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384', 'rsa_pss_rsae_sha512', 'rsa_pkcs1_sha256', 'rsa_pkcs1_sha384', 'rsa_pkcs1_sha512'];
    case 'ecdsa256':
      return tls13 ? ['ecdsa_secp256r1_sha256'] : ['ecdsa_secp256r1_sha256', 'ecdsa_secp384r1_sha384', 'ecdsa_secp521r1_sha512'];
    case 'ecdsa384':
      return tls13 ? ['ecdsa_secp384r1_sha384'] : ['ecdsa_secp256r1_sha256', 'ecdsa_secp384r1_sha384', 'ecdsa_secp521r1_sha512'];
    case 'ed25519':
      return ['ed25519'];
  }
}

function suitesFor(key: KeyKind, version: TlsProtocolVersion) {
  return CIPHER_SUITES.filter((s) => (version === 'TLSv1.3' ? s.version === TLS13 : s.version !== TLS13 && (key === 'rsa' ? s.kx === 'ECDHE-RSA' : s.kx === 'ECDHE-ECDSA')));
}

/** The curve of each ECDSA leaf's key. */
const CERT_CURVE: Partial<Record<KeyKind, GroupName>> = { ecdsa256: 'secp256r1', ecdsa384: 'secp384r1' };

const schemeId = (name: string) => SIGNATURE_SCHEMES.find((s) => s.name === name)!.id;

for (const impl of ['openssl', 'gnutls'] as const) {
  for (const [key, server] of Object.entries(tlsEngineFacts[impl]) as [KeyKind, { port: number }][]) {
    test(`interop ${impl} ${key}: every suite × group × signature scheme × version, negotiated as offered, data both ways`, async () => {
      let handshakes = 0;
      for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
        for (const suite of suitesFor(key, version)) {
          for (const group of GROUPS.map((g) => g.name)) {
            for (const scheme of schemesFor(key, version)) {
              const what = `${version} ${suite.name} ${group} ${scheme}`;
              // TLS 1.2 (RFC 8422 §5.1): OpenSSL signs with an ECDSA key only when its curve is among the client's groups.
              const curve = version === 'TLSv1.2' && impl === 'openssl' ? CERT_CURVE[key] : undefined;
              const groups = curve && curve !== group ? [group, curve] : [group];
              const t = await startTlsClient(await plain(server.port), config({ minVersion: version, maxVersion: version, cipherSuites: [suite.id], groups, signatureSchemes: [schemeId(scheme)] }));
              const info = t.client.info!;
              assert.deepEqual([info.version, info.cipherSuite.name, info.group, info.signatureScheme], [version, suite.name, group, scheme], what);
              assert.equal(info.verified.chain.length, 3, `${what}: leaf, intermediate, the test root`);
              const line = `portolan ${version} ${suite.id} ${group} ${scheme}\n`;
              await t.write(new TextEncoder().encode(line));
              const expected = impl === 'openssl' ? [...line.slice(0, -1)].reverse().join('') : line.slice(0, -1);
              const got = await readUntil(t, (text) => text.includes(expected));
              assert.ok(got.includes(expected), `${what}: the server answered ${JSON.stringify(got)}`);
              await t.close();
              handshakes++;
            }
          }
        }
      }
      assert.ok(handshakes >= 18, `${handshakes} handshakes`);
    });
  }
}

test('interop: a 1 MiB round trip through gnutls-serv --echo in full-size records both ways (TLS 1.3 and 1.2)', async () => {
  for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
    const t = await startTlsClient(await plain(p.gnutlsP256), config({ maxVersion: version, minVersion: version }));
    const line = 'p'.repeat(1024 * 1024 - 1) + '\n';
    const writing = t.write(new TextEncoder().encode(line));
    let got = 0;
    while (got < line.length) {
      const chunk = await t.read();
      if (chunk === null) break;
      got += chunk.length;
    }
    await writing;
    assert.equal(got, line.length, version);
    await t.close();
  }
});

test('interop: GnuTLS answers record_size_limit in TLS 1.3; OpenSSL 3.0 does not know it', async () => {
  const g = await startTlsClient(await plain(p.gnutlsRsa), config({ maxVersion: 'TLSv1.3' }));
  assert.equal(typeof g.client.info!.recordSizeLimit, 'number');
  await g.close();
  const o = await startTlsClient(await plain(p.opensslRsa), config({ maxVersion: 'TLSv1.3' }));
  assert.equal(o.client.info!.recordSizeLimit, undefined);
  await o.close();
});

async function clientIdentity(id: Identity) {
  return loadClientIdentity(crypto.subtle, readFileSync(id.cert, 'utf8'), readFileSync(id.key, 'utf8'));
}

test('interop: client certificates (ECDSA and RSA) with openssl -Verify and gnutls-serv -r, TLS 1.3 and 1.2; without one the server refuses', async () => {
  for (const [impl, port] of [['openssl', p.opensslClientAuth], ['gnutls', p.gnutlsClientAuth]] as const) {
    for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
      for (const id of [corpus.client.ecdsa, corpus.client.rsa]) {
        const t = await startTlsClient(await plain(port), config({ minVersion: version, maxVersion: version, clientIdentity: await clientIdentity(id) }));
        assert.equal(t.client.info!.clientCertificateSent, true, `${impl} ${version} ${id.cert}`);
        await t.write(new TextEncoder().encode(impl === 'openssl' ? 'GET / HTTP/1.0\r\n\r\n' : 'mutual\n'));
        const got = await readUntil(t, (x) => x.includes(impl === 'openssl' ? 'Verify return code' : 'mutual'));
        // s_server -www reports the client certificate it verified.
        assert.match(got, impl === 'openssl' ? /portolan-client-(ecdsa|rsa)/ : /mutual/);
        await t.close();
      }
      // No certificate: the server ends the handshake (TLS 1.3: after our Finished, so the first read sees it).
      // OpenSSL says handshake_failure in TLS 1.2, GnuTLS decode_error; both say certificate_required in TLS 1.3.
      const refused = startTlsClient(await plain(port), config({ minVersion: version, maxVersion: version })).then((t) => t.read());
      await assert.rejects(refused, (e: TlsError) => e instanceof TlsError && /it (requires a client certificate|asked for a client certificate and none was sent)/.test(e.message), `${impl} ${version}`);
    }
  }
});

test('interop: renegotiation is refused — s_server -www renegotiates on GET /reneg and the engine ends the connection with no_renegotiation', async () => {
  const t = await startTlsClient(await plain(p.opensslRenegotiate), config({ maxVersion: 'TLSv1.2' }));
  await t.write(new TextEncoder().encode('GET /reneg HTTP/1.0\r\n\r\n'));
  await assert.rejects(readUntil(t, () => false), (e: TlsError) => e instanceof TlsError && alertName(e.alert) === 'no_renegotiation' && /renegotiation is refused/.test(e.message));
});

test('interop: the engine alone, fed by hand — a TlsClient against s_server, to show the sans-I/O loop', async () => {
  const t = await plain(p.opensslP256);
  const c = new TlsClient(config());
  await c.start();
  while (!c.connected) {
    for (const out of c.takeOutgoing()) await t.write(out);
    const chunk = await t.read();
    assert.ok(chunk, 'the server closed during the handshake');
    await c.receive(chunk);
  }
  for (const out of c.takeOutgoing()) await t.write(out);
  await c.send(new TextEncoder().encode('by hand\n'));
  for (const out of c.takeOutgoing()) await t.write(out);
  let text = '';
  while (!text.includes('dnah yb')) {
    const chunk = await t.read();
    if (!chunk) break;
    await c.receive(chunk);
    text += new TextDecoder().decode(concat(c.takeAppData()));
  }
  assert.match(text, /dnah yb/);
  await t.close();
});

test('interop: TLS 1.3 resumption — a ticket from OpenSSL and from GnuTLS resumes the session (no certificate sent, the chain kept), data both ways', async () => {
  for (const impl of ['openssl', 'gnutls'] as const) {
    const port = tlsEngineFacts[impl].ecdsa256.port;
    // The ticket of a TLS_AES_256_GCM_SHA384 session: resuming needs a suite of its hash, which the server picks.
    const first = await startTlsClient(await plain(port), config({ cipherSuites: [0x1302] }));
    const ticket = await first.tlsTicket!();
    await first.close();
    assert.ok(ticket, `${impl}: no NewSessionTicket after the handshake`);
    assert.equal(ticket.hash, 'SHA-384', impl);
    assert.ok(ticket.lifetime > 0, `${impl}: lifetime ${ticket.lifetime}`);
    const events: string[] = [];
    const second = await startTlsClient(await plain(port), config({ resume: ticket, onEvent: (e) => events.push(`${e.dir} ${e.decode}`) }));
    const info = second.client.info!;
    assert.equal(info.resumed, true, `${impl}: ${events.join(' | ')}`);
    assert.equal(info.cipherSuite.name, 'TLS_AES_256_GCM_SHA384', impl);
    assert.ok(events.some((e) => /^out ClientHello .*pre_shared_key 1 ticket/.test(e)), `${impl}: ${events.join(' | ')}`);
    assert.ok(events.some((e) => /^in ServerHello .*pre_shared_key accepted \(identity 0\)/.test(e)), `${impl}: ${events.join(' | ')}`);
    assert.ok(!events.some((e) => /^in (Certificate|CertificateVerify)\b/.test(e)), `${impl}: the server sent its certificate again: ${events.join(' | ')}`);
    assert.equal(info.verified.chain.length, 3, `${impl}: the chain verified when the ticket was issued`);
    const line = `resumed ${impl}\n`;
    await second.write(new TextEncoder().encode(line));
    const expected = impl === 'openssl' ? [...line.slice(0, -1)].reverse().join('') : line.slice(0, -1);
    assert.ok((await readUntil(second, (text) => text.includes(expected))).includes(expected), impl);
    await second.close();
  }
});

test("interop: TLS 1.3 resumption refused — another server's ticket gets a full handshake; a ticket whose key is wrong fails its binder", async () => {
  const first = await startTlsClient(await plain(tlsEngineFacts.openssl.ecdsa256.port), config());
  const ticket = (await first.tlsTicket!())!;
  await first.close();
  assert.ok(ticket, 'no ticket from s_server');
  // GnuTLS cannot open OpenSSL's ticket: it ignores the PSK and authenticates with its certificate.
  const events: string[] = [];
  const other = await startTlsClient(await plain(tlsEngineFacts.gnutls.ecdsa256.port), config({ resume: ticket, onEvent: (e) => events.push(`${e.dir} ${e.decode}`) }));
  assert.equal(other.client.info!.resumed, false);
  assert.ok(events.some((e) => /^in Certificate: 2 certificate/.test(e)), events.join(' | '));
  await other.close();
  // The same ticket with a PSK that is not the one it stands for: the binder does not verify, and s_server says so
  // (OpenSSL 3.0 with illegal_parameter).
  const forged = { ...ticket, psk: ticket.psk.map((b) => b ^ 0xff) };
  await assert.rejects(startTlsClient(await plain(tlsEngineFacts.openssl.ecdsa256.port), config({ resume: forged })), (e: TlsError) => {
    assert.ok(e instanceof TlsError, String(e));
    assert.equal(alertName(e.alert), 'illegal_parameter', e.message);
    return true;
  });
});

// Through workerd: the API a user calls.

const target = (port: number, extra: Record<string, unknown> = {}) => ({ host: 'localhost', port, caPem: rootPem, ...extra });

test('workerd: tls inspect against each OpenSSL and GnuTLS server — the chain to the private CA, every suite and group it accepts', async () => {
  for (const impl of ['openssl', 'gnutls'] as const) {
    for (const [key, server] of Object.entries(tlsEngineFacts[impl]) as [KeyKind, { port: number }][]) {
      const r = await call('tls', 'inspect', target(server.port, { versions: true }));
      assert.equal(r.status, 200, `${impl} ${key}: ${JSON.stringify(r.body)}`);
      const x = r.body.result;
      assert.equal(x.engine, 'portolan');
      assert.equal(x.version, 'TLSv1.3');
      assert.equal(x.chain.length, 3);
      assert.equal(x.chain[2].subject, 'O=Portolan TLS Engine Tests, CN=Portolan Test Root');
      assert.match(x.trust, /through .*Portolan Test Root/);
      assert.deepEqual(x.acceptedVersions, ['TLSv1.2', 'TLSv1.3']);
      const expectedSuites = [...suitesFor(key, 'TLSv1.3'), ...suitesFor(key, 'TLSv1.2')].map((s) => s.name).sort();
      assert.deepEqual([...x.acceptedSuites].sort(), expectedSuites, `${impl} ${key}`);
      assert.deepEqual(x.acceptedGroups, ['x25519', 'secp256r1', 'secp384r1'] satisfies GroupName[]);
      assert.equal(x.signatureScheme, schemesFor(key, 'TLSv1.3')[0]);
    }
  }
});

test('workerd: the refusal corpus — each certificate refused as untrusted_peer naming its reason', async () => {
  for (const [name, port] of Object.entries(tlsEngineFacts.refusals)) {
    const r = await call('tls', 'inspect', target(port, { versions: false, suites: false, groups: false }));
    assert.equal(r.status, 502, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'untrusted_peer', `${name}: ${JSON.stringify(r.body.error)}`);
    assert.equal(r.body.error.detail.reason, REFUSAL_REASONS[name as RefusalCase], `${name}: ${r.body.error.message}`);
    assert.match(r.body.error.detail.fingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  }
  // The public roots do not vouch for the test root either: no caPem, an unknown issuer.
  const publicRoots = await call('tls', 'inspect', { host: 'localhost', port: p.opensslP256, versions: false, suites: false, groups: false });
  assert.equal(publicRoots.body.error.code, 'untrusted_peer');
  assert.equal(publicRoots.body.error.detail.reason, 'incomplete_chain');
});

test('workerd: a wrong pin is refused; a self-signed server serves HTTP when pinned, by certificate or public key, and a private CA works for any protocol', async () => {
  const wrong = await call('tls', 'inspect', target(p.opensslP256, { pinSha256: 'ab'.repeat(32) }));
  assert.equal(wrong.body.error.code, 'untrusted_peer');
  assert.equal(wrong.body.error.detail.reason, 'pin_mismatch');
  const self = new X509Certificate(readFileSync(corpus.bad.selfSigned.cert));
  const fingerprint = self.fingerprint256;
  const spki = createHash('sha256').update(self.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  // Unpinned, the runtime's TLS (tlsEngine auto) only knows the handshake failed; Portolan's says why.
  const unpinned = await call('http', 'request', { host: 'localhost', port: p.opensslSelfSignedWww, tls: 'implicit', path: '/' });
  assert.equal(unpinned.body.error.code, 'tls_error', JSON.stringify(unpinned.body));
  assert.match(unpinned.body.error.message, /certificate is not trusted/);
  const why = await call('http', 'request', { host: 'localhost', port: p.opensslSelfSignedWww, tls: 'implicit', path: '/', tlsEngine: 'portolan' });
  assert.equal(why.body.error.code, 'untrusted_peer', JSON.stringify(why.body));
  assert.equal(why.body.error.detail.reason, 'self_signed');
  const pinned = await call('http', 'request', { host: 'localhost', port: p.opensslSelfSignedWww, tls: 'implicit', path: '/', pinSha256: fingerprint });
  assert.equal(pinned.status, 200, JSON.stringify(pinned.body));
  assert.equal(pinned.body.result.response.status, 200);
  assert.match(pinned.body.result.response.body.text, /Protocol *: TLSv1\.3/);
  const bySpki = await call('http', 'request', { host: 'localhost', port: p.opensslSelfSignedWww, tls: 'implicit', path: '/', pinSpkiSha256: `sha256//${spki}` });
  assert.equal(bySpki.status, 200, JSON.stringify(bySpki.body));
  const viaCa = await call('http', 'request', { host: 'localhost', port: p.opensslRenegotiate, tls: 'implicit', path: '/', caPem: rootPem });
  assert.equal(viaCa.status, 200, JSON.stringify(viaCa.body));
  assert.match(viaCa.body.result.response.body.text, /Protocol *: TLSv1\.2/);
});

test('workerd: a client certificate opens the servers that require one; without it they refuse', async () => {
  for (const id of [corpus.client.ecdsa, corpus.client.rsa]) {
    const clientCertificate = { certPem: readFileSync(id.cert, 'utf8'), keyPem: readFileSync(id.key, 'utf8') };
    // s_server -www shows the certificate it verified.
    const r = await call('http', 'request', { ...target(p.opensslClientAuth), tls: 'implicit', path: '/', clientCertificate });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.body.result.response.body.text, /portolan-client-(ecdsa|rsa)/);
    const g = await call('tls', 'inspect', target(p.gnutlsClientAuth, { clientCertificate, versions: false, suites: false, groups: false }));
    assert.equal(g.status, 200, JSON.stringify(g.body));
  }
  // TLS 1.3: the server refuses after our Finished, with certificate_required, which the request reads.
  const without = await call('http', 'request', { ...target(p.opensslClientAuth), tls: 'implicit', path: '/' });
  assert.equal(without.status, 502, JSON.stringify(without.body));
  assert.equal(without.body.error.code, 'tls_error', JSON.stringify(without.body.error));
  assert.equal(without.body.error.detail.alert, 'certificate_required');
  assert.match(without.body.error.message, /requires a client certificate/);
});

test('workerd: the man in the middle — a suite or group not offered, the downgrade sentinel, an oversized record, renegotiation: tls_error naming the alert', async () => {
  const cases: [number, string, RegExp][] = [
    [tlsEngineFacts.tamper.suite, 'illegal_parameter', /cipher suite 0x1304, which was not offered/],
    [tlsEngineFacts.tamper.group, 'illegal_parameter', /x448 key share, which was not offered/],
    [tlsEngineFacts.tamper.downgrade, 'illegal_parameter', /downgrade sentinel/],
    [tlsEngineFacts.tamper.oversized, 'record_overflow', /record_overflow/],
  ];
  for (const [port, alert, message] of cases) {
    const r = await call('tls', 'inspect', target(port, { versions: false, suites: false, groups: false }));
    assert.equal(r.status, 502, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'tls_error', JSON.stringify(r.body.error));
    assert.equal(r.body.error.detail.alert, alert, r.body.error.message);
    assert.match(r.body.error.message, message);
  }
  const reneg = await call('http', 'request', { host: 'localhost', port: p.opensslRenegotiate, tls: 'implicit', path: '/reneg', caPem: rootPem });
  assert.equal(reneg.body.error?.code, 'tls_error', JSON.stringify(reneg.body));
  assert.equal(reneg.body.error.detail.alert, 'no_renegotiation');
});

test('workerd: STARTTLS with either engine — PostgreSQL over SSLRequest, the runtime TLS and Portolan TLS', async () => {
  // (PostgreSQL's lab server has the lab CA, which both engines trust through the harness.)
  for (const tlsEngine of ['runtime', 'portolan'] as const) {
    const r = await call('postgres', 'probe', { host: 'localhost', port: ports.databases.postgres, tls: 'starttls', tlsEngine, user: 'postgres' }, { transcript: true });
    assert.equal(r.status, 200, `${tlsEngine}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.result.tlsUsed, true, tlsEngine);
    const engineMessages = r.body.transcript.entries.filter((e: { decode?: string }) => /^TLS ServerHello/.test(e.decode ?? ''));
    assert.equal(engineMessages.length, tlsEngine === 'portolan' ? 1 : 0, tlsEngine);
  }
});
