// Port checks against the lab: open (echo, dict), closed (nothing listens) and filtered (blackhole) ports, through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const lab = ports.foundation;

test('port check: open, closed and filtered ports', async () => {
  const r = await call('ports', 'check', { host: '127.0.0.1', ports: `${lab.echo},${lab.closedPort},${lab.blackhole},${lab.dict}`, probeTimeoutMs: 500 });
  const states = Object.fromEntries(r.body.result.results.map((x: { port: number; state: string }) => [x.port, x.state]));
  assert.deepEqual(states, { [lab.closedPort]: 'closed', [lab.blackhole]: 'filtered', [lab.echo]: 'open', [lab.dict]: 'open' });
  assert.deepEqual(r.body.result.open, [lab.echo, lab.dict]);
  const range = await call('ports', 'check', { host: '127.0.0.1', ports: `${lab.echo}-${lab.echo + 2}` });
  assert.equal(range.body.result.results.length, 3);
  const tooMany = await call('ports', 'check', { host: '127.0.0.1', ports: '1-5000' });
  assert.equal(tooMany.status, 400);
  assert.match(tooMany.body.error.message, /ports: at most 1024/);
});
