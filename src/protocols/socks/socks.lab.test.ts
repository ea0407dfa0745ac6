// SOCKS against Dante through workerd: the methods each instance accepts, CONNECT with SOCKS5 (no
// authentication and username/password) and SOCKS4 to the lab's echo server, the proxy's refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { edgeFacts } from '../../../lab/servers/edge.ts';

const s = edgeFacts.socks;
const open = { host: '127.0.0.1', port: s.port };
const auth = { host: '127.0.0.1', port: s.authPort };
const echo = { targetHost: '127.0.0.1', targetPort: ports.foundation.echo };

test('socks probe: the open instance accepts no authentication only', async () => {
  const r = await call('socks', 'probe', open);
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.deepEqual(
    r.body.result.methods.map((m: { name: string; accepted: boolean }) => [m.name, m.accepted]),
    [
      ['no authentication', true],
      ['GSSAPI', false],
      ['username/password', false],
    ],
  );
  assert.deepEqual(r.body.result.chosen, { method: 0, name: 'no authentication' });
});

test('socks probe: the authenticating instance accepts username/password only, and checks the login', async () => {
  const r = await call('socks', 'probe', { ...auth, username: s.user, password: s.password }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.deepEqual(r.body.result.methods.filter((m: { accepted: boolean }) => m.accepted).map((m: { name: string }) => m.name), ['username/password']);
  assert.deepEqual(r.body.result.chosen, { method: 2, name: 'username/password' });
  assert.deepEqual(r.body.result.login, { username: s.user, ok: true, message: 'accepted' });
  assert.ok(!JSON.stringify(r.body.transcript).includes(s.password), 'the password leaked into the transcript');
  const wrong = await call('socks', 'probe', { ...auth, username: s.user, password: 'wrong' });
  assert.equal(wrong.body.result.login.ok, false);
  assert.match(wrong.body.result.login.message, /refused username\/password for portolan-socks \(status 1\)/);
});

// SOCKS4a is not tested here: Dante implements SOCKS4 without the 4A extension (it reads 0.0.0.1 as the address).
for (const version of ['5', '4'] as const) {
  test(`socks connect (SOCKS${version}): the echo server answers through the proxy, which reports where it connected from`, async () => {
    const r = await call('socks', 'connect', { ...open, version, ...echo, data: `through SOCKS${version}\n` }, { transcript: true });
    assert.equal(r.status, 200, JSON.stringify(r.body.error));
    assert.equal(r.body.result.answer.text, `through SOCKS${version}\n`);
    assert.equal(r.body.result.reply, version === '5' ? '0x00 succeeded' : '90 request granted');
    if (version === '5') assert.match(r.body.result.bound, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(r.body.result.bound.split(':')[1], '0');
    const json = JSON.stringify(r.body.transcript);
    assert.match(json, version === '5' ? /CONNECT 127\.0\.0\.1:10007/ : /SOCKS4 CONNECT 127\.0\.0\.1:10007/);
  });
}

test('socks connect: username/password on the authenticating instance; wrong or missing credentials are auth_failed', async () => {
  const r = await call('socks', 'connect', { ...auth, ...echo, username: s.user, password: s.password, data: 'authenticated\n' });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.equal(r.body.result.answer.text, 'authenticated\n');
  const wrong = await call('socks', 'connect', { ...auth, ...echo, username: s.user, password: 'nope' });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.body.error.code, 'auth_failed');
  const none = await call('socks', 'connect', { ...auth, ...echo });
  assert.equal(none.body.error.code, 'auth_failed');
  assert.match(none.body.error.message, /accepts none of the methods offered: no authentication/);
  // SOCKS4 has no passwords: the authenticating instance refuses it.
  const v4 = await call('socks', 'connect', { ...auth, ...echo, version: '4' });
  assert.equal(v4.body.error.code, 'refused');
  assert.match(v4.body.error.message, /SOCKS4 proxy refused 127\.0\.0\.1:10007: 91/);
});

test('socks connect: refusals carry the proxy’s reply code and text', async () => {
  const closed = await call('socks', 'connect', { ...open, targetHost: '127.0.0.1', targetPort: ports.foundation.closedPort });
  assert.equal(closed.status, 502);
  assert.equal(closed.body.error.code, 'refused');
  assert.equal(closed.body.error.detail.reply, 5);
  assert.match(closed.body.error.message, /0x05 connection refused/);
  const ruled = await call('socks', 'connect', { ...open, targetHost: s.blocked, targetPort: ports.foundation.echo });
  assert.equal(ruled.body.error.detail.reply, 2);
  assert.equal(ruled.body.error.detail.replyText, 'connection not allowed by ruleset');
});

test('socks: a server that is not SOCKS is a protocol_error; a silent one times out', async () => {
  const daytime = await call('socks', 'probe', { host: '127.0.0.1', port: ports.foundation.daytime });
  assert.equal(daytime.body.error.code, 'protocol_error');
  assert.match(daytime.body.error.message, /not a SOCKS5 server/);
  const viaDaytime = await call('socks', 'connect', { host: '127.0.0.1', port: ports.foundation.daytime, ...echo });
  assert.equal(viaDaytime.body.error.code, 'protocol_error');
  const silent = await call('socks', 'connect', { host: '127.0.0.1', port: ports.foundation.silent, ...echo, timeoutMs: 800 });
  assert.equal(silent.status, 504);
  assert.equal(silent.body.error.code, 'connect_timeout');
});

test('socks: the deployment policy blocks a private proxy and a private target', async () => {
  const proxy = await call('socks', 'probe', open, { kind: 'deployment' });
  assert.equal(proxy.body.error.code, 'target_blocked');
  // A public proxy address (never contacted: the target is judged first) with a loopback target.
  const target = await call('socks', 'connect', { host: '8.8.8.8', port: 1080, targetHost: '127.1', targetPort: 22 }, { kind: 'deployment' });
  assert.equal(target.status, 403);
  assert.equal(target.body.error.code, 'target_blocked');
  assert.match(target.body.error.message, /127\.1 is 127\.0\.0\.1/);
});
