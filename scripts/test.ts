// `npm test`: every layer. `npx tsx scripts/test.ts FILE...` runs only those files (lab and workerd still start). Static checks, then the lab and two Workers runtimes
// (local-development policy and deployment policy), then one node:test run over
// unit, codec, fuzz, lab and API contract tests.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildBundle, removeBundle, type Bundle } from '../bench/lib/workerd.ts';
import { DEPLOYMENT_TOKEN, TUNNEL_IDLE_MS, TUNNEL_QUOTA_BYTES, startTestWorker, workerLogDefects, type ServedWorker } from '../test/harness.ts';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  return r.status ?? 1;
}

/** `run` without blocking: the Workers' runtime is served from this process (Miniflare) while tests run. */
function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env });
    child.once('error', () => resolve(1));
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/** How long each phase took, printed at the end (the CI budget is watched from these). */
const phases: [string, number][] = [];
async function timed<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    phases.push([name, (performance.now() - t0) / 1000]);
  }
}

function step(name: string, cmd: string, args: string[]): Promise<void> {
  return timed(name, () => {
    console.log(`\n== ${name}`);
    const code = run(cmd, args);
    if (code !== 0) {
      console.error(`${name} failed (exit ${code})`);
      console.log(`\n== phase times: ${phases.map(([name, seconds]) => `${name} ${seconds.toFixed(0)} s`).join(', ')}`);
process.exit(code);
    }
  });
}

const only = process.argv.slice(2);
function testFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : testFiles(path);
    return e.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = only.length > 0 ? only : ['src', 'test', 'lab', 'bench', 'cli', 'web'].flatMap(testFiles).sort();

if (only.length === 0) {
  await step('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json']);
  await step('typecheck (workers host)', 'npx', ['tsc', '-p', 'tsconfig.workers.json']);
  await step('typecheck (web UI)', 'npx', ['tsc', '-p', 'web/tsconfig.json']);
  await step('lint', 'npx', ['eslint', '--max-warnings', '0', '.']);
  await step('docs are current', 'npx', ['tsx', 'scripts/docs.ts', '--check']);
  await step('capabilities doc is current', 'npx', ['tsx', 'scripts/capabilities.ts', '--check']);
  await step('build the UI', 'npm', ['run', 'build:web']);
} else if (!existsSync('web/dist/index.html')) {
  // The Worker serves web/dist: a targeted run builds it once.
  await step('build the UI', 'npm', ['run', 'build:web']);
}

// LAB_AREAS=databases,ssh limits the lab to some areas (for a targeted run).
const areas = (process.env.LAB_AREAS ?? '').split(',').filter(Boolean);
await step('lab', 'npx', ['tsx', 'lab/lab.ts', 'start', ...areas]);
const { caPath, ports } = await import('../lab/index.ts');

const workers: ServedWorker[] = [];
let bundle: Bundle | undefined;
let code = 1;
try {
  console.log('\n== starting workerd (development policy, deployment policy)');
  // Hostnames are checked through the lab's DNS-over-HTTPS server, so no test asks the internet.
  const RESOLVER_URL = `https://127.0.0.1:${ports.dns.doh}/dns-query`;
  const started = await timed('workerd', () => {
    // The bundle `wrangler deploy` would upload, served as the tests' two Workers.
    const b = (bundle = buildBundle());
    return Promise.allSettled([
      startTestWorker(b, { vars: { ALLOW_TARGETS: 'loopback', RATE_LIMIT_CLIENT: 'off', RATE_LIMIT_TARGET: 'off', TUNNEL_IDLE_MS: String(TUNNEL_IDLE_MS), TUNNEL_QUOTA_BYTES: String(TUNNEL_QUOTA_BYTES), RESOLVER_URL }, caPath }),
      startTestWorker(b, { vars: { RATE_LIMIT_CLIENT: '30/60', RATE_LIMIT_TARGET: 'off', ACCESS_TOKEN: DEPLOYMENT_TOKEN, CODE_EXECUTION: 'off', RESOLVER_URL }, caPath }),
    ]);
  });
  for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  const [dev, deployment] = workers;
  console.log(`   ${dev.url} (loopback allowed), ${deployment.url} (deployment policy)`);
  console.log(`\n== tests (${files.length} files)`);
  // Run after the others, one at a time: files that stream hundreds of MiB through the Worker (SMB and NFS
  // 256 MiB each way), which would take a core from every test beside them for minutes, and identify's scan of
  // every lab port (its probes reach servers that serve one client at a time: with the scan beside it, a ZMTP
  // test's request to the lab's libzmq REP socket once waited past its deadline).
  const bulk = files.filter((f) => /(^|\/)(files|smb|nfs|identify)\.lab\.test\.ts$/.test(f));
  const rest = files.filter((f) => !bulk.includes(f));
  const env = { ...process.env, PORTOLAN_URL: dev.url, PORTOLAN_DEPLOY_URL: deployment.url };
  // Each file's limit: 15 minutes, and 30 for the serial group (identify's scan of every lab port).
  const nodeTest = (concurrency: number, list: string[], minutes: number) =>
    runAsync(process.execPath, ['--experimental-websocket', '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${minutes * 60_000}`, ...list], env);
  code = await timed('tests', async () => {
    const first = rest.length > 0 ? await nodeTest(2, rest, 15) : 0;
    const second = bulk.length > 0 ? await nodeTest(1, bulk, 30) : 0;
    return first || second;
  });
} finally {
  await Promise.all(workers.map((w) => w.stop()));
  if (bundle) removeBundle(bundle);
}
// An unhandled rejection in the Worker, or the runtime restarting under the tests, fails the run even
// when every test passed.
for (const w of workers) {
  const defects = workerLogDefects(readFileSync(w.logPath, 'utf8'));
  if (defects.length === 0) continue;
  console.error(`\n== the Worker at ${w.url} logged ${defects.length} defect(s) (whole log: ${w.logPath}):\n${defects.slice(0, 20).join('\n')}`);
  code = code || 1;
}
console.log(`\n== phase times: ${phases.map(([name, seconds]) => `${name} ${seconds.toFixed(0)} s`).join(', ')}`);
process.exit(code);
