import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

test("daytime: the line parses to the lab machine's clock", async () => {
  const r = await call('daytime', 'get', { host: '127.0.0.1', port: ports.foundation.daytime });
  assert.equal(r.status, 200);
  assert.notEqual(r.body.result.utc, null, `unparsed: ${r.body.result.text}`);
  assert.ok(Math.abs(Date.parse(r.body.result.utc) - Date.now()) < 5000);
  assert.ok(Math.abs(r.body.result.offsetMs) < 5000);
});
