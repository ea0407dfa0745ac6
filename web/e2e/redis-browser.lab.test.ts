// The Redis key browser end to end: Debian's chromium against the running Worker and the lab's redis-server.
// The keys are written and read back with redis-cli, so the page is checked against the server, not itself.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../lab/index.ts';
import { kvFacts } from '../../lab/servers/databases-kv.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

const port = ports['databases-kv'].redis;
const password = kvFacts.redis.password;
const prefix = `ui21-${process.pid}`;
/** String keys spread over two folders: more than two SCAN pages of 100. */
const USERS = 230;
const ORDERS = 20;

function cli(...args: string[]): string {
  return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', password, ...args], { encoding: 'utf8' }).trim();
}

describe('Redis key browser', { timeout: 300_000 }, () => {
  let b: Browser;

  before(async () => {
    await ensureLab(['databases-kv'], { quiet: true });
    const lines: string[] = [];
    for (let i = 0; i < USERS; i++) lines.push(`SET ${prefix}:user:${i} name-${i}`);
    for (let i = 0; i < ORDERS; i++) lines.push(`SET ${prefix}:order:${i} '{"id":${i},"total":${i * 10}}'`);
    lines.push(`HSET ${prefix}:profile name Ada lang en city London`);
    lines.push(`RPUSH ${prefix}:queue a b c`);
    lines.push(`ZADD ${prefix}:scores 10 alice 20 bob 15 carol`);
    lines.push(`XADD ${prefix}:events 1-1 kind login`);
    // A consumer group with one entry delivered to alice and not acknowledged.
    lines.push(`XGROUP CREATE ${prefix}:events readers 0`);
    lines.push(`XREADGROUP GROUP readers alice COUNT 1 STREAMS ${prefix}:events >`);
    // Collections over two pages of 500: a list and a stream of 1,200.
    for (let i = 0; i < 1200; i += 100) lines.push(`RPUSH ${prefix}:long ${Array.from({ length: 100 }, (_, j) => `e${i + j}`).join(' ')}`);
    for (let i = 1; i <= 1200; i++) lines.push(`XADD ${prefix}:log ${i}-0 n ${i}`);
    lines.push(`EXPIRE ${prefix}:queue 11520`);
    execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', password], { input: lines.join('\n') + '\n' });
    b = await launch();
  });

  after(async () => {
    await b?.close();
    const keys = cli('--scan', '--pattern', `${prefix}:*`).split('\n').filter(Boolean);
    for (let i = 0; i < keys.length; i += 200) cli('DEL', ...keys.slice(i, i + 200));
  });

  test('SCAN pages load until the iteration is done; the keys form a tree with type, TTL and memory', async () => {
    const page = b.page;
    await page.goto(`${workerUrl()}/#/browse/redis`);
    const form = page.getByRole('form', { name: 'Redis connection' });
    await form.locator('[data-field=host] input').fill('127.0.0.1');
    await form.locator('[data-field=port] input').fill(String(port));
    await form.locator('[data-field=password] input').fill(password);
    await form.locator('[data-field=match] input').fill(`${prefix}:*`);
    await form.getByRole('button', { name: 'Scan' }).click();
    const state = page.getByTestId('scan-state');
    await state.waitFor();
    const total = USERS + ORDERS + 6;
    let pages = 1;
    while ((await state.innerText()) !== 'scan complete') {
      assert.match(await state.innerText(), /^more to scan \(cursor \d+\)$/);
      await page.getByRole('button', { name: 'Load more' }).click();
      await page.getByRole('button', { name: 'Load more' }).or(page.getByText('scan complete')).first().waitFor();
      await page.waitForFunction(() => !document.querySelector('nav[aria-label=Keys] button[disabled]'));
      pages++;
      assert.ok(pages < 50, 'the scan ends');
    }
    assert.ok(pages >= 2, `${total} keys take more than one page of 100 (took ${pages})`);
    assert.equal(await page.getByTestId('key-count').innerText(), `${total} keys`);
    // One folder for the prefix, then user:* and order:* under it.
    const top = page.locator(`li[data-folder="${prefix}"]`);
    assert.match(await top.innerText(), new RegExp(`\\(${total}\\)`));
    await page.getByRole('button', { name: `Expand ${prefix}`, exact: true }).click();
    assert.match(await page.locator(`li[data-folder="${prefix}:user"] > button`).innerText(), new RegExp(`user:\\*\\s+\\(${USERS}\\)`));
    const queue = page.locator(`li[data-key="${prefix}:queue"]`);
    assert.match(await queue.innerText(), /list/);
    // 11520 s as people read it; MEMORY USAGE as bytes.
    assert.match(await queue.getByTestId('row-ttl').innerText(), /^3 h (11|12) min$/);
    assert.match(await queue.innerText(), /\d+ B/);
    assert.equal(await page.locator(`li[data-key="${prefix}:profile"]`).getByTestId('row-ttl').innerText(), 'no expiry');
    await screenshot(page, 'redis-01-tree');
  });

  test('a hash is a field/value table; a field is edited in place; TTL set, persisted; a key deleted after confirmation', async () => {
    const page = b.page;
    await page.locator(`li[data-key="${prefix}:profile"] button.link`).click();
    const table = page.getByRole('table', { name: 'Hash fields' });
    await table.waitFor();
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)));
    assert.deepEqual(
      rows.sort(),
      [
        ['city', 'London'],
        ['lang', 'en'],
        ['name', 'Ada'],
      ],
    );
    await page.getByRole('button', { name: 'Edit city' }).click();
    await page.getByLabel('New value of city').fill('Paris');
    await page.getByRole('button', { name: 'Save' }).click();
    await table.locator('tr[data-hash-field=city]', { hasText: 'Paris' }).waitFor();
    assert.equal(cli('HGET', `${prefix}:profile`, 'city'), 'Paris');
    await page.getByLabel('New field').fill('born');
    await page.getByLabel('Its value').fill('1815');
    await page.getByRole('button', { name: 'Add field' }).click();
    await table.locator('tr[data-hash-field=born]').waitFor();
    assert.equal(cli('HGET', `${prefix}:profile`, 'born'), '1815');

    await page.getByLabel('TTL in seconds').fill('7200');
    await page.getByRole('button', { name: 'Set TTL' }).click();
    await page.getByTestId('key-ttl').filter({ hasText: /TTL: (2 h|1 h 59 min)/ }).waitFor();
    const ttl = Number(cli('TTL', `${prefix}:profile`));
    assert.ok(ttl > 7000 && ttl <= 7200, `TTL on the server: ${ttl}`);
    assert.match(await page.locator(`li[data-key="${prefix}:profile"]`).getByTestId('row-ttl').innerText(), /^(2 h|1 h 59 min)$/);
    await screenshot(page, 'redis-02-hash');
    await page.getByRole('button', { name: 'Persist' }).click();
    await page.getByTestId('key-ttl').filter({ hasText: 'TTL: no expiry' }).waitFor();
    assert.equal(cli('TTL', `${prefix}:profile`), '-1');

    // Declining the confirmation keeps the key; accepting deletes it.
    page.once('dialog', (d) => void d.dismiss());
    await page.getByRole('button', { name: 'Delete key' }).click();
    assert.equal(cli('EXISTS', `${prefix}:profile`), '1');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete key' }).click();
    await page.locator(`li[data-key="${prefix}:profile"]`).waitFor({ state: 'detached' });
    assert.equal(cli('EXISTS', `${prefix}:profile`), '0');
  });

  test('values by type: a sorted set with scores, a list, a stream, a JSON string pretty-printed; long lists and streams page', async () => {
    const page = b.page;
    await page.locator(`li[data-key="${prefix}:scores"] button.link`).click();
    const zset = page.getByRole('table', { name: 'Sorted set members' });
    await zset.waitFor();
    assert.deepEqual(await zset.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.textContent)), ['alice10', 'carol15', 'bob20']);
    // A score range: above 10 (exclusive) up to 20.
    await page.getByLabel('Minimum score').fill('(10');
    await page.getByLabel('Maximum score').fill('20');
    await page.getByRole('button', { name: 'Range' }).click();
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Sorted set members"] tbody tr').length === 2);
    assert.deepEqual(await zset.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.textContent)), ['carol15', 'bob20']);

    await page.locator(`li[data-key="${prefix}:queue"] button.link`).click();
    const list = page.getByRole('table', { name: 'List elements' });
    await list.waitFor();
    assert.deepEqual(await list.locator('tbody td:nth-child(2)').allInnerTexts(), ['a', 'b', 'c']);
    await page.getByLabel('Element', { exact: true }).fill('z');
    await page.getByRole('button', { name: 'Push right' }).click();
    await list.locator('tbody tr').nth(3).waitFor();
    assert.equal(cli('LRANGE', `${prefix}:queue`, '-1', '-1'), 'z');

    await page.locator(`li[data-key="${prefix}:events"] button.link`).click();
    const stream = page.getByRole('table', { name: 'Stream entries' });
    await stream.waitFor();
    assert.deepEqual(await stream.locator('tbody td').allInnerTexts(), ['1-1', 'kind=login']);
    const groups = page.getByRole('table', { name: 'Consumer groups' });
    const [group, pending, lastDelivered, , , consumers] = await groups.locator('tbody td').allInnerTexts();
    assert.deepEqual([group, pending, lastDelivered], ['readers', '1', '1-1']);
    assert.match(consumers, /^alice \(1, \d+ (ms|s)\)$/);

    // A list of 1,200 in pages of 500, by index.
    await page.locator(`li[data-key="${prefix}:long"] button.link`).click();
    const range = page.getByTestId('element-range');
    await range.filter({ hasText: '1–500 of 1,200' }).waitFor();
    const next = page.getByRole('button', { name: 'Next →' });
    await next.click();
    await range.filter({ hasText: '501–1,000 of 1,200' }).waitFor();
    assert.deepEqual((await list.locator('tbody tr').first().locator('td').allInnerTexts()), ['500', 'e500']);
    await next.click();
    await range.filter({ hasText: '1,001–1,200 of 1,200' }).waitFor();
    assert.equal(await list.locator('tbody tr').count(), 200);
    assert.deepEqual(await list.locator('tbody tr').last().locator('td').allInnerTexts(), ['1199', 'e1199']);
    assert.equal(await next.isDisabled(), true);
    await page.getByRole('button', { name: '← Previous' }).click();
    await range.filter({ hasText: '501–1,000 of 1,200' }).waitFor();

    // A stream of 1,200 in pages of 500, by the ID after the last one shown (XRANGE exclusive).
    await page.locator(`li[data-key="${prefix}:log"] button.link`).click();
    await range.filter({ hasText: '1–500 of 1,200' }).waitFor();
    await next.click();
    await range.filter({ hasText: '501–1,000 of 1,200' }).waitFor();
    assert.deepEqual(await stream.locator('tbody tr').first().locator('td').allInnerTexts(), ['501-0', 'n=501']);
    await next.click();
    await range.filter({ hasText: '1,001–1,200 of 1,200' }).waitFor();
    assert.deepEqual(await stream.locator('tbody tr').last().locator('td').allInnerTexts(), ['1200-0', 'n=1200']);
    assert.equal(await next.isDisabled(), true);
    await page.getByRole('button', { name: '← Previous' }).click();
    await range.filter({ hasText: '501–1,000 of 1,200' }).waitFor();
    assert.equal(await stream.locator('tbody tr').first().locator('td').first().innerText(), '501-0');
    await screenshot(page, 'redis-04-stream-pages');

    await page.getByRole('button', { name: `Expand ${prefix}:order`, exact: true }).click();
    await page.locator(`li[data-key="${prefix}:order:3"] button.link`).click();
    const value = page.getByTestId('string-value');
    await value.waitFor();
    assert.equal(await value.innerText(), JSON.stringify({ id: 3, total: 30 }, null, 2));
    await page.getByRole('radio', { name: 'hex' }).check();
    assert.match(await value.innerText(), /^00000000  7b 22 69 64/);
    await screenshot(page, 'redis-03-string');
    assert.deepEqual(b.pageErrors, []);
  });
});
