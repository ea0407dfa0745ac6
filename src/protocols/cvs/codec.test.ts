import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromLatin1 } from '../../core/bytes.ts';
import { OutputCollector, SHIFTS, authRequest, parseResponse, scramble } from './codec.ts';

test('scramble: the table of cvs src/scramble.c ("A" then substituted bytes), its own inverse', () => {
  assert.equal(fromLatin1(scramble('portolan')), "A:0 ,0'y=");
  assert.equal(fromLatin1(scramble('')), 'A');
  // cvs descrambles with the same table: it must be an involution over all 256 bytes.
  for (let x = 0; x < 256; x++) assert.equal(SHIFTS[SHIFTS[x]], x, `byte ${x}`);
});

test('AUTH request: root, user, scrambled password between BEGIN and END lines', () => {
  assert.equal(fromLatin1(authRequest('AUTH', '/cvsroot', 'anonymous', 'a')), 'BEGIN AUTH REQUEST\n/cvsroot\nanonymous\nAy\nEND AUTH REQUEST\n');
  assert.throws(() => authRequest('AUTH', '/x\nRoot', 'u', ''), /root may not contain a newline/);
});

test('responses: ok, error with and without text, M/E, MT tagged text', () => {
  assert.deepEqual(parseResponse('ok'), { kind: 'ok' });
  assert.deepEqual(parseResponse('error  '), { kind: 'error', code: '', text: '' });
  assert.deepEqual(parseResponse('error 0 no such user nosuch in CVSROOT/passwd'), { kind: 'error', code: '0', text: 'no such user nosuch in CVSROOT/passwd' });
  assert.deepEqual(parseResponse('Valid-requests Root ls version'), { kind: 'Valid-requests', requests: ['Root', 'ls', 'version'] });
  const out = new OutputCollector();
  for (const l of ['E cvs rls: Listing module: `harbour\'', 'MT text ---- ', 'MT date 2026-12-04 21:35:53 +0000', 'MT text  1.1.1.1    README', 'MT newline', 'M ships.txt']) out.add(parseResponse(l));
  assert.deepEqual(out.lines, ['---- 2026-12-04 21:35:53 +0000 1.1.1.1    README', 'ships.txt']);
  assert.deepEqual(out.messages, ["cvs rls: Listing module: `harbour'"]);
});

test('response parser: any line parses to a response', () => {
  fc.assert(fc.property(fc.string({ maxLength: 200 }), (line) => void parseResponse(line)), { numRuns: 500 });
});
