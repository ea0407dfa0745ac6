// TACACS+, RFC 8907: the packet header (§4.1), body obfuscation (§4.5), authentication START/REPLY/CONTINUE
// (§5), authorization REQUEST/RESPONSE (§6) and accounting REQUEST/REPLY (§7).
//
// How it works: every packet is a 12-byte header (version, type, sequence number, flags, session id, body
// length) and a body. Unless the TAC_PLUS_UNENCRYPTED_FLAG is set, the body is XORed with a pad of MD5 blocks:
// MD5(session_id ‖ key ‖ version ‖ seq_no), then MD5(session_id ‖ key ‖ version ‖ seq_no ‖ previous block), ...
// (§4.5), so a wrong key gives garbage that the body's own length fields expose. Sequence numbers start at 1 with
// the client and alternate; a session that would wrap past 255 must end (§4.1).
import { ByteReader, ByteWriter, concat, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const TYPE = { authentication: 1, authorization: 2, accounting: 3 } as const;
export const FLAGS = { unencrypted: 0x01, singleConnect: 0x04 } as const;
/** §4.1 major version 0xc; minor 0 (default) or 1 (PAP, CHAP and MS-CHAP in START). */
export const VERSION = { default: 0xc0, one: 0xc1 } as const;

export const AUTHEN_ACTION = { login: 1, chpass: 2, sendauth: 4 } as const;
export const AUTHEN_TYPE = { ascii: 1, pap: 2, chap: 3, mschap: 5, mschapv2: 6 } as const;
export const AUTHEN_SERVICE = { none: 0, login: 1, enable: 2, ppp: 3, pt: 5, rcmd: 6, x25: 7, nasi: 8, fwproxy: 9 } as const;
export const AUTHEN_METHOD = { notSet: 0, none: 1, krb5: 2, line: 3, enable: 4, local: 5, tacacsplus: 6, guest: 8, radius: 0x10, krb4: 0x11, rcmd: 0x20 } as const;

/** §5.2 REPLY status. */
export const AUTHEN_STATUS: Record<number, string> = { 1: 'PASS', 2: 'FAIL', 3: 'GETDATA', 4: 'GETUSER', 5: 'GETPASS', 6: 'RESTART', 7: 'ERROR', 0x21: 'FOLLOW' };
/** §6.2 authorization RESPONSE status. */
export const AUTHOR_STATUS: Record<number, string> = { 1: 'PASS_ADD', 2: 'PASS_REPL', 0x10: 'FAIL', 0x11: 'ERROR', 0x21: 'FOLLOW' };
/** §7.2 accounting REPLY status. */
export const ACCT_STATUS: Record<number, string> = { 1: 'SUCCESS', 2: 'ERROR', 0x21: 'FOLLOW' };
export const ACCT_FLAG = { start: 0x02, stop: 0x04, watchdog: 0x08 } as const;

export interface Header {
  version: number;
  type: number;
  seq: number;
  flags: number;
  sessionId: number;
  length: number;
}

/** Bodies are capped well below the 2^32 the header allows: no server sends more than a few KiB. */
export const MAX_BODY = 64 * 1024;

/** §4.5 the pad: MD5 blocks chained from session id, key, version and sequence number, as long as the body. */
export function pad(md5: (b: Uint8Array) => Uint8Array, h: Pick<Header, 'sessionId' | 'version' | 'seq'>, key: Uint8Array, length: number): Uint8Array {
  const seed = concat([new ByteWriter(4).u32(h.sessionId >>> 0).finish(), key, Uint8Array.of(h.version, h.seq)]);
  const blocks: Uint8Array[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  for (let have = 0; have < length; have += 16) {
    prev = md5(concat([seed, prev]));
    blocks.push(prev);
  }
  return concat(blocks).subarray(0, length);
}

/** XORs the body with the pad (obfuscation and its inverse are the same), unless the key is empty. */
export function obfuscate(md5: (b: Uint8Array) => Uint8Array, h: Pick<Header, 'sessionId' | 'version' | 'seq'>, key: Uint8Array, body: Uint8Array): Uint8Array {
  if (key.length === 0) return body.slice();
  const p = pad(md5, h, key, body.length);
  const out = new Uint8Array(body.length);
  for (let i = 0; i < body.length; i++) out[i] = body[i] ^ p[i];
  return out;
}

/** A whole packet: the header and the (clear) body; a key obfuscates it, no key sets TAC_PLUS_UNENCRYPTED_FLAG. */
export function encodePacket(md5: (b: Uint8Array) => Uint8Array, h: Omit<Header, 'length' | 'flags'> & { flags?: number }, body: Uint8Array, key: Uint8Array): Uint8Array {
  const flags = (h.flags ?? 0) | (key.length === 0 ? FLAGS.unencrypted : 0);
  const header = new ByteWriter(12).u8(h.version).u8(h.type).u8(h.seq).u8(flags).u32(h.sessionId >>> 0).u32(body.length).finish();
  return concat([header, key.length === 0 ? body : obfuscate(md5, { ...h }, key, body)]);
}

export function packetFrame(max = MAX_BODY): Frame<{ header: Header; body: Uint8Array }> {
  return (buf) => {
    if (buf.length >= 1 && buf[0] >> 4 !== 0xc) throw new ProtocolError(`TACACS+: major version 0x${(buf[0] >> 4).toString(16)}, expected 0xc (RFC 8907 §4.1)`);
    if (buf.length < 12) return undefined;
    const r = new ByteReader(buf);
    const header: Header = { version: r.u8(), type: r.u8(), seq: r.u8(), flags: r.u8(), sessionId: r.u32(), length: r.u32() };
    if (header.type < 1 || header.type > 3) throw new ProtocolError(`TACACS+: packet type ${header.type}`);
    if (header.length > max) throw new ProtocolError(`TACACS+: body of ${header.length} bytes exceeds ${max}`);
    if (buf.length < 12 + header.length) return undefined;
    return { value: { header, body: buf.slice(12, 12 + header.length) }, size: 12 + header.length };
  };
}

/** Decodes a received packet's body: de-obfuscated with the key unless the server sent it unencrypted. */
export function clearBody(md5: (b: Uint8Array) => Uint8Array, p: { header: Header; body: Uint8Array }, key: Uint8Array): Uint8Array {
  if (p.header.flags & FLAGS.unencrypted) return p.body;
  if (key.length === 0) throw new ProtocolError('TACACS+: the server obfuscated its reply and no key was given');
  return obfuscate(md5, p.header, key, p.body);
}

function field(s: string | Uint8Array, name: string): Uint8Array {
  const b = typeof s === 'string' ? utf8(s) : s;
  if (b.length > 255) throw new ProtocolError(`TACACS+: ${name} longer than 255 bytes`);
  return b;
}

export interface Start {
  action: number;
  privLvl: number;
  authenType: number;
  service: number;
  user: string;
  port: string;
  remAddr: string;
  data: Uint8Array;
}

/** §5.1 START: action, priv_lvl, authen_type, authen_service, four lengths, then user, port, rem_addr, data. */
export function startBody(s: Start): Uint8Array {
  const [user, port, rem, data] = [field(s.user, 'user'), field(s.port, 'port'), field(s.remAddr, 'rem_addr'), field(s.data, 'data')];
  return new ByteWriter(8 + user.length + port.length + rem.length + data.length).u8(s.action).u8(s.privLvl).u8(s.authenType).u8(s.service).u8(user.length).u8(port.length).u8(rem.length).u8(data.length).bytes(user).bytes(port).bytes(rem).bytes(data).finish();
}

/** §5.3 CONTINUE: user_msg and data lengths (16 bits), flags (ABORT), user_msg, data. */
export function continueBody(userMsg: Uint8Array, data: Uint8Array = new Uint8Array(0), abort = false): Uint8Array {
  if (userMsg.length > 65535 || data.length > 65535) throw new ProtocolError('TACACS+: CONTINUE field longer than 65535 bytes');
  return new ByteWriter(5 + userMsg.length + data.length).u16(userMsg.length).u16(data.length).u8(abort ? 1 : 0).bytes(userMsg).bytes(data).finish();
}

/** A reply's lengths must add up to its body and its status be one the RFC defines; otherwise the key was wrong. */
function statusOf(what: string, total: number, b: Uint8Array, status: number, names: Record<number, string>): string {
  if (total !== b.length) throw new ProtocolError(`TACACS+ ${what}: lengths add up to ${total}, the body has ${b.length} bytes (a wrong key?)`);
  const name = names[status];
  if (!name) throw new ProtocolError(`TACACS+ ${what}: status 0x${status.toString(16)} (a wrong key?)`);
  return name;
}

export interface AuthenReply {
  status: number;
  statusName: string;
  noEcho: boolean;
  serverMsg: string;
  data: Uint8Array;
}

/** §5.2 REPLY; the lengths must add up to the body exactly (a wrong key shows up here). */
export function decodeAuthenReply(b: Uint8Array): AuthenReply {
  const r = new ByteReader(b);
  const status = r.u8('status');
  const flags = r.u8('flags');
  const msgLen = r.u16('server_msg_len');
  const dataLen = r.u16('data_len');
  const statusName = statusOf('REPLY', 6 + msgLen + dataLen, b, status, AUTHEN_STATUS);
  return { status, statusName, noEcho: (flags & 1) !== 0, serverMsg: fromUtf8(r.bytesN(msgLen, 'server_msg')), data: r.bytesN(dataLen, 'data').slice() };
}

export interface AuthorRequest {
  method: number;
  privLvl: number;
  authenType: number;
  service: number;
  user: string;
  port: string;
  remAddr: string;
  args: string[];
}

function argsFields(args: readonly string[]): Uint8Array[] {
  if (args.length > 255) throw new ProtocolError('TACACS+: more than 255 arguments');
  return args.map((a, i) => field(a, `argument ${i + 1}`));
}

/** §6.1 authorization REQUEST (and §7.1 accounting REQUEST, which adds its flags byte first). */
function requestBody(prefix: number[], q: AuthorRequest): Uint8Array {
  const [user, port, rem] = [field(q.user, 'user'), field(q.port, 'port'), field(q.remAddr, 'rem_addr')];
  const args = argsFields(q.args);
  const w = new ByteWriter(64);
  for (const b of prefix) w.u8(b);
  w.u8(q.method).u8(q.privLvl).u8(q.authenType).u8(q.service).u8(user.length).u8(port.length).u8(rem.length).u8(args.length);
  for (const a of args) w.u8(a.length);
  w.bytes(user).bytes(port).bytes(rem);
  for (const a of args) w.bytes(a);
  return w.finish();
}

export function authorRequestBody(q: AuthorRequest): Uint8Array {
  return requestBody([], q);
}

export function acctRequestBody(flags: number, q: AuthorRequest): Uint8Array {
  return requestBody([flags], q);
}

export interface AuthorResponse {
  status: number;
  statusName: string;
  args: string[];
  serverMsg: string;
  data: string;
}

/** §6.2 RESPONSE: status, arg_cnt, server_msg_len, data_len, the argument lengths, server_msg, data, arguments. */
export function decodeAuthorResponse(b: Uint8Array): AuthorResponse {
  const r = new ByteReader(b);
  const status = r.u8('status');
  const count = r.u8('arg_cnt');
  const msgLen = r.u16('server_msg_len');
  const dataLen = r.u16('data_len');
  const lens: number[] = [];
  for (let i = 0; i < count; i++) lens.push(r.u8('arg_len'));
  const total = 6 + count + msgLen + dataLen + lens.reduce((a, x) => a + x, 0);
  const statusName = statusOf('authorization RESPONSE', total, b, status, AUTHOR_STATUS);
  const serverMsg = fromUtf8(r.bytesN(msgLen, 'server_msg'));
  const data = fromUtf8(r.bytesN(dataLen, 'data'));
  return { status, statusName, serverMsg, data, args: lens.map((n, i) => fromUtf8(r.bytesN(n, `arg ${i + 1}`))) };
}

export interface AcctReply {
  status: number;
  statusName: string;
  serverMsg: string;
  data: string;
}

/** §7.2 REPLY: server_msg_len, data_len, status, server_msg, data. */
export function decodeAcctReply(b: Uint8Array): AcctReply {
  const r = new ByteReader(b);
  const msgLen = r.u16('server_msg_len');
  const dataLen = r.u16('data_len');
  const status = r.u8('status');
  const statusName = statusOf('accounting REPLY', 5 + msgLen + dataLen, b, status, ACCT_STATUS);
  return { status, statusName, serverMsg: fromUtf8(r.bytesN(msgLen, 'server_msg')), data: fromUtf8(r.bytesN(dataLen, 'data')) };
}

/** §4.1: the reply's sequence number is the request's plus one, and its session id the same. */
export function checkReply(sent: Pick<Header, 'seq' | 'sessionId' | 'type'>, got: Header): void {
  if (got.sessionId !== sent.sessionId) throw new ProtocolError(`TACACS+: reply for session 0x${got.sessionId.toString(16)}, expected 0x${sent.sessionId.toString(16)}`);
  if (got.seq !== sent.seq + 1) throw new ProtocolError(`TACACS+: reply with sequence number ${got.seq}, expected ${sent.seq + 1}`);
  if (got.type !== sent.type) throw new ProtocolError(`TACACS+: reply of type ${got.type} to a packet of type ${sent.type}`);
}
