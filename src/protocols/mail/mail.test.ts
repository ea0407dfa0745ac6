// Mail helpers: SASL responses (RFC 4616, RFC 2195 example), the MIME builder (RFC 2045-2047, 2231) and header decoding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromLatin1, fromUtf8, toHex, utf8 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { buildMessage, decodeBase64Body, decodeParameters, decodeQuotedPrintable, decodeWords, encodeQuotedPrintable, encodeWords, headerBlock, parseAddress, parseHeaders } from './mime.ts';
import { chooseMechanism, cramMd5Response, hmacMd5, plainResponse, saslClient } from './sasl.ts';

const crypto = webCrypto();
const counter = () => {
  let n = 0;
  return (len: number) => new Uint8Array(len).fill(++n);
};

test('CRAM-MD5: the RFC 2195 section 2 example', () => {
  const challenge = utf8('<1896.697170952@postoffice.reston.mci.net>');
  assert.equal(fromLatin1(cramMd5Response(crypto, { username: 'tim', password: 'tanstaaftanstaaf' }, challenge)), 'tim b913a602c7eda7a495b4e6e7334d3890');
});

test('HMAC-MD5: RFC 2202 test case 2 and a key longer than a block', () => {
  assert.equal(toHex(hmacMd5(crypto, utf8('Jefe'), utf8('what do ya want for nothing?'))), '750c783e6ab0b503eaa86e310a5db738');
  // RFC 2202 test case 6: 80-byte key of 0xaa.
  assert.equal(toHex(hmacMd5(crypto, new Uint8Array(80).fill(0xaa), utf8('Test Using Larger Than Block-Size Key - Hash Key First'))), '6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd');
});

test('PLAIN: authzid NUL authcid NUL passwd (RFC 4616 2)', () => {
  assert.deepEqual([...plainResponse({ username: 'alice', password: 'pw' })], [0, ...utf8('alice'), 0, ...utf8('pw')]);
  assert.throws(() => plainResponse({ username: 'a\0b', password: 'x' }), InvalidInput);
});

test('LOGIN answers the prompts in order', async () => {
  const c = saslClient('LOGIN', { username: 'u', password: 'p' }, crypto);
  assert.equal(c.initial(), null);
  assert.equal(fromLatin1(await c.respond(utf8('Username:'))), 'u');
  assert.equal(fromLatin1(await c.respond(utf8('Password:'))), 'p');
});

test('SCRAM-SHA-256: client-first as the initial response; success without the server-final is refused', async () => {
  const c = saslClient('SCRAM-SHA-256', { username: 'u=1,x', password: 'pencil' }, crypto);
  assert.match(fromLatin1(c.initial()!), /^n,,n=u=3D1=2Cx,r=[A-Za-z0-9+/=]{24}$/);
  assert.throws(() => c.complete!(), /without proving/);
  await assert.rejects(async () => c.respond(utf8('r=not-our-nonce,s=c2FsdA==,i=4096')), ProtocolError);
});

test('mechanism choice: CRAM-MD5 on plain connections, PLAIN over TLS, an explicit choice must be offered', () => {
  assert.equal(chooseMechanism(['PLAIN', 'LOGIN', 'CRAM-MD5'], 'auto', false), 'CRAM-MD5');
  assert.equal(chooseMechanism(['PLAIN', 'LOGIN', 'CRAM-MD5'], 'auto', true), 'PLAIN');
  assert.equal(chooseMechanism(['PLAIN', 'CRAM-MD5', 'SCRAM-SHA-256'], 'auto', false), 'SCRAM-SHA-256');
  assert.equal(chooseMechanism(['LOGIN'], 'PLAIN', true), null);
});

test('encoded-words: UTF-8 B, at most 75 characters, no split character, decoded back', () => {
  const subject = 'Grüße aus Zürich — ça marche? 日本語のテキストも大丈夫です。'.repeat(2);
  const enc = encodeWords(subject);
  for (const w of enc.split(' ')) assert.ok(w.length <= 75, w);
  assert.equal(decodeWords(enc), subject);
  assert.equal(decodeWords('=?iso-8859-1?q?caf=E9_cr=E8me?= and =?UTF-8?B?w6k=?='), 'café crème and é');
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => assert.equal(decodeWords(encodeWords(s)), s)));
});

test('quoted-printable: lines at most 76, trailing space encoded, "=" encoded', () => {
  const qp = encodeQuotedPrintable(`${'é'.repeat(40)}\nends with space \na=b`);
  for (const l of qp.split('\r\n')) assert.ok(l.length <= 76, l);
  assert.match(qp, /=20\r\na=3Db$/);
});

test('addresses: name forms and refusals', () => {
  assert.deepEqual(parseAddress('Alice Example <alice@lab.portolan.test>', 'to'), { name: 'Alice Example', address: 'alice@lab.portolan.test' });
  assert.deepEqual(parseAddress('"Doe, John" <j@x.example>', 'to'), { name: 'Doe, John', address: 'j@x.example' });
  assert.deepEqual(parseAddress('bob@x.example', 'to'), { address: 'bob@x.example' });
  for (const bad of ['no-at-sign', 'a@b\r\nBcc: x@y', 'a b@c.example', '<>']) assert.throws(() => parseAddress(bad, 'to'), InvalidInput, bad);
});

test('builder: text + HTML + attachment, 7-bit, CRLF, headers decoded back', () => {
  const m = buildMessage(
    {
      from: 'Zoë Sender <alice@lab.portolan.test>',
      to: ['Bob <bob@lab.portolan.test>'],
      cc: ['"Doe, John" <dave@lab.portolan.test>'],
      subject: 'Prüfung ✓',
      text: '.starts with a dot\nsecond line\n.\n',
      html: '<p>Grüße</p>',
      attachments: [{ filename: 'résumé.bin', contentBase64: 'AAEC/w==' }],
      date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
      messageId: 'fixed@lab.portolan.test',
    },
    counter(),
  );
  const text = fromLatin1(m.bytes);
  assert.ok(!/[^\x00-\x7f]/.test(text), 'built message is 7-bit');
  assert.ok(!/[^\r]\n/.test(text), 'every line ends in CRLF');
  assert.ok(text.startsWith('Date: Fri, 02 Jan 2026 03:04:05 +0000\r\nFrom: =?UTF-8?B?'));
  assert.match(text, /\r\nMessage-ID: <fixed@lab.portolan.test>\r\n/);
  assert.match(text, /Content-Type: multipart\/mixed;\r\n boundary="=_portolan_/);
  assert.match(text, /Content-Type: multipart\/alternative;/);
  assert.match(text, /\r\n\r\n\.starts with a dot\r\nsecond line\r\n\.\r\n/, 'the 7-bit text part keeps its dot lines (DATA stuffs them)');
  assert.match(text, /filename\*=utf-8''r%C3%A9sum%C3%A9\.bin/);
  assert.match(text, /\r\n\r\nAAEC\/w==\r\n/);
  const headers = parseHeaders(headerBlock(m.bytes));
  const get = (n: string) => headers.find((h) => h.name.toLowerCase() === n)?.value;
  assert.equal(get('subject'), 'Prüfung ✓');
  assert.equal(get('from'), 'Zoë Sender <alice@lab.portolan.test>');
  assert.equal(get('cc'), '"Doe, John" <dave@lab.portolan.test>');
  assert.deepEqual(m.headerRecipients, ['bob@lab.portolan.test', 'dave@lab.portolan.test']);
  assert.equal(fromUtf8(m.bytes).endsWith('--\r\n'), true);
});

test('builder: refuses header injection and a bad attachment', () => {
  assert.throws(() => buildMessage({ from: 'a@b.example', subject: 'x\r\nBcc: y@z' }, counter()), InvalidInput);
  assert.throws(() => buildMessage({ from: 'a@b.example', headers: [{ name: 'Subject', value: 'x' }] }, counter()), InvalidInput);
  assert.throws(() => buildMessage({ from: 'a@b.example', attachments: [{ filename: 'x' }] }, counter()), InvalidInput);
});

test('RFC 2231 parameters: charset, percent-encoding and continuations', () => {
  assert.deepEqual(decodeParameters([['filename*', "utf-8''r%C3%A9sum%C3%A9.bin"], ['Name', 'plain']]), { filename: 'résumé.bin', name: 'plain' });
  assert.deepEqual(decodeParameters([['title*1*', '%E9t%E9'], ['title*0*', "iso-8859-1'fr'l'"]]), { title: "l'été" });
});

test('quoted-printable decoding (RFC 2045 6.7): round trip with the encoder, soft breaks, trailing whitespace, malformed and cut-off "="', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300, unit: 'grapheme' }), (s) => {
      const text = s.replace(/\r?\n|\r/g, '\r\n');
      assert.equal(fromUtf8(decodeQuotedPrintable(utf8(encodeQuotedPrintable(text)))), text);
    }),
  );
  assert.equal(fromLatin1(decodeQuotedPrintable(utf8('a=3Db =3d c=\r\nd  \t\r\ne=\nf\n'))), 'a=b = cd\r\nef\n');
  assert.equal(fromLatin1(decodeQuotedPrintable(utf8('100% =ZZ sure'))), '100% =ZZ sure');
  assert.equal(fromLatin1(decodeQuotedPrintable(utf8('cut=C'))), 'cut');
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => assert.ok(decodeQuotedPrintable(b).length <= b.length)));
});

test('base64 body decoding (RFC 2045 6.8): line breaks and stray bytes ignored, stops at "=", a cut-off quantum dropped', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      const lines = Buffer.from(b).toString('base64').replace(/(.{76})/g, '$1\r\n');
      assert.deepEqual(decodeBase64Body(utf8(lines)), new Uint8Array(b));
    }),
  );
  assert.equal(fromLatin1(decodeBase64Body(utf8('aGVs\r\n bG8*!=IGlnbm9yZWQ='))), 'hello');
  assert.equal(fromLatin1(decodeBase64Body(utf8('aGVsbG8gd'))), 'hello ');
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => assert.ok(decodeBase64Body(b).length <= (b.length * 3) / 4)));
});
