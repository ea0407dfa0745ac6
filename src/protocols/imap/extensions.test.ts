// THREAD responses to trees (RFC 5256 4), from the wire bytes the parser reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolError } from '../../core/errors.ts';
import { utf8 } from '../../core/bytes.ts';
import { asList, parseResponse } from './codec.ts';
import { threadTree, type ThreadNode } from './extensions.ts';

function threads(line: string): ThreadNode[] {
  const r = parseResponse(utf8(`${line}\r\n`));
  assert.equal(r.kind, 'data');
  return r.kind === 'data' ? r.values.flatMap((v) => threadTree(asList(v))) : [];
}

const n = (uid: number | null, ...children: ThreadNode[]): ThreadNode => ({ uid, children });

test('RFC 5256 4 example: chains, branches, and a thread whose root is missing', () => {
  assert.deepEqual(threads('* THREAD (2)(3 6 (4 23)(44 7 96))'), [n(2), n(3, n(6, n(4, n(23)), n(44, n(7, n(96)))))]);
  assert.deepEqual(threads('* THREAD ((3)(5))'), [n(null, n(3), n(5))]);
  assert.deepEqual(threads('* THREAD'), []);
});

test('a thread nested past the cap is a ProtocolError', () => {
  const deep = `* THREAD ${'(1 '.repeat(40)}${')'.repeat(40)}`;
  assert.equal(threads(deep).length, 1);
  const deeper = `* THREAD ${'((1)'.repeat(60)}(2)${')'.repeat(60)}`;
  assert.throws(() => threads(deeper), (e) => e instanceof ProtocolError);
});
