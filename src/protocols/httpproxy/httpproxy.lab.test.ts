// HTTP proxies against Squid and tinyproxy through workerd: absolute-form requests to the lab's nginx with
// the proxies' own fields (Via, X-Cache MISS then HIT), https through a CONNECT tunnel, CONNECT to raw TCP,
// Basic proxy authentication, and the proxies' refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { edgeFacts } from '../../../lab/servers/edge.ts';
import { httpFacts } from '../../../lab/servers/http.ts';

const q = edgeFacts.squid;
const squid = { host: '127.0.0.1', port: q.port };
const squidAuth = { host: '127.0.0.1', port: q.authPort };
const tiny = { host: '127.0.0.1', port: edgeFacts.tinyproxy.port };
const hello = `http://127.0.0.1:${ports.http.nginx}${httpFacts.hello.path}`;

test('httpproxy request: Squid fetches an http URL in absolute form; Via names it; X-Cache goes MISS then HIT', async () => {
  const url = `${hello}?cache=${Date.now()}`;
  const first = await call('httpproxy', 'request', { ...squid, url }, { transcript: true });
  assert.equal(first.status, 200, JSON.stringify(first.body.error));
  const r = first.body.result;
  assert.equal(r.mode, 'absolute-form');
  assert.match(r.request, new RegExp(`^GET ${url.replace(/[.?]/g, '\\$&')} HTTP/1\\.1\\r\\n`));
  assert.equal(r.status, 200);
  assert.equal(r.body.text, httpFacts.hello.text);
  assert.equal(r.via, `1.1 ${q.hostname} (squid/${q.version})`);
  assert.equal(r.cache, `MISS from ${q.hostname}`);
  assert.ok(r.proxyHeaders.some(([n, v]: [string, string]) => n === 'x-cache-lookup' && v.startsWith('MISS')));
  const second = await call('httpproxy', 'request', { ...squid, url });
  assert.equal(second.body.result.cache, `HIT from ${q.hostname}`);
  assert.equal(second.body.result.body.text, httpFacts.hello.text);
});

test('httpproxy request: https through a CONNECT tunnel, TLS to the origin end to end', async () => {
  const r = await call('httpproxy', 'request', { ...squid, url: `https://localhost:${ports.http.nginxTls}${httpFacts.hello.path}` });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.equal(r.body.result.mode, 'CONNECT');
  assert.equal(r.body.result.connect.reply, '200 Connection established');
  assert.equal(r.body.result.body.text, httpFacts.hello.text);
  // Squid never sees inside the tunnel: no Via on the origin's response.
  assert.equal(r.body.result.via, null);
});

test('httpproxy request: tinyproxy adds its Via; POST bodies go through', async () => {
  const r = await call('httpproxy', 'request', { ...tiny, url: hello });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.equal(r.body.result.via, `1.1 ${edgeFacts.tinyproxy.viaName} (tinyproxy/${edgeFacts.tinyproxy.version})`);
  assert.equal(r.body.result.body.text, httpFacts.hello.text);
  const post = await call('httpproxy', 'request', { ...tiny, url: `http://127.0.0.1:${ports.http.nginx}${httpFacts.echo}`, method: 'POST', body: 'posted through tinyproxy' });
  assert.equal(post.status, 200, JSON.stringify(post.body.error));
  assert.match(post.body.result.body.text, /posted through tinyproxy/);
});

test('httpproxy: Basic proxy authentication, right, wrong and missing; the password stays out of the transcript', async () => {
  const ok = await call('httpproxy', 'request', { ...squidAuth, url: hello, username: q.user, password: q.password }, { transcript: true });
  assert.equal(ok.status, 200, JSON.stringify(ok.body.error));
  assert.equal(ok.body.result.body.text, httpFacts.hello.text);
  assert.match(ok.body.result.request, /Proxy-Authorization: Basic \*\*\*\*/);
  const json = JSON.stringify(ok.body);
  assert.ok(!json.includes(q.password) && !json.includes(Buffer.from(`${q.user}:${q.password}`).toString('base64')), 'the proxy credentials leaked');
  const missing = await call('httpproxy', 'request', { ...squidAuth, url: hello });
  assert.equal(missing.status, 502);
  assert.equal(missing.body.error.code, 'auth_failed');
  assert.match(missing.body.error.message, /requires authentication.*407 Proxy Authentication Required \(Basic realm="Portolan lab proxy"\)/);
  const wrong = await call('httpproxy', 'connect', { ...squidAuth, targetHost: '127.0.0.1', targetPort: ports.foundation.echo, username: q.user, password: 'wrong' });
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.equal(wrong.body.error.detail.status, 407);
  const tunnel = await call('httpproxy', 'connect', { ...squidAuth, targetHost: '127.0.0.1', targetPort: ports.foundation.echo, username: q.user, password: q.password, data: 'through squid\n' });
  assert.equal(tunnel.status, 200, JSON.stringify(tunnel.body.error));
  assert.equal(tunnel.body.result.answer.text, 'through squid\n');
});

test('httpproxy connect: a raw TCP tunnel, and the proxy’s own answer shown', async () => {
  const r = await call('httpproxy', 'connect', { ...tiny, targetHost: '127.0.0.1', targetPort: ports.foundation.echo, data: 'through tinyproxy\n' });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  assert.equal(r.body.result.reply, '200 Connection established');
  assert.deepEqual(r.body.result.headers, [['proxy-agent', `tinyproxy/${edgeFacts.tinyproxy.version}`]]);
  assert.equal(r.body.result.answer.text, 'through tinyproxy\n');
});

test('httpproxy: refusals carry the proxy’s status, reason and error fields', async () => {
  const fail = await call('httpproxy', 'connect', { ...squid, targetHost: '127.0.0.1', targetPort: ports.foundation.closedPort });
  assert.equal(fail.status, 502);
  assert.equal(fail.body.error.code, 'refused');
  assert.match(fail.body.error.message, /refused CONNECT 127\.0\.0\.1:10001: 503 Service Unavailable \(ERR_CONNECT_FAIL 111\)/);
  assert.equal(fail.body.error.detail.status, 503);
  const denied = await call('httpproxy', 'connect', { ...squid, targetHost: q.blocked, targetPort: 80 });
  assert.match(denied.body.error.message, /403 Forbidden \(ERR_ACCESS_DENIED 0\)/);
  const tinyFail = await call('httpproxy', 'connect', { ...tiny, targetHost: '127.0.0.1', targetPort: ports.foundation.closedPort });
  assert.equal(tinyFail.body.error.code, 'refused');
  assert.match(tinyFail.body.error.message, /500 Unable to connect/);
});

test('httpproxy: the deployment policy judges the proxy and the URL’s host', async () => {
  const proxy = await call('httpproxy', 'request', { ...squid, url: 'http://8.8.8.8/' }, { kind: 'deployment' });
  assert.equal(proxy.body.error.code, 'target_blocked');
  const target = await call('httpproxy', 'request', { host: '8.8.8.8', port: 3128, url: 'http://[::ffff:127.0.0.1]/' }, { kind: 'deployment' });
  assert.equal(target.body.error.code, 'target_blocked');
  const bad = await call('httpproxy', 'request', { ...squid, url: 'ftp://example.com/' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^url: /);
});
