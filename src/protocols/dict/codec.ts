// DICT, RFC 2229 section 2.4: status lines "NNN text", and text bodies ending with a lone "." (dot-stuffed).
import { fromUtf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { lineFrame } from '../../core/framing.ts';

export interface Status {
  code: number;
  text: string;
}

const MAX_LINE = 6144; // RFC 2229 2.2: lines are at most 1024 octets; allow margin for lax servers.

const line = lineFrame(MAX_LINE, 'lf');

/** One status line. RFC 2229 2.4: three digits, a space, text. */
export const statusFrame: Frame<Status> = (buf) => {
  const got = line(buf);
  if (!got) return undefined;
  const m = /^(\d{3})(?: (.*))?$/.exec(got.value);
  if (!m) throw new ProtocolError(`DICT status line malformed: ${JSON.stringify(got.value.slice(0, 80))}`);
  return { value: { code: Number(m[1]), text: fromUtf8(utf8Latin1(m[2] ?? '')) }, size: got.size };
};

function utf8Latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** A text body up to the lone "." line, dot-unstuffed (RFC 2229 2.4.3), decoded as UTF-8. */
export function textBlockFrame(maxBytes = 4 * 1024 * 1024): Frame<string> {
  return (buf) => {
    let at = 0;
    const lines: string[] = [];
    for (;;) {
      const got = line(buf.subarray(at));
      if (!got) {
        if (buf.length > maxBytes) throw new ProtocolError(`DICT text longer than ${maxBytes} bytes`);
        return undefined;
      }
      at += got.size;
      if (got.value === '.') return { value: fromUtf8(utf8Latin1(lines.join('\n'))), size: at };
      lines.push(got.value.startsWith('..') ? got.value.slice(1) : got.value);
    }
  };
}

/** `151 "word" database "database description"` (RFC 2229 3.2.3). */
export function parseDefinitionHeader(text: string): { word: string; database: string; description: string } {
  const parts = splitWords(text);
  if (parts.length < 2) throw new ProtocolError(`DICT 151 line malformed: ${JSON.stringify(text.slice(0, 80))}`);
  return { word: parts[0], database: parts[1], description: parts[2] ?? '' };
}

/** Splits DICT words: atoms or double-quoted strings (RFC 2229 2.2, with backslash escapes). */
export function splitWords(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push((m[1] ?? m[2] ?? m[3]).replace(/\\(.)/g, '$1'));
  return out;
}

/** Quotes a command argument when it needs it. */
export function quote(arg: string): string {
  if (/^[^\s"'\\]+$/.test(arg)) return arg;
  return `"${arg.replace(/(["\\])/g, '\\$1')}"`;
}

/** Pairs of `name "description"` from SHOW DB / SHOW STRAT / MATCH bodies. */
export function parsePairs(body: string): { name: string; description: string }[] {
  return body
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [name, description = ''] = splitWords(l);
      return { name, description };
    });
}
