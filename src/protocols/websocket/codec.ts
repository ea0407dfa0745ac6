// The WebSocket protocol, RFC 6455: the opening handshake (§4.1, §4.2.2), base framing (§5.2), masking
// (§5.3), fragmentation (§5.4), control frames (§5.5) and close codes (§7.4).
import { ByteWriter, fromUtf8, toBase64, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** §1.3: the GUID appended to the key before hashing. */
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const Opcode = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

const OPCODE_NAMES: Record<number, string> = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

export function opcodeName(op: number): string {
  return OPCODE_NAMES[op] ?? `reserved(0x${op.toString(16)})`;
}

/** §4.2.2 item 5.4: Sec-WebSocket-Accept = base64(SHA-1(key + GUID)). */
export function acceptFor(key: string, sha1: (data: Uint8Array) => Uint8Array): string {
  return toBase64(sha1(utf8(key + WS_GUID)));
}

export interface WsFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
  /** Bytes the frame took on the wire. */
  size: number;
}

/**
 * One frame from the server (§5.2). Servers must not mask (§5.1); control frames are short and whole (§5.5).
 * `rsv1`: permessage-deflate was agreed (RFC 7692 §6), so RSV1 may mark a compressed message.
 */
export function frameFrame(maxPayload = 16 * 1024 * 1024, rsv1 = false): Frame<WsFrame> {
  return (buf) => {
    if (buf.length < 2) return undefined;
    const b0 = buf[0];
    const b1 = buf[1];
    const fin = (b0 & 0x80) !== 0;
    const rsv = (b0 >> 4) & 0x7;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    // §5.2: RSV bits must be 0 unless an extension defines them; permessage-deflate defines RSV1 (RFC 7692 §6).
    if (rsv & 0b011) throw new ProtocolError(`WebSocket frame with RSV bits ${rsv.toString(2).padStart(3, '0')}: no extension defines RSV2 or RSV3 (RFC 6455 §5.2)`);
    if (rsv && !rsv1) throw new ProtocolError('WebSocket frame with RSV1 set though permessage-deflate was not agreed (RFC 6455 §5.2)');
    if (!(opcode in OPCODE_NAMES)) throw new ProtocolError(`WebSocket frame with reserved opcode 0x${opcode.toString(16)} (RFC 6455 §5.2)`);
    if (masked) throw new ProtocolError('the server masked a frame (RFC 6455 §5.1: a client must close the connection)');
    let length = b1 & 0x7f;
    let at = 2;
    if (length === 126) {
      if (buf.length < 4) return undefined;
      length = (buf[2] << 8) | buf[3];
      at = 4;
    } else if (length === 127) {
      if (buf.length < 10) return undefined;
      // §5.2: the most significant bit of the 64-bit length must be 0.
      if (buf[2] & 0x80) throw new ProtocolError('WebSocket 64-bit payload length with its top bit set');
      const high = buf[2] * 2 ** 24 + buf[3] * 2 ** 16 + buf[4] * 2 ** 8 + buf[5];
      if (high > 0) throw new ProtocolError(`WebSocket payload of more than 4 GiB (high word ${high})`);
      length = buf[6] * 2 ** 24 + buf[7] * 2 ** 16 + buf[8] * 2 ** 8 + buf[9];
      at = 10;
    }
    if (opcode >= 0x8) {
      // §5.5: control frames have at most 125 bytes of payload and are never fragmented.
      if (length > 125) throw new ProtocolError(`WebSocket ${opcodeName(opcode)} frame with ${length} bytes of payload (at most 125, RFC 6455 §5.5)`);
      if (!fin) throw new ProtocolError(`fragmented WebSocket ${opcodeName(opcode)} frame (RFC 6455 §5.5)`);
      if (rsv) throw new ProtocolError(`WebSocket ${opcodeName(opcode)} frame with RSV1 set: control frames are never compressed (RFC 7692 §6.1)`);
    }
    if (length > maxPayload) throw new ProtocolError(`WebSocket frame of ${length} bytes exceeds the ${maxPayload}-byte limit`);
    if (buf.length < at + length) return undefined;
    return { value: { fin, rsv, opcode, masked, payload: buf.slice(at, at + length), size: at + length }, size: at + length };
  };
}

/** A client frame (§5.2), always masked with the given 4-byte key (§5.3); `rsv1` marks a compressed message (RFC 7692 §6). */
export function encodeFrame(opcode: number, payload: Uint8Array, maskKey: Uint8Array, fin = true, rsv1 = false): Uint8Array {
  if (maskKey.length !== 4) throw new ProtocolError('a masking key is 4 bytes');
  const w = new ByteWriter(payload.length + 14);
  w.u8((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode);
  if (payload.length < 126) w.u8(0x80 | payload.length);
  else if (payload.length < 65536) w.u8(0x80 | 126).u16(payload.length);
  else w.u8(0x80 | 127).u32(Math.floor(payload.length / 2 ** 32)).u32(payload.length >>> 0);
  w.bytes(maskKey);
  const masked = new Uint8Array(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ maskKey[i & 3];
  return w.bytes(masked).finish();
}

/** §5.3: masking is its own inverse (for tests and for reading our own frames back). */
export function unmask(payload: Uint8Array, maskKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i] ^ maskKey[i & 3];
  return out;
}

/** §7.4.1 names; §7.4.2 ranges. */
const CLOSE_NAMES: Record<number, string> = {
  1000: 'normal closure',
  1001: 'going away',
  1002: 'protocol error',
  1003: 'unsupported data',
  1005: 'no status received',
  1006: 'abnormal closure',
  1007: 'invalid frame payload data',
  1008: 'policy violation',
  1009: 'message too big',
  1010: 'mandatory extension',
  1011: 'internal error',
  1012: 'service restart',
  1013: 'try again later',
  1014: 'bad gateway',
  1015: 'TLS handshake failure',
};

export function closeCodeName(code: number): string {
  if (CLOSE_NAMES[code]) return CLOSE_NAMES[code];
  if (code >= 3000 && code <= 3999) return 'registered (libraries, frameworks, applications)';
  if (code >= 4000 && code <= 4999) return 'private use';
  return 'reserved';
}

/** Whether a code may be sent in a Close frame (§7.4.1: 1005, 1006 and 1015 never are; §7.4.2 ranges). */
export function sendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

export interface ClosePayload {
  code: number | null;
  reason: string;
}

/** §5.5.1: empty, or a 2-byte code and a UTF-8 reason. */
export function decodeClose(payload: Uint8Array): ClosePayload {
  if (payload.length === 0) return { code: null, reason: '' };
  if (payload.length === 1) throw new ProtocolError('WebSocket close frame with a 1-byte payload (RFC 6455 §5.5.1)');
  const code = (payload[0] << 8) | payload[1];
  if (!sendableCloseCode(code)) throw new ProtocolError(`WebSocket close code ${code} may not be sent (RFC 6455 §7.4)`);
  return { code, reason: fromUtf8(payload.subarray(2), true, 'close reason') };
}

export function encodeClose(code: number | null, reason = ''): Uint8Array {
  if (code === null) return new Uint8Array(0);
  const text = utf8(reason);
  if (text.length > 123) throw new ProtocolError('close reason longer than 123 bytes');
  return new ByteWriter(2 + text.length).u16(code).bytes(text).finish();
}

export type WsMessage =
  | { kind: 'text'; text: string; frames: number; compressed?: number }
  | { kind: 'binary'; data: Uint8Array; frames: number; compressed?: number }
  | { kind: 'ping'; data: Uint8Array }
  /** `rttMs`: the round trip since our ping with the same payload. */
  | { kind: 'pong'; data: Uint8Array; rttMs?: number }
  | { kind: 'close'; code: number | null; reason: string };

/** Reassembles fragmented messages (§5.4); control frames come through between fragments. */
export class MessageAssembler {
  private parts: Uint8Array[] = [];
  private size = 0;
  private opcode: number | undefined;
  private compressed = false;
  /** `inflate`: permessage-deflate's decompressor (RFC 7692 §6.2), for messages whose first frame has RSV1 set. */
  constructor(
    private readonly maxMessage = 16 * 1024 * 1024,
    private readonly inflate?: (data: Uint8Array, max: number) => Uint8Array,
  ) {}

  push(f: WsFrame): WsMessage | undefined {
    if (f.opcode === Opcode.PING) return { kind: 'ping', data: f.payload };
    if (f.opcode === Opcode.PONG) return { kind: 'pong', data: f.payload };
    if (f.opcode === Opcode.CLOSE) return { kind: 'close', ...decodeClose(f.payload) };
    if (f.opcode === Opcode.CONTINUATION) {
      if (this.opcode === undefined) throw new ProtocolError('WebSocket continuation frame with no message to continue (RFC 6455 §5.4)');
      // RFC 7692 §6.1: only a message's first frame carries RSV1.
      if (f.rsv) throw new ProtocolError('WebSocket continuation frame with RSV1 set (RFC 7692 §6.1)');
    } else {
      if (this.opcode !== undefined) throw new ProtocolError(`WebSocket ${opcodeName(f.opcode)} frame inside a fragmented message (RFC 6455 §5.4)`);
      this.opcode = f.opcode;
      this.compressed = (f.rsv & 0b100) !== 0;
      if (this.compressed && !this.inflate) throw new ProtocolError('WebSocket frame with RSV1 set though permessage-deflate was not agreed (RFC 6455 §5.2)');
    }
    this.parts.push(f.payload);
    this.size += f.payload.length;
    if (this.size > this.maxMessage) throw new ProtocolError(`WebSocket message larger than ${this.maxMessage} bytes`);
    if (!f.fin) return undefined;
    const data = new Uint8Array(this.size);
    let at = 0;
    for (const p of this.parts) {
      data.set(p, at);
      at += p.length;
    }
    const frames = this.parts.length;
    const op = this.opcode;
    const compressed = this.compressed;
    this.parts = [];
    this.size = 0;
    this.opcode = undefined;
    this.compressed = false;
    // The inflated size is capped too: a compression bomb is a protocol error, never a buffer.
    if (compressed) return dataMessage(op, this.inflate!(data, this.maxMessage), frames, data.length);
    return dataMessage(op, data, frames);
  }
}

/** A whole text or binary message; `compressed`: its size on the wire when it came compressed. */
export function dataMessage(opcode: number, data: Uint8Array, frames: number, compressed?: number): WsMessage {
  const extra = compressed === undefined ? {} : { compressed };
  // §8.1: text must be valid UTF-8, else the connection fails (1007).
  if (opcode === Opcode.TEXT) return { kind: 'text', text: fromUtf8(data, true, 'WebSocket text message'), frames, ...extra };
  return { kind: 'binary', data, frames, ...extra };
}

export function describeFrame(f: WsFrame): string {
  const name = opcodeName(f.opcode);
  if (f.opcode === Opcode.CLOSE && f.payload.length >= 2) {
    const code = (f.payload[0] << 8) | f.payload[1];
    return `close ${code} (${closeCodeName(code)})${f.payload.length > 2 ? ` "${fromUtf8(f.payload.subarray(2)).slice(0, 80)}"` : ''}`;
  }
  const deflated = (f.rsv & 0b100) !== 0;
  const text = f.opcode === Opcode.TEXT && !deflated ? ` ${JSON.stringify(fromUtf8(f.payload.subarray(0, 80)))}` : '';
  return `${name}${f.fin ? '' : ' (not final)'}, ${f.payload.length} bytes${deflated ? ' compressed (RSV1)' : ''}${text}`;
}
