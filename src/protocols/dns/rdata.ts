// Resource record types and their RDATA: RFC 1035 §3.3–3.4, RFC 3596 (AAAA), RFC 2782 (SRV), RFC 3403 (NAPTR),
// RFC 4034 (DS, DNSKEY, RRSIG, NSEC), RFC 5155 (NSEC3, NSEC3PARAM), RFC 4255 (SSHFP), RFC 6698 (TLSA),
// RFC 8659 (CAA), RFC 9460 (SVCB, HTTPS), RFC 7344 (CDS, CDNSKEY), RFC 6672 (DNAME), RFC 3597 (unknown types).
//
// How it works: one table maps each type to three functions: wire → data (a plain object for JSON), data → wire,
// and data → presentation text as BIND prints it on one line (hex in upper case, base64 unbroken). A type
// missing from the table is kept as bytes and shown as `\# len hex` (RFC 3597 §5). Every decoder must consume
// its RDATA exactly: a byte short or left over is a ProtocolError naming the type and field.
import { ByteReader, ByteWriter, fromBase64, fromHex, toBase64, toHex } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { formatIp, parseIpv4Strict, parseIpv6 } from '../../core/ip.ts';
import { labelsToText, NameCompressor, parseName, readName } from './names.ts';

export const TYPES: Record<string, number> = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  RP: 17,
  AAAA: 28,
  LOC: 29,
  SRV: 33,
  NAPTR: 35,
  DNAME: 39,
  OPT: 41,
  DS: 43,
  SSHFP: 44,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  CSYNC: 62,
  ZONEMD: 63,
  SVCB: 64,
  HTTPS: 65,
  SPF: 99,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  URI: 256,
  CAA: 257,
};

const TYPE_NAMES = new Map<number, string>(Object.entries(TYPES).map(([k, v]) => [v, k]));

export const CLASSES: Record<string, number> = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 };
const CLASS_NAMES = new Map<number, string>(Object.entries(CLASSES).map(([k, v]) => [v, k]));

/** RFC 3597 §5: types and classes without a mnemonic are TYPEnnn / CLASSnnn. */
export function typeName(code: number): string {
  return TYPE_NAMES.get(code) ?? `TYPE${code}`;
}

export function className(code: number): string {
  return CLASS_NAMES.get(code) ?? `CLASS${code}`;
}

/** A type mnemonic or TYPEnnn to its number; InvalidInput naming `field` for anything else. */
export function typeCode(text: string, field = 'type'): number {
  const upper = text.trim().toUpperCase();
  if (upper in TYPES) return TYPES[upper];
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (m && Number(m[1]) <= 65535) return Number(m[1]);
  throw InvalidInput.field(field, `${JSON.stringify(text)} is not a record type; use a mnemonic such as A, AAAA, MX, TXT, or TYPEnnn (RFC 3597)`);
}

export function classCode(text: string, field = 'class'): number {
  const upper = text.trim().toUpperCase();
  if (upper in CLASSES) return CLASSES[upper];
  const m = /^CLASS(\d{1,5})$/.exec(upper);
  if (m && Number(m[1]) <= 65535) return Number(m[1]);
  throw InvalidInput.field(field, `${JSON.stringify(text)} is not a class; use IN, CH, HS, ANY or CLASSnnn`);
}

export type RData = Record<string, unknown>;

/** What a decoder reads from: the whole message (for compression pointers) and this RDATA's bounds. */
export interface RdataSource {
  message: Uint8Array;
  start: number;
  end: number;
  type: string;
}

interface TypeCodec {
  decode(src: RdataSource, r: ByteReader): RData;
  encode(w: ByteWriter, names: NameCompressor, data: RData): void;
  text(data: RData): string;
}

// Field helpers

function str(data: RData, key: string): string {
  const v = data[key];
  if (typeof v !== 'string') throw InvalidInput.field(`data.${key}`, 'must be a string');
  return v;
}

function num(data: RData, key: string, max: number): number {
  const v = data[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) throw InvalidInput.field(`data.${key}`, `must be a whole number from 0 to ${max}`);
  return v;
}

function strList(data: RData, key: string): string[] {
  const v = data[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw InvalidInput.field(`data.${key}`, 'must be a list of strings');
  return v as string[];
}

/** Reads a domain name inside RDATA; pointers are followed (RFC 3597 §4 allows it for the old types). */
function rdName(src: RdataSource, r: ByteReader, field: string): string {
  const got = readName(src.message, r.offset, src.end, `${src.type} ${field}`);
  r.offset = got.end;
  return labelsToText(got.labels);
}

function hexUpper(bytes: Uint8Array): string {
  return toHex(bytes).toUpperCase();
}

function hexField(data: RData, key: string): Uint8Array {
  const text = str(data, key);
  try {
    return fromHex(text);
  } catch {
    throw InvalidInput.field(`data.${key}`, 'must be hex');
  }
}

function base64Field(data: RData, key: string): Uint8Array {
  const text = str(data, key);
  try {
    return fromBase64(text);
  } catch {
    throw InvalidInput.field(`data.${key}`, 'must be base64');
  }
}

/** RFC 1035 §3.3 <character-string>: a length byte and up to 255 bytes. */
function readCharString(r: ByteReader, field: string): Uint8Array {
  return r.lengthPrefixed('u8', field, 255);
}

function writeCharString(w: ByteWriter, bytes: Uint8Array, field: string): void {
  if (bytes.length > 255) throw InvalidInput.field(field, `is ${bytes.length} bytes; a character-string holds at most 255`);
  w.u8(bytes.length).bytes(bytes);
}

/**
 * Character-string bytes to the text kept in JSON: printable ASCII as is, `"` and `\` escaped, every other
 * byte as \DDD, as BIND and dig print it. `textToCharString` reverses it.
 */
export function charStringToText(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += '\\' + String.fromCharCode(b);
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += '\\' + String(b).padStart(3, '0');
  }
  return out;
}

export function textToCharString(text: string, field = 'text'): Uint8Array {
  const out: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) {
      const next = text.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(next)) {
        const v = Number(next);
        if (v > 255) throw InvalidInput.field(field, `escape \\${next} is not a byte`);
        out.push(v);
        i += 3;
      } else if (i + 1 < text.length) {
        out.push(...encoder.encode(text[i + 1]));
        i += 1;
      } else throw InvalidInput.field(field, 'ends with a lone backslash');
    } else if (c < 0x80) out.push(c);
    else {
      const cp = text.codePointAt(i)!;
      out.push(...encoder.encode(String.fromCodePoint(cp)));
      if (cp > 0xffff) i++;
    }
  }
  return Uint8Array.from(out);
}

function quoted(text: string): string {
  return `"${text}"`;
}

/** YYYYMMDDHHmmSS, RFC 4034 §3.2 (RRSIG times), from seconds since 1970 (unsigned 32-bit). */
export function rrsigTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

// Type bitmaps, RFC 4034 §4.1.2 (NSEC) and RFC 5155 §3.2.1 (NSEC3)

function readTypeBitmaps(r: ByteReader, end: number, type: string): string[] {
  const out: string[] = [];
  let lastWindow = -1;
  while (r.offset < end) {
    const window = r.u8(`${type} bitmap window`);
    const len = r.u8(`${type} bitmap length`);
    // RFC 4034 §4.1.2: windows ascending, each 1–32 octets.
    if (window <= lastWindow) throw new ProtocolError(`${type} type bitmap: window ${window} after ${lastWindow}; windows must ascend (RFC 4034 §4.1.2)`);
    if (len < 1 || len > 32) throw new ProtocolError(`${type} type bitmap: window length ${len}; it must be 1–32 (RFC 4034 §4.1.2)`);
    if (r.offset + len > end) throw new ProtocolError(`${type} type bitmap runs past its RDATA`);
    const bits = r.bytesN(len, `${type} bitmap`);
    for (let i = 0; i < len; i++) {
      for (let bit = 0; bit < 8; bit++) if (bits[i] & (0x80 >> bit)) out.push(typeName(window * 256 + i * 8 + bit));
    }
    lastWindow = window;
  }
  return out;
}

function writeTypeBitmaps(w: ByteWriter, types: string[], field: string): void {
  const codes = [...new Set(types.map((t) => typeCode(t, field)))].sort((a, b) => a - b);
  const windows = new Map<number, Uint8Array>();
  for (const code of codes) {
    const window = code >> 8;
    const low = code & 0xff;
    const bits = windows.get(window) ?? new Uint8Array(32);
    bits[low >> 3] |= 0x80 >> (low & 7);
    windows.set(window, bits);
  }
  for (const [window, bits] of windows) {
    let len = 32;
    while (len > 0 && bits[len - 1] === 0) len--;
    w.u8(window).u8(len).bytes(bits.subarray(0, len));
  }
}

// Base32 with the extended hex alphabet, RFC 4648 §7, no padding (RFC 5155 §3.3).
const B32HEX = '0123456789ABCDEFGHIJKLMNOPQRSTUV';

export function toBase32Hex(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32HEX[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32HEX[(value << (5 - bits)) & 31];
  return out;
}

export function fromBase32Hex(text: string, field: string): Uint8Array {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.toUpperCase()) {
    const v = B32HEX.indexOf(ch);
    if (v < 0) throw InvalidInput.field(field, 'must be base32hex');
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
      value &= (1 << bits) - 1;
    }
  }
  return Uint8Array.from(out);
}

/** RFC 4034 Appendix B: the key tag of a DNSKEY RDATA. */
export function keyTag(rdata: Uint8Array): number {
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? rdata[i] : rdata[i] << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

// SVCB / HTTPS parameters, RFC 9460 §7 and §14.3.2

const SVC_KEYS: Record<number, string> = { 0: 'mandatory', 1: 'alpn', 2: 'no-default-alpn', 3: 'port', 4: 'ipv4hint', 5: 'ech', 6: 'ipv6hint', 7: 'dohpath', 8: 'ohttp' };
const SVC_KEY_CODES = new Map(Object.entries(SVC_KEYS).map(([k, v]) => [v, Number(k)]));

function svcKeyName(code: number): string {
  return SVC_KEYS[code] ?? `key${code}`;
}

function svcKeyCode(name: string, field: string): number {
  const known = SVC_KEY_CODES.get(name);
  if (known !== undefined) return known;
  const m = /^key(\d{1,5})$/.exec(name);
  if (m && Number(m[1]) <= 65535) return Number(m[1]);
  throw InvalidInput.field(field, `${JSON.stringify(name)} is not an SvcParamKey`);
}

/** One decoded SvcParam: known keys get typed values, others keep their bytes as escaped text. */
export interface SvcParam {
  key: string;
  value: string | string[] | number | null;
}

function decodeSvcParam(code: number, value: Uint8Array): SvcParam {
  const key = svcKeyName(code);
  const r = new ByteReader(value);
  const bad = (why: string) => new ProtocolError(`SVCB ${key}: ${why} (RFC 9460 §7)`);
  switch (code) {
    case 0: {
      if (value.length === 0 || value.length % 2) throw bad('length must be a positive multiple of 2');
      const keys: string[] = [];
      while (!r.done) keys.push(svcKeyName(r.u16('mandatory key')));
      return { key, value: keys };
    }
    case 1: {
      const ids: string[] = [];
      while (!r.done) {
        const id = readCharString(r, 'alpn id');
        if (id.length === 0) throw bad('empty alpn-id');
        ids.push(charStringToText(id));
      }
      if (ids.length === 0) throw bad('empty list');
      return { key, value: ids };
    }
    case 2:
      if (value.length) throw bad('must be empty');
      return { key, value: null };
    case 3:
      if (value.length !== 2) throw bad('must be 2 octets');
      return { key, value: r.u16() };
    case 4:
    case 6: {
      const size = code === 4 ? 4 : 16;
      if (value.length === 0 || value.length % size) throw bad(`length must be a positive multiple of ${size}`);
      const addrs: string[] = [];
      while (!r.done) addrs.push(formatIp({ family: size === 4 ? 4 : 6, bytes: r.bytesN(size).slice() }));
      return { key, value: addrs };
    }
    case 5:
      return { key, value: toBase64(value) };
    case 7:
      return { key, value: charStringToText(value) };
    case 8:
      if (value.length) throw bad('must be empty');
      return { key, value: null };
    default:
      return { key, value: charStringToText(value) };
  }
}

function encodeSvcParam(p: SvcParam, field: string): { code: number; bytes: Uint8Array } {
  const code = svcKeyCode(p.key, `${field}.key`);
  const w = new ByteWriter(32);
  const list = (): string[] => (Array.isArray(p.value) ? p.value : typeof p.value === 'string' ? p.value.split(',') : []);
  switch (code) {
    case 0:
      for (const k of list()) w.u16(svcKeyCode(k, `${field}.value`));
      break;
    case 1:
      for (const id of list()) writeCharString(w, textToCharString(id, `${field}.value`), `${field}.value`);
      break;
    case 2:
    case 8:
      break;
    case 3:
      w.u16(typeof p.value === 'number' ? p.value : Number(p.value));
      break;
    case 4:
    case 6:
      for (const a of list()) w.bytes(addressBytes(a, code === 4 ? 4 : 6, `${field}.value`));
      break;
    case 5:
      w.bytes(fromBase64(String(p.value ?? '')));
      break;
    default:
      w.bytes(textToCharString(String(p.value ?? ''), `${field}.value`));
  }
  return { code, bytes: w.finish() };
}

/** RFC 9460 Appendix A.1: a comma inside a value-list item is written `\\,` in a quoted value. */
function svcListItem(item: string): string {
  return item.replace(/,/g, '\\\\,');
}

function svcParamText(p: SvcParam): string {
  if (p.value === null) return p.key;
  if (p.key === 'alpn' && Array.isArray(p.value)) return `alpn="${p.value.map(svcListItem).join(',')}"`;
  if (Array.isArray(p.value)) return `${p.key}=${p.value.join(',')}`;
  if (typeof p.value === 'number') return `${p.key}=${p.value}`;
  if (p.key === 'ech') return `${p.key}=${p.value}`;
  return `${p.key}=${quoted(p.value)}`;
}

function addressBytes(text: string, family: 4 | 6, field: string): Uint8Array {
  const addr = family === 4 ? parseIpv4Strict(text) : parseIpv6(text);
  if (!addr || addr.family !== family) throw InvalidInput.field(field, `${JSON.stringify(text)} is not an IPv${family} address`);
  return addr.bytes;
}

// The table

const nameOnly = (key: string, compress: boolean): TypeCodec => ({
  decode: (src, r) => ({ [key]: rdName(src, r, key) }),
  encode: (w, names, d) => names.write(w, parseName(str(d, key), `data.${key}`), compress),
  text: (d) => String(d[key]),
});

const dsLike: TypeCodec = {
  decode: (src, r) => ({
    keyTag: r.u16(`${src.type} key tag`),
    algorithm: r.u8(`${src.type} algorithm`),
    digestType: r.u8(`${src.type} digest type`),
    digest: hexUpper(r.bytesN(src.end - r.offset, `${src.type} digest`)),
  }),
  encode: (w, _n, d) => {
    w.u16(num(d, 'keyTag', 65535)).u8(num(d, 'algorithm', 255)).u8(num(d, 'digestType', 255)).bytes(hexField(d, 'digest'));
  },
  text: (d) => `${d.keyTag} ${d.algorithm} ${d.digestType} ${d.digest}`,
};

const dnskeyLike: TypeCodec = {
  decode: (src, r) => {
    const rdata = src.message.subarray(src.start, src.end);
    const flags = r.u16(`${src.type} flags`);
    return {
      flags,
      protocol: r.u8(`${src.type} protocol`),
      algorithm: r.u8(`${src.type} algorithm`),
      publicKey: toBase64(r.bytesN(src.end - r.offset, `${src.type} public key`)),
      keyTag: keyTag(rdata),
      // RFC 4034 §2.1.1: bit 7 zone key, bit 15 secure entry point; RFC 5011 §7 bit 8 revoked.
      zoneKey: (flags & 0x0100) !== 0,
      secureEntryPoint: (flags & 0x0001) !== 0,
      revoked: (flags & 0x0080) !== 0,
    };
  },
  encode: (w, _n, d) => {
    w.u16(num(d, 'flags', 65535)).u8(num(d, 'protocol', 255)).u8(num(d, 'algorithm', 255)).bytes(base64Field(d, 'publicKey'));
  },
  text: (d) => `${d.flags} ${d.protocol} ${d.algorithm} ${d.publicKey}`,
};

const txtLike: TypeCodec = {
  decode: (src, r) => {
    const strings: string[] = [];
    while (r.offset < src.end) strings.push(charStringToText(readCharString(r, `${src.type} string`)));
    if (strings.length === 0) throw new ProtocolError(`${src.type}: RDATA holds no character-string (RFC 1035 §3.3.14)`);
    return { strings };
  },
  encode: (w, _n, d) => {
    const strings = strList(d, 'strings');
    if (strings.length === 0) throw InvalidInput.field('data.strings', 'needs at least one string');
    for (const s of strings) writeCharString(w, textToCharString(s, 'data.strings'), 'data.strings');
  },
  text: (d) => (d.strings as string[]).map(quoted).join(' '),
};

const saltText = (salt: string) => (salt === '' ? '-' : salt);

const CODECS: Record<string, TypeCodec> = {
  A: {
    decode: (src, r) => {
      if (src.end - src.start !== 4) throw new ProtocolError(`A: RDATA is ${src.end - src.start} octets, not 4 (RFC 1035 §3.4.1)`);
      return { address: formatIp({ family: 4, bytes: r.bytesN(4).slice() }) };
    },
    encode: (w, _n, d) => w.bytes(addressBytes(str(d, 'address'), 4, 'data.address')),
    text: (d) => String(d.address),
  },
  AAAA: {
    decode: (src, r) => {
      if (src.end - src.start !== 16) throw new ProtocolError(`AAAA: RDATA is ${src.end - src.start} octets, not 16 (RFC 3596 §2.2)`);
      return { address: formatIp({ family: 6, bytes: r.bytesN(16).slice() }) };
    },
    encode: (w, _n, d) => w.bytes(addressBytes(str(d, 'address'), 6, 'data.address')),
    text: (d) => String(d.address),
  },
  NS: nameOnly('host', true),
  CNAME: nameOnly('target', true),
  PTR: nameOnly('host', true),
  DNAME: nameOnly('target', false),
  SOA: {
    decode: (src, r) => ({
      mname: rdName(src, r, 'MNAME'),
      rname: rdName(src, r, 'RNAME'),
      serial: r.u32('SOA serial'),
      refresh: r.u32('SOA refresh'),
      retry: r.u32('SOA retry'),
      expire: r.u32('SOA expire'),
      minimum: r.u32('SOA minimum'),
    }),
    encode: (w, names, d) => {
      names.write(w, parseName(str(d, 'mname'), 'data.mname'));
      names.write(w, parseName(str(d, 'rname'), 'data.rname'));
      for (const k of ['serial', 'refresh', 'retry', 'expire', 'minimum']) w.u32(num(d, k, 0xffffffff));
    },
    text: (d) => `${d.mname} ${d.rname} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`,
  },
  HINFO: {
    decode: (_src, r) => ({ cpu: charStringToText(readCharString(r, 'HINFO cpu')), os: charStringToText(readCharString(r, 'HINFO os')) }),
    encode: (w, _n, d) => {
      writeCharString(w, textToCharString(str(d, 'cpu')), 'data.cpu');
      writeCharString(w, textToCharString(str(d, 'os')), 'data.os');
    },
    text: (d) => `${quoted(String(d.cpu))} ${quoted(String(d.os))}`,
  },
  MX: {
    decode: (src, r) => ({ preference: r.u16('MX preference'), exchange: rdName(src, r, 'exchange') }),
    encode: (w, names, d) => {
      w.u16(num(d, 'preference', 65535));
      names.write(w, parseName(str(d, 'exchange'), 'data.exchange'));
    },
    text: (d) => `${d.preference} ${d.exchange}`,
  },
  TXT: txtLike,
  SPF: txtLike,
  RP: {
    decode: (src, r) => ({ mbox: rdName(src, r, 'mbox'), txt: rdName(src, r, 'txt') }),
    encode: (w, names, d) => {
      names.write(w, parseName(str(d, 'mbox'), 'data.mbox'), false);
      names.write(w, parseName(str(d, 'txt'), 'data.txt'), false);
    },
    text: (d) => `${d.mbox} ${d.txt}`,
  },
  SRV: {
    decode: (src, r) => ({ priority: r.u16('SRV priority'), weight: r.u16('SRV weight'), port: r.u16('SRV port'), target: rdName(src, r, 'target') }),
    encode: (w, names, d) => {
      w.u16(num(d, 'priority', 65535)).u16(num(d, 'weight', 65535)).u16(num(d, 'port', 65535));
      // RFC 2782: the target is not compressed.
      names.write(w, parseName(str(d, 'target'), 'data.target'), false);
    },
    text: (d) => `${d.priority} ${d.weight} ${d.port} ${d.target}`,
  },
  NAPTR: {
    decode: (src, r) => ({
      order: r.u16('NAPTR order'),
      preference: r.u16('NAPTR preference'),
      flags: charStringToText(readCharString(r, 'NAPTR flags')),
      services: charStringToText(readCharString(r, 'NAPTR services')),
      regexp: charStringToText(readCharString(r, 'NAPTR regexp')),
      replacement: rdName(src, r, 'replacement'),
    }),
    encode: (w, names, d) => {
      w.u16(num(d, 'order', 65535)).u16(num(d, 'preference', 65535));
      for (const k of ['flags', 'services', 'regexp']) writeCharString(w, textToCharString(str(d, k)), `data.${k}`);
      // RFC 3403 §4.1: the replacement is not compressed.
      names.write(w, parseName(str(d, 'replacement'), 'data.replacement'), false);
    },
    text: (d) => `${d.order} ${d.preference} ${quoted(String(d.flags))} ${quoted(String(d.services))} ${quoted(String(d.regexp))} ${d.replacement}`,
  },
  DS: dsLike,
  CDS: dsLike,
  SSHFP: {
    decode: (src, r) => ({ algorithm: r.u8('SSHFP algorithm'), fingerprintType: r.u8('SSHFP type'), fingerprint: hexUpper(r.bytesN(src.end - r.offset, 'SSHFP fingerprint')) }),
    encode: (w, _n, d) => {
      w.u8(num(d, 'algorithm', 255)).u8(num(d, 'fingerprintType', 255)).bytes(hexField(d, 'fingerprint'));
    },
    text: (d) => `${d.algorithm} ${d.fingerprintType} ${d.fingerprint}`,
  },
  RRSIG: {
    decode: (src, r) => {
      const typeCovered = typeName(r.u16('RRSIG type covered'));
      const algorithm = r.u8('RRSIG algorithm');
      const labels = r.u8('RRSIG labels');
      const originalTtl = r.u32('RRSIG original TTL');
      const expiration = r.u32('RRSIG expiration');
      const inception = r.u32('RRSIG inception');
      const tag = r.u16('RRSIG key tag');
      // RFC 4034 §3.1.7: the signer's name is not compressed; we still read a pointer if a server sends one.
      const signerName = rdName(src, r, 'signer');
      return {
        typeCovered,
        algorithm,
        labels,
        originalTtl,
        expiration: rrsigTime(expiration),
        inception: rrsigTime(inception),
        keyTag: tag,
        signerName,
        signature: toBase64(r.bytesN(src.end - r.offset, 'RRSIG signature')),
      };
    },
    encode: (w, names, d) => {
      w.u16(typeCode(str(d, 'typeCovered'), 'data.typeCovered')).u8(num(d, 'algorithm', 255)).u8(num(d, 'labels', 255)).u32(num(d, 'originalTtl', 0xffffffff));
      w.u32(parseRrsigTime(d.expiration, 'data.expiration')).u32(parseRrsigTime(d.inception, 'data.inception')).u16(num(d, 'keyTag', 65535));
      names.write(w, parseName(str(d, 'signerName'), 'data.signerName'), false);
      w.bytes(base64Field(d, 'signature'));
    },
    text: (d) => `${d.typeCovered} ${d.algorithm} ${d.labels} ${d.originalTtl} ${d.expiration} ${d.inception} ${d.keyTag} ${d.signerName} ${d.signature}`,
  },
  NSEC: {
    decode: (src, r) => ({ nextDomain: rdName(src, r, 'next domain'), types: readTypeBitmaps(r, src.end, 'NSEC') }),
    encode: (w, names, d) => {
      names.write(w, parseName(str(d, 'nextDomain'), 'data.nextDomain'), false);
      writeTypeBitmaps(w, strList(d, 'types'), 'data.types');
    },
    text: (d) => [d.nextDomain, ...(d.types as string[])].join(' '),
  },
  DNSKEY: dnskeyLike,
  CDNSKEY: dnskeyLike,
  NSEC3: {
    decode: (src, r) => ({
      hashAlgorithm: r.u8('NSEC3 hash algorithm'),
      flags: r.u8('NSEC3 flags'),
      iterations: r.u16('NSEC3 iterations'),
      salt: hexUpper(r.lengthPrefixed('u8', 'NSEC3 salt', 255)),
      nextHashedOwner: toBase32Hex(r.lengthPrefixed('u8', 'NSEC3 next hashed owner', 255)),
      types: readTypeBitmaps(r, src.end, 'NSEC3'),
    }),
    encode: (w, _n, d) => {
      w.u8(num(d, 'hashAlgorithm', 255)).u8(num(d, 'flags', 255)).u16(num(d, 'iterations', 65535));
      const salt = str(d, 'salt') === '-' ? new Uint8Array(0) : hexField(d, 'salt');
      writeCharString(w, salt, 'data.salt');
      writeCharString(w, fromBase32Hex(str(d, 'nextHashedOwner'), 'data.nextHashedOwner'), 'data.nextHashedOwner');
      writeTypeBitmaps(w, strList(d, 'types'), 'data.types');
    },
    text: (d) => [d.hashAlgorithm, d.flags, d.iterations, saltText(String(d.salt)), d.nextHashedOwner, ...(d.types as string[])].join(' '),
  },
  NSEC3PARAM: {
    decode: (_src, r) => ({
      hashAlgorithm: r.u8('NSEC3PARAM hash algorithm'),
      flags: r.u8('NSEC3PARAM flags'),
      iterations: r.u16('NSEC3PARAM iterations'),
      salt: hexUpper(r.lengthPrefixed('u8', 'NSEC3PARAM salt', 255)),
    }),
    encode: (w, _n, d) => {
      w.u8(num(d, 'hashAlgorithm', 255)).u8(num(d, 'flags', 255)).u16(num(d, 'iterations', 65535));
      writeCharString(w, str(d, 'salt') === '-' ? new Uint8Array(0) : hexField(d, 'salt'), 'data.salt');
    },
    text: (d) => `${d.hashAlgorithm} ${d.flags} ${d.iterations} ${saltText(String(d.salt))}`,
  },
  TLSA: {
    decode: (src, r) => ({
      usage: r.u8('TLSA usage'),
      selector: r.u8('TLSA selector'),
      matchingType: r.u8('TLSA matching type'),
      data: hexUpper(r.bytesN(src.end - r.offset, 'TLSA data')),
    }),
    encode: (w, _n, d) => {
      w.u8(num(d, 'usage', 255)).u8(num(d, 'selector', 255)).u8(num(d, 'matchingType', 255)).bytes(hexField(d, 'data'));
    },
    text: (d) => `${d.usage} ${d.selector} ${d.matchingType} ${d.data}`,
  },
  SVCB: svcbCodec('SVCB'),
  HTTPS: svcbCodec('HTTPS'),
  CAA: {
    decode: (src, r) => {
      const flags = r.u8('CAA flags');
      const tag = r.lengthPrefixed('u8', 'CAA tag', 255);
      // RFC 8659 §4.1: the tag is 1+ ASCII letters and digits.
      if (tag.length === 0) throw new ProtocolError('CAA: empty tag (RFC 8659 §4.1)');
      return { flags, critical: (flags & 0x80) !== 0, tag: charStringToText(tag), value: charStringToText(r.bytesN(src.end - r.offset, 'CAA value')) };
    },
    encode: (w, _n, d) => {
      w.u8(num(d, 'flags', 255));
      writeCharString(w, textToCharString(str(d, 'tag')), 'data.tag');
      w.bytes(textToCharString(str(d, 'value'), 'data.value'));
    },
    text: (d) => `${d.flags} ${d.tag} ${quoted(String(d.value))}`,
  },
  URI: {
    decode: (src, r) => ({ priority: r.u16('URI priority'), weight: r.u16('URI weight'), target: charStringToText(r.bytesN(src.end - r.offset, 'URI target')) }),
    encode: (w, _n, d) => {
      w.u16(num(d, 'priority', 65535)).u16(num(d, 'weight', 65535)).bytes(textToCharString(str(d, 'target')));
    },
    text: (d) => `${d.priority} ${d.weight} ${quoted(String(d.target))}`,
  },
};

function svcbCodec(type: 'SVCB' | 'HTTPS'): TypeCodec {
  return {
    decode: (src, r) => {
      const priority = r.u16(`${type} priority`);
      const target = rdName(src, r, 'target');
      const params: SvcParam[] = [];
      let last = -1;
      while (r.offset < src.end) {
        const code = r.u16(`${type} SvcParamKey`);
        // RFC 9460 §2.2: keys strictly increasing.
        if (code <= last) throw new ProtocolError(`${type}: SvcParamKey ${code} after ${last}; keys must be in increasing order (RFC 9460 §2.2)`);
        last = code;
        const len = r.u16(`${type} SvcParamValue length`);
        if (r.offset + len > src.end) throw new ProtocolError(`${type}: SvcParamValue of ${len} octets runs past the RDATA`);
        params.push(decodeSvcParam(code, r.bytesN(len, `${type} SvcParamValue`)));
      }
      return { priority, target, params };
    },
    encode: (w, names, d) => {
      w.u16(num(d, 'priority', 65535));
      names.write(w, parseName(str(d, 'target'), 'data.target'), false);
      const params = (Array.isArray(d.params) ? d.params : []) as SvcParam[];
      const encoded = params.map((p, i) => encodeSvcParam(p, `data.params.${i}`)).sort((a, b) => a.code - b.code);
      for (const p of encoded) w.u16(p.code).u16(p.bytes.length).bytes(p.bytes);
    },
    text: (d) => [d.priority, d.target, ...(d.params as SvcParam[]).map(svcParamText)].join(' '),
  };
}

export function parseRrsigTime(v: unknown, field: string): number {
  if (typeof v === 'number') return v;
  const m = typeof v === 'string' ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(v) : null;
  if (!m) throw InvalidInput.field(field, 'must be YYYYMMDDHHmmSS or seconds since 1970');
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
}

/** Decodes one RDATA field; unknown types keep their bytes (RFC 3597). */
export function decodeRdata(src: RdataSource): RData {
  const codec = CODECS[src.type];
  if (!codec) return { hex: hexUpper(src.message.subarray(src.start, src.end)) };
  const r = new ByteReader(src.message.subarray(0, src.end), src.start);
  const data = codec.decode(src, r);
  if (r.offset !== src.end) throw new ProtocolError(`${src.type}: ${src.end - r.offset} octets left over in RDATA`);
  return data;
}

/**
 * Whether an RDATA may be empty: RFC 2136 §2.5.2 deletes an RRset with an empty RDATA, and IXFR/UPDATE
 * carry such records; our decoder reads them as `{}` instead of failing.
 */
export function emptyRdataAllowed(cls: number): boolean {
  return cls === CLASSES.ANY || cls === CLASSES.NONE;
}

export function encodeRdata(w: ByteWriter, names: NameCompressor, type: string, data: RData): void {
  const codec = CODECS[type];
  if (!codec || typeof data.hex === 'string') {
    const hex = typeof data.hex === 'string' ? data.hex : '';
    w.bytes(hexField({ hex }, 'hex'));
    return;
  }
  codec.encode(w, names, data);
}

/** The RDATA in presentation form, as BIND prints it (RFC 3597 §5 for types without a codec). */
export function rdataText(type: string, data: RData): string {
  const codec = CODECS[type];
  if (!codec || typeof data.hex === 'string') {
    const hex = typeof data.hex === 'string' ? data.hex : '';
    return `\\# ${hex.length / 2}${hex ? ' ' + hex : ''}`;
  }
  return codec.text(data);
}

export function hasCodec(type: string): boolean {
  return type in CODECS;
}
