// Content decoding: gzip, zlib and raw deflate round trips, stacked codings, the expansion cap, broken input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ProtocolError } from '../../core/errors.ts';
import { contentCodings, decodeContent } from './coding.ts';

const text = Buffer.from('Portolan compresses well. '.repeat(100));

test('gzip, x-gzip, zlib deflate and raw deflate decode to the bytes sent', () => {
  for (const [codings, body] of [[['gzip'], gzipSync(text)], [['x-gzip'], gzipSync(text)], [['deflate'], deflateSync(text)], [['deflate'], deflateRawSync(text)]] as const) {
    assert.deepEqual(Buffer.from(decodeContent(new Uint8Array(body), [...codings], 1 << 20)!.bytes), text, codings.join());
  }
  assert.deepEqual(Buffer.from(decodeContent(new Uint8Array(gzipSync(deflateSync(text))), ['deflate', 'gzip'], 1 << 20)!.bytes), text, 'the last coding is undone first');
});

test('codings from headers; br, zstd and unknown codings are not decoded', () => {
  assert.deepEqual(contentCodings([['Content-Encoding', 'deflate, GZIP'], ['content-type', 'x'], ['content-encoding', 'identity']]), ['deflate', 'gzip']);
  assert.equal(decodeContent(new Uint8Array([1, 2]), ['br'], 100), null);
  assert.equal(decodeContent(new Uint8Array([1, 2]), ['gzip', 'zstd'], 100), null);
  assert.equal(decodeContent(new Uint8Array([1, 2]), [], 100), null);
});

test('a body that expands past the cap, a cut body and garbage are ProtocolErrors', () => {
  assert.throws(() => decodeContent(new Uint8Array(gzipSync(Buffer.alloc(1 << 20))), ['gzip'], 1000), /expands past 1000/);
  const cut = gzipSync(text).subarray(0, 30);
  assert.throws(() => decodeContent(new Uint8Array(cut), ['gzip'], 1 << 20), ProtocolError);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('gzip', 'deflate'), (bytes, coding) => {
      try {
        decodeContent(bytes, [coding], 1 << 16);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});
