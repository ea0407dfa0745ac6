import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromUtf8, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { authStepFrame, capabilities, command, responseFrame, str, text } from './codec.ts';

const greeting = utf8('"IMPLEMENTATION" "Dovecot (Debian) Pigeonhole"\r\n"SIEVE" "fileinto reject"\r\n"SASL" "PLAIN LOGIN"\r\n"STARTTLS"\r\n"VERSION" "1.0"\r\nOK "Dovecot (Debian) ready."\r\n');

test('a greeting (capability response), whole, byte by byte and split', () => {
  const [r] = assertSplitFeed(responseFrame(), greeting);
  assert.equal(r.final.status, 'OK');
  assert.equal(r.final.text, 'Dovecot (Debian) ready.');
  const caps = capabilities(r.lines);
  assert.equal(caps.get('SASL'), 'PLAIN LOGIN');
  assert.equal(caps.get('STARTTLS'), '');
});

test('literals, response codes and escapes: GETSCRIPT, NO (NONEXISTENT), OK (WARNINGS), NO {n} with line numbers', () => {
  const bytes = utf8('{11}\r\nkeep;\r\nstop\r\nOK\r\nNO (NONEXISTENT) "Sieve script `t\\"1\' not found"\r\nOK (WARNINGS) "line 2: warning"\r\nNO {24}\r\nline 4: error: bad.\r\nx\r\n\r\n');
  const rs = assertSplitFeed(responseFrame(), bytes);
  assert.equal(rs.length, 4);
  assert.equal(fromUtf8((rs[0].lines[0][0] as { value: Uint8Array }).value), 'keep;\r\nstop');
  assert.deepEqual([rs[1].final.status, rs[1].final.code, rs[1].final.text], ['NO', 'NONEXISTENT', 'Sieve script `t"1\' not found']);
  assert.deepEqual([rs[2].final.code, rs[2].final.text], ['WARNINGS', 'line 2: warning']);
  assert.equal(rs[3].final.text, 'line 4: error: bad.\r\nx\r\n');
  const sasl = responseFrame()(utf8('OK (SASL "dGVzdA==") "done"\r\n'))!;
  assert.equal(text(sasl.value.final.codeArgs[0]), 'dGVzdA==');
});

test('commands: short plain strings quoted with escapes, others as non-synchronizing literals', () => {
  assert.equal(fromUtf8(command('SETACTIVE', 'a"b\\c')), 'SETACTIVE "a\\"b\\\\c"\r\n');
  assert.equal(fromUtf8(command('PUTSCRIPT', 'x', utf8('keep;\r\n'))), 'PUTSCRIPT "x" {7+}\r\nkeep;\r\n\r\n');
  assert.equal(fromUtf8(command('HAVESPACE', 'x', 10)), 'HAVESPACE "x" 10\r\n');
  assert.equal(toHex(str('é')), toHex(utf8('{2+}\r\né')));
});

test('AUTHENTICATE steps: a string alone is a challenge, OK or NO ends it', () => {
  assert.deepEqual(authStepFrame()(utf8('"VXNlcm5hbWU6"\r\n')), { value: { challenge: utf8('VXNlcm5hbWU6') }, size: 16 });
  const end = authStepFrame()(utf8('NO "Authentication failed."\r\n'))!;
  assert.equal('final' in end.value && end.value.final.status, 'NO');
  assert.equal(authStepFrame()(utf8('"abc')), undefined);
});

test('malformed responses are protocol errors; huge literals refused before any allocation', () => {
  assert.throws(() => responseFrame()(utf8('{99999999999}\r\n')), ProtocolError);
  assert.throws(() => responseFrame()(utf8(`{${8 * 1024 * 1024}}\r\n`)), /exceeds/);
  assert.throws(() => responseFrame()(utf8('"abc\r\n')), ProtocolError);
  assert.throws(() => responseFrame()(utf8('{3x}\r\n')), ProtocolError);
  assert.throws(() => responseFrame()(utf8('((A))\r\n')), ProtocolError);
  assertFuzzSafe(responseFrame(), { seeds: [greeting] });
  assertFuzzSafe(authStepFrame(), { seeds: [greeting] });
});
