import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter, concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { CPING, MAX_CHUNK, containerFrame, containerPacket, decodeForwardRequest, encodeBodyChunk, encodeForwardRequest, encodeSendHeaders } from './codec.ts';

// What Tomcat 10.1 answers: GET_BODY_CHUNK for 8186 bytes, SEND_HEADERS with coded names, a body chunk, END_RESPONSE.
const GET_BODY = new Uint8Array([0x41, 0x42, 0, 3, 6, 0x1f, 0xfa]);
const HEADERS = encodeSendHeaders(200, 'OK', [
  ['Content-Type', 'application/json'],
  ['X-Portolan', 'ajp-echo'],
]);
const CHUNK = containerPacket(concat([new Uint8Array([3, 0, 5]), utf8('hello'), new Uint8Array([0])]));
const END = containerPacket(new Uint8Array([5, 1]));

test('CPING is 0x1234, length 1, type 10; CPONG decodes', () => {
  assert.deepEqual([...CPING], [0x12, 0x34, 0, 1, 10]);
  assert.deepEqual(containerFrame()(utf8('AB\x00\x01\x09'))!.value, { type: 'cpong' });
});

test('container messages: whole, byte by byte and at random splits', () => {
  const got = assertSplitFeed(containerFrame(), concat([GET_BODY, HEADERS, CHUNK, END]));
  assert.deepEqual(got[0], { type: 'getBody', length: 8186 });
  assert.deepEqual(got[1], { type: 'headers', status: 200, reason: 'OK', headers: [['content-type', 'application/json'], ['x-portolan', 'ajp-echo']] });
  assert.equal(got[2].type === 'body' && fromLatin1(got[2].data), 'hello');
  assert.deepEqual(got[3], { type: 'end', reuse: true });
  // 0xA001 is Content-Type in a response.
  assert.deepEqual([...HEADERS.subarray(4, 16)], [4, 0, 200, 0, 2, 0x4f, 0x4b, 0, 0, 2, 0xa0, 0x01]);
});

test('a Forward Request: method code, strings with NUL, coded headers, attributes, secret, terminator', () => {
  const p = encodeForwardRequest({
    method: 'POST',
    protocol: 'HTTP/1.1',
    uri: '/echo/x',
    remoteAddr: '127.0.0.1',
    remoteHost: null,
    serverName: 'localhost',
    serverPort: 80,
    isSsl: false,
    headers: [
      ['Host', 'localhost'],
      ['X-Test', 'yes'],
    ],
    queryString: 'a=1',
    remoteUser: 'alice',
    secret: 's3',
    attributes: [['portolan.attr', 'value']],
  });
  assert.deepEqual([...p.subarray(0, 2)], [0x12, 0x34]);
  assert.equal((p[2] << 8) | p[3], p.length - 4);
  assert.deepEqual([...p.subarray(4, 6)], [2, 4]);
  const back = decodeForwardRequest(p);
  assert.deepEqual(back.headers, [
    ['host', 'localhost'],
    ['X-Test', 'yes'],
  ]);
  assert.equal(back.remoteHost, null);
  assert.deepEqual([back.queryString, back.remoteUser, back.secret, back.method], ['a=1', 'alice', 's3', 'POST']);
  assert.deepEqual(back.attributes, [['portolan.attr', 'value']]);
  assert.deepEqual(back.codes, [3, 5, 10, 12, 0xff]);
  // A method outside the table travels as SC_M_JK_STORED with the stored_method attribute.
  const odd = encodeForwardRequest({ method: 'PURGE', protocol: 'HTTP/1.1', uri: '/', remoteAddr: '', remoteHost: null, serverName: 'x', serverPort: 80, isSsl: false, headers: [], attributes: [] });
  assert.equal(odd[5], 0xff);
  assert.equal(decodeForwardRequest(odd).method, 'PURGE');
});

test('body chunks: a 16-bit length before the data, an empty packet ends the body', () => {
  assert.deepEqual([...encodeBodyChunk(utf8('ab'))], [0x12, 0x34, 0, 4, 0, 2, 0x61, 0x62]);
  assert.deepEqual([...encodeBodyChunk(new Uint8Array(0))], [0x12, 0x34, 0, 0]);
  assert.throws(() => encodeBodyChunk(new Uint8Array(MAX_CHUNK + 1)), ProtocolError);
});

test('not AJP, an unknown type, a string without NUL are ProtocolErrors; the decoder survives fuzz', () => {
  assert.throws(() => containerFrame()(utf8('HTTP/1.1 200')), ProtocolError);
  assert.throws(() => containerFrame()(utf8('AB\x00\x01\x63')), /unknown AJP message type/);
  const noNul = new ByteWriter().u8(0x41).u8(0x42).u16(9).u8(4).u16(200).u16(2).text('OK').u8(1).u16(0).finish();
  assert.throws(() => containerFrame()(noNul), ProtocolError);
  assertFuzzSafe(containerFrame(), { seeds: [GET_BODY, HEADERS, CHUNK, END] });
});
