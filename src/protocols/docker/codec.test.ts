import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { demultiplex, encodeStreamFrame, errorMessage, streamFrame } from './codec.ts';

// A log stream as the Engine API sends it for a container without a TTY.
const STREAM = concat([encodeStreamFrame('stdout', utf8('out one\n')), encodeStreamFrame('stderr', utf8('err ⚓\n')), encodeStreamFrame('stdout', utf8('out two\n'))]);

test('multiplexed frames: type, three zero bytes, big-endian size; whole, byte by byte, at random splits', () => {
  assert.deepEqual([...STREAM.subarray(0, 8)], [1, 0, 0, 0, 0, 0, 0, 8]);
  const frames = assertSplitFeed(streamFrame(), STREAM);
  assert.deepEqual(
    frames.map((f) => [f.stream, fromLatin1(f.data)]),
    [
      ['stdout', 'out one\n'],
      ['stderr', 'err \u00e2\u009a\u0093\n'],
      ['stdout', 'out two\n'],
    ],
  );
  const d = demultiplex(STREAM);
  assert.deepEqual([new TextDecoder().decode(d.stdout), new TextDecoder().decode(d.stderr), d.trailing], ['out one\nout two\n', 'err ⚓\n', 0]);
});

test('a raw (TTY) stream, a 2^31 size and nonzero padding are ProtocolErrors; a cut stream is counted', () => {
  assert.throws(() => streamFrame()(utf8('hello world')), /not multiplexed/);
  assert.throws(() => streamFrame()(new Uint8Array([1, 0, 0, 0, 0x80, 0, 0, 0])), /exceeds/);
  assert.throws(() => streamFrame()(new Uint8Array([1, 1, 0, 0, 0, 0, 0, 1])), ProtocolError);
  assert.equal(demultiplex(STREAM.subarray(0, STREAM.length - 3)).trailing, 13);
  assert.equal(errorMessage({ cause: 'no such container', message: 'no container with name or ID "x" found', response: 404 }), 'no container with name or ID "x" found');
  assertFuzzSafe(streamFrame(1 << 16), { seeds: [STREAM] });
});
