// ZMTP 3.0 and 3.1 (rfc.zeromq.org 23/ZMTP and 37/ZMTP; 24/ZMTP-PLAIN): greeting, frames, commands and metadata.
//
// How it works: each peer sends a 64-byte greeting — signature 0xFF, 8 padding bytes, 0x7F, version
// major and minor, the mechanism name padded with NULs to 20 bytes, the as-server flag and 31 bytes of
// filler. Then everything is a frame: one flags byte (MORE 0x01, LONG 0x02, COMMAND 0x04), a size of
// one byte or, with LONG, eight bytes big endian, and the body. A command's body is a one-byte name
// length, the name, then its data; READY, INITIATE and PLAIN's HELLO carry metadata or credentials.
import { ByteReader, ByteWriter, fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const GREETING_SIZE = 64;

export type Mechanism = 'NULL' | 'PLAIN' | 'CURVE';

export interface Greeting {
  major: number;
  minor: number;
  mechanism: string;
  asServer: boolean;
}

export function encodeGreeting(g: Greeting): Uint8Array {
  const out = new Uint8Array(GREETING_SIZE);
  out[0] = 0xff;
  out[8] = 0x01; // padding; the 1 tells ZMTP 1.0 peers the identity length, as libzmq writes it
  out[9] = 0x7f;
  out[10] = g.major;
  out[11] = g.minor;
  out.set(utf8(g.mechanism), 12);
  out[32] = g.asServer ? 1 : 0;
  return out;
}

/** The peer's greeting; ZMTP before 3.0 and non-ZMTP bytes are protocol errors naming what came. */
export function decodeGreeting(b: Uint8Array): Greeting {
  if (b[0] !== 0xff || b[9] !== 0x7f) throw new ProtocolError('the peer did not send a ZMTP 3 signature (0xFF ... 0x7F)');
  if (b[10] < 3) throw new ProtocolError(`the peer speaks ZMTP ${b[10] === 1 ? '2.0' : `revision ${b[10]}`}, not 3.x`);
  const mech = b.subarray(12, 32);
  const end = mech.indexOf(0);
  const mechanism = fromLatin1(end === -1 ? mech : mech.subarray(0, end));
  if (!/^[A-Z0-9-_.+%]{1,20}$/.test(mechanism)) throw new ProtocolError(`greeting mechanism ${JSON.stringify(mechanism)} is not a mechanism name`);
  return { major: b[10], minor: b[11], mechanism, asServer: b[32] === 1 };
}

export const FLAG = { more: 0x01, long: 0x02, command: 0x04 } as const;

export type ZmtpFrame = { command: false; more: boolean; body: Uint8Array } | { command: true; name: string; data: Uint8Array };

export function frameFrame(maxBody = 16 * 1024 * 1024): Frame<ZmtpFrame> {
  return (buf) => {
    if (buf.length < 2) return undefined;
    const flags = buf[0];
    if (flags & 0xf8) throw new ProtocolError(`frame flags 0x${flags.toString(16)} have reserved bits set`);
    let size: number;
    let head: number;
    if (flags & FLAG.long) {
      if (buf.length < 9) return undefined;
      const big = new ByteReader(buf, 1).u64('frame size');
      if (big > BigInt(maxBody)) throw new ProtocolError(`frame of ${big} bytes exceeds the ${maxBody}-byte limit`);
      size = Number(big);
      head = 9;
    } else {
      size = buf[1];
      head = 2;
    }
    if (buf.length < head + size) return undefined;
    const body = buf.slice(head, head + size);
    if (flags & FLAG.command) {
      if (flags & FLAG.more) throw new ProtocolError('a command frame has the MORE flag');
      // libzmq 4.3.x writes ERROR as "\x05ERROR" in C, which the compiler reads as 0x5E "RROR":
      // the name-size byte and the E merge. Read it as the ERROR it means.
      if (body.length >= 5 && body[0] === 0x5e && fromLatin1(body.subarray(1, 5)) === 'RROR') {
        return { value: { command: true, name: 'ERROR', data: body.subarray(5) }, size: head + size };
      }
      if (body.length < 1 || body[0] === 0 || body.length < 1 + body[0]) throw new ProtocolError('command frame has no name');
      return { value: { command: true, name: fromLatin1(body.subarray(1, 1 + body[0])), data: body.subarray(1 + body[0]) }, size: head + size };
    }
    return { value: { command: false, more: (flags & FLAG.more) !== 0, body }, size: head + size };
  };
}

function frameHeader(flags: number, size: number): Uint8Array {
  const w = new ByteWriter(9);
  if (size > 255) w.u8(flags | FLAG.long).u64(BigInt(size));
  else w.u8(flags).u8(size);
  return w.finish();
}

export function encodeFrame(body: Uint8Array, more: boolean): Uint8Array {
  return new ByteWriter(body.length + 9).bytes(frameHeader(more ? FLAG.more : 0, body.length)).bytes(body).finish();
}

/** A whole message: every frame but the last has MORE. */
export function encodeMessage(frames: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter();
  frames.forEach((f, i) => w.bytes(encodeFrame(f, i < frames.length - 1)));
  return w.finish();
}

export function encodeCommand(name: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const n = utf8(name);
  const body = new ByteWriter(1 + n.length + data.length).u8(n.length).bytes(n).bytes(data).finish();
  return new ByteWriter(body.length + 9).bytes(frameHeader(FLAG.command, body.length)).bytes(body).finish();
}

/** Metadata (READY, INITIATE): name-size u8, name, value-size u32 BE, value; names compared without case. */
export function encodeMetadata(props: readonly (readonly [string, Uint8Array | string])[]): Uint8Array {
  const w = new ByteWriter();
  for (const [name, value] of props) {
    const v = typeof value === 'string' ? utf8(value) : value;
    w.lengthPrefixed('u8', name).lengthPrefixed('u32', v);
  }
  return w.finish();
}

export function decodeMetadata(data: Uint8Array, maxProps = 256): [string, Uint8Array][] {
  const r = new ByteReader(data);
  const out: [string, Uint8Array][] = [];
  while (!r.done) {
    if (out.length >= maxProps) throw new ProtocolError(`more than ${maxProps} metadata properties`);
    const name = fromLatin1(r.lengthPrefixed('u8', 'metadata name'));
    if (name.length === 0) throw new ProtocolError('metadata property with an empty name');
    out.push([name, r.lengthPrefixed('u32', `metadata ${name}`, data.length).slice()]);
  }
  return out;
}

/** PLAIN HELLO data: username-size u8, username, password-size u8, password (24/ZMTP-PLAIN). */
export function encodePlainHello(username: string, password: string): Uint8Array {
  return new ByteWriter().lengthPrefixed('u8', username).lengthPrefixed('u8', password).finish();
}

/** ZAP status codes a PLAIN or CURVE server puts in its ERROR reason (27/ZAP). */
const ZAP_STATUS: Record<string, string> = { '300': 'temporary error', '400': 'authentication failure', '500': 'internal error' };

/** ERROR command data: reason-size u8, reason; a bare ZAP status code gets its meaning added. */
export function errorReason(data: Uint8Array): string {
  const r = new ByteReader(data);
  const reason = r.remaining === 0 ? '' : fromLatin1(r.lengthPrefixed('u8', 'ERROR reason'));
  return ZAP_STATUS[reason] ? `${reason} (ZAP: ${ZAP_STATUS[reason]})` : reason;
}

/** Socket types that may talk to each other (23/ZMTP "Socket types"). */
export const COMPATIBLE: Record<string, string[]> = {
  REQ: ['REP', 'ROUTER'],
  DEALER: ['REP', 'DEALER', 'ROUTER'],
};

export function describeFrame(f: ZmtpFrame): string {
  if (f.command) return `${f.name} command (${f.data.length} bytes)`;
  return `frame ${f.body.length} bytes${f.more ? ' MORE' : ''}`;
}
