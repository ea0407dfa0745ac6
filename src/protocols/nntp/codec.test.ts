import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { dotStuff } from '../smtp/codec.ts';
import { blockLines, multilineFrame, nntpDate, parseActive, parseArticleStatus, parseCapabilities, parseGroup, parseNewsgroups, parseOverview, range, statusFrame, token } from './codec.ts';

// What INN 2.7.1's nnrpd sends, recorded from the lab server.
const greeting = utf8('200 news.portolan.test InterNetNews NNRP server INN 2.7.1 ready (posting ok)\r\n');
const caps = utf8('VERSION 2\r\nIMPLEMENTATION INN 2.7.1\r\nAUTHINFO USER SASL\r\nLIST ACTIVE ACTIVE.TIMES NEWSGROUPS OVERVIEW.FMT\r\nOVER\r\nREADER\r\nSASL PLAIN LOGIN\r\nSTARTTLS\r\n.\r\n');
const over = utf8('1\tTide table\tPilot <pilot@portolan.test>\tSat, 5 Dec 2026 04:17:45 -0000 (UTC)\t<a$1@x>\t\t528\t2\tXref: news.portolan.test harbour.general:1\r\n2\tRe: Tide table\tAnn <a@b>\tSat, 5 Dec 2026 04:18:00 -0000\t<b@x>\t<a$1@x>\t600\t3\r\n.\r\n');

test('status lines, whole, byte by byte and split', () => {
  const [s] = assertSplitFeed(statusFrame, greeting);
  assert.equal(s.code, 200);
  assert.equal(s.text, 'news.portolan.test InterNetNews NNRP server INN 2.7.1 ready (posting ok)');
  assert.deepEqual(statusFrame(utf8('281\r\n')), { value: { code: 281, text: '' }, size: 5 });
  assert.equal(statusFrame(utf8('211 3 1 3 harbour.gen')), undefined);
});

test('CAPABILITIES block: labels upper-cased, arguments kept', () => {
  const [body] = assertSplitFeed(multilineFrame(), caps);
  const c = parseCapabilities(body);
  assert.deepEqual(c.LIST, ['ACTIVE', 'ACTIVE.TIMES', 'NEWSGROUPS', 'OVERVIEW.FMT']);
  assert.deepEqual(c.SASL, ['PLAIN', 'LOGIN']);
  assert.deepEqual(c.STARTTLS, []);
  assert.deepEqual(c.IMPLEMENTATION, ['INN', '2.7.1']);
});

test('dot-stuffing: an article with dot lines goes out stuffed and reads back unstuffed', () => {
  const article = utf8('Subject: x\r\n\r\n.A dot line\r\n..two\r\n.\r\nend\r\n');
  const wire = dotStuff(article);
  assert.equal(fromLatin1(wire), 'Subject: x\r\n\r\n..A dot line\r\n...two\r\n..\r\nend\r\n.\r\n');
  const [back] = assertSplitFeed(multilineFrame(), wire);
  assert.equal(fromLatin1(back), fromLatin1(article));
});

test('LIST ACTIVE, LIST NEWSGROUPS, GROUP, article status, OVER', () => {
  assert.deepEqual(parseActive(utf8('harbour.general 0000000003 0000000001 y\r\nharbour.notices 0000000000 0000000001 n\r\n')), [
    { name: 'harbour.general', high: 3, low: 1, status: 'y' },
    { name: 'harbour.notices', high: 0, low: 1, status: 'n' },
  ]);
  assert.equal(parseNewsgroups(utf8('harbour.general\tGeneral talk.\r\nx.y   Spaced out\r\n')).get('x.y'), 'Spaced out');
  assert.deepEqual(parseGroup('3 1 3 harbour.general'), { count: 3, low: 1, high: 3, name: 'harbour.general' });
  assert.deepEqual(parseArticleStatus('2 <b@x> article'), { number: 2, messageId: '<b@x>' });
  const [body] = assertSplitFeed(multilineFrame(), over);
  const rows = parseOverview(body);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0].extra, { Xref: 'news.portolan.test harbour.general:1' });
  assert.equal(rows[1].references, '<a$1@x>');
  assert.equal(rows[1].bytes, 600);
  assert.deepEqual(blockLines(utf8('1\r\n2\r\n')), ['1', '2']);
});

test('input checks: dates, tokens and ranges name their field', () => {
  assert.equal(nntpDate('2024-02-03T04:05:06Z', 'since'), '20240203 040506 GMT');
  assert.throws(() => nntpDate('yesterday', 'since'), (e: unknown) => e instanceof InvalidInput && /since/.test(JSON.stringify(e)));
  assert.throws(() => token('a b', 'group'), InvalidInput);
  assert.equal(range('5-', 'range'), '5-');
  assert.equal(range('<a@b>', 'range'), '<a@b>');
  assert.throws(() => range('1-2 3', 'range'), InvalidInput);
});

test('malformed replies are protocol errors; endless lines and blocks are capped', () => {
  assert.throws(() => statusFrame(utf8('hello there\r\n')), ProtocolError);
  assert.throws(() => statusFrame(new Uint8Array(9000).fill(0x41)), ProtocolError);
  assert.throws(() => multilineFrame(1024)(new Uint8Array(2000).fill(0x0a)), ProtocolError);
  assert.throws(() => parseActive(utf8('broken line\r\n')), ProtocolError);
  assert.throws(() => parseOverview(utf8('x\ty\r\n')), ProtocolError);
  assert.throws(() => parseGroup('no numbers'), ProtocolError);
  assertFuzzSafe(statusFrame, { seeds: [greeting] });
  assertFuzzSafe(multilineFrame(), { seeds: [caps, over] });
});
