// Every benchmark runs in its tiny configuration, so none rots. Figures are not asserted here:
// performance goals are judged by `npm run bench`, not by timed tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const TINY_READY = ['foundation'];

for (const name of TINY_READY) {
  test(`bench/${name}.ts runs in its tiny configuration and prints its figures`, () => {
    const r = spawnSync(process.execPath, ['--experimental-websocket', '--import', 'tsx', `bench/${name}.ts`], {
      env: { ...process.env, BENCH_TINY: '1' },
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\d+ figures, \d+ goals not met/);
    assert.match(r.stdout, /ratio [\d.]+ vs direct TCP/);
  });
}
