// ZMTP codec: greeting, short and long frames, commands, metadata, PLAIN HELLO, libzmq's ERROR spelling, split feed, caps, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { decodeGreeting, decodeMetadata, encodeCommand, encodeGreeting, encodeMessage, encodeMetadata, encodePlainHello, errorReason, frameFrame } from './codec.ts';

const b = (s: string) => utf8(s);
const frame = frameFrame();

describe('ZMTP greeting', () => {
  it('64 bytes: signature, version, mechanism padded to 20, as-server, filler', () => {
    const g = encodeGreeting({ major: 3, minor: 1, mechanism: 'PLAIN', asServer: false });
    assert.equal(g.length, 64);
    assert.deepEqual(g.subarray(0, 17), new Uint8Array([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1, 0x50, 0x4c, 0x41, 0x49, 0x4e]));
    assert.deepEqual(g.subarray(17), new Uint8Array(47));
    assert.deepEqual(decodeGreeting(g), { major: 3, minor: 1, mechanism: 'PLAIN', asServer: false });
    const server = encodeGreeting({ major: 3, minor: 0, mechanism: 'NULL', asServer: true });
    assert.deepEqual(decodeGreeting(server), { major: 3, minor: 0, mechanism: 'NULL', asServer: true });
  });
  it('not ZMTP, or ZMTP 2.0', () => {
    assert.throws(() => decodeGreeting(b('HTTP/1.1 400 Bad Request\r\n'.padEnd(64))), /did not send a ZMTP 3 signature/);
    const old = encodeGreeting({ major: 3, minor: 0, mechanism: 'NULL', asServer: false });
    old[10] = 1;
    assert.throws(() => decodeGreeting(old), /speaks ZMTP 2.0/);
  });
});

describe('ZMTP frames', () => {
  it('short and long frames, MORE, commands; round trip through encode', () => {
    const big = new Uint8Array(300).map((_, i) => i & 0xff);
    const bytes = concat([encodeMessage([new Uint8Array(0), b('hi'), big]), encodeCommand('READY', encodeMetadata([['Socket-Type', 'REP']]))]);
    // golden: an empty frame with MORE is 01 00; "hi" with MORE is 01 02 68 69; 300 bytes is LONG: 02 + 8-byte size
    assert.deepEqual(bytes.subarray(0, 6), new Uint8Array([0x01, 0x00, 0x01, 0x02, 0x68, 0x69]));
    assert.deepEqual(bytes.subarray(6, 15), new Uint8Array([0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x2c]));
    const got = assertSplitFeed(frame, bytes);
    assert.deepEqual(got.slice(0, 3), [
      { command: false, more: true, body: new Uint8Array(0) },
      { command: false, more: true, body: b('hi') },
      { command: false, more: false, body: big },
    ]);
    const ready = got[3];
    assert.ok(ready.command && ready.name === 'READY');
    assert.deepEqual(decodeMetadata(ready.data), [['Socket-Type', b('REP')]]);
  });
  it('READY metadata golden bytes: name-size u8, name, value-size u32 BE, value', () => {
    assert.deepEqual(encodeMetadata([['Socket-Type', 'REQ']]), new Uint8Array([11, ...b('Socket-Type'), 0, 0, 0, 3, ...b('REQ')]));
  });
  it('PLAIN HELLO data', () => {
    assert.deepEqual(encodePlainHello('ann', 'pw'), new Uint8Array([3, ...b('ann'), 2, ...b('pw')]));
  });
  it("libzmq 4.3's ERROR (0x5E 'RROR') reads as ERROR; ZAP codes get their meaning", () => {
    const [f] = new FrameDecoder(frame).feed(new Uint8Array([0x04, 0x09, 0x5e, 0x52, 0x52, 0x4f, 0x52, 0x03, 0x34, 0x30, 0x30]));
    assert.ok(f.command && f.name === 'ERROR');
    assert.equal(errorReason(f.data), '400 (ZAP: authentication failure)');
    const [g] = new FrameDecoder(frame).feed(encodeCommand('ERROR', new Uint8Array([4, ...b('nope')])));
    assert.ok(g.command && g.name === 'ERROR' && errorReason(g.data) === 'nope');
  });
  it('caps and wrong bytes', () => {
    const one = (bytes: Uint8Array, f = frame) => new FrameDecoder(f).feed(bytes);
    assert.throws(() => one(new Uint8Array([0x02, 0x80, 0, 0, 0, 0, 0, 0, 0])), (e: unknown) => e instanceof ProtocolError && /exceeds the/.test(e.message));
    assert.throws(() => one(new Uint8Array([0x02, 0, 0, 0, 0, 0x10, 0, 0, 0]), frameFrame(1024)), /268435456 bytes exceeds the 1024-byte limit/);
    assert.throws(() => one(new Uint8Array([0x10, 0])), /reserved bits/);
    assert.throws(() => one(new Uint8Array([0x05, 0x01, 0x00])), /MORE flag/);
    assert.throws(() => one(new Uint8Array([0x04, 0x01, 0x00])), /no name/);
    assert.throws(() => decodeMetadata(new Uint8Array([3, 0x41, 0x42, 0x43, 0, 0, 0, 9, 1])), ProtocolError);
  });
  it('fuzz', () => {
    assertFuzzSafe(frameFrame(4096), { seeds: [encodeMessage([b('a'), b('bc')]), encodeCommand('READY', encodeMetadata([['Socket-Type', 'REP']]))] });
  });
});
