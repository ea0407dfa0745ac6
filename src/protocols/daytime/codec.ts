// Daytime text, RFC 867: no fixed syntax; these are the formats real servers send.
import { ProtocolError } from '../../core/errors.ts';
import { fromUtf8 } from '../../core/bytes.ts';

/** The longest answer read: RFC 867 answers are one short line, and nothing real comes near this. */
export const MAX_DAYTIME_BYTES = 1024;

/**
 * The server's answer as text, or ProtocolError when it cannot be a daytime answer: it does not end
 * within MAX_DAYTIME_BYTES (`truncated`), or it holds bytes that are not text.
 */
export function daytimeText(bytes: Uint8Array, truncated: boolean): string {
  const bad = bytes.findIndex((b) => (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f);
  if (bad !== -1) throw new ProtocolError(`not a daytime answer: byte 0x${bytes[bad].toString(16).padStart(2, '0')} at offset ${bad} is not text`);
  if (truncated) throw new ProtocolError(`not a daytime answer: more than ${MAX_DAYTIME_BYTES} bytes without the server closing (RFC 867 sends one line, then closes)`);
  return fromUtf8(bytes).trim();
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

function month(name: string): number {
  return MONTHS.indexOf(name.slice(0, 3).toLowerCase());
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number): number | null {
  if (mo < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  return Date.UTC(y, mo, d, h, mi, s);
}

/** Parses a daytime line into UTC milliseconds, naming the format; null when it is none of them. */
export function parseDaytime(text: string): { ms: number; format: string } | null {
  const t = text.trim();
  // xinetd: "26 NOV 2026 14:52:24 UTC"
  let m = /^(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:UTC|GMT)$/i.exec(t);
  if (m) return wrap(utc(+m[3], month(m[2]), +m[1], +m[4], +m[5], +m[6]), 'xinetd');
  // ctime: "Thu Nov 26 14:52:24 2026" (local time of the server; read as UTC)
  m = /^[A-Za-z]{3} ([A-Za-z]{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(t);
  if (m) return wrap(utc(+m[6], month(m[1]), +m[2], +m[3], +m[4], +m[5]), 'ctime (zone unknown, read as UTC)');
  // RFC 822/1123: "Thu, 26 Nov 2026 14:52:24 GMT" or with an offset
  m = /^(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) (\d{2,4}) (\d{2}):(\d{2}):(\d{2}) ([+-]\d{4}|GMT|UTC|UT|Z)$/.exec(t);
  if (m) {
    const year = m[3].length === 2 ? 2000 + +m[3] : +m[3];
    const base = utc(year, month(m[2]), +m[1], +m[4], +m[5], +m[6]);
    const zone = /^[+-]\d{4}$/.test(m[7]) ? (m[7][0] === '-' ? -1 : 1) * (+m[7].slice(1, 3) * 60 + +m[7].slice(3)) : 0;
    return wrap(base === null ? null : base - zone * 60_000, 'RFC 822');
  }
  // NIST ACTS: "61095 26-11-26 14:52:24 00 0 0 150.0 UTC(NIST) *"
  m = /^\d{5} (\d{2})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) /.exec(t);
  if (m) return wrap(utc(2000 + +m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]), 'NIST ACTS');
  // ISO 8601
  m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
  if (m) {
    const base = utc(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    const z = m[7] && m[7] !== 'Z' ? (m[7][0] === '-' ? -1 : 1) * (+m[7].slice(1, 3) * 60 + +m[7].slice(-2)) : 0;
    return wrap(base === null ? null : base - z * 60_000, 'ISO 8601');
  }
  return null;
}

function wrap(ms: number | null, format: string): { ms: number; format: string } | null {
  return ms === null || Number.isNaN(ms) ? null : { ms, format };
}
