// `npm start`: build the UI (when its sources changed), then serve UI + API on workerd (wrangler dev) at
// http://localhost:8787. Local development allows loopback targets, resolves names with this machine's
// resolver and has no rate limits; PORTOLAN_POLICY=deployment serves with the deployment policy.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startSystemDoh } from '../src/hosts/node/system-doh.ts';

/** The newest modification time under `path` (a file or a directory tree). */
function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

// Rebuilding web/dist under a running `wrangler dev` restarts its Worker: build only when needed.
const built = 'web/dist/index.html';
const sources = ['web/src', 'web/public', 'web/index.html', 'web/vite.config.ts'].filter(existsSync);
if (!existsSync(built) || Math.max(...sources.map(newest)) > statSync(built).mtimeMs) {
  const build = spawnSync('npm', ['run', 'build:web'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const deployment = process.env.PORTOLAN_POLICY === 'deployment';
const port = process.env.PORT ?? '8787';
const args = ['wrangler', 'dev', '--ip', process.env.HOST ?? '127.0.0.1', '--port', port, '--show-interactive-dev-session=false'];
if (!deployment) {
  // Names resolve as this machine resolves them (/etc/hosts, its DNS), through a DoH endpoint on loopback.
  const resolver = await startSystemDoh();
  for (const v of ['ALLOW_TARGETS:loopback', 'RATE_LIMIT_CLIENT:off', 'RATE_LIMIT_TARGET:off', `RESOLVER_URL:${resolver.url}`]) args.push('--var', v);
}
console.log(`Portolan on http://localhost:${port} (${deployment ? 'deployment policy: public targets only' : 'development policy: loopback allowed'})`);
// Its own process group, so that stopping `npm start` stops wrangler and workerd with it. No fetch of
// the request.cf sample from the internet: the Worker does not read it, and offline it prints a stack trace.
const child = spawn('npx', args, {
  stdio: 'inherit',
  detached: true,
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
});
const stop = (signal: NodeJS.Signals) => {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
// Whoever started us may be stopped without passing the signal on (npm, a shell): then stop too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop('SIGTERM');
}, 500).unref();
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
