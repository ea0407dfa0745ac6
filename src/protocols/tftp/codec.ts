// TFTP packets, RFC 1350 §5 (RRQ, WRQ, DATA, ACK, ERROR), the option extension RFC 2347 (OACK), and the
// blksize (RFC 2348), timeout and tsize (RFC 2349) and windowsize (RFC 7440) options; netascii per RFC 1350 §5 / RFC 764.
import { ByteReader, ByteWriter, concat, fromLatin1, utf8 } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';

export const Opcode = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 §5 error codes, with 8 from RFC 2347 (option negotiation refused). */
export const ERROR_CODES: Record<number, string> = {
  0: 'Not defined',
  1: 'File not found',
  2: 'Access violation',
  3: 'Disk full or allocation exceeded',
  4: 'Illegal TFTP operation',
  5: 'Unknown transfer ID',
  6: 'File already exists',
  7: 'No such user',
  8: 'Option negotiation failed',
};

export const DEFAULT_BLOCK_SIZE = 512;
/** RFC 2348: blksize is 8–65464 octets. */
export const MIN_BLOCK_SIZE = 8;
export const MAX_BLOCK_SIZE = 65464;

export type Mode = 'octet' | 'netascii';

export type Packet =
  | { op: 'RRQ' | 'WRQ'; filename: string; mode: string; options: Record<string, string> }
  | { op: 'DATA'; block: number; data: Uint8Array }
  | { op: 'ACK'; block: number }
  | { op: 'ERROR'; code: number; message: string }
  | { op: 'OACK'; options: Record<string, string> };

const MAX_STRING = 512;
const MAX_OPTIONS = 16;

export function encodeRequest(op: 'RRQ' | 'WRQ', filename: string, mode: Mode, options: Record<string, string | number> = {}): Uint8Array {
  const w = new ByteWriter(64).u16(Opcode[op]).cstring(utf8(filename)).cstring(mode);
  for (const [k, v] of Object.entries(options)) w.cstring(k).cstring(String(v));
  return w.finish();
}

export function encodeAck(block: number): Uint8Array {
  return new ByteWriter(4).u16(Opcode.ACK).u16(block & 0xffff).finish();
}

export function encodeData(block: number, data: Uint8Array): Uint8Array {
  return new ByteWriter(4 + data.length).u16(Opcode.DATA).u16(block & 0xffff).bytes(data).finish();
}

export function encodeError(code: number, message: string): Uint8Array {
  return new ByteWriter(8 + message.length).u16(Opcode.ERROR).u16(code).cstring(message).finish();
}

function strings(r: ByteReader, field: string): string[] {
  const out: string[] = [];
  while (!r.done) {
    if (out.length >= 2 + MAX_OPTIONS * 2) throw new ProtocolError(`${field}: more than ${MAX_OPTIONS} options`);
    out.push(fromLatin1(r.cstring(field, MAX_STRING)));
  }
  return out;
}

function optionsOf(pairs: string[], field: string): Record<string, string> {
  if (pairs.length % 2 !== 0) throw new ProtocolError(`${field}: an option name without a value (RFC 2347)`);
  const out: Record<string, string> = {};
  // RFC 2347: option names are case-insensitive.
  for (let i = 0; i < pairs.length; i += 2) out[pairs[i].toLowerCase()] = pairs[i + 1];
  return out;
}

export function decodePacket(bytes: Uint8Array, maxData = MAX_BLOCK_SIZE): Packet {
  if (bytes.length < 2) throw new ProtocolError(`TFTP packet of ${bytes.length} bytes`);
  const r = new ByteReader(bytes);
  const op = r.u16('opcode');
  switch (op) {
    case Opcode.RRQ:
    case Opcode.WRQ: {
      const [filename, mode, ...rest] = strings(r, 'request');
      if (filename === undefined || mode === undefined) throw new ProtocolError('TFTP request without filename and mode');
      return { op: op === Opcode.RRQ ? 'RRQ' : 'WRQ', filename, mode, options: optionsOf(rest, 'request') };
    }
    case Opcode.DATA: {
      const block = r.u16('block');
      const data = r.rest();
      if (data.length > maxData) throw new ProtocolError(`TFTP DATA block ${block} carries ${data.length} bytes, more than the ${maxData}-byte block size`);
      return { op: 'DATA', block, data };
    }
    case Opcode.ACK:
      if (bytes.length < 4) throw new ProtocolError('TFTP ACK shorter than 4 bytes');
      return { op: 'ACK', block: r.u16('block') };
    case Opcode.ERROR: {
      const code = r.u16('error code');
      // Some servers omit the terminating NUL: take what is there.
      const rest = r.rest();
      const end = rest.indexOf(0);
      const text = fromLatin1((end === -1 ? rest : rest.subarray(0, end)).subarray(0, MAX_STRING));
      return { op: 'ERROR', code, message: text };
    }
    case Opcode.OACK:
      return { op: 'OACK', options: optionsOf(strings(r, 'OACK'), 'OACK') };
    default:
      throw new ProtocolError(`TFTP packet with unknown opcode ${op}`);
  }
}

export function describePacket(p: Packet): string {
  switch (p.op) {
    case 'RRQ':
    case 'WRQ':
      return `${p.op} ${JSON.stringify(p.filename)} ${p.mode}${Object.entries(p.options).map(([k, v]) => ` ${k}=${v}`).join('')}`;
    case 'DATA':
      return `DATA block ${p.block}, ${p.data.length} bytes`;
    case 'ACK':
      return `ACK block ${p.block}`;
    case 'ERROR':
      return `ERROR ${p.code} (${ERROR_CODES[p.code] ?? 'unknown'}): ${p.message}`;
    case 'OACK':
      return `OACK${Object.entries(p.options).map(([k, v]) => ` ${k}=${v}`).join('')}`;
  }
}

/** netascii to local text: CR LF is a line end, CR NUL a bare CR (RFC 1350 §5, RFC 764 p. 11). */
export function fromNetascii(bytes: Uint8Array): Uint8Array {
  const d = new NetasciiDecoder();
  return concat([d.push(bytes), d.end()]);
}

/** fromNetascii for a stream of blocks: a CR at the end of one block waits to see what the next begins with. */
export class NetasciiDecoder {
  private cr = false;

  push(bytes: Uint8Array): Uint8Array {
    const out = new Uint8Array(bytes.length + 1);
    let at = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.cr) {
        this.cr = false;
        if (b === 0x0a || b === 0x00) {
          out[at++] = b === 0x0a ? 0x0a : 0x0d;
          continue;
        }
        out[at++] = 0x0d;
      }
      if (b === 0x0d) this.cr = true;
      else out[at++] = b;
    }
    return out.subarray(0, at);
  }

  /** At the end of the file: a CR left waiting is kept as it is. */
  end(): Uint8Array {
    const tail = this.cr ? new Uint8Array([0x0d]) : new Uint8Array(0);
    this.cr = false;
    return tail;
  }
}

export function toNetascii(bytes: Uint8Array): Uint8Array {
  const parts: number[] = [];
  for (const b of bytes) {
    if (b === 0x0a) parts.push(0x0d, 0x0a);
    else if (b === 0x0d) parts.push(0x0d, 0x00);
    else parts.push(b);
  }
  return Uint8Array.from(parts);
}

/** File names travel as NUL-terminated strings: no NUL inside, and a bounded length. */
export function checkFilename(name: string): string {
  if (name.length === 0) throw InvalidInput.field('filename', 'is required');
  if (name.includes('\0')) throw InvalidInput.field('filename', 'may not contain NUL');
  if (utf8(name).length > 255) throw InvalidInput.field('filename', 'is longer than 255 bytes');
  return name;
}
