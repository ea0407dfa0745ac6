// The message view's plan and decoding: which parts are shown, listed and fetched for cid:, text parts decoded and capped.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../core/bytes.ts';
import { assertSplitFeed } from '../../../test/codec.ts';
import { fetchItems, parseBodyStructure, responseFrame } from './codec.ts';
import { decodeTextPart, encodedCap, leaves, planMessage } from './message.ts';

const tree = () => {
  const bs =
    '((("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 40 2 NIL NIL NIL NIL)' +
    '(("text" "html" ("charset" "utf-8") NIL NIL "base64" 120 2 NIL NIL NIL NIL)("image" "png" ("name" "logo.png") "<logo@lab>" NIL "base64" 900 NIL ("inline" NIL) NIL NIL) "related" ("boundary" "r") NIL NIL NIL) "alternative" ("boundary" "a") NIL NIL NIL)' +
    '("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 10 1 NIL ("attachment" ("filename" "notes.txt")) NIL NIL)' +
    '("application" "pdf" ("name" "=?utf-8?q?R=C3=A9sum=C3=A9.pdf?=") NIL NIL "base64" 5000 NIL NIL NIL NIL)' +
    '("message" "rfc822" NIL NIL NIL "7bit" 300 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "7bit" 5 1 NIL NIL NIL NIL) 9 NIL NIL NIL NIL) "mixed" ("boundary" "m") NIL NIL NIL)';
  const [r] = assertSplitFeed(responseFrame, utf8(`* 1 FETCH (BODYSTRUCTURE ${bs})\r\n`)) as any[];
  return parseBodyStructure(fetchItems(r.values).get('BODYSTRUCTURE')!);
};

test('plan: texts shown, attachments (a text/plain attachment too) listed, a cid: image fetched, message/rfc822 one leaf', () => {
  const t = tree();
  assert.deepEqual(leaves(t).map((p) => p.section), ['1.1', '1.2.1', '1.2.2', '2', '3', '4']);
  const plan = planMessage(t);
  assert.deepEqual(plan.texts.map((p) => [p.section, p.subtype]), [['1.1', 'plain'], ['1.2.1', 'html']]);
  assert.deepEqual(plan.inline.map((p) => p.section), ['1.2.2']);
  assert.deepEqual(
    plan.attachments.map((a) => [a.section, a.type, a.disposition, a.filename, a.contentId]),
    [
      ['1.2.2', 'image/png', 'inline', 'logo.png', 'logo@lab'],
      ['2', 'text/plain', 'attachment', 'notes.txt', null],
      ['3', 'application/pdf', null, 'Résumé.pdf', null],
      ['4', 'message/rfc822', null, null, null],
    ],
  );
});

test('text parts: quoted-printable in ISO-8859-1, base64 UTF-8, each undone to text', () => {
  const [plainPart, html] = planMessage(tree()).texts;
  const plain = decodeTextPart(plainPart, utf8('Gr=FC=DFe,   \r\nsoft=\r\nbreak =3D done\r\n'), false, 1024);
  assert.deepEqual([plain.text, plain.charset, plain.encoding, plain.truncated], ['Grüße,\r\nsoftbreak = done\r\n', 'iso-8859-1', 'quoted-printable', false]);
  const b64 = Buffer.from('<p>Grüße 👋</p>').toString('base64').replace(/(.{8})/g, '$1\r\n');
  assert.equal(decodeTextPart(html, utf8(b64), false, 1024).text, '<p>Grüße 👋</p>');
});

test('text parts are capped in decoded bytes, never splitting a character into a replacement mark', () => {
  const [, html] = planMessage(tree()).texts;
  const text = 'é'.repeat(600);
  const got = decodeTextPart(html, utf8(Buffer.from(text).toString('base64')), false, 1001);
  assert.equal(got.truncated, true);
  assert.equal(got.text, 'é'.repeat(500));
  // The encoded bytes fetched for a cap always hold at least that many decoded bytes.
  for (const cap of [1024, 1001, 65536]) {
    const encoded = Buffer.from('x'.repeat(cap)).toString('base64').replace(/(.{76})/g, '$1\r\n');
    assert.ok(encodedCap('base64', cap) >= encoded.length, `base64 ${cap}`);
  }
});

test('an unknown charset falls back to UTF-8 and says so', () => {
  const part = { ...planMessage(tree()).texts[0], params: { charset: 'x-nonsense' }, encoding: '8bit' };
  const got = decodeTextPart(part, utf8('plain ü'), false, 1024);
  assert.deepEqual([got.text, got.charset], ['plain ü', 'utf-8']);
});
