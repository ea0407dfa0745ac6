// Every answer within its deadline, from any server, in the user's terms: what hostile and ordinary
// servers once got wrong through workerd, each checked as a user would see it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureLab, ports } from '../lab/index.ts';
import { hostilePeers } from '../lab/servers/foundation.ts';
import { call, workerUrl } from './harness.ts';

const lab = ports.foundation;
const GRACE_MS = 1000;

/** Runs `fn` and how long it took. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

test('ssh probe against a peer that sends random bytes and closes (or resets) without reading: every one answers by its deadline', async () => {
  await ensureLab(['foundation']);
  const timeoutMs = 5000;
  const runs = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? hostilePeers.randomClose : hostilePeers.randomReset));
  const answers = await Promise.all(runs.map((port) => timed(() => call('ssh', 'probe', { host: '127.0.0.1', port, timeoutMs }))));
  for (const [i, { value, ms }] of answers.entries()) {
    // A reset that arrives while workerd is still completing its connect is reported by the runtime as a
    // failed connect ("cannot connect to the specified address"): refused, in the runtime's words.
    const codes = runs[i] === hostilePeers.randomReset ? ['protocol_error', 'closed', 'refused'] : ['protocol_error', 'closed'];
    assert.equal(value.status, 502, JSON.stringify(value.body));
    assert.ok(codes.includes(value.body.error.code), JSON.stringify(value.body));
    assert.ok(ms < timeoutMs + GRACE_MS, `answered after ${ms.toFixed(0)} ms`);
  }
});

test('daytime: a server sending an endless line is protocol_error naming it, not a time', async () => {
  const r = await call('daytime', 'get', { host: '127.0.0.1', port: hostilePeers.endless });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'protocol_error');
  assert.match(r.body.error.message, /not a daytime answer: more than 1024 bytes/);
  const binary = await call('daytime', 'get', { host: '127.0.0.1', port: hostilePeers.hugeLength });
  assert.equal(binary.body.error.code, 'protocol_error');
  assert.match(binary.body.error.message, /^not a daytime answer: byte 0x00 at offset 1 is not text/);
  const real = await call('daytime', 'get', { host: '127.0.0.1', port: lab.daytime });
  assert.equal(real.status, 200);
  assert.ok(real.body.result.utc, JSON.stringify(real.body));
});

test('dns compare: when the guard refuses every server, the comparison is refused (403), not ok', async () => {
  const r = await call('dns', 'compare', { host: '127.0.0.1', port: ports.dns.bind, transport: 'tcp', name: 'example.org', with: ['127.0.0.2', '[::1]:53'] }, { kind: 'deployment' });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'target_blocked');
  assert.match(r.body.error.message, /^no server could be asked: 127\.0\.0\.1#10053\(tcp\): 127\.0\.0\.1 is in 127\.0\.0\.0\/8 \(loopback\)/);
});

test('short routes decode the path once: %25 stays a percent sign, a malformed escape is 400 naming the path', async () => {
  const once = await fetch(`${workerUrl()}/echo/127.0.0.1:${lab.echo}/100%2525?format=json`);
  assert.equal(once.status, 200);
  assert.equal((await once.json()).result.text, '100%25');
  for (const path of ['/banner/%zz', `/echo/127.0.0.1:${lab.echo}/%E0%A4%A`]) {
    const bad = await fetch(`${workerUrl()}${path}`);
    assert.equal(bad.status, 400, path);
    assert.match(await bad.text(), /^error: invalid_input: path: "[^"]+" is not a valid URL path segment/, path);
  }
});

test('a closed port is "connection refused by HOST:PORT"; the runtime\'s own words stay in detail', async () => {
  const r = await call('echo', 'send', { host: '127.0.0.1', port: lab.closedPort, data: 'x' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'refused');
  assert.equal(r.body.error.message, `connection refused by 127.0.0.1:${lab.closedPort}`);
  assert.equal(typeof r.body.error.detail.runtime, 'string');
  const v6 = await call('echo', 'send', { host: '::1', port: lab.closedPort, data: 'x' });
  assert.equal(v6.body.error.message, `connection refused by [::1]:${lab.closedPort}`);
});

test('a port that speaks another protocol is named: "this port speaks SSH, not PostgreSQL"', async () => {
  await ensureLab(['ssh', 'mail']);
  const pg = await call('postgres', 'query', { host: '127.0.0.1', port: ports.ssh.sshd, user: 'u', sql: 'select 1' });
  assert.equal(pg.body.error.code, 'protocol_error');
  assert.match(pg.body.error.message, /^this port speaks SSH, not PostgreSQL: it sent "SSH-2\.0-OpenSSH_/);
  assert.equal(pg.body.error.detail.speaks, 'ssh');
  const redis = await call('redis', 'command', { host: '127.0.0.1', port: ports.mail.smtp, args: ['PING'] });
  assert.match(redis.body.error.message, /^this port speaks SMTP, not Redis: it sent "220 /);
  const http = await call('http', 'request', { host: '127.0.0.1', port: ports.mail.imap });
  assert.match(http.body.error.message, /^this port speaks IMAP, not HTTP/);
  // Its own greeting is no reason: SSH against an SSH port that fails for another reason keeps its error.
  const ssh = await call('ssh', 'exec', { host: '127.0.0.1', port: ports.ssh.sshd, username: 'nobody-here', password: 'x', command: 'true' });
  assert.equal(ssh.body.error.code, 'auth_failed');
});
