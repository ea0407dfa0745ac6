// SSH end to end in the browser: headless Chromium runs our SSH client (the UI's "Run in this browser" action, the chunk
// built from src/hosts/browser) against the lab sshd, and the Worker only relays bytes over /api/tunnel. The page's
// WebSocket is wrapped to record every tunnel frame: the password, the command and its output must never appear in clear.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ensureLab } from '../../lab/index.ts';
import { ports } from '../../lab/ports.ts';
import { clientKey, sshFacts } from '../../lab/servers/ssh.ts';
import { workerUrl } from '../../test/harness.ts';
import { launch, screenshot, type Browser } from './browser.ts';

declare global {
  interface Window {
    __tunnel: { urls: string[]; out: Uint8Array[]; in: Uint8Array[]; text: string[] };
  }
}

/**
 * Installed before any page script: a WebSocket that records the frames of /api/tunnel connections. A string, not a
 * function, so the test's TypeScript transform cannot put helpers into it that the page lacks.
 */
const recordTunnel = `(() => {
  const Native = window.WebSocket;
  const rec = { urls: [], out: [], in: [], text: [] };
  window.__tunnel = rec;
  const bytesOf = (d) =>
    d instanceof ArrayBuffer ? new Uint8Array(d.slice(0)) : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)) : undefined;
  const note = (d) => {
    if (typeof d === 'string') rec.text.push(d);
    else rec.text.push('unrecorded ' + Object.prototype.toString.call(d));
  };
  class Recording extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (!String(url).includes('/api/tunnel')) return;
      rec.urls.push(String(url));
      this.addEventListener('message', (e) => {
        const b = bytesOf(e.data);
        if (b) rec.in.push(b);
        else note(e.data);
      });
    }
    send(data) {
      if (this.url.includes('/api/tunnel')) {
        const b = bytesOf(data);
        if (b) rec.out.push(b);
        else note(data);
      }
      super.send(data);
    }
  }
  window.WebSocket = Recording;
})();`;

describe('SSH end to end in the browser', { timeout: 120_000 }, () => {
  let b: Browser;
  let base: string;

  before(async () => {
    await ensureLab(['ssh'], { quiet: true });
    base = workerUrl();
    b = await launch();
    await b.page.addInitScript({ content: recordTunnel });
  });

  after(async () => {
    await b?.close();
  });

  test('ssh exec runs in the page over /api/tunnel; the Worker relays only ciphertext', async () => {
    const page = b.page;
    const { user, password } = sshFacts.users.password;
    const command = 'echo e2e-$RANDOM-marker';
    const apiCalls: string[] = [];
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/api/ssh')) apiCalls.push(`${r.method()} ${path}`);
    });

    await page.goto(`${base}/#/run/ssh/exec?host=127.0.0.1&port=${sshFacts.port}&username=${user}`);
    await page.locator('input[name=password]').fill(password);
    await page.locator('[name=command]').fill(command);
    const started = Date.now();
    await page.getByRole('button', { name: 'Run in this browser (end to end)' }).click();
    const result = page.locator('[data-testid=result]');
    await result.waitFor({ timeout: 60_000 });
    const ms = Date.now() - started;
    const text = await result.innerText();
    assert.equal(await result.getAttribute('data-outcome'), 'ok', text);
    const marker = /e2e-(\d+)-marker/.exec(text);
    assert.ok(marker, `the output is on the page: ${text}`);
    assert.match(await page.getByTestId('end-to-end').innerText(), /end to end in this browser · \d+ bytes relayed/);
    await screenshot(page, '20-ssh-end-to-end');

    // What went over the Worker: one tunnel to the lab sshd, data both ways, control messages as JSON.
    const rec = await page.evaluate(() => ({
      urls: window.__tunnel.urls,
      text: window.__tunnel.text,
      out: window.__tunnel.out.map((u) => Array.from(u)),
      in: window.__tunnel.in.map((u) => Array.from(u)),
    }));
    assert.deepEqual(
      rec.urls.map((u) => new URL(u).search),
      [`?host=127.0.0.1&port=${sshFacts.port}`],
    );
    const sent = Buffer.concat(rec.out.map((a) => Buffer.from(a)));
    const received = Buffer.concat(rec.in.map((a) => Buffer.from(a)));
    const all = Buffer.concat([sent, received]);
    assert.ok(sent.length > 500 && received.length > 1000, `relayed ${sent.length} bytes out, ${received.length} in`);
    assert.equal(Number(/(\d+) bytes relayed/.exec(await page.getByTestId('end-to-end').innerText())?.[1]), all.length);
    // The version lines and KEXINIT are public by design (RFC 4253 §4.2, §7.1); all after NEWKEYS is encrypted.
    assert.ok(sent.includes('SSH-2.0-'), 'our version line went through the tunnel');
    assert.ok(received.includes('SSH-2.0-OpenSSH'), "the server's version line came back through the tunnel");
    for (const secret of [password, user, command, 'e2e-', marker[0], '-marker']) {
      assert.ok(!all.includes(secret), `the Worker relayed ${JSON.stringify(secret)} in clear`);
    }
    // Text frames are only control messages; none carries a secret.
    const types = new Set(rec.text.map((t) => (JSON.parse(t) as { type: string }).type));
    assert.ok(types.has('open') && types.has('ack') && [...types].every((t) => ['open', 'ack', 'eof'].includes(t)), [...types].join());
    for (const t of rec.text) assert.ok(!t.includes(password) && !t.includes('marker'), t);

    // The server-side operation was never called: nothing but the tunnel reached the API for ssh.
    assert.deepEqual(apiCalls, []);
    assert.deepEqual(b.pageErrors.filter((e) => !e.startsWith('Failed to load resource')), []);
    assert.deepEqual(b.offMachine, []);
    console.log(`# ssh exec end to end in chromium: ${ms} ms click to result, ${sent.length} bytes out, ${received.length} bytes in, ${rec.text.length} control messages`);
  });

  test('agent forwarding in the page: the server\'s ssh signs with the page\'s key through the forwarded agent', async () => {
    const page = b.page;
    await page.goto('about:blank');
    const user = sshFacts.users.ed25519.user;
    const key = clientKey('ed25519');
    const apiCalls: string[] = [];
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/api/ssh')) apiCalls.push(`${r.method()} ${path}`);
    });
    await page.goto(`${base}/#/run/ssh/exec?host=127.0.0.1&port=${sshFacts.port}&username=${user}&forwardAgent=true`);
    await page.locator('[name=privateKey]').fill(key);
    const hop = `ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -p ${sshFacts.port} ${user}@127.0.0.1 'echo second-hop-$((6*7))'`;
    await page.locator('[name=command]').fill(`ssh-add -l; ${hop}`);
    assert.equal(await page.locator('input[name=forwardAgent]').isChecked(), true);
    await page.getByRole('button', { name: 'Run in this browser (end to end)' }).click();
    const result = page.locator('[data-testid=result]');
    await result.waitFor({ timeout: 60_000 });
    const text = await result.innerText();
    assert.equal(await result.getAttribute('data-outcome'), 'ok', text);
    assert.match(text, /256 SHA256:\S+ .*\(ED25519\)/);
    assert.match(text, /second-hop-42/);
    await screenshot(page, '21-ssh-agent-forwarding');
    // The key never went over the Worker: not in a frame, not in a request.
    const rec = await page.evaluate(() => ({ out: window.__tunnel.out.map((u) => Array.from(u)), text: window.__tunnel.text }));
    const sent = Buffer.concat(rec.out.map((a) => Buffer.from(a)));
    const body = key.split('\n').slice(1, -2).join('');
    assert.ok(body.length > 100 && !sent.includes(body.slice(0, 40)) && !rec.text.some((t) => t.includes(body.slice(0, 40))), 'the private key crossed the tunnel in clear');
    assert.deepEqual(apiCalls, []);
  });

  test('a closed port fails with refused, reported by the tunnel to the page', async () => {
    const page = b.page;
    await page.goto('about:blank');
    await page.goto(`${base}/#/run/ssh/exec?host=127.0.0.1&port=${ports.foundation.closedPort}&username=${sshFacts.users.password.user}`);
    await page.locator('input[name=password]').fill(sshFacts.users.password.password);
    await page.locator('[name=command]').fill('true');
    await page.getByRole('button', { name: 'Run in this browser (end to end)' }).click();
    const result = page.locator('[data-testid=result]');
    await result.waitFor({ timeout: 30_000 });
    assert.equal(await result.getAttribute('data-outcome'), 'refused', await result.innerText());
    const rec = await page.evaluate(() => ({ urls: window.__tunnel.urls, out: window.__tunnel.out.length, text: window.__tunnel.text }));
    assert.equal(rec.urls.length, 1);
    assert.equal(rec.out, 0, 'nothing was sent before the tunnel opened');
    assert.ok(rec.text.some((t) => (JSON.parse(t) as { type: string; code?: string }).code === 'refused'), rec.text.join());
  });
});
