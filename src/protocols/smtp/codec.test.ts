// SMTP codec: golden replies (RFC 5321 4.2.1 multi-line, RFC 3463 enhanced codes), EHLO parsing, dot-stuffing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { dotStuff, dotUnstuff, encodeReply, parseEhlo, queueIdOf, replyFrame, replyText } from './codec.ts';

// Postfix 3.7's EHLO answer on the lab's submission port before STARTTLS, as captured.
const postfixEhlo = utf8(
  [
    '250-mail.lab.portolan.test', // greeting line: the server's name
    '250-PIPELINING',
    '250-SIZE 20971520', // RFC 1870: limit in octets
    '250-VRFY',
    '250-ETRN',
    '250-STARTTLS', // RFC 3207
    '250-ENHANCEDSTATUSCODES', // RFC 2034
    '250-8BITMIME',
    '250-DSN',
    '250-SMTPUTF8',
    '250 CHUNKING', // last line: space after the code
    '',
  ].join('\r\n'),
);

test('multi-line EHLO reply: one reply, every line, same code', () => {
  const [r] = assertSplitFeed(replyFrame, postfixEhlo);
  assert.equal(r.code, 250);
  assert.equal(r.lines.length, 11);
  assert.equal(r.lines[0], 'mail.lab.portolan.test');
  const caps = parseEhlo(r);
  assert.equal(caps.size, 20971520);
  assert.equal(caps.starttls, true);
  assert.equal(caps.pipelining, true);
  assert.equal(caps.chunking, true);
  assert.equal(caps.smtpUtf8, true);
  assert.equal(caps.eightBitMime, true);
  assert.deepEqual(caps.auth, []);
});

test('AUTH mechanisms, including the old AUTH= form', () => {
  const [r] = assertSplitFeed(replyFrame, utf8('250-x.example\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250-AUTH=LOGIN XOAUTH2\r\n250 SIZE\r\n'));
  const caps = parseEhlo(r);
  assert.deepEqual(caps.auth.sort(), ['CRAM-MD5', 'LOGIN', 'PLAIN', 'XOAUTH2']);
  assert.equal(caps.size, null, 'SIZE without a number: no fixed limit (RFC 1870 4)');
});

test('enhanced status codes come off the text of each line (RFC 2034 4)', () => {
  const bytes = utf8('550-5.1.1 <nobody@lab.portolan.test>: Recipient address rejected:\r\n550 5.1.1 User unknown in virtual mailbox table\r\n');
  const [r] = assertSplitFeed(replyFrame, bytes);
  assert.equal(r.code, 550);
  assert.equal(r.enhanced, '5.1.1');
  assert.deepEqual(r.lines, ['<nobody@lab.portolan.test>: Recipient address rejected:', 'User unknown in virtual mailbox table']);
  assert.equal(replyText(r), '550 5.1.1 <nobody@lab.portolan.test>: Recipient address rejected: / User unknown in virtual mailbox table');
  assert.deepEqual(fromLatin1(encodeReply(r)), fromLatin1(bytes));
});

test('an enhanced code of another class is text, not a code', () => {
  const [r] = assertSplitFeed(replyFrame, utf8('250 5.0.0 odd\r\n'));
  assert.equal(r.enhanced, null);
  assert.deepEqual(r.lines, ['5.0.0 odd']);
});

test('several replies in one chunk, a bare code, bare LF', () => {
  const got = assertSplitFeed(replyFrame, utf8('220 mx ESMTP\r\n250 2.1.0 Ok\n354\r\n250 2.0.0 Ok: queued as 4F2A1C0\r\n'));
  assert.deepEqual(
    got.map((r) => [r.code, r.enhanced]),
    [[220, null], [250, '2.1.0'], [354, null], [250, '2.0.0']],
  );
  assert.equal(queueIdOf(got[3]), '4F2A1C0');
});

test('malformed replies are protocol errors', () => {
  for (const bad of ['hello\r\n', '250-a\r\n251 b\r\n', '2500\r\n', '650 no\r\n', '25 short\r\n']) {
    assert.throws(() => assertSplitFeed(replyFrame, utf8(bad)), ProtocolError, bad);
  }
  assert.throws(() => replyFrame(utf8(`250 ${'x'.repeat(5000)}`)), ProtocolError);
  assert.throws(() => replyFrame(utf8('250-x\r\n'.repeat(201) + '250 x\r\n')), ProtocolError);
});

test('reply frame fuzz: only ProtocolError, never a hang', () => {
  assertFuzzSafe(replyFrame, { seeds: [postfixEhlo, utf8('550-5.1.1 a\r\n550 5.1.1 b\r\n')] });
});

test('dot-stuffing: a first line starting with ".", a lone ".", bare LF and CR become CRLF', () => {
  const message = utf8('.first line starts with a dot\n.\nmiddle\r\n..two\rlast without newline');
  const wire = fromLatin1(dotStuff(message));
  assert.equal(wire, '..first line starts with a dot\r\n..\r\nmiddle\r\n...two\r\nlast without newline\r\n.\r\n');
  assert.equal(fromLatin1(dotUnstuff(dotStuff(message))), '.first line starts with a dot\r\n.\r\nmiddle\r\n..two\r\nlast without newline\r\n');
});

test('dot-stuffing round trip: any CRLF text survives', () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[.a-z ]{0,6}$/), { maxLength: 12 }), (lines) => {
      const text = lines.map((l) => `${l}\r\n`).join('');
      const wire = dotStuff(utf8(text));
      // The terminator appears once, at the end.
      assert.equal(fromLatin1(wire).indexOf('\r\n.\r\n') === -1 ? fromLatin1(wire).startsWith('.\r\n') : fromLatin1(wire).indexOf('\r\n.\r\n') === wire.length - 5, true);
      assert.equal(fromLatin1(dotUnstuff(wire)), text);
    }),
  );
});
