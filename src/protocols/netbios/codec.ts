// NetBIOS over TCP/IP, RFC 1001 and RFC 1002: names (RFC 1001 §14), the session service's packets (RFC 1002 §4.3)
// and the name service's NODE STATUS (NBSTAT) and NAME QUERY packets (RFC 1002 §4.2).
//
// How it works: a NetBIOS name is 15 characters padded with spaces plus a one-byte suffix (the service type);
// first-level encoding turns each of its 16 bytes into two letters 'A'..'P' (RFC 1001 §14.1), and the
// second-level encoding writes that as a DNS-style label followed by the scope's labels (§14.2). Session packets
// are a 4-byte header (type, flags whose low bit extends the length to 17 bits, length) and a body. Name service
// packets are DNS-shaped: a 12-byte header, questions and resource records, with name compression pointers.
import { ByteReader, ByteWriter, fromLatin1, toHex } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export interface NetbiosName {
  /** Up to 15 characters; `*` alone asks for every name (NBSTAT). */
  name: string;
  suffix: number;
  /** NetBIOS scope (RFC 1001 §14.1), dotted labels; empty for none. */
  scope?: string;
}

const NAME_RE = /^[\x20-\x7e]{1,15}$/;

/** Checks a name for encoding; throws ProtocolError naming what is wrong. */
export function checkName(n: NetbiosName): void {
  if (!NAME_RE.test(n.name)) throw new ProtocolError(`NetBIOS name ${JSON.stringify(n.name)}: 1 to 15 printable ASCII characters`);
  if (!Number.isInteger(n.suffix) || n.suffix < 0 || n.suffix > 255) throw new ProtocolError(`NetBIOS suffix ${n.suffix}: a byte`);
  if (n.scope && (n.scope.length > 200 || n.scope.split('.').some((l) => l.length === 0 || l.length > 63 || !/^[\x21-\x7e]+$/.test(l)))) throw new ProtocolError(`NetBIOS scope ${JSON.stringify(n.scope)}: dotted labels of 1 to 63 characters`);
}

/** RFC 1001 §14.1 first level and §14.2 second level: the 32-letter label, then the scope's labels, then 0. */
export function encodeName(n: NetbiosName): Uint8Array {
  checkName(n);
  // `*` (the wildcard of an NBSTAT query, RFC 1002 §4.2.17) is padded with NULs, not spaces.
  const raw = new Uint8Array(16);
  const text = n.name === '*' ? '*' : n.name.toUpperCase();
  for (let i = 0; i < 15; i++) raw[i] = i < text.length ? text.charCodeAt(i) : n.name === '*' ? 0 : 0x20;
  raw[15] = n.suffix;
  const w = new ByteWriter(34 + (n.scope?.length ?? 0) + 2).u8(32);
  for (const b of raw) w.u8(0x41 + (b >> 4)).u8(0x41 + (b & 0x0f));
  for (const label of n.scope ? n.scope.split('.') : []) w.u8(label.length).text(label);
  return w.u8(0).finish();
}

/** Reads a (possibly compressed) encoded name at the reader's offset. */
export function readName(r: ByteReader, whole: Uint8Array = r.bytes): NetbiosName {
  const labels: Uint8Array[] = [];
  let at = r.offset;
  let jumped = false;
  for (let hops = 0; ; hops++) {
    if (hops > 64) throw new ProtocolError('NetBIOS name: too many labels or pointers');
    if (at >= whole.length) throw new ProtocolError('NetBIOS name: runs past the packet');
    const len = whole[at];
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= whole.length) throw new ProtocolError('NetBIOS name: truncated pointer');
      const target = ((len & 0x3f) << 8) | whole[at + 1];
      if (!jumped) r.offset = at + 2;
      jumped = true;
      if (target >= at) throw new ProtocolError('NetBIOS name: a pointer that does not point back');
      at = target;
      continue;
    }
    if (len > 63) throw new ProtocolError(`NetBIOS name: label length ${len}`);
    if (len === 0) {
      if (!jumped) r.offset = at + 1;
      break;
    }
    if (at + 1 + len > whole.length) throw new ProtocolError('NetBIOS name: label runs past the packet');
    labels.push(whole.subarray(at + 1, at + 1 + len));
    at += 1 + len;
  }
  const first = labels[0];
  if (!first || first.length !== 32) throw new ProtocolError(`NetBIOS name: first label of ${first?.length ?? 0} bytes, expected 32`);
  const raw = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const hi = first[2 * i] - 0x41;
    const lo = first[2 * i + 1] - 0x41;
    if (hi < 0 || hi > 15 || lo < 0 || lo > 15) throw new ProtocolError('NetBIOS name: a character outside A..P in the first-level encoding');
    raw[i] = (hi << 4) | lo;
  }
  return { name: nameText(raw.subarray(0, 15)), suffix: raw[15], scope: labels.slice(1).map(fromLatin1).join('.') };
}

/** The 15 name bytes without their padding (spaces or NULs). */
function nameText(b: Uint8Array): string {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--;
  return fromLatin1(b.subarray(0, end));
}

// Session service, RFC 1002 §4.3

export const SESSION = { message: 0x00, request: 0x81, positive: 0x82, negative: 0x83, retarget: 0x84, keepAlive: 0x85 } as const;

/** RFC 1002 §4.3.4 NEGATIVE SESSION RESPONSE error codes. */
export const SESSION_ERRORS: Record<number, string> = {
  0x80: 'Not listening on called name',
  0x81: 'Not listening for calling name',
  0x82: 'Called name not present',
  0x83: 'Called name present, but insufficient resources',
  0x8f: 'Unspecified error',
};

/** §4.3.2 SESSION REQUEST: the called name, then the calling name, both second-level encoded. */
export function sessionRequest(called: NetbiosName, calling: NetbiosName): Uint8Array {
  const c = encodeName(called);
  const g = encodeName(calling);
  return new ByteWriter(8 + c.length + g.length).u8(SESSION.request).u8(0).u16(c.length + g.length).bytes(c).bytes(g).finish();
}

export type SessionPacket =
  | { type: 'positive' }
  | { type: 'negative'; errorCode: number; meaning: string }
  | { type: 'retarget'; address: string; port: number }
  | { type: 'keepAlive' }
  | { type: 'message'; length: number }
  | { type: 'other'; code: number };

/** Session packets are at most 128 KiB (17-bit length, §4.3.1); answers to a request are a few bytes. */
export function sessionFrame(max = 128 * 1024): Frame<{ type: number; body: Uint8Array }> {
  return (buf) => {
    if (buf.length < 4) return undefined;
    if (buf[1] & 0xfe) throw new ProtocolError(`NetBIOS session packet: reserved flag bits 0x${(buf[1] & 0xfe).toString(16)} set`);
    const len = ((buf[1] & 1) << 16) | (buf[2] << 8) | buf[3];
    if (len > max) throw new ProtocolError(`NetBIOS session packet of ${len} bytes`);
    if (buf.length < 4 + len) return undefined;
    return { value: { type: buf[0], body: buf.slice(4, 4 + len) }, size: 4 + len };
  };
}

export function decodeSessionPacket(p: { type: number; body: Uint8Array }): SessionPacket {
  const r = new ByteReader(p.body);
  switch (p.type) {
    case SESSION.positive:
      return { type: 'positive' };
    case SESSION.negative: {
      const errorCode = r.u8('ERROR_CODE');
      return { type: 'negative', errorCode, meaning: SESSION_ERRORS[errorCode] ?? `error code 0x${errorCode.toString(16)}` };
    }
    case SESSION.retarget: {
      const ip = r.bytesN(4, 'RETARGET_IP_ADDRESS');
      return { type: 'retarget', address: [...ip].join('.'), port: r.u16('PORT') };
    }
    case SESSION.keepAlive:
      return { type: 'keepAlive' };
    case SESSION.message:
      return { type: 'message', length: p.body.length };
    default:
      return { type: 'other', code: p.type };
  }
}

export function describeSession(p: SessionPacket): string {
  switch (p.type) {
    case 'negative':
      return `NEGATIVE SESSION RESPONSE 0x${p.errorCode.toString(16)} ${p.meaning}`;
    case 'retarget':
      return `RETARGET SESSION RESPONSE ${p.address}:${p.port}`;
    case 'positive':
      return 'POSITIVE SESSION RESPONSE';
    default:
      return `session packet ${p.type}`;
  }
}

// Name service, RFC 1002 §4.2

export const QTYPE = { NB: 0x20, NBSTAT: 0x21 } as const;

/** §4.2.12 NAME QUERY REQUEST (unicast, recursion desired) or §4.2.17 NODE STATUS REQUEST. */
export function nameServiceRequest(id: number, name: NetbiosName, type: 'NB' | 'NBSTAT', broadcast = false): Uint8Array {
  // OPCODE 0 (query); NM_FLAGS: RD for a name query, B when broadcast; NBSTAT sets none.
  const flags = type === 'NB' ? 0x0100 | (broadcast ? 0x0010 : 0) : 0;
  return new ByteWriter(50).u16(id).u16(flags).u16(1).u16(0).u16(0).u16(0).bytes(encodeName(name)).u16(QTYPE[type]).u16(1).finish();
}

/** §4.2.1.1 RCODE values of name service responses. */
export const RCODES: Record<number, string> = {
  0: 'no error',
  1: 'FMT_ERR: format error',
  2: 'SRV_ERR: server failure',
  3: 'NAM_ERR: name not found',
  4: 'IMP_ERR: unsupported request',
  5: 'RFS_ERR: refused',
  6: 'ACT_ERR: active error (name owned by another node)',
  7: 'CFT_ERR: name in conflict',
};

/** Name suffixes and what they mean (the service or role a name stands for). */
export function suffixMeaning(suffix: number, group: boolean, name: string): string {
  if (name === '\x01\x02__MSBROWSE__\x02' || (suffix === 0x01 && name.includes('__MSBROWSE__'))) return 'Master Browser (the subnet\'s browse master)';
  switch (suffix) {
    case 0x00:
      return group ? 'Domain or workgroup name' : 'Workstation service';
    case 0x03:
      return 'Messenger service';
    case 0x06:
      return 'RAS server';
    case 0x1b:
      return 'Domain master browser';
    case 0x1c:
      return 'Domain controllers';
    case 0x1d:
      return 'Master browser';
    case 0x1e:
      return 'Browser service elections';
    case 0x1f:
      return 'NetDDE';
    case 0x20:
      return 'File server service';
    case 0x21:
      return 'RAS client';
    default:
      return '';
  }
}

export interface NodeName {
  name: string;
  suffix: number;
  group: boolean;
  /** Owner node type: B, P, M or H (RFC 1002 §4.2.18 ONT, and H as Windows uses the fourth value). */
  nodeType: 'B' | 'P' | 'M' | 'H';
  active: boolean;
  permanent: boolean;
  conflict: boolean;
  deregistering: boolean;
  meaning: string;
}

export type NameServiceResponse =
  | { id: number; kind: 'NBSTAT'; rcode: number; name: NetbiosName; names: NodeName[]; unitId: string | null; statistics: Uint8Array }
  | { id: number; kind: 'NB'; rcode: number; name: NetbiosName; addresses: { address: string; group: boolean; nodeType: 'B' | 'P' | 'M' | 'H' }[]; ttl: number }
  | { id: number; kind: 'empty'; rcode: number; opcode: number };

const NODE_TYPES = ['B', 'P', 'M', 'H'] as const;

export function decodeNameServiceResponse(b: Uint8Array): NameServiceResponse {
  const r = new ByteReader(b);
  const id = r.u16('NAME_TRN_ID');
  const flags = r.u16('flags');
  if (!(flags & 0x8000)) throw new ProtocolError('NetBIOS name service: a request where a response was expected');
  const opcode = (flags >> 11) & 0x0f;
  const rcode = flags & 0x0f;
  const qd = r.u16('QDCOUNT');
  const an = r.u16('ANCOUNT');
  r.u16('NSCOUNT');
  r.u16('ARCOUNT');
  if (qd > 4 || an > 4) throw new ProtocolError(`NetBIOS name service: ${qd} questions and ${an} answers`);
  for (let i = 0; i < qd; i++) {
    readName(r, b);
    r.skip(4, 'question type and class');
  }
  if (an === 0) return { id, kind: 'empty', rcode, opcode };
  const name = readName(r, b);
  const type = r.u16('RR_TYPE');
  r.u16('RR_CLASS');
  const ttl = r.u32('TTL');
  const rdata = new ByteReader(r.lengthPrefixed('u16', 'RDATA', 65535));
  if (type === QTYPE.NBSTAT) {
    const count = rdata.u8('NUM_NAMES');
    const names: NodeName[] = [];
    for (let i = 0; i < count; i++) {
      const raw = rdata.bytesN(16, 'NODE_NAME');
      const f = rdata.u16('NAME_FLAGS');
      const text = nameText(raw.subarray(0, 15));
      const group = (f & 0x8000) !== 0;
      names.push({ name: text, suffix: raw[15], group, nodeType: NODE_TYPES[(f >> 13) & 3], deregistering: (f & 0x1000) !== 0, conflict: (f & 0x0800) !== 0, active: (f & 0x0400) !== 0, permanent: (f & 0x0200) !== 0, meaning: suffixMeaning(raw[15], group, text) });
    }
    const statistics = rdata.rest();
    const unitId = statistics.length >= 6 ? toHex(statistics.subarray(0, 6), ':') : null;
    return { id, kind: 'NBSTAT', rcode, name, names, unitId, statistics: statistics.slice() };
  }
  if (type === QTYPE.NB) {
    const addresses: { address: string; group: boolean; nodeType: 'B' | 'P' | 'M' | 'H' }[] = [];
    while (rdata.remaining >= 6 && addresses.length < 256) {
      const f = rdata.u16('NB_FLAGS');
      addresses.push({ group: (f & 0x8000) !== 0, nodeType: NODE_TYPES[(f >> 13) & 3], address: [...rdata.bytesN(4, 'NB_ADDRESS')].join('.') });
    }
    return { id, kind: 'NB', rcode, name, addresses, ttl };
  }
  throw new ProtocolError(`NetBIOS name service: resource record type 0x${type.toString(16)}`);
}

export function displayName(n: { name: string; suffix: number }): string {
  return `${n.name}<${n.suffix.toString(16).padStart(2, '0')}>`;
}
