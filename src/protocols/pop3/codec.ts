// POP3, RFC 1939 section 3: "+OK"/"-ERR" status lines, multi-line responses ended by a lone "." with byte-stuffing,
// RFC 2449 extended response codes and CAPA, RFC 5034 SASL continuations ("+ challenge").
import { ByteWriter, fromLatin1, fromUtf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export interface Status {
  ok: boolean;
  /** RFC 2449 8: [CODE/SUB] at the start of the text, e.g. AUTH, IN-USE, SYS/TEMP. */
  code: string | null;
  text: string;
}

export type Reply = ({ kind: 'status' } & Status) | { kind: 'continuation'; text: string };

/** RFC 2449 4: a response line is at most 512 octets; lax servers get room. */
const MAX_LINE = 8192;

function lineAt(buf: Uint8Array, from: number): { end: number; next: number } | undefined {
  const nl = buf.indexOf(0x0a, from);
  if (nl === -1) {
    if (buf.length - from > MAX_LINE + 2) throw new ProtocolError(`POP3 line longer than ${MAX_LINE} bytes`);
    return undefined;
  }
  const end = nl > from && buf[nl - 1] === 0x0d ? nl - 1 : nl;
  if (end - from > MAX_LINE) throw new ProtocolError(`POP3 line longer than ${MAX_LINE} bytes`);
  return { end, next: nl + 1 };
}

/** One status line (RFC 1939 3) or a SASL continuation (RFC 5034 4). */
export const replyFrame: Frame<Reply> = (buf) => {
  const l = lineAt(buf, 0);
  if (!l) return undefined;
  const line = fromUtf8(buf.subarray(0, l.end));
  if (line === '+' || line.startsWith('+ ')) return { value: { kind: 'continuation', text: line.slice(2) }, size: l.next };
  const m = /^(\+OK|-ERR)(?: (.*))?$/is.exec(line);
  if (!m) throw new ProtocolError(`POP3 status line malformed: ${JSON.stringify(line.slice(0, 80))}`);
  let text = m[2] ?? '';
  let code: string | null = null;
  const c = /^\[([A-Za-z0-9/-]+)\]\s*/.exec(text);
  if (c) {
    code = c[1].toUpperCase();
    text = text.slice(c[0].length);
  }
  return { value: { kind: 'status', ok: m[1].toUpperCase() === '+OK', code, text }, size: l.next };
};

/**
 * The body of a multi-line response up to the lone "." line, byte-stuffing undone
 * (RFC 1939 3: a line starting with "." had one more "." prepended). Lines end in CRLF.
 * Stateful: create one per response; it remembers how far it scanned.
 */
export function multilineFrame(maxBytes = 32 * 1024 * 1024): Frame<Uint8Array> {
  let scanned = 0;
  return (buf) => {
    let at = scanned;
    for (;;) {
      const l = lineAt(buf, at);
      if (!l) {
        scanned = at;
        if (buf.length > maxBytes) throw new ProtocolError(`POP3 multi-line response longer than ${maxBytes} bytes`);
        return undefined;
      }
      if (l.end - at === 1 && buf[at] === 0x2e) {
        scanned = 0;
        return { value: unstuff(buf.subarray(0, at)), size: l.next };
      }
      at = l.next;
    }
  };
}

/** Removes the leading "." of stuffed lines; line ends become CRLF. */
function unstuff(body: Uint8Array): Uint8Array {
  const w = new ByteWriter(body.length);
  let at = 0;
  while (at < body.length) {
    const nl = body.indexOf(0x0a, at);
    const next = nl === -1 ? body.length : nl + 1;
    let end = nl === -1 ? body.length : nl;
    if (end > at && body[end - 1] === 0x0d) end--;
    const start = body[at] === 0x2e ? at + 1 : at;
    w.bytes(body.subarray(start, end)).u8(0x0d).u8(0x0a);
    at = next;
  }
  return w.finish();
}

/** Multi-line text split into lines (CAPA, LIST, UIDL bodies). */
export function lines(body: Uint8Array): string[] {
  const text = fromLatin1(body);
  return text.split('\r\n').filter((l, i, all) => !(l === '' && i === all.length - 1));
}

/** RFC 2449 5: one capability per line, "NAME args". */
export function parseCapa(body: Uint8Array): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of lines(body)) {
    const [name, ...args] = line.trim().split(/\s+/);
    if (name) out[name.toUpperCase()] = args;
  }
  return out;
}

/** "n size" lines of LIST (RFC 1939 5) or "n uid" lines of UIDL (7). */
export function parseScanListing(body: Uint8Array, what: 'LIST' | 'UIDL'): { number: number; value: string }[] {
  return lines(body).map((line) => {
    const m = /^(\d+) (\S+)/.exec(line);
    if (!m) throw new ProtocolError(`POP3 ${what} line malformed: ${JSON.stringify(line.slice(0, 80))}`);
    return { number: Number(m[1]), value: m[2] };
  });
}

/** RFC 1939 5 STAT: "+OK nn mm". */
export function parseStat(text: string): { count: number; size: number } {
  const m = /^(\d+) (\d+)/.exec(text);
  if (!m) throw new ProtocolError(`POP3 STAT reply malformed: ${JSON.stringify(text.slice(0, 80))}`);
  return { count: Number(m[1]), size: Number(m[2]) };
}

/** RFC 1939 7 APOP: the greeting's timestamp "<...@...>", or null. */
export function apopTimestamp(greeting: string): string | null {
  return /<[^<>\s]*@[^<>\s]*>/.exec(greeting)?.[0] ?? null;
}
