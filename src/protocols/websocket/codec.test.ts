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

import { PerMessageDeflate, agreeDeflate, deflateOfferHeader, parseExtensions } from './deflate.ts';

const agreedAll = (over: Record<string, unknown> = {}) => ({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15, header: '', ...over });

test('permessage-deflate: the offer and the answer checked against it (RFC 7692 §7.1)', () => {
  assert.equal(deflateOfferHeader({}), 'permessage-deflate');
  assert.equal(
    deflateOfferHeader({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: true }),
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits',
  );
  assert.deepEqual(parseExtensions('permessage-deflate; client_max_window_bits="10" , x-other'), [
    { name: 'permessage-deflate', params: [['client_max_window_bits', '10']] },
    { name: 'x-other', params: [] },
  ]);
  const h = 'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12';
  assert.deepEqual(agreeDeflate({ serverNoContextTakeover: true, clientMaxWindowBits: true }, h), agreedAll({ serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12, header: h }));
  assert.equal(agreeDeflate({}, null), null);
  assert.throws(() => agreeDeflate(undefined, 'permessage-deflate'), /offered none/);
  assert.throws(() => agreeDeflate({}, 'permessage-deflate; client_max_window_bits=10'), /did not offer/);
  assert.throws(() => agreeDeflate({ clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=12'), /more than the 10/);
  assert.throws(() => agreeDeflate({ serverMaxWindowBits: 9 }, 'permessage-deflate; server_max_window_bits=12'), /more than the 9/);
  assert.throws(() => agreeDeflate({}, 'permessage-deflate; server_max_window_bits=16'), /8–15/);
  assert.throws(() => agreeDeflate({}, 'permessage-deflate; server_max_window_bits'), /needs a value/);
  assert.throws(() => agreeDeflate({ serverNoContextTakeover: true }, 'permessage-deflate'), /did not accept server_no_context_takeover/);
  assert.throws(() => agreeDeflate({}, 'permessage-deflate; mystery'), /unknown parameter mystery/);
  assert.throws(() => agreeDeflate({}, 'permessage-deflate; server_no_context_takeover; server_no_context_takeover'), /repeats/);
  assert.throws(() => agreeDeflate({}, 'x-webkit-deflate-frame'), /offered only permessage-deflate/);
  assert.throws(() => agreeDeflate({ clientMaxWindowBits: true }, 'permessage-deflate; client_max_window_bits=8'), /cannot keep to/);
});

test('permessage-deflate: the RFC 7692 §7.2.3 examples inflate, the window carried between messages', () => {
  const rx = new PerMessageDeflate(agreedAll());
  // §7.2.3.1 "Hello"; §7.2.3.2 the same again, a back-reference into the first message's window.
  assert.equal(new TextDecoder().decode(rx.decompress(fromHex('f248cdc9c90700'), 100)), 'Hello');
  assert.equal(new TextDecoder().decode(rx.decompress(fromHex('f200110000'), 100)), 'Hello');
  // §7.2.3.3 a stored block; §7.2.3.4 a final block (the next message starts a fresh stream).
  const fresh = new PerMessageDeflate(agreedAll());
  assert.equal(new TextDecoder().decode(fresh.decompress(fromHex('000500faff48656c6c6f00'), 100)), 'Hello');
  assert.equal(new TextDecoder().decode(fresh.decompress(fromHex('f348cdc9c9070000'), 100)), 'Hello');
  assert.equal(new TextDecoder().decode(fresh.decompress(fromHex('f248cdc9c90700'), 100)), 'Hello');
  // Frames with RSV1 reassembled and inflated by the assembler; control frames with RSV1 refused.
  const a = new MessageAssembler(100, (d, max) => rx.decompress(d, max));
  const f = frameFrame(100, true);
  assert.equal(a.push(f(fromHex('4103f248cd'))!.value), undefined);
  assert.deepEqual(a.push(f(fromHex('8004c9c90700'))!.value), { kind: 'text', text: 'Hello', frames: 2, compressed: 7 });
  assert.throws(() => f(fromHex('c900')), /control frames are never compressed/);
  const b = new MessageAssembler(100, (d) => d);
  b.push(f(fromHex('0100'))!.value);
  assert.throws(() => b.push(f(fromHex('c000'))!.value), /continuation frame with RSV1/);
  assert.throws(() => new MessageAssembler().push(f(fromHex('c100'))!.value), /not agreed/);
});

test('permessage-deflate: our compressor ends at a sync flush, tail removed, and keeps its window unless told not to', () => {
  const text = utf8('Portolan charts the harbour. '.repeat(50));
  const keep = new PerMessageDeflate(agreedAll());
  const one = keep.compress(text);
  const two = keep.compress(text);
  assert.ok(two.length < one.length && one.length < text.length / 5);
  const rx = new PerMessageDeflate(agreedAll());
  assert.deepEqual(rx.decompress(one, 10_000), text);
  assert.deepEqual(rx.decompress(two, 10_000), text);
  const fresh = new PerMessageDeflate(agreedAll({ clientNoContextTakeover: true, serverNoContextTakeover: true }));
  const a = fresh.compress(text);
  assert.deepEqual(fresh.compress(text), a);
  assert.deepEqual(fresh.decompress(a, 10_000), text);
  assert.deepEqual(fresh.decompress(a, 10_000), text);
});

test('permessage-deflate: a compression bomb stops at the cap; garbage is a ProtocolError', () => {
  const bomb = new PerMessageDeflate(agreedAll()).compress(new Uint8Array(1 << 20));
  assert.ok(bomb.length < 2000);
  assert.throws(() => new PerMessageDeflate(agreedAll()).decompress(bomb, 64 * 1024), (e: unknown) => e instanceof ProtocolError && /more than 65536 bytes/.test(e.message));
  assert.throws(() => new PerMessageDeflate(agreedAll()).decompress(fromHex('ffffffff'), 100), ProtocolError);
  // Compressed frames and their payloads under fuzz: ProtocolError or a bounded answer, nothing else.
  assertFuzzSafe(frameFrame(4096, true), { seeds: [fromHex('c107f248cdc9c90700'), fromHex('4103f248cd'), fromHex('8004c9c90700')] });
  assertFuzzSafe((buf) => (buf.length ? { value: new PerMessageDeflate(agreedAll()).decompress(buf, 4096), size: buf.length } : undefined), { seeds: [fromHex('f248cdc9c90700'), bomb.subarray(0, 64)] });
});
