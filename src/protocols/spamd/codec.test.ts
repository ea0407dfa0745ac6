import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { headFrame, parseReport, parseSpamHeader, request } from './codec.ts';

test('requests: the method line, headers, Content-length and the message', () => {
  assert.equal(fromLatin1(request('CHECK', utf8('a\r\n'), { User: 'bob' })), 'CHECK SPAMC/1.5\r\nUser: bob\r\nContent-length: 3\r\n\r\na\r\n');
  assert.equal(fromLatin1(request('PING', null)), 'PING SPAMC/1.5\r\n\r\n');
  assert.throws(() => request('TELL', null, { Set: 'local\r\nX: y' }), ProtocolError);
});

test('response heads, whole, byte by byte and split; PONG alone on its line', () => {
  const bytes = utf8('SPAMD/1.1 0 EX_OK\r\nContent-length: 5\r\nSpam: True ; 1003.3 / 5.0\r\n\r\n');
  const [h] = assertSplitFeed(headFrame(), bytes);
  assert.deepEqual([h.version, h.code, h.message, h.headers.get('spam'), h.headers.get('content-length')], ['1.1', 0, 'EX_OK', 'True ; 1003.3 / 5.0', '5']);
  const pong = headFrame()(utf8('SPAMD/1.5 0 PONG\r\n'))!;
  assert.equal(pong.value.message, 'PONG');
  assert.throws(() => headFrame()(utf8('HTTP/1.1 200 OK\r\n')), ProtocolError);
  assertFuzzSafe(headFrame(), { seeds: [bytes] });
});

test('the Spam header and REPORT rule lines', () => {
  assert.deepEqual(parseSpamHeader('True ; 1003.3 / 5.0'), { spam: true, score: 1003.3, threshold: 5 });
  assert.deepEqual(parseSpamHeader('False ; -0.1 / 5.0'), { spam: false, score: -0.1, threshold: 5 });
  assert.throws(() => parseSpamHeader('maybe'), ProtocolError);
  const rules = parseReport(' pts rule name              description\n---- ---------------------- --------------------------------------------------\n1000 GTUBE                  BODY: Generic Test for Unsolicited Bulk Email\n 0.6 MISSING_MID            Missing Message-Id: header\n-0.0 NO_RELAYS              Informational: message was not relayed via\n                            SMTP\n');
  assert.deepEqual(rules.map((r) => [r.points, r.rule]), [[1000, 'GTUBE'], [0.6, 'MISSING_MID'], [-0, 'NO_RELAYS']]);
  assert.equal(rules[2].description, 'Informational: message was not relayed via SMTP');
});
