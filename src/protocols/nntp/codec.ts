// NNTP, RFC 3977: "ddd text" status lines, multi-line blocks ended by a lone "." with dot-stuffing (the same
// framing as POP3's and SMTP's DATA), CAPABILITIES (5.2), LIST ACTIVE / NEWSGROUPS (RFC 6048 and 3977 7.6),
// GROUP (6.1.1), OVER (RFC 3977 8.3) and the date form of NEWNEWS / NEWGROUPS (7.3).
import { fromLatin1, fromUtf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';

export { multilineFrame } from '../pop3/codec.ts';

export interface Status {
  code: number;
  text: string;
}

/** RFC 3977 3.1: a response line is at most 512 octets; lax servers get room. */
const MAX_LINE = 8192;

/** One status line: three digits, then text (RFC 3977 3.2). */
export const statusFrame: Frame<Status> = (buf) => {
  const nl = buf.indexOf(0x0a);
  if (nl === -1) {
    if (buf.length > MAX_LINE + 2) throw new ProtocolError(`NNTP status line longer than ${MAX_LINE} bytes`);
    return undefined;
  }
  const end = nl > 0 && buf[nl - 1] === 0x0d ? nl - 1 : nl;
  if (end > MAX_LINE) throw new ProtocolError(`NNTP status line longer than ${MAX_LINE} bytes`);
  const line = fromLatin1(buf.subarray(0, end));
  const m = /^([1-5]\d\d)(?:[ \t](.*))?$/s.exec(line);
  if (!m) throw new ProtocolError(`NNTP status line malformed: ${JSON.stringify(line.slice(0, 80))}`);
  return { value: { code: Number(m[1]), text: decodeText(buf.subarray(4, end)) }, size: nl + 1 };
};

/** Status text and block lines are UTF-8 in NNTP v2 (RFC 3977 3.1); older servers send Latin-1. */
export function decodeText(bytes: Uint8Array): string {
  try {
    return fromUtf8(bytes, true);
  } catch {
    return fromLatin1(bytes);
  }
}

/** A multi-line block as lines (its CRLFs removed). */
export function blockLines(body: Uint8Array): string[] {
  const out = decodeText(body).split('\r\n');
  if (out.at(-1) === '') out.pop();
  return out;
}

/** RFC 3977 5.2: one capability per line, "LABEL args"; labels are case-insensitive. */
export function parseCapabilities(body: Uint8Array): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of blockLines(body)) {
    const [label, ...args] = line.trim().split(/\s+/);
    if (label) out[label.toUpperCase()] = args;
  }
  return out;
}

export interface ActiveGroup {
  name: string;
  high: number;
  low: number;
  /** RFC 6048 2.3: y posting allowed, n not, m moderated, x no local posting, j junked, =group an alias. */
  status: string;
}

/** RFC 3977 7.6.3 LIST ACTIVE: "group high low status". */
export function parseActive(body: Uint8Array): ActiveGroup[] {
  return blockLines(body).map((line) => {
    const m = /^(\S+)\s+(\d+)\s+(\d+)\s+(\S+)/.exec(line);
    if (!m) throw new ProtocolError(`NNTP LIST ACTIVE line malformed: ${JSON.stringify(line.slice(0, 80))}`);
    return { name: m[1], high: Number(m[2]), low: Number(m[3]), status: m[4] };
  });
}

/** RFC 3977 7.6.6 LIST NEWSGROUPS: "group<whitespace>description". */
export function parseNewsgroups(body: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of blockLines(body)) {
    const m = /^(\S+)\s*(.*)$/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

export interface GroupStatus {
  count: number;
  low: number;
  high: number;
  name: string;
}

/** RFC 3977 6.1.1: "211 number low high group". */
export function parseGroup(text: string): GroupStatus {
  const m = /^(\d+)\s+(\d+)\s+(\d+)\s+(\S+)/.exec(text);
  if (!m) throw new ProtocolError(`NNTP GROUP reply malformed: ${JSON.stringify(text.slice(0, 80))}`);
  return { count: Number(m[1]), low: Number(m[2]), high: Number(m[3]), name: m[4] };
}

/** RFC 3977 6.2.1: "220 n <message-id>" (and 221, 222, 223). */
export function parseArticleStatus(text: string): { number: number; messageId: string } {
  const m = /^(\d+)\s+(<[^>\s]+>)/.exec(text);
  if (!m) throw new ProtocolError(`NNTP article reply malformed: ${JSON.stringify(text.slice(0, 80))}`);
  return { number: Number(m[1]), messageId: m[2] };
}

export interface Overview {
  number: number;
  subject: string;
  from: string;
  date: string;
  messageId: string;
  references: string;
  bytes: number | null;
  lines: number | null;
  /** Further fields from LIST OVERVIEW.FMT ("Xref: ..."), by header name. */
  extra: Record<string, string>;
}

/** RFC 3977 8.3.2: tab-separated number, Subject, From, Date, Message-ID, References, :bytes, :lines, then "Name: value" fields. */
export function parseOverview(body: Uint8Array): Overview[] {
  return blockLines(body).map((line) => {
    const f = line.split('\t');
    if (f.length < 8 || !/^\d+$/.test(f[0])) throw new ProtocolError(`NNTP OVER line malformed: ${JSON.stringify(line.slice(0, 80))}`);
    const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : null);
    const extra: Record<string, string> = {};
    for (const x of f.slice(8)) {
      const c = x.indexOf(':');
      if (c > 0) extra[x.slice(0, c)] = x.slice(c + 1).trim();
    }
    return { number: Number(f[0]), subject: f[1], from: f[2], date: f[3], messageId: f[4], references: f[5], bytes: num(f[6]), lines: num(f[7]), extra };
  });
}

/** RFC 3977 7.3.2: "yyyymmdd hhmmss GMT" from an ISO date. */
export function nntpDate(iso: string, field: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw InvalidInput.field(field, 'must be a date (ISO 8601), e.g. 2024-01-31T00:00:00Z');
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())} ${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())} GMT`;
}

/** A command argument: one token, no whitespace or control characters (RFC 3977 3.1). */
export function token(value: string, field: string): string {
  if (!/^[^\s\0]+$/.test(value)) throw InvalidInput.field(field, 'must be one word without spaces or control characters');
  return value;
}

/** An article range for OVER / LISTGROUP: "n", "n-", "n-m" (RFC 3977 1.8), or a message-id. */
export function range(value: string, field: string): string {
  if (!/^(\d+(-\d*)?|<[^>\s]+>)$/.test(value)) throw InvalidInput.field(field, 'must be n, n-, n-m or a <message-id>');
  return value;
}
