import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteWriter, concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  decodeLun,
  encodeKeys,
  encodeLogin,
  encodeLun,
  encodePdu,
  encodeScsiCommand,
  loginStatusText,
  OP,
  parseDataIn,
  parseInquiry,
  parseKeys,
  parseLoginResponse,
  parseReadCapacity10,
  parseReadCapacity16,
  parseReportLuns,
  parseScsiResponse,
  parseSense,
  pduFrame,
  read10Cdb,
  read16Cdb,
} from './codec.ts';

const rest = (fill: (w: ByteWriter) => void) => {
  const w = new ByteWriter(28);
  fill(w);
  const b = w.finish();
  const out = new Uint8Array(28);
  out.set(b);
  return out;
};

test('login request byte for byte: immediate, T/CSG/NSG, ISID and TSIH, CID, CmdSN, keys padded to 4 bytes', () => {
  const pdu = encodeLogin({ transit: true, csg: 0, nsg: 1, isid: fromHex('805054524f54'), tsih: 0, itt: 1, cid: 0, cmdSn: 1, expStatSn: 0, keys: [['AuthMethod', 'None']] });
  assert.equal(toHex(pdu.subarray(0, 8)), '43810000' + '00' + '000010');
  assert.equal(toHex(pdu.subarray(8, 20)), '805054524f540000' + '00000001');
  assert.equal(toHex(pdu.subarray(20, 32)), '0000' + '0000' + '00000001' + '00000000');
  assert.equal(pdu.length, 48 + 16);
  assert.deepEqual(parseKeys(pdu.subarray(48)), [['AuthMethod', 'None']]);
  assert.throws(() => parseKeys(utf8('novalue\0')), ProtocolError);
});

test('PDUs framed whole, byte by byte and split, with padding; a huge data segment refused', () => {
  const keys = encodeKeys([['TargetName', 'iqn.x:a'], ['TargetAddress', '127.0.0.1:3260,1']]);
  const text = encodePdu({ opcode: OP.TEXT_RSP, b1: 0x80, itt: 7, rest: rest((w) => w.u32(0xffffffff).u32(5)), data: keys });
  const login = encodePdu({ opcode: OP.LOGIN_RSP, b1: 0x87, itt: 1, rest: rest((w) => w.u32(0).u32(9).u32(2).u32(3).u8(2).u8(1)) });
  const got = assertSplitFeed(pduFrame(), concat([text, login]));
  assert.deepEqual(got.map((p) => [p.opcode, p.itt, p.dataLength]), [[OP.TEXT_RSP, 7, keys.length], [OP.LOGIN_RSP, 1, 0]]);
  assert.deepEqual(parseKeys(got[0].data).map(([k]) => k), ['TargetName', 'TargetAddress']);
  const l = parseLoginResponse(got[1]);
  assert.deepEqual([l.transit, l.csg, l.nsg, l.statSn, l.expCmdSn, l.statusClass, l.statusDetail], [true, 1, 3, 9, 2, 2, 1]);
  assert.equal(loginStatusText(2, 1), 'authentication failure');
  assert.equal(loginStatusText(2, 3), 'target not found');
  const huge = new Uint8Array(48);
  huge[5] = 0xff;
  assert.throws(() => pduFrame(1024)(huge), /exceeds/);
  assertFuzzSafe(pduFrame(4096), { seeds: [text, login] });
});

test('SCSI command, Data-In and response: the CDB in place, read flag, status and sense', () => {
  const cmd = encodeScsiCommand({ itt: 3, lun: encodeLun(1), cmdSn: 4, expStatSn: 5, cdb: read10Cdb(100, 8), readLength: 4096 });
  assert.equal(toHex(cmd.subarray(0, 4)), '01c10000');
  assert.equal(toHex(cmd.subarray(8, 16)), '0001000000000000');
  assert.equal(toHex(cmd.subarray(20, 32)), '00001000' + '00000004' + '00000005');
  assert.equal(toHex(cmd.subarray(32, 42)), '28000000006400000800');
  assert.equal(toHex(read16Cdb(2 ** 33, 1)), '88000000000200000000' + '00000001' + '0000');
  const dataIn = encodePdu({ opcode: OP.DATA_IN, b1: 0x81, b3: 0, itt: 3, rest: rest((w) => w.u32(0xffffffff).u32(6).u32(5).u32(5).u32(0).u32(512).u32(0)), data: new Uint8Array(8) });
  const d = parseDataIn(pduFrame()(dataIn)!.value);
  assert.deepEqual([d.status, d.statusCode, d.offset, d.statSn], [true, 0, 512, 6]);
  const sense = concat([fromHex('0012'), fromHex('70000500000000000a000000240000000000')]);
  const rsp = encodePdu({ opcode: OP.SCSI_RSP, b1: 0x80, b2: 0, b3: 2, itt: 3, rest: rest((w) => w.u32(0).u32(6)), data: sense });
  const r = parseScsiResponse(pduFrame()(rsp)!.value);
  assert.equal(r.status, 2);
  assert.deepEqual(parseSense(r.sense!), { key: 'ILLEGAL REQUEST', asc: 0x24, ascq: 0 });
  assert.deepEqual(parseSense(fromHex('7205210000000000')), { key: 'ILLEGAL REQUEST', asc: 0x21, ascq: 0 });
});

test('INQUIRY, REPORT LUNS, READ CAPACITY(10/16) payloads; LUN encodings', () => {
  const inq = concat([fromHex('00000502' + '1f000000'), utf8('IET     '), utf8('VIRTUAL-DISK    '), utf8('0001')]);
  assert.deepEqual(parseInquiry(inq), { deviceType: 'disk', qualifier: 0, removable: false, version: 5, vendor: 'IET', product: 'VIRTUAL-DISK', revision: '0001' });
  assert.throws(() => parseInquiry(new Uint8Array(10)), ProtocolError);
  assert.deepEqual(parseReportLuns(fromHex('00000010' + '00000000' + '0000000000000000' + '0001000000000000')), [0, 1]);
  assert.deepEqual(parseReadCapacity10(fromHex('00003fff' + '00000200')), { lastLba: 16383, blockSize: 512 });
  assert.deepEqual(parseReadCapacity16(fromHex('0000000000003fff' + '00000200' + '00' + '00' + '8000' + '0'.repeat(32))), { lastLba: 16383, blockSize: 512, thinProvisioned: true });
  assert.throws(() => parseReadCapacity16(fromHex('ffffffffffffffff' + '00000200')), ProtocolError);
  assert.equal(toHex(encodeLun(300)), '412c000000000000');
  assert.equal(decodeLun(encodeLun(300)), 300);
  assert.equal(decodeLun(encodeLun(7)), 7);
});
