// PPTP control connection (RFC 2637 section 2): the message header and the Start-Control-Connection,
// Stop-Control-Connection and Echo messages. Sans I/O.
import { ByteReader, ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';

export const MAGIC = 0x1a2b3c4d;
const MAX_MESSAGE = 1024;

export const MESSAGE_TYPES: Record<number, string> = {
  1: 'Start-Control-Connection-Request',
  2: 'Start-Control-Connection-Reply',
  3: 'Stop-Control-Connection-Request',
  4: 'Stop-Control-Connection-Reply',
  5: 'Echo-Request',
  6: 'Echo-Reply',
  7: 'Outgoing-Call-Request',
  8: 'Outgoing-Call-Reply',
  9: 'Incoming-Call-Request',
  10: 'Incoming-Call-Reply',
  11: 'Incoming-Call-Connected',
  12: 'Call-Clear-Request',
  13: 'Call-Disconnect-Notify',
  14: 'WAN-Error-Notify',
  15: 'Set-Link-Info',
};

/** RFC 2637 section 2.2: Start-Control-Connection-Reply result codes. */
export const SCCRP_RESULTS: Record<number, string> = { 1: 'Successful channel establishment', 2: 'General error', 3: 'Command channel already exists', 4: 'Requester is not authorized to establish a command channel', 5: 'The protocol version of the requester is not supported' };
/** Section 2.4: Stop-Control-Connection-Reply result codes. */
export const STOP_RESULTS: Record<number, string> = { 1: 'OK', 2: 'General error' };
/** Section 2.1.4 (general error codes). */
export const ERROR_CODES: Record<number, string> = { 0: 'None', 1: 'Not-Connected', 2: 'Bad-Format', 3: 'Bad-Value', 4: 'No-Resource', 5: 'Bad-Call ID', 6: 'PAC-Error' };

export interface ControlMessage {
  type: number;
  body: Uint8Array;
}

/** Length, PPTP Message Type (1: control), Magic Cookie, Control Message Type, Reserved0, then the body. */
export const controlFrame: Frame<ControlMessage> = (buf) => {
  if (buf.length < 12) return undefined;
  const r = new ByteReader(buf);
  const length = r.u16('Length');
  const kind = r.u16('PPTP Message Type');
  const magic = r.u32('Magic Cookie');
  if (magic !== MAGIC) throw new ProtocolError(`PPTP magic cookie 0x${magic.toString(16)}, not 0x1a2b3c4d: not a PPTP server`);
  if (kind !== 1) throw new ProtocolError(`PPTP message type ${kind}, not 1 (control)`);
  if (length < 12 || length > MAX_MESSAGE) throw new ProtocolError(`PPTP control message length ${length} is outside 12–${MAX_MESSAGE}`);
  if (buf.length < length) return undefined;
  const type = r.u16('Control Message Type');
  return { value: { type, body: buf.slice(12, length) }, size: length };
};

function header(type: number, bodyLength: number): ByteWriter {
  return new ByteWriter(12 + bodyLength).u16(12 + bodyLength).u16(1).u32(MAGIC).u16(type).u16(0);
}

function fixedText(w: ByteWriter, text: string, size: number): void {
  const b = utf8(text);
  if (b.length >= size) throw InvalidInput.field('hostname', `longer than ${size - 1} bytes`);
  const out = new Uint8Array(size);
  out.set(b);
  w.bytes(out);
}

export interface StartRequest {
  hostname: string;
  vendor: string;
  firmware: number;
}

/** Section 2.1: version 1.0, framing and bearer capabilities both offered, one channel. */
export function encodeStartRequest(req: StartRequest): Uint8Array {
  const w = header(1, 144).u16(0x0100).u16(0).u32(3).u32(3).u16(1).u16(req.firmware);
  fixedText(w, req.hostname, 64);
  fixedText(w, req.vendor, 64);
  return w.finish();
}

function text(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return fromLatin1(end === -1 ? bytes : bytes.subarray(0, end));
}

function capabilities(bits: number, names: [string, string]): string[] {
  return [bits & 1 ? names[0] : '', bits & 2 ? names[1] : ''].filter(Boolean);
}

export interface StartReply {
  version: string;
  result: number;
  resultText: string;
  error: number;
  errorText: string;
  framing: string[];
  bearer: string[];
  maxChannels: number;
  firmware: number;
  hostname: string;
  vendor: string;
}

export function decodeStartReply(body: Uint8Array): StartReply {
  const r = new ByteReader(body);
  const v = r.u16('Protocol Version');
  const result = r.u8('Result Code');
  const error = r.u8('Error Code');
  const framing = r.u32('Framing Capabilities');
  const bearer = r.u32('Bearer Capabilities');
  const maxChannels = r.u16('Maximum Channels');
  const firmware = r.u16('Firmware Revision');
  const hostname = text(r.bytesN(64, 'Host Name'));
  const vendor = text(r.bytesN(64, 'Vendor String'));
  return {
    version: `${v >> 8}.${v & 0xff}`,
    result,
    resultText: SCCRP_RESULTS[result] ?? `result ${result}`,
    error,
    errorText: ERROR_CODES[error] ?? `error ${error}`,
    framing: capabilities(framing, ['asynchronous', 'synchronous']),
    bearer: capabilities(bearer, ['analog', 'digital']),
    maxChannels,
    firmware,
    hostname,
    vendor,
  };
}

/** Section 2.3: Reason 1 (general request to clear the control connection). */
export function encodeStopRequest(reason = 1): Uint8Array {
  return header(3, 4).u8(reason).u8(0).u16(0).finish();
}

export function decodeStopReply(body: Uint8Array): { result: number; resultText: string; error: number } {
  const r = new ByteReader(body);
  const result = r.u8('Result Code');
  return { result, resultText: STOP_RESULTS[result] ?? `result ${result}`, error: r.u8('Error Code') };
}

export function encodeEchoRequest(id: number): Uint8Array {
  return header(5, 4).u32(id).finish();
}

/** Section 2.6: the request's Identifier, Result Code 1 (OK), Error Code 0. */
export function encodeEchoReply(id: Uint8Array): Uint8Array {
  return header(6, 8).bytes(id.subarray(0, 4)).u8(1).u8(0).u16(0).finish();
}

export function describe(m: ControlMessage): string {
  return MESSAGE_TYPES[m.type] ?? `control message ${m.type}`;
}
