// Pipelined Redis commands per second through the API on workerd, beside redis-benchmark on the same lab
// server in the same run, rounds interleaved. Run: npx tsx bench/databases-kv.ts [rounds]
// (BENCH_TINY=1: pipelines of 1,000, one round)
import { spawnSync } from 'node:child_process';
import { ensureLab, ports, caPath } from '../lab/index.ts';
import { kvFacts } from '../lab/servers/databases-kv.ts';
import { finish, machine, median, pairedRatio, report, say, tiny } from './lib/report.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd } from './lib/workerd.ts';

/** Commands per API request: one pipeline, one connection (the request body stays under the API's 1 MiB limit). */
const PIPELINE = tiny ? 1_000 : 10_000;
const rounds = Number(process.argv[2] ?? (tiny ? 1 : 5));
const port = ports['databases-kv'].redis;
const password = kvFacts.redis.password;

/** redis-benchmark's requests per second for SET, from its CSV output. */
function redisBenchmark(args: string[]): number {
  const r = spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-a', password, '-t', 'set', '-d', '16', '-r', '100000', '--csv', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`redis-benchmark failed: ${r.stderr.toString()}`);
  const row = r.stdout
    .toString()
    .split('\n')
    .find((l) => l.startsWith('"SET"'));
  if (!row) throw new Error(`redis-benchmark printed no SET row:\n${r.stdout.toString()}`);
  return Math.round(Number(JSON.parse(`[${row}]`)[1]));
}

interface ApiRun {
  /** Whole HTTP request: JSON in, connect, AUTH, the pipeline, JSON out. */
  requestMs: number;
  /** The pipeline on the wire, as the operation measured it (first byte written to last reply read). */
  wireMs: number;
}

async function apiPipeline(url: string, round: number): Promise<ApiRun> {
  const value = 'x'.repeat(16);
  const commands = Array.from({ length: PIPELINE }, (_, i) => ['SET', `bench:${round}:${i % 100_000}`, value]);
  const t0 = performance.now();
  const res = await fetch(`${url}/api/redis/pipeline`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ host: '127.0.0.1', port, password, commands, timeoutMs: 60_000 }),
  });
  const text = await res.text();
  const requestMs = performance.now() - t0;
  if (!text.startsWith('{')) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { ok: boolean; result?: { count: number; errors: number; elapsedMs: number; replies: { text?: string }[] }; error?: unknown };
  if (!body.ok || !body.result) throw new Error(JSON.stringify(body.error));
  if (body.result.count !== PIPELINE || body.result.errors !== 0 || body.result.replies.some((r) => r.text !== 'OK')) throw new Error(`pipeline answered ${body.result.count} replies, ${body.result.errors} errors`);
  return { requestMs, wireMs: body.result.elapsedMs };
}

say(`machine: ${await machine()}`);
await ensureLab(['databases-kv']);
const bundle = buildBundle();
const worker = await startWorkerd(bundle, { vars: BENCH_VARS, caPath });
try {
  // Warm-up: the first request compiles the Worker's code paths.
  await apiPipeline(worker.url, 0);
  const api: ApiRun[] = [];
  const single: number[] = [];
  const defaults: number[] = [];
  for (let i = 1; i <= rounds; i++) {
    api.push(await apiPipeline(worker.url, i));
    // One client, the same pipeline depth as one API request: the closest like-for-like baseline.
    single.push(redisBenchmark(['-c', '1', '-P', String(PIPELINE), '-n', String(PIPELINE * 10)]));
    // redis-benchmark's usual shape: 50 clients, pipelines of 16.
    defaults.push(redisBenchmark(['-c', '50', '-P', '16', '-n', String(tiny ? 20_000 : 200_000)]));
  }
  const perSecond = (ms: number) => PIPELINE / (ms / 1000);
  const request = api.map((a) => perSecond(a.requestMs));
  const wire = api.map((a) => perSecond(a.wireMs));
  say(`Pipelined SET (16-byte values), ${PIPELINE.toLocaleString('en')} commands per API request, median of ${rounds} rounds`);
  const single1 = { name: `redis-benchmark -c 1 -P ${PIPELINE}`, value: median(single) };
  report({ name: 'API redis pipeline (whole HTTP request)', value: median(request), unit: 'commands/s', baseline: single1, ratio: pairedRatio(request, single) });
  report({ name: 'API redis pipeline (on the wire inside workerd)', value: median(wire), unit: 'commands/s', baseline: single1, ratio: pairedRatio(wire, single) });
  report({ name: 'API redis pipeline (whole HTTP request) vs 50 clients', value: median(request), unit: 'commands/s', baseline: { name: 'redis-benchmark -c 50 -P 16', value: median(defaults) }, ratio: pairedRatio(request, defaults) });
} finally {
  await worker.stop();
  removeBundle(bundle);
}
finish();
