import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { Role, Type, decodeEndRequest, decodePairs, encodeBeginRequest, encodeEndRequest, encodePairs, encodeRecord, encodeStream, recordFrame, splitCgiOutput } from './codec.ts';

// A response as php-fpm sends it: STDOUT with CGI headers and body, an empty STDOUT, END_REQUEST.
const STDOUT = utf8('Content-type: application/json\r\nX-Portolan: php-echo\r\n\r\n{"ok":true}');
const RESPONSE = concat([encodeRecord(Type.STDOUT, 1, STDOUT), encodeRecord(Type.STDERR, 1, utf8('PHP message: hi')), encodeRecord(Type.STDOUT, 1), encodeRecord(Type.END_REQUEST, 1, encodeEndRequest({ appStatus: 0, protocolStatus: 0 }))]);

test('records: 8-byte header, content, padding to 8; whole, byte by byte, at random splits', () => {
  const begin = encodeBeginRequest(1, Role.RESPONDER, false);
  assert.deepEqual([...begin], [1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const rec = encodeRecord(Type.STDIN, 7, utf8('abc'));
  assert.deepEqual([...rec.subarray(0, 8)], [1, 5, 0, 7, 0, 3, 5, 0]);
  assert.equal(rec.length, 16);
  const got = assertSplitFeed(recordFrame, RESPONSE);
  assert.deepEqual(
    got.map((r) => [r.type, r.requestId, r.content.length]),
    [
      [Type.STDOUT, 1, STDOUT.length],
      [Type.STDERR, 1, 15],
      [Type.STDOUT, 1, 0],
      [Type.END_REQUEST, 1, 8],
    ],
  );
  assert.deepEqual(decodeEndRequest(got[3].content), { appStatus: 0, protocolStatus: 0 });
});

test('streams are cut at 65535 bytes and end with an empty record', () => {
  const parts = encodeStream(Type.STDIN, 1, new Uint8Array(70_000));
  assert.deepEqual(parts.map((p) => (p[4] << 8) | p[5]), [65535, 4465, 0]);
});

test('name-value pairs: one-byte lengths below 128, four bytes with the high bit above', () => {
  const long = 'v'.repeat(200);
  const enc = encodePairs([
    ['SCRIPT_FILENAME', '/x.php'],
    ['LONG', long],
  ]);
  assert.deepEqual([...enc.subarray(0, 2)], [15, 6]);
  assert.deepEqual([...enc.subarray(23, 28)], [4, 0x80, 0, 0, 200]);
  assert.deepEqual(decodePairs(enc), [
    ['SCRIPT_FILENAME', '/x.php'],
    ['LONG', long],
  ]);
  assert.throws(() => decodePairs(new Uint8Array([5, 1, 0x41])), ProtocolError);
  assert.throws(() => decodePairs(new Uint8Array([0x80, 0, 0, 0xff, 0])), ProtocolError);
});

test('CGI output: headers then body, Status and Location set the status', () => {
  const r = splitCgiOutput(STDOUT);
  assert.deepEqual([r.status, r.reason, r.headers[0], fromLatin1(r.body)], [200, 'OK', ['content-type', 'application/json'], '{"ok":true}']);
  const notFound = splitCgiOutput(utf8('Status: 404 Not Found\nContent-type: text/html\n\nFile not found.\n'));
  assert.deepEqual([notFound.status, notFound.reason, fromLatin1(notFound.body)], [404, 'Not Found', 'File not found.\n']);
  assert.equal(splitCgiOutput(utf8('Location: /elsewhere\r\n\r\n')).status, 302);
  assert.throws(() => splitCgiOutput(utf8('no empty line')), ProtocolError);
  assert.throws(() => splitCgiOutput(utf8('Status: teapot\n\n')), ProtocolError);
});

test('a wrong version byte is a ProtocolError; the decoder survives fuzz', () => {
  assert.throws(() => recordFrame(utf8('HTTP/1.1 400')), ProtocolError);
  assertFuzzSafe(recordFrame, { seeds: [RESPONSE] });
});
