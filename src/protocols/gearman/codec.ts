// Gearman protocol (gearman.org "Protocol", libgearman 1.1): binary packets "\0REQ"/"\0RES" with a type and NUL-separated arguments, and the text administrative protocol.
//
// How it works: a packet is a 12-byte header — magic, type (u32 BE), size (u32 BE) — then `size`
// bytes of arguments separated by NUL; the last argument of a type may itself hold NULs (job data),
// so each type declares how many arguments it has and the rest is the last one. The size is checked
// against a cap before the body is awaited.
import { concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import { ByteReader, ByteWriter } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const MAGIC_REQ = new Uint8Array([0, 0x52, 0x45, 0x51]);
export const MAGIC_RES = new Uint8Array([0, 0x52, 0x45, 0x53]);

/** Packet types (protocol "Packet Types") and how many arguments each carries. */
export const PACKET = {
  SUBMIT_JOB: 7,
  JOB_CREATED: 8,
  WORK_STATUS: 12,
  WORK_COMPLETE: 13,
  WORK_FAIL: 14,
  GET_STATUS: 15,
  ECHO_REQ: 16,
  ECHO_RES: 17,
  SUBMIT_JOB_BG: 18,
  ERROR: 19,
  STATUS_RES: 20,
  SUBMIT_JOB_HIGH: 21,
  WORK_EXCEPTION: 25,
  OPTION_REQ: 26,
  OPTION_RES: 27,
  WORK_DATA: 28,
  WORK_WARNING: 29,
  SUBMIT_JOB_HIGH_BG: 32,
  SUBMIT_JOB_LOW: 33,
  SUBMIT_JOB_LOW_BG: 34,
  GET_STATUS_UNIQUE: 41,
  STATUS_RES_UNIQUE: 42,
} as const;

const NAMES = Object.fromEntries(Object.entries(PACKET).map(([k, v]) => [v, k])) as Record<number, string>;

/** Arguments per response type; the last one takes the rest of the body. */
const ARGS: Record<number, number> = {
  [PACKET.JOB_CREATED]: 1,
  [PACKET.WORK_STATUS]: 3,
  [PACKET.WORK_COMPLETE]: 2,
  [PACKET.WORK_FAIL]: 1,
  [PACKET.ECHO_RES]: 1,
  [PACKET.ERROR]: 2,
  [PACKET.STATUS_RES]: 5,
  [PACKET.WORK_EXCEPTION]: 2,
  [PACKET.OPTION_RES]: 1,
  [PACKET.WORK_DATA]: 2,
  [PACKET.WORK_WARNING]: 2,
  [PACKET.STATUS_RES_UNIQUE]: 6,
};

export interface Packet {
  type: number;
  name: string;
  args: Uint8Array[];
}

export function packetName(type: number): string {
  return NAMES[type] ?? `TYPE_${type}`;
}

/** Splits a body into `count` arguments at the first count-1 NULs. */
function splitArgs(body: Uint8Array, count: number, name: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < count - 1; i++) {
    const nul = body.indexOf(0, at);
    if (nul === -1) throw new ProtocolError(`${name} has ${i + 1} arguments, expected ${count}`);
    out.push(body.subarray(at, nul));
    at = nul + 1;
  }
  out.push(body.subarray(at));
  return out;
}

/** A response packet from the server. */
export function packetFrame(maxSize = 16 * 1024 * 1024): Frame<Packet> {
  return (buf) => {
    if (buf.length < 12) {
      for (let i = 0; i < Math.min(4, buf.length); i++) if (buf[i] !== MAGIC_RES[i]) throw new ProtocolError('packet does not start with \\0RES');
      return undefined;
    }
    const r = new ByteReader(buf);
    const magic = r.bytesN(4, 'magic');
    for (let i = 0; i < 4; i++) if (magic[i] !== MAGIC_RES[i]) throw new ProtocolError('packet does not start with \\0RES');
    const type = r.u32('type');
    const size = r.u32('size');
    if (size > maxSize) throw new ProtocolError(`${packetName(type)} of ${size} bytes exceeds the ${maxSize}-byte limit`);
    if (buf.length < 12 + size) return undefined;
    const count = ARGS[type];
    if (count === undefined) throw new ProtocolError(`unknown response packet type ${type}`);
    const body = buf.slice(12, 12 + size);
    return { value: { type, name: packetName(type), args: splitArgs(body, count, packetName(type)) }, size: 12 + size };
  };
}

/** A request packet: arguments joined with NUL. */
export function encodeRequest(type: number, args: readonly (Uint8Array | string)[]): Uint8Array {
  const parts: Uint8Array[] = [];
  args.forEach((a, i) => {
    if (i > 0) parts.push(new Uint8Array([0]));
    parts.push(typeof a === 'string' ? utf8(a) : a);
  });
  const body = concat(parts);
  return new ByteWriter(12 + body.length).bytes(MAGIC_REQ).u32(type).u32(body.length).bytes(body).finish();
}

export function describePacket(p: Packet): string {
  const shown = p.args.map((a, i) => (i === p.args.length - 1 && a.length > 40 ? `${a.length} bytes` : JSON.stringify(fromLatin1(a.subarray(0, 40)))));
  return `${p.name} ${shown.join(' ')}`;
}

// Text administrative protocol (gearmand: "Administrative Protocol").

export interface FunctionStatus {
  name: string;
  /** Jobs queued, running ones included. */
  queued: number;
  running: number;
  workers: number;
}

/** A "function\ttotal\trunning\tavailable_workers" line. */
export function parseStatusLine(line: string): FunctionStatus {
  const f = line.split('\t');
  if (f.length < 4 || !f.slice(1, 4).every((x) => /^\d+$/.test(x))) throw new ProtocolError(`status line is not "function TAB total TAB running TAB workers": ${JSON.stringify(line.slice(0, 80))}`);
  return { name: f[0], queued: Number(f[1]), running: Number(f[2]), workers: Number(f[3]) };
}

export interface WorkerInfo {
  fd: number;
  address: string;
  clientId: string;
  functions: string[];
}

/** A "FD IP-ADDRESS CLIENT-ID : FUNCTION ..." line. */
export function parseWorkerLine(line: string): WorkerInfo {
  const m = /^(\d+) (\S+) (\S+) :(.*)$/.exec(line);
  if (!m) throw new ProtocolError(`workers line is not "FD IP CLIENT-ID : FUNCTIONS": ${JSON.stringify(line.slice(0, 80))}`);
  return { fd: Number(m[1]), address: m[2], clientId: m[3], functions: m[4].trim().split(' ').filter(Boolean) };
}
