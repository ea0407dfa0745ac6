// Forms and pages as a person uses them: primary fields first, SSH on its terminal, the catalog's most used
// protocols first, "/" for the search, truncation in a warning colour, a searchable history with export and import,
// collections of saved requests with {{variables}}.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../lab/index.ts';
import { foundationFacts } from '../../lab/servers/foundation.ts';
import { sqlFacts } from '../../lab/servers/databases-sql.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

describe('forms and pages', { timeout: 240_000 }, () => {
  let b: Browser;
  let base: string;

  before(async () => {
    await ensureLab(['foundation', 'databases-sql'], { quiet: true });
    base = workerUrl();
    b = await launch();
  });

  after(async () => {
    await b?.close();
  });

  async function visit(hash: string): Promise<void> {
    await b.page.goto('about:blank');
    await b.page.goto(`${base}/${hash}`);
    await b.page.locator('main h1, main .card').first().waitFor();
  }

  /** The fields shown without opening anything, in page order (those under a closed "More options" are not). */
  const visibleFields = () =>
    b.page.evaluate(() =>
      [...document.querySelectorAll('form [data-field]')]
        .filter((el) => !el.closest('details:not([open])') || el.tagName === 'DETAILS')
        .filter((el) => el.tagName !== 'DETAILS')
        .map((el) => el.getAttribute('data-field')),
    );

  test('each form shows its primary fields first, in the declared order; the rest under "More options"', async () => {
    const page = b.page;
    await visit('#/run/dns/query');
    // host:port and the TLS mode (DoT, DoH) are the target; then the declaration's primary fields.
    const dns = (await visibleFields()).filter((f) => f !== 'tls');
    assert.deepEqual(dns.slice(0, 3), ['host', 'name', 'type']);
    assert.ok(!dns.includes('clientSubnet'), `EDNS client subnet is under More options: ${dns.join(', ')}`);
    assert.match(await page.locator('form details summary', { hasText: 'More options' }).innerText(), /More options \(\d+\)/);
    await screenshot(page, 'forms-01-dns');

    await visit('#/run/ftp/list');
    const ftp = await visibleFields();
    assert.ok(ftp.includes('user') && ftp.includes('password'), `FTP user and password are visible: ${ftp.join(', ')}`);

    await visit('#/run/postgres/query');
    const pg = (await visibleFields()).filter((f) => f !== 'tls');
    assert.deepEqual(pg.slice(0, 5), ['host', 'user', 'password', 'database', 'sql'], 'the credentials come before the SQL');
    await screenshot(page, 'forms-02-postgres');
  });

  test('SSH opens on its terminal', async () => {
    await visit('#/p/ssh');
    assert.equal(await b.page.locator('nav.tabs a[aria-current=page]').innerText(), 'terminal ⇄');
  });

  test('the catalog puts the most used protocols first and groups the rest by category', async () => {
    const page = b.page;
    await visit('#/');
    const sections = await page.locator('main section h2').allInnerTexts();
    assert.equal(sections[0], 'Most used');
    assert.ok(sections.length > 5, sections.join(', '));
    const first = await page.locator('section[aria-label="Most used"] .card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-protocol')));
    assert.deepEqual(first.slice(0, 8), ['ssh', 'postgres', 'mysql', 'redis', 'http', 'dns', 'smtp', 'ftp']);
    await screenshot(page, 'forms-03-catalog', { fullPage: false });
    // With a search, one ranked list.
    await page.getByLabel('Search protocols by name, port or category').fill('redis');
    await page.waitForFunction(() => !document.querySelector('section[aria-label="Most used"]'));
    assert.equal(await page.locator('.card').first().getAttribute('data-protocol'), 'redis');
  });

  test('"/" focuses the search only when the search does not have focus', async () => {
    const page = b.page;
    await visit('#/');
    const search = page.getByLabel('Search protocols by name, port or category');
    await page.locator('main h1').click();
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Search protocols by name, port or category');
    assert.equal(await search.inputValue(), '', 'the key that moved focus typed nothing');
    // In the search, "/" is a character like any other.
    await page.keyboard.type('80/tcp');
    assert.equal(await search.inputValue(), '80/tcp');
    await page.waitForFunction(() => document.querySelectorAll('.card').length > 0);
    assert.ok((await page.locator('.card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-protocol')))).includes('http'));
  });

  test('a truncated result is marked in the warning colour, never green', async () => {
    const page = b.page;
    const u = sqlFacts.postgres.users.trust;
    await visit(`#/run/postgres/query?host=127.0.0.1&port=${ports.databases.postgresPlain}&user=${u.user}&database=${sqlFacts.postgres.database}&maxRows=2`);
    await page.locator('[data-field=sql] textarea, [data-field=sql] .cm-content').first().waitFor();
    await fillSql(b, 'SELECT g FROM generate_series(1, 5) AS g');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('[data-testid=result][data-outcome=ok]').waitFor();
    const flag = page.locator('[data-truncated=true]').first();
    await flag.waitFor();
    const colors = await flag.evaluate((el) => ({ color: getComputedStyle(el).color, warn: getComputedStyle(document.documentElement).getPropertyValue('--warn').trim(), ok: getComputedStyle(document.documentElement).getPropertyValue('--ok').trim() }));
    const rgb = (hex: string) => `rgb(${parseInt(hex.slice(1, 3), 16)}, ${parseInt(hex.slice(3, 5), 16)}, ${parseInt(hex.slice(5, 7), 16)})`;
    assert.equal(colors.color, rgb(colors.warn));
    assert.notEqual(colors.color, rgb(colors.ok));
    await screenshot(page, 'forms-04-truncated');
  });

  test('history keeps the responses, finds them by their content, and exports and imports them', async () => {
    const page = b.page;
    const dict = ports.foundation.dict;
    await visit(`#/run/dict/define?host=127.0.0.1&port=${dict}&word=portolan`);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('[data-testid=result][data-outcome=ok]').waitFor();
    await visit('#/history');
    const search = page.getByLabel('Search history');
    // A word that is only in the response (the definition), not in the input.
    const word = foundationFacts.dict.definitions.portolan.split(/\s+/).find((w) => w.length > 6)!;
    await search.fill(word);
    await page.waitForFunction(() => document.querySelectorAll('[data-history-id]').length >= 1);
    assert.equal(await page.locator('[data-history-id] a').first().innerText(), 'DICT define');
    await page.locator('[data-history-id]').first().getByRole('button', { name: 'Show' }).click();
    assert.match(await page.locator('table[aria-label=History]').innerText(), /definitions: \[/);
    await search.fill('no-such-thing-anywhere');
    await page.waitForFunction(() => document.querySelectorAll('[data-history-id]').length === 0);
    await search.fill('');
    await screenshot(page, 'forms-05-history');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
    const exported = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { entries: { protocol: string; response?: unknown }[] };
    assert.ok(exported.entries.some((e) => e.protocol === 'dict' && JSON.stringify(e.response).includes(word)));
    const file = join(tmpdir(), `portolan-history-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(exported));
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Clear' }).first().click();
    await page.waitForFunction(() => document.querySelectorAll('[data-history-id]').length === 0);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Import' }).first().click()]);
    await chooser.setFiles(file);
    await page.getByRole('status').filter({ hasText: 'Imported' }).waitFor();
    assert.equal(await page.locator('[data-history-id]').count(), exported.entries.length);
  });

  test('a collection keeps requests with {{variables}}, fills them when a request runs, and exports', async () => {
    const page = b.page;
    const dict = ports.foundation.dict;
    await visit(`#/run/dict/define?host=${encodeURIComponent('{{host}}')}&port=${dict}&word=lighthouse`);
    await page.getByRole('button', { name: 'Save to collection' }).click();
    await page.getByLabel('New collection name').fill('Lab dictionary');
    await page.getByRole('button', { name: 'Save request' }).click();
    await visit('#/history');
    const coll = page.locator('section[data-collection="Lab dictionary"]');
    await coll.waitFor();
    await coll.getByLabel('Value of host').fill('127.0.0.1');
    await screenshot(page, 'forms-06-collection');
    const [download] = await Promise.all([page.waitForEvent('download'), coll.getByRole('button', { name: 'Export' }).click()]);
    const exported = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { collections: { variables: Record<string, string>; requests: { input: { host: string } }[] }[] };
    assert.deepEqual(exported.collections[0].variables, { host: '127.0.0.1' });
    assert.equal(exported.collections[0].requests[0].input.host, '{{host}}');
    await coll.getByRole('link', { name: /dict define/ }).click();
    await page.getByTestId('collection-variables').waitFor();
    assert.match(await page.getByTestId('collection-variables').innerText(), /\{\{host\}\} = 127\.0\.0\.1/);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const result = page.locator('[data-testid=result][data-outcome=ok]');
    await result.waitFor();
    assert.match(await result.innerText(), new RegExp(foundationFacts.dict.definitions.lighthouse.slice(0, 20)));
    assert.match(await result.innerText(), /127\.0\.0\.1:/);
  });

  test('the page threw nothing and sent nothing off the machine', () => {
    assert.deepEqual(
      b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')),
      [],
    );
    assert.deepEqual(b.offMachine, []);
  });
});

/** Types SQL into the editor (a CodeMirror editor or a plain textarea). */
export async function fillSql(b: Browser, sql: string): Promise<void> {
  const editor = b.page.locator('[data-field=sql] .cm-content');
  if ((await editor.count()) > 0) {
    await editor.click();
    await b.page.keyboard.press('Control+A');
    await b.page.keyboard.press('Delete');
    await b.page.keyboard.insertText(sql);
  } else await b.page.locator('[data-field=sql] textarea').fill(sql);
}
