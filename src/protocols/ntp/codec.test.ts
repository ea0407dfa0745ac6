// NTP codec: golden packets (a chrony reply captured in the lab), timestamps across eras, the §8 sample maths, fuzz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { computeSample, decodePacket, encodeRequest, fromNtp, NTP_UNIX_OFFSET, referenceIdText, toNtp } from './codec.ts';

// chrony 4.3 (`local stratum 10`) answering a client request whose transmit timestamp was e0000000 00000000.
const CHRONY_REPLY = fromHex(
  [
    '24', // LI 0, VN 4, mode 4 (server)
    '0a', // stratum 10
    '00', // poll 0
    'e6', // precision -26 (about 15 ns)
    '00000000', // root delay 0
    '00000000', // root dispersion 0
    '7f7f0101', // reference ID 127.127.1.1 (chrony's local reference)
    'eeb2d36cf75ba1a2', // reference timestamp
    'e000000000000000', // origin timestamp: our transmit timestamp echoed
    'eeb2d36e77a07f27', // receive timestamp (T2)
    'eeb2d36e7b02287c', // transmit timestamp (T3)
  ].join(''),
);

test('ntp: a chrony reply decodes field by field', () => {
  const p = decodePacket(CHRONY_REPLY);
  assert.equal(p.leap, 0);
  assert.equal(p.version, 4);
  assert.equal(p.mode, 4);
  assert.equal(p.stratum, 10);
  assert.equal(p.poll, 0);
  assert.equal(p.precision, -26);
  assert.equal(p.rootDelay, 0);
  assert.equal(referenceIdText(p.stratum, p.referenceId), '127.127.1.1');
  assert.deepEqual(p.origin, { seconds: 0xe0000000, fraction: 0 });
  assert.equal(p.receive.seconds, 0xeeb2d36e);
  assert.equal(p.transmit.fraction, 0x7b02287c);
  assert.equal(p.trailer.length, 0);
  // 0xeeb2d36e seconds since 1900 is 2026-11-26.
  assert.equal(new Date(fromNtp(p.transmit)).toISOString().slice(0, 10), '2026-11-26');
});

test('ntp: a client request is 48 bytes, LI 0 VN 4 mode 3, zero but the transmit timestamp (RFC 4330 §5)', () => {
  const req = encodeRequest({ seconds: 0xeeb2d36e, fraction: 0x80000000 });
  assert.equal(toHex(req), '23' + '00'.repeat(39) + 'eeb2d36e80000000');
  assert.equal(encodeRequest({ seconds: 1, fraction: 2 }, 3)[0], 0x1b);
});

test('ntp: timestamps round-trip, and era 1 (after 2036-02-07) reads right', () => {
  const ms = Date.UTC(2026, 10, 26, 15, 49, 0, 250);
  const t = toNtp(ms);
  assert.equal(t.seconds, Math.floor(ms / 1000) + NTP_UNIX_OFFSET);
  assert.equal(t.fraction, 0x40000000);
  assert.equal(fromNtp(t), ms);
  // 2040-01-01 is in era 1: the 32-bit seconds field has wrapped.
  const later = Date.UTC(2040, 0, 1);
  assert.ok(toNtp(later).seconds < 0x80000000);
  assert.equal(fromNtp(toNtp(later)), later);
});

test('ntp: offset and delay per RFC 5905 §8', () => {
  // Client 100 ms behind, 20 ms each way, 1 ms at the server.
  const t1 = 1000;
  const t2 = t1 + 20 + 100;
  const t3 = t2 + 1;
  const t4 = t3 - 100 + 20;
  const s = computeSample(t1, t2, t3, t4);
  assert.equal(s.offset, 0.1);
  assert.equal(s.delay, 0.04);
});

test('ntp: reference IDs — kiss codes and clock names in ASCII, addresses for stratum 2+', () => {
  assert.equal(referenceIdText(0, new TextEncoder().encode('RATE')), 'RATE');
  assert.equal(referenceIdText(1, Uint8Array.of(0x47, 0x50, 0x53, 0)), 'GPS');
  assert.equal(referenceIdText(2, Uint8Array.of(192, 0, 2, 1)), '192.0.2.1');
  assert.equal(referenceIdText(1, Uint8Array.of(1, 2, 3, 4)), '0x01020304');
});

test('ntp: short and oversized packets are protocol errors; random bytes never throw anything else', () => {
  assert.throws(() => decodePacket(CHRONY_REPLY.subarray(0, 47)), /47 bytes: the header alone is 48/);
  assert.throws(() => decodePacket(new Uint8Array(2000)), ProtocolError);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
      try {
        decodePacket(bytes);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
      }
    }),
    { numRuns: 500 },
  );
});
