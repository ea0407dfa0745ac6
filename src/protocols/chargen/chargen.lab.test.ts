import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

test('chargen: 1 KiB and 1 MiB reads follow the RFC 864 pattern', async () => {
  for (const bytes of [1024, 1024 * 1024]) {
    const r = await call('chargen', 'read', { host: '127.0.0.1', port: ports.foundation.chargen, bytes });
    assert.equal(r.status, 200);
    assert.equal(r.body.result.received, bytes);
    assert.equal(r.body.result.patternValid, true, `pattern broken at line ${r.body.result.firstBadLine}`);
    assert.equal(r.body.result.lines, Math.floor(bytes / 74));
    if (bytes > 74 * 95) assert.equal(r.body.result.alphabetSize, 93, "xinetd's alphabet is '!' to '}'");
  }
});

test('chargen: xinetd restarts its cycle every 95 lines, and the check counts it', async () => {
  const r = await call('chargen', 'read', { host: '127.0.0.1', port: ports.foundation.chargen, bytes: 74 * 200 });
  assert.equal(r.body.result.patternValid, true);
  assert.equal(r.body.result.restarts, 2);
});

test('chargen: a server that stops early is `closed`, naming what arrived', async () => {
  // The daytime port sends one short line and closes.
  const r = await call('chargen', 'read', { host: '127.0.0.1', port: ports.foundation.daytime, bytes: 4096 });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'closed');
  assert.match(r.body.error.message, /of 4096 bytes received/);
});
