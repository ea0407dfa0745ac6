import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../../core/bytes.ts';
import { guessService } from './guess.ts';
import { unescapeProbe } from './index.ts';

test('guesses from banners, packet shapes and ports', () => {
  const g = (text: string, port = 1) => guessService(text, utf8(text), port)?.protocol;
  assert.equal(g('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'), 'ssh');
  assert.equal(g('220 mail.example.org ESMTP Postfix (Debian/GNU)\r\n'), 'smtp');
  assert.equal(g('220 (vsFTPd 3.0.3)\r\n'), 'ftp');
  assert.equal(g('* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n'), 'imap');
  assert.equal(g('+OK Dovecot ready.\r\n'), 'pop3');
  assert.equal(g('220 dictd 1.13.0 <auth.mime> <8.1.1@host>\r\n'), 'dict');
  assert.equal(g('', 5432), 'postgres');
  assert.equal(guessService('', new Uint8Array([0xec, 0xd5, 0x3c, 0xb7]), 37)?.protocol, 'time');
  assert.equal(guessService('', new Uint8Array(0), 1), null);
});

test('probe escapes', () => {
  assert.deepEqual(unescapeProbe('GET / HTTP/1.0\\r\\n\\r\\n'), utf8('GET / HTTP/1.0\r\n\r\n'));
  assert.deepEqual(unescapeProbe('\\x00\\xff\\t\\\\'), new Uint8Array([0, 0xff, 9, 0x5c]));
});
