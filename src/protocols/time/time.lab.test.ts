import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { EPOCH_OFFSET } from './codec.ts';

test('time: 32-bit seconds since 1900 match the clock', async () => {
  const r = await call('time', 'get', { host: '127.0.0.1', port: ports.foundation.time });
  assert.equal(r.status, 200);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(r.body.result.seconds1900 - EPOCH_OFFSET - now) <= 3);
  assert.ok(Math.abs(Date.parse(r.body.result.utc) - Date.now()) < 4000);
});
