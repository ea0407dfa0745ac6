import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daytimeText, parseDaytime } from './codec.ts';

test('the formats real servers send', () => {
  const at = Date.UTC(2026, 10, 26, 14, 52, 24);
  assert.deepEqual(parseDaytime('26 NOV 2026 14:52:24 UTC\r\n'), { ms: at, format: 'xinetd' });
  assert.equal(parseDaytime('Thu Nov 26 14:52:24 2026')!.ms, at);
  assert.equal(parseDaytime('Thu, 26 Nov 2026 16:52:24 +0200')!.ms, at);
  assert.equal(parseDaytime('61095 26-11-26 14:52:24 00 0 0 150.0 UTC(NIST) *')!.ms, at);
  assert.equal(parseDaytime('2026-11-26T14:52:24Z')!.ms, at);
  assert.equal(parseDaytime('teatime'), null);
  assert.equal(parseDaytime('31 FOO 2026 14:52:24 UTC'), null);
});

test('an answer that cannot be daytime is a protocol error naming why', () => {
  assert.equal(daytimeText(new TextEncoder().encode('26 NOV 2026 14:52:24 UTC\r\n'), false), '26 NOV 2026 14:52:24 UTC');
  assert.throws(() => daytimeText(new Uint8Array(1024).fill(0x41), true), /more than 1024 bytes without the server closing/);
  assert.throws(() => daytimeText(Uint8Array.of(0x32, 0x36, 0x00, 0xff), false), /byte 0x00 at offset 2 is not text/);
});
