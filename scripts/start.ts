// `npm start`: build the UI, then serve UI + API on workerd (wrangler dev) at http://localhost:8787.
// Local development allows loopback targets; PORTOLAN_POLICY=deployment serves with the deployment policy.
import { spawn, spawnSync } from 'node:child_process';

const build = spawnSync('npm', ['run', 'build:web'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const deployment = process.env.PORTOLAN_POLICY === 'deployment';
const port = process.env.PORT ?? '8787';
const args = ['wrangler', 'dev', '--ip', process.env.HOST ?? '127.0.0.1', '--port', port];
if (!deployment) args.push('--var', 'ALLOW_TARGETS:loopback', '--var', 'RATE_LIMIT_CLIENT:off');
console.log(`Portolan on http://localhost:${port} (${deployment ? 'deployment policy: public targets only' : 'development policy: loopback allowed'})`);
const child = spawn('npx', args, { stdio: 'inherit', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } });
const stop = () => child.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
child.on('exit', (code) => process.exit(code ?? 0));
