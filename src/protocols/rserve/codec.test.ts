import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { crypt } from './client.ts';
import { CMD, decodeSexpParam, encodeCommand, idFrame, responseFrame, stringParam } from './codec.ts';

// Rserve 1.8 on R 4.2 answering CMD_eval of list(n=c(1L,NA), s=c("a",NA), b=c(TRUE,FALSE,NA), d=2.5) (captured in the lab).
const evalResponse = fromHex(
  '010001005000000000000000000000000a4c00009048000015180000220800006e00730062006400130800006e616d6573000000200800000100000000000080220400006100ff002408000003000000010002ff210800000000000000000440',
);

test('ID string: version, protocol and the login attributes with the salt', () => {
  const [id] = assertSplitFeed(idFrame, utf8('Rsrv0103QAP1\r\n\r\nARucK.7 ARpt--\r\n'));
  assert.deepEqual(id, { version: '0103', protocol: 'QAP1', attributes: ['ARuc', 'K.7 ', 'ARpt'], auth: { plain: true, crypt: true }, salt: '.7' });
  assert.throws(() => idFrame(utf8('HTTP/1.1 400 Bad Request\r\n\r\n....')), /not Rsrv/);
});

test('commands: 16-byte little-endian header, then a NUL-terminated DT_STRING padded to 4 bytes', () => {
  assert.equal(toHex(stringParam('1+1')), '0404000031' + '2b3100');
  assert.equal(toHex(encodeCommand(CMD.eval, stringParam('1'))), '03000000080000000000000000000000' + '04040000' + '31000000');
  assert.throws(() => stringParam('a\0b'), /NUL/);
});

test('crypt(3) login: the DES hash glibc computes for the server salt', () => {
  // Values from Python's crypt.crypt on Debian 12.
  assert.equal(crypt('portolan-secret', '.7'), '.7//HCTyjNhpA');
  assert.equal(crypt('abc', 'Pz'), 'PzjJ3kHNtuMSA');
});

test('eval response: a named list of integer, character, logical and double with NA, byte by byte', () => {
  const [r] = assertSplitFeed(responseFrame(1 << 20), evalResponse);
  assert.equal(r.ok, true);
  assert.deepEqual(decodeSexpParam(r.body), {
    type: 'list',
    names: ['n', 's', 'b', 'd'],
    values: [
      { type: 'integer', values: [1, null] },
      { type: 'character', values: ['a', null] },
      { type: 'logical', values: [true, false, null] },
      { type: 'double', values: [2.5] },
    ],
  });
});

test('limits: a huge length, an overrunning SEXP and too many elements are ProtocolErrors', () => {
  const huge = new Uint8Array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0, 0, 0]);
  assert.throws(() => responseFrame(1 << 20)(huge), /exceeds/);
  // DT_SEXP of 8 bytes holding an XT_ARRAY_INT that claims 0xffffff bytes.
  assert.throws(() => decodeSexpParam(new Uint8Array([10, 8, 0, 0, 32, 0xff, 0xff, 0xff, 0, 0, 0, 0])), ProtocolError);
  const ints = new Uint8Array([10, 20, 0, 0, 32, 16, 0, 0, ...new Uint8Array(16)]);
  assert.throws(() => decodeSexpParam(ints, 3), /more elements than the limit/);
});

test('decoders: random bytes end in a value, a wait or a ProtocolError', () => {
  assertFuzzSafe(responseFrame(1 << 20), { seeds: [evalResponse] });
  assertFuzzSafe((buf) => ({ value: decodeSexpParam(buf), size: buf.length }), { seeds: [evalResponse.subarray(16)] });
});
