// STUN codec: RFC 5769's sample IPv4 response (FINGERPRINT and MESSAGE-INTEGRITY verified), message type
// interleaving, round trips with integrity and fingerprint, TCP framing by split feed, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, fromHex, utf8 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { ATTR, attribute, crc32, decodeAddress, decodeErrorCode, decodeMessage, encodeMessage, encodeXorAddress, fingerprintValid, integrityValid, messageFrame, messageType, textAttribute } from './codec.ts';

const crypto = webCrypto();
const hmac = (k: Uint8Array, d: Uint8Array) => crypto.hmac('SHA-1', k, d);

// RFC 5769 section 2.2: sample IPv4 response; short-term password "VOkJxbRl1RmTxUk/WvJxBt".
const SAMPLE = fromHex(
  '0101003c2112a442b7e7a701bc34d686fa87dfae' +
    '8022000b7465737420766563746f7220' +
    '002000080001a147e112a643' +
    '000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7' +
    '80280004c07d4c96',
);

describe('STUN codec', () => {
  it('RFC 5769 sample response: XOR-MAPPED-ADDRESS 192.0.2.1:32853, FINGERPRINT and MESSAGE-INTEGRITY verify', async () => {
    const [m] = assertSplitFeed(messageFrame, SAMPLE);
    assert.equal(m.method, 1);
    assert.equal(m.cls, 'success');
    assert.equal(textAttribute(m, ATTR.SOFTWARE), 'test vector');
    assert.deepEqual(decodeAddress(attribute(m, ATTR.XOR_MAPPED_ADDRESS)!, m.transactionId, true), { family: 'IPv4', address: '192.0.2.1', port: 32853 });
    assert.equal(fingerprintValid(m), true);
    assert.equal(await integrityValid(m, utf8('VOkJxbRl1RmTxUk/WvJxBt'), hmac), true);
    assert.equal(await integrityValid(m, utf8('wrong'), hmac), false);
    const tampered = SAMPLE.slice();
    tampered[30] ^= 1;
    assert.equal(fingerprintValid(decodeMessage(tampered)), false);
  });

  it('message types interleave method and class (RFC 8489 section 5)', () => {
    assert.equal(messageType(0x001, 'request'), 0x0001);
    assert.equal(messageType(0x001, 'success'), 0x0101);
    assert.equal(messageType(0x003, 'error'), 0x0113);
    assert.equal(messageType(0x004, 'indication'), 0x0014);
  });

  it('encodes with integrity and fingerprint, and reads back its own XOR address', async () => {
    const id = fromHex('0102030405060708090a0b0c');
    const bytes = await encodeMessage(
      { method: 0x003, cls: 'request', transactionId: id, attributes: [{ type: ATTR.XOR_PEER_ADDRESS, value: encodeXorAddress({ address: '2001:db8::1', port: 3478 }, id) }, { type: ATTR.USERNAME, value: utf8('user') }] },
      { integrityKey: utf8('key'), hmacSha1: hmac, fingerprint: true },
    );
    const m = decodeMessage(bytes);
    assert.deepEqual(decodeAddress(attribute(m, ATTR.XOR_PEER_ADDRESS)!, id, true), { family: 'IPv6', address: '2001:db8::1', port: 3478 });
    assert.equal(fingerprintValid(m), true);
    assert.equal(await integrityValid(m, utf8('key'), hmac), true);
    // Over TCP, messages follow each other: two in one buffer come out as two.
    assert.equal(assertSplitFeed(messageFrame, concat([bytes, SAMPLE])).length, 2);
  });

  it('ERROR-CODE, CRC-32 and malformed input', () => {
    assert.deepEqual(decodeErrorCode(fromHex('00000401' + Buffer.from('Unauthorized').toString('hex'))), { code: 401, reason: 'Unauthorized' });
    assert.equal(crc32(utf8('123456789')), 0xcbf43926);
    assert.throws(() => messageFrame(utf8('\x00\x01\x00\x00HTTP/1.1 200 OK\r\nServer')), /magic cookie/);
    assert.throws(() => messageFrame(utf8('HTTP/1.1 200 OK\r\nServer: x\r\n')), /first two bits/);
    assert.throws(() => decodeMessage(SAMPLE.subarray(0, 40)), /does not match/);
    assertFuzzSafe(messageFrame, { seeds: [SAMPLE] });
  });
});
