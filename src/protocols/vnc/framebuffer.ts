// The framebuffer a screenshot is painted into, and the binary form of a framebuffer update that the `view` session
// sends to the browser (decoded here too, so the UI and the tests read the one format).
//
// View update format: a sequence of operations, each `u8 op, u16 x, u16 y, u16 width, u16 height` (big-endian), then
//   1 pixels  width×height×4 bytes of RGBA
//   2 copy    u16 srcX, u16 srcY  (from the framebuffer as it was before this operation)
//   3 fill    u8 r, u8 g, u8 b
//   4 jpeg    u32 length, then a JPEG image (Tight's JPEG, decoded by the browser)
//   5 cursor  x, y are the hotspot; width×height×4 bytes of RGBA (alpha 0 where the cursor is transparent)
//   6 indexed u8 bits (1, 2, 4 or 8), u16 colours, colours×3 bytes of R G B, then an index a pixel: with 8 bits,
//             width×height bytes; with fewer, rows of ceil(width×bits/8) bytes, the first pixel in the most
//             significant bits (the fewest bits the palette needs)
import { ByteReader, ByteWriter, concat } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { checkFramebufferSize } from './codec.ts';
import { fillRgba, indexedLength, packIndexed, type IndexBits, type Rect, type ServerEvent } from './updates.ts';

export const ViewOp = { pixels: 1, copy: 2, fill: 3, jpeg: 4, cursor: 5, indexed: 6 } as const;

export type ViewOperation =
  | ({ op: 'pixels'; rgba: Uint8Array } & Rect)
  | ({ op: 'copy'; srcX: number; srcY: number } & Rect)
  | ({ op: 'fill'; r: number; g: number; b: number } & Rect)
  | ({ op: 'jpeg'; data: Uint8Array } & Rect)
  | ({ op: 'cursor'; rgba: Uint8Array } & Rect)
  | ({ op: 'indexed'; palette: Uint8Array; bits: IndexBits; data: Uint8Array } & Rect);

/** The drawing events of one update as one binary message (resize, bell and the rest travel as JSON). */
export function encodeViewUpdate(events: readonly ServerEvent[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const head = (op: number, x: number, y: number, w: number, h: number, extra: (w: ByteWriter) => void = () => {}) => {
    const wr = new ByteWriter(16).u8(op).u16(x).u16(y).u16(w).u16(h);
    extra(wr);
    parts.push(wr.finish());
  };
  for (const e of events) {
    if (e.type === 'pixels' && e.indexed) {
      const ix = packIndexed(e.indexed, e.width, e.height);
      head(ViewOp.indexed, e.x, e.y, e.width, e.height, (w) => w.u8(ix.bits).u16(ix.palette.length / 3));
      parts.push(ix.palette, ix.data);
    } else if (e.type === 'pixels') {
      head(ViewOp.pixels, e.x, e.y, e.width, e.height);
      parts.push(e.rgba);
    } else if (e.type === 'copy') head(ViewOp.copy, e.x, e.y, e.width, e.height, (w) => w.u16(e.srcX).u16(e.srcY));
    else if (e.type === 'fill') head(ViewOp.fill, e.x, e.y, e.width, e.height, (w) => w.u8(e.r).u8(e.g).u8(e.b));
    else if (e.type === 'jpeg') {
      head(ViewOp.jpeg, e.x, e.y, e.width, e.height, (w) => w.u32(e.data.length));
      parts.push(e.data);
    } else if (e.type === 'cursor') {
      head(ViewOp.cursor, e.hotX, e.hotY, e.width, e.height);
      parts.push(e.rgba);
    }
  }
  return concat(parts);
}

export function decodeViewUpdate(bytes: Uint8Array): ViewOperation[] {
  const r = new ByteReader(bytes);
  const ops: ViewOperation[] = [];
  while (!r.done) {
    const op = r.u8('op');
    const rect = { x: r.u16('x'), y: r.u16('y'), width: r.u16('width'), height: r.u16('height') };
    if (op === ViewOp.pixels || op === ViewOp.cursor) ops.push({ op: op === ViewOp.pixels ? 'pixels' : 'cursor', ...rect, rgba: r.bytesN(rect.width * rect.height * 4, 'rgba') });
    else if (op === ViewOp.copy) ops.push({ op: 'copy', ...rect, srcX: r.u16('srcX'), srcY: r.u16('srcY') });
    else if (op === ViewOp.fill) ops.push({ op: 'fill', ...rect, r: r.u8('r'), g: r.u8('g'), b: r.u8('b') });
    else if (op === ViewOp.jpeg) ops.push({ op: 'jpeg', ...rect, data: r.bytesN(r.u32('length'), 'jpeg') });
    else if (op === ViewOp.indexed) {
      const bits = r.u8('bits');
      if (bits !== 1 && bits !== 2 && bits !== 4 && bits !== 8) throw new ProtocolError(`indexed pixels of ${bits} bits`);
      const colours = r.u16('colours');
      if (colours < 1 || colours > 256) throw new ProtocolError(`indexed pixels with ${colours} colours`);
      const palette = r.bytesN(colours * 3, 'palette');
      const data = r.bytesN(indexedLength(bits, rect.width, rect.height), 'indices');
      ops.push({ op: 'indexed', ...rect, bits, palette, data });
    }
    else throw new ProtocolError(`unknown view operation ${op}`);
  }
  return ops;
}

/** An RGBA framebuffer that rectangles are painted into. */
export class Framebuffer {
  width: number;
  height: number;
  rgba: Uint8Array;

  constructor(width: number, height: number) {
    checkFramebufferSize(width, height);
    this.width = width;
    this.height = height;
    this.rgba = new Uint8Array(width * height * 4);
    fillRgba(this.rgba, width, 0, 0, width, height, 0, 0, 0);
  }

  /** A new size: what overlaps is kept, the rest is black. */
  resize(width: number, height: number): void {
    if (width === this.width && height === this.height) return;
    const next = new Framebuffer(width, height);
    const w = Math.min(width, this.width);
    for (let y = 0; y < Math.min(height, this.height); y++) next.rgba.set(this.rgba.subarray(y * this.width * 4, (y * this.width + w) * 4), y * width * 4);
    Object.assign(this, { width, height, rgba: next.rgba });
  }

  private check(r: Rect): void {
    if (r.x + r.width > this.width || r.y + r.height > this.height) throw new ProtocolError(`rectangle ${r.width}×${r.height} at ${r.x},${r.y} lies outside the ${this.width}×${this.height} framebuffer`);
  }

  putPixels(r: Rect, rgba: Uint8Array): void {
    this.check(r);
    for (let y = 0; y < r.height; y++) this.rgba.set(rgba.subarray(y * r.width * 4, (y + 1) * r.width * 4), ((r.y + y) * this.width + r.x) * 4);
  }

  fill(r: Rect, red: number, green: number, blue: number): void {
    this.check(r);
    fillRgba(this.rgba, this.width, r.x, r.y, r.width, r.height, red, green, blue);
  }

  copy(r: Rect, srcX: number, srcY: number): void {
    this.check(r);
    this.check({ x: srcX, y: srcY, width: r.width, height: r.height });
    const tmp = this.crop({ x: srcX, y: srcY, width: r.width, height: r.height });
    this.putPixels(r, tmp);
  }

  /** A copy of an area's pixels. */
  crop(r: Rect): Uint8Array {
    this.check(r);
    const out = new Uint8Array(r.width * r.height * 4);
    for (let y = 0; y < r.height; y++) out.set(this.rgba.subarray(((r.y + y) * this.width + r.x) * 4, ((r.y + y) * this.width + r.x + r.width) * 4), y * r.width * 4);
    return out;
  }

  /** Paints a decoded event; false for events that do not draw (JPEG cannot be decoded here). */
  apply(e: ServerEvent): boolean {
    if (e.type === 'pixels') this.putPixels(e, e.rgba);
    else if (e.type === 'fill') this.fill(e, e.r, e.g, e.b);
    else if (e.type === 'copy') this.copy(e, e.srcX, e.srcY);
    else if (e.type === 'resize' && e.status === 0) this.resize(e.width, e.height);
    else return false;
    return true;
  }
}
