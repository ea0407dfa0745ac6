// RFB (RFC 6143, with the community extensions of the RFB protocol document): the handshake — ProtocolVersion,
// security types and results, VNC authentication, VeNCrypt — ServerInit, the pixel format, and the client's messages.
// The server's messages after ServerInit (framebuffer updates and their encodings) are in updates.ts.
import { ByteReader, ByteWriter, fromLatin1, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { desEncryptEcb } from '../../core/des.ts';
import { ProtocolError } from '../../core/errors.ts';

/** The largest framebuffer accepted: 2^23 pixels (3840×2160 fits), at most 16384 on a side. Past it: ProtocolError, nothing allocated. */
export const MAX_PIXELS = 1 << 23;
export const MAX_SIDE = 16384;
/** Longest reason, desktop name or clipboard text accepted from a server. */
export const MAX_TEXT = 1 << 20;

export function checkFramebufferSize(width: number, height: number, what = 'framebuffer'): void {
  if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
    throw new ProtocolError(`${what} of ${width}×${height} exceeds the limit of ${MAX_SIDE} pixels a side and ${MAX_PIXELS} pixels in all`, { width, height });
  }
}

// ---- ProtocolVersion (RFC 6143 7.1.1) ----

export interface RfbVersion {
  major: number;
  minor: number;
  text: string;
}

/** "RFB xxx.yyy\n": exactly 12 bytes. */
export const versionFrame: Frame<RfbVersion> = (buf) => {
  if (buf.length < 12) {
    const prefix = fromLatin1(buf.subarray(0, Math.min(4, buf.length)));
    if (!'RFB '.startsWith(prefix)) throw new ProtocolError(`not an RFB server: it sent ${JSON.stringify(fromLatin1(buf.subarray(0, 40)))}`);
    return undefined;
  }
  const text = fromLatin1(buf.subarray(0, 12));
  const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(text);
  if (!m) throw new ProtocolError(`not an RFB ProtocolVersion: ${JSON.stringify(text)}`);
  return { value: { major: Number(m[1]), minor: Number(m[2]), text: text.trim() }, size: 12 };
};

/**
 * The version to speak with a server (RFC 6143 7.1.1: a client answers with a version no higher than the server's; 3.4–3.6
 * count as 3.3; Apple's 3.889 and any 4.x or later speak 3.8's handshake). `want` caps it (to try 3.3 or 3.7 on purpose).
 */
export function chooseVersion(server: RfbVersion, want: 3 | 7 | 8 = 8): 3 | 7 | 8 {
  if (server.major < 3 || (server.major === 3 && server.minor < 3)) throw new ProtocolError(`the server speaks RFB ${server.major}.${server.minor}, older than 3.3`);
  const offered: 3 | 7 | 8 = server.major > 3 || server.minor >= 8 ? 8 : server.minor === 7 ? 7 : 3;
  return Math.min(offered, want) as 3 | 7 | 8;
}

export function encodeVersion(minor: 3 | 7 | 8): Uint8Array {
  return utf8(`RFB 003.00${minor}\n`);
}

// ---- Security (RFC 6143 7.1.2, 7.1.3, 7.2) ----

export const SecurityType = { invalid: 0, none: 1, vncAuth: 2, ra2: 5, ra2ne: 6, tight: 16, ultra: 17, tls: 18, veNCrypt: 19, sasl: 20, md5: 21, xvp: 22, ard: 30, msLogon2: 113, ra2_256: 129, ra2ne_256: 130 } as const;

const SECURITY_NAMES: Record<number, string> = {
  0: 'Invalid', 1: 'None', 2: 'VNC Authentication', 5: 'RA2', 6: 'RA2ne', 16: 'Tight', 17: 'Ultra', 18: 'TLS', 19: 'VeNCrypt',
  20: 'GTK-VNC SASL', 21: 'MD5 hash authentication', 22: 'xvp', 23: 'Secure Tunnel', 24: 'Integrated SSH', 30: 'Apple Remote Desktop (Diffie-Hellman)',
  35: 'Apple Remote Desktop (RSA/SRP)', 113: 'MSLogonII', 129: 'RA2_256', 130: 'RA2ne_256',
};

export function securityTypeName(t: number): string {
  return SECURITY_NAMES[t] ?? (t >= 128 ? `RealVNC ${t}` : `type ${t}`);
}

/** A u32-length-prefixed reason string (failure reasons, RFC 6143 7.1.2, 7.1.3). */
function readReason(r: ByteReader, field: string): string | undefined {
  if (r.remaining < 4) return undefined;
  const len = r.u32(`${field} length`);
  if (len > MAX_TEXT) throw new ProtocolError(`${field}: ${len} bytes exceeds ${MAX_TEXT}`);
  if (r.remaining < len) return undefined;
  return fromUtf8(r.bytesN(len, field));
}

export type SecurityTypes = { types: number[] } | { types: []; reason: string };

/** RFB 3.7+: u8 count, then the types; a count of 0 is followed by the reason for refusing. */
export const securityTypesFrame: Frame<SecurityTypes> = (buf) => {
  const r = new ByteReader(buf);
  const n = r.u8('number-of-security-types');
  if (n === 0) {
    const reason = readReason(r, 'reason');
    return reason === undefined ? undefined : { value: { types: [], reason }, size: r.offset };
  }
  if (r.remaining < n) return undefined;
  return { value: { types: [...r.bytesN(n, 'security-types')] }, size: 1 + n };
};

/** RFB 3.3: the server alone decides, as a u32; 0 is followed by the reason. */
export const securityType33Frame: Frame<{ type: number; reason?: string }> = (buf) => {
  if (buf.length < 4) return undefined;
  const r = new ByteReader(buf);
  const type = r.u32('security-type');
  if (type !== 0) {
    if (type > 255) throw new ProtocolError(`security-type ${type} is not a valid RFB 3.3 type`);
    return { value: { type }, size: 4 };
  }
  const reason = readReason(r, 'reason');
  return reason === undefined ? undefined : { value: { type, reason }, size: r.offset };
};

/** SecurityResult: 0 OK, 1 failed (3.8 adds the reason; TigerVNC sends 2 for "too many attempts"). */
export function securityResultFrame(minor: 3 | 7 | 8): Frame<{ ok: boolean; status: number; reason?: string }> {
  return (buf) => {
    if (buf.length < 4) return undefined;
    const r = new ByteReader(buf);
    const status = r.u32('security-result');
    if (status === 0) return { value: { ok: true, status }, size: 4 };
    if (minor < 8) return { value: { ok: false, status }, size: 4 };
    const reason = readReason(r, 'reason');
    return reason === undefined ? undefined : { value: { ok: false, status, reason }, size: r.offset };
  };
}

/** The reason alone (RFB 3.3's refusal when a type of 0 came without the server's reason, or ServerInit refusals). */
export const reasonFrame: Frame<string> = (buf) => {
  const r = new ByteReader(buf);
  const reason = readReason(r, 'reason');
  return reason === undefined ? undefined : { value: reason, size: r.offset };
};

/**
 * VNC Authentication (RFC 6143 7.2.2): DES-encrypt the 16-byte challenge with the password as key — its first 8 bytes,
 * zero-padded, each byte's bits mirrored (the key's bit order as the original VNC implementation used it).
 */
export function vncAuthResponse(password: string, challenge: Uint8Array): Uint8Array {
  if (challenge.length !== 16) throw new ProtocolError(`VNC authentication challenge is ${challenge.length} bytes, not 16`);
  const key = new Uint8Array(8);
  const pw = utf8(password);
  for (let i = 0; i < 8 && i < pw.length; i++) {
    let b = pw[i];
    let m = 0;
    for (let bit = 0; bit < 8; bit++, b >>= 1) m = (m << 1) | (b & 1);
    key[i] = m;
  }
  return desEncryptEcb(key, challenge);
}

// ---- VeNCrypt (security type 19; the RFB protocol document, "VeNCrypt") ----

export const VeNCryptSubtype = { plain: 256, tlsNone: 257, tlsVnc: 258, tlsPlain: 259, x509None: 260, x509Vnc: 261, x509Plain: 262, tlsSasl: 263, x509Sasl: 264 } as const;

const VENCRYPT_NAMES: Record<number, string> = {
  256: 'Plain', 257: 'TLSNone', 258: 'TLSVnc', 259: 'TLSPlain', 260: 'X509None', 261: 'X509Vnc', 262: 'X509Plain', 263: 'TLSSASL', 264: 'X509SASL',
};

export function veNCryptSubtypeName(t: number): string {
  return VENCRYPT_NAMES[t] ?? (t < 256 ? securityTypeName(t) : `subtype ${t}`);
}

/** TLS with anonymous Diffie-Hellman (no certificate): the TLS* subtypes. X509* use a certificate. */
export function veNCryptUsesTls(t: number): 'anonymous' | 'x509' | false {
  if (t === 257 || t === 258 || t === 259 || t === 263) return 'anonymous';
  if (t === 260 || t === 261 || t === 262 || t === 264) return 'x509';
  return false;
}

/** The server's VeNCrypt version: two bytes, major and minor. */
export const veNCryptVersionFrame: Frame<{ major: number; minor: number }> = (buf) => (buf.length < 2 ? undefined : { value: { major: buf[0], minor: buf[1] }, size: 2 });

/** VeNCrypt 0.2: u8 count, then u32 subtypes. */
export const veNCryptSubtypesFrame: Frame<number[]> = (buf) => {
  if (buf.length < 1) return undefined;
  const n = buf[0];
  if (buf.length < 1 + n * 4) return undefined;
  const r = new ByteReader(buf, 1);
  const types: number[] = [];
  for (let i = 0; i < n; i++) types.push(r.u32('vencrypt subtype'));
  return { value: types, size: 1 + n * 4 };
};

/** Plain credentials: u32 user length, u32 password length, then both. */
export function encodePlainCredentials(user: string, password: string): Uint8Array {
  const u = utf8(user);
  const p = utf8(password);
  return new ByteWriter().u32(u.length).u32(p.length).bytes(u).bytes(p).finish();
}

// ---- ServerInit and the pixel format (RFC 6143 7.3.2, 7.4) ----

export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

/**
 * The format this client asks every server for: 32 bits, depth 24, little-endian, red in the lowest byte. A pixel on the
 * wire is then R G B x — RGBA once the fourth byte is made opaque — and ZRLE's and Tight's 3-byte pixels are R G B.
 */
export const RGBX: PixelFormat = { bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redMax: 255, greenMax: 255, blueMax: 255, redShift: 0, greenShift: 8, blueShift: 16 };

export function decodePixelFormat(r: ByteReader): PixelFormat {
  const pf: PixelFormat = {
    bitsPerPixel: r.u8('bits-per-pixel'),
    depth: r.u8('depth'),
    bigEndian: r.u8('big-endian-flag') !== 0,
    trueColour: r.u8('true-colour-flag') !== 0,
    redMax: r.u16('red-max'),
    greenMax: r.u16('green-max'),
    blueMax: r.u16('blue-max'),
    redShift: r.u8('red-shift'),
    greenShift: r.u8('green-shift'),
    blueShift: r.u8('blue-shift'),
  };
  r.skip(3, 'pixel format padding');
  return pf;
}

export function encodePixelFormat(w: ByteWriter, pf: PixelFormat): ByteWriter {
  return w
    .u8(pf.bitsPerPixel)
    .u8(pf.depth)
    .u8(pf.bigEndian ? 1 : 0)
    .u8(pf.trueColour ? 1 : 0)
    .u16(pf.redMax)
    .u16(pf.greenMax)
    .u16(pf.blueMax)
    .u8(pf.redShift)
    .u8(pf.greenShift)
    .u8(pf.blueShift)
    .u8(0)
    .u8(0)
    .u8(0);
}

export function describePixelFormat(pf: PixelFormat): string {
  if (!pf.trueColour) return `${pf.bitsPerPixel} bpp, depth ${pf.depth}, colour map`;
  const bits = (max: number) => Math.log2(max + 1);
  return `${pf.bitsPerPixel} bpp, depth ${pf.depth}, ${pf.bigEndian ? 'big' : 'little'}-endian, true colour R${bits(pf.redMax)}@${pf.redShift} G${bits(pf.greenMax)}@${pf.greenShift} B${bits(pf.blueMax)}@${pf.blueShift}`;
}

export interface ServerInit {
  width: number;
  height: number;
  pixelFormat: PixelFormat;
  name: string;
}

/** ServerInit: size, pixel format, desktop name. A size past MAX_PIXELS is a ProtocolError here, before anything is allocated. */
export const serverInitFrame: Frame<ServerInit> = (buf) => {
  if (buf.length < 24) return undefined;
  const r = new ByteReader(buf);
  const width = r.u16('framebuffer-width');
  const height = r.u16('framebuffer-height');
  checkFramebufferSize(width, height, 'the desktop');
  const pixelFormat = decodePixelFormat(r);
  if (![8, 16, 32].includes(pixelFormat.bitsPerPixel)) throw new ProtocolError(`bits-per-pixel ${pixelFormat.bitsPerPixel} is not 8, 16 or 32`);
  const len = r.u32('name-length');
  if (len > MAX_TEXT) throw new ProtocolError(`name-length ${len} exceeds ${MAX_TEXT}`);
  if (r.remaining < len) return undefined;
  return { value: { width, height, pixelFormat, name: fromUtf8(r.bytesN(len, 'name-string')) }, size: 24 + len };
};

// ---- Client-to-server messages (RFC 6143 7.5) ----

export const Encoding = {
  raw: 0,
  copyRect: 1,
  rre: 2,
  hextile: 5,
  tight: 7,
  zrle: 16,
  /** Pseudo-encodings. */
  jpegQuality0: -32,
  desktopSize: -223,
  lastRect: -224,
  cursor: -239,
  desktopName: -307,
  extendedDesktopSize: -308,
  compressLevel0: -256,
} as const;

const ENCODING_NAMES: Record<number, string> = { 0: 'Raw', 1: 'CopyRect', 2: 'RRE', 5: 'Hextile', 7: 'Tight', 16: 'ZRLE', [-223]: 'DesktopSize', [-224]: 'LastRect', [-239]: 'Cursor', [-307]: 'DesktopName', [-308]: 'ExtendedDesktopSize', [-312]: 'Fence', [-313]: 'ContinuousUpdates' };

export function encodingName(e: number): string {
  if (ENCODING_NAMES[e]) return ENCODING_NAMES[e];
  if (e >= -32 && e <= -23) return `JPEGQuality${e + 32}`;
  if (e >= -256 && e <= -247) return `CompressLevel${e + 256}`;
  return `encoding ${e}`;
}

export function encodeClientInit(shared: boolean): Uint8Array {
  return Uint8Array.of(shared ? 1 : 0);
}

export function encodeSetPixelFormat(pf: PixelFormat): Uint8Array {
  return encodePixelFormat(new ByteWriter(20).u8(0).u8(0).u8(0).u8(0), pf).finish();
}

export function encodeSetEncodings(encodings: readonly number[]): Uint8Array {
  const w = new ByteWriter(4 + encodings.length * 4).u8(2).u8(0).u16(encodings.length);
  for (const e of encodings) w.i32(e);
  return w.finish();
}

export function encodeUpdateRequest(incremental: boolean, x: number, y: number, width: number, height: number): Uint8Array {
  return new ByteWriter(10).u8(3).u8(incremental ? 1 : 0).u16(x).u16(y).u16(width).u16(height).finish();
}

/** EnableContinuousUpdates (TigerVNC's extension, rfbproto 7.5.5): the server sends updates of the area as it changes, unasked. */
export function encodeEnableContinuousUpdates(enable: boolean, x: number, y: number, width: number, height: number): Uint8Array {
  return new ByteWriter(10).u8(150).u8(enable ? 1 : 0).u16(x).u16(y).u16(width).u16(height).finish();
}

/** Fence flags (rfbproto 7.5.4): what the sender asks of the stream around the fence. */
export const FENCE = { blockBefore: 1, blockAfter: 2, syncNext: 4, request: 0x80000000 } as const;

/** ClientFence: the answer to a server's fence request (its flags without `request`, its payload echoed). */
export function encodeClientFence(flags: number, payload: Uint8Array): Uint8Array {
  return new ByteWriter(9 + payload.length).u8(248).u8(0).u16(0).u32(flags >>> 0).u8(payload.length).bytes(payload).finish();
}

export function encodeKeyEvent(down: boolean, keysym: number): Uint8Array {
  return new ByteWriter(8).u8(4).u8(down ? 1 : 0).u16(0).u32(keysym >>> 0).finish();
}

export function encodePointerEvent(buttonMask: number, x: number, y: number): Uint8Array {
  return new ByteWriter(6).u8(5).u8(buttonMask & 0xff).u16(x).u16(y).finish();
}

/** ClientCutText carries Latin-1 (RFC 6143 7.5.6): characters outside it become '?'. */
export function encodeClientCutText(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    bytes[i] = c < 256 ? c : 0x3f;
  }
  return new ByteWriter(8 + bytes.length).u8(6).u8(0).u8(0).u8(0).u32(bytes.length).bytes(bytes).finish();
}

export interface Screen {
  id: number;
  x: number;
  y: number;
  width: number;
  height: number;
  flags: number;
}

/** SetDesktopSize (ExtendedDesktopSize extension): ask the server for a new size and screen layout. */
export function encodeSetDesktopSize(width: number, height: number, screens: readonly Screen[]): Uint8Array {
  const w = new ByteWriter(8 + screens.length * 16).u8(251).u8(0).u16(width).u16(height).u8(screens.length).u8(0);
  for (const s of screens) w.u32(s.id).u16(s.x).u16(s.y).u16(s.width).u16(s.height).u32(s.flags);
  return w.finish();
}

/** ExtendedDesktopSize status codes (y of the rectangle) for a client's SetDesktopSize. */
export const RESIZE_STATUS: Record<number, string> = { 0: 'ok', 1: 'resize is administratively prohibited', 2: 'out of resources', 3: 'invalid screen layout' };
