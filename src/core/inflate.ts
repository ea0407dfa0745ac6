// A zlib stream (RFC 1950/1951) inflated piece by piece, each piece ending at a flush point: how VNC's ZRLE and
// Tight encodings (RFB 7.7.5, 7.7.6) keep one compressor state across rectangles, and how a connection compressed
// as a whole (IMAP COMPRESS=DEFLATE, RFC 4978) reads. pako's zlib port does the work; what this adds is the
// flush-point contract and a cap on what one piece may expand to (no decompression bomb).
import { ZStream, Z_BUF_ERROR, Z_DEFAULT_STRATEGY, Z_OK, Z_STREAM_END, Z_SYNC_FLUSH, zlibDeflate, zlibDeflateInit2, zlibInflate, zlibInflateInit, zlibInflateInit2 } from 'pako';
import type { Transport } from './conn.ts';
import { ProtocolError } from './errors.ts';

export class InflateStream {
  private readonly strm = new ZStream();
  /** The stream's last block (BFINAL) has been read. */
  ended = false;
  /** Bytes of the zlib header still to check, on a stream inflated raw behind it (`checksum: false`). */
  private header = 0;
  private cmf = 0;

  /**
   * `raw`: raw DEFLATE (RFC 1951) with no zlib header, as WebSocket's permessage-deflate (RFC 7692) and IMAP COMPRESS
   * (RFC 4978) send it. `checksum: false`: a zlib stream whose Adler-32 is never computed, for streams that never end
   * (VNC's ZRLE and Tight), where the trailer it would be checked against never comes; the header is still checked.
   */
  constructor(
    private readonly name = 'zlib stream',
    opts: { raw?: boolean; checksum?: boolean } = {},
  ) {
    if (opts.raw || opts.checksum === false) zlibInflateInit2(this.strm, -15);
    else zlibInflateInit(this.strm);
    if (!opts.raw && opts.checksum === false) this.header = 2;
  }

  /** RFC 1950 §2.2: CM 8 (deflate) with a window of at most 32 KiB, FCHECK, no preset dictionary. */
  private skipHeader(input: Uint8Array): Uint8Array {
    let i = 0;
    for (; this.header > 0 && i < input.length; i++, this.header--) {
      if (this.header === 2) {
        this.cmf = input[i];
        continue;
      }
      const cmf = this.cmf;
      const flg = input[i];
      if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0) throw new ProtocolError(`${this.name}: not a zlib stream (header ${cmf.toString(16)} ${flg.toString(16)})`);
      if (flg & 0x20) throw new ProtocolError(`${this.name}: a preset dictionary was asked for`);
    }
    return input.subarray(i);
  }

  /**
   * Inflates `input` (compressed bytes up to a flush point) and returns everything it expands to. `exact`: the size the
   * protocol says it must be; `max`: the most it may be. More than that is a ProtocolError, before it is allocated.
   */
  inflate(input: Uint8Array, limits: { exact: number } | { max: number }): Uint8Array {
    if (this.ended) throw new ProtocolError(`${this.name}: data after the end of the stream`);
    if (this.header > 0) input = this.skipHeader(input);
    const cap = 'exact' in limits ? limits.exact : limits.max;
    const strm = this.strm;
    strm.input = input;
    strm.next_in = 0;
    strm.avail_in = input.length;
    // The exact size is known (Tight), or grow by doubling up to the cap (ZRLE).
    let out = new Uint8Array('exact' in limits ? Math.max(1, cap) : Math.min(cap, Math.max(1024, input.length * 4)));
    let produced = 0;
    for (;;) {
      strm.output = out as Uint8Array<ArrayBuffer>;
      strm.next_out = produced;
      strm.avail_out = out.length - produced;
      const status = zlibInflate(strm, Z_SYNC_FLUSH);
      produced = strm.next_out;
      if (status === Z_STREAM_END) this.ended = true;
      else if (status !== Z_OK && status !== Z_BUF_ERROR) throw new ProtocolError(`${this.name}: ${strm.msg || `inflate status ${status}`}`);
      if (strm.avail_out > 0 || this.ended) break;
      // Output is full: is there more to come?
      if (produced >= cap) {
        if (strm.avail_in === 0 && this.drained()) break;
        throw new ProtocolError(`${this.name}: inflates to more than ${cap} bytes`);
      }
      const bigger = new Uint8Array(Math.min(cap, out.length * 2));
      bigger.set(out.subarray(0, produced));
      out = bigger;
    }
    if (strm.avail_in > 0 && !this.ended) throw new ProtocolError(`${this.name}: ${strm.avail_in} compressed bytes left unread`);
    const result = out.subarray(0, produced);
    if ('exact' in limits && produced !== limits.exact) throw new ProtocolError(`${this.name}: inflated to ${produced} bytes, expected ${limits.exact}`);
    return result;
  }

  /** Whether the stream holds no more output for the input given so far (one byte of room proves it). */
  private drained(): boolean {
    const probe = new Uint8Array(1);
    const strm = this.strm;
    strm.output = probe;
    strm.next_out = 0;
    strm.avail_out = 1;
    const status = zlibInflate(strm, Z_SYNC_FLUSH);
    if (status === Z_STREAM_END) this.ended = true;
    return strm.next_out === 0;
  }
}

/** Bare deflate (RFC 1951), one compressor state across pieces, each piece ending at a sync flush (00 00 FF FF). */
export class DeflateStream {
  private readonly strm = new ZStream();

  /** `windowBits`: 9–15, the LZ77 window as a power of two (15, 32 KiB, is zlib's default). */
  constructor(
    private readonly name = 'deflate stream',
    windowBits = 15,
  ) {
    // Level 6 and memLevel 8: zlib's defaults.
    zlibDeflateInit2(this.strm, 6, 8, -windowBits, 8, Z_DEFAULT_STRATEGY);
  }

  deflate(input: Uint8Array): Uint8Array {
    const strm = this.strm;
    strm.input = input;
    strm.next_in = 0;
    strm.avail_in = input.length;
    // Deflate never grows data by more than 5 bytes per 16 KiB block, plus the flush marker.
    let out = new Uint8Array(input.length + 5 * Math.ceil(input.length / 16384 + 1) + 16);
    let produced = 0;
    for (;;) {
      strm.output = out as Uint8Array<ArrayBuffer>;
      strm.next_out = produced;
      strm.avail_out = out.length - produced;
      const status = zlibDeflate(strm, Z_SYNC_FLUSH);
      produced = strm.next_out;
      if (status !== Z_OK && status !== Z_BUF_ERROR) throw new ProtocolError(`${this.name}: ${strm.msg || `deflate status ${status}`}`);
      if (strm.avail_out > 0 && strm.avail_in === 0) break;
      const bigger = new Uint8Array(out.length * 2);
      bigger.set(out.subarray(0, produced));
      out = bigger;
    }
    return out.subarray(0, produced);
  }
}

/**
 * A connection compressed both ways from here on with bare deflate, each write sync-flushed (IMAP COMPRESS=DEFLATE,
 * RFC 4978 §3): reads inflate what arrives, at most `maxPiece` bytes from one chunk.
 */
export function deflateLayer(inner: Transport, name: string, maxPiece = 16 * 1024 * 1024): Transport {
  const inflater = new InflateStream(`${name} (inflate)`, { raw: true });
  const deflater = new DeflateStream(`${name} (deflate)`);
  return {
    async read(max) {
      for (;;) {
        const chunk = await inner.read(max);
        if (chunk === null) return null;
        const plain = inflater.inflate(chunk, { max: maxPiece });
        if (plain.length > 0) return plain;
      }
    },
    write: (bytes) => inner.write(deflater.deflate(bytes)),
    startTls: () => Promise.reject(new ProtocolError(`${name}: TLS cannot start inside a compressed stream`)),
    end: inner.end ? () => inner.end!() : undefined,
    close: () => inner.close(),
    info: () => inner.info(),
  };
}
