// iSCSI (RFC 7143), sans-I/O: the 48-byte basic header segment of every PDU, the login and text PDUs with their
// key=value data, SCSI commands and their Data-In and response PDUs, and the SCSI payloads read here (INQUIRY,
// REPORT LUNS, READ CAPACITY(10/16), sense data).
import { ByteReader, ByteWriter, concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const OP = {
  NOP_OUT: 0x00,
  SCSI_CMD: 0x01,
  LOGIN_REQ: 0x03,
  TEXT_REQ: 0x04,
  LOGOUT_REQ: 0x06,
  NOP_IN: 0x20,
  SCSI_RSP: 0x21,
  LOGIN_RSP: 0x23,
  TEXT_RSP: 0x24,
  DATA_IN: 0x25,
  LOGOUT_RSP: 0x26,
  R2T: 0x31,
  ASYNC: 0x32,
  REJECT: 0x3f,
} as const;
const OP_NAMES: Record<number, string> = Object.fromEntries(Object.entries(OP).map(([k, v]) => [v, k.replace(/_/g, ' ')]));
export const opName = (op: number): string => OP_NAMES[op] ?? `opcode 0x${op.toString(16)}`;

/** Largest data segment accepted from a target (MaxRecvDataSegmentLength offered is below it). */
export const MAX_DATA_SEGMENT = 1024 * 1024;

export interface Pdu {
  opcode: number;
  immediate: boolean;
  final: boolean;
  /** Bytes 1..3 (flags and opcode-specific fields). */
  b1: number;
  b2: number;
  b3: number;
  lun: Uint8Array;
  itt: number;
  /** Bytes 20..47 of the header, opcode-specific. */
  rest: Uint8Array;
  data: Uint8Array;
  dataLength: number;
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** One PDU: the BHS, any additional header segments, the data segment padded to 4 bytes (no digests). */
export function pduFrame(max = MAX_DATA_SEGMENT): Frame<Pdu> {
  return (buf) => {
    if (buf.length < 48) return undefined;
    const ahs = buf[4] * 4;
    const dataLength = (buf[5] << 16) | (buf[6] << 8) | buf[7];
    if (dataLength > max) throw new ProtocolError(`iSCSI: data segment of ${dataLength} bytes exceeds ${max}`);
    const total = 48 + ahs + pad4(dataLength);
    if (buf.length < total) return undefined;
    const r = new ByteReader(buf);
    const b0 = r.u8();
    const pdu: Pdu = {
      opcode: b0 & 0x3f,
      immediate: (b0 & 0x40) !== 0,
      b1: buf[1],
      final: (buf[1] & 0x80) !== 0,
      b2: buf[2],
      b3: buf[3],
      lun: buf.slice(8, 16),
      itt: new DataView(buf.buffer, buf.byteOffset + 16, 4).getUint32(0),
      rest: buf.slice(20, 48),
      data: buf.slice(48 + ahs, 48 + ahs + dataLength),
      dataLength,
    };
    return { value: pdu, size: total };
  };
}

export interface PduOut {
  opcode: number;
  immediate?: boolean;
  b1: number;
  b2?: number;
  b3?: number;
  lun?: Uint8Array;
  itt: number;
  /** Bytes 20..47. */
  rest: Uint8Array;
  data?: Uint8Array;
}

/** A PDU: the header, then the data segment padded with zeros to a multiple of 4. */
export function encodePdu(p: PduOut): Uint8Array {
  const data = p.data ?? new Uint8Array(0);
  const w = new ByteWriter(48 + pad4(data.length));
  w.u8(p.opcode | (p.immediate ? 0x40 : 0))
    .u8(p.b1)
    .u8(p.b2 ?? 0)
    .u8(p.b3 ?? 0)
    .u8(0)
    .u24(data.length)
    .bytes(p.lun ?? new Uint8Array(8))
    .u32(p.itt)
    .bytes(p.rest)
    .bytes(data)
    .bytes(new Uint8Array(pad4(data.length) - data.length));
  return w.finish();
}

/** key=value pairs, each ended by NUL (text and login data). */
export function encodeKeys(pairs: readonly (readonly [string, string])[]): Uint8Array {
  return utf8(pairs.map(([k, v]) => `${k}=${v}\0`).join(''));
}

/** The key=value pairs of a data segment, in order (SendTargets repeats TargetName and TargetAddress). */
export function parseKeys(data: Uint8Array): [string, string][] {
  const out: [string, string][] = [];
  for (const item of fromLatin1(data).split('\0')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ProtocolError(`iSCSI: a text item without key=value: ${JSON.stringify(item.slice(0, 40))}`);
    out.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return out;
}

/** Login stages (CSG/NSG): security negotiation, operational negotiation, full feature phase. */
export const STAGE = { SECURITY: 0, OPERATIONAL: 1, FULL: 3 } as const;

export interface LoginRequest {
  transit: boolean;
  csg: number;
  nsg: number;
  isid: Uint8Array;
  tsih: number;
  itt: number;
  cid: number;
  cmdSn: number;
  expStatSn: number;
  keys: readonly (readonly [string, string])[];
}

export function encodeLogin(l: LoginRequest): Uint8Array {
  const rest = new ByteWriter(28).u16(l.cid).u16(0).u32(l.cmdSn).u32(l.expStatSn).bytes(new Uint8Array(16)).finish();
  const lun = concat([l.isid, new ByteWriter(2).u16(l.tsih).finish()]);
  return encodePdu({ opcode: OP.LOGIN_REQ, immediate: true, b1: (l.transit ? 0x80 : 0) | (l.csg << 2) | l.nsg, b2: 0, b3: 0, lun, itt: l.itt, rest, data: encodeKeys(l.keys) });
}

export interface LoginResponse {
  transit: boolean;
  csg: number;
  nsg: number;
  tsih: number;
  statSn: number;
  expCmdSn: number;
  statusClass: number;
  statusDetail: number;
  keys: [string, string][];
}

export function parseLoginResponse(p: Pdu): LoginResponse {
  if (p.opcode !== OP.LOGIN_RSP) throw new ProtocolError(`iSCSI: ${opName(p.opcode)} during login`);
  const r = new ByteReader(p.rest);
  r.u32('reserved');
  const statSn = r.u32('StatSN');
  const expCmdSn = r.u32('ExpCmdSN');
  r.u32('MaxCmdSN');
  const statusClass = r.u8('Status-Class');
  const statusDetail = r.u8('Status-Detail');
  return {
    transit: (p.b1 & 0x80) !== 0,
    csg: (p.b1 >> 2) & 3,
    nsg: p.b1 & 3,
    tsih: (p.lun[6] << 8) | p.lun[7],
    statSn,
    expCmdSn,
    statusClass,
    statusDetail,
    keys: parseKeys(p.data),
  };
}

const LOGIN_STATUS: Record<number, string> = {
  0x0101: 'target moved temporarily',
  0x0102: 'target moved permanently',
  0x0200: 'initiator error',
  0x0201: 'authentication failure',
  0x0202: 'authorization failure',
  0x0203: 'target not found',
  0x0204: 'target removed',
  0x0205: 'unsupported version',
  0x0206: 'too many connections',
  0x0207: 'missing parameter',
  0x0208: 'cannot include in session',
  0x0209: 'session type not supported',
  0x020a: 'session does not exist',
  0x020b: 'invalid during login',
  0x0300: 'target error',
  0x0301: 'service unavailable',
  0x0302: 'out of resources',
};
export const loginStatusText = (cls: number, detail: number): string => LOGIN_STATUS[(cls << 8) | detail] ?? `status class ${cls}, detail ${detail}`;

/** A text request (SendTargets=All and the like). */
export function encodeText(itt: number, cmdSn: number, expStatSn: number, keys: readonly (readonly [string, string])[]): Uint8Array {
  const rest = new ByteWriter(28).u32(0xffffffff).u32(cmdSn).u32(expStatSn).bytes(new Uint8Array(16)).finish();
  return encodePdu({ opcode: OP.TEXT_REQ, immediate: true, b1: 0x80, itt, rest, data: encodeKeys(keys) });
}

/** A logout request (reason 0: close the session). */
export function encodeLogout(itt: number, cmdSn: number, expStatSn: number): Uint8Array {
  const rest = new ByteWriter(28).u16(0).u16(0).u32(cmdSn).u32(expStatSn).bytes(new Uint8Array(16)).finish();
  return encodePdu({ opcode: OP.LOGOUT_REQ, immediate: true, b1: 0x80, itt, rest });
}

/** A SCSI command with a CDB of up to 16 bytes, reading up to `readLength` bytes (no data out). */
export function encodeScsiCommand(o: { itt: number; lun: Uint8Array; cmdSn: number; expStatSn: number; cdb: Uint8Array; readLength: number }): Uint8Array {
  if (o.cdb.length > 16) throw new ProtocolError('iSCSI: a CDB longer than 16 bytes needs an AHS');
  const cdb = new Uint8Array(16);
  cdb.set(o.cdb);
  const rest = new ByteWriter(28).u32(o.readLength).u32(o.cmdSn).u32(o.expStatSn).bytes(cdb).finish();
  // F, R (read), ATTR simple.
  return encodePdu({ opcode: OP.SCSI_CMD, b1: 0x80 | (o.readLength > 0 ? 0x40 : 0) | 1, itt: o.itt, lun: o.lun, rest });
}

/** A LUN number as the 8-byte field (single-level, peripheral or flat addressing). */
export function encodeLun(n: number): Uint8Array {
  const out = new Uint8Array(8);
  if (n < 256) out[1] = n;
  else {
    out[0] = 0x40 | ((n >> 8) & 0x3f);
    out[1] = n & 0xff;
  }
  return out;
}

export function decodeLun(b: Uint8Array): number {
  const method = b[0] >> 6;
  if (method === 0) return b[1];
  if (method === 1) return ((b[0] & 0x3f) << 8) | b[1];
  return -1;
}

export interface DataIn {
  status: boolean;
  statusCode: number;
  offset: number;
  residualUnderflow: boolean;
  residual: number;
  statSn: number;
}

export function parseDataIn(p: Pdu): DataIn {
  const r = new ByteReader(p.rest);
  r.u32('Target Transfer Tag');
  const statSn = r.u32('StatSN');
  r.u32('ExpCmdSN');
  r.u32('MaxCmdSN');
  r.u32('DataSN');
  const offset = r.u32('Buffer Offset');
  const residual = r.u32('Residual Count');
  return { status: (p.b1 & 1) !== 0, statusCode: p.b3, offset, residualUnderflow: (p.b1 & 2) !== 0, residual, statSn };
}

export interface ScsiResponse {
  response: number;
  status: number;
  statSn: number;
  residual: number;
  sense: Uint8Array | null;
}

export function parseScsiResponse(p: Pdu): ScsiResponse {
  const r = new ByteReader(p.rest);
  r.u32('SNACK Tag');
  const statSn = r.u32('StatSN');
  r.u32('ExpCmdSN');
  r.u32('MaxCmdSN');
  r.u32('ExpDataSN');
  r.u32('Bidi Residual');
  const residual = r.u32('Residual Count');
  let sense: Uint8Array | null = null;
  if (p.data.length >= 2) {
    const n = (p.data[0] << 8) | p.data[1];
    sense = p.data.slice(2, 2 + Math.min(n, p.data.length - 2));
  }
  return { response: p.b2, status: p.b3, statSn, residual, sense };
}

const SENSE_KEYS = ['NO SENSE', 'RECOVERED ERROR', 'NOT READY', 'MEDIUM ERROR', 'HARDWARE ERROR', 'ILLEGAL REQUEST', 'UNIT ATTENTION', 'DATA PROTECT', 'BLANK CHECK', 'VENDOR SPECIFIC', 'COPY ABORTED', 'ABORTED COMMAND', '0x0C', 'VOLUME OVERFLOW', 'MISCOMPARE', '0x0F'];

/** Fixed or descriptor sense data: the key's name and ASC/ASCQ. */
export function parseSense(s: Uint8Array): { key: string; asc: number; ascq: number } | null {
  if (s.length < 3) return null;
  const code = s[0] & 0x7f;
  if (code === 0x72 || code === 0x73) return { key: SENSE_KEYS[s[1] & 0x0f], asc: s[2], ascq: s[3] ?? 0 };
  if (s.length < 14) return { key: SENSE_KEYS[s[2] & 0x0f], asc: 0, ascq: 0 };
  return { key: SENSE_KEYS[s[2] & 0x0f], asc: s[12], ascq: s[13] };
}

// CDBs

export const inquiryCdb = (allocation: number): Uint8Array => new ByteWriter(6).u8(0x12).u8(0).u8(0).u16(allocation).u8(0).finish();
export const reportLunsCdb = (allocation: number): Uint8Array => new ByteWriter(12).u8(0xa0).u8(0).u8(0).u8(0).u8(0).u8(0).u32(allocation).u8(0).u8(0).finish();
export const readCapacity10Cdb = (): Uint8Array => new Uint8Array([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
export const readCapacity16Cdb = (allocation = 32): Uint8Array => new ByteWriter(16).u8(0x9e).u8(0x10).u64(0n).u32(allocation).u8(0).u8(0).finish();
export const read10Cdb = (lba: number, blocks: number): Uint8Array => new ByteWriter(10).u8(0x28).u8(0).u32(lba).u8(0).u16(blocks).u8(0).finish();
export const read16Cdb = (lba: number, blocks: number): Uint8Array => new ByteWriter(16).u8(0x88).u8(0).u64(BigInt(lba)).u32(blocks).u8(0).u8(0).finish();

const trimText = (b: Uint8Array): string => fromLatin1(b).replace(/[\0 ]+$/, '');

const DEVICE_TYPES: Record<number, string> = { 0: 'disk', 1: 'tape', 5: 'cd/dvd', 7: 'optical', 8: 'changer', 0x0c: 'controller', 0x0d: 'enclosure', 0x1f: 'unknown' };

export function parseInquiry(d: Uint8Array): { deviceType: string; qualifier: number; removable: boolean; version: number; vendor: string; product: string; revision: string } {
  if (d.length < 36) throw new ProtocolError(`iSCSI: INQUIRY data of ${d.length} bytes (at least 36)`);
  return {
    deviceType: DEVICE_TYPES[d[0] & 0x1f] ?? `type ${d[0] & 0x1f}`,
    qualifier: d[0] >> 5,
    removable: (d[1] & 0x80) !== 0,
    version: d[2],
    vendor: trimText(d.subarray(8, 16)),
    product: trimText(d.subarray(16, 32)),
    revision: trimText(d.subarray(32, 36)),
  };
}

export function parseReportLuns(d: Uint8Array): number[] {
  const r = new ByteReader(d);
  const length = r.u32('LUN list length');
  r.u32('reserved');
  const n = Math.min(length, d.length - 8) / 8;
  return Array.from({ length: Math.floor(n) }, () => decodeLun(r.bytesN(8, 'LUN')));
}

export function parseReadCapacity10(d: Uint8Array): { lastLba: number; blockSize: number } {
  const r = new ByteReader(d);
  return { lastLba: r.u32('returned LBA'), blockSize: r.u32('block length') };
}

export function parseReadCapacity16(d: Uint8Array): { lastLba: number; blockSize: number; thinProvisioned: boolean } {
  const r = new ByteReader(d);
  const lba = r.u64('returned LBA');
  if (lba >= BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`iSCSI: READ CAPACITY(16) LBA ${lba} is too large`);
  const blockSize = r.u32('block length');
  r.u8('protection');
  r.u8('exponent');
  const tp = r.remaining >= 1 ? (r.u8('LBPME') & 0x80) !== 0 : false;
  return { lastLba: Number(lba), blockSize, thinProvisioned: tp };
}
