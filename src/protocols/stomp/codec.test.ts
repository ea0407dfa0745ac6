// STOMP codec: golden frames, escaping per version, content-length bodies with NULs, heart-beats, limits, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { HEARTBEAT, encodeFrame, negotiateHeartbeat, stompFrame, unescapeValue } from './codec.ts';

const v12 = stompFrame(() => '1.2');

describe('STOMP frames: golden bytes', () => {
  it('CONNECT is never escaped; SEND escapes colons and newlines in 1.2', () => {
    assert.equal(fromLatin1(encodeFrame('CONNECT', [['accept-version', '1.0,1.1,1.2'], ['host', '/']])), 'CONNECT\naccept-version:1.0,1.1,1.2\nhost:/\n\n\0');
    assert.equal(fromLatin1(encodeFrame('SEND', [['destination', '/queue/a'], ['x', 'a:b\nc\\d\re']], utf8('hi'))), 'SEND\ndestination:/queue/a\nx:a\\cb\\nc\\\\d\\re\n\nhi\0');
    assert.equal(fromLatin1(encodeFrame('SEND', [['x', 'a:b']], undefined, '1.0')), 'SEND\nx:a:b\n\n\0');
  });

  it('CONNECTED, MESSAGE with content-length (NULs inside), RECEIPT and heart-beats between them', () => {
    const body = new Uint8Array([0x61, 0x00, 0x62, 0x0a, 0x00]);
    const bytes = concat([
      utf8('CONNECTED\nversion:1.2\nserver:RabbitMQ/3.10.8\nheart-beat:10000,10000\n\n\0'),
      utf8('\n\r\n'),
      utf8('MESSAGE\r\ndestination:/queue/a\r\nmessage-id:m\\c1\r\ncontent-length:5\r\n\r\n'),
      body,
      utf8('\0'),
      utf8('RECEIPT\nreceipt-id:r1\n\n\0\n'),
    ]);
    assert.deepEqual(assertSplitFeed(v12, bytes), [
      { command: 'CONNECTED', headers: [['version', '1.2'], ['server', 'RabbitMQ/3.10.8'], ['heart-beat', '10000,10000']], body: new Uint8Array(0) },
      HEARTBEAT,
      HEARTBEAT,
      { command: 'MESSAGE', headers: [['destination', '/queue/a'], ['message-id', 'm:1'], ['content-length', '5']], body },
      { command: 'RECEIPT', headers: [['receipt-id', 'r1']], body: new Uint8Array(0) },
      HEARTBEAT,
    ]);
  });

  it('a body without content-length ends at the first NUL', () => {
    assert.deepEqual(assertSplitFeed(v12, utf8('ERROR\nmessage:Bad CONNECT\n\nAccess refused\0')), [{ command: 'ERROR', headers: [['message', 'Bad CONNECT']], body: utf8('Access refused') }]);
  });
});

describe('STOMP rules', () => {
  it('escapes: 1.1 has no \\r; undefined sequences are errors', () => {
    assert.equal(unescapeValue('a\\cb\\nc\\\\', '1.1'), 'a:b\nc\\');
    assert.equal(unescapeValue('a\\r', '1.2'), 'a\r');
    assert.throws(() => unescapeValue('a\\r', '1.1'), /undefined escape/);
    assert.throws(() => unescapeValue('a\\t', '1.2'), /undefined escape/);
    assert.equal(unescapeValue('a\\t', '1.0'), 'a\\t');
  });

  it('heart-beat negotiation takes the larger interval and 0 turns a direction off', () => {
    assert.deepEqual(negotiateHeartbeat([10000, 10000], '5000,20000'), { sendEveryMs: 20000, expectEveryMs: 10000 });
    assert.deepEqual(negotiateHeartbeat([10000, 0], '5000,20000'), { sendEveryMs: 20000, expectEveryMs: 0 });
    assert.deepEqual(negotiateHeartbeat([10000, 10000], '0,0'), { sendEveryMs: 0, expectEveryMs: 0 });
  });

  it('limits: a content-length over the body cap fails before the body arrives; an unknown command; a huge head', () => {
    assert.throws(() => new FrameDecoder(stompFrame(() => '1.2', 1024)).feed(utf8('MESSAGE\ncontent-length:999999999\n\n')), /exceeds the 1024-byte limit/);
    assert.throws(() => new FrameDecoder(v12).feed(utf8('HELLO\n\n\0')), /unknown STOMP server command/);
    assert.throws(() => new FrameDecoder(stompFrame(() => '1.2', 1024, 100)).feed(utf8(`MESSAGE\n${'x:y\n'.repeat(40)}`)), /head longer than 100 bytes/);
  });

  it('random bytes only ever produce ProtocolError', () => {
    assertFuzzSafe(stompFrame(() => '1.2', 1 << 16), { seeds: [utf8('MESSAGE\ndestination:/q\ncontent-length:2\n\nab\0'), utf8('CONNECTED\nversion:1.2\n\n\0')] });
  });
});
