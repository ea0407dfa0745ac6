// The SQL table browser end to end: Debian's chromium against the running Worker and the lab's PostgreSQL. The
// table is made and checked with psql-independent SQL through the API, so the page is checked against the server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../lab/index.ts';
import { sqlFacts } from '../../lab/servers/databases-sql.ts';
import { call, workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

const port = ports.databases.postgresPlain;
const u = sqlFacts.postgres.users.trust;
const db = sqlFacts.postgres.database;
const table = `ui21_rows_${process.pid}`;
const ROWS = 120;

/** A database the browser is pointed at, and how the test reads it behind the page's back. */
interface Target {
  dialect: 'postgres' | 'mysql';
  port: number;
  user: string;
  password: string;
  database: string;
  /** The tree's node that holds the table: PostgreSQL's schema, MySQL's database. */
  schema: string;
  /** How the primary key column's type reads in the column list. */
  idType: RegExp;
}

const postgres: Target = { dialect: 'postgres', port, user: u.user, password: '', database: db, schema: 'public', idType: /integer\s+primary key/ };
const mysql: Target = {
  dialect: 'mysql',
  port: ports.databases.mariadbPlain,
  user: sqlFacts.mariadb.users.native.user,
  password: sqlFacts.mariadb.users.native.password,
  database: sqlFacts.mariadb.database,
  schema: sqlFacts.mariadb.database,
  idType: /int\b.*\s+primary key/,
};

async function sqlOn(t: Target, text: string) {
  const r = await call(t.dialect, 'query', { host: '127.0.0.1', port: t.port, user: t.user, ...(t.password ? { password: t.password } : {}), database: t.database, sql: text });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

const sql = (text: string) => sqlOn(postgres, text);

/** Scores are a permutation of 1..120 (37 is coprime to 120): sorting by score is not the order of id. Row 7's name is NULL and row 8's is the text 'null'. */
const seed = (t: Target) =>
  t.dialect === 'postgres'
    ? `CREATE TABLE ${table} (id integer PRIMARY KEY, name text, score integer NOT NULL);
      INSERT INTO ${table} SELECT g, CASE g WHEN 7 THEN NULL WHEN 8 THEN 'null' ELSE 'harbour-' || g END, (g * 37) % ${ROWS} + 1 FROM generate_series(1, ${ROWS}) g;`
    : `CREATE TABLE ${table} (id INT PRIMARY KEY, name TEXT, score INT NOT NULL);
      INSERT INTO ${table} SELECT seq, CASE seq WHEN 7 THEN NULL WHEN 8 THEN 'null' ELSE CONCAT('harbour-', seq) END, (seq * 37) % ${ROWS} + 1 FROM seq_1_to_${ROWS};`;

/** Schema tree → table → page 2 (keyset) → sort → filter → count, as a user does it, checked against the server. */
async function browseTable(b: Browser, t: Target): Promise<void> {
  const column = (n: number) => b.page.locator(`table[aria-label=Rows] tbody td:nth-child(${n})`).allInnerTexts();
  const sql = (text: string) => sqlOn(t, text);
  const page = b.page;
  const shot = (name: string) => screenshot(page, t.dialect === 'postgres' ? name : name.replace(/^sql-/, 'mysql-'));
  await page.goto('about:blank');
  await page.goto(`${workerUrl()}/#/browse/${t.dialect}`);
  const form = page.getByRole('form', { name: 'Database connection' });
  await form.locator('[data-field=host] input').fill('127.0.0.1');
  await form.locator('[data-field=port] input').fill(String(t.port));
  await form.locator('[data-field=user] input').fill(t.user);
  if (t.password) await form.locator('[data-field=password] input').fill(t.password);
  await form.locator('[data-field=database] input').fill(t.database);
  await form.getByRole('button', { name: 'Connect' }).click();
  // Tables load only when their schema is opened.
  await page.locator(`li[data-schema="${t.schema}"]`).waitFor();
  assert.equal(await page.locator(`li[data-table="${t.schema}.${table}"]`).count(), 0);
  await page.getByRole('button', { name: `Expand ${t.schema}` }).click();
  await page.locator(`li[data-table="${t.schema}.${table}"] button`).click();
  const rows = page.getByRole('table', { name: 'Rows' });
  await rows.waitFor();
  await page.getByRole('button', { name: /^Columns \(3\)/ }).or(page.locator('summary', { hasText: 'Columns (3)' })).first().click();
  assert.match(await page.locator('tr[data-column=id]').innerText(), t.idType);

  // Page 1: ids 1..50 by the primary key, paged by keyset.
  assert.deepEqual(await column(1), Array.from({ length: 50 }, (_, i) => String(i + 1)));
  assert.equal(await page.getByTestId('page-number').getAttribute('data-paging'), 'keyset');
  // NULL is not the text "null".
  const nullCell = rows.locator('tbody tr').nth(6).locator('td').nth(1);
  assert.equal(await nullCell.locator('[data-null=true]').count(), 1);
  const textNull = rows.locator('tbody tr').nth(7).locator('td').nth(1);
  assert.equal(await textNull.innerText(), 'null');
  assert.equal(await textNull.locator('[data-null=true]').count(), 0);
  // Numbers are right-aligned.
  assert.equal(await rows.locator('tbody tr').first().locator('td').first().evaluate((td) => getComputedStyle(td).textAlign), 'right');
  await shot('sql-01-table');

  await page.getByRole('button', { name: 'Next →' }).click();
  await page.getByTestId('page-number').filter({ hasText: 'Page 2' }).waitFor();
  assert.deepEqual(await column(1), Array.from({ length: 50 }, (_, i) => String(i + 51)));
  await page.getByRole('button', { name: 'Next →' }).click();
  await page.getByTestId('page-number').filter({ hasText: 'Page 3' }).waitFor();
  assert.deepEqual(await column(1), Array.from({ length: 20 }, (_, i) => String(i + 101)));
  assert.equal(await page.getByRole('button', { name: 'Next →' }).isDisabled(), true);
  await page.getByRole('button', { name: '← Previous' }).click();
  await page.getByTestId('page-number').filter({ hasText: 'Page 2' }).waitFor();
  assert.equal((await column(1))[0], '51');

  // Sort by score, descending (two clicks): OFFSET paging, the server's order.
  await page.getByRole('button', { name: 'Sort by score' }).click();
  await page.getByTestId('page-number').filter({ hasText: 'Page 1' }).waitFor();
  await page.getByRole('button', { name: 'Sort by score' }).click();
  await page.locator('th[aria-sort=descending]').waitFor();
  const expected = (await sql(`SELECT id, score FROM ${table} ORDER BY score DESC LIMIT 100`)).results[0].rows as number[][];
  assert.deepEqual((await column(3)).map(Number), expected.slice(0, 50).map((r) => r[1]));
  assert.equal(await page.getByTestId('page-number').getAttribute('data-paging'), 'offset');
  await page.getByRole('button', { name: 'Next →' }).click();
  await page.getByTestId('page-number').filter({ hasText: 'Page 2' }).waitFor();
  assert.deepEqual((await column(1)).map(Number), expected.slice(50, 100).map((r) => r[0]));
  await shot('sql-02-sorted');

  // Filter: names containing "-11" (harbour-11, harbour-110..119), counted on the server.
  await page.getByLabel('Filter column').selectOption('name');
  await page.getByLabel('Contains').fill('-11');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await page.getByTestId('page-number').filter({ hasText: 'Page 1' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('table[aria-label=Rows] tbody tr').length === 11);
  assert.ok((await column(2)).every((n) => n.includes('-11')));
  await page.getByRole('button', { name: 'Count rows' }).click();
  assert.equal(await page.getByTestId('row-count').innerText(), '11 rows');
  await page.getByLabel('Contains').fill('');
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await page.waitForFunction(() => document.querySelectorAll('table[aria-label=Rows] tbody tr').length === 50);
  await page.getByRole('button', { name: 'Count rows' }).click();
  assert.equal(await page.getByTestId('row-count').innerText(), `${ROWS} rows`);
  assert.deepEqual(b.pageErrors, []);
}

describe('SQL table browser (PostgreSQL)', { timeout: 300_000 }, () => {
  let b: Browser;

  before(async () => {
    await ensureLab(['databases-sql'], { quiet: true });
    await sql(seed(postgres));
    b = await launch();
  });

  after(async () => {
    await b?.close();
    await sql(`DROP TABLE IF EXISTS ${table}`);
  });

  test('schema tree → table → page 2 (keyset) → sort → filter → count', () => browseTable(b, postgres));

  test('the SQL box highlights, completes table and column names from the server, and Ctrl+Enter runs it', async () => {
    const page = b.page;
    await page.goto('about:blank');
    await page.goto(`${workerUrl()}/#/run/postgres/query?host=127.0.0.1&port=${port}&user=${u.user}&database=${db}`);
    const editor = page.locator('[data-field=sql] .cm-content');
    await editor.click();
    await page.getByTestId('sql-completion').waitFor({ timeout: 30_000 });
    await page.keyboard.type(`SELECT score FROM ${table.slice(0, -3)}`);
    await page.keyboard.press('Control+Space');
    const options = page.locator('.cm-tooltip-autocomplete li');
    await options.first().waitFor();
    assert.ok((await options.allInnerTexts()).some((o) => o.includes(table)), (await options.allInnerTexts()).join(', '));
    // Chosen with the mouse: CodeMirror ignores Enter for its interactionDelay after the list opens.
    await options.filter({ hasText: table }).first().click();
    // After "table." the table's columns.
    await page.keyboard.type(` WHERE ${table}.`);
    await page.keyboard.press('Control+Space');
    await options.first().waitFor();
    assert.deepEqual((await options.allInnerTexts()).map((o) => o.trim().split(/\s/)[0]).sort(), ['id', 'name', 'score']);
    await page.keyboard.press('Escape');
    await page.keyboard.type('id = 3');
    assert.equal(await editor.innerText(), `SELECT score FROM ${table} WHERE ${table}.id = 3`);
    // Keywords and names are drawn differently.
    const colorOf = (text: string) => editor.locator('span', { hasText: new RegExp(`^${text}$`) }).first().evaluate((el) => getComputedStyle(el).color);
    assert.notEqual(await colorOf('SELECT'), await page.locator('[data-field=sql] .cm-line').first().evaluate((el) => getComputedStyle(el).color));
    await screenshot(page, 'sql-03-editor');
    await page.keyboard.press('Control+Enter');
    const result = page.locator('[data-testid=result][data-outcome=ok]');
    await result.waitFor({ timeout: 30_000 });
    assert.match(await result.locator('table').first().innerText(), new RegExp(`score\\s+${(3 * 37) % ROWS + 1}`));

    // Ctrl+Enter with a selection runs only the selection.
    await editor.click();
    await page.keyboard.press('Control+a');
    await page.keyboard.type('SELECT 1 AS first_one;\nSELECT 2 AS second_one');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.press('Control+Enter');
    await page.locator('[data-testid=result][data-outcome=ok] th', { hasText: 'second_one' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('[data-testid=result] th', { hasText: 'first_one' }).count(), 0);
    assert.equal(await editor.innerText(), 'SELECT 1 AS first_one;\nSELECT 2 AS second_one', 'Ctrl+Enter did not change the text');

    // EXPLAIN ANALYZE is a tree of plan nodes with their costs and times, the text a click away.
    await page.keyboard.press('Control+a');
    await page.keyboard.type(`EXPLAIN ANALYZE SELECT name FROM ${table} WHERE name LIKE '%-11%' ORDER BY score DESC`);
    await page.keyboard.press('End');
    await page.keyboard.press('Control+Enter');
    const plan = page.getByLabel('Query plan');
    await plan.waitFor({ timeout: 30_000 });
    const sort = plan.locator('li[data-plan-node=Sort]');
    assert.match(await sort.getByTestId('plan-cost').first().innerText(), /^cost [\d.]+\.\.[\d.]+ · \d+ rows$/);
    assert.match(await sort.getByTestId('plan-actual').first().innerText(), /^[\d.]+\.\.[\d.]+ ms · 11 rows$/);
    const scan = sort.locator(`li[data-plan-node="Seq Scan on ${table}"]`);
    assert.match(await scan.innerText(), /Filter: \(name ~~ '%-11%'::text\)/);
    assert.match(await plan.innerText(), /Execution Time: [\d.]+ ms/);
    await screenshot(page, 'sql-04-explain');
  });
});

describe('SQL table browser (MySQL / MariaDB)', { timeout: 300_000 }, () => {
  let b: Browser;

  before(async () => {
    await ensureLab(['databases-sql'], { quiet: true });
    await sqlOn(mysql, seed(mysql));
    b = await launch();
  });

  after(async () => {
    await b?.close();
    await sqlOn(mysql, `DROP TABLE IF EXISTS ${table}`);
  });

  test('schema tree → table → page 2 (keyset) → sort → filter → count', () => browseTable(b, mysql));

  test('several statements come back as separate grids, each with its own columns', async () => {
    const page = b.page;
    await page.goto('about:blank');
    await page.goto(`${workerUrl()}/#/run/mysql/query?host=127.0.0.1&port=${mysql.port}&user=${mysql.user}&database=${mysql.database}`);
    await page.locator('input[name=password]').fill(mysql.password);
    const editor = page.locator('[data-field=sql] .cm-content');
    await editor.click();
    await page.keyboard.type(`SELECT id, name FROM ${table} WHERE id <= 2 ORDER BY id; SELECT COUNT(*) AS n FROM ${table}; UPDATE ${table} SET score = score WHERE id = 1`);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const result = page.locator('[data-testid=result][data-outcome=ok]');
    await result.waitFor({ timeout: 30_000 });
    const grids = result.locator('div.section').filter({ has: page.locator(':scope > h3', { hasText: /^result \d/i }) });
    assert.equal(await grids.count(), 3);
    assert.deepEqual(await grids.nth(0).locator('th').allInnerTexts(), ['id', 'name']);
    assert.deepEqual(await grids.nth(0).locator('tbody td').allInnerTexts(), ['1', 'harbour-1', '2', 'harbour-2']);
    assert.deepEqual(await grids.nth(1).locator('th').allInnerTexts(), ['n']);
    assert.deepEqual(await grids.nth(1).locator('tbody td').allInnerTexts(), [String(ROWS)]);
    assert.match(await grids.nth(2).innerText(), /No rows \(a statement without a result set\)/);
    await screenshot(page, 'mysql-03-statements');
  });
});
