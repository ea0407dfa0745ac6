// HTTP/1.1 and HTTP/2 response bodies as files through workerd's API: 64 MiB byte-identical from nginx over
// HTTP/1.1 and h2c, resume with Range (206 from the server), a body the server cuts short never passing as
// complete (through the Node host too, where a body of unknown length is reset), and a status other than 2xx
// answered as a JSON error before any byte.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { httpFacts } from '../../../lab/servers/http.ts';
import { bigFile, MiB, sha256File, streamDownload } from '../../../test/files.ts';
import { workerUrl } from '../../../test/harness.ts';
import { useNodeHost } from '../../../test/node-host.ts';

const p = ports.http;
const url = () => workerUrl('dev');
const path = (name: string) => `${httpFacts.transfers}${name}`;

before(() => ensureLab(['http']));

for (const [protocol, port] of [
  ['http', p.nginx],
  ['http2', p.nginxH2c],
] as const) {
  test(`${protocol}: a 64 MiB body streams byte-identical with nginx's length, type, date and ETag; Range resumes from the middle`, async () => {
    const file = bigFile('http-64m.bin', 64 * MiB);
    const down = await streamDownload(url(), protocol, 'request', { host: '127.0.0.1', port, path: path('http-64m.bin') });
    assert.equal(down.status, 200, JSON.stringify(down.json));
    assert.equal(down.error, null);
    assert.equal(down.headers.get('content-length'), String(64 * MiB));
    assert.equal(down.headers.get('x-portolan-http-status'), '200');
    assert.match(down.headers.get('x-portolan-etag') ?? '', /^"[0-9a-f]+-4000000"$/);
    assert.match(down.headers.get('content-disposition') ?? '', /filename="http-64m\.bin"/);
    assert.equal(down.sha256, file.sha256);
    const half = 32 * MiB + 9;
    const rest = await streamDownload(url(), protocol, 'request', { host: '127.0.0.1', port, path: path('http-64m.bin') }, { range: `bytes=${half}-` });
    assert.equal(rest.status, 206, JSON.stringify(rest.json));
    assert.equal(rest.headers.get('content-range'), `bytes ${half}-${file.size - 1}/${file.size}`);
    assert.equal(rest.headers.get('x-portolan-http-status'), '206', 'nginx itself answered the range');
    assert.equal(rest.sha256, await sha256File(file.path, half));
  });
}

test('http: a body the server cuts short is never a complete download: the announced length is not met and the body ends in an error', async () => {
  const cut = await streamDownload(url(), 'http', 'request', { host: '127.0.0.1', port: p.echoBackend, path: `${httpFacts.cut}?length=${16 * MiB}&send=${3 * MiB}` });
  assert.equal(cut.status, 200);
  assert.equal(cut.headers.get('content-length'), String(16 * MiB));
  assert.equal(cut.bytes, 3 * MiB);
  assert.notEqual(cut.error, null);
});

test('http and http2: a 404 is a JSON server_error naming the path, before any byte', async () => {
  for (const [protocol, port] of [
    ['http', p.nginx],
    ['http2', p.nginxH2c],
  ] as const) {
    const missing = await streamDownload(url(), protocol, 'request', { host: '127.0.0.1', port, path: path('no-such-file.bin') });
    assert.equal(missing.status, 502);
    assert.equal(missing.json.error.code, 'server_error');
    assert.equal(missing.json.error.message, `GET ${path('no-such-file.bin')}: the server answered 404`);
    assert.equal(missing.json.error.detail.status, 404);
  }
});

const node = useNodeHost();

test('http through the Node host: a body of unknown length cut short resets the connection, never a clean end', async () => {
  const cut = await streamDownload(node.url, 'http', 'request', { host: '127.0.0.1', port: p.echoBackend, path: `${httpFacts.cut}?length=${16 * MiB}&send=${3 * MiB}&chunked=1` });
  assert.equal(cut.status, 200);
  assert.equal(cut.headers.get('content-length'), null, 'the server said no length');
  assert.equal(cut.bytes, 3 * MiB);
  assert.notEqual(cut.error, null, 'the body ends in an error');
});
