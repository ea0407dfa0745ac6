// SIP codec: the OPTIONS request, kamailio's answer (captured in the lab), compact and folded headers, TCP framing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { decodeResponse, encodeOptions, header, list, sipFrame } from './codec.ts';

const KAMAILIO = utf8(
  [
    'SIP/2.0 200 Portolan lab OK',
    'Via: SIP/2.0/UDP portolan.invalid;branch=z9hG4bKabc123;rport=56629;received=127.0.0.1',
    'To: <sip:127.0.0.1:15060>;tag=a45363010201c12697c26728a1ea42a4.fe090000',
    'From: <sip:portolan@portolan.invalid>;tag=1234',
    'Call-ID: abc@portolan.invalid',
    'CSeq: 1 OPTIONS',
    'Allow: INVITE, ACK, CANCEL, OPTIONS, BYE',
    'Accept: application/sdp',
    'Server: Portolan lab kamailio',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
);

test('sip: OPTIONS carries the headers RFC 3261 §8.1.1 requires, the magic-cookie branch and rport on UDP', () => {
  const text = new TextDecoder().decode(encodeOptions({ uri: 'sip:127.0.0.1:5060', transport: 'UDP', viaHost: 'portolan.invalid', branch: 'abc', fromTag: 't1', callId: 'c1@x', cseq: 1, toUri: 'sip:127.0.0.1:5060', fromUri: 'sip:me@x' }));
  assert.equal(
    text,
    'OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP portolan.invalid;branch=z9hG4bKabc;rport\r\nMax-Forwards: 70\r\nTo: <sip:127.0.0.1:5060>\r\nFrom: <sip:me@x>;tag=t1\r\nCall-ID: c1@x\r\nCSeq: 1 OPTIONS\r\nContact: <sip:me@x>\r\nAccept: application/sdp\r\nUser-Agent: Portolan\r\nContent-Length: 0\r\n\r\n',
  );
});

test("sip: kamailio's 200 decodes; Allow is a list", () => {
  const r = decodeResponse(KAMAILIO);
  assert.equal(r.status, 200);
  assert.equal(r.reason, 'Portolan lab OK');
  assert.equal(header(r, 'call-id'), 'abc@portolan.invalid');
  assert.deepEqual(list(header(r, 'Allow')), ['INVITE', 'ACK', 'CANCEL', 'OPTIONS', 'BYE']);
});

test('sip: compact header names (§7.3.3) and folded lines (§7.3.1) are read', () => {
  const r = decodeResponse(utf8('SIP/2.0 200 OK\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1\r\ni: x@y\r\nk: path,\r\n  timer\r\nl: 2\r\n\r\nhi'));
  assert.equal(header(r, 'Via'), 'SIP/2.0/UDP a;branch=z9hG4bK1');
  assert.equal(header(r, 'Call-ID'), 'x@y');
  assert.deepEqual(list(header(r, 'Supported')), ['path', 'timer']);
  assert.equal(r.body, 'hi');
});

test('sip: over TCP a response is framed by Content-Length, in any split; keep-alive CRLFs are skipped', () => {
  const two = utf8('\r\n\r\n' + new TextDecoder().decode(KAMAILIO) + 'SIP/2.0 405 Method Not Allowed\r\nContent-Length: 3\r\n\r\nabc');
  const got = assertSplitFeed(sipFrame, two);
  assert.deepEqual(got.map((r) => [r.status, r.body]), [[200, ''], [405, 'abc']]);
  assert.throws(() => sipFrame(utf8('SIP/2.0 200 OK\r\nVia: x\r\n\r\n')), /without Content-Length/);
  assert.throws(() => decodeResponse(utf8('HTTP/1.1 200 OK\r\n\r\n')), ProtocolError);
  assertFuzzSafe(sipFrame, { seeds: [KAMAILIO] });
});
