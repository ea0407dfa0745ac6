// OpenFlow codec: HELLO bitmaps and negotiation, ERROR text, FEATURES_REPLY with 1.0 ports, 1.3 and 1.5
// port layouts (annotated bytes), split feed, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, fromHex } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { decodeError, decodeFeatures, decodePorts, encode, encodeHello, encodePortDescRequest, helloVersions, messageFrame, negotiate } from './codec.ts';

const name16 = (s: string) => fromHex(Buffer.from(s.padEnd(16, '\0')).toString('hex'));

describe('OpenFlow codec', () => {
  it('HELLO: our bitmap, theirs, and the highest version in common', () => {
    const hello = encodeHello([1, 4, 6], 7);
    assert.equal(Buffer.from(hello).toString('hex'), '06000010000000070001000800000052');
    const [m] = assertSplitFeed(messageFrame, hello);
    assert.deepEqual(helloVersions(m), [1, 4, 6]);
    // A 1.0 switch sends a bare HELLO: every version up to its header's.
    const [bare] = assertSplitFeed(messageFrame, fromHex('0100000800000001'));
    assert.deepEqual(helloVersions(bare), [1]);
    assert.equal(negotiate([4, 5], bare), null);
    assert.equal(negotiate([1, 4], m), 4);
  });

  it('ERROR HELLO_FAILED keeps the switch’s text', () => {
    const e = decodeError(concat([fromHex('00000000'), new TextEncoder().encode('We support version 0x01, you support version 0x04.')]));
    assert.deepEqual(e, { type: 0, code: 0, typeName: 'HELLO_FAILED', text: 'We support version 0x01, you support version 0x04.' });
  });

  it('FEATURES_REPLY 1.0 with an ofp_phy_port', () => {
    const body = concat([
      fromHex('00000000000000a1' + '00000100' + 'fe' + '000000' + '000000c7' + '00000fff'), // dpid, n_buffers 256, n_tables 254, pad, capabilities, actions
      fromHex('0001' + 'aa55aa55000f'), name16('p1'), fromHex('00000000' + '00000000' + '00'.repeat(16)),
    ]);
    const { features, ports } = decodeFeatures(1, body);
    assert.deepEqual(features, { datapathId: '00:00:00:00:00:00:00:a1', nBuffers: 256, nTables: 254, auxiliaryId: null, capabilities: ['FLOW_STATS', 'TABLE_STATS', 'PORT_STATS', 'QUEUE_STATS', 'ARP_MATCH_IP'] });
    assert.deepEqual(ports, [{ number: '1', name: 'p1', hwAddr: 'aa:55:aa:55:00:0f', config: [], state: [] }]);
  });

  it('ports in the 1.3 layout and the 1.5 layout with an ethernet property', () => {
    const v13 = concat([fromHex('fffffffe' + '00000000' + 'ca8c1fc7e44a' + '0000'), name16('br0'), fromHex('00000001' + '00000004' + '00'.repeat(16) + '00002710' + '00002710')]);
    assert.deepEqual(decodePorts(4, v13), [{ number: 'LOCAL', name: 'br0', hwAddr: 'ca:8c:1f:c7:e4:4a', config: ['PORT_DOWN'], state: ['LIVE'], currentSpeedKbps: 10000, maxSpeedKbps: 10000 }]);
    const v15 = concat([fromHex('00000002' + '0048' + '0000' + 'aa55aa55000e' + '0000'), name16('p2'), fromHex('00000000' + '00000004'), fromHex('0000' + '0020' + '00000000' + '00'.repeat(16) + '000003e8' + '000003e8')]);
    assert.deepEqual(decodePorts(6, v15), [{ number: '2', name: 'p2', hwAddr: 'aa:55:aa:55:00:0e', config: [], state: ['LIVE'], currentSpeedKbps: 1000, maxSpeedKbps: 1000 }]);
    assert.equal(encodePortDescRequest(6, 3).length, 24);
    assert.equal(encodePortDescRequest(4, 3).length, 16);
  });

  it('fuzz: frames and port lists of every version', () => {
    assert.throws(() => messageFrame(fromHex('0000000800000000')), /not an OpenFlow switch/);
    const all: Frame<unknown> = (buf) => {
      const got = messageFrame(buf);
      if (!got) return undefined;
      const m = got.value;
      return { value: m.type === 0 ? helloVersions(m) : m.type === 1 ? decodeError(m.body) : m.type === 6 ? decodeFeatures(m.version, m.body) : decodePorts(m.version, m.body), size: got.size };
    };
    assertFuzzSafe(all, { seeds: [encodeHello([1, 2, 3, 4, 5, 6], 1), encode(1, 6, 2, new Uint8Array(32))] });
  });
});
