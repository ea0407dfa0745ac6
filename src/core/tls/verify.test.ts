// Certificate verification against the openssl-made corpus (lab/tls-engine/certificates.ts): every good chain
// verifies, every bad one is refused with its reason; pins, a leaf as its own anchor, the RFC 6125 name rules.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { makeCertificates, REFUSAL_REASONS, type CertificateCorpus, type Identity, type RefusalCase } from '../../../lab/tls-engine/certificates.ts';
import { CertificateError, type CertificateProblem } from './errors.ts';
import { pemBlocks } from './pem.ts';
import { dnsNameMatches, trustStore, verifyServerChain, type VerifyPolicy } from './verify.ts';
import { parseCertificate } from './x509.ts';
import { anchorRecord, readAnchorRecords } from './anchors.ts';
import { concat } from '../bytes.ts';

let corpus: CertificateCorpus;
const dir = mkdtempSync(join(tmpdir(), 'portolan-tls-verify-'));
before(() => {
  corpus = makeCertificates(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const ders = (path: string) => pemBlocks(readFileSync(path, 'utf8'), path).map((b) => b.der);
const presented = (id: Identity) => [...ders(id.cert), ...(id.chain ? ders(id.chain) : [])];
const policy = (o: Partial<VerifyPolicy> = {}): VerifyPolicy => ({ serverName: 'localhost', anchors: trustStore(ders(corpus.root), 'the test root'), now: Date.now(), ...o });

test('verify: every good chain (RSA-2048, ECDSA P-256 and P-384, Ed25519) verifies to the test root, by name and by IP', async () => {
  for (const [name, id] of Object.entries(corpus.good)) {
    const v = await verifyServerChain(crypto.subtle, presented(id), policy());
    assert.equal(v.trust, 'anchor', name);
    assert.equal(v.chain.length, 3, `${name}: leaf, intermediate, root`);
    assert.equal(v.anchor, 'O=Portolan TLS Engine Tests, CN=Portolan Test Root');
    await verifyServerChain(crypto.subtle, presented(id), policy({ serverName: '127.0.0.1' }));
    await verifyServerChain(crypto.subtle, presented(id), policy({ serverName: '::1' }));
  }
});

const expected = REFUSAL_REASONS;

test('verify: each bad certificate is refused as untrusted_peer with its reason', async () => {
  for (const [name, reason] of Object.entries(expected) as [RefusalCase, CertificateProblem][]) {
    await assert.rejects(
      verifyServerChain(crypto.subtle, presented(corpus.bad[name]), policy()),
      (e: unknown) => {
        assert.ok(e instanceof CertificateError, `${name}: ${e}`);
        assert.equal(e.code, 'untrusted_peer');
        assert.equal(e.reason, reason, `${name}: ${e.message}`);
        return true;
      },
      name,
    );
  }
});

test('verify: the messages name what is wrong', async () => {
  const msg = async (c: RefusalCase) => verifyServerChain(crypto.subtle, presented(corpus.bad[c]), policy()).then(() => '', (e: Error) => e.message);
  assert.match(await msg('expired'), /expired on 2021-01-01T00:00:00\.000Z/);
  assert.match(await msg('wrongHost'), /for other\.portolan\.test, not localhost/);
  assert.match(await msg('caWithoutBasicConstraints'), /no basic constraints/);
  assert.match(await msg('leafAsCa'), /end-entity certificate used as a CA/);
  assert.match(await msg('nameConstraints'), /outside what .*Constrained CA permits/);
  assert.match(await msg('sha1'), /ecdsa-with-SHA1 \(SHA-1\)/);
  assert.match(await msg('rsa1024'), /1024-bit RSA key/);
  assert.match(await msg('selfSigned'), /self-signed .* pin its SHA-256/);
});

test('verify: a pin of the certificate or of its public key alone decides', async () => {
  const self = presented(corpus.bad.selfSigned);
  const leaf = parseCertificate(self[0]);
  const pinned = await verifyServerChain(crypto.subtle, self, policy({ pins: { certificate: [leaf.fingerprintSha256] } }));
  assert.equal(pinned.trust, 'pinned');
  await verifyServerChain(crypto.subtle, self, policy({ pins: { spki: [leaf.spkiSha256] }, serverName: 'any.name' }));
  await assert.rejects(verifyServerChain(crypto.subtle, presented(corpus.good.ecdsa256), policy({ pins: { certificate: [leaf.fingerprintSha256] } })), (e: CertificateError) => e.reason === 'pin_mismatch' && /matches no pinned fingerprint/.test(e.message));
});

test('verify: a CA file holding the server certificate itself trusts it, the name still checked', async () => {
  const self = presented(corpus.bad.selfSigned);
  const v = await verifyServerChain(crypto.subtle, self, policy({ anchors: trustStore(self, 'the server certificate') }));
  assert.equal(v.chain.length, 1);
  await assert.rejects(verifyServerChain(crypto.subtle, self, policy({ anchors: trustStore(self, 'x'), serverName: 'example.org' })), (e: CertificateError) => e.reason === 'wrong_host');
});

test('verify: a chain to the test root is refused by a store that holds another CA', async () => {
  await assert.rejects(verifyServerChain(crypto.subtle, presented(corpus.good.rsa), policy({ anchors: trustStore(ders(corpus.clientCa), 'another CA') })), (e: CertificateError) => e.reason === 'incomplete_chain');
});

test('verify: RFC 6125 names — a wildcard only as the whole left label, over one label, never a bare suffix', () => {
  assert.ok(dnsNameMatches('example.org', 'EXAMPLE.org.'));
  assert.ok(dnsNameMatches('*.example.org', 'www.example.org'));
  assert.ok(!dnsNameMatches('*.example.org', 'a.b.example.org'));
  assert.ok(!dnsNameMatches('*.example.org', 'example.org'));
  assert.ok(!dnsNameMatches('w*.example.org', 'www.example.org'));
  assert.ok(!dnsNameMatches('www.*.org', 'www.example.org'));
  assert.ok(!dnsNameMatches('*.org', 'example.org'));
  assert.ok(!dnsNameMatches('*.example.org', 'xn--bcher-kva.example.org'));
});

test('verify: a root kept as an anchor record (no signature, its SHA-256 beside it) anchors the same chains and shows its true fingerprint', async () => {
  const [root] = ders(corpus.root);
  const record = anchorRecord(root);
  assert.ok(record.length < root.length - 32, `${record.length} bytes for a ${root.length}-byte root`);
  const { certificates, parse } = readAnchorRecords(concat([record, anchorRecord(ders(corpus.clientCa)[0])]));
  assert.equal(certificates.length, 2);
  const anchors = trustStore(certificates, 'the test root as a record', parse);
  for (const id of Object.values(corpus.good)) {
    const v = await verifyServerChain(crypto.subtle, presented(id), policy({ anchors }));
    assert.deepEqual(v.chain[2].fingerprintSha256, parseCertificate(root).fingerprintSha256);
    assert.deepEqual(v.chain[2].spkiSha256, parseCertificate(root).spkiSha256);
    assert.equal(v.chain[2].subject, 'O=Portolan TLS Engine Tests, CN=Portolan Test Root');
  }
  await assert.rejects(verifyServerChain(crypto.subtle, presented(corpus.bad.unknownRoot), policy({ anchors })), (e: CertificateError) => e.reason === 'unknown_issuer');
  assert.throws(() => readAnchorRecords(record.subarray(0, record.length - 1)), /truncated record/);
});

test("verify: every Mozilla root (Node's bundled store) survives the anchor record: subject, key, validity, constraints and fingerprint", () => {
  const roots = rootCertificates.map((pem) => pemBlocks(pem, 'root').map((b) => b.der)[0]);
  assert.ok(roots.length > 100, `${roots.length} roots`);
  const { certificates, parse } = readAnchorRecords(concat(roots.map((r) => anchorRecord(r))));
  assert.equal(certificates.length, roots.length);
  certificates.forEach((der, i) => {
    const real = parseCertificate(roots[i]);
    const kept = parse(der);
    assert.deepEqual([kept.subject, kept.spkiSha256, kept.notBefore, kept.notAfter, kept.basicConstraints, kept.nameConstraints, kept.fingerprintSha256], [real.subject, real.spkiSha256, real.notBefore, real.notAfter, real.basicConstraints, real.nameConstraints, real.fingerprintSha256], real.subject);
  });
});
