// Varnish CLI against Debian's varnishd in the lab (-T with a -S secret file), through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-a.ts';

const p = ports['services-a'];
const cli = { host: '127.0.0.1', port: p.varnishCli, secret: servicesFacts.varnish.secret };
const upstream = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'varnish'], { encoding: 'utf8' }).replace(/-.*$/, '');

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('varnish', op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('varnish status: the challenge answered, the child running, the banner names the version', async () => {
  const r = await ok('status', cli);
  assert.equal(r.state, 'running');
  assert.equal(r.authenticated, true);
  assert.match(r.banner, new RegExp(`varnish-${upstream.replace(/\./g, '\\.')} revision`));
});

test('varnish ping: PONG and a round trip', async () => {
  const r = await ok('ping', cli);
  assert.match(r.reply, /^PONG \d+ 1\.0$/);
});

test('varnish params: one parameter with value, units and limits; the short listing of all', async () => {
  const [ttl] = (await ok('params', { ...cli, name: 'default_ttl' })).params;
  assert.deepEqual([ttl.name, ttl.value, ttl.units, ttl.default, ttl.minimum], ['default_ttl', 120, 'seconds', '120.000', '0.000']);
  assert.match(ttl.description, /TTL assigned to objects/);
  const all = (await ok('params', cli)).params;
  assert.ok(all.length > 50);
  assert.equal(all.find((x: { name: string }) => x.name === 'default_ttl').value, '120.000');
  const missing = await call('varnish', 'params', { ...cli, name: 'no_such_param' });
  assert.equal(missing.body.error.code, 'server_error');
  assert.match(missing.body.error.message, /106 PARAM: Unknown parameter "no_such_param"/);
});

test('varnish vcls and backends: the boot VCL active, both of its backends healthy', async () => {
  const [boot] = (await ok('vcls', cli)).vcls;
  assert.deepEqual([boot.name, boot.status, boot.temperature], ['boot', 'active', 'warm']);
  const backends = (await ok('backends', cli)).backends;
  assert.deepEqual(backends.map((b: { name: string }) => b.name).sort(), servicesFacts.varnish.backends);
  for (const b of backends) assert.deepEqual([b.type, b.admin, b.health], ['backend', 'healthy', 'healthy']);
  assert.equal((await ok('backends', { ...cli, pattern: 'boot.spare' })).backends.length, 1);
});

test('varnish ban: the expression lands in the ban list', async () => {
  const marker = `/portolan-${process.pid}-${Date.now()}`;
  const r = await ok('ban', { ...cli, expression: `req.url ~ ${marker}` });
  assert.ok(r.bans.some((b: { spec: string }) => b.spec === `req.url ~ ${marker}`), JSON.stringify(r.bans));
  const bad = await call('varnish', 'ban', { ...cli, expression: 'nonsense' });
  assert.equal(bad.body.error.code, 'server_error');
  assert.match(bad.body.error.message, /104 TOOFEW|Too few parameters/);
});

test('varnish auth: a wrong secret is auth_failed, a missing one says what to give', async () => {
  const wrong = await call('varnish', 'status', { ...cli, secret: 'not-the-secret\n' });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.match(wrong.body.error.message, /500 CLOSE|closed/);
  const none = await call('varnish', 'status', { host: '127.0.0.1', port: p.varnishCli });
  assert.equal(none.body.error.code, 'auth_failed');
  assert.match(none.body.error.message, /secret/);
  const b64 = await ok('ping', { host: '127.0.0.1', port: p.varnishCli, secretBase64: Buffer.from(servicesFacts.varnish.secret).toString('base64') });
  assert.match(b64.reply, /^PONG/);
});

test('varnish command: any command with its status; an unknown one is 101', async () => {
  const help = await ok('command', { ...cli, words: ['help'] });
  assert.equal(help.status, 200);
  assert.match(help.text, /backend\.list/);
  const unknown = await ok('command', { ...cli, words: ['no.such.command'] });
  assert.deepEqual([unknown.status, unknown.statusName], [101, 'UNKNOWN']);
});
