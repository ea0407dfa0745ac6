// OpenVPN's control channel (the reliability layer of ssl.c / reliable.c, as OpenVPN 2.4–2.6 speak it):
// packets over TCP with a 2-byte length, opcodes and key ids, session ids, ack arrays and message ids;
// the tls-auth HMAC wrapping and the tls-crypt encrypt-then-MAC wrapping; static key files; and the
// minimal TLS ClientHello / ServerHello (RFC 8446 section 4.1) that show the TLS handshake starting.
// Sans I/O: the HMAC and the cipher are passed in.
import { ByteReader, ByteWriter, concat, fromHex } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';

export const OPCODES: Record<number, string> = {
  1: 'P_CONTROL_HARD_RESET_CLIENT_V1',
  2: 'P_CONTROL_HARD_RESET_SERVER_V1',
  3: 'P_CONTROL_SOFT_RESET_V1',
  4: 'P_CONTROL_V1',
  5: 'P_ACK_V1',
  6: 'P_DATA_V1',
  7: 'P_CONTROL_HARD_RESET_CLIENT_V2',
  8: 'P_CONTROL_HARD_RESET_SERVER_V2',
  9: 'P_DATA_V2',
  10: 'P_CONTROL_HARD_RESET_CLIENT_V3',
  11: 'P_CONTROL_WKC_V1',
};
export const OP = { CONTROL: 4, ACK: 5, HARD_RESET_CLIENT_V2: 7, HARD_RESET_SERVER_V2: 8 } as const;
const MAX_ACKS = 8;

/** The plain part of a control packet, after any tls-auth or tls-crypt wrapping is removed. */
export interface ControlPacket {
  opcode: number;
  keyId: number;
  sessionId: Uint8Array;
  acks: number[];
  remoteSessionId?: Uint8Array;
  /** Absent on P_ACK_V1. */
  messageId?: number;
  payload: Uint8Array;
}

/** ack array, remote session id, message id and payload: what tls-crypt encrypts and what follows the tls-auth header. */
export function encodeBody(p: Omit<ControlPacket, 'opcode' | 'keyId' | 'sessionId'>, hasMessageId: boolean): Uint8Array {
  if (p.acks.length > MAX_ACKS) throw new ProtocolError(`at most ${MAX_ACKS} acks in one packet`);
  const w = new ByteWriter(64 + p.payload.length).u8(p.acks.length);
  for (const a of p.acks) w.u32(a);
  if (p.acks.length > 0) w.bytes(p.remoteSessionId!);
  if (hasMessageId) w.u32(p.messageId ?? 0);
  return w.bytes(p.payload).finish();
}

export function decodeBody(opcode: number, bytes: Uint8Array): Pick<ControlPacket, 'acks' | 'remoteSessionId' | 'messageId' | 'payload'> {
  const r = new ByteReader(bytes);
  const n = r.u8('ack array length');
  if (n > MAX_ACKS) throw new ProtocolError(`ack array of ${n} entries (at most ${MAX_ACKS})`);
  const acks: number[] = [];
  for (let i = 0; i < n; i++) acks.push(r.u32('acked packet id'));
  const remoteSessionId = n > 0 ? r.bytesN(8, 'remote session id') : undefined;
  const messageId = opcode === OP.ACK ? undefined : r.u32('message packet id');
  return { acks, remoteSessionId, messageId, payload: r.rest() };
}

/** A whole packet from the TCP stream: the 2-byte length, then the packet. */
export const streamFrame = (buf: Uint8Array) => {
  if (buf.length < 2) return undefined;
  const len = (buf[0] << 8) | buf[1];
  if (len < 9) throw new ProtocolError(`OpenVPN packet of ${len} bytes is shorter than an opcode and session id`);
  if (buf.length < 2 + len) return undefined;
  const op = buf[2] >> 3;
  if (!OPCODES[op]) throw new ProtocolError(`OpenVPN opcode ${op} is not one of 1–11: not an OpenVPN server`);
  return { value: buf.slice(2, 2 + len), size: 2 + len };
};

export function frame(packet: Uint8Array): Uint8Array {
  return new ByteWriter(packet.length + 2).u16(packet.length).bytes(packet).finish();
}

/** The four 64-byte halves of a 2048-bit static key file (`openvpn --genkey secret`). */
export function parseStaticKey(text: string): Uint8Array {
  const m = /-----BEGIN OpenVPN Static key V1-----([\s\S]*?)-----END OpenVPN Static key V1-----/.exec(text);
  if (!m) throw InvalidInput.field('key', 'not an OpenVPN static key file (-----BEGIN OpenVPN Static key V1-----)');
  const hex = m[1].replace(/#.*$/gm, '').replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]{512}$/.test(hex)) throw InvalidInput.field('key', 'an OpenVPN static key holds 256 bytes (512 hex digits)');
  return fromHex(hex);
}

/** Key direction 1 (the client's): send with the second key, receive with the first. */
export function directionKeys(key: Uint8Array): { sendCipher: Uint8Array; sendHmac: Uint8Array; recvCipher: Uint8Array; recvHmac: Uint8Array } {
  return { sendCipher: key.subarray(128, 192), sendHmac: key.subarray(192, 256), recvCipher: key.subarray(0, 64), recvHmac: key.subarray(64, 128) };
}

export type Hmac = (key: Uint8Array, data: Uint8Array) => Promise<Uint8Array>;
export type Ctr = (key: Uint8Array, iv: Uint8Array, data: Uint8Array) => Promise<Uint8Array>;

export interface Wrapping {
  kind: 'none' | 'tls-auth' | 'tls-crypt';
  /** tls-auth: HMAC-SHA1 (20 bytes) by default. */
  hmacLength: number;
}

function header(opcode: number, keyId: number, sessionId: Uint8Array): Uint8Array {
  return concat([Uint8Array.of((opcode << 3) | keyId), sessionId]);
}

/** Wraps a control packet as the server expects: plain, with the tls-auth HMAC, or tls-crypt encrypted. */
export async function wrap(p: ControlPacket, w: Wrapping, keys: ReturnType<typeof directionKeys> | undefined, replay: { packetId: number; time: number }, hmac: Hmac, ctr: Ctr): Promise<Uint8Array> {
  const head = header(p.opcode, p.keyId, p.sessionId);
  const body = encodeBody(p, p.opcode !== OP.ACK);
  if (w.kind === 'none') return concat([head, body]);
  const pid = new ByteWriter(8).u32(replay.packetId).u32(replay.time).finish();
  if (w.kind === 'tls-auth') {
    // ssl_pkt: HMAC over packet id, time, then the opcode, session id and the rest; placed after the session id.
    const mac = (await hmac(keys!.sendHmac.subarray(0, w.hmacLength), concat([pid, head, body]))).subarray(0, w.hmacLength);
    return concat([head, mac, pid, body]);
  }
  // tls-crypt: tag = HMAC-SHA256(header || plaintext); ciphertext = AES-256-CTR(iv = tag[0..16]).
  const tag = await hmac(keys!.sendHmac.subarray(0, 32), concat([head, pid, body]));
  const encrypted = await ctr(keys!.sendCipher.subarray(0, 32), tag.subarray(0, 16), body);
  return concat([head, pid, tag, encrypted]);
}

/** Unwraps a server packet; with tls-auth or tls-crypt its HMAC is checked (a mismatch means another key). */
export async function unwrap(packet: Uint8Array, w: Wrapping, keys: ReturnType<typeof directionKeys> | undefined, hmac: Hmac, ctr: Ctr): Promise<ControlPacket & { replay?: { packetId: number; time: number } }> {
  const r = new ByteReader(packet);
  const first = r.u8('opcode');
  const opcode = first >> 3;
  const keyId = first & 7;
  const sessionId = r.bytesN(8, 'session id');
  const head = packet.subarray(0, 9);
  if (w.kind === 'none') return { opcode, keyId, sessionId, ...decodeBody(opcode, r.rest()) };
  if (w.kind === 'tls-auth') {
    const mac = r.bytesN(w.hmacLength, 'tls-auth HMAC');
    const pid = r.bytesN(8, 'replay packet id and time');
    const body = r.rest();
    const expected = (await hmac(keys!.recvHmac.subarray(0, w.hmacLength), concat([pid, head, body]))).subarray(0, w.hmacLength);
    if (!expected.every((b, i) => b === mac[i])) throw new ProtocolError('the server’s tls-auth HMAC does not verify: it uses another key or key direction');
    const pr = new ByteReader(pid);
    return { opcode, keyId, sessionId, ...decodeBody(opcode, body), replay: { packetId: pr.u32('packet id'), time: pr.u32('time') } };
  }
  const pid = r.bytesN(8, 'replay packet id and time');
  const tag = r.bytesN(32, 'tls-crypt tag');
  const body = await ctr(keys!.recvCipher.subarray(0, 32), tag.subarray(0, 16), r.rest());
  const expected = await hmac(keys!.recvHmac.subarray(0, 32), concat([head, pid, body]));
  if (!expected.every((b, i) => b === tag[i])) throw new ProtocolError('the server’s tls-crypt tag does not verify: it uses another key');
  const pr = new ByteReader(pid);
  return { opcode, keyId, sessionId, ...decodeBody(opcode, body), replay: { packetId: pr.u32('packet id'), time: pr.u32('time') } };
}

const SUITES: Record<number, string> = {
  0x1301: 'TLS_AES_128_GCM_SHA256',
  0x1302: 'TLS_AES_256_GCM_SHA384',
  0x1303: 'TLS_CHACHA20_POLY1305_SHA256',
  0xc02b: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  0xc02c: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  0xc02f: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  0xc030: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  0xcca8: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  0xcca9: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
};

/** A TLS 1.3/1.2 ClientHello record (RFC 8446 section 4.1.2) with an X25519 key share: enough to start the handshake. */
export function clientHello(random: Uint8Array, sessionId: Uint8Array, keyShare: Uint8Array): Uint8Array {
  const ext = new ByteWriter(256);
  const extension = (type: number, value: Uint8Array) => ext.u16(type).lengthPrefixed('u16', value);
  extension(0x002b, fromHex('0403040303'));
  extension(0x000a, fromHex('0004001d0017'));
  extension(0x000b, fromHex('0100'));
  extension(0x000d, fromHex('0012040308040401050308050501080606010201'));
  extension(0x0033, new ByteWriter(40).u16(36).u16(0x001d).lengthPrefixed('u16', keyShare).finish());
  const suites = new ByteWriter(32);
  for (const s of Object.keys(SUITES)) suites.u16(Number(s));
  const body = new ByteWriter(512).u16(0x0303).bytes(random).lengthPrefixed('u8', sessionId).lengthPrefixed('u16', suites.finish()).u8(1).u8(0).lengthPrefixed('u16', ext.finish()).finish();
  const hs = new ByteWriter(body.length + 4).u8(1).u24(body.length).bytes(body).finish();
  return new ByteWriter(hs.length + 5).u8(22).u16(0x0301).lengthPrefixed('u16', hs).finish();
}

export interface ServerHello {
  version: string;
  cipherSuite: string;
}

/** The ServerHello in the first TLS record the server sends (a handshake record, message type 2). */
export function parseServerHello(records: Uint8Array): ServerHello | null {
  const r = new ByteReader(records);
  if (r.remaining < 5 || r.u8('record type') !== 22) return null;
  r.u16('record version');
  const rec = new ByteReader(r.lengthPrefixed('u16', 'TLS record'));
  if (rec.u8('handshake type') !== 2) return null;
  const len = rec.u24('handshake length');
  const h = new ByteReader(rec.bytesN(Math.min(len, rec.remaining), 'ServerHello'));
  let version = h.u16('legacy_version');
  h.skip(32, 'random');
  h.lengthPrefixed('u8', 'session id');
  const suite = h.u16('cipher suite');
  h.u8('compression');
  if (h.remaining >= 2) {
    const exts = new ByteReader(h.lengthPrefixed('u16', 'extensions'));
    while (exts.remaining >= 4) {
      const type = exts.u16('extension type');
      const v = exts.lengthPrefixed('u16', 'extension');
      if (type === 0x002b && v.length === 2) version = (v[0] << 8) | v[1];
    }
  }
  const names: Record<number, string> = { 0x0304: 'TLSv1.3', 0x0303: 'TLSv1.2', 0x0302: 'TLSv1.1', 0x0301: 'TLSv1' };
  return { version: names[version] ?? `0x${version.toString(16)}`, cipherSuite: SUITES[suite] ?? `0x${suite.toString(16).padStart(4, '0')}` };
}

export function describe(p: Pick<ControlPacket, 'opcode' | 'acks' | 'messageId' | 'payload'>): string {
  return `${OPCODES[p.opcode] ?? `opcode ${p.opcode}`}${p.acks.length ? ` ack ${p.acks.join(',')}` : ''}${p.messageId !== undefined ? ` id ${p.messageId}` : ''}${p.payload.length ? `, ${p.payload.length} bytes of TLS` : ''}`;
}
