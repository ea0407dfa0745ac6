import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { decodeNameServiceResponse, decodeSessionPacket, encodeName, nameServiceRequest, readName, sessionFrame, sessionRequest } from './codec.ts';

// nmbd's NODE STATUS RESPONSE for PORTOLAN-LAB (7 names, MAC 00:00:00:00:00:00), from the lab.
const NBSTAT = fromHex(
  '12348400000000010000000020434b41414141414141414141414141414141414141414141414141414141414100002100010000000000ad07504f52544f4c414e2d4c4142202020000400504f52544f4c414e2d4c4142202020030400504f52544f4c414e2d4c414220202020040001025f5f4d5342524f5753455f5f02018400504f52544f4c414e20202020202020008400504f52544f4c414e202020202020201d0400504f52544f4c414e202020202020201e8400' +
    '00'.repeat(46),
);

test('RFC 1001 §14.1: FRED<20> and the NBSTAT wildcard, first-level encoded', () => {
  assert.equal(new TextDecoder().decode(encodeName({ name: 'FRED', suffix: 0x20 }).subarray(1, 33)), 'EGFCEFEECACACACACACACACACACACACA');
  assert.equal(new TextDecoder().decode(encodeName({ name: '*', suffix: 0 }).subarray(1, 33)), 'CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  const scoped = encodeName({ name: 'FRED', suffix: 0x20, scope: 'NETBIOS.COM' });
  assert.equal(toHex(scoped.subarray(33)), '074e455442494f5303434f4d00');
  assert.deepEqual(readName(new ByteReader(scoped)), { name: 'FRED', suffix: 0x20, scope: 'NETBIOS.COM' });
  assert.throws(() => encodeName({ name: 'SIXTEEN-CHARS-XX', suffix: 0 }), ProtocolError);
  assert.throws(() => encodeName({ name: 'A', suffix: 0, scope: 'a..b' }), /scope/);
});

test('session request (§4.3.2) and each response (§4.3.3–4.3.5), split feed', () => {
  const req = sessionRequest({ name: '*SMBSERVER', suffix: 0x20 }, { name: 'PORTOLAN', suffix: 0 });
  assert.equal(toHex(req.subarray(0, 4)), '81000044');
  const answers = fromHex('82000000' + '8300000182' + '840000067f0000014c2c' + '85000000');
  const frames = assertSplitFeed(sessionFrame(), answers);
  assert.deepEqual(frames.map(decodeSessionPacket), [
    { type: 'positive' },
    { type: 'negative', errorCode: 0x82, meaning: 'Called name not present' },
    { type: 'retarget', address: '127.0.0.1', port: 19500 },
    { type: 'keepAlive' },
  ]);
  assert.throws(() => sessionFrame()(fromHex('8302ffff')), /reserved flag bits/);
  assert.throws(() => sessionFrame(1024)(fromHex('0001ffff')), /131071 bytes/);
});

test('node status (§4.2.17/§4.2.18): the request, and nmbd\'s name table', () => {
  assert.equal(toHex(nameServiceRequest(0x1234, { name: '*', suffix: 0 }, 'NBSTAT')), '123400000001000000000000' + toHex(utf8(' CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')) + '00' + '00210001');
  const r = decodeNameServiceResponse(NBSTAT);
  assert.equal(r.kind, 'NBSTAT');
  if (r.kind !== 'NBSTAT') return;
  assert.deepEqual(r.names.map((n) => `${n.name}<${n.suffix.toString(16).padStart(2, '0')}>${n.group ? ' group' : ''}`), ['PORTOLAN-LAB<00>', 'PORTOLAN-LAB<03>', 'PORTOLAN-LAB<20>', '\x01\x02__MSBROWSE__\x02<01> group', 'PORTOLAN<00> group', 'PORTOLAN<1d>', 'PORTOLAN<1e> group']);
  assert.ok(r.names.every((n) => n.active && n.nodeType === 'B'));
  assert.equal(r.unitId, '00:00:00:00:00:00');
  assert.equal(r.names[2].meaning, 'File server service');
});

test('name service decoders: compression pointers must point back; random bytes are ProtocolErrors', () => {
  const loop = fromHex('8000' + '8400' + '0000' + '0001' + '0000' + '0000' + 'c00c');
  assert.throws(() => decodeNameServiceResponse(loop), /does not point back/);
  const frame = (buf: Uint8Array) => {
    decodeNameServiceResponse(buf);
    return { value: buf, size: buf.length };
  };
  assertFuzzSafe(frame, { seeds: [NBSTAT] });
  assertFuzzSafe(sessionFrame(), { seeds: [fromHex('8300000182')] });
});
