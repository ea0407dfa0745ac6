import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../core/errors.ts';
import { parseReply, query } from './codec.ts';

test('ident: the RFC 1413 §7 examples and the replies oidentd sends', () => {
  assert.equal(query(6191, 23), '6191, 23\r\n');
  assert.deepEqual(parseReply('6193, 23 : USERID : UNIX : stjohns'), { kind: 'USERID', serverPort: 6193, clientPort: 23, opsys: 'UNIX', charset: null, userId: 'stjohns' });
  assert.deepEqual(parseReply('6195, 23 : ERROR : NO-USER'), { kind: 'ERROR', serverPort: 6195, clientPort: 23, error: 'NO-USER' });
  assert.deepEqual(parseReply('19400,36470:USERID:UNIX:root'), { kind: 'USERID', serverPort: 19400, clientPort: 36470, opsys: 'UNIX', charset: null, userId: 'root' });
  assert.deepEqual(parseReply('1,2 : USERID : OTHER , UTF-8 :a:b c'), { kind: 'USERID', serverPort: 1, clientPort: 2, opsys: 'OTHER', charset: 'UTF-8', userId: 'a:b c' });
});

test('ident: malformed replies are protocol errors; any line parses or throws ProtocolError', () => {
  for (const bad of ['', 'hello', '1 : USERID : UNIX : x', '99999, 1 : ERROR : X', '1, 2 : MAYBE : x', '1, 2 : USERID : UNIX']) assert.throws(() => parseReply(bad), ProtocolError, bad);
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => {
    try {
      parseReply(s);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
    }
  }), { numRuns: 1000 });
});
