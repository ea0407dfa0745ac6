// Internet Message Format (RFC 5322) and MIME (RFC 2045, 2046, 2047, 2231): a message builder from
// fields (addresses, subject, text, HTML, attachments) and the header decoding readers need.
//
// How it works: every header value is made 7-bit here: non-ASCII words become RFC 2047
// encoded-words (UTF-8, "B" encoding), attachment names use RFC 2231 parameters. Bodies
// are 7bit when they already are short ASCII lines, else quoted-printable (text) or base64
// (attachments). So the built message is pure ASCII with CRLF line ends, whatever the
// server's 8BITMIME/SMTPUTF8 support, and what a reader fetches back can be compared byte for byte.
import { fromBase64, fromLatin1, fromUtf8, toBase64, toHex, utf8 } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';

export interface MailAddress {
  name?: string;
  address: string;
}

export interface Attachment {
  filename: string;
  contentType?: string;
  /** Exactly one of content (text, sent as UTF-8) and contentBase64. */
  content?: string;
  contentBase64?: string;
  /** Content-ID for inline parts referenced from HTML (cid:...). */
  contentId?: string;
}

export interface MessageFields {
  from: string | MailAddress;
  to?: (string | MailAddress)[];
  cc?: (string | MailAddress)[];
  replyTo?: (string | MailAddress)[];
  subject?: string;
  text?: string;
  html?: string;
  attachments?: Attachment[];
  headers?: { name: string; value: string }[];
  /** Defaults to now. */
  date?: Date;
  /** Without angle brackets; generated when absent. */
  messageId?: string;
}

export interface BuiltMessage {
  bytes: Uint8Array;
  messageId: string;
  /** Envelope recipients named in the headers (To and Cc). */
  headerRecipients: string[];
}

const MAX_LINE = 998; // RFC 5322 2.1.1: at most 998 characters before CRLF.
const ENCODED_WORD_MAX = 75; // RFC 2047 2.

/** Lines ending in CRLF, whatever the input used (RFC 5321 2.3.8: bare CR or LF are not line ends). */
export function normaliseCrlf(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\r\n');
}

const ADDRESS_RE = /^[^\s<>()[\]\\,;:@"]+(?:\.[^\s<>()[\]\\,;:@"]+)*@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$|^"[^"\\\r\n]+"@[A-Za-z0-9.-]+$/;

/** Parses `Name <addr>`, `<addr>` or `addr`; rejects what cannot be an addr-spec (RFC 5322 3.4.1). */
export function parseAddress(value: string | MailAddress, field: string): MailAddress {
  let name: string | undefined;
  let address: string;
  if (typeof value === 'string') {
    const m = /^\s*(.*?)\s*<([^<>]*)>\s*$/.exec(value);
    if (m) {
      name = m[1].replace(/^"(.*)"$/, '$1') || undefined;
      address = m[2].trim();
    } else address = value.trim();
  } else {
    name = value.name || undefined;
    address = value.address.trim();
  }
  if (/[\r\n]/.test(address) || /[\r\n]/.test(name ?? '')) throw InvalidInput.field(field, 'must not contain CR or LF');
  if (!ADDRESS_RE.test(address)) throw InvalidInput.field(field, `${JSON.stringify(address)} is not an address like user@example.com`);
  if (address.length > 254) throw InvalidInput.field(field, 'address is longer than 254 characters (RFC 5321 4.5.3.1)');
  return name ? { name, address } : { address };
}

const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/;

/** A display name as atoms, a quoted-string, or encoded-words when it is not ASCII (RFC 5322 3.4, RFC 2047 5(3)). */
function displayName(name: string): string {
  if (/[^\x20-\x7e]/.test(name)) return encodeWords(name);
  if (ATEXT.test(name) && !/^\s|\s$|\s\s/.test(name)) return name;
  return `"${name.replace(/(["\\])/g, '\\$1')}"`;
}

export function formatAddress(a: MailAddress): string {
  return a.name ? `${displayName(a.name)} <${a.address}>` : a.address;
}

/**
 * RFC 2047 encoded-words for `text`: UTF-8, B encoding, each word at most 75 characters,
 * never splitting a UTF-8 sequence (RFC 2047 5: each encoded-word must be self-contained).
 */
export function encodeWords(text: string): string {
  const prefix = '=?UTF-8?B?';
  const room = Math.floor((ENCODED_WORD_MAX - prefix.length - 2) / 4) * 3; // raw bytes per word
  const words: string[] = [];
  let chunk: number[] = [];
  for (const ch of text) {
    const bytes = utf8(ch);
    if (chunk.length + bytes.length > room) {
      words.push(`${prefix}${toBase64(new Uint8Array(chunk))}?=`);
      chunk = [];
    }
    chunk.push(...bytes);
  }
  if (chunk.length > 0 || words.length === 0) words.push(`${prefix}${toBase64(new Uint8Array(chunk))}?=`);
  return words.join(' ');
}

/** An unstructured header value (Subject...): ASCII kept, otherwise encoded-words. */
export function encodeUnstructured(text: string): string {
  if (/[\r\n]/.test(text)) throw InvalidInput.field('header', 'values must be one line');
  return /[^\x20-\x7e\t]/.test(text) ? encodeWords(text) : text;
}

/** `Name: value`, folded at spaces so lines stay under 78 characters where possible (RFC 5322 2.2.3). */
export function foldHeader(name: string, value: string): string {
  const words = value.split(' ');
  const lines: string[] = [];
  let line = `${name}:`;
  for (const word of words) {
    if (line.length + 1 + word.length > 78 && line.length > name.length + 1) {
      lines.push(line);
      line = ` ${word}`;
    } else line += ` ${word}`;
  }
  lines.push(line);
  for (const l of lines) if (l.length > MAX_LINE) throw InvalidInput.field(name, `header line longer than ${MAX_LINE} characters`);
  return lines.join('\r\n');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 3.3 date-time, in UTC. */
export function formatDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Quoted-printable (RFC 2045 6.7) of UTF-8 text with CRLF line ends; encoded lines at most 76 characters. */
export function encodeQuotedPrintable(text: string): string {
  const out: string[] = [];
  for (const line of normaliseCrlf(text).split('\r\n')) {
    const bytes = utf8(line);
    let cur = '';
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      const last = i === bytes.length - 1;
      // Rule (2): printable ASCII except "=" literal; rule (3): space/tab literal except at line end.
      let enc = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last) ? String.fromCharCode(b) : `=${toHex(new Uint8Array([b])).toUpperCase()}`;
      // Rule (5): soft line breaks keep encoded lines at 76 characters, "=" included.
      if (cur.length + enc.length > 75) {
        out.push(`${cur}=`);
        cur = '';
        if (enc === ' ' || enc === '\t') enc = enc === ' ' ? (last ? '=20' : ' ') : '=09';
      }
      cur += enc;
    }
    out.push(cur);
  }
  return out.join('\r\n');
}

/** Base64 in lines of 76 characters (RFC 2045 6.8). */
export function base64Lines(bytes: Uint8Array): string {
  const b64 = toBase64(bytes);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join('\r\n');
}

/** A MIME parameter value: a token, a quoted-string, or RFC 2231 `name*=utf-8''...` for non-ASCII. */
function parameter(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw InvalidInput.field(name, 'must be one line');
  if (/[^\x20-\x7e]/.test(value)) {
    const pct = Array.from(utf8(value), (b) => (/[A-Za-z0-9!#$&+.^_`|~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${toHex(new Uint8Array([b])).toUpperCase()}`)).join('');
    return `${name}*=utf-8''${pct}`;
  }
  return `${name}="${value.replace(/(["\\])/g, '\\$1')}"`;
}

interface Part {
  headers: string[];
  body: string;
}

/** 7bit when the text is short-lined ASCII without the boundary marker, else quoted-printable. */
function textPart(text: string, subtype: 'plain' | 'html'): Part {
  const crlf = normaliseCrlf(text);
  const sevenBit = !/[^\x00-\x7f]/.test(crlf) && crlf.split('\r\n').every((l) => l.length <= 76) && !crlf.includes('=_') && !/[\x00\r](?!\n)/.test(crlf);
  return {
    headers: [`Content-Type: text/${subtype}; charset=utf-8`, `Content-Transfer-Encoding: ${sevenBit ? '7bit' : 'quoted-printable'}`],
    body: sevenBit ? crlf : encodeQuotedPrintable(crlf),
  };
}

function attachmentPart(a: Attachment, index: number): Part {
  const field = `attachments.${index}`;
  if ((a.content === undefined) === (a.contentBase64 === undefined)) throw InvalidInput.field(field, 'give exactly one of content and contentBase64');
  let bytes: Uint8Array;
  if (a.content !== undefined) bytes = utf8(a.content);
  else {
    try {
      bytes = fromBase64(a.contentBase64!);
    } catch {
      throw InvalidInput.field(`${field}.contentBase64`, 'is not valid base64');
    }
  }
  const type = a.contentType ?? (a.content !== undefined ? 'text/plain; charset=utf-8' : 'application/octet-stream');
  if (!/^[\w.+-]+\/[\w.+-]+(\s*;\s*[\w.-]+=("[^"\r\n]*"|[\w.-]+))*$/.test(type)) throw InvalidInput.field(`${field}.contentType`, 'is not a MIME type like application/pdf');
  const headers = [
    foldHeader('Content-Type', `${type}; ${parameter('name', a.filename)}`),
    'Content-Transfer-Encoding: base64',
    foldHeader('Content-Disposition', `${a.contentId ? 'inline' : 'attachment'}; ${parameter('filename', a.filename)}`),
  ];
  if (a.contentId) {
    if (!/^[^\s<>]+$/.test(a.contentId)) throw InvalidInput.field(`${field}.contentId`, 'must have no spaces or angle brackets');
    headers.push(`Content-ID: <${a.contentId}>`);
  }
  return { headers, body: base64Lines(bytes) };
}

function multipart(subtype: 'mixed' | 'alternative', parts: Part[], boundary: string): Part {
  const body = parts.map((p) => `--${boundary}\r\n${p.headers.join('\r\n')}\r\n\r\n${p.body}\r\n`).join('') + `--${boundary}--`;
  return { headers: [`Content-Type: multipart/${subtype};\r\n boundary="${boundary}"`], body };
}

/**
 * Builds an RFC 5322 message with MIME structure: text, text+HTML (multipart/alternative),
 * attachments (multipart/mixed). `random` supplies bytes for boundaries and the Message-ID.
 */
export function buildMessage(f: MessageFields, random: (n: number) => Uint8Array): BuiltMessage {
  const from = parseAddress(f.from, 'from');
  const to = (f.to ?? []).map((a, i) => parseAddress(a, `to.${i}`));
  const cc = (f.cc ?? []).map((a, i) => parseAddress(a, `cc.${i}`));
  const replyTo = (f.replyTo ?? []).map((a, i) => parseAddress(a, `replyTo.${i}`));
  const domain = from.address.slice(from.address.lastIndexOf('@') + 1);
  const messageId = f.messageId ?? `${toHex(random(12))}@${domain}`;
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(messageId)) throw InvalidInput.field('messageId', 'must look like id@domain, without angle brackets');

  const headers: string[] = [
    `Date: ${formatDate(f.date ?? new Date())}`,
    foldHeader('From', formatAddress(from)),
  ];
  const list = (name: string, xs: MailAddress[]) => {
    if (xs.length > 0) headers.push(foldHeader(name, xs.map(formatAddress).join(', ')));
  };
  list('To', to);
  list('Cc', cc);
  list('Reply-To', replyTo);
  if (f.subject !== undefined) headers.push(foldHeader('Subject', encodeUnstructured(f.subject)));
  headers.push(`Message-ID: <${messageId}>`);
  for (const [i, h] of (f.headers ?? []).entries()) {
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(h.name)) throw InvalidInput.field(`headers.${i}.name`, 'must be printable ASCII without colon or space (RFC 5322 2.2)');
    if (/^(content-|mime-version$|date$|from$|to$|cc$|bcc$|subject$|message-id$)/i.test(h.name)) throw InvalidInput.field(`headers.${i}.name`, `${h.name} is set from its own field`);
    headers.push(foldHeader(h.name, encodeUnstructured(h.value)));
  }
  headers.push('MIME-Version: 1.0');

  const boundary = () => `=_portolan_${toHex(random(12))}`;
  let body: Part;
  const text = f.text !== undefined ? textPart(f.text, 'plain') : undefined;
  const html = f.html !== undefined ? textPart(f.html, 'html') : undefined;
  if (text && html) body = multipart('alternative', [text, html], boundary());
  else body = text ?? html ?? textPart('', 'plain');
  const attachments = (f.attachments ?? []).map(attachmentPart);
  if (attachments.length > 0) body = multipart('mixed', [body, ...attachments], boundary());

  const message = `${headers.join('\r\n')}\r\n${body.headers.join('\r\n')}\r\n\r\n${body.body}\r\n`;
  return { bytes: utf8(message), messageId, headerRecipients: [...to, ...cc].map((a) => a.address) };
}

// Reading headers back

export interface HeaderField {
  name: string;
  /** Unfolded, encoded-words decoded. */
  value: string;
}

/** The header block of a message: up to the first empty line (RFC 5322 2.1). */
export function headerBlock(message: Uint8Array): Uint8Array {
  for (let i = 0; i + 1 < message.length; i++) {
    if (message[i] === 0x0a && message[i + 1] === 0x0a) return message.subarray(0, i + 1);
    if (message[i] === 0x0a && message[i + 1] === 0x0d && message[i + 2] === 0x0a) return message.subarray(0, i + 1);
  }
  return message;
}

/** Header fields, unfolded (RFC 5322 2.2.3) and decoded (RFC 2047); at most `max` fields. */
export function parseHeaders(block: Uint8Array, max = 500): HeaderField[] {
  const text = fromUtf8(block);
  const out: HeaderField[] = [];
  for (const raw of text.replace(/\r?\n(?=[ \t])/g, '').split(/\r?\n/)) {
    const colon = raw.indexOf(':');
    if (colon <= 0) continue;
    if (out.length >= max) break;
    out.push({ name: raw.slice(0, colon).trim(), value: decodeWords(raw.slice(colon + 1).trim()) });
  }
  return out;
}

/** Decodes RFC 2047 encoded-words; whitespace between adjacent encoded-words is dropped (RFC 2047 6.2). */
export function decodeWords(text: string): string {
  return text
    .replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)/g, '$1')
    .replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g, (word, charset: string, enc: string, data: string) => {
      try {
        const bytes = enc.toUpperCase() === 'B' ? fromBase64(data) : decodeQ(data);
        return decodeCharset(bytes, charset.replace(/\*.*$/, ''));
      } catch (e) {
        if (e instanceof ProtocolError || e instanceof RangeError || e instanceof TypeError) return word;
        throw e;
      }
    });
}

/** RFC 2047 4.2: "_" is space, =XX a byte. */
function decodeQ(data: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (c === '_') out.push(0x20);
    else if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(data.slice(i + 1, i + 3))) {
      out.push(parseInt(data.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(c.charCodeAt(0) & 0xff);
  }
  return new Uint8Array(out);
}

function decodeCharset(bytes: Uint8Array, charset: string): string {
  const cs = charset.toLowerCase();
  if (cs === 'utf-8' || cs === 'utf8' || cs === 'us-ascii') return fromUtf8(bytes);
  if (cs === 'iso-8859-1' || cs === 'latin1') return fromLatin1(bytes);
  return new TextDecoder(cs).decode(bytes);
}

/**
 * A body's text in its declared charset (RFC 2046 4.1.2); UTF-8 when none is declared or the runtime does not
 * know it, with U+FFFD for bytes that are not of the charset. Returns the charset actually used.
 */
export function decodeBodyText(bytes: Uint8Array, charset: string | undefined): { text: string; charset: string } {
  const wanted = (charset ?? 'us-ascii').trim().toLowerCase();
  try {
    return { text: decodeCharset(bytes, wanted), charset: wanted };
  } catch (e) {
    if (!(e instanceof RangeError || e instanceof TypeError)) throw e;
    return { text: fromUtf8(bytes), charset: 'utf-8' };
  }
}

const HEX_VALUE = (b: number): number => (b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x41 && b <= 0x46 ? b - 0x37 : b >= 0x61 && b <= 0x66 ? b - 0x57 : -1);

/**
 * Quoted-printable (RFC 2045 6.7): "=XX" is a byte, "=" at a line's end a soft break, whitespace before a line
 * break is dropped (rule 3). A malformed "=" stays as it is (6.7 note 1); a "=" cut off at the end is dropped.
 */
export function decodeQuotedPrintable(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  let n = 0;
  let lineStart = 0;
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b === 0x3d) {
      if (i + 1 >= data.length) break;
      if (data[i + 1] === 0x0a || (data[i + 1] === 0x0d && data[i + 2] === 0x0a)) {
        i += data[i + 1] === 0x0d ? 2 : 1;
        lineStart = n;
        continue;
      }
      if (i + 2 >= data.length) break;
      const hi = HEX_VALUE(data[i + 1]);
      const lo = HEX_VALUE(data[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        lineStart = n;
        continue;
      }
      out[n++] = b;
    } else if (b === 0x0a || (b === 0x0d && data[i + 1] === 0x0a)) {
      while (n > lineStart && (out[n - 1] === 0x20 || out[n - 1] === 0x09)) n--;
      if (b === 0x0d) {
        out[n++] = 0x0d;
        i++;
      }
      out[n++] = 0x0a;
      lineStart = n;
    } else out[n++] = b;
  }
  return out.slice(0, n);
}

/** A base64 body (RFC 2045 6.8): bytes outside the alphabet are ignored, decoding stops at "="; a cut-off quantum is dropped. */
export function decodeBase64Body(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.floor((data.length * 3) / 4) + 3);
  let n = 0;
  let bits = 0;
  let value = 0;
  for (const b of data) {
    if (b === 0x3d) break;
    const v = b >= 0x41 && b <= 0x5a ? b - 0x41 : b >= 0x61 && b <= 0x7a ? b - 0x47 : b >= 0x30 && b <= 0x39 ? b + 4 : b === 0x2b ? 62 : b === 0x2f ? 63 : -1;
    if (v < 0) continue;
    value = ((value << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >> bits) & 0xff;
    }
  }
  return out.slice(0, n);
}

/** A body undone from its Content-Transfer-Encoding (RFC 2045 6): base64 and quoted-printable decoded, others as they are. */
export function decodeTransferEncoding(data: Uint8Array, encoding: string | null | undefined): Uint8Array {
  const e = (encoding ?? '7bit').toLowerCase();
  if (e === 'base64') return decodeBase64Body(data);
  if (e === 'quoted-printable') return decodeQuotedPrintable(data);
  return data;
}

/**
 * MIME parameters with RFC 2231 decoded: `name*=charset'lang'%XX..` and continuations
 * `name*0*=...; name*1=...` joined under `name`. Keys are lower-cased.
 */
export function decodeParameters(pairs: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  const pieces = new Map<string, { n: number; value: string; encoded: boolean }[]>();
  for (const [rawKey, value] of pairs) {
    const key = rawKey.toLowerCase();
    const m = /^([^*]+)(?:\*(\d+))?(\*)?$/.exec(key);
    if (!m || (m[2] === undefined && m[3] === undefined)) {
      out[key] = decodeWords(value);
      continue;
    }
    const list = pieces.get(m[1]) ?? [];
    list.push({ n: m[2] === undefined ? 0 : Number(m[2]), value, encoded: m[3] !== undefined });
    pieces.set(m[1], list);
  }
  for (const [name, list] of pieces) {
    list.sort((a, b) => a.n - b.n);
    let charset = 'us-ascii';
    const bytes: number[] = [];
    list.forEach((p, i) => {
      let v = p.value;
      if (p.encoded && i === 0) {
        const q = /^([^']*)'[^']*'(.*)$/s.exec(v);
        if (q) {
          charset = q[1] || charset;
          v = q[2];
        }
      }
      if (p.encoded) {
        for (let j = 0; j < v.length; j++) {
          if (v[j] === '%' && /^[0-9A-Fa-f]{2}$/.test(v.slice(j + 1, j + 3))) {
            bytes.push(parseInt(v.slice(j + 1, j + 3), 16));
            j += 2;
          } else bytes.push(...utf8(v[j]));
        }
      } else bytes.push(...utf8(v));
    });
    try {
      out[name] = decodeCharset(new Uint8Array(bytes), charset);
    } catch (e) {
      if (!(e instanceof RangeError || e instanceof TypeError)) throw e;
      out[name] = fromLatin1(new Uint8Array(bytes));
    }
  }
  return out;
}
