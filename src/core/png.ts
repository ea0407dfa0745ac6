// PNG encoding (RFC 2083 / ISO 15948): RGBA pixels to an 8-bit truecolour-with-alpha image, for screenshots. The
// deflate is the runtime's CompressionStream (zlib format, as IDAT wants); every row uses filter type 0 (None)
// except that rows equal to the one above use Up, which turns them into runs of zeros.
import { concat } from './bytes.ts';
import { InvalidInput } from './errors.ts';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309), as PNG chunks and zip use it. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function sameRow(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BufferSource]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** Encodes `rgba` (width × height × 4 bytes, rows top to bottom). `opaque` drops the alpha channel (colour type 2). */
export async function encodePng(rgba: Uint8Array, width: number, height: number, opts: { opaque?: boolean } = {}): Promise<Uint8Array> {
  if (width < 1 || height < 1 || rgba.length !== width * height * 4) throw InvalidInput.field('pixels', `expected ${width}×${height}×4 bytes, got ${rgba.length}`);
  const channels = opts.opaque ? 3 : 4;
  const stride = width * channels;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const at = y * (stride + 1);
    const src = rgba.subarray(y * width * 4, (y + 1) * width * 4);
    if (y > 0 && sameRow(src, rgba.subarray((y - 1) * width * 4, y * width * 4))) {
      raw[at] = 2; // Up: every difference from the row above is zero
      continue;
    }
    const row = raw.subarray(at + 1, at + 1 + stride);
    if (channels === 4) row.set(src);
    else {
      for (let x = 0, o = 0; x < width * 4; x += 4, o += 3) {
        row[o] = src[x];
        row[o + 1] = src[x + 1];
        row[o + 2] = src[x + 2];
      }
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 4 ? 6 : 2;
  return concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', await deflate(raw)), chunk('IEND', new Uint8Array(0))]);
}
