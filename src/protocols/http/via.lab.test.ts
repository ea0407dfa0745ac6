// HTTP requests through proxy hops (via), through workerd: Squid and tinyproxy given http:// requests in absolute
// form, https:// through Squid's CONNECT tunnel, SOCKS5 through Dante; Squid's 407 without credentials and 200
// with them, the password never shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { edgeFacts } from '../../../lab/servers/edge.ts';
import { httpFiveFacts } from '../../../lab/servers/http-five.ts';

const f = httpFiveFacts.coded;
const q = edgeFacts.squid;
const origin = { host: '127.0.0.1', port: f.port, path: f.hello };
const squid = { type: 'http', host: '127.0.0.1', port: q.port } as const;
const squidAuth = { type: 'http', host: '127.0.0.1', port: q.authPort } as const;
const tinyproxy = { type: 'http', host: '127.0.0.1', port: edgeFacts.tinyproxy.port } as const;
const socks5 = { type: 'socks5', host: '127.0.0.1', port: edgeFacts.socks.port } as const;
const header = (headers: [string, string][], name: string) => headers.find(([n]) => n === name)?.[1];

async function ok(input: Record<string, unknown>, op = 'request') {
  const r = await call('http', op, input, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return { result: r.body.result, transcript: JSON.stringify(r.body.transcript) };
}

for (const [name, via, viaName] of [
  ['Squid', squid, `portolan-squid (squid/${q.version})`],
  ['tinyproxy', tinyproxy, edgeFacts.tinyproxy.viaName],
] as const) {
  test(`http via ${name}: an http:// request goes to the proxy in absolute form; the proxy's Via and the origin's body come back`, async () => {
    const { result: r, transcript } = await ok({ ...origin, via });
    assert.equal(r.response.status, 200);
    assert.equal(r.response.body.text, f.helloText);
    assert.match(r.request.head, new RegExp(`^GET http://127\\.0\\.0\\.1:${f.port}${f.hello} HTTP/1\\.1\\r\\nHost: 127\\.0\\.0\\.1:${f.port}\\r\\n`));
    assert.ok(header(r.response.headers, 'via')?.includes(viaName), `Via: ${header(r.response.headers, 'via')}`);
    assert.equal(r.connection.via.mode, 'absolute-form');
    assert.equal(r.connection.via.proxy, `127.0.0.1:${via.port}`);
    assert.match(transcript, new RegExp(`through HTTP proxy 127\\.0\\.0\\.1:${via.port}`));
    assert.match(transcript, new RegExp(`GET http://127\\.0\\.0\\.1:${f.port}${f.hello} HTTP/1\\.1`));
  });
}

test('http via Squid: an https:// request goes through a CONNECT tunnel, TLS to the origin inside it', async () => {
  const { result: r, transcript } = await ok({ host: '127.0.0.1', port: f.tlsPort, tls: 'implicit', path: f.hello, via: squid });
  assert.equal(r.url, `https://127.0.0.1:${f.tlsPort}${f.hello}`);
  assert.equal(r.response.body.text, f.helloText);
  assert.match(r.request.head, new RegExp(`^GET ${f.hello} HTTP/1\\.1\\r\\n`), 'origin-form inside the tunnel');
  assert.deepEqual({ mode: r.connection.via.mode, reply: r.connection.via.reply }, { mode: 'tunnel', reply: '200 Connection established' });
  assert.match(transcript, new RegExp(`CONNECT 127\\.0\\.0\\.1:${f.tlsPort} HTTP/1\\.1`));
});

test('http via SOCKS5 (Dante): the request in origin form through the tunnel', async () => {
  const { result: r, transcript } = await ok({ ...origin, via: socks5 });
  assert.equal(r.response.body.text, f.helloText);
  assert.match(r.request.head, new RegExp(`^GET ${f.hello} HTTP/1\\.1\\r\\n`));
  assert.equal(r.connection.via.mode, 'tunnel');
  assert.match(r.connection.via.reply, /succeeded/);
  assert.match(transcript, new RegExp(`through SOCKS5 proxy 127\\.0\\.0\\.1:${socks5.port}`));
});

test("http via the authenticating Squid: 407 in the proxy's words without credentials, 200 with them, the password never shown", async () => {
  for (const input of [origin, { host: '127.0.0.1', port: f.tlsPort, tls: 'implicit', path: f.hello }]) {
    const refused = await call('http', 'request', { ...input, via: squidAuth });
    assert.equal(refused.body.error?.code, 'auth_failed', JSON.stringify(refused.body).slice(0, 1000));
    assert.match(refused.body.error.message, new RegExp(`the HTTP proxy requires authentication \\(it asks for Basic in realm "${q.realm}"\\): give username and password: 407 Proxy Authentication Required`));
    const wrong = await call('http', 'request', { ...input, via: { ...squidAuth, username: q.user, password: 'wrong' } });
    assert.equal(wrong.body.error?.code, 'auth_failed');
    assert.match(wrong.body.error.message, new RegExp(`refused the credentials for ${q.user}`));
    const r = await call('http', 'request', { ...input, via: { ...squidAuth, username: q.user, password: q.password } }, { transcript: true });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 1000));
    assert.equal(r.body.result.response.body.text, f.helloText);
    const shown = JSON.stringify(r.body);
    assert.ok(!shown.includes(q.password) && !shown.includes(Buffer.from(`${q.user}:${q.password}`).toString('base64')), 'the proxy credentials leaked');
  }
});

test('http sequence via Squid: several requests in absolute form on one kept-alive connection to the proxy', async () => {
  const { result: r } = await ok({ host: '127.0.0.1', port: f.port, paths: [f.hello, f.hello, f.hello], via: squid }, 'sequence');
  assert.deepEqual(
    r.responses.map((x: any) => x.body.text),
    [f.helloText, f.helloText, f.helloText],
  );
  assert.equal(r.connections, 1);
});
