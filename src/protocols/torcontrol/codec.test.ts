// Tor control codec: replies with mid lines, data blocks and events, quoting, keyword lists, split feed, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { utf8 } from '../../core/bytes.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { command, keyValues, keywords, parseProtocolInfo, quote, replyFrame, unquote } from './codec.ts';

describe('Tor control replies', () => {
  it('PROTOCOLINFO as tor 0.4.9 sends it', () => {
    const raw = '250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE,HASHEDPASSWORD COOKIEFILE="/var/run/tor/control.authcookie"\r\n250-VERSION Tor="0.4.9.11"\r\n250 OK\r\n';
    const [r] = assertSplitFeed(replyFrame, utf8(raw));
    assert.deepEqual(parseProtocolInfo(r), { protocolInfoVersion: 1, methods: ['COOKIE', 'SAFECOOKIE', 'HASHEDPASSWORD'], cookieFile: '/var/run/tor/control.authcookie', torVersion: '0.4.9.11' });
  });

  it('data blocks are dot-unstuffed; key=value lines unquoted; an event is its own reply', () => {
    const raw = '250+config-text=\r\nControlPort 9051\r\n..hidden\r\n.\r\n250-version=0.4.9.11\r\n250 OK\r\n650 SIGNAL RELOAD\r\n650-CONF_CHANGED\r\n650-MaxClientCircuitsPending=40\r\n650 OK\r\n';
    const got = assertSplitFeed(replyFrame, utf8(raw));
    assert.equal(got.length, 3);
    assert.deepEqual(keyValues(got[0]), [
      ['config-text', 'ControlPort 9051\n.hidden'],
      ['version', '0.4.9.11'],
    ]);
    assert.deepEqual(got[1], { status: 650, lines: [{ status: 650, text: 'SIGNAL RELOAD' }] });
    assert.equal(got[2].lines.length, 3);
    assert.deepEqual(keyValues({ status: 250, lines: [{ status: 250, text: 'net/listeners/control="127.0.0.1:9051"' }, { status: 250, text: 'OK' }] }), [['net/listeners/control', '127.0.0.1:9051']]);
  });

  it('malformed and mixed replies are protocol errors', () => {
    assert.throws(() => replyFrame(utf8('HTTP/1.1 200 OK\r\n')), /not a Tor control reply line/);
    assert.throws(() => replyFrame(utf8('250-a\r\n515 b\r\n')), /mixes status/);
    assert.equal(replyFrame(utf8('250-a\r\n250-b')), undefined);
  });

  it('quoting, keywords and commands', () => {
    assert.equal(quote('pa"ss\\word'), '"pa\\"ss\\\\word"');
    assert.equal(unquote('"pa\\"ss\\\\word"'), 'pa"ss\\word');
    assert.deepEqual(keywords('SERVERHASH=AB12 SERVERNONCE=CD34'), { SERVERHASH: 'AB12', SERVERNONCE: 'CD34' });
    assert.throws(() => command('GETINFO', 'a\r\nSIGNAL HALT'), /cannot hold CR or LF/);
    assert.throws(() => quote('x\ny'), /cannot hold CR, LF or NUL/);
  });

  it('fuzz: any bytes end in a reply, more-needed or ProtocolError', () => {
    assertFuzzSafe(replyFrame, { seeds: [utf8('250-PROTOCOLINFO 1\r\n250+x=\r\n.\r\n250 OK\r\n'), utf8('650 SIGNAL RELOAD\r\n')] });
  });
});
