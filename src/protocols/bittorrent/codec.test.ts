import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { bdecode, bencode, countBits, encodeExtendedHandshake, encodeHandshake, encodeMessage, handshakeFrame, messageFrame, MSG, peerIdClient, reservedBits, reservedNames } from './codec.ts';

const HASH = fromHex('9886910cb96ef08712c1e5997b4d808fff017017');

test('handshake byte for byte, split at every byte; reserved bits named; a foreign protocol refused', () => {
  const reserved = reservedBits({ extensionProtocol: true, fast: true });
  assert.equal(toHex(reserved), '0000000000100004');
  assert.deepEqual(reservedNames(fromHex('0000000000100005')), ['extensionProtocol', 'dht', 'fast']);
  const h = encodeHandshake({ reserved, infoHash: HASH, peerId: utf8('-TR3000-wf9bife1lo4g') });
  assert.equal(h.length, 68);
  assert.equal(toHex(h.subarray(0, 20)), '13' + toHex(utf8('BitTorrent protocol')));
  const [got] = assertSplitFeed(handshakeFrame, h);
  assert.deepEqual([toHex(got.infoHash), toHex(got.reserved)], [toHex(HASH), '0000000000100004']);
  assert.deepEqual(peerIdClient(got.peerId), { code: 'TR', version: '3000' });
  assert.equal(peerIdClient(utf8('M7-2-0--abcdefghijkl')), null);
  assert.throws(() => handshakeFrame(utf8('SSH-2.0-OpenSSH')), ProtocolError);
  assert.throws(() => handshakeFrame(concat([new Uint8Array([19]), utf8('BitTorrent protocoX'), new Uint8Array(48)])), /BitTorrent protocol/);
  assertFuzzSafe(handshakeFrame, { seeds: [h] });
});

test('messages: keep-alive, HAVE_ALL, a bitfield, an extended handshake; split feeding; a huge length refused', () => {
  const ext = encodeExtendedHandshake({ m: { ut_metadata: 3 }, v: utf8('Transmission 3.00'), metadata_size: 181 });
  const stream = concat([new Uint8Array(4), encodeMessage(MSG.HAVE_ALL), encodeMessage(MSG.BITFIELD, fromHex('f8')), ext]);
  const got = assertSplitFeed(messageFrame(), stream);
  assert.deepEqual(got.map((m) => m.id), [null, MSG.HAVE_ALL, MSG.BITFIELD, MSG.EXTENDED]);
  assert.equal(countBits(got[2].payload), 5);
  assert.deepEqual(bdecode(got[3].payload.subarray(1)), { m: { ut_metadata: 3 }, metadata_size: 181, v: utf8('Transmission 3.00') });
  assert.throws(() => messageFrame(1024)(fromHex('7fffffff')), /exceeds/);
  assertFuzzSafe(messageFrame(4096), { seeds: [stream] });
});

test('bencoding: golden bytes both ways, sorted keys, big integers; malformed and deep input refused', () => {
  const v = { b: [1, -2, utf8('spam')], a: 0 };
  assert.equal(new TextDecoder().decode(bencode(v)), 'd1:ai0e1:bli1ei-2e4:spamee');
  assert.deepEqual(bdecode(bencode(v)), { a: 0, b: [1, -2, utf8('spam')] });
  assert.equal(bdecode(utf8('i18446744073709551615e')), 18446744073709551615n);
  for (const bad of ['i-0e', 'i03e', '5:abc', 'li1e', 'd1:ai1e', 'di1ei2ee', 'x', 'i1ei2e', '']) assert.throws(() => bdecode(utf8(bad)), ProtocolError, bad);
  assert.throws(() => bdecode(utf8('l'.repeat(100) + 'e'.repeat(100))), /nesting/);
  assert.deepEqual(Object.keys(bdecode(utf8('d9:__proto__i1ee')) as object), ['__proto__']);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        bdecode(bytes);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});
