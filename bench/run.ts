// `npm run bench`: every benchmark script in bench/, one after another; each prints one line per
// figure with its ratio to a baseline measured in the same run. BENCH_TINY=1 runs the quick form.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const only = process.argv.slice(2);
const scripts = readdirSync('bench')
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
let failed = 0;
for (const script of scripts) {
  console.log(`\n## ${script}`);
  const r = spawnSync(process.execPath, ['--experimental-websocket', '--import', 'tsx', `bench/${script}`], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.error(`${script} exited ${r.status}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
