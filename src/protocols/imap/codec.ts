// IMAP responses and commands: RFC 9051 section 4 (data formats: atoms, quoted strings, literals, NIL, lists),
// 7 (responses), 9 (formal syntax), with RFC 3501 servers in mind; LITERAL+/LITERAL- (RFC 7888); mailbox names in
// modified UTF-7 (RFC 3501 5.1.3); ENVELOPE and BODYSTRUCTURE (RFC 9051 7.5.2).
//
// How it works: `responseFrame` finds where one response ends: at a CRLF that does not close a
// line ending in a literal announcement `{n}` (then n bytes are skipped and scanning goes on).
// Status lines (`tag OK ...`, `* BYE ...`) and continuations (`+ ...`) carry free text, never
// literals. `parseResponse` then tokenises the whole response from bytes: strings stay bytes
// (literals may be binary), atoms are latin1 text, lists nest at most MAX_DEPTH deep.
import { ByteWriter, fromLatin1, fromUtf8, toBase64, fromBase64, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { decodeParameters, decodeWords } from '../mail/mime.ts';

export type ImapValue =
  | { type: 'atom'; value: string }
  | { type: 'string'; value: Uint8Array; literal: boolean }
  | { type: 'nil' }
  | { type: 'list'; value: ImapValue[] };

export type Status = 'OK' | 'NO' | 'BAD' | 'BYE' | 'PREAUTH';

export interface ResponseCode {
  /** Upper-cased: CAPABILITY, UIDVALIDITY, APPENDUID, ... */
  name: string;
  /** Everything after the name, as sent. */
  text: string;
  /** The arguments tokenised, when they parse. */
  values: ImapValue[];
}

export type ImapResponse =
  | { kind: 'continuation'; text: string }
  | { kind: 'status'; tag: string; status: Status; code: ResponseCode | null; text: string }
  | { kind: 'data'; number: number | null; name: string; values: ImapValue[] };

/** Longest line between literals; RFC 9051 sets no limit, servers use 8-64 KiB. */
const MAX_LINE = 256 * 1024;
/** Largest literal accepted (a whole message in a FETCH). */
export const MAX_LITERAL = 32 * 1024 * 1024;
const MAX_DEPTH = 48;
const MAX_ITEMS = 500_000;

const STATUS_LINE = /^(?:\+|[^\s]+ (?:OK|NO|BAD|BYE|PREAUTH)(?:[ \r]|$))/i;

/** Returns the literal size announced at the end of a line (`{n}`, `{n+}`, `~{n}`), or -1. */
function literalAtEnd(buf: Uint8Array, start: number, end: number): number {
  if (end - start < 3 || buf[end - 1] !== 0x7d) return -1;
  let i = end - 2;
  if (buf[i] === 0x2b || buf[i] === 0x2d) i--; // "+" (LITERAL+) or "-" never from servers, tolerated
  let n = 0;
  let digits = 0;
  let scale = 1;
  while (i > start && buf[i] >= 0x30 && buf[i] <= 0x39) {
    n += (buf[i] - 0x30) * scale;
    scale *= 10;
    digits++;
    i--;
    if (digits > 10) throw new ProtocolError('IMAP literal size has more than 10 digits');
  }
  if (digits === 0 || buf[i] !== 0x7b) return -1;
  if (n > MAX_LITERAL) throw new ProtocolError(`IMAP literal of ${n} bytes exceeds the ${MAX_LITERAL}-byte limit`);
  return n;
}

/** One whole response, literals included (RFC 9051 4.3: a literal is {n} CRLF then n octets). */
export const responseFrame: Frame<ImapResponse> = (buf) => {
  let at = 0;
  let first = true;
  for (;;) {
    const nl = buf.indexOf(0x0a, at);
    if (nl === -1) {
      if (buf.length - at > MAX_LINE) throw new ProtocolError(`IMAP response line longer than ${MAX_LINE} bytes`);
      return undefined;
    }
    if (nl - at > MAX_LINE) throw new ProtocolError(`IMAP response line longer than ${MAX_LINE} bytes`);
    const end = nl > at && buf[nl - 1] === 0x0d ? nl - 1 : nl;
    if (first && STATUS_LINE.test(fromLatin1(buf.subarray(at, Math.min(end, at + 40))))) {
      return { value: parseResponse(buf.subarray(0, nl + 1)), size: nl + 1 };
    }
    first = false;
    const n = literalAtEnd(buf, at, end);
    if (n < 0) return { value: parseResponse(buf.subarray(0, nl + 1)), size: nl + 1 };
    if (buf.length < nl + 1 + n) return undefined;
    at = nl + 1 + n;
  }
};

/** Tokenises IMAP values from bytes: the parser behind responses and response codes. */
class Tokens {
  private at = 0;
  private items = 0;

  constructor(
    private readonly b: Uint8Array,
    private readonly end = b.length,
  ) {}

  get done(): boolean {
    return this.at >= this.end;
  }

  get offset(): number {
    return this.at;
  }

  peek(): number {
    return this.at < this.end ? this.b[this.at] : -1;
  }

  space(): boolean {
    if (this.peek() !== 0x20) return false;
    while (this.peek() === 0x20) this.at++;
    return true;
  }

  rest(): Uint8Array {
    const out = this.b.subarray(this.at, this.end);
    this.at = this.end;
    return out;
  }

  /** A run of non-space bytes (tags, status words). */
  word(): string {
    const start = this.at;
    while (this.at < this.end && this.b[this.at] !== 0x20) this.at++;
    return fromLatin1(this.b.subarray(start, this.at));
  }

  value(depth = 0): ImapValue {
    if (++this.items > MAX_ITEMS) throw new ProtocolError(`IMAP response has more than ${MAX_ITEMS} items`);
    const c = this.peek();
    if (c === -1) throw new ProtocolError('IMAP response ended where a value was expected');
    if (c === 0x28) return this.list(depth);
    if (c === 0x22) return this.quoted();
    if (c === 0x7b || (c === 0x7e && this.b[this.at + 1] === 0x7b)) return this.literal();
    return this.atom();
  }

  private list(depth: number): ImapValue {
    if (depth >= MAX_DEPTH) throw new ProtocolError(`IMAP lists nested more than ${MAX_DEPTH} deep`);
    this.at++; // "("
    const out: ImapValue[] = [];
    for (;;) {
      this.space();
      const c = this.peek();
      if (c === -1) throw new ProtocolError('IMAP list not closed');
      if (c === 0x29) {
        this.at++;
        return { type: 'list', value: out };
      }
      out.push(this.value(depth + 1));
    }
  }

  /** RFC 9051 4.3: quoted = DQUOTE *QUOTED-CHAR DQUOTE, with \" and \\ escapes. */
  private quoted(): ImapValue {
    this.at++;
    const w = new ByteWriter(64);
    for (;;) {
      if (this.at >= this.end) throw new ProtocolError('IMAP quoted string not closed');
      const c = this.b[this.at++];
      if (c === 0x22) return { type: 'string', value: w.finish(), literal: false };
      if (c === 0x0d || c === 0x0a) throw new ProtocolError('IMAP quoted string contains CR or LF');
      if (c === 0x5c) {
        if (this.at >= this.end) throw new ProtocolError('IMAP quoted string ends in a backslash');
        w.u8(this.b[this.at++]);
      } else w.u8(c);
    }
  }

  private literal(): ImapValue {
    if (this.b[this.at] === 0x7e) this.at++; // literal8 (RFC 3516)
    const close = this.b.indexOf(0x7d, this.at);
    if (close === -1 || close > this.end) throw new ProtocolError('IMAP literal size not closed');
    const spec = fromLatin1(this.b.subarray(this.at + 1, close));
    if (!/^\d{1,10}\+?$/.test(spec)) throw new ProtocolError(`IMAP literal size malformed: {${spec.slice(0, 12)}}`);
    const n = parseInt(spec, 10);
    if (n > MAX_LITERAL) throw new ProtocolError(`IMAP literal of ${n} bytes exceeds the limit`);
    let at = close + 1;
    if (this.b[at] === 0x0d) at++;
    if (this.b[at] !== 0x0a) throw new ProtocolError('IMAP literal size not followed by CRLF');
    at++;
    if (at + n > this.end) throw new ProtocolError('IMAP literal runs past the response');
    this.at = at + n;
    return { type: 'string', value: this.b.subarray(at, at + n), literal: true };
  }

  /** Atoms, numbers, flags (\Seen), NIL, and section specs with brackets: BODY[HEADER.FIELDS (A B)]<0>. */
  private atom(): ImapValue {
    const start = this.at;
    while (this.at < this.end) {
      const c = this.b[this.at];
      if (c === 0x20 || c === 0x28 || c === 0x29 || c === 0x0d || c === 0x0a || c === 0x22 || c === 0x7b) {
        if (c === 0x28 && this.at > start && this.bracketOpen(start)) {
          this.at++;
          continue;
        }
        if ((c === 0x20 || c === 0x29) && this.bracketOpen(start)) {
          this.at++;
          continue;
        }
        break;
      }
      this.at++;
    }
    if (this.at === start) throw new ProtocolError(`IMAP unexpected byte 0x${this.b[this.at].toString(16)} at offset ${this.at}`);
    const text = fromLatin1(this.b.subarray(start, this.at));
    if (text.toUpperCase() === 'NIL') return { type: 'nil' };
    return { type: 'atom', value: text };
  }

  /** True while inside "[...]" of the atom being read (section specs hold spaces and lists). */
  private bracketOpen(start: number): boolean {
    let depth = 0;
    for (let i = start; i < this.at; i++) {
      if (this.b[i] === 0x5b) depth++;
      else if (this.b[i] === 0x5d) depth--;
    }
    return depth > 0;
  }
}

const STATUSES = new Set(['OK', 'NO', 'BAD', 'BYE', 'PREAUTH']);

/** Parses one complete response (CRLF included) as found by responseFrame. */
export function parseResponse(bytes: Uint8Array): ImapResponse {
  let end = bytes.length;
  if (bytes[end - 1] === 0x0a) end--;
  if (bytes[end - 1] === 0x0d) end--;
  const t = new Tokens(bytes, end);
  const tag = t.word();
  if (tag === '') throw new ProtocolError('IMAP response starts with a space or is empty');
  if (tag === '+') {
    t.space();
    return { kind: 'continuation', text: fromUtf8(t.rest()) };
  }
  if (!/^[\x21-\x7e]+$/.test(tag)) throw new ProtocolError(`IMAP tag malformed: ${JSON.stringify(tag.slice(0, 20))}`);
  if (!t.space()) {
    throw new ProtocolError(`IMAP response has nothing after ${JSON.stringify(tag.slice(0, 20))}`);
  }
  const second = t.word();
  const upper = second.toUpperCase();
  if (STATUSES.has(upper)) return statusResponse(tag, upper as Status, t, bytes, end);
  if (tag !== '*') throw new ProtocolError(`IMAP tagged response without a status: ${JSON.stringify(fromLatin1(bytes.subarray(0, Math.min(end, 60))))}`);
  let number: number | null = null;
  let name = upper;
  if (/^\d+$/.test(second)) {
    number = Number(second);
    if (!t.space()) throw new ProtocolError(`IMAP "* ${second}" without a response name`);
    name = t.word().toUpperCase();
  }
  if (!/^[A-Z0-9.=-]+$/.test(name)) throw new ProtocolError(`IMAP response name malformed: ${JSON.stringify(name.slice(0, 20))}`);
  const values: ImapValue[] = [];
  for (;;) {
    t.space();
    if (t.done) break;
    values.push(t.value());
  }
  return { kind: 'data', number, name, values };
}

/** resp-cond-state / resp-cond-bye: status SP ["[" resp-text-code "]" SP] text (RFC 9051 7.1). */
function statusResponse(tag: string, status: Status, t: Tokens, bytes: Uint8Array, end: number): ImapResponse {
  t.space();
  let code: ResponseCode | null = null;
  if (t.peek() === 0x5b) {
    const start = t.offset + 1;
    const close = bytes.indexOf(0x5d, start);
    if (close === -1 || close >= end) throw new ProtocolError('IMAP response code "[" not closed');
    const inside = bytes.subarray(start, close);
    const sp = inside.indexOf(0x20);
    const name = fromLatin1(sp === -1 ? inside : inside.subarray(0, sp)).toUpperCase();
    const argBytes = sp === -1 ? new Uint8Array(0) : inside.subarray(sp + 1);
    let values: ImapValue[] = [];
    try {
      const args = new Tokens(argBytes);
      while (!args.done) {
        args.space();
        if (args.done) break;
        values.push(args.value());
      }
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      values = [];
    }
    code = { name, text: fromUtf8(argBytes), values };
    t.rest();
    return { kind: 'status', tag, status, code, text: fromUtf8(bytes.subarray(close + 1, end)).trim() };
  }
  return { kind: 'status', tag, status, code, text: fromUtf8(t.rest()) };
}

// Reading values

export function isNil(v: ImapValue | undefined): boolean {
  return v === undefined || v.type === 'nil';
}

export function asString(v: ImapValue | undefined, field = 'value'): string | null {
  if (v === undefined || v.type === 'nil') return null;
  if (v.type === 'string') return fromUtf8(v.value);
  if (v.type === 'atom') return v.value;
  throw new ProtocolError(`IMAP ${field}: expected a string, got a list`);
}

export function asBytes(v: ImapValue | undefined, field = 'value'): Uint8Array | null {
  if (v === undefined || v.type === 'nil') return null;
  if (v.type === 'string') return v.value;
  if (v.type === 'atom') return utf8(v.value);
  throw new ProtocolError(`IMAP ${field}: expected a string, got a list`);
}

export function asNumber(v: ImapValue | undefined, field = 'number'): number {
  const s = v?.type === 'atom' ? v.value : null;
  if (s === null || !/^\d{1,20}$/.test(s)) throw new ProtocolError(`IMAP ${field}: expected a number`);
  return Number(s);
}

export function asList(v: ImapValue | undefined, field = 'list'): ImapValue[] {
  if (v?.type === 'list') return v.value;
  if (v === undefined || v.type === 'nil') return [];
  throw new ProtocolError(`IMAP ${field}: expected a list`);
}

export function atoms(v: ImapValue | undefined, field = 'list'): string[] {
  return asList(v, field).map((x) => asString(x, field) ?? '');
}

/** FETCH data items as a map from upper-cased item name (BODY[1]<0> kept as sent, upper-cased) to value. */
export function fetchItems(values: ImapValue[]): Map<string, ImapValue> {
  const list = asList(values[0], 'FETCH');
  if (list.length % 2 !== 0) throw new ProtocolError('IMAP FETCH list has an odd number of items');
  const out = new Map<string, ImapValue>();
  for (let i = 0; i < list.length; i += 2) {
    const key = list[i];
    if (key.type !== 'atom') throw new ProtocolError('IMAP FETCH item name is not an atom');
    out.set(key.value.toUpperCase(), list[i + 1]);
  }
  return out;
}

// ENVELOPE and BODYSTRUCTURE (RFC 9051 7.5.2)

export interface EnvelopeAddress {
  name: string | null;
  mailbox: string | null;
  host: string | null;
  address: string | null;
}

export interface Envelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[];
  sender: EnvelopeAddress[];
  replyTo: EnvelopeAddress[];
  to: EnvelopeAddress[];
  cc: EnvelopeAddress[];
  bcc: EnvelopeAddress[];
  inReplyTo: string | null;
  messageId: string | null;
}

function decoded(v: ImapValue | undefined): string | null {
  const s = asString(v);
  return s === null ? null : decodeWords(s);
}

function addresses(v: ImapValue | undefined): EnvelopeAddress[] {
  const out: EnvelopeAddress[] = [];
  for (const a of asList(v, 'address list')) {
    const [name, , mailbox, host] = asList(a, 'address');
    const m = asString(mailbox);
    const h = asString(host);
    // RFC 9051 7.5.2: host NIL marks group syntax (start: mailbox = group name; end: mailbox NIL).
    if (h === null) continue;
    out.push({ name: decoded(name), mailbox: m, host: h, address: m !== null ? `${m}@${h}` : null });
  }
  return out;
}

export function parseEnvelope(v: ImapValue): Envelope {
  const f = asList(v, 'ENVELOPE');
  if (f.length < 10) throw new ProtocolError(`IMAP ENVELOPE has ${f.length} fields, not 10`);
  return {
    date: asString(f[0]),
    subject: decoded(f[1]),
    from: addresses(f[2]),
    sender: addresses(f[3]),
    replyTo: addresses(f[4]),
    to: addresses(f[5]),
    cc: addresses(f[6]),
    bcc: addresses(f[7]),
    inReplyTo: asString(f[8]),
    messageId: asString(f[9]),
  };
}

export interface BodyPart {
  /** Section number to FETCH this part with: "1", "2.1"; "" for a single-part message's whole body is "1" too. */
  section: string;
  type: string;
  subtype: string;
  params: Record<string, string>;
  id: string | null;
  description: string | null;
  encoding: string | null;
  size: number | null;
  lines: number | null;
  md5: string | null;
  disposition: { type: string; params: Record<string, string> } | null;
  language: string[] | null;
  location: string | null;
  /** Multipart children. */
  parts: BodyPart[] | null;
  /** message/rfc822: the inner envelope. */
  envelope: Envelope | null;
}

function params(v: ImapValue | undefined): Record<string, string> {
  const list = asList(v, 'body parameters');
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < list.length; i += 2) pairs.push([asString(list[i]) ?? '', asString(list[i + 1]) ?? '']);
  return decodeParameters(pairs);
}

function disposition(v: ImapValue | undefined): BodyPart['disposition'] {
  if (isNil(v) || v!.type !== 'list') return null;
  const [type, p] = v!.value;
  return { type: (asString(type) ?? '').toLowerCase(), params: params(p) };
}

function language(v: ImapValue | undefined): string[] | null {
  if (isNil(v)) return null;
  if (v!.type === 'list') return atoms(v);
  return [asString(v) ?? ''];
}

/** BODYSTRUCTURE (or BODY) into a part tree with section numbers (RFC 9051 6.4.5). */
export function parseBodyStructure(v: ImapValue, section = '', depth = 0): BodyPart {
  if (depth > 20) throw new ProtocolError('IMAP BODYSTRUCTURE nested more than 20 deep');
  const f = asList(v, 'BODYSTRUCTURE');
  if (f.length === 0) throw new ProtocolError('IMAP BODYSTRUCTURE is empty');
  if (f[0].type === 'list') {
    const parts: BodyPart[] = [];
    let i = 0;
    for (; i < f.length && f[i].type === 'list'; i++) parts.push(parseBodyStructure(f[i], section ? `${section}.${i + 1}` : String(i + 1), depth + 1));
    const subtype = (asString(f[i++]) ?? '').toLowerCase();
    return {
      section: section || '',
      type: 'multipart',
      subtype,
      params: params(f[i]),
      id: null,
      description: null,
      encoding: null,
      size: null,
      lines: null,
      md5: null,
      disposition: disposition(f[i + 1]),
      language: language(f[i + 2]),
      location: asString(f[i + 3]),
      parts,
      envelope: null,
    };
  }
  if (f.length < 7) throw new ProtocolError(`IMAP body part has ${f.length} fields, at least 7 expected`);
  const type = (asString(f[0]) ?? '').toLowerCase();
  const subtype = (asString(f[1]) ?? '').toLowerCase();
  let i = 7;
  let lines: number | null = null;
  let envelope: Envelope | null = null;
  let parts: BodyPart[] | null = null;
  if (type === 'message' && (subtype === 'rfc822' || subtype === 'global') && f.length >= 10) {
    envelope = parseEnvelope(f[7]);
    parts = [parseBodyStructure(f[8], section ? `${section}` : '1', depth + 1)];
    lines = asNumber(f[9], 'body lines');
    i = 10;
  } else if (type === 'text' && f.length >= 8) {
    lines = asNumber(f[7], 'body lines');
    i = 8;
  }
  return {
    section: section || '1',
    type,
    subtype,
    params: params(f[2]),
    id: asString(f[3]),
    description: decoded(f[4]),
    encoding: asString(f[5]),
    size: isNil(f[6]) ? null : asNumber(f[6], 'body size'),
    lines,
    md5: asString(f[i]),
    disposition: disposition(f[i + 1]),
    language: language(f[i + 2]),
    location: asString(f[i + 3]),
    parts,
    envelope,
  };
}

// Commands

/** A command: text pieces and literals (which may need the server's "+" before they go out). */
export type CommandPart = string | Uint8Array;

const ATOM = /^[A-Za-z0-9!#$&'+,\-./:;<=>?@^_`|~]+$/;

/** astring (RFC 9051 9): an atom when it can be, a quoted string for printable ASCII, else a literal. */
export function astring(s: string | Uint8Array): CommandPart[] {
  if (typeof s === 'string') {
    if (ATOM.test(s) && s.toUpperCase() !== 'NIL') return [s];
    if (/^[\x20-\x7e]*$/.test(s)) return [`"${s.replace(/(["\\])/g, '\\$1')}"`];
    return [utf8(s)];
  }
  return [s];
}

/** A quoted string or a literal, never an atom (for search keys and passwords). */
export function istring(s: string): CommandPart[] {
  if (/^[\x20-\x7e]*$/.test(s)) return [`"${s.replace(/(["\\])/g, '\\$1')}"`];
  return [utf8(s)];
}

/** Modified UTF-7 for mailbox names (RFC 3501 5.1.3): "&" shifts to modified base64 of UTF-16BE, "&-" is "&". */
export function encodeMailboxName(name: string): string {
  let out = '';
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const bytes = new Uint8Array(run.length * 2);
    run.forEach((u, i) => {
      bytes[i * 2] = u >> 8;
      bytes[i * 2 + 1] = u & 0xff;
    });
    out += `&${toBase64(bytes).replace(/=+$/, '').replace(/\//g, ',')}-`;
    run = [];
  };
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u >= 0x20 && u <= 0x7e) {
      flush();
      out += u === 0x26 ? '&-' : name[i];
    } else run.push(u);
  }
  flush();
  return out;
}

export function decodeMailboxName(name: string): string {
  return name.replace(/&([A-Za-z0-9+,]*)-/g, (_, b64: string) => {
    if (b64 === '') return '&';
    try {
      const bytes = fromBase64(b64.replace(/,/g, '/'));
      let s = '';
      for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode((bytes[i] << 8) | bytes[i + 1]);
      return s;
    } catch (e) {
      if (e instanceof ProtocolError) return `&${b64}-`;
      throw e;
    }
  });
}

export function mailbox(name: string): CommandPart[] {
  if (/[\r\n\0]/.test(name)) throw new ProtocolError('mailbox name contains CR, LF or NUL');
  return astring(encodeMailboxName(name));
}

/** A sequence set (RFC 9051 9 sequence-set): numbers, ranges, "*", comma-separated. */
export const SEQUENCE_SET = /^(?:\d+|\*)(?::(?:\d+|\*))?(?:,(?:\d+|\*)(?::(?:\d+|\*))?)*$/;

/** Joins command parts with single spaces. */
export function joinParts(...groups: (CommandPart | CommandPart[])[]): CommandPart[] {
  const out: CommandPart[] = [];
  for (const g of groups) {
    const parts = Array.isArray(g) ? g : [g];
    if (parts.length === 0) continue;
    if (out.length > 0) out.push(' ');
    out.push(...parts);
  }
  return out;
}

/** The parts as they would appear on the wire with every literal synchronising (for display and tests). */
export function describeCommand(parts: CommandPart[]): string {
  return parts.map((p) => (typeof p === 'string' ? p : `{${p.length}}`)).join('');
}
