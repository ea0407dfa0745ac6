import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';
import { ports } from '../../../lab/index.ts';
import { httpFacts, largeFileBytes, largeSha256 } from '../../../lab/servers/http.ts';

const p = ports.http;
const h2c = { host: '127.0.0.1', port: p.nginxH2c };
const header = (headers: [string, string][], name: string) => headers.find(([n]) => n === name)?.[1];

const node = useNodeHost();

async function ok(op: string, input: Record<string, unknown>, transcript = false) {
  const r = await call('http2', op, input, { transcript });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return transcript ? r.body : r.body.result;
}

test('http2: inspect over h2c shows nginx SETTINGS, the PING round trip, frames both ways and HPACK figures', async () => {
  const r = await ok('inspect', { ...h2c, path: httpFacts.conn });
  assert.equal(r.negotiated, 'h2c (prior knowledge)');
  const settings = Object.fromEntries(r.serverSettings.map((s: { name: string; value: number }) => [s.name, s.value]));
  assert.equal(settings.MAX_CONCURRENT_STREAMS, 128);
  assert.equal(settings.INITIAL_WINDOW_SIZE, 65536);
  assert.equal(r.settingsAcked, true);
  assert.equal(typeof r.pingRttMs, 'number');
  assert.equal(r.response.status, 200);
  assert.match(r.response.body.text, /protocol=HTTP\/2\.0 http2=h2c/);
  const seen = r.frames.map((f: { dir: string; type: string; flags: string[] }) => `${f.dir} ${f.type}${f.flags.includes('ACK') ? ' ACK' : ''}`);
  for (const want of ['out SETTINGS', 'in SETTINGS', 'out SETTINGS ACK', 'in SETTINGS ACK', 'out PING', 'in PING ACK', 'out HEADERS', 'in HEADERS', 'in DATA', 'out GOAWAY']) {
    assert.ok(seen.includes(want), `${want} missing from ${seen.join(', ')}`);
  }
  assert.ok(r.compression.requestRatio < 0.5 && r.compression.responseRatio < 0.5, JSON.stringify(r.compression));
  assert.equal(r.flowControl.serverInitialWindow, 65536);
});

test('http2: 100 concurrent streams on one connection, as nginx counts them', async () => {
  const paths = Array.from({ length: 100 }, () => httpFacts.conn);
  const r = await ok('request', { ...h2c, paths, concurrency: 100 });
  assert.equal(r.responses.length, 100);
  assert.ok(r.responses.every((x: { status: number }) => x.status === 200));
  const conns = new Set(r.responses.map((x: { headers: [string, string][] }) => header(x.headers, 'x-connection')));
  assert.equal(conns.size, 1, 'one TCP connection');
  const counts = r.responses.map((x: { headers: [string, string][] }) => Number(header(x.headers, 'x-connection-requests'))).sort((a: number, b: number) => a - b);
  assert.deepEqual(counts, Array.from({ length: 100 }, (_, i) => i + 1));
  assert.deepEqual(r.responses.map((x: { stream: number }) => x.stream).slice(0, 3), [1, 3, 5]);
  // The dynamic table turns 100 identical requests into a few bytes each.
  assert.ok(r.compression.requestRatio < 0.1, JSON.stringify(r.compression));
});

test('http2: a 3 MiB body through a 64 KiB stream window, credited back with WINDOW_UPDATE', async () => {
  const r = await ok('request', { ...h2c, path: httpFacts.large.path, windowSize: 65535, maxBodyBytes: 4 * 1024 * 1024, bodyEncoding: 'base64' }, true);
  const res = r.result.responses[0];
  assert.equal(res.body.bytes, httpFacts.large.bytes);
  assert.equal(createHash('sha256').update(Buffer.from(res.body.base64, 'base64')).digest('hex'), largeSha256());
  const updates = r.transcript.entries.filter((e: { dir: string; decode?: string }) => e.dir === 'out' && /WINDOW_UPDATE stream 1/.test(e.decode ?? ''));
  assert.ok(updates.length >= 40, `only ${updates.length} stream WINDOW_UPDATEs for 3 MiB through a 64 KiB window`);
});

test('http2: a request body larger than nginx\'s window is sent as WINDOW_UPDATEs allow, and arrives whole', async () => {
  const body = 'portolan '.repeat(20000); // 180 000 bytes > nginx's 65 536-byte initial window
  const r = await ok('request', { ...h2c, method: 'POST', path: '/echo', body, headers: { 'content-type': 'text/plain' } });
  const echo = JSON.parse(r.responses[0].body.text);
  assert.equal(echo.bodyBytes, body.length);
  assert.equal(echo.body, body);
});

test('http2: trailers arrive in a final HEADERS frame', async () => {
  const r = await ok('request', { ...h2c, path: httpFacts.chunked.path });
  assert.equal(r.responses[0].body.text, httpFacts.chunked.source.replaceAll('Portolan', 'PORTOLAN'));
  assert.deepEqual(r.responses[0].trailers, [httpFacts.chunked.trailer]);
});

test('http2: the body cap cancels the stream with RST_STREAM; the bytes kept are the first ones', async () => {
  const r = await ok('request', { ...h2c, path: httpFacts.large.path, maxBodyBytes: 1000, bodyEncoding: 'base64' }, true);
  const res = r.result.responses[0];
  assert.deepEqual(res.reset, { by: 'client', error: 'CANCEL (body cap reached)' });
  assert.equal(res.body.truncated, true);
  assert.deepEqual(Buffer.from(res.body.base64, 'base64'), Buffer.from(largeFileBytes(1000)));
  assert.ok(r.transcript.entries.some((e: { dir: string; decode?: string }) => e.dir === 'out' && /RST_STREAM stream 1, 4 bytes: CANCEL/.test(e.decode ?? '')));
});

test('http2: nginx\'s GOAWAY after its request limit is surfaced; later streams are reported as refused', async () => {
  const paths = Array.from({ length: 5 }, () => httpFacts.conn);
  const r = await ok('request', { host: '127.0.0.1', port: p.nginxH2cLimited, paths, concurrency: 5 });
  assert.deepEqual(r.goaway, { lastStream: 5, error: 'NO_ERROR', debug: '' });
  assert.deepEqual(r.responses.map((x: { status: number | null }) => x.status), [200, 200, 200, null, null]);
  assert.equal(r.responses[4].refused, 'GOAWAY (NO_ERROR) with last stream 5');
});

test('http2: nginx refuses an oversize upload with 413 while the body is still flowing', async () => {
  const r = await ok('request', { ...h2c, method: 'POST', path: httpFacts.uploadLimit, body: 'x'.repeat(100_000) });
  assert.equal(r.responses[0].status, 413);
});

test('http2: h2c via HTTP/1.1 Upgrade: Apache answers 101 and the response comes on stream 1', async () => {
  const r = await ok('request', { host: '127.0.0.1', port: p.apacheH2c, path: httpFacts.apache.hello, mode: 'upgrade' }, true);
  assert.equal(r.result.negotiated, 'h2c (HTTP/1.1 Upgrade, 101 Switching Protocols)');
  assert.equal(r.result.responses[0].stream, 1);
  assert.equal(r.result.responses[0].status, 200);
  assert.equal(r.result.responses[0].body.text, httpFacts.hello.text);
  assert.match(header(r.result.responses[0].headers, 'server') ?? '', /^Apache\/2\.4/);
  const first = r.transcript.entries.find((e: { dir: string }) => e.dir === 'out');
  assert.match(first.decode, /^GET \/hello\.txt HTTP\/1\.1/);
  assert.ok(r.transcript.entries.some((e: { dir: string; decode?: string }) => e.dir === 'in' && /^HTTP\/1\.1 101/.test(e.decode ?? '')));
});

test('http2: nginx declines the Upgrade and answers in HTTP/1.1, which is shown as such', async () => {
  const r = await ok('request', { host: '127.0.0.1', port: p.nginx, path: httpFacts.hello.path, mode: 'upgrade' });
  assert.equal(r.negotiated, 'http/1.1 (the server declined the h2c upgrade)');
  assert.equal(r.http1.status, 200);
  assert.equal(r.http1.body.text, httpFacts.hello.text);
});

test('http2: HTTP/1.1-only port with prior knowledge is a protocol error naming the problem', async () => {
  const r = await call('http2', 'request', { host: '127.0.0.1', port: p.nginx, path: '/' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'protocol_error');
});

test("http2: h2 over TLS with ALPN on workerd, through Portolan's TLS engine; with the runtime's TLS it is 501 naming ALPN", async () => {
  const r = await call('http2', 'request', { host: 'localhost', port: p.nginxTls, tls: 'implicit', paths: [httpFacts.conn, httpFacts.hello.path] }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  assert.equal(r.body.result.negotiated, 'h2 (TLS with ALPN)');
  assert.equal(r.body.result.alpn, 'h2');
  assert.match(r.body.result.responses[0].body.text, /protocol=HTTP\/2\.0 http2=h2/);
  assert.equal(r.body.result.responses[1].body.text, httpFacts.hello.text);
  const tls = r.body.transcript.entries.filter((e: { decode?: string }) => e.decode?.startsWith('TLS ')).map((e: { decode: string }) => e.decode);
  assert.match(tls[0], /^TLS ClientHello .*ALPN h2,http\/1\.1/);
  assert.ok(tls.some((d: string) => /^TLS EncryptedExtensions, ALPN h2/.test(d)), tls.join('\n'));
  const runtime = await call('http2', 'request', { host: '127.0.0.1', port: p.nginxTls, tls: 'implicit', tlsEngine: 'runtime', path: '/' });
  assert.equal(runtime.status, 501);
  assert.equal(runtime.body.error.code, 'unsupported_runtime');
  assert.match(runtime.body.error.message, /ALPN/);
  assert.deepEqual(runtime.body.error.detail.missing, ['alpn']);
  assert.ok(runtime.body.error.detail.alternatives.some((a: string) => /tlsEngine auto or portolan/.test(a)));
});

test('http2 (Node host): h2 over TLS with ALPN to nginx, and h2c too', async () => {
  const r = await callNode(node, 'http2', 'request', { host: '127.0.0.1', port: p.nginxTls, tls: 'implicit', paths: [httpFacts.conn, httpFacts.hello.path] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.negotiated, 'h2 (TLS with ALPN)');
  assert.equal(r.body.result.alpn, 'h2');
  assert.match(r.body.result.responses[0].body.text, /protocol=HTTP\/2\.0 http2=h2\n/);
  assert.equal(r.body.result.responses[1].body.text, httpFacts.hello.text);
  const i = await callNode(node, 'http2', 'inspect', { host: '127.0.0.1', port: p.nginxTls, tls: 'implicit', path: httpFacts.conn });
  assert.equal(i.status, 200);
  assert.equal(i.body.result.alpn, 'h2');
  assert.equal(i.body.result.response.status, 200);
  const c = await callNode(node, 'http2', 'request', { ...h2c, path: httpFacts.hello.path });
  assert.equal(c.body.result.responses[0].body.text, httpFacts.hello.text);
  const up = await callNode(node, 'http2', 'request', { host: '127.0.0.1', port: p.apacheH2c, path: httpFacts.apache.hello, mode: 'upgrade' });
  assert.equal(up.body.result.responses[0].status, 200);
});
