// POP3 codec: golden status lines (RFC 1939 3, RFC 2449 8 codes), multi-line bodies with byte-stuffing, split feed, fuzz.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { dotStuff } from '../smtp/codec.ts';
import { apopTimestamp, multilineFrame, parseCapa, parseScanListing, parseStat, replyFrame } from './codec.ts';

test('status lines, response codes and SASL continuations', () => {
  const got = assertSplitFeed(replyFrame, utf8('+OK Portolan lab POP3 ready. <3ab.2.6b08@vm>\r\n-ERR [AUTH] Authentication failed.\r\n+ PDEyMz4=\r\n+\r\n+OK\r\n-ERR [SYS/TEMP] busy\n'));
  assert.deepEqual(got, [
    { kind: 'status', ok: true, code: null, text: 'Portolan lab POP3 ready. <3ab.2.6b08@vm>' },
    { kind: 'status', ok: false, code: 'AUTH', text: 'Authentication failed.' },
    { kind: 'continuation', text: 'PDEyMz4=' },
    { kind: 'continuation', text: '' },
    { kind: 'status', ok: true, code: null, text: '' },
    { kind: 'status', ok: false, code: 'SYS/TEMP', text: 'busy' },
  ]);
  assert.throws(() => replyFrame(utf8('OK fine\r\n')), ProtocolError);
  assert.throws(() => replyFrame(utf8(`+OK ${'x'.repeat(9000)}`)), ProtocolError);
});

// Dovecot 2.3's CAPA before login, as captured from the lab.
const capa = utf8('CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5\r\n.\r\n');

test('CAPA body', () => {
  const [body] = assertSplitFeed(multilineFrame(), capa);
  const caps = parseCapa(body);
  assert.deepEqual(caps.SASL, ['PLAIN', 'LOGIN', 'CRAM-MD5']);
  assert.ok('STLS' in caps && 'UIDL' in caps && 'TOP' in caps);
});

test('RETR body: byte-stuffing undone, a first line "..x" is ".x", a lone ".." is "."', () => {
  const wire = utf8('..first line starts with a dot\r\n..\r\nmiddle\r\n...two\r\n.\r\n');
  const [body] = assertSplitFeed(multilineFrame(), wire);
  assert.equal(fromLatin1(body), '.first line starts with a dot\r\n.\r\nmiddle\r\n..two\r\n');
  const [empty] = assertSplitFeed(multilineFrame(), utf8('.\r\n'));
  assert.equal(empty.length, 0);
});

test('round trip: what SMTP stuffs, POP3 unstuffs', () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[.a-zé ]{0,8}$/), { maxLength: 15 }), (ls) => {
      const text = ls.map((l) => `${l}\r\n`).join('');
      const body = multilineFrame()(dotStuff(utf8(text)))!.value;
      assert.equal(Buffer.from(body).toString('utf8'), text);
    }),
  );
});

test('LIST, UIDL, STAT and the APOP timestamp', () => {
  const [list] = assertSplitFeed(multilineFrame(), utf8('1 120\r\n2 3400\r\n.\r\n'));
  assert.deepEqual(parseScanListing(list, 'LIST'), [{ number: 1, value: '120' }, { number: 2, value: '3400' }]);
  assert.throws(() => parseScanListing(utf8('x y\r\n'), 'UIDL'), ProtocolError);
  assert.deepEqual(parseStat('2 3520'), { count: 2, size: 3520 });
  assert.equal(apopTimestamp('POP3 ready <1896.697170952@dbc.mtview.ca.us>'), '<1896.697170952@dbc.mtview.ca.us>');
  assert.equal(apopTimestamp('POP3 ready'), null);
  // RFC 1939 7 example: MD5("<1896.697170952@dbc.mtview.ca.us>tanstaaf").
  assert.equal(toHex(webCrypto().md5(utf8('<1896.697170952@dbc.mtview.ca.us>tanstaaf'))), 'c4c9334bac560ecc979e58001b3e22fb');
});

test('fuzz: only ProtocolError, never a hang', () => {
  assertFuzzSafe(replyFrame, { seeds: [utf8('+OK x\r\n-ERR [AUTH] y\r\n+ abc\r\n')] });
  assertFuzzSafe(multilineFrame(), { seeds: [capa] });
});
