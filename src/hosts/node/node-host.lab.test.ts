// The Node host (`portolan serve`) as a user runs it: the foundation exemplars through its API, the
// capability probe at /api/runtime, the UI's assets, WebSocket upgrades (tunnel), the policy and token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { ports } from '../../../lab/index.ts';
import { foundationFacts } from '../../../lab/servers/foundation.ts';
import { callNode, startNodeHost, type RunningNodeHost } from '../../../test/node-host.ts';
import { DEFAULT_ASSETS_DIR } from './server.ts';

let host: RunningNodeHost;
let locked: RunningNodeHost;

before(async () => {
  [host, locked] = await Promise.all([startNodeHost(), startNodeHost({ args: ['--token', 'node-secret'] })]);
});
after(async () => {
  await Promise.all([host?.stop(), locked?.stop()]);
});

test('node host: /api/runtime reports the probe — UDP works, root binds privileged ports, ICMP echo as the kernel says', async () => {
  const res = await fetch(`${host.url}/api/runtime`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.runtime, 'node');
  assert.equal(body.probe.udp.ok, true, body.probe.udp.detail);
  const root = process.getuid!() === 0;
  assert.equal(body.probe.privilegedSourcePorts.ok, root, body.probe.privilegedSourcePorts.detail);
  assert.equal(body.probe.privilegedSourcePorts.uid, process.getuid!());
  assert.ok(body.capabilities.includes('udp'));
  assert.equal(body.capabilities.includes('privilegedPort'), root);
  // A server's connection back (rsh/rexec standard error) and TLS version bounds need no privilege.
  assert.ok(body.capabilities.includes('listen') && body.capabilities.includes('tlsVersion'));
  // ICMP: what the kernel allows is read from /proc; Node has no ICMP socket API, so the host never claims it.
  const range = readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim();
  assert.equal(body.probe.icmpEcho.pingGroupRange, range);
  assert.equal(body.probe.icmpEcho.ok, false);
  assert.match(body.probe.icmpEcho.detail, /no ICMP socket API/);
  assert.equal(body.policy.allow, '127.0.0.0/8,::1/128');
  assert.match(host.startup, /udp: yes/);
});

test('node host: echo through the Node dialer, bytes and text back unchanged', async () => {
  const r = await callNode(host, 'echo', 'send', { host: '127.0.0.1', port: ports.foundation.echo, data: 'Grüße from the Node host ⚓' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.text, 'Grüße from the Node host ⚓');
  assert.equal(r.body.result.matches, true);
  const bin = await callNode(host, 'echo', 'send', { host: '127.0.0.1', port: ports.foundation.echo, hex: '00ff10fe7f80' });
  assert.equal(bin.body.result.hex, '00ff10fe7f80');
});

test('node host: dict DEFINE and AUTH, the secret kept out of the transcript', async () => {
  const target = { host: '127.0.0.1', port: ports.foundation.dict };
  const r = await callNode(host, 'dict', 'define', { ...target, word: 'lighthouse' });
  assert.equal(r.status, 200);
  assert.match(r.body.result.definitions[0].text, new RegExp(foundationFacts.dict.definitions.lighthouse));
  const auth = { user: foundationFacts.dict.authUser, secret: foundationFacts.dict.authSecret };
  const ok = await callNode(host, 'dict', 'define', { ...target, word: 'harbour', auth }, { transcript: true });
  assert.equal(ok.status, 200);
  assert.ok(!JSON.stringify(ok.body.transcript).includes(auth.secret));
  const bad = await callNode(host, 'dict', 'define', { ...target, word: 'harbour', auth: { ...auth, secret: 'wrong' } });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'auth_failed');
});

test('node host: the transcript shows the connection to the checked address', async () => {
  const r = await callNode(host, 'echo', 'send', { host: 'localhost', port: ports.foundation.echo, data: 'x' }, { transcript: true });
  assert.equal(r.status, 200);
  const notes = r.body.transcript.entries.filter((e: { dir: string }) => e.dir === 'info').map((e: { decode?: string; text?: string }) => e.decode ?? e.text ?? '');
  assert.ok(notes.some((n: string) => /to 127\.0\.0\.1:/.test(n)), JSON.stringify(notes));
});

test('node host: a refused port, and a target outside the policy', async () => {
  const refused = await callNode(host, 'echo', 'send', { host: '127.0.0.1', port: ports.foundation.closedPort, data: 'x' });
  assert.equal(refused.status, 502);
  assert.equal(refused.body.error.code, 'refused');
  const blocked = await callNode(host, 'echo', 'send', { host: '10.1.2.3', port: 7, data: 'x' });
  assert.equal(blocked.status, 403);
  assert.equal(blocked.body.error.code, 'target_blocked');
  assert.match(blocked.body.error.message, /private network/);
});

test('node host: the UI is served from web/dist, API 404s stay JSON', async () => {
  const index = readFileSync(join(DEFAULT_ASSETS_DIR, 'index.html'), 'utf8');
  // A browser asks for HTML (curl's */* gets the text index).
  const res = await fetch(`${host.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.equal(await res.text(), index);
  const page = await fetch(`${host.url}/some/page/route`, { headers: { accept: "text/html" } });
  assert.equal(await page.text(), index);
  const traversal = await fetch(`${host.url}/..%2f..%2fpackage.json`);
  assert.notEqual(traversal.status, 200);
  const missing = await fetch(`${host.url}/api/nothing-here`);
  assert.equal(missing.status, 400);
  assert.equal((await missing.json()).error.code, 'invalid_input');
});

test('node host: /api/protocols marks UDP operations as available here', async () => {
  const body = await (await fetch(`${host.url}/api/protocols`)).json();
  assert.equal(body.runtime, 'node');
  const dict = body.protocols.find((p: { id: string }) => p.id === 'dict');
  assert.equal(dict.operations[0].availableHere, true);
});

test('node host: the tunnel WebSocket carries bytes to the echo server and back', async () => {
  const ws = new WebSocket(`${host.url.replace('http', 'ws')}/api/tunnel?host=127.0.0.1&port=${ports.foundation.echo}`);
  ws.binaryType = 'arraybuffer';
  const control: { type: string }[] = [];
  let got = '';
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo: ${JSON.stringify(control)} ${got}`)), 10_000);
    ws.addEventListener('message', (e) => {
      if (typeof e.data === 'string') {
        const msg = JSON.parse(e.data);
        control.push(msg);
        if (msg.type === 'open') ws.send(new TextEncoder().encode('through the tunnel\r\n'));
      } else {
        got += new TextDecoder().decode(e.data as ArrayBuffer);
        ws.send(JSON.stringify({ type: 'ack', bytes: (e.data as ArrayBuffer).byteLength }));
        if (got.includes('through the tunnel\r\n')) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    ws.addEventListener('error', () => reject(new Error('websocket error')));
  });
  await done;
  ws.close();
  assert.equal(control[0].type, 'open');
  assert.equal(got, 'through the tunnel\r\n');
});

test('node host: an upgrade the app refuses is answered with its JSON error, not a 101', async () => {
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(`${host.url}/api/tunnel?host=10.0.0.1&port=7`, {
      headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' },
    });
    req.on('upgrade', () => reject(new Error('upgraded to a blocked target')));
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(answer.status, 403);
  const body = JSON.parse(answer.body);
  assert.equal(body.error.code, 'target_blocked');
});

test('node host: with --token, the API needs the bearer token', async () => {
  const target = { host: '127.0.0.1', port: ports.foundation.echo, data: 'tok' };
  const anon = await callNode(locked, 'echo', 'send', target);
  assert.equal(anon.status, 401);
  const res = await fetch(`${locked.url}/api/echo/send`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer node-secret' }, body: JSON.stringify(target) });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).result.text, 'tok');
});
