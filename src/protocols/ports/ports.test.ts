import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidInput } from '../../core/errors.ts';
import { parsePorts } from './index.ts';
import { formatPing, summarize } from '../ping/stats.ts';

test('port lists and ranges', () => {
  assert.deepEqual(parsePorts('80, 22,8000-8002,22'), [22, 80, 8000, 8001, 8002]);
  assert.deepEqual(parsePorts([443, 80]), [80, 443]);
  assert.throws(() => parsePorts('0'), InvalidInput);
  assert.throws(() => parsePorts('10-5'), /backwards/);
  assert.throws(() => parsePorts('1-2000'), /at most 1024/);
  assert.throws(() => parsePorts('http'), /not a port or a range/);
});

test('ping statistics: population stddev and loss, text like ping(8)', () => {
  const s = summarize([1, 2, 3, null]);
  assert.deepEqual(s, { sent: 4, received: 3, lossPercent: 25, minMs: 1, avgMs: 2, maxMs: 3, stddevMs: 0.816 });
  assert.deepEqual(summarize([null]), { sent: 1, received: 0, lossPercent: 100, minMs: null, avgMs: null, maxMs: null, stddevMs: null });
  const text = formatPing('h:1', [{ seq: 1, rttMs: 1, outcome: 'ok' }, { seq: 2, rttMs: null, outcome: 'refused' }], summarize([1, null]));
  assert.match(text, /^PING h:1 \(TCP connect\)\nconnected to h:1: seq=1 time=1\.000 ms\nh:1: seq=2 refused\n\n--- h:1 tcp ping statistics ---\n2 probes transmitted, 1 connected, 50% loss\n/);
});
