// Content codings (RFC 9110 8.4.1): gzip, x-gzip, deflate, br (RFC 7932) and zstd (RFC 8878, RFC 9659) undone for
// display, with a cap on what the body may expand to. "deflate" is the zlib format (RFC 1950); servers that send
// raw DEFLATE (RFC 1951) are read too.
//
// How it works: gzip and deflate inflate with pako, stopping as soon as the output passes the cap. br decodes with
// the host's brotli (the codecs port: Google's C decoder in workerd and Node), its output limited to the cap, so a
// bomb costs at most the cap; a host without it (the browser) leaves br as sent. zstd is
// walked frame by frame here first (frame header, block headers, checksum): a window larger than RFC 9659's 8 MiB
// or a declared content size past the cap is refused before the decoder allocates anything, then each frame is
// decoded block by block with fzstd, stopping at the cap.
import { Decompress as ZstdDecompress } from 'fzstd';
import { Inflate, Z_STREAM_END } from 'pako';
import { concat } from '../../core/bytes.ts';
import type { CodecsPort } from '../../core/codecs.ts';
import { ProtocolError } from '../../core/errors.ts';

export const DECODABLE = ['gzip', 'x-gzip', 'deflate', 'br', 'zstd'] as const;

/** The Accept-Encoding value that asks for every coding decoded on this host, and nothing else. */
export function acceptEncoding(codecs: CodecsPort | undefined): string {
  return codecs ? 'gzip, deflate, br, zstd' : 'gzip, deflate, zstd';
}

export interface Decoded {
  /** The codings as the server listed them, in the order they were applied. */
  codings: string[];
  bytes: Uint8Array;
}

/** The Content-Encoding codings of a response, lower-cased, "identity" left out. */
export function contentCodings(headers: readonly (readonly [string, string])[]): string[] {
  return headers
    .filter(([n]) => n.toLowerCase() === 'content-encoding')
    .flatMap(([, v]) => v.split(','))
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

function expandsPast(coding: string, max: number): ProtocolError {
  return new ProtocolError(`Content-Encoding ${coding}: the body expands past ${max} bytes`);
}

/** Collects decoded pieces, refusing to hold more than `max` bytes. */
function capped(coding: string, max: number) {
  const chunks: Uint8Array[] = [];
  let size = 0;
  return {
    add(chunk: Uint8Array) {
      size += chunk.length;
      if (size > max) throw expandsPast(coding, max);
      chunks.push(chunk);
    },
    bytes: () => concat(chunks),
  };
}

function inflateOnce(body: Uint8Array, coding: string, max: number, windowBits: number): Uint8Array {
  const inf = new Inflate({ windowBits });
  const out = capped(coding, max);
  inf.onData = (chunk: Uint8Array) => out.add(chunk);
  inf.onEnd = () => undefined;
  inf.push(body, true);
  if (inf.err !== 0 && inf.err !== Z_STREAM_END) throw new ProtocolError(`Content-Encoding ${coding}: ${inf.msg || `inflate error ${inf.err}`}`);
  if (!inf.ended) throw new ProtocolError(`Content-Encoding ${coding}: the compressed body ends early`);
  return out.bytes();
}

function brotli(codecs: CodecsPort, body: Uint8Array, max: number): Uint8Array {
  try {
    return codecs.brotliDecompress(body, max);
  } catch (e) {
    // Past maxOutputLength: Node throws ERR_BUFFER_TOO_LARGE, workerd "Memory limit exceeded", both RangeErrors.
    if (e instanceof RangeError) throw expandsPast('br', max);
    const message = e instanceof Error ? e.message : String(e);
    if (/unexpected end of file/i.test(message)) throw new ProtocolError('Content-Encoding br: the compressed body ends early');
    throw new ProtocolError(`Content-Encoding br: ${message || 'the compressed body does not decode'}`);
  }
}

/** RFC 9659 §3: a zstd content coding's window is at most 8 MiB. */
export const ZSTD_MAX_WINDOW = 8 * 1024 * 1024;

const ZSTD_MAGIC = 0xfd2fb528;

function u32le(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/**
 * The frames of a zstd body (RFC 8878 §3.1): each Zstandard frame's bytes, skippable frames left out. The window
 * and the declared content size are checked here, before a decoder allocates for them.
 */
export function zstdFrames(body: Uint8Array, max: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const short = (what: string) => new ProtocolError(`Content-Encoding zstd: the body ends inside ${what}`);
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 8) throw short('a frame header');
    const magic = u32le(body, at);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // Skippable frame (§3.1.2): magic, 4-byte size, user data.
      const size = u32le(body, at + 4);
      if (size > body.length - at - 8) throw short('a skippable frame');
      at += 8 + size;
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new ProtocolError(`Content-Encoding zstd: frame at byte ${at} has magic 0x${magic.toString(16)}, not 0xfd2fb528`);
    const start = at;
    const fhd = body[at + 4];
    if (fhd & 0x08) throw new ProtocolError('Content-Encoding zstd: the frame header descriptor sets its reserved bit');
    const single = (fhd >> 5) & 1;
    const fcsFlag = fhd >> 6;
    const dictBytes = [0, 1, 2, 4][fhd & 3];
    const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
    let p = at + 5;
    let window = 0;
    if (!single) {
      const wd = body[p++];
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    p += dictBytes;
    if (p + fcsBytes > body.length) throw short('a frame header');
    let contentSize: number | undefined;
    if (fcsBytes > 0) {
      contentSize = 0;
      for (let i = fcsBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + body[p + i];
      if (fcsBytes === 2) contentSize += 256;
    }
    p += fcsBytes;
    if (single) window = contentSize ?? 0;
    if (window > ZSTD_MAX_WINDOW) throw new ProtocolError(`Content-Encoding zstd: a window of ${window} bytes is past the 8 MiB RFC 9659 allows`);
    if (contentSize !== undefined && contentSize > max) throw expandsPast('zstd', max);
    // Blocks (§3.1.1.2): a 3-byte header (last, type, size); raw and compressed blocks carry size bytes, RLE one.
    for (;;) {
      if (p + 3 > body.length) throw short('a block header');
      const h = body[p] | (body[p + 1] << 8) | (body[p + 2] << 16);
      const type = (h >> 1) & 3;
      if (type === 3) throw new ProtocolError(`Content-Encoding zstd: block at byte ${p} has the reserved type 3`);
      p += 3 + (type === 1 ? 1 : h >>> 3);
      if (p > body.length) throw short('a block');
      if (h & 1) break;
    }
    if (fhd & 0x04) p += 4;
    if (p > body.length) throw short('the frame checksum');
    frames.push(body.subarray(start, p));
    at = p;
  }
  return frames;
}

function zstd(body: Uint8Array, max: number): Uint8Array {
  const out = capped('zstd', max);
  for (const frame of zstdFrames(body, max)) {
    const d = new ZstdDecompress((chunk) => out.add(chunk));
    try {
      d.push(frame, true);
    } catch (e) {
      if (e instanceof ProtocolError) throw e;
      throw new ProtocolError(`Content-Encoding zstd: ${e instanceof Error ? e.message : 'the frame does not decode'}`);
    }
  }
  return out.bytes();
}

/** Undoes the codings, last applied first; null when one of them is not one decoded here (it is shown as sent). */
export function decodeContent(body: Uint8Array, codings: string[], max: number, codecs?: CodecsPort): Decoded | null {
  if (codings.length === 0 || codings.some((c) => !(DECODABLE as readonly string[]).includes(c) || (c === 'br' && !codecs))) return null;
  let bytes = body;
  for (const coding of [...codings].reverse()) {
    if (coding === 'br') bytes = brotli(codecs!, bytes, max);
    else if (coding === 'zstd') bytes = zstd(bytes, max);
    else if (coding === 'deflate') {
      // zlib's header: CMF 0x?8 with (CMF*256 + FLG) % 31 == 0; otherwise raw DEFLATE.
      const zlib = bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && ((bytes[0] << 8) | bytes[1]) % 31 === 0;
      bytes = inflateOnce(bytes, coding, max, zlib ? 15 : -15);
    } else bytes = inflateOnce(bytes, coding, max, 15 + 16);
  }
  return { codings, bytes };
}
