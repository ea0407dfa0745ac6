import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from './bytes.ts';
import { lengthPrefixedFrame, lineFrame } from './framing.ts';
import { ProtocolError } from './errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../test/codec.ts';

test('lines: CRLF and bare LF, split anywhere', () => {
  assertSplitFeed(lineFrame(100, 'lf'), utf8('220 hello\r\nsecond\nthird\r\n'), ['220 hello', 'second', 'third']);
  assertSplitFeed(lineFrame(100, 'crlf'), utf8('a\nb\r\nc\r\n'), ['a\nb', 'c']);
});

test('lines: a line over the cap is a ProtocolError, even before its end arrives', () => {
  const frame = lineFrame(8);
  assert.throws(() => frame(utf8('0123456789abcdef')), ProtocolError);
  assert.throws(() => frame(utf8('0123456789\n')), ProtocolError);
  assertFuzzSafe(frame);
});

test('length-prefixed frames: golden bytes, split feed, cap', () => {
  const bytes = new Uint8Array([0, 0, 0, 3, 0x61, 0x62, 0x63, 0, 0, 0, 0, 0, 0, 0, 1, 0xff]);
  assertSplitFeed(lengthPrefixedFrame(4), bytes, [utf8('abc'), new Uint8Array(0), new Uint8Array([0xff])]);
  assert.throws(() => lengthPrefixedFrame(2, 10)(new Uint8Array([0, 11])), /exceeds limit/);
  assertFuzzSafe(lengthPrefixedFrame(2, 64));
});
