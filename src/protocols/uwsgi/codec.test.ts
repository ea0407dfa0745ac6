import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { decodeVars, encodePacket, encodeVars, packetFrame } from './codec.ts';

test('a WSGI packet: modifier1 0, little-endian size, modifier2 0, vars with 16-bit little-endian lengths', () => {
  const data = encodeVars([
    ['REQUEST_METHOD', 'GET'],
    ['PATH_INFO', '/é'],
  ]);
  assert.deepEqual([...data.subarray(0, 2)], [14, 0]);
  assert.deepEqual([...data.subarray(16, 18)], [3, 0]);
  const packet = encodePacket({ modifier1: 0, modifier2: 0, data });
  assert.deepEqual([...packet.subarray(0, 4)], [0, data.length & 0xff, data.length >> 8, 0]);
  const [back] = assertSplitFeed(packetFrame, packet);
  assert.deepEqual(decodeVars(back.data), [
    ['REQUEST_METHOD', 'GET'],
    ['PATH_INFO', '/\u00c3\u00a9'],
  ]);
});

test('vars larger than a packet, and truncated vars, are refused', () => {
  assert.throws(() => encodeVars([['BIG', 'x'.repeat(70_000)]]), ProtocolError);
  assert.throws(() => encodeVars(Array.from({ length: 40 }, (_, i): [string, string] => [`K${i}`, 'x'.repeat(2000)])), /65535/);
  assert.throws(() => decodeVars(new Uint8Array([5, 0, 0x41])), ProtocolError);
  assertFuzzSafe(packetFrame);
  assertFuzzSafe((b) => {
    decodeVars(b);
    return undefined;
  });
});
