// Live sessions in the browser against the real Worker and the lab's redis-server: a Pub/Sub feed and the message log.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { kvFacts } from '../../lab/servers/databases-kv.ts';
import { ports } from '../../lab/ports.ts';
import { call, workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

const redisPort = ports['databases-kv'].redis;

describe('live sessions', { timeout: 120_000 }, () => {
  let b: Browser;
  let base: string;

  before(async () => {
    base = workerUrl();
    b = await launch();
  });

  after(async () => {
    await b?.close();
  });

  test('a Redis SUBSCRIBE session shows published messages as they arrive, takes control messages and ends with a result', async () => {
    const page = b.page;
    const channel = `portolan-ui-${Date.now()}`;
    await page.goto(`${base}/#/run/redis/subscribe?host=127.0.0.1&port=${redisPort}&channels=${channel}`);
    await page.locator('input[name=password]').fill(kvFacts.redis.password);
    await page.getByRole('button', { name: 'Start session' }).click();
    const session = page.locator('[data-testid=session][data-state=open]');
    await session.waitFor();
    // The subscription confirmation arrives before anything is published.
    const feed = page.getByRole('table', { name: 'Live feed' });
    await page.waitForFunction(() => document.querySelector('table[aria-label="Live feed"]')?.textContent?.includes('subscription'));

    for (const text of ['first light', 'second light']) {
      const published = await call('redis', 'command', { host: '127.0.0.1', port: redisPort, password: kvFacts.redis.password, args: ['PUBLISH', channel, text] });
      assert.equal(published.status, 200);
      assert.equal(published.body.result.reply.value, 1, 'one subscriber: the browser session');
    }
    await page.waitForFunction(() => document.querySelector('table[aria-label="Live feed"]')?.textContent?.includes('second light'));
    const rows = await feed.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.textContent ?? ''));
    // Newest first: the two messages, then the subscription.
    assert.match(rows[0], new RegExp(`message.*channel: ${channel}.*data: second light`));
    assert.match(rows[1], /data: first light/);
    await screenshot(page, '14-session-feed');

    // The message log sends a control message typed in the input line.
    await page.getByRole('tab', { name: 'log' }).click();
    await page.getByLabel('Message to send').fill('{"type":"ping"}');
    await page.keyboard.press('Enter');
    const log = page.getByRole('log', { name: 'Session messages' });
    await page.waitForFunction(() => document.querySelector('[aria-label="Session messages"]')?.textContent?.includes('pong'));
    assert.match(await log.innerText(), /→ ping[\s\S]*← pong/);
    await screenshot(page, '15-session-log');

    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('[data-testid=session][data-state=ended]').waitFor();
    const result = page.locator('[data-testid=result][data-outcome=ok]');
    await result.waitFor();
    const summary = await result.innerText();
    assert.match(summary, /count\s*2/);
    assert.match(summary, /ended\s*client/);
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
    assert.deepEqual(b.offMachine, []);
  });
});
