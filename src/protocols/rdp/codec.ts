// RDP connection initiation, MS-RDPBCGR 2.2.1.1–2.2.1.2: TPKT (RFC 1006 §6), the X.224 Connection Request
// and Confirm TPDUs (ISO 8073 / X.224 §13.3, §13.4), the routing cookie, RDP_NEG_REQ, RDP_NEG_RSP and
// RDP_NEG_FAILURE, with the security protocol flags of 2.2.1.1.1 and the failure codes of 2.2.1.2.2.
import { BerReader, boolean, integer, octetString, sequence } from '../../core/ber.ts';
import { ByteReader, ByteWriter, concat, indexOf } from '../../core/bytes.ts';
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


// --- Basic Settings Exchange (MS-RDPBCGR 2.2.1.3–2.2.1.4): MCS Connect Initial / Connect Response ---
// T.125 Connect-Initial ([APPLICATION 101], BER) carrying a T.124 GCC Conference Create Request (PER) whose
// user data are the client data blocks; the answer is a Connect-Response ([APPLICATION 102]) with the server
// data blocks. Sent over TLS, it is the first application data of the session: the proof that the upgraded
// connection carries bytes both ways.

/** X.224 Data TPDU header (X.224 §13.7): LI 2, DT 0xF0, EOT. */
const X224_DATA = Uint8Array.of(0x02, 0xf0, 0x80);

/** T.125 DomainParameters: eight INTEGERs (maxChannelIds … protocolVersion). */
function domainParameters(values: number[]): Uint8Array {
  return sequence(values.map((v) => integer(v)));
}

function block(type: number, body: Uint8Array): Uint8Array {
  return new ByteWriter(body.length + 4).u16le(type).u16le(body.length + 4).bytes(body).finish();
}

function utf16Fixed(text: string, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < text.length && i * 2 + 1 < bytes - 2; i++) {
    out[i * 2] = text.charCodeAt(i) & 0xff;
    out[i * 2 + 1] = text.charCodeAt(i) >> 8;
  }
  return out;
}

/** Client data blocks: TS_UD_CS_CORE (2.2.1.3.2), TS_UD_CS_SEC (2.2.1.3.3), TS_UD_CS_NET (2.2.1.3.4). */
export function clientDataBlocks(selectedProtocol: number, clientName = 'PORTOLAN'): Uint8Array {
  const core = new ByteWriter(216)
    .u32le(0x00080004) // version: RDP 5.0 and later
    .u16le(1024) // desktopWidth
    .u16le(768) // desktopHeight
    .u16le(0xca01) // colorDepth: RNS_UD_COLOR_8BPP
    .u16le(0xaa03) // SASSequence: RNS_UD_SAS_DEL
    .u32le(0x409) // keyboardLayout: US
    .u32le(2600) // clientBuild
    .bytes(utf16Fixed(clientName, 32)) // clientName, UTF-16LE, NUL-terminated
    .u32le(4) // keyboardType: IBM enhanced
    .u32le(0) // keyboardSubType
    .u32le(12) // keyboardFunctionKey
    .bytes(new Uint8Array(64)) // imeFileName
    .u16le(0xca01) // postBeta2ColorDepth
    .u16le(1) // clientProductId
    .u32le(0) // serialNumber
    .u16le(24) // highColorDepth
    .u16le(0x0007) // supportedColorDepths: 24, 16, 15 bpp
    .u16le(0x0001) // earlyCapabilityFlags: RNS_UD_CS_SUPPORT_ERRINFO_PDU
    .bytes(new Uint8Array(64)) // clientDigProductId
    .u8(0) // connectionType
    .u8(0) // pad1octet
    .u32le(selectedProtocol) // serverSelectedProtocol: must repeat what the server selected
    .finish();
  // encryptionMethods: 40-, 56- and 128-bit for standard RDP security; none under TLS (2.2.1.3.3).
  const sec = new ByteWriter(8).u32le(selectedProtocol === 0 ? 0x1b : 0).u32le(0).finish();
  const net = new ByteWriter(4).u32le(0).finish(); // channelCount 0
  return concat([block(0xc001, core), block(0xc002, sec), block(0xc003, net)]);
}

/** T.124 PER length: one octet below 128, else two with the top bit set (X.691 §10.9). */
function perLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  if (n > 0x3fff) throw new ProtocolError('GCC user data too long');
  return Uint8Array.of(0x80 | (n >> 8), n & 0xff);
}

/** GCC Conference Create Request (T.124, as laid out in MS-RDPBCGR 2.2.1.3.1) around the client data. */
export function gccConferenceCreateRequest(userData: Uint8Array): Uint8Array {
  const ccr = concat([Uint8Array.of(0x00, 0x08, 0x00, 0x10, 0x00, 0x01, 0xc0, 0x00, 0x44, 0x75, 0x63, 0x61), perLength(userData.length), userData]); // ... h221 key "Duca"
  return concat([Uint8Array.of(0x00, 0x05, 0x00, 0x14, 0x7c, 0x00, 0x01), perLength(ccr.length), ccr]); // t124Identifier 0.0.20.124.0.1
}

/** The MCS Connect Initial PDU with GCC Conference Create Request (2.2.1.3), TPKT and X.224 framed. */
export function encodeMcsConnectInitial(selectedProtocol: number): Uint8Array {
  const mcs = sequence(
    [
      octetString(Uint8Array.of(1)), // callingDomainSelector
      octetString(Uint8Array.of(1)), // calledDomainSelector
      boolean(true), // upwardFlag
      domainParameters([34, 2, 0, 1, 0, 1, 0xffff, 2]), // targetParameters
      domainParameters([1, 1, 1, 1, 0, 1, 0x420, 2]), // minimumParameters
      domainParameters([0xffff, 0xfc17, 0xffff, 1, 0, 1, 0xffff, 2]), // maximumParameters
      octetString(gccConferenceCreateRequest(clientDataBlocks(selectedProtocol))), // userData
    ],
    101,
    'application',
  );
  return tpkt(concat([X224_DATA, mcs]));
}

export interface ServerData {
  /** T.125 Connect-Response result (0 rt-successful). */
  result: number;
  resultName: string;
  /** TS_UD_SC_CORE version (2.2.1.4.2). */
  version: number | null;
  versionName: string | null;
  clientRequestedProtocols: number | null;
  earlyCapabilityFlags: number | null;
  /** TS_UD_SC_SEC1 (2.2.1.4.3). */
  encryptionMethod: number | null;
  encryptionLevel: number | null;
  /** TS_UD_SC_NET (2.2.1.4.4). */
  mcsChannelId: number | null;
  channelCount: number | null;
  blocks: { type: string; length: number }[];
}

const MCS_RESULTS = ['rt-successful', 'rt-domain-merging', 'rt-domain-not-hierarchical', 'rt-no-such-channel', 'rt-no-such-domain', 'rt-no-such-user', 'rt-not-admitted', 'rt-other-user-id', 'rt-parameters-unacceptable', 'rt-token-not-available', 'rt-token-not-possessed', 'rt-too-many-channels', 'rt-too-many-tokens', 'rt-too-many-users', 'rt-unspecified-failure', 'rt-user-rejected'];

/** TS_UD_SC_CORE versions (2.2.1.4.2). */
const RDP_VERSIONS: Record<number, string> = {
  0x00080001: 'RDP 4.0',
  0x00080004: 'RDP 5.0 to 8.1',
  0x00080005: 'RDP 10.0',
  0x00080006: 'RDP 10.1',
  0x00080007: 'RDP 10.2',
  0x00080008: 'RDP 10.3',
  0x00080009: 'RDP 10.4',
  0x0008000a: 'RDP 10.5',
  0x0008000b: 'RDP 10.6',
  0x0008000c: 'RDP 10.7',
  0x0008000d: 'RDP 10.8',
  0x0008000e: 'RDP 10.9',
  0x0008000f: 'RDP 10.10',
  0x00080010: 'RDP 10.11',
  0x00080011: 'RDP 10.12',
};

const BLOCK_NAMES: Record<number, string> = { 0x0c01: 'SC_CORE', 0x0c02: 'SC_SECURITY', 0x0c03: 'SC_NET', 0x0c04: 'SC_MCS_MSGCHANNEL', 0x0c08: 'SC_MULTITRANSPORT' };

/** The MCS Connect Response (2.2.1.4): the result and the server data blocks inside the GCC response. */
export function decodeMcsConnectResponse(packet: Uint8Array): ServerData {
  const r = new ByteReader(packet);
  r.skip(4, 'TPKT header');
  const li = r.u8('X.224 length indicator');
  const code = r.u8('X.224 TPDU code');
  if (code !== 0xf0 || li !== 2) throw new ProtocolError(`expected an X.224 Data TPDU, got code 0x${code.toString(16)}`);
  r.u8('X.224 EOT');
  const body = r.rest();
  if (body[0] === 0x21 || body[0] === 0x20) {
    const reason = ((body[0] & 0x03) << 1) | ((body[1] ?? 0) >> 7);
    throw new ProtocolError(`the server sent an MCS Disconnect Provider Ultimatum (${MCS_REASONS[reason] ?? reason}) instead of a Connect Response`);
  }
  const top = new BerReader(body, 'MCS Connect-Response');
  const cr = top.sequence('Connect-Response', 102, 'application');
  const result = cr.enumerated('result');
  cr.int('calledConnectId');
  cr.sequence('domainParameters');
  const userData = cr.octets('userData');
  const out: ServerData = { result, resultName: MCS_RESULTS[result] ?? `result ${result}`, version: null, versionName: null, clientRequestedProtocols: null, earlyCapabilityFlags: null, encryptionMethod: null, encryptionLevel: null, mcsChannelId: null, channelCount: null, blocks: [] };
  // The GCC Conference Create Response: its H.221 key "McDn", then a PER length, then the server data blocks.
  const key = indexOf(userData, Uint8Array.of(0x4d, 0x63, 0x44, 0x6e));
  if (key < 0) {
    if (result !== 0) return out;
    throw new ProtocolError('GCC Conference Create Response without the "McDn" key');
  }
  let at = key + 4;
  let length = userData[at++];
  if (length & 0x80) length = ((length & 0x7f) << 8) | userData[at++];
  const blocks = new ByteReader(userData.subarray(at, at + length));
  for (let n = 0; !blocks.done && n < 32; n++) {
    const type = blocks.u16le('block type');
    const size = blocks.u16le('block length');
    if (size < 4) throw new ProtocolError(`server data block 0x${type.toString(16)} with length ${size}`);
    const b = new ByteReader(blocks.bytesN(size - 4, `block 0x${type.toString(16)}`));
    out.blocks.push({ type: BLOCK_NAMES[type] ?? `0x${type.toString(16)}`, length: size });
    if (type === 0x0c01) {
      out.version = b.u32le('version');
      out.versionName = RDP_VERSIONS[out.version] ?? null;
      if (b.remaining >= 4) out.clientRequestedProtocols = b.u32le('clientRequestedProtocols');
      if (b.remaining >= 4) out.earlyCapabilityFlags = b.u32le('earlyCapabilityFlags');
    } else if (type === 0x0c02) {
      out.encryptionMethod = b.u32le('encryptionMethod');
      out.encryptionLevel = b.u32le('encryptionLevel');
    } else if (type === 0x0c03) {
      out.mcsChannelId = b.u16le('MCSChannelId');
      out.channelCount = b.u16le('channelCount');
    }
  }
  return out;
}
