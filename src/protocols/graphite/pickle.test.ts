import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { dumps, loads, PickleTuple } from './pickle.ts';
import { plaintextLines } from './index.ts';

test('dumps: the cache-query request, byte for byte', () => {
  const bytes = dumps({ type: 'cache-query', metric: 'a.b' });
  // 80 02 PROTO 2 | 7d EMPTY_DICT | 28 MARK | 58 BINUNICODE "type" | 58 "cache-query" | 58 "metric" | 58 "a.b" | 75 SETITEMS | 2e STOP
  assert.equal(
    toHex(bytes),
    '80027d28' + '580400000074797065' + '580b00000063616368652d7175657279' + '58060000006d6574726963' + '5803000000612e62' + '752e',
  );
});

test("loads: carbon's protocol 4 and 5 replies (bytes written by CPython's pickle)", () => {
  const p4 = loads(fromHex('8004952d000000000000007d948c0a64617461706f696e7473945d94284ab74b086b47401c00000000000086944ab84b086b4e869465732e'));
  assert.deepEqual(p4, { datapoints: [new PickleTuple([1795705783, 7]), new PickleTuple([1795705784, null])] });
  const p5 = loads(fromHex('8005954f000000000000007d94288c0a64617461706f696e7473945d944ab74b086b4740454000000000008694618c016e948a060000000000018c036e6567944afbffffff8c016294888c016c945d94284b014b024b0365752e'));
  assert.deepEqual(p5, { datapoints: [new PickleTuple([1795705783, 42.5])], n: 2 ** 40, neg: -5, b: true, l: [1, 2, 3] });
});

test('round trip, and only ProtocolError on any input', () => {
  const v = { a: 'x', n: 3, f: 1.5, list: [1, 'two', null], t: new PickleTuple([true, false]) };
  assert.deepEqual(loads(dumps(v)), v);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      try {
        loads(b);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
    { numRuns: 2000 },
  );
  assert.throws(() => loads(fromHex('80026301')), /outside the data-only subset/); // GLOBAL is never executed
});

test('plaintext lines: path value timestamp, now when no timestamp', () => {
  assert.equal(plaintextLines([{ path: 'a.b', value: 1.5, timestamp: 10 }, { path: 'c', value: -2 }], 99), 'a.b 1.5 10\nc -2 99\n');
});
