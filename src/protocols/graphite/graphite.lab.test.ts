import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { whisperFile } from '../../../lab/servers/foundation.ts';

test("graphite: a metric sent in plaintext lands in carbon's whisper storage", async () => {
  const metric = `portolan.test.m${Date.now()}`;
  const ts = Math.floor(Date.now() / 1000) - 2;
  const value = 42.5;
  const r = await call('graphite', 'send', { host: '127.0.0.1', port: ports.foundation.carbonPlaintext, metrics: [{ path: metric, value, timestamp: ts }] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.result.lines, [`${metric} ${value} ${ts}`]);

  // Read back through the API from carbon-cache's query port, before carbon flushes it to disk (its writer
  // sleeps a second once the cache is empty). The send is done once the line is written to the socket, so
  // carbon's receiver may not have read it yet: ask again until the cache holds it.
  let q = await call('graphite', 'query', { host: '127.0.0.1', port: ports.foundation.carbonCacheQuery, metric });
  for (let i = 0; i < 50 && q.status === 200 && q.body.result.datapoints.length === 0; i++) {
    await new Promise((res) => setTimeout(res, 10));
    q = await call('graphite', 'query', { host: '127.0.0.1', port: ports.foundation.carbonCacheQuery, metric });
  }
  assert.equal(q.status, 200);
  assert.deepEqual(q.body.result.datapoints, [{ timestamp: ts, value }]);
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
