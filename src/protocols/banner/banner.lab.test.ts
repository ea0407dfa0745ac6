// Banner grabs against the lab's dict, echo, time and silent servers, through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const lab = ports.foundation;

test('banner: a server that speaks first, one that needs a probe, and a silent one', async () => {
  const dict = await call('banner', 'grab', { host: '127.0.0.1', port: lab.dict });
  assert.match(dict.body.result.text, /^220 /);
  assert.equal(dict.body.result.guess.protocol, 'dict');
  const echo = await call('banner', 'grab', { host: '127.0.0.1', port: lab.echo, probe: 'HELLO\\r\\n', waitMs: 1000 });
  assert.equal(echo.body.result.text, 'HELLO\r\n');
  const silent = await call('banner', 'grab', { host: '127.0.0.1', port: lab.silent, waitMs: 300 });
  assert.equal(silent.status, 200);
  assert.equal(silent.body.result.silent, true);
  const time = await call('banner', 'grab', { host: '127.0.0.1', port: lab.time, waitMs: 1000 });
  assert.equal(time.body.result.bytes, 4);
  assert.equal(time.body.result.guess.protocol, 'time');
});
