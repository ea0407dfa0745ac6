import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../../core/bytes.ts';
import { checkStream } from './codec.ts';

const ALPHA = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const line = (start: number) => Array.from({ length: 72 }, (_, i) => ALPHA[(start + i) % 95]).join('') + '\r\n';

test('RFC 864 lines shift by one; a partial last line is ignored', () => {
  const stream = utf8([92, 93, 94, 0, 1].map(line).join('') + 'partial');
  assert.deepEqual(checkStream(stream), { lines: 5, patternValid: true, firstBadLine: null, restarts: 0, alphabetSize: 95 });
});

test('a restart of the cycle is counted; a corrupted line is named', () => {
  const restarted = utf8(line(0) + line(1) + line(0));
  assert.equal(checkStream(restarted).restarts, 1);
  assert.equal(checkStream(restarted).patternValid, true);
  const broken = utf8(line(0) + line(1).replace('#', '?') + line(2));
  assert.deepEqual(checkStream(broken).firstBadLine, 2);
  assert.equal(checkStream(utf8(line(0).slice(5))).patternValid, false);
});
