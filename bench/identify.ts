// identify through the API on workerd beside `nmap -sV --version-intensity 7` on the same lab ports, in the same run:
// how many ports each names as the lab table says (src/protocols/identify/expected.ts), and the time each took.
// Run: npx tsx bench/identify.ts [areas...]   (BENCH_TINY=1: foundation and ssh only; LAB_AREAS limits the areas too)
import { ensureLab, ports, caPath } from '../lab/index.ts';
import { nmapServices } from '../lab/servers/identify.ts';
import { LAB_SERVICES, fromNmap, labTable, namedCorrectly } from '../src/protocols/identify/expected.ts';
import { finish, machine, report, say, tiny } from './lib/report.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd } from './lib/workerd.ts';

const fromArgs = process.argv.slice(2);
const fromEnv = (process.env.LAB_AREAS ?? '').split(',').filter((a) => a in LAB_SERVICES);
const areas = tiny ? ['foundation', 'ssh'] : fromArgs.length ? fromArgs : fromEnv.length ? fromEnv : Object.keys(LAB_SERVICES);
const table = labTable(ports as unknown as Record<string, Record<string, number>>, areas);
const list = table.map((r) => r.port);

say(`machine: ${await machine()}`);
await ensureLab([...areas, 'identify']);
const bundle = buildBundle();
const worker = await startWorkerd(bundle, { vars: BENCH_VARS, caPath });
try {
  const t0 = performance.now();
  const res = await fetch(`${worker.url}/api/identify/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ host: '127.0.0.1', ports: list, timeoutMs: 600_000 }) });
  const body = (await res.json()) as { ok: boolean; result: { results: { port: number; service: string }[] }; error?: unknown };
  if (!body.ok) throw new Error(`identify scan: ${JSON.stringify(body.error)}`);
  const oursMs = performance.now() - t0;
  const nmap = await nmapServices(list);
  const byPort = new Map(body.result.results.map((r) => [r.port, r.service]));
  const ours = table.filter((r) => namedCorrectly(r.expected, byPort.get(r.port))).length;
  const theirs = table.filter((r) => namedCorrectly(r.expected, fromNmap(nmap.byPort.get(r.port)?.probed ?? 'unknown'))).length;
  say(`${table.length} TCP ports of the lab areas ${areas.join(', ')}`);
  report({ name: 'ports named as the lab table says, identify through workerd', value: ours, unit: 'ports', baseline: { name: 'nmap -sV --version-intensity 7', value: theirs }, goal: `≥ nmap and ≥ 95 % of ${table.length}`, pass: ours >= theirs && ours >= Math.ceil(table.length * 0.95) });
  report({ name: 'time to identify them, identify through workerd', value: oursMs / 1000, unit: 's', baseline: { name: 'nmap -sV --version-intensity 7', value: nmap.ms / 1000 } });
} finally {
  await worker.stop();
  removeBundle(bundle);
}
finish();
