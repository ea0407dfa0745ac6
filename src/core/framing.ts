// Framing: sans-I/O frame functions for the common shapes, and a decoder that feeds them.
import { concat, indexOf, fromLatin1, utf8 } from './bytes.ts';
import type { Frame } from './conn.ts';
import { ProtocolError } from './errors.ts';

const CRLF = utf8('\r\n');

/** A text line ended by CRLF (or LF when `ending` is 'lf'), as latin1 text without the terminator. */
export function lineFrame(max = 8192, ending: 'crlf' | 'lf' = 'lf'): Frame<string> {
  return (buf) => {
    const at = ending === 'crlf' ? indexOf(buf, CRLF) : buf.indexOf(0x0a);
    if (at === -1) {
      if (buf.length > max + 2) throw new ProtocolError(`line longer than ${max} bytes`);
      return undefined;
    }
    let end = at;
    if (ending === 'lf' && end > 0 && buf[end - 1] === 0x0d) end--;
    if (end > max) throw new ProtocolError(`line longer than ${max} bytes`);
    return { value: fromLatin1(buf.subarray(0, end)), size: at + (ending === 'crlf' ? 2 : 1) };
  };
}

/** A frame whose body length sits in a big-endian header of `width` bytes; the value is the body. */
export function lengthPrefixedFrame(width: 1 | 2 | 4, max = 16 * 1024 * 1024): Frame<Uint8Array> {
  return (buf) => {
    if (buf.length < width) return undefined;
    let n = 0;
    for (let i = 0; i < width; i++) n = n * 256 + buf[i];
    if (n > max) throw new ProtocolError(`frame length ${n} exceeds limit ${max}`);
    if (buf.length < width + n) return undefined;
    return { value: buf.slice(width, width + n), size: width + n };
  };
}

/** Exactly n bytes. */
export function exactFrame(n: number): Frame<Uint8Array> {
  return (buf) => (buf.length < n ? undefined : { value: buf.slice(0, n), size: n });
}

/**
 * Feeds arbitrary chunks to a frame function and yields whole messages:
 * the sans-I/O decoder every codec test drives byte by byte.
 */
export class FrameDecoder<T> {
  private buf: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly frame: Frame<T>,
    private readonly maxBuffered = 16 * 1024 * 1024,
  ) {}

  get pending(): number {
    return this.buf.length;
  }

  feed(chunk: Uint8Array): T[] {
    if (this.buf.length + chunk.length > this.maxBuffered) throw new ProtocolError(`more than ${this.maxBuffered} bytes buffered without a complete message`);
    this.buf = this.buf.length === 0 ? chunk : concat([this.buf, chunk]);
    const out: T[] = [];
    for (;;) {
      if (this.buf.length === 0) break;
      const got = this.frame(this.buf);
      if (!got) break;
      if (got.size <= 0) throw new ProtocolError('frame consumed no bytes');
      out.push(got.value);
      this.buf = this.buf.subarray(got.size);
    }
    return out;
  }
}
