// DNSSEC validation of our own, through workerd, from the lab's trust anchor: the lab root "." (RSASHA256, NSEC)
// delegates test. (ED25519, NSEC3), which delegates lab.portolan.test. (ECDSAP256SHA256, NSEC3) and the broken
// zones; Unbound is asked with DO and CD, so it hands over what it would itself call bogus. DoH over HTTP/2
// through the Node host (ALPN), and refused with the reason on workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ports } from '../../../lab/index.ts';
import { dnsFacts } from '../../../lab/servers/dns.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const p = ports.dns;
const resolver = { host: '127.0.0.1', port: p.unbound };
const anchor = () => readFileSync(dnsFacts.dnssec.rootAnchor, 'utf8').trim();
const sec = dnsFacts.dnssec;
const node = useNodeHost();

async function validate(name: string, type = 'A', extra: object = {}): Promise<any> {
  const r = await call('dns', 'validate', { ...resolver, name, type, trustAnchors: [anchor()], ...extra });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

const link = (r: any, zone: string) => r.chain.find((l: any) => l.zone === zone);

test('a secure answer: the chain . (RSASHA256) → test. (ED25519) → lab.portolan.test. (ECDSAP256SHA256), each link shown', async () => {
  const r = await validate(sec.secure);
  assert.equal(r.status, 'secure', r.reason);
  assert.deepEqual(r.answers.filter((a: any) => a.type === 'A').map((a: any) => a.rdata), ['192.0.2.1']);
  // The CNAME and the A it points at, each verified with the zone's key.
  assert.deepEqual(r.rrsets.map((s: any) => `${s.name} ${s.type} ${s.status}`), [`www.${dnsFacts.zone} CNAME secure`, `${dnsFacts.zone} A secure`]);
  assert.deepEqual(r.chain.map((l: any) => [l.zone, l.status]), [['.', 'secure'], ['test.', 'secure'], [dnsFacts.zone, 'secure']]);
  assert.equal(link(r, '.').anchor, true);
  assert.deepEqual(r.chain.map((l: any) => l.dnskeys.find((k: any) => k.trusted).algorithm), [sec.algorithms.root, sec.algorithms.tld, sec.algorithms.zone]);
  assert.ok(link(r, 'test.').ds.every((d: any) => d.matched) && link(r, 'test.').parent === '.');
  assert.ok(r.rrsets[1].signatures.some((s: any) => s.valid && s.signer === dnsFacts.zone && s.algorithmName === 'ECDSAP256SHA256'));
});

test('denial of existence: NSEC at the root, NSEC3 in test. and lab.portolan.test., NXDOMAIN and NODATA', async () => {
  const nxRoot = await validate('nowhere-tld.', 'A');
  assert.equal(nxRoot.rcode, 'NXDOMAIN');
  assert.equal(nxRoot.status, 'secure', nxRoot.reason);
  assert.deepEqual([nxRoot.denial.kind, nxRoot.denial.proves, nxRoot.denial.zone], ['nsec', 'nxdomain', '.']);
  const nx = await validate(dnsFacts.nxdomain, 'A');
  assert.equal(nx.status, 'secure', nx.reason);
  assert.deepEqual([nx.denial.kind, nx.denial.proves, nx.denial.zone], ['nsec3', 'nxdomain', dnsFacts.zone]);
  assert.match(nx.denial.how, /closest encloser lab\.portolan\.test\./);
  const nodata = await validate(dnsFacts.zone, 'TLSA');
  assert.equal(nodata.rcode, 'NOERROR');
  assert.equal(nodata.status, 'secure', nodata.reason);
  assert.deepEqual([nodata.denial.kind, nodata.denial.proves], ['nsec3', 'nodata']);
  const rootNodata = await validate('.', 'TXT');
  assert.deepEqual([rootNodata.status, rootNodata.denial.kind, rootNodata.denial.proves], ['secure', 'nsec', 'nodata']);
  const tldNx = await validate('nope.test.', 'A');
  assert.deepEqual([tldNx.status, tldNx.denial.kind, tldNx.denial.proves, tldNx.denial.zone], ['secure', 'nsec3', 'nxdomain', 'test.']);
});

test('bogus answers are shown with the reason: an expired signature, a DS that matches no key, a DS missing without proof', async () => {
  const expired = await validate(sec.expired);
  assert.equal(expired.status, 'bogus');
  assert.deepEqual(expired.answers.filter((a: any) => a.type === 'A').map((a: any) => a.rdata), [sec.address], 'the answer is still shown');
  assert.match(expired.reason, /signature by key \d+ \(ECDSAP256SHA256\) of expired\.portolan\.test\. expired \d{4}-\d\d-\d\d/);
  assert.equal(link(expired, 'expired.portolan.test.').status, 'bogus');
  assert.equal(link(expired, 'test.').status, 'secure');

  const mismatch = await validate(sec.dsMismatch);
  assert.equal(mismatch.status, 'bogus');
  assert.match(mismatch.reason, /no DNSKEY of bogus\.portolan\.test\. \(.+\) matches its DS \(\d+\/ECDSAP256SHA256\)/);
  assert.ok(link(mismatch, 'bogus.portolan.test.').ds.every((d: any) => !d.matched));

  const missing = await validate(sec.dsMissing);
  assert.equal(missing.status, 'bogus');
  assert.match(missing.reason, /no DS for nods\.portolan\.test\. in test\., and no proof that there is none/);
});

test('insecure, with the reason: a delegation proved to have no DS, and a DS of an algorithm we do not implement (ED448)', async () => {
  const island = await validate(sec.noDs);
  assert.equal(island.status, 'insecure');
  assert.match(island.reason, /test\. proves there is no DS for insecure\.portolan\.test\. \(the NSEC3 matching insecure\.portolan\.test\. \([0-9a-v]{32}\) lists NS: no DS\)/);
  const ed448 = await validate(sec.ed448);
  assert.equal(ed448.status, 'insecure');
  assert.match(ed448.reason, /use ED448 .*RFC 4035 §5\.2 treats the zone as insecure/);
  assert.equal(link(ed448, 'ed448.portolan.test.').ds[0].algorithm, sec.algorithms.ed448);
});

test('the IANA root anchors by default: the lab root is not the real one, so nothing validates (the key does not match)', async () => {
  const r = await call('dns', 'validate', { ...resolver, name: sec.secure });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.status, 'bogus');
  assert.match(r.body.result.reason, /no DNSKEY of \. \(.+\) matches the trust anchor/);
  const bad = await call('dns', 'validate', { ...resolver, name: sec.secure, trustAnchors: ['. IN DS 1 8 2 zz'] });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body.error), /trustAnchors\.0/);
});

test('validation over DNS over TLS to Unbound gives the same verdicts', async () => {
  const r = await call('dns', 'validate', { host: '127.0.0.1', port: p.unboundDot, transport: 'dot', name: sec.secure, trustAnchors: [anchor()] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.status, 'secure');
});

test('DoH over HTTP/2 (ALPN h2) to dnsdist on the Node host, and on workerd through the Portolan TLS engine; the TLS of the runtime refused with the reason', async () => {
  const r = await callNode(node, 'dns', 'query', { host: 'localhost', port: p.doh, transport: 'doh', dohVersion: 'h2', name: dnsFacts.zone, type: 'MX', do: true }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.http.version, 'HTTP/2');
  assert.equal(r.body.result.flags.ad, true);
  assert.deepEqual(r.body.result.answers.filter((a: any) => a.type === 'MX').map((a: any) => a.rdata).sort(), [...dnsFacts.records.MX.rdata].sort());
  const frames = r.body.transcript.entries.map((e: any) => e.decode ?? '').join('\n');
  assert.match(frames, /connection preface/);
  assert.match(frames, /HEADERS/);
  const get = await callNode(node, 'dns', 'batch', { host: 'localhost', port: p.doh, transport: 'doh', dohVersion: 'h2', dohMode: 'get', questions: [{ name: dnsFacts.zone }, { name: dnsFacts.zone, type: 'AAAA' }] });
  assert.equal(get.status, 200, JSON.stringify(get.body));
  assert.deepEqual(get.body.result.results.map((x: any) => x.answers.map((a: any) => a.rdata)), [['192.0.2.1'], ['2001:db8::1']]);
  const v = await callNode(node, 'dns', 'validate', { host: 'localhost', port: p.doh, transport: 'doh', dohVersion: 'h2', name: sec.secure, trustAnchors: [anchor()] });
  assert.equal(v.status, 200, JSON.stringify(v.body));
  assert.equal(v.body.result.status, 'secure');
  // On Workers, Portolan's own TLS engine offers ALPN; the runtime's TLS cannot, and says so.
  const workers = await call('dns', 'query', { host: 'localhost', port: p.doh, transport: 'doh', dohVersion: 'h2', name: dnsFacts.zone });
  assert.equal(workers.status, 200, JSON.stringify(workers.body));
  assert.equal(workers.body.result.http.version, 'HTTP/2');
  assert.equal(workers.body.result.rcode, 'NOERROR');
  const runtime = await call('dns', 'query', { host: 'localhost', port: p.doh, transport: 'doh', dohVersion: 'h2', name: dnsFacts.zone, tlsEngine: 'runtime' });
  assert.equal(runtime.status, 501, JSON.stringify(runtime.body));
  assert.match(runtime.body.error.message, /alpn/);
});
