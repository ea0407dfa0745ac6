import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteReader, ByteWriter, ReceiveBuffer, fromBase64, fromHex, indexOf, toBase64, toHex, utf8 } from './bytes.ts';
import { ProtocolError } from './errors.ts';

test('writer and reader round-trip every width and endianness', () => {
  const w = new ByteWriter(4);
  w.u8(0xff).i8(-2).u16(0x1234).u16le(0x1234).i16(-3).u24(0xabcdef).u24le(0xabcdef).u32(0xdeadbeef).u32le(0xdeadbeef).i32(-5).i32le(-6);
  w.u64(0x0102030405060708n).u64le(0x0102030405060708n).i64(-7n).f32(1.5).f64(-2.25).f64le(3.5).cstring('hi').uvarint(300).lengthPrefixed('u16', 'abc');
  const bytes = w.finish();
  // Golden: the first fields as a protocol dump would show them.
  assert.equal(toHex(bytes.subarray(0, 16)), 'fffe12343412fffdabcdefefcdabdead');
  const r = new ByteReader(bytes);
  assert.equal(r.u8(), 0xff);
  assert.equal(r.i8(), -2);
  assert.equal(r.u16(), 0x1234);
  assert.equal(r.u16le(), 0x1234);
  assert.equal(r.i16(), -3);
  assert.equal(r.u24(), 0xabcdef);
  assert.equal(r.u24le(), 0xabcdef);
  assert.equal(r.u32(), 0xdeadbeef);
  assert.equal(r.u32le(), 0xdeadbeef);
  assert.equal(r.i32(), -5);
  assert.equal(r.i32le(), -6);
  assert.equal(r.u64(), 0x0102030405060708n);
  assert.equal(r.u64le(), 0x0102030405060708n);
  assert.equal(r.i64(), -7n);
  assert.equal(r.f32(), 1.5);
  assert.equal(r.f64(), -2.25);
  assert.equal(r.f64le(), 3.5);
  assert.equal(r.cstringUtf8(), 'hi');
  assert.equal(r.uvarintNumber(), 300);
  assert.deepEqual(r.lengthPrefixed('u16'), utf8('abc'));
  assert.equal(r.done, true);
});

test('varint golden bytes: 300 is ac 02', () => {
  assert.equal(toHex(new ByteWriter().uvarint(300).finish()), 'ac02');
  assert.equal(toHex(new ByteWriter().uvarint(0).finish()), '00');
});

test('lengthAt back-patches exclusive and inclusive lengths', () => {
  const w = new ByteWriter();
  const done = w.lengthAt('u32', true);
  w.text('abc');
  done();
  assert.equal(toHex(w.finish()), '00000007616263');
  const w2 = new ByteWriter();
  const d2 = w2.lengthAt('u16');
  w2.text('xy');
  d2();
  assert.equal(toHex(w2.finish()), '00027879');
  const w3 = new ByteWriter();
  const d3 = w3.lengthAt('u24le');
  w3.u8(1);
  d3();
  assert.equal(toHex(w3.finish()), '01000001');
});

test('reads past the end throw ProtocolError naming the field', () => {
  const r = new ByteReader(new Uint8Array([1, 2]));
  assert.throws(() => r.u32('packet length'), (e: unknown) => e instanceof ProtocolError && /packet length/.test(e.message));
  assert.throws(() => new ByteReader(new Uint8Array([1, 2, 3])).cstring('name'), ProtocolError);
  assert.throws(() => new ByteReader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).uvarint(), ProtocolError);
  assert.throws(() => new ByteReader(new Uint8Array([0, 0, 0, 9, 1])).lengthPrefixed('u32', 's', 4), /exceeds limit/);
});

test('hex and base64 round-trip arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      assert.deepEqual(fromHex(toHex(b)), b);
      assert.deepEqual(fromBase64(toBase64(b)), b);
      assert.equal(toBase64(b), Buffer.from(b).toString('base64'));
    }),
  );
  assert.deepEqual(fromBase64('-_8'), new Uint8Array([0xfb, 0xff]));
  assert.throws(() => fromHex('abc'), ProtocolError);
  assert.throws(() => fromBase64('a'), ProtocolError);
});

test('indexOf finds multi-byte needles', () => {
  assert.equal(indexOf(utf8('abc\r\ndef\r\n'), utf8('\r\n')), 3);
  assert.equal(indexOf(utf8('abc\r\ndef\r\n'), utf8('\r\n'), 4), 8);
  assert.equal(indexOf(utf8('abc'), utf8('\r\n')), -1);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 60 }), fc.uint8Array({ minLength: 1, maxLength: 3 }), (h, n) => {
      assert.equal(indexOf(h, n), Buffer.from(h).indexOf(Buffer.from(n)));
    }),
  );
});

test('ReceiveBuffer: bytes come out in order, and a view handed out is never written over', () => {
  const rb = new ReceiveBuffer();
  const taken: Uint8Array[] = [];
  let n = 0;
  for (let round = 0; round < 200; round++) {
    const chunk = Uint8Array.from({ length: 1 + (round * 37) % 5000 }, () => n++ & 0xff);
    rb.append(chunk);
    const k = Math.floor(rb.length / 3);
    const view = rb.take(k);
    taken.push(view);
  }
  taken.push(rb.take(rb.length));
  assert.equal(rb.length, 0);
  const all = taken.flatMap((v) => [...v]);
  assert.equal(all.length, n);
  assert.ok(all.every((b, i) => b === (i & 0xff)), 'bytes out of order or overwritten');
});
