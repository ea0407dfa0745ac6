// L2TP codec: xl2tpd's SCCRP (captured bytes) decoded, our SCCRQ and StopCCN laid out per RFC 2661, fuzz.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { AVP, avpValue, decodeControl, readU, sccrq, stopCcn, text } from './codec.ts';

// xl2tpd 1.3.18 answering SCCRQ for our tunnel 4242: Message Type 2, version 1.0, framing 3, bearer 3,
// firmware 0x0690, host "portolan-lns", vendor "xelerance.com", assigned tunnel 0xf24e, window 4.
const SCCRP = fromHex(
  'c802006d109200000000000180080000000000028008000000020100800a0000000300000003800a00000004000000000008000000060690801200000007706f72746f6c616e2d6c6e7300130000000878656c6572616e63652e636f6d800800000009f24e80080000000a0004',
);

describe('L2TP codec', () => {
  it('decodes xl2tpd’s SCCRP', () => {
    const m = decodeControl(SCCRP);
    assert.deepEqual([m.tunnelId, m.sessionId, m.ns, m.nr, m.messageType], [4242, 0, 0, 1, 2]);
    assert.equal(text(avpValue(m, AVP.HOST_NAME)), 'portolan-lns');
    assert.equal(text(avpValue(m, AVP.VENDOR_NAME)), 'xelerance.com');
    assert.equal(readU(avpValue(m, AVP.FIRMWARE)), 0x0690);
    assert.equal(readU(avpValue(m, AVP.ASSIGNED_TUNNEL_ID)), 0xf24e);
    assert.equal(readU(avpValue(m, AVP.RECEIVE_WINDOW)), 4);
  });

  it('encodes SCCRQ and StopCCN that decode back', () => {
    const q = decodeControl(sccrq({ tunnelId: 7, hostname: 'portolan', vendor: 'Portolan' }));
    assert.equal(q.messageType, 1);
    assert.equal(readU(avpValue(q, AVP.ASSIGNED_TUNNEL_ID)), 7);
    const s = decodeControl(stopCcn({ peerTunnelId: 0xf24e, ourTunnelId: 7, ns: 1, nr: 1 }));
    assert.deepEqual([s.tunnelId, s.messageType, readU(avpValue(s, AVP.RESULT_CODE))], [0xf24e, 4, 1]);
    assert.throws(() => decodeControl(fromHex('c803000c0000000000000000')), /version 3/);
    assert.equal(decodeControl(fromHex('c802000c1092000000010001')).messageType, 0);
  });

  it('fuzz: any datagram decodes or throws ProtocolError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: SCCRP.length }).map((n) => SCCRP.subarray(0, n))), (b) => {
        try {
          decodeControl(b);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
});
