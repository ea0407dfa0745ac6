import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { MessageAssembler, Opcode, acceptFor, decodeClose, encodeClose, encodeFrame, frameFrame, sendableCloseCode, unmask } from './codec.ts';

const sha1 = (d: Uint8Array) => new Uint8Array(createHash('sha1').update(d).digest());

test('handshake: the accept value of RFC 6455 §1.3', () => {
  assert.equal(acceptFor('dGhlIHNhbXBsZSBub25jZQ==', sha1), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

// RFC 6455 §5.7 examples (server frames are unmasked).
const HELLO = fromHex('810548656c6c6f'); // single unmasked text "Hello"
const FRAGMENTS = fromHex('010348656c' + '80026c6f'); // "Hel" + continuation "lo"
const PING = fromHex('890548656c6c6f'); // ping "Hello"
const BIN256 = concat([fromHex('827e0100'), new Uint8Array(256).fill(7)]); // 16-bit length
const BIN64K = concat([fromHex('827f0000000000010000'), new Uint8Array(65536).fill(9)]); // 64-bit length
const CLOSE = fromHex('88 05 03e8 627965'); // 1000 "bye"

test('frames: §5.7 examples, split at every point, and fragments reassembled around a ping', () => {
  const frames = assertSplitFeed(frameFrame(), concat([HELLO, FRAGMENTS.subarray(0, 5), PING, FRAGMENTS.subarray(5), BIN256, CLOSE]));
  const a = new MessageAssembler();
  const messages = frames.map((f) => a.push(f)).filter(Boolean);
  assert.deepEqual(messages, [
    { kind: 'text', text: 'Hello', frames: 1 },
    { kind: 'ping', data: utf8('Hello') },
    { kind: 'text', text: 'Hello', frames: 2 },
    { kind: 'binary', data: new Uint8Array(256).fill(7), frames: 1 },
    { kind: 'close', code: 1000, reason: 'bye' },
  ]);
  const big = frameFrame(1 << 20)(BIN64K)!.value;
  assert.equal(big.payload.length, 65536);
});

test('client frames are masked (§5.3): the §5.7 masked "Hello" with key 37fa213d', () => {
  const key = fromHex('37fa213d');
  assert.equal(toHex(encodeFrame(Opcode.TEXT, utf8('Hello'), key)), '818537fa213d7f9f4d5158');
  assert.deepEqual(unmask(fromHex('7f9f4d5158'), key), utf8('Hello'));
  assert.equal(toHex(encodeFrame(Opcode.BINARY, new Uint8Array(300), key).subarray(0, 4)), '82fe012c');
  assert.equal(toHex(encodeFrame(Opcode.TEXT, utf8('ab'), key, false).subarray(0, 1)), '01');
});

test('close payloads and codes (§5.5.1, §7.4)', () => {
  assert.deepEqual(decodeClose(encodeClose(4001, 'bye ⚓')), { code: 4001, reason: 'bye ⚓' });
  assert.deepEqual(decodeClose(new Uint8Array(0)), { code: null, reason: '' });
  assert.throws(() => decodeClose(fromHex('03ed')), /1005 may not be sent/);
  assert.throws(() => decodeClose(fromHex('03')), /1-byte/);
  assert.equal(sendableCloseCode(1006), false);
  assert.equal(sendableCloseCode(3000), true);
});

test('violations are ProtocolErrors; the decoder survives fuzz', () => {
  const f = frameFrame();
  assert.throws(() => f(fromHex('c10161')), /RSV/); // RSV1 without an extension
  assert.throws(() => f(fromHex('830161')), /reserved opcode/);
  assert.throws(() => f(fromHex('818137fa213d00')), /masked/);
  assert.throws(() => f(fromHex('897e0080')), /at most 125/);
  assert.throws(() => f(fromHex('0900')), /fragmented/);
  assert.throws(() => f(fromHex('827f8000000000000000')), /top bit/);
  assert.throws(() => new MessageAssembler().push(f(fromHex('800161'))!.value), /continuation frame with no message/);
  const a = new MessageAssembler();
  a.push(f(fromHex('010161'))!.value);
  assert.throws(() => a.push(f(fromHex('810161'))!.value), /inside a fragmented message/);
  assert.throws(() => new MessageAssembler().push(f(fromHex('8102c328'))!.value), ProtocolError); // invalid UTF-8
  assertFuzzSafe(frameFrame(4096), { seeds: [HELLO, FRAGMENTS, PING, BIN256, CLOSE] });
});
