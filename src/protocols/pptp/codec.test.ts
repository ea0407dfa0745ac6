// PPTP codec: the Start-Control-Connection-Reply pptpd sends (captured bytes), requests as RFC 2637 lays them out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concat, fromHex } from '../../core/bytes.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { controlFrame, decodeStartReply, encodeEchoReply, encodeStartRequest, encodeStopRequest } from './codec.ts';

// pptpd 1.4.0's reply: length 156, control, magic, type 2, version 1.0, result 1, error 0, no framing or
// bearer bits, 1 channel, firmware 1, host "local", vendor "linux".
const SCCRP = concat([fromHex('009c00011a2b3c4d0002000001000100000000000000000000010001'), new TextEncoder().encode('local'.padEnd(64, '\0')), new TextEncoder().encode('linux'.padEnd(64, '\0'))]);

describe('PPTP codec', () => {
  it('decodes pptpd’s Start-Control-Connection-Reply, whole and split', () => {
    const [m] = assertSplitFeed(controlFrame, SCCRP);
    assert.equal(m.type, 2);
    assert.deepEqual(decodeStartReply(m.body), { version: '1.0', result: 1, resultText: 'Successful channel establishment', error: 0, errorText: 'None', framing: [], bearer: [], maxChannels: 1, firmware: 1, hostname: 'local', vendor: 'linux' });
  });

  it('requests have the sizes and fields of RFC 2637', () => {
    const req = encodeStartRequest({ hostname: 'portolan', vendor: 'Portolan', firmware: 1 });
    assert.equal(req.length, 156);
    assert.equal(Buffer.from(req.subarray(0, 28)).toString('hex'), '009c00011a2b3c4d0001000001000000000000030000000300010001');
    assert.equal(Buffer.from(encodeStopRequest()).toString('hex'), '001000011a2b3c4d0003000001000000');
    assert.equal(Buffer.from(encodeEchoReply(fromHex('01020304'))).toString('hex'), '001400011a2b3c4d000600000102030401000000');
    assert.throws(() => controlFrame(fromHex('009c00011a2b3c4e00020000')), /magic cookie/);
  });

  it('fuzz', () => assertFuzzSafe(controlFrame, { seeds: [SCCRP] }));
});
