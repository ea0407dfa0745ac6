// SSH transport messages, RFC 4253 sections 4.2 (version), 6 (binary packet), 7.1 (KEXINIT), 11 (generic messages); RFC 4250 numbers.
import { fromLatin1, toHex } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { SshReader, SshWriter } from './wire.ts';

/** RFC 4250 4.1: message numbers. */
export const MSG = {
  DISCONNECT: 1,
  IGNORE: 2,
  UNIMPLEMENTED: 3,
  DEBUG: 4,
  SERVICE_REQUEST: 5,
  SERVICE_ACCEPT: 6,
  EXT_INFO: 7,
  KEXINIT: 20,
  NEWKEYS: 21,
  KEX_30: 30,
  KEX_31: 31,
  KEX_32: 32,
  KEX_33: 33,
  KEX_34: 34,
  USERAUTH_REQUEST: 50,
  USERAUTH_FAILURE: 51,
  USERAUTH_SUCCESS: 52,
  USERAUTH_BANNER: 53,
  USERAUTH_60: 60,
  USERAUTH_INFO_RESPONSE: 61,
  GLOBAL_REQUEST: 80,
  REQUEST_SUCCESS: 81,
  REQUEST_FAILURE: 82,
  CHANNEL_OPEN: 90,
  CHANNEL_OPEN_CONFIRMATION: 91,
  CHANNEL_OPEN_FAILURE: 92,
  CHANNEL_WINDOW_ADJUST: 93,
  CHANNEL_DATA: 94,
  CHANNEL_EXTENDED_DATA: 95,
  CHANNEL_EOF: 96,
  CHANNEL_CLOSE: 97,
  CHANNEL_REQUEST: 98,
  CHANNEL_SUCCESS: 99,
  CHANNEL_FAILURE: 100,
} as const;

const NAMES: Record<number, string> = {
  1: 'DISCONNECT',
  2: 'IGNORE',
  3: 'UNIMPLEMENTED',
  4: 'DEBUG',
  5: 'SERVICE_REQUEST',
  6: 'SERVICE_ACCEPT',
  7: 'EXT_INFO',
  20: 'KEXINIT',
  21: 'NEWKEYS',
  30: 'KEX_INIT (30)',
  31: 'KEX_REPLY (31)',
  32: 'KEX_DH_GEX_INIT (32)',
  33: 'KEX_DH_GEX_REPLY (33)',
  34: 'KEX_DH_GEX_REQUEST (34)',
  50: 'USERAUTH_REQUEST',
  51: 'USERAUTH_FAILURE',
  52: 'USERAUTH_SUCCESS',
  53: 'USERAUTH_BANNER',
  60: 'USERAUTH_PK_OK / INFO_REQUEST (60)',
  61: 'USERAUTH_INFO_RESPONSE',
  80: 'GLOBAL_REQUEST',
  81: 'REQUEST_SUCCESS',
  82: 'REQUEST_FAILURE',
  90: 'CHANNEL_OPEN',
  91: 'CHANNEL_OPEN_CONFIRMATION',
  92: 'CHANNEL_OPEN_FAILURE',
  93: 'CHANNEL_WINDOW_ADJUST',
  94: 'CHANNEL_DATA',
  95: 'CHANNEL_EXTENDED_DATA',
  96: 'CHANNEL_EOF',
  97: 'CHANNEL_CLOSE',
  98: 'CHANNEL_REQUEST',
  99: 'CHANNEL_SUCCESS',
  100: 'CHANNEL_FAILURE',
};

export function messageName(type: number): string {
  return NAMES[type] ?? `message ${type}`;
}

/** RFC 4253 11.1: disconnect reason codes. */
export const DISCONNECT_REASONS: Record<number, string> = {
  1: 'host not allowed to connect',
  2: 'protocol error',
  3: 'key exchange failed',
  4: 'reserved',
  5: 'MAC error',
  6: 'compression error',
  7: 'service not available',
  8: 'protocol version not supported',
  9: 'host key not verifiable',
  10: 'connection lost',
  11: 'by application',
  12: 'too many connections',
  13: 'auth cancelled by user',
  14: 'no more auth methods available',
  15: 'illegal user name',
};

// ---------------------------------------------------------------- version exchange (RFC 4253 4.2)

export const CLIENT_VERSION = 'SSH-2.0-Portolan_1.0';

/** RFC 4253 4.2: the identification line is at most 255 characters including CR LF. */
export const MAX_VERSION_LINE = 253;
/** Lines a server may send before its version line (RFC 4253 4.2 allows some); capped. */
export const MAX_PREAMBLE_LINES = 64;

export interface Identification {
  /** The whole line without CR LF: what the exchange hash covers (V_S). */
  raw: string;
  protoVersion: string;
  softwareVersion: string;
  comments: string | null;
}

/** Parses `SSH-protoversion-softwareversion SP comments`; undefined for a line that is not one (preamble). */
export function parseIdentification(line: Uint8Array): Identification | undefined {
  if (line.length < 4 || line[0] !== 0x53 || line[1] !== 0x53 || line[2] !== 0x48 || line[3] !== 0x2d) return undefined;
  // RFC 4253 4.2: US-ASCII printable characters, no NUL.
  for (const b of line) if (b < 0x20 || b > 0x7e) throw new ProtocolError('server version line contains non-printable bytes');
  const raw = fromLatin1(line);
  const m = /^SSH-([^-\s]+)-(\S+)(?: (.*))?$/.exec(raw);
  if (!m) throw new ProtocolError(`server version line malformed: ${JSON.stringify(raw.slice(0, 80))}`);
  return { raw, protoVersion: m[1], softwareVersion: m[2], comments: m[3] ?? null };
}

// ---------------------------------------------------------------- binary packets (RFC 4253 6)

/** OpenSSH's PACKET_MAX_SIZE; RFC 4253 6.1 requires at least 35000. Larger lengths are refused. */
export const MAX_PACKET = 256 * 1024;

/**
 * Checks a decrypted packet_length (RFC 4253 6): at least padding_length and 4 bytes of padding,
 * at most MAX_PACKET, and (length + lengthIncluded) a multiple of the cipher block.
 */
export function checkPacketLength(len: number, block: number, lengthInBlock: boolean): void {
  if (len < 5 || len > MAX_PACKET) throw new ProtocolError(`packet length ${len} is out of range (5–${MAX_PACKET}): not an SSH packet, or corrupted`);
  if ((len + (lengthInBlock ? 4 : 0)) % block !== 0) throw new ProtocolError(`packet length ${len} is not a multiple of the ${block}-byte cipher block`);
}

/** RFC 4253 6: splits `padding_length || payload || padding`, returning the payload. */
export function unpad(body: Uint8Array): Uint8Array {
  const pad = body[0];
  // RFC 4253 6: random padding is at least four bytes.
  if (pad < 4 || pad > body.length - 1) throw new ProtocolError(`padding length ${pad} is invalid for a ${body.length}-byte packet`);
  const payload = body.subarray(1, body.length - pad);
  if (payload.length === 0) throw new ProtocolError('packet has an empty payload');
  return payload;
}

/**
 * Builds `packet_length || padding_length || payload || padding` (RFC 4253 6). The padded part
 * is a multiple of `block`; with `lengthInBlock` false (EtM, AEAD) the length field is left out of that
 * multiple. Padding is 4 to 4 + block - 1 bytes of `random`.
 */
export function pad(payload: Uint8Array, block: number, lengthInBlock: boolean, random: (n: number) => Uint8Array): Uint8Array {
  const head = lengthInBlock ? 5 : 1;
  let padding = block - ((head + payload.length) % block);
  if (padding < 4) padding += block;
  const len = 1 + payload.length + padding;
  const out = new Uint8Array(4 + len);
  new DataView(out.buffer).setUint32(0, len);
  out[4] = padding;
  out.set(payload, 5);
  out.set(random(padding), 5 + payload.length);
  return out;
}

/** Frame of an unencrypted packet (before the first NEWKEYS): value is the payload. */
export const plainPacketFrame: Frame<Uint8Array> = (buf) => {
  if (buf.length < 4) return undefined;
  const len = new DataView(buf.buffer, buf.byteOffset, 4).getUint32(0);
  checkPacketLength(len, 8, true);
  if (buf.length < 4 + len) return undefined;
  return { value: unpad(buf.slice(4, 4 + len)), size: 4 + len };
};

// ---------------------------------------------------------------- KEXINIT (RFC 4253 7.1)

export interface KexInit {
  cookie: Uint8Array;
  kex: string[];
  hostKey: string[];
  cipherCS: string[];
  cipherSC: string[];
  macCS: string[];
  macSC: string[];
  compressionCS: string[];
  compressionSC: string[];
  languagesCS: string[];
  languagesSC: string[];
  firstKexFollows: boolean;
}

export function encodeKexInit(k: KexInit): Uint8Array {
  const w = new SshWriter(512).u8(MSG.KEXINIT).bytes(k.cookie);
  for (const list of [k.kex, k.hostKey, k.cipherCS, k.cipherSC, k.macCS, k.macSC, k.compressionCS, k.compressionSC, k.languagesCS, k.languagesSC]) w.nameList(list);
  return w.bool(k.firstKexFollows).u32(0).finish();
}

export function decodeKexInit(payload: Uint8Array): KexInit {
  const r = new SshReader(payload);
  expectType(r, MSG.KEXINIT);
  const cookie = r.bytesN(16, 'KEXINIT cookie').slice();
  const lists = ['kex_algorithms', 'server_host_key_algorithms', 'encryption_algorithms_client_to_server', 'encryption_algorithms_server_to_client', 'mac_algorithms_client_to_server', 'mac_algorithms_server_to_client', 'compression_algorithms_client_to_server', 'compression_algorithms_server_to_client', 'languages_client_to_server', 'languages_server_to_client'].map((f) => r.nameList(f));
  const firstKexFollows = r.bool('first_kex_packet_follows');
  r.u32('KEXINIT reserved');
  return {
    cookie,
    kex: lists[0],
    hostKey: lists[1],
    cipherCS: lists[2],
    cipherSC: lists[3],
    macCS: lists[4],
    macSC: lists[5],
    compressionCS: lists[6],
    compressionSC: lists[7],
    languagesCS: lists[8],
    languagesSC: lists[9],
    firstKexFollows,
  };
}

// ---------------------------------------------------------------- generic transport messages (RFC 4253 11, RFC 8308)

export interface Disconnect {
  reason: number;
  description: string;
}

export function decodeDisconnect(payload: Uint8Array): Disconnect {
  const r = new SshReader(payload, 1);
  const reason = r.u32('reason code');
  const description = r.text('description', 4096);
  return { reason, description };
}

export function encodeDisconnect(reason: number, description: string): Uint8Array {
  return new SshWriter(64).u8(MSG.DISCONNECT).u32(reason).string(description).string('').finish();
}

export function encodeIgnore(data: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new SshWriter(16).u8(MSG.IGNORE).string(data).finish();
}

export function encodeUnimplemented(seq: number): Uint8Array {
  return new SshWriter(8).u8(MSG.UNIMPLEMENTED).u32(seq).finish();
}

export function decodeDebug(payload: Uint8Array): { alwaysDisplay: boolean; message: string } {
  const r = new SshReader(payload, 1);
  return { alwaysDisplay: r.bool('always_display'), message: r.text('message', 4096) };
}

export function encodeServiceRequest(name: string): Uint8Array {
  return new SshWriter(32).u8(MSG.SERVICE_REQUEST).string(name).finish();
}

export function decodeServiceAccept(payload: Uint8Array): string {
  const r = new SshReader(payload);
  expectType(r, MSG.SERVICE_ACCEPT);
  return r.text('service name', 256);
}

/** RFC 8308 2.3: SSH_MSG_EXT_INFO, a count of name/value pairs. */
export function decodeExtInfo(payload: Uint8Array): Map<string, Uint8Array> {
  const r = new SshReader(payload);
  expectType(r, MSG.EXT_INFO);
  const n = r.u32('nr-extensions');
  if (n > 64) throw new ProtocolError(`EXT_INFO announces ${n} extensions (limit 64)`);
  const out = new Map<string, Uint8Array>();
  for (let i = 0; i < n; i++) out.set(r.text('extension-name', 256), r.string('extension-value', 16 * 1024));
  return out;
}

export function encodeKexEcdhInit(q: Uint8Array): Uint8Array {
  return new SshWriter(80).u8(MSG.KEX_30).string(q).finish();
}

export function encodeKexDhInit(type: number, e: bigint): Uint8Array {
  return new SshWriter(1100).u8(type).mpint(e).finish();
}

export interface KexReply {
  hostKey: Uint8Array;
  /** Q_S (ECDH, string) or f (DH, mpint) in the wire form the exchange hash needs. */
  serverPublic: Uint8Array;
  signature: Uint8Array;
}

/** RFC 5656 4 / RFC 8731 3: SSH_MSG_KEX_ECDH_REPLY, K_S, Q_S, signature. */
export function decodeKexEcdhReply(payload: Uint8Array): KexReply {
  const r = new SshReader(payload);
  expectType(r, MSG.KEX_31);
  return { hostKey: r.string('K_S', 16 * 1024), serverPublic: r.string('Q_S', 2048), signature: r.string('signature', 16 * 1024) };
}

/** RFC 4253 8 / RFC 4419 3: KEXDH_REPLY or KEX_DH_GEX_REPLY, K_S, f (mpint), signature. */
export function decodeKexDhReply(payload: Uint8Array, type: number): { hostKey: Uint8Array; f: bigint; signature: Uint8Array } {
  const r = new SshReader(payload);
  expectType(r, type);
  return { hostKey: r.string('K_S', 16 * 1024), f: r.mpint('f', 1025), signature: r.string('signature', 16 * 1024) };
}

/** RFC 4419 3: SSH_MSG_KEX_DH_GEX_GROUP, p and g. */
export function decodeGexGroup(payload: Uint8Array): { p: bigint; g: bigint } {
  const r = new SshReader(payload);
  expectType(r, MSG.KEX_31);
  return { p: r.mpint('p', 1025), g: r.mpint('g', 1025) };
}

export function encodeGexRequest(min: number, n: number, max: number): Uint8Array {
  return new SshWriter(16).u8(MSG.KEX_34).u32(min).u32(n).u32(max).finish();
}

export function expectType(r: SshReader, type: number): void {
  const got = r.u8('message type');
  if (got !== type) throw new ProtocolError(`expected ${messageName(type)}, got ${messageName(got)}`);
}

/** A one-line reading of a payload for the transcript; never includes secrets (auth requests are summarised). */
export function describePayload(p: Uint8Array): string {
  if (p.length === 0) return 'empty payload';
  const type = p[0];
  const name = messageName(type);
  try {
    const r = new SshReader(p, 1);
    switch (type) {
      case MSG.DISCONNECT: {
        const d = decodeDisconnect(p);
        return `${name} ${d.reason} (${DISCONNECT_REASONS[d.reason] ?? 'unknown'}): ${d.description}`;
      }
      case MSG.DEBUG:
        return `${name} ${JSON.stringify(decodeDebug(p).message)}`;
      case MSG.KEXINIT: {
        const k = decodeKexInit(p);
        return `${name} kex=${k.kex.join(',')} hostkey=${k.hostKey.join(',')} cipher=${k.cipherSC.join(',')} mac=${k.macSC.join(',')}`;
      }
      case MSG.SERVICE_REQUEST:
      case MSG.SERVICE_ACCEPT:
        return `${name} ${r.text('service', 256)}`;
      case MSG.USERAUTH_REQUEST: {
        const user = r.text('user', 256);
        r.text('service', 256);
        const method = r.text('method', 256);
        return `${name} user=${JSON.stringify(user)} method=${method}`;
      }
      case MSG.USERAUTH_FAILURE:
        return `${name} methods=${r.nameList('methods').join(',')}${r.bool('partial') ? ' (partial success)' : ''}`;
      case MSG.USERAUTH_BANNER:
        return `${name} ${JSON.stringify(r.text('message', 8192).slice(0, 200))}`;
      case MSG.GLOBAL_REQUEST:
        return `${name} ${r.text('request name', 256)}`;
      case MSG.CHANNEL_OPEN:
        return `${name} ${r.text('channel type', 256)} sender=${r.u32()} window=${r.u32()} max=${r.u32()}`;
      case MSG.CHANNEL_OPEN_CONFIRMATION:
        return `${name} recipient=${r.u32()} sender=${r.u32()} window=${r.u32()} max=${r.u32()}`;
      case MSG.CHANNEL_OPEN_FAILURE:
        return `${name} recipient=${r.u32()} reason=${r.u32()} ${JSON.stringify(r.text('description', 4096))}`;
      case MSG.CHANNEL_WINDOW_ADJUST:
        return `${name} recipient=${r.u32()} +${r.u32()}`;
      case MSG.CHANNEL_DATA:
        return `${name} recipient=${r.u32()} ${r.u32()} bytes`;
      case MSG.CHANNEL_EXTENDED_DATA:
        return `${name} recipient=${r.u32()} type=${r.u32()} ${r.u32()} bytes`;
      case MSG.CHANNEL_EOF:
      case MSG.CHANNEL_CLOSE:
      case MSG.CHANNEL_SUCCESS:
      case MSG.CHANNEL_FAILURE:
        return `${name} recipient=${r.u32()}`;
      case MSG.CHANNEL_REQUEST: {
        const rec = r.u32();
        const req = r.text('request type', 256);
        const want = r.bool();
        let extra = '';
        if (req === 'exit-status') extra = ` ${r.u32()}`;
        else if (req === 'exit-signal' || req === 'signal') extra = ` ${r.text('signal', 64)}`;
        else if (req === 'subsystem') extra = ` ${r.text('subsystem', 256)}`;
        return `${name} recipient=${rec} ${req}${want ? ' (want reply)' : ''}${extra}`;
      }
      default:
        return `${name} (${p.length} bytes)`;
    }
  } catch {
    return `${name} (${p.length} bytes, ${toHex(p.subarray(0, 16))}…)`;
  }
}
