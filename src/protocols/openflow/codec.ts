// OpenFlow switch protocol 1.0–1.5 (ONF TS-001 … TS-025): the header, HELLO with the version bitmap
// (1.3.1+ section 7.5.1), ERROR, FEATURES_REQUEST/REPLY, and port descriptions in each version's layout
// (ofp_phy_port in 1.0, ofp_port in 1.1–1.3, ofp_port with properties in 1.4–1.5). Sans I/O.
import { ByteReader, ByteWriter, fromLatin1 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const VERSIONS: Record<number, string> = { 1: '1.0', 2: '1.1', 3: '1.2', 4: '1.3', 5: '1.4', 6: '1.5' };
const HEADER = 8;
const MAX_PORTS = 4096;

export const TYPE = { HELLO: 0, ERROR: 1, ECHO_REQUEST: 2, ECHO_REPLY: 3, FEATURES_REQUEST: 5, FEATURES_REPLY: 6 } as const;

/** Multipart (1.3+) and stats (1.0–1.2) message types differ by version. */
export function multipartTypes(version: number): { request: number; reply: number } {
  return version === 1 ? { request: 16, reply: 17 } : { request: 18, reply: 19 };
}

export interface Message {
  version: number;
  type: number;
  xid: number;
  body: Uint8Array;
}

export const messageFrame: Frame<Message> = (buf) => {
  if (buf.length < HEADER) return undefined;
  const version = buf[0];
  if (version < 1 || version > 0x7f) throw new ProtocolError(`OpenFlow version byte ${version}: not an OpenFlow switch`);
  const length = (buf[2] << 8) | buf[3];
  if (length < HEADER) throw new ProtocolError(`OpenFlow message length ${length} is under 8`);
  if (buf.length < length) return undefined;
  const r = new ByteReader(buf.subarray(0, length), 1);
  const type = r.u8('type');
  r.u16('length');
  return { value: { version, type, xid: r.u32('xid'), body: buf.slice(HEADER, length) }, size: length };
};

export function encode(version: number, type: number, xid: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new ByteWriter(HEADER + body.length).u8(version).u8(type).u16(HEADER + body.length).u32(xid).bytes(body).finish();
}

/** HELLO in our highest version, with a versionbitmap element listing every version offered. */
export function encodeHello(versions: number[], xid: number): Uint8Array {
  const bitmap = versions.reduce((b, v) => b | (1 << v), 0);
  return encode(Math.max(...versions), TYPE.HELLO, xid, new ByteWriter(8).u16(1).u16(8).u32(bitmap >>> 0).finish());
}

/** The versions a peer's HELLO offers: its bitmap when it sends one, else every version up to its header's. */
export function helloVersions(m: Message): number[] {
  const r = new ByteReader(m.body);
  while (r.remaining >= 4) {
    const type = r.u16('hello element type');
    const len = r.u16('hello element length');
    if (len < 4) throw new ProtocolError(`HELLO element length ${len} is under 4`);
    const value = r.bytesN(len - 4, 'hello element');
    r.skip(Math.min(r.remaining, (8 - (len % 8)) % 8), 'hello element padding');
    if (type === 1) {
      const out: number[] = [];
      const b = new ByteReader(value);
      for (let word = 0; b.remaining >= 4 && word < 4; word++) {
        const bits = b.u32('version bitmap');
        for (let i = 0; i < 32; i++) if (bits & (1 << i)) out.push(word * 32 + i);
      }
      return out;
    }
  }
  return Array.from({ length: m.version }, (_, i) => i + 1);
}

export function negotiate(ours: number[], peer: Message): number | null {
  const theirs = helloVersions(peer);
  const common = ours.filter((v) => theirs.includes(v));
  return common.length === 0 ? null : Math.max(...common);
}

/** ERROR: type, code, data (OpenFlow 1.0 section 5.4.4 and later). HELLO_FAILED data is ASCII text. */
export interface OfError {
  type: number;
  code: number;
  typeName: string;
  text: string;
}

const ERROR_TYPES: Record<number, string> = { 0: 'HELLO_FAILED', 1: 'BAD_REQUEST', 2: 'BAD_ACTION', 3: 'BAD_INSTRUCTION', 4: 'BAD_MATCH', 5: 'FLOW_MOD_FAILED', 6: 'GROUP_MOD_FAILED', 7: 'PORT_MOD_FAILED', 8: 'TABLE_MOD_FAILED', 9: 'QUEUE_OP_FAILED', 10: 'SWITCH_CONFIG_FAILED', 11: 'ROLE_REQUEST_FAILED', 12: 'METER_MOD_FAILED', 13: 'TABLE_FEATURES_FAILED' };

export function decodeError(body: Uint8Array): OfError {
  const r = new ByteReader(body);
  const type = r.u16('error type');
  const code = r.u16('error code');
  const data = r.rest();
  const printable = data.every((b) => b === 0 || (b >= 0x20 && b < 0x7f) || b === 0x0a);
  return { type, code, typeName: ERROR_TYPES[type] ?? `error type ${type}`, text: printable ? fromLatin1(data).replace(/\0+$/, '').trim() : `${data.length} bytes of the offending message` };
}

export interface Features {
  datapathId: string;
  nBuffers: number;
  nTables: number;
  auxiliaryId: number | null;
  capabilities: string[];
}

const CAPS_10: Record<number, string> = { 0: 'FLOW_STATS', 1: 'TABLE_STATS', 2: 'PORT_STATS', 3: 'STP', 5: 'IP_REASM', 6: 'QUEUE_STATS', 7: 'ARP_MATCH_IP' };
const CAPS_11: Record<number, string> = { 0: 'FLOW_STATS', 1: 'TABLE_STATS', 2: 'PORT_STATS', 3: 'GROUP_STATS', 5: 'IP_REASM', 6: 'QUEUE_STATS', 7: 'ARP_MATCH_IP', 8: 'PORT_BLOCKED' };

function bits(value: number, names: Record<number, string>): string[] {
  return Object.entries(names).filter(([bit]) => value & (1 << Number(bit))).map(([, n]) => n);
}

export function hex(bytes: Uint8Array, sep = ''): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(sep);
}

/** FEATURES_REPLY; in 1.0–1.2 the ports follow (returned too). */
export function decodeFeatures(version: number, body: Uint8Array): { features: Features; ports: Port[] } {
  const r = new ByteReader(body);
  const datapathId = hex(r.bytesN(8, 'datapath_id'), ':');
  const nBuffers = r.u32('n_buffers');
  const nTables = r.u8('n_tables');
  const aux = r.u8('auxiliary_id');
  r.skip(2, 'pad');
  const caps = r.u32('capabilities');
  r.u32(version === 1 ? 'actions' : 'reserved');
  const features = { datapathId, nBuffers, nTables, auxiliaryId: version >= 4 ? aux : null, capabilities: bits(caps, version === 1 ? CAPS_10 : CAPS_11) };
  const ports = version <= 3 ? decodePorts(version, r.rest()) : [];
  return { features, ports };
}

export interface Port {
  number: string;
  name: string;
  hwAddr: string;
  config: string[];
  state: string[];
  currentSpeedKbps?: number;
  maxSpeedKbps?: number;
}

const PORT_NAMES_10: Record<number, string> = { 0xff00: 'MAX', 0xfff8: 'IN_PORT', 0xfff9: 'TABLE', 0xfffa: 'NORMAL', 0xfffb: 'FLOOD', 0xfffc: 'ALL', 0xfffd: 'CONTROLLER', 0xfffe: 'LOCAL', 0xffff: 'NONE' };
const PORT_NAMES: Record<number, string> = { 0xffffff00: 'MAX', 0xfffffff8: 'IN_PORT', 0xfffffff9: 'TABLE', 0xfffffffa: 'NORMAL', 0xfffffffb: 'FLOOD', 0xfffffffc: 'ALL', 0xfffffffd: 'CONTROLLER', 0xfffffffe: 'LOCAL', 0xffffffff: 'ANY' };
const CONFIG = { 0: 'PORT_DOWN', 2: 'NO_RECV', 5: 'NO_FWD', 6: 'NO_PACKET_IN' };
const STATE = { 0: 'LINK_DOWN', 1: 'BLOCKED', 2: 'LIVE' };
const STATE_10 = { 0: 'LINK_DOWN' };

/** Ports in a FEATURES_REPLY (1.0–1.2) or a PORT_DESC reply body (1.3–1.5). */
export function decodePorts(version: number, bytes: Uint8Array): Port[] {
  const r = new ByteReader(bytes);
  const out: Port[] = [];
  while (!r.done) {
    if (out.length >= MAX_PORTS) throw new ProtocolError(`more than ${MAX_PORTS} ports`);
    if (version === 1) {
      const n = r.u16('port_no');
      const hwAddr = hex(r.bytesN(6, 'hw_addr'), ':');
      const name = fromLatin1(r.bytesN(16, 'name')).replace(/\0.*$/s, '');
      const config = r.u32('config');
      const state = r.u32('state');
      r.skip(16, 'curr, advertised, supported, peer');
      out.push({ number: PORT_NAMES_10[n] ?? String(n), name, hwAddr, config: bits(config, CONFIG), state: bits(state, STATE_10) });
    } else if (version <= 4) {
      const n = r.u32('port_no');
      r.skip(4, 'pad');
      const hwAddr = hex(r.bytesN(6, 'hw_addr'), ':');
      r.skip(2, 'pad');
      const name = fromLatin1(r.bytesN(16, 'name')).replace(/\0.*$/s, '');
      const config = r.u32('config');
      const state = r.u32('state');
      r.skip(16, 'curr, advertised, supported, peer');
      const currentSpeedKbps = r.u32('curr_speed');
      const maxSpeedKbps = r.u32('max_speed');
      out.push({ number: PORT_NAMES[n] ?? String(n), name, hwAddr, config: bits(config, CONFIG), state: bits(state, STATE), currentSpeedKbps, maxSpeedKbps });
    } else {
      const n = r.u32('port_no');
      const length = r.u16('port length');
      if (length < 40) throw new ProtocolError(`ofp_port length ${length} is under 40`);
      const body = new ByteReader(r.bytesN(length - 6, 'ofp_port'));
      body.skip(2, 'pad');
      const hwAddr = hex(body.bytesN(6, 'hw_addr'), ':');
      body.skip(2, 'pad');
      const name = fromLatin1(body.bytesN(16, 'name')).replace(/\0.*$/s, '');
      const config = body.u32('config');
      const state = body.u32('state');
      const port: Port = { number: PORT_NAMES[n] ?? String(n), name, hwAddr, config: bits(config, CONFIG), state: bits(state, STATE) };
      while (body.remaining >= 4) {
        const ptype = body.u16('property type');
        const plen = body.u16('property length');
        if (plen < 4) throw new ProtocolError(`port property length ${plen} is under 4`);
        const pv = new ByteReader(body.bytesN(plen - 4, 'port property'));
        body.skip(Math.min(body.remaining, (8 - (plen % 8)) % 8), 'property padding');
        if (ptype === 0 && pv.remaining >= 28) {
          pv.skip(4 + 16, 'pad, curr, advertised, supported, peer');
          port.currentSpeedKbps = pv.u32('curr_speed');
          port.maxSpeedKbps = pv.u32('max_speed');
        }
      }
      out.push(port);
    }
  }
  return out;
}

/** A multipart request for the port descriptions: type 13 (PORT_DESC), no flags; 1.5 adds port_no (ANY) and padding. */
export function encodePortDescRequest(version: number, xid: number): Uint8Array {
  const w = new ByteWriter(16).u16(13).u16(0).u32(0);
  if (version >= 6) w.u32(0xffffffff).u32(0);
  return encode(version, multipartTypes(version).request, xid, w.finish());
}

/** A multipart reply: its type, whether more follow, and its body. */
export function decodeMultipart(body: Uint8Array): { type: number; more: boolean; body: Uint8Array } {
  const r = new ByteReader(body);
  const type = r.u16('multipart type');
  const flags = r.u16('flags');
  r.skip(4, 'pad');
  return { type, more: (flags & 1) !== 0, body: r.rest() };
}

export function describe(m: Message): string {
  const names: Record<number, string> = { 0: 'HELLO', 1: 'ERROR', 2: 'ECHO_REQUEST', 3: 'ECHO_REPLY', 4: 'EXPERIMENTER', 5: 'FEATURES_REQUEST', 6: 'FEATURES_REPLY', 10: 'PACKET_IN', 12: 'PORT_STATUS' };
  const mp = multipartTypes(m.version);
  const name = m.type === mp.request ? 'MULTIPART_REQUEST' : m.type === mp.reply ? 'MULTIPART_REPLY' : (names[m.type] ?? `type ${m.type}`);
  return `OF${VERSIONS[m.version] ?? `0x${m.version.toString(16)}`} ${name} xid ${m.xid} (${m.body.length + HEADER} bytes)`;
}
