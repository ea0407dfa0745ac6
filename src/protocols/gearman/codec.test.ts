// Gearman codec: golden packets both ways, arguments holding NULs, admin lines, split feed, caps, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { encodeRequest, packetFrame, parseStatusLine, parseWorkerLine, PACKET } from './codec.ts';

const b = (s: string) => utf8(s);
const res = (type: number, body: Uint8Array) => {
  const h = new Uint8Array(12);
  h.set([0, 0x52, 0x45, 0x53]);
  new DataView(h.buffer).setUint32(4, type);
  new DataView(h.buffer).setUint32(8, body.length);
  return concat([h, body]);
};

describe('Gearman packets: golden bytes', () => {
  it('SUBMIT_JOB: \\0REQ, type 7, size, function NUL unique NUL data', () => {
    assert.deepEqual(
      encodeRequest(PACKET.SUBMIT_JOB, ['reverse', '', b('abc')]),
      new Uint8Array([0, 0x52, 0x45, 0x51, 0, 0, 0, 7, 0, 0, 0, 12, ...b('reverse'), 0, 0, ...b('abc')]),
    );
    assert.deepEqual(encodeRequest(PACKET.ECHO_REQ, ['x']), new Uint8Array([0, 0x52, 0x45, 0x51, 0, 0, 0, 16, 0, 0, 0, 1, 0x78]));
  });

  it('responses split into their arguments; the last keeps its NULs', () => {
    const data = new Uint8Array([0x61, 0x00, 0x62, 0xff]);
    const bytes = concat([res(PACKET.JOB_CREATED, b('H:lab:1')), res(PACKET.WORK_STATUS, b('H:lab:1\x001\x004')), res(PACKET.WORK_COMPLETE, concat([b('H:lab:1\x00'), data])), res(PACKET.STATUS_RES, b('H:lab:1\x001\x000\x000\x000')), res(PACKET.ERROR, b('ERR_X\x00bad thing'))]);
    const got = assertSplitFeed(packetFrame(), bytes);
    assert.deepEqual(
      got.map((p) => p.name),
      ['JOB_CREATED', 'WORK_STATUS', 'WORK_COMPLETE', 'STATUS_RES', 'ERROR'],
    );
    assert.deepEqual(got[1].args, [b('H:lab:1'), b('1'), b('4')]);
    assert.deepEqual(got[2].args, [b('H:lab:1'), data]);
    assert.deepEqual(got[4].args, [b('ERR_X'), b('bad thing')]);
  });

  it('wrong magic, unknown types, too few arguments, oversized packets', () => {
    const one = (bytes: Uint8Array, f = packetFrame()) => new FrameDecoder(f).feed(bytes);
    assert.throws(() => one(b('\0REQ')), /does not start with \\0RES/);
    assert.throws(() => one(b('HTTP/1.1 400')), /does not start with \\0RES/);
    assert.throws(() => one(res(99, b(''))), /unknown response packet type 99/);
    assert.throws(() => one(res(PACKET.STATUS_RES, b('H\x001'))), /STATUS_RES has 2 arguments, expected 5/);
    const huge = res(PACKET.WORK_COMPLETE, b(''));
    new DataView(huge.buffer).setUint32(8, 0xffffffff);
    assert.throws(() => one(huge), (e: unknown) => e instanceof ProtocolError && /4294967295 bytes exceeds/.test(e.message));
  });

  it('fuzz', () => {
    assertFuzzSafe(packetFrame(4096), { seeds: [res(PACKET.JOB_CREATED, b('H:1')), res(PACKET.WORK_COMPLETE, b('H:1\x00ok'))] });
  });
});

describe('Gearman admin protocol', () => {
  it('status and workers lines', () => {
    assert.deepEqual(parseStatusLine('reverse\t2\t1\t3'), { name: 'reverse', queued: 2, running: 1, workers: 3 });
    assert.throws(() => parseStatusLine('reverse 2 1 3'), ProtocolError);
    assert.throws(() => parseStatusLine('*1'), ProtocolError);
    assert.deepEqual(['30 127.0.0.1 - : reverse slow', '31 ::1 client-1 :'].map(parseWorkerLine), [
      { fd: 30, address: '127.0.0.1', clientId: '-', functions: ['reverse', 'slow'] },
      { fd: 31, address: '::1', clientId: 'client-1', functions: [] },
    ]);
  });
});
