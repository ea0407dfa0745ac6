// Character Generator, RFC 864: lines of 72 printable characters, each starting one character later.
import { ProtocolError } from '../../core/errors.ts';

export const LINE_CHARS = 72;
const FIRST = 0x20;
const COUNT = 95; // the printable ASCII characters, space through tilde

export interface ChargenCheck {
  /** Complete lines seen. */
  lines: number;
  /** Every complete line follows RFC 864's rotating pattern. */
  patternValid: boolean;
  /** The first line that broke the pattern, if any. */
  firstBadLine: number | null;
}

/** The expected line that starts with character `start` (0–94). */
export function expectedLine(start: number): Uint8Array {
  const out = new Uint8Array(LINE_CHARS);
  for (let i = 0; i < LINE_CHARS; i++) out[i] = FIRST + ((start + i) % COUNT);
  return out;
}

/**
 * Checks a stream prefix. The first line may start at any character; each
 * following line starts one later. A trailing partial line is ignored.
 */
export function checkStream(bytes: Uint8Array): ChargenCheck {
  const lines: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const end = bytes.indexOf(0x0a, at);
    if (end === -1) break;
    const stop = end > at && bytes[end - 1] === 0x0d ? end - 1 : end;
    lines.push(bytes.subarray(at, stop));
    at = end + 1;
  }
  if (lines.length === 0) return { lines: 0, patternValid: bytes.length > 0, firstBadLine: null };
  const first = lines[0][0];
  if (first === undefined || first < FIRST || first >= FIRST + COUNT) throw new ProtocolError('chargen line does not start with a printable character');
  let start = first - FIRST;
  for (let i = 0; i < lines.length; i++) {
    const want = expectedLine(start);
    const got = lines[i];
    if (got.length !== want.length || got.some((b, j) => b !== want[j])) return { lines: lines.length, patternValid: false, firstBadLine: i + 1 };
    start = (start + 1) % COUNT;
  }
  return { lines: lines.length, patternValid: true, firstBadLine: null };
}
