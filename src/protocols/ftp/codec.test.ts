// FTP control-connection codec: golden replies (RFC 959 §4.2), split feed, fuzz; PASV/EPSV/257/FEAT/time-val parsing; TYPE A line ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8 } from '../../core/bytes.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  MAX_REPLY_LINE,
  encodeCommand,
  featureParams,
  formatReply,
  fromNetworkAscii,
  offersAuthTls,
  parseEpsv,
  parseFeatures,
  parsePasv,
  parseQuotedPath,
  parseSize,
  parseTimeVal,
  replyFrame,
  toNetworkAscii,
} from './codec.ts';

// A vsftpd session as it arrives on the control connection.
const session = utf8(
  [
    '220 Portolan lab FTP server', //                 greeting, single line: code SP text
    '211-Features:', //                               multi-line start: code "-" text (RFC 959 §4.2)
    ' AUTH TLS', //                                   features, one space-indented (RFC 2389 §3.2)
    ' EPSV',
    ' REST STREAM',
    ' UTF8',
    '211 End', //                                     last line: same code, then SP
    '230-Welcome,', //                                a multi-line 230 whose middle lines look like replies
    '200 this line is text, not a reply', //           other code: part of the text
    '230-still the same reply', //                     same code with "-": still text
    '230 Login successful.',
    '229 Entering Extended Passive Mode (|||30046|)',
    '257 "/home/ftplab/dir ""quoted""" created',
    '',
  ].join('\r\n'),
);

const expected = [
  { code: 220, lines: ['Portolan lab FTP server'], text: 'Portolan lab FTP server' },
  { code: 211, lines: ['Features:', ' AUTH TLS', ' EPSV', ' REST STREAM', ' UTF8', 'End'], text: 'Features:\n AUTH TLS\n EPSV\n REST STREAM\n UTF8\nEnd' },
  {
    code: 230,
    lines: ['Welcome,', '200 this line is text, not a reply', '230-still the same reply', 'Login successful.'],
    text: 'Welcome,\n200 this line is text, not a reply\n230-still the same reply\nLogin successful.',
  },
  { code: 229, lines: ['Entering Extended Passive Mode (|||30046|)'], text: 'Entering Extended Passive Mode (|||30046|)' },
  { code: 257, lines: ['"/home/ftplab/dir ""quoted""" created'], text: '"/home/ftplab/dir ""quoted""" created' },
];

test('replies: golden session, whole, byte by byte and at random splits', () => {
  assertSplitFeed(replyFrame, session, expected);
});

test('replies: bare LF, a code with no text, UTF-8 text (RFC 2640)', () => {
  const got = new FrameDecoder(replyFrame).feed(utf8('200\n150-Opening\n150\n550 Ünïcödé ⚓ not found\r\n'));
  assert.deepEqual(
    got.map((r) => [r.code, r.text]),
    [
      [200, ''],
      [150, 'Opening\n'],
      [550, 'Ünïcödé ⚓ not found'],
    ],
  );
});

test('replies: an incomplete multi-line reply waits for its last line', () => {
  const d = new FrameDecoder(replyFrame);
  assert.deepEqual(d.feed(utf8('211-Features:\r\n EPSV\r\n211')), []);
  assert.deepEqual(d.feed(utf8(' End\r\n')).map((r) => r.code), [211]);
});

test('replies: malformed first lines and oversized replies are protocol errors', () => {
  for (const bad of ['hello\r\n', '20 short\r\n', '600 not a code\r\n', '099 low\r\n', '220/odd separator\r\n']) {
    assert.throws(() => replyFrame(utf8(bad)), ProtocolError, bad);
  }
  assert.throws(() => replyFrame(utf8(`220 ${'x'.repeat(MAX_REPLY_LINE + 10)}`)), /longer than/);
  const endless = `211-start\r\n${' line\r\n'.repeat(5000)}`;
  assert.throws(() => replyFrame(utf8(endless)), /more than 4096 lines/);
});

test('replies: fuzz never hangs and throws only ProtocolError', () => {
  assertFuzzSafe(replyFrame, { seeds: [session, utf8('211-a\r\n b\r\n211 c\r\n')] });
});

test('formatReply keeps the server text on one line', () => {
  assert.equal(formatReply(expected[0]), '220 Portolan lab FTP server');
  assert.equal(formatReply({ code: 530, lines: ['Login incorrect.'], text: 'Login incorrect.' }), '530 Login incorrect.');
  assert.equal(formatReply(expected[1]), '211 Features: / AUTH TLS / EPSV / REST STREAM / UTF8 / End');
});

test('commands: VERB SP argument CRLF in UTF-8; CR, LF and NUL refused', () => {
  assert.deepEqual(encodeCommand('RETR', 'a file ⚓.bin'), utf8('RETR a file ⚓.bin\r\n'));
  assert.deepEqual(encodeCommand('PASV'), utf8('PASV\r\n'));
  assert.deepEqual(encodeCommand('SITE CHMOD', '644 x'), utf8('SITE CHMOD 644 x\r\n'));
  for (const bad of ['a\r\nDELE b', 'a\nb', 'a\0b']) {
    assert.throws(() => encodeCommand('RETR', bad), (e: unknown) => e instanceof PortolanError && e.code === 'invalid_input');
  }
  assert.throws(() => encodeCommand('retr x'), (e: unknown) => e instanceof PortolanError && e.code === 'invalid_input');
});

test('PASV: h1,h2,h3,h4,p1,p2 with and without parentheses', () => {
  assert.deepEqual(parsePasv('Entering Passive Mode (127,0,0,1,117,48).'), { host: '127.0.0.1', port: 30000 });
  assert.deepEqual(parsePasv('Entering Passive Mode 10,255,255,21,117,100'), { host: '10.255.255.21', port: 30052 });
  assert.throws(() => parsePasv('Entering Passive Mode (127,0,0,1,117)'), ProtocolError);
  assert.throws(() => parsePasv('Entering Passive Mode (127,0,0,256,1,1)'), /above 255/);
  assert.throws(() => parsePasv('(127,0,0,1,0,0)'), /port 0/);
});

test('EPSV: (<d><d><d><port><d>) with any printable delimiter (RFC 2428 §3)', () => {
  assert.equal(parseEpsv('Entering Extended Passive Mode (|||30046|)'), 30046);
  assert.equal(parseEpsv('Entering Extended Passive Mode (!!!6446!)'), 6446);
  for (const bad of ['no parens', '(|||x|)', '(||1|30046|)', '(|||70000|)', '(|||0|)', '( 1 )', '()']) {
    assert.throws(() => parseEpsv(bad), ProtocolError, bad);
  }
});

test('257 quoted paths with doubled quotes (RFC 959 Appendix II)', () => {
  assert.equal(parseQuotedPath('"/usr/dm" created'), '/usr/dm');
  assert.equal(parseQuotedPath('"/home/ftplab/dir ""quoted""" created'), '/home/ftplab/dir "quoted"');
  assert.equal(parseQuotedPath('"/a b/ä"'), '/a b/ä');
  assert.equal(parseQuotedPath('no path here'), null);
  assert.equal(parseQuotedPath('"unterminated'), null);
});

test('FEAT: features, their parameters, AUTH TLS offered', () => {
  const features = parseFeatures(expected[1]);
  assert.deepEqual(features, ['AUTH TLS', 'EPSV', 'REST STREAM', 'UTF8']);
  assert.equal(featureParams(features, 'rest'), 'STREAM');
  assert.equal(featureParams(features, 'UTF8'), '');
  assert.equal(featureParams(features, 'MLST'), null);
  assert.equal(offersAuthTls(features), true);
  assert.equal(offersAuthTls(['AUTH SSL']), false);
  assert.equal(offersAuthTls(['AUTH TLS;SSL']), true);
  assert.deepEqual(parseFeatures({ code: 211, lines: ['No features'], text: 'No features' }), []);
});

test('time-val and SIZE (RFC 3659 §2.3, §4)', () => {
  assert.equal(parseTimeVal('20261126151005'), '2026-11-26T15:10:05Z');
  assert.equal(parseTimeVal('19980624173322.5'), '1998-06-24T17:33:22.500Z');
  for (const bad of ['2026112615100', '20261326151005', 'x0261126151005', '']) assert.equal(parseTimeVal(bad), null, bad);
  assert.equal(parseSize('20971520'), 20971520);
  assert.throws(() => parseSize('12 bytes'), ProtocolError);
  assert.throws(() => parseSize('9999999999999999'), /too large/);
});

test('TYPE A: LF to CRLF on the way out, CRLF to LF on the way in, across chunk borders', () => {
  assert.deepEqual(toNetworkAscii(utf8('one\ntwo\r\nthree')), utf8('one\r\ntwo\r\nthree'));
  const text = utf8('a\r\nb\r\n\r\nc\rd\r');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 6 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const out: number[] = [];
      let pending = false;
      let at = 0;
      for (const p of [...points, text.length]) {
        const r = fromNetworkAscii(text.subarray(at, p), pending, p === text.length);
        out.push(...r.bytes);
        pending = r.pendingCr;
        at = p;
      }
      assert.deepEqual(new Uint8Array(out), utf8('a\nb\n\nc\rd\r'));
    }),
  );
});
