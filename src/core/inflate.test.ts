import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deflate, Z_SYNC_FLUSH } from 'pako';
import { concat } from './bytes.ts';
import { ProtocolError } from './errors.ts';
import { InflateStream } from './inflate.ts';

/** One zlib stream, flushed after each piece: what a VNC server sends for consecutive rectangles. */
function deflatePieces(pieces: Uint8Array[]): Uint8Array[] {
  const d = new Deflate();
  return pieces.map((p) => {
    const out: Uint8Array[] = [];
    d.onData = (c: Uint8Array) => out.push(c);
    d.push(p, Z_SYNC_FLUSH);
    return concat(out);
  });
}

test('InflateStream: pieces of one stream inflate one by one, the dictionary carried over', () => {
  const a = new TextEncoder().encode('the quick brown fox '.repeat(50));
  const b = new TextEncoder().encode('the quick brown fox '.repeat(80)); // mostly back-references into a
  const [za, zb] = deflatePieces([a, b]);
  const s = new InflateStream();
  assert.deepEqual(s.inflate(za, { exact: a.length }), a);
  assert.deepEqual(s.inflate(zb, { max: 1 << 20 }), b);
  assert.ok(zb.length < 40, `the second piece reuses the first (${zb.length} bytes)`);
});

test('InflateStream: output larger than allowed, a wrong exact size, and corrupt data are ProtocolErrors', () => {
  const big = new Uint8Array(100_000);
  const [z] = deflatePieces([big]);
  assert.throws(() => new InflateStream().inflate(z, { max: 1000 }), (e: unknown) => e instanceof ProtocolError && /more than 1000 bytes/.test(e.message));
  assert.throws(() => new InflateStream().inflate(z, { exact: 99_999 }), ProtocolError);
  assert.deepEqual(new InflateStream().inflate(z, { max: 100_000 }).length, 100_000);
  assert.throws(() => new InflateStream('ZRLE').inflate(Uint8Array.of(0x78, 0x9c, 0xff, 0xff, 0xff), { max: 10 }), /ZRLE/);
});
