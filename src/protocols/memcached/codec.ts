// Memcached protocols (memcached doc/protocol.txt: text commands, "Meta Commands", "Statistics"; doc/protocol-binary.xml header and SASL).
//
// How it works: the text protocol answers with CRLF lines, and two kinds of
// line announce a data block: `VALUE <key> <flags> <bytes> [<cas>]` (get/gets/
// gat/gats) and `VA <size> <flags>*` (meta get/arithmetic). `textFrame` yields
// one element at a time, reading the length from the header line (ASCII digits,
// checked before anything is decoded) and taking exactly that many bytes plus
// CRLF. The binary protocol is a fixed 24-byte header whose total body length
// frames the rest (`binaryFrame`).
import { ByteReader, ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export type TextElement =
  /** protocol.txt "Retrieval commands": `VALUE <key> <flags> <bytes> [<cas unique>]` then the data block. */
  | { kind: 'value'; key: Uint8Array; flags: number; cas: string | null; data: Uint8Array }
  /** protocol.txt "Meta Commands": a two-letter code, return flags, and for VA a data block. */
  | { kind: 'meta'; code: MetaCode; flags: MetaFlag[]; data: Uint8Array | null }
  /** Any other line: STORED, END, STAT ..., VERSION ..., a number, ERROR, CLIENT_ERROR ..., SERVER_ERROR ... */
  | { kind: 'line'; text: string };

export type MetaCode = 'VA' | 'HD' | 'EN' | 'NS' | 'EX' | 'NF' | 'MN' | 'ME';

export interface MetaFlag {
  flag: string;
  token: string;
}

export const MAX_LINE = 8192;
/** protocol.txt: item size is capped by the server (-I, 1 MB by default, at most 1 GB); we cap what we buffer. */
export const DEFAULT_MAX_VALUE = 8 * 1024 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const META_CODES = new Set(['VA', 'HD', 'EN', 'NS', 'EX', 'NF', 'MN', 'ME']);

/** The content and end of the CRLF line at the start of `buf`, or undefined until it is complete. */
function lineAt(buf: Uint8Array): { end: number; next: number } | undefined {
  const limit = Math.min(buf.length, MAX_LINE + 2);
  const at = buf.subarray(0, limit).indexOf(LF);
  if (at === -1) {
    if (buf.length > MAX_LINE + 1) throw new ProtocolError(`response line longer than ${MAX_LINE} bytes`);
    return undefined;
  }
  // protocol.txt: lines end with \r\n.
  if (at === 0 || buf[at - 1] !== CR) throw new ProtocolError('response line not terminated by CRLF');
  return { end: at - 1, next: at + 1 };
}

/** A decimal ASCII field, checked digit by digit (no text decode). */
function decimal(bytes: Uint8Array, what: string, maxDigits = 20): bigint {
  if (bytes.length === 0 || bytes.length > maxDigits) throw new ProtocolError(`${what}: expected 1–${maxDigits} digits`);
  let n = 0n;
  for (const b of bytes) {
    if (b < 0x30 || b > 0x39) throw new ProtocolError(`${what}: not a decimal number`);
    n = n * 10n + BigInt(b - 0x30);
  }
  return n;
}

function splitSpaces(line: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const sp = i === line.length || line[i] === 0x20;
    if (sp && start >= 0) {
      out.push(line.subarray(start, i));
      start = -1;
    } else if (!sp && start < 0) start = i;
  }
  return out;
}

/** `len` bytes of data then CRLF at `from`; undefined until they have all arrived. */
function dataBlock(buf: Uint8Array, from: number, len: number, what: string): { data: Uint8Array; next: number } | undefined {
  if (buf.length < from + len + 2) return undefined;
  if (buf[from + len] !== CR || buf[from + len + 1] !== LF) throw new ProtocolError(`${what}: ${len}-byte data block not followed by CRLF`);
  return { data: buf.slice(from, from + len), next: from + len + 2 };
}

/** One element of a text-protocol response. */
export function textFrame(maxValue = DEFAULT_MAX_VALUE): Frame<TextElement> {
  return (buf) => {
    const l = lineAt(buf);
    if (!l) return undefined;
    const line = buf.subarray(0, l.end);
    // "VALUE " header: protocol.txt "Retrieval commands".
    if (line.length > 6 && line[0] === 0x56 && line[1] === 0x41 && line[2] === 0x4c && line[3] === 0x55 && line[4] === 0x45 && line[5] === 0x20) {
      const parts = splitSpaces(line.subarray(6));
      if (parts.length !== 3 && parts.length !== 4) throw new ProtocolError('VALUE line: expected <key> <flags> <bytes> [<cas unique>]');
      const flags = decimal(parts[1], 'VALUE flags', 10);
      if (flags > 0xffffffffn) throw new ProtocolError('VALUE flags: larger than 32 bits');
      const size = decimal(parts[2], 'VALUE bytes', 10);
      if (size > BigInt(maxValue)) throw new ProtocolError(`VALUE bytes: ${size} exceeds the ${maxValue}-byte limit`);
      const cas = parts[3] ? decimal(parts[3], 'VALUE cas unique').toString() : null;
      const block = dataBlock(buf, l.next, Number(size), 'VALUE');
      if (!block) return undefined;
      return { value: { kind: 'value', key: parts[0].slice(), flags: Number(flags), cas, data: block.data }, size: block.next };
    }
    // Meta responses: two upper-case letters, then space-separated return flags.
    if ((line.length === 2 || (line.length > 2 && line[2] === 0x20)) && META_CODES.has(fromLatin1(line.subarray(0, 2)))) {
      const code = fromLatin1(line.subarray(0, 2)) as MetaCode;
      const tokens = splitSpaces(line.subarray(2));
      if (code === 'VA') {
        // protocol.txt "Meta Get": `VA <size> <flags>*\r\n<data block>\r\n`.
        if (tokens.length === 0) throw new ProtocolError('VA line: missing the data size');
        const size = decimal(tokens[0], 'VA size', 10);
        if (size > BigInt(maxValue)) throw new ProtocolError(`VA size: ${size} exceeds the ${maxValue}-byte limit`);
        const block = dataBlock(buf, l.next, Number(size), 'VA');
        if (!block) return undefined;
        return { value: { kind: 'meta', code, flags: metaFlags(tokens.slice(1)), data: block.data }, size: block.next };
      }
      return { value: { kind: 'meta', code, flags: metaFlags(tokens), data: null }, size: l.next };
    }
    return { value: { kind: 'line', text: fromLatin1(line) }, size: l.next };
  };
}

function metaFlags(tokens: Uint8Array[]): MetaFlag[] {
  return tokens.map((t) => ({ flag: String.fromCharCode(t[0]), token: fromLatin1(t.subarray(1)) }));
}

/** protocol.txt "Error strings": ERROR, CLIENT_ERROR <error>, SERVER_ERROR <error>. */
export function errorLine(e: TextElement): string | undefined {
  if (e.kind !== 'line') return undefined;
  return e.text === 'ERROR' || e.text.startsWith('CLIENT_ERROR') || e.text.startsWith('SERVER_ERROR') ? e.text : undefined;
}

// Commands

/** protocol.txt "Keys": up to 250 bytes, no control characters or whitespace. */
export function checkKey(key: Uint8Array): string | undefined {
  if (key.length === 0) return 'is empty';
  if (key.length > 250) return `is ${key.length} bytes, longer than 250`;
  for (const b of key) if (b <= 0x20 || b === 0x7f) return 'contains a space or a control character';
  return undefined;
}

export type StorageCommand = 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'cas';

/** `<command> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]\r\n<data block>\r\n` (protocol.txt "Storage commands"). */
export function storageCommand(cmd: StorageCommand, key: Uint8Array, flags: number, exptime: number, data: Uint8Array, cas: string | null, noreply: boolean): Uint8Array {
  const w = new ByteWriter(64 + data.length);
  w.text(`${cmd} `).bytes(key).text(` ${flags} ${exptime} ${data.length}`);
  if (cmd === 'cas') w.text(` ${cas}`);
  if (noreply) w.text(' noreply');
  return w.text('\r\n').bytes(data).text('\r\n').finish();
}

/** A command line of words (keys as bytes). */
export function commandLine(words: (string | Uint8Array)[]): Uint8Array {
  const w = new ByteWriter(64);
  words.forEach((x, i) => {
    if (i > 0) w.u8(0x20);
    if (typeof x === 'string') w.text(x);
    else w.bytes(x);
  });
  return w.text('\r\n').finish();
}

/** protocol.txt "Meta Commands": `<mg|ms|md|ma|mn> [<key>] [<datalen>] <flags>*\r\n` (+ data for ms). */
export function metaCommand(cmd: 'mg' | 'ms' | 'md' | 'ma' | 'mn', key: Uint8Array | null, flags: string[], data: Uint8Array | null): Uint8Array {
  const words: (string | Uint8Array)[] = [cmd];
  if (key) words.push(key);
  if (cmd === 'ms') words.push(String(data?.length ?? 0));
  words.push(...flags);
  const line = commandLine(words);
  if (cmd !== 'ms') return line;
  return new ByteWriter(line.length + (data?.length ?? 0) + 2).bytes(line).bytes(data ?? new Uint8Array(0)).text('\r\n').finish();
}

// Statistics (protocol.txt "Statistics", "Settings statistics", "Item statistics", "Slab statistics").

/** `STAT <name> <value>` lines into pairs (the END line excluded by the caller). */
export function statPairs(lines: string[]): [string, string][] {
  return lines.map((l) => {
    const m = /^STAT (\S+)(?: (.*))?$/.exec(l);
    if (!m) throw new ProtocolError(`stats line malformed: ${JSON.stringify(l.slice(0, 80))}`);
    return [m[1], m[2] ?? ''];
  });
}

/** `items:<slab>:<field>` into { slab: { field: value } }. */
export function itemStats(pairs: [string, string][]): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [name, value] of pairs) {
    const m = /^items:(\d+):(.+)$/.exec(name);
    if (m) (out[m[1]] ??= {})[m[2]] = value;
  }
  return out;
}

/** `<slab>:<field>` per slab class, and the totals (active_slabs, total_malloced). */
export function slabStats(pairs: [string, string][]): { slabs: Record<string, Record<string, string>>; totals: Record<string, string> } {
  const slabs: Record<string, Record<string, string>> = {};
  const totals: Record<string, string> = {};
  for (const [name, value] of pairs) {
    const m = /^(\d+):(.+)$/.exec(name);
    if (m) (slabs[m[1]] ??= {})[m[2]] = value;
    else totals[name] = value;
  }
  return { slabs, totals };
}

// Binary protocol (protocol-binary.xml "Packet Structure", "Response Status", "Command Opcodes", "SASL").

export const BinaryOp = {
  get: 0x00,
  noop: 0x0a,
  version: 0x0b,
  stat: 0x10,
  saslListMechs: 0x20,
  saslAuth: 0x21,
  saslStep: 0x22,
} as const;

/** What a binary command carries in its extras (protocol-binary.xml, one section per command). */
export type BinaryExtras = 'none' | 'store' | 'counter' | 'expiry' | 'optionalExpiry';

/**
 * The binary commands by name: opcode, extras, and whether it is a quiet variant (no answer on success; a quiet get
 * also none on a miss). Quit is left out: it closes the connection before the batch can be closed with a no-op.
 */
export const BINARY_COMMANDS = {
  get: { opcode: 0x00, extras: 'none', quiet: false },
  getq: { opcode: 0x09, extras: 'none', quiet: true },
  getk: { opcode: 0x0c, extras: 'none', quiet: false },
  getkq: { opcode: 0x0d, extras: 'none', quiet: true },
  set: { opcode: 0x01, extras: 'store', quiet: false },
  setq: { opcode: 0x11, extras: 'store', quiet: true },
  add: { opcode: 0x02, extras: 'store', quiet: false },
  addq: { opcode: 0x12, extras: 'store', quiet: true },
  replace: { opcode: 0x03, extras: 'store', quiet: false },
  replaceq: { opcode: 0x13, extras: 'store', quiet: true },
  delete: { opcode: 0x04, extras: 'none', quiet: false },
  deleteq: { opcode: 0x14, extras: 'none', quiet: true },
  increment: { opcode: 0x05, extras: 'counter', quiet: false },
  incrementq: { opcode: 0x15, extras: 'counter', quiet: true },
  decrement: { opcode: 0x06, extras: 'counter', quiet: false },
  decrementq: { opcode: 0x16, extras: 'counter', quiet: true },
  append: { opcode: 0x0e, extras: 'none', quiet: false },
  appendq: { opcode: 0x19, extras: 'none', quiet: true },
  prepend: { opcode: 0x0f, extras: 'none', quiet: false },
  prependq: { opcode: 0x1a, extras: 'none', quiet: true },
  touch: { opcode: 0x1c, extras: 'expiry', quiet: false },
  gat: { opcode: 0x1d, extras: 'expiry', quiet: false },
  gatq: { opcode: 0x1e, extras: 'expiry', quiet: true },
  gatk: { opcode: 0x23, extras: 'expiry', quiet: false },
  gatkq: { opcode: 0x24, extras: 'expiry', quiet: true },
  flush: { opcode: 0x08, extras: 'optionalExpiry', quiet: false },
  flushq: { opcode: 0x18, extras: 'optionalExpiry', quiet: true },
  noop: { opcode: 0x0a, extras: 'none', quiet: false },
  version: { opcode: 0x0b, extras: 'none', quiet: false },
  stat: { opcode: 0x10, extras: 'none', quiet: false },
} as const satisfies Record<string, { opcode: number; extras: BinaryExtras; quiet: boolean }>;

export type BinaryCommandName = keyof typeof BINARY_COMMANDS;

export interface BinaryCommand {
  op: BinaryCommandName;
  key?: Uint8Array;
  value?: Uint8Array;
  flags?: number;
  exptime?: number;
  delta?: bigint;
  initial?: bigint;
  cas?: bigint;
}

/** The extras of one command: flags and expiry for a store, delta, initial and expiry for a counter, an expiry. */
export function binaryExtras(c: BinaryCommand): Uint8Array {
  const kind: BinaryExtras = BINARY_COMMANDS[c.op].extras;
  const w = new ByteWriter();
  // An expiry of -1 (text protocol's "expire now") has no binary form: 0xffffffff on a counter means "do not create".
  const exp = (c.exptime ?? 0) >>> 0;
  if (kind === 'store') w.u32(c.flags ?? 0).u32(exp);
  else if (kind === 'counter') w.u64(c.delta ?? 1n).u64(c.initial ?? 0n).u32(exp);
  else if (kind === 'expiry' || (kind === 'optionalExpiry' && c.exptime !== undefined)) w.u32(exp);
  return w.finish();
}

/** One command as a request packet, with its opaque and cas. */
export function binaryCommand(c: BinaryCommand, opaque: number): Uint8Array {
  return binaryRequest(BINARY_COMMANDS[c.op].opcode, { key: c.key, extras: binaryExtras(c), value: c.value, opaque, cas: c.cas });
}

export const BINARY_STATUS: Record<number, string> = {
  0x0000: 'No error',
  0x0001: 'Key not found',
  0x0002: 'Key exists',
  0x0003: 'Value too large',
  0x0004: 'Invalid arguments',
  0x0005: 'Item not stored',
  0x0006: 'Incr/Decr on non-numeric value',
  0x0007: 'The vbucket belongs to another server',
  0x0020: 'Authentication error',
  0x0021: 'Authentication continue',
  0x0081: 'Unknown command',
  0x0082: 'Out of memory',
  0x0083: 'Not supported',
  0x0084: 'Internal error',
  0x0085: 'Busy',
  0x0086: 'Temporary failure',
};

export interface BinaryResponse {
  opcode: number;
  status: number;
  opaque: number;
  cas: bigint;
  extras: Uint8Array;
  key: Uint8Array;
  value: Uint8Array;
}

/** A request: magic 0x80, opcode, key length, extras length, data type 0, vbucket 0, total body, opaque, cas. */
export function binaryRequest(opcode: number, opts: { key?: Uint8Array; extras?: Uint8Array; value?: Uint8Array; opaque?: number; cas?: bigint } = {}): Uint8Array {
  const key = opts.key ?? new Uint8Array(0);
  const extras = opts.extras ?? new Uint8Array(0);
  const value = opts.value ?? new Uint8Array(0);
  return new ByteWriter(24 + key.length + extras.length + value.length)
    .u8(0x80)
    .u8(opcode)
    .u16(key.length)
    .u8(extras.length)
    .u8(0)
    .u16(0)
    .u32(extras.length + key.length + value.length)
    .u32(opts.opaque ?? 0)
    .u64(opts.cas ?? 0n)
    .bytes(extras)
    .bytes(key)
    .bytes(value)
    .finish();
}

/** One response packet; the magic byte must be 0x81 (protocol-binary.xml "Magic Byte"). */
export function binaryFrame(maxBody = DEFAULT_MAX_VALUE): Frame<BinaryResponse> {
  return (buf) => {
    if (buf.length < 24) {
      if (buf.length > 0 && buf[0] !== 0x81) throw new ProtocolError(`binary response: magic byte 0x${buf[0].toString(16)} is not 0x81`);
      return undefined;
    }
    const r = new ByteReader(buf);
    const magic = r.u8('magic');
    if (magic !== 0x81) throw new ProtocolError(`binary response: magic byte 0x${magic.toString(16)} is not 0x81`);
    const opcode = r.u8('opcode');
    const keyLen = r.u16('key length');
    const extLen = r.u8('extras length');
    r.u8('data type');
    const status = r.u16('status');
    const body = r.u32('total body length');
    const opaque = r.u32('opaque');
    const cas = r.u64('cas');
    if (body > maxBody) throw new ProtocolError(`binary response: body of ${body} bytes exceeds the ${maxBody}-byte limit`);
    if (keyLen + extLen > body) throw new ProtocolError('binary response: key and extras longer than the body');
    if (buf.length < 24 + body) return undefined;
    const extras = r.bytesN(extLen, 'extras').slice();
    const key = r.bytesN(keyLen, 'key').slice();
    const value = r.bytesN(body - keyLen - extLen, 'value').slice();
    return { value: { opcode, status, opaque, cas, extras, key, value }, size: 24 + body };
  };
}

/** SASL PLAIN (RFC 4616): authzid NUL authcid NUL password. */
export function saslPlain(user: string, password: string): Uint8Array {
  return new ByteWriter().u8(0).bytes(utf8(user)).u8(0).bytes(utf8(password)).finish();
}
