import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { decodeLease, decodeRange, decodeStatus, decodeWatch, encodePut, encodeRange, encodeWatchCreate, hexId, prefixEnd } from './codec.ts';

function kv(key: string, value: string, mod: number): Uint8Array {
  return new BinaryWriter().tag(1, WireType.LengthDelimited).string(key).tag(2, WireType.Varint).int64(mod).tag(3, WireType.Varint).int64(mod).tag(4, WireType.Varint).int64(1).tag(5, WireType.LengthDelimited).string(value).finish();
}
const header = new BinaryWriter().tag(1, WireType.Varint).uint64('14160433190470879329').tag(3, WireType.Varint).int64(7).finish();

test('RangeRequest: key, range end, limit, revision, keys only, as rpc.proto numbers them', () => {
  assert.deepEqual([...encodeRange({ key: utf8('a'), rangeEnd: utf8('b'), limit: 2, revision: 5, keysOnly: true })], [0x0a, 1, 0x61, 0x12, 1, 0x62, 0x18, 2, 0x20, 5, 0x40, 1]);
  assert.deepEqual([...encodePut(utf8('k'), utf8('v'), '7')], [0x0a, 1, 0x6b, 0x12, 1, 0x76, 0x18, 7, 0x20, 1]);
});

test('RangeResponse, WatchResponse, lease and status answers decode', () => {
  const range = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(header).tag(2, WireType.LengthDelimited).bytes(kv('/a', 'one', 3)).tag(4, WireType.Varint).int64(1).finish();
  const r = decodeRange(range);
  assert.deepEqual([r.header.clusterId, r.header.revision, r.count, new TextDecoder().decode(r.kvs[0].value), r.kvs[0].modRevision], ['14160433190470879329', 7, 1, 'one', 3]);
  const event = new BinaryWriter().tag(1, WireType.Varint).int32(1).tag(2, WireType.LengthDelimited).bytes(kv('/a', '', 4)).finish();
  const w = decodeWatch(new BinaryWriter().tag(2, WireType.Varint).int64(1).tag(3, WireType.Varint).bool(true).tag(11, WireType.LengthDelimited).bytes(event).finish());
  assert.deepEqual([w.watchId, w.created, w.events[0].type, w.events[0].kv.modRevision], ['1', true, 'DELETE', 4]);
  const lease = decodeLease(new BinaryWriter().tag(2, WireType.Varint).int64('7587886623421453322').tag(3, WireType.Varint).int64(60).finish(), 'grant');
  assert.deepEqual([hexId(lease.id), lease.ttl], [BigInt('7587886623421453322').toString(16), 60]);
  assert.equal(decodeStatus(new BinaryWriter().tag(2, WireType.LengthDelimited).string('3.4.23').finish()).version, '3.4.23');
  const create = encodeWatchCreate({ key: utf8('/p/'), rangeEnd: prefixEnd(utf8('/p/')), prevKv: true });
  assert.deepEqual([...create], [0x0a, 12, 0x0a, 3, 0x2f, 0x70, 0x2f, 0x12, 3, 0x2f, 0x70, 0x30, 0x30, 1]);
});

test('prefix ends: the last byte below 0xff incremented; all 0xff means every key', () => {
  assert.deepEqual([...prefixEnd(utf8('/a/'))], [0x2f, 0x61, 0x30]);
  assert.deepEqual([...prefixEnd(new Uint8Array([0x61, 0xff]))], [0x62]);
  assert.deepEqual([...prefixEnd(new Uint8Array([0xff]))], [0]);
});

test('malformed protobuf is a ProtocolError, never another failure', () => {
  assert.throws(() => decodeRange(new Uint8Array([0x12, 0x10, 1])), ProtocolError);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      for (const d of [decodeRange, decodeWatch, decodeStatus]) {
        try {
          d(b);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }
    }),
    { numRuns: 500 },
  );
});
