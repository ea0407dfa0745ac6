// AJP13 against Debian's Tomcat 10.1 (a connector without a secret and one requiring it, an echo servlet), through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { jvmFacts } from '../../../lab/servers/services-jvm.ts';

const p = ports['services-jvm'];
const open = { host: '127.0.0.1', port: p.tomcatAjp };
const guarded = { host: '127.0.0.1', port: p.tomcatAjpSecret };
const f = jvmFacts.tomcat;

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('ajp', op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('ajp ping: CPONG from both connectors', async () => {
  assert.equal((await ok('ping', open)).cpong, true);
  assert.equal((await ok('ping', guarded)).cpong, true);
});

test('ajp request: the servlet sees our method, path, query, headers, remote user and attributes', async () => {
  const r = await ok('request', {
    ...open,
    uri: `${f.echoPath}/deep/path?attr=portolan.trace&attr=missing&x=1`,
    headers: { 'X-Test': 'from-ajp', 'User-Agent': 'portolan-test', Accept: 'application/json' },
    attributes: { 'portolan.trace': 'trace-42' },
    remoteUser: 'alice',
    remoteAddr: '192.0.2.7',
    isSsl: true,
    serverPort: 443,
  });
  assert.deepEqual([r.status, r.reuse], [200, true]);
  assert.deepEqual(r.headers.find(([n]: [string]) => n === 'x-portolan'), ['x-portolan', 'ajp-echo']);
  assert.match(r.headers.find(([n]: [string]) => n === 'set-cookie')[1], /^portolan=cookie-value/);
  const echo = JSON.parse(r.body.text);
  echo.headers = Object.fromEntries(Object.entries(echo.headers).map(([k, v]) => [k.toLowerCase(), v]));
  assert.equal(echo.method, 'GET');
  assert.equal(echo.uri, `${f.echoPath}/deep/path`);
  assert.equal(echo.query, 'attr=portolan.trace&attr=missing&x=1');
  assert.equal(echo.headers['x-test'], 'from-ajp');
  assert.equal(echo.headers['user-agent'], 'portolan-test');
  assert.equal(echo.headers.host, '127.0.0.1');
  assert.equal(echo.remoteUser, 'alice');
  assert.equal(echo.remoteAddr, '192.0.2.7');
  assert.deepEqual([echo.secure, echo.serverPort], [true, 443]);
  assert.deepEqual(echo.attributes, { 'portolan.trace': 'trace-42', missing: null });
});

test('ajp request: a body larger than a packet goes in chunks the container asks for', async () => {
  const body = 'ü'.repeat(15_000);
  const r = await ok('request', { ...open, method: 'PUT', uri: `${f.echoPath}/upload`, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body });
  const echo = JSON.parse(r.body.text);
  assert.equal(echo.method, 'PUT');
  assert.equal(echo.body, body);
  assert.ok(r.bodyRequests >= 3, `bodyRequests ${r.bodyRequests}`);
});

test('ajp response: many body chunks reassembled; past maxBodyBytes cut and flagged; a status set by the app', async () => {
  const big = await ok('request', { ...open, uri: `${f.echoPath}/?big=100000` });
  assert.equal(big.body.text, 'z'.repeat(100_000));
  assert.ok(big.chunks >= 12);
  const cut = await ok('request', { ...open, uri: `${f.echoPath}/?big=1000000`, maxBodyBytes: 20_000 });
  assert.equal(cut.truncated, true);
  assert.equal(cut.body.bytes > 20_000, true);
  const teapot = await ok('request', { ...open, uri: `${f.echoPath}/?status=403` });
  assert.equal(teapot.status, 403, 'a 403 from the application itself is a result, not an auth failure');
  const missing = await ok('request', { ...open, uri: '/nothing-here' });
  assert.equal(missing.status, 404);
});

test('ajp secret: required and given works; missing or wrong is auth_failed with Tomcat\'s words', async () => {
  const r = await ok('request', { ...guarded, uri: `${f.echoPath}/s`, secret: f.secret });
  assert.equal(JSON.parse(r.body.text).uri, `${f.echoPath}/s`);
  for (const secret of [undefined, 'wrong-secret']) {
    const bad = await call('ajp', 'request', { ...guarded, uri: `${f.echoPath}/s`, ...(secret ? { secret } : {}) });
    assert.equal(bad.status, 502);
    assert.equal(bad.body.error.code, 'auth_failed');
    assert.match(bad.body.error.message, /HTTP Status 403 – Forbidden/);
  }
});
