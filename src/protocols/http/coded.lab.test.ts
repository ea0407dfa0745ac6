// zstd content decoding through workerd: a file compressed by Debian's zstd CLI, decoded to the original bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
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

test('http zstd: a file compressed by the zstd CLI, sent with Content-Encoding: zstd, decodes to the original bytes', async () => {
  const r = await ok({ path: f.zstd, bodyEncoding: 'base64' });
  assert.equal(header(r.response.headers, 'content-encoding'), 'zstd');
  assert.equal(r.response.framing, `length ${r.response.body.bytes}`);
  const sent = Buffer.from(r.response.body.base64, 'base64');
  assert.equal(sent.readUInt32LE(0), 0xfd2fb528, 'the body as sent is a zstd frame');
  assert.deepEqual(r.response.decoded.codings, ['zstd']);
  assert.equal(Buffer.from(r.response.decoded.base64, 'base64').toString(), codedText());
});


test('http: a decompression bomb (zstd of 32 MiB of zeros) is a protocol error at the expansion cap', async () => {
  const r = await call('http', 'request', { ...target, path: f.zstdBomb });
  assert.equal(r.status, 502, JSON.stringify(r.body).slice(0, 500));
  assert.equal(r.body.error.code, 'protocol_error');
  assert.match(r.body.error.message, /Content-Encoding zstd: the body expands past 8388608 bytes/);
});
