// TCP ping against the lab's echo server and its blackhole port (no SYN-ACK ever), through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const lab = ports.foundation;

test('ping: probes, loss and statistics as JSON', async () => {
  const r = await call('ping', 'tcp', { host: '127.0.0.1', port: lab.echo, count: 3, intervalMs: 0 });
  assert.equal(r.body.result.stats.sent, 3);
  assert.equal(r.body.result.stats.received, 3);
  assert.equal(r.body.result.stats.lossPercent, 0);
  assert.ok(r.body.result.stats.minMs <= r.body.result.stats.avgMs && r.body.result.stats.avgMs <= r.body.result.stats.maxMs);
  const lossy = await call('ping', 'tcp', { host: '127.0.0.1', port: lab.blackhole, count: 2, intervalMs: 0, probeTimeoutMs: 200 });
  assert.deepEqual(lossy.body.result.probes.map((p: { outcome: string }) => p.outcome), ['connect_timeout', 'connect_timeout']);
  assert.equal(lossy.body.result.stats.lossPercent, 100);
});
