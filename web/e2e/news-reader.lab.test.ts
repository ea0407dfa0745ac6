// The news reader in headless Chromium, against INN through the Worker: the groups with their descriptions, a
// group's newest articles, an article's headers and its body with dot-stuffing undone; after a login over
// STARTTLS the members' group appears too.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../lab/index.ts';
import { newsFacts as F } from '../../lab/servers/news.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

describe('news reader in the browser', { timeout: 300_000 }, () => {
  let b: Browser;

  before(async () => {
    await ensureLab(['news', 'browser']);
    b = await launch();
  });

  after(async () => {
    await b?.close();
  });

  test('groups, a group\'s articles, an article with headers and its body as posted; the crew group after a login', async () => {
    const page = b.page;
    await page.goto(`${workerUrl()}/#/browse/nntp`);
    await page.locator('[data-field="host"] input').fill('127.0.0.1');
    await page.locator('[data-field="port"] input').fill(String(ports.news.nntp));
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const groups = page.getByRole('navigation', { name: 'Groups' });
    await groups.locator(`li[data-group="${F.general.name}"]`).waitFor();
    assert.match(await groups.locator(`li[data-group="${F.general.name}"]`).innerText(), new RegExp(F.general.description.replace('.', '\\.')));
    assert.equal(await groups.locator(`li[data-group="${F.crew.name}"]`).count(), 0);

    // The filter matches names and descriptions.
    await page.getByLabel('Filter groups').fill('master');
    assert.deepEqual(await groups.locator('li[data-group]').evaluateAll((l) => l.map((x) => x.getAttribute('data-group'))), [F.notices.name]);
    await page.getByLabel('Filter groups').fill('');

    await groups.getByRole('button', { name: F.general.name, exact: true }).click();
    const list = page.getByRole('table', { name: 'Article list' });
    await list.waitFor();
    const reply = F.seeded[1];
    const row = list.locator('tr[data-number]', { hasText: reply.subject });
    await row.getByRole('button').click();
    const body = page.getByTestId('article-body');
    await body.waitFor();
    // The body as it was posted: the server's stuffed dots are gone.
    assert.equal(await body.textContent(), reply.body);
    const headers = page.getByRole('table', { name: 'Headers' });
    assert.equal(await headers.locator('tr[data-header="from"] td').innerText(), reply.from);
    assert.equal(await headers.locator('tr[data-header="message-id"] td').innerText(), reply.messageId);
    assert.equal(await headers.locator('tr[data-header="path"]').count(), 0);
    await page.getByRole('button', { name: /^All \d+ headers$/ }).click();
    await headers.locator('tr[data-header="path"]').waitFor();
    await screenshot(page, 'news-01-article');

    // A member over STARTTLS sees the crew group and reads it.
    await page.locator('[data-field="tls"] select').selectOption('starttls');
    await page.locator('[data-field="username"] input').fill(F.user.name);
    await page.locator('[data-field="password"] input').fill(F.user.password);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await groups.locator(`li[data-group="${F.crew.name}"]`).waitFor();
    await groups.getByRole('button', { name: F.crew.name, exact: true }).click();
    await list.locator('tr[data-number]', { hasText: F.crewArticle.subject }).waitFor();
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
  });
});
