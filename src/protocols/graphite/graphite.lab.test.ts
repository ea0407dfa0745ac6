import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { whisperFile } from '../../../lab/servers/foundation.ts';

test("graphite: a metric sent in plaintext lands in carbon's whisper storage", async () => {
  const metric = `portolan.test.m${Date.now()}`;
  const value = 42.5;
  // carbon-cache holds a datapoint only until its writer puts it on disk, which may happen before a query reaches
  // the cache port (the writer wakes on its own schedule). So each round sends a new datapoint and asks the cache
  // for it for a second; a round whose point was written out already is followed by another. What the query
  // returns must be exactly what was sent, and the file must hold it.
  let ts = Math.floor(Date.now() / 1000) - 10;
  let cached: unknown[] = [];
  for (let round = 0; round < 5 && cached.length === 0; round++) {
    ts += 1;
    const r = await call('graphite', 'send', { host: '127.0.0.1', port: ports.foundation.carbonPlaintext, metrics: [{ path: metric, value, timestamp: ts }] });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.result.lines, [`${metric} ${value} ${ts}`]);
    for (const until = Date.now() + 1000; cached.length === 0 && Date.now() < until; ) {
      const q = await call('graphite', 'query', { host: '127.0.0.1', port: ports.foundation.carbonCacheQuery, metric });
      assert.equal(q.status, 200);
      cached = q.body.result.datapoints;
    }
  }
  assert.deepEqual(cached, [{ timestamp: ts, value }]);
  // ...and from the whisper file carbon writes.
  let fromDisk = '';
  const file = whisperFile(metric);
  for (let i = 0; i < 50 && !fromDisk.includes(`${ts}\t${value}`); i++) {
    if (existsSync(file)) fromDisk = execFileSync('whisper-fetch', ['--from', String(ts - 5), file]).toString();
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.match(fromDisk, new RegExp(`^${ts}\\t${value}`, 'm'), `whisper-fetch output:\n${fromDisk}`);
});

test('graphite: a cache query for an unknown metric is an empty list', async () => {
  const q = await call('graphite', 'query', { host: '127.0.0.1', port: ports.foundation.carbonCacheQuery, metric: 'portolan.never.sent' });
  assert.equal(q.status, 200);
  assert.deepEqual(q.body.result.datapoints, []);
});
