import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteWriter, concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { decodeListExtensions, decodeQueryExtension, encodeGetImage, encodeListExtensions, encodeQueryExtension, encodeSetupRequest, packetFrame, setupReplyFrame, zPixmapStride, zPixmapToRgba, type Visual } from './codec.ts';

test('setup request: little-endian X11.0, with and without MIT-MAGIC-COOKIE-1 (name and data padded to 4)', () => {
  assert.equal(toHex(encodeSetupRequest()), '6c00' + '0b00' + '0000' + '0000' + '0000' + '0000');
  const cookie = fromHex('5f3c8e1a9b2d4c6e7f8091a2b3c4d5e6');
  const withCookie = encodeSetupRequest({ name: 'MIT-MAGIC-COOKIE-1', data: cookie });
  assert.equal(toHex(withCookie.subarray(0, 12)), '6c00' + '0b00' + '0000' + '1200' + '1000' + '0000');
  assert.equal(withCookie.length, 12 + 20 + 16);
  assert.deepEqual(withCookie.subarray(12, 30), utf8('MIT-MAGIC-COOKIE-1'));
  assert.deepEqual(withCookie.subarray(32), cookie);
});

// Xvfb's refusal without a cookie (captured from the lab).
const FAILED = fromHex('00400b0000001000417574686f72697a6174696f6e2072657175697265642c20627574206e6f20617574686f72697a6174696f6e2070726f746f636f6c207370656369666965640a');

/** A Success reply with one format, one screen, one depth and one TrueColor visual. */
function success(): Uint8Array {
  const vendor = utf8('The X.Org Foundation'); // 20 bytes, no padding
  const body = new ByteWriter()
    .u32le(12101007).u32le(0x400000).u32le(0x1fffff).u32le(256)
    .u16le(vendor.length).u16le(65535).u8(1).u8(1).u8(0).u8(0).u8(32).u8(32).u8(8).u8(255).u32le(0)
    .bytes(vendor)
    .u8(24).u8(32).u8(32).bytes(new Uint8Array(5))
    .u32le(0x50d).u32le(0x20).u32le(0xffffff).u32le(0).u32le(0).u16le(400).u16le(300).u16le(102).u16le(76).u16le(1).u16le(1).u32le(0x21).u8(0).u8(0).u8(24).u8(1)
    .u8(24).u8(0).u16le(1).u32le(0)
    .u32le(0x21).u8(4).u8(8).u16le(256).u32le(0xff0000).u32le(0xff00).u32le(0xff).u32le(0)
    .finish();
  return concat([new ByteWriter().u8(1).u8(0).u16le(11).u16le(0).u16le(body.length / 4).finish(), body]);
}

test('setup reply: Failed with the reason, Success with vendor, formats, screens and visuals', () => {
  const [failed] = assertSplitFeed(setupReplyFrame, FAILED);
  assert.deepEqual(failed, { status: 'failed', protocolVersion: '11.0', reason: 'Authorization required, but no authorization protocol specified' });
  const [ok] = assertSplitFeed(setupReplyFrame, success());
  assert.equal(ok.status, 'success');
  if (ok.status !== 'success') return;
  assert.equal(ok.vendor, 'The X.Org Foundation');
  assert.equal(ok.release, 12101007);
  assert.deepEqual(ok.formats, [{ depth: 24, bitsPerPixel: 32, scanlinePad: 32 }]);
  assert.equal(ok.screens[0].width, 400);
  assert.equal(ok.screens[0].rootDepth, 24);
  assert.deepEqual(ok.screens[0].depths[0].visuals[0], { id: 0x21, class: 'TrueColor', bitsPerRgb: 8, colormapEntries: 256, redMask: 0xff0000, greenMask: 0xff00, blueMask: 0xff });
  assert.throws(() => setupReplyFrame(fromHex('07000b0000000000')), /status 7/);
  assertFuzzSafe(setupReplyFrame, { seeds: [FAILED, success()] });
});

test('requests: ListExtensions, QueryExtension, GetImage', () => {
  assert.equal(toHex(encodeListExtensions()), '63000100');
  assert.equal(toHex(encodeQueryExtension('RANDR')), '62' + '00' + '0400' + '0500' + '0000' + toHex(utf8('RANDR')) + '000000');
  assert.equal(toHex(encodeGetImage(0x50d, 0, 8, 400, 2)), '49' + '02' + '0500' + '0d050000' + '0000' + '0800' + '9001' + '0200' + 'ffffffff');
});

test('replies, errors and events; ListExtensions and QueryExtension decoded', () => {
  const names = concat([Uint8Array.of(5), utf8('RANDR'), Uint8Array.of(4), utf8('XKEY'), new Uint8Array(1)]);
  const list = concat([new ByteWriter().u8(1).u8(2).u16le(1).u32le(names.length / 4).finish(), new Uint8Array(24), names]);
  const query = concat([new ByteWriter().u8(1).u8(0).u16le(2).u32le(0).u8(1).u8(140).u8(89).u8(147).finish(), new Uint8Array(20)]);
  const error = concat([new ByteWriter().u8(0).u8(9).u16le(3).u32le(0x1234).u16le(0).u8(73).finish(), new Uint8Array(21)]);
  const event = concat([Uint8Array.of(12), new Uint8Array(31)]);
  const packets = assertSplitFeed(packetFrame, concat([list, event, query, error]));
  assert.deepEqual(packets.map((p) => p.kind), ['reply', 'event', 'reply', 'error']);
  assert.deepEqual(decodeListExtensions(packets[0] as { data1: number; body: Uint8Array }), ['RANDR', 'XKEY']);
  assert.deepEqual(decodeQueryExtension(packets[2] as { body: Uint8Array }), { present: true, majorOpcode: 140, firstEvent: 89, firstError: 147 });
  assert.deepEqual(packets[3], { kind: 'error', sequence: 3, code: 9, name: 'Drawable', badValue: 0x1234, minorOpcode: 0, majorOpcode: 73 });
  assert.throws(() => packetFrame(concat([fromHex('01000100ffffffff'), new Uint8Array(24)])), /exceeds/);
  assertFuzzSafe(packetFrame, { seeds: [list, query, error] });
});

test('ZPixmap to RGBA: 32-bit TrueColor little-endian and 16-bit 5-6-5, rows padded', () => {
  const tc: Visual = { id: 1, class: 'TrueColor', bitsPerRgb: 8, colormapEntries: 256, redMask: 0xff0000, greenMask: 0xff00, blueMask: 0xff };
  const out = new Uint8Array(2 * 4);
  zPixmapToRgba(Uint8Array.of(0x30, 0x20, 0x10, 0, 0xff, 0xfe, 0xfd, 0), 2, 1, { depth: 24, bitsPerPixel: 32, scanlinePad: 32 }, tc, 'LSBFirst', out, 0, 2);
  assert.deepEqual([...out], [0x10, 0x20, 0x30, 255, 0xfd, 0xfe, 0xff, 255]);
  const rgb565: Visual = { ...tc, redMask: 0xf800, greenMask: 0x07e0, blueMask: 0x001f };
  const f16 = { depth: 16, bitsPerPixel: 16, scanlinePad: 32 };
  assert.equal(zPixmapStride(1, f16), 4, 'one 16-bit pixel, padded to 32 bits');
  const px = new Uint8Array(4);
  zPixmapToRgba(Uint8Array.of(0x1f, 0xf8, 0, 0), 1, 1, f16, rgb565, 'LSBFirst', px, 0, 1);
  assert.deepEqual([...px], [255, 0, 255, 255]);
  assert.throws(() => zPixmapToRgba(new Uint8Array(4), 1, 1, { depth: 8, bitsPerPixel: 8, scanlinePad: 32 }, { ...tc, class: 'PseudoColor' }, 'LSBFirst', px, 0, 1), /PseudoColor/);
});
