// Content codings (RFC 9110 8.4.1): gzip, x-gzip and deflate undone for display, with a cap on what the body may
// expand to. "deflate" is the zlib format (RFC 1950); servers that send raw DEFLATE (RFC 1951) are read too.
import { Inflate, Z_STREAM_END } from 'pako';
import { concat } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

export const DECODABLE = ['gzip', 'x-gzip', 'deflate'] as const;

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

function inflateOnce(body: Uint8Array, coding: string, max: number, windowBits: number): Uint8Array {
  const inf = new Inflate({ windowBits });
  const chunks: Uint8Array[] = [];
  let size = 0;
  inf.onData = (chunk: Uint8Array) => {
    size += chunk.length;
    if (size > max) throw new ProtocolError(`Content-Encoding ${coding}: the body expands past ${max} bytes`);
    chunks.push(chunk);
  };
  inf.onEnd = () => undefined;
  inf.push(body, true);
  if (inf.err !== 0 && inf.err !== Z_STREAM_END) throw new ProtocolError(`Content-Encoding ${coding}: ${inf.msg || `inflate error ${inf.err}`}`);
  if (!inf.ended) throw new ProtocolError(`Content-Encoding ${coding}: the compressed body ends early`);
  return concat(chunks);
}

/** Undoes the codings, last applied first; null when one of them is not gzip or deflate (br and zstd are shown as sent). */
export function decodeContent(body: Uint8Array, codings: string[], max: number): Decoded | null {
  if (codings.length === 0 || codings.some((c) => !(DECODABLE as readonly string[]).includes(c))) return null;
  let bytes = body;
  for (const coding of [...codings].reverse()) {
    if (coding === 'deflate') {
      // zlib's header: CMF 0x?8 with (CMF*256 + FLG) % 31 == 0; otherwise raw DEFLATE.
      const zlib = bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && ((bytes[0] << 8) | bytes[1]) % 31 === 0;
      bytes = inflateOnce(bytes, coding, max, zlib ? 15 : -15);
    } else bytes = inflateOnce(bytes, coding, max, 15 + 16);
  }
  return { codings, bytes };
}
