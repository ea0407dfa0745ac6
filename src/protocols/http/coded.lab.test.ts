// br and zstd content decoding through workerd: nginx's brotli filter compressing on the fly, a file compressed by
// Debian's zstd CLI, and decompression bombs of both refused at the expansion cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliDecompressSync } from 'node:zlib';
import { call } from '../../../test/harness.ts';
import { codedText, httpFiveFacts } from '../../../lab/servers/http-five.ts';

const f = httpFiveFacts.coded;
const target = { host: '127.0.0.1', port: f.port };
const header = (headers: [string, string][], name: string) => headers.find(([n]) => n === name)?.[1];

async function ok(input: Record<string, unknown>) {
  const r = await call('http', 'request', { ...target, ...input });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return r.body.result;
}

test('http br: nginx compresses on the fly (compressed: true); the decoded body equals the file, the body as sent is kept', async () => {
  const r = await ok({ path: f.text, compressed: true });
  assert.match(r.request.head, /\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n/);
  assert.equal(header(r.response.headers, 'content-encoding'), 'br');
  assert.match(r.response.framing, /^chunked/);
  assert.deepEqual(r.response.decoded.codings, ['br']);
  assert.equal(r.response.decoded.text, codedText());
  assert.equal(r.response.decoded.bytes, Buffer.byteLength(codedText()));
  const sent = Buffer.from(r.response.body.base64, 'base64');
  assert.equal(sent.length, r.response.body.bytes);
  assert.ok(sent.length < r.response.decoded.bytes / 4, `brotli made it smaller (${sent.length} bytes)`);
  assert.equal(brotliDecompressSync(sent).toString(), codedText(), 'the body as sent is the brotli stream nginx wrote');
});

test('http br: only asked codings come back — Accept-Encoding: gzip gets gzip, none gets the text as is', async () => {
  const gz = await ok({ path: f.text, headers: { 'Accept-Encoding': 'gzip' } });
  assert.notEqual(header(gz.response.headers, 'content-encoding'), 'br');
  const none = await ok({ path: f.text });
  assert.equal(header(none.response.headers, 'content-encoding'), undefined);
  assert.equal(none.response.body.text, codedText());
  assert.equal(none.response.decoded, null);
});

test('http zstd: a file compressed by the zstd CLI, sent with Content-Encoding: zstd, decodes to the original bytes', async () => {
  const r = await ok({ path: f.zstd, bodyEncoding: 'base64' });
  assert.equal(header(r.response.headers, 'content-encoding'), 'zstd');
  assert.equal(r.response.framing, `length ${r.response.body.bytes}`);
  const sent = Buffer.from(r.response.body.base64, 'base64');
  assert.equal(sent.readUInt32LE(0), 0xfd2fb528, 'the body as sent is a zstd frame');
  assert.deepEqual(r.response.decoded.codings, ['zstd']);
  assert.equal(Buffer.from(r.response.decoded.base64, 'base64').toString(), codedText());
});

test('http: decompression bombs (br and zstd of 32 MiB of zeros) are protocol errors at the expansion cap', async () => {
  for (const [path, coding] of [[f.brBomb, 'br'], [f.zstdBomb, 'zstd']]) {
    const r = await call('http', 'request', { ...target, path });
    assert.equal(r.status, 502, JSON.stringify(r.body).slice(0, 500));
    assert.equal(r.body.error.code, 'protocol_error');
    assert.match(r.body.error.message, new RegExp(`Content-Encoding ${coding}: the body expands past 8388608 bytes`));
  }
});
