// TFTP transfers, RFC 1350 §2–§4 with option negotiation (RFC 2347–2349).
//
// How it works: the request goes to the server's port; the first answer comes from a new port, the
// server's transfer ID (TID), and every later packet goes there (§4). Reading: each DATA block n is
// answered with ACK n; a block shorter than the block size ends the file. Writing: DATA n waits for
// ACK n; a file whose size is a multiple of the block size ends with an empty block. A lost packet
// is retransmitted by the waiting side (the shared UDP exchange). Packets from any other port are
// answered with ERROR 5 and otherwise ignored (§4). ERROR from the server ends the transfer as its error.
import { concat } from '../../core/bytes.ts';
import type { DatagramConn, DatagramPeer } from '../../core/datagram.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { exchange, type RetryPolicy } from '../datagram/exchange.ts';
import { decodePacket, DEFAULT_BLOCK_SIZE, describePacket, encodeAck, encodeData, encodeError, encodeRequest, ERROR_CODES, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, type Mode, type Packet } from './codec.ts';

export interface TransferOptions extends RetryPolicy {
  filename: string;
  mode: Mode;
  /** Requested block size (RFC 2348); omitted from the request when 512. */
  blksize: number;
  /** Ask for the transfer size (RFC 2349). */
  tsize: boolean;
  /** Largest file accepted when reading. */
  maxBytes: number;
}

export interface TransferResult {
  blocks: number;
  blksize: number;
  /** Options the server acknowledged (OACK), or null when it ignored them. */
  options: Record<string, string> | null;
  /** The size the server announced with tsize, if any. */
  tsize: number | null;
  retransmissions: number;
  serverPort: number;
}

function describe(bytes: Uint8Array): string {
  try {
    return describePacket(decodePacket(bytes));
  } catch (e) {
    return `malformed: ${(e as Error).message}`;
  }
}

function serverError(p: Extract<Packet, { op: 'ERROR' }>): ServerError {
  const name = ERROR_CODES[p.code] ?? 'unknown error';
  return new ServerError(`TFTP error ${p.code} (${name})${p.message ? `: ${p.message}` : ''}`, { tftpCode: p.code, tftpError: name, message: p.message });
}

/** The options a request carries: blksize when not the default, timeout from the wait, tsize when asked. */
function requestOptions(o: TransferOptions, size?: number): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (o.blksize !== DEFAULT_BLOCK_SIZE) out.blksize = o.blksize;
  // A netascii file's size on the wire is unknown before it is converted: tftpd-hpa refuses tsize on such reads.
  if (o.tsize && !(o.mode === 'netascii' && size === undefined)) out.tsize = size ?? 0;
  // RFC 2349: timeout is whole seconds, 1–255; say how long we wait before retransmitting.
  if (o.waitMs >= 1000) out.timeout = Math.min(255, Math.round(o.waitMs / 1000));
  return out;
}

/** Checks an OACK against what was asked (RFC 2347: only requested options; RFC 2348: blksize may only shrink). */
function acceptOack(options: Record<string, string>, asked: Record<string, string | number>): { blksize: number; tsize: number | null } {
  let blksize = DEFAULT_BLOCK_SIZE;
  let tsize: number | null = null;
  for (const [k, v] of Object.entries(options)) {
    if (!(k in asked)) throw new ProtocolError(`TFTP OACK carries option ${k}, which was not requested (RFC 2347)`);
    const n = Number(v);
    if (k === 'blksize') {
      if (!Number.isInteger(n) || n < MIN_BLOCK_SIZE || n > Number(asked.blksize)) throw new ProtocolError(`TFTP OACK blksize ${v}: must be 8 to the ${asked.blksize} requested (RFC 2348)`);
      blksize = n;
    } else if (k === 'tsize') {
      if (!/^\d{1,15}$/.test(v)) throw new ProtocolError(`TFTP OACK tsize ${JSON.stringify(v)} is not a size`);
      tsize = n;
    }
  }
  return { blksize, tsize };
}

class Transfer {
  tid: number | undefined;
  retransmissions = 0;

  constructor(
    private readonly ctx: OperationContext,
    private readonly conn: DatagramConn,
    private readonly o: TransferOptions,
  ) {}

  /** Sends `bytes` (to the server port until the TID is known) and waits for the packet `want` accepts. */
  async step<T>(bytes: Uint8Array, what: string, want: (p: Packet) => T | undefined, maxData: number): Promise<T> {
    const answer = await exchange(this.ctx, this.conn, bytes, {
      retries: this.o.retries,
      waitMs: this.o.waitMs,
      what,
      port: this.tid,
      describeRequest: describe(bytes),
      describeAnswer: describe,
      accept: (b: Uint8Array, from: DatagramPeer) => {
        if (this.tid !== undefined && from.port !== this.tid) {
          // RFC 1350 §4: a packet from an unknown TID gets ERROR 5; the transfer goes on.
          void this.conn.send(encodeError(5, 'Unknown transfer ID'), { port: from.port, decode: `ERROR 5 to port ${from.port}: not this transfer` }).catch(() => {});
          return undefined;
        }
        const p = decodePacket(b, maxData);
        if (p.op === 'ERROR') throw serverError(p);
        const v = want(p);
        if (v !== undefined && this.tid === undefined) this.tid = from.port;
        return v;
      },
    });
    this.retransmissions += answer.attempts - 1;
    return answer.value;
  }
}

/** RRQ: reads a file. */
export async function readFile(ctx: OperationContext, conn: DatagramConn, o: TransferOptions): Promise<TransferResult & { data: Uint8Array }> {
  const t = new Transfer(ctx, conn, o);
  const asked = requestOptions(o);
  const hasOptions = Object.keys(asked).length > 0;
  let blksize = DEFAULT_BLOCK_SIZE;
  let tsize: number | null = null;
  let options: Record<string, string> | null = null;
  const parts: Uint8Array[] = [];
  let size = 0;
  let blocks = 0;
  // The first answer: OACK (options accepted), or DATA 1 (options ignored, RFC 2347 §"Negotiation").
  let packet = encodeRequest('RRQ', o.filename, o.mode, asked);
  let first = await t.step(packet, 'TFTP DATA block 1 or OACK', (p) => (p.op === 'OACK' || (p.op === 'DATA' && p.block === 1) ? p : undefined), MAX_BLOCK_SIZE);
  if (first.op === 'OACK') {
    if (!hasOptions) throw new ProtocolError('TFTP OACK to a request without options');
    options = first.options;
    ({ blksize, tsize } = acceptOack(first.options, asked));
    if (tsize !== null && tsize > o.maxBytes) {
      await conn.send(encodeError(3, 'file too large'), { port: t.tid });
      throw new ProtocolError(`the file is ${tsize} bytes, more than maxBytes ${o.maxBytes}`);
    }
    // RFC 2347: the client acknowledges an OACK with ACK 0.
    packet = encodeAck(0);
    first = await t.step(packet, 'TFTP DATA block 1', (p) => (p.op === 'DATA' && p.block === 1 ? p : undefined), blksize);
  }
  let data = first as Extract<Packet, { op: 'DATA' }>;
  for (;;) {
    if (data.data.length > blksize) throw new ProtocolError(`TFTP DATA block ${data.block} carries ${data.data.length} bytes, more than the block size ${blksize}`);
    blocks++;
    size += data.data.length;
    if (size > o.maxBytes) {
      await conn.send(encodeError(3, 'file too large'), { port: t.tid });
      throw new ProtocolError(`the file is more than maxBytes ${o.maxBytes}`);
    }
    parts.push(data.data);
    const ack = encodeAck(data.block);
    if (data.data.length < blksize) {
      // The last block: acknowledge it once; the server may retransmit it if the ACK is lost (RFC 1350 §6).
      await conn.send(ack, { port: t.tid, decode: describe(ack) });
      break;
    }
    // Block numbers are 16 bits; long transfers roll over to 0 (common practice beyond 65535 blocks).
    const next = (data.block + 1) & 0xffff;
    data = await t.step(ack, `TFTP DATA block ${next}`, (p) => (p.op === 'DATA' && p.block === next ? p : undefined), blksize);
  }
  const raw = concat(parts);
  return { data: raw, blocks, blksize, options, tsize, retransmissions: t.retransmissions, serverPort: t.tid ?? 0 };
}

/** WRQ: writes a file. */
export async function writeFile(ctx: OperationContext, conn: DatagramConn, o: TransferOptions, content: Uint8Array): Promise<TransferResult> {
  const t = new Transfer(ctx, conn, o);
  const asked = requestOptions(o, content.length);
  const hasOptions = Object.keys(asked).length > 0;
  let blksize = DEFAULT_BLOCK_SIZE;
  let options: Record<string, string> | null = null;
  let tsize: number | null = null;
  const first = await t.step(encodeRequest('WRQ', o.filename, o.mode, asked), 'TFTP ACK 0 or OACK', (p) => (p.op === 'OACK' || (p.op === 'ACK' && p.block === 0) ? p : undefined), 0);
  if (first.op === 'OACK') {
    if (!hasOptions) throw new ProtocolError('TFTP OACK to a request without options');
    options = first.options;
    ({ blksize, tsize } = acceptOack(first.options, asked));
  }
  let blocks = 0;
  for (let offset = 0, block = 1; ; block++) {
    const chunk = content.subarray(offset, offset + blksize);
    const wire = block & 0xffff;
    await t.step(encodeData(wire, chunk), `TFTP ACK ${wire}`, (p) => (p.op === 'ACK' && p.block === wire ? p : undefined), 0);
    blocks++;
    offset += chunk.length;
    if (chunk.length < blksize) break;
  }
  return { blocks, blksize, options, tsize, retransmissions: t.retransmissions, serverPort: t.tid ?? 0 };
}
