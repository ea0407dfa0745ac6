import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { ByteWriter, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { Registry, ackFrame, registryCall, returnFrame } from './codec.ts';
import { StreamReader, decodeModifiedUtf8 } from './serialization.ts';

// The Return the OpenJDK 17 registry sent for list() with two names bound (captured in the lab).
const listReturn = fromHex(
  '51aced0005770f0190d9c824000001a242fe17768009757200135b4c6a6176612e6c616e672e537472696e673badd256e7e91d7b470200007078700000000274000e706f72746f6c616e2f636c6f636b740010706f72746f6c616e2f67726565746572',
);

test('a registry call: Call, stream header, ObjID 0, operation and the RegistryImpl_Stub hash', () => {
  assert.equal(
    toHex(registryCall(Registry.list)),
    '50aced00057722' + '0000000000000000' + '00000000' + '0000000000000000' + '0000' + '00000001' + '44154dc9d4e63bdf',
  );
  assert.equal(toHex(registryCall(Registry.lookup, 'a')).slice(-8), '74000161');
});

test('ProtocolAck with the endpoint, byte by byte', () => {
  const ack = new ByteWriter().u8(0x4e).lengthPrefixed('u16', utf8('127.0.0.1')).u32(41000).finish();
  assert.deepEqual(assertSplitFeed(ackFrame, ack), [{ host: '127.0.0.1', port: 41000 }]);
  assert.throws(() => ackFrame(new Uint8Array([0x4f])), /ProtocolNotSupported/);
});

test('Return of list(): a String[] decoded, whole and byte by byte', () => {
  const [r] = assertSplitFeed(returnFrame, listReturn);
  assert.equal(r.returnType, 1);
  assert.deepEqual(r.value, { class: '[Ljava.lang.String;', items: ['portolan/clock', 'portolan/greeter'] });
});

test('serialization limits: a 2^31 array, deep nesting and a bad handle are ProtocolErrors', () => {
  const stream = (body: number[]) => new Uint8Array([0xac, 0xed, 0x00, 0x05, ...body]);
  const hugeArray = stream([0x75, 0x72, 0x00, 0x02, 0x5b, 0x49, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x00, 0x78, 0x70, 0x7f, 0xff, 0xff, 0xff]);
  const read = (b: Uint8Array) => {
    const r = new StreamReader(b);
    r.header();
    return r.content();
  };
  assert.throws(() => read(hugeArray), (e) => e instanceof ProtocolError && /array of 2147483647/.test(e.message));
  // An array of arrays of arrays ... each level a new class descriptor: the depth cap ends it.
  const deep: number[] = [];
  for (let i = 0; i < 200; i++) deep.push(0x75, 0x72, 0x00, 0x03, 0x5b, 0x5b, 0x49, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0x78, 0x70, 0, 0, 0, 1);
  assert.throws(() => read(stream(deep)), /nested deeper/);
  assert.throws(() => read(stream([0x71, 0x00, 0x7e, 0x00, 0x09])), /unknown handle/);
  assert.equal(decodeModifiedUtf8(new Uint8Array([0x61, 0xc0, 0x80, 0xe2, 0x82, 0xac])), 'a\u0000€');
});

test('Return decoder: random bytes end in a value, a wait or a ProtocolError', () => {
  assertFuzzSafe(returnFrame, { seeds: [listReturn], numRuns: 1000 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
    try {
      new StreamReader(b).content();
    } catch (e) {
      if (!(e instanceof ProtocolError) && !(e as { needMore?: boolean }).needMore) throw e;
    }
  }), { numRuns: 500 });
});
