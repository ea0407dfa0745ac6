// DNS against the lab through the HTTP API of workerd: BIND 9 (authoritative, DNSSEC, AXFR, IXFR), NSD (lab root
// and TLD, for trace), Unbound (recursive, validating, DNS over TLS) and dnsdist (DNS over HTTPS over HTTP/1.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { call, workerUrl } from '../../../test/harness.ts';
import { caPath, ports } from '../../../lab/index.ts';
import { dnsFacts } from '../../../lab/servers/dns.ts';
import { dohWireResolver, type WireFetch } from './resolver.ts';

const p = ports.dns;
const bind = { host: '127.0.0.1', port: p.bind };
const unbound = { host: '127.0.0.1', port: p.unbound };
const dot = { host: '127.0.0.1', port: p.unboundDot, transport: 'dot' };
const doh = { host: '127.0.0.1', port: p.doh, transport: 'doh' };
const Z = dnsFacts.zone;

interface Rec {
  name: string;
  type: string;
  ttl: number;
  rdata: string;
  data: Record<string, any>;
}

async function query(target: object, input: object): Promise<any> {
  const r = await call('dns', 'query', { ...target, ...input });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

const rdataOf = (records: Rec[], type: string) => records.filter((x) => x.type === type).map((x) => x.rdata).sort();

test('query: every record type of the lab zone from BIND, record data as the zone has it', async () => {
  for (const [type, want] of Object.entries(dnsFacts.records)) {
    const r = await query(bind, { name: want.name, type });
    assert.equal(r.rcode, 'NOERROR', type);
    assert.equal(r.flags.aa, true, `${type}: BIND is authoritative`);
    assert.deepEqual(rdataOf(r.answers, type), [...want.rdata].sort(), type);
  }
  // Structured data, not only text: what a JSON user reads.
  const mx = await query(bind, { name: Z, type: 'MX' });
  assert.deepEqual(mx.answers.map((a: Rec) => a.data).sort((a: any, b: any) => a.preference - b.preference), [
    { preference: 10, exchange: `mail.${Z}` },
    { preference: 20, exchange: 'mail2.example.net.' },
  ]);
  const svcb = await query(bind, { name: `svc.${Z}`, type: 'SVCB' });
  assert.deepEqual(svcb.answers[0].data.params.find((x: any) => x.key === 'alpn').value, ['h2', 'h3']);
  assert.equal(svcb.answers[0].data.params.find((x: any) => x.key === 'port').value, 8443);
  const long = await query(bind, { name: dnsFacts.longTxt.name, type: 'TXT' });
  assert.deepEqual(long.answers[0].data.strings, dnsFacts.longTxt.strings, 'a TXT over 255 octets arrives as two strings');
});

test('query with DO: DNSKEY, RRSIG, NSEC3PARAM, and NSEC3 proving a denial', async () => {
  const keys = await query(bind, { name: Z, type: 'DNSKEY', do: true });
  const dnskeys = keys.answers.filter((a: Rec) => a.type === 'DNSKEY');
  assert.equal(dnskeys.length, 2);
  assert.deepEqual(dnskeys.map((k: Rec) => k.data.secureEntryPoint).sort(), [false, true]);
  const sigs = keys.answers.filter((a: Rec) => a.type === 'RRSIG');
  assert.ok(sigs.length >= 1 && sigs.every((s: Rec) => s.data.typeCovered === 'DNSKEY' && s.data.signerName === Z));
  assert.ok(sigs.some((s: Rec) => dnskeys.some((k: Rec) => k.data.keyTag === s.data.keyTag)), 'a signature names a key tag of the DNSKEYs');
  const param = await query(bind, { name: Z, type: 'NSEC3PARAM' });
  assert.deepEqual(param.answers[0].data, { hashAlgorithm: 1, flags: 0, iterations: 0, salt: 'ABCD' });
  const nx = await query(bind, { name: dnsFacts.nxdomain, type: 'A', do: true });
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.ok(nx.authority.filter((a: Rec) => a.type === 'NSEC3').length >= 2, 'NSEC3 records in the authority section');
  const rev = await query(bind, { name: '9.2.0.192.in-addr.arpa', type: 'PTR', do: true });
  assert.equal(rev.rcode, 'NXDOMAIN');
  assert.ok(rev.authority.some((a: Rec) => a.type === 'NSEC'), 'the reverse zone is signed with NSEC');
});

test('NXDOMAIN, REFUSED and SERVFAIL are answers with their rcode; CD gets past a validation failure', async () => {
  const nx = await query(unbound, { name: dnsFacts.nxdomain, type: 'A' });
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authority[0].type, 'SOA');
  const refused = await query(bind, { name: dnsFacts.refused, type: 'A' });
  assert.equal(refused.rcode, 'REFUSED');
  const bogus = await query(unbound, { name: dnsFacts.bogus.name, type: 'A', nsid: true });
  assert.equal(bogus.rcode, 'SERVFAIL');
  const ede = bogus.edns.options.find((o: any) => o.name === 'EDE');
  // RFC 8914: 9 (DNSKEY Missing) on a cold cache, 6 (DNSSEC Bogus) once Unbound has the keys cached.
  assert.ok([6, 9].includes(ede.data.infoCode), `EDE ${ede.data.infoCode} ${ede.data.purpose}`);
  assert.equal(bogus.edns.options.find((o: any) => o.name === 'NSID').data.text, dnsFacts.unboundNsid);
  const cd = await query(unbound, { name: dnsFacts.bogus.name, type: 'A', cd: true });
  assert.equal(cd.rcode, 'NOERROR');
  assert.deepEqual(rdataOf(cd.answers, 'A'), [dnsFacts.bogus.address]);
  const lame = await query(unbound, { name: dnsFacts.servfail, type: 'A' });
  assert.equal(lame.rcode, 'SERVFAIL');
});

test('Unbound validates: AD with DO over TCP; NSID and cookies from BIND; CHAOS class', async () => {
  const r = await query(unbound, { name: `www.${Z}`, type: 'A', do: true });
  assert.equal(r.flags.ad, true);
  assert.equal(r.flags.ra, true);
  assert.deepEqual(rdataOf(r.answers, 'CNAME'), [Z]);
  assert.deepEqual(rdataOf(r.answers, 'A'), ['192.0.2.1']);
  const b = await query(bind, { name: Z, type: 'SOA', nsid: true, cookie: true });
  const opt = (name: string) => b.edns.options.find((o: any) => o.name === name);
  assert.equal(opt('NSID').data.text, dnsFacts.bindNsid);
  assert.match(opt('COOKIE').data.server, /^[0-9a-f]{16,64}$/, 'BIND returned a server cookie');
  const version = await query(bind, { name: 'version.bind', type: 'TXT', class: 'CH' });
  assert.equal(version.answers[0].class, 'CH');
  const installed = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'bind9'], { encoding: 'utf8' });
  const upstream = /^(?:\d+:)?(\d+\.\d+\.\d+)/.exec(installed)![1];
  assert.ok(version.answers[0].data.strings[0].includes(upstream), `version.bind says ${version.answers[0].data.strings[0]}`);
});

test('DNS over TLS to Unbound: validated answer with signatures', async () => {
  const r = await query(dot, { name: Z, type: 'A', do: true });
  assert.equal(r.transport, 'dot');
  assert.equal(r.flags.ad, true);
  assert.deepEqual(rdataOf(r.answers, 'A'), ['192.0.2.1']);
  assert.ok(r.answers.some((a: Rec) => a.type === 'RRSIG' && a.data.typeCovered === 'A'));
  // tls: implicit on the plain transport is the same thing.
  const same = await query({ host: '127.0.0.1', port: p.unboundDot, tls: 'implicit' }, { name: `mail.${Z}`, type: 'AAAA' });
  assert.equal(same.transport, 'dot');
  assert.deepEqual(rdataOf(same.answers, 'AAAA'), ['2001:db8::25']);
});

test('DNS over HTTPS (dnsdist, HTTP/1.1): POST and GET wire format', async () => {
  for (const dohMode of ['post', 'get']) {
    const r = await query(doh, { name: `_sip._tcp.${Z}`, type: 'SRV', dohMode, do: true });
    assert.equal(r.transport, 'doh');
    assert.equal(r.http.status, 200);
    assert.equal(r.http.version, '1.1');
    assert.equal(r.id, 0);
    assert.equal(r.flags.ad, true, `${dohMode}: validated by Unbound behind dnsdist`);
    assert.deepEqual(rdataOf(r.answers, 'SRV'), dnsFacts.records.SRV.rdata);
  }
  // The JSON API is not RFC 8484: dnsdist does not serve it, and says so with an HTTP status.
  const json = await call('dns', 'query', { ...doh, name: Z, dohMode: 'json' });
  assert.equal(json.status, 502);
  assert.equal(json.body.error.code, 'server_error');
  assert.match(json.body.error.message, /DoH server answered HTTP 4\d\d/);
});

/** The zone file BIND serves, one line per record as our text form prints it. */
function zoneFileLines(): string[] {
  const text = execFileSync('named-compilezone', ['-q', '-s', 'full', '-o', '-', Z, dnsFacts.zoneFile], { encoding: 'utf8' });
  const fixed: Record<string, number> = { DS: 3, SSHFP: 2, TLSA: 3, DNSKEY: 3, RRSIG: 8 };
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith(';'))
    .map((l) => {
      const [, name, ttl, cls, type, rdata] = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(l.trim())!;
      const tokens = rdata.trim().split(/\s+/);
      const text = type in fixed ? [...tokens.slice(0, fixed[type]), tokens.slice(fixed[type]).join('')].join(' ') : rdata.trim();
      return `${name}\t${ttl}\t${cls}\t${type}\t${text}`;
    });
}

test('AXFR: the whole zone, record by record equal to the zone file BIND serves', async () => {
  const r = await call('dns', 'axfr', { ...bind, zone: Z }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
  const x = r.body.result;
  assert.equal(x.rcode, 'NOERROR');
  assert.equal(x.serial, dnsFacts.serials.after);
  const ours = x.records.map((rr: Rec & { class: string }) => `${rr.name}\t${rr.ttl}\t${rr.class}\t${rr.type}\t${rr.rdata}`).sort();
  const file = zoneFileLines().sort();
  assert.equal(ours.length, file.length);
  assert.deepEqual(ours, file);
  assert.equal(x.recordCount, file.length);
  const perType: Record<string, number> = {};
  for (const l of file) perType[l.split('\t')[3]] = (perType[l.split('\t')[3]] ?? 0) + 1;
  assert.deepEqual(x.counts, Object.fromEntries(Object.entries(perType).sort(([a], [b]) => a.localeCompare(b))));
  assert.ok(x.bytes > 5000);
  assert.ok(r.body.transcript.entries.some((e: any) => /^AXFR lab\.portolan\.test\./.test(e.decode ?? '')));
  // Not allowed, or not a zone of this server: the server's answer, not a transport failure.
  const refused = await call('dns', 'axfr', { ...bind, zone: 'example.org' });
  assert.equal(refused.status, 200);
  assert.equal(refused.body.result.style, 'refused');
  assert.match(refused.body.result.rcode, /^(NOTAUTH|REFUSED)$/);
});

test('IXFR: changes since serial 1000, up to date at 1001, a full transfer for a serial the journal lacks', async () => {
  const r = await call('dns', 'ixfr', { ...bind, zone: Z, serial: dnsFacts.serials.before });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body.result;
  assert.equal(x.style, 'incremental');
  assert.equal(x.serial, dnsFacts.serials.after);
  assert.equal(x.diffs.length, 1);
  const [d] = x.diffs;
  assert.deepEqual([d.fromSerial, d.toSerial], [dnsFacts.serials.before, dnsFacts.serials.after]);
  const txt = (list: Rec[]) => list.filter((a) => a.type === 'TXT').map((a) => `${a.name} ${a.rdata}`);
  assert.deepEqual(txt(d.deleted), [`${dnsFacts.changed.name} "${dnsFacts.changed.before}"`]);
  assert.deepEqual(txt(d.added), [`${dnsFacts.changed.name} "${dnsFacts.changed.after}"`]);
  assert.deepEqual(d.deleted.filter((a: Rec) => a.type === 'SOA').map((a: Rec) => a.data.serial), [dnsFacts.serials.before]);
  const current = await call('dns', 'ixfr', { ...bind, zone: Z, serial: dnsFacts.serials.after });
  assert.equal(current.body.result.style, 'up-to-date');
  const old = await call('dns', 'ixfr', { ...bind, zone: Z, serial: 1 });
  assert.equal(old.body.result.style, 'axfr');
  assert.equal(old.body.result.recordCount, zoneFileLines().length);
});

test('trace from the lab root: root -> test. -> lab.portolan.test., like dig +trace', async () => {
  const r = await call('dns', 'trace', { host: dnsFacts.servers.root, port: p.bind, name: `www.${Z}`, type: 'A' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const t = r.body.result;
  assert.equal(t.complete, true);
  assert.equal(t.rcode, 'NOERROR');
  assert.deepEqual(
    t.steps.map((s: any) => [s.server.address, s.zone, s.referral?.zone ?? null]),
    [
      [dnsFacts.servers.root, null, 'test.'],
      [dnsFacts.servers.tld, 'test.', Z],
      [dnsFacts.servers.zones, Z, null],
    ],
  );
  assert.equal(t.steps[2].aa, true);
  assert.deepEqual(rdataOf(t.answers, 'A'), ['192.0.2.1']);
  // A name the root does not delegate ends at the root with NXDOMAIN.
  const nx = await call('dns', 'trace', { host: dnsFacts.servers.root, port: p.bind, name: 'nowhere.invalid', type: 'A' });
  assert.equal(nx.body.result.rcode, 'NXDOMAIN');
  assert.equal(nx.body.result.steps.length, 1);
  // Text for curl.
  const text = await call('dns', 'trace', { host: dnsFacts.servers.root, port: p.bind, name: `mail.${Z}`, type: 'AAAA' });
  assert.equal(text.body.result.answers[0].rdata, '2001:db8::25');
});

test('compare: BIND, Unbound over TCP, TLS and HTTPS agree; a validation failure makes them differ', async () => {
  const r = await call('dns', 'compare', { ...bind, name: Z, type: 'MX', with: [`127.0.0.1:${p.unbound}`, `dot://127.0.0.1:${p.unboundDot}`, `https://127.0.0.1:${p.doh}/dns-query`] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.agree, true);
  assert.deepEqual(r.body.result.results.map((x: any) => x.server), [`127.0.0.1#${p.bind}(tcp)`, `127.0.0.1#${p.unbound}(tcp)`, `127.0.0.1#${p.unboundDot}(dot)`, `127.0.0.1#${p.doh}(doh)`]);
  for (const x of r.body.result.results) assert.deepEqual(x.rdata, dnsFacts.records.MX.rdata.map((m) => `MX ${m}`).sort());
  assert.equal(r.body.result.results[0].flags.aa, true);
  assert.equal(r.body.result.results[1].flags.ra, true);
  const differ = await call('dns', 'compare', { ...bind, name: dnsFacts.bogus.name, type: 'A', with: [`127.0.0.1:${p.unbound}`] });
  assert.equal(differ.body.result.agree, false);
  assert.deepEqual(differ.body.result.results.map((x: any) => x.rcode), ['NOERROR', 'SERVFAIL']);
});

test('reverse: PTR names for IPv4 and IPv6, forward-confirmed on one connection', async () => {
  for (const { address, ptr } of [dnsFacts.reverse.v4, dnsFacts.reverse.v6]) {
    const r = await call('dns', 'reverse', { ...unbound, address }, { transcript: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.result.names, [ptr]);
    assert.equal(r.body.result.confirmed[0].matches, true);
  }
  const none = await call('dns', 'reverse', { ...unbound, address: '192.0.2.200' });
  assert.equal(none.body.result.rcode, 'NXDOMAIN');
  assert.deepEqual(none.body.result.names, []);
});

test('batch: several questions pipelined on one TCP and one TLS connection', async () => {
  for (const target of [unbound, { ...unbound, port: p.unboundDot, transport: 'dot' }]) {
    const r = await call('dns', 'batch', { ...target, questions: [{ name: Z, type: 'A' }, { name: Z, type: 'AAAA' }, { name: `txt.${Z}`, type: 'TXT' }, { name: dnsFacts.nxdomain, type: 'A' }] }, { transcript: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const res = r.body.result.results;
    assert.deepEqual(res.map((x: any) => x.rcode), ['NOERROR', 'NOERROR', 'NOERROR', 'NXDOMAIN']);
    assert.deepEqual(res[0].answers.map((a: Rec) => a.rdata), ['192.0.2.1']);
    assert.deepEqual(res[1].answers.map((a: Rec) => a.rdata), ['2001:db8::1']);
    const connects = r.body.transcript.entries.filter((e: any) => e.dir === 'info' && /^connecting to/.test(e.decode ?? ''));
    assert.equal(connects.length, 1, 'one connection');
    // All four queries were written before the first answer was read.
    const dirs = r.body.transcript.entries.filter((e: any) => e.dir !== 'info').map((e: any) => e.dir);
    assert.deepEqual(dirs.slice(0, 4), ['out', 'out', 'out', 'out']);
  }
});

test('short route: /dns/<server>/<name>/<TYPE> prints dig-like text; an address alone is a PTR lookup', async () => {
  const res = await fetch(`${workerUrl()}/dns/127.0.0.1:${p.unbound}/${Z}/MX`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: \d+/);
  assert.match(text, new RegExp(`;; ANSWER SECTION:\\n(${Z.replace(/\./g, '\\.')}\\t\\d+\\tIN\\tMX\\t(10 mail\\.lab\\.portolan\\.test\\.|20 mail2\\.example\\.net\\.)\\n){2}`));
  assert.match(text, new RegExp(`;; SERVER: 127\\.0\\.0\\.1#${p.unbound}\\(TCP\\)`));
  const ptr = await (await fetch(`${workerUrl()}/dns/127.0.0.1:${p.unbound}/192.0.2.25`)).text();
  assert.match(ptr, /25\.2\.0\.192\.in-addr\.arpa\.\t\d+\tIN\tPTR\tmail\.lab\.portolan\.test\./);
  // `/dns/<server>/<zone>/AXFR`, like `dig AXFR`: the whole zone, closing SOA included.
  const axfr = await (await fetch(`${workerUrl()}/dns/127.0.0.1:${p.bind}/${Z}/AXFR`)).text();
  const lines = axfr.split(';; ANSWER SECTION:\n')[1].split('\n\n')[0].split('\n');
  assert.equal(lines.length, zoneFileLines().length + 1);
  assert.match(lines[0], /\tSOA\t/);
  assert.equal(lines[lines.length - 1], lines[0]);
  const bad = await fetch(`${workerUrl()}/dns/127.0.0.1:${p.unbound}/${Z}/NOPE`);
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /^error: invalid_input: type: "NOPE" is not a record type/);
});

test('bad input names the field; UDP on Workers is 501 with the reason', async () => {
  const long = await call('dns', 'query', { ...unbound, name: `${'x'.repeat(64)}.example` });
  assert.equal(long.status, 400);
  assert.match(long.body.error.message, /^name: label "x{64}" is 64 octets/);
  const type = await call('dns', 'query', { ...unbound, name: Z, type: 'BOGUS' });
  assert.equal(type.status, 400);
  assert.match(type.body.error.message, /^type: "BOGUS" is not a record type/);
  const udp = await call('dns', 'query', { ...unbound, name: Z, transport: 'udp' });
  assert.equal(udp.status, 501);
  assert.equal(udp.body.error.code, 'unsupported_runtime');
  assert.match(udp.body.error.message, /datagram/);
  const mdns = await call('dns', 'mdns', { host: '127.0.0.1', name: 'printer.local' });
  assert.equal(mdns.status, 501);
});

test('the deployment policy refuses loopback resolvers', async () => {
  const r = await call('dns', 'query', { ...unbound, name: Z }, { kind: 'deployment' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'target_blocked');
});

test("the guard's wire-format DoH resolver against dnsdist: CNAME followed, NXDOMAIN refused", async () => {
  const ca = readFileSync(caPath);
  const fetchFn: WireFetch = (url, init) =>
    new Promise((resolve, reject) => {
      const req = https.request(url, { method: init.method, headers: init.headers, ca, signal: init.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            ok: (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300,
            status: res.statusCode ?? 0,
            headers: { get: (n: string) => (res.headers[n.toLowerCase()] as string | undefined) ?? null },
            arrayBuffer: async () => body.buffer.slice(body.byteOffset, body.byteOffset + body.length) as ArrayBuffer,
          });
        });
      });
      req.on('error', reject);
      req.end(init.body);
    });
  for (const method of ['POST', 'GET'] as const) {
    const resolver = dohWireResolver(`https://localhost:${p.doh}${dnsFacts.dohPath}`, fetchFn, { method });
    assert.deepEqual((await resolver.resolve(`www.${Z}`)).sort(), ['192.0.2.1', '2001:db8::1']);
    await assert.rejects(resolver.resolve(dnsFacts.nxdomain), (e: any) => e.code === 'refused' && /NXDOMAIN/.test(e.message));
    await assert.rejects(resolver.resolve(dnsFacts.bogus.name), (e: any) => e.code === 'refused' && /SERVFAIL/.test(e.message));
  }
});
