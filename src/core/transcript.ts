// The wire log of one operation: every frame sent and received, with a one-line decode.
import { isPrintableAscii, fromLatin1, toHex } from './bytes.ts';

export type Direction = 'out' | 'in' | 'info';

export interface TranscriptEntry {
  /** Milliseconds since the operation started. */
  t: number;
  dir: Direction;
  /** Which connection: 0 is the first dial, second hops count up. */
  conn: number;
  /** Byte count on the wire (for a masked secret, the real count). */
  size: number;
  /** Hex of the bytes, cut at the recorder's cap; absent when masked. */
  hex?: string;
  /** The codec's one-line reading of the frame. */
  decode?: string;
  truncated?: boolean;
}

export interface RecordOptions {
  decode?: string;
  /** The bytes carry a secret: keep only `decode` (which must already be masked) and the size. */
  secret?: boolean;
}

const MAX_ENTRIES = 2000;
const MAX_HEX_BYTES = 4096;
const MAX_DECODE = 400;

/** A one-line preview of bytes: the text when it is printable ASCII, else a hex summary. */
export function previewBytes(bytes: Uint8Array, max = 120): string {
  const head = bytes.subarray(0, max);
  const text = isPrintableAscii(head)
    ? JSON.stringify(fromLatin1(head))
    : `${toHex(head.subarray(0, 32), ' ')}${head.length > 32 ? ' …' : ''}`;
  return bytes.length > max ? `${text} … (${bytes.length} bytes)` : text;
}

export class Transcript {
  readonly entries: TranscriptEntry[] = [];
  private readonly start: number;
  private connCount = 0;
  dropped = 0;

  /** A disabled transcript (no `?transcript=1`) counts connections and records nothing. */
  constructor(
    start = performance.now(),
    readonly enabled = true,
  ) {
    this.start = start;
  }

  /** A number for the next connection, used to tag its frames. */
  nextConnId(): number {
    return this.connCount++;
  }

  private push(entry: TranscriptEntry): TranscriptEntry | undefined {
    if (this.entries.length >= MAX_ENTRIES) {
      this.dropped++;
      return undefined;
    }
    this.entries.push(entry);
    return entry;
  }

  record(dir: 'out' | 'in', conn: number, bytes: Uint8Array, opts: RecordOptions = {}): TranscriptEntry | undefined {
    if (!this.enabled) return undefined;
    // Past the cap, count without building hex or text.
    if (this.entries.length >= MAX_ENTRIES) {
      this.dropped++;
      return undefined;
    }
    const entry: TranscriptEntry = { t: this.elapsed(), dir, conn, size: bytes.length };
    if (!opts.secret) {
      entry.hex = toHex(bytes.subarray(0, MAX_HEX_BYTES));
      if (bytes.length > MAX_HEX_BYTES) entry.truncated = true;
    }
    const decode = opts.decode ?? (opts.secret ? '(secret masked)' : undefined);
    if (decode !== undefined) entry.decode = decode.slice(0, MAX_DECODE);
    return this.push(entry);
  }

  info(conn: number, text: string): void {
    if (!this.enabled) return;
    this.push({ t: this.elapsed(), dir: 'info', conn, size: 0, decode: text.slice(0, MAX_DECODE) });
  }

  elapsed(): number {
    return Math.round((performance.now() - this.start) * 1000) / 1000;
  }

  toJSON(): { entries: TranscriptEntry[]; dropped: number } {
    return { entries: this.entries, dropped: this.dropped };
  }
}

/** Masks the value of a secret in a text line: `PASS hunter2` → `PASS ****`. */
export function maskSecret(line: string, secret: string): string {
  return secret ? line.split(secret).join('****') : line;
}
