// Rows per second for a large SELECT through the API on workerd, beside psql and the mariadb client on
// the same lab servers in the same run, rounds interleaved. Run: npx tsx bench/databases-sql.ts [rounds]
// (BENCH_TINY=1: 2,000 rows, one round)
import { spawnSync } from 'node:child_process';
import { ensureLab, ports, caPath } from '../lab/index.ts';
import { sqlFacts } from '../lab/servers/databases-sql.ts';
import { finish, machine, median, pairedRatio, report, say, tiny } from './lib/report.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd } from './lib/workerd.ts';

const ROWS = tiny ? 2_000 : 100_000;
const rounds = Number(process.argv[2] ?? (tiny ? 1 : 5));
const pg = sqlFacts.postgres.users.scram;
const my = sqlFacts.mariadb.users.native;
const PG_SQL = `SELECT g AS id, md5(g::text) AS name, g * 1.5 AS amount, g % 2 = 0 AS even FROM generate_series(1, ${ROWS}) g`;
const MY_SQL = `SELECT seq AS id, MD5(seq) AS name, seq * 1.5 AS amount, seq % 2 = 0 AS even FROM seq_1_to_${ROWS}`;

function timeCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr.toString()}`);
  const lines = r.stdout.toString().trimEnd().split('\n').length;
  if (lines !== ROWS) throw new Error(`${cmd} printed ${lines} rows, expected ${ROWS}`);
  return ms;
}

async function timeApi(url: string, protocol: string, input: Record<string, unknown>): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${url}/api/${protocol}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
  const text = await res.text();
  if (!text.startsWith('{')) throw new Error(`${protocol}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { ok: boolean; result?: { results: { rows: unknown[] }[]; truncated: boolean }; error?: unknown };
  const ms = performance.now() - t0;
  if (!body.ok || !body.result) throw new Error(`${protocol}: ${JSON.stringify(body.error)}`);
  const got = body.result.results[0].rows.length;
  if (got !== ROWS || body.result.truncated) throw new Error(`${protocol}: ${got} rows (truncated ${body.result.truncated})`);
  return ms;
}

say(`machine: ${await machine()}`);
await ensureLab(['databases-sql']);
const bundle = buildBundle();
const worker = await startWorkerd(bundle, { vars: BENCH_VARS, caPath });
try {
  const limits = { maxRows: ROWS, maxBytes: 32 * 1024 * 1024, timeoutMs: 120_000 };
  const pgInput = { host: '127.0.0.1', port: ports.databases.postgres, user: pg.user, password: pg.password, database: sqlFacts.postgres.database, sql: PG_SQL, ...limits };
  const myInput = { host: '127.0.0.1', port: ports.databases.mariadb, user: my.user, password: my.password, database: sqlFacts.mariadb.database, sql: MY_SQL, ...limits };
  // Warm-up: the first request compiles the Worker's code paths and fills the servers' caches.
  await timeApi(worker.url, 'postgres', pgInput);
  await timeApi(worker.url, 'mysql', myInput);
  const t = { apiPg: [] as number[], psql: [] as number[], apiMy: [] as number[], mariadb: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    t.apiPg.push(await timeApi(worker.url, 'postgres', pgInput));
    t.psql.push(
      timeCommand('psql', [`host=127.0.0.1 port=${ports.databases.postgres} user=${pg.user} dbname=${sqlFacts.postgres.database} sslmode=disable`, '-At', '-c', PG_SQL], { PGPASSWORD: pg.password }),
    );
    t.apiMy.push(await timeApi(worker.url, 'mysql', myInput));
    t.mariadb.push(timeCommand('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(ports.databases.mariadb), '-u', my.user, `-p${my.password}`, '-N', '-B', '-e', MY_SQL, sqlFacts.mariadb.database]));
  }
  const rps = (ms: number[]) => ms.map((m) => ROWS / (m / 1000));
  say(`${ROWS.toLocaleString('en')}-row SELECT, median of ${rounds} rounds (connect + auth + query + all rows; the API answers JSON)`);
  report({ name: 'API postgres query (workerd)', value: median(rps(t.apiPg)), unit: 'rows/s', baseline: { name: 'psql -At (libpq, text to a pipe)', value: median(rps(t.psql)) }, ratio: pairedRatio(rps(t.apiPg), rps(t.psql)), note: `${median(t.apiPg).toFixed(0)} ms vs ${median(t.psql).toFixed(0)} ms` });
  report({ name: 'API mysql query (workerd)', value: median(rps(t.apiMy)), unit: 'rows/s', baseline: { name: 'mariadb -N -B (text to a pipe)', value: median(rps(t.mariadb)) }, ratio: pairedRatio(rps(t.apiMy), rps(t.mariadb)), note: `${median(t.apiMy).toFixed(0)} ms vs ${median(t.mariadb).toFixed(0)} ms` });
} finally {
  await worker.stop();
  removeBundle(bundle);
}
finish();
