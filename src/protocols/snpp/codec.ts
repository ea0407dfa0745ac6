// SNPP, Simple Network Paging Protocol v3 (RFC 1861): reply lines, multi-line help, command lines and DATA's dot-stuffing.
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export interface Reply {
  code: number;
  /** The text of every line (the code removed); a 214 run keeps one entry per line. */
  lines: string[];
}

const MAX_LINE = 4096;
const MAX_LINES = 1000;

/**
 * One reply: a line "NNN text"; help and status come as 214 lines closed by a line of another code
 * (RFC 1861 section 4.2 "HELP"), which is gathered into the same reply.
 */
export function replyFrame(): Frame<Reply> {
  return (buf) => {
    const lines: string[] = [];
    let at = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, at);
      if (nl === -1) {
        if (buf.length - at > MAX_LINE) throw new ProtocolError(`reply line longer than ${MAX_LINE} bytes`);
        return undefined;
      }
      const end = nl > at && buf[nl - 1] === 0x0d ? nl - 1 : nl;
      if (end - at > MAX_LINE) throw new ProtocolError(`reply line longer than ${MAX_LINE} bytes`);
      const line = fromLatin1(buf.subarray(at, end));
      at = nl + 1;
      const m = /^(\d{3})(?:[ -](.*))?$/s.exec(line);
      if (!m) throw new ProtocolError(`reply ${JSON.stringify(line.slice(0, 60))} does not start with a three-digit code`);
      const code = Number(m[1]);
      lines.push(m[2] ?? '');
      if (code !== 214) return { value: { code, lines }, size: at };
      if (lines.length >= MAX_LINES) throw new ProtocolError(`help reply longer than ${MAX_LINES} lines`);
    }
  };
}

/** 2xx is success; 8xx answers level-3 requests (821 PING); 354 asks for DATA. */
export function isSuccess(code: number): boolean {
  return (code >= 200 && code < 300) || (code >= 800 && code < 900);
}

export function encodeCommand(line: string): Uint8Array {
  return utf8(`${line}\r\n`);
}

/** The lines of a DATA message. */
export function dataLines(text: string): string[] {
  return text.replace(/\r\n/g, '\n').split('\n');
}

/**
 * DATA body (RFC 1861 4.5.2): lines ending CRLF, then "." alone. SNPP has no dot-stuffing (hfaxd keeps
 * a leading ".." as it came), so a line that is a single "." cannot be sent; the caller refuses it.
 */
export function encodeData(text: string): Uint8Array {
  return utf8(`${dataLines(text).join('\r\n')}\r\n.\r\n`);
}

/** HOLD's time (RFC 1861 4.5.6): YYMMDDHHMMSS in UTC, with the +0000 difference. */
export function holdTime(at: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(at.getUTCFullYear() % 100)}${p(at.getUTCMonth() + 1)}${p(at.getUTCDate())}${p(at.getUTCHours())}${p(at.getUTCMinutes())}${p(at.getUTCSeconds())} +0000`;
}

export function describeReply(r: Reply): string {
  return r.lines.length > 1 ? `${r.code} (${r.lines.length} lines) ${r.lines[0]}` : `${r.code} ${r.lines[0]}`;
}
