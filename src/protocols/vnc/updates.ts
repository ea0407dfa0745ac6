// RFB server-to-client messages (RFC 6143 7.6, and the extensions of the RFB protocol document): FramebufferUpdate
// with the Raw, CopyRect, RRE, Hextile, ZRLE and Tight encodings decoded to RGBA, the DesktopSize,
// ExtendedDesktopSize, LastRect, Cursor and DesktopName pseudo-encodings, SetColourMapEntries, Bell, ServerCutText,
// EndOfContinuousUpdates, ServerFence and xvp.
//
// How it works: the parser is a generator that yields how many bytes it needs next and receives exactly those bytes;
// `feed()` buffers what arrives and runs it as far as the bytes allow, so any split of the stream decodes the same
// (sans-I/O, resumable at every read). Pixels are always in the RGBX format this client sets (codec.ts), so a wire pixel
// is four bytes R G B x and a ZRLE/Tight compact pixel three bytes R G B. Every rectangle is checked against the
// framebuffer before its pixels are read or anything is allocated; zlib output is capped at what the rectangle can need.
import { ByteReader, fromLatin1, fromUtf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { InflateStream } from '../../core/inflate.ts';
import { Encoding, MAX_TEXT, checkFramebufferSize, encodingName, type Screen } from './codec.ts';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type ServerEvent =
  | { type: 'update-start'; rects: number }
  | ({ type: 'pixels'; rgba: Uint8Array; encoding: number; indexed?: Indexed } & Rect)
  | ({ type: 'fill'; r: number; g: number; b: number; encoding: number } & Rect)
  | ({ type: 'copy'; srcX: number; srcY: number } & Rect)
  | ({ type: 'jpeg'; data: Uint8Array } & Rect)
  | { type: 'cursor'; hotX: number; hotY: number; width: number; height: number; rgba: Uint8Array }
  | { type: 'resize'; width: number; height: number; reason: 'server' | 'client' | 'other'; status: number; screens: Screen[] }
  | { type: 'desktop-name'; name: string }
  | { type: 'update-end'; rects: number }
  | { type: 'bell' }
  | { type: 'cut-text'; text: string }
  | { type: 'extended-clipboard'; flags: number; size: number }
  | { type: 'colour-map'; first: number; colours: [number, number, number][] }
  | { type: 'end-of-continuous-updates' }
  | { type: 'fence'; flags: number; payload: Uint8Array }
  | { type: 'xvp'; version: number; code: number };

/**
 * A rectangle as palette indices (Tight's palette filter): 1 bit a pixel, rows padded to a byte, for two colours;
 * a byte a pixel for up to 256. The view session sends it so, a quarter to a thirty-second of its RGBA.
 */
export interface Indexed {
  /** R G B of each colour. */
  palette: Uint8Array;
  /** Bits an index: 8 is a byte a pixel; 1, 2 and 4 pack rows of pixels into whole bytes, most significant first. */
  bits: IndexBits;
  data: Uint8Array;
}

export type IndexBits = 1 | 2 | 4 | 8;

/** Bytes of the indices of a `width`×`height` rectangle at `bits` an index: packed rows end on a whole byte. */
export function indexedLength(bits: IndexBits, width: number, height: number): number {
  return Math.ceil((width * bits) / 8) * height;
}

/**
 * The fewest bits an index for `colours` colours, and the indices repacked to it from a byte a pixel (Tight sends
 * a palette of up to 256 colours as a byte a pixel, and most have 16 colours or fewer).
 */
export function packIndexed(ix: Indexed, width: number, height: number): Indexed {
  const colours = ix.palette.length / 3;
  if (ix.bits !== 8 || colours > 16) return ix;
  const bits: IndexBits = colours <= 2 ? 1 : colours <= 4 ? 2 : 4;
  const perByte = 8 / bits;
  const row = Math.ceil(width / perByte);
  const out = new Uint8Array(row * height);
  const src = ix.data;
  const whole = Math.floor(width / perByte); // bytes a row fills entirely
  for (let y = 0; y < height; y++) {
    let i = y * width;
    let o = y * row;
    const end = o + whole;
    if (bits === 4) for (; o < end; i += 2) out[o++] = (src[i] << 4) | src[i + 1];
    else if (bits === 2) for (; o < end; i += 4) out[o++] = (src[i] << 6) | (src[i + 1] << 4) | (src[i + 2] << 2) | src[i + 3];
    else for (; o < end; i += 8) out[o++] = (src[i] << 7) | (src[i + 1] << 6) | (src[i + 2] << 5) | (src[i + 3] << 4) | (src[i + 4] << 3) | (src[i + 5] << 2) | (src[i + 6] << 1) | src[i + 7];
    // The row's last, partial byte.
    let b = 0;
    for (let shift = 8 - bits; i < (y + 1) * width; shift -= bits) b |= src[i++] << shift;
    if (o < (y + 1) * row) out[o] = b;
  }
  return { palette: ix.palette, bits, data: out };
}

/**
 * The RGBA of an indexed rectangle; indices were checked against the palette when it was decoded. `into`: memory to
 * write it to (at least 4 bytes a pixel, at a multiple of 4 bytes), reused from one rectangle to the next by a painter.
 */
export function expandIndexed(ix: Indexed, width: number, height: number, into?: Uint8Array): Uint8Array {
  const rgba = into ? into.subarray(0, width * height * 4) : new Uint8Array(width * height * 4);
  const out = new Uint32Array(rgba.buffer, rgba.byteOffset, width * height);
  const n = ix.palette.length / 3;
  // Little-endian hosts (all of ours) read R G B A as A<<24 | B<<16 | G<<8 | R.
  const colours = new Uint32Array(256);
  for (let i = 0; i < n; i++) colours[i] = ((255 << 24) | (ix.palette[i * 3 + 2] << 16) | (ix.palette[i * 3 + 1] << 8) | ix.palette[i * 3]) >>> 0;
  const { data } = ix;
  if (ix.bits === 8) {
    for (let i = 0; i < width * height; i++) out[i] = colours[data[i]];
    return rgba;
  }
  const bits = ix.bits;
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  const row = Math.ceil(width / perByte);
  for (let y = 0; y < height; y++) {
    let at = y * width;
    const end = at + width;
    for (let o = y * row; at < end; o++) {
      const b = data[o];
      for (let shift = 8 - bits; shift >= 0 && at < end; shift -= bits) out[at++] = colours[(b >> shift) & mask];
    }
  }
  return rgba;
}

/** A pixels event whose RGBA is expanded only when something reads it (a screenshot; the view sends the indices). */
function indexedPixels(rect: Rect, indexed: Indexed, encoding: number): ServerEvent {
  let rgba: Uint8Array | undefined;
  return {
    type: 'pixels',
    ...rect,
    encoding,
    indexed,
    get rgba() {
      return (rgba ??= expandIndexed(indexed, rect.width, rect.height));
    },
  };
}

/** A rectangle's pixels as a short text, for transcripts and logs. */
export function describeEvent(e: ServerEvent): string {
  switch (e.type) {
    case 'pixels':
    case 'fill':
      return `${encodingName(e.encoding)} ${e.width}×${e.height} at ${e.x},${e.y}${e.type === 'fill' ? ` fill #${hex2(e.r)}${hex2(e.g)}${hex2(e.b)}` : ''}`;
    case 'copy':
      return `CopyRect ${e.width}×${e.height} at ${e.x},${e.y} from ${e.srcX},${e.srcY}`;
    case 'jpeg':
      return `Tight JPEG ${e.width}×${e.height} at ${e.x},${e.y} (${e.data.length} bytes)`;
    case 'resize':
      return `desktop size ${e.width}×${e.height} (${e.reason}${e.status ? `, status ${e.status}` : ''})`;
    case 'cut-text':
      return `ServerCutText ${JSON.stringify(e.text.slice(0, 80))}`;
    default:
      return e.type;
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Tight's compression-control types (high nibble) and filters. */
const TIGHT_FILL = 0x8;
const TIGHT_JPEG = 0x9;
const TIGHT_FILTER_COPY = 0;
const TIGHT_FILTER_PALETTE = 1;
const TIGHT_FILTER_GRADIENT = 2;
/** Tight sends blocks shorter than this uncompressed. */
const TIGHT_MIN_TO_COMPRESS = 12;
/** The largest compact length: 7 + 7 + 8 bits. */
const TIGHT_MAX_LENGTH = 0x3fffff;

/** Bytes one decoded rectangle may take in zlib output at most (ZRLE's worst case is 4 bytes a pixel plus tile headers and palettes). */
function zrleCap(r: Rect): number {
  const tiles = Math.ceil(r.width / 64) * Math.ceil(r.height / 64);
  return r.width * r.height * 4 + tiles * (1 + 127 * 3) + 64;
}

export class UpdateDecoder {
  width: number;
  height: number;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private need: number;
  private readonly gen: Generator<number, never, Uint8Array>;
  private events: ServerEvent[] = [];
  private zrle?: InflateStream;
  private readonly tightStreams: (InflateStream | undefined)[] = [undefined, undefined, undefined, undefined];

  constructor(width: number, height: number) {
    checkFramebufferSize(width, height, 'the desktop');
    this.width = width;
    this.height = height;
    this.gen = this.messages();
    this.need = this.gen.next().value;
  }

  /** Bytes buffered and not yet decoded. */
  get pending(): number {
    return this.queued;
  }

  /** Decodes what the bytes so far allow; the rest waits for the next chunk. */
  feed(chunk: Uint8Array): ServerEvent[] {
    if (chunk.length) {
      this.queue.push(chunk);
      this.queued += chunk.length;
    }
    while (this.queued >= this.need) this.need = this.gen.next(this.take(this.need)).value;
    const out = this.events;
    this.events = [];
    return out;
  }

  private take(n: number): Uint8Array {
    this.queued -= n;
    const first = this.queue[0];
    if (n === 0) return new Uint8Array(0);
    if (first.length >= n) {
      if (first.length === n) this.queue.shift();
      else this.queue[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.queue[0];
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
      if (k === c.length) this.queue.shift();
      else this.queue[0] = c.subarray(k);
    }
    return out;
  }

  private emit(e: ServerEvent): void {
    this.events.push(e);
  }

  private *messages(): Generator<number, never, Uint8Array> {
    for (;;) {
      const type = (yield 1)[0];
      switch (type) {
        case 0:
          yield* this.framebufferUpdate();
          break;
        case 1: {
          const h = new ByteReader(yield 5);
          h.skip(1, 'padding');
          const first = h.u16('first-colour');
          const n = h.u16('number-of-colours');
          const r = new ByteReader(yield n * 6);
          const colours: [number, number, number][] = [];
          for (let i = 0; i < n; i++) colours.push([r.u16('red') >> 8, r.u16('green') >> 8, r.u16('blue') >> 8]);
          this.emit({ type: 'colour-map', first, colours });
          break;
        }
        case 2:
          this.emit({ type: 'bell' });
          break;
        case 3: {
          const h = new ByteReader(yield 7);
          h.skip(3, 'padding');
          const len = h.i32('length');
          if (len < 0) {
            // The extended clipboard (negative length): flags and a payload this client does not use.
            const size = -len;
            if (size < 4 || size > MAX_TEXT) throw new ProtocolError(`extended clipboard message of ${size} bytes`);
            const body = yield size;
            this.emit({ type: 'extended-clipboard', flags: new ByteReader(body).u32('flags'), size });
            break;
          }
          if (len > MAX_TEXT) throw new ProtocolError(`ServerCutText of ${len} bytes exceeds ${MAX_TEXT}`);
          this.emit({ type: 'cut-text', text: fromLatin1(yield len) });
          break;
        }
        case 150:
          this.emit({ type: 'end-of-continuous-updates' });
          break;
        case 248: {
          const h = new ByteReader(yield 8);
          h.skip(3, 'padding');
          const flags = h.u32('flags');
          const len = h.u8('length');
          if (len > 64) throw new ProtocolError(`ServerFence payload of ${len} bytes exceeds 64`);
          this.emit({ type: 'fence', flags, payload: (yield len).slice() });
          break;
        }
        case 250: {
          const b = yield 3;
          this.emit({ type: 'xvp', version: b[1], code: b[2] });
          break;
        }
        default:
          throw new ProtocolError(`unknown server message type ${type}`);
      }
    }
  }

  private *framebufferUpdate(): Generator<number, void, Uint8Array> {
    const h = yield 3;
    const n = (h[1] << 8) | h[2];
    this.emit({ type: 'update-start', rects: n });
    let count = 0;
    for (let i = 0; i < n; i++) {
      const r = new ByteReader(yield 12);
      const rect: Rect = { x: r.u16('x-position'), y: r.u16('y-position'), width: r.u16('width'), height: r.u16('height') };
      const encoding = r.i32('encoding-type');
      if (encoding === Encoding.lastRect) break;
      count++;
      yield* this.rectangle(rect, encoding);
    }
    this.emit({ type: 'update-end', rects: count });
  }

  private checkBounds(r: Rect, encoding: number): void {
    if (r.x + r.width > this.width || r.y + r.height > this.height) {
      throw new ProtocolError(`${encodingName(encoding)} rectangle ${r.width}×${r.height} at ${r.x},${r.y} lies outside the ${this.width}×${this.height} framebuffer`, { ...r, encoding });
    }
  }

  private *rectangle(rect: Rect, encoding: number): Generator<number, void, Uint8Array> {
    switch (encoding) {
      case Encoding.desktopSize:
        checkFramebufferSize(rect.width, rect.height, 'the new desktop');
        this.resize(rect.width, rect.height);
        this.emit({ type: 'resize', width: rect.width, height: rect.height, reason: 'server', status: 0, screens: [] });
        return;
      case Encoding.extendedDesktopSize: {
        const n = (yield 4)[0];
        const r = new ByteReader(yield n * 16);
        const screens: Screen[] = [];
        for (let i = 0; i < n; i++) screens.push({ id: r.u32('id'), x: r.u16('x'), y: r.u16('y'), width: r.u16('width'), height: r.u16('height'), flags: r.u32('flags') });
        const reason = rect.x === 1 ? 'client' : rect.x === 2 ? 'other' : 'server';
        // A refused request (status ≠ 0) carries the unchanged size.
        if (rect.y === 0) {
          checkFramebufferSize(rect.width, rect.height, 'the new desktop');
          this.resize(rect.width, rect.height);
        }
        this.emit({ type: 'resize', width: rect.width, height: rect.height, reason, status: rect.y, screens });
        return;
      }
      case Encoding.desktopName: {
        const len = new ByteReader(yield 4).u32('name-length');
        if (len > MAX_TEXT) throw new ProtocolError(`desktop name of ${len} bytes exceeds ${MAX_TEXT}`);
        this.emit({ type: 'desktop-name', name: fromUtf8(yield len) });
        return;
      }
      case Encoding.cursor: {
        if (rect.width > 256 || rect.height > 256) throw new ProtocolError(`cursor of ${rect.width}×${rect.height} exceeds 256×256`);
        const pixels = yield rect.width * rect.height * 4;
        const maskRow = Math.ceil(rect.width / 8);
        const mask = yield maskRow * rect.height;
        const rgba = new Uint8Array(rect.width * rect.height * 4);
        for (let y = 0; y < rect.height; y++) {
          for (let x = 0; x < rect.width; x++) {
            const i = (y * rect.width + x) * 4;
            rgba[i] = pixels[i];
            rgba[i + 1] = pixels[i + 1];
            rgba[i + 2] = pixels[i + 2];
            rgba[i + 3] = (mask[y * maskRow + (x >> 3)] >> (7 - (x & 7))) & 1 ? 255 : 0;
          }
        }
        this.emit({ type: 'cursor', hotX: rect.x, hotY: rect.y, width: rect.width, height: rect.height, rgba });
        return;
      }
    }
    this.checkBounds(rect, encoding);
    if (rect.width === 0 || rect.height === 0) {
      // An empty rectangle: Raw and CopyRect still carry their fixed parts; ZRLE and Tight their headers.
      if (encoding === Encoding.copyRect) yield 4;
      else if (encoding === Encoding.rre) yield 8;
      else if (encoding === Encoding.zrle) yield* this.zrleRect(rect);
      else if (encoding === Encoding.tight) yield* this.tightRect(rect);
      else if (encoding !== Encoding.raw && encoding !== Encoding.hextile) throw new ProtocolError(`unsupported encoding ${encodingName(encoding)}`);
      return;
    }
    switch (encoding) {
      case Encoding.raw:
        return yield* this.rawRect(rect);
      case Encoding.copyRect: {
        const r = new ByteReader(yield 4);
        const srcX = r.u16('src-x-position');
        const srcY = r.u16('src-y-position');
        if (srcX + rect.width > this.width || srcY + rect.height > this.height) {
          throw new ProtocolError(`CopyRect source ${rect.width}×${rect.height} at ${srcX},${srcY} lies outside the ${this.width}×${this.height} framebuffer`);
        }
        this.emit({ type: 'copy', ...rect, srcX, srcY });
        return;
      }
      case Encoding.rre:
        return yield* this.rreRect(rect);
      case Encoding.hextile:
        return yield* this.hextileRect(rect);
      case Encoding.zrle:
        return yield* this.zrleRect(rect);
      case Encoding.tight:
        return yield* this.tightRect(rect);
      default:
        throw new ProtocolError(`the server sent encoding ${encodingName(encoding)}, which this client did not ask for`);
    }
  }

  private resize(width: number, height: number): void {
    this.width = width;
    this.height = height;
  }

  /** Raw (RFC 6143 7.7.1): width×height pixels, row by row; read a row at a time. */
  private *rawRect(rect: Rect): Generator<number, void, Uint8Array> {
    const stride = rect.width * 4;
    const rgba = new Uint8Array(stride * rect.height);
    // Rows in batches of about 64 KiB: one buffer copy each, not one per row.
    const batch = Math.max(1, Math.floor(65536 / stride));
    for (let y = 0; y < rect.height; y += batch) {
      const rows = Math.min(batch, rect.height - y);
      rgba.set(yield rows * stride, y * stride);
    }
    opaque(rgba);
    this.emit({ type: 'pixels', ...rect, rgba, encoding: Encoding.raw });
  }

  /** RRE (RFC 6143 7.7.3): a background and coloured subrectangles. */
  private *rreRect(rect: Rect): Generator<number, void, Uint8Array> {
    const h = new ByteReader(yield 8);
    const n = h.u32('number-of-subrectangles');
    const bg = h.bytesN(4, 'background-pixel-value');
    if (n > rect.width * rect.height) throw new ProtocolError(`RRE: ${n} subrectangles in ${rect.width}×${rect.height}`);
    const rgba = new Uint8Array(rect.width * rect.height * 4);
    fillRgba(rgba, rect.width, 0, 0, rect.width, rect.height, bg[0], bg[1], bg[2]);
    for (let done = 0; done < n; ) {
      const k = Math.min(n - done, 4096);
      const r = new ByteReader(yield k * 12);
      for (let i = 0; i < k; i++) {
        const px = r.bytesN(4, 'subrect-pixel-value');
        const x = r.u16('x-position');
        const y = r.u16('y-position');
        const w = r.u16('width');
        const hh = r.u16('height');
        if (x + w > rect.width || y + hh > rect.height) throw new ProtocolError(`RRE subrectangle ${w}×${hh} at ${x},${y} lies outside its ${rect.width}×${rect.height} rectangle`);
        fillRgba(rgba, rect.width, x, y, w, hh, px[0], px[1], px[2]);
      }
      done += k;
    }
    this.emit({ type: 'pixels', ...rect, rgba, encoding: Encoding.rre });
  }

  /**
   * Hextile (RFC 6143 7.7.4): 16×16 tiles left to right, top to bottom; each raw, or a background (kept from the tile
   * before when not given) with optional subrectangles in the foreground colour or each in its own.
   */
  private *hextileRect(rect: Rect): Generator<number, void, Uint8Array> {
    const rgba = new Uint8Array(rect.width * rect.height * 4);
    let bg: [number, number, number] | undefined;
    let fg: [number, number, number] | undefined;
    for (let ty = 0; ty < rect.height; ty += 16) {
      const th = Math.min(16, rect.height - ty);
      for (let tx = 0; tx < rect.width; tx += 16) {
        const tw = Math.min(16, rect.width - tx);
        const sub = (yield 1)[0];
        if (sub & 1) {
          const px = yield tw * th * 4;
          for (let row = 0; row < th; row++) rgba.set(px.subarray(row * tw * 4, (row + 1) * tw * 4), ((ty + row) * rect.width + tx) * 4);
          continue;
        }
        if (sub & 0xe0) throw new ProtocolError(`Hextile subencoding ${sub} has unknown bits`);
        const head = (sub & 2 ? 4 : 0) + (sub & 4 ? 4 : 0) + (sub & 8 ? 1 : 0);
        const h = head ? yield head : new Uint8Array(0);
        let at = 0;
        if (sub & 2) {
          bg = [h[0], h[1], h[2]];
          at += 4;
        }
        if (!bg) throw new ProtocolError('Hextile tile without a background, and none before it');
        fillRgba(rgba, rect.width, tx, ty, tw, th, bg[0], bg[1], bg[2]);
        if (sub & 4) {
          fg = [h[at], h[at + 1], h[at + 2]];
          at += 4;
        }
        if (!(sub & 8)) continue;
        const n = h[at];
        const coloured = (sub & 16) !== 0;
        if (!coloured && !fg) throw new ProtocolError('Hextile subrectangles without a foreground colour');
        const body = yield n * (coloured ? 6 : 2);
        for (let i = 0, o = 0; i < n; i++) {
          let c = fg!;
          if (coloured) {
            c = [body[o], body[o + 1], body[o + 2]];
            o += 4;
          }
          const xy = body[o++];
          const wh = body[o++];
          const sx = xy >> 4;
          const sy = xy & 15;
          const sw = (wh >> 4) + 1;
          const sh = (wh & 15) + 1;
          if (sx + sw > tw || sy + sh > th) throw new ProtocolError(`Hextile subrectangle ${sw}×${sh} at ${sx},${sy} lies outside its ${tw}×${th} tile`);
          fillRgba(rgba, rect.width, tx + sx, ty + sy, sw, sh, c[0], c[1], c[2]);
        }
        // Coloured subrectangles leave the foreground undefined for the next tile (RFC 6143 7.7.4).
        if (coloured) fg = undefined;
      }
    }
    this.emit({ type: 'pixels', ...rect, rgba, encoding: Encoding.hextile });
  }

  /** ZRLE (RFC 6143 7.7.6): one zlib stream per connection; 64×64 tiles of raw, solid, packed-palette or run-length pixels. */
  private *zrleRect(rect: Rect): Generator<number, void, Uint8Array> {
    const len = new ByteReader(yield 4).u32('length');
    const cap = zrleCap(rect);
    if (len > cap + (cap >> 6) + 1024) throw new ProtocolError(`ZRLE data of ${len} bytes for a ${rect.width}×${rect.height} rectangle`);
    const zlib = yield len;
    if (rect.width === 0 || rect.height === 0) return;
    this.zrle ??= new InflateStream('ZRLE zlib stream', { checksum: false });
    const data = this.zrle.inflate(zlib, { max: cap });
    const rgba = decodeZrleTiles(data, rect.width, rect.height);
    this.emit({ type: 'pixels', ...rect, rgba, encoding: Encoding.zrle });
  }

  /** Tight (the RFB protocol document, "Tight Encoding"): fill, JPEG, or basic compression with copy, palette or gradient filters. */
  private *tightRect(rect: Rect): Generator<number, void, Uint8Array> {
    const control = (yield 1)[0];
    for (let i = 0; i < 4; i++) if (control & (1 << i)) this.tightStreams[i] = undefined;
    const kind = control >> 4;
    if (kind === TIGHT_FILL) {
      const c = yield 3;
      this.emit({ type: 'fill', ...rect, r: c[0], g: c[1], b: c[2], encoding: Encoding.tight });
      return;
    }
    if (kind === TIGHT_JPEG) {
      // A JPEG has no size bound in its pixels: a small, noisy rectangle at a high quality can take more than 4 bytes
      // a pixel (TigerVNC sent 87,956 bytes for 19,985 pixels here). The compact length bounds it (4 MiB).
      const len = yield* this.compactLength(TIGHT_MAX_LENGTH);
      this.emit({ type: 'jpeg', ...rect, data: (yield len).slice() });
      return;
    }
    if (kind > TIGHT_JPEG) throw new ProtocolError(`Tight compression control 0x${control.toString(16)} is not fill, JPEG or basic`);
    const stream = kind & 3;
    let filter = TIGHT_FILTER_COPY;
    if (kind & 4) filter = (yield 1)[0];
    const { width, height } = rect;
    let palette: Uint8Array | undefined;
    let size: number;
    if (filter === TIGHT_FILTER_PALETTE) {
      const colours = (yield 1)[0] + 1;
      if (colours < 2) throw new ProtocolError('Tight palette of 1 colour');
      palette = (yield colours * 3).slice();
      size = colours === 2 ? Math.ceil(width / 8) * height : width * height;
    } else if (filter === TIGHT_FILTER_COPY || filter === TIGHT_FILTER_GRADIENT) {
      size = width * height * 3;
    } else throw new ProtocolError(`unknown Tight filter ${filter}`);
    let data: Uint8Array;
    if (size < TIGHT_MIN_TO_COMPRESS) data = yield size;
    else {
      const len = yield* this.compactLength(size + (size >> 3) + 1024);
      const zlib = yield len;
      const s = (this.tightStreams[stream] ??= new InflateStream(`Tight zlib stream ${stream}`, { checksum: false }));
      data = s.inflate(zlib, { exact: size });
    }
    if (width === 0 || height === 0) return;
    if (palette) {
      const n = palette.length / 3;
      if (n > 2) {
        const top = largest(data, width * height);
        if (top >= n) throw new ProtocolError(`Tight palette index ${top} with ${n} colours`);
      }
      // Short blocks arrive uncompressed, as a view of the receive buffer.
      this.emit(indexedPixels(rect, { palette, bits: n === 2 ? 1 : 8, data: size < TIGHT_MIN_TO_COMPRESS ? data.slice() : data }, Encoding.tight));
      return;
    }
    const rgba = new Uint8Array(width * height * 4);
    if (filter === TIGHT_FILTER_GRADIENT) {
      gradient(data, width, height, rgba);
    } else {
      for (let i = 0, o = 0; i < data.length; i += 3, o += 4) {
        rgba[o] = data[i];
        rgba[o + 1] = data[i + 1];
        rgba[o + 2] = data[i + 2];
        rgba[o + 3] = 255;
      }
    }
    this.emit({ type: 'pixels', ...rect, rgba, encoding: Encoding.tight });
  }

  /** Tight's compact length: 1–3 bytes, 7 bits each, low bits first (the third byte's 8 bits: at most TIGHT_MAX_LENGTH). */
  private *compactLength(max: number): Generator<number, number, Uint8Array> {
    let len = 0;
    for (let i = 0; i < 3; i++) {
      const b = (yield 1)[0];
      len |= (i === 2 ? b : b & 0x7f) << (7 * i);
      if (i === 2 || !(b & 0x80)) break;
    }
    if (len > max) throw new ProtocolError(`Tight data length ${len} exceeds what the rectangle can need (${max})`);
    return len;
  }
}

/** The largest of the first `n` bytes (a plain loop: a generator's body is optimised less). */
function largest(data: Uint8Array, n: number): number {
  let top = 0;
  for (let i = 0; i < n; i++) if (data[i] > top) top = data[i];
  return top;
}

function setPixel(rgba: Uint8Array, o: number, src: Uint8Array, i: number): void {
  rgba[o] = src[i];
  rgba[o + 1] = src[i + 1];
  rgba[o + 2] = src[i + 2];
  rgba[o + 3] = 255;
}

/** Sets every fourth byte (alpha) to 255: RGBX as RGBA. */
function opaque(rgba: Uint8Array): void {
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
}

/** Fills a w×h area at (x, y) of an RGBA image `stride` pixels wide. */
export function fillRgba(rgba: Uint8Array, stride: number, x: number, y: number, w: number, h: number, r: number, g: number, b: number): void {
  const word = new Uint32Array(rgba.buffer, rgba.byteOffset, rgba.length >> 2);
  // Little-endian hosts (all of ours) read R G B A as A<<24 | B<<16 | G<<8 | R.
  const v = (255 << 24) | (b << 16) | (g << 8) | r;
  for (let row = y; row < y + h; row++) word.fill(v, row * stride + x, row * stride + x + w);
}

/** Tight's gradient filter: each channel predicted as left + above − above-left, clamped; the data is the difference. */
function gradient(data: Uint8Array, width: number, height: number, rgba: Uint8Array): void {
  const prev = new Uint8Array(width * 3);
  const cur = new Uint8Array(width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const left = x > 0 ? cur[(x - 1) * 3 + c] : 0;
        const above = prev[x * 3 + c];
        const corner = x > 0 ? prev[(x - 1) * 3 + c] : 0;
        const predicted = Math.min(255, Math.max(0, left + above - corner));
        cur[x * 3 + c] = (data[(y * width + x) * 3 + c] + predicted) & 0xff;
      }
      const o = (y * width + x) * 4;
      rgba[o] = cur[x * 3];
      rgba[o + 1] = cur[x * 3 + 1];
      rgba[o + 2] = cur[x * 3 + 2];
      rgba[o + 3] = 255;
    }
    prev.set(cur);
  }
}

/** ZRLE's tiles from one rectangle's inflated data. */
export function decodeZrleTiles(data: Uint8Array, width: number, height: number): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  const r = new ByteReader(data);
  const palette = new Uint8Array(128 * 3);
  for (let ty = 0; ty < height; ty += 64) {
    const th = Math.min(64, height - ty);
    for (let tx = 0; tx < width; tx += 64) {
      const tw = Math.min(64, width - tx);
      const sub = r.u8('ZRLE subencoding');
      const at = (px: number) => ((ty + Math.floor(px / tw)) * width + tx + (px % tw)) * 4;
      if (sub === 0) {
        const raw = r.bytesN(tw * th * 3, 'ZRLE raw tile');
        for (let i = 0; i < tw * th; i++) setPixel(rgba, at(i), raw, i * 3);
      } else if (sub === 1) {
        const c = r.bytesN(3, 'ZRLE solid colour');
        fillRgba(rgba, width, tx, ty, tw, th, c[0], c[1], c[2]);
      } else if (sub <= 16) {
        palette.set(r.bytesN(sub * 3, 'ZRLE palette'));
        const bits = sub === 2 ? 1 : sub <= 4 ? 2 : 4;
        const rowBytes = Math.ceil((tw * bits) / 8);
        const packed = r.bytesN(rowBytes * th, 'ZRLE packed pixels');
        const mask = (1 << bits) - 1;
        for (let y = 0; y < th; y++) {
          for (let x = 0; x < tw; x++) {
            const bit = x * bits;
            const idx = (packed[y * rowBytes + (bit >> 3)] >> (8 - bits - (bit & 7))) & mask;
            if (idx >= sub) throw new ProtocolError(`ZRLE palette index ${idx} with ${sub} colours`);
            setPixel(rgba, ((ty + y) * width + tx + x) * 4, palette, idx * 3);
          }
        }
      } else if (sub === 128 || sub >= 130) {
        const paletted = sub !== 128;
        const n = sub - 128;
        if (paletted) palette.set(r.bytesN(n * 3, 'ZRLE palette'));
        const total = tw * th;
        for (let px = 0; px < total; ) {
          let colour: Uint8Array;
          let ci: number;
          let run = 1;
          if (paletted) {
            const b = r.u8('ZRLE palette index');
            const idx = b & 0x7f;
            if (idx >= n) throw new ProtocolError(`ZRLE palette index ${idx} with ${n} colours`);
            colour = palette;
            ci = idx * 3;
            if (b & 0x80) run = runLength(r);
          } else {
            colour = r.bytesN(3, 'ZRLE run colour');
            ci = 0;
            run = runLength(r);
          }
          if (px + run > total) throw new ProtocolError(`ZRLE run of ${run} pixels overruns its ${tw}×${th} tile`);
          for (let k = 0; k < run; k++) setPixel(rgba, at(px + k), colour, ci);
          px += run;
        }
      } else throw new ProtocolError(`ZRLE subencoding ${sub} is unused`);
    }
  }
  if (!r.done) throw new ProtocolError(`ZRLE: ${r.remaining} bytes left after the rectangle's tiles`);
  return rgba;
}

/** ZRLE run length: bytes of 255 add up, the first other byte ends it; the length is the sum plus one. */
function runLength(r: ByteReader): number {
  let n = 1;
  for (;;) {
    const b = r.u8('ZRLE run length');
    n += b;
    if (b !== 255) return n;
    if (n > 64 * 64) throw new ProtocolError('ZRLE run length longer than a tile');
  }
}
