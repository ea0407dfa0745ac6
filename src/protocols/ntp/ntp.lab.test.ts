// NTP against chrony through the Node host; the same query through workerd is refused with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ports } from '../../../lab/index.ts';
import { nodeFacts } from '../../../lab/servers/node.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const target = { host: '127.0.0.1', port: ports.node.ntp };
const node = useNodeHost();

test('ntp: chrony answers with its stratum, reference ID and leap; offset ≈ 0 on the same clock', async () => {
  const before = Date.now();
  const r = await callNode(node, 'ntp', 'query', target);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const x = r.body.result;
  assert.equal(x.stratum, nodeFacts.ntp.stratum);
  assert.equal(x.referenceId, nodeFacts.ntp.referenceId);
  assert.equal(x.referenceIdHex, '7f7f0101');
  assert.deepEqual(x.leap, { code: 0, meaning: 'no warning' });
  assert.equal(x.synchronized, true);
  assert.equal(x.mode, 'server');
  assert.equal(x.version, 4);
  // chrony serves this machine's own clock: the offset is the measurement noise only.
  assert.ok(Math.abs(x.offset) < 0.05, `offset ${x.offset}`);
  assert.ok(x.delay >= 0 && x.delay < 0.1, `delay ${x.delay}`);
  assert.ok(Math.abs(Date.parse(x.serverTime) - before) < 5000, x.serverTime);
  assert.ok(x.precision > 0 && x.precision < 1);
});

test('ntp: several samples, the reported one has the smallest delay', async () => {
  const r = await callNode(node, 'ntp', 'query', { ...target, samples: 4, version: 3 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { samples, delay } = r.body.result;
  assert.equal(samples.length, 4);
  assert.equal(delay, Math.min(...samples.map((s: { delay: number }) => s.delay)));
  assert.equal(r.body.result.version, 3, 'chrony answers in the version it was asked in');
});

test('ntp: a port where nothing answers is io_timeout after the declared retries, each shown in the transcript', async () => {
  const r = await callNode(node, 'ntp', 'query', { host: '127.0.0.1', port: ports.foundation.closedPort, retries: 2, waitMs: 200 }, { transcript: true });
  assert.equal(r.status, 504);
  assert.equal(r.body.error.code, 'io_timeout');
  assert.match(r.body.error.message, /no NTP reply from 127\.0\.0\.1:10001 after 3 tries \(2 retries\), 200 ms each/);
  assert.deepEqual(r.body.error.detail, { tries: 3, retries: 2, waitMs: 200 });
  const sent = r.body.transcript.entries.filter((e: { dir: string }) => e.dir === 'out').map((e: { decode: string }) => e.decode);
  assert.deepEqual(sent, ['NTPv4 client request', 'NTPv4 client request (retransmission 1 of 2)', 'NTPv4 client request (retransmission 2 of 2)']);
});

test('ntp: on workerd the query is refused — 501, UDP missing, the reason and the Node host as the alternative', async () => {
  const r = await call('ntp', 'query', target);
  assert.equal(r.status, 501);
  assert.equal(r.body.error.code, 'unsupported_runtime');
  assert.deepEqual(r.body.error.detail.missing, ['udp']);
  assert.match(r.body.error.detail.reasons[0], /no datagram sockets/);
  assert.ok(r.body.error.detail.alternatives.some((a: string) => /portolan serve/.test(a)));
});
