// SOCKS codec: golden bytes from RFC 1928 / RFC 1929 and the SOCKS4/4A texts, split feed, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  encodeGreeting,
  encodeRequest,
  encodeSocks4Request,
  encodeUserPass,
  methodName,
  methodSelectionFrame,
  socks4ReplyFrame,
  socks5ReplyFrame,
  socksAddress,
  userPassReplyFrame,
} from './codec.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('SOCKS5 (RFC 1928, RFC 1929)', () => {
  it('greeting: VER 5, NMETHODS, METHODS', () => {
    assert.equal(hex(encodeGreeting([0x00, 0x02])), '05020002');
    assert.throws(() => encodeGreeting([]), InvalidInput);
  });

  it('method selection and username/password, both ways', () => {
    assert.deepEqual(assertSplitFeed(methodSelectionFrame, fromHex('0502')), [{ version: 5, method: 2 }]);
    assert.throws(() => methodSelectionFrame(fromHex('4854')), /version 72, expected 5/);
    // VER 1, ULEN 4 "user", PLEN 2 "pw"
    assert.equal(hex(encodeUserPass('user', 'pw')), '01047573657202' + '7077');
    assert.throws(() => encodeUserPass('u'.repeat(256), 'x'), /username: must be 1–255 bytes/);
    assert.deepEqual(assertSplitFeed(userPassReplyFrame, fromHex('0101')), [{ version: 1, status: 1 }]);
  });

  it('CONNECT requests for IPv4, IPv6 and a name', () => {
    assert.equal(hex(encodeRequest(1, socksAddress('127.0.0.1'), 10007)), '050100017f000001' + '2717');
    assert.equal(hex(encodeRequest(1, socksAddress('::1'), 443)), '05010004' + '00'.repeat(15) + '01' + '01bb');
    assert.equal(hex(encodeRequest(1, socksAddress('example.com'), 80)), '050100030b' + Buffer.from('example.com').toString('hex') + '0050');
    // Odd IPv4 spellings go as the address they mean, never as a name for the proxy to read its own way.
    assert.deepEqual(socksAddress('0x7f.1'), { type: 'ipv4', address: '127.0.0.1' });
  });

  it('replies with each address type; a refusal keeps its code', () => {
    const replies = fromHex('05000001c0000205' + '9c40' + '05050004' + '00'.repeat(15) + '01' + '0000' + '050000030b' + Buffer.from('example.com').toString('hex') + '1f90');
    const got = assertSplitFeed(socks5ReplyFrame, replies);
    assert.deepEqual(
      got.map((r) => [r.reply, r.replyText, r.bound, r.boundPort]),
      [
        [0, 'succeeded', { type: 'ipv4', address: '192.0.2.5' }, 40000],
        [5, 'connection refused', { type: 'ipv6', address: '::1' }, 0],
        [0, 'succeeded', { type: 'domain', name: 'example.com' }, 8080],
      ],
    );
    assert.throws(() => socks5ReplyFrame(fromHex('0500000700')), /address type 7/);
    assert.equal(methodName(0x02), 'username/password');
    assert.equal(methodName(0x85), 'private method 0x85');
  });

  it('decoders take any bytes without hanging or throwing anything but ProtocolError', () => {
    for (const frame of [methodSelectionFrame, userPassReplyFrame, socks5ReplyFrame, socks4ReplyFrame]) assertFuzzSafe(frame as never, { seeds: [fromHex('05000001c00002059c40'), fromHex('005a00000000000000')] });
  });
});

describe('SOCKS4 and SOCKS4a', () => {
  it('SOCKS4 CONNECT: VN 4, CD 1, port, IPv4, user id, NUL', () => {
    assert.equal(hex(encodeSocks4Request(1, { address: '127.0.0.1' }, 10007, 'fred')), '04012717' + '7f000001' + Buffer.from('fred').toString('hex') + '00');
    assert.throws(() => encodeSocks4Request(1, { address: '::1' }, 22), /SOCKS4 carries IPv4 addresses only/);
  });

  it('SOCKS4a: DSTIP 0.0.0.1 and the name after the user id', () => {
    assert.equal(hex(encodeSocks4Request(1, { name: 'localhost' }, 80)), '04010050' + '00000001' + '00' + Buffer.from('localhost').toString('hex') + '00');
  });

  it('replies: 90 granted, 91 rejected; a non-SOCKS4 answer is a protocol error', () => {
    const got = assertSplitFeed(socks4ReplyFrame, fromHex('005a271700000000' + '005b000000000000'));
    assert.deepEqual(
      got.map((r) => [r.reply, r.replyText, r.boundPort]),
      [
        [90, 'request granted', 10007],
        [91, 'request rejected or failed', 0],
      ],
    );
    assert.throws(() => socks4ReplyFrame(fromHex('485454502f312e31')), ProtocolError);
  });
});
