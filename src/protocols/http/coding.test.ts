// Content decoding: gzip, zlib and raw deflate, br and zstd round trips, stacked codings, the expansion cap, bombs,
// broken input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { fromHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { zlibCodecs } from '../../hosts/zlib.ts';
import { contentCodings, decodeContent, zstdFrames } from './coding.ts';

const text = Buffer.from('Portolan compresses well. '.repeat(100));
// `zstd -19 -c` of `text` (with a checksum), and `zstd --no-check` of it (single segment, content size 2600).
const ZSTD_TEXT = fromHex('28b52ffd642809150100d0506f72746f6c616e20636f6d707265737365732077656c6c2e2001002ea8fd39060da3fd43');
const ZSTD_TEXT_NO_CHECK = fromHex('28b52ffd602809150100d0506f72746f6c616e20636f6d707265737365732077656c6c2e2001002ea8fd3906');
// `zstd -19` of 16 MiB of zeros, from a pipe: no content size, an 8 MiB window, 128 RLE blocks.
const ZSTD_ZEROS = fromHex(`28b52ffd04684c000008000100fcff391002${'02001000'.repeat(126)}030010000bd8e25e`);

test('gzip, x-gzip, zlib deflate and raw deflate decode to the bytes sent', () => {
  for (const [codings, body] of [[['gzip'], gzipSync(text)], [['x-gzip'], gzipSync(text)], [['deflate'], deflateSync(text)], [['deflate'], deflateRawSync(text)]] as const) {
    assert.deepEqual(Buffer.from(decodeContent(new Uint8Array(body), [...codings], 1 << 20)!.bytes), text, codings.join());
  }
  assert.deepEqual(Buffer.from(decodeContent(new Uint8Array(gzipSync(deflateSync(text))), ['deflate', 'gzip'], 1 << 20)!.bytes), text, 'the last coding is undone first');
});

test('br and zstd decode to the bytes sent, stacked with gzip too', () => {
  assert.deepEqual(Buffer.from(decodeContent(new Uint8Array(brotliCompressSync(text)), ['br'], 1 << 20, zlibCodecs)!.bytes), text);
  assert.deepEqual(Buffer.from(decodeContent(ZSTD_TEXT, ['zstd'], 1 << 20)!.bytes), text);
  assert.deepEqual(Buffer.from(decodeContent(ZSTD_TEXT_NO_CHECK, ['zstd'], 1 << 20)!.bytes), text);
  assert.deepEqual(Buffer.from(decodeContent(new Uint8Array(gzipSync(ZSTD_TEXT)), ['zstd', 'gzip'], 1 << 20)!.bytes), text);
  // Two frames and a skippable frame between them: one body.
  const skippable = fromHex('5e2a4d1803000000616263');
  const two = new Uint8Array([...ZSTD_TEXT, ...skippable, ...ZSTD_TEXT_NO_CHECK]);
  assert.equal(zstdFrames(two, 1 << 20).length, 2);
  assert.deepEqual(Buffer.from(decodeContent(two, ['zstd'], 1 << 20)!.bytes), Buffer.concat([text, text]));
});

test('br without a brotli decoder on the host (the browser) is left as sent', () => {
  assert.equal(decodeContent(new Uint8Array(brotliCompressSync(text)), ['br'], 1 << 20), null);
  assert.equal(decodeContent(new Uint8Array(gzipSync(brotliCompressSync(text))), ['br', 'gzip'], 1 << 20), null);
});

test('codings from headers; unknown codings are not decoded', () => {
  assert.deepEqual(contentCodings([['Content-Encoding', 'deflate, GZIP'], ['content-type', 'x'], ['content-encoding', 'identity']]), ['deflate', 'gzip']);
  assert.equal(decodeContent(new Uint8Array([1, 2]), ['compress'], 100), null);
  assert.equal(decodeContent(new Uint8Array([1, 2]), ['gzip', 'exi'], 100), null);
  assert.equal(decodeContent(new Uint8Array([1, 2]), [], 100), null);
});

test('bombs: a body that expands past the cap is a ProtocolError, found before it is all decoded', () => {
  assert.throws(() => decodeContent(new Uint8Array(gzipSync(Buffer.alloc(1 << 20))), ['gzip'], 1000), /expands past 1000/);
  assert.throws(() => decodeContent(new Uint8Array(brotliCompressSync(Buffer.alloc(16 << 20))), ['br'], 1 << 20, zlibCodecs), /br: the body expands past 1048576/);
  assert.throws(() => decodeContent(ZSTD_ZEROS, ['zstd'], 1 << 20), /zstd: the body expands past 1048576/);
  // A declared content size past the cap, and a window past RFC 9659's 8 MiB, are refused from the header.
  const declared = fromHex('28b52ffd8000000040000000' + '010000');
  assert.throws(() => decodeContent(declared, ['zstd'], 1 << 20), /expands past 1048576/);
  const wide = fromHex('28b52ffd0080' + '010000');
  assert.throws(() => decodeContent(wide, ['zstd'], 1 << 30), /window of 67108864 bytes is past the 8 MiB/);
});

test('cut bodies and garbage are ProtocolErrors', () => {
  assert.throws(() => decodeContent(new Uint8Array(gzipSync(text).subarray(0, 30)), ['gzip'], 1 << 20), ProtocolError);
  assert.throws(() => decodeContent(ZSTD_TEXT.subarray(0, 20), ['zstd'], 1 << 20), /ends inside a block/);
  const br = new Uint8Array(brotliCompressSync(text));
  for (const cut of [br.length - 1, br.length >> 1, 3]) assert.throws(() => decodeContent(br.subarray(0, cut), ['br'], 1 << 20, zlibCodecs), /br: the compressed body ends early/, `cut at ${cut}`);
  assert.throws(() => decodeContent(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), ['zstd'], 1 << 20), /magic/);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('gzip', 'deflate', 'br', 'zstd'), (bytes, coding) => {
      try {
        decodeContent(bytes, [coding], 1 << 16, zlibCodecs);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
  // zstd bodies that start right and go wrong anywhere.
  fc.assert(
    fc.property(fc.nat(ZSTD_TEXT.length - 1), fc.uint8Array({ maxLength: 40 }), (cut, tail) => {
      try {
        decodeContent(new Uint8Array([...ZSTD_TEXT.subarray(0, cut), ...tail]), ['zstd'], 1 << 16);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});
