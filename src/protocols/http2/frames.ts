// HTTP/2 frames, RFC 9113 §4 (frame format) and §6 (frame definitions), with the error codes of §7 and the
// settings of §6.5.2. `frameFrame` is the sans-I/O reader; `encode*` build frames.
import { ByteReader, ByteWriter, fromLatin1, toHex, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** §3.4: the client connection preface starts with this. */
export const PREFACE = utf8('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
  /** RFC 9218 §7.1: a client's new priority for a request stream, sent on stream 0. */
  PRIORITY_UPDATE: 0x10,
} as const;

const TYPE_NAMES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];

export function typeName(type: number): string {
  if (type === FrameType.PRIORITY_UPDATE) return 'PRIORITY_UPDATE';
  return TYPE_NAMES[type] ?? `UNKNOWN(0x${type.toString(16)})`;
}

export const Flags = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** §7 error codes. */
const ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `UNKNOWN_ERROR(0x${code.toString(16)})`;
}

export const ErrorCode = Object.fromEntries(ERROR_NAMES.map((n, i) => [n, i])) as Record<string, number>;

/** §6.5.2 setting identifiers (and RFC 8441's ENABLE_CONNECT_PROTOCOL, RFC 9218's NO_RFC7540_PRIORITIES). */
const SETTING_NAMES: Record<number, string> = {
  0x1: 'HEADER_TABLE_SIZE',
  0x2: 'ENABLE_PUSH',
  0x3: 'MAX_CONCURRENT_STREAMS',
  0x4: 'INITIAL_WINDOW_SIZE',
  0x5: 'MAX_FRAME_SIZE',
  0x6: 'MAX_HEADER_LIST_SIZE',
  0x8: 'ENABLE_CONNECT_PROTOCOL',
  0x9: 'NO_RFC7540_PRIORITIES',
};

export const Setting = { HEADER_TABLE_SIZE: 1, ENABLE_PUSH: 2, MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4, MAX_FRAME_SIZE: 5, MAX_HEADER_LIST_SIZE: 6, NO_RFC7540_PRIORITIES: 9 } as const;

export function settingName(id: number): string {
  return SETTING_NAMES[id] ?? `UNKNOWN(0x${id.toString(16)})`;
}

export const DEFAULT_MAX_FRAME_SIZE = 16384;
export const MAX_WINDOW = 2 ** 31 - 1;

export type H2Frame =
  | { type: 'DATA'; stream: number; flags: number; data: Uint8Array; padding: number; length: number }
  | { type: 'HEADERS'; stream: number; flags: number; block: Uint8Array; padding: number; priority?: Priority; length: number }
  | { type: 'PRIORITY'; stream: number; flags: number; priority: Priority; length: number }
  | { type: 'RST_STREAM'; stream: number; flags: number; errorCode: number; length: number }
  | { type: 'SETTINGS'; stream: 0; flags: number; ack: boolean; settings: [number, number][]; length: number }
  | { type: 'PUSH_PROMISE'; stream: number; flags: number; promised: number; block: Uint8Array; padding: number; length: number }
  | { type: 'PING'; stream: 0; flags: number; ack: boolean; opaque: Uint8Array; length: number }
  | { type: 'GOAWAY'; stream: 0; flags: number; lastStream: number; errorCode: number; debug: Uint8Array; length: number }
  | { type: 'WINDOW_UPDATE'; stream: number; flags: number; increment: number; length: number }
  | { type: 'CONTINUATION'; stream: number; flags: number; block: Uint8Array; length: number }
  | { type: 'PRIORITY_UPDATE'; stream: 0; flags: number; prioritized: number; value: string; length: number }
  | { type: 'UNKNOWN'; typeCode: number; stream: number; flags: number; payload: Uint8Array; length: number };

export interface Priority {
  exclusive: boolean;
  dependsOn: number;
  weight: number;
}

/** A connection error (§5.4.1): the frame broke a rule. Carries the error code we would send in GOAWAY. */
export function connectionError(code: keyof typeof ErrorCode | string, message: string): ProtocolError {
  return new ProtocolError(`HTTP/2 ${code}: ${message}`, { h2error: code });
}

function stripPadding(r: ByteReader, flags: number, length: number, what: string): { body: Uint8Array; padding: number } {
  if (!(flags & Flags.PADDED)) return { body: r.rest(), padding: 0 };
  const pad = r.u8('Pad Length');
  // §6.1/§6.2: padding as long as the payload or longer is a PROTOCOL_ERROR.
  if (pad >= length) throw connectionError('PROTOCOL_ERROR', `${what} padding ${pad} is not shorter than the ${length}-byte payload`);
  const rest = r.rest();
  if (pad > rest.length) throw connectionError('PROTOCOL_ERROR', `${what} padding ${pad} exceeds the payload`);
  return { body: rest.subarray(0, rest.length - pad), padding: pad + 1 };
}

function readPriority(r: ByteReader): Priority {
  const dep = r.u32('Stream Dependency');
  return { exclusive: (dep & 0x80000000) !== 0, dependsOn: dep & 0x7fffffff, weight: r.u8('Weight') + 1 };
}

/** Parses one frame's payload (§6), checking the rules that concern the frame alone. */
export function parseFrame(type: number, flags: number, stream: number, payload: Uint8Array): H2Frame {
  const r = new ByteReader(payload);
  const length = payload.length;
  const needStream = (name: string) => {
    if (stream === 0) throw connectionError('PROTOCOL_ERROR', `${name} on stream 0`);
  };
  const needConnection = (name: string) => {
    if (stream !== 0) throw connectionError('PROTOCOL_ERROR', `${name} on stream ${stream}, must be stream 0`);
  };
  switch (type) {
    case FrameType.DATA: {
      needStream('DATA'); // §6.1
      const { body, padding } = stripPadding(r, flags, length, 'DATA');
      return { type: 'DATA', stream, flags, data: body.slice(), padding, length };
    }
    case FrameType.HEADERS: {
      needStream('HEADERS'); // §6.2
      const { body, padding } = stripPadding(r, flags, length, 'HEADERS');
      const b = new ByteReader(body);
      const priority = flags & Flags.PRIORITY ? readPriority(b) : undefined;
      return { type: 'HEADERS', stream, flags, block: b.rest().slice(), padding, priority, length };
    }
    case FrameType.PRIORITY:
      needStream('PRIORITY'); // §6.3: 5 octets, else a stream error FRAME_SIZE_ERROR
      if (length !== 5) throw connectionError('FRAME_SIZE_ERROR', `PRIORITY of ${length} bytes, must be 5`);
      return { type: 'PRIORITY', stream, flags, priority: readPriority(r), length };
    case FrameType.RST_STREAM:
      needStream('RST_STREAM'); // §6.4
      if (length !== 4) throw connectionError('FRAME_SIZE_ERROR', `RST_STREAM of ${length} bytes, must be 4`);
      return { type: 'RST_STREAM', stream, flags, errorCode: r.u32('Error Code'), length };
    case FrameType.SETTINGS: {
      needConnection('SETTINGS'); // §6.5
      const ack = (flags & Flags.ACK) !== 0;
      if (ack && length !== 0) throw connectionError('FRAME_SIZE_ERROR', 'SETTINGS ACK with a payload');
      if (length % 6 !== 0) throw connectionError('FRAME_SIZE_ERROR', `SETTINGS of ${length} bytes is not a multiple of 6`);
      const settings: [number, number][] = [];
      while (!r.done) settings.push([r.u16('Identifier'), r.u32('Value')]);
      for (const [id, value] of settings) checkSetting(id, value);
      return { type: 'SETTINGS', stream: 0, flags, ack, settings, length };
    }
    case FrameType.PUSH_PROMISE: {
      needStream('PUSH_PROMISE'); // §6.6
      const { body, padding } = stripPadding(r, flags, length, 'PUSH_PROMISE');
      const b = new ByteReader(body);
      const promised = b.u32('Promised Stream ID') & 0x7fffffff;
      return { type: 'PUSH_PROMISE', stream, flags, promised, block: b.rest().slice(), padding, length };
    }
    case FrameType.PING:
      needConnection('PING'); // §6.7
      if (length !== 8) throw connectionError('FRAME_SIZE_ERROR', `PING of ${length} bytes, must be 8`);
      return { type: 'PING', stream: 0, flags, ack: (flags & Flags.ACK) !== 0, opaque: payload.slice(), length };
    case FrameType.GOAWAY: {
      needConnection('GOAWAY'); // §6.8
      if (length < 8) throw connectionError('FRAME_SIZE_ERROR', `GOAWAY of ${length} bytes, needs at least 8`);
      const lastStream = r.u32('Last-Stream-ID') & 0x7fffffff;
      return { type: 'GOAWAY', stream: 0, flags, lastStream, errorCode: r.u32('Error Code'), debug: r.rest().slice(), length };
    }
    case FrameType.WINDOW_UPDATE: {
      // §6.9: 4 octets; an increment of 0 is an error.
      if (length !== 4) throw connectionError('FRAME_SIZE_ERROR', `WINDOW_UPDATE of ${length} bytes, must be 4`);
      const increment = r.u32('Window Size Increment') & 0x7fffffff;
      if (increment === 0) throw connectionError('PROTOCOL_ERROR', `WINDOW_UPDATE with increment 0 on stream ${stream}`);
      return { type: 'WINDOW_UPDATE', stream, flags, increment, length };
    }
    case FrameType.CONTINUATION:
      needStream('CONTINUATION'); // §6.10
      return { type: 'CONTINUATION', stream, flags, block: payload.slice(), length };
    case FrameType.PRIORITY_UPDATE: {
      // RFC 9218 §7.1: on stream 0, a prioritized stream id and the Priority Field Value (ASCII, RFC 8941).
      needConnection('PRIORITY_UPDATE');
      if (length < 4) throw connectionError('FRAME_SIZE_ERROR', `PRIORITY_UPDATE of ${length} bytes, needs at least 4`);
      const prioritized = r.u32('Prioritized Stream ID') & 0x7fffffff;
      return { type: 'PRIORITY_UPDATE', stream: 0, flags, prioritized, value: fromLatin1(r.rest().subarray(0, 256)), length };
    }
    default:
      // §4.1/§5.5: unknown frame types are ignored (but shown).
      return { type: 'UNKNOWN', typeCode: type, stream, flags, payload: payload.slice(), length };
  }
}

/** §6.5.2 value rules. */
function checkSetting(id: number, value: number): void {
  if (id === Setting.ENABLE_PUSH && value > 1) throw connectionError('PROTOCOL_ERROR', `SETTINGS_ENABLE_PUSH ${value}, must be 0 or 1`);
  if (id === Setting.INITIAL_WINDOW_SIZE && value > MAX_WINDOW) throw connectionError('FLOW_CONTROL_ERROR', `SETTINGS_INITIAL_WINDOW_SIZE ${value} above 2^31-1`);
  if (id === Setting.MAX_FRAME_SIZE && (value < 16384 || value > 16777215)) throw connectionError('PROTOCOL_ERROR', `SETTINGS_MAX_FRAME_SIZE ${value} outside 16384–16777215`);
}

/** One whole frame (§4.1): 24-bit length, type, flags, R + 31-bit stream, payload. */
export function frameFrame(maxFrameSize = DEFAULT_MAX_FRAME_SIZE): Frame<H2Frame> {
  return (buf) => {
    if (buf.length < 9) return undefined;
    const length = (buf[0] << 16) | (buf[1] << 8) | buf[2];
    // §4.2: a frame larger than our SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR.
    if (length > maxFrameSize) throw connectionError('FRAME_SIZE_ERROR', `frame of ${length} bytes exceeds our SETTINGS_MAX_FRAME_SIZE ${maxFrameSize}`);
    if (buf.length < 9 + length) return undefined;
    const type = buf[3];
    const flags = buf[4];
    // §4.1: the reserved bit is ignored on receipt.
    const stream = ((buf[5] & 0x7f) << 24) | (buf[6] << 16) | (buf[7] << 8) | buf[8];
    return { value: parseFrame(type, flags, stream, buf.subarray(9, 9 + length)), size: 9 + length };
  };
}

function header(w: ByteWriter, length: number, type: number, flags: number, stream: number): void {
  w.u24(length).u8(type).u8(flags).u32(stream & 0x7fffffff);
}

export function encodeFrame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const w = new ByteWriter(9 + payload.length);
  header(w, payload.length, type, flags, stream);
  return w.bytes(payload).finish();
}

export function encodeSettings(settings: [number, number][], ack = false): Uint8Array {
  const w = new ByteWriter(9 + settings.length * 6);
  header(w, ack ? 0 : settings.length * 6, FrameType.SETTINGS, ack ? Flags.ACK : 0, 0);
  if (!ack) for (const [id, value] of settings) w.u16(id).u32(value);
  return w.finish();
}

/** The SETTINGS payload alone, for the HTTP2-Settings header of an h2c upgrade (§3.2 of RFC 7540). */
export function settingsPayload(settings: [number, number][]): Uint8Array {
  const w = new ByteWriter(settings.length * 6);
  for (const [id, value] of settings) w.u16(id).u32(value);
  return w.finish();
}

export function encodeHeaders(stream: number, block: Uint8Array, endStream: boolean, maxFrameSize: number): Uint8Array {
  // §6.10: a block larger than one frame continues in CONTINUATION frames.
  const w = new ByteWriter(block.length + 32);
  let at = 0;
  let first = true;
  do {
    const piece = block.subarray(at, at + maxFrameSize);
    at += piece.length;
    const last = at >= block.length;
    const flags = (last ? Flags.END_HEADERS : 0) | (first && endStream ? Flags.END_STREAM : 0);
    header(w, piece.length, first ? FrameType.HEADERS : FrameType.CONTINUATION, flags, stream);
    w.bytes(piece);
    first = false;
  } while (at < block.length);
  return w.finish();
}

export function encodeData(stream: number, data: Uint8Array, endStream: boolean): Uint8Array {
  return encodeFrame(FrameType.DATA, endStream ? Flags.END_STREAM : 0, stream, data);
}

export function encodePing(opaque: Uint8Array, ack = false): Uint8Array {
  return encodeFrame(FrameType.PING, ack ? Flags.ACK : 0, 0, opaque);
}

export function encodeWindowUpdate(stream: number, increment: number): Uint8Array {
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, stream, new ByteWriter(4).u32(increment).finish());
}

export function encodeRstStream(stream: number, errorCode: number): Uint8Array {
  return encodeFrame(FrameType.RST_STREAM, 0, stream, new ByteWriter(4).u32(errorCode).finish());
}

/** RFC 9218 §7.1: PRIORITY_UPDATE for a request stream, with its Priority Field Value (e.g. "u=1, i"). */
export function encodePriorityUpdate(stream: number, value: string): Uint8Array {
  return encodeFrame(FrameType.PRIORITY_UPDATE, 0, 0, new ByteWriter(4 + value.length).u32(stream).text(value).finish());
}

export function encodeGoaway(lastStream: number, errorCode: number, debug = ''): Uint8Array {
  return encodeFrame(FrameType.GOAWAY, 0, 0, new ByteWriter(8).u32(lastStream).u32(errorCode).text(debug).finish());
}

export function flagNames(f: H2Frame): string[] {
  const out: string[] = [];
  const t = f.type;
  if ((t === 'SETTINGS' || t === 'PING') && f.flags & Flags.ACK) out.push('ACK');
  if ((t === 'DATA' || t === 'HEADERS') && f.flags & Flags.END_STREAM) out.push('END_STREAM');
  if ((t === 'HEADERS' || t === 'PUSH_PROMISE' || t === 'CONTINUATION') && f.flags & Flags.END_HEADERS) out.push('END_HEADERS');
  if ((t === 'DATA' || t === 'HEADERS' || t === 'PUSH_PROMISE') && f.flags & Flags.PADDED) out.push('PADDED');
  if (t === 'HEADERS' && f.flags & Flags.PRIORITY) out.push('PRIORITY');
  return out;
}

/** An RFC 7540 §5.3 priority signal (deprecated by RFC 9113 §5.3.2, still sent by some servers). */
export function describePriority(p: Priority): string {
  return `depends on stream ${p.dependsOn}${p.exclusive ? ' (exclusive)' : ''}, weight ${p.weight}`;
}

/** One line for the transcript and the inspect view. */
export function describeFrame(f: H2Frame): string {
  const flags = flagNames(f);
  const head = `${f.type === 'UNKNOWN' ? typeName(f.typeCode) : f.type}${flags.length ? `[${flags.join(',')}]` : ''} stream ${f.stream}, ${f.length} bytes`;
  switch (f.type) {
    case 'SETTINGS':
      return f.ack ? head : `${head}: ${f.settings.map(([id, v]) => `${settingName(id)}=${v}`).join(' ') || '(defaults)'}`;
    case 'WINDOW_UPDATE':
      return `${head}: +${f.increment}`;
    case 'RST_STREAM':
      return `${head}: ${errorName(f.errorCode)}`;
    case 'GOAWAY':
      return `${head}: last stream ${f.lastStream}, ${errorName(f.errorCode)}${f.debug.length ? ` "${fromLatin1(f.debug.subarray(0, 80))}"` : ''}`;
    case 'PING':
      return `${head}: ${toHex(f.opaque)}`;
    case 'PUSH_PROMISE':
      return `${head}: promised stream ${f.promised}`;
    case 'PRIORITY':
      return `${head}: ${describePriority(f.priority)}`;
    case 'HEADERS':
      return f.priority ? `${head}: ${describePriority(f.priority)}` : head;
    case 'PRIORITY_UPDATE':
      return `${head}: stream ${f.prioritized} priority "${f.value}"`;
    default:
      return head;
  }
}
