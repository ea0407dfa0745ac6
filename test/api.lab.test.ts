// The API contract through workerd: every outcome code with its HTTP status, field-named input errors,
// short routes in each format, the generated descriptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, workerUrl } from './harness.ts';
import { ports } from '../lab/index.ts';

const lab = ports.foundation;
const url = () => workerUrl('dev');

test('GET /api/protocols: every protocol with ports, stars, verifiedAgainst and JSON Schema inputs', async () => {
  const res = await fetch(`${url()}/api/protocols`);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.runtime, 'workers');
  const echo = body.protocols.find((p: { id: string }) => p.id === 'echo');
  assert.deepEqual(echo.ports, [{ port: 7, transport: 'tcp' }]);
  assert.equal(typeof echo.rating.stars, 'number');
  const send = echo.operations.find((o: { name: string }) => o.name === 'send');
  assert.deepEqual(send.input.required, ['host']);
  assert.equal(send.input.properties.port.maximum, 65535);
  assert.equal(send.support.workers.supported, true);
});

test('GET /api/openapi.json: a path per operation', async () => {
  const doc = await (await fetch(`${url()}/api/openapi.json`)).json();
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(doc.paths['/api/dict/define'].post.requestBody.content['application/json'].schema.properties.word);
  assert.ok(doc.paths['/api/ping/tcp'].post.responses['504']);
});

test('invalid_input (400): the field is named', async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ port: lab.echo }, /host/],
    [{ host: '127.0.0.1', port: 70000 }, /port/],
    [{ host: '127.0.0.1', port: 'seven' }, /port/],
    [{ host: 'bad host!', port: lab.echo }, /host/],
    [{ host: '127.0.0.1', port: lab.echo, timeoutMs: 5 }, /timeoutMs/],
    [{ host: '127.0.0.1', port: lab.echo, colour: 'red' }, /colour/],
  ];
  for (const [input, field] of cases) {
    const r = await call('echo', 'send', input);
    assert.equal(r.status, 400, JSON.stringify(input));
    assert.equal(r.body.ok, false);
    assert.equal(r.body.error.code, 'invalid_input');
    assert.match(r.body.error.message, field);
    assert.ok(r.body.error.detail.issues.some((i: { field: string }) => field.test(i.field)));
  }
  const notJson = await fetch(`${url()}/api/echo/send`, { method: 'POST', body: '{nope' });
  assert.equal(notJson.status, 400);
  assert.match((await notJson.json()).error.message, /body: is not valid JSON/);
  const unknown = await call('nosuchprotocol', 'x', {});
  assert.equal(unknown.status, 400);
  assert.match(unknown.body.error.message, /protocol/);
  const badOp = await call('echo', 'nosuchop', {});
  assert.match(badOp.body.error.message, /echo has no operation "nosuchop"; it has send/);
});

test('refused (502): nothing listens', async () => {
  const r = await call('echo', 'send', { host: '127.0.0.1', port: lab.closedPort });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'refused');
});

test('connect_timeout (504): a port that never completes the handshake, within the deadline', async () => {
  const t0 = Date.now();
  const r = await call('echo', 'send', { host: '127.0.0.1', port: lab.blackhole, timeoutMs: 1000 });
  assert.equal(r.status, 504);
  assert.equal(r.body.error.code, 'connect_timeout');
  assert.ok(Date.now() - t0 < 5000);
});

test('io_timeout (504): a server that accepts and says nothing', async () => {
  const t0 = Date.now();
  const r = await call('daytime', 'get', { host: '127.0.0.1', port: lab.silent, timeoutMs: 800 });
  assert.equal(r.status, 504);
  assert.equal(r.body.error.code, 'io_timeout');
  assert.ok(Date.now() - t0 < 5000);
});

test('closed (502): a server that hangs up before the answer is complete', async () => {
  // The daytime server sends one short line and closes; chargen's reader wanted 1000 bytes.
  const c = await call('chargen', 'read', { host: '127.0.0.1', port: lab.daytime, bytes: 1000 });
  assert.equal(c.status, 502);
  assert.equal(c.body.error.code, 'closed');
});

test('protocol_error (502): a server speaking garbage', async () => {
  const r = await call('dict', 'define', { host: '127.0.0.1', port: lab.garbage, word: 'x' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'protocol_error');
  assert.match(r.body.error.message, /DICT status line malformed/);
});

test('tls_error (502): TLS to a port that does not speak it', async () => {
  const r = await call('gopher', 'fetch', { host: '127.0.0.1', port: lab.echo, tls: 'implicit' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'tls_error');
});

test('server_error and auth_failed (502) carry the server\'s own reply', async () => {
  const s = await call('dict', 'define', { host: '127.0.0.1', port: lab.dict, word: 'x', database: 'nosuch' });
  assert.equal(s.body.error.code, 'server_error');
  assert.match(s.body.error.message, /550/);
  const a = await call('dict', 'define', { host: '127.0.0.1', port: lab.dict, word: 'x', auth: { user: 'portolan', secret: 'nope' } });
  assert.equal(a.body.error.code, 'auth_failed');
});

test('?transcript=1 adds the wire log to failures too', async () => {
  const r = await call('dict', 'define', { host: '127.0.0.1', port: lab.garbage, word: 'x' }, { transcript: true });
  assert.equal(r.body.error.code, 'protocol_error');
  assert.ok(r.body.transcript.entries.some((e: { dir: string }) => e.dir === 'in'));
});

test('short routes: text for curl, JSON on request, the UI for browsers', async () => {
  const text = await fetch(`${url()}/ping/127.0.0.1:${lab.echo}?count=2&intervalMs=10`);
  assert.equal(text.status, 200);
  assert.match(text.headers.get('content-type')!, /text\/plain/);
  const body = await text.text();
  assert.match(body, new RegExp(`^PING 127\\.0\\.0\\.1:${lab.echo} \\(TCP connect\\)`));
  assert.match(body, /2 probes transmitted, 2 connected, 0% loss/);
  assert.match(body, /rtt min\/avg\/max\/stddev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms/);
  const json = await fetch(`${url()}/dict/127.0.0.1:${lab.dict}/portolan`, { headers: { accept: 'application/json' } });
  assert.equal((await json.json()).result.definitions[0].word, 'portolan');
  const fmt = await (await fetch(`${url()}/echo/127.0.0.1:${lab.echo}/hi?format=json`)).json();
  assert.equal(fmt.result.text, 'hi');
  const html = await fetch(`${url()}/ping/127.0.0.1:${lab.echo}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
  assert.equal(html.status, 302);
  assert.match(html.headers.get('location')!, /^\/#\/run\/ping\/tcp\?.*host=127\.0\.0\.1/);
  const refused = await fetch(`${url()}/ping/127.0.0.1:${lab.closedPort}?count=1`);
  assert.match(await refused.text(), /1 probes transmitted, 0 connected, 100% loss/);
  const bad = await fetch(`${url()}/echo/127.0.0.1:99999`);
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /^error: invalid_input: port/);
});

test('a body over the limit is refused, naming the body', async () => {
  const res = await fetch(`${url()}/api/echo/send`, { method: 'POST', body: JSON.stringify({ host: '127.0.0.1', data: 'x'.repeat(2 * 1024 * 1024) }) });
  assert.equal(res.status, 400);
  assert.match((await res.json()).error.message, /^body: larger than/);
});

test('unsupported_runtime (501): what Workers cannot do, with the reason and the alternative', async () => {
  const r = await call('dns', 'query', { host: '127.0.0.1', port: ports.dns.bind, name: 'lab.portolan.test', transport: 'udp' });
  assert.equal(r.status, 501);
  assert.equal(r.body.error.code, 'unsupported_runtime');
  assert.deepEqual(r.body.error.detail.missing, ['udp']);
  assert.match(r.body.error.detail.reasons.join(' '), /TCP streams only/);
  assert.match(r.body.error.detail.alternatives.join(' '), /Node host/);
});

test('untrusted_peer (502): a host key that is not the expected one, naming both fingerprints', async () => {
  const wrong = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
  const r = await call('ssh', 'probe', { host: '127.0.0.1', port: ports.ssh.sshd, hostKeyFingerprint: wrong });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'untrusted_peer');
  assert.ok(r.body.error.message.includes(wrong), r.body.error.message);
  assert.match(r.body.error.message, /SHA256:[A-Za-z0-9+/]{43}/);
});
