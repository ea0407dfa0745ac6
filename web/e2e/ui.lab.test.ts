// The web UI end to end: Debian's chromium (playwright-core) against the running Worker and the foundation lab servers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { foundationFacts } from '../../lab/servers/foundation.ts';
import { ports } from '../../lab/ports.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

const dictPort = ports.foundation.dict;
const closedPort = ports.foundation.closedPort;

/** Errors the page logged, without the browser's own line for every non-2xx answer (the UI shows those). */
function realErrors(b: Browser): string[] {
  return b.pageErrors.filter((e) => !e.startsWith('Failed to load resource'));
}

describe('web UI', { timeout: 240_000 }, () => {
  let b: Browser;
  let base: string;

  before(async () => {
    base = workerUrl();
    b = await launch();
  });

  after(async () => {
    await b?.close();
  });

  /** Loads the UI afresh at a hash route (the same hash twice would keep the page's state). */
  async function visit(hash: string): Promise<void> {
    await b.page.goto('about:blank');
    await b.page.goto(`${base}/${hash}`);
  }

  test('the catalog lists every protocol of the registry and finds one by its port', async () => {
    const registry = (await (await fetch(`${base}/api/protocols`)).json()) as { protocols: { id: string; title: string }[] };
    const page = b.page;
    await page.goto(`${base}/`);
    await page.locator('.card').first().waitFor();
    assert.equal(await page.locator('.card').count(), registry.protocols.length);
    const order = await page.locator('.card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-protocol')));
    assert.deepEqual([...order].sort(), registry.protocols.map((p) => p.id).sort());
    // The most used first, in that order; the rest grouped by category.
    assert.deepEqual(order.slice(0, 8), ['ssh', 'postgres', 'mysql', 'redis', 'http', 'dns', 'smtp', 'ftp']);
    await screenshot(page, '01-catalog');

    await page.getByLabel('Search protocols by name, port or category').fill(String(2628));
    await page.waitForFunction(() => document.querySelectorAll('.card').length === 1);
    assert.equal(await page.locator('.card').getAttribute('data-protocol'), 'dict');
    assert.match(await page.locator('.card').innerText(), /2628\/tcp/);
    assert.match(await page.locator('.card').innerText(), /Verified against dictd/);
    await screenshot(page, '02-catalog-search-by-port');

    // Enter opens the best match.
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/p\/dict$/);
    await page.getByRole('heading', { name: 'DICT', level: 1 }).waitFor();
  });

  test('every operation of the registry gets a form with a control for each of its fields', async () => {
    const registry = (await (await fetch(`${base}/api/protocols`)).json()) as {
      protocols: { id: string; title: string; operations: { name: string; kind?: string; input: { properties?: Record<string, unknown> } }[] }[];
    };
    const page = b.page;
    const missing: string[] = [];
    let forms = 0;
    await visit('#/');
    for (const p of registry.protocols) {
      for (const op of p.operations) {
        await page.evaluate((h) => (location.hash = h), `#/run/${p.id}/${op.name}`);
        await page.getByRole('form', { name: `${p.title} ${op.name}`, exact: true }).waitFor();
        forms++;
        // host and port share one box; a TLS choice appears only when there is more than "off".
        const tlsModes = ((op.input.properties?.tls as { enum?: unknown[] } | undefined)?.enum ?? []).length;
        const fields = Object.keys(op.input.properties ?? {}).filter((k) => k !== 'port' && !(k === 'tls' && tlsModes < 2));
        const found = await page.evaluate((names) => names.filter((n) => !document.querySelector(`[data-field="${n}"]`)), fields);
        missing.push(...found.map((f) => `${p.id}.${op.name}.${f}`));
        const button = await page.locator('form button[type=submit]').innerText();
        assert.equal(button, op.kind === 'session' ? 'Start session' : 'Run', `${p.id} ${op.name}`);
      }
    }
    assert.deepEqual(missing, []);
    assert.equal(forms, registry.protocols.reduce((n, p) => n + p.operations.length, 0));
    assert.deepEqual(realErrors(b), []);
  });

  test('the catalog filters by category, stars and runtime support', async () => {
    const page = b.page;
    await visit(`#/?category=classic`);
    await page.locator('.card').first().waitFor();
    const classic = await page.locator('.card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-protocol')));
    assert.ok(classic.includes('echo') && !classic.includes('dict'), `classic cards: ${classic.join(', ')}`);
    await visit(`#/?runtime=node-only`);
    await page.locator('.card').first().waitFor();
    const nodeOnly = await page.locator('.card').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-protocol')));
    // DNS has mDNS and LLMNR, which need UDP: the Workers runtime cannot run them.
    assert.ok(nodeOnly.includes('dns') && !nodeOnly.includes('dict'), `node-only cards: ${nodeOnly.join(', ')}`);
    await page.getByLabel('Minimum stars').selectOption('5');
    await page.waitForFunction(() => [...document.querySelectorAll('.stars')].every((s) => !s.querySelector('.off')?.textContent));
  });

  test('a DICT define against the lab dictd shows the definition, its timing and the decoded transcript', async () => {
    const page = b.page;
    await visit(`#/run/dict/define`);
    const target = page.getByLabel('Target host:port');
    await target.fill('127.0.0.1');
    await page.getByLabel(/^word\W*$/).fill('portolan');
    // Leaving the box fills in the operation's default port.
    assert.equal(await target.inputValue(), '127.0.0.1:2628');
    await target.fill(`127.0.0.1:${dictPort}`);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const result = page.locator('[data-testid=result][data-outcome=ok]');
    await result.waitFor();
    const text = await result.innerText();
    assert.match(text, new RegExp(foundationFacts.dict.definitions.portolan));
    assert.match(text, /Portolan Lab Dictionary/);
    assert.match(text, new RegExp(`127\\.0\\.0\\.1:${dictPort}`));
    assert.match(text, /connect \d/);
    await screenshot(page, '03-run-dict-define');

    await page.getByRole('tab', { name: /Transcript/ }).click();
    const timeline = page.getByRole('list', { name: 'Transcript' });
    await timeline.waitFor();
    assert.match(await timeline.innerText(), /DEFINE \* portolan/);
    await timeline.getByRole('button', { name: /DEFINE \* portolan/ }).click();
    // The frame's bytes: "DEFINE * portolan\r\n" in hex.
    assert.match(await timeline.locator('.hexdump').first().innerText(), /44 45 46 49 4e 45 20 2a/);
    await screenshot(page, '04-transcript');

    await page.getByRole('tab', { name: 'JSON' }).click();
    assert.match(await page.locator('.jt').first().innerText(), /definitions/);
  });

  test('a bad input shows the API field errors next to the fields', async () => {
    const page = b.page;
    await visit(`#/run/dict/define`);
    await page.getByLabel('Target host:port').fill('127.0.0.1:99999');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('[data-testid=result][data-outcome=invalid_input]').waitFor();
    const hostField = page.locator('[data-field=host]');
    assert.match(await hostField.locator('.field-error').innerText(), /port must be 1–65535/);
    const wordError = page.locator('[data-field=word] .field-error');
    assert.match(await wordError.innerText(), /required/);
    assert.match(await page.getByTestId('error').innerText(), /INVALID INPUT/i);
    await screenshot(page, '05-field-errors');
  });

  test('a refused connection shows the outcome badge and the message', async () => {
    const page = b.page;
    await visit(`#/run/dict/define?host=127.0.0.1&port=${closedPort}&word=x`);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('[data-testid=result][data-outcome=refused]').waitFor();
    assert.match(await page.getByTestId('error').innerText(), /refused/i);
  });

  test('the short route sends a browser to the prefilled form', async () => {
    const page = b.page;
    await page.goto(`${base}/dict/127.0.0.1:${dictPort}/lighthouse`);
    await page.waitForURL(/#\/run\/dict\/define\?/);
    assert.equal(await page.getByLabel('Target host:port').inputValue(), `127.0.0.1:${dictPort}`);
    assert.equal(await page.getByLabel(/^word\W*$/).inputValue(), 'lighthouse');
    await page.getByLabel(/^word\W*$/).press('Control+Enter');
    const result = page.locator('[data-testid=result][data-outcome=ok]');
    await result.waitFor();
    assert.match(await result.innerText(), new RegExp(foundationFacts.dict.definitions.lighthouse));
  });

  test('a secret never reaches the history or a shared link, and a saved target keeps it only when asked', async () => {
    const page = b.page;
    const { authUser, authSecret } = foundationFacts.dict;
    await visit(`#/run/dict/databases?host=127.0.0.1&port=${dictPort}`);
    // auth is not a primary field of databases: it waits under "More options".
    await page.locator('summary', { hasText: /^More options/ }).click();
    await page.locator('summary', { hasText: /^auth/ }).click();
    await page.getByLabel(/^user\W*$/).fill(authUser);
    const secret = page.locator('input[name="auth.secret"]');
    await secret.fill(authSecret);
    assert.equal(await secret.getAttribute('type'), 'password');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const result = page.locator('[data-testid=result][data-outcome=ok]');
    await result.waitFor();
    assert.match(await result.innerText(), /Portolan Lab Ports/);

    const stored = await page.evaluate(() => JSON.stringify(localStorage));
    assert.ok(stored.includes(authUser), 'the history keeps the user name');
    assert.ok(!stored.includes(authSecret), 'the history has no secret');

    await page.getByRole('button', { name: 'Copy link' }).click();
    const link = await page.evaluate(() => navigator.clipboard.readText());
    assert.match(link, new RegExp(`#/run/dict/databases\\?.*port=${dictPort}`));
    assert.ok(link.includes(authUser) && !link.includes(authSecret), link);

    // Saved without opting in: no secret.
    await page.getByRole('button', { name: 'Save target' }).click();
    await page.getByLabel(/^Name\W*$/).fill('lab dictd');
    await page.getByRole('dialog').getByRole('button', { name: 'Save target' }).click();
    assert.ok(!(await page.evaluate(() => localStorage.getItem('portolan.targets') ?? '')).includes(authSecret));
    // Saved with the per-target opt-in: the secret is kept for that target only.
    await page.getByRole('button', { name: 'Save target' }).click();
    await page.getByLabel(/^Name\W*$/).fill('lab dictd with secret');
    await page.getByRole('checkbox', { name: /Also keep auth\.secret/ }).check();
    await page.getByRole('dialog').getByRole('button', { name: 'Save target' }).click();
    const targets = JSON.parse(await page.evaluate(() => localStorage.getItem('portolan.targets') ?? '[]')) as { name: string; secrets?: Record<string, string> }[];
    assert.deepEqual(
      targets.map((t) => [t.name, t.secrets?.['auth.secret'] ?? null]),
      [
        ['lab dictd with secret', authSecret],
        ['lab dictd', null],
      ],
    );

    // Loading the opted-in target fills the secret back in.
    await visit(`#/run/dict/databases`);
    await page.getByLabel('Load a saved target').selectOption({ label: `lab dictd with secret (127.0.0.1:${dictPort})` });
    assert.equal(await page.getByLabel('Target host:port').inputValue(), `127.0.0.1:${dictPort}`);
    assert.equal(await page.locator('input[name="auth.secret"]').inputValue(), authSecret);

    await visit(`#/history`);
    const history = page.getByRole('table', { name: 'History' });
    await history.waitFor();
    assert.match(await history.innerText(), /DICT databases/);
    assert.match(await page.getByRole('table', { name: 'Saved targets' }).innerText(), /lab dictd with secret[\s\S]*kept in this browser/);
    await screenshot(page, '06-history-and-targets');
  });

  test('TCP ping draws a live RTT chart and the port check a grid', async () => {
    const page = b.page;
    await visit(`#/run/ping/tcp?host=127.0.0.1&port=${dictPort}&intervalMs=200`);
    await page.getByRole('button', { name: 'Live chart' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=rtt-chart] circle.dot').length >= 4, null, { timeout: 20_000 });
    assert.match(await page.getByLabel('Ping statistics').innerText(), /loss\s*0%/);
    await screenshot(page, '07-ping-live');
    await page.getByRole('button', { name: 'Pause' }).click();

    await visit(`#/run/ports/check?host=127.0.0.1&ports=${closedPort},${ports.foundation.echo},${dictPort}`);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const grid = page.getByTestId('port-grid');
    await grid.waitFor();
    const cells = await grid.locator('.portcell').evaluateAll((els) => els.map((e) => [e.querySelector('b')?.textContent, e.classList[1]]));
    assert.deepEqual(cells, [
      [String(closedPort), 'closed'],
      [String(ports.foundation.echo), 'open'],
      [String(dictPort), 'open'],
    ]);
    await screenshot(page, '08-port-grid');
  });

  test('the API page is generated from openapi.json and "What runs where" from the declarations', async () => {
    const page = b.page;
    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, unknown> };
    await visit(`#/api`);
    await page.locator('.endpoint').first().waitFor();
    assert.equal(await page.locator('.endpoint').count(), Object.values(doc.paths).reduce<number>((n, m) => n + Object.keys(m as object).length, 0));
    await page.getByLabel('Filter endpoints').fill('dict/define');
    await page.locator('.endpoint summary').first().click();
    assert.match(await page.locator('.endpoint').first().innerText(), /word[\s\S]*database/);
    await screenshot(page, '09-api');

    const caps = (await (await fetch(`${base}/api/capabilities`)).json()) as { operations: { protocol: string; operation: string; support: { workers: { supported: boolean } } }[] };
    const blocked = caps.operations.filter((o) => !o.support.workers.supported);
    await visit(`#/where`);
    const table = page.getByRole('table', { name: 'Operations workers cannot run' });
    await table.waitFor();
    assert.equal(await table.locator('tbody tr').count(), blocked.length);
    assert.match(await page.getByRole('table', { name: 'Capabilities by runtime' }).innerText(), /udp[\s\S]*datagram/);
    await screenshot(page, '10-what-runs-where');
  });

  test('keyboard: "/" focuses the search, Enter opens the match, focus stays visible', async () => {
    const page = b.page;
    await visit(`#/`);
    await page.locator('.card').first().waitFor();
    await page.locator('main').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Search protocols by name, port or category');
    await page.keyboard.type('gopher');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/p\/gopher$/);
    await page.getByRole('heading', { name: 'Gopher', level: 1 }).waitFor();
    // The next Tab lands on a link of the page, drawn with a visible outline.
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      return { tag: el.tagName, outline: getComputedStyle(el).outlineStyle };
    });
    assert.equal(focused.tag, 'A');
    assert.equal(focused.outline, 'solid');
  });

  test('light theme and phone layout', async () => {
    const phone = await launch({ viewport: { width: 390, height: 844 }, colorScheme: 'light' });
    try {
      const page = phone.page;
      await page.goto(`${base}/#/`);
      await page.locator('.card').first().waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
      // One column of cards, nothing wider than the screen.
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
      await screenshot(page, '11-phone-light-catalog', { fullPage: false });
      await page.goto(`${base}/#/run/dict/define?host=127.0.0.1&port=${dictPort}&word=harbour`);
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await page.locator('[data-testid=result][data-outcome=ok]').waitFor();
      assert.match(await page.getByTestId('result').innerText(), new RegExp(foundationFacts.dict.definitions.harbour));
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));
      await screenshot(page, '12-phone-light-result');
      // The theme button cycles system → light → dark.
      await page.getByRole('button', { name: /Switch theme/ }).click();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
      await page.getByRole('button', { name: /Switch theme/ }).click();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
      assert.deepEqual(realErrors(phone), []);
      assert.deepEqual(phone.offMachine, []);
    } finally {
      await phone.close();
    }
  });

  test('the page threw nothing and sent nothing off the machine', () => {
    assert.deepEqual(realErrors(b), []);
    assert.deepEqual(b.offMachine, []);
  });
});
