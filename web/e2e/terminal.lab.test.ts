// The UI's SSH terminal against the lab sshd: headless Chromium opens the `terminal` session of `ssh` (a WebSocket to the
// Worker, which runs the SSH client and a pty shell), types into xterm.js and reads what the shell drew back.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureLab } from '../../lab/index.ts';
import { sshFacts } from '../../lab/servers/ssh.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

describe('SSH terminal in the browser', { timeout: 120_000 }, () => {
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
    const terminal = page.getByTestId('terminal');
    await terminal.waitFor();
    await page.locator('[data-testid=session][data-state=open]').waitFor({ timeout: 30_000 });
    // The form is long: after the click the terminal is above the viewport, and xterm does not draw while it is hidden.
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
    const start = JSON.parse(frames.sentText[0]) as { type: string; input: Record<string, unknown> };
    assert.equal(start.type, 'start');
    assert.equal(start.input.username, user);
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
});
