import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePng } from '../../test/png.ts';
import { crc32, encodePng } from './png.ts';

test('crc32 of "123456789" is the check value 0xCBF43926', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('PNG round trip: RGBA and opaque RGB, repeated rows, odd sizes', async () => {
  const w = 37;
  const h = 23;
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      // Rows 10–14 repeat row 9 (the Up filter's case).
      const yy = y >= 10 && y < 15 ? 9 : y;
      rgba.set([(x * 7) & 255, (yy * 11) & 255, (x * yy) & 255, 255 - x], o);
    }
  }
  const withAlpha = decodePng(await encodePng(rgba, w, h));
  assert.deepEqual([withAlpha.width, withAlpha.height], [w, h]);
  assert.deepEqual(withAlpha.rgba, rgba);
  const opaque = decodePng(await encodePng(rgba, w, h, { opaque: true }));
  const expected = rgba.slice();
  for (let i = 3; i < expected.length; i += 4) expected[i] = 255;
  assert.deepEqual(opaque.rgba, expected);
  await assert.rejects(encodePng(new Uint8Array(3), 1, 1), /expected 1×1×4 bytes/);
});
