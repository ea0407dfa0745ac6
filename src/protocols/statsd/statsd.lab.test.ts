// StatsD into collectd's statsd plugin through the Node host, each value read back from collectd's CSV files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ports } from '../../../lab/index.ts';
import { statsdValues } from '../../../lab/servers/node.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const target = { host: '127.0.0.1', port: ports.node.statsd };
const node = useNodeHost();

/** Polls collectd's CSV output until `ok` holds for the values written so far (collectd flushes every second). */
async function readBack(type: string, metric: string, ok: (values: number[]) => boolean): Promise<number[]> {
  const deadline = Date.now() + 8000;
  for (;;) {
    const values = statsdValues(type, metric);
    if (ok(values)) return values;
    if (Date.now() > deadline) throw new Error(`collectd wrote ${JSON.stringify(values)} for ${type}-${metric}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('statsd: a gauge, a counter, a timer and a set arrive in collectd with their values', async () => {
  const id = `portolan.lab${randomBytes(3).toString('hex')}`;
  const r = await callNode(node, 'statsd', 'send', {
    ...target,
    metrics: [
      { name: `${id}.queue`, value: 42, type: 'g' },
      { name: `${id}.hits`, value: 5, type: 'c' },
      { name: `${id}.hits`, value: 2, type: 'c', sampleRate: 0.5 },
      { name: `${id}.latency`, value: 120, type: 'ms' },
      { name: `${id}.users`, value: 'alice', type: 's' },
      { name: `${id}.users`, value: 'bob', type: 's' },
    ],
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.result.lines, [`${id}.queue:42|g`, `${id}.hits:5|c`, `${id}.hits:2|c|@0.5`, `${id}.latency:120|ms`, `${id}.users:alice|s`, `${id}.users:bob|s`]);
  assert.equal(r.body.result.datagrams, 1);
  assert.ok((await readBack('gauge', `${id}.queue`, (v) => v.length > 0)).includes(42));
  // 5 plus 2 sampled at 0.5 (counted as 4): collectd's derive for the counter reaches 9.
  assert.ok((await readBack('derive', `${id}.hits`, (v) => v.includes(9))).includes(9));
  // Timers are in seconds in collectd: 120 ms → 0.12.
  assert.ok((await readBack('latency', `${id}.latency-average`, (v) => v.some((x) => Math.abs(x - 0.12) < 1e-6))).length > 0);
  assert.ok((await readBack('objects', `${id}.users`, (v) => v.includes(2))).includes(2));
});

test('statsd: gauge deltas change the value collectd holds', async () => {
  const name = `portolan.lab${randomBytes(3).toString('hex')}.level`;
  await callNode(node, 'statsd', 'send', { ...target, metrics: [{ name, value: 10, type: 'g' }] });
  await readBack('gauge', name, (v) => v.includes(10));
  await callNode(node, 'statsd', 'send', { ...target, metrics: [{ name, value: 5, type: 'g', delta: true }, { name, value: -2, type: 'g', delta: true }] });
  await readBack('gauge', name, (v) => v.includes(13));
});

test('statsd: many metrics are split into datagrams under maxDatagram, all of them arriving', async () => {
  const id = `portolan.lab${randomBytes(3).toString('hex')}`;
  const metrics = Array.from({ length: 40 }, (_, i) => ({ name: `${id}.m${i}`, value: i + 1, type: 'g' }));
  const r = await callNode(node, 'statsd', 'send', { ...target, metrics, maxDatagram: 200 });
  assert.equal(r.status, 200);
  assert.ok(r.body.result.datagrams > 5);
  for (const i of [0, 17, 39]) assert.ok((await readBack('gauge', `${id}.m${i}`, (v) => v.length > 0)).includes(i + 1));
});

test('statsd: a bad metric is invalid input naming it; workerd refuses with the reason', async () => {
  const bad = await callNode(node, 'statsd', 'send', { ...target, metrics: [{ name: 'ok', value: 1 }, { name: 'no:colons', value: 1 }] });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /metrics\.1: metric name "no:colons"/);
  const w = await call('statsd', 'send', { ...target, metrics: [{ name: 'x', value: 1 }] });
  assert.equal(w.status, 501);
  assert.deepEqual(w.body.error.detail.missing, ['udp']);
});
