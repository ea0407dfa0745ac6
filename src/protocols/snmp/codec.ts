// SNMP v1/v2c messages: RFC 1157 §4 (v1 Message), RFC 1901 §3 (community-based v2c), RFC 3416 §3 (PDUs) and
// RFC 2578 §7.1 (SMIv2 application types), encoded with BER as RFC 3417 §8 restricts it.
import {
  BerReader,
  decodeInteger,
  decodeOid,
  decodeTlv,
  decodeUnsigned,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  UniversalTag,
  type Tlv,
} from '../../core/ber.ts';
import { fromUtf8, toHex } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

/** RFC 1157 §4 version 0 (v1); RFC 1901 §3 version 1 (v2c). */
export const VERSIONS = { v1: 0, v2c: 1 } as const;
export type Version = keyof typeof VERSIONS;

/** RFC 3416 §3: context-specific constructed tags of the PDUs. */
export const PduTag = {
  GetRequest: 0,
  GetNextRequest: 1,
  Response: 2,
  SetRequest: 3,
  Trap: 4,
  GetBulkRequest: 5,
  InformRequest: 6,
  SNMPv2Trap: 7,
  Report: 8,
} as const;
export type PduType = keyof typeof PduTag;
const PDU_NAMES = Object.fromEntries(Object.entries(PduTag).map(([k, v]) => [v, k])) as Record<number, PduType>;

/** RFC 3416 §3 error-status values (0–5 also in RFC 1157 §4.1.1). */
export const ERROR_STATUS = [
  'noError',
  'tooBig',
  'noSuchName',
  'badValue',
  'readOnly',
  'genErr',
  'noAccess',
  'wrongType',
  'wrongLength',
  'wrongEncoding',
  'wrongValue',
  'noCreation',
  'inconsistentValue',
  'resourceUnavailable',
  'commitFailed',
  'undoFailed',
  'authorizationError',
  'notWritable',
  'inconsistentName',
] as const;

/** RFC 2578 §7.1 application tags. */
const APP = { IpAddress: 0, Counter32: 1, Gauge32: 2, TimeTicks: 3, Opaque: 4, Counter64: 6 } as const;
/** RFC 3416 §3: exceptions in a varbind's value position. */
const EXCEPTIONS = ['noSuchObject', 'noSuchInstance', 'endOfMibView'] as const;

export type ValueType =
  | 'INTEGER'
  | 'OCTET STRING'
  | 'OBJECT IDENTIFIER'
  | 'NULL'
  | 'IpAddress'
  | 'Counter32'
  | 'Gauge32'
  | 'TimeTicks'
  | 'Opaque'
  | 'Counter64'
  | (typeof EXCEPTIONS)[number];

export interface VarBind {
  oid: string;
  type: ValueType;
  /** Numbers as numbers (Counter64 beyond 2^53 as a decimal string), text, dotted OIDs; null for NULL and exceptions. */
  value: string | number | null;
  /** OCTET STRING and Opaque: the raw bytes. */
  hex?: string;
  /** TimeTicks as days, hours, minutes, seconds. */
  text?: string;
}

export interface Pdu {
  type: PduType;
  requestId: number;
  /** GetBulkRequest carries non-repeaters and max-repetitions in these two positions (RFC 3416 §3). */
  errorStatus: number;
  errorIndex: number;
  varbinds: VarBind[];
}

export interface Message {
  version: Version;
  community: Uint8Array;
  pdu: Pdu;
}

export const MAX_VARBINDS = 2048;

// Encoding

/** A request PDU's varbinds: each name with the NULL value (RFC 3416 §4.2.1). */
export function encodeRequest(version: Version, community: Uint8Array, type: PduType, requestId: number, oids: readonly string[], bulk?: { nonRepeaters: number; maxRepetitions: number }): Uint8Array {
  const binds = sequence(oids.map((o) => sequence([oid(o), nullValue()])));
  const a = bulk ? bulk.nonRepeaters : 0;
  const b = bulk ? bulk.maxRepetitions : 0;
  const pdu = sequence([integer(requestId), integer(a), integer(b), binds], PduTag[type], 'context');
  return sequence([integer(VERSIONS[version]), octetString(community), pdu]);
}

// Decoding

function timeTicksText(ticks: number): string {
  const cs = ticks % 100;
  let s = Math.floor(ticks / 100);
  const days = Math.floor(s / 86400);
  s %= 86400;
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${days > 0 ? `${days} day${days === 1 ? '' : 's'}, ` : ''}${pad(hh)}:${pad(mm)}:${pad(ss)}.${pad(cs)}`;
}

function textOrNull(bytes: Uint8Array): string | null {
  try {
    const s = fromUtf8(bytes, true);
    // Printable text (tabs and line ends allowed): otherwise the hex is the value.
    return /^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$/.test(s) ? s : null;
  } catch {
    return null;
  }
}

export function decodeValue(t: Tlv, field: string): Pick<VarBind, 'type' | 'value' | 'hex' | 'text'> {
  if (t.constructed) throw new ProtocolError(`${field}: a constructed value`);
  const num = (v: number | bigint) => (typeof v === 'bigint' ? v.toString() : v);
  if (t.cls === 'universal') {
    switch (t.tag) {
      case UniversalTag.integer:
        return { type: 'INTEGER', value: num(decodeInteger(t.value, field)) };
      case UniversalTag.octetString: {
        const text = textOrNull(t.value);
        return { type: 'OCTET STRING', value: text ?? toHex(t.value), hex: toHex(t.value) };
      }
      case UniversalTag.oid:
        return { type: 'OBJECT IDENTIFIER', value: decodeOid(t.value, field) };
      case UniversalTag.null:
        return { type: 'NULL', value: null };
    }
  } else if (t.cls === 'application') {
    switch (t.tag) {
      case APP.IpAddress:
        if (t.value.length !== 4) throw new ProtocolError(`${field}: IpAddress of ${t.value.length} octets (RFC 2578 §7.1.5: 4)`);
        return { type: 'IpAddress', value: Array.from(t.value).join('.') };
      case APP.Counter32:
        return { type: 'Counter32', value: num(decodeUnsigned(t.value, 32, field)) };
      case APP.Gauge32:
        return { type: 'Gauge32', value: num(decodeUnsigned(t.value, 32, field)) };
      case APP.TimeTicks: {
        const v = decodeUnsigned(t.value, 32, field) as number;
        return { type: 'TimeTicks', value: v, text: timeTicksText(v) };
      }
      case APP.Opaque:
        return { type: 'Opaque', value: toHex(t.value), hex: toHex(t.value) };
      case APP.Counter64:
        return { type: 'Counter64', value: num(decodeUnsigned(t.value, 64, field)) };
    }
  } else if (t.cls === 'context' && t.tag < EXCEPTIONS.length) {
    return { type: EXCEPTIONS[t.tag], value: null };
  }
  throw new ProtocolError(`${field}: unknown value type [${t.cls} ${t.tag}]`);
}

/** Decodes one whole SNMP message (a datagram, or one frame of SNMP over TCP). */
export function decodeMessage(bytes: Uint8Array): Message {
  const outer = decodeTlv(bytes, 'SNMP message');
  if (outer.cls !== 'universal' || outer.tag !== UniversalTag.sequence || !outer.constructed) throw new ProtocolError('SNMP message: not a SEQUENCE');
  const r = new BerReader(outer.value, 'SNMP message');
  const v = r.int('version', 0, 3);
  const version = (Object.keys(VERSIONS) as Version[]).find((k) => VERSIONS[k] === v);
  if (!version) throw new ProtocolError(`SNMP message: version ${v} is not v1 (0) or v2c (1)${v === 3 ? '; SNMPv3 (3) is not supported' : ''}`);
  const community = r.octets('community');
  const pduTlv = r.next('PDU');
  if (pduTlv.cls !== 'context' || !pduTlv.constructed || PDU_NAMES[pduTlv.tag] === undefined) throw new ProtocolError(`SNMP message: PDU has tag [${pduTlv.cls} ${pduTlv.tag}]`);
  const type = PDU_NAMES[pduTlv.tag];
  if (type === 'Trap') throw new ProtocolError('SNMP message: an SNMPv1 Trap PDU, not an answer');
  const p = new BerReader(pduTlv.value, `${type} PDU`, 1);
  const requestId = p.int('request-id', -2147483648, 2147483647);
  const errorStatus = p.int('error-status', 0, 0x7fffffff);
  const errorIndex = p.int('error-index', 0, 0x7fffffff);
  const list = p.sequence('variable-bindings');
  const varbinds: VarBind[] = [];
  while (!list.done) {
    if (varbinds.length >= MAX_VARBINDS) throw new ProtocolError(`SNMP message: more than ${MAX_VARBINDS} variable bindings`);
    const field = `varbind ${varbinds.length + 1}`;
    const vb = list.sequence(field);
    const name = vb.oid(`${field} name`);
    const value = decodeValue(vb.next(`${field} value`), `${field} (${name})`);
    vb.end();
    varbinds.push({ oid: name, ...value });
  }
  p.end();
  r.end();
  return { version, community, pdu: { type, requestId, errorStatus, errorIndex, varbinds } };
}

export function errorStatusName(n: number): string {
  return ERROR_STATUS[n] ?? `error ${n}`;
}

/** `a` is `b` or below it in the OID tree. */
export function oidUnder(a: string, root: string): boolean {
  return a === root || a.startsWith(`${root}.`);
}

/** OID order (RFC 3416 §4.2.2: lexicographic by sub-identifier). */
export function compareOids(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = BigInt(x[i]) - BigInt(y[i]);
    if (d !== 0n) return d < 0n ? -1 : 1;
  }
  return x.length - y.length;
}

export function describeMessage(m: Message): string {
  const binds = m.pdu.varbinds.slice(0, 4).map((v) => `${v.oid}=${v.type === 'NULL' ? 'NULL' : `${v.type}:${String(v.value).slice(0, 40)}`}`);
  const more = m.pdu.varbinds.length > 4 ? ` +${m.pdu.varbinds.length - 4}` : '';
  const err = m.pdu.errorStatus && m.pdu.type === 'Response' ? ` ${errorStatusName(m.pdu.errorStatus)}@${m.pdu.errorIndex}` : '';
  return `SNMP${m.version} ${m.pdu.type} id=${m.pdu.requestId}${err} ${binds.join(' ')}${more}`;
}
