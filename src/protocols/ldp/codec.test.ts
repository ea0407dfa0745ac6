// LDP codec: Hello and Initialization golden bytes, a PDU of several messages as a peer sends them
// (Initialization with capabilities, KeepAlive, Address, Label Mapping), Notification, split feed, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../core/bytes.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  MESSAGE,
  capabilityNames,
  decodeAddresses,
  decodeHello,
  decodeLabelMapping,
  decodeSessionParams,
  decodeStatus,
  describePdu,
  encodeHello,
  encodeInit,
  encodeKeepalive,
  encodeNotification,
  encodePdu,
  pduFrame,
} from './codec.ts';

const ME = { lsrId: '192.0.2.254', labelSpace: 0 };

// From ldpd 198.18.46.1:0: Initialization (session parameters for 192.0.2.254:0, three capabilities), KeepAlive,
// Address (198.18.46.1, 198.18.47.1), Label Mapping (198.18.47.1/32, implicit null).
const PEER_PDU = fromHex(
  '0001' + '0069' + 'c6122e01' + '0000' +
    '0200' + '0025' + '00000001' + '0500000e' + '0001' + '00b4' + '00' + '00' + '0000' + 'c00002fe' + '0000' + // Initialization + Common Session Parameters
    '8506000180' + '850b000180' + '8603000180' + // Dynamic Capability Announcement, Typed Wildcard FEC, Unrecognized Notification (S bit)
    '0201' + '0004' + '00000002' + // KeepAlive
    '0300' + '0012' + '00000003' + '0101000a' + '0001' + 'c6122e01' + 'c6122f01' + // Address
    '0400' + '0018' + '00000004' + '01000008' + '02000120c6122f01' + '02000004' + '00000003', // Label Mapping
);

describe('LDP codec', () => {
  it('a targeted Hello: Common Hello Parameters with T and R, hold time', () => {
    const pdu = encodePdu(ME, [encodeHello(1, { holdTime: 45, targeted: true, requestTargeted: true })]);
    assert.equal(toHex(pdu), '0001' + '0016' + 'c00002fe' + '0000' + '0100' + '000c' + '00000001' + '0400' + '0004' + '002d' + 'c000');
    const [p] = assertSplitFeed(pduFrame, pdu);
    assert.deepEqual(decodeHello(p.messages[0]), { holdTime: 45, targeted: true, requestTargeted: true, transportAddress: null, configSequence: null });
    const withAddress = encodePdu(ME, [encodeHello(2, { holdTime: 15, targeted: false, requestTargeted: false, transportAddress: '198.18.46.2' })]);
    assert.equal(decodeHello(assertSplitFeed(pduFrame, withAddress)[0].messages[0]).transportAddress, '198.18.46.2');
  });

  it('an Initialization round-trips its session parameters', () => {
    const init = encodeInit(7, { version: 1, keepaliveTime: 180, onDemand: true, loopDetection: false, pathVectorLimit: 0, maxPduLength: 0, receiver: { lsrId: '198.18.46.1', labelSpace: 0 } });
    assert.equal(toHex(init), '0200' + '0016' + '00000007' + '0500' + '000e' + '0001' + '00b4' + '80' + '00' + '0000' + 'c6122e01' + '0000');
    const [p] = assertSplitFeed(pduFrame, encodePdu(ME, [init, encodeKeepalive(8)]));
    assert.deepEqual(p.messages.map((m) => [m.type, m.id]), [[MESSAGE.INITIALIZATION, 7], [MESSAGE.KEEPALIVE, 8]]);
    assert.equal(decodeSessionParams(p.messages[0]).onDemand, true);
  });

  it('a peer’s PDU of several messages decodes: session parameters, capabilities, addresses, a label mapping', () => {
    const [p] = assertSplitFeed(pduFrame, PEER_PDU);
    assert.deepEqual(p.ldpId, { lsrId: '198.18.46.1', labelSpace: 0 });
    const [init, ka, addr, map] = p.messages;
    assert.deepEqual(decodeSessionParams(init), { version: 1, keepaliveTime: 180, onDemand: false, loopDetection: false, pathVectorLimit: 0, maxPduLength: 0, receiver: { lsrId: '192.0.2.254', labelSpace: 0 } });
    assert.deepEqual(capabilityNames(init), ['Dynamic Capability Announcement', 'Typed Wildcard FEC Capability', 'Unrecognized Notification Capability']);
    assert.equal(init.tlvs[1].unknownIgnore, true);
    assert.equal(ka.type, MESSAGE.KEEPALIVE);
    assert.deepEqual(decodeAddresses(addr), ['198.18.46.1', '198.18.47.1']);
    assert.deepEqual(decodeLabelMapping(map), { fec: ['198.18.47.1/32'], label: 3 });
    assert.equal(
      describePdu(p),
      'LDP 198.18.46.1:0: Initialization: version 1, KeepAlive 180s, downstream unsolicited, max PDU 4096, for 192.0.2.254:0, Dynamic Capability Announcement, Typed Wildcard FEC Capability, Unrecognized Notification Capability; KeepAlive; Address: 198.18.46.1, 198.18.47.1; Label Mapping: 198.18.47.1/32 label 3',
    );
  });

  it('a Notification carries its status code with the E bit; Shutdown round-trips', () => {
    const [p] = assertSplitFeed(pduFrame, encodePdu(ME, [encodeNotification(9, 0x10, true, { id: 2, type: MESSAGE.INITIALIZATION })]));
    assert.deepEqual(decodeStatus(p.messages[0]), { code: 0x10, name: 'Session Rejected/No Hello', fatal: true, forward: false, messageId: 2, messageType: 0x0200 });
    assert.equal(describePdu(p), 'LDP 192.0.2.254:0: Notification: Session Rejected/No Hello (fatal)');
  });

  it('wrong bytes are protocol errors naming the field; fuzz', () => {
    assert.throws(() => pduFrame(fromHex('0002000a')), /LDP version 2, not 1: not an LDP speaker/);
    assert.throws(() => pduFrame(fromHex('00010004c612')), /LDP PDU length 4 is shorter than the LDP identifier/);
    // A message whose length runs past the PDU.
    assert.throws(() => pduFrame(fromHex('0001000e' + 'c6122e010000' + '02010010' + '00000001')), /KeepAlive parameters: needs 12 bytes/);
    // An address list of an unknown family.
    const [p] = assertSplitFeed(pduFrame, fromHex('00010016' + 'c6122e010000' + '0300000c' + '00000001' + '01010004' + '00070000'));
    assert.throws(() => decodeAddresses(p.messages[0]), /address family 7 is neither IPv4 \(1\) nor IPv6 \(2\)/);
    assertFuzzSafe(pduFrame, { seeds: [PEER_PDU] });
  });
});
