// HAProxy's runtime API against Debian's haproxy in the lab (admin, user-level and TLS stats sockets), through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-a.ts';

const p = ports['services-a'];
const admin = { host: '127.0.0.1', port: p.haproxy };
const f = servicesFacts.haproxy;
const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'haproxy'], { encoding: 'utf8' });

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('haproxy', op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

async function serverState(name: string) {
  const r = await ok('servers', { ...admin, backend: f.backend });
  return r.servers.find((s: Record<string, unknown>) => s.srv_name === name);
}

test('haproxy info: the process reports its Debian version', async () => {
  const r = await ok('info', admin);
  assert.equal(r.version, version);
  assert.equal(r.info.Name, 'HAProxy');
  assert.ok(r.uptimeSeconds >= 0);
});

test('haproxy stat: frontend, backend and each configured server as typed rows; a text table', async () => {
  const r = await ok('stat', admin);
  const row = (px: string, sv: string) => r.rows.find((x: Record<string, unknown>) => x.pxname === px && x.svname === sv);
  assert.equal(row(f.frontend, 'FRONTEND').status, 'OPEN');
  for (const [name, weight] of Object.entries(f.servers)) assert.equal(row(f.backend, name).weight, weight);
  assert.equal(typeof row(f.backend, 'BACKEND').stot, 'number');
  const only = await ok('stat', { ...admin, proxy: f.backend });
  assert.ok(only.rows.every((x: Record<string, unknown>) => x.pxname === f.backend));
});

test('haproxy disable/enable server and set weight: read back from show servers state', async () => {
  assert.equal((await ok('disable', { ...admin, backend: f.backend, server: 's1' })).message, '');
  // srv_admin_state bit 0x01: forced maintenance (FMAINT).
  assert.equal(Number((await serverState('s1')).srv_admin_state) & 1, 1);
  await ok('enable', { ...admin, backend: f.backend, server: 's1' });
  assert.equal(Number((await serverState('s1')).srv_admin_state) & 1, 0);

  await ok('weight', { ...admin, backend: f.backend, server: 's2', weight: '7' });
  assert.equal((await serverState('s2')).srv_uweight, 7);
  await ok('weight', { ...admin, backend: f.backend, server: 's2', weight: '50%' });
  assert.equal((await serverState('s2')).srv_uweight, f.servers.s2 / 2);
  await ok('weight', { ...admin, backend: f.backend, server: 's2', weight: String(f.servers.s2) });
});

test('haproxy errors: the server\'s words for a missing server and a bad weight; a user-level socket is auth_failed', async () => {
  const missing = await call('haproxy', 'disable', { ...admin, backend: f.backend, server: 'nope' });
  assert.equal(missing.status, 502);
  assert.equal(missing.body.error.code, 'server_error');
  assert.match(missing.body.error.message, /No such server/);
  const heavy = await call('haproxy', 'weight', { ...admin, backend: f.backend, server: 's2', weight: '300' });
  assert.equal(heavy.body.error.code, 'server_error');
  assert.match(heavy.body.error.message, /between 0 and 256/);
  const user = await call('haproxy', 'disable', { host: '127.0.0.1', port: p.haproxyUser, backend: f.backend, server: 's1' });
  assert.equal(user.body.error.code, 'auth_failed');
  assert.match(user.body.error.message, /Permission denied/);
  // Reading is allowed at user level.
  assert.equal((await ok('info', { host: '127.0.0.1', port: p.haproxyUser })).info.Name, 'HAProxy');
  const bad = await call('haproxy', 'weight', { ...admin, backend: f.backend, server: 's2', weight: 'heavy' });
  assert.equal(bad.status, 400);
});

test('haproxy sessions: a client connected to the frontend shows up with its frontend and address', async () => {
  const sock = net.connect(p.haproxyFrontend, '127.0.0.1');
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  // The frontend holds a new stream for inspection (lab config): it stays listed while the client waits.
  sock.write('hello');
  try {
    const local = `127.0.0.1:${sock.localPort}`;
    const r = await ok('sessions', admin);
    const mine = r.sessions.find((s: { fields: Record<string, string> }) => s.fields.src === local);
    assert.ok(mine, `no session from ${local} in ${JSON.stringify(r.sessions)}`);
    assert.equal(mine.fields.fe, f.frontend);
    assert.ok(r.sessions.every((s: { fields: Record<string, string> }) => s.fields.fe !== 'GLOBAL'));
  } finally {
    sock.destroy();
  }
});

test('haproxy over TLS (HAProxy terminating TLS before its admin socket) and any command', async () => {
  const r = await ok('info', { host: 'localhost', port: p.haproxyTls, tls: 'implicit' });
  assert.equal(r.version, version);
  const any = await ok('command', { ...admin, command: 'show backend' });
  assert.match(any.text, new RegExp(`^${f.backend}$`, 'm'));
});
