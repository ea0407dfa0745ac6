import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { address, avp, capabilitiesAvps, COMMAND, decodeAvps, decodeMessage, describeMessage, encodeAvps, encodeMessage, FLAG, messageFrame, u32 } from './codec.ts';

// A CEA as freeDiameter 1.2.1 sent it to a CER from client.portolan.test.
const CEA = fromHex(
  '010000a0000001010000000000001234000056780000010c4000000c000007d100000108400000116c6f63616c686f73740000000000012840000015706f72746f6c616e2e74657374000000000001164000000c6b133cfb000001014000000e0001c000020200000000010a4000000c000000000000010d00000014667265654469616d657465720000010b0000000c000027d9000001024000000cffffffff',
);

test('AVPs: header, vendor flag, padding to 4 (RFC 6733 §4.1), addresses (§4.3.1)', () => {
  assert.equal(toHex(encodeAvps([avp(264, utf8('abc'))])), '000001084000000b61626300');
  assert.equal(toHex(encodeAvps([avp(1, utf8('x'), { vendorId: 10415, mandatory: false })])), '000000018000000d000028af78000000');
  assert.equal(toHex(address('127.0.0.1')), '00017f000001');
  assert.equal(toHex(address('::1')), '0002' + '0'.repeat(31) + '1');
  assert.throws(() => address('nope'), ProtocolError);
});

test('a CER encodes every capability in order, and decodes back', () => {
  const cer = encodeMessage({ flags: FLAG.request, command: COMMAND.CapabilitiesExchange, hopByHop: 0x1234, endToEnd: 0x5678, avps: capabilitiesAvps({ originHost: 'client.portolan.test', originRealm: 'portolan.test', hostIpAddresses: ['127.0.0.1'], vendorId: 0, productName: 'portolan', authApplicationIds: [1, 0xffffffff], firmwareRevision: 1, vendorSpecificApplications: [{ vendorId: 10415, authApplicationId: 16777251 }] }) });
  assert.equal(toHex(cer.subarray(0, 20)), '01' + (cer.length).toString(16).padStart(6, '0') + '80000101' + '00000000' + '00001234' + '00005678');
  const m = decodeMessage(cer);
  assert.deepEqual(m.avps.map((a) => a.name), ['Origin-Host', 'Origin-Realm', 'Host-IP-Address', 'Vendor-Id', 'Product-Name', 'Auth-Application-Id', 'Auth-Application-Id', 'Vendor-Specific-Application-Id', 'Firmware-Revision']);
  assert.equal(m.avps[2].value, '127.0.0.1');
  assert.deepEqual((m.avps[7].value as { name: string; value: unknown }[]).map((a) => [a.name, a.value]), [['Vendor-Id', 10415], ['Auth-Application-Id', 16777251]]);
  assert.equal(m.avps[4].mandatory, false);
  assert.equal(describeMessage(m), 'CER hop-by-hop 0x1234 from client.portolan.test (9 AVPs)');
});

test('freeDiameter\'s CEA, whole, byte by byte and split', () => {
  const [bytes] = assertSplitFeed(messageFrame(), CEA);
  const m = decodeMessage(bytes);
  assert.equal(describeMessage(m), 'CEA hop-by-hop 0x1234 from localhost 2001 DIAMETER_SUCCESS (9 AVPs)');
  const byName = Object.fromEntries(m.avps.map((a) => [a.name, a.value]));
  assert.deepEqual([byName['Product-Name'], byName['Firmware-Revision'], byName['Host-IP-Address'], byName['Auth-Application-Id']], ['freeDiameter', 10201, '192.0.2.2', 0xffffffff]);
});

test('malformed messages and AVPs are protocol errors naming the field; nesting is capped', () => {
  assert.throws(() => messageFrame()(fromHex('02000014')), /version 2/);
  assert.throws(() => messageFrame()(fromHex('01000013')), /message length 19/);
  assert.throws(() => messageFrame()(fromHex('01fffff0')), /exceeds/);
  assert.throws(() => decodeAvps(fromHex('0000010840000004')), /shorter than its header/);
  assert.throws(() => decodeAvps(fromHex('0000010c4000000b000007')), /Unsigned32 of 3 bytes/);
  assert.throws(() => decodeAvps(fromHex('0000010c4000000c0000')), /needs 4 bytes/);
  let nested = encodeAvps([avp(268, u32(2001))]);
  for (let i = 0; i < 12; i++) nested = encodeAvps([avp(279, nested)]);
  assert.throws(() => decodeAvps(nested), /nested deeper than 8/);
});

test('decoders take random and mutated bytes without crashing or looping', () => {
  const frame = (buf: Uint8Array) => {
    const got = messageFrame()(buf);
    if (got) decodeMessage(got.value);
    return got;
  };
  assertFuzzSafe(frame, { seeds: [CEA] });
});
