// The X Window System protocol, version 11 (X Consortium standard, "X Window System Protocol"): connection setup
// (chapter 8), and the requests this client sends — ListExtensions, QueryExtension and GetImage (chapter 9) — with the
// replies, errors and events that may come back (chapter 10, 11). This client always speaks little-endian ('l').
import { ByteReader, ByteWriter, fromLatin1, latin1View } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** Longest additional setup data accepted (the X server's description): 1 MiB. */
const MAX_SETUP = 1 << 20;
/** Longest reply accepted: 64 MiB (a GetImage strip is far smaller). */
export const MAX_REPLY = 64 << 20;

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** The connection setup request (chapter 8), little-endian, with an authorization protocol when given. */
export function encodeSetupRequest(auth?: { name: string; data: Uint8Array }): Uint8Array {
  const name = auth ? Uint8Array.from(auth.name, (c) => c.charCodeAt(0) & 0xff) : new Uint8Array(0);
  const data = auth?.data ?? new Uint8Array(0);
  return new ByteWriter(12 + name.length + data.length + 8)
    .u8(0x6c)
    .u8(0)
    .u16le(11)
    .u16le(0)
    .u16le(name.length)
    .u16le(data.length)
    .u16le(0)
    .bytes(name)
    .bytes(new Uint8Array(pad4(name.length)))
    .bytes(data)
    .bytes(new Uint8Array(pad4(data.length)))
    .finish();
}

export interface Format {
  depth: number;
  bitsPerPixel: number;
  scanlinePad: number;
}

export const VISUAL_CLASSES = ['StaticGray', 'GrayScale', 'StaticColor', 'PseudoColor', 'TrueColor', 'DirectColor'] as const;

export interface Visual {
  id: number;
  class: string;
  bitsPerRgb: number;
  colormapEntries: number;
  redMask: number;
  greenMask: number;
  blueMask: number;
}

export interface Screen {
  root: number;
  defaultColormap: number;
  whitePixel: number;
  blackPixel: number;
  width: number;
  height: number;
  widthMm: number;
  heightMm: number;
  rootVisual: number;
  rootDepth: number;
  backingStores: 'Never' | 'WhenMapped' | 'Always';
  saveUnders: boolean;
  depths: { depth: number; visuals: Visual[] }[];
}

export interface SetupSuccess {
  status: 'success';
  protocolVersion: string;
  release: number;
  resourceIdBase: number;
  resourceIdMask: number;
  motionBufferSize: number;
  vendor: string;
  maxRequestLength: number;
  imageByteOrder: 'LSBFirst' | 'MSBFirst';
  bitmapBitOrder: 'LeastSignificant' | 'MostSignificant';
  bitmapScanlineUnit: number;
  bitmapScanlinePad: number;
  minKeycode: number;
  maxKeycode: number;
  formats: Format[];
  screens: Screen[];
}

export type SetupReply = SetupSuccess | { status: 'failed' | 'authenticate'; protocolVersion?: string; reason: string };

/** The server's answer to the setup request: Failed, Authenticate or Success (chapter 8). */
export const setupReplyFrame: Frame<SetupReply> = (buf) => {
  if (buf.length < 8) return undefined;
  const r = new ByteReader(buf);
  const status = r.u8('status');
  if (status > 2) throw new ProtocolError(`connection setup status ${status} is not Failed, Success or Authenticate`);
  const reasonLength = r.u8('reason length');
  const major = r.u16le('protocol-major-version');
  const minor = r.u16le('protocol-minor-version');
  const extra = r.u16le('additional data length') * 4;
  if (extra > MAX_SETUP) throw new ProtocolError(`connection setup of ${extra} bytes exceeds ${MAX_SETUP}`);
  if (buf.length < 8 + extra) return undefined;
  const size = 8 + extra;
  if (status === 0) return { value: { status: 'failed', protocolVersion: `${major}.${minor}`, reason: fromLatin1(r.bytesN(Math.min(reasonLength, extra), 'reason')).trim() }, size };
  if (status === 2) return { value: { status: 'authenticate', reason: fromLatin1(r.bytesN(extra, 'reason')).replace(/\0+$/, '').trim() }, size };
  const release = r.u32le('release-number');
  const resourceIdBase = r.u32le('resource-id-base');
  const resourceIdMask = r.u32le('resource-id-mask');
  const motionBufferSize = r.u32le('motion-buffer-size');
  const vendorLength = r.u16le('length of vendor');
  const maxRequestLength = r.u16le('maximum-request-length');
  const nScreens = r.u8('number of SCREENs in roots');
  const nFormats = r.u8('number of FORMATs in pixmap-formats');
  const imageByteOrder = r.u8('image-byte-order') === 0 ? 'LSBFirst' : 'MSBFirst';
  const bitmapBitOrder = r.u8('bitmap-format-bit-order') === 0 ? 'LeastSignificant' : 'MostSignificant';
  const bitmapScanlineUnit = r.u8('bitmap-format-scanline-unit');
  const bitmapScanlinePad = r.u8('bitmap-format-scanline-pad');
  const minKeycode = r.u8('min-keycode');
  const maxKeycode = r.u8('max-keycode');
  r.skip(4, 'unused');
  const vendor = fromLatin1(r.bytesN(vendorLength, 'vendor'));
  r.skip(pad4(vendorLength), 'vendor padding');
  const formats: Format[] = [];
  for (let i = 0; i < nFormats; i++) {
    formats.push({ depth: r.u8('depth'), bitsPerPixel: r.u8('bits-per-pixel'), scanlinePad: r.u8('scanline-pad') });
    r.skip(5, 'format padding');
  }
  const screens: Screen[] = [];
  for (let i = 0; i < nScreens; i++) {
    const s = {
      root: r.u32le('root'),
      defaultColormap: r.u32le('default-colormap'),
      whitePixel: r.u32le('white-pixel'),
      blackPixel: r.u32le('black-pixel'),
    };
    r.skip(4, 'current-input-masks');
    const width = r.u16le('width-in-pixels');
    const height = r.u16le('height-in-pixels');
    const widthMm = r.u16le('width-in-millimeters');
    const heightMm = r.u16le('height-in-millimeters');
    r.skip(4, 'installed maps');
    const rootVisual = r.u32le('root-visual');
    const backing = r.u8('backing-stores');
    const saveUnders = r.u8('save-unders') !== 0;
    const rootDepth = r.u8('root-depth');
    const nDepths = r.u8('number of DEPTHs in allowed-depths');
    const depths: Screen['depths'] = [];
    for (let d = 0; d < nDepths; d++) {
      const depth = r.u8('depth');
      r.skip(1, 'unused');
      const nVisuals = r.u16le('number of VISUALTYPES in visuals');
      r.skip(4, 'unused');
      const visuals: Visual[] = [];
      for (let v = 0; v < nVisuals; v++) {
        const id = r.u32le('visual-id');
        const cls = r.u8('class');
        visuals.push({ id, class: VISUAL_CLASSES[cls] ?? `class ${cls}`, bitsPerRgb: r.u8('bits-per-rgb-value'), colormapEntries: r.u16le('colormap-entries'), redMask: r.u32le('red-mask'), greenMask: r.u32le('green-mask'), blueMask: r.u32le('blue-mask') });
        r.skip(4, 'unused');
      }
      depths.push({ depth, visuals });
    }
    screens.push({ ...s, width, height, widthMm, heightMm, rootVisual, rootDepth, backingStores: backing === 0 ? 'Never' : backing === 1 ? 'WhenMapped' : 'Always', saveUnders, depths });
  }
  return {
    value: { status: 'success', protocolVersion: `${major}.${minor}`, release, resourceIdBase, resourceIdMask, motionBufferSize, vendor, maxRequestLength, imageByteOrder, bitmapBitOrder, bitmapScanlineUnit, bitmapScanlinePad, minKeycode, maxKeycode, formats, screens },
    size,
  };
};

/** A server packet after setup: a reply, an error or an event (chapter 10: each 32 bytes, replies longer by 4×length). */
export type Packet =
  | { kind: 'reply'; sequence: number; data1: number; body: Uint8Array }
  | { kind: 'error'; sequence: number; code: number; name: string; badValue: number; minorOpcode: number; majorOpcode: number }
  | { kind: 'event'; code: number };

export const ERROR_NAMES = ['', 'Request', 'Value', 'Window', 'Pixmap', 'Atom', 'Cursor', 'Font', 'Match', 'Drawable', 'Access', 'Alloc', 'Colormap', 'GContext', 'IDChoice', 'Name', 'Length', 'Implementation'];

export const packetFrame: Frame<Packet> = (buf) => {
  if (buf.length < 32) return undefined;
  const r = new ByteReader(buf);
  const type = r.u8('type');
  if (type === 1) {
    const data1 = r.u8('reply data');
    const sequence = r.u16le('sequence number');
    const extra = r.u32le('reply length') * 4;
    if (extra > MAX_REPLY) throw new ProtocolError(`reply of ${extra} bytes exceeds ${MAX_REPLY}`);
    if (buf.length < 32 + extra) return undefined;
    return { value: { kind: 'reply', sequence, data1, body: buf.slice(8, 32 + extra) }, size: 32 + extra };
  }
  if (type === 0) {
    const code = r.u8('error code');
    const sequence = r.u16le('sequence number');
    const badValue = r.u32le('bad value');
    const minorOpcode = r.u16le('minor opcode');
    const majorOpcode = r.u8('major opcode');
    return { value: { kind: 'error', sequence, code, name: ERROR_NAMES[code] ?? `error ${code}`, badValue, minorOpcode, majorOpcode }, size: 32 };
  }
  return { value: { kind: 'event', code: type & 0x7f }, size: 32 };
};

// ---- Requests (chapter 9; encoding in appendix B) ----

export function encodeListExtensions(): Uint8Array {
  return new ByteWriter(4).u8(99).u8(0).u16le(1).finish();
}

export function encodeQueryExtension(name: string): Uint8Array {
  const n = Uint8Array.from(name, (c) => c.charCodeAt(0) & 0xff);
  return new ByteWriter(8 + n.length + 3)
    .u8(98)
    .u8(0)
    .u16le(2 + (n.length + pad4(n.length)) / 4)
    .u16le(n.length)
    .u16le(0)
    .bytes(n)
    .bytes(new Uint8Array(pad4(n.length)))
    .finish();
}

/** GetImage in ZPixmap format with every plane. */
export function encodeGetImage(drawable: number, x: number, y: number, width: number, height: number): Uint8Array {
  return new ByteWriter(20).u8(73).u8(2).u16le(5).u32le(drawable).u16le(x & 0xffff).u16le(y & 0xffff).u16le(width).u16le(height).u32le(0xffffffff).finish();
}

/** ListExtensions reply: STRs (u8 length, then the name). */
export function decodeListExtensions(p: { data1: number; body: Uint8Array }): string[] {
  const r = new ByteReader(p.body, 24);
  const names: string[] = [];
  const { latin1 } = latin1View(p.body);
  for (let i = 0; i < p.data1; i++) {
    const len = r.u8('STR length');
    const at = r.offset;
    r.skip(len, 'STR');
    names.push(latin1.slice(at, at + len));
  }
  return names;
}

export function decodeQueryExtension(p: { body: Uint8Array }): { present: boolean; majorOpcode: number; firstEvent: number; firstError: number } {
  const r = new ByteReader(p.body);
  return { present: r.u8('present') !== 0, majorOpcode: r.u8('major-opcode'), firstEvent: r.u8('first-event'), firstError: r.u8('first-error') };
}

/** GetImage reply: depth, visual and the image bytes. */
export function decodeGetImage(p: { data1: number; body: Uint8Array }): { depth: number; visual: number; data: Uint8Array } {
  const r = new ByteReader(p.body);
  const visual = r.u32le('visual');
  return { depth: p.data1, visual, data: p.body.subarray(24) };
}

/** The bytes one ZPixmap row takes: bits per pixel × width, padded to the scanline pad. */
export function zPixmapStride(width: number, format: Format): number {
  const bits = width * format.bitsPerPixel;
  return Math.ceil(bits / format.scanlinePad) * (format.scanlinePad / 8);
}

/** ZPixmap rows of a TrueColor or DirectColor visual (16, 24 or 32 bits a pixel) as RGBA. */
export function zPixmapToRgba(data: Uint8Array, width: number, height: number, format: Format, visual: Visual, byteOrder: 'LSBFirst' | 'MSBFirst', out: Uint8Array, outRow: number, outWidth: number): void {
  if (visual.class !== 'TrueColor' && visual.class !== 'DirectColor') throw new ProtocolError(`the root visual is ${visual.class}: only TrueColor and DirectColor screens can be captured`);
  const bpp = format.bitsPerPixel;
  if (bpp !== 16 && bpp !== 24 && bpp !== 32) throw new ProtocolError(`${bpp} bits a pixel is not supported (16, 24 or 32)`);
  const stride = zPixmapStride(width, format);
  if (data.length < stride * height) throw new ProtocolError(`GetImage returned ${data.length} bytes for ${width}×${height}, expected ${stride * height}`);
  const channel = (mask: number) => {
    let shift = 0;
    while (shift < 32 && !((mask >>> shift) & 1)) shift++;
    const max = mask >>> shift;
    return { shift, max: max || 1 };
  };
  const R = channel(visual.redMask);
  const G = channel(visual.greenMask);
  const B = channel(visual.blueMask);
  const bytes = bpp / 8;
  const lsb = byteOrder === 'LSBFirst';
  for (let y = 0; y < height; y++) {
    let at = y * stride;
    let o = ((outRow + y) * outWidth) * 4;
    for (let x = 0; x < width; x++, at += bytes, o += 4) {
      let v = 0;
      if (lsb) for (let k = bytes - 1; k >= 0; k--) v = v * 256 + data[at + k];
      else for (let k = 0; k < bytes; k++) v = v * 256 + data[at + k];
      out[o] = Math.round((((v >>> R.shift) & R.max) * 255) / R.max);
      out[o + 1] = Math.round((((v >>> G.shift) & G.max) * 255) / G.max);
      out[o + 2] = Math.round((((v >>> B.shift) & B.max) * 255) / B.max);
      out[o + 3] = 255;
    }
  }
}
