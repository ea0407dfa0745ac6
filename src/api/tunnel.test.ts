// How a relay sizes its TCP reads (each read is one WebSocket message).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_MESSAGE, nextReadSize } from './tunnel.ts';

const KiB = 1024;

test('read sizes: a trickle keeps a 4 KiB read pending; a busy tunnel starts at 64 KiB and doubles while reads come back full', () => {
  assert.equal(nextReadSize(4 * KiB, 1), 4 * KiB);
  assert.equal(nextReadSize(256 * KiB, 2 * KiB), 4 * KiB);
  assert.equal(nextReadSize(4 * KiB, 4 * KiB), 64 * KiB);
  assert.equal(nextReadSize(4 * KiB, 3 * KiB), 64 * KiB);
  assert.equal(nextReadSize(64 * KiB, 64 * KiB), 128 * KiB);
  assert.equal(nextReadSize(128 * KiB, 128 * KiB), 256 * KiB);
  assert.equal(nextReadSize(256 * KiB, 256 * KiB), MAX_MESSAGE);
  assert.equal(MAX_MESSAGE, 256 * KiB);
});

test('read sizes: a read that did not fill brings the next to the power of two that holds it, not below 64 KiB', () => {
  assert.equal(nextReadSize(256 * KiB, 100 * KiB), 128 * KiB);
  assert.equal(nextReadSize(256 * KiB, 129 * KiB), 256 * KiB);
  assert.equal(nextReadSize(256 * KiB, 10 * KiB), 64 * KiB);
  // A read the window cut short and that came back full grows from there.
  assert.equal(nextReadSize(8 * KiB, 8 * KiB), 64 * KiB);
});

test('read sizes: always between 4 KiB and MAX_MESSAGE; after a read of 32 KiB or more that did not fill, the next asks for less than twice what it brought', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: MAX_MESSAGE }), fc.integer({ min: 1, max: MAX_MESSAGE }), (asked, g) => {
      const got = Math.min(asked, g);
      const next = nextReadSize(asked, got);
      assert.ok(next >= 4 * KiB && next <= MAX_MESSAGE);
      if (got >= 32 * KiB && got < asked) assert.ok(next < 2 * got, `${asked} ${got} -> ${next}`);
    }),
  );
});
