// The TLS client against a scripted TLS 1.3 server (test/tls-peer.ts): the happy path fed whole, byte by byte and
// fragmented; HelloRetryRequest and KeyUpdate; and the refusals no real server produces — a suite or group not
// offered, the downgrade sentinel, a bad Finished, a bad CertificateVerify, oversized records, ALPN not offered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCertificates, type CertificateCorpus } from '../../../lab/tls-engine/certificates.ts';
import { ScriptedServer, converse, type PeerScript } from '../../../test/tls-peer.ts';
import { concat, utf8 } from '../bytes.ts';
import { TlsClient, type TlsClientConfig, type TlsEvent } from './client.ts';
import { TlsError } from './errors.ts';
import { pemBlocks, privateKeyPkcs8 } from './pem.ts';
import { importSigningKey, type SigningKey } from './primitives.ts';
import { trustStore, verifyServerChain } from './verify.ts';
import { AlertDescription, SIGNATURE_SCHEMES, alertName } from './wire.ts';

let corpus: CertificateCorpus;
let chain: Uint8Array[];
let key: SigningKey;
const dir = mkdtempSync(join(tmpdir(), 'portolan-tls-client-'));
before(async () => {
  corpus = makeCertificates(dir);
  const id = corpus.good.ecdsa256;
  chain = [...pemBlocks(readFileSync(id.cert, 'utf8'), 'cert'), ...pemBlocks(readFileSync(id.chain!, 'utf8'), 'chain')].map((b) => b.der);
  key = await importSigningKey(crypto.subtle, privateKeyPkcs8(readFileSync(id.key, 'utf8'), 'key'), { type: 'ec', curve: 'P-256' }, SIGNATURE_SCHEMES);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function client(o: Partial<TlsClientConfig> = {}, events: TlsEvent[] = []): TlsClient {
  const anchors = trustStore(pemBlocks(readFileSync(corpus.root, 'utf8'), 'root').map((b) => b.der), 'the test root');
  return new TlsClient({
    serverName: 'localhost',
    subtle: crypto.subtle,
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    verify: (c) => verifyServerChain(crypto.subtle, c, { serverName: 'localhost', anchors, now: Date.now() }),
    onEvent: (e) => events.push(e),
    ...o,
  });
}

const server = (o: Partial<PeerScript> = {}) => new ScriptedServer({ chain, key, ...o });

async function echo(c: TlsClient, s: ScriptedServer, text: string): Promise<string> {
  await c.send(utf8(text));
  const answer = await s.feed(concat(c.takeOutgoing()));
  await c.receive(concat(answer));
  return new TextDecoder().decode(concat(c.takeAppData()));
}

async function refused(c: TlsClient, s: ScriptedServer, alert: number, message: RegExp): Promise<void> {
  await assert.rejects(converse(c, s), (e: unknown) => {
    assert.ok(e instanceof TlsError, String(e));
    assert.equal(e.code, 'tls_error');
    assert.equal(alertName(e.alert), alertName(alert), e.message);
    assert.match(e.message, message);
    return true;
  });
}

test('client: a TLS 1.3 handshake with the scripted server — negotiated values, the transcript, data both ways', async () => {
  const events: TlsEvent[] = [];
  const c = client({ alpn: ['h2', 'http/1.1'] }, events);
  const s = server({ alpn: 'h2' });
  await converse(c, s);
  assert.ok(c.connected);
  const info = c.info!;
  assert.equal(info.version, 'TLSv1.3');
  assert.equal(info.cipherSuite.name, 'TLS_AES_128_GCM_SHA256');
  assert.equal(info.group, 'x25519');
  assert.equal(info.signatureScheme, 'ecdsa_secp256r1_sha256');
  assert.equal(info.alpn, 'h2');
  assert.equal(info.presented.length, 2);
  assert.equal(await echo(c, s, 'hello through TLS'), 'hello through TLS');
  assert.deepEqual(
    events.map((e) => `${e.dir} ${e.decode.split(/[ ,:]/)[0]}`),
    ['out ClientHello', 'in ServerHello', 'in EncryptedExtensions', 'in Certificate', 'in CertificateVerify', 'in Finished', 'out ChangeCipherSpec', 'out Finished'],
  );
  assert.ok(!events.some((e) => /secret|key:/i.test(e.decode)), 'no keys in the transcript');
});

test('client: the server flight fed one byte at a time, and in 37-byte records, gives the same session', async () => {
  const c = client();
  await converse(c, server(), { byteByByte: true });
  assert.ok(c.connected);
  const d = client();
  const s = server({ fragment: 37 });
  await converse(d, s);
  assert.ok(d.connected);
  assert.equal(await echo(d, s, 'fragmented'), 'fragmented');
});

test('client: every TLS 1.3 suite and group with the scripted server', async () => {
  for (const suite of [0x1301, 0x1302, 0x1303]) {
    for (const group of ['x25519', 'secp256r1', 'secp384r1'] as const) {
      const c = client({ cipherSuites: [suite], groups: [group] });
      const s = server();
      await converse(c, s);
      assert.equal(c.info!.cipherSuite.id, suite);
      assert.equal(c.info!.group, group);
      assert.equal(await echo(c, s, `${suite} ${group}`), `${suite} ${group}`);
    }
  }
});

test('client: HelloRetryRequest for secp256r1, then the handshake completes', async () => {
  const events: TlsEvent[] = [];
  const c = client({}, events);
  const s = server({ wantGroup: 0x0017 });
  await converse(c, s);
  assert.equal(c.info!.group, 'secp256r1');
  assert.ok(c.info!.helloRetry);
  assert.ok(events.some((e) => /^HelloRetryRequest .*wants key_share secp256r1/.test(e.decode)));
  assert.equal(await echo(c, s, 'after retry'), 'after retry');
});

test('client: a second HelloRetryRequest is unexpected_message', async () => {
  await refused(client(), server({ wantGroup: 0x0017, secondRetry: true }), AlertDescription.unexpectedMessage, /second HelloRetryRequest/);
});

test('client: a KeyUpdate asking for one back — the client updates both directions and data keeps flowing', async () => {
  const c = client();
  const s = server({ keyUpdate: true });
  await converse(c, s);
  assert.equal(s.keyUpdatesFromClient, 1);
  assert.equal(await echo(c, s, 'after key update'), 'after key update');
});

test('client: refusals — suite not offered, group not offered, downgrade sentinel, bad Finished, bad CertificateVerify, ALPN not offered', async () => {
  await refused(client({ cipherSuites: [0x1301] }), server({ serverHello: { suite: 0x1302 } }), AlertDescription.illegalParameter, /cipher suite TLS_AES_256_GCM_SHA384, which was not offered/);
  await refused(client({ groups: ['x25519'] }), server({ serverHello: { group: 0x0018 } }), AlertDescription.illegalParameter, /secp384r1 key share, which was not offered/);
  await refused(client(), server({ downgrade: true }), AlertDescription.illegalParameter, /downgrade sentinel/);
  await refused(client(), server({ badFinished: true }), AlertDescription.decryptError, /Finished does not match/);
  await refused(client(), server({ badSignature: true }), AlertDescription.decryptError, /CertificateVerify signature .* does not verify/);
  await refused(client({ alpn: ['http/1.1'] }), server({ alpn: 'h2' }), AlertDescription.illegalParameter, /ALPN protocol "h2", which was not offered/);
});

test('client: a refusal sends its alert to the server, then every call fails the same way', async () => {
  const c = client({ cipherSuites: [0x1301] });
  const s = server({ serverHello: { suite: 0x1303 } });
  await assert.rejects(converse(c, s));
  await s.feed(concat(c.takeOutgoing()));
  assert.deepEqual(s.alerts, [[2, AlertDescription.illegalParameter]]);
  await assert.rejects(c.receive(new Uint8Array(1)), /not offered/);
  await assert.rejects(c.send(utf8('x')), /not offered/);
});

test('client: records over the limits are record_overflow — a header past 2^14 + 2048, a 1.3 plaintext past 2^14', async () => {
  await refused(client(), server({ oversizedRecord: 16384 + 2049 }), AlertDescription.recordOverflow, /exceeds the 18432-byte limit/);
  await refused(client(), server({ oversizedPlaintext: 16385 }), AlertDescription.recordOverflow, /more than 2\^14|exceeds 2\^14 \+ 256/);
});

test('client: an alert from the server is tls_error naming it, and is not answered', async () => {
  const c = client();
  const s = server({ alertAfterHandshake: AlertDescription.accessDenied });
  await assert.rejects(converse(c, s), (e: TlsError) => e.alert === AlertDescription.accessDenied && e.detail?.by === 'server' && /the server sent the alert access_denied/.test(e.message));
  assert.deepEqual(c.takeOutgoing(), []);
});

test('client: a certificate the verifier refuses ends the handshake as untrusted_peer with a bad_certificate family alert', async () => {
  const c = client({ serverName: 'localhost', verify: (ch) => verifyServerChain(crypto.subtle, ch, { serverName: 'example.org', anchors: trustStore([], 'no roots'), now: Date.now() }) });
  const s = server();
  await assert.rejects(converse(c, s), (e: { code: string; reason: string }) => e.code === 'untrusted_peer' && e.reason === 'incomplete_chain');
  await s.feed(concat(c.takeOutgoing()));
  assert.deepEqual(s.alerts, [[2, AlertDescription.unknownCa]]);
});
