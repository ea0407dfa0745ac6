import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

test('qotd: a fortune within the RFC 865 limit', async () => {
  const r = await call('qotd', 'get', { host: '127.0.0.1', port: ports.foundation.qotd });
  assert.equal(r.status, 200);
  assert.ok(r.body.result.quote.trim().length > 0);
  assert.equal(r.body.result.characters, [...r.body.result.quote].length);
  assert.equal(r.body.result.withinRfcLimit, r.body.result.characters <= 512);
  assert.equal(r.body.result.truncated, false);
});
