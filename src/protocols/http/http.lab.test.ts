import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { httpFacts, largeFileBytes, largeSha256 } from '../../../lab/servers/http.ts';

const p = ports.http;
const plain = { host: '127.0.0.1', port: p.nginx };
const header = (headers: [string, string][], name: string) => headers.find(([n]) => n === name)?.[1];

async function ok(input: Record<string, unknown>, op = 'request', transcript = false) {
  const r = await call('http', op, input, { transcript });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return transcript ? r.body : r.body.result;
}

test('http: GET a known file: status, headers, body, raw response and timings', async () => {
  const r = await ok({ ...plain, path: httpFacts.hello.path });
  assert.equal(r.response.status, 200);
  assert.equal(r.response.version, '1.1');
  assert.equal(r.response.body.text, httpFacts.hello.text);
  assert.equal(header(r.response.headers, 'server'), `nginx/${httpFacts.nginxVersion}`);
  assert.equal(header(r.response.headers, 'content-length'), String(httpFacts.hello.text.length));
  assert.equal(r.response.framing, `length ${httpFacts.hello.text.length}`);
  assert.match(r.raw.text, /^HTTP\/1\.1 200 OK\r\nServer: nginx\/1\.22\.1\r\n/);
  assert.ok(r.raw.text.endsWith(`\r\n\r\n${httpFacts.hello.text}`));
  assert.match(r.request.head, /^GET \/hello\.txt HTTP\/1\.1\r\nHost: 127\.0\.0\.1:18080\r\n/);
  assert.equal(r.url, `http://127.0.0.1:${p.nginx}${httpFacts.hello.path}`);
  assert.ok(r.timing.connectMs >= 0 && r.timing.firstByteMs >= 0 && r.timing.totalMs >= r.timing.firstByteMs, JSON.stringify(r.timing));
  assert.equal(r.timing.tlsMs, null);
});

test('http: HEAD has headers and no body; 204 has no body either', async () => {
  const head = await ok({ ...plain, method: 'HEAD', path: httpFacts.hello.path });
  assert.equal(head.response.status, 200);
  assert.equal(header(head.response.headers, 'content-length'), String(httpFacts.hello.text.length));
  assert.equal(head.response.body.bytes, 0);
  assert.match(head.response.framing, /none: response to HEAD/);
  const none = await ok({ ...plain, path: httpFacts.noContent });
  assert.equal(none.response.status, 204);
  assert.equal(none.response.body.bytes, 0);
});

test('http: POST a body; the echo backend behind nginx gets it byte for byte', async () => {
  const body = 'name=Portolan&chart=Grüße ⚓';
  const r = await ok({ ...plain, method: 'POST', path: '/echo/form', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Lab-Test': 'yes' }, body });
  const echo = JSON.parse(r.response.body.text);
  assert.equal(echo.method, 'POST');
  assert.equal(echo.url, '/echo/form');
  assert.equal(echo.body, body);
  assert.equal(echo.bodyBytes, Buffer.byteLength(body));
  assert.ok(echo.headers.some(([n, v]: [string, string]) => n.toLowerCase() === 'x-lab-test' && v === 'yes'));
  assert.match(r.request.head, new RegExp(`Content-Length: ${Buffer.byteLength(body)}\r\n`));
  const bin = await ok({ ...plain, method: 'PUT', path: '/echo', bodyBase64: 'AP8Q/gABAgM=' });
  assert.equal(JSON.parse(bin.response.body.text).bodyBase64, 'AP8Q/gABAgM=');
});

test('http: a chunked upload is de-chunked by nginx and reaches the backend whole', async () => {
  const body = 'a body sent in seven-byte chunks, then the last chunk';
  const r = await ok({ ...plain, method: 'POST', path: '/echo', body, chunked: true, chunkSize: 7 }, 'request', true);
  const echo = JSON.parse(r.result.response.body.text);
  assert.equal(echo.body, body);
  assert.match(r.result.request.head, /Transfer-Encoding: chunked\r\n/);
  assert.doesNotMatch(r.result.request.head, /Content-Length/);
  const chunks = r.transcript.entries.filter((e: { dir: string; decode?: string }) => e.dir === 'out' && /^chunk of 7 bytes$/.test(e.decode ?? ''));
  assert.equal(chunks.length, Math.floor(body.length / 7));
  assert.ok(r.transcript.entries.some((e: { decode?: string }) => e.decode === 'last chunk'));
});

test('http: a chunked response (nginx sub_filter) is de-chunked, with its trailer', async () => {
  const r = await ok({ ...plain, path: httpFacts.chunked.path });
  assert.equal(header(r.response.headers, 'transfer-encoding'), 'chunked');
  assert.match(r.response.framing, /^chunked/);
  assert.equal(r.response.body.text, httpFacts.chunked.source.replaceAll('Portolan', 'PORTOLAN'));
  assert.ok(r.response.chunks >= 1);
  assert.deepEqual(r.response.trailers, [httpFacts.chunked.trailer]);
  // The raw response keeps the chunk framing the parsed body drops.
  assert.match(r.raw.text, /\r\n\r\n[0-9a-f]+\r\nPORTOLAN line one\./);
  assert.ok(r.raw.text.endsWith(`0\r\n${httpFacts.chunked.trailer[0]}: ${httpFacts.chunked.trailer[1]}\r\n\r\n`), JSON.stringify(r.raw.text.slice(-200)));
});

test('http: keep-alive — three requests on one connection, as nginx counts them', async () => {
  const r = await ok({ ...plain, paths: [httpFacts.conn, httpFacts.conn, httpFacts.hello.path, httpFacts.conn] }, 'sequence');
  assert.equal(r.connections, 1);
  const serials = r.responses.map((x: { headers: [string, string][] }) => header(x.headers, 'x-connection'));
  assert.equal(new Set(serials).size, 1, `nginx saw connections ${serials}`);
  assert.deepEqual(
    r.responses.map((x: { headers: [string, string][] }) => header(x.headers, 'x-connection-requests')),
    ['1', '2', '3', '4'],
  );
  assert.match(r.responses[3].body.text, /requests=4 protocol=HTTP\/1\.1/);
  assert.deepEqual(r.responses.map((x: { reused: boolean }) => x.reused), [false, true, true, true]);
  assert.equal(r.responses[2].body.text, httpFacts.hello.text);
});

test('http: a redirect is shown, not followed, unless asked', async () => {
  const r = await ok({ ...plain, path: httpFacts.redirects.chain });
  assert.equal(r.response.status, 302);
  assert.deepEqual(r.redirect, { location: `http://127.0.0.1:${p.nginx}/redirect/2`, url: `http://127.0.0.1:${p.nginx}/redirect/2` });
  assert.deepEqual(r.redirects, []);
});

test('http: a redirect chain followed on the same keep-alive connection', async () => {
  const r = await ok({ ...plain, path: httpFacts.redirects.chain, followRedirects: 5 });
  assert.equal(r.response.status, 200);
  assert.equal(r.response.body.text, httpFacts.hello.text);
  assert.deepEqual(r.redirects.map((h: { status: number }) => h.status), [302, 301, 302]);
  assert.equal(r.redirects[2].next, `http://127.0.0.1:${p.nginx}${httpFacts.redirects.chainEnd}`);
  assert.ok(r.redirects.every((h: { reusedConnection: boolean }) => h.reusedConnection));
  assert.equal(r.connection.connections, 1);
  assert.equal(header(r.response.headers, 'x-connection-requests'), '4');
});

test('http: a redirect loop stops at the limit and shows the last redirect', async () => {
  const r = await ok({ ...plain, path: httpFacts.redirects.loop, followRedirects: 3 });
  assert.equal(r.response.status, 302);
  assert.equal(r.redirects.length, 3);
  assert.equal(r.redirect.url, `http://127.0.0.1:${p.nginx}${httpFacts.redirects.loop}`);
});

test('http: a redirect to https opens a second, guarded hop with TLS (timed apart)', async () => {
  const r = await ok({ ...plain, path: httpFacts.redirects.toTls, followRedirects: 1 }, 'request', true);
  assert.equal(r.result.response.status, 200);
  assert.equal(r.result.response.body.text, httpFacts.hello.text);
  assert.equal(r.result.url, `https://127.0.0.1:${p.nginxTls}${httpFacts.hello.path}`);
  assert.equal(r.result.redirects[0].status, 301);
  assert.equal(r.result.redirects[0].reusedConnection, false);
  assert.equal(r.result.connection.connections, 2);
  assert.ok(r.result.timing.tlsMs >= 0, JSON.stringify(r.result.timing));
  const notes = r.transcript.entries.filter((e: { dir: string }) => e.dir === 'info').map((e: { decode: string }) => e.decode);
  assert.ok(notes.includes(`connecting to 127.0.0.1:${p.nginxTls}`), notes.join('\n'));
  assert.ok(notes.includes('TLS established'));
});

test('http: 303 turns POST into GET without the body; 307 and 308 keep both', async () => {
  const see = await ok({ ...plain, method: 'POST', path: httpFacts.redirects.seeOther, body: 'payload', followRedirects: 1 });
  const a = JSON.parse(see.response.body.text);
  assert.equal(a.method, 'GET');
  assert.equal(a.bodyBytes, 0);
  assert.ok(!a.headers.some(([n]: [string]) => n.toLowerCase() === 'content-length'));
  for (const path of [httpFacts.redirects.temporary, httpFacts.redirects.permanent]) {
    const keep = await ok({ ...plain, method: 'POST', path, body: 'payload', followRedirects: 1 });
    const b = JSON.parse(keep.response.body.text);
    assert.equal(b.method, 'POST');
    assert.equal(b.body, 'payload');
  }
});

test('http: a 3 MiB file arrives byte-exact; a body cap truncates at the cap', async () => {
  const r = await ok({ ...plain, path: httpFacts.large.path, maxBodyBytes: 4 * 1024 * 1024, maxRawBytes: 256 });
  assert.equal(r.response.body.bytes, httpFacts.large.bytes);
  assert.equal(r.response.body.truncated, false);
  assert.equal(createHash('sha256').update(Buffer.from(r.response.body.base64, 'base64')).digest('hex'), largeSha256());
  assert.ok(r.raw.bytes > httpFacts.large.bytes && r.raw.bytes < httpFacts.large.bytes + 1024, `raw ${r.raw.bytes} = head + body`);
  assert.equal(r.raw.truncated, true);
  const capped = await ok({ ...plain, path: httpFacts.large.path, maxBodyBytes: 1000 });
  assert.equal(capped.response.body.truncated, true);
  assert.equal(capped.response.body.bytes, 1000);
  assert.deepEqual(Buffer.from(capped.response.body.base64, 'base64'), Buffer.from(largeFileBytes(1000)));
  assert.equal(capped.connection.keepAlive, false);
});

test('http: https with implicit TLS to nginx (lab CA) and its ALPN-free HTTP/1.1', async () => {
  const r = await ok({ host: '127.0.0.1', port: p.nginxTls, tls: 'implicit', path: httpFacts.conn });
  assert.equal(r.response.status, 200);
  assert.match(r.response.body.text, /protocol=HTTP\/1\.1 http2=\n/);
  // workerd may finish the handshake lazily (with the first bytes), so its time can be ~0 here.
  assert.equal(typeof r.timing.tlsMs, 'number', JSON.stringify(r.timing));
  assert.ok(r.timing.tlsMs >= 0);
});

test('http: the echo backend streams chunks with a trailer, read directly', async () => {
  const r = await ok({ host: '127.0.0.1', port: p.echoBackend, path: `${httpFacts.stream}?n=4&size=3` });
  assert.equal(r.response.body.text, 'aaabbbcccddd');
  assert.deepEqual(r.response.trailers, [['x-pieces', '4']]);
});

test('http: speaking HTTP/1.1 to the h2c port is a protocol error that says HTTP/2', async () => {
  const r = await call('http', 'request', { host: '127.0.0.1', port: p.nginxH2c, path: '/' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'protocol_error');
  assert.match(r.body.error.message, /HTTP\/2/);
});

test('http: invalid headers are refused before anything is sent', async () => {
  const r = await call('http', 'request', { ...plain, headers: { 'X-Bad': 'a\r\nInjected: yes' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_input');
  assert.match(r.body.error.message, /headers/);
});

test('http: https to a port that speaks plain HTTP is a TLS error, not an opaque one', async () => {
  const r = await call('http', 'request', { host: '127.0.0.1', port: p.nginx, tls: 'implicit', path: '/' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'tls_error');
  assert.match(r.body.error.message, /TLS with 127\.0\.0\.1:18080 failed/);
});

test('http: content decoding: nginx gzips when asked, the body is shown as sent and decoded; unasked, it is plain', async () => {
  const r = await ok({ ...plain, path: httpFacts.gzip.path, headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(header(r.response.headers, 'content-encoding'), 'gzip');
  assert.ok(r.response.body.base64, 'the coded body is binary');
  assert.deepEqual(r.response.decoded.codings, ['gzip']);
  assert.equal(r.response.decoded.text, httpFacts.gzip.body);
  assert.equal(r.response.decoded.bytes, Buffer.byteLength(httpFacts.gzip.body));
  assert.ok(r.response.body.bytes < r.response.decoded.bytes / 5, 'gzip made it much smaller');

  const plainBody = await ok({ ...plain, path: httpFacts.gzip.path });
  assert.equal(header(plainBody.response.headers, 'content-encoding'), undefined);
  assert.equal(plainBody.response.body.text, httpFacts.gzip.body);
  assert.equal(plainBody.response.decoded, null);
});

test('http: pipelining — six requests written before the first response is read, answered in order on one connection', async () => {
  const paths = [httpFacts.conn, httpFacts.hello.path, httpFacts.conn, httpFacts.gzip.path, httpFacts.conn, httpFacts.conn];
  const body = await ok({ ...plain, paths, pipeline: 6 }, 'sequence', true);
  const r = body.result;
  assert.equal(r.connections, 1);
  assert.deepEqual(r.responses.map((x: any) => x.path), paths);
  assert.deepEqual(r.responses.map((x: any) => header(x.headers, 'x-connection-requests')), ['1', '2', '3', '4', '5', '6']);
  assert.equal(r.responses[1].body.text, httpFacts.hello.text);
  assert.equal(r.responses[3].body.text, httpFacts.gzip.body);
  assert.match(r.responses[5].body.text, /requests=6 /);
  const entries = body.transcript.entries.filter((e: any) => e.dir === 'out' || e.dir === 'in');
  const firstIn = entries.findIndex((e: any) => e.dir === 'in');
  assert.ok(firstIn > 0, 'the transcript shows the responses coming in');
  assert.equal(entries.slice(0, firstIn).filter((e: any) => /^GET /.test(e.decode ?? '')).length, 6, 'every request went out before any response came in');
});

test('http: an HTTP/1.1 Upgrade is shown: 101 Switching Protocols with its headers, and the connection is not reused for HTTP', async () => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const r = await ok({ ...plain, path: '/ws', headers: { Upgrade: 'websocket', Connection: 'Upgrade', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' } });
  assert.equal(r.response.status, 101);
  assert.equal(r.response.reason, 'Switching Protocols');
  assert.equal(header(r.response.headers, 'upgrade')?.toLowerCase(), 'websocket');
  assert.equal(header(r.response.headers, 'sec-websocket-accept'), createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'));
  assert.equal(r.connection.keepAlive, false);
});

test('http: cookies across redirects — a Set-Cookie on the 302 goes with the next hop when its path matches', async () => {
  const r = await ok({ ...plain, path: '/cookie/set', followRedirects: 1, headers: { Cookie: 'mine=1' } });
  assert.deepEqual(r.redirects.map((h: any) => h.cookiesSet), [['portolan', 'elsewhere']]);
  assert.equal(r.response.status, 200);
  assert.equal(r.response.body.text, 'cookie=mine=1; portolan=chart\n', 'the /other cookie stays behind');
  const shown = await ok({ ...plain, path: '/cookie/set' });
  assert.equal(shown.response.status, 302, 'not followed unless asked');
});
