// The UI's SSH terminal against the lab sshd: headless Chromium opens the `terminal` session of `ssh` (a WebSocket to the
// Worker, which runs the SSH client and a pty shell), types into xterm.js and reads what the shell drew back.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ensureLab } from '../../lab/index.ts';
import { fingerprintOf, hostPublicKey, sshFacts } from '../../lab/servers/ssh.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

describe('SSH terminal in the browser', { timeout: 300_000 }, () => {
  let b: Browser;
  let base: string;

  before(async () => {
    await ensureLab(['ssh'], { quiet: true });
    base = workerUrl();
    b = await launch();
  });

  after(async () => {
    await b?.close();
  });

  /** The terminal's rows as text (xterm's DOM renderer: one element per row). */
  const rows = () => b.page.locator('.xterm-rows > div').evaluateAll((divs) => divs.map((d) => (d.textContent ?? '').replace(/\u00a0/g, ' ')));

  test('typed keys reach the lab shell and its output is drawn in the terminal', async () => {
    const page = b.page;
    const { user, password } = sshFacts.users.password;
    const frames: { sentBinary: number; sentText: string[]; receivedBinary: number; receivedChars: number } = { sentBinary: 0, sentText: [], receivedBinary: 0, receivedChars: 0 };
    page.on('websocket', (ws) => {
      if (!ws.url().endsWith('/api/ssh/terminal')) return;
      ws.on('framesent', (f) => {
        if (typeof f.payload === 'string') frames.sentText.push(f.payload);
        else frames.sentBinary += f.payload.length;
      });
      ws.on('framereceived', (f) => {
        if (typeof f.payload !== 'string') frames.receivedBinary += f.payload.length;
        else frames.receivedChars += f.payload.length;
      });
    });

    await page.goto(`${base}/#/run/ssh/terminal?host=127.0.0.1&port=${sshFacts.port}&username=${user}`);
    await page.locator('input[name=password]').fill(password);
    await page.getByRole('button', { name: 'Start session' }).click();
    // First contact: the host's key fingerprints, as ssh-keygen computes them from the lab's key files, and a choice.
    const prompt = page.getByRole('alertdialog', { name: 'Unknown host key' });
    await prompt.waitFor({ timeout: 30_000 });
    const offered = await prompt.getByTestId('offered-fingerprints').innerText();
    for (const type of sshFacts.hostKeyTypes) assert.ok(offered.includes(fingerprintOf(hostPublicKey(type))), `${type} fingerprint in:\n${offered}`);
    await screenshot(page, '13a-terminal-unknown-host');
    await prompt.getByRole('button', { name: 'Trust and connect' }).click();
    const terminal = page.getByTestId('terminal');
    await terminal.waitFor();
    await page.locator('[data-testid=session][data-state=open]').waitFor({ timeout: 30_000 });
    await terminal.scrollIntoViewIfNeeded();
    // bash's prompt ends with `$ ` once the login finished.
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((d) => /\$\s*$/.test((d.textContent ?? '').replace(/\u00a0/g, ' '))), undefined, { timeout: 30_000 });

    await terminal.click();
    await page.keyboard.type('echo typed-$RANDOM');
    const typedAt = Date.now();
    await page.keyboard.press('Enter');
    // The shell expands $RANDOM: a row that is exactly typed-<digits> was drawn by the command, not by the echo of our keys.
    let output: string | undefined;
    for (let i = 0; i < 100 && !output; i++) {
      output = (await rows()).map((r) => r.trim()).find((r) => /^typed-\d+$/.test(r));
      if (!output) await page.waitForTimeout(50);
    }
    assert.ok(output, `no typed-<number> row in:\n${(await rows()).join('\n')}`);
    const echoMs = Date.now() - typedAt;
    assert.ok((await rows()).some((r) => r.includes('echo typed-$RANDOM')), 'the pty echoed the typed command line');
    await screenshot(page, '13-terminal');

    // The first text frame is the start message with the input; keystrokes went out as binary.
    const start = JSON.parse(frames.sentText.find((t) => t.includes('"start"'))!) as { type: string; input: Record<string, unknown> };
    assert.equal(start.type, 'start');
    assert.equal(start.input.username, user);
    // The key trusted a moment ago is pinned.
    assert.ok((start.input.hostKeyFingerprint as string[]).includes(fingerprintOf(hostPublicKey('ed25519'))));
    assert.ok(frames.sentBinary >= 'echo typed-$RANDOM\r'.length, `${frames.sentBinary} binary bytes sent`);
    assert.ok(frames.sentText.some((t) => (JSON.parse(t) as { type: string }).type === 'resize'));
    assert.ok(!page.url().includes(password));
    // Every byte the terminal drew, and every JSON message shown, was credited back to the session
    // ({"type":"ack"}, batched; JSON counts its characters).
    const acked = () => frames.sentText.map((t) => JSON.parse(t) as { type: string; bytes?: number }).reduce((n, m) => n + (m.type === 'ack' ? (m.bytes ?? 0) : 0), 0);
    const received = () => frames.receivedBinary + frames.receivedChars;
    for (let i = 0; i < 50 && acked() < received(); i++) await page.waitForTimeout(20);
    assert.equal(acked(), received());
    console.log(`# ssh terminal: Enter to output drawn ${echoMs} ms (polled every 50 ms), ${frames.receivedBinary} bytes drawn and acknowledged`);

    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=session][data-state=ended]').waitFor({ timeout: 30_000 });
    const result = page.locator('[data-testid=result][data-outcome=ok]');
    await result.waitFor();
    assert.match(await result.innerText(), /exit status\s*0/);
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
    assert.deepEqual(b.offMachine, []);
  });

  const { user, password } = sshFacts.users.password;
  const rowsText = async () => (await rows()).map((r) => r.trimEnd()).join('\n');
  const untilRow = async (re: RegExp) => {
    for (let i = 0; i < 200; i++) {
      if ((await rows()).some((r) => re.test(r.trim()))) return;
      await b.page.waitForTimeout(50);
    }
    assert.fail(`no row matching ${re} in:\n${await rowsText()}`);
  };

  async function startKnown(opts: { record?: boolean } = {}): Promise<void> {
    const page = b.page;
    await page.goto('about:blank');
    await page.goto(`${base}/#/run/ssh/terminal?host=127.0.0.1&port=${sshFacts.port}&username=${user}`);
    await page.locator('input[name=password]').fill(password);
    if (opts.record) {
      await page.locator('summary', { hasText: /^More options/ }).click();
      await page.locator('[data-field=record] input').check();
    }
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.locator('[data-testid=session][data-state=open]').waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => [...document.querySelectorAll('.xterm-rows > div')].some((d) => /\$\s*$/.test((d.textContent ?? '').replace(/\u00a0/g, ' '))), undefined, { timeout: 30_000 });
  }

  test('the terminal takes the page; fullscreen, font size, copy, paste and the extra keys', async () => {
    const page = b.page;
    await startKnown();
    // A known host connects without asking; the form folds into a connection bar.
    assert.equal(await page.getByRole('alertdialog').count(), 0);
    assert.equal(await page.locator('section[aria-label=Input]').isVisible(), false);
    assert.match(await page.locator('[aria-label=Connection]').innerText(), new RegExp(`${user}@127\\.0\\.0\\.1:${sshFacts.port}`));
    const box = (await page.getByTestId('terminal').boundingBox())!;
    assert.ok(box.width > 1100 && box.height > 400, `terminal ${box.width}x${box.height} in a 1360x900 window`);
    await screenshot(page, '13b-terminal-wide', { fullPage: false });

    await page.getByRole('button', { name: 'Fullscreen' }).click();
    await page.waitForFunction(() => document.fullscreenElement?.getAttribute('data-testid') === 'terminal-wrap');
    const full = (await page.getByTestId('terminal').boundingBox())!;
    assert.ok(full.height > box.height, `fullscreen ${full.height} px high, was ${box.height}`);
    await screenshot(page, '13c-terminal-fullscreen', { fullPage: false });
    await page.getByRole('button', { name: 'Exit fullscreen' }).click();
    await page.waitForFunction(() => document.fullscreenElement === null);

    const font = await page.getByTestId('font-size').innerText();
    await page.getByRole('button', { name: 'Larger font' }).click();
    assert.equal(await page.getByTestId('font-size').innerText(), `${Number.parseInt(font) + 1}px`);
    assert.equal(await page.locator('.xterm-rows').evaluate((el) => getComputedStyle(el).fontSize), `${Number.parseInt(font) + 1}px`);

    await page.getByTestId('terminal').click();
    await page.keyboard.type('echo copy-me-$((2+3))');
    await page.keyboard.press('Enter');
    await untilRow(/^copy-me-5$/);
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByRole('status').filter({ hasText: /^Copied \d+ characters$/ }).waitFor();
    assert.match(await page.evaluate(() => navigator.clipboard.readText()), /^copy-me-5$/m);

    await page.evaluate(() => navigator.clipboard.writeText('echo pasted-$((3*3))\n'));
    await page.getByRole('button', { name: 'Paste' }).click();
    // bash asked for bracketed paste: the pasted line waits at the prompt until Enter.
    await untilRow(/\$ echo pasted-\$\(\(3\*3\)\)$/);
    assert.ok(!(await rows()).some((r) => r.trim() === 'pasted-9'), 'a pasted newline does not run the command');
    await page.getByTestId('terminal').click();
    await page.keyboard.press('Enter');
    await untilRow(/^pasted-9$/);

    // Ctrl from the extra-keys row, then "l": bash clears the screen.
    await page.getByRole('button', { name: 'Keys' }).click();
    await page.getByRole('toolbar', { name: 'Extra keys' }).getByRole('button', { name: 'Ctrl' }).click();
    await page.keyboard.type('l');
    for (let i = 0; i < 100 && (await rowsText()).includes('pasted-9'); i++) await page.waitForTimeout(50);
    assert.ok(!(await rowsText()).includes('pasted-9'), 'Ctrl+L cleared the screen');
    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=session][data-state=ended]').waitFor({ timeout: 30_000 });
  });

  test('a recording keeps no typed input (a password at a prompt), plays back in the page and downloads as .cast', async () => {
    const page = b.page;
    const secret = `typed-secret-${process.pid}`;
    await startKnown({ record: true });
    await page.getByTestId('terminal').click();
    // Echo goes off before the prompt shows (bash's read -s may show its prompt first).
    await page.keyboard.type('stty -echo; read -r -p "Password: " p; stty echo; echo; echo got-${#p}-chars');
    await page.keyboard.press('Enter');
    await untilRow(/^Password:$/);
    await page.keyboard.type(secret);
    await page.keyboard.press('Enter');
    await untilRow(new RegExp(`^got-${secret.length}-chars$`));
    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
    const player = page.getByRole('region', { name: 'Recording' });
    await player.waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([page.waitForEvent('download'), player.getByRole('button', { name: 'Download .cast' }).click()]);
    assert.match(download.suggestedFilename(), /\.cast$/);
    const cast = readFileSync((await download.path())!, 'utf8');
    assert.equal(JSON.parse(cast.split('\n')[0]).version, 2);
    assert.ok(cast.includes(`got-${secret.length}-chars`));
    assert.ok(!cast.includes(secret), 'the password typed at the prompt is not in the recording');
    await player.getByLabel('Playback speed').selectOption('2');
    await player.getByRole('button', { name: 'End' }).click();
    await page.waitForFunction((text) => (document.querySelector('[data-testid=player]')?.textContent ?? '').includes(text), `got-${secret.length}-chars`, { timeout: 20_000 });
    assert.match(await player.getByTestId('playback-time').innerText(), /^\d+\.\d \/ \d+\.\d s$/);
    await screenshot(page, '13d-terminal-recording');
  });

  test('a known host that shows another key: a warning, no connection, and the old key can be forgotten', async () => {
    const page = b.page;
    await page.goto(`${base}/#/`);
    // As if the server's keys had been replaced since they were trusted.
    await page.evaluate(() => {
      const list = JSON.parse(localStorage.getItem('portolan.knownHosts') ?? '[]') as { fingerprint: string }[];
      localStorage.setItem('portolan.knownHosts', JSON.stringify(list.map((k) => ({ ...k, fingerprint: 'SHA256:' + 'A'.repeat(43) }))));
    });
    let connected = false;
    page.on('websocket', (ws) => ws.on('framereceived', (f) => (connected ||= typeof f.payload === 'string' && f.payload.includes('"connected"') && f.payload.includes('"auth"'))));
    await page.goto('about:blank');
    await page.goto(`${base}/#/run/ssh/terminal?host=127.0.0.1&port=${sshFacts.port}&username=${user}`);
    await page.locator('input[name=password]').fill(password);
    await page.getByRole('button', { name: 'Start session' }).click();
    const warning = page.getByRole('alert', { name: 'Host key changed' });
    await warning.waitFor({ timeout: 30_000 });
    assert.match(await warning.getByTestId('known-fingerprints').innerText(), /SHA256:A{43}/);
    assert.ok((await warning.getByTestId('new-fingerprints').innerText()).includes(fingerprintOf(hostPublicKey('ed25519'))));
    assert.equal(connected, false, 'the shell never opened');
    await screenshot(page, '13e-terminal-host-key-changed');
    await warning.getByRole('button', { name: 'Forget the old key' }).click();
    assert.equal(await page.evaluate(() => (JSON.parse(localStorage.getItem('portolan.knownHosts') ?? '[]') as unknown[]).length), 0);
    // Starting again asks as on first contact.
    await page.getByRole('button', { name: 'Start session' }).click();
    await page.getByRole('alertdialog', { name: 'Unknown host key' }).waitFor({ timeout: 30_000 });
  });
});
