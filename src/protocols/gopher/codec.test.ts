import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { formatMenu, parseMenu, parseText } from './codec.ts';

const MENU = utf8(
  'iWelcome\tfake\t(NULL)\t0\r\n' +
    '0About this server\t/about.txt\tlocalhost\t70\r\n' +
    '1The harbour\t/harbour\tlocalhost\t70\t+\r\n' +
    '.\r\n',
);

test('menu: typed items, Gopher+ field kept, lone dot ends it', () => {
  const { items, terminated } = parseMenu(MENU);
  assert.equal(terminated, true);
  assert.deepEqual(items, [
    { type: 'i', display: 'Welcome', selector: 'fake', host: '(NULL)', port: 0 },
    { type: '0', display: 'About this server', selector: '/about.txt', host: 'localhost', port: 70 },
    { type: '1', display: 'The harbour', selector: '/harbour', host: 'localhost', port: 70, extra: '+' },
  ]);
  assert.match(formatMenu(items), /\[menu \] The harbour {2}→ {2}1\/harbour @ localhost:70/);
});

test('menu without the final dot (pygopherd) is still read, flagged unterminated', () => {
  const { items, terminated } = parseMenu(utf8('0A\t/a\th\t70\n'));
  assert.equal(terminated, false);
  assert.equal(items.length, 1);
});

test('text: dot-unstuffing and the terminator', () => {
  assert.deepEqual(parseText(utf8('one\r\n..two\r\n.\r\nafter\r\n')), { text: 'one\n.two', terminated: true });
});

test('a bad port is a ProtocolError; any bytes give items or ProtocolError', () => {
  assert.throws(() => parseMenu(utf8('0A\t/a\th\tseventy\r\n')), ProtocolError);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      try {
        parseMenu(b);
        parseText(b);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});
