// IKEv2 codec: SA proposals and transforms round trip, a whole IKE_SA_INIT message, notifies (INVALID_KE_PAYLOAD
// carries the group wanted), NAT detection input, malformed headers, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { decodeV1Notification, decodeV1Sa, describeV1Transform, encodeV1Sa } from './v1.ts';
import { PAYLOAD, addNonEspMarker, decodeMessage, decodeNotify, decodeSa, describe as describeMessage, encodeMessage, encodeNotify, encodeSa, natDetectionInput, stripNonEspMarker, transformName, type Proposal } from './codec.ts';

const PROPOSAL: Proposal = { number: 1, protocol: 1, spi: new Uint8Array(0), transforms: [{ type: 1, id: 12, keyLength: 256 }, { type: 2, id: 5 }, { type: 3, id: 12 }, { type: 4, id: 15 }] };

describe('IKEv2 codec', () => {
  it('SA payload: proposal and transforms as RFC 7296 section 3.3 lays them out', () => {
    const sa = encodeSa([PROPOSAL]);
    // Proposal header: last, reserved, length 44, number 1, IKE, no SPI, 4 transforms; first transform AES-CBC with key length 256.
    assert.equal(Buffer.from(sa.subarray(0, 20)).toString('hex'), '0000002c01010004' + '0300000c' + '0100000c' + '800e0100');
    assert.deepEqual(decodeSa(sa), [PROPOSAL]);
    assert.deepEqual(PROPOSAL.transforms.map(transformName), ['AES-CBC-256', 'PRF-HMAC-SHA2-256', 'HMAC-SHA2-256-128', 'MODP-3072']);
  });

  it('a whole IKE_SA_INIT with notifies decodes back; INVALID_KE_PAYLOAD carries the group', () => {
    const spiI = fromHex('0102030405060708');
    const msg = encodeMessage({ spiI, spiR: new Uint8Array(8), exchange: 34, flags: 0x20, messageId: 0 }, [
      { type: PAYLOAD.NOTIFY, body: encodeNotify(17, fromHex('000f')) },
      { type: PAYLOAD.VENDOR_ID, body: fromHex('882fe56d6fd20dbc2251613b2ebe5beb') },
    ]);
    const m = decodeMessage(msg);
    assert.deepEqual([m.exchange, m.flags, m.payloads.map((p) => p.type)], [34, 0x20, [41, 43]]);
    assert.deepEqual(decodeNotify(m.payloads[0].body), { protocol: 0, type: 17, spi: new Uint8Array(0), data: fromHex('000f') });
    assert.equal(describeMessage(m), 'IKE_SA_INIT response: N(INVALID_KE_PAYLOAD), Vendor ID');
    assert.equal(natDetectionInput(spiI, new Uint8Array(8), fromHex('7f000001'), 500).length, 8 + 8 + 4 + 2);
  });

  it('the non-ESP marker of the NAT-T port: four zero bytes before the message; anything else there is ESP', () => {
    const msg = encodeMessage({ spiI: fromHex('0102030405060708'), spiR: new Uint8Array(8), exchange: 34, flags: 0x08, messageId: 0 }, []);
    const wrapped = addNonEspMarker(msg);
    assert.equal(Buffer.from(wrapped.subarray(0, 12)).toString('hex'), '00000000' + '0102030405060708');
    assert.deepEqual(stripNonEspMarker(wrapped), msg);
    // An ESP packet starts with its SPI, never zero.
    assert.equal(stripNonEspMarker(fromHex('c0ffee010000000100')), undefined);
    assert.equal(stripNonEspMarker(fromHex('0000')), undefined);
  });

  it('status notifies strongSwan sends carry their IANA names', () => {
    const m = decodeMessage(encodeMessage({ spiI: new Uint8Array(8), spiR: new Uint8Array(8), exchange: 34, flags: 0x20, messageId: 0 }, [16404, 16418, 16430, 16431].map((t) => ({ type: PAYLOAD.NOTIFY, body: encodeNotify(t, new Uint8Array(0)) }))));
    assert.equal(describeMessage(m), 'IKE_SA_INIT response: N(MULTIPLE_AUTH_SUPPORTED), N(CHILDLESS_IKEV2_SUPPORTED), N(IKEV2_FRAGMENTATION_SUPPORTED), N(SIGNATURE_HASH_ALGORITHMS)');
  });

  it('IKEv1 and truncated messages are protocol errors; fuzz', () => {
    const v1 = fromHex('0102030405060708' + '0000000000000000' + '01100200' + '00000000' + '0000001c');
    assert.throws(() => decodeMessage(v1), /IKE major version 1, not 2 \(an IKEv1 responder\)/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          const m = decodeMessage(b);
          for (const p of m.payloads) if (p.type === PAYLOAD.SA) decodeSa(p.body);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('IKEv1: an SA of transforms round-trips with its attributes named; the ISAKMP header decodes as version 1', () => {
    const sa = encodeV1Sa([{ number: 1, id: 1, attributes: [[1, 7], [14, 256], [2, 4], [3, 1], [4, 14], [11, 1], [12, 28800]] }]);
    // DOI 1, situation 1; proposal 1, ISAKMP, no SPI, 1 transform; transform 1 KEY_IKE; AES-CBC as a basic attribute.
    assert.equal(Buffer.from(sa.subarray(0, 28)).toString('hex'), '00000001' + '00000001' + '0000002c' + '01010001' + '00000024' + '01010000' + '80010007');
    const back = decodeV1Sa(sa).transforms[0];
    assert.deepEqual(describeV1Transform(back), { encryption: 'AES-CBC', 'key length': 256, hash: 'SHA2-256', auth: 'pre-shared key', group: 'MODP-2048', 'life type': 'seconds', 'life duration': 28800 });
    const msg = encodeMessage({ spiI: fromHex('0102030405060708'), spiR: new Uint8Array(8), exchange: 2, flags: 0, messageId: 0, version: 0x10 }, [{ type: 1, body: sa }]);
    assert.equal(decodeMessage(msg, 1).payloads[0].body.length, sa.length);
    assert.throws(() => decodeMessage(msg), /IKE major version 1, not 2 \(an IKEv1 responder\)/);
    assert.deepEqual(decodeV1Notification(fromHex('00000001' + '01' + '00' + '000e')), { type: 14, name: 'NO-PROPOSAL-CHOSEN' });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => { try { decodeV1Sa(b); } catch (e) { if (!(e instanceof ProtocolError)) throw e; } }));
  });
});
