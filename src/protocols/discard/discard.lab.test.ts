import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

test('discard: 1 MiB is accepted and nothing comes back', async () => {
  const r = await call('discard', 'send', { host: '127.0.0.1', port: ports.foundation.discard, size: 1024 * 1024 });
  assert.equal(r.status, 200);
  assert.equal(r.body.result.sent, 1024 * 1024);
  assert.equal(r.body.result.silent, true);
  assert.ok(r.body.result.throughputMbps === null || r.body.result.throughputMbps > 0);
});

test('discard: a server that answers is a protocol error (the echo port is not a discard server)', async () => {
  const r = await call('discard', 'send', { host: '127.0.0.1', port: ports.foundation.echo, data: 'x' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'protocol_error');
  assert.match(r.body.error.message, /must not answer/);
});
