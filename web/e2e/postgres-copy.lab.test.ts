// COPY from the PostgreSQL page in headless Chromium, against the lab's PostgreSQL through the Worker: copy-out's
// "Download as a file" saves the table as a CSV file named after it, and copy-in's "Upload a file…" streams a picked
// CSV file into a table, whose rows are then read back through the API. A query's Cancel stops it on the server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../lab/index.ts';
import { sqlFacts } from '../../lab/servers/databases-sql.ts';
import { call, workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

const facts = sqlFacts.postgres;
const target = { host: '127.0.0.1', port: ports.databases.postgresPlain, user: facts.users.trust.user, database: facts.database };
const table = `ui_copy_${process.pid}`;

async function sql(text: string) {
  const r = await call('postgres', 'query', { ...target, sql: text });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result.results;
}

describe('PostgreSQL COPY in the browser', { timeout: 180_000 }, () => {
  let b: Browser;

  before(async () => {
    await ensureLab(['databases-sql', 'browser']);
    await sql(`CREATE TABLE ${table} (id integer PRIMARY KEY, name text)`);
    b = await launch();
  });

  after(async () => {
    await b?.close();
    await sql(`DROP TABLE IF EXISTS ${table}`);
  });

  const page = (op: string, extra: Record<string, string>) =>
    `${workerUrl()}/#/run/postgres/${op}?${new URLSearchParams({ host: target.host, port: String(target.port), user: target.user, database: target.database, ...extra })}`;

  test('copy-out: "Download as a file" saves the table as harbours.csv with its rows', async () => {
    await b.page.goto(page('copy-out', { table: 'harbours', header: 'true' }));
    const [download] = await Promise.all([b.page.waitForEvent('download'), b.page.getByRole('button', { name: 'Download as a file' }).click()]);
    assert.equal(download.suggestedFilename(), 'harbours.csv');
    const expected = `id,name,depth,country\n${facts.harbours.map((h) => `${h.id},${h.name},${h.depth ?? ''},${h.country}`).join('\n')}\n`;
    assert.equal(readFileSync(await download.path(), 'utf8'), expected);
    await b.page.locator('[data-transfer="harbours"][data-state="done"]').waitFor();
    // The operation's answer shows beside the form: the server's row count.
    await b.page.locator('.result-head .badge.ok').waitFor();
    await screenshot(b.page, 'postgres-copy-out');
  });

  test('query: Cancel stops the statement on the server and shows its words', async () => {
    const marker = `ui_cancel_${process.pid}`;
    await b.page.goto('about:blank');
    await b.page.goto(page('query', { sql: `SELECT pg_sleep(30) /* ${marker} */` }));
    await b.page.getByRole('button', { name: 'Run', exact: true }).click();
    const running = async () => (await sql(`SELECT count(*)::int FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%${marker}%' AND pid <> pg_backend_pid()`))[0].rows[0][0];
    const until = Date.now() + 15_000;
    while ((await running()) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await running(), 1, 'the query runs on the server');
    await b.page.getByRole('button', { name: 'Cancel' }).click();
    await b.page.getByText('canceling statement due to user request').first().waitFor({ timeout: 10_000 });
    assert.equal(await running(), 0, 'the server no longer runs it');
    await screenshot(b.page, 'postgres-query-canceled');
  });

  test('copy-in: "Upload a file…" streams a CSV file into the table; a malformed one shows the server error with its line', async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => `${i + 1},row ${i + 1}`);
    await b.page.goto('about:blank');
    await b.page.goto(page('copy-in', { table, format: 'csv' }));
    const [chooser] = await Promise.all([b.page.waitForEvent('filechooser'), b.page.getByRole('button', { name: 'Upload a file…' }).click()]);
    await chooser.setFiles({ name: 'rows.csv', mimeType: 'text/csv', buffer: Buffer.from(`${rows.join('\n')}\n`) });
    await b.page.locator('[data-transfer="rows.csv"][data-state="done"]').waitFor({ timeout: 60_000 });
    await b.page.locator('.result-head .badge.ok').waitFor();
    const back = await sql(`SELECT count(*)::int, max(name) FILTER (WHERE id = 2000) FROM ${table}`);
    assert.deepEqual(back[0].rows, [[2000, 'row 2000']]);

    const [again] = await Promise.all([b.page.waitForEvent('filechooser'), b.page.getByRole('button', { name: 'Upload a file…' }).click()]);
    await again.setFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from('3001,a\n3002,b\nnope,c\n') });
    await b.page.locator('[data-transfer="bad.csv"][data-state="failed"]').waitFor({ timeout: 60_000 });
    assert.match(await b.page.locator('[data-transfer="bad.csv"]').innerText(), /invalid input syntax for type integer: "nope" \(COPY ui_copy_\d+, line 3, column id: "nope"\)/);
    assert.deepEqual((await sql(`SELECT count(*)::int FROM ${table}`))[0].rows, [[2000]]);
    await screenshot(b.page, 'postgres-copy-in');
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
  });
});
