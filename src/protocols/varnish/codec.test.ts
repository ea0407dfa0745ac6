import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { authInput, challengeOf, encodeCommand, encodeResponse, parseBackendList, parseVclList, quoteWord, responseFrame } from './codec.ts';

// As varnishd 7.1 sends them: the greeting with its challenge, then a ping answer.
const GREETING = utf8('107 59      \nfrqzcrskdkrjqxmtxhmynsmkwptlrhel\n\nAuthentication required.\n\n');
const PONG = utf8('200 19      \nPONG 1796420299 1.0\n');

test('responses: header, body of the announced length, newline; whole, byte by byte, at random splits', () => {
  const got = assertSplitFeed(responseFrame(), utf8(fromLatin1(GREETING) + fromLatin1(PONG)));
  assert.equal(got.length, 2);
  assert.equal(got[0].status, 107);
  assert.equal(got[0].body.length, 59);
  assert.equal(fromLatin1(got[1].body), 'PONG 1796420299 1.0');
  assert.deepEqual(encodeResponse(got[1]), PONG);
  assert.deepEqual(encodeResponse({ status: 200, body: new Uint8Array(0) }), utf8('200 0       \n\n'));
});

test('the challenge answer: SHA-256 over challenge, newline, secret, challenge, newline', () => {
  const [r] = assertSplitFeed(responseFrame(), GREETING);
  const challenge = challengeOf(r);
  assert.equal(fromLatin1(challenge), 'frqzcrskdkrjqxmtxhmynsmkwptlrhel');
  const secret = utf8('portolan-varnish-secret\n');
  const expected = createHash('sha256').update('frqzcrskdkrjqxmtxhmynsmkwptlrhel\nportolan-varnish-secret\nfrqzcrskdkrjqxmtxhmynsmkwptlrhel\n').digest();
  assert.deepEqual(createHash('sha256').update(authInput(challenge, secret)).digest(), expected);
  assert.throws(() => challengeOf({ status: 107, body: utf8('short\n') }), ProtocolError);
});

test('commands: words quoted as the CLI parser reads them', () => {
  assert.equal(quoteWord('vcl.list'), 'vcl.list');
  assert.equal(quoteWord('a b'), '"a b"');
  assert.equal(quoteWord('say "hi"\n'), '"say \\"hi\\"\\n"');
  assert.equal(quoteWord(''), '""');
  assert.equal(fromLatin1(encodeCommand(['ban', 'req.url', '~', '^/news'])), 'ban req.url ~ ^/news\n');
});

test('plain listings: backend.list and vcl.list columns', () => {
  const b = parseBackendList('Backend name   Admin      Probe    Health     Last change\nboot.default   healthy    0/0      healthy    Fri, 04 Dec 2026 21:38:13 GMT\n\n');
  assert.deepEqual(b, [{ name: 'boot.default', admin: 'healthy', probe: '0/0', health: 'healthy', lastChange: 'Fri, 04 Dec 2026 21:38:13 GMT' }]);
  assert.deepEqual(parseVclList('active   auto    warm         0    boot\n\n'), [{ status: 'active', state: 'auto', temperature: 'warm', busy: 0, name: 'boot' }]);
});

test('not a CLI, oversized bodies and a missing newline are ProtocolErrors; the decoder survives fuzz', () => {
  assert.throws(() => responseFrame()(utf8('HTTP/1.1 200 OK\r\n')), ProtocolError);
  assert.throws(() => responseFrame(100)(utf8('200 99999999\n')), /exceeds/);
  assert.throws(() => responseFrame()(utf8('200 2       \nabX')), /newline/);
  assertFuzzSafe(responseFrame(1 << 16), { seeds: [GREETING, PONG] });
});
