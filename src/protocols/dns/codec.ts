// DNS messages, RFC 1035 §4.1 (header, question, resource records), RFC 6891 (EDNS0 and its OPT record),
// RFC 7766 §8 (two-octet length prefix over TCP), RFC 1035 §4.2.1 (TC: truncated over UDP).
//
// How it works: `decodeMessage` reads a whole message from bytes — header, then each section's records,
// with names decompressed against the whole message — and lifts the OPT pseudo-record out of the additional
// section into `edns`. Counts in the header are checked against the bytes that remain (every record needs
// at least 11), so a forged count cannot make us loop. `encodeMessage` is the inverse and compresses names
// (only in the record types RFC 3597 §4 allows). `tcpMessageFrame` is the sans-I/O frame for TCP, DoT and
// zone transfers. EDNS options we understand (client subnet, cookie, padding, NSID, extended errors,
// keepalive) are decoded; others keep their bytes.
import { ByteReader, ByteWriter, fromHex, fromUtf8, toHex } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { formatIp, parseIpv4Strict, parseIpv6 } from '../../core/ip.ts';
import { labelsToText, NameCompressor, parseName, readName } from './names.ts';
import { CLASSES, className, classCode, decodeRdata, emptyRdataAllowed, encodeRdata, rdataText, typeCode, typeName, TYPES, type RData } from './rdata.ts';

/** RFC 1035 §4.2.2 / RFC 7766 §8: a message over a stream is at most 65535 octets. */
export const MAX_MESSAGE = 65535;
/** RFC 1035 §4.1: header size. */
export const HEADER_SIZE = 12;
/** Smallest resource record: a root name, type, class, TTL, RDLENGTH. */
const MIN_RECORD = 11;
/** Smallest question: a root name, type, class. */
const MIN_QUESTION = 5;
/** RFC 8914 and friends give an OPT at most this many options here; more is a malformed or hostile answer. */
const MAX_EDNS_OPTIONS = 64;

export const OPCODES: Record<string, number> = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5, DSO: 6 };
const OPCODE_NAMES = new Map(Object.entries(OPCODES).map(([k, v]) => [v, k]));

/** RFC 1035 §4.1.1, RFC 2136 §2.2, RFC 6891 §9, RFC 8945, RFC 7873 §8: response codes (12 bits with EDNS). */
export const RCODES: Record<string, number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  DSOTYPENI: 11,
  BADVERS: 16,
  BADKEY: 17,
  BADTIME: 18,
  BADMODE: 19,
  BADNAME: 20,
  BADALG: 21,
  BADTRUNC: 22,
  BADCOOKIE: 23,
};
const RCODE_NAMES = new Map(Object.entries(RCODES).map(([k, v]) => [v, k]));

export function opcodeName(code: number): string {
  return OPCODE_NAMES.get(code) ?? `OPCODE${code}`;
}

export function rcodeName(code: number): string {
  return RCODE_NAMES.get(code) ?? `RCODE${code}`;
}

export interface Flags {
  /** Authoritative answer. */
  aa: boolean;
  /** Truncated (RFC 1035 §4.1.1): retry over TCP. */
  tc: boolean;
  /** Recursion desired. */
  rd: boolean;
  /** Recursion available. */
  ra: boolean;
  /** The reserved Z bit. */
  z: boolean;
  /** Authentic data (RFC 4035 §3.2.3). */
  ad: boolean;
  /** Checking disabled (RFC 4035 §3.2.2). */
  cd: boolean;
}

export interface Question {
  name: string;
  type: string;
  class: string;
  /** mDNS (RFC 6762 §5.4): the QU bit, the top bit of the class. */
  unicastResponse?: boolean;
}

export interface DnsRecord {
  name: string;
  type: string;
  class: string;
  ttl: number;
  data: RData;
  /** mDNS (RFC 6762 §10.2): the cache-flush bit, the top bit of the class. */
  cacheFlush?: boolean;
}

export interface EdnsOption {
  code: number;
  name: string;
  /** Decoded fields for options we know; `hex` always holds the raw bytes. */
  data: Record<string, unknown>;
  hex: string;
}

export interface Edns {
  /** Requestor's UDP payload size (RFC 6891 §6.2.3). */
  udpSize: number;
  version: number;
  /** DNSSEC OK (RFC 3225). */
  do: boolean;
  /** The 15 other flag bits. */
  z: number;
  options: EdnsOption[];
}

export interface DnsMessage {
  id: number;
  /** Response (true) or query. */
  qr: boolean;
  opcode: string;
  flags: Flags;
  /** The full response code: header RCODE plus the OPT record's upper 8 bits. */
  rcode: string;
  questions: Question[];
  answers: DnsRecord[];
  authority: DnsRecord[];
  additional: DnsRecord[];
  edns?: Edns;
  /** Set when a truncated (TC) message ended in the middle of a section; the sections hold what was whole. */
  partial?: boolean;
}

export interface DecodeOptions {
  /** mDNS: the top bit of question and record classes is a flag, not part of the class (RFC 6762 §18.12–13). */
  mdns?: boolean;
}

// EDNS options, RFC 6891 §6.1.2 and the registry

export const EDNS_OPTIONS: Record<number, string> = {
  3: 'NSID',
  8: 'CLIENT-SUBNET',
  9: 'EXPIRE',
  10: 'COOKIE',
  11: 'TCP-KEEPALIVE',
  12: 'PADDING',
  15: 'EDE',
};

/** RFC 8914 §5.2: extended DNS error codes. */
const EDE_CODES: Record<number, string> = {
  0: 'Other Error',
  1: 'Unsupported DNSKEY Algorithm',
  2: 'Unsupported DS Digest Type',
  3: 'Stale Answer',
  4: 'Forged Answer',
  5: 'DNSSEC Indeterminate',
  6: 'DNSSEC Bogus',
  7: 'Signature Expired',
  8: 'Signature Not Yet Valid',
  9: 'DNSKEY Missing',
  10: 'RRSIGs Missing',
  11: 'No Zone Key Bit Set',
  12: 'NSEC Missing',
  13: 'Cached Error',
  14: 'Not Ready',
  15: 'Blocked',
  16: 'Censored',
  17: 'Filtered',
  18: 'Prohibited',
  19: 'Stale NXDomain Answer',
  20: 'Not Authoritative',
  21: 'Not Supported',
  22: 'No Reachable Authority',
  23: 'Network Error',
  24: 'Invalid Data',
  25: 'Signature Expired before Valid',
  26: 'Too Early',
  27: 'Unsupported NSEC3 Iterations Value',
  28: 'Unable to conform to policy',
  29: 'Synthesized',
};

function printable(bytes: Uint8Array): string | null {
  for (const b of bytes) if (b < 0x20 || b > 0x7e) return null;
  return String.fromCharCode(...bytes);
}

function decodeOption(code: number, value: Uint8Array): EdnsOption {
  const name = EDNS_OPTIONS[code] ?? `OPT${code}`;
  const hex = toHex(value).toUpperCase();
  const r = new ByteReader(value);
  const data: Record<string, unknown> = {};
  const bad = (why: string) => new ProtocolError(`EDNS ${name} option: ${why}`);
  switch (code) {
    case 3: // RFC 5001 §2.3: opaque, often text.
      data.text = printable(value);
      break;
    case 8: {
      // RFC 7871 §6: FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, ADDRESS (only the prefix's octets).
      const family = r.u16('ECS family');
      const source = r.u8('ECS source prefix');
      const scope = r.u8('ECS scope prefix');
      const size = family === 1 ? 4 : family === 2 ? 16 : 0;
      if (size === 0) throw bad(`family ${family} is neither 1 (IPv4) nor 2 (IPv6)`);
      if (source > size * 8 || scope > size * 8) throw bad('prefix longer than the address');
      const addr = r.rest();
      if (addr.length !== Math.ceil(source / 8)) throw bad(`address is ${addr.length} octets; a /${source} prefix needs ${Math.ceil(source / 8)} (RFC 7871 §6)`);
      const full = new Uint8Array(size);
      full.set(addr);
      data.family = family === 1 ? 4 : 6;
      data.subnet = `${formatIp({ family: family === 1 ? 4 : 6, bytes: full })}/${source}`;
      data.scopePrefix = scope;
      break;
    }
    case 10: // RFC 7873 §4: client cookie 8 octets, server cookie 8–32.
      if (value.length !== 8 && (value.length < 16 || value.length > 40)) throw bad(`length ${value.length}; a cookie is 8 octets, or 16–40 with the server part (RFC 7873 §4)`);
      data.client = toHex(value.subarray(0, 8));
      data.server = value.length > 8 ? toHex(value.subarray(8)) : null;
      break;
    case 11: // RFC 7828 §3.1: empty in queries, a 2-octet timeout (100 ms units) in responses.
      if (value.length !== 0 && value.length !== 2) throw bad(`length ${value.length}; it is 0 or 2 (RFC 7828 §3.1)`);
      data.timeoutMs = value.length === 2 ? r.u16() * 100 : null;
      break;
    case 12: // RFC 7830 §3: padding octets, ought to be zero.
      data.length = value.length;
      break;
    case 15: {
      // RFC 8914 §2: INFO-CODE and optional UTF-8 EXTRA-TEXT.
      const info = r.u16('EDE info code');
      data.infoCode = info;
      data.purpose = EDE_CODES[info] ?? 'Unassigned';
      data.extraText = fromUtf8(r.rest());
      break;
    }
    case 9: // RFC 7314: EXPIRE, empty in a query, 4 octets in an answer.
      if (value.length !== 0 && value.length !== 4) throw bad(`length ${value.length}; it is 0 or 4 (RFC 7314 §2)`);
      data.seconds = value.length === 4 ? r.u32() : null;
      break;
    default:
      break;
  }
  return { code, name, data, hex };
}

/** What a query may ask for in its OPT record. */
export interface EdnsRequest {
  udpSize?: number;
  do?: boolean;
  /** Ask for the server's NSID (RFC 5001). */
  nsid?: boolean;
  /** 8 client-cookie octets as hex (RFC 7873 §4). */
  cookie?: string;
  /** A client subnet such as `192.0.2.0/24` (RFC 7871). */
  clientSubnet?: string;
  /** Pad the whole message to a multiple of this many octets (RFC 7830, block size per RFC 8467 §4.1: 128). */
  padBlock?: number;
  /** Ask the server to keep the TCP connection open (RFC 7828). */
  keepalive?: boolean;
  /** Options given as code and hex value, sent as they are. */
  raw?: { code: number; hex: string }[];
}

function encodeClientSubnet(text: string): Uint8Array {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  const addr = m ? (m[1].includes(':') ? parseIpv6(m[1]) : parseIpv4Strict(m[1])) : null;
  if (!m || !addr) throw InvalidInput.field('clientSubnet', `${JSON.stringify(text)} is not an address or prefix such as 192.0.2.0/24`);
  const max = addr.family === 4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max) throw InvalidInput.field('clientSubnet', `prefix /${prefix} is longer than ${max}`);
  const octets = Math.ceil(prefix / 8);
  const bytes = addr.bytes.slice(0, octets);
  // RFC 7871 §6: bits beyond the prefix must be zero.
  if (prefix % 8 && octets > 0) bytes[octets - 1] &= (0xff << (8 - (prefix % 8))) & 0xff;
  const w = new ByteWriter(4 + octets);
  w.u16(addr.family === 4 ? 1 : 2).u8(prefix).u8(0).bytes(bytes);
  return w.finish();
}

// Messages

export interface MessageInput {
  id: number;
  qr?: boolean;
  opcode?: string;
  flags?: Partial<Flags>;
  rcode?: string;
  questions?: Question[];
  answers?: DnsRecord[];
  authority?: DnsRecord[];
  additional?: DnsRecord[];
  /** Adds an OPT record; `undefined` sends none (plain RFC 1035). */
  edns?: EdnsRequest & { options?: EdnsOption[]; version?: number };
}

function codeOf(map: Record<string, number>, text: string | undefined, fallback: number, field: string, prefix: string): number {
  if (text === undefined) return fallback;
  const upper = text.toUpperCase();
  if (upper in map) return map[upper];
  const m = new RegExp(`^${prefix}(\\d+)$`).exec(upper);
  if (m) return Number(m[1]);
  throw InvalidInput.field(field, `${JSON.stringify(text)} is not known`);
}

function writeRecord(w: ByteWriter, names: NameCompressor, rr: DnsRecord, field: string, mdns: boolean): void {
  names.write(w, parseName(rr.name, `${field}.name`));
  const type = typeName(typeCode(rr.type, `${field}.type`));
  w.u16(TYPES[type] ?? typeCode(type));
  const cls = classCode(rr.class, `${field}.class`);
  w.u16(mdns && rr.cacheFlush ? cls | 0x8000 : cls);
  w.u32(rr.ttl >>> 0);
  const patch = w.lengthAt('u16');
  if (!(emptyRdataAllowed(cls) && Object.keys(rr.data).length === 0)) encodeRdata(w, names, type, rr.data);
  patch();
}

/** Builds the wire form of a message. Names are compressed (RFC 1035 §4.1.4). */
export function encodeMessage(msg: MessageInput, opts: { mdns?: boolean } = {}): Uint8Array {
  const w = new ByteWriter(512);
  const names = new NameCompressor(0);
  const f = msg.flags ?? {};
  const opcode = codeOf(OPCODES, msg.opcode, 0, 'opcode', 'OPCODE');
  const rcode = codeOf(RCODES, msg.rcode, 0, 'rcode', 'RCODE');
  const questions = msg.questions ?? [];
  const answers = msg.answers ?? [];
  const authority = msg.authority ?? [];
  const additional = msg.additional ?? [];
  const extra = msg.edns ? 1 : 0;
  w.u16(msg.id & 0xffff);
  w.u8((msg.qr ? 0x80 : 0) | ((opcode & 0xf) << 3) | (f.aa ? 4 : 0) | (f.tc ? 2 : 0) | (f.rd ? 1 : 0));
  w.u8((f.ra ? 0x80 : 0) | (f.z ? 0x40 : 0) | (f.ad ? 0x20 : 0) | (f.cd ? 0x10 : 0) | (rcode & 0xf));
  w.u16(questions.length).u16(answers.length).u16(authority.length).u16(additional.length + extra);
  questions.forEach((q, i) => {
    names.write(w, parseName(q.name, `questions.${i}.name`));
    w.u16(typeCode(q.type, `questions.${i}.type`));
    const cls = classCode(q.class, `questions.${i}.class`);
    w.u16(opts.mdns && q.unicastResponse ? cls | 0x8000 : cls);
  });
  answers.forEach((rr, i) => writeRecord(w, names, rr, `answers.${i}`, !!opts.mdns));
  authority.forEach((rr, i) => writeRecord(w, names, rr, `authority.${i}`, !!opts.mdns));
  additional.forEach((rr, i) => writeRecord(w, names, rr, `additional.${i}`, !!opts.mdns));
  if (msg.edns) writeOpt(w, msg.edns, rcode);
  const out = w.finish();
  if (out.length > MAX_MESSAGE) throw InvalidInput.field('message', `encodes to ${out.length} octets; a DNS message holds at most ${MAX_MESSAGE}`);
  return out;
}

/** RFC 6891 §6.1.2–6.1.3: the OPT pseudo-record, owner root, CLASS = UDP size, TTL = ext-rcode|version|DO|Z. */
function writeOpt(w: ByteWriter, e: NonNullable<MessageInput['edns']>, rcode: number): void {
  const udpSize = e.udpSize ?? 1232;
  if (!Number.isInteger(udpSize) || udpSize < 512 || udpSize > 65535) throw InvalidInput.field('bufferSize', 'must be 512–65535 (RFC 6891 §6.2.5)');
  w.u8(0).u16(TYPES.OPT).u16(udpSize);
  w.u8((rcode >> 4) & 0xff).u8(e.version ?? 0).u16(e.do ? 0x8000 : 0);
  const patch = w.lengthAt('u16');
  if (e.nsid) w.u16(3).u16(0);
  if (e.clientSubnet) {
    const v = encodeClientSubnet(e.clientSubnet);
    w.u16(8).u16(v.length).bytes(v);
  }
  if (e.cookie !== undefined) {
    const v = /^[0-9a-f]*$/i.test(e.cookie) ? fromHex(e.cookie) : new Uint8Array(0);
    if (v.length !== 8 && (v.length < 16 || v.length > 40)) throw InvalidInput.field('cookie', 'must be 8 octets (16 hex digits) of client cookie, or 16–40 octets with the server cookie');
    w.u16(10).u16(v.length).bytes(v);
  }
  if (e.keepalive) w.u16(11).u16(0);
  for (const o of e.raw ?? []) {
    const v = fromHex(o.hex);
    w.u16(o.code).u16(v.length).bytes(v);
  }
  for (const o of e.options ?? []) {
    const v = fromHex(o.hex);
    w.u16(o.code).u16(v.length).bytes(v);
  }
  if (e.padBlock) {
    // RFC 7830 §3 / RFC 8467 §4.1: pad the whole message (option header included) to a multiple of the block.
    const sizeSoFar = w.length + 4;
    const pad = (e.padBlock - (sizeSoFar % e.padBlock)) % e.padBlock;
    w.u16(12).u16(pad).bytes(new Uint8Array(pad));
  }
  patch();
}

interface Cursor {
  at: number;
}

function readQuestion(bytes: Uint8Array, c: Cursor, i: number, mdns: boolean): Question {
  const { labels, end } = readName(bytes, c.at, bytes.length, `question ${i} name`);
  const r = new ByteReader(bytes, end);
  const type = r.u16(`question ${i} type`);
  const rawClass = r.u16(`question ${i} class`);
  c.at = r.offset;
  const q: Question = { name: labelsToText(labels), type: typeName(type), class: className(mdns ? rawClass & 0x7fff : rawClass) };
  if (mdns) q.unicastResponse = (rawClass & 0x8000) !== 0;
  return q;
}

interface RawRecord {
  record: DnsRecord;
  /** For OPT: the raw CLASS and TTL fields. */
  rawClass: number;
  rawTtl: number;
  rdataStart: number;
  rdataEnd: number;
}

function readRecord(bytes: Uint8Array, c: Cursor, section: string, i: number, mdns: boolean): RawRecord {
  const field = `${section} record ${i}`;
  const { labels, end } = readName(bytes, c.at, bytes.length, `${field} name`);
  const r = new ByteReader(bytes, end);
  const typeNum = r.u16(`${field} type`);
  const rawClass = r.u16(`${field} class`);
  const rawTtl = r.u32(`${field} TTL`);
  const rdlength = r.u16(`${field} RDLENGTH`);
  const start = r.offset;
  if (start + rdlength > bytes.length) throw new ProtocolError(`${field}: RDLENGTH ${rdlength} runs past the end of the message`);
  c.at = start + rdlength;
  const type = typeName(typeNum);
  const cls = mdns ? rawClass & 0x7fff : rawClass;
  let data: RData;
  if (type === 'OPT') data = {};
  // RFC 2136 §2.5.2: class ANY or NONE with empty RDATA deletes an RRset (UPDATE, and what an IXFR may echo).
  else if (rdlength === 0 && emptyRdataAllowed(cls)) data = {};
  else data = decodeRdata({ message: bytes, start, end: start + rdlength, type });
  // RFC 2181 §8: a TTL with the top bit set is treated as zero.
  const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl;
  const record: DnsRecord = { name: labelsToText(labels), type, class: className(cls), ttl, data };
  if (mdns) record.cacheFlush = (rawClass & 0x8000) !== 0;
  return { record, rawClass, rawTtl, rdataStart: start, rdataEnd: start + rdlength };
}

function readOptions(bytes: Uint8Array, start: number, end: number): EdnsOption[] {
  const r = new ByteReader(bytes.subarray(0, end), start);
  const out: EdnsOption[] = [];
  while (!r.done) {
    if (out.length >= MAX_EDNS_OPTIONS) throw new ProtocolError(`OPT record holds more than ${MAX_EDNS_OPTIONS} options`);
    const code = r.u16('EDNS option code');
    const len = r.u16('EDNS option length');
    if (r.remaining < len) throw new ProtocolError(`EDNS option ${code}: length ${len} runs past the OPT RDATA (RFC 6891 §6.1.2)`);
    out.push(decodeOption(code, r.bytesN(len).slice()));
  }
  return out;
}

/** Decodes one whole DNS message. Throws ProtocolError naming the field for anything malformed. */
export function decodeMessage(bytes: Uint8Array, opts: DecodeOptions = {}): DnsMessage {
  if (bytes.length < HEADER_SIZE) throw new ProtocolError(`DNS message is ${bytes.length} octets; the header alone is ${HEADER_SIZE} (RFC 1035 §4.1.1)`);
  if (bytes.length > MAX_MESSAGE) throw new ProtocolError(`DNS message is ${bytes.length} octets; at most ${MAX_MESSAGE}`);
  const mdns = !!opts.mdns;
  const h = new ByteReader(bytes);
  const id = h.u16();
  const b2 = h.u8();
  const b3 = h.u8();
  const counts = [h.u16(), h.u16(), h.u16(), h.u16()];
  const flags: Flags = { aa: !!(b2 & 4), tc: !!(b2 & 2), rd: !!(b2 & 1), ra: !!(b3 & 0x80), z: !!(b3 & 0x40), ad: !!(b3 & 0x20), cd: !!(b3 & 0x10) };
  const available = bytes.length - HEADER_SIZE;
  const minimum = counts[0] * MIN_QUESTION + (counts[1] + counts[2] + counts[3]) * MIN_RECORD;
  if (minimum > available && !flags.tc) {
    throw new ProtocolError(`header counts ${counts.join('/')} need at least ${minimum} octets; the message has ${available} after the header`);
  }
  const msg: DnsMessage = {
    id,
    qr: !!(b2 & 0x80),
    opcode: opcodeName((b2 >> 3) & 0xf),
    flags,
    rcode: rcodeName(b3 & 0xf),
    questions: [],
    answers: [],
    authority: [],
    additional: [],
  };
  const c: Cursor = { at: HEADER_SIZE };
  let opt: RawRecord | undefined;
  try {
    for (let i = 0; i < counts[0]; i++) msg.questions.push(readQuestion(bytes, c, i, mdns));
    const sections: [DnsRecord[], string][] = [
      [msg.answers, 'answer'],
      [msg.authority, 'authority'],
      [msg.additional, 'additional'],
    ];
    sections.forEach(([list, name], s) => {
      for (let i = 0; i < counts[s + 1]; i++) {
        const raw = readRecord(bytes, c, name, i, mdns);
        if (raw.record.type === 'OPT') {
          // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root.
          if (name !== 'additional') throw new ProtocolError(`OPT record in the ${name} section (RFC 6891 §6.1.1)`);
          if (opt) throw new ProtocolError('more than one OPT record (RFC 6891 §6.1.1)');
          if (raw.record.name !== '.') throw new ProtocolError(`OPT record owned by ${raw.record.name}, not the root (RFC 6891 §6.1.2)`);
          opt = raw;
          continue;
        }
        list.push(raw.record);
      }
    });
  } catch (e) {
    // RFC 1035 §4.2.1: a truncated answer may stop mid-record; keep what was whole.
    if (flags.tc && e instanceof ProtocolError) {
      msg.partial = true;
      return msg;
    }
    throw e;
  }
  if (c.at !== bytes.length) throw new ProtocolError(`${bytes.length - c.at} octets after the last record`);
  if (opt) {
    msg.edns = {
      udpSize: opt.rawClass,
      version: (opt.rawTtl >>> 16) & 0xff,
      do: (opt.rawTtl & 0x8000) !== 0,
      z: opt.rawTtl & 0x7fff,
      options: readOptions(bytes, opt.rdataStart, opt.rdataEnd),
    };
    msg.rcode = rcodeName(((opt.rawTtl >>> 24) << 4) | (b3 & 0xf));
  }
  return msg;
}

/** The TCP framing of RFC 7766 §8: a two-octet length, then the message. */
export function frameTcp(message: Uint8Array): Uint8Array {
  const w = new ByteWriter(message.length + 2);
  w.u16(message.length).bytes(message);
  return w.finish();
}

/** Sans-I/O frame for DNS over TCP and DoT: one length-prefixed message, decoded. */
export const tcpMessageFrame: Frame<{ message: DnsMessage; size: number }> = (buf) => {
  if (buf.length < 2) return undefined;
  const n = (buf[0] << 8) | buf[1];
  if (n < HEADER_SIZE) throw new ProtocolError(`TCP length prefix ${n} is shorter than a DNS header`);
  if (buf.length < 2 + n) return undefined;
  return { value: { message: decodeMessage(buf.subarray(2, 2 + n)), size: n }, size: 2 + n };
};

/** One line for the transcript: `id 1234 response NOERROR qr aa rd: 2 answers (A, RRSIG)`. */
export function describeMessage(m: DnsMessage): string {
  const flags = (Object.keys(m.flags) as (keyof Flags)[]).filter((k) => m.flags[k]).join(' ');
  const q = m.questions.map((x) => `${x.name} ${x.class} ${x.type}`).join(', ');
  if (!m.qr) return `query id ${m.id} ${m.opcode} ${q}${flags ? ` [${flags}]` : ''}${m.edns ? ` EDNS udp=${m.edns.udpSize}${m.edns.do ? ' do' : ''}` : ''}`;
  const types = [...new Set(m.answers.map((a) => a.type))].join(', ');
  return `response id ${m.id} ${m.rcode} [${flags}] ${q}: ${m.answers.length} answer${m.answers.length === 1 ? '' : 's'}${types ? ` (${types})` : ''}, ${m.authority.length} authority, ${m.additional.length} additional`;
}

/** A record in zone-file form: `name TTL CLASS TYPE rdata`. */
export function recordText(rr: DnsRecord): string {
  return `${rr.name}\t${rr.ttl}\t${rr.class}\t${rr.type}\t${rdataText(rr.type, rr.data)}`;
}

/** A query message with one question. */
export interface QueryOptions {
  id: number;
  name: string;
  type: string;
  class?: string;
  rd?: boolean;
  cd?: boolean;
  ad?: boolean;
  opcode?: string;
  /** undefined: no OPT record. */
  edns?: EdnsRequest;
  /** Records for the authority section (IXFR carries the client's SOA there, RFC 1995 §3). */
  authority?: DnsRecord[];
}

export function buildQuery(q: QueryOptions): Uint8Array {
  return encodeMessage({
    id: q.id,
    opcode: q.opcode ?? 'QUERY',
    flags: { rd: q.rd ?? false, cd: q.cd ?? false, ad: q.ad ?? false },
    questions: [{ name: q.name, type: q.type, class: q.class ?? 'IN' }],
    authority: q.authority,
    edns: q.edns,
  });
}

export { CLASSES, TYPES, typeCode, typeName, className, classCode };
