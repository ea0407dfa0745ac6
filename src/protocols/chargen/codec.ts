// Character Generator, RFC 864: lines of 72 printable characters, each the previous one shifted by one.
// The RFC suggests the pattern without fixing the character set (xinetd uses '!'..'}'), so the
// alphabet is read from the stream: every line must be 72 consecutive characters of that cycle.
// A line that does not continue its predecessor (xinetd restarts the cycle at each buffer) is
// counted as a restart, not as corruption.
import { ProtocolError } from '../../core/errors.ts';

export const LINE_CHARS = 72;

export interface ChargenCheck {
  /** Complete lines seen. */
  lines: number;
  /** Every complete line is 72 consecutive characters of the server's cyclic alphabet. */
  patternValid: boolean;
  /** The first line that is not such a window, if any. */
  firstBadLine: number | null;
  /** Lines that are valid windows but do not continue the previous line. */
  restarts: number;
  /** Characters from the lowest to the highest seen: the server's alphabet (95 for space..tilde) once a read wraps. */
  alphabetSize: number;
}

const printable = (b: number) => b >= 0x20 && b <= 0x7e;

/** Checks a stream prefix; a trailing partial line is ignored. */
export function checkStream(bytes: Uint8Array): ChargenCheck {
  const lines: Uint8Array[] = [];
  for (let at = 0; ; ) {
    const end = bytes.indexOf(0x0a, at);
    if (end === -1) break;
    lines.push(bytes.subarray(at, end > at && bytes[end - 1] === 0x0d ? end - 1 : end));
    at = end + 1;
  }
  if (lines.length > 0 && lines[0].length > 0 && !printable(lines[0][0])) throw new ProtocolError('chargen line does not start with a printable character');
  // The cycle is a contiguous run of printable ASCII (' '..'~' in the RFC, '!'..'}' in xinetd):
  // its ends are the lowest and highest characters seen, which a read that wraps always includes.
  let lo = 0x7e;
  let hi = 0x20;
  for (const l of lines) {
    for (const b of l) {
      if (!printable(b)) continue;
      lo = Math.min(lo, b);
      hi = Math.max(hi, b);
    }
  }
  const next = (c: number) => (c === hi ? lo : c + 1);
  const alphabetSize = hi >= lo ? hi - lo + 1 : 0;
  let restarts = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let ok = line.length === LINE_CHARS && line.every(printable);
    for (let j = 0; ok && j < LINE_CHARS - 1; j++) ok = next(line[j]) === line[j + 1];
    if (!ok) return { lines: lines.length, patternValid: false, firstBadLine: i + 1, restarts, alphabetSize };
    if (i > 0 && next(lines[i - 1][0]) !== line[0]) restarts++;
  }
  return { lines: lines.length, patternValid: true, firstBadLine: null, restarts, alphabetSize };
}
