import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Deflate, Z_SYNC_FLUSH } from 'pako';
import { concat } from './bytes.ts';
import { ProtocolError } from './errors.ts';
import type { Transport } from './conn.ts';
import { DeflateStream, InflateStream, deflateLayer } from './inflate.ts';

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

test('InflateStream without the checksum: the same pieces inflate the same, the header checked even when split', () => {
  const a = new TextEncoder().encode('the quick brown fox '.repeat(50));
  const b = new TextEncoder().encode('jumps over the lazy dog '.repeat(30));
  const [za, zb] = deflatePieces([a, b]);
  const s = new InflateStream('Tight zlib stream 0', { checksum: false });
  assert.deepEqual(s.inflate(za.subarray(0, 1), { max: 10 }).length, 0);
  assert.deepEqual(s.inflate(za.subarray(1), { exact: a.length }), a);
  assert.deepEqual(s.inflate(zb, { exact: b.length }), b);
  const bad = (bytes: number[], message: RegExp) => assert.throws(() => new InflateStream('ZRLE zlib stream', { checksum: false }).inflate(Uint8Array.from(bytes), { max: 10 }), (e: unknown) => e instanceof ProtocolError && message.test(e.message));
  bad([0x78, 0x9d, 0x03, 0x00], /ZRLE zlib stream: not a zlib stream \(header 78 9d\)/); // FCHECK wrong
  bad([0x79, 0xd8, 0x03, 0x00], /not a zlib stream/); // CM 9
  bad([0x78, 0xbb, 0, 0, 0, 1], /a preset dictionary was asked for/);
});

test('DeflateStream: raw pieces, each ending at a sync flush, inflate one by one with the dictionary carried over', () => {
  const d = new DeflateStream();
  const i = new InflateStream('raw', { raw: true });
  const lines = ['a1 LOGIN user pass\r\n', 'a2 SELECT INBOX\r\n', 'a3 SELECT INBOX\r\n'].map((s) => new TextEncoder().encode(s));
  const sizes: number[] = [];
  for (const line of lines) {
    const z = d.deflate(line);
    // A sync flush ends each piece with an empty stored block (RFC 1951 3.2.4): 00 00 FF FF.
    assert.deepEqual([...z.subarray(-4)], [0, 0, 0xff, 0xff]);
    sizes.push(z.length);
    assert.deepEqual(i.inflate(z, { max: 1024 }), line);
  }
  // The repeated command is mostly a back-reference into the first: smaller than its text.
  assert.ok(sizes[2] < lines[2].length, `${sizes[2]} bytes for ${lines[2].length}`);
  const big = new Uint8Array(300_000).map((_, k) => (k * 7919) % 251);
  assert.deepEqual(i.inflate(d.deflate(big), { max: big.length }), big);
});

test('deflateLayer: a connection compressed both ways; a bomb is a ProtocolError', async () => {
  const sent: Uint8Array[] = [];
  const incoming: Uint8Array[] = [];
  const inner: Transport = {
    read: async () => incoming.shift() ?? null,
    write: async (b) => void sent.push(b),
    startTls: () => Promise.reject(new Error('no')),
    close: async () => undefined,
    info: () => ({}),
  };
  const layer = deflateLayer(inner, 'test');
  await layer.write(new TextEncoder().encode('a1 NOOP\r\n'));
  assert.equal(new TextDecoder().decode(new InflateStream('x', { raw: true }).inflate(sent[0], { max: 100 })), 'a1 NOOP\r\n');
  const server = new DeflateStream();
  const reply = server.deflate(new TextEncoder().encode('a1 OK done\r\n'));
  // Split mid-piece: the first half may inflate to nothing yet, and the read waits for more.
  incoming.push(reply.subarray(0, 3), reply.subarray(3));
  const got: Uint8Array[] = [];
  for (let c = await layer.read(); c; c = await layer.read()) got.push(c);
  assert.equal(new TextDecoder().decode(concat(got)), 'a1 OK done\r\n');
  const bomb = deflateLayer({ ...inner, read: async () => new DeflateStream().deflate(new Uint8Array(4096)) }, 'bomb', 1000);
  await assert.rejects(bomb.read(), (e: unknown) => e instanceof ProtocolError && /more than 1000 bytes/.test(e.message));
});
