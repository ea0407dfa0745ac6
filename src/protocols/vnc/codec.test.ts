import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Deflate, Z_SYNC_FLUSH } from 'pako';
import { ByteWriter, concat, fromHex, toHex, utf8 } from '../../core/bytes.ts';
import { desEncryptEcb } from '../../core/des.ts';
import { ProtocolError } from '../../core/errors.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import {
  RGBX,
  chooseVersion,
  encodeClientCutText,
  encodeKeyEvent,
  encodePlainCredentials,
  encodePointerEvent,
  encodeSetDesktopSize,
  encodeSetEncodings,
  encodeSetPixelFormat,
  encodeUpdateRequest,
  encodeEnableContinuousUpdates,
  encodeClientFence,
  FENCE,
  securityResultFrame,
  securityType33Frame,
  securityTypesFrame,
  serverInitFrame,
  veNCryptSubtypesFrame,
  versionFrame,
  vncAuthResponse,
} from './codec.ts';
import { encodingList } from './client.ts';
import { Framebuffer, decodeViewUpdate, encodeViewUpdate } from './framebuffer.ts';
import { UpdateDecoder, expandIndexed, indexedLength, packIndexed, type ServerEvent } from './updates.ts';

// ---- Handshake (RFC 6143 7.1–7.3) ----

test('ProtocolVersion: 3.3, 3.7, 3.8, and what each server version is answered with', () => {
  const [v] = assertSplitFeed(versionFrame, utf8('RFB 003.008\n'));
  assert.deepEqual(v, { major: 3, minor: 8, text: 'RFB 003.008' });
  assert.equal(chooseVersion(v), 8);
  assert.equal(chooseVersion(v, 3), 3);
  assert.equal(chooseVersion({ major: 3, minor: 889, text: '' }), 8, "Apple's 3.889 speaks 3.8");
  assert.equal(chooseVersion({ major: 3, minor: 5, text: '' }), 3, '3.4–3.6 count as 3.3');
  assert.equal(chooseVersion({ major: 3, minor: 7, text: '' }), 7);
  assert.equal(chooseVersion({ major: 4, minor: 1, text: '' }), 8);
  assert.throws(() => chooseVersion({ major: 3, minor: 2, text: '' }), ProtocolError);
  assert.throws(() => versionFrame(utf8('SSH-')), /not an RFB server/);
  assert.throws(() => versionFrame(utf8('SSH-2.0-OpenSSH\r\n')), /not an RFB ProtocolVersion/);
  assert.throws(() => versionFrame(utf8('RFB 3.8.0000\n')), /not an RFB ProtocolVersion/);
  assertFuzzSafe(versionFrame);
});

test('security types: a list (3.7+), the server\'s one choice (3.3), refusals with the reason', () => {
  assert.deepEqual(assertSplitFeed(securityTypesFrame, fromHex('021302')), [{ types: [19, 2] }]);
  const reason = concat([fromHex('00'), fromHex('0000001a'), utf8('Too many security failures')]);
  assert.deepEqual(assertSplitFeed(securityTypesFrame, reason), [{ types: [], reason: 'Too many security failures' }]);
  assert.deepEqual(assertSplitFeed(securityType33Frame, fromHex('00000002')), [{ type: 2 }]);
  assert.deepEqual(assertSplitFeed(securityType33Frame, concat([fromHex('00000000'), fromHex('00000004'), utf8('busy')])), [{ type: 0, reason: 'busy' }]);
  assert.throws(() => securityType33Frame(fromHex('00000100')), /not a valid RFB 3.3 type/);
  assert.throws(() => securityTypesFrame(fromHex('00ffffffff')), /exceeds/);
  assertFuzzSafe(securityTypesFrame);
  assertFuzzSafe(securityType33Frame);
});

test('SecurityResult: OK; failed with the reason in 3.8, without in 3.7', () => {
  assert.deepEqual(assertSplitFeed(securityResultFrame(8), fromHex('00000000')), [{ ok: true, status: 0 }]);
  const fail = concat([fromHex('00000001'), fromHex('00000016'), utf8('Authentication failure')]);
  assert.deepEqual(assertSplitFeed(securityResultFrame(8), fail), [{ ok: false, status: 1, reason: 'Authentication failure' }]);
  assert.deepEqual(securityResultFrame(7)(fromHex('00000001'))?.value, { ok: false, status: 1 });
  assertFuzzSafe(securityResultFrame(8));
});

test('VNC Authentication: DES of the challenge with the password\'s bytes bit-mirrored as the key', () => {
  const challenge = fromHex('00112233445566778899aabbccddeeff');
  // "password" mirrored byte by byte: p 0x70→0x0e, a 0x61→0x86, s 0x73→0xce, s, w 0x77→0xee, o 0x6f→0xf6, r 0x72→0x4e, d 0x64→0x26.
  const key = fromHex('0e86ceceeef64e26');
  assert.equal(toHex(vncAuthResponse('password', challenge)), toHex(desEncryptEcb(key, challenge)));
  // Only the first 8 characters count; shorter passwords are zero-padded.
  assert.equal(toHex(vncAuthResponse('password-and-more', challenge)), toHex(vncAuthResponse('password', challenge)));
  assert.equal(toHex(vncAuthResponse('', challenge)), toHex(desEncryptEcb(new Uint8Array(8), challenge)));
  assert.throws(() => vncAuthResponse('x', new Uint8Array(8)), /not 16/);
});

test('VeNCrypt: subtype list and Plain credentials', () => {
  assert.deepEqual(assertSplitFeed(veNCryptSubtypesFrame, fromHex('03' + '00000106' + '00000105' + '00000002')), [[262, 261, 2]]);
  assert.equal(toHex(encodePlainCredentials('ab', 'xyz')), '00000002' + '00000003' + '6162' + '78797a');
  assertFuzzSafe(veNCryptSubtypesFrame);
});

// TigerVNC's ServerInit for the lab desktop (captured): 400×300, 32 bpp depth 24 little-endian, red at 16.
const SERVER_INIT = concat([fromHex('0190012c' + '2018000100ff00ff00ff100800000000' + '00000014'), utf8('Portolan lab desktop')]);

test('ServerInit: size, pixel format, name; a 65535×65535 desktop is refused before anything is allocated', () => {
  const [init] = assertSplitFeed(serverInitFrame, SERVER_INIT);
  assert.deepEqual(init, {
    width: 400,
    height: 300,
    name: 'Portolan lab desktop',
    pixelFormat: { bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0 },
  });
  const huge = SERVER_INIT.slice();
  huge.set(fromHex('ffffffff'), 0);
  assert.throws(() => serverInitFrame(huge), (e: unknown) => e instanceof ProtocolError && /65535×65535 exceeds the limit/.test(e.message));
  assert.throws(() => new UpdateDecoder(65535, 65535), ProtocolError);
  assert.throws(() => new Framebuffer(20000, 10), ProtocolError);
  assertFuzzSafe(serverInitFrame, { seeds: [SERVER_INIT] });
});

test('client messages: SetPixelFormat RGBX, SetEncodings, update request, key, pointer, cut text, SetDesktopSize', () => {
  assert.equal(toHex(encodeSetPixelFormat(RGBX)), '00000000' + '20180001' + '00ff00ff00ff' + '000810' + '000000');
  assert.equal(toHex(encodeSetEncodings([7, 16, -224])), '02000003' + '00000007' + '00000010' + 'ffffff20');
  assert.equal(toHex(encodeUpdateRequest(true, 0, 0, 400, 300)), '0301' + '0000' + '0000' + '0190' + '012c');
  assert.equal(toHex(encodeKeyEvent(true, 0xffe1)), '04010000' + '0000ffe1');
  assert.equal(toHex(encodePointerEvent(4, 123, 45)), '0504' + '007b' + '002d');
  assert.equal(toHex(encodeClientCutText('é€')), '06000000' + '00000002' + 'e9' + '3f', 'Latin-1, and ? for what it lacks');
  assert.equal(toHex(encodeSetDesktopSize(320, 240, [{ id: 7, x: 0, y: 0, width: 320, height: 240, flags: 0 }])), 'fb00' + '0140' + '00f0' + '0100' + '00000007' + '0000' + '0000' + '0140' + '00f0' + '00000000');
  assert.deepEqual(encodingList({ encodings: ['tight', 'raw'], desktopSize: true, cursor: true, jpegQuality: 6, compressLevel: 2 }), [7, 0, -26, -254, -308, -223, -307, -239, -224]);
  assert.deepEqual(encodingList({ encodings: ['zrle'], continuous: true }), [16, -313, -312, -224]);
  // rfbproto 7.5.5 EnableContinuousUpdates and 7.5.4 ClientFence (BlockBefore | SyncNext, a 2-byte payload).
  assert.equal(toHex(encodeEnableContinuousUpdates(true, 0, 0, 1280, 800)), '9601' + '0000' + '0000' + '0500' + '0320');
  assert.equal(toHex(encodeClientFence(FENCE.blockBefore | FENCE.syncNext, Uint8Array.of(0xab, 0xcd))), 'f8000000' + '00000005' + '02' + 'abcd');
});

// ---- FramebufferUpdate (RFC 6143 7.6.1, 7.7) ----

function rgbx(r: number, g: number, b: number): number[] {
  return [r, g, b, 0];
}

function rectHeader(x: number, y: number, w: number, h: number, encoding: number): ByteWriter {
  return new ByteWriter().u16(x).u16(y).u16(w).u16(h).i32(encoding);
}

function update(...rects: Uint8Array[]): Uint8Array {
  return concat([new ByteWriter().u8(0).u8(0).u16(rects.length).finish(), ...rects]);
}

function decodeAll(bytes: Uint8Array, w = 64, h = 64): ServerEvent[] {
  return new UpdateDecoder(w, h).feed(bytes);
}

/** Paints the events and returns the framebuffer's pixels as [r, g, b] per pixel, row by row. */
function render(events: ServerEvent[], w: number, h: number): number[][] {
  const fb = new Framebuffer(w, h);
  for (const e of events) fb.apply(e);
  const out: number[][] = [];
  for (let i = 0; i < w * h; i++) out.push([fb.rgba[i * 4], fb.rgba[i * 4 + 1], fb.rgba[i * 4 + 2]]);
  return out;
}

/** Whole, byte by byte and at random points: the same events. */
function assertSplitDecode(bytes: Uint8Array, w: number, h: number): ServerEvent[] {
  const whole = new UpdateDecoder(w, h).feed(bytes);
  const one = new UpdateDecoder(w, h);
  const byByte: ServerEvent[] = [];
  for (let i = 0; i < bytes.length; i++) byByte.push(...one.feed(bytes.subarray(i, i + 1)));
  assert.deepEqual(byByte, whole, 'byte-at-a-time feed differs');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 6 }), (cuts) => {
      const d = new UpdateDecoder(w, h);
      const got: ServerEvent[] = [];
      let at = 0;
      for (const p of [...new Set(cuts)].sort((a, b) => a - b).concat(bytes.length)) {
        got.push(...d.feed(bytes.subarray(at, p)));
        at = p;
      }
      assert.deepEqual(got, whole);
    }),
    { numRuns: 30 },
  );
  return whole;
}

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const BLACK = [0, 0, 0];
const WHITE = [255, 255, 255];

test('Raw and CopyRect', () => {
  const raw = rectHeader(0, 0, 2, 2, 0).bytes(Uint8Array.from([...rgbx(255, 0, 0), ...rgbx(0, 255, 0), ...rgbx(0, 0, 255), ...rgbx(255, 255, 255)])).finish();
  const copy = rectHeader(2, 0, 2, 2, 1).u16(0).u16(0).finish();
  const events = assertSplitDecode(update(raw, copy), 4, 2);
  assert.deepEqual(events.map((e) => e.type), ['update-start', 'pixels', 'copy', 'update-end']);
  assert.deepEqual(render(events, 4, 2), [RED, GREEN, RED, GREEN, BLUE, WHITE, BLUE, WHITE]);
});

test('RRE: background and subrectangles', () => {
  const rre = rectHeader(0, 0, 3, 2, 2).u32(1).bytes(Uint8Array.from(rgbx(0, 0, 255))).bytes(Uint8Array.from(rgbx(255, 0, 0))).u16(1).u16(0).u16(2).u16(2).finish();
  assert.deepEqual(render(assertSplitDecode(update(rre), 3, 2), 3, 2), [BLUE, RED, RED, BLUE, RED, RED]);
});

test('Hextile: raw tile, background kept across tiles, foreground subrectangles, coloured subrectangles', () => {
  // A 20×2 rectangle: two tiles (16×2 and 4×2).
  const tiles = new ByteWriter()
    // tile 1: background blue, foreground red, one subrect 2×1 at (1,1)
    .u8(2 | 4 | 8)
    .bytes(Uint8Array.from(rgbx(0, 0, 255)))
    .bytes(Uint8Array.from(rgbx(255, 0, 0)))
    .u8(1)
    .u8((1 << 4) | 1)
    .u8((1 << 4) | 0)
    // tile 2: background carried over, one coloured subrect (green 1×2 at (3,0))
    .u8(8 | 16)
    .u8(1)
    .bytes(Uint8Array.from(rgbx(0, 255, 0)))
    .u8((3 << 4) | 0)
    .u8((0 << 4) | 1)
    .finish();
  const hex = concat([rectHeader(0, 0, 20, 2, 5).finish(), tiles]);
  const raw = concat([rectHeader(0, 2, 2, 1, 5).finish(), Uint8Array.of(1, ...rgbx(1, 2, 3), ...rgbx(4, 5, 6))]);
  const px = render(assertSplitDecode(update(hex, raw), 20, 3), 20, 3);
  const row0 = px.slice(0, 20);
  const row1 = px.slice(20, 40);
  assert.deepEqual(row0, [...Array(19).fill(BLUE), GREEN]);
  assert.deepEqual(row1, [BLUE, RED, RED, ...Array(16).fill(BLUE), GREEN]);
  assert.deepEqual(px.slice(40, 42), [[1, 2, 3], [4, 5, 6]]);
  assert.throws(() => decodeAll(update(concat([rectHeader(0, 0, 4, 4, 5).finish(), Uint8Array.of(8, 1)]))), /without a background/);
  assert.throws(() => decodeAll(update(concat([rectHeader(0, 0, 4, 4, 5).finish(), Uint8Array.of(2 | 4 | 8, ...rgbx(0, 0, 0), ...rgbx(1, 1, 1), 1, 0x33, 0x11)]))), /outside its 4×4 tile/);
});

/** One zlib stream for several rectangles, flushed after each (as ZRLE and Tight servers do). */
function zlibPieces(...pieces: number[][]): Uint8Array[] {
  const d = new Deflate();
  return pieces.map((p) => {
    const out: Uint8Array[] = [];
    d.onData = (c: Uint8Array) => out.push(c);
    d.push(Uint8Array.from(p), Z_SYNC_FLUSH);
    return concat(out);
  });
}

function zrleRect(x: number, y: number, w: number, h: number, z: Uint8Array): Uint8Array {
  return rectHeader(x, y, w, h, 16).u32(z.length).bytes(z).finish();
}

test('ZRLE: solid, raw, packed palette, plain RLE and palette RLE tiles, one zlib stream across rectangles', () => {
  const [a, b, c, d, e] = zlibPieces(
    [1, 255, 0, 0], // solid red
    [0, 0, 255, 0, 0, 0, 255], // raw: green, blue
    [2, 0, 0, 0, 255, 255, 255, 0b01000000], // palette [black, white], 1 bit: 0 1 (row padded)
    [128, 255, 0, 0, 1, 0, 0, 255, 0], // plain RLE: red ×2, blue ×1
    [130, 0, 255, 0, 255, 255, 255, 0x80, 1, 0x01], // palette RLE: green run of 2, white ×1
  );
  const events = assertSplitDecode(update(zrleRect(0, 0, 3, 1, a), zrleRect(0, 1, 2, 1, b), zrleRect(0, 2, 2, 1, c), zrleRect(0, 3, 3, 1, d), zrleRect(0, 4, 3, 1, e)), 3, 5);
  assert.deepEqual(render(events, 3, 5), [RED, RED, RED, GREEN, BLUE, BLACK, BLACK, WHITE, BLACK, RED, RED, BLUE, GREEN, GREEN, WHITE]);
  const [overrun] = zlibPieces([128, 255, 0, 0, 5]);
  assert.throws(() => decodeAll(update(zrleRect(0, 0, 3, 1, overrun))), /overruns/);
  assert.throws(() => decodeAll(update(rectHeader(0, 0, 2, 2, 16).u32(0x7fffffff).finish())), /ZRLE data of/);
});

function tightRect(x: number, y: number, w: number, h: number, body: number[] | Uint8Array): Uint8Array {
  return concat([rectHeader(x, y, w, h, 7).finish(), Uint8Array.from(body)]);
}

function compactLength(n: number): number[] {
  const out = [n & 0x7f];
  if (n > 0x7f) {
    out[0] |= 0x80;
    out.push((n >> 7) & 0x7f);
    if (n > 0x3fff) {
      out[1] |= 0x80;
      out.push(n >> 14);
    }
  }
  return out;
}

test('Tight: fill, small raw copy, compressed copy, two-colour and four-colour palettes, gradient, stream reset, JPEG, LastRect', () => {
  const fill = tightRect(0, 0, 4, 1, [0x80, 255, 0, 0]);
  const small = tightRect(0, 1, 2, 1, [0x00, 0, 0, 255, 255, 255, 255]); // 6 bytes < 12: sent as is
  const copyData = [0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0]; // 4 green pixels: 12 bytes, compressed on stream 1
  const twoColour = [0, 0, 0, 255, 255, 255, 0b0101_0000];
  const fourColour = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 1, 2, 3, 3, 2, 1, 0, 0, 0, 1, 1];
  const gradient = [10, 20, 30, 5, 5, 5, 5, 5, 5, 5, 5, 5]; // 4×1: each pixel +5 on the one before
  const [zCopy] = zlibPieces(copyData);
  const [zFour] = zlibPieces(fourColour.slice(12));
  const [zGrad] = zlibPieces(gradient);
  const rects = [
    fill,
    small,
    tightRect(0, 2, 4, 1, [0x10, ...compactLength(zCopy.length), ...zCopy]),
    tightRect(0, 3, 4, 1, [0x40, 1, 1, ...twoColour]), // palette filter, 2 colours; 1 byte of data: sent as is
    tightRect(0, 4, 4, 3, [0x60 | 0x04, 1, 3, ...fourColour.slice(0, 12), ...compactLength(zFour.length), ...zFour]), // stream 2, reset 2 first
    tightRect(0, 7, 4, 1, [0x70 | 0x08, 2, ...compactLength(zGrad.length), ...zGrad]), // gradient on stream 3
  ];
  const events = assertSplitDecode(update(...rects), 4, 8);
  const px = render(events, 4, 8);
  assert.deepEqual(px.slice(0, 4), [RED, RED, RED, RED]);
  assert.deepEqual(px.slice(4, 6), [BLUE, WHITE]);
  assert.deepEqual(px.slice(8, 12), [GREEN, GREEN, GREEN, GREEN]);
  assert.deepEqual(px.slice(12, 16), [BLACK, WHITE, BLACK, WHITE]);
  assert.deepEqual(px.slice(16, 28), [RED, GREEN, BLUE, WHITE, WHITE, BLUE, GREEN, RED, RED, RED, GREEN, GREEN]);
  assert.deepEqual(px.slice(28, 32), [[10, 20, 30], [15, 25, 35], [20, 30, 40], [25, 35, 45]]);
  assert.equal(events.filter((e) => e.type === 'fill').length, 1);
  // Palette rectangles reach the browser as indices: Tight sends 1 bit a pixel for two colours, a byte for four, and
  // the view packs four colours into 2 bits; they paint the same.
  const indexed = events.filter((e) => e.type === 'pixels' && e.indexed);
  assert.deepEqual(indexed.map((e) => e.type === 'pixels' && [e.indexed!.bits, e.indexed!.palette.length / 3, e.indexed!.data.length]), [[1, 2, 1], [8, 4, 12]]);
  const view = encodeViewUpdate(indexed);
  assert.equal(view.length, 9 + 3 + 6 + 1 + (9 + 3 + 12 + 3));
  const ops = decodeViewUpdate(view);
  assert.deepEqual(ops.map((o) => o.op === 'indexed' && o.bits), [1, 2]);
  for (const [i, o] of ops.entries()) assert.deepEqual(o.op === 'indexed' && expandIndexed(o, o.width, o.height), (indexed[i] as { rgba: Uint8Array }).rgba);
  assert.throws(() => decodeViewUpdate(Uint8Array.of(6, 0, 0, 0, 0, 0, 1, 0, 1, 3, 0, 2)), /indexed pixels of 3 bits/);
  // JPEG passes through (the browser decodes it); LastRect ends an update announced with 65535 rectangles.
  const jpeg = tightRect(0, 0, 1, 1, [0x90, 3, 0xff, 0xd8, 0xff]);
  const last = rectHeader(0, 0, 0, 0, -224).finish();
  const ev = assertSplitDecode(concat([new ByteWriter().u8(0).u8(0).u16(0xffff).finish(), jpeg, last]), 4, 4);
  assert.deepEqual(ev.map((e) => e.type), ['update-start', 'jpeg', 'update-end']);
  assert.deepEqual((ev[1] as { data: Uint8Array }).data, Uint8Array.of(0xff, 0xd8, 0xff));
  // A JPEG may be larger than the rectangle's pixels (TigerVNC, a noisy 2×2 area at a high quality): passed on whole.
  const bigJpeg = new Uint8Array(5000).fill(0x55);
  const big = assertSplitDecode(update(tightRect(0, 0, 2, 2, [0x90, ...compactLength(bigJpeg.length), ...bigJpeg])), 4, 4);
  assert.deepEqual((big.find((e) => e.type === 'jpeg') as { data: Uint8Array }).data, bigJpeg);
  assert.throws(() => decodeAll(update(tightRect(0, 0, 2, 2, [0xa0]))), /not fill, JPEG or basic/);
  assert.throws(() => decodeAll(update(tightRect(0, 0, 2, 2, [0x40, 7]))), /unknown Tight filter 7/);
  assert.throws(() => decodeAll(update(tightRect(0, 0, 2, 2, [0x40, 1, 2, ...[1, 1, 1, 2, 2, 2, 3, 3, 3], 0, 1, 3, 2]))), /Tight palette index 3 with 3 colours/);
  assert.throws(() => decodeAll(update(tightRect(0, 0, 4, 4, [0x00, 0xff, 0xff, 0x7f]))), /exceeds what the rectangle can need/);
});

test('view updates: a palette of up to 16 colours travels in the fewest bits an index, and paints the same', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 256 }), fc.integer(), (width, height, colours, seed) => {
      let x = seed | 1;
      const data = new Uint8Array(width * height).map(() => ((x = (x * 1103515245 + 12345) | 0) >>> 8) % colours);
      const palette = new Uint8Array(colours * 3).map((_, i) => (i * 37) & 255);
      const ix = { palette, bits: 8 as const, data };
      const packed = packIndexed(ix, width, height);
      const bits = colours <= 2 ? 1 : colours <= 4 ? 2 : colours <= 16 ? 4 : 8;
      assert.equal(packed.bits, bits);
      assert.equal(packed.data.length, indexedLength(bits, width, height));
      assert.deepEqual(expandIndexed(packed, width, height), expandIndexed(ix, width, height));
      const [op] = decodeViewUpdate(encodeViewUpdate([{ type: 'pixels', x: 0, y: 0, width, height, encoding: 7, indexed: ix, rgba: expandIndexed(ix, width, height) }]));
      assert.ok(op.op === 'indexed');
      assert.deepEqual(expandIndexed(op, width, height), expandIndexed(ix, width, height));
    }),
  );
  // 2 bits, a 5-pixel row: one whole byte and one with a pixel in its top bits.
  const two = packIndexed({ palette: new Uint8Array(9), bits: 8, data: Uint8Array.of(0, 1, 2, 1, 2) }, 5, 1);
  assert.deepEqual([two.bits, ...two.data], [2, 0b00_01_10_01, 0b10_00_00_00]);
});

test('pseudo-encodings: DesktopSize, ExtendedDesktopSize, DesktopName, Cursor; a resize moves the bounds', () => {
  const ext = rectHeader(1, 0, 32, 16, -308).u8(1).u8(0).u8(0).u8(0).u32(42).u16(0).u16(0).u16(32).u16(16).u32(0).finish();
  const name = rectHeader(0, 0, 0, 0, -307).u32(3).bytes(utf8('new')).finish();
  const cursor = rectHeader(1, 1, 2, 1, -239).bytes(Uint8Array.from([...rgbx(255, 0, 0), ...rgbx(0, 255, 0)])).u8(0b1000_0000).finish();
  const size = rectHeader(0, 0, 8, 8, -223).finish();
  const events = assertSplitDecode(update(ext, name, cursor, size, rectHeader(7, 7, 1, 1, 0).bytes(Uint8Array.from(rgbx(1, 1, 1))).finish()), 4, 4);
  assert.deepEqual(events[1], { type: 'resize', width: 32, height: 16, reason: 'client', status: 0, screens: [{ id: 42, x: 0, y: 0, width: 32, height: 16, flags: 0 }] });
  assert.deepEqual(events[2], { type: 'desktop-name', name: 'new' });
  assert.deepEqual(events[3], { type: 'cursor', hotX: 1, hotY: 1, width: 2, height: 1, rgba: Uint8Array.of(255, 0, 0, 255, 0, 255, 0, 0) });
  assert.deepEqual(events[4], { type: 'resize', width: 8, height: 8, reason: 'server', status: 0, screens: [] });
  assert.equal(events[5].type, 'pixels', 'the 1×1 rectangle at 7,7 fits the new 8×8 desktop');
  assert.throws(() => decodeAll(update(rectHeader(0, 0, 65535, 65535, -223).finish())), /exceeds the limit/);
});

test('a rectangle outside the framebuffer is a ProtocolError before its pixels are read', () => {
  const d = new UpdateDecoder(64, 64);
  assert.throws(() => d.feed(update(rectHeader(50, 50, 100, 100, 0).finish())), /Raw rectangle 100×100 at 50,50 lies outside the 64×64 framebuffer/);
  assert.throws(() => decodeAll(update(rectHeader(0, 0, 8, 8, 1).u16(60).u16(60).finish())), /CopyRect source/);
  assert.throws(() => decodeAll(update(rectHeader(0, 0, 4, 4, 99).finish())), /encoding 99/);
});

test('other server messages: colour map, bell, cut text, extended clipboard, end of continuous updates, fence, xvp', () => {
  const bytes = concat([
    fromHex('01' + '00' + '0005' + '0001' + 'ffff00000000'),
    fromHex('02'),
    concat([fromHex('03000000' + '00000005'), utf8('hello')]),
    fromHex('03000000' + 'fffffff8' + '10000001' + '00000000'),
    fromHex('96'),
    fromHex('f8000000' + '80000001' + '02' + 'abcd'),
    fromHex('fa' + '00' + '01' + '01'),
  ]);
  const events = assertSplitDecode(bytes, 4, 4);
  assert.deepEqual(events, [
    { type: 'colour-map', first: 5, colours: [[255, 0, 0]] },
    { type: 'bell' },
    { type: 'cut-text', text: 'hello' },
    { type: 'extended-clipboard', flags: 0x10000001, size: 8 },
    { type: 'end-of-continuous-updates' },
    { type: 'fence', flags: 0x80000001, payload: Uint8Array.of(0xab, 0xcd) },
    { type: 'xvp', version: 1, code: 1 },
  ]);
  assert.throws(() => decodeAll(fromHex('03000000' + '7fffffff')), /exceeds/);
  assert.throws(() => decodeAll(fromHex('07')), /unknown server message type 7/);
});

test('view updates: the browser\'s binary form round-trips and paints the same pixels', () => {
  const events: ServerEvent[] = [
    { type: 'pixels', x: 0, y: 0, width: 2, height: 1, rgba: Uint8Array.of(1, 2, 3, 255, 4, 5, 6, 255), encoding: 0 },
    { type: 'fill', x: 2, y: 0, width: 2, height: 2, r: 9, g: 8, b: 7, encoding: 7 },
    { type: 'copy', x: 0, y: 1, width: 2, height: 1, srcX: 0, srcY: 0 },
  ];
  const ops = decodeViewUpdate(encodeViewUpdate(events));
  assert.deepEqual(ops.map((o) => o.op), ['pixels', 'fill', 'copy']);
  const fb = new Framebuffer(4, 2);
  for (const o of ops) {
    if (o.op === 'pixels') fb.putPixels(o, o.rgba);
    else if (o.op === 'fill') fb.fill(o, o.r, o.g, o.b);
    else if (o.op === 'copy') fb.copy(o, o.srcX, o.srcY);
  }
  assert.deepEqual(fb.rgba, new Framebuffer(4, 2).rgba.map((_, i) => [1, 2, 3, 255, 4, 5, 6, 255, 9, 8, 7, 255, 9, 8, 7, 255, 1, 2, 3, 255, 4, 5, 6, 255, 9, 8, 7, 255, 9, 8, 7, 255][i]));
  assert.throws(() => decodeViewUpdate(Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0, 0)), /unknown view operation/);
});

test('the update decoder survives random and mutated input: it decodes, waits, or throws ProtocolError', () => {
  const [z] = zlibPieces([1, 255, 0, 0]);
  const seeds = [
    update(rectHeader(0, 0, 2, 2, 0).bytes(new Uint8Array(16)).finish()),
    update(concat([rectHeader(0, 0, 20, 2, 5).finish(), Uint8Array.of(2 | 4 | 8, ...rgbx(0, 0, 255), ...rgbx(255, 0, 0), 1, 0x11, 0x10, 8 | 16, 1, ...rgbx(0, 255, 0), 0x30, 0x01)])),
    update(zrleRect(0, 0, 3, 1, z)),
    update(tightRect(0, 0, 4, 1, [0x80, 255, 0, 0]), tightRect(0, 1, 2, 1, [0x40, 1, 1, 0, 0, 0, 255, 255, 255, 0x40])),
  ];
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 400 }),
        fc.tuple(fc.constantFrom(...seeds), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 255 })).map(([s, pos, byte]) => {
          const copy = s.slice();
          copy[pos % copy.length] = byte;
          return copy;
        }),
      ),
      (bytes) => {
        try {
          new UpdateDecoder(64, 64).feed(bytes);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      },
    ),
    { numRuns: 1500 },
  );
});
