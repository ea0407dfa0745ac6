// RESP2 and RESP3 (redis-specifications protocol/RESP2.md and protocol/RESP3.md): reply decoding from bytes, command encoding.
//
// How it works: a reply is decoded in two passes over the buffered bytes. The
// scan pass walks the frame without allocating anything and answers "complete,
// ending at N" or "need more bytes"; it enforces every structural rule (type
// bytes, CRLF terminators, lengths read as ASCII digits before any payload is
// touched, nesting depth). Only a complete frame is built into a `RespValue`
// tree, and the builder stops adding elements past `maxElements` (the node is
// flagged `truncated` with the count it declared). When a reply is still
// incomplete after `maxBytes` buffered bytes, the frame function returns what
// arrived as a partial tree flagged `truncated` at the top: the caller must drop
// the connection then, since the rest of that reply is still on the wire.
import { bytesJson, fromLatin1, fromUtf8, utf8, type ByteEncoding } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export type RespPair = [RespValue, RespValue];

interface RespCommon {
  /** RESP3 attributes (`|`) that preceded this value. */
  attributes?: RespPair[];
  /** Set when the value was cut: by `maxElements`, or because the reply exceeded `maxBytes`. */
  truncated?: boolean;
  /** What the server declared (elements, pairs or bytes) when `truncated`. */
  declared?: number;
}

export type RespValue = RespCommon &
  (
    | { kind: 'simple'; bytes: Uint8Array }
    /** `-` simple error or `!` blob error. */
    | { kind: 'error'; bytes: Uint8Array }
    | { kind: 'integer'; value: bigint }
    | { kind: 'bulk'; bytes: Uint8Array }
    | { kind: 'verbatim'; format: string; bytes: Uint8Array }
    /** RESP3 `_`, and RESP2's `$-1` / `*-1`. */
    | { kind: 'null' }
    | { kind: 'boolean'; value: boolean }
    | { kind: 'double'; value: number }
    | { kind: 'bignum'; digits: string }
    | { kind: 'array' | 'set' | 'push'; items: RespValue[] }
    | { kind: 'map'; entries: RespPair[] }
  );

export interface RespLimits {
  /** A reply still incomplete after this many bytes is returned truncated. */
  maxBytes: number;
  /** Elements built per reply (every node counts); more are counted, not kept. */
  maxElements: number;
  /** Aggregates nested deeper than this are a protocol error. */
  maxDepth: number;
  /** Longest `+`, `-`, `:` ... line. */
  maxLine: number;
}

export const DEFAULT_LIMITS: RespLimits = { maxBytes: 8 * 1024 * 1024, maxElements: 200_000, maxDepth: 32, maxLine: 1024 * 1024 };

/** RESP2.md "Bulk strings": 512 MB is the most a server may send in one string. */
const MAX_BULK = 512 * 1024 * 1024;
/** RESP aggregates count with a signed 64-bit integer; Redis itself stays below 2^32. */
const MAX_COUNT = 2 ** 32;
const MAX_NUMBER_LINE = 512;

const CR = 0x0d;
const LF = 0x0a;

/** The rest of the frame has not arrived yet. */
const MORE = Symbol('more');
type More = typeof MORE;

const Mode = { Scan: 0, Build: 1, Partial: 2 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

/** A placeholder the scan pass returns for every value. */
const SCANNED: RespValue = { kind: 'null' };

class Parser {
  pos = 0;
  private built = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly limits: RespLimits,
    private readonly mode: Mode,
  ) {}

  /** The content of the line at `pos` (CRLF excluded), advancing past the CRLF. */
  private line(what: string, max = this.limits.maxLine): [number, number] | More {
    const start = this.pos;
    const limit = Math.min(this.buf.length, start + max + 1);
    const cr = this.buf.subarray(start, limit).indexOf(CR);
    if (cr === -1) {
      if (this.buf.length - start > max) throw new ProtocolError(`${what}: line longer than ${max} bytes`);
      return MORE;
    }
    const end = start + cr;
    if (end + 1 >= this.buf.length) return MORE;
    // RESP2.md: "every part of the protocol is terminated with CRLF"; a CR inside a line is malformed.
    if (this.buf[end + 1] !== LF) throw new ProtocolError(`${what}: CR not followed by LF at offset ${end}`);
    this.pos = end + 2;
    return [start, end];
  }

  /** A decimal integer between start and end, from the ASCII digits (no text decode). */
  private integer(start: number, end: number, what: string): bigint {
    let i = start;
    const negative = i < end && this.buf[i] === 0x2d;
    if (i < end && (this.buf[i] === 0x2d || this.buf[i] === 0x2b)) i++;
    const digits = end - i;
    if (digits === 0) throw new ProtocolError(`${what}: no digits`);
    if (digits > 19) throw new ProtocolError(`${what}: more than 19 digits`);
    let small = 0;
    let big = 0n;
    for (; i < end; i++) {
      const d = this.buf[i] - 0x30;
      if (d < 0 || d > 9) throw new ProtocolError(`${what}: not a decimal number`);
      // Beyond 15 digits a float accumulator loses precision: use BigInt there.
      if (digits <= 15) small = small * 10 + d;
      else big = big * 10n + BigInt(d);
    }
    let n = digits <= 15 ? BigInt(small) : big;
    if (negative) n = -n;
    // RESP3.md "Number": a signed 64-bit integer.
    if (n > 9223372036854775807n || n < -9223372036854775808n) throw new ProtocolError(`${what}: outside the signed 64-bit range`);
    return n;
  }

  /** A length or count header: `?` (streamed), -1 (null) or 0..max. */
  private header(start: number, end: number, what: string, max: number, allowStreamed: boolean): number | '?' {
    if (end - start === 1 && this.buf[start] === 0x3f) {
      if (!allowStreamed) throw new ProtocolError(`${what}: "?" is not allowed here`);
      return '?';
    }
    if (end - start > 20) throw new ProtocolError(`${what}: length field too long`);
    const n = this.integer(start, end, what);
    if (n < -1n) throw new ProtocolError(`${what}: negative length ${n}`);
    if (n > BigInt(max)) throw new ProtocolError(`${what}: length ${n} exceeds ${max}`);
    return Number(n);
  }

  /** `n` payload bytes then CRLF. In partial mode an incomplete payload is cut at what arrived. */
  private payload(n: number, what: string): { bytes: Uint8Array; cut: boolean } | More {
    const start = this.pos;
    if (start + n + 2 > this.buf.length) {
      if (this.mode !== Mode.Partial) return MORE;
      this.pos = this.buf.length;
      return { bytes: this.buf.slice(start, Math.min(start + n, this.buf.length)), cut: true };
    }
    if (this.buf[start + n] !== CR || this.buf[start + n + 1] !== LF) throw new ProtocolError(`${what}: ${n} bytes not followed by CRLF`);
    this.pos = start + n + 2;
    return { bytes: this.mode === Mode.Scan ? EMPTY : this.buf.slice(start, start + n), cut: false };
  }

  /** One value at `pos`. Scan mode returns SCANNED; partial mode never returns MORE except before any byte of a value. */
  value(depth: number): RespValue | More {
    if (depth > this.limits.maxDepth) throw new ProtocolError(`reply nested deeper than ${this.limits.maxDepth} levels`);
    if (this.pos >= this.buf.length) return MORE;
    const type = this.buf[this.pos];
    const at = this.pos;
    this.pos++;
    const got = this.typed(type, depth);
    if (got === MORE) this.pos = at;
    return got;
  }

  private typed(type: number, depth: number): RespValue | More {
    const scan = this.mode === Mode.Scan;
    switch (type) {
      case 0x2b: // '+' simple string
      case 0x2d: {
        // '-' simple error
        const l = this.line(type === 0x2b ? 'simple string' : 'error');
        if (l === MORE) return MORE;
        if (scan) return SCANNED;
        return { kind: type === 0x2b ? 'simple' : 'error', bytes: this.buf.slice(l[0], l[1]) };
      }
      case 0x3a: {
        // ':' integer
        const l = this.line('integer', MAX_NUMBER_LINE);
        if (l === MORE) return MORE;
        const value = this.integer(l[0], l[1], 'integer');
        return scan ? SCANNED : { kind: 'integer', value };
      }
      case 0x24: // '$' bulk string
      case 0x21: // '!' blob error
      case 0x3d: // '=' verbatim string
        return this.blob(type);
      case 0x2a: // '*' array
      case 0x7e: // '~' set
      case 0x3e: // '>' push
      case 0x25: // '%' map
      case 0x7c: // '|' attribute
        return this.aggregate(type, depth);
      case 0x5f: {
        // '_' null: RESP3.md "Null": `_<CR><LF>`, nothing between.
        const l = this.line('null', 0);
        if (l === MORE) return MORE;
        return scan ? SCANNED : { kind: 'null' };
      }
      case 0x23: {
        // '#' boolean: `#t` or `#f`.
        const l = this.line('boolean', 1);
        if (l === MORE) return MORE;
        if (l[1] - l[0] !== 1 || (this.buf[l[0]] !== 0x74 && this.buf[l[0]] !== 0x66)) throw new ProtocolError('boolean: expected #t or #f');
        return scan ? SCANNED : { kind: 'boolean', value: this.buf[l[0]] === 0x74 };
      }
      case 0x2c: {
        // ',' double: RESP3.md "Double": digits, optional fraction and exponent, or inf / -inf / nan.
        const l = this.line('double', MAX_NUMBER_LINE);
        if (l === MORE) return MORE;
        const text = asciiOnly(this.buf, l[0], l[1], 'double');
        if (!/^[+-]?(inf|nan|(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)$/i.test(text)) throw new ProtocolError(`double: ${JSON.stringify(text)} is not a number`);
        const lower = text.toLowerCase();
        const value = lower.endsWith('inf') ? (lower.startsWith('-') ? -Infinity : Infinity) : lower.endsWith('nan') ? NaN : Number(text);
        return scan ? SCANNED : { kind: 'double', value };
      }
      case 0x28: {
        // '(' big number: RESP3.md "Big number": an optional sign and digits.
        const l = this.line('big number', 4096);
        if (l === MORE) return MORE;
        const text = asciiOnly(this.buf, l[0], l[1], 'big number');
        if (!/^[+-]?\d+$/.test(text)) throw new ProtocolError(`big number: ${JSON.stringify(text.slice(0, 40))} is not an integer`);
        return scan ? SCANNED : { kind: 'bignum', digits: text };
      }
      default:
        throw new ProtocolError(`unknown RESP type byte 0x${type.toString(16).padStart(2, '0')} at offset ${this.pos - 1}`);
    }
  }

  private blob(type: number): RespValue | More {
    const what = type === 0x24 ? 'bulk string' : type === 0x21 ? 'blob error' : 'verbatim string';
    const l = this.line(what, 24);
    if (l === MORE) return MORE;
    const n = this.header(l[0], l[1], what, MAX_BULK, type === 0x24);
    if (n === '?') return this.streamedString();
    if (n === -1) {
      // RESP2.md "Null bulk string": `$-1`. Not defined for the RESP3-only types.
      if (type !== 0x24) throw new ProtocolError(`${what}: length -1`);
      return this.mode === Mode.Scan ? SCANNED : { kind: 'null' };
    }
    const body = this.payload(n, what);
    if (body === MORE) return MORE;
    if (this.mode === Mode.Scan) {
      if (type === 0x3d) this.checkVerbatim(n, this.pos - n - 2);
      return SCANNED;
    }
    const cut = body.cut ? { truncated: true, declared: n } : {};
    if (type === 0x24) return { kind: 'bulk', bytes: body.bytes, ...cut };
    if (type === 0x21) return { kind: 'error', bytes: body.bytes, ...cut };
    // RESP3.md "Verbatim string": three bytes of format, a colon, then the text.
    if (!body.cut) this.checkVerbatim(n, this.pos - n - 2);
    if (body.bytes.length < 4) return { kind: 'verbatim', format: '', bytes: new Uint8Array(0), truncated: true, declared: n };
    return { kind: 'verbatim', format: fromLatin1(body.bytes.subarray(0, 3)), bytes: body.bytes.slice(4), ...cut };
  }

  private checkVerbatim(n: number, start: number): void {
    if (n < 4 || this.buf[start + 3] !== 0x3a) throw new ProtocolError('verbatim string: missing the "xxx:" format prefix');
  }

  /** RESP3.md "Streamed strings": `;<n>` chunks until `;0`. */
  private streamedString(): RespValue | More {
    const parts: Uint8Array[] = [];
    let total = 0;
    let size = 0;
    for (;;) {
      if (this.pos >= this.buf.length) return this.mode === Mode.Partial ? { kind: 'bulk', bytes: joined(parts, total), truncated: true } : MORE;
      if (this.buf[this.pos] !== 0x3b) throw new ProtocolError('streamed string: expected a ";" chunk header');
      this.pos++;
      const l = this.line('streamed string chunk', 24);
      if (l === MORE) return this.mode === Mode.Partial ? { kind: 'bulk', bytes: joined(parts, total), truncated: true } : MORE;
      const n = this.header(l[0], l[1], 'streamed string chunk', MAX_BULK, false);
      if (n === '?' || n < 0) throw new ProtocolError('streamed string chunk: bad length');
      if (n === 0) return this.mode === Mode.Scan ? SCANNED : { kind: 'bulk', bytes: joined(parts, total) };
      size += n;
      if (size > MAX_BULK) throw new ProtocolError(`streamed string longer than ${MAX_BULK} bytes`);
      const body = this.payload(n, 'streamed string chunk');
      if (body === MORE) return MORE;
      total += body.bytes.length;
      if (this.mode !== Mode.Scan) parts.push(body.bytes);
      if (body.cut) return { kind: 'bulk', bytes: joined(parts, total), truncated: true };
    }
  }

  private aggregate(type: number, depth: number): RespValue | More {
    const what = type === 0x2a ? 'array' : type === 0x7e ? 'set' : type === 0x3e ? 'push' : type === 0x25 ? 'map' : 'attribute';
    const l = this.line(what, 24);
    if (l === MORE) return MORE;
    // RESP3.md "Streamed aggregated data types": only arrays, sets and maps may be streamed.
    const n = this.header(l[0], l[1], what, MAX_COUNT, type === 0x2a || type === 0x7e || type === 0x25);
    if (n === -1) {
      if (type !== 0x2a) throw new ProtocolError(`${what}: count -1`);
      return this.mode === Mode.Scan ? SCANNED : { kind: 'null' };
    }
    const pairs = type === 0x25 || type === 0x7c;
    const perEntry = pairs ? 2 : 1;
    const items: RespValue[] = [];
    let seen = 0;
    let cut = false;
    for (let i = 0; n === '?' || i < n * perEntry; i++) {
      if (n === '?') {
        if (this.pos >= this.buf.length) {
          if (this.mode === Mode.Partial) {
            cut = true;
            break;
          }
          return MORE;
        }
        if (this.buf[this.pos] === 0x2e) {
          // `.` END: after a whole number of entries.
          if (i % perEntry !== 0) throw new ProtocolError(`${what}: streamed map ended after a key`);
          const end = this.pos;
          this.pos++;
          const e = this.line('end of stream', 0);
          if (e === MORE) {
            this.pos = end;
            if (this.mode === Mode.Partial) {
              cut = true;
              break;
            }
            return MORE;
          }
          break;
        }
      }
      if (this.mode !== Mode.Scan && this.built >= this.limits.maxElements) {
        // Past the element budget: walk the rest without building it.
        const skip = new Parser(this.buf, this.limits, Mode.Scan);
        skip.pos = this.pos;
        if (skip.value(depth + 1) === MORE) {
          if (this.mode !== Mode.Partial) return MORE;
          this.pos = this.buf.length;
          cut = true;
          break;
        }
        this.pos = skip.pos;
        seen++;
        cut = true;
        continue;
      }
      const item = this.value(depth + 1);
      if (item === MORE) {
        if (this.mode !== Mode.Partial) return MORE;
        cut = true;
        break;
      }
      seen++;
      if (this.mode !== Mode.Scan) {
        this.built++;
        items.push(item);
      }
      if (item.truncated && this.mode === Mode.Partial && this.pos >= this.buf.length) {
        cut = true;
        break;
      }
    }
    if (this.mode === Mode.Scan) {
      if (type === 0x7c) {
        // RESP3.md "Attribute type": the attributes describe the value that follows.
        return this.value(depth);
      }
      return SCANNED;
    }
    const declared = n === '?' ? seen : n;
    const extra: RespCommon = cut ? { truncated: true, declared: n === '?' && pairs ? Math.floor(declared / 2) : declared } : {};
    if (pairs) {
      const entries: RespPair[] = [];
      for (let i = 0; i + 1 < items.length; i += 2) entries.push([items[i], items[i + 1]]);
      if (type === 0x25) return { kind: 'map', entries, ...extra };
      const next = this.value(depth);
      if (next === MORE) return this.mode === Mode.Partial ? { kind: 'null', attributes: entries, truncated: true } : MORE;
      return { ...next, attributes: [...entries, ...(next.attributes ?? [])] };
    }
    return { kind: type === 0x2a ? 'array' : type === 0x7e ? 'set' : 'push', items, ...extra };
  }
}

const EMPTY = new Uint8Array(0);

function joined(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function asciiOnly(buf: Uint8Array, start: number, end: number, what: string): string {
  for (let i = start; i < end; i++) if (buf[i] < 0x20 || buf[i] > 0x7e) throw new ProtocolError(`${what}: non-ASCII byte at offset ${i}`);
  return fromLatin1(buf.subarray(start, end));
}

/** The frame function for one reply (any RESP2 or RESP3 type). */
export function replyFrame(limits: Partial<RespLimits> = {}): Frame<RespValue> {
  const lim: RespLimits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(limits) as [keyof RespLimits, number | undefined][]) if (v !== undefined) lim[k] = v;
  lim.maxLine = Math.min(lim.maxLine, lim.maxBytes);
  return (buf) => {
    const first = buf[0];
    if (first !== 0x2a && first !== 0x25 && first !== 0x7e && first !== 0x3e && first !== 0x7c) {
      // Not an aggregate: one pass builds it (or finds it incomplete) without allocating much.
      const direct = new Parser(buf, lim, Mode.Build);
      const value = direct.value(0);
      if (value !== MORE) return { value, size: direct.pos };
      if (buf.length < lim.maxBytes) return undefined;
      const partial = new Parser(buf, lim, Mode.Partial).value(0);
      return partial === MORE ? undefined : { value: { ...partial, truncated: true }, size: buf.length };
    }
    const scan = new Parser(buf, lim, Mode.Scan);
    if (scan.value(0) === MORE) {
      if (buf.length < lim.maxBytes) return undefined;
      const partial = new Parser(buf, lim, Mode.Partial);
      const value = partial.value(0);
      if (value === MORE) return undefined;
      return { value: { ...value, truncated: true }, size: buf.length };
    }
    const build = new Parser(buf, lim, Mode.Build);
    const value = build.value(0);
    if (value === MORE || build.pos !== scan.pos) throw new ProtocolError('reply changed between scan and build');
    return { value, size: build.pos };
  };
}

/**
 * Every complete reply buffered (at least one, at most `max`): a pipeline reads its answers in
 * batches, one transcript entry per batch instead of one per reply.
 */
export function repliesFrame(max: number, limits: Partial<RespLimits> = {}): Frame<RespValue[]> {
  const one = replyFrame(limits);
  return (buf) => {
    const out: RespValue[] = [];
    let at = 0;
    while (out.length < max && at < buf.length) {
      const got = one(at === 0 ? buf : buf.subarray(at));
      if (!got) break;
      out.push(got.value);
      at += got.size;
      if (got.value.truncated) break;
    }
    return out.length === 0 ? undefined : { value: out, size: at };
  };
}

// Commands: RESP2.md "Sending commands to a Redis server": an array of bulk strings.

export type CommandArg = string | Uint8Array;

/** An argument's bytes: short ASCII strings without a TextEncoder call (the pipeline hot path). */
function argBytes(a: CommandArg): Uint8Array {
  if (typeof a !== 'string') return a;
  if (a.length <= 256) {
    const out = new Uint8Array(a.length);
    for (let i = 0; i < a.length; i++) {
      const c = a.charCodeAt(i);
      if (c > 0x7f) return utf8(a);
      out[i] = c;
    }
    return out;
  }
  return utf8(a);
}

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Writes `<prefix><n>\r\n` at `at`; returns the next offset. */
function header(out: Uint8Array, at: number, prefix: number, n: number): number {
  out[at++] = prefix;
  const d = digits(n);
  for (let i = d - 1; i >= 0; i--) {
    out[at + i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  at += d;
  out[at++] = CR;
  out[at++] = LF;
  return at;
}

/** Commands as RESP arrays of bulk strings, in one buffer (one command, or a pipeline). */
export function encodeCommands(commands: readonly (readonly CommandArg[])[]): Uint8Array {
  const encoded = commands.map((c) => c.map(argBytes));
  let size = 0;
  for (const args of encoded) {
    size += 3 + digits(args.length);
    for (const a of args) size += 5 + digits(a.length) + a.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const args of encoded) {
    at = header(out, at, 0x2a, args.length); // '*'
    for (const a of args) {
      at = header(out, at, 0x24, a.length); // '$'
      out.set(a, at);
      at += a.length;
      out[at++] = CR;
      out[at++] = LF;
    }
  }
  return out;
}

export function encodeCommand(args: readonly CommandArg[]): Uint8Array {
  return encodeCommands([args]);
}

/** A one-line reading of a command for the transcript. */
export function describeCommand(args: readonly CommandArg[], max = 160): string {
  const parts = args.map((a) => {
    if (typeof a === 'string') return /^[\x21-\x7e]+$/.test(a) ? a : JSON.stringify(a);
    const text = printable(a);
    return text !== undefined ? (/^[\x21-\x7e]+$/.test(text) ? text : JSON.stringify(text)) : `<${a.length} bytes>`;
  });
  const line = parts.join(' ');
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function printable(bytes: Uint8Array): string | undefined {
  for (const b of bytes.subarray(0, 200)) if (b < 0x20 || b > 0x7e) return undefined;
  return fromLatin1(bytes.subarray(0, 200));
}

/** A one-line reading of a reply for the transcript. */
export function describeReply(v: RespValue, max = 200): string {
  const s = describeInner(v, 3);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function describeInner(v: RespValue, depth: number): string {
  const cut = v.truncated ? ' (truncated)' : '';
  switch (v.kind) {
    case 'simple':
      return `+${fromLatin1(v.bytes.subarray(0, 120))}`;
    case 'error':
      return `-${fromLatin1(v.bytes.subarray(0, 160))}`;
    case 'integer':
      return `:${v.value}`;
    case 'bulk': {
      const t = printable(v.bytes);
      return t !== undefined && v.bytes.length <= 200 ? JSON.stringify(t) + cut : `$${v.bytes.length} bytes${cut}`;
    }
    case 'verbatim':
      return `=${v.format} ${v.bytes.length} bytes`;
    case 'null':
      return 'null';
    case 'boolean':
      return v.value ? '#t' : '#f';
    case 'double':
      return `,${v.value}`;
    case 'bignum':
      return `(${v.digits}`;
    case 'map':
      return depth === 0 ? `%${v.entries.length}` : `{${v.entries.slice(0, 8).map(([k, x]) => `${describeInner(k, depth - 1)}: ${describeInner(x, depth - 1)}`).join(', ')}${v.entries.length > 8 ? ', …' : ''}}${cut}`;
    default: {
      const open = v.kind === 'array' ? '[' : v.kind === 'set' ? '~[' : '>[';
      return depth === 0 ? `${open}${v.items.length}]` : `${open}${v.items.slice(0, 8).map((x) => describeInner(x, depth - 1)).join(', ')}${v.items.length > 8 ? ', …' : ''}]${cut}`;
    }
  }
}

// Reading replies as plain values (for the operations that interpret them).

export function isError(v: RespValue): v is RespValue & { kind: 'error' } {
  return v.kind === 'error';
}

/** Splits an error into its code (the first word when upper case, RESP2.md "Simple errors") and message. */
export function errorParts(v: RespValue & { kind: 'error' }): { code: string; message: string } {
  const text = fromUtf8(v.bytes);
  const m = /^([A-Z][A-Z0-9_]*)(?: |$)/.exec(text);
  return m ? { code: m[1], message: text } : { code: 'ERR', message: text };
}

/** Bytes of a string-like reply, or undefined. */
export function bytesOf(v: RespValue): Uint8Array | undefined {
  return v.kind === 'bulk' || v.kind === 'simple' || v.kind === 'verbatim' ? v.bytes : undefined;
}

export function textOf(v: RespValue): string | undefined {
  const b = bytesOf(v);
  if (b) return fromUtf8(b);
  if (v.kind === 'integer') return String(v.value);
  if (v.kind === 'double') return String(v.value);
  return undefined;
}

export function itemsOf(v: RespValue): RespValue[] | undefined {
  return v.kind === 'array' || v.kind === 'set' || v.kind === 'push' ? v.items : undefined;
}

/** A map reply (RESP3) or a flat array of alternating keys and values (RESP2), as pairs. */
export function pairsOf(v: RespValue): RespPair[] | undefined {
  if (v.kind === 'map') return v.entries;
  const items = itemsOf(v);
  if (!items) return undefined;
  const out: RespPair[] = [];
  for (let i = 0; i + 1 < items.length; i += 2) out.push([items[i], items[i + 1]]);
  return out;
}

/** A map or flat pair array as a record of text keys to text values (nested values left out). */
export function recordOf(v: RespValue): Record<string, string> | undefined {
  const pairs = pairsOf(v);
  if (!pairs) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of pairs) {
    const key = textOf(k);
    const value = textOf(x);
    if (key !== undefined && value !== undefined) out[key] = value;
  }
  return out;
}

export function integerOf(v: RespValue): number | undefined {
  if (v.kind === 'integer') return Number(v.value);
  const t = v.kind === 'bulk' || v.kind === 'simple' ? fromLatin1(v.bytes) : undefined;
  return t !== undefined && /^-?\d{1,15}$/.test(t) ? Number(t) : undefined;
}

// JSON form of a reply, for the API.


export type ReplyJson = {
  type: 'simple' | 'error' | 'integer' | 'bulk' | 'verbatim' | 'null' | 'boolean' | 'double' | 'bignum' | 'array' | 'set' | 'push' | 'map';
  text?: string;
  base64?: string;
  hex?: string;
  /** Byte length of a bulk or verbatim string (the declared one when truncated). */
  length?: number;
  code?: string;
  message?: string;
  /** integer (a string beyond 2^53), boolean, double (a string for inf, -inf and nan), bignum (a string). */
  value?: number | string | boolean;
  format?: string;
  items?: ReplyJson[];
  entries?: { key: ReplyJson; value: ReplyJson }[];
  attributes?: { key: ReplyJson; value: ReplyJson }[];
  truncated?: boolean;
  declared?: number;
};

export function replyJson(v: RespValue, encoding: ByteEncoding = 'auto'): ReplyJson {
  const out = replyJsonInner(v, encoding);
  if (v.attributes) out.attributes = v.attributes.map(([key, value]) => ({ key: replyJson(key, encoding), value: replyJson(value, encoding) }));
  if (v.truncated) {
    out.truncated = true;
    if (v.declared !== undefined) out.declared = v.declared;
  }
  return out;
}

function replyJsonInner(v: RespValue, encoding: ByteEncoding): ReplyJson {
  switch (v.kind) {
    case 'simple':
      return { type: 'simple', ...bytesJson(v.bytes, encoding) };
    case 'error': {
      const { code, message } = errorParts(v);
      return { type: 'error', code, message };
    }
    case 'integer':
      return { type: 'integer', value: safeNumber(v.value) };
    case 'bulk':
      return { type: 'bulk', length: v.declared ?? v.bytes.length, ...bytesJson(v.bytes, encoding) };
    case 'verbatim':
      return { type: 'verbatim', format: v.format, length: v.bytes.length, ...bytesJson(v.bytes, encoding) };
    case 'null':
      return { type: 'null' };
    case 'boolean':
      return { type: 'boolean', value: v.value };
    case 'double':
      return { type: 'double', value: Number.isFinite(v.value) ? v.value : Number.isNaN(v.value) ? 'nan' : v.value > 0 ? 'inf' : '-inf' };
    case 'bignum':
      return { type: 'bignum', value: v.digits };
    case 'map':
      return { type: 'map', entries: v.entries.map(([key, value]) => ({ key: replyJson(key, encoding), value: replyJson(value, encoding) })) };
    default:
      return { type: v.kind, items: v.items.map((x) => replyJson(x, encoding)) };
  }
}

export function safeNumber(n: bigint): number | string {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n.toString();
}

// A command line as redis-cli reads it (sds.c sdssplitargs): words, "double quotes" with C
// escapes (\n \r \t \b \a \\ \" \xHH), 'single quotes' with only \' escaped.

export function splitCommandLine(line: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const bytes = utf8(line);
  let i = 0;
  const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  const hex = (c: number) => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1);
  while (i < bytes.length) {
    while (i < bytes.length && isSpace(bytes[i])) i++;
    if (i >= bytes.length) break;
    const word: number[] = [];
    let quote = 0;
    for (;;) {
      if (i >= bytes.length) {
        if (quote) throw new ProtocolError(`unbalanced ${quote === 0x22 ? 'double' : 'single'} quotes in the command line`);
        break;
      }
      const c = bytes[i];
      if (quote === 0x22) {
        if (c === 0x5c && i + 3 < bytes.length && bytes[i + 1] === 0x78 && hex(bytes[i + 2]) >= 0 && hex(bytes[i + 3]) >= 0) {
          word.push(hex(bytes[i + 2]) * 16 + hex(bytes[i + 3]));
          i += 4;
          continue;
        }
        if (c === 0x5c && i + 1 < bytes.length) {
          const n = bytes[i + 1];
          word.push(n === 0x6e ? 10 : n === 0x72 ? 13 : n === 0x74 ? 9 : n === 0x62 ? 8 : n === 0x61 ? 7 : n);
          i += 2;
          continue;
        }
        if (c === 0x22) {
          // A closing quote must be followed by a space or the end.
          if (i + 1 < bytes.length && !isSpace(bytes[i + 1])) throw new ProtocolError('a closing quote must be followed by a space in the command line');
          i++;
          break;
        }
        word.push(c);
        i++;
      } else if (quote === 0x27) {
        if (c === 0x5c && bytes[i + 1] === 0x27) {
          word.push(0x27);
          i += 2;
          continue;
        }
        if (c === 0x27) {
          if (i + 1 < bytes.length && !isSpace(bytes[i + 1])) throw new ProtocolError('a closing quote must be followed by a space in the command line');
          i++;
          break;
        }
        word.push(c);
        i++;
      } else {
        if (isSpace(c)) break;
        if (c === 0x22 || c === 0x27) {
          quote = c;
          i++;
          continue;
        }
        word.push(c);
        i++;
      }
    }
    out.push(new Uint8Array(word));
  }
  return out;
}
