// Tor's control port against tor (network disabled) through workerd: PROTOCOLINFO, every authentication
// method right and wrong, GETINFO, GETCONF, SIGNAL, a raw command, and events while another client signals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, openSession } from '../../../test/harness.ts';
import { edgeFacts, torCookie } from '../../../lab/servers/edge.ts';

const t = edgeFacts.tor;
const target = { host: '127.0.0.1', port: t.controlPort };
const password = { ...target, password: t.password };

test('torcontrol protocolinfo: methods, cookie file and version, before any authentication', async () => {
  const r = await call('torcontrol', 'protocolinfo', target);
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.deepEqual(r.body.result, { protocolInfoVersion: 1, methods: ['COOKIE', 'SAFECOOKIE', 'HASHEDPASSWORD'], cookieFile: t.cookieFile, torVersion: t.version });
});

test('torcontrol getinfo with a password: version, the control listener and the config file', async () => {
  const r = await call('torcontrol', 'getinfo', { ...password, keys: ['version', 'net/listeners/control', 'config-text'] }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.deepEqual(r.body.result.auth, { method: 'password', torVersion: t.version });
  const values = Object.fromEntries(r.body.result.values.map((v: { key: string; value: string }) => [v.key, v.value]));
  assert.equal(values.version, t.version);
  assert.equal(values['net/listeners/control'], `127.0.0.1:${t.controlPort}`);
  // config-text comes as a data block: every line of the torrc tor loaded.
  assert.match(values['config-text'], new RegExp(`^ControlPort 127\\.0\\.0\\.1:${t.controlPort}$`, 'm'));
  assert.match(values['config-text'], /^DisableNetwork 1$/m);
  assert.ok(!JSON.stringify(r.body.transcript).includes(t.password), 'the password leaked into the transcript');
});

test('torcontrol: cookie and SAFECOOKIE authentication with the cookie tor wrote', async () => {
  const cookie = torCookie();
  const safe = await call('torcontrol', 'getconf', { ...target, cookie, keys: ['ControlPort', 'DisableNetwork', 'CookieAuthentication'] });
  assert.equal(safe.status, 200, JSON.stringify(safe.body.error));
  assert.equal(safe.body.result.auth.method, 'safecookie');
  assert.deepEqual(safe.body.result.values, [
    { key: 'ControlPort', value: `127.0.0.1:${t.controlPort}` },
    { key: 'DisableNetwork', value: '1' },
    { key: 'CookieAuthentication', value: '1' },
  ]);
  const plain = await call('torcontrol', 'getinfo', { ...target, cookie, auth: 'cookie' });
  assert.equal(plain.status, 200, JSON.stringify(plain.body.error));
  assert.equal(plain.body.result.auth.method, 'cookie');
  assert.equal(plain.body.result.values[0].value, t.version);
});

test('torcontrol: wrong password and wrong cookie are auth_failed with tor’s words; a wrong SAFECOOKIE is caught on the server’s proof', async () => {
  const wrong = await call('torcontrol', 'getinfo', { ...target, password: 'nope' });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.match(wrong.body.error.message, /515 Authentication failed/);
  const badCookie = await call('torcontrol', 'getinfo', { ...target, cookie: '00'.repeat(32), auth: 'cookie' });
  assert.equal(badCookie.body.error.code, 'auth_failed');
  const badSafe = await call('torcontrol', 'getinfo', { ...target, cookie: '00'.repeat(32) });
  assert.equal(badSafe.body.error.code, 'untrusted_peer');
  assert.match(badSafe.body.error.message, /SERVERHASH does not match/);
  const none = await call('torcontrol', 'getinfo', target);
  assert.equal(none.body.error.code, 'auth_failed');
  assert.match(none.body.error.message, /give password/);
});

test('torcontrol: an unknown key is tor’s 552 as server_error; a raw command answers as tor wrote it', async () => {
  const r = await call('torcontrol', 'getinfo', { ...password, keys: ['no-such-key'] });
  assert.equal(r.body.error.code, 'server_error');
  assert.match(r.body.error.message, /552 Unrecognized key "no-such-key"/);
  const raw = await call('torcontrol', 'command', { ...password, line: 'GETINFO status/bootstrap-phase' });
  assert.equal(raw.status, 200, JSON.stringify(raw.body.error));
  assert.match(raw.body.result.reply.lines[0].text, /^status\/bootstrap-phase=NOTICE BOOTSTRAP PROGRESS=\d+/);
});

test('torcontrol events: SIGNAL and CONF_CHANGED events arrive while another client signals and sets an option', async () => {
  const listening = call('torcontrol', 'events', { ...password, events: ['SIGNAL', 'CONF_CHANGED'], durationMs: 2500 });
  await new Promise((r) => setTimeout(r, 700));
  const sig = await call('torcontrol', 'signal', { ...password, signal: 'HEARTBEAT' });
  assert.equal(sig.body.result.reply, '250 OK');
  // A value other than the current one: tor reports only changes.
  const pending = 40 + (Date.now() % 400);
  const set = await call('torcontrol', 'command', { ...password, line: `SETCONF MaxClientCircuitsPending=${pending}` });
  assert.equal(set.body.result.reply.status, 250);
  const r = await listening;
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  const texts = r.body.result.events.map((e: { text: string }) => e.text);
  assert.ok(texts.includes('SIGNAL HEARTBEAT'), JSON.stringify(texts));
  const conf = r.body.result.events.find((e: { event: string }) => e.event === 'CONF_CHANGED');
  assert.ok(conf, JSON.stringify(r.body.result.events));
  assert.ok([conf.text, ...conf.lines].some((l: string) => l.includes(`MaxClientCircuitsPending=${pending}`)), JSON.stringify(conf));
});

test('torcontrol events session: SAFECOOKIE login, events streamed, commands answered in the same session', async () => {
  const s = await openSession('torcontrol', 'events', { ...target, cookie: torCookie(), events: ['SIGNAL'] });
  assert.deepEqual(await s.next((m) => m.type === 'authenticated'), { type: 'authenticated', method: 'safecookie', torVersion: t.version });
  s.send({ type: 'command', line: 'SIGNAL HEARTBEAT' });
  assert.deepEqual(await s.next((m) => m.type === 'reply'), { type: 'reply', status: 250, lines: [{ status: 250, text: 'OK' }] });
  assert.equal((await s.next((m) => m.type === 'event')).text, 'SIGNAL HEARTBEAT');
  s.send({ type: 'command', line: 'GETINFO version' });
  const info = await s.next((m) => m.type === 'reply');
  assert.equal(info.lines[0].text, `version=${t.version}`);
  s.send({ type: 'stop' });
  const end = await s.next((m) => m.type === 'end');
  assert.equal(end.result.count, 1);
});
