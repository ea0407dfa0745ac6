// rpcbind from the lab (in its own network namespace, reached through a loopback forwarder), through workerd's HTTP API.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { portmapperFacts as P } from '../../../lab/servers/news.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const host = '127.0.0.1';
const port = ports.news.portmapper;
const node = useNodeHost();

before(() => ensureLab(['news']));

async function ok(op: string, input: Record<string, unknown>) {
  const { status, body } = await call('portmapper', op, { host, port, ...input });
  assert.equal(status, 200, `portmapper ${op}: ${JSON.stringify(body.error)}`);
  return body.result;
}

test('DUMP in versions 4, 3 and 2: rpcbind itself and the registered programs, with names', async () => {
  const v4 = await ok('dump', {});
  assert.equal(v4.version, 4);
  const self = v4.entries.filter((e: any) => e.program === 100000);
  assert.ok(self.some((e: any) => e.netid === 'tcp' && e.address === '0.0.0.0.0.111' && e.port === 111 && e.version === 4 && e.owner === 'superuser'));
  assert.ok(self.some((e: any) => e.netid === 'local' && e.address === '/run/rpcbind.sock'));
  assert.equal(self[0].name, 'portmapper');
  for (const m of P.registered) {
    assert.ok(v4.entries.some((e: any) => e.program === m.program && e.version === m.version && e.netid === m.protocol && e.port === m.port), JSON.stringify(m));
  }
  assert.equal(v4.entries.find((e: any) => e.program === 100005).name, 'mountd');

  const v3 = await ok('dump', { version: 3 });
  assert.equal(v3.version, 3);
  assert.deepEqual(v3.entries.length, v4.entries.length);

  const v2 = await ok('dump', { version: 2 });
  assert.equal(v2.version, 2);
  const rows = v2.entries.map((e: any) => `${e.program} ${e.version} ${e.netid} ${e.port}`);
  for (const m of P.registered) assert.ok(rows.includes(`${m.program} ${m.version} ${m.protocol} ${m.port}`), rows.join('\n'));
  assert.ok(rows.includes('100000 2 udp 111'));
  assert.ok(v2.entries.every((e: any) => e.address === null));
});

test('GETPORT and GETADDR: registered and unregistered programs, by number and by name', async () => {
  const m = P.registered[0];
  const gp = await ok('getport', { program: 'mountd', version: m.version, protocol: 'tcp' });
  assert.deepEqual([gp.program, gp.port, gp.registered], [100005, m.port, true]);
  const udp = await ok('getport', { program: m.program, version: m.version, protocol: 'udp' });
  assert.equal(udp.port, m.port);
  const none = await ok('getport', { program: 'nfs', version: 3 });
  assert.deepEqual([none.port, none.registered], [0, false]);

  const ga = await ok('getaddr', { program: 100024, version: 1, netid: 'tcp' });
  assert.equal(ga.name, 'status');
  assert.equal(ga.port, 32765);
  assert.match(ga.address, /\.127\.253$/);
  const v3 = await ok('getaddr', { program: 100000, version: 4, netid: 'tcp', rpcbindVersion: 3 });
  assert.equal(v3.port, 111);
  const missing = await ok('getaddr', { program: 100003, version: 3, netid: 'tcp' });
  assert.deepEqual([missing.address, missing.registered], ['', false]);
  const bad = await call('portmapper', 'getport', { host, port, program: 'nosuchprog', version: 1 });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body.error), /program/);
});

test('NULL ping: answered, PROG_MISMATCH with the supported versions, PROG_UNAVAIL', async () => {
  const pong = await ok('ping', { program: 'portmapper', version: 2 });
  assert.deepEqual([pong.answered, pong.status], [true, 'SUCCESS']);
  const v4 = await ok('ping', { program: 100000, version: 4 });
  assert.equal(v4.answered, true);
  const { status, body } = await call('portmapper', 'ping', { host, port, program: 100000, version: 9 });
  assert.equal(status, 200);
  assert.deepEqual([body.result.answered, body.result.status, body.result.supportedVersions], [false, 'PROG_MISMATCH', { low: 2, high: 4 }]);
  const other = await ok('ping', { program: 100003, version: 3 });
  assert.deepEqual([other.answered, other.status], [false, 'PROG_UNAVAIL']);
});

test('over UDP on the Node host: DUMP, GETPORT, GETADDR and ping', async () => {
  const d = await callNode(node, 'portmapper', 'dumpUdp', { host, port, version: 2 });
  assert.equal(d.status, 200, JSON.stringify(d.body.error));
  const rows = d.body.result.entries.map((e: any) => `${e.program} ${e.version} ${e.netid} ${e.port}`);
  for (const m of P.registered) assert.ok(rows.includes(`${m.program} ${m.version} ${m.protocol} ${m.port}`), rows.join('\n'));
  const v4 = await callNode(node, 'portmapper', 'dumpUdp', { host, port });
  assert.equal(v4.body.result.version, 4);
  const g = await callNode(node, 'portmapper', 'getportUdp', { host, port, program: 'status', version: 1, protocol: 'tcp' });
  assert.equal(g.body.result.port, 32765);
  const a = await callNode(node, 'portmapper', 'getaddrUdp', { host, port, program: 100005, version: 3, netid: 'udp' });
  assert.deepEqual([a.body.result.port, a.body.result.name], [20048, 'mountd']);
  const pong = await callNode(node, 'portmapper', 'pingUdp', { host, port, program: 100000, version: 3 });
  assert.deepEqual([pong.body.result.answered, pong.body.result.status], [true, 'SUCCESS']);
  const mismatch = await callNode(node, 'portmapper', 'pingUdp', { host, port, program: 100000, version: 1 });
  assert.deepEqual(mismatch.body.result.supportedVersions, { low: 2, high: 4 });
  const refused = await call('portmapper', 'dumpUdp', { host, port });
  assert.equal(refused.status, 501, 'workerd has no UDP');
});
