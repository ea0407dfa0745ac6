import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { encodeItem, itemFrame, response, word } from './codec.ts';

// As svnserve 1.14 sends them: the greeting, an auth request, a log entry, the end of a log.
const GREETING = utf8('( success ( 2 2 ( ) ( edit-pipeline svndiff1 absent-entries depth log-revprops ) ) ) ');
const AUTH = utf8('( success ( ( ANONYMOUS CRAM-MD5 ) 12:Portolan Lab ) ) ');
const LOG = utf8('( ( ( 7:/README 1:M ( ) ( 4:file false false ) ) ) 2 ( ) ( ) ( ) false false 0 ( ( 10:svn:author 5:alice ) ) ) ');
const DONE = utf8('done ');

test('items: numbers, strings with their length, words and nested lists; whole, byte by byte, at random splits', () => {
  const items = assertSplitFeed(itemFrame(), utf8(fromLatin1(GREETING) + fromLatin1(AUTH) + '\n' + fromLatin1(LOG) + fromLatin1(DONE)));
  assert.equal(items.length, 4);
  const g = response(items[0], 'greeting');
  assert.ok(g.ok && g.params[0].t === 'number' && g.params[0].v === 2);
  assert.deepEqual(items[3], { t: 'word', v: 'done' });
  const a = response(items[1], 'auth');
  assert.ok(a.ok);
  assert.deepEqual(a.ok && a.params[1], { t: 'string', v: utf8('Portolan Lab') });
});

test('strings are bytes by length: spaces, parentheses and newlines inside them are data', () => {
  const [s] = assertSplitFeed(itemFrame(), utf8('11:( a ) b\nc:  '));
  assert.deepEqual(s, { t: 'string', v: utf8('( a ) b\nc: ') });
});

test('encoding: the client response and a failure', () => {
  assert.equal(fromLatin1(encodeItem([2, [word('edit-pipeline')], 'svn://h/r', 'P', []])), '( 2 ( edit-pipeline ) 9:svn://h/r 1:P ( ) ) ');
  const [f] = assertSplitFeed(itemFrame(), utf8('( failure ( ( 210005 32:No repository found in \'svn://x\' 0: 0 ) ) ) '));
  assert.deepEqual(response(f, 'x'), { ok: false, errors: [{ code: 210005, message: "No repository found in 'svn://x'" }] });
});

test('bad items, oversized strings and deep nesting are ProtocolErrors; the decoder survives fuzz', () => {
  assert.throws(() => itemFrame()(utf8('(x ')), ProtocolError);
  assert.throws(() => itemFrame()(utf8('99999999999:x')), /exceeds/);
  assert.throws(() => itemFrame({ maxString: 1 << 20, maxDepth: 8, maxItems: 1000 })(utf8('( '.repeat(20))), /deeper/);
  assert.throws(() => itemFrame()(utf8('%')), ProtocolError);
  assertFuzzSafe(itemFrame(), { seeds: [GREETING, AUTH, LOG] });
});
