import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  chunkLineFrame,
  chunkedBodyFrame,
  encodeChunkedBody,
  encodeRequestHead,
  keepsAlive,
  responseBodyLength,
  responseFrame,
  responseHeadFrame,
  trailerFrame,
} from './codec.ts';
import { bodyJson, redirectMethod, resolveLocation } from './client.ts';

// nginx's answer to GET /chunked.txt (RFC 9112 §7.1): two chunks, a trailer field, the final CRLF.
const CHUNKED = utf8(
  'HTTP/1.1 200 OK\r\n' + // status line (§4)
    'Server: nginx/1.22.1\r\n' +
    'Content-Type: text/plain\r\n' +
    'Transfer-Encoding: chunked\r\n' + // §6.3 item 4: chunked framing
    '\r\n' +
    '13\r\nPORTOLAN line one.\n\r\n' + // 0x13 = 19 bytes of data, then CRLF
    '13;ext=1\r\nPORTOLAN line two.\n\r\n' + // 19 bytes, with a chunk extension (§7.1.1)
    '0\r\n' + // last-chunk
    'X-Lab-Trailer: chunked-done\r\n' + // trailer section (§7.1.2)
    '\r\n',
);

const LENGTH = utf8('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello');

test('a chunked response decodes whole, byte by byte and at random split points', () => {
  const [r] = assertSplitFeed(responseFrame('GET'), CHUNKED);
  assert.equal(r.head.status, 200);
  assert.equal(r.head.reason, 'OK');
  assert.deepEqual(r.head.headers[2], ['transfer-encoding', 'chunked']);
  assert.equal(fromLatin1(r.body), 'PORTOLAN line one.\nPORTOLAN line two.\n');
  assert.deepEqual(r.trailers, [['x-lab-trailer', 'chunked-done']]);
});

test('two responses back to back on a keep-alive connection', () => {
  const both = new Uint8Array([...LENGTH, ...CHUNKED]);
  const got = assertSplitFeed(responseFrame('GET'), both);
  assert.equal(got.length, 2);
  assert.equal(fromLatin1(got[0].body), 'hello');
  assert.equal(got[1].trailers.length, 1);
});

test('the head frame keeps the raw bytes and lower-cases names; values are trimmed', () => {
  const h = responseHeadFrame()(utf8('HTTP/1.0 404 Not Found\r\nX-A:  spaced value \t\r\n\r\nbody'))!;
  assert.equal(h.size, 48);
  assert.equal(h.value.version, '1.0');
  assert.deepEqual(h.value.headers, [['x-a', 'spaced value']]);
  assert.equal(fromLatin1(h.value.raw), 'HTTP/1.0 404 Not Found\r\nX-A:  spaced value \t\r\n\r\n');
});

test('body length rules of RFC 9112 §6.3', () => {
  const head = (status: number, headers: [string, string][]) => ({ status, headers });
  assert.equal(responseBodyLength(head(200, [['content-length', '10']]), 'HEAD').kind, 'none');
  assert.equal(responseBodyLength(head(204, []), 'GET').kind, 'none');
  assert.equal(responseBodyLength(head(304, [['content-length', '10']]), 'GET').kind, 'none');
  assert.deepEqual(responseBodyLength(head(200, [['content-length', '7, 7']]), 'GET'), { kind: 'length', length: 7 });
  assert.throws(() => responseBodyLength(head(200, [['content-length', '7, 8']]), 'GET'), ProtocolError);
  assert.throws(() => responseBodyLength(head(200, [['content-length', '-1']]), 'GET'), ProtocolError);
  // Transfer-Encoding overrides Content-Length (item 3); chunked not last means read until close (item 4).
  assert.equal(responseBodyLength(head(200, [['transfer-encoding', 'chunked'], ['content-length', '3']]), 'GET').kind, 'chunked');
  assert.equal(responseBodyLength(head(200, [['transfer-encoding', 'gzip']]), 'GET').kind, 'close');
  assert.equal(responseBodyLength(head(200, []), 'GET').kind, 'close');
  assert.equal(responseBodyLength(head(200, []), 'CONNECT').kind, 'none');
});

test('keep-alive: HTTP/1.1 by default, HTTP/1.0 only when asked, never after Connection: close', () => {
  const len = { kind: 'length', length: 1 } as const;
  assert.equal(keepsAlive({ version: '1.1', headers: [] }, len), true);
  assert.equal(keepsAlive({ version: '1.1', headers: [['connection', 'close']] }, len), false);
  assert.equal(keepsAlive({ version: '1.0', headers: [] }, len), false);
  assert.equal(keepsAlive({ version: '1.0', headers: [['connection', 'Keep-Alive']] }, len), true);
  assert.equal(keepsAlive({ version: '1.1', headers: [] }, { kind: 'close', why: '' }), false);
});

test('request head encoding: line, fields in order, refusal of injection', () => {
  const bytes = encodeRequestHead({ method: 'POST', target: '/echo?x=1', headers: [['Host', '127.0.0.1:18080'], ['Transfer-Encoding', 'chunked']] });
  assert.equal(fromLatin1(bytes), 'POST /echo?x=1 HTTP/1.1\r\nHost: 127.0.0.1:18080\r\nTransfer-Encoding: chunked\r\n\r\n');
  assert.throws(() => encodeRequestHead({ method: 'GET', target: '/a b', headers: [] }), ProtocolError);
  assert.throws(() => encodeRequestHead({ method: 'GET', target: '/', headers: [['X', 'a\r\nInjected: 1']] }), ProtocolError);
  assert.throws(() => encodeRequestHead({ method: 'GE T', target: '/', headers: [] }), ProtocolError);
});

test('chunked request bodies round-trip through the decoder', () => {
  const data = utf8('a body sent in chunks of five bytes ⚓');
  const wire = encodeChunkedBody(data, 5, [['X-Sum', '42']]);
  assert.equal(fromLatin1(wire.subarray(0, 10)), '5\r\na bod\r\n');
  const [d] = assertSplitFeed(chunkedBodyFrame(), wire);
  assert.deepEqual(d.body, data);
  assert.equal(d.chunks, Math.ceil(data.length / 5));
  assert.deepEqual(d.trailers, [['x-sum', '42']]);
});

test('malformed input is a ProtocolError naming what is wrong', () => {
  assert.throws(() => responseHeadFrame()(utf8('SSH-2.0-OpenSSH\r\n\r\n')), /not an HTTP\/1.x status line/);
  assert.throws(() => responseHeadFrame()(new Uint8Array([0, 0, 0x12, 4, 0, 0, 0, 0, 0])), /HTTP\/2 SETTINGS/);
  assert.throws(() => responseHeadFrame()(utf8('HTTP/1.1 200 OK\r\n folded: x\r\n\r\n')), /obsolete line folding/);
  assert.throws(() => responseHeadFrame()(utf8('HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n')), /field name/);
  assert.throws(() => chunkLineFrame(utf8('zz\r\n')), /malformed chunk-size/);
  assert.throws(() => chunkLineFrame(utf8('fffffffffffffffff\r\n')), /too large/);
  assert.throws(() => chunkedBodyFrame()(utf8('3\r\nabcd\r\n')), /not followed by CRLF/);
  assert.throws(() => chunkedBodyFrame(4)(utf8('5\r\n')), /larger than 4/);
  assert.throws(() => responseHeadFrame(100)(new Uint8Array(200).fill(0x48)), ProtocolError);
});

test('decoders survive fuzz: only ProtocolError, never a hang', () => {
  assertFuzzSafe(responseFrame('GET', 4096), { seeds: [CHUNKED, LENGTH] });
  assertFuzzSafe(chunkedBodyFrame(4096), { seeds: [CHUNKED.subarray(CHUNKED.indexOf(0x31))] });
  assertFuzzSafe(trailerFrame(), { seeds: [utf8('A: b\r\n\r\n')] });
  assertFuzzSafe(chunkLineFrame);
});

test('redirects: Location resolution and method rules (RFC 9110 §15.4)', () => {
  const base = { scheme: 'http' as const, host: '127.0.0.1', port: 18080 };
  assert.deepEqual(resolveLocation(base, '/redirect/3', '/redirect/2'), { origin: base, target: '/redirect/2', url: 'http://127.0.0.1:18080/redirect/2' });
  assert.deepEqual(resolveLocation(base, '/a/b?c', 'd?e=1').target, '/a/d?e=1');
  const tls = resolveLocation(base, '/', 'https://127.0.0.1:18443/hello.txt');
  assert.deepEqual(tls.origin, { scheme: 'https', host: '127.0.0.1', port: 18443 });
  assert.equal(resolveLocation(base, '/', 'https://[::1]/x').origin.host, '::1');
  assert.equal(resolveLocation(base, '/', 'https://example.org/').origin.port, 443);
  assert.throws(() => resolveLocation(base, '/', 'ftp://x/'), /leaves HTTP/);
  assert.deepEqual(redirectMethod(303, 'POST'), { method: 'GET', keepBody: false });
  assert.deepEqual(redirectMethod(302, 'POST'), { method: 'GET', keepBody: false });
  assert.deepEqual(redirectMethod(307, 'POST'), { method: 'POST', keepBody: true });
  assert.deepEqual(redirectMethod(308, 'PUT'), { method: 'PUT', keepBody: true });
  assert.deepEqual(redirectMethod(301, 'GET'), { method: 'GET', keepBody: false });
});

test('bodies: text when it decodes and looks like text, base64 otherwise or when asked', () => {
  assert.deepEqual(bodyJson(utf8('héllo'), 'auto', 'text/plain'), { text: 'héllo' });
  assert.deepEqual(bodyJson(new Uint8Array([0, 255, 1]), 'auto', 'text/plain'), { base64: 'AP8B' });
  assert.deepEqual(bodyJson(utf8('{"a":1}'), 'auto', undefined), { text: '{"a":1}' });
  assert.deepEqual(bodyJson(new Uint8Array([0, 1, 2]), 'auto', 'application/octet-stream'), { base64: 'AAEC' });
  assert.deepEqual(bodyJson(utf8('hi'), 'base64'), { base64: 'aGk=' });
});
