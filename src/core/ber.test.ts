// BER (X.690): golden encodings, the decoders' edge cases, the stream frame fed in pieces, fuzz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertFuzzSafe, assertSplitFeed } from '../../test/codec.ts';
import { berFrame, BerReader, decodeInteger, decodeOid, decodeTlv, decodeUnsigned, encodeLength, integer, integerContents, isOid, nullValue, octetString, oid, readTlv, sequence, tlv } from './ber.ts';
import { fromHex, toHex } from './bytes.ts';
import { ProtocolError } from './errors.ts';

test('ber: lengths in short and long form (X.690 §8.1.3)', () => {
  assert.equal(toHex(encodeLength(0)), '00');
  assert.equal(toHex(encodeLength(127)), '7f');
  assert.equal(toHex(encodeLength(128)), '8180');
  assert.equal(toHex(encodeLength(256)), '820100');
  assert.equal(toHex(encodeLength(70000)), '83011170');
});

test('ber: INTEGER contents are minimal two\'s complement (§8.3)', () => {
  const cases: [number | bigint, string][] = [[0, '00'], [127, '7f'], [128, '0080'], [256, '0100'], [-1, 'ff'], [-128, '80'], [-129, 'ff7f'], [2147483647, '7fffffff'], [2n ** 63n, '008000000000000000']];
  for (const [v, hex] of cases) {
    assert.equal(toHex(integerContents(v)), hex, String(v));
    assert.equal(decodeInteger(fromHex(hex)), typeof v === 'bigint' ? v : v);
  }
  assert.throws(() => decodeInteger(new Uint8Array(0)), /no content octets/);
});

test('ber: unsigned application values up to 32 and 64 bits', () => {
  assert.equal(decodeUnsigned(fromHex('00ffffffff'), 32), 0xffffffff);
  assert.equal(decodeUnsigned(fromHex('ffffffff'), 32), 0xffffffff);
  assert.throws(() => decodeUnsigned(fromHex('0100000000'), 32), /more than 32 bits/);
  assert.equal(decodeUnsigned(fromHex('00ffffffffffffffff'), 64), 18446744073709551615n);
});

test('ber: OBJECT IDENTIFIER (§8.19) — first two arcs packed, base-128 sub-identifiers', () => {
  assert.equal(toHex(oid('1.3.6.1.2.1.1.1.0')), '06082b06010201010100');
  assert.equal(decodeOid(fromHex('2b06010401bf08')), '1.3.6.1.4.1.8072');
  assert.equal(toHex(oid('2.999.3')), '0603883703');
  assert.equal(decodeOid(fromHex('883703')), '2.999.3');
  assert.throws(() => decodeOid(fromHex('2b80')), /leading 0x80|ends inside/);
  assert.throws(() => decodeOid(fromHex('2b86')), /ends inside a sub-identifier/);
  assert.ok(isOid('1.3.6.1'));
  assert.ok(!isOid('1.40.1'), 'second arc under 1 must be below 40');
  assert.ok(!isOid('3.1'));
  assert.ok(!isOid('1'));
});

test('ber: tags — universal, application, context, constructed, high tag numbers (§8.1.2.4)', () => {
  assert.equal(toHex(nullValue()), '0500');
  assert.equal(toHex(octetString('hi')), '04026869');
  assert.equal(toHex(integer(5, 3, 'application')), '430105');
  assert.equal(toHex(sequence([integer(1)], 0, 'context')), 'a003020101');
  const high = tlv(200, Uint8Array.of(1), 'private');
  assert.equal(toHex(high), 'df814801' + '01');
  const t = readTlv(high)!;
  assert.deepEqual([t.cls, t.tag, t.constructed, t.size], ['private', 200, false, 5]);
});

test('ber: BerReader walks a SEQUENCE and names the field that is wrong', () => {
  const msg = sequence([integer(1), octetString('public'), sequence([oid('1.3.6.1'), nullValue()])]);
  const r = new BerReader(decodeTlv(msg).value, 'test');
  assert.equal(r.int('version'), 1);
  assert.equal(new TextDecoder().decode(r.octets('community')), 'public');
  const inner = r.sequence('pair');
  assert.equal(inner.oid('name'), '1.3.6.1');
  assert.equal(inner.next('value').tag, 5);
  r.end();
  const bad = new BerReader(decodeTlv(msg).value, 'test');
  assert.throws(() => bad.octets('community'), /community should be \[UNIVERSAL 4\], got \[UNIVERSAL 2\]/);
});

test('ber: indefinite lengths, reserved length octets and oversize values are protocol errors', () => {
  assert.throws(() => readTlv(fromHex('308000000000')), /indefinite length/);
  assert.throws(() => readTlv(fromHex('30ff')), /reserved/);
  assert.throws(() => readTlv(fromHex('3085ffffffffff')), /5-octet length/);
  assert.throws(() => readTlv(fromHex('3084ffffffff')), /exceeds/);
  assert.equal(readTlv(fromHex('3005020101')), undefined, 'incomplete is not malformed');
  assert.throws(() => decodeTlv(fromHex('3003020101ff')), /1 bytes after/);
});

test('ber: the stream frame splits back-to-back messages fed in any pieces', () => {
  const a = sequence([integer(1), octetString('x'.repeat(300))]);
  const b = sequence([integer(2)]);
  const both = new Uint8Array([...a, ...b]);
  const got = assertSplitFeed(berFrame(), both);
  assert.equal(got.length, 2);
  assert.equal(toHex(got[0].raw), toHex(a));
  assert.equal(toHex(got[1].raw), toHex(b));
  assert.equal(got[1].value.length, 3);
});

test('ber: random bytes make the frame and the reader throw nothing but ProtocolError', () => {
  assertFuzzSafe(berFrame(), { seeds: [sequence([integer(1), octetString('public'), sequence([oid('1.3.6.1.2.1.1.1.0'), nullValue()], 0, 'context')])] });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      try {
        const r = new BerReader(bytes, 'fuzz');
        while (!r.done) {
          const t = r.next();
          if (t.constructed) new BerReader(t.value, 'fuzz', 1).peek();
          else if (t.tag === 6 && t.value.length > 0) decodeOid(t.value);
          else if (t.tag === 2 && t.value.length > 0) decodeInteger(t.value);
        }
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
    { numRuns: 500 },
  );
});
