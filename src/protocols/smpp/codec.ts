// SMPP v3.4 (SMPP Developers Forum, Issue 1.2): PDU framing, bind, submit_sm / deliver_sm, enquire_link, unbind, TLVs, data codings.
//
// How it works: every PDU starts with a 16-byte header — command_length (the whole PDU), command_id,
// command_status, sequence_number, all u32 big endian — then its mandatory fields (C-octet strings
// ended by NUL, one-byte integers, short_message with a one-byte length) and optional TLVs (tag u16,
// length u16, value). `pduFrame` checks command_length against a cap before waiting for the body.
import { ByteReader, ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const CMD = {
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_receiver_resp: 0x80000001,
  bind_transmitter: 0x00000002,
  bind_transmitter_resp: 0x80000002,
  submit_sm: 0x00000004,
  submit_sm_resp: 0x80000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
  unbind: 0x00000006,
  unbind_resp: 0x80000006,
  bind_transceiver: 0x00000009,
  bind_transceiver_resp: 0x80000009,
  enquire_link: 0x00000015,
  enquire_link_resp: 0x80000015,
} as const;

const CMD_NAMES = Object.fromEntries(Object.entries(CMD).map(([k, v]) => [v, k])) as Record<number, string>;

export function commandName(id: number): string {
  return CMD_NAMES[id] ?? `command 0x${id.toString(16).padStart(8, '0')}`;
}

/** command_status values (section 5.1.3) a client is likely to meet. */
export const STATUS: Record<number, string> = {
  0x00: 'ESME_ROK',
  0x01: 'ESME_RINVMSGLEN (message length is invalid)',
  0x02: 'ESME_RINVCMDLEN (command length is invalid)',
  0x03: 'ESME_RINVCMDID (invalid command id)',
  0x04: 'ESME_RINVBNDSTS (incorrect bind status for this command)',
  0x05: 'ESME_RALYBND (already bound)',
  0x08: 'ESME_RSYSERR (system error)',
  0x0a: 'ESME_RINVSRCADR (invalid source address)',
  0x0b: 'ESME_RINVDSTADR (invalid destination address)',
  0x0d: 'ESME_RBINDFAIL (bind failed)',
  0x0e: 'ESME_RINVPASWD (invalid password)',
  0x0f: 'ESME_RINVSYSID (invalid system id)',
  0x14: 'ESME_RMSGQFUL (message queue full)',
  0x45: 'ESME_RSUBMITFAIL (submit_sm failed)',
  0x58: 'ESME_RTHROTTLED (throttling error)',
  0x61: 'ESME_RINVSCHED (invalid scheduled delivery time)',
  0x62: 'ESME_RINVEXPIRY (invalid validity period)',
};

export function statusText(code: number): string {
  return STATUS[code] ?? `status 0x${code.toString(16).padStart(8, '0')}`;
}

export const AUTH_STATUSES = new Set([0x0d, 0x0e, 0x0f]);

export interface Pdu {
  commandId: number;
  status: number;
  sequence: number;
  body: Uint8Array;
}

const HEADER = 16;

export function pduFrame(maxLength = 64 * 1024): Frame<Pdu> {
  return (buf) => {
    if (buf.length < 4) return undefined;
    const r = new ByteReader(buf);
    const length = r.u32('command_length');
    if (length < HEADER) throw new ProtocolError(`command_length ${length} is shorter than the 16-byte header`);
    if (length > maxLength) throw new ProtocolError(`command_length ${length} exceeds the ${maxLength}-byte limit`);
    if (buf.length < length) return undefined;
    const commandId = r.u32('command_id');
    const status = r.u32('command_status');
    const sequence = r.u32('sequence_number');
    return { value: { commandId, status, sequence, body: buf.slice(HEADER, length) }, size: length };
  };
}

export function encodePdu(commandId: number, sequence: number, body: Uint8Array = new Uint8Array(0), status = 0): Uint8Array {
  return new ByteWriter(HEADER + body.length).u32(HEADER + body.length).u32(commandId).u32(status).u32(sequence).bytes(body).finish();
}

/** A C-Octet String: the text's bytes and NUL; `max` counts the NUL as the spec's sizes do. */
function cstr(w: ByteWriter, value: string, field: string, max: number): void {
  const b = utf8(value);
  if (b.length + 1 > max) throw new ProtocolError(`${field} is longer than ${max - 1} bytes`);
  w.cstring(b);
}

function readCstr(r: ByteReader, field: string, max: number): string {
  return fromLatin1(r.cstring(field, max));
}

export interface BindRequest {
  systemId: string;
  password: string;
  systemType: string;
  interfaceVersion: number;
  addrTon: number;
  addrNpi: number;
  addressRange: string;
}

/** bind_transmitter / bind_receiver / bind_transceiver body (4.1.1). */
export function encodeBind(b: BindRequest): Uint8Array {
  const w = new ByteWriter();
  cstr(w, b.systemId, 'system_id', 16);
  cstr(w, b.password, 'password', 9);
  cstr(w, b.systemType, 'system_type', 13);
  w.u8(b.interfaceVersion).u8(b.addrTon).u8(b.addrNpi);
  cstr(w, b.addressRange, 'address_range', 41);
  return w.finish();
}

export interface Tlv {
  tag: number;
  value: Uint8Array;
}

function readTlvs(r: ByteReader, max = 64): Tlv[] {
  const out: Tlv[] = [];
  while (r.remaining >= 4) {
    if (out.length >= max) throw new ProtocolError(`more than ${max} TLVs`);
    const tag = r.u16('TLV tag');
    const len = r.u16('TLV length');
    out.push({ tag, value: r.bytesN(len, `TLV 0x${tag.toString(16)}`).slice() });
  }
  if (r.remaining > 0) throw new ProtocolError(`${r.remaining} stray bytes after the TLVs`);
  return out;
}

export const TLV = { sc_interface_version: 0x0210, message_payload: 0x0424, receipted_message_id: 0x001e, message_state: 0x0427 } as const;

/** bind_*_resp body: system_id and optional TLVs (sc_interface_version). Empty on an error status. */
export function decodeBindResp(body: Uint8Array): { systemId: string; interfaceVersion: number | null } {
  if (body.length === 0) return { systemId: '', interfaceVersion: null };
  const r = new ByteReader(body);
  const systemId = readCstr(r, 'system_id', 16);
  const v = readTlvs(r).find((t) => t.tag === TLV.sc_interface_version);
  return { systemId, interfaceVersion: v && v.value.length === 1 ? v.value[0] : null };
}

/** submit_sm and deliver_sm share their mandatory fields (4.4.1, 4.6.1). */
export interface ShortMessage {
  serviceType: string;
  sourceTon: number;
  sourceNpi: number;
  source: string;
  destTon: number;
  destNpi: number;
  destination: string;
  esmClass: number;
  protocolId: number;
  priority: number;
  scheduleDeliveryTime: string;
  validityPeriod: string;
  registeredDelivery: number;
  replaceIfPresent: number;
  dataCoding: number;
  defaultMsgId: number;
  /** short_message, or the message_payload TLV when longer than 254 bytes. */
  message: Uint8Array;
  tlvs: Tlv[];
}

export function encodeShortMessage(m: ShortMessage): Uint8Array {
  const w = new ByteWriter();
  cstr(w, m.serviceType, 'service_type', 6);
  w.u8(m.sourceTon).u8(m.sourceNpi);
  cstr(w, m.source, 'source_addr', 21);
  w.u8(m.destTon).u8(m.destNpi);
  cstr(w, m.destination, 'destination_addr', 21);
  w.u8(m.esmClass).u8(m.protocolId).u8(m.priority);
  cstr(w, m.scheduleDeliveryTime, 'schedule_delivery_time', 17);
  cstr(w, m.validityPeriod, 'validity_period', 17);
  w.u8(m.registeredDelivery).u8(m.replaceIfPresent).u8(m.dataCoding).u8(m.defaultMsgId);
  const long = m.message.length > 254;
  if (long && m.message.length > 0xffff) throw new ProtocolError('message is longer than 65535 bytes');
  w.u8(long ? 0 : m.message.length);
  if (!long) w.bytes(m.message);
  const tlvs = long ? [{ tag: TLV.message_payload, value: m.message }, ...m.tlvs] : m.tlvs;
  for (const t of tlvs) w.u16(t.tag).u16(t.value.length).bytes(t.value);
  return w.finish();
}

export function decodeShortMessage(body: Uint8Array): ShortMessage {
  const r = new ByteReader(body);
  const m: ShortMessage = {
    serviceType: readCstr(r, 'service_type', 6),
    sourceTon: r.u8('source_addr_ton'),
    sourceNpi: r.u8('source_addr_npi'),
    source: readCstr(r, 'source_addr', 65),
    destTon: r.u8('dest_addr_ton'),
    destNpi: r.u8('dest_addr_npi'),
    destination: readCstr(r, 'destination_addr', 65),
    esmClass: r.u8('esm_class'),
    protocolId: r.u8('protocol_id'),
    priority: r.u8('priority_flag'),
    scheduleDeliveryTime: readCstr(r, 'schedule_delivery_time', 17),
    validityPeriod: readCstr(r, 'validity_period', 17),
    registeredDelivery: r.u8('registered_delivery'),
    replaceIfPresent: r.u8('replace_if_present_flag'),
    dataCoding: r.u8('data_coding'),
    defaultMsgId: r.u8('sm_default_msg_id'),
    message: new Uint8Array(0),
    tlvs: [],
  };
  m.message = r.lengthPrefixed('u8', 'short_message').slice();
  m.tlvs = readTlvs(r);
  const payload = m.tlvs.find((t) => t.tag === TLV.message_payload);
  if (payload && m.message.length === 0) m.message = payload.value;
  return m;
}

/** submit_sm_resp / deliver_sm_resp body: message_id (may be absent on an error status). */
export function decodeMessageId(body: Uint8Array): string {
  if (body.length === 0) return '';
  return readCstr(new ByteReader(body), 'message_id', 65);
}

export function encodeMessageIdResp(id = ''): Uint8Array {
  return new ByteWriter().cstring(id).finish();
}

// Data codings (5.2.19): 0 SMSC default (GSM 03.38, one septet per octet), 1 IA5/ASCII, 3 Latin-1, 4/2 binary, 8 UCS-2.

const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXT: Record<string, number> = { '\f': 0x0a, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2f, '[': 0x3c, '~': 0x3d, ']': 0x3e, '|': 0x40, '€': 0x65 };
const GSM_EXT_REV = Object.fromEntries(Object.entries(GSM_EXT).map(([k, v]) => [v, k])) as Record<number, string>;

/** GSM 03.38 default alphabet, unpacked; undefined when a character has no GSM code. */
export function encodeGsm7(text: string): Uint8Array | undefined {
  const out: number[] = [];
  for (const ch of text) {
    const i = GSM_BASIC.indexOf(ch);
    if (i >= 0 && ch !== '\u001b') out.push(i);
    else if (GSM_EXT[ch] !== undefined) out.push(0x1b, GSM_EXT[ch]);
    else return undefined;
  }
  return Uint8Array.from(out);
}

export function decodeGsm7(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] & 0x7f;
    if (b === 0x1b && i + 1 < bytes.length) out += GSM_EXT_REV[bytes[++i] & 0x7f] ?? ' ';
    else out += GSM_BASIC[b];
  }
  return out;
}

export function encodeUcs2(text: string): Uint8Array {
  const w = new ByteWriter(text.length * 2);
  for (let i = 0; i < text.length; i++) w.u16(text.charCodeAt(i));
  return w.finish();
}

export function decodeUcs2(bytes: Uint8Array): string {
  if (bytes.length % 2 !== 0) throw new ProtocolError('UCS-2 message has an odd number of bytes');
  const r = new ByteReader(bytes);
  let out = '';
  while (!r.done) out += String.fromCharCode(r.u16('UCS-2 unit'));
  return out;
}

/** The text of a message in its data coding, or undefined for binary codings. */
export function decodeText(dataCoding: number, bytes: Uint8Array): string | undefined {
  switch (dataCoding) {
    case 0:
      return decodeGsm7(bytes);
    case 1:
    case 3:
      return fromLatin1(bytes);
    case 8:
      return decodeUcs2(bytes);
    default:
      return undefined;
  }
}

export function describePdu(p: Pdu): string {
  return `${commandName(p.commandId)} seq ${p.sequence}${p.status ? ` ${statusText(p.status)}` : ''} (${p.body.length} bytes)`;
}
