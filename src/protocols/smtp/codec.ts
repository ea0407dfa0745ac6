// SMTP replies (RFC 5321 4.2, multi-line 4.2.1), enhanced status codes (RFC 3463 / RFC 2034), EHLO keywords
// (RFC 5321 4.1.1.1) and the DATA transparency procedure (RFC 5321 4.5.2). LMTP (RFC 2033) shares all of it.
import { ByteWriter, fromUtf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';

export interface Reply {
  code: number;
  /** RFC 3463 class.subject.detail from the first line, when the server uses them. */
  enhanced: string | null;
  /** Text of each line, without code, separator or enhanced code. */
  lines: string[];
}

/** RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; lax servers get room. */
const MAX_LINE = 4096;
/** Lines of one multi-line reply (EHLO lists are long; 200 is plenty). */
const MAX_LINES = 200;

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;

/**
 * One reply, possibly multi-line: "250-first", ..., "250 last" (RFC 5321 4.2.1).
 * Every line must carry the same code; a line is ended by CRLF (bare LF tolerated).
 */
export const replyFrame: Frame<Reply> = (buf) => {
  let at = 0;
  const lines: string[] = [];
  let code = -1;
  let enhanced: string | null = null;
  for (;;) {
    const nl = buf.indexOf(0x0a, at);
    if (nl === -1) {
      if (buf.length - at > MAX_LINE + 2) throw new ProtocolError(`SMTP reply line longer than ${MAX_LINE} bytes`);
      return undefined;
    }
    let end = nl;
    if (end > at && buf[end - 1] === 0x0d) end--;
    if (end - at > MAX_LINE) throw new ProtocolError(`SMTP reply line longer than ${MAX_LINE} bytes`);
    const line = fromUtf8(buf.subarray(at, end));
    at = nl + 1;
    // RFC 5321 4.2: Reply-code = %x32-35 %x30-35 %x30-39 ; then SP or "-" or nothing.
    const m = /^([2-5][0-5][0-9])([ -]?)(.*)$/s.exec(line);
    if (!m || (m[2] === '' && m[3] !== '')) throw new ProtocolError(`SMTP reply line malformed: ${JSON.stringify(line.slice(0, 80))}`);
    const lineCode = Number(m[1]);
    if (code === -1) code = lineCode;
    else if (lineCode !== code) throw new ProtocolError(`SMTP multi-line reply changed code from ${code} to ${lineCode} (RFC 5321 4.2.1)`);
    let text = m[3];
    // RFC 2034 4: the enhanced code prefixes the text of each line.
    const e = ENHANCED.exec(text);
    if (e && Number(e[1]) === Math.floor(code / 100)) {
      if (lines.length === 0) enhanced = `${e[1]}.${e[2]}.${e[3]}`;
      text = text.slice(e[0].length);
    }
    if (lines.length >= MAX_LINES) throw new ProtocolError(`SMTP reply has more than ${MAX_LINES} lines`);
    lines.push(text);
    if (m[2] !== '-') return { value: { code, enhanced, lines }, size: at };
  }
};

/** Reply as one line of text, for messages and the transcript: "250 2.1.0 Ok". */
export function replyText(r: Reply): string {
  return `${r.code}${r.enhanced ? ` ${r.enhanced}` : ''} ${r.lines.join(' / ')}`.trim();
}

/** Wire bytes of a reply (for fixtures and tests). */
export function encodeReply(r: Reply): Uint8Array {
  const w = new ByteWriter();
  r.lines.forEach((line, i) => w.text(`${r.code}${i === r.lines.length - 1 ? ' ' : '-'}${r.enhanced ? `${r.enhanced} ` : ''}${line}\r\n`));
  return w.finish();
}

export interface EhloCapabilities {
  /** The domain the server names on the first line. */
  greeting: string;
  /** Every keyword upper-cased, with its parameters as sent. */
  keywords: Record<string, string[]>;
  size: number | null;
  starttls: boolean;
  pipelining: boolean;
  eightBitMime: boolean;
  smtpUtf8: boolean;
  chunking: boolean;
  enhancedStatusCodes: boolean;
  dsn: boolean;
  /** SASL mechanisms from AUTH (and the pre-standard AUTH=...), upper-cased. */
  auth: string[];
}

/** Parses an EHLO reply: first line greeting, then one "keyword params" per line (RFC 5321 4.1.1.1). */
export function parseEhlo(r: Reply): EhloCapabilities {
  const keywords: Record<string, string[]> = {};
  const auth = new Set<string>();
  for (const line of r.lines.slice(1)) {
    const [kw, ...params] = line.trim().split(/\s+/);
    if (!kw) continue;
    // Old servers wrote "AUTH=LOGIN PLAIN".
    const eq = /^AUTH=(.*)$/i.exec(kw);
    const key = eq ? 'AUTH' : kw.toUpperCase();
    const values = eq ? [eq[1], ...params].filter(Boolean) : params;
    keywords[key] = [...(keywords[key] ?? []), ...values];
    if (key === 'AUTH') for (const m of values) auth.add(m.toUpperCase());
  }
  const sizeParam = keywords.SIZE?.[0];
  // RFC 1870 4: SIZE with no parameter or 0 means no fixed limit.
  const size = sizeParam !== undefined && /^\d+$/.test(sizeParam) && Number(sizeParam) > 0 ? Number(sizeParam) : null;
  return {
    greeting: r.lines[0] ?? '',
    keywords,
    size,
    starttls: 'STARTTLS' in keywords,
    pipelining: 'PIPELINING' in keywords,
    eightBitMime: '8BITMIME' in keywords,
    smtpUtf8: 'SMTPUTF8' in keywords,
    chunking: 'CHUNKING' in keywords,
    enhancedStatusCodes: 'ENHANCEDSTATUSCODES' in keywords,
    dsn: 'DSN' in keywords,
    auth: [...auth],
  };
}

/**
 * The DATA payload: line ends made CRLF (RFC 5321 2.3.8), every line starting with "."
 * given one more "." (4.5.2), the message ended by CRLF if it was not, then ".CRLF".
 */
export function dotStuff(message: Uint8Array): Uint8Array {
  const w = new ByteWriter(message.length + 64);
  let lineStart = true;
  for (let i = 0; i < message.length; i++) {
    const b = message[i];
    if (lineStart && b === 0x2e) w.u8(0x2e);
    if (b === 0x0d) {
      w.u8(0x0d).u8(0x0a);
      if (message[i + 1] === 0x0a) i++;
      lineStart = true;
      continue;
    }
    if (b === 0x0a) {
      w.u8(0x0d).u8(0x0a);
      lineStart = true;
      continue;
    }
    w.u8(b);
    lineStart = false;
  }
  if (!lineStart) w.u8(0x0d).u8(0x0a);
  w.u8(0x2e).u8(0x0d).u8(0x0a);
  return w.finish();
}

/** The message as the receiver stores it: dot-stuffing undone, terminator removed (RFC 5321 4.5.2). */
export function dotUnstuff(data: Uint8Array): Uint8Array {
  const w = new ByteWriter(data.length);
  let lineStart = true;
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (lineStart && b === 0x2e) {
      if (data[i + 1] === 0x0d && data[i + 2] === 0x0a) break;
      lineStart = false;
      continue;
    }
    w.u8(b);
    lineStart = b === 0x0a;
  }
  return w.finish();
}

/** CRLF line ends everywhere (RFC 5321 2.3.8): what dotStuff sends, without the stuffing. */
export function normaliseLineEnds(message: Uint8Array): Uint8Array {
  return dotUnstuff(dotStuff(message));
}

/** An envelope address for MAIL FROM / RCPT TO: no brackets, spaces or controls (RFC 5321 4.1.2). */
export function checkEnvelopeAddress(address: string, field: string, allowEmpty = false): string {
  if (address === '' && allowEmpty) return address;
  if (/[\s<>\x00-\x1f\x7f]/.test(address) || !/^[^@]+@[^@]+$/.test(address)) throw InvalidInput.field(field, `${JSON.stringify(address)} is not an envelope address like user@example.com`);
  if (address.length > 256) throw InvalidInput.field(field, 'is longer than 256 octets (RFC 5321 4.5.3.1.3)');
  return address;
}

/** A server's queue id in its 250 reply to DATA, when it says one ("queued as 4F2A1C0"). */
export function queueIdOf(r: Reply): string | null {
  const text = r.lines.join(' ');
  return /queued as ([A-Za-z0-9]+)/i.exec(text)?.[1] ?? /\bid=([A-Za-z0-9-]+)/.exec(text)?.[1] ?? null;
}
