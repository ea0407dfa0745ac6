// Shared codec checks: split feed (byte by byte and at random points) and decoder fuzzing.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Frame } from '../src/core/conn.ts';
import { ProtocolError } from '../src/core/errors.ts';
import { FrameDecoder } from '../src/core/framing.ts';

/** Decodes `bytes` whole, one byte at a time and at random split points; all three must agree. */
export function assertSplitFeed<T>(frame: Frame<T>, bytes: Uint8Array, expected?: T[]): T[] {
  const whole = new FrameDecoder(frame).feed(bytes);
  if (expected) assert.deepEqual(whole, expected);
  const byByte = new FrameDecoder(frame);
  const one: T[] = [];
  for (let i = 0; i < bytes.length; i++) one.push(...byByte.feed(bytes.subarray(i, i + 1)));
  assert.deepEqual(one, whole, 'byte-at-a-time feed differs');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 8 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const d = new FrameDecoder(frame);
      const got: T[] = [];
      let at = 0;
      for (const p of [...points, bytes.length]) {
        got.push(...d.feed(bytes.subarray(at, p)));
        at = p;
      }
      assert.deepEqual(got, whole, `split at ${points.join(',')} differs`);
    }),
    { numRuns: 50 },
  );
  return whole;
}

/** Random bytes never make the decoder throw anything but ProtocolError, and never loop. */
export function assertFuzzSafe<T>(frame: Frame<T>, opts: { numRuns?: number; seeds?: Uint8Array[] } = {}): void {
  const arb = opts.seeds?.length
    ? fc.oneof(
        fc.uint8Array({ maxLength: 512 }),
        fc.tuple(fc.constantFrom(...opts.seeds), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 255 })).map(([seed, pos, byte]) => {
          const copy = seed.slice();
          if (copy.length > 0) copy[pos % copy.length] = byte;
          return copy.subarray(0, (pos * 7) % (copy.length + 1));
        }),
      )
    : fc.uint8Array({ maxLength: 512 });
  fc.assert(
    fc.property(arb, (bytes) => {
      try {
        new FrameDecoder(frame, 1 << 20).feed(bytes);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
    { numRuns: opts.numRuns ?? 500 },
  );
}
