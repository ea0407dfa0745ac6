// memcached stats as a dashboard and slab classes as a table, against the lab's memcached; the numbers are checked
// against what memcached answers to `stats` on a plain socket opened by the test.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../lab/index.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

const port = ports['databases-kv'].memcached;

/** `stats [group]` over a plain socket: the STAT lines as name → value. */
function rawStats(group = ''): Promise<Map<string, string>> {
  return raw(`stats${group ? ` ${group}` : ''}\r\n`, 'END\r\n');
}

function raw(command: string, end: string): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(command));
    let text = '';
    s.on('data', (d) => {
      text += d;
      if (text.endsWith(end)) {
        s.end();
        resolve(new Map(text.split('\r\n').filter((l) => l.startsWith('STAT ')).map((l) => l.slice(5).split(' ', 2) as [string, string])));
      }
    });
    s.on('error', reject);
  });
}

describe('memcached stats dashboard', { timeout: 180_000 }, () => {
  let b: Browser;
  before(async () => {
    await ensureLab(['databases-kv'], { quiet: true });
    b = await launch();
  });
  after(async () => {
    await b?.close();
  });

  test('hit ratio, evictions and memory against the limit; the slab classes as a table', async () => {
    const page = b.page;
    // At least one item, so at least one slab class is in use.
    await raw(`set ui21-${process.pid} 0 60 5\r\nhello\r\n`, 'STORED\r\n');
    await page.goto(`${workerUrl()}/#/run/memcached/stats?host=127.0.0.1&port=${port}`);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const board = page.getByRole('region', { name: 'Dashboard' });
    await board.waitFor({ timeout: 30_000 });
    const general = await rawStats();
    const limit = Number(general.get('limit_maxbytes'));
    assert.match(await board.locator('[data-tile=Memory]').innerText(), new RegExp(`of ${(limit / 1024 ** 2).toFixed(1)} MiB`));
    const hitTile = await board.locator('[data-tile="Hit ratio"]').innerText();
    const [, hits, misses] = /(\d+) hits, (\d+) misses/.exec(hitTile)!.map(Number);
    if (hits + misses > 0) assert.ok(hitTile.includes(`${((hits / (hits + misses)) * 100).toFixed(1)} %`), hitTile);
    assert.ok(hits <= Number(general.get('get_hits')) && misses <= Number(general.get('get_misses')), 'counters only grow');
    assert.match(await board.locator('[data-tile=Evictions]').innerText(), /^Evictions\n\d+\n/);
    await screenshot(page, 'memcached-01-dashboard');

    await page.goto('about:blank');
    await page.goto(`${workerUrl()}/#/run/memcached/stats?host=127.0.0.1&port=${port}&group=slabs`);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const slabs = page.getByRole('table', { name: 'Slab classes' });
    await slabs.waitFor({ timeout: 30_000 });
    const classes = new Set([...(await rawStats('slabs')).keys()].filter((k) => /^\d+:chunk_size$/.test(k)).map((k) => k.split(':')[0]));
    assert.ok(classes.size > 0);
    assert.deepEqual(new Set(await slabs.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-slab')))), classes);
    assert.deepEqual(b.pageErrors, []);
  });
});
