// OpenWire codec: the WireFormatInfo ActiveMQ 5.17 sends (captured bytes), ours round-tripped, BrokerInfo in
// loose encoding, limits, split feed and fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteWriter, fromHex } from '../../core/bytes.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { commandFrame, encodeWireFormatInfo } from './codec.ts';

/** The first 0x152+4 bytes ActiveMQ 5.17.2 sent in the lab: WireFormatInfo v12 with 13 properties. */
const BROKER_WFI = fromHex(
  '00000152014163746976654d510000000c01000001400000000d0011537461636b5472616365456e61626c65640101000f506c6174666f726d44657461696c730900044a617661000c4361636865456e61626c6564010100115463704e6f44656c6179456e61626c65640101001253697a6550726566697844697361626c656401000009436163686553697a650500000400000c50726f76696465724e616d650900084163746976654d5100145469676874456e636f64696e67456e61626c65640101000c4d61784672616d6553697a65067fffffffffffffff00154d6178496e61637469766974794475726174696f6e06000000000000753000204d6178496e61637469766974794475726174696f6e496e6974616c44656c617906000000000000271000134d61784672616d6553697a65456e61626c65640101000f50726f766964657256657273696f6e090006352e31372e32',
);

const frame = commandFrame(() => 12);

function brokerInfo(): Uint8Array {
  const str = (w: ByteWriter, s: string | null) => (s === null ? w.u8(0) : w.u8(1).lengthPrefixed('u16', s));
  const w = new ByteWriter().u8(2).i32(0).u8(0); // BrokerInfo, commandId 0, responseRequired false
  w.u8(1).u8(124);
  str(w, 'ID:lab-1'); // brokerId (BrokerId)
  str(w, 'tcp://127.0.0.1:61616'); // brokerURL
  w.u8(1).i16(0); // no peers
  str(w, 'lab'); // brokerName
  w.u8(0).u8(0).u8(0).u8(0).u8(0).i64(7n); // slave, master, fault tolerant, duplex, network, connectionId
  str(w, null);
  str(w, null);
  const body = w.finish();
  return new ByteWriter().lengthPrefixed('u32', body).finish();
}

describe('OpenWire', () => {
  it('decodes the WireFormatInfo ActiveMQ 5.17.2 sends', () => {
    const [c] = assertSplitFeed(frame, BROKER_WFI);
    assert.equal(c.type, 'wireformat');
    if (c.type !== 'wireformat') return;
    assert.equal(c.version, 12);
    assert.equal(c.properties.ProviderName, 'ActiveMQ');
    assert.equal(c.properties.ProviderVersion, '5.17.2');
    assert.equal(c.properties.TightEncodingEnabled, true);
    assert.equal(c.properties.CacheSize, 1024);
    assert.equal(c.properties.MaxInactivityDuration, 30000);
    assert.deepEqual(c.properties.MaxFrameSize, { long: '9223372036854775807' });
  });

  it('our WireFormatInfo round-trips', () => {
    const bytes = encodeWireFormatInfo(12, { TightEncodingEnabled: false, CacheEnabled: false, MaxInactivityDuration: { long: 30000 }, ProviderName: 'Portolan' });
    assert.deepEqual(assertSplitFeed(frame, bytes), [{ type: 'wireformat', version: 12, properties: { TightEncodingEnabled: false, CacheEnabled: false, MaxInactivityDuration: 30000, ProviderName: 'Portolan' } }]);
  });

  it('decodes a loose-encoded BrokerInfo', () => {
    const [b] = assertSplitFeed(frame, brokerInfo());
    assert.deepEqual(b, { type: 'broker', brokerId: 'ID:lab-1', brokerUrl: 'tcp://127.0.0.1:61616', brokerName: 'lab', peers: [], slaveBroker: false, masterBroker: false, faultTolerantConfiguration: false, duplexConnection: false, networkConnection: false, connectionId: 7, brokerUploadUrl: null, networkProperties: null });
  });

  it('a command size over the limit fails from its 4-byte prefix; random bytes only give ProtocolError', () => {
    assert.throws(() => new FrameDecoder(commandFrame(() => 12, 1024)).feed(fromHex('7fffffff01')), /exceeds the 1024-byte limit/);
    assertFuzzSafe(commandFrame(() => 12, 1 << 16), { seeds: [BROKER_WFI, brokerInfo()] });
  });
});
