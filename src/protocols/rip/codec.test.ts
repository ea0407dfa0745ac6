// RIP codec: the whole-table request of RFC 2453 §3.9.1, FRR ripd's response (captured in the lab), auth, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { decodeMessage, encodeRequest } from './codec.ts';

test('rip: a whole-table request is one entry with address family 0 and metric 16', () => {
  assert.equal(toHex(encodeRequest(2)), '01020000' + '0000' + '0000' + '00000000' + '00000000' + '00000000' + '00000010');
  const one = encodeRequest(2, [{ address: Uint8Array.of(198, 51, 100, 0), prefixLength: 25 }]);
  assert.equal(toHex(one), '01020000' + '0002' + '0000' + 'c6336400' + 'ffffff80' + '00000000' + '00000010');
  const auth = encodeRequest(2, [], 'secret');
  assert.equal(toHex(auth.subarray(4, 24)), 'ffff0002' + toHex(new TextEncoder().encode('secret')) + '00'.repeat(10));
});

test("rip: FRR ripd's response — prefixes from the masks, next hop, metric", () => {
  const m = decodeMessage(fromHex('0202000000020000c0000200ffffff00000000000000000100020000c6336400ffffff800000000000000001'));
  assert.equal(m.command, 'response');
  assert.equal(m.version, 2);
  assert.deepEqual(m.routes.map((r) => [r.address, r.prefixLength, r.nextHop, r.metric]), [['192.0.2.0', 24, '0.0.0.0', 1], ['198.51.100.0', 25, '0.0.0.0', 1]]);
  assert.equal(m.auth, null);
});

test('rip: malformed messages name the problem; random bytes throw nothing but ProtocolError', () => {
  assert.throws(() => decodeMessage(fromHex('020200000002')), /not a 4-byte header and 20-byte entries/);
  assert.throws(() => decodeMessage(fromHex('03020000')), /command 3/);
  assert.throws(() => decodeMessage(fromHex('02020000' + '0002000001020304ffffff000000000000000011')), /metric 17/);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
      try {
        decodeMessage(b);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
  );
});
