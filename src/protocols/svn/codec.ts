// Subversion's ra_svn protocol (subversion/libsvn_ra_svn/protocol): items are numbers ("12 "), strings
// ("5:hello "), words ("success ") and lists ("( ... ) "), separated by whitespace.
//
// How it works: `itemFrame` reads one whole top-level item from the buffer, or says it needs more: a
// response is one list, a log entry is one list, the end of a log is the word "done". Strings are bytes
// with a length prefix, so they are sliced, never scanned. Lengths, nesting and list sizes are capped.
import { ByteWriter, fromLatin1, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export type Item = { t: 'number'; v: number } | { t: 'string'; v: Uint8Array } | { t: 'word'; v: string } | { t: 'list'; v: Item[] };

export interface ItemLimits {
  maxString: number;
  maxDepth: number;
  maxItems: number;
}

const DEFAULT_LIMITS: ItemLimits = { maxString: 16 * 1024 * 1024, maxDepth: 64, maxItems: 1_000_000 };

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}
function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}
function isAlpha(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

class NeedMore {}
const NEED = new NeedMore();

/** One top-level item, whole; undefined when the buffer ends inside it. */
export function itemFrame(limits: ItemLimits = DEFAULT_LIMITS): Frame<Item> {
  return (buf) => {
    let i = 0;
    let count = 0;
    const need = (): never => {
      throw NEED;
    };
    const skip = () => {
      while (i < buf.length && isSpace(buf[i])) i++;
    };
    const parse = (depth: number): Item => {
      if (depth > limits.maxDepth) throw new ProtocolError(`ra_svn lists nested deeper than ${limits.maxDepth}`);
      if (++count > limits.maxItems) throw new ProtocolError(`more than ${limits.maxItems} ra_svn items in one message`);
      skip();
      if (i >= buf.length) need();
      const b = buf[i];
      if (b === 0x28) {
        i++;
        // "(" must be followed by whitespace.
        if (i >= buf.length) need();
        if (!isSpace(buf[i])) throw new ProtocolError('ra_svn "(" not followed by a space');
        const items: Item[] = [];
        for (;;) {
          skip();
          if (i >= buf.length) need();
          if (buf[i] === 0x29) {
            i++;
            if (i >= buf.length) need();
            if (!isSpace(buf[i])) throw new ProtocolError('ra_svn ")" not followed by a space');
            i++;
            return { t: 'list', v: items };
          }
          items.push(parse(depth + 1));
        }
      }
      if (isDigit(b)) {
        let big = 0n;
        let digits = 0;
        while (i < buf.length && isDigit(buf[i])) {
          big = big * 10n + BigInt(buf[i] - 0x30);
          if (++digits > 20) throw new ProtocolError('ra_svn number longer than 20 digits');
          i++;
        }
        // Subversion sends its "invalid" values (SVN_INVALID_FILESIZE for a directory's size, -1) as unsigned 64-bit.
        const n = big === 0xffffffffffffffffn ? -1 : Number(big);
        if (n > Number.MAX_SAFE_INTEGER && big !== 0xffffffffffffffffn && buf[i] !== 0x3a) throw new ProtocolError(`ra_svn number ${big} is too large`);
        if (i >= buf.length) need();
        if (buf[i] === 0x3a) {
          if (big > BigInt(limits.maxString)) throw new ProtocolError(`ra_svn string of ${n} bytes exceeds the ${limits.maxString}-byte limit`);
          i++;
          if (i + n + 1 > buf.length) need();
          const v = buf.slice(i, i + n);
          i += n;
          if (!isSpace(buf[i])) throw new ProtocolError('ra_svn string not followed by a space');
          i++;
          return { t: 'string', v };
        }
        if (!isSpace(buf[i])) throw new ProtocolError(`ra_svn number followed by ${JSON.stringify(String.fromCharCode(buf[i]))}`);
        i++;
        return { t: 'number', v: n };
      }
      if (isAlpha(b)) {
        const start = i;
        while (i < buf.length && (isAlpha(buf[i]) || isDigit(buf[i]) || buf[i] === 0x2d)) {
          if (i - start > 256) throw new ProtocolError('ra_svn word longer than 256 characters');
          i++;
        }
        if (i >= buf.length) need();
        if (!isSpace(buf[i])) throw new ProtocolError(`ra_svn word followed by ${JSON.stringify(String.fromCharCode(buf[i]))}`);
        const v = fromLatin1(buf.subarray(start, i));
        i++;
        return { t: 'word', v };
      }
      throw new ProtocolError(`not an ra_svn item: ${JSON.stringify(fromLatin1(buf.subarray(i, i + 24)).replace(/[^\x20-\x7e]/g, '.'))}`);
    };
    try {
      const value = parse(0);
      return { value, size: i };
    } catch (e) {
      if (e === NEED) {
        // Whitespace alone (or half an item) is "need more"; a buffer this large without a whole item is not.
        return undefined;
      }
      throw e;
    }
  };
}

// Writing.

export type Out = number | string | Uint8Array | { word: string } | Out[];

export function word(w: string): { word: string } {
  return { word: w };
}

function write(w: ByteWriter, item: Out): void {
  if (typeof item === 'number') w.text(`${item} `);
  else if (typeof item === 'string' || item instanceof Uint8Array) {
    const b = typeof item === 'string' ? utf8(item) : item;
    w.text(`${b.length}:`).bytes(b).text(' ');
  } else if (Array.isArray(item)) {
    w.text('( ');
    for (const x of item) write(w, x);
    w.text(') ');
  } else w.text(`${item.word} `);
}

export function encodeItem(item: Out): Uint8Array {
  const w = new ByteWriter(128);
  write(w, item);
  return w.finish();
}

// Reading helpers: every accessor names what it expected, so a malformed answer says where it went wrong.

export function list(i: Item | undefined, what: string): Item[] {
  if (!i || i.t !== 'list') throw new ProtocolError(`${what}: expected a list`);
  return i.v;
}
export function num(i: Item | undefined, what: string): number {
  if (!i || i.t !== 'number') throw new ProtocolError(`${what}: expected a number`);
  return i.v;
}
export function str(i: Item | undefined, what: string): string {
  if (!i || i.t !== 'string') throw new ProtocolError(`${what}: expected a string`);
  return fromUtf8(i.v);
}
export function wordOf(i: Item | undefined, what: string): string {
  if (!i || i.t !== 'word') throw new ProtocolError(`${what}: expected a word`);
  return i.v;
}
/** An optional value: "( )" for absent, "( x )" for present. */
export function opt<T>(i: Item | undefined, what: string, read: (x: Item, what: string) => T): T | null {
  const l = list(i, what);
  return l.length ? read(l[0], what) : null;
}
export function bool(i: Item | undefined, what: string): boolean {
  const w = wordOf(i, what);
  if (w !== 'true' && w !== 'false') throw new ProtocolError(`${what}: expected true or false`);
  return w === 'true';
}

export interface SvnError {
  code: number;
  message: string;
}

/** A command response: ( success ( ... ) ) or ( failure ( ( apr-err message file line ) ... ) ). */
export function response(i: Item, what: string): { ok: true; params: Item[] } | { ok: false; errors: SvnError[] } {
  const l = list(i, what);
  const status = wordOf(l[0], `${what} status`);
  if (status === 'success') return { ok: true, params: list(l[1], `${what} parameters`) };
  if (status === 'failure') return { ok: false, errors: list(l[1], `${what} errors`).map((e, n) => ({ code: num(list(e, `error ${n}`)[0], 'apr-err'), message: str(list(e, `error ${n}`)[1], 'message') })) };
  throw new ProtocolError(`${what}: status ${status}, not success or failure`);
}

export function describeItem(i: Item, depth = 0): string {
  if (i.t === 'number') return String(i.v);
  if (i.t === 'word') return i.v;
  if (i.t === 'string') return JSON.stringify(fromUtf8(i.v.subarray(0, 60)));
  if (depth > 3) return '( ... )';
  const inner = i.v.slice(0, 8).map((x) => describeItem(x, depth + 1));
  return `( ${inner.join(' ')}${i.v.length > 8 ? ' ...' : ''} )`;
}
