// NATS codec: golden bytes of server and client operations, headers, subjects, NKeys, split feed, caps, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { concat, fromBase64, utf8 } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { decodeHeaders, encodeConnect, encodeHeaders, encodePub, encodeSub, encodeUnsub, filterSubjectProblem, headerProblem, publishSubjectProblem, serverOpFrame, type ServerOp } from './codec.ts';
import { crc16, decodeSeed, encodePublicKey, encodeSeed, fromBase32, PREFIX, signNonce, toBase32 } from './nkeys.ts';
import { parseAckSubject } from './jetstream.ts';

const b = (s: string) => utf8(s);
const frame = serverOpFrame();

describe('NATS server operations: golden bytes', () => {
  it('INFO, PING, PONG, +OK, -ERR', () => {
    const bytes = b(
      'INFO {"server_id":"NC3","version":"2.9.10","proto":1,"headers":true,"max_payload":1048576,"auth_required":true,"nonce":"abc"}\r\n' + 'PING\r\n' + 'PONG\r\n' + '+OK\r\n' + "-ERR 'Authorization Violation'\r\n",
    );
    assert.deepEqual(assertSplitFeed(frame, bytes), [
      { op: 'INFO', info: { server_id: 'NC3', version: '2.9.10', proto: 1, headers: true, max_payload: 1048576, auth_required: true, nonce: 'abc' } },
      { op: 'PING' },
      { op: 'PONG' },
      { op: 'OK' },
      { op: 'ERR', message: 'Authorization Violation' },
    ]);
  });

  it('MSG with and without a reply subject: the size, not a terminator, ends the payload', () => {
    // payload "a\r\nb\x00" (5 bytes) contains CRLF and NUL
    const payload = new Uint8Array([0x61, 0x0d, 0x0a, 0x62, 0x00]);
    const bytes = concat([b('MSG orders.new 7 5\r\n'), payload, b('\r\n'), b('MSG svc.time 2 _INBOX.x1 0\r\n\r\n')]);
    assert.deepEqual(assertSplitFeed(frame, bytes), [
      { op: 'MSG', subject: 'orders.new', sid: 7, payload },
      { op: 'MSG', subject: 'svc.time', sid: 2, reply: '_INBOX.x1', payload: new Uint8Array(0) },
    ]);
  });

  it('HMSG: header block and payload split by the header size; status lines', () => {
    const hdr = 'NATS/1.0\r\nX-Trace: 1\r\nX-Trace: 2\r\nEmpty:\r\n\r\n';
    const hdrLen = b(hdr).length;
    const bytes = b(`HMSG a.b 3 ${hdrLen} ${hdrLen + 5}\r\n${hdr}hello\r\n` + 'HMSG _INBOX.z 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n' + 'HMSG _INBOX.p 4 $JS.ACK.S.C.1.2.3.4.5 28 28\r\nNATS/1.0 404 No Messages\r\n\r\n\r\n');
    const ops = assertSplitFeed(frame, bytes);
    assert.deepEqual(ops[0], { op: 'MSG', subject: 'a.b', sid: 3, headers: { fields: [['X-Trace', '1'], ['X-Trace', '2'], ['Empty', '']] }, payload: b('hello') });
    assert.deepEqual(ops[1], { op: 'MSG', subject: '_INBOX.z', sid: 1, headers: { status: 503, fields: [] }, payload: new Uint8Array(0) });
    assert.deepEqual(ops[2], { op: 'MSG', subject: '_INBOX.p', sid: 4, reply: '$JS.ACK.S.C.1.2.3.4.5', headers: { status: 404, description: 'No Messages', fields: [] }, payload: new Uint8Array(0) });
  });

  it('verbs are case-insensitive and LF alone ends a line', () => {
    assert.deepEqual(assertSplitFeed(frame, b('ping\nmsg x 1 2\nhi\r\n')), [{ op: 'PING' }, { op: 'MSG', subject: 'x', sid: 1, payload: b('hi') }]);
  });

  it('multibyte subjects count bytes in sizes', () => {
    const bytes = b('MSG länder.ö 1 3\r\n⚓\r\n');
    assert.deepEqual(assertSplitFeed(frame, bytes), [{ op: 'MSG', subject: 'länder.ö', sid: 1, payload: b('⚓') }]);
  });
});

describe('NATS server operations: wrong bytes and caps', () => {
  const one = (s: string | Uint8Array, f = frame) => new FrameDecoder(f).feed(typeof s === 'string' ? b(s) : s);

  it('an oversized payload size is refused before its bytes arrive (nothing allocated)', () => {
    assert.throws(() => one('MSG a 1 2147483648\r\n'), (e: unknown) => e instanceof ProtocolError && /MSG payload size 2147483648 exceeds/.test(e.message));
    assert.throws(() => one('HMSG a 1 10 99999999999\r\n', serverOpFrame({ maxPayload: 1024 })), /HMSG total size 99999999999 exceeds the 1024-byte limit/);
    assert.throws(() => one('HMSG a 1 20 10\r\n'), /HMSG header size 20 exceeds the 10-byte limit/);
  });

  it('an endless control line is refused at the cap', () => {
    const f = serverOpFrame({ maxControlLine: 100 });
    assert.throws(() => one('INFO ' + 'x'.repeat(200), f), /control line longer than 100 bytes/);
  });

  it('malformed operations name what is wrong', () => {
    assert.throws(() => one('HELLO there\r\n'), /unknown server operation "HELLO"/);
    assert.throws(() => one('MSG a 1\r\n'), /MSG has 2 arguments/);
    assert.throws(() => one('MSG a x 1\r\nz\r\n'), /MSG sid is not a number/);
    assert.throws(() => one('MSG a 1 -1\r\n'), /MSG payload size is not a size/);
    assert.throws(() => one('MSG a 1 2\r\nabcd'), /MSG payload is not followed by CRLF/);
    assert.throws(() => one('INFO [1]\r\n'), /INFO is not a JSON object/);
    assert.throws(() => one('INFO {\r\n'), /INFO is not a JSON object/);
    assert.throws(() => one('HMSG a 1 8 8\r\nHTTP/1\r\n\r\n'), /header block does not start with NATS\/1.0/);
  });

  it('fuzz: random and mutated bytes end in a message, a wait or ProtocolError', () => {
    assertFuzzSafe(serverOpFrame({ maxPayload: 4096 }), {
      seeds: [b('INFO {"a":1}\r\n'), b('MSG a.b 1 _R 3\r\nabc\r\n'), b('HMSG a 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n'), b("-ERR 'x'\r\n")],
    });
  });
});

describe('NATS client operations: golden bytes', () => {
  it('PUB, HPUB, SUB with queue, UNSUB with max', () => {
    assert.deepEqual(encodePub('orders.new', b('hi')), b('PUB orders.new 2\r\nhi\r\n'));
    assert.deepEqual(encodePub('svc', b(''), { reply: '_INBOX.1' }), b('PUB svc _INBOX.1 0\r\n\r\n'));
    // NATS/1.0 CRLF "X-A: 1" CRLF CRLF = 20 header bytes, + 2 payload bytes
    assert.deepEqual(encodePub('a', b('hi'), { headers: [['X-A', '1']] }), b('HPUB a 20 22\r\nNATS/1.0\r\nX-A: 1\r\n\r\nhi\r\n'));
    assert.deepEqual(encodeSub('orders.>', 3, 'workers'), b('SUB orders.> workers 3\r\n'));
    assert.deepEqual(encodeSub('a', 1), b('SUB a 1\r\n'));
    assert.deepEqual(encodeUnsub(3, 1), b('UNSUB 3 1\r\n'));
    assert.deepEqual(encodeUnsub(3), b('UNSUB 3\r\n'));
    const c = encodeConnect({ verbose: false, pedantic: false, tls_required: false, name: 'p', lang: 'portolan', version: '0.1.0', protocol: 1, headers: true, no_responders: true, echo: true, user: 'u', pass: 'p' });
    assert.deepEqual(c, b('CONNECT {"verbose":false,"pedantic":false,"tls_required":false,"name":"p","lang":"portolan","version":"0.1.0","protocol":1,"headers":true,"no_responders":true,"echo":true,"user":"u","pass":"p"}\r\n'));
  });

  it('a header block round-trips through encode and decode', () => {
    const fields: [string, string][] = [
      ['Nats-Msg-Id', 'id-1'],
      ['X-Multi', 'a'],
      ['X-Multi', 'b ü'],
    ];
    assert.deepEqual(decodeHeaders(encodeHeaders(fields)), { fields });
  });

  it('an HPUB the client writes is read back as HMSG with the same headers and payload', () => {
    const pub = encodePub('x.y', new Uint8Array([0, 1, 2]), { reply: 'r', headers: [['K', 'v']] });
    // The server relays HPUB as HMSG with a sid: swap the verb and insert the sid.
    const text = new TextDecoder('latin1').decode(pub).replace(/^HPUB x\.y r /, 'HMSG x.y 9 r ');
    const ops = assertSplitFeed(frame, Uint8Array.from(text, (ch) => ch.charCodeAt(0)));
    assert.deepEqual(ops, [{ op: 'MSG', subject: 'x.y', sid: 9, reply: 'r', headers: { fields: [['K', 'v']] }, payload: new Uint8Array([0, 1, 2]) } satisfies ServerOp]);
  });
});

describe('NATS subjects', () => {
  it('publish subjects: no wildcards, no empty tokens, no whitespace', () => {
    assert.equal(publishSubjectProblem('orders.new'), undefined);
    assert.match(publishSubjectProblem('orders.*')!, /wildcard/);
    assert.match(publishSubjectProblem('orders.>')!, /wildcard/);
    assert.match(publishSubjectProblem('a..b')!, /empty token/);
    assert.match(publishSubjectProblem('.a')!, /empty token/);
    assert.match(publishSubjectProblem('a b')!, /whitespace/);
    assert.match(publishSubjectProblem('')!, /empty/);
  });

  it('filters: "*" whole tokens anywhere, ">" only last', () => {
    for (const ok of ['a', 'a.*', '*.b', 'a.>', '>', '*.*.>', '$JS.API.>']) assert.equal(filterSubjectProblem(ok), undefined, ok);
    assert.match(filterSubjectProblem('a.>.b')!, /">" before the last token/);
    assert.match(filterSubjectProblem('a.b*')!, /inside the token "b\*"/);
    assert.match(filterSubjectProblem('a.>x')!, /inside the token/);
    assert.match(filterSubjectProblem('a.')!, /empty token/);
  });

  it('header names are tokens; values have no CR or LF', () => {
    assert.equal(headerProblem('Nats-Msg-Id', 'x'), undefined);
    assert.match(headerProblem('Bad Name', 'x')!, /not a token/);
    assert.match(headerProblem('X', 'a\r\nInjected: 1')!, /CR or LF/);
  });
});

describe('NKeys', () => {
  it('CRC-16/XMODEM check value', () => {
    assert.equal(crc16(b('123456789')), 0x31c3);
  });

  it('base32 round-trips (RFC 4648 test vectors, unpadded)', () => {
    assert.equal(toBase32(b('foobar')), 'MZXW6YTBOI');
    assert.equal(toBase32(b('fooba')), 'MZXW6YTB');
    assert.deepEqual(fromBase32('MZXW6YTBOI', 'x'), b('foobar'));
  });

  it('a user seed encodes as SU..., decodes to the same seed and public key U...', () => {
    const seed = new Uint8Array(32).map((_, i) => i);
    const text = encodeSeed(PREFIX.user, seed);
    assert.match(text, /^SU[A-Z2-7]{56}$/);
    const pair = decodeSeed(text, 'seed');
    assert.deepEqual(pair.seed, seed);
    assert.equal(pair.prefix, PREFIX.user);
    assert.equal(pair.publicKey, encodePublicKey(PREFIX.user, ed25519.getPublicKey(seed)));
    assert.match(pair.publicKey, /^U[A-Z2-7]{55}$/);
  });

  it('the nonce signature verifies with the public key (base64url, no padding)', () => {
    const pair = decodeSeed(encodeSeed(PREFIX.user, new Uint8Array(32).fill(9)), 'seed');
    const sig = signNonce(pair, 'tKV9s0z_ppHc8Q');
    assert.match(sig, /^[A-Za-z0-9_-]{86}$/);
    const raw = fromBase32(pair.publicKey, 'k').subarray(1, 33);
    assert.equal(ed25519.verify(fromBase64(sig), b('tKV9s0z_ppHc8Q'), raw), true);
  });

  it('mistyped and wrong-kind keys are invalid input naming the field', () => {
    const text = encodeSeed(PREFIX.user, new Uint8Array(32));
    const typo = text.slice(0, 10) + (text[10] === 'A' ? 'B' : 'A') + text.slice(11);
    assert.throws(() => decodeSeed(typo, 'nkeySeed'), (e: unknown) => e instanceof InvalidInput && /nkeySeed: fails its CRC-16/.test(e.message));
    assert.throws(() => decodeSeed('UABC1', 'nkeySeed'), /not an NKey/);
    const pub = encodePublicKey(PREFIX.user, new Uint8Array(32));
    assert.throws(() => decodeSeed(pub, 'nkeySeed'), /is not an NKey seed/);
  });
});

describe('JetStream ack subjects', () => {
  it('v1 and v2 layouts', () => {
    const v1 = parseAckSubject('$JS.ACK.ORDERS.worker.2.17.5.1700000000123456789.3');
    assert.deepEqual(v1, { stream: 'ORDERS', consumer: 'worker', delivered: 2, streamSeq: 17, consumerSeq: 5, published: '2023-11-14T22:13:20.123Z', pending: 3 });
    const v2 = parseAckSubject('$JS.ACK.hub.ACCHASH.ORDERS.worker.1.9.9.1700000000000000000.0.rnd');
    assert.equal(v2.stream, 'ORDERS');
    assert.equal(v2.streamSeq, 9);
    assert.throws(() => parseAckSubject('$JS.ACK.a.b'), ProtocolError);
    assert.throws(() => parseAckSubject('_INBOX.x'), ProtocolError);
  });
});
