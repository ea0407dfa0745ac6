// Every benchmark runs in its tiny configuration (BENCH_TINY=1), so none rots. Figures are not asserted
// here: performance goals are judged by `npm run bench`, not by timed tests. A benchmark joins this list
// once it honours BENCH_TINY (under a minute), exits 0 when it ran, and ends with its figure count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const TINY_READY = ['foundation', 'databases-sql', 'databases-kv', 'dns', 'ssh', 'http', 'desktop', 'files', 'shares', 'nfs', 'tls'];

for (const name of TINY_READY) {
  test(`bench/${name}.ts runs in its tiny configuration and prints its figures`, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`], {
      env: { ...process.env, BENCH_TINY: '1' },
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
    assert.match(r.stdout, /\d+ figures, \d+ goals not met/);
    // Every figure line carries a number; at least one is set beside a baseline from the same run.
    assert.match(r.stdout, /: [\d.]+ \S+.*ratio [\d.]+ vs /);
    if (name === 'foundation') {
      assert.match(r.stdout, /ratio [\d.]+ vs direct TCP/);
      assert.match(r.stdout, /download throughput, tunnel on workerd.*ratio [\d.]+ vs direct TCP/);
      assert.match(r.stdout, /isolate heap per idle tunnel/);
    }
  });
}
