// The runner answers at its deadline whatever the operation and its connections do, on both hosts:
// Node (this process) and workerd (the same code bundled into a Worker, run by Miniflare).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { CLOSE_GRACE_MS } from '../src/core/runner.ts';
import { runDeadlineScenario, type ScenarioResult } from './deadline-scenario.ts';

const TIMEOUT_MS = 300;
/** The answer must come by the deadline plus the close grace; this much more is scheduling slack. */
const SLACK_MS = 250;

function check(results: ScenarioResult[]): void {
  assert.deepEqual(results.map((r) => r.operation), ['hang', 'hangSession']);
  for (const r of results) {
    assert.equal(r.code, 'io_timeout', `${r.operation}: ${JSON.stringify(r)}`);
    assert.equal(r.closesStarted, 1, `${r.operation}: the connection was not closed`);
    assert.ok(r.elapsedMs >= TIMEOUT_MS - 5, `${r.operation}: answered before its deadline (${r.elapsedMs} ms)`);
    assert.ok(r.elapsedMs <= TIMEOUT_MS + CLOSE_GRACE_MS + SLACK_MS, `${r.operation}: answered after ${r.elapsedMs} ms`);
  }
}

test('deadline guarantee on Node: a never-settling operation and close() are answered at the deadline', { timeout: 10_000 }, async () => {
  check(await runDeadlineScenario(TIMEOUT_MS));
});

test('deadline guarantee in workerd: the same scenario inside a Worker', { timeout: 30_000 }, async () => {
  const bundle = await build({
    entryPoints: [new URL('./workers/deadline.worker.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'silent',
  });
  const mf = new Miniflare({ modules: true, script: bundle.outputFiles[0].text, compatibilityDate: '2026-04-20' });
  try {
    const res = await mf.dispatchFetch(`http://worker/?timeoutMs=${TIMEOUT_MS}`);
    check((await res.json()) as ScenarioResult[]);
  } finally {
    await mf.dispose();
  }
});
