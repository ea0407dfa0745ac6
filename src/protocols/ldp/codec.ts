// LDP (RFC 5036 section 3): PDUs of messages of TLVs, sans-I/O. Hello, Initialization, KeepAlive,
// Notification, Address and Label Mapping are decoded into fields; any other TLV is kept as bytes.
import { ByteReader, ByteWriter, concat } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const LDP_PORT = 646;
/** Version, PDU length, LDP identifier. The length counts what follows itself: the identifier and the messages. */
const PDU_HEADER = 10;
/** RFC 5036 section 3.5.3: 4096 unless the session parameters say otherwise; a u16 cannot exceed 65535. */
const MAX_PDU = 65535;
const MAX_MESSAGES = 4096;
const MAX_TLVS = 1024;

export const MESSAGE = { NOTIFICATION: 0x0001, HELLO: 0x0100, INITIALIZATION: 0x0200, KEEPALIVE: 0x0201, CAPABILITY: 0x0202, ADDRESS: 0x0300, ADDRESS_WITHDRAW: 0x0301, LABEL_MAPPING: 0x0400, LABEL_REQUEST: 0x0401, LABEL_WITHDRAW: 0x0402, LABEL_RELEASE: 0x0403, LABEL_ABORT: 0x0404 } as const;
export const MESSAGE_NAMES: Record<number, string> = {
  0x0001: 'Notification', 0x0100: 'Hello', 0x0200: 'Initialization', 0x0201: 'KeepAlive', 0x0202: 'Capability', 0x0300: 'Address', 0x0301: 'Address Withdraw',
  0x0400: 'Label Mapping', 0x0401: 'Label Request', 0x0402: 'Label Withdraw', 0x0403: 'Label Release', 0x0404: 'Label Abort Request',
};

export const TLV = { FEC: 0x0100, ADDRESS_LIST: 0x0101, HOP_COUNT: 0x0103, PATH_VECTOR: 0x0104, GENERIC_LABEL: 0x0200, STATUS: 0x0300, EXTENDED_STATUS: 0x0301, RETURNED_PDU: 0x0302, RETURNED_MESSAGE: 0x0303, COMMON_HELLO: 0x0400, IPV4_TRANSPORT: 0x0401, CONFIG_SEQUENCE: 0x0402, IPV6_TRANSPORT: 0x0403, COMMON_SESSION: 0x0500 } as const;
export const TLV_NAMES: Record<number, string> = {
  0x0100: 'FEC', 0x0101: 'Address List', 0x0103: 'Hop Count', 0x0104: 'Path Vector', 0x0200: 'Generic Label', 0x0201: 'ATM Label', 0x0202: 'Frame Relay Label', 0x0300: 'Status', 0x0301: 'Extended Status', 0x0302: 'Returned PDU',
  0x0303: 'Returned Message', 0x0400: 'Common Hello Parameters', 0x0401: 'IPv4 Transport Address', 0x0402: 'Configuration Sequence Number', 0x0403: 'IPv6 Transport Address', 0x0500: 'Common Session Parameters',
  0x0501: 'ATM Session Parameters', 0x0502: 'Frame Relay Session Parameters', 0x0506: 'Dynamic Capability Announcement', 0x050b: 'Typed Wildcard FEC Capability', 0x0600: 'Label Request Message ID', 0x0603: 'Unrecognized Notification Capability', 0x0701: 'Dual-Stack Capability',
};

/** RFC 5036 section 3.9 and the IANA registry; E (fatal) and F (forward) bits are apart from the code. */
export const STATUS_NAMES: Record<number, string> = {
  0x00: 'Success', 0x01: 'Bad LDP Identifier', 0x02: 'Bad Protocol Version', 0x03: 'Bad PDU Length', 0x04: 'Unknown Message Type', 0x05: 'Bad Message Length', 0x06: 'Unknown TLV', 0x07: 'Bad TLV Length',
  0x08: 'Malformed TLV Value', 0x09: 'Hold Timer Expired', 0x0a: 'Shutdown', 0x0b: 'Loop Detected', 0x0c: 'Unknown FEC', 0x0d: 'No Route', 0x0e: 'No Label Resources', 0x0f: 'Label Resources Available',
  0x10: 'Session Rejected/No Hello', 0x11: 'Session Rejected/Parameters Advertisement Mode', 0x12: 'Session Rejected/Parameters Max PDU Length', 0x13: 'Session Rejected/Parameters Label Range', 0x14: 'KeepAlive Timer Expired',
  0x15: 'Label Request Aborted', 0x16: 'Missing Message Parameters', 0x17: 'Unsupported Address Family', 0x18: 'Session Rejected/Bad KeepAlive Time', 0x19: 'Internal Error', 0x2e: 'Unsupported Capability', 0x2f: 'End-of-LIB',
};

export interface LdpId {
  lsrId: string;
  labelSpace: number;
}

export interface Tlv {
  type: number;
  /** U: an unknown TLV is ignored rather than answered with a notification; F: it is forwarded. */
  unknownIgnore: boolean;
  forward: boolean;
  value: Uint8Array;
}

export interface Message {
  type: number;
  unknownIgnore: boolean;
  id: number;
  tlvs: Tlv[];
}

export interface Pdu {
  version: number;
  ldpId: LdpId;
  messages: Message[];
}

export function ldpIdText(id: LdpId): string {
  return `${id.lsrId}:${id.labelSpace}`;
}

function ipv4(bytes: Uint8Array): string {
  return Array.from(bytes).join('.');
}

function ipv4Bytes(text: string): Uint8Array {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) throw new ProtocolError(`not an IPv4 address: ${text}`);
  return Uint8Array.from(parts);
}

function ipv6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

export function encodeTlv(type: number, value: Uint8Array, flags: { unknownIgnore?: boolean; forward?: boolean } = {}): Uint8Array {
  return new ByteWriter(4 + value.length)
    .u16((flags.unknownIgnore ? 0x8000 : 0) | (flags.forward ? 0x4000 : 0) | (type & 0x3fff))
    .u16(value.length)
    .bytes(value)
    .finish();
}

export function encodeMessage(type: number, id: number, tlvs: Uint8Array[]): Uint8Array {
  const body = concat(tlvs);
  return new ByteWriter(8 + body.length).u16(type & 0x7fff).u16(4 + body.length).u32(id >>> 0).bytes(body).finish();
}

export function encodePdu(ldpId: LdpId, messages: Uint8Array[]): Uint8Array {
  const body = concat(messages);
  if (body.length + 6 > MAX_PDU) throw new ProtocolError(`an LDP PDU of ${body.length + 6} bytes exceeds ${MAX_PDU}`);
  return new ByteWriter(PDU_HEADER + body.length).u16(1).u16(6 + body.length).bytes(ipv4Bytes(ldpId.lsrId)).u16(ldpId.labelSpace).bytes(body).finish();
}

export interface HelloOptions {
  holdTime: number;
  targeted: boolean;
  requestTargeted: boolean;
  transportAddress?: string;
}

export function encodeHello(id: number, h: HelloOptions): Uint8Array {
  const common = new ByteWriter(4).u16(h.holdTime).u16((h.targeted ? 0x8000 : 0) | (h.requestTargeted ? 0x4000 : 0)).finish();
  return encodeMessage(MESSAGE.HELLO, id, [encodeTlv(TLV.COMMON_HELLO, common), ...(h.transportAddress ? [encodeTlv(TLV.IPV4_TRANSPORT, ipv4Bytes(h.transportAddress))] : [])]);
}

export interface SessionParams {
  version: number;
  keepaliveTime: number;
  /** A: downstream on demand (true) or downstream unsolicited. */
  onDemand: boolean;
  /** D: loop detection. */
  loopDetection: boolean;
  pathVectorLimit: number;
  /** 0 means the default, 4096. */
  maxPduLength: number;
  receiver: LdpId;
}

export function encodeInit(id: number, s: SessionParams): Uint8Array {
  const value = new ByteWriter(14)
    .u16(s.version)
    .u16(s.keepaliveTime)
    .u8((s.onDemand ? 0x80 : 0) | (s.loopDetection ? 0x40 : 0))
    .u8(s.pathVectorLimit)
    .u16(s.maxPduLength)
    .bytes(ipv4Bytes(s.receiver.lsrId))
    .u16(s.receiver.labelSpace)
    .finish();
  return encodeMessage(MESSAGE.INITIALIZATION, id, [encodeTlv(TLV.COMMON_SESSION, value)]);
}

export function encodeKeepalive(id: number): Uint8Array {
  return encodeMessage(MESSAGE.KEEPALIVE, id, []);
}

/** A Notification with a Status TLV: `fatal` sets the E bit (the session ends). */
export function encodeNotification(id: number, code: number, fatal: boolean, about: { id: number; type: number } = { id: 0, type: 0 }): Uint8Array {
  const status = new ByteWriter(10).u32(((fatal ? 0x80000000 : 0) | code) >>> 0).u32(about.id).u16(about.type).finish();
  return encodeMessage(MESSAGE.NOTIFICATION, id, [encodeTlv(TLV.STATUS, status)]);
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

function decodeTlvs(bytes: Uint8Array, where: string): Tlv[] {
  const r = new ByteReader(bytes);
  const out: Tlv[] = [];
  while (!r.done) {
    if (out.length >= MAX_TLVS) throw new ProtocolError(`${where}: more than ${MAX_TLVS} TLVs`);
    const head = r.u16(`${where} TLV type`);
    const len = r.u16(`${where} TLV length`);
    const value = r.bytesN(len, `${where} TLV 0x${(head & 0x3fff).toString(16).padStart(4, '0')} value`);
    out.push({ type: head & 0x3fff, unknownIgnore: (head & 0x8000) !== 0, forward: (head & 0x4000) !== 0, value });
  }
  return out;
}

/** Messages of a PDU body (after the LDP identifier). */
function decodeMessages(bytes: Uint8Array): Message[] {
  const r = new ByteReader(bytes);
  const out: Message[] = [];
  while (!r.done) {
    if (out.length >= MAX_MESSAGES) throw new ProtocolError(`more than ${MAX_MESSAGES} messages in one LDP PDU`);
    const head = r.u16('LDP message type');
    const len = r.u16('LDP message length');
    if (len < 4) throw new ProtocolError(`LDP message length ${len} is shorter than its message ID`);
    const id = r.u32('LDP message ID');
    const type = head & 0x7fff;
    const tlvs = decodeTlvs(r.bytesN(len - 4, `${MESSAGE_NAMES[type] ?? 'LDP message'} parameters`), MESSAGE_NAMES[type] ?? `message 0x${type.toString(16)}`);
    out.push({ type, unknownIgnore: (head & 0x8000) !== 0, id, tlvs });
  }
  return out;
}

/** The version and length of the PDU header; a version other than 1 is not LDP. */
export const pduFrame: Frame<Pdu> = (buf) => {
  if (buf.length >= 2 && ((buf[0] << 8) | buf[1]) !== 1) throw new ProtocolError(`LDP version ${(buf[0] << 8) | buf[1]}, not 1: not an LDP speaker`);
  if (buf.length < 4) return undefined;
  const length = (buf[2] << 8) | buf[3];
  if (length < 6) throw new ProtocolError(`LDP PDU length ${length} is shorter than the LDP identifier`);
  if (buf.length < 4 + length) return undefined;
  return { value: decodePdu(buf.slice(0, 4 + length)), size: 4 + length };
};

export function decodePdu(bytes: Uint8Array): Pdu {
  const r = new ByteReader(bytes);
  const version = r.u16('LDP version');
  if (version !== 1) throw new ProtocolError(`LDP version ${version}, not 1: not an LDP speaker`);
  const length = r.u16('LDP PDU length');
  if (length < 6 || length !== bytes.length - 4) throw new ProtocolError(`LDP PDU length ${length} does not match the ${bytes.length - 4} bytes after it`);
  const lsrId = ipv4(r.bytesN(4, 'LSR ID'));
  const labelSpace = r.u16('label space');
  return { version, ldpId: { lsrId, labelSpace }, messages: decodeMessages(r.rest()) };
}

export function findTlv(m: Message, type: number): Tlv | undefined {
  return m.tlvs.find((t) => t.type === type);
}

export interface HelloParams {
  holdTime: number;
  targeted: boolean;
  requestTargeted: boolean;
  transportAddress: string | null;
  configSequence: number | null;
}

export function decodeHello(m: Message): HelloParams {
  const common = findTlv(m, TLV.COMMON_HELLO);
  if (!common) throw new ProtocolError('the Hello has no Common Hello Parameters TLV');
  const r = new ByteReader(common.value);
  const holdTime = r.u16('hello hold time');
  const flags = r.u16('hello flags');
  const v4 = findTlv(m, TLV.IPV4_TRANSPORT);
  const v6 = findTlv(m, TLV.IPV6_TRANSPORT);
  const seq = findTlv(m, TLV.CONFIG_SEQUENCE);
  return {
    holdTime,
    targeted: (flags & 0x8000) !== 0,
    requestTargeted: (flags & 0x4000) !== 0,
    transportAddress: v4 ? ipv4(new ByteReader(v4.value).bytesN(4, 'IPv4 transport address')) : v6 ? ipv6(new ByteReader(v6.value).bytesN(16, 'IPv6 transport address')) : null,
    configSequence: seq ? new ByteReader(seq.value).u32('configuration sequence number') : null,
  };
}

export function decodeSessionParams(m: Message): SessionParams {
  const t = findTlv(m, TLV.COMMON_SESSION);
  if (!t) throw new ProtocolError('the Initialization has no Common Session Parameters TLV');
  const r = new ByteReader(t.value);
  const version = r.u16('session protocol version');
  const keepaliveTime = r.u16('KeepAlive time');
  const flags = r.u8('session flags');
  const pathVectorLimit = r.u8('path vector limit');
  const maxPduLength = r.u16('max PDU length');
  const lsrId = ipv4(r.bytesN(4, 'receiver LSR ID'));
  const labelSpace = r.u16('receiver label space');
  return { version, keepaliveTime, onDemand: (flags & 0x80) !== 0, loopDetection: (flags & 0x40) !== 0, pathVectorLimit, maxPduLength, receiver: { lsrId, labelSpace } };
}

export interface Status {
  code: number;
  name: string;
  fatal: boolean;
  forward: boolean;
  messageId: number;
  messageType: number;
}

export function decodeStatus(m: Message): Status {
  const t = findTlv(m, TLV.STATUS);
  if (!t) throw new ProtocolError(`the ${MESSAGE_NAMES[m.type] ?? 'message'} has no Status TLV`);
  const r = new ByteReader(t.value);
  const raw = r.u32('status code');
  const messageId = r.u32('status message ID');
  const messageType = r.u16('status message type');
  const code = raw & 0x3fffffff;
  return { code, name: STATUS_NAMES[code] ?? `status 0x${code.toString(16)}`, fatal: (raw & 0x80000000) !== 0, forward: (raw & 0x40000000) !== 0, messageId, messageType };
}

/** Address list TLV (RFC 5036 section 3.4.3): address family 1 (IPv4) or 2 (IPv6), then addresses. */
export function decodeAddresses(m: Message): string[] {
  const t = findTlv(m, TLV.ADDRESS_LIST);
  if (!t) throw new ProtocolError('the Address message has no Address List TLV');
  const r = new ByteReader(t.value);
  const family = r.u16('address family');
  const size = family === 1 ? 4 : family === 2 ? 16 : 0;
  if (!size) throw new ProtocolError(`address family ${family} is neither IPv4 (1) nor IPv6 (2)`);
  const out: string[] = [];
  while (!r.done) out.push(size === 4 ? ipv4(r.bytesN(4, 'IPv4 address')) : ipv6(r.bytesN(16, 'IPv6 address')));
  return out;
}

/** FEC elements (RFC 5036 section 3.4.1): wildcard, prefix; other element types (pseudowires) are named by number. */
export function decodeFec(value: Uint8Array): string[] {
  const r = new ByteReader(value);
  const out: string[] = [];
  while (!r.done) {
    if (out.length >= MAX_TLVS) throw new ProtocolError(`more than ${MAX_TLVS} FEC elements`);
    const type = r.u8('FEC element type');
    if (type === 1) {
      out.push('wildcard');
      continue;
    }
    if (type !== 2) {
      out.push(`FEC element type ${type}`);
      break;
    }
    const family = r.u16('FEC address family');
    const bits = r.u8('FEC prefix length');
    const size = family === 1 ? 4 : family === 2 ? 16 : 0;
    if (!size || bits > size * 8) throw new ProtocolError(`FEC prefix of family ${family} and length ${bits}`);
    const full = new Uint8Array(size);
    full.set(r.bytesN(Math.ceil(bits / 8), 'FEC prefix'));
    out.push(`${size === 4 ? ipv4(full) : ipv6(full)}/${bits}`);
  }
  return out;
}

export interface LabelMapping {
  fec: string[];
  label: number | null;
}

export function decodeLabelMapping(m: Message): LabelMapping {
  const fec = findTlv(m, TLV.FEC);
  if (!fec) throw new ProtocolError('the Label Mapping has no FEC TLV');
  const label = findTlv(m, TLV.GENERIC_LABEL);
  return { fec: decodeFec(fec.value), label: label ? new ByteReader(label.value).u32('generic label') & 0xfffff : null };
}

/** One line per message, for transcripts. */
export function describeMessage(m: Message): string {
  const name = MESSAGE_NAMES[m.type] ?? `message 0x${m.type.toString(16).padStart(4, '0')}`;
  try {
    if (m.type === MESSAGE.HELLO) {
      const h = decodeHello(m);
      return `${name}${h.targeted ? ' (targeted)' : ''}, hold ${h.holdTime}s${h.transportAddress ? `, transport ${h.transportAddress}` : ''}`;
    }
    if (m.type === MESSAGE.INITIALIZATION) {
      const s = decodeSessionParams(m);
      return `${name}: version ${s.version}, KeepAlive ${s.keepaliveTime}s, ${s.onDemand ? 'downstream on demand' : 'downstream unsolicited'}, max PDU ${s.maxPduLength || 4096}, for ${ldpIdText(s.receiver)}${capabilityNames(m).map((c) => `, ${c}`).join('')}`;
    }
    if (m.type === MESSAGE.NOTIFICATION) {
      const s = decodeStatus(m);
      return `${name}: ${s.name}${s.fatal ? ' (fatal)' : ''}`;
    }
    if (m.type === MESSAGE.ADDRESS || m.type === MESSAGE.ADDRESS_WITHDRAW) return `${name}: ${decodeAddresses(m).join(', ')}`;
    if (m.type === MESSAGE.LABEL_MAPPING || m.type === MESSAGE.LABEL_WITHDRAW) {
      const l = decodeLabelMapping(m);
      return `${name}: ${l.fec.join(', ')}${l.label === null ? '' : ` label ${l.label}`}`;
    }
  } catch (e) {
    return `${name} (undecodable: ${(e as Error).message})`;
  }
  return name;
}

export function describePdu(p: Pdu): string {
  return `LDP ${ldpIdText(p.ldpId)}: ${p.messages.map(describeMessage).join('; ') || 'no messages'}`;
}

/** The optional TLVs of an Initialization that are not session parameters: capabilities (RFC 5561) and others. */
export function capabilityNames(m: Message): string[] {
  return m.tlvs.filter((t) => t.type !== TLV.COMMON_SESSION).map((t) => TLV_NAMES[t.type] ?? `TLV 0x${t.type.toString(16).padStart(4, '0')}`);
}
