// DCE/RPC connection-oriented PDUs, The Open Group C706 (DCE 1.1: Remote Procedure Call) chapter 12, with the
// extensions of [MS-RPCE] §2.2.2; NDR (C706 chapter 14) for the endpoint mapper's ept_lookup (C706 appendix O).
//
// How it works: every PDU starts with the 16-byte common header (§12.6.3.1), whose frag_length says how long the
// whole fragment is, so `pduFrame` cuts fragments off a stream and `decodePdu` reads the body of its type. The
// data representation label (drep) says the byte order of what follows; we send little endian and read either.
// An authentication verifier (sec_trailer, [MS-RPCE] §2.2.2.11) sits at the end of a fragment when auth_length is
// non-zero, 4-byte aligned after the body. Requests and responses carry stub data in NDR; only what the endpoint
// mapper needs is encoded here.
import { ByteReader, ByteWriter, concat, fromLatin1, toHex } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const PTYPE = {
  request: 0,
  ping: 1,
  response: 2,
  fault: 3,
  working: 4,
  nocall: 5,
  reject: 6,
  ack: 7,
  cl_cancel: 8,
  fack: 9,
  cancel_ack: 10,
  bind: 11,
  bind_ack: 12,
  bind_nak: 13,
  alter_context: 14,
  alter_context_resp: 15,
  auth3: 16,
  shutdown: 17,
  co_cancel: 18,
  orphaned: 19,
} as const;
const PTYPE_NAMES = Object.fromEntries(Object.entries(PTYPE).map(([k, v]) => [v, k])) as Record<number, string>;

/** pfc_flags (§12.6.3.1). */
export const PFC = { firstFrag: 0x01, lastFrag: 0x02, pendingCancel: 0x04, concMpx: 0x10, didNotExecute: 0x20, maybe: 0x40, objectUuid: 0x80 } as const;

/** Authentication services ([MS-RPCE] §2.2.1.1.7) and levels (§2.2.1.1.8). */
export const AUTH_TYPE = { none: 0, gssNegotiate: 9, winnt: 10, gssKerberos: 16, netlogon: 68 } as const;
export const AUTH_LEVEL = { none: 1, connect: 2, call: 3, packet: 4, integrity: 5, privacy: 6 } as const;

/** The largest fragment we accept: frag_length is 16 bits, so a fragment never exceeds 64 KiB. */
const HEADER = 16;

export interface SyntaxId {
  uuid: string;
  /** major.minor as the interface definition writes it. */
  version: { major: number; minor: number };
}

/** NDR 2.0 transfer syntax (C706 §14.1). */
export const NDR: SyntaxId = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', version: { major: 2, minor: 0 } };
/** NDR64 ([MS-RPCE] §2.2.5). */
export const NDR64: SyntaxId = { uuid: '71710533-beba-4937-8319-b5dbef9ccc36', version: { major: 1, minor: 0 } };
/** The endpoint mapper interface (C706 appendix O). */
export const EPMAPPER: SyntaxId = { uuid: 'e1af8308-5d1f-11c9-91a4-08002b14a0fa', version: { major: 3, minor: 0 } };

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in NDR's little-endian form (time_low, time_mid and time_hi as little-endian integers, the rest as bytes). */
export function uuidBytes(uuid: string): Uint8Array {
  if (!UUID_RE.test(uuid)) throw new ProtocolError(`not a UUID: ${uuid}`);
  const hex = uuid.replace(/-/g, '');
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return Uint8Array.of(b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], ...b.subarray(8));
}

export function uuidText(b: Uint8Array, le = true): string {
  if (b.length !== 16) throw new ProtocolError(`a UUID has 16 bytes, not ${b.length}`);
  const o = le ? [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], ...b.subarray(8)] : [...b];
  const h = toHex(Uint8Array.from(o));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Encoding (little endian, drep 0x10 0x00 0x00 0x00: ASCII, IEEE floats)

function header(w: ByteWriter, ptype: number, callId: number, flags = PFC.firstFrag | PFC.lastFrag): { finish(authLength: number): Uint8Array } {
  w.u8(5).u8(0).u8(ptype).u8(flags).u8(0x10).u8(0).u8(0).u8(0);
  w.u16le(0).u16le(0).u32le(callId);
  return {
    finish(authLength) {
      const out = w.finish();
      const v = new DataView(out.buffer);
      v.setUint16(8, out.length, true);
      v.setUint16(10, authLength, true);
      return out;
    },
  };
}

function syntax(w: ByteWriter, s: SyntaxId): void {
  w.bytes(uuidBytes(s.uuid)).u16le(s.version.major).u16le(s.version.minor);
}

export interface AuthVerifier {
  type: number;
  level: number;
  contextId: number;
  value: Uint8Array;
}

/** sec_trailer ([MS-RPCE] §2.2.2.11) after padding the body to 4 bytes; returns the auth_length. */
function trailer(w: ByteWriter, auth: AuthVerifier | undefined): number {
  if (!auth) return 0;
  const pad = (4 - ((w.length - HEADER) % 4)) % 4;
  for (let i = 0; i < pad; i++) w.u8(0);
  w.u8(auth.type).u8(auth.level).u8(pad).u8(0).u32le(auth.contextId).bytes(auth.value);
  return auth.value.length;
}

export interface PresentationContext {
  id: number;
  abstract: SyntaxId;
  transfer: SyntaxId[];
}

/** §12.6.4.3 bind (and alter_context, same body): fragment sizes, association group, the presentation contexts. */
export function bindPdu(o: { callId: number; contexts: PresentationContext[]; assocGroup?: number; maxFrag?: number; auth?: AuthVerifier; alter?: boolean }): Uint8Array {
  const w = new ByteWriter(128);
  const h = header(w, o.alter ? PTYPE.alter_context : PTYPE.bind, o.callId);
  const frag = o.maxFrag ?? 4280;
  w.u16le(frag).u16le(frag).u32le(o.assocGroup ?? 0);
  w.u8(o.contexts.length).u8(0).u16le(0);
  for (const c of o.contexts) {
    w.u16le(c.id).u8(c.transfer.length).u8(0);
    syntax(w, c.abstract);
    for (const t of c.transfer) syntax(w, t);
  }
  return h.finish(trailer(w, o.auth));
}

/** [MS-RPCE] §2.2.2.10 rpc_auth_3: four bytes of padding, then the verifier (the third leg of NTLMSSP). */
export function auth3Pdu(callId: number, auth: AuthVerifier): Uint8Array {
  const w = new ByteWriter(64);
  const h = header(w, PTYPE.auth3, callId);
  w.u32le(0);
  // The four pad bytes keep the verifier aligned; auth_pad_length stays 0 as Windows and Samba send it.
  w.u8(auth.type).u8(auth.level).u8(0).u8(0).u32le(auth.contextId).bytes(auth.value);
  return h.finish(auth.value.length);
}

/** §12.6.4.9 request: allocation hint, context, operation number, then NDR stub data. */
export function requestPdu(o: { callId: number; contextId: number; opnum: number; stub: Uint8Array; auth?: AuthVerifier }): Uint8Array {
  const w = new ByteWriter(64 + o.stub.length);
  const h = header(w, PTYPE.request, o.callId);
  w.u32le(o.stub.length).u16le(o.contextId).u16le(o.opnum).bytes(o.stub);
  return h.finish(trailer(w, o.auth));
}

// Decoding

export interface PduHeader {
  ptype: number;
  type: string;
  flags: number;
  littleEndian: boolean;
  fragLength: number;
  authLength: number;
  callId: number;
}

export type ContextResult = { result: 'acceptance' | 'user_rejection' | 'provider_rejection' | 'negotiate_ack' | string; reason: string; transfer: SyntaxId | null };

export type Pdu =
  | ({ kind: 'bind_ack' | 'alter_context_resp'; maxXmitFrag: number; maxRecvFrag: number; assocGroup: number; secondaryAddress: string; results: ContextResult[]; auth?: AuthVerifier } & PduHeader)
  | ({ kind: 'bind_nak'; reason: number; reasonText: string; versions: { major: number; minor: number }[] } & PduHeader)
  | ({ kind: 'response'; allocHint: number; contextId: number; cancelCount: number; stub: Uint8Array; auth?: AuthVerifier } & PduHeader)
  | ({ kind: 'fault'; allocHint: number; contextId: number; cancelCount: number; status: number; statusText: string } & PduHeader)
  | ({ kind: 'other' } & PduHeader);

/** A whole fragment off a stream: its frag_length is in the common header. */
export function pduFrame(): Frame<Uint8Array> {
  return (buf) => {
    if (buf.length < HEADER) {
      // Refuse non-DCE/RPC bytes as soon as the version byte arrives.
      if (buf.length >= 1 && buf[0] !== 5) throw new ProtocolError(`DCE/RPC: rpc_vers ${buf[0]}, expected 5 (connection-oriented)`);
      return undefined;
    }
    if (buf[0] !== 5) throw new ProtocolError(`DCE/RPC: rpc_vers ${buf[0]}, expected 5 (connection-oriented)`);
    const le = (buf[4] & 0x10) !== 0;
    const len = le ? buf[8] | (buf[9] << 8) : (buf[8] << 8) | buf[9];
    if (len < HEADER) throw new ProtocolError(`DCE/RPC: frag_length ${len} is shorter than the header`);
    if (buf.length < len) return undefined;
    return { value: buf.slice(0, len), size: len };
  };
}

/** Reads integers in the byte order the drep names. */
class NdrReader {
  readonly r: ByteReader;
  constructor(
    bytes: Uint8Array,
    readonly le: boolean,
    offset = 0,
  ) {
    this.r = new ByteReader(bytes, offset);
  }
  u8(f: string): number {
    return this.r.u8(f);
  }
  u16(f: string): number {
    return this.le ? this.r.u16le(f) : this.r.u16(f);
  }
  u32(f: string): number {
    return this.le ? this.r.u32le(f) : this.r.u32(f);
  }
  align(n: number): void {
    const pad = (n - (this.r.offset % n)) % n;
    this.r.skip(Math.min(pad, this.r.remaining), 'alignment');
  }
  bytes(n: number, f: string): Uint8Array {
    return this.r.bytesN(n, f);
  }
  syntax(f: string): SyntaxId {
    const u = this.bytes(16, `${f} uuid`);
    const major = this.u16(`${f} version`);
    const minor = this.u16(`${f} version`);
    return { uuid: uuidText(u, this.le), version: { major, minor } };
  }
}

/** C706 §12.6.4.4 p_cont_def_result_t and reasons, with [MS-RPCE] §2.2.2.4 negotiate_ack. */
const RESULTS = ['acceptance', 'user_rejection', 'provider_rejection', 'negotiate_ack'];
const PROVIDER_REASONS = ['reason_not_specified', 'abstract_syntax_not_supported', 'proposed_transfer_syntaxes_not_supported', 'local_limit_exceeded'];
/** C706 §12.6.3.1 p_reject_reason_t for bind_nak, and [MS-RPCE] §2.2.2.5 additions. */
const NAK_REASONS: Record<number, string> = {
  0: 'reason not specified',
  1: 'temporary congestion',
  2: 'local limit exceeded',
  3: 'called paddr unknown',
  4: 'protocol version not supported',
  5: 'default context not supported',
  6: 'user data not readable',
  7: 'no PSAP available',
  8: 'authentication type not recognized',
  9: 'invalid checksum',
};

/** Fault and reject status codes: C706 appendix E (nca_s_*) and the Windows RPC status values servers send. */
export const FAULT_STATUS: Record<number, string> = {
  0x00000005: 'access denied',
  0x000006f7: 'RPC_X_BAD_STUB_DATA: the stub received bad data',
  0x000006d1: 'RPC_S_UNKNOWN_IF: unknown interface',
  0x000006d8: 'RPC_S_PROCNUM_OUT_OF_RANGE: the procedure number is out of range',
  0x1c010002: 'nca_s_op_rng_error: operation number out of range',
  0x1c010003: 'nca_s_unk_if: unknown interface',
  0x1c01000b: 'nca_s_proto_error: protocol error',
  0x1c010013: 'nca_s_out_args_too_big',
  0x1c010014: 'nca_s_server_too_busy',
  0x1c010017: 'nca_s_unsupported_type',
  0x1c00001c: 'nca_s_invalid_pres_context_id',
  0x1c00001b: 'nca_s_unsupported_authn_level',
  0x1c00001d: 'nca_s_invalid_checksum',
  0x1c000009: 'nca_s_fault_context_mismatch',
  0x1c000012: 'nca_s_fault_remote_no_memory',
  0x1c000006: 'nca_s_fault_ndr',
  0x1c000024: 'nca_s_fault_sec_pkg_error',
  0x16c9a0d6: 'EPT_S_NOT_REGISTERED: no more entries in the endpoint map',
  0x16c9a016: 'EPT_S_CANT_PERFORM_OP',
};

export function faultText(status: number): string {
  return FAULT_STATUS[status] ?? `status 0x${status.toString(16).padStart(8, '0')}`;
}

function readAuth(n: NdrReader, bytes: Uint8Array, authLength: number): AuthVerifier | undefined {
  if (authLength === 0) return undefined;
  const at = bytes.length - authLength - 8;
  if (at < HEADER) throw new ProtocolError(`DCE/RPC: auth_length ${authLength} does not fit a ${bytes.length}-byte fragment`);
  const t = new NdrReader(bytes, n.le, at);
  const type = t.u8('auth_type');
  const level = t.u8('auth_level');
  t.u8('auth_pad_length');
  t.u8('auth_reserved');
  const contextId = t.u32('auth_context_id');
  return { type, level, contextId, value: t.bytes(authLength, 'auth_value') };
}

export function decodePdu(bytes: Uint8Array): Pdu {
  if (bytes.length < HEADER) throw new ProtocolError(`DCE/RPC: ${bytes.length} bytes is shorter than the common header`);
  if (bytes[0] !== 5 || bytes[1] !== 0) throw new ProtocolError(`DCE/RPC: version ${bytes[0]}.${bytes[1]}, expected 5.0`);
  const le = (bytes[4] & 0x10) !== 0;
  const n = new NdrReader(bytes, le, 2);
  const ptype = n.u8('PTYPE');
  const flags = n.u8('pfc_flags');
  n.bytes(4, 'drep');
  const fragLength = n.u16('frag_length');
  const authLength = n.u16('auth_length');
  const callId = n.u32('call_id');
  if (fragLength !== bytes.length) throw new ProtocolError(`DCE/RPC: frag_length ${fragLength} but ${bytes.length} bytes`);
  const h: PduHeader = { ptype, type: PTYPE_NAMES[ptype] ?? `ptype ${ptype}`, flags, littleEndian: le, fragLength, authLength, callId };
  const bodyEnd = authLength ? bytes.length - authLength - 8 : bytes.length;
  switch (ptype) {
    case PTYPE.bind_ack:
    case PTYPE.alter_context_resp: {
      const maxXmitFrag = n.u16('max_xmit_frag');
      const maxRecvFrag = n.u16('max_recv_frag');
      const assocGroup = n.u32('assoc_group_id');
      // port_any_t: a length (with the NUL) and the string, then alignment to 4.
      const len = n.u16('sec_addr length');
      if (len > 1024) throw new ProtocolError(`DCE/RPC: secondary address of ${len} bytes`);
      const addr = n.bytes(len, 'sec_addr');
      n.align(4);
      const count = n.u8('n_results');
      n.u8('reserved');
      n.u16('reserved2');
      const results: ContextResult[] = [];
      for (let i = 0; i < count; i++) {
        const result = n.u16('result');
        const reason = n.u16('reason');
        const transfer = n.syntax('transfer_syntax');
        const resultName = RESULTS[result] ?? `result ${result}`;
        results.push({
          result: resultName,
          reason: result === 0 ? '' : result === 3 ? `bind time features 0x${reason.toString(16)}` : (PROVIDER_REASONS[reason] ?? `reason ${reason}`),
          transfer: result === 0 ? transfer : null,
        });
      }
      if (n.r.offset > bodyEnd) throw new ProtocolError('DCE/RPC: bind_ack body overlaps its verifier');
      return { ...h, kind: ptype === PTYPE.bind_ack ? 'bind_ack' : 'alter_context_resp', maxXmitFrag, maxRecvFrag, assocGroup, secondaryAddress: fromLatin1(addr.subarray(0, Math.max(0, len - 1))), results, auth: readAuth(n, bytes, authLength) };
    }
    case PTYPE.bind_nak: {
      const reason = n.u16('provider_reject_reason');
      const versions: { major: number; minor: number }[] = [];
      if (n.r.remaining >= 1) {
        const count = n.u8('n_protocols');
        for (let i = 0; i < count && n.r.remaining >= 2; i++) versions.push({ major: n.u8('major'), minor: n.u8('minor') });
      }
      return { ...h, kind: 'bind_nak', reason, reasonText: NAK_REASONS[reason] ?? `reason ${reason}`, versions };
    }
    case PTYPE.response: {
      const allocHint = n.u32('alloc_hint');
      const contextId = n.u16('p_cont_id');
      const cancelCount = n.u8('cancel_count');
      n.u8('reserved');
      if (bodyEnd < n.r.offset) throw new ProtocolError('DCE/RPC: response shorter than its header');
      const auth = readAuth(n, bytes, authLength);
      const pad = authLength ? bytes[bodyEnd + 2] : 0;
      return { ...h, kind: 'response', allocHint, contextId, cancelCount, stub: bytes.slice(n.r.offset, bodyEnd - pad), auth };
    }
    case PTYPE.fault: {
      const allocHint = n.u32('alloc_hint');
      const contextId = n.u16('p_cont_id');
      const cancelCount = n.u8('cancel_count');
      n.u8('reserved');
      const status = n.u32('status');
      return { ...h, kind: 'fault', allocHint, contextId, cancelCount, status, statusText: faultText(status) };
    }
    default:
      return { ...h, kind: 'other' };
  }
}

export function describePdu(p: Pdu): string {
  switch (p.kind) {
    case 'bind_ack':
    case 'alter_context_resp':
      return `${p.kind} call ${p.callId} assoc_group 0x${p.assocGroup.toString(16)} sec_addr ${JSON.stringify(p.secondaryAddress)} ${p.results.map((r) => r.result + (r.reason ? ` (${r.reason})` : '')).join(', ')}${p.auth ? ` auth_type ${p.auth.type} (${p.auth.value.length} bytes)` : ''}`;
    case 'bind_nak':
      return `bind_nak call ${p.callId}: ${p.reasonText}`;
    case 'response':
      return `response call ${p.callId} context ${p.contextId} (${p.stub.length} bytes of stub data)`;
    case 'fault':
      return `fault call ${p.callId}: ${p.statusText}`;
    default:
      return `${p.type} call ${p.callId}`;
  }
}

/** The stub data of a response, reassembled from its fragments (first to last). */
export function joinFragments(stubs: Uint8Array[]): Uint8Array {
  return concat(stubs);
}

// The endpoint mapper: ept_lookup (opnum 2), C706 appendix O and [MS-RPCE] §2.2.1.2.

export const EPT_LOOKUP = 2;
export const EPT_S_NOT_REGISTERED = 0x16c9a0d6;

/** ept_lookup request: every element, all versions, from the entry handle the last answer gave (zeros at first). */
export function eptLookupRequest(handle: Uint8Array, maxEntries: number): Uint8Array {
  const w = new ByteWriter(64);
  w.u32le(0); // inquiry_type RPC_C_EP_ALL_ELTS
  w.u32le(0); // object: null unique pointer
  w.u32le(0); // interface_id: null unique pointer
  w.u32le(1); // vers_option RPC_C_VERS_ALL
  w.bytes(handle); // entry_handle (policy_handle: 20 bytes)
  w.u32le(maxEntries);
  return w.finish();
}

export interface Floor {
  protocol: string;
  /** Left-hand side bytes after the protocol identifier, and right-hand side bytes. */
  lhs: Uint8Array;
  rhs: Uint8Array;
}

export interface Endpoint {
  object: string;
  annotation: string;
  interface: SyntaxId | null;
  transfer: SyntaxId | null;
  /** ncacn_ip_tcp, ncacn_np, ncalrpc, ncadg_ip_udp, ncacn_http, ncacn_nb_tcp ... */
  protocolSequence: string | null;
  /** The endpoint: a port, a pipe name, a local socket name. */
  endpoint: string | null;
  address: string | null;
  /** The string binding ([MS-RPCE] §2.1.1): protseq:address[endpoint]. */
  binding: string;
}

export interface LookupPage {
  handle: Uint8Array;
  entries: Endpoint[];
  status: number;
}

const MAX_ENTRIES_PER_PAGE = 4096;
const MAX_TOWER = 4096;

/** The ept_lookup response stub: entry_handle, num_ents, the conformant varying array of entries, status. */
export function decodeEptLookupResponse(stub: Uint8Array, le = true): LookupPage {
  const n = new NdrReader(stub, le);
  const handle = n.bytes(20, 'entry_handle').slice();
  const count = n.u32('num_ents');
  n.u32('max_count');
  n.u32('offset');
  const actual = n.u32('actual_count');
  if (actual !== count || count > MAX_ENTRIES_PER_PAGE) throw new ProtocolError(`ept_lookup: ${count} entries announced, ${actual} in the array`);
  const heads: { object: string; tower: boolean; annotation: string }[] = [];
  for (let i = 0; i < count; i++) {
    const object = uuidText(n.bytes(16, 'object'), le);
    const tower = n.u32('tower pointer') !== 0;
    n.u32('annotation offset');
    const len = n.u32('annotation length');
    if (len > 64) throw new ProtocolError(`ept_lookup: annotation of ${len} bytes (at most 64)`);
    const a = n.bytes(len, 'annotation');
    const end = a.indexOf(0);
    heads.push({ object, tower, annotation: fromLatin1(end < 0 ? a : a.subarray(0, end)) });
    n.align(4);
  }
  const entries: Endpoint[] = [];
  for (const h of heads) {
    if (!h.tower) {
      entries.push({ object: h.object, annotation: h.annotation, interface: null, transfer: null, protocolSequence: null, endpoint: null, address: null, binding: '' });
      continue;
    }
    n.u32('tower max_count');
    const len = n.u32('tower_length');
    if (len > MAX_TOWER) throw new ProtocolError(`ept_lookup: tower of ${len} bytes`);
    const tower = n.bytes(len, 'tower_octet_string');
    n.align(4);
    entries.push({ object: h.object, annotation: h.annotation, ...describeTower(decodeTower(tower)) });
  }
  const status = n.u32('status');
  return { handle, entries, status };
}

/** Protocol identifiers of tower floors (C706 appendix I, [MS-RPCE] §2.2.1.1.1). */
const FLOOR_PROTOCOLS: Record<number, string> = {
  0x0d: 'uuid',
  0x0a: 'ncadg',
  0x0b: 'ncacn',
  0x0c: 'ncalrpc-legacy',
  0x07: 'tcp',
  0x08: 'udp',
  0x09: 'ip',
  0x0f: 'named-pipe',
  0x10: 'local',
  0x11: 'netbios',
  0x1f: 'http',
};

/** A protocol tower (C706 appendix L): a floor count, then each floor's left and right sides (little endian lengths). */
export function decodeTower(t: Uint8Array): Floor[] {
  const r = new ByteReader(t);
  const count = r.u16le('floor_count');
  if (count > 16) throw new ProtocolError(`tower with ${count} floors`);
  const floors: Floor[] = [];
  for (let i = 0; i < count; i++) {
    const lhs = r.lengthPrefixed('u16le', 'floor lhs', 256);
    const rhs = r.lengthPrefixed('u16le', 'floor rhs', 1024);
    if (lhs.length < 1) throw new ProtocolError('tower floor with an empty left-hand side');
    floors.push({ protocol: FLOOR_PROTOCOLS[lhs[0]] ?? `0x${lhs[0].toString(16)}`, lhs: lhs.subarray(1), rhs });
  }
  return floors;
}

function floorSyntax(f: Floor | undefined): SyntaxId | null {
  if (!f || f.protocol !== 'uuid' || f.lhs.length < 18 || f.rhs.length < 2) return null;
  return { uuid: uuidText(f.lhs.subarray(0, 16)), version: { major: f.lhs[16] | (f.lhs[17] << 8), minor: f.rhs[0] | (f.rhs[1] << 8) } };
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0);
  return fromLatin1(end < 0 ? b : b.subarray(0, end));
}

/** A tower as the string binding Windows and Samba print: ncacn_ip_tcp:127.0.0.1[49152]. */
export function describeTower(floors: Floor[]): Omit<Endpoint, 'object' | 'annotation'> {
  const iface = floorSyntax(floors[0]);
  const transfer = floorSyntax(floors[1]);
  const rest = floors.slice(2);
  const has = (p: string) => rest.find((f) => f.protocol === p);
  const port = (f: Floor) => String((f.rhs[0] << 8) | f.rhs[1]);
  const ip = has('ip');
  const address = ip && ip.rhs.length === 4 ? [...ip.rhs].join('.') : null;
  let protocolSequence: string | null = null;
  let endpoint: string | null = null;
  let host = address;
  const co = has('ncacn');
  if (co && has('tcp')) [protocolSequence, endpoint] = ['ncacn_ip_tcp', port(has('tcp')!)];
  else if (has('ncadg') && has('udp')) [protocolSequence, endpoint] = ['ncadg_ip_udp', port(has('udp')!)];
  else if (co && has('http')) [protocolSequence, endpoint] = ['ncacn_http', port(has('http')!)];
  else if (co && has('named-pipe')) {
    protocolSequence = 'ncacn_np';
    endpoint = cString(has('named-pipe')!.rhs);
    const nb = has('netbios');
    host = nb ? cString(nb.rhs) : host;
  } else if (has('local') || has('ncalrpc-legacy')) [protocolSequence, endpoint] = ['ncalrpc', cString((has('local') ?? has('ncalrpc-legacy'))!.rhs)];
  else if (co && has('netbios')) [protocolSequence, endpoint] = ['ncacn_nb_tcp', cString(has('netbios')!.rhs)];
  const binding = protocolSequence ? `${protocolSequence}:${host ?? ''}[${endpoint ?? ''}]` : rest.map((f) => f.protocol).join('/');
  return { interface: iface, transfer, protocolSequence, endpoint, address, binding };
}

/** Interfaces users meet, by UUID: what an endpoint map's entries are ([MS-RPCE] and the protocol specs that define them). */
export const KNOWN_INTERFACES: Record<string, string> = {
  'e1af8308-5d1f-11c9-91a4-08002b14a0fa': 'epmapper (endpoint mapper)',
  '12345778-1234-abcd-ef00-0123456789ab': 'lsarpc (Local Security Authority, MS-LSAD)',
  '12345778-1234-abcd-ef00-0123456789ac': 'samr (Security Account Manager, MS-SAMR)',
  '12345678-1234-abcd-ef00-01234567cffb': 'netlogon (MS-NRPC)',
  '4b324fc8-1670-01d3-1278-5a47bf6ee188': 'srvsvc (Server Service, MS-SRVS)',
  '6bffd098-a112-3610-9833-46c3f87e345a': 'wkssvc (Workstation Service, MS-WKST)',
  '338cd001-2244-31f1-aaaa-900038001003': 'winreg (Remote Registry, MS-RRP)',
  '367abb81-9844-35f1-ad32-98f038001003': 'svcctl (Service Control Manager, MS-SCMR)',
  '82273fdc-e32a-18c3-3f78-827929dc23ea': 'eventlog (MS-EVEN)',
  'f6beaff7-1e19-4fbb-9f8f-b89e2018337c': 'eventlog6 (MS-EVEN6)',
  '12345678-1234-abcd-ef00-0123456789ab': 'spoolss (Print Spooler, MS-RPRN)',
  '76f03f96-cdfd-44fc-a22c-64950a001209': 'IRemoteWinspool (MS-PAR)',
  '8d9f4e40-a03d-11ce-8f69-08003e30051b': 'ntsvcs (Plug and Play, MS-PNPR)',
  '3919286a-b10c-11d0-9ba8-00c04fd92ef5': 'dssetup (MS-DSSP)',
  '4fc742e0-4a10-11cf-8273-00aa004ae673': 'netdfs (MS-DFSNM)',
  '894de0c0-0d55-11d3-a322-00c04fa321a1': 'initshutdown (MS-RSP)',
  'd95afe70-a6d5-4259-822e-2c84da1ddb0d': 'WindowsShutdown (MS-RSP)',
  'a8e0653c-2744-4389-a61d-7373df8b2292': 'FileServerVssAgent (MS-FSRVP)',
  '885d85fb-c754-4062-a0e7-6872ce0064f4': 'mdssvc (Spotlight)',
  'e3514235-4b06-11d1-ab04-00c04fc2dcd2': 'drsuapi (Directory Replication, MS-DRSR)',
  '1ff70682-0a51-30e8-076d-740be8cee98b': 'atsvc (Task Scheduler, MS-TSCH)',
  '86d35949-83c9-4044-b424-db363231fd0c': 'ITaskSchedulerService (MS-TSCH)',
  '378e52b0-c0a9-11cf-822d-00aa0051e40f': 'sasec (MS-TSCH)',
  '4d9f4ab8-7d1c-11cf-861e-0020af6e7c57': 'IActivation (DCOM, MS-DCOM)',
  '000001a0-0000-0000-c000-000000000046': 'IRemoteSCMActivator (DCOM, MS-DCOM)',
  '99fcfec4-5260-101b-bbcb-00aa0021347a': 'IObjectExporter (DCOM, MS-DCOM)',
  'f5cc5a18-4264-101a-8c59-08002b2f8426': 'nspi (Exchange Name Service Provider, MS-NSPI)',
  '50abc2a4-574d-40b3-9d66-ee4fd5fba076': 'dnsserver (MS-DNSP)',
  'c681d488-d850-11d0-8c52-00c04fd90f7e': 'efsrpc (MS-EFSR)',
  'df1941c5-fe89-4e79-bf10-463657acf44d': 'efsrpc (MS-EFSR)',
};

/** The names a user may give instead of an interface's UUID and version. */
export const NAMED_INTERFACES: Record<string, SyntaxId> = {
  epmapper: EPMAPPER,
  lsarpc: { uuid: '12345778-1234-abcd-ef00-0123456789ab', version: { major: 0, minor: 0 } },
  samr: { uuid: '12345778-1234-abcd-ef00-0123456789ac', version: { major: 1, minor: 0 } },
  netlogon: { uuid: '12345678-1234-abcd-ef00-01234567cffb', version: { major: 1, minor: 0 } },
  srvsvc: { uuid: '4b324fc8-1670-01d3-1278-5a47bf6ee188', version: { major: 3, minor: 0 } },
  wkssvc: { uuid: '6bffd098-a112-3610-9833-46c3f87e345a', version: { major: 1, minor: 0 } },
  winreg: { uuid: '338cd001-2244-31f1-aaaa-900038001003', version: { major: 1, minor: 0 } },
  svcctl: { uuid: '367abb81-9844-35f1-ad32-98f038001003', version: { major: 2, minor: 0 } },
  drsuapi: { uuid: 'e3514235-4b06-11d1-ab04-00c04fc2dcd2', version: { major: 4, minor: 0 } },
};

export function interfaceName(uuid: string): string | null {
  return KNOWN_INTERFACES[uuid.toLowerCase()] || null;
}

