import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSplitFeed } from '../../../test/codec.ts';
import { EPOCH_OFFSET, timeFrame, toUnixMs } from './codec.ts';

test('RFC 868: 2 208 988 800 is 1970-01-01 and the frame is four bytes', () => {
  // 0x83aa7e80 = 2208988800
  assert.deepEqual(assertSplitFeed(timeFrame, new Uint8Array([0x83, 0xaa, 0x7e, 0x80, 0xec, 0xd5, 0x3c, 0xb7])), [EPOCH_OFFSET, 3973397687]);
  assert.equal(toUnixMs(EPOCH_OFFSET, 0), 0);
  assert.equal(new Date(toUnixMs(3973397687)).toISOString(), '2025-11-29T09:34:47.000Z');
});

test('after the 2036 wrap, small values read as the next era', () => {
  const nowIn2040 = Date.UTC(2040, 0, 1);
  assert.equal(new Date(toUnixMs(100, nowIn2040)).toISOString(), '2036-02-07T06:29:56.000Z');
});
