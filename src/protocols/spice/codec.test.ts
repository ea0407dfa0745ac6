import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter, concat, toHex, utf8 } from '../../core/bytes.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { CHANNEL_CAPS, COMMON_CAPS, capNames, dataFrame, decodeChannelsList, decodeMainInit, decodeName, decodeNotify, decodeUuid, encodeData, encodeLinkMess, linkReplyFrame, linkResultFrame } from './codec.ts';

test('SpiceLinkMess: "REDQ", version 2.2, the message size, channel, and capability words after caps_offset 18', () => {
  const m = encodeLinkMess({ connectionId: 0, channelType: 1, channelId: 0, commonCaps: [0b1011], channelCaps: [0b0110] });
  assert.equal(toHex(m), '52454451' + '02000000' + '02000000' + '1a000000' + '00000000' + '01' + '00' + '01000000' + '01000000' + '12000000' + '0b000000' + '06000000');
});

/** A SpiceLinkReply as QEMU's server sends it: OK, a 162-byte key, one common and one channel capability word. */
function linkReply(error = 0): Uint8Array {
  const body = new ByteWriter().u32le(error).bytes(new Uint8Array(162).fill(0x30)).u32le(1).u32le(1).u32le(178).u32le(0b1011).u32le(0b1111).finish();
  return concat([new ByteWriter().u32le(0x51444552).u32le(2).u32le(2).u32le(body.length).finish(), body]);
}

test('SpiceLinkReply: key, capabilities by name; a refusal; not SPICE at all', () => {
  const [r] = assertSplitFeed(linkReplyFrame, linkReply());
  assert.equal(r.error, 0);
  assert.equal(r.pubKey.length, 162);
  assert.deepEqual(capNames(r.commonCaps, COMMON_CAPS), ['PROTOCOL_AUTH_SELECTION', 'AUTH_SPICE', 'MINI_HEADER']);
  assert.deepEqual(capNames(r.channelCaps, CHANNEL_CAPS[1]), ['SEMI_SEAMLESS_MIGRATE', 'NAME_AND_UUID', 'AGENT_CONNECTED_TOKENS', 'SEAMLESS_MIGRATE']);
  const refusal = concat([new ByteWriter().u32le(0x51444552).u32le(2).u32le(2).u32le(4).finish(), new ByteWriter().u32le(5).finish()]);
  assert.deepEqual(assertSplitFeed(linkReplyFrame, refusal)[0].errorName, 'NEED_SECURED');
  assert.throws(() => linkReplyFrame(utf8('RFB 003.008\nxxxx')), /not a SPICE server/);
  assert.deepEqual(assertSplitFeed(linkResultFrame, Uint8Array.of(7, 0, 0, 0)), [{ error: 7, name: 'PERMISSION_DENIED' }]);
  assert.deepEqual(capNames([1 << 20], ['A']), ['bit 20']);
  assertFuzzSafe(linkReplyFrame, { seeds: [linkReply(), refusal] });
});

test('data messages: mini and full headers; MAIN_INIT, CHANNELS_LIST, NAME, UUID, NOTIFY', () => {
  const init = new ByteWriter().u32le(0xc6104c01).u32le(1).u32le(1).u32le(1).u32le(0).u32le(10).u32le(3149871).u32le(50323456).finish();
  const mini = encodeData(true, 103, init);
  assert.equal(toHex(mini.subarray(0, 6)), '6700' + '20000000');
  const [m] = assertSplitFeed(dataFrame(true), mini);
  assert.deepEqual(decodeMainInit(m.body), { sessionId: 0xc6104c01, displayChannelsHint: 1, supportedMouseModes: ['server'], currentMouseMode: 'server', agentConnected: false, agentTokens: 10, multiMediaTime: 3149871, ramHint: 50323456 });
  const list = new ByteWriter().u32le(3).u8(2).u8(0).u8(3).u8(0).u8(9).u8(1).finish();
  const [full] = assertSplitFeed(dataFrame(false), encodeData(false, 104, list, 7n));
  assert.equal(full.type, 104);
  assert.deepEqual(decodeChannelsList(full.body), [{ type: 2, id: 0, name: 'display' }, { type: 3, id: 0, name: 'inputs' }, { type: 9, id: 1, name: 'usbredir' }]);
  assert.equal(decodeName(new ByteWriter().u32le(5).bytes(utf8('lab\0\0')).finish()), 'lab');
  assert.equal(decodeUuid(Uint8Array.from({ length: 16 }, (_, i) => i)), '00010203-0405-0607-0809-0a0b0c0d0e0f');
  assert.deepEqual(decodeNotify(new ByteWriter().u64le(0n).u32le(1).u32le(0).u32le(0).u32le(4).bytes(utf8('hey\0')).finish()), { severity: 'warn', message: 'hey' });
  assert.throws(() => dataFrame(true)(Uint8Array.of(1, 0, 0xff, 0xff, 0xff, 0x7f)), /exceeds/);
  assert.throws(() => decodeChannelsList(new ByteWriter().u32le(100000).finish()), /channels/);
  assertFuzzSafe(dataFrame(true), { seeds: [mini] });
});
