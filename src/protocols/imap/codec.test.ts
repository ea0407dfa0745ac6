// IMAP codec: golden responses (RFC 9051 7, literals 4.3), split feed, fuzz, ENVELOPE/BODYSTRUCTURE, modified UTF-7, command encoding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { asString, astring, atoms, decodeMailboxName, describeCommand, encodeMailboxName, fetchItems, parseBodyStructure, parseEnvelope, responseFrame, type ImapResponse } from './codec.ts';
import { searchKeys } from './commands.ts';

const feed = (text: string | Uint8Array) => assertSplitFeed(responseFrame, typeof text === 'string' ? utf8(text) : text);

// Dovecot 2.3's greeting and a SELECT, as captured from the lab.
const selectTranscript = [
  '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN AUTH=CRAM-MD5] Portolan lab IMAP ready.',
  '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
  '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.',
  '* 3 EXISTS',
  '* 0 RECENT',
  '* OK [UIDVALIDITY 1764170000] UIDs valid',
  '* OK [UIDNEXT 4] Predicted next UID',
  'P002 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).',
  '',
].join('\r\n');

test('status and data responses of a SELECT, with response codes', () => {
  const got = feed(selectTranscript);
  assert.equal(got.length, 8);
  const [greeting, flags, perm, exists, , uidv, , done] = got as any[];
  assert.equal(greeting.kind, 'status');
  assert.equal(greeting.code.name, 'CAPABILITY');
  assert.ok(greeting.code.text.includes('AUTH=CRAM-MD5'));
  assert.equal(greeting.text, 'Portolan lab IMAP ready.');
  assert.deepEqual(atoms(flags.values[0]), ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft']);
  assert.deepEqual(atoms(perm.code.values[0]).slice(-1), ['\\*']);
  assert.deepEqual([exists.number, exists.name], [3, 'EXISTS']);
  assert.equal(asString(uidv.code.values[0]), '1764170000');
  assert.deepEqual([done.tag, done.status, done.code.name, done.text], ['P002', 'OK', 'READ-WRITE', 'Select completed (0.001 + 0.000 secs).']);
});

test('FETCH with a literal body that contains CRLF, ")" and "{5}": one response', () => {
  const body = 'Subject: x\r\n\r\nline with ) and {5}\r\n.\r\n';
  const bytes = `* 2 FETCH (UID 7 FLAGS (\\Seen) BODY[] {${utf8(body).length}}\r\n${body} RFC822.SIZE 42)\r\nP003 OK done\r\n`;
  const [fetch, ok] = feed(bytes) as any[];
  assert.equal(ok.status, 'OK');
  const items = fetchItems(fetch.values);
  assert.equal(asString(items.get('UID')), '7');
  assert.deepEqual(atoms(items.get('FLAGS')), ['\\Seen']);
  const b = items.get('BODY[]') as any;
  assert.equal(b.literal, true);
  assert.equal(fromLatin1(b.value), body);
  assert.equal(asString(items.get('RFC822.SIZE')), '42');
});

test('section specs with spaces and lists stay one atom; partial origin kept', () => {
  const [r] = feed('* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] {10}\r\nSubject:\r\n BODY[1]<0> "ab")\r\n') as any[];
  const items = fetchItems(r.values);
  assert.deepEqual([...items.keys()], ['BODY[HEADER.FIELDS (SUBJECT FROM)]', 'BODY[1]<0>']);
});

test('continuation, BYE, LIST with a quoted delimiter and NIL, SEARCH, ID', () => {
  const got = feed('+ idling\r\n+ \r\n* LIST (\\HasNoChildren \\Trash) "/" Trash\r\n* LIST (\\Noselect) NIL ""\r\n* SEARCH 2 84 882\r\n* SEARCH\r\n* ID ("name" "Dovecot")\r\n* BYE Logging out\r\n') as ImapResponse[];
  assert.deepEqual(got.map((r) => r.kind), ['continuation', 'continuation', 'data', 'data', 'data', 'data', 'data', 'status']);
  const list = got[2] as any;
  assert.deepEqual([atoms(list.values[0]), asString(list.values[1]), asString(list.values[2])], [['\\HasNoChildren', '\\Trash'], '/', 'Trash']);
  assert.equal((got[3] as any).values[1].type, 'nil');
  assert.deepEqual((got[4] as any).values.map((v: any) => v.value), ['2', '84', '882']);
  assert.deepEqual((got[5] as any).values, []);
});

test('status text is free text: a "{5}" at its end is not a literal', () => {
  const got = feed('* OK weird text {5}\r\nP001 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n') as any[];
  assert.equal(got.length, 2);
  assert.equal(got[0].text, 'weird text {5}');
  assert.equal(got[1].code.name, 'AUTHENTICATIONFAILED');
});

test('malformed responses are protocol errors', () => {
  for (const bad of ['\r\n', 'P001\r\n', '* 1 FETCH (UID 1\r\n', '* 1 FETCH ("open\r\n', 'P001 FETCH x\r\n', '* 1 FETCH (BODY[] {3}\r\nab)\r\n']) {
    assert.throws(() => feed(bad), ProtocolError, JSON.stringify(bad));
  }
  assert.throws(() => responseFrame(utf8('* 1 FETCH (BODY[] {99999999999}\r\n')), ProtocolError);
  assert.throws(() => responseFrame(utf8(`* 1 X ${'('.repeat(60)}${')'.repeat(60)}\r\n`)), ProtocolError);
});

test('response frame fuzz: only ProtocolError, never a hang', () => {
  assertFuzzSafe(responseFrame, { seeds: [utf8(selectTranscript), utf8('* 2 FETCH (UID 7 BODY[] {5}\r\nhello ENVELOPE (NIL "s" ((NIL NIL "a" "b")) NIL NIL NIL NIL NIL NIL NIL))\r\n')] });
});

test('ENVELOPE: encoded-word subject and names decoded, group syntax skipped', () => {
  const [r] = feed(
    '* 1 FETCH (ENVELOPE ("Fri, 02 Jan 2026 03:04:05 +0000" "=?UTF-8?B?R3LDvMOfZQ==?=" (("=?UTF-8?B?Wm/Dqw==?=" NIL "alice" "lab.portolan.test")) NIL NIL ((NIL NIL "team" NIL)("Bob" NIL "bob" "lab.portolan.test")(NIL NIL NIL NIL)) NIL NIL NIL "<id@lab>"))\r\n',
  ) as any[];
  const env = parseEnvelope(fetchItems(r.values).get('ENVELOPE')!);
  assert.equal(env.subject, 'Grüße');
  assert.deepEqual(env.from, [{ name: 'Zoë', mailbox: 'alice', host: 'lab.portolan.test', address: 'alice@lab.portolan.test' }]);
  assert.deepEqual(env.to.map((a) => a.address), ['bob@lab.portolan.test']);
  assert.equal(env.messageId, '<id@lab>');
});

test('BODYSTRUCTURE: multipart/mixed with alternative and an attachment, section numbers', () => {
  const bs =
    '(((("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 58 3 NIL NIL NIL NIL)("text" "html" ("charset" "utf-8") NIL NIL "quoted-printable" 30 1 NIL NIL NIL NIL) "alternative" ("boundary" "=_b1") NIL NIL NIL)' +
    '("application" "octet-stream" ("name" "x.bin") NIL NIL "base64" 12 NIL ("attachment" ("filename*" "utf-8\'\'d%C3%A9.bin")) NIL NIL) "mixed" ("boundary" "=_b2") NIL NIL NIL))';
  const [r] = feed(`* 1 FETCH (BODYSTRUCTURE ${bs.slice(1, -1)})\r\n`) as any[];
  const tree = parseBodyStructure(fetchItems(r.values).get('BODYSTRUCTURE')!);
  assert.equal(`${tree.type}/${tree.subtype}`, 'multipart/mixed');
  const [alt, att] = tree.parts!;
  assert.deepEqual(alt.parts!.map((p) => [p.section, `${p.type}/${p.subtype}`, p.encoding, p.lines]), [['1.1', 'text/plain', '7bit', 3], ['1.2', 'text/html', 'quoted-printable', 1]]);
  assert.equal(att.section, '2');
  assert.equal(att.disposition?.type, 'attachment');
  assert.equal(att.size, 12);
  assert.equal(att.disposition?.params.filename, 'dé.bin', 'RFC 2231 parameter decoded');
});

test('modified UTF-7 mailbox names (RFC 3501 5.1.3 example)', () => {
  assert.equal(encodeMailboxName('~peter/mail/台北/日本語'), '~peter/mail/&U,BTFw-/&ZeVnLIqe-');
  assert.equal(decodeMailboxName('~peter/mail/&U,BTFw-/&ZeVnLIqe-'), '~peter/mail/台北/日本語');
  assert.equal(encodeMailboxName('R&D'), 'R&-D');
  fc.assert(fc.property(fc.string({ maxLength: 30 }), (s) => assert.equal(decodeMailboxName(encodeMailboxName(s)), s)));
});

test('astring: atom, quoted or literal; search keys with CHARSET for non-ASCII', () => {
  assert.deepEqual(astring('INBOX'), ['INBOX']);
  assert.deepEqual(astring('a b"c'), ['"a b\\"c"']);
  assert.deepEqual(astring('NIL'), ['"NIL"']);
  assert.ok(astring('Grüße')[0] instanceof Uint8Array);
  const k = searchKeys({ from: 'alice', subject: 'Grüße', seen: false, since: '2026-01-02' });
  assert.equal(k.utf8, true);
  assert.equal(describeCommand(k.parts), 'FROM "alice" SUBJECT {7} SINCE 2-Jan-2026 UNSEEN');
  assert.equal(describeCommand(searchKeys({}).parts), 'ALL');
});
