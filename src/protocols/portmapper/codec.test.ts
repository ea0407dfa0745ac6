import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { decodeReply, encodeCall, record, recordFrame, resultsOf, XdrReader, XdrWriter } from '../oncrpc/codec.ts';
import { parsePmapDump, parseRpcbDump, parseUniversalAddress, pmapArgs, programNumber, rpcbArgs } from './codec.ts';

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((h) => parseInt(h, 16)));

test('calls: header, AUTH_NONE and AUTH_SYS credentials, record marking', () => {
  const c = encodeCall({ xid: 0x4e554c4c, prog: 100000, vers: 2, proc: 0 });
  assert.equal(toHex(record(c)), '80000028' + '4e554c4c 00000000 00000002 000186a0 00000002 00000000 00000000 00000000 00000000 00000000'.replace(/ /g, ''));
  const sys = encodeCall({ xid: 1, prog: 100003, vers: 3, proc: 1, auth: { stamp: 7, machine: 'ws', uid: 1000, gid: 100, gids: [100, 27] } });
  assert.equal(toHex(sys.subarray(24, 24 + 8 + 32)), '00000001' + '00000020' + '00000007' + '00000002' + '77730000' + '000003e8' + '00000064' + '00000002' + '00000064' + '0000001b');
  assert.equal(toHex(pmapArgs(100005, 3, 'udp')), '000186a5' + '00000003' + '00000011' + '00000000');
  assert.equal(toHex(rpcbArgs(100003, 3, 'tcp')), '000186a3' + '00000003' + '00000003' + '74637000' + '00000000' + '00000000');
});

test('records: fragments reassembled, split feeding, caps on length and fragments', () => {
  const two = hex('00000002 abcd 80000003 010203 80000001 ff');
  const got = assertSplitFeed(recordFrame(), two);
  assert.deepEqual(got.map((b) => toHex(b)), ['abcd010203', 'ff']);
  assert.throws(() => recordFrame(1024)(hex('7fffffff')), /longer than 1024/);
  const endless = new Uint8Array(4 * 5000);
  assert.throws(() => recordFrame()(endless), /4096 fragments/);
  assertFuzzSafe(recordFrame(4096), { seeds: [two] });
});

test('replies: success with results, PROG_MISMATCH with versions, PROG_UNAVAIL, AUTH_ERROR', () => {
  const ok = decodeReply(hex('00000009 00000001 00000000 00000000 00000000 00000000 00000001'));
  assert.equal(resultsOf(ok, 'SET').bool('result'), true);
  const mismatch = decodeReply(hex('00000009 00000001 00000000 00000000 00000000 00000002 00000002 00000004'));
  assert.deepEqual(mismatch, { xid: 9, status: 'PROG_MISMATCH', low: 2, high: 4 });
  assert.throws(() => resultsOf(mismatch, 'NULL'), /PROG_MISMATCH \(supports versions 2-4\)/);
  assert.equal(decodeReply(hex('00000009 00000001 00000000 00000000 00000000 00000001')).status, 'PROG_UNAVAIL');
  const denied = decodeReply(hex('00000009 00000001 00000001 00000001 00000005'));
  assert.deepEqual(denied, { xid: 9, status: 'AUTH_ERROR', auth: 'AUTH_TOOWEAK' });
  assert.throws(() => resultsOf(denied, 'MNT'), (e: unknown) => e instanceof Error && /AUTH_TOOWEAK/.test(e.message));
  assert.throws(() => decodeReply(hex('00000009 00000000')), ProtocolError);
  assert.throws(() => decodeReply(hex('00000009 00000001 00000000 00000000 00000000 00000009')), ProtocolError);
});

test('DUMP lists of versions 2 and 4, universal addresses, program names', () => {
  const v2 = new XdrWriter().bool(true).u32(100000).u32(2).u32(6).u32(111).bool(true).u32(100005).u32(3).u32(17).u32(20048).bool(false).finish();
  assert.deepEqual(parsePmapDump(new XdrReader(v2)), [
    { program: 100000, version: 2, protocol: 'tcp', port: 111 },
    { program: 100005, version: 3, protocol: 'udp', port: 20048 },
  ]);
  const v4 = new XdrWriter().bool(true).u32(100000).u32(4).string('tcp6').string('::.0.111').string('superuser').bool(false).finish();
  assert.deepEqual(parseRpcbDump(new XdrReader(v4)), [{ program: 100000, version: 4, netid: 'tcp6', address: '::.0.111', owner: 'superuser' }]);
  assert.deepEqual(parseUniversalAddress('0.0.0.0.78.80'), { host: '0.0.0.0', port: 20048 });
  assert.deepEqual(parseUniversalAddress('::.0.111'), { host: '::', port: 111 });
  assert.equal(parseUniversalAddress('/run/rpcbind.sock'), null);
  assert.throws(() => parseUniversalAddress('1.2.3.4.999.1'), ProtocolError);
  assert.equal(programNumber('nlockmgr', 'program'), 100021);
  assert.equal(programNumber('100003', 'program'), 100003);
  const huge = new XdrWriter().bool(true).u32(1).u32(1).u32(0xffffffff).finish();
  assert.throws(() => parseRpcbDump(new XdrReader(huge)), /at most 64/);
  assertFuzzSafe((buf) => ({ value: parseRpcbDump(new XdrReader(buf)).length, size: buf.length }), { seeds: [v4] });
});
