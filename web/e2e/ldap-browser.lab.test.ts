// The LDAP directory browser end to end: Debian's chromium against the running Worker and the lab's slapd.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ports } from '../../lab/ports.ts';
import { directoryFacts } from '../../lab/servers/directory.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

const L = directoryFacts.ldap;
const host = '127.0.0.1';
const port = ports.directory.ldap;

/** LDIF records (dn first, lines sorted within a record), comments and version dropped, sorted: comparable across tools. */
function records(text: string): string[] {
  return text
    .replace(/\r/g, '')
    .split('\n\n')
    .map((b) => b.split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('version:')))
    .filter((lines) => lines.length > 0 && lines[0].startsWith('dn: '))
    .map((lines) => [lines[0], ...lines.slice(1).sort()].join('\n'))
    .sort();
}

describe('LDAP directory browser', { timeout: 240_000 }, () => {
  let b: Browser;

  before(async () => {
    b = await launch();
  });

  after(async () => {
    await b?.close();
  });

  async function connect(bindDn = '', password = ''): Promise<void> {
    const page = b.page;
    await page.goto('about:blank');
    await page.goto(`${workerUrl()}/#/browse/ldap`);
    const form = page.getByRole('form', { name: 'LDAP connection' });
    await form.locator('[data-field=host] input').fill(host);
    await form.locator('[data-field=port] input').fill(String(port));
    await form.locator('[data-field=bindDn] input').fill(bindDn);
    await form.locator('[data-field=password] input').fill(password);
    await form.getByRole('button', { name: 'Connect' }).click();
  }

  const item = (dn: string) => b.page.locator(`li[role=treeitem][data-dn="${dn}"]`);
  const children = (dn: string) => item(dn).locator(':scope > ul > li[role=treeitem]');

  test('the tree grows from the naming context; one-level pages load on demand', async () => {
    const page = b.page;
    await connect();
    await item(L.suffix).waitFor();
    assert.deepEqual(await page.locator('ul[role=tree] > li[role=treeitem]').evaluateAll((els) => els.map((e) => e.getAttribute('data-dn'))), [L.suffix]);
    await page.getByRole('button', { name: `Expand ${L.suffix}` }).click();
    await children(L.suffix).first().waitFor();
    const top = await children(L.suffix).evaluateAll((els) => els.map((e) => e.getAttribute('data-dn')));
    // What ldapsearch lists one level below the suffix (referral objects are continuation references, not entries).
    const native = execFileSync('ldapsearch', ['-x', '-LLL', '-H', `ldap://${host}:${port}`, '-b', L.suffix, '-s', 'one', '1.1']).toString();
    const nativeDns = [...native.matchAll(/^dn: (.*)$/gm)].map((m) => m[1]);
    assert.deepEqual([...top].sort(), nativeDns.sort());
    await page.getByRole('button', { name: `Expand ou=people,${L.suffix}` }).click();
    await children(`ou=people,${L.suffix}`).first().waitFor();
    assert.deepEqual((await children(`ou=people,${L.suffix}`).evaluateAll((els) => els.map((e) => e.getAttribute('data-dn')))).sort(), Object.values(L.people).map((p) => p.dn).sort());
    // ou=bulk holds 10,000 entries: 50 at a time, and more on request.
    await page.getByRole('button', { name: `Expand ${L.bulkBase}` }).click();
    await children(L.bulkBase).nth(49).waitFor();
    assert.equal(await children(L.bulkBase).count(), 50);
    await item(L.bulkBase).getByRole('button', { name: 'More children…' }).click();
    await children(L.bulkBase).nth(99).waitFor();
    assert.equal(await children(L.bulkBase).count(), 100);
    assert.equal(new Set(await children(L.bulkBase).evaluateAll((els) => els.map((e) => e.getAttribute('data-dn')))).size, 100);
    await page.getByRole('button', { name: `Collapse ${L.bulkBase}` }).click();
    await screenshot(b.page, 'ldap-01-tree');
  });

  test('an entry\'s attributes as a table, binary values as base64, each value with a copy button', async () => {
    const page = b.page;
    await page.locator(`li[data-dn="${L.people.alice.dn}"] button.link`).click();
    await page.getByTestId('entry-dn').filter({ hasText: L.people.alice.dn }).waitFor();
    const table = page.getByRole('table', { name: 'Attributes' });
    assert.match(await table.locator('tr[data-attribute=mail]').innerText(), new RegExp(L.people.alice.mail));
    assert.match(await table.locator('tr[data-attribute=title]').innerText(), /Cartographer/);
    assert.match(await table.locator('tr[data-attribute=jpegPhoto]').innerText(), new RegExp(`b64:${Buffer.from(L.alicePhoto).toString('base64').replace(/[+/]/g, '\\$&')}`));
    await table.locator('tr[data-attribute=mail]').getByRole('button', { name: 'Copy' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), L.people.alice.mail);
    await screenshot(page, 'ldap-02-entry');
  });

  test('the filter is checked as it is typed; a valid one searches, and the results export as LDIF and CSV', async () => {
    const page = b.page;
    const form = page.getByRole('form', { name: 'LDAP search' });
    await form.locator('[data-field=base] input').fill(L.suffix);
    await form.locator('[data-field=scope] select').selectOption('sub');
    const filter = page.locator('#ldap-filter');
    await filter.fill('(&(objectClass=person)(cn=a*)');
    assert.match(await page.getByTestId('filter-check').innerText(), /filter ends where '\)' was expected at position 30/);
    assert.equal(await form.getByRole('button', { name: 'Search' }).isDisabled(), true);
    await filter.fill('(cn=a\\zz)');
    assert.match(await page.getByTestId('filter-check').innerText(), /must be followed by two hex digits .* at position 6/);
    await screenshot(page, 'ldap-03-filter-error');
    const good = '(&(objectClass=person)(cn=a*))';
    await filter.fill(good);
    assert.equal(await page.getByTestId('filter-check').innerText(), 'The filter parses.');
    await form.locator('[data-field=attributes] input').fill('cn mail');
    await form.getByRole('button', { name: 'Search' }).click();
    await page.getByTestId('result-count').filter({ hasText: '2 entries' }).waitFor();
    const rows = await page.getByRole('table', { name: 'Entries found' }).locator('tbody tr').allInnerTexts();
    assert.deepEqual(rows.map((r) => r.split('\t')[0]).sort(), [L.people.alice.dn, L.people.amy.dn].sort());
    await screenshot(page, 'ldap-04-search');

    const native = execFileSync('ldapsearch', ['-x', '-LLL', '-H', `ldap://${host}:${port}`, '-b', L.suffix, good, 'cn', 'mail']).toString();
    const [ldif] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export LDIF' }).last().click()]);
    assert.equal(ldif.suggestedFilename(), 'search.ldif');
    const ldifText = readFileSync((await ldif.path())!, 'utf8');
    assert.match(ldifText, /^version: 1\n/);
    assert.deepEqual(records(ldifText), records(native));
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const lines = readFileSync((await csv.path())!, 'utf8').trim().split('\r\n');
    assert.equal(lines[0], 'dn,cn,mail');
    assert.deepEqual(lines.slice(1).sort(), [`"${L.people.alice.dn}",${L.people.alice.cn},${L.people.alice.mail}`, `"${L.people.amy.dn}",${L.people.amy.cn},${L.people.amy.mail}`].sort());
  });

  test('a wrong password shows the server\'s result code and words; a bound user sees what the ACLs allow', async () => {
    const page = b.page;
    await connect(L.people.alice.dn, 'wrong');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /49 invalidCredentials/);
    await screenshot(page, 'ldap-05-wrong-password');
    await connect(L.people.alice.dn, L.people.alice.password);
    await item(L.suffix).waitFor();
    await page.getByRole('button', { name: `Expand ${L.suffix}` }).click();
    await page.getByRole('button', { name: `Expand ${L.restricted.dn}` }).click();
    await children(L.restricted.dn).first().waitFor();
    assert.deepEqual(await children(L.restricted.dn).evaluateAll((els) => els.map((e) => e.getAttribute('data-dn'))), [L.restricted.entry]);
    assert.deepEqual(b.offMachine, []);
  });
});
