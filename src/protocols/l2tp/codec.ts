// L2TPv2 control messages (RFC 2661 sections 3 and 4): the header with sequence numbers and AVPs
// (attribute-value pairs), SCCRQ, SCCRP and StopCCN. Sans I/O.
import { ByteReader, ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

const MAX_AVPS = 256;

export const MESSAGE_TYPES: Record<number, string> = { 0: 'ZLB', 1: 'SCCRQ', 2: 'SCCRP', 3: 'SCCCN', 4: 'StopCCN', 6: 'HELLO', 7: 'OCRQ', 8: 'OCRP', 9: 'OCCN', 10: 'ICRQ', 11: 'ICRP', 12: 'ICCN', 14: 'CDN', 15: 'WEN', 16: 'SLI' };

/** Section 4.4: AVP attribute types (IETF vendor 0). */
export const AVP = { MESSAGE_TYPE: 0, RESULT_CODE: 1, PROTOCOL_VERSION: 2, FRAMING: 3, BEARER: 4, TIE_BREAKER: 5, FIRMWARE: 6, HOST_NAME: 7, VENDOR_NAME: 8, ASSIGNED_TUNNEL_ID: 9, RECEIVE_WINDOW: 10, CHALLENGE: 11 } as const;

/** Section 4.4.2: StopCCN result codes. */
export const STOP_RESULTS: Record<number, string> = {
  1: 'General request to clear control connection',
  2: 'General error (see the error code)',
  3: 'Control channel already exists',
  4: 'Requester is not authorized to establish a control channel',
  5: 'The protocol version of the requester is not supported',
  6: 'Requester is being shut down',
  7: 'Finite State Machine error',
};

export interface Avp {
  mandatory: boolean;
  hidden: boolean;
  vendor: number;
  type: number;
  value: Uint8Array;
}

export interface ControlMessage {
  tunnelId: number;
  sessionId: number;
  ns: number;
  nr: number;
  /** 0 for a ZLB (zero-length body) acknowledgement. */
  messageType: number;
  avps: Avp[];
}

/** T, L, S set, version 2 (section 3.1). */
const CONTROL_FLAGS = 0xc802;

export function encodeControl(m: { tunnelId: number; sessionId?: number; ns: number; nr: number; avps: Omit<Avp, 'hidden' | 'vendor'>[] }): Uint8Array {
  const body = new ByteWriter(256);
  for (const a of m.avps) body.u16((a.mandatory ? 0x8000 : 0) | (6 + a.value.length)).u16(0).u16(a.type).bytes(a.value);
  const avps = body.finish();
  return new ByteWriter(12 + avps.length).u16(CONTROL_FLAGS).u16(12 + avps.length).u16(m.tunnelId).u16(m.sessionId ?? 0).u16(m.ns).u16(m.nr).bytes(avps).finish();
}

export function decodeControl(bytes: Uint8Array): ControlMessage {
  const r = new ByteReader(bytes);
  const flags = r.u16('flags and version');
  if ((flags & 0x000f) !== 2) throw new ProtocolError(`L2TP version ${flags & 0xf}, not 2 (L2TPv3 or not L2TP)`);
  if (!(flags & 0x8000)) throw new ProtocolError('an L2TP data message, not a control message');
  if ((flags & 0x4800) !== 0x4800) throw new ProtocolError('an L2TP control message must carry Length and Sequence fields (section 3.1)');
  const length = r.u16('Length');
  if (length !== bytes.length) throw new ProtocolError(`L2TP Length ${length} does not match the ${bytes.length}-byte datagram`);
  if (flags & 0x0200) r.u16('Offset Size');
  const tunnelId = r.u16('Tunnel ID');
  const sessionId = r.u16('Session ID');
  const ns = r.u16('Ns');
  const nr = r.u16('Nr');
  const avps: Avp[] = [];
  while (!r.done) {
    if (avps.length >= MAX_AVPS) throw new ProtocolError(`more than ${MAX_AVPS} AVPs`);
    const head = r.u16('AVP flags and length');
    const len = head & 0x03ff;
    if (len < 6) throw new ProtocolError(`AVP length ${len} is under 6`);
    const vendor = r.u16('Vendor ID');
    const type = r.u16('Attribute Type');
    avps.push({ mandatory: (head & 0x8000) !== 0, hidden: (head & 0x4000) !== 0, vendor, type, value: r.bytesN(len - 6, `AVP ${type} value`) });
  }
  const first = avps[0];
  if (avps.length > 0 && (first.type !== AVP.MESSAGE_TYPE || first.vendor !== 0 || first.value.length !== 2)) throw new ProtocolError('the first AVP of an L2TP control message must be Message Type (section 4.4.1)');
  return { tunnelId, sessionId, ns, nr, messageType: avps.length === 0 ? 0 : (first.value[0] << 8) | first.value[1], avps };
}

export function avpValue(m: ControlMessage, type: number): Uint8Array | undefined {
  return m.avps.find((a) => a.vendor === 0 && a.type === type && !a.hidden)?.value;
}

export function u16(v: number): Uint8Array {
  return new ByteWriter(2).u16(v).finish();
}

export function u32(v: number): Uint8Array {
  return new ByteWriter(4).u32(v).finish();
}

export function readU(v: Uint8Array | undefined): number | null {
  if (!v || v.length === 0 || v.length > 4) return null;
  let n = 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

export function text(v: Uint8Array | undefined): string | null {
  return v ? fromLatin1(v) : null;
}

export function sccrq(o: { tunnelId: number; hostname: string; vendor: string }): Uint8Array {
  return encodeControl({
    tunnelId: 0,
    ns: 0,
    nr: 0,
    avps: [
      { mandatory: true, type: AVP.MESSAGE_TYPE, value: u16(1) },
      { mandatory: true, type: AVP.PROTOCOL_VERSION, value: u16(0x0100) },
      { mandatory: true, type: AVP.HOST_NAME, value: utf8(o.hostname) },
      { mandatory: true, type: AVP.FRAMING, value: u32(3) },
      { mandatory: true, type: AVP.ASSIGNED_TUNNEL_ID, value: u16(o.tunnelId) },
      { mandatory: false, type: AVP.VENDOR_NAME, value: utf8(o.vendor) },
      { mandatory: false, type: AVP.RECEIVE_WINDOW, value: u16(4) },
    ],
  });
}

/** StopCCN (section 6.4): our Assigned Tunnel ID and Result Code 1, sent to the peer's tunnel. */
export function stopCcn(o: { peerTunnelId: number; ourTunnelId: number; ns: number; nr: number }): Uint8Array {
  return encodeControl({
    tunnelId: o.peerTunnelId,
    ns: o.ns,
    nr: o.nr,
    avps: [
      { mandatory: true, type: AVP.MESSAGE_TYPE, value: u16(4) },
      { mandatory: true, type: AVP.ASSIGNED_TUNNEL_ID, value: u16(o.ourTunnelId) },
      { mandatory: true, type: AVP.RESULT_CODE, value: u16(1) },
    ],
  });
}

export function describe(m: ControlMessage): string {
  return `${MESSAGE_TYPES[m.messageType] ?? `message ${m.messageType}`} tunnel ${m.tunnelId} Ns ${m.ns} Nr ${m.nr}, ${m.avps.length} AVPs`;
}
