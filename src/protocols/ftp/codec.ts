// FTP control connection, RFC 959 §4.2 (replies) and §5.3 (commands), with RFC 2389 (FEAT), RFC 2428 (EPSV), RFC 3659 (time-val) and RFC 2640 (UTF-8).
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';

/** One reply: its code and its text lines (the code and separator removed from the first and last). */
export interface Reply {
  code: number;
  /** The text of each line; intermediate lines of a multi-line reply are kept as sent. */
  lines: string[];
  /** The lines joined with LF. */
  text: string;
}

/** Longest reply line accepted (RFC 959 sets no limit; real replies stay far below). */
export const MAX_REPLY_LINE = 8192;
/** Most lines in one multi-line reply (FEAT, HELP and STAT stay far below). */
export const MAX_REPLY_LINES = 4096;
/** Most bytes in one reply, all lines together. */
export const MAX_REPLY_BYTES = 256 * 1024;

const LF = 0x0a;
const CR = 0x0d;

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** The line's text after `skip` bytes, CR before the LF removed, as UTF-8 (RFC 2640 §2.2; bad bytes become U+FFFD). */
function lineText(buf: Uint8Array, start: number, end: number, skip: number): string {
  let stop = end;
  if (stop > start && buf[stop - 1] === CR) stop--;
  return fromUtf8(buf.subarray(Math.min(start + skip, stop), stop));
}

/** The reply code at `start` if the line begins with three digits, else -1. */
function codeAt(buf: Uint8Array, start: number, end: number): number {
  if (end - start < 3 || !isDigit(buf[start]) || !isDigit(buf[start + 1]) || !isDigit(buf[start + 2])) return -1;
  return (buf[start] - 0x30) * 100 + (buf[start + 1] - 0x30) * 10 + (buf[start + 2] - 0x30);
}

/**
 * One whole reply. RFC 959 §4.2: "xyz text" on one line, or "xyz-text" followed by any lines up to one
 * that starts with the same code and a space ("xyz text"). Lines end with CRLF; a bare LF is accepted.
 * A line that is only the code ("xyz") also counts as a last line: some servers send it so.
 */
export const replyFrame: Frame<Reply> = (buf) => {
  let start = 0;
  let code = -1;
  const lines: string[] = [];
  for (;;) {
    const at = buf.indexOf(LF, start);
    if (at === -1) {
      if (buf.length - start > MAX_REPLY_LINE + 2) throw new ProtocolError(`FTP reply line longer than ${MAX_REPLY_LINE} bytes`);
      if (buf.length > MAX_REPLY_BYTES) throw new ProtocolError(`FTP reply longer than ${MAX_REPLY_BYTES} bytes`);
      return undefined;
    }
    if (at - start > MAX_REPLY_LINE + 1) throw new ProtocolError(`FTP reply line longer than ${MAX_REPLY_LINE} bytes`);
    if (at + 1 > MAX_REPLY_BYTES) throw new ProtocolError(`FTP reply longer than ${MAX_REPLY_BYTES} bytes`);
    let end = at;
    if (end > start && buf[end - 1] === CR) end--;
    if (code === -1) {
      // RFC 959 §4.2: the first line starts with the three-digit code; the first digit is 1 to 5.
      code = codeAt(buf, start, end);
      if (code < 100 || code > 599) {
        throw new ProtocolError(`FTP reply does not start with a reply code: ${JSON.stringify(lineText(buf, start, at, 0).slice(0, 80))}`);
      }
      const sep = end - start === 3 ? 0x20 : buf[start + 3];
      if (sep === 0x20) {
        const text = lineText(buf, start, at, 4);
        return { value: { code, lines: [text], text }, size: at + 1 };
      }
      if (sep !== 0x2d) {
        throw new ProtocolError(`FTP reply code ${code} is followed by ${JSON.stringify(String.fromCharCode(sep))}, not a space or "-"`);
      }
      lines.push(lineText(buf, start, at, 4));
    } else {
      // RFC 959 §4.2: the last line starts with the same code followed by a space.
      const last = codeAt(buf, start, end) === code && (end - start === 3 || buf[start + 3] === 0x20);
      if (last) {
        lines.push(lineText(buf, start, at, 4));
        return { value: { code, lines, text: lines.join('\n') }, size: at + 1 };
      }
      lines.push(lineText(buf, start, at, 0));
      if (lines.length > MAX_REPLY_LINES) throw new ProtocolError(`FTP reply ${code} has more than ${MAX_REPLY_LINES} lines`);
    }
    start = at + 1;
  }
};

/** "421 Service not available" style: the code and the text on one line, for messages. */
export function formatReply(reply: Reply): string {
  return `${reply.code} ${reply.lines.map((l) => l.trim()).filter(Boolean).join(' / ')}`.trim();
}

/**
 * One command line. RFC 959 §5.3: `VERB SP argument CRLF`; RFC 2640 §3.1: the argument is UTF-8.
 * CR, LF and NUL cannot appear in an argument: they would end the command or start another one.
 */
export function encodeCommand(verb: string, argument?: string): Uint8Array {
  // RFC 959 verbs are 3–4 letters; the digest extensions (XSHA1, XSHA256, XSHA512) carry digits.
  if (!/^[A-Z]{3,4}(?:[0-9]{1,3})?( [A-Z0-9]+)?$/.test(verb)) throw InvalidInput.field('command', `${JSON.stringify(verb)} is not an FTP command verb`);
  if (argument === undefined || argument === '') return utf8(`${verb}\r\n`);
  if (/[\r\n\0]/.test(argument)) throw InvalidInput.field('path', 'must not contain CR, LF or NUL: they would end the FTP command line');
  return utf8(`${verb} ${argument}\r\n`);
}

/** RFC 959 §4.1.2 and the 227 reply of §5.4: `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`; the parentheses are optional in practice. */
export function parsePasv(text: string): { host: string; port: number } {
  const m = /(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3})/.exec(text);
  if (!m) throw new ProtocolError(`PASV reply has no h1,h2,h3,h4,p1,p2 address: ${JSON.stringify(text.slice(0, 120))}`);
  const n = m.slice(1, 7).map(Number);
  if (n.some((v) => v > 255)) throw new ProtocolError(`PASV reply has a number above 255: ${m[0]}`);
  const port = n[4] * 256 + n[5];
  if (port === 0) throw new ProtocolError('PASV reply names port 0');
  return { host: n.slice(0, 4).join('.'), port };
}

/**
 * RFC 2428 §3: `229 Entering Extended Passive Mode (<d><d><d><tcp-port><d>)`, where <d> is one
 * printable ASCII character (33–126), the same four times; the address is the control connection's.
 */
export function parseEpsv(text: string): number {
  const open = text.indexOf('(');
  const close = text.indexOf(')', open + 1);
  if (open === -1 || close === -1) throw new ProtocolError(`EPSV reply has no (|||port|): ${JSON.stringify(text.slice(0, 120))}`);
  const inner = text.slice(open + 1, close);
  const d = inner[0];
  if (d === undefined || d.charCodeAt(0) < 33 || d.charCodeAt(0) > 126) throw new ProtocolError(`EPSV reply delimiter is missing: ${JSON.stringify(inner)}`);
  const parts = inner.split(d);
  // "|||6446|" splits into ['', '', '', '6446', '']: network protocol and address are empty (RFC 2428 §3).
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== '' || parts[2] !== '' || parts[4] !== '' || !/^\d{1,5}$/.test(parts[3])) {
    throw new ProtocolError(`EPSV reply is not (<d><d><d><port><d>): ${JSON.stringify(inner)}`);
  }
  const port = Number(parts[3]);
  if (port < 1 || port > 65535) throw new ProtocolError(`EPSV reply names port ${port}`);
  return port;
}

/** RFC 959 Appendix II: `257 "<path>" text`, with a quote inside the path doubled. Null when there is no quoted path. */
export function parseQuotedPath(text: string): string | null {
  const start = text.indexOf('"');
  if (start === -1) return null;
  let out = '';
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '"') {
      if (text[i + 1] === '"') {
        out += '"';
        i++;
        continue;
      }
      return out;
    }
    out += text[i];
  }
  return null;
}

/** RFC 2389 §3.2: the feature lines of a 211 FEAT reply, each one space-indented; the first and last lines are not features. */
export function parseFeatures(reply: Reply): string[] {
  if (reply.lines.length < 2) return [];
  return reply.lines
    .slice(1, -1)
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .slice(0, 256);
}

/** The parameters of a feature (`REST STREAM` → 'STREAM', `UTF8` → ''), or null when it is not listed. Names are case-insensitive (RFC 2389 §3.2). */
export function featureParams(features: readonly string[], name: string): string | null {
  const upper = name.toUpperCase();
  for (const line of features) {
    const [head, ...rest] = line.split(' ');
    if (head.toUpperCase() === upper) return rest.join(' ');
  }
  return null;
}

/** RFC 4217 §6: AUTH TLS is offered when FEAT lists AUTH with TLS among its mechanisms. */
export function offersAuthTls(features: readonly string[]): boolean {
  const params = featureParams(features, 'AUTH');
  return params !== null && params.toUpperCase().split(/[\s;]+/).includes('TLS');
}

/** RFC 959 §4.1.2 PORT argument: h1,h2,h3,h4,p1,p2 (IPv4 only). */
export function encodePort(address: string, port: number): string {
  const parts = address.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new ProtocolError(`PORT needs an IPv4 address, not ${address}`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ProtocolError(`PORT: port ${port} is out of range`);
  return [...parts.map(Number), port >> 8, port & 0xff].join(',');
}

/** RFC 3659 §2.3 time-val `YYYYMMDDHHMMSS[.sss]`, always UTC, as an ISO 8601 string; null when malformed. */
export function parseTimeVal(text: string): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?$/.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  if (+mo < 1 || +mo > 12 || +d < 1 || +d > 31 || +h > 23 || +mi > 59 || +s > 60) return null;
  const ms = frac ? `.${frac.padEnd(3, '0').slice(0, 3)}` : '';
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${ms}Z`;
}

/** RFC 3659 §4.2: `213 <size>` (decimal octets). */
export function parseSize(text: string): number {
  const m = /^\s*(\d{1,16})\s*$/.exec(text);
  if (!m) throw new ProtocolError(`SIZE reply is not a number: ${JSON.stringify(text.slice(0, 80))}`);
  const size = Number(m[1]);
  if (!Number.isSafeInteger(size)) throw new ProtocolError(`SIZE reply ${m[1]} is too large`);
  return size;
}

/** RFC 959 §3.1.1.1: TYPE A sends lines ended by CRLF; the local form here is LF. */
export function toNetworkAscii(bytes: Uint8Array, afterCr = false): Uint8Array {
  // `afterCr`: the byte before this chunk of a stream was CR, so an LF at its start is already a CRLF.
  const bare = (i: number) => bytes[i] === LF && (i === 0 ? !afterCr : bytes[i - 1] !== CR);
  let lf = 0;
  for (let i = 0; i < bytes.length; i++) if (bare(i)) lf++;
  if (lf === 0) return bytes;
  const out = new Uint8Array(bytes.length + lf);
  let at = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bare(i)) out[at++] = CR;
    out[at++] = bytes[i];
  }
  return out;
}

/**
 * The reverse of toNetworkAscii for one chunk of a stream: CRLF becomes LF. A CR at the very end of a
 * chunk is held back (`pendingCr`) until the next chunk shows whether an LF follows it.
 */
export function fromNetworkAscii(bytes: Uint8Array, pendingCr: boolean, final: boolean): { bytes: Uint8Array; pendingCr: boolean } {
  const out = new Uint8Array(bytes.length + 1);
  let at = 0;
  let cr = pendingCr;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (cr && b !== LF) out[at++] = CR;
    cr = b === CR;
    if (!cr) out[at++] = b;
  }
  if (cr && final) {
    out[at++] = CR;
    cr = false;
  }
  return { bytes: out.subarray(0, at), pendingCr: cr };
}
