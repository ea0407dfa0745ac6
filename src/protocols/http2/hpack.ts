// HPACK, RFC 7541: integers (§5.1), string literals with the Huffman code (§5.2, Appendix B), the static
// table (Appendix A), the dynamic table (§2.3.2, §4), and header field representations (§6).
//
// How it works: the Huffman code of Appendix B is canonical (codes of one length are consecutive and
// ordered by symbol), so it is kept here as the 257 code lengths and the codes are derived from them; the
// unit tests check the derived codes against rows of the appendix and the Appendix C vectors. Decoding walks
// the canonical code bit by bit. The Decoder keeps the dynamic table the server's encoder builds and caps
// what a header block may expand to; the Encoder indexes what it sends (never-indexed for credentials,
// §7.1.3) and Huffman-codes a string unless that would be longer.
import { ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

/** A header block the peer's encoder got wrong: a connection error of type COMPRESSION_ERROR (RFC 9113 §4.3). */
export class CompressionError extends ProtocolError {
  constructor(message: string) {
    super(`HPACK: ${message}`, { h2error: 'COMPRESSION_ERROR' });
    this.name = 'CompressionError';
  }
}

/** Appendix B code lengths, symbols 0–255 and EOS (256). */
// prettier-ignore
const CODE_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;
/** Code of each symbol, MSB-first in the low `CODE_LENGTHS[s]` bits. */
export const HUFFMAN_CODES = new Uint32Array(257);
/** Canonical decoding: per length, the first code, how many codes, and where its symbols start. */
const FIRST_CODE = new Int32Array(31);
const COUNT = new Int32Array(31);
const OFFSET = new Int32Array(31);
const SYMBOLS = new Uint16Array(257);
{
  const order = [...Array(257).keys()].sort((a, b) => CODE_LENGTHS[a] - CODE_LENGTHS[b] || a - b);
  let code = 0;
  let prev = CODE_LENGTHS[order[0]];
  order.forEach((sym, i) => {
    const len = CODE_LENGTHS[sym];
    if (i > 0) code = (code + 1) * 2 ** (len - prev);
    prev = len;
    HUFFMAN_CODES[sym] = code;
    SYMBOLS[i] = sym;
    if (COUNT[len] === 0) {
      FIRST_CODE[len] = code;
      OFFSET[len] = i;
    }
    COUNT[len]++;
  });
}

export function huffmanLength(bytes: Uint8Array): number {
  let bits = 0;
  for (const b of bytes) bits += CODE_LENGTHS[b];
  return Math.ceil(bits / 8);
}

export function huffmanEncode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanLength(bytes));
  let at = 0;
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    const len = CODE_LENGTHS[b];
    const code = HUFFMAN_CODES[b];
    // Feed the code in pieces of at most 8 bits so `acc` never overflows.
    for (let left = len; left > 0; ) {
      const take = Math.min(left, 8);
      left -= take;
      acc = (acc << take) | ((code >>> left) & ((1 << take) - 1));
      bits += take;
      while (bits >= 8) {
        bits -= 8;
        out[at++] = (acc >>> bits) & 0xff;
      }
      acc &= (1 << bits) - 1;
    }
  }
  // §5.2: pad with the most significant bits of EOS (all ones).
  if (bits > 0) out[at++] = ((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff;
  return out;
}

export function huffmanDecode(bytes: Uint8Array, max: number): Uint8Array {
  const out = new ByteWriter(Math.min(max, bytes.length * 2) + 1);
  let code = 0;
  let len = 0;
  let paddingOnes = true;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      code = code * 2 + b;
      len++;
      paddingOnes &&= b === 1;
      const index = code - FIRST_CODE[len];
      if (COUNT[len] > 0 && index >= 0 && index < COUNT[len]) {
        const sym = SYMBOLS[OFFSET[len] + index];
        // §5.2: a string containing EOS is a decoding error.
        if (sym === EOS) throw new CompressionError('Huffman string contains EOS');
        if (out.length >= max) throw new CompressionError(`decoded string longer than ${max} bytes`);
        out.u8(sym);
        code = 0;
        len = 0;
        paddingOnes = true;
      } else if (len >= 30) throw new CompressionError('invalid Huffman code');
    }
  }
  // §5.2: padding longer than 7 bits, or not the MSBs of EOS, is a decoding error.
  if (len > 7) throw new CompressionError('Huffman padding longer than 7 bits');
  if (!paddingOnes) throw new CompressionError('Huffman padding is not the EOS prefix');
  return out.finish();
}

/** Appendix A. */
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

const STATIC_EXACT = new Map<string, number>();
const STATIC_NAME = new Map<string, number>();
STATIC_TABLE.forEach(([n, v], i) => {
  STATIC_EXACT.set(`${n}\0${v}`, i + 1);
  if (!STATIC_NAME.has(n)) STATIC_NAME.set(n, i + 1);
});

/** §5.1: an integer with an N-bit prefix; `first` carries the representation's pattern bits. */
export function encodeInteger(w: ByteWriter, value: number, prefixBits: number, first: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    w.u8(first | value);
    return;
  }
  w.u8(first | max);
  let rest = value - max;
  while (rest >= 128) {
    w.u8((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  w.u8(rest);
}

/** Reads bytes of one header block. */
class BlockReader {
  at = 0;
  constructor(readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.at >= this.bytes.length;
  }
  byte(): number {
    if (this.at >= this.bytes.length) throw new CompressionError('header block ends inside a representation');
    return this.bytes[this.at++];
  }
  /** §5.1, capped: more than 2^28 is not a size anyone means (and 5 continuation bytes at most). */
  integer(prefixBits: number, first: number): number {
    const max = (1 << prefixBits) - 1;
    let value = first & max;
    if (value < max) return value;
    let shift = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.byte();
      value += (b & 0x7f) * shift;
      if ((b & 0x80) === 0) {
        if (value > 2 ** 28) throw new CompressionError(`integer ${value} too large`);
        return value;
      }
      shift *= 128;
    }
    throw new CompressionError('integer longer than 5 continuation bytes');
  }
  /** §5.2: H bit, length, then raw or Huffman-coded octets. */
  string(max: number): { bytes: Uint8Array; huffman: boolean } {
    const first = this.byte();
    const huffman = (first & 0x80) !== 0;
    const length = this.integer(7, first);
    if (this.at + length > this.bytes.length) throw new CompressionError(`string of ${length} bytes runs past the header block`);
    if (length > max) throw new CompressionError(`string of ${length} bytes exceeds ${max}`);
    const raw = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return { bytes: huffman ? huffmanDecode(raw, max) : raw.slice(), huffman };
  }
}

export type HeaderField = [name: string, value: string];

/** Octets of a string in UTF-8, without encoding it (header names and values are mostly ASCII). */
function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

/** The dynamic table (§2.3.2): newest first; an entry's size is name + value + 32 octets (§4.1). */
export class DynamicTable {
  entries: HeaderField[] = [];
  size = 0;
  constructor(public maxSize: number) {}

  static entrySize([n, v]: HeaderField): number {
    return utf8Length(n) + utf8Length(v) + 32;
  }

  add(field: HeaderField): void {
    const size = DynamicTable.entrySize(field);
    this.evict(this.maxSize - size);
    // §4.4: an entry larger than the table empties it and is not added.
    if (size > this.maxSize) return;
    this.entries.unshift(field);
    this.size += size;
  }

  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evict(maxSize);
  }

  private evict(limit: number): void {
    while (this.size > Math.max(0, limit) && this.entries.length > 0) this.size -= DynamicTable.entrySize(this.entries.pop()!);
  }

  /** §2.3.3: index 1–61 static, 62 onward dynamic. */
  get(index: number): HeaderField {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1] as HeaderField;
    const d = this.entries[index - STATIC_TABLE.length - 1];
    if (index === 0 || !d) throw new CompressionError(`index ${index} is not in the static or dynamic table (dynamic has ${this.entries.length})`);
    return d;
  }
}

export type Representation = 'indexed' | 'incremental' | 'without-indexing' | 'never-indexed' | 'size-update';

export interface DecodedBlock {
  fields: HeaderField[];
  /** How each field was represented, for the inspect view. */
  representations: Representation[];
  /** Octets the block took on the wire. */
  encodedBytes: number;
  /** What the same fields take uncompressed (name + value + 32 per field, as §4.1 counts). */
  decodedBytes: number;
  huffmanStrings: number;
}

export interface DecoderLimits {
  /** SETTINGS_HEADER_TABLE_SIZE we advertised: the most the peer may size the table to. */
  maxTableSize: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: the most one block may expand to (§4.1 sizes). */
  maxListSize: number;
  maxFields: number;
}

/** Decodes header blocks in order: the table is shared by every block of the connection. */
export class Decoder {
  readonly table: DynamicTable;
  constructor(readonly limits: DecoderLimits = { maxTableSize: 4096, maxListSize: 256 * 1024, maxFields: 500 }) {
    this.table = new DynamicTable(limits.maxTableSize);
  }

  decode(block: Uint8Array): DecodedBlock {
    const r = new BlockReader(block);
    const fields: HeaderField[] = [];
    const representations: Representation[] = [];
    let listSize = 0;
    let huffmanStrings = 0;
    let sawField = false;
    const str = () => {
      const s = r.string(this.limits.maxListSize);
      if (s.huffman) huffmanStrings++;
      return fromLatin1(s.bytes);
    };
    while (!r.done) {
      const first = r.byte();
      let field: HeaderField;
      let rep: Representation;
      if (first & 0x80) {
        // §6.1 indexed header field; index 0 is an error.
        const index = r.integer(7, first);
        if (index === 0) throw new CompressionError('indexed field with index 0');
        field = this.table.get(index);
        rep = 'indexed';
      } else if ((first & 0xc0) === 0x40) {
        // §6.2.1 literal with incremental indexing.
        const index = r.integer(6, first);
        field = [index ? this.table.get(index)[0] : str(), str()];
        this.table.add(field);
        rep = 'incremental';
      } else if ((first & 0xe0) === 0x20) {
        // §6.3 dynamic table size update: only at the start of a block (§4.2), never above our limit.
        if (sawField) throw new CompressionError('dynamic table size update after a header field (RFC 7541 §4.2)');
        const size = r.integer(5, first);
        if (size > this.limits.maxTableSize) throw new CompressionError(`table size update to ${size} exceeds the ${this.limits.maxTableSize} we allowed`);
        this.table.resize(size);
        representations.push('size-update');
        continue;
      } else {
        // §6.2.2 without indexing (0000), §6.2.3 never indexed (0001).
        const index = r.integer(4, first);
        field = [index ? this.table.get(index)[0] : str(), str()];
        rep = first & 0x10 ? 'never-indexed' : 'without-indexing';
      }
      sawField = true;
      listSize += DynamicTable.entrySize(field);
      if (listSize > this.limits.maxListSize) throw new CompressionError(`header list larger than ${this.limits.maxListSize} bytes`);
      if (fields.length >= this.limits.maxFields) throw new CompressionError(`more than ${this.limits.maxFields} header fields`);
      fields.push(field);
      representations.push(rep);
    }
    return { fields, representations, encodedBytes: block.length, decodedBytes: listSize, huffmanStrings };
  }
}

/** Names whose values must never enter a table (§7.1.3): credentials and cookies. */
const NEVER_INDEX = new Set(['authorization', 'proxy-authorization', 'cookie']);

export interface EncoderOptions {
  huffman: boolean;
  /** Use the dynamic table for what we send. */
  indexing: boolean;
  tableSize: number;
}

export class Encoder {
  readonly table: DynamicTable;
  private pendingSizeUpdate: number | undefined;
  constructor(readonly options: EncoderOptions = { huffman: true, indexing: true, tableSize: 4096 }) {
    this.table = new DynamicTable(options.tableSize);
  }

  /** The peer's SETTINGS_HEADER_TABLE_SIZE: we shrink to it and say so at the next block (§4.2). */
  setPeerMaxTableSize(size: number): void {
    const next = Math.min(size, this.options.tableSize);
    if (next !== this.table.maxSize) {
      this.table.resize(next);
      this.pendingSizeUpdate = next;
    }
  }

  private writeString(w: ByteWriter, text: string): void {
    const raw = utf8(text);
    if (this.options.huffman && huffmanLength(raw) <= raw.length) {
      const coded = huffmanEncode(raw);
      encodeInteger(w, coded.length, 7, 0x80);
      w.bytes(coded);
    } else {
      encodeInteger(w, raw.length, 7, 0);
      w.bytes(raw);
    }
  }

  private findDynamic(name: string, value: string): { exact: number; name: number } {
    let byName = 0;
    for (let i = 0; i < this.table.entries.length; i++) {
      const [n, v] = this.table.entries[i];
      if (n !== name) continue;
      const index = STATIC_TABLE.length + 1 + i;
      if (v === value) return { exact: index, name: index };
      byName ||= index;
    }
    return { exact: 0, name: byName };
  }

  encode(fields: readonly HeaderField[]): Uint8Array {
    const w = new ByteWriter(64);
    if (this.pendingSizeUpdate !== undefined) {
      encodeInteger(w, this.pendingSizeUpdate, 5, 0x20);
      this.pendingSizeUpdate = undefined;
    }
    for (const [name, value] of fields) {
      const exact = STATIC_EXACT.get(`${name}\0${value}`) ?? (this.options.indexing ? this.findDynamic(name, value).exact : 0);
      if (exact) {
        encodeInteger(w, exact, 7, 0x80);
        continue;
      }
      const nameIndex = STATIC_NAME.get(name) ?? (this.options.indexing ? this.findDynamic(name, value).name : 0);
      if (NEVER_INDEX.has(name)) {
        encodeInteger(w, nameIndex, 4, 0x10);
      } else if (this.options.indexing) {
        encodeInteger(w, nameIndex, 6, 0x40);
        this.table.add([name, value]);
      } else {
        encodeInteger(w, nameIndex, 4, 0);
      }
      if (!nameIndex) this.writeString(w, name);
      this.writeString(w, value);
    }
    return w.finish();
  }
}
