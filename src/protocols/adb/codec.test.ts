import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import { blockFrame, encodeRequest, parseDevices, statusFrame } from './codec.ts';

test('requests carry four hex digits of length', () => {
  assert.equal(fromUtf8(encodeRequest('host:version')), '000chost:version');
  assert.equal(fromUtf8(encodeRequest('host:devices-l')), '000ehost:devices-l');
});

test('OKAY, FAIL with its message, and hex-length blocks, fed byte by byte', () => {
  assert.deepEqual(assertSplitFeed(statusFrame, utf8('OKAYFAIL0014unknown host service')), [{ ok: true }, { ok: false, message: 'unknown host service' }]);
  assert.deepEqual(assertSplitFeed(blockFrame, utf8('000400290000')), ['0029', '']);
  assert.throws(() => statusFrame(utf8('NOPE')), /neither OKAY nor FAIL/);
  assert.throws(() => blockFrame(utf8('00g1x')), /four hex digits/);
});

test('device lists: devices-l properties and track-devices lines', () => {
  assert.deepEqual(parseDevices('127.0.0.1:10009        offline transport_id:1\nemulator-5554 device product:sdk model:Pixel usb:1-1\n'), [
    { serial: '127.0.0.1:10009', state: 'offline', properties: { transport_id: '1' }, extra: [] },
    { serial: 'emulator-5554', state: 'device', properties: { product: 'sdk', model: 'Pixel', usb: '1-1' }, extra: [] },
  ]);
  assert.deepEqual(parseDevices('127.0.0.1:10009\toffline\n'), [{ serial: '127.0.0.1:10009', state: 'offline', properties: {}, extra: [] }]);
  assert.deepEqual(parseDevices(''), []);
});

test('decoders: random bytes end in a value, a wait or a ProtocolError', () => {
  assertFuzzSafe(statusFrame, { seeds: [utf8('FAIL0005hello')] });
  assertFuzzSafe(blockFrame, { seeds: [utf8('0004abcd')] });
});
