import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const target = { host: '127.0.0.1', port: ports.foundation.echo };

test('echo: text comes back unchanged, with an RTT', async () => {
  const r = await call('echo', 'send', { ...target, data: 'Grüße, portolan ⚓' });
  assert.equal(r.status, 200);
  assert.equal(r.body.result.text, 'Grüße, portolan ⚓');
  assert.equal(r.body.result.matches, true);
  assert.equal(r.body.result.sent, Buffer.byteLength('Grüße, portolan ⚓'));
  assert.ok(r.body.result.rttMs >= 0);
});

test('echo: binary bytes (NUL, 0xff) and a 64 KiB payload survive byte for byte', async () => {
  const r = await call('echo', 'send', { ...target, hex: '00ff10fe7f80' });
  assert.equal(r.body.result.hex, '00ff10fe7f80');
  const big = Buffer.from(Uint8Array.from({ length: 65536 }, (_, i) => (i * 31) & 0xff)).toString('hex');
  const r2 = await call('echo', 'send', { ...target, hex: big });
  assert.equal(r2.status, 200);
  assert.equal(r2.body.result.received, 65536);
  assert.equal(r2.body.result.matches, true);
});

test('echo: the transcript shows both directions', async () => {
  const r = await call('echo', 'send', { ...target, data: 'ping' }, { transcript: true });
  const dirs = r.body.transcript.entries.filter((e: { dir: string }) => e.dir !== 'info');
  assert.deepEqual(dirs.map((e: { dir: string; hex: string }) => [e.dir, e.hex]), [['out', '70696e67'], ['in', '70696e67']]);
});
