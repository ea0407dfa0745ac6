// r-command wire forms: the requests byte by byte, the answer frame fed in pieces, the window cookie, exit status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { toHex, utf8 } from '../../core/bytes.ts';
import { replyFrame, rexecRequest, rloginHandshake, rshRequest, splitExitStatus, windowCookie, withExitStatus } from './codec.ts';

test('rsh/rexec/rlogin: requests are NUL-terminated strings in the order rshd, rexecd and RFC 1282 read them', () => {
  assert.equal(new TextDecoder().decode(rshRequest(0, 'portolan', 'portolan-rsh', 'id')), '0\0portolan\0portolan-rsh\0id\0');
  assert.equal(new TextDecoder().decode(rexecRequest(1021, 'u', 'p', 'ls')), '1021\0u\0p\0ls\0');
  assert.equal(new TextDecoder().decode(rloginHandshake('a', 'b', 'xterm', 38400)), '\0a\0b\0xterm/38400\0');
  assert.throws(() => rshRequest(0, 'x'.repeat(17), 'u', 'id'), /localUser is longer than 16 bytes/);
  assert.throws(() => rexecRequest(0, 'u', 'p'.repeat(16), 'id'), /password is longer than 15/);
});

test('rlogin: the window-size cookie (RFC 1282): FF FF s s rows cols xpixels ypixels', () => {
  assert.equal(toHex(windowCookie(24, 80)), 'ffff7373' + '0018' + '0050' + '0000' + '0000');
});

test('r-commands: the answer is 0, or 1 and a message line — in any split', () => {
  assert.deepEqual(assertSplitFeed(replyFrame, Uint8Array.of(0)), [{ ok: true }]);
  const refused = utf8('\x01Permission denied.\n');
  assert.deepEqual(assertSplitFeed(replyFrame, refused), [{ ok: false, message: 'Permission denied.' }]);
  assert.deepEqual(replyFrame(utf8('locuser too long\n')), { value: { ok: false, message: 'locuser too long' }, size: 17 });
  assertFuzzSafe(replyFrame, { seeds: [refused] });
});

test('rsh: the exit status wrapper prints it after a newline, and stripping gives the output back exactly', () => {
  assert.equal(withExitStatus('cat x'), "(cat x); printf '\\n__PORTOLAN_EXIT__%d\\n' $?");
  for (const out of ['', 'no newline at end', 'ends with newline\n']) {
    const wire = utf8(`${out}\n__PORTOLAN_EXIT__42\n`);
    const got = splitExitStatus(wire);
    assert.equal(new TextDecoder().decode(got.output), out);
    assert.equal(got.exitStatus, 42);
  }
  assert.equal(splitExitStatus(utf8('no marker\n')).exitStatus, null);
});
