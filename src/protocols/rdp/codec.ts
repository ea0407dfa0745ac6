// RDP connection initiation, MS-RDPBCGR 2.2.1.1–2.2.1.2: TPKT (RFC 1006 §6), the X.224 Connection Request
// and Confirm TPDUs (ISO 8073 / X.224 §13.3, §13.4), the routing cookie, RDP_NEG_REQ, RDP_NEG_RSP and
// RDP_NEG_FAILURE, with the security protocol flags of 2.2.1.1.1 and the failure codes of 2.2.1.2.2.
import { ByteReader, ByteWriter } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** MS-RDPBCGR 2.2.1.1.1 requestedProtocols / selectedProtocol flags. */
export const Protocols = {
  rdp: 0x0, // PROTOCOL_RDP: standard RDP security (no flag)
  tls: 0x1, // PROTOCOL_SSL
  hybrid: 0x2, // PROTOCOL_HYBRID: CredSSP (NLA)
  rdstls: 0x4, // PROTOCOL_RDSTLS
  hybrid_ex: 0x8, // PROTOCOL_HYBRID_EX: CredSSP with Early User Authorization Result PDU
  rdsaad: 0x10, // PROTOCOL_RDSAAD: Azure AD authentication
} as const;

export type ProtocolName = keyof typeof Protocols;

export const PROTOCOL_TITLES: Record<ProtocolName, string> = {
  rdp: 'Standard RDP Security',
  tls: 'TLS',
  hybrid: 'CredSSP (NLA)',
  rdstls: 'RDSTLS',
  hybrid_ex: 'CredSSP with Early User Authorization (HYBRID_EX)',
  rdsaad: 'RDS AAD',
};

export function protocolNames(flags: number): ProtocolName[] {
  if (flags === 0) return ['rdp'];
  return (Object.keys(Protocols) as ProtocolName[]).filter((n) => n !== 'rdp' && (flags & Protocols[n]) !== 0);
}

/** The single protocol a server selects (it is one value, not a set). */
export function selectedName(value: number): string {
  const hit = (Object.keys(Protocols) as ProtocolName[]).find((n) => Protocols[n] === value);
  return hit ?? `unknown (0x${value.toString(16)})`;
}

/** MS-RDPBCGR 2.2.1.2.2 failureCode. */
export const FAILURE_CODES: Record<number, string> = {
  1: 'SSL_REQUIRED_BY_SERVER',
  2: 'SSL_NOT_ALLOWED_BY_SERVER',
  3: 'SSL_CERT_NOT_ON_SERVER',
  4: 'INCONSISTENT_FLAGS',
  5: 'HYBRID_REQUIRED_BY_SERVER',
  6: 'SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER',
};

/** MS-RDPBCGR 2.2.1.2.1 RDP_NEG_RSP flags. */
const RSP_FLAGS: [number, string][] = [
  [0x01, 'EXTENDED_CLIENT_DATA_SUPPORTED'],
  [0x02, 'DYNVC_GFX_PROTOCOL_SUPPORTED'],
  [0x04, 'NEGRSP_FLAG_RESERVED'],
  [0x08, 'RESTRICTED_ADMIN_MODE_SUPPORTED'],
  [0x10, 'REDIRECTED_AUTHENTICATION_MODE_SUPPORTED'],
];

export function responseFlagNames(flags: number): string[] {
  return RSP_FLAGS.filter(([bit]) => flags & bit).map(([, n]) => n);
}

export interface ConnectionRequest {
  /** requestedProtocols flags; undefined sends no RDP_NEG_REQ (a pre-RDP 5 client). */
  requested?: number;
  /** "Cookie: mstshash=<user>" (2.2.1.1: routing token for load balancers). */
  cookieUser?: string;
  /** RDP_NEG_REQ flags (RESTRICTED_ADMIN_MODE_REQUIRED 0x01, REDIRECTED_AUTHENTICATION_MODE_REQUIRED 0x02, CORRELATION_INFO_PRESENT 0x08). */
  flags?: number;
}

/** TPKT header (RFC 1006 §6): version 3, reserved, 16-bit length including the header. */
export function tpkt(payload: Uint8Array): Uint8Array {
  if (payload.length + 4 > 0xffff) throw new ProtocolError('TPKT payload too large');
  return new ByteWriter(payload.length + 4).u8(3).u8(0).u16(payload.length + 4).bytes(payload).finish();
}

/** X.224 Connection Request (2.2.1.1): LI, CR|CDT 0xE0, DST-REF 0, SRC-REF 0, class 0, then the variable part. */
export function encodeConnectionRequest(req: ConnectionRequest): Uint8Array {
  const variable = new ByteWriter(64);
  if (req.cookieUser !== undefined) {
    if (!/^[\x21-\x7e]{1,64}$/.test(req.cookieUser)) throw new ProtocolError('the mstshash cookie is 1–64 visible ASCII characters');
    variable.text(`Cookie: mstshash=${req.cookieUser}\r\n`);
  }
  if (req.requested !== undefined) {
    // RDP_NEG_REQ (2.2.1.1.1): type 0x01, flags, length 8, requestedProtocols (little endian).
    variable.u8(0x01).u8(req.flags ?? 0).u16le(8).u32le(req.requested);
  }
  const body = variable.finish();
  const tpdu = new ByteWriter(7 + body.length);
  tpdu.u8(6 + body.length).u8(0xe0).u16(0).u16(0).u8(0).bytes(body);
  return tpkt(tpdu.finish());
}

export type Negotiation =
  | { kind: 'response'; selected: number; flags: number }
  | { kind: 'failure'; code: number; flags: number }
  | { kind: 'none' }
  /** No Confirm: an X.224 Data TPDU with an MCS Disconnect Provider Ultimatum (T.125 §11.15). */
  | { kind: 'disconnect'; reason: string };

/** T.125 Reason (§7, DomainMCSPDU disconnectProviderUltimatum). */
const MCS_REASONS = ['rn-domain-disconnected', 'rn-provider-initiated', 'rn-token-purged', 'rn-user-requested', 'rn-channel-purged'];

export interface ConnectionConfirm {
  /** X.224 SRC-REF the server picked. */
  sourceRef: number;
  negotiation: Negotiation;
  raw: Uint8Array;
}

/** One TPKT-framed TPDU (RFC 1006 §6). */
export const tpktFrame: Frame<Uint8Array> = (buf) => {
  if (buf.length === 0) return undefined;
  if (buf[0] !== 3) {
    if (buf[0] === 0x16 || buf[0] === 0x15) throw new ProtocolError('the server answered with a TLS record, not TPKT: it expects TLS from the first byte');
    throw new ProtocolError(`not a TPKT header (version ${buf[0]}, expected 3): the server does not speak RDP here`);
  }
  if (buf.length < 4) return undefined;
  const length = (buf[2] << 8) | buf[3];
  if (length < 7) throw new ProtocolError(`TPKT length ${length} is too short for an X.224 TPDU`);
  if (buf.length < length) return undefined;
  return { value: buf.slice(0, length), size: length };
};

/** X.224 Connection Confirm (2.2.1.2) with an optional RDP_NEG_RSP or RDP_NEG_FAILURE. */
export function decodeConnectionConfirm(packet: Uint8Array): ConnectionConfirm {
  const r = new ByteReader(packet);
  r.skip(4, 'TPKT header');
  const li = r.u8('X.224 length indicator');
  if (li + 5 > packet.length) throw new ProtocolError(`X.224 length indicator ${li} runs past the ${packet.length}-byte TPKT`);
  const code = r.u8('X.224 TPDU code');
  if (code === 0xf0) {
    // Data TPDU (X.224 §13.7: LI 2, 0xF0, EOT): xrdp answers some offers with an MCS disconnect instead.
    r.u8('X.224 EOT');
    const b0 = r.u8('MCS PDU');
    const b1 = r.remaining > 0 ? r.u8('MCS reason') : 0;
    // PER: DomainMCSPDU choice 8 (disconnectProviderUltimatum) in the top 6 bits, the 3-bit reason across the byte boundary.
    if (b0 >> 2 !== 8) throw new ProtocolError(`expected an X.224 Connection Confirm, got a Data TPDU with MCS PDU 0x${b0.toString(16)}`);
    const reason = ((b0 & 0x03) << 1) | (b1 >> 7);
    return { sourceRef: 0, negotiation: { kind: 'disconnect', reason: MCS_REASONS[reason] ?? `reason ${reason}` }, raw: packet };
  }
  if ((code & 0xf0) !== 0xd0) throw new ProtocolError(`expected an X.224 Connection Confirm (0xD0), got TPDU code 0x${code.toString(16)}`);
  r.u16('DST-REF');
  const sourceRef = r.u16('SRC-REF');
  r.u8('class option');
  const rest = packet.subarray(r.offset, 5 + li);
  if (rest.length === 0) return { sourceRef, negotiation: { kind: 'none' }, raw: packet };
  if (rest.length < 8) throw new ProtocolError(`negotiation data of ${rest.length} bytes, expected 8`);
  const n = new ByteReader(rest);
  const type = n.u8('negotiation type');
  const flags = n.u8('negotiation flags');
  const length = n.u16le('negotiation length');
  if (length !== 8) throw new ProtocolError(`negotiation structure length ${length}, must be 8`);
  const value = n.u32le('negotiation value');
  if (type === 0x02) return { sourceRef, negotiation: { kind: 'response', selected: value, flags }, raw: packet };
  if (type === 0x03) return { sourceRef, negotiation: { kind: 'failure', code: value, flags }, raw: packet };
  throw new ProtocolError(`unknown negotiation type 0x${type.toString(16)} in the Connection Confirm`);
}

export function describeConfirm(c: ConnectionConfirm): string {
  const n = c.negotiation;
  if (n.kind === 'disconnect') return `MCS Disconnect Provider Ultimatum (${n.reason}) instead of a Connection Confirm`;
  if (n.kind === 'none') return 'X.224 Connection Confirm, no negotiation data (standard RDP security)';
  if (n.kind === 'failure') return `X.224 Connection Confirm, RDP_NEG_FAILURE ${FAILURE_CODES[n.code] ?? n.code}`;
  return `X.224 Connection Confirm, RDP_NEG_RSP selected ${selectedName(n.selected)}${n.flags ? ` [${responseFlagNames(n.flags).join(', ')}]` : ''}`;
}

export function describeRequest(req: ConnectionRequest): string {
  const protocols = req.requested === undefined ? 'no RDP_NEG_REQ' : `requested ${protocolNames(req.requested).join('|')}`;
  return `X.224 Connection Request, ${protocols}${req.cookieUser ? `, cookie mstshash=${req.cookieUser}` : ''}`;
}
