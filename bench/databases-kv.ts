// Pipelined Redis commands per second through the API on workerd, beside redis-benchmark on the same lab
// server in the same run. Run: npx tsx bench/databases-kv.ts [rounds]
import { spawnSync } from 'node:child_process';
import { ensureLab, ports, caPath } from '../lab/index.ts';
import { kvFacts } from '../lab/servers/databases-kv.ts';
import { startWorker } from '../test/harness.ts';

/** Commands per API request: one pipeline, one connection (the request body stays under the API's 1 MiB limit). */
const PIPELINE = 10_000;
const rounds = Number(process.argv[2] ?? 5);
const port = ports['databases-kv'].redis;
const password = kvFacts.redis.password;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

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

await ensureLab(['databases-kv']);
const worker = await startWorker({ vars: { ALLOW_TARGETS: 'loopback', RATE_LIMIT_CLIENT: 'off', RATE_LIMIT_TARGET: 'off' }, caPath });
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
    defaults.push(redisBenchmark(['-c', '50', '-P', '16', '-n', '200000']));
  }
  const perSecond = (ms: number) => Math.round(PIPELINE / (ms / 1000));
  const apiRequest = perSecond(median(api.map((a) => a.requestMs)));
  const apiWire = perSecond(median(api.map((a) => a.wireMs)));
  const fmt = (n: number) => n.toLocaleString('en').padStart(11);
  console.log(`Pipelined SET (16-byte values), median of ${rounds} rounds`);
  console.log(`API redis pipeline, ${PIPELINE} commands per request (whole HTTP request)  ${fmt(apiRequest)} commands/s`);
  console.log(`API redis pipeline, on the wire inside workerd                            ${fmt(apiWire)} commands/s`);
  console.log(`redis-benchmark -c 1 -P ${PIPELINE}                                              ${fmt(median(single))} commands/s`);
  console.log(`redis-benchmark -c 50 -P 16                                                 ${fmt(median(defaults))} commands/s`);
  console.log(`  ratio API request / redis-benchmark -c 1 -P ${PIPELINE}: ${(apiRequest / median(single)).toFixed(2)}`);
  console.log(`  ratio API wire / redis-benchmark -c 1 -P ${PIPELINE}:    ${(apiWire / median(single)).toFixed(2)}`);
  console.log(`  ratio API request / redis-benchmark -c 50 -P 16:     ${(apiRequest / median(defaults)).toFixed(2)}`);
} finally {
  await worker.stop();
}
