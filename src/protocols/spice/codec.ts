// SPICE (spice-protocol, "SPICE Protocol Definition" 2.2): the link stage — SpiceLinkHeader, SpiceLinkMess and
// SpiceLinkReply with capabilities, the ticket and the link result — and the data messages of the main channel this
// client reads (SET_ACK, PING, NOTIFY, MAIN_INIT, MAIN_NAME, MAIN_UUID, MAIN_CHANNELS_LIST). Everything is little-endian.
import { ByteReader, ByteWriter, fromLatin1, fromUtf8, toHex } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** "REDQ" as the wire carries it. */
export const SPICE_MAGIC = 0x51444552;
export const SPICE_VERSION = { major: 2, minor: 2 };
export const TICKET_PUBKEY_BYTES = 162;
/** Longest link message or data message accepted. */
const MAX_LINK = 64 * 1024;
export const MAX_MESSAGE = 4 * 1024 * 1024;

export const CHANNEL_NAMES: Record<number, string> = { 1: 'main', 2: 'display', 3: 'inputs', 4: 'cursor', 5: 'playback', 6: 'record', 7: 'tunnel', 8: 'smartcard', 9: 'usbredir', 10: 'port', 11: 'webdav' };

export const LINK_ERRORS: Record<number, string> = {
  0: 'OK', 1: 'ERROR', 2: 'INVALID_MAGIC', 3: 'INVALID_DATA', 4: 'VERSION_MISMATCH', 5: 'NEED_SECURED', 6: 'NEED_UNSECURED', 7: 'PERMISSION_DENIED', 8: 'BAD_CONNECTION_ID', 9: 'CHANNEL_NOT_AVAILABLE',
};

export const COMMON_CAPS = ['PROTOCOL_AUTH_SELECTION', 'AUTH_SPICE', 'AUTH_SASL', 'MINI_HEADER'];

/** Channel capabilities by channel type (spice/enums.h, spice/protocol.h). */
export const CHANNEL_CAPS: Record<number, string[]> = {
  1: ['SEMI_SEAMLESS_MIGRATE', 'NAME_AND_UUID', 'AGENT_CONNECTED_TOKENS', 'SEAMLESS_MIGRATE'],
  2: ['SIZED_STREAM', 'MONITORS_CONFIG', 'COMPOSITE', 'A8_SURFACE', 'STREAM_REPORT', 'LZ4_COMPRESSION', 'PREF_COMPRESSION', 'GL_SCANOUT', 'MULTI_CODEC', 'CODEC_MJPEG', 'CODEC_VP8', 'CODEC_H264', 'PREF_VIDEO_CODEC_TYPE', 'CODEC_VP9', 'CODEC_H265'],
  3: ['KEY_SCANCODE'],
  5: ['CELT_0_5_1', 'VOLUME', 'LATENCY', 'OPUS'],
  6: ['CELT_0_5_1', 'VOLUME', 'OPUS'],
};

/** The set bits of capability words as names (unknown bits as "bit N"). */
export function capNames(words: readonly number[], names: readonly string[]): string[] {
  const out: string[] = [];
  words.forEach((w, i) => {
    for (let b = 0; b < 32; b++) if ((w >>> b) & 1) out.push(names[i * 32 + b] ?? `bit ${i * 32 + b}`);
  });
  return out;
}

export function channelName(type: number): string {
  return CHANNEL_NAMES[type] ?? `type ${type}`;
}

/** SpiceLinkHeader and SpiceLinkMess: connect to one channel, offering capabilities. */
export function encodeLinkMess(opts: { connectionId: number; channelType: number; channelId: number; commonCaps: number[]; channelCaps: number[] }): Uint8Array {
  const body = new ByteWriter()
    .u32le(opts.connectionId)
    .u8(opts.channelType)
    .u8(opts.channelId)
    .u32le(opts.commonCaps.length)
    .u32le(opts.channelCaps.length)
    .u32le(18);
  for (const c of [...opts.commonCaps, ...opts.channelCaps]) body.u32le(c);
  const mess = body.finish();
  return new ByteWriter(16 + mess.length).u32le(SPICE_MAGIC).u32le(SPICE_VERSION.major).u32le(SPICE_VERSION.minor).u32le(mess.length).bytes(mess).finish();
}

export interface LinkReply {
  major: number;
  minor: number;
  error: number;
  errorName: string;
  /** The server's RSA public key (SubjectPublicKeyInfo, DER) for the ticket. */
  pubKey: Uint8Array;
  commonCaps: number[];
  channelCaps: number[];
}

/** SpiceLinkHeader + SpiceLinkReply. */
export const linkReplyFrame: Frame<LinkReply> = (buf) => {
  // The magic decides as soon as it is there (a server of another protocol may send a greeting and wait).
  if (buf.length >= 4 && new ByteReader(buf).u32le('magic') !== SPICE_MAGIC) {
    throw new ProtocolError(`not a SPICE server: it answered ${JSON.stringify(fromLatin1(buf.subarray(0, 16)))} (${toHex(buf.subarray(0, 4))}), not "REDQ"`);
  }
  if (buf.length < 16) return undefined;
  const r = new ByteReader(buf);
  r.skip(4, 'magic');
  const major = r.u32le('major_version');
  const minor = r.u32le('minor_version');
  const size = r.u32le('size');
  if (size > MAX_LINK) throw new ProtocolError(`link reply of ${size} bytes exceeds ${MAX_LINK}`);
  if (buf.length < 16 + size) return undefined;
  const body = new ByteReader(buf.subarray(16, 16 + size));
  const error = body.u32le('error');
  if (body.remaining < TICKET_PUBKEY_BYTES + 12) {
    // A refusal may stop after the error.
    return { value: { major, minor, error, errorName: LINK_ERRORS[error] ?? `error ${error}`, pubKey: new Uint8Array(0), commonCaps: [], channelCaps: [] }, size: 16 + size };
  }
  const pubKey = body.bytesN(TICKET_PUBKEY_BYTES, 'pub_key').slice();
  const nCommon = body.u32le('num_common_caps');
  const nChannel = body.u32le('num_channel_caps');
  const capsOffset = body.u32le('caps_offset');
  if (nCommon + nChannel > 64) throw new ProtocolError(`${nCommon + nChannel} capability words`);
  const caps = new ByteReader(buf.subarray(16, 16 + size), capsOffset);
  const commonCaps: number[] = [];
  const channelCaps: number[] = [];
  for (let i = 0; i < nCommon; i++) commonCaps.push(caps.u32le('common caps'));
  for (let i = 0; i < nChannel; i++) channelCaps.push(caps.u32le('channel caps'));
  return { value: { major, minor, error, errorName: LINK_ERRORS[error] ?? `error ${error}`, pubKey, commonCaps, channelCaps }, size: 16 + size };
};

/** The link result after the ticket: a u32 error code. */
export const linkResultFrame: Frame<{ error: number; name: string }> = (buf) => {
  if (buf.length < 4) return undefined;
  const error = new ByteReader(buf).u32le('link result');
  return { value: { error, name: LINK_ERRORS[error] ?? `error ${error}` }, size: 4 };
};

export interface DataMessage {
  type: number;
  body: Uint8Array;
}

/** A data message with the mini header (u16 type, u32 size) — when both sides have MINI_HEADER — or the full one. */
export function dataFrame(mini: boolean): Frame<DataMessage> {
  const head = mini ? 6 : 18;
  return (buf) => {
    if (buf.length < head) return undefined;
    const r = new ByteReader(buf);
    if (!mini) r.skip(8, 'serial');
    const type = r.u16le('type');
    const size = r.u32le('size');
    if (size > MAX_MESSAGE) throw new ProtocolError(`SPICE message ${type} of ${size} bytes exceeds ${MAX_MESSAGE}`);
    if (buf.length < head + size) return undefined;
    return { value: { type, body: buf.slice(head, head + size) }, size: head + size };
  };
}

export function encodeData(mini: boolean, type: number, body: Uint8Array = new Uint8Array(0), serial = 1n): Uint8Array {
  const w = new ByteWriter(18 + body.length);
  if (!mini) w.u64le(serial);
  w.u16le(type).u32le(body.length);
  if (!mini) w.u32le(0);
  return w.bytes(body).finish();
}

export const MSG = { migrate: 1, migrateData: 2, setAck: 3, ping: 4, waitForChannels: 5, disconnecting: 6, notify: 7, list: 8, mainInit: 103, channelsList: 104, mouseMode: 105, multiMediaTime: 106, agentConnected: 107, agentDisconnected: 108, agentData: 109, agentToken: 110, name: 113, uuid: 114, agentConnectedTokens: 115 } as const;
export const MSGC = { ackSync: 1, ack: 2, pong: 3, attachChannels: 104 } as const;

export const MOUSE_MODES: Record<number, string> = { 1: 'server', 2: 'client' };

export interface MainInit {
  sessionId: number;
  displayChannelsHint: number;
  supportedMouseModes: string[];
  currentMouseMode: string;
  agentConnected: boolean;
  agentTokens: number;
  multiMediaTime: number;
  ramHint: number;
}

export function decodeMainInit(body: Uint8Array): MainInit {
  const r = new ByteReader(body);
  const sessionId = r.u32le('session_id');
  const displayChannelsHint = r.u32le('display_channels_hint');
  const supported = r.u32le('supported_mouse_modes');
  const current = r.u32le('current_mouse_mode');
  return {
    sessionId,
    displayChannelsHint,
    supportedMouseModes: Object.entries(MOUSE_MODES).filter(([bit]) => supported & Number(bit)).map(([, n]) => n),
    currentMouseMode: MOUSE_MODES[current] ?? `mode ${current}`,
    agentConnected: r.u32le('agent_connected') !== 0,
    agentTokens: r.u32le('agent_tokens'),
    multiMediaTime: r.u32le('multi_media_time'),
    ramHint: r.u32le('ram_hint'),
  };
}

export function decodeChannelsList(body: Uint8Array): { type: number; id: number; name: string }[] {
  const r = new ByteReader(body);
  const n = r.u32le('num_of_channels');
  if (n > 256) throw new ProtocolError(`${n} channels`);
  const out = [];
  for (let i = 0; i < n; i++) {
    const type = r.u8('channel type');
    const id = r.u8('channel id');
    out.push({ type, id, name: channelName(type) });
  }
  return out;
}

export function decodeName(body: Uint8Array): string {
  const r = new ByteReader(body);
  const len = r.u32le('name_len');
  return fromUtf8(r.bytesN(len, 'name')).replace(/\0+$/, '');
}

export function decodeUuid(body: Uint8Array): string {
  const h = toHex(new ByteReader(body).bytesN(16, 'uuid'));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** NOTIFY: time stamp, severity, visibility, what, message. */
export function decodeNotify(body: Uint8Array): { severity: string; message: string } {
  const r = new ByteReader(body);
  r.skip(8, 'time_stamp');
  const severity = ['info', 'warn', 'error'][r.u32le('severity')] ?? 'unknown';
  r.skip(8, 'visibilty and what');
  const len = r.u32le('message_len');
  return { severity, message: fromUtf8(r.bytesN(Math.min(len, r.remaining), 'message')).replace(/\0+$/, '') };
}
