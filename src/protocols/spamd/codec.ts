// The spamc/spamd protocol (SpamAssassin's spamd/PROTOCOL, SPAMC/1.5): a request line, headers and the
// message; a response line "SPAMD/1.x <code> <message>", headers (Spam: True ; 15.0 / 5.0, Content-length,
// DidSet...) and a body for SYMBOLS, REPORT and PROCESS. Sans-I/O.
import { concat, fromLatin1, indexOf, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const METHODS = ['PING', 'CHECK', 'SYMBOLS', 'REPORT', 'REPORT_IFSPAM', 'PROCESS', 'HEADERS', 'TELL'] as const;
export type Method = (typeof METHODS)[number];

/** sysexits.h codes spamd answers with. */
export const EX: Record<number, string> = {
  0: 'EX_OK',
  64: 'EX_USAGE',
  65: 'EX_DATAERR',
  66: 'EX_NOINPUT',
  67: 'EX_NOUSER',
  68: 'EX_NOHOST',
  69: 'EX_UNAVAILABLE',
  70: 'EX_SOFTWARE',
  71: 'EX_OSERR',
  72: 'EX_OSFILE',
  73: 'EX_CANTCREAT',
  74: 'EX_IOERR',
  75: 'EX_TEMPFAIL',
  76: 'EX_PROTOCOL',
  77: 'EX_NOPERM',
  78: 'EX_CONFIG',
};

export function request(method: Method, message: Uint8Array | null, headers: Record<string, string> = {}): Uint8Array {
  const lines = [`${method} SPAMC/1.5`];
  for (const [k, v] of Object.entries(headers)) {
    if (/[\r\n]/.test(k + v)) throw new ProtocolError(`spamd: header ${k} contains CR or LF`);
    lines.push(`${k}: ${v}`);
  }
  if (message) lines.push(`Content-length: ${message.length}`);
  return concat([utf8(`${lines.join('\r\n')}\r\n\r\n`), message ?? new Uint8Array(0)]);
}

export interface SpamdResponse {
  version: string;
  code: number;
  message: string;
  headers: Map<string, string>;
  body: Uint8Array | null;
}

const MAX_HEAD = 64 * 1024;
export const MAX_BODY = 32 * 1024 * 1024;
const CRLFCRLF = utf8('\r\n\r\n');

/**
 * A whole response when it carries Content-length (or none is due: no body after the blank line, PING's
 * single line). A response whose body runs to the close is taken by the caller after `headFrame`.
 */
export function headFrame(): Frame<{ version: string; code: number; message: string; headers: Map<string, string> }> {
  return (buf) => {
    // PING's answer is one line with no headers; spamd closes after it, so a lone line is whole once CRLF arrives.
    const firstEnd = indexOf(buf, utf8('\r\n'));
    if (firstEnd === -1) {
      if (buf.length > MAX_HEAD) throw new ProtocolError('spamd: a response line longer than 64 KiB');
      return undefined;
    }
    const status = fromLatin1(buf.subarray(0, firstEnd));
    const m = /^SPAMD\/(\d+\.\d+) (\d+) (.*)$/.exec(status);
    if (!m) throw new ProtocolError(`spamd: the response line ${JSON.stringify(status.slice(0, 120))} is not SPAMD/x.y code message`);
    const end = indexOf(buf, CRLFCRLF);
    const pingLike = m[3] === 'PONG';
    if (end === -1 && !pingLike) {
      if (buf.length > MAX_HEAD) throw new ProtocolError('spamd: response headers longer than 64 KiB');
      return undefined;
    }
    const headers = new Map<string, string>();
    const headEnd = end === -1 ? firstEnd : end;
    for (const line of fromLatin1(buf.subarray(firstEnd + 2, headEnd)).split('\r\n')) {
      if (!line) continue;
      const at = line.indexOf(':');
      if (at <= 0) throw new ProtocolError(`spamd: a malformed header line ${JSON.stringify(line.slice(0, 120))}`);
      headers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
    }
    return { value: { version: m[1], code: Number(m[2]), message: m[3], headers }, size: end === -1 ? firstEnd + 2 : end + 4 };
  };
}

/** "True ; 15.0 / 5.0" (the Spam header) as its verdict, score and threshold. */
export function parseSpamHeader(v: string): { spam: boolean; score: number; threshold: number } {
  const m = /^(True|False|Yes|No)\s*;\s*(-?[\d.]+)\s*\/\s*(-?[\d.]+)$/i.exec(v.trim());
  if (!m) throw new ProtocolError(`spamd: a Spam header ${JSON.stringify(v.slice(0, 80))} that is not "True|False ; score / threshold"`);
  return { spam: /^(true|yes)$/i.test(m[1]), score: Number(m[2]), threshold: Number(m[3]) };
}

/** The rule lines of a REPORT body: " 1.0 RULE_NAME   Description", continued on indented lines. */
export function parseReport(text: string): { points: number; rule: string; description: string }[] {
  const out: { points: number; rule: string; description: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$/.exec(line);
    if (m) out.push({ points: Number(m[1]), rule: m[2], description: m[3].trim() });
    else if (out.length && /^\s{10,}\S/.test(line)) out[out.length - 1].description += ` ${line.trim()}`;
  }
  return out;
}
