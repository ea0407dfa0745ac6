// ManageSieve, RFC 5804: responses (§4: lines of strings and atoms, ending in OK, NO or BYE with an optional
// response code and text), strings as quoted (§4) or literals ({n} and the client's non-synchronizing {n+}).
// Sans-I/O: `responseFrame` takes a whole response off the buffered bytes, or says it needs more.
import { concat, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** A script, a response's text, a capability value: at most this many bytes in one string. */
export const MAX_STRING = 4 * 1024 * 1024;
const MAX_LINES = 10_000;
/** §4 limits quoted strings to 1024 octets; servers send longer text as literals. Leniency up to 8 KiB. */
const MAX_QUOTED = 8 * 1024;
const MAX_LINE_TOKENS = 64;
const MAX_ATOM = 1024;

export type Token = { kind: 'atom'; value: string } | { kind: 'string'; value: Uint8Array } | { kind: 'code'; name: string; args: Token[] };

export interface FinalResponse {
  status: 'OK' | 'NO' | 'BYE';
  /** The response code (§1.3): NONEXISTENT, ACTIVE, QUOTA/MAXSIZE, WARNINGS, SASL, TAG... */
  code: string | null;
  codeArgs: Token[];
  text: string | null;
}

export interface Response {
  /** The lines before the final one, each a list of tokens. */
  lines: Token[][];
  final: FinalResponse;
}

const CR = 0x0d;
const LF = 0x0a;

function isAtomChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x22 && c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x7d;
}

/** Reads one token at `at`; undefined when more bytes are needed. */
function token(buf: Uint8Array, at: number, depth = 0): { t: Token; end: number } | undefined {
  const c = buf[at];
  if (c === 0x22) {
    const out: number[] = [];
    for (let i = at + 1; i < buf.length; i++) {
      const b = buf[i];
      if (b === 0x5c) {
        if (i + 1 >= buf.length) return undefined;
        out.push(buf[++i]);
      } else if (b === 0x22) return { t: { kind: 'string', value: Uint8Array.from(out) }, end: i + 1 };
      else if (b === CR || b === LF) throw new ProtocolError('ManageSieve: a quoted string runs into the end of the line');
      else out.push(b);
      if (out.length > MAX_QUOTED) throw new ProtocolError(`ManageSieve: a quoted string longer than ${MAX_QUOTED} bytes`);
    }
    return undefined;
  }
  if (c === 0x7b) {
    let i = at + 1;
    let n = 0;
    let digits = 0;
    for (; i < buf.length && buf[i] >= 0x30 && buf[i] <= 0x39; i++) {
      n = n * 10 + (buf[i] - 0x30);
      if (++digits > 10) throw new ProtocolError('ManageSieve: a literal length of more than 10 digits');
    }
    if (i < buf.length && buf[i] === 0x2b) i++;
    if (i >= buf.length) return undefined;
    if (digits === 0 || buf[i] !== 0x7d) throw new ProtocolError('ManageSieve: a malformed literal header (expected {n})');
    if (n > MAX_STRING) throw new ProtocolError(`ManageSieve: a ${n}-byte literal exceeds the ${MAX_STRING}-byte limit`);
    if (i + 2 >= buf.length) return undefined;
    if (buf[i + 1] !== CR || buf[i + 2] !== LF) throw new ProtocolError('ManageSieve: a literal header not followed by CRLF');
    const start = i + 3;
    if (buf.length < start + n) return undefined;
    return { t: { kind: 'string', value: buf.slice(start, start + n) }, end: start + n };
  }
  if (c === 0x28) {
    if (depth > 0) throw new ProtocolError('ManageSieve: a response code inside a response code');
    let i = at + 1;
    const name = atom(buf, i);
    if (!name) return undefined;
    i = name.end;
    const args: Token[] = [];
    for (;;) {
      if (i >= buf.length) return undefined;
      if (buf[i] === 0x29) return { t: { kind: 'code', name: name.value.toUpperCase(), args }, end: i + 1 };
      if (buf[i] === 0x20) {
        i++;
        continue;
      }
      const inner = token(buf, i, depth + 1);
      if (!inner) return undefined;
      args.push(inner.t);
      if (args.length > MAX_LINE_TOKENS) throw new ProtocolError('ManageSieve: too many response code arguments');
      i = inner.end;
    }
  }
  const a = atom(buf, at);
  if (!a) return undefined;
  return { t: { kind: 'atom', value: a.value }, end: a.end };
}

function atom(buf: Uint8Array, at: number): { value: string; end: number } | undefined {
  let i = at;
  while (i < buf.length && isAtomChar(buf[i])) {
    if (i - at > MAX_ATOM) throw new ProtocolError(`ManageSieve: an atom longer than ${MAX_ATOM} bytes`);
    i++;
  }
  if (i >= buf.length) return undefined;
  if (i === at) throw new ProtocolError(`ManageSieve: unexpected byte 0x${buf[at].toString(16)} where a string or atom should start`);
  return { value: String.fromCharCode(...buf.subarray(at, i)), end: i };
}

/** One line of tokens ending in CRLF; undefined when more bytes are needed. */
function line(buf: Uint8Array, at: number): { tokens: Token[]; end: number } | undefined {
  const tokens: Token[] = [];
  let i = at;
  for (;;) {
    if (i >= buf.length) return undefined;
    const c = buf[i];
    if (c === CR) {
      if (i + 1 >= buf.length) return undefined;
      if (buf[i + 1] !== LF) throw new ProtocolError('ManageSieve: CR without LF');
      return { tokens, end: i + 2 };
    }
    if (c === LF) return { tokens, end: i + 1 };
    if (c === 0x20) {
      i++;
      continue;
    }
    const t = token(buf, i);
    if (!t) return undefined;
    tokens.push(t.t);
    if (tokens.length > MAX_LINE_TOKENS) throw new ProtocolError(`ManageSieve: more than ${MAX_LINE_TOKENS} items on one line`);
    i = t.end;
  }
}

export const text = (t: Token | undefined): string | null => (t && t.kind === 'string' ? fromUtf8(t.value) : t && t.kind === 'atom' ? t.value : null);

/** A whole response: lines until one that starts with OK, NO or BYE. */
export function responseFrame(): Frame<Response> {
  return (buf) => {
    const lines: Token[][] = [];
    let at = 0;
    for (;;) {
      const l = line(buf, at);
      if (!l) return undefined;
      at = l.end;
      const first = l.tokens[0];
      const word = first?.kind === 'atom' ? first.value.toUpperCase() : '';
      if (word === 'OK' || word === 'NO' || word === 'BYE') {
        let rest = l.tokens.slice(1);
        let code: string | null = null;
        let codeArgs: Token[] = [];
        if (rest[0]?.kind === 'code') {
          code = rest[0].name;
          codeArgs = rest[0].args;
          rest = rest.slice(1);
        }
        return { value: { lines, final: { status: word, code, codeArgs, text: text(rest[0]) } }, size: at };
      }
      lines.push(l.tokens);
      if (lines.length > MAX_LINES) throw new ProtocolError(`ManageSieve: more than ${MAX_LINES} lines in one response`);
    }
  };
}

/** A string argument (§4): quoted when short and plain, else a non-synchronizing literal {n+}. */
export function str(value: string | Uint8Array): Uint8Array {
  const bytes = typeof value === 'string' ? utf8(value) : value;
  const plain = bytes.length <= 1024 && bytes.every((b) => b >= 0x20 && b < 0x7f);
  if (plain) {
    const escaped: number[] = [0x22];
    for (const b of bytes) {
      if (b === 0x22 || b === 0x5c) escaped.push(0x5c);
      escaped.push(b);
    }
    escaped.push(0x22);
    return Uint8Array.from(escaped);
  }
  return concat([utf8(`{${bytes.length}+}\r\n`), bytes]);
}

/** A command line: the command name and its string or number arguments, CRLF. */
export function command(name: string, ...args: (string | Uint8Array | number)[]): Uint8Array {
  const parts: Uint8Array[] = [utf8(name)];
  for (const a of args) parts.push(utf8(' '), typeof a === 'number' ? utf8(String(a)) : str(a));
  parts.push(utf8('\r\n'));
  return concat(parts);
}

/** §1.7: the capability response: one line per capability, a name and an optional value. */
export function capabilities(lines: Token[][]): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const name = text(l[0]);
    if (name) out.set(name.toUpperCase(), text(l[1]) ?? '');
  }
  return out;
}

/** §2.1: during AUTHENTICATE a line that is one string is a server challenge; OK, NO or BYE ends the exchange. */
export function authStepFrame(): Frame<{ challenge: Uint8Array } | Response> {
  const whole = responseFrame();
  return (buf) => {
    const l = line(buf, 0);
    if (!l) return undefined;
    const first = l.tokens[0];
    if (first?.kind === 'string' && l.tokens.length === 1) return { value: { challenge: first.value }, size: l.end };
    return whole(buf);
  };
}
