// `npm start` as a developer runs it: the local-development policy (loopback allowed, no rate limits,
// names resolved as this machine resolves them), a quiet start without the internet, and a stop by
// SIGTERM that takes wrangler and workerd with it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { ensureLab, ports } from '../lab/index.ts';
import { freePort } from './harness.ts';

let child: ChildProcess;
let url: string;
let output = '';

before(async () => {
  await ensureLab(['foundation']);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  // Its own process group, so the test can tell whether anything it started outlives it.
  child = spawn('npm', ['start'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 90_000;
  for (;;) {
    assert.ok(Date.now() < deadline, `npm start did not answer within 90 s:\n${output}`);
    assert.equal(child.exitCode, null, `npm start exited:\n${output}`);
    const up = await fetch(`${url}/api/runtime`).then((r) => r.ok, () => false);
    if (up) break;
    await new Promise((r) => setTimeout(r, 300));
  }
});

after(() => {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // stopped by the last test, as it should be
  }
});

const post = (protocol: string, operation: string, input: Record<string, unknown>) =>
  fetch(`${url}/api/${protocol}/${operation}`, { method: 'POST', body: JSON.stringify(input) }).then(async (r) => ({ status: r.status, body: await r.json() }));

test('npm start: no rate limit on a lab target (65 requests in a row to one server)', async () => {
  for (let i = 0; i < 65; i++) {
    const r = await post('echo', 'send', { host: '127.0.0.1', port: ports.foundation.echo, data: `n${i}` });
    assert.equal(r.status, 200, `request ${i + 1}: ${JSON.stringify(r.body)}`);
  }
});

test("npm start: a host name resolves with this machine's resolver (/etc/hosts), then the policy judges it", async () => {
  const name = hostname();
  const { address } = await lookup(name);
  const r = await post('echo', 'send', { host: name, port: ports.foundation.echo, data: 'hi' });
  if (address.startsWith('127.') || address === '::1') {
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.text, 'hi');
  } else {
    // Not loopback here: still resolved (the guard names the address), and refused by the local policy.
    assert.equal(r.body.error.code, 'target_blocked', JSON.stringify(r.body));
    assert.ok(r.body.error.message.includes(address), JSON.stringify(r.body));
  }
});

test('npm start: the start prints no stack trace (nothing is fetched from the internet)', () => {
  assert.doesNotMatch(output, /^\s+at .+\(.+:\d+:\d+\)$/m, output);
  assert.doesNotMatch(output, /ENOTFOUND|Unable to fetch/, output);
});

/** Processes whose command line names this port (wrangler dev, workerd). */
function serving(port: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue; // gone meanwhile
    }
    if (cmdline.includes(`--port ${port} `) || cmdline.includes(`127.0.0.1:${port} `)) found.push(`${pid} ${cmdline.slice(0, 120)}`);
  }
  return found;
}

test('npm start: SIGTERM to npm stops wrangler and workerd with it', async () => {
  const port = new URL(url).port;
  assert.ok(serving(port).length > 0, 'no wrangler process found for the port');
  process.kill(child.pid!, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  for (;;) {
    const left = serving(port);
    const answering = await fetch(`${url}/api/runtime`).then(() => true, () => false);
    if (left.length === 0 && !answering) break;
    assert.ok(Date.now() < deadline, `15 s after SIGTERM: ${answering ? 'still answering; ' : ''}${left.join('; ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
});
