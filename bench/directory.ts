// An LDAP search of 10,000 entries with simple paged results (RFC 2696, 500 per page) through the API on
// workerd, beside OpenLDAP's `ldapsearch -E pr=500/noprompt` against the same slapd in the same run, rounds
// interleaved. Run: npx tsx bench/directory.ts [rounds]  (BENCH_TINY=1: one round)
import { spawnSync } from 'node:child_process';
import { ensureLab, ports, caPath } from '../lab/index.ts';
import { directoryFacts } from '../lab/servers/directory.ts';
import { finish, machine, median, pairedRatio, report, say, tiny } from './lib/report.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd } from './lib/workerd.ts';

const L = directoryFacts.ldap;
const rounds = Number(process.argv[2] ?? (tiny ? 1 : 5));
const port = ports.directory.ldap;
const PAGE = 500;

/** ldapsearch's wall time for the same search (entries written to a pipe and counted). */
function ldapsearch(): number {
  const t0 = performance.now();
  const r = spawnSync('ldapsearch', ['-x', '-LLL', '-H', `ldap://127.0.0.1:${port}`, '-b', L.bulkBase, '-s', 'one', '-E', `pr=${PAGE}/noprompt`, '(objectClass=inetOrgPerson)', 'uid', 'cn', 'mail'], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`ldapsearch failed: ${r.stderr.toString()}`);
  const n = (r.stdout.toString().match(/^dn: /gm) ?? []).length;
  if (n !== L.bulkCount) throw new Error(`ldapsearch returned ${n} entries`);
  return ms;
}

async function api(url: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/api/ldap/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ host: '127.0.0.1', port, base: L.bulkBase, scope: 'one', filter: '(objectClass=inetOrgPerson)', attributes: ['uid', 'cn', 'mail'], pageSize: PAGE, maxEntries: L.bulkCount, timeoutMs: 120_000 }),
  });
  const body = (await res.json()) as { ok: boolean; result?: { entries: unknown[] }; error?: unknown };
  const ms = performance.now() - t0;
  if (!body.ok || body.result?.entries.length !== L.bulkCount) throw new Error(`API search: ${JSON.stringify(body.error ?? body.result?.entries.length)}`);
  return ms;
}

say(`machine: ${await machine()}`);
await ensureLab(['directory']);
const bundle = buildBundle();
const worker = await startWorkerd(bundle, { vars: BENCH_VARS, caPath });
try {
  await api(worker.url);
  ldapsearch();
  const ours: number[] = [];
  const native: number[] = [];
  for (let i = 0; i < rounds; i++) {
    ours.push(await api(worker.url));
    native.push(ldapsearch());
  }
  const perSecond = (ms: number) => L.bulkCount / (ms / 1000);
  say(`LDAP search of ${L.bulkCount.toLocaleString('en')} entries (uid, cn, mail), pages of ${PAGE}, median of ${rounds} rounds`);
  report({
    name: 'API ldap search, paged (whole HTTP request)',
    value: median(ours.map(perSecond)),
    unit: 'entries/s',
    baseline: { name: `ldapsearch -E pr=${PAGE}/noprompt`, value: median(native.map(perSecond)) },
    ratio: pairedRatio(ours.map(perSecond), native.map(perSecond)),
  });
} finally {
  await worker.stop();
  removeBundle(bundle);
}
finish();
