// identify in the UI: a scan's open ports in the port grid, each named with its product and linked to its
// protocol's page for that host and port. Against the lab's foundation servers through the running Worker.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../lab/index.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

const lab = ports.foundation;

describe('identify in the port grid', { timeout: 300_000 }, () => {
  let b: Browser;

  before(async () => {
    await ensureLab(['foundation'], { quiet: true });
    b = await launch();
  });

  after(async () => {
    await b?.close();
  });

  test('a scan names each open port in the grid and links it to its protocol, host and port filled', async () => {
    const page = b.page;
    const list = [lab.echo, lab.daytime, lab.dict, lab.closedPort];
    await page.goto(`${workerUrl()}/#/run/identify/scan?host=127.0.0.1&ports=${list.join(',')}`);
    await page.getByRole('button', { name: 'Run once' }).click();
    const grid = page.getByTestId('port-grid');
    await grid.waitFor({ timeout: 120_000 });
    const cell = (port: number) => grid.locator(`[data-port="${port}"]`);
    assert.match(await cell(lab.closedPort).innerText(), /closed/);
    assert.equal(await cell(lab.closedPort).getByTestId('port-service').count(), 0);
    assert.equal(await cell(lab.echo).getByTestId('port-service').innerText(), 'echo');
    assert.equal(await cell(lab.daytime).getByTestId('port-service').innerText(), 'daytime');
    // dictd tells its version in its greeting.
    assert.match(await cell(lab.dict).getByTestId('port-service').innerText(), /^dict · dictd \d[\d.]*$/);
    await screenshot(page, 'identify-01-grid');
    await cell(lab.dict).getByRole('link', { name: 'dict' }).click();
    await page.waitForURL(/#\/p\/dict\?/);
    const q = new URLSearchParams(page.url().split('?')[1]);
    assert.deepEqual([q.get('host'), q.get('port')], ['127.0.0.1', String(lab.dict)]);
    assert.deepEqual(b.pageErrors, []);
  });
});
