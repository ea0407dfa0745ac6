// DNS over UDP through the Node host (which has datagrams) against BIND and Unbound from the lab: answers,
// the retry over TCP when BIND truncates, and the same question refused with the reason on workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ports } from '../../../lab/index.ts';
import { dnsFacts } from '../../../lab/servers/dns.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const p = ports.dns;
const bind = { host: '127.0.0.1', port: p.bind };
const unbound = { host: '127.0.0.1', port: p.unbound };
const node = useNodeHost();

test('UDP: BIND and Unbound answer over datagrams, with EDNS and DNSSEC', async () => {
  const r = await callNode(node, 'dns', 'query', { ...bind, transport: 'udp', name: dnsFacts.zone, type: 'MX' }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body.result;
  assert.equal(x.transport, 'udp');
  assert.equal(x.retriedOverTcp, false);
  assert.equal(x.flags.aa, true);
  assert.deepEqual(x.answers.map((a: any) => a.rdata).sort(), [...dnsFacts.records.MX.rdata].sort());
  assert.ok(r.body.transcript.entries.some((e: any) => e.dir === 'info' && /^UDP socket to 127\.0\.0\.1/.test(e.decode ?? '')));
  const v = await callNode(node, 'dns', 'query', { ...unbound, transport: 'udp', name: `www.${dnsFacts.zone}`, type: 'A', do: true });
  assert.equal(v.status, 200, JSON.stringify(v.body));
  assert.equal(v.body.result.flags.ad, true);
  assert.deepEqual(v.body.result.answers.filter((a: any) => a.type === 'A').map((a: any) => a.rdata), ['192.0.2.1']);
});

test('UDP: an answer too big for 512 octets comes back truncated and is asked again over TCP', async () => {
  const r = await callNode(node, 'dns', 'query', { ...bind, transport: 'udp', name: dnsFacts.bigTxt.name, type: 'TXT', edns: false }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body.result;
  assert.equal(x.retriedOverTcp, true);
  assert.equal(x.transport, 'tcp');
  assert.deepEqual(x.answers.map((a: any) => a.data.strings[0]).sort(), [...dnsFacts.bigTxt.strings].sort());
  const lines = r.body.transcript.entries.map((e: any) => e.decode ?? '');
  assert.ok(lines.some((l: string) => /response id \d+ NOERROR \[aa tc/.test(l)), 'the UDP answer had TC set');
  assert.ok(lines.some((l: string) => /again over TCP/.test(l)));
  // With a large enough EDNS buffer the same answer fits in one datagram.
  const big = await callNode(node, 'dns', 'query', { ...bind, transport: 'udp', name: dnsFacts.bigTxt.name, type: 'TXT', bufferSize: 4096 });
  assert.equal(big.body.result.retriedOverTcp, false);
  assert.equal(big.body.result.answers.length, dnsFacts.bigTxt.strings.length);
});

test('UDP: compare the same resolver over UDP, TCP and TLS on the Node host', async () => {
  const r = await callNode(node, 'dns', 'compare', { ...unbound, transport: 'udp', name: `mail.${dnsFacts.zone}`, type: 'AAAA', with: [`tcp://127.0.0.1:${p.unbound}`, `dot://127.0.0.1:${p.unboundDot}`] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.agree, true);
  assert.deepEqual(r.body.result.results.map((x: any) => x.server), [`127.0.0.1#${p.unbound}(udp)`, `127.0.0.1#${p.unbound}(tcp)`, `127.0.0.1#${p.unboundDot}(dot)`]);
  assert.deepEqual(r.body.result.results[0].rdata, ['AAAA 2001:db8::25']);
});

test('UDP on workerd: 501 with the reason and DNS alternatives', async () => {
  const r = await call('dns', 'query', { ...bind, transport: 'udp', name: dnsFacts.zone });
  assert.equal(r.status, 501);
  assert.equal(r.body.error.code, 'unsupported_runtime');
  assert.ok(r.body.error.detail.alternatives.some((a: string) => /DNS over TCP, DoT or DoH/.test(a)));
});
