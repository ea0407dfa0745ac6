// The terminal view against the generic session contract, before the SSH shell session lands: this test makes sure the ssh
// declaration the Worker serves has a `shell` session and answers its WebSocket in the browser (playwright's routeWebSocket):
// the first message must be {"type":"start","input"}, keystrokes must go out as binary frames, binary frames must reach the screen
// and be acknowledged ({"type":"ack","bytes":n}, the credit the SSH session driver and /api/tunnel wait for).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

describe('terminal session view', { timeout: 120_000 }, () => {
  let b: Browser;
  let base: string;

  before(async () => {
    base = workerUrl();
    b = await launch();
  });

  after(async () => {
    await b?.close();
  });

  test('keystrokes go out as binary frames, output and the end message come back', async () => {
    const page = b.page;
    await page.route('**/api/protocols', async (route) => {
      const res = await route.fetch();
      const registry = (await res.json()) as { protocols: { id: string; operations: Record<string, unknown>[] }[] };
      const ssh = registry.protocols.find((p) => p.id === 'ssh');
      assert.ok(ssh, 'the registry has ssh');
      const shell = ssh.operations.find((o) => o.name === 'shell');
      // While the SSH shell is wired to WebSockets, its declaration may still say `request`.
      if (shell) shell.kind = 'session';
      else {
        ssh.operations.push({
          name: 'shell',
          summary: 'An interactive shell (stand-in for the test)',
          kind: 'session',
          needs: ['tcp'],
          input: { type: 'object', properties: { host: { type: 'string' }, port: { type: 'integer', description: 'Target port (default 22)' }, username: { type: 'string' }, password: { type: 'string' } }, required: ['host', 'username'] },
          output: { type: 'object', properties: { exitStatus: { type: ['number', 'null'] } } },
          support: { workers: { supported: true }, node: { supported: true } },
        });
      }
      await route.fulfill({ response: res, json: registry });
    });

    const seen: { start?: Record<string, unknown>; typed: string; resizes: { cols: number; rows: number }[]; textFrames: string[]; sent: number; acked: number } = { typed: '', resizes: [], textFrames: [], sent: 0, acked: 0 };
    await page.routeWebSocket(/\/api\/ssh\/shell$/, (route) => {
      let line = '';
      const ws = {
        send(data: string | Buffer) {
          if (typeof data !== 'string') seen.sent += data.length;
          route.send(data);
        },
        close: (o: { code: number; reason: string }) => route.close(o),
        onMessage: (h: (m: string | Buffer) => void) => route.onMessage(h),
      };
      ws.onMessage((message) => {
        if (typeof message === 'string') {
          seen.textFrames.push(message);
          const m = JSON.parse(message) as { type: string; input?: Record<string, unknown>; cols?: number; rows?: number };
          if (m.type === 'start') {
            seen.start = m.input;
            ws.send(Buffer.from('Welcome to the lab shell\r\n$ '));
          } else if (m.type === 'resize') seen.resizes.push({ cols: m.cols!, rows: m.rows! });
          else if (m.type === 'ack') seen.acked += (m as { bytes?: number }).bytes ?? 0;
          return;
        }
        // A pty echoes what it receives; Enter runs the line.
        const text = message.toString('utf8');
        seen.typed += text;
        for (const ch of text) {
          if (ch === '\r') {
            if (line === 'exit') {
              ws.send(Buffer.from('\r\nlogout\r\n'));
              ws.send(JSON.stringify({ type: 'end', result: { exitStatus: 0 }, timing: { connectMs: 1, totalMs: 5 } }));
              ws.close({ code: 1000, reason: 'session ended' });
              return;
            }
            ws.send(Buffer.from(`\r\nyou typed: ${line}\r\n$ `));
            line = '';
          } else {
            line += ch;
            ws.send(Buffer.from(ch));
          }
        }
      });
    });

    await page.goto(`${base}/#/run/ssh/shell?host=127.0.0.1&port=12222&username=lab`);
    await page.locator('input[name=password]').fill('not-in-the-url');
    await page.getByRole('button', { name: 'Start session' }).click();
    const terminal = page.getByTestId('terminal');
    await terminal.waitFor();
    await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('Welcome to the lab shell'));
    assert.deepEqual(seen.start, { host: '127.0.0.1', port: 12222, username: 'lab', password: 'not-in-the-url' });
    assert.ok(!page.url().includes('not-in-the-url'));
    assert.ok(seen.resizes.length > 0 && seen.resizes.every((r) => r.cols > 10 && r.rows > 5), JSON.stringify(seen.resizes));

    await terminal.click();
    await page.keyboard.type('uname -a');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('.xterm-rows')?.textContent?.includes('you typed: uname -a'));
    assert.equal(seen.typed, 'uname -a\r');
    // Every byte drawn is acknowledged (batched).
    for (let i = 0; i < 50 && seen.acked < seen.sent; i++) await page.waitForTimeout(20);
    assert.equal(seen.acked, seen.sent);
    await screenshot(page, '13-terminal');

    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=session][data-state=ended]').waitFor();
    const result = page.locator('[data-testid=result][data-outcome=ok]');
    await result.waitFor();
    assert.match(await result.innerText(), /exit status\s*0/);
    // Only start, resize and acks went out as text; the keystrokes were binary.
    assert.deepEqual([...new Set(seen.textFrames.map((t) => (JSON.parse(t) as { type: string }).type))].sort(), ['ack', 'resize', 'start']);
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
    assert.deepEqual(b.offMachine, []);
  });
});
