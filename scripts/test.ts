// `npm test`: every layer. `npx tsx scripts/test.ts FILE...` runs only those files (lab and workerd still start). Static checks, then the lab and two Workers runtimes
// (local-development policy and deployment policy), then one node:test run over
// unit, codec, fuzz, lab and API contract tests.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEPLOYMENT_TOKEN, TUNNEL_IDLE_MS, TUNNEL_QUOTA_BYTES, startWorker, type RunningWorker } from '../test/harness.ts';

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  return r.status ?? 1;
}

function step(name: string, cmd: string, args: string[]): void {
  console.log(`\n== ${name}`);
  const code = run(cmd, args);
  if (code !== 0) {
    console.error(`${name} failed (exit ${code})`);
    process.exit(code);
  }
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
  step('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json']);
  step('typecheck (workers host)', 'npx', ['tsc', '-p', 'tsconfig.workers.json']);
  step('typecheck (web UI)', 'npx', ['tsc', '-p', 'web/tsconfig.json']);
  step('lint', 'npx', ['eslint', '--max-warnings', '0', '.']);
  step('docs are current', 'npx', ['tsx', 'scripts/docs.ts', '--check']);
  step('capabilities doc is current', 'npx', ['tsx', 'scripts/capabilities.ts', '--check']);
  step('build the UI', 'npm', ['run', 'build:web']);
} else if (!existsSync('web/dist/index.html')) {
  // The Worker serves web/dist: a targeted run builds it once.
  step('build the UI', 'npm', ['run', 'build:web']);
}

// LAB_AREAS=databases,ssh limits the lab to some areas (for a targeted run).
const areas = (process.env.LAB_AREAS ?? '').split(',').filter(Boolean);
step('lab', 'npx', ['tsx', 'lab/lab.ts', 'start', ...areas]);
const { caPath, ports } = await import('../lab/index.ts');

const workers: RunningWorker[] = [];
let code = 1;
try {
  console.log('\n== starting workerd (development policy, deployment policy)');
  // Hostnames are checked through the lab's DNS-over-HTTPS server, so no test asks the internet.
  const RESOLVER_URL = `https://127.0.0.1:${ports.dns.doh}/dns-query`;
  const started = await Promise.allSettled([
    startWorker({ vars: { ALLOW_TARGETS: 'loopback', RATE_LIMIT_CLIENT: 'off', RATE_LIMIT_TARGET: 'off', TUNNEL_IDLE_MS: String(TUNNEL_IDLE_MS), TUNNEL_QUOTA_BYTES: String(TUNNEL_QUOTA_BYTES), RESOLVER_URL }, caPath }),
    startWorker({ vars: { RATE_LIMIT_CLIENT: '30/60', RATE_LIMIT_TARGET: 'off', ACCESS_TOKEN: DEPLOYMENT_TOKEN, CODE_EXECUTION: 'off', RESOLVER_URL }, caPath }),
  ]);
  for (const s of started) if (s.status === 'fulfilled') workers.push(s.value);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  const [dev, deployment] = workers;
  console.log(`   ${dev.url} (loopback allowed), ${deployment.url} (deployment policy)`);
  console.log(`\n== tests (${files.length} files)`);
  code = run(process.execPath, ['--experimental-websocket', '--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
    ...process.env,
    PORTOLAN_URL: dev.url,
    PORTOLAN_DEPLOY_URL: deployment.url,
  });
} finally {
  await Promise.all(workers.map((w) => w.stop()));
}
process.exit(code);
