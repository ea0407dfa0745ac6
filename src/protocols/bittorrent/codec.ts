// BitTorrent's peer wire protocol (BEP 3) with the extension protocol (BEP 10) and the fast extension's HAVE_ALL
// and HAVE_NONE (BEP 6), sans-I/O: the handshake, length-prefixed messages, and bencoding.
import { ByteWriter, concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

const PSTR = utf8('BitTorrent protocol');
export const HANDSHAKE_LENGTH = 68;

/** Reserved bits we know (byte index, mask). */
export const RESERVED = {
  extensionProtocol: [5, 0x10],
  dht: [7, 0x01],
  fast: [7, 0x04],
} as const;

export interface Handshake {
  reserved: Uint8Array;
  infoHash: Uint8Array;
  peerId: Uint8Array;
}

export function encodeHandshake(h: Handshake): Uint8Array {
  return new ByteWriter(HANDSHAKE_LENGTH).u8(PSTR.length).bytes(PSTR).bytes(h.reserved).bytes(h.infoHash).bytes(h.peerId).finish();
}

export function reservedBits(flags: { extensionProtocol?: boolean; dht?: boolean; fast?: boolean }): Uint8Array {
  const r = new Uint8Array(8);
  for (const [name, [i, m]] of Object.entries(RESERVED)) if (flags[name as keyof typeof flags]) r[i] |= m;
  return r;
}

export function reservedNames(r: Uint8Array): string[] {
  return Object.entries(RESERVED)
    .filter(([, [i, m]]) => (r[i] & m) !== 0)
    .map(([name]) => name);
}

/** The peer's handshake (68 bytes). */
export const handshakeFrame: Frame<Handshake> = (buf) => {
  if (buf.length < 1) return undefined;
  if (buf[0] !== PSTR.length) throw new ProtocolError(`BitTorrent: the handshake starts with a ${buf[0]}-byte protocol name (19 expected)`);
  if (buf.length < HANDSHAKE_LENGTH) return undefined;
  for (let i = 0; i < PSTR.length; i++) if (buf[1 + i] !== PSTR[i]) throw new ProtocolError('BitTorrent: the handshake does not name "BitTorrent protocol"');
  return { value: { reserved: buf.slice(20, 28), infoHash: buf.slice(28, 48), peerId: buf.slice(48, 68) }, size: HANDSHAKE_LENGTH };
};

export const MSG = { CHOKE: 0, UNCHOKE: 1, INTERESTED: 2, NOT_INTERESTED: 3, HAVE: 4, BITFIELD: 5, REQUEST: 6, PIECE: 7, CANCEL: 8, PORT: 9, SUGGEST: 13, HAVE_ALL: 14, HAVE_NONE: 15, REJECT: 16, ALLOWED_FAST: 17, EXTENDED: 20 } as const;
const MSG_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MSG).map(([k, v]) => [v, k.toLowerCase().replace(/_/g, ' ')]));
export const messageName = (id: number | null): string => (id === null ? 'keep-alive' : (MSG_NAMES[id] ?? `message ${id}`));

/** Largest message accepted: a 16 KiB piece block, or a bitfield of a very large torrent. */
export const MAX_MESSAGE = 1024 * 1024;

export interface Message {
  id: number | null;
  payload: Uint8Array;
}

/** A message: length[4], then id[1] and payload (length 0: keep-alive). */
export function messageFrame(max = MAX_MESSAGE): Frame<Message> {
  return (buf) => {
    if (buf.length < 4) return undefined;
    const n = ((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]) >>> 0;
    if (n > max) throw new ProtocolError(`BitTorrent: message length ${n} exceeds ${max}`);
    if (buf.length < 4 + n) return undefined;
    if (n === 0) return { value: { id: null, payload: new Uint8Array(0) }, size: 4 };
    return { value: { id: buf[4], payload: buf.slice(5, 4 + n) }, size: 4 + n };
  };
}

export function encodeMessage(id: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new ByteWriter(5 + payload.length).u32(1 + payload.length).u8(id).bytes(payload).finish();
}

/** The extended handshake (BEP 10: extended message id 0, a bencoded dictionary). */
export function encodeExtendedHandshake(dict: BValue): Uint8Array {
  return encodeMessage(MSG.EXTENDED, concat([new Uint8Array([0]), bencode(dict)]));
}

/** Pieces set in a bitfield, and whether spare bits past `pieces` are clear. */
export function countBits(bitfield: Uint8Array): number {
  let n = 0;
  for (const b of bitfield) {
    let x = b;
    while (x) {
      n += x & 1;
      x >>= 1;
    }
  }
  return n;
}

// Bencoding (BEP 3): integers, byte strings, lists, dictionaries.

/** A dictionary key, one character per byte (U+0000–U+00FF): every byte survives, whatever the runtime's latin1 is. */
function byteKey(bytes: Uint8Array): string {
  let s = '';
  for (let at = 0; at < bytes.length; at += 4096) s += String.fromCharCode(...bytes.subarray(at, at + 4096));
  return s;
}

export type BValue = number | bigint | Uint8Array | BValue[] | { [key: string]: BValue };

const MAX_DEPTH = 32;
const MAX_ITEMS = 100_000;

/** Decodes one bencoded value filling the whole buffer; strings stay bytes, dictionary keys are read one character per byte (a binary key, such as a scrape's info hash, keeps its bytes). */
export function bdecode(buf: Uint8Array): BValue {
  let at = 0;
  let items = 0;
  const fail = (what: string): never => {
    throw new ProtocolError(`bencode: ${what} at byte ${at}`);
  };
  const digitsUntil = (end: number): string => {
    const start = at;
    while (at < buf.length && buf[at] !== end) {
      if (at - start > 20) fail('a number too long');
      at++;
    }
    if (at >= buf.length) fail('a number without its end');
    return fromLatin1(buf.subarray(start, at));
  };
  const value = (depth: number): BValue => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    if (++items > MAX_ITEMS) fail(`more than ${MAX_ITEMS} items`);
    if (at >= buf.length) fail('the end of the data');
    const c = buf[at];
    if (c === 0x69) {
      at++;
      const text = digitsUntil(0x65);
      at++;
      if (!/^(0|-?[1-9][0-9]*)$/.test(text)) fail(`an integer ${JSON.stringify(text)}`);
      const big = BigInt(text);
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    if (c === 0x6c || c === 0x64) {
      at++;
      const list: BValue[] = [];
      const dict: { [key: string]: BValue } = {};
      while (at < buf.length && buf[at] !== 0x65) {
        if (c === 0x6c) list.push(value(depth + 1));
        else {
          const key = value(depth + 1);
          if (!(key instanceof Uint8Array)) fail('a dictionary key that is not a string');
          Object.defineProperty(dict, byteKey(key as Uint8Array), { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        }
      }
      if (at >= buf.length) fail('a list or dictionary without its end');
      at++;
      return c === 0x6c ? list : dict;
    }
    if (c >= 0x30 && c <= 0x39) {
      const text = digitsUntil(0x3a);
      at++;
      const n = Number(text);
      if (!/^[0-9]+$/.test(text) || n > buf.length - at) fail(`a string length ${text} past the data`);
      const s = buf.slice(at, at + n);
      at += n;
      return s;
    }
    return fail(`an unexpected byte 0x${c.toString(16)}`);
  };
  const v = value(0);
  if (at !== buf.length) fail('data after the value');
  return v;
}

export function bencode(v: BValue): Uint8Array {
  const parts: Uint8Array[] = [];
  const put = (x: BValue): void => {
    if (typeof x === 'number' || typeof x === 'bigint') parts.push(utf8(`i${typeof x === 'number' ? Math.trunc(x) : x}e`));
    else if (x instanceof Uint8Array) parts.push(utf8(`${x.length}:`), x);
    else if (Array.isArray(x)) {
      parts.push(utf8('l'));
      x.forEach(put);
      parts.push(utf8('e'));
    } else {
      parts.push(utf8('d'));
      for (const k of Object.keys(x).sort()) {
        const kb = utf8(k);
        parts.push(utf8(`${kb.length}:`), kb);
        put(x[k]);
      }
      parts.push(utf8('e'));
    }
  };
  put(v);
  return concat(parts);
}

/** A peer id's client, by the Azureus convention (-TR3000- is Transmission 3.00) when it follows it. */
export function peerIdClient(id: Uint8Array): { code: string; version: string } | null {
  const text = fromLatin1(id.subarray(0, 8));
  const m = /^-([A-Za-z~]{2})([0-9A-Za-z]{4})-$/.exec(text);
  return m ? { code: m[1], version: m[2] } : null;
}
