// Tor's control protocol (control-spec.txt, "TC: A Tor control protocol", version 1): replies, quoted
// strings, keyword=value lists, and the SAFECOOKIE hashes (section 3.24). Sans I/O.
//
// How it works: a reply is one or more lines "NNN-text" (mid), "NNN+text" followed by a data block
// ending in a line "." (dot-stuffed), closed by a line "NNN text" (end). `replyFrame` returns a reply
// only once its end line has arrived. Asynchronous events are replies whose status is 650.
import { concat, fromLatin1, indexOf, toHex, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';

const CRLF = utf8('\r\n');
const MAX_LINE = 64 * 1024;
const MAX_LINES = 10_000;
const MAX_REPLY = 4 * 1024 * 1024;

export interface ReplyLine {
  status: number;
  /** The text after the status and separator. */
  text: string;
  /** The data block of a "+" line, dot-unstuffed, lines joined with "\n". */
  data?: string;
}

export interface Reply {
  /** The status of the end line (the reply's status). */
  status: number;
  lines: ReplyLine[];
}

/** One whole reply, or undefined until its end line has arrived. */
export const replyFrame: Frame<Reply> = (buf) => {
  const lines: ReplyLine[] = [];
  let at = 0;
  for (;;) {
    const eol = indexOf(buf, CRLF, at);
    if (eol === -1) {
      if (buf.length - at > MAX_LINE) throw new ProtocolError(`Tor control line longer than ${MAX_LINE} bytes`);
      if (buf.length > MAX_REPLY) throw new ProtocolError(`Tor control reply larger than ${MAX_REPLY} bytes`);
      return undefined;
    }
    const line = fromLatin1(buf.subarray(at, eol));
    at = eol + 2;
    // Section 2.3: StatusCode [ "-" / "+" / SP ] text
    const m = /^(\d{3})([- +])(.*)$/s.exec(line) ?? /^(\d{3})()$/.exec(line);
    if (!m) throw new ProtocolError(`not a Tor control reply line: ${JSON.stringify(line.slice(0, 80))}`);
    if (lines.length >= MAX_LINES) throw new ProtocolError(`Tor control reply with more than ${MAX_LINES} lines`);
    const status = Number(m[1]);
    if (lines.length > 0 && status !== lines[0].status) throw new ProtocolError(`Tor control reply mixes status ${lines[0].status} and ${status}`);
    const entry: ReplyLine = { status, text: m[3] };
    lines.push(entry);
    if (m[2] === '+') {
      const data: string[] = [];
      for (;;) {
        const end = indexOf(buf, CRLF, at);
        if (end === -1) {
          if (buf.length - at > MAX_REPLY) throw new ProtocolError(`Tor control data block larger than ${MAX_REPLY} bytes`);
          return undefined;
        }
        const d = fromLatin1(buf.subarray(at, end));
        at = end + 2;
        if (d === '.') break;
        data.push(d.startsWith('.') ? d.slice(1) : d);
      }
      entry.data = data.join('\n');
    }
    if (m[2] === ' ' || m[2] === '') return { value: { status, lines }, size: at };
  }
};

/** Section 2.1: a QuotedString, with backslash escapes for backslash and quote (and CR/LF refused). */
export function quote(s: string): string {
  if (/[\r\n\0]/.test(s)) throw InvalidInput.field('value', 'a quoted string cannot hold CR, LF or NUL');
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Section 2.1: unquotes a QuotedString (C escapes as tor writes them). */
export function unquote(s: string): string {
  if (!s.startsWith('"') || !s.endsWith('"') || s.length < 2) return s;
  return s.slice(1, -1).replace(/\\(n|t|r|[0-7]{1,3}|.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : /^[0-7]+$/.test(c) ? String.fromCharCode(parseInt(c, 8)) : c));
}

/** Keyword=Value pairs of a line (values quoted or bare), as PROTOCOLINFO and AUTHCHALLENGE write them. */
export function keywords(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z0-9_]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out[m[1]] = unquote(m[2]);
  return out;
}

/** A command line; every argument must be free of CR and LF (section 2.2). */
export function command(...parts: string[]): Uint8Array {
  for (const p of parts) if (/[\r\n]/.test(p)) throw InvalidInput.field('command', 'a Tor control argument cannot hold CR or LF');
  return utf8(`${parts.join(' ')}\r\n`);
}

/** GETINFO/GETCONF answers: "key=value" lines and "key=" data blocks, in order. */
export function keyValues(reply: Reply): [string, string][] {
  const out: [string, string][] = [];
  for (const l of reply.lines) {
    if (l.text === 'OK' && l === reply.lines[reply.lines.length - 1]) continue;
    const eq = l.text.indexOf('=');
    if (eq === -1) out.push([l.text, l.data ?? '']);
    else out.push([l.text.slice(0, eq), l.data ?? unquote(l.text.slice(eq + 1))]);
  }
  return out;
}

export interface ProtocolInfo {
  protocolInfoVersion: number | null;
  methods: string[];
  cookieFile: string | null;
  torVersion: string | null;
}

/** Section 3.21: PROTOCOLINFO's AUTH and VERSION lines. */
export function parseProtocolInfo(reply: Reply): ProtocolInfo {
  const info: ProtocolInfo = { protocolInfoVersion: null, methods: [], cookieFile: null, torVersion: null };
  for (const l of reply.lines) {
    if (l.text.startsWith('PROTOCOLINFO ')) info.protocolInfoVersion = Number(l.text.slice(13)) || null;
    else if (l.text.startsWith('AUTH ')) {
      const k = keywords(l.text.slice(5));
      info.methods = k.METHODS ? k.METHODS.split(',').filter(Boolean) : [];
      info.cookieFile = k.COOKIEFILE ?? null;
    } else if (l.text.startsWith('VERSION ')) info.torVersion = keywords(l.text.slice(8)).Tor ?? null;
  }
  return info;
}

/** Section 3.24 (AUTHCHALLENGE): the two HMAC-SHA256 keys. */
export const SAFECOOKIE_SERVER_KEY = utf8('Tor safe cookie authentication server-to-controller hash');
export const SAFECOOKIE_CLIENT_KEY = utf8('Tor safe cookie authentication controller-to-server hash');

/** The HMAC message: CookieString | ClientNonce | ServerNonce. */
export function safeCookieMessage(cookie: Uint8Array, clientNonce: Uint8Array, serverNonce: Uint8Array): Uint8Array {
  return concat([cookie, clientNonce, serverNonce]);
}

export function hexArg(bytes: Uint8Array): string {
  return toHex(bytes).toUpperCase();
}

export function describeReply(r: Reply): string {
  const last = r.lines[r.lines.length - 1];
  return r.lines.length === 1 ? `${r.status} ${last.text}`.slice(0, 200) : `${r.status} (${r.lines.length} lines) ${r.lines[0].text.slice(0, 120)}`;
}
