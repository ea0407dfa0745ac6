// TFTP transfers, RFC 1350 §2–§4 with option negotiation (RFC 2347–2349) and windows (RFC 7440).
//
// How it works: the request goes to the server's port; the first answer comes from a new port, the
// server's transfer ID (TID), and every later packet goes there (§4). Reading: DATA blocks come in
// windows of `windowsize` (1 without the option); the last block of each window is acknowledged, and
// a block shorter than the block size ends the file. Each block is handed to the sink before its ACK
// goes out, so a slow consumer slows the server. Writing: up to `windowsize` DATA blocks go out, then
// the ACK of the last is awaited; an ACK of an earlier block (a loss) sends the window again from the
// block after it. A file whose size is a multiple of the block size ends with an empty block. A lost
// packet is retransmitted by the waiting side. Packets from any other port are answered with ERROR 5
// and otherwise ignored (§4). ERROR from the server ends the transfer as its error.
import type { DatagramConn, DatagramPeer } from '../../core/datagram.ts';
import { classify, ProtocolError, ServerError } from '../../core/errors.ts';
import { ByteCollector, memorySource, type ByteSink, type ByteSource } from '../../core/files.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { exchange, type RetryPolicy } from '../datagram/exchange.ts';
import { decodePacket, DEFAULT_BLOCK_SIZE, describePacket, encodeAck, encodeData, encodeError, encodeRequest, ERROR_CODES, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE, type Mode, type Packet } from './codec.ts';

/** The largest window asked for (RFC 7440 allows 65535; the blocks of one window are kept for a resend). */
export const MAX_WINDOW = 64;

export interface TransferOptions extends RetryPolicy {
  filename: string;
  mode: Mode;
  /** Requested block size (RFC 2348); omitted from the request when 512. */
  blksize: number;
  /** Ask for the transfer size (RFC 2349). */
  tsize: boolean;
  /** Blocks per window to ask for (RFC 7440); omitted from the request when 1. */
  windowsize: number;
}

export interface TransferResult {
  blocks: number;
  blksize: number;
  /** Options the server acknowledged (OACK), or null when it ignored them. */
  options: Record<string, string> | null;
  /** The size the server announced with tsize, if any. */
  tsize: number | null;
  /** Blocks per window in use (1 unless the server acknowledged windowsize). */
  windowsize: number;
  retransmissions: number;
  serverPort: number;
  /** File bytes moved (as on the wire: before netascii conversion). */
  bytes: number;
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

/** The options a request carries: blksize when not the default, timeout from the wait, tsize when asked, windowsize above 1. */
function requestOptions(o: TransferOptions, op: 'RRQ' | 'WRQ', size?: number): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  if (o.blksize !== DEFAULT_BLOCK_SIZE) out.blksize = o.blksize;
  // A netascii file's size on the wire is unknown before it is converted: tftpd-hpa refuses tsize on such reads.
  // A write announces the size only when it knows it (a stream may not).
  if (o.tsize && (op === 'RRQ' ? o.mode !== 'netascii' : size !== undefined)) out.tsize = size ?? 0;
  if (o.windowsize > 1) out.windowsize = o.windowsize;
  // RFC 2349: timeout is whole seconds, 1–255; say how long we wait before retransmitting.
  if (o.waitMs >= 1000) out.timeout = Math.min(255, Math.round(o.waitMs / 1000));
  return out;
}

/** Checks an OACK against what was asked (RFC 2347: only requested options; RFC 2348: blksize may only shrink). */
function acceptOack(options: Record<string, string>, asked: Record<string, string | number>): { blksize: number; tsize: number | null; windowsize: number } {
  let blksize = DEFAULT_BLOCK_SIZE;
  let tsize: number | null = null;
  let windowsize = 1;
  for (const [k, v] of Object.entries(options)) {
    if (!(k in asked)) throw new ProtocolError(`TFTP OACK carries option ${k}, which was not requested (RFC 2347)`);
    const n = Number(v);
    if (k === 'blksize') {
      if (!Number.isInteger(n) || n < MIN_BLOCK_SIZE || n > Number(asked.blksize)) throw new ProtocolError(`TFTP OACK blksize ${v}: must be 8 to the ${asked.blksize} requested (RFC 2348)`);
      blksize = n;
    } else if (k === 'tsize') {
      if (!/^\d{1,15}$/.test(v)) throw new ProtocolError(`TFTP OACK tsize ${JSON.stringify(v)} is not a size`);
      tsize = n;
    } else if (k === 'windowsize') {
      // RFC 7440 §3: the server may answer a smaller window, never a larger one.
      if (!Number.isInteger(n) || n < 1 || n > Number(asked.windowsize)) throw new ProtocolError(`TFTP OACK windowsize ${v}: must be 1 to the ${asked.windowsize} requested (RFC 7440)`);
      windowsize = n;
    }
  }
  return { blksize, tsize, windowsize };
}

class Transfer {
  tid: number | undefined;
  retransmissions = 0;

  constructor(
    private readonly ctx: OperationContext,
    private readonly conn: DatagramConn,
    private readonly o: TransferOptions,
  ) {}

  /** A datagram as this transfer sees it: from a stranger, ERROR 5 to it and nothing; an ERROR, the failure; else what `want` makes of it. */
  private accept<T>(bytes: Uint8Array, from: DatagramPeer, want: (p: Packet) => T | undefined, maxData: number): T | undefined {
    if (this.tid !== undefined && from.port !== this.tid) {
      // RFC 1350 §4: a packet from an unknown TID gets ERROR 5; the transfer goes on.
      void this.conn.send(encodeError(5, 'Unknown transfer ID'), { port: from.port, decode: `ERROR 5 to port ${from.port}: not this transfer` }).catch(() => {});
      return undefined;
    }
    const p = decodePacket(bytes, maxData);
    if (p.op === 'ERROR') throw serverError(p);
    const v = want(p);
    if (v !== undefined && this.tid === undefined) this.tid = from.port;
    return v;
  }

  /** Sends `bytes` (to the server port until the TID is known) and waits for the packet `want` accepts. */
  async step<T>(bytes: Uint8Array, what: string, want: (p: Packet) => T | undefined, maxData: number): Promise<T> {
    const answer = await exchange(this.ctx, this.conn, bytes, {
      retries: this.o.retries,
      waitMs: this.o.waitMs,
      what,
      port: this.tid,
      describeRequest: describe(bytes),
      describeAnswer: describe,
      accept: (b: Uint8Array, from: DatagramPeer) => this.accept(b, from, want, maxData),
    });
    this.retransmissions += answer.attempts - 1;
    return answer.value;
  }

  /** Waits for the packet `want` accepts without sending (the middle of a window); when none comes in time, sends `resend` and waits as step() does. */
  async next<T>(resend: Uint8Array, what: string, want: (p: Packet) => T | undefined, maxData: number): Promise<T> {
    try {
      return await this.ctx.within(this.o.waitMs, async () => {
        for (let ignored = 0; ; ignored++) {
          const got = await this.conn.receive(what, describe);
          const v = this.accept(got.bytes, got.from, want, maxData);
          if (v !== undefined) return v;
          if (ignored > 2 * MAX_WINDOW) throw new ProtocolError(`${ignored} datagrams that were not the ${what}`);
        }
      });
    } catch (e) {
      const err = classify(e);
      if (err.code !== 'io_timeout' || this.ctx.signal.aborted) throw err;
      this.retransmissions++;
      this.conn.note(`no ${what} within ${this.o.waitMs} ms: acknowledging the last block in order again`);
    }
    return this.step(resend, what, want, maxData);
  }
}

/**
 * RRQ: reads a file into the sink `open` returns once the size is known (tsize from the OACK, or null).
 * Each DATA block is written to the sink before it is acknowledged.
 */
export async function readTo(ctx: OperationContext, conn: DatagramConn, o: TransferOptions, open: (tsize: number | null) => Promise<ByteSink>): Promise<TransferResult> {
  const t = new Transfer(ctx, conn, o);
  const asked = requestOptions(o, 'RRQ');
  const hasOptions = Object.keys(asked).length > 0;
  let blksize = DEFAULT_BLOCK_SIZE;
  let tsize: number | null = null;
  let windowsize = 1;
  let options: Record<string, string> | null = null;
  let size = 0;
  let blocks = 0;
  // The first answer: OACK (options accepted), or DATA 1 (options ignored, RFC 2347 §"Negotiation").
  let packet = encodeRequest('RRQ', o.filename, o.mode, asked);
  let first = await t.step(packet, 'TFTP DATA block 1 or OACK', (p) => (p.op === 'OACK' || (p.op === 'DATA' && p.block === 1) ? p : undefined), MAX_BLOCK_SIZE);
  let sink: ByteSink;
  if (first.op === 'OACK') {
    if (!hasOptions) throw new ProtocolError('TFTP OACK to a request without options');
    options = first.options;
    ({ blksize, tsize, windowsize } = acceptOack(first.options, asked));
    try {
      sink = await open(tsize);
    } catch (e) {
      await conn.send(encodeError(3, 'file too large'), { port: t.tid }).catch(() => {});
      throw e;
    }
    // RFC 2347: the client acknowledges an OACK with ACK 0.
    packet = encodeAck(0);
    first = await t.step(packet, 'TFTP DATA block 1', (p) => (p.op === 'DATA' && p.block === 1 ? p : undefined), blksize);
  } else {
    sink = await open(null);
  }
  let data = first as Extract<Packet, { op: 'DATA' }>;
  let inWindow = 0;
  for (;;) {
    if (data.data.length > blksize) throw new ProtocolError(`TFTP DATA block ${data.block} carries ${data.data.length} bytes, more than the block size ${blksize}`);
    blocks++;
    size += data.data.length;
    try {
      if (data.data.length > 0) await sink.write(data.data);
    } catch (e) {
      // The sink refused (too large for an answer, the client gone): tell the server, then fail.
      await conn.send(encodeError(3, 'transfer stopped'), { port: t.tid }).catch(() => {});
      throw e;
    }
    const ack = encodeAck(data.block);
    if (data.data.length < blksize) {
      // The last block: acknowledge it once; the server may retransmit it if the ACK is lost (RFC 1350 §6).
      await conn.send(ack, { port: t.tid, decode: describe(ack) });
      break;
    }
    // Block numbers are 16 bits; long transfers roll over to 0 (common practice beyond 65535 blocks).
    const next = (data.block + 1) & 0xffff;
    const want = (p: Packet) => (p.op === 'DATA' && p.block === next ? p : undefined);
    if (++inWindow >= windowsize) {
      // RFC 7440 §4: the last block of a window is acknowledged, and the next window follows.
      inWindow = 0;
      data = await t.step(ack, `TFTP DATA block ${next}`, want, blksize);
    } else {
      // Within a window the next block comes unasked; if it does not, ACK of this one makes the server resend from there.
      data = await t.next(ack, `TFTP DATA block ${next}`, want, blksize);
    }
  }
  return { blocks, blksize, options, tsize, windowsize, retransmissions: t.retransmissions, serverPort: t.tid ?? 0, bytes: size };
}

/** RRQ into memory, at most `maxBytes` (a larger tsize is refused before any block). */
export async function readFile(ctx: OperationContext, conn: DatagramConn, o: TransferOptions, maxBytes: number): Promise<TransferResult & { data: Uint8Array }> {
  const collector = new ByteCollector(maxBytes);
  const r = await readTo(ctx, conn, o, async (tsize) => {
    if (tsize !== null && tsize > maxBytes) throw new ProtocolError(`the file is ${tsize} bytes, more than maxBytes ${maxBytes}`);
    return {
      write(chunk) {
        void collector.write(chunk);
        return collector.truncated ? Promise.reject(new ProtocolError(`the file is more than maxBytes ${maxBytes}`)) : Promise.resolve();
      },
    };
  });
  return { ...r, data: collector.bytes() };
}

/**
 * WRQ: writes what `source` yields, cut into blocks, `windowsize` blocks at a time. `size`: the file's
 * size on the wire when known (announced with tsize).
 */
export async function writeFrom(ctx: OperationContext, conn: DatagramConn, o: TransferOptions, source: ByteSource, size?: number): Promise<TransferResult> {
  const t = new Transfer(ctx, conn, o);
  const asked = requestOptions(o, 'WRQ', size);
  const hasOptions = Object.keys(asked).length > 0;
  let blksize = DEFAULT_BLOCK_SIZE;
  let windowsize = 1;
  let options: Record<string, string> | null = null;
  let tsize: number | null = null;
  const first = await t.step(encodeRequest('WRQ', o.filename, o.mode, asked), 'TFTP ACK 0 or OACK', (p) => (p.op === 'OACK' || (p.op === 'ACK' && p.block === 0) ? p : undefined), 0);
  if (first.op === 'OACK') {
    if (!hasOptions) throw new ProtocolError('TFTP OACK to a request without options');
    options = first.options;
    ({ blksize, tsize, windowsize } = acceptOack(first.options, asked));
  }
  const blocksOf = new BlockCutter(source, blksize);
  let blocks = 0;
  let bytes = 0;
  // Blocks sent and not yet acknowledged, oldest first; `acked` is the last block number (mod 2^16) the server took.
  let window: { number: number; data: Uint8Array }[] = [];
  let acked = 0;
  let done = false;
  let serial = 0;
  while (!done || window.length > 0) {
    while (!done && window.length < windowsize) {
      const data = await blocksOf.next();
      serial++;
      window.push({ number: serial & 0xffff, data });
      blocks++;
      bytes += data.length;
      if (data.length < blksize) done = true;
    }
    // Send the window (all but the last without waiting), then wait for an ACK of one of its blocks.
    for (let i = 0; i < window.length - 1; i++) await conn.send(encodeData(window[i].number, window[i].data), { port: t.tid, decode: `DATA block ${window[i].number}, ${window[i].data.length} bytes` });
    const last = window[window.length - 1];
    const numbers = new Set(window.map((b) => b.number));
    const ack = await t.step(encodeData(last.number, last.data), `TFTP ACK ${last.number}`, (p) => (p.op === 'ACK' && (numbers.has(p.block) || p.block === acked) ? p.block : undefined), 0);
    // RFC 7440 §4: an ACK of an earlier block says where the server stopped: the window goes again from there.
    const at = window.findIndex((b) => b.number === ack);
    window = at === -1 ? window : window.slice(at + 1);
    if (at !== -1) acked = ack;
  }
  return { blocks, blksize, options, tsize, windowsize, retransmissions: t.retransmissions, serverPort: t.tid ?? 0, bytes };
}

/** WRQ from memory. */
export async function writeFile(ctx: OperationContext, conn: DatagramConn, o: TransferOptions, content: Uint8Array): Promise<TransferResult> {
  return writeFrom(ctx, conn, o, memorySource(content), content.length);
}

/** Cuts a byte source into blocks of exactly `size` bytes; the last one shorter (empty when the size divides the file). */
class BlockCutter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private ended = false;

  constructor(
    private readonly source: ByteSource,
    private readonly size: number,
  ) {}

  async next(): Promise<Uint8Array> {
    while (!this.ended && this.pendingBytes < this.size) {
      const chunk = await this.source.read();
      if (chunk === null) this.ended = true;
      else if (chunk.length > 0) {
        this.pending.push(chunk);
        this.pendingBytes += chunk.length;
      }
    }
    const n = Math.min(this.size, this.pendingBytes);
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const p = this.pending[0];
      const piece = p.subarray(0, n - at);
      out.set(piece, at);
      at += piece.length;
      if (piece.length === p.length) this.pending.shift();
      else this.pending[0] = p.subarray(piece.length);
    }
    this.pendingBytes -= n;
    return out;
  }
}
