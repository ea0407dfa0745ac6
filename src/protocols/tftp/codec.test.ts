// TFTP codec: annotated packets of RFC 1350 §5 and RFC 2347, netascii, malformed packets, fuzz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { decodePacket, encodeAck, encodeData, encodeError, encodeRequest, fromNetascii, toNetascii } from './codec.ts';

test('tftp: RRQ with options (RFC 1350 §5, RFC 2347)', () => {
  const rrq = encodeRequest('RRQ', 'hello.txt', 'octet', { blksize: 1428, tsize: 0, timeout: 1 });
  assert.equal(
    toHex(rrq),
    '0001' + // opcode RRQ
      toHex(utf8('hello.txt\0octet\0')) +
      toHex(utf8('blksize\x001428\0tsize\x000\0timeout\x001\0')),
  );
  assert.deepEqual(decodePacket(rrq), { op: 'RRQ', filename: 'hello.txt', mode: 'octet', options: { blksize: '1428', tsize: '0', timeout: '1' } });
});

test('tftp: DATA, ACK, ERROR and OACK as tftpd-hpa sends them', () => {
  assert.equal(toHex(encodeAck(0)), '00040000');
  assert.equal(toHex(encodeAck(65536)), '00040000', 'block numbers are 16 bits');
  assert.equal(toHex(encodeData(2, utf8('hi'))), '000300026869');
  assert.deepEqual(decodePacket(fromHex('000300016869')), { op: 'DATA', block: 1, data: utf8('hi') });
  // tftpd-hpa: "File not found" as error 1, NUL-terminated.
  assert.deepEqual(decodePacket(fromHex('00050001' + toHex(utf8('File not found\0')))), { op: 'ERROR', code: 1, message: 'File not found' });
  assert.deepEqual(decodePacket(fromHex('00050000' + toHex(utf8('no nul')))), { op: 'ERROR', code: 0, message: 'no nul' });
  assert.equal(toHex(encodeError(5, 'Unknown transfer ID')), '00050005' + toHex(utf8('Unknown transfer ID\0')));
  assert.deepEqual(decodePacket(fromHex('0006' + toHex(utf8('BLKSIZE\x001428\0tsize\x00100000\0')))), { op: 'OACK', options: { blksize: '1428', tsize: '100000' } });
});

test('tftp: malformed packets name what is wrong', () => {
  assert.throws(() => decodePacket(fromHex('00')), /1 bytes/);
  assert.throws(() => decodePacket(fromHex('0009')), /unknown opcode 9/);
  assert.throws(() => decodePacket(fromHex('000400')), /ACK shorter/);
  assert.throws(() => decodePacket(fromHex('0006' + toHex(utf8('blksize\0')))), /without a value/);
  assert.throws(() => decodePacket(encodeData(1, new Uint8Array(600)), 512), /600 bytes, more than the 512-byte block size/);
  assert.throws(() => decodePacket(fromHex('0001' + toHex(utf8('name-without-nul')))), ProtocolError);
});

test('tftp: netascii — LF is CR LF on the wire, a bare CR is CR NUL', () => {
  assert.equal(toHex(toNetascii(utf8('a\nb\rc'))), toHex(utf8('a\r\nb\r\0c')));
  assert.equal(new TextDecoder().decode(fromNetascii(utf8('a\r\nb\r\0c\r'))), 'a\nb\rc\r');
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => assert.equal(toHex(fromNetascii(toNetascii(b))), toHex(b))));
});

test('tftp: random packets throw nothing but ProtocolError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
      try {
        decodePacket(bytes, 512);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
    { numRuns: 1000 },
  );
});
