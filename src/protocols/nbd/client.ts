// A thin NBD client over Conn: the fixed newstyle handshake, option haggling (LIST, INFO, GO, STARTTLS,
// STRUCTURED_REPLY), then READ, WRITE, FLUSH and TRIM in the transmission phase.
import type { Conn } from '../../core/conn.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import type { ByteSink, ByteSource } from '../../core/files.ts';
import {
  clientFlags,
  CMD,
  CMD_FLAG,
  encodeInfoRequest,
  encodeOption,
  encodeRequest,
  errnoName,
  exportNameReplyFrame,
  greetingFrame,
  INFO,
  isReplyError,
  OPT,
  optionName,
  optionReplyFrame,
  parseChunk,
  parseInfo,
  parseServerReply,
  REP,
  replyErrorName,
  replyFrame,
  replyMessage,
  type Greeting,
  type OptionReply,
  type Reply,
} from './codec.ts';

/** Bytes asked for per READ (and sent per WRITE): below every server's 32 MiB limit, large enough to stream. */
export const IO_SIZE = 1024 * 1024;
/** READ requests in flight at once. */
const DEPTH = 4;
/** Replies a single option may answer with (NBD_REP_SERVER per export). */
const MAX_REPLIES = 10_000;

export interface ExportInfo {
  name: string;
  size: number;
  flags: number;
  description: string | null;
  blockSize: { minimum: number; preferred: number; maximum: number } | null;
}

/** An option the server refused, in its own words: `NBD_OPT_GO: NBD_REP_ERR_UNKNOWN (export "x" unknown)`. */
export class OptionRefused extends ServerError {
  constructor(
    readonly option: number,
    readonly reply: OptionReply,
  ) {
    const words = replyMessage(reply.data);
    super(`${optionName(option)}: ${replyErrorName(reply.type)}${words ? ` (${words})` : ''}`, { option: optionName(option), reply: replyErrorName(reply.type), message: words || null });
  }
  get errorName(): string {
    return replyErrorName(this.reply.type);
  }
}

export class NbdClient {
  greeting: Greeting | null = null;
  structured = false;
  private cookie = 0n;
  private noZeroes = false;

  constructor(readonly conn: Conn) {}

  /** Reads the greeting; on newstyle, answers with our flags (fixed newstyle and no-zeroes when offered). */
  async handshake(): Promise<Greeting> {
    const g = await this.conn.readFrame(greetingFrame, 'greeting', (v) => (v.style === 'newstyle' ? `newstyle, handshake flags ${v.flags}` : `oldstyle, size ${v.size}`));
    this.greeting = g;
    if (g.style === 'newstyle') {
      this.noZeroes = g.noZeroes;
      await this.conn.write(clientFlags(g), { decode: `client flags: ${[g.fixedNewstyle && 'C_FIXED_NEWSTYLE', g.noZeroes && 'C_NO_ZEROES'].filter(Boolean).join(' ') || 'none'}` });
    }
    return g;
  }

  private requireNewstyle(): void {
    if (this.greeting?.style !== 'newstyle') throw new ProtocolError('NBD: the server speaks oldstyle negotiation, which has no options (its only export starts at once)');
    if (!this.greeting.fixedNewstyle) throw new ProtocolError('NBD: the server does not offer fixed newstyle negotiation');
  }

  /** Sends an option and reads its replies up to the final one (ACK, or an error, which throws OptionRefused). */
  async option(option: number, data?: Uint8Array, decode?: string): Promise<OptionReply[]> {
    this.requireNewstyle();
    await this.conn.write(encodeOption(option, data), { decode: decode ?? optionName(option) });
    const replies: OptionReply[] = [];
    for (;;) {
      const r = await this.conn.readFrame(optionReplyFrame(), `${optionName(option)} reply`, (v) => (isReplyError(v.type) ? replyErrorName(v.type) : `reply type ${v.type}, ${v.data.length} bytes`));
      if (r.option !== option) throw new ProtocolError(`NBD: a reply to ${optionName(r.option)} while ${optionName(option)} was asked`);
      if (isReplyError(r.type)) throw new OptionRefused(option, r);
      if (r.type === REP.ACK) return replies;
      replies.push(r);
      if (replies.length > MAX_REPLIES) throw new ProtocolError(`NBD: more than ${MAX_REPLIES} replies to ${optionName(option)}`);
    }
  }

  /** NBD_OPT_STARTTLS, then TLS on the same connection. */
  async startTls(): Promise<void> {
    await this.option(OPT.STARTTLS);
    await this.conn.startTls();
  }

  /** NBD_OPT_LIST: every export the server lets us see. */
  async list(): Promise<{ name: string; description: string }[]> {
    const replies = await this.option(OPT.LIST);
    return replies.filter((r) => r.type === REP.SERVER).map((r) => parseServerReply(r.data));
  }

  /** NBD_OPT_STRUCTURED_REPLY: true when the server agrees to send structured replies. */
  async askStructured(): Promise<boolean> {
    try {
      await this.option(OPT.STRUCTURED_REPLY);
      this.structured = true;
    } catch (e) {
      if (!(e instanceof OptionRefused)) throw e;
      this.structured = false;
    }
    return this.structured;
  }

  /**
   * NBD_OPT_INFO (`go` false) or NBD_OPT_GO (then the transmission phase), asking for the name, description and
   * block sizes. A server without INFO/GO (NBD_REP_ERR_UNSUP) is asked with NBD_OPT_EXPORT_NAME when going.
   */
  async info(name: string, go: boolean): Promise<ExportInfo> {
    const option = go ? OPT.GO : OPT.INFO;
    let replies: OptionReply[];
    try {
      replies = await this.option(option, encodeInfoRequest(name, [INFO.NAME, INFO.DESCRIPTION, INFO.BLOCK_SIZE]), `${optionName(option)} "${name}"`);
    } catch (e) {
      if (go && e instanceof OptionRefused && e.errorName === 'NBD_REP_ERR_UNSUP') return this.exportName(name);
      throw e;
    }
    const out: ExportInfo = { name, size: 0, flags: 0, description: null, blockSize: null };
    let sawExport = false;
    for (const r of replies) {
      if (r.type !== REP.INFO) continue;
      const i = parseInfo(r.data);
      if (i.type === 'export') {
        out.size = i.size;
        out.flags = i.flags;
        sawExport = true;
      } else if (i.type === 'name') out.name = i.name;
      else if (i.type === 'description') out.description = i.description;
      else if (i.type === 'blockSize') out.blockSize = { minimum: i.minimum, preferred: i.preferred, maximum: i.maximum };
    }
    if (!sawExport) throw new ProtocolError(`NBD: ${optionName(option)} ended without NBD_INFO_EXPORT (size and flags)`);
    return out;
  }

  /** NBD_OPT_EXPORT_NAME: the older way into the transmission phase (no error reply: the server closes instead). */
  private async exportName(name: string): Promise<ExportInfo> {
    await this.conn.write(encodeOption(OPT.EXPORT_NAME, new TextEncoder().encode(name)), { decode: `NBD_OPT_EXPORT_NAME "${name}"` });
    const r = await this.conn.readFrame(exportNameReplyFrame(this.noZeroes), 'export size and flags');
    return { name, size: r.size, flags: r.flags, description: null, blockSize: null };
  }

  /** NBD_OPT_ABORT, ending the negotiation politely (the server may close without answering). */
  async abort(): Promise<void> {
    await this.conn.write(encodeOption(OPT.ABORT), { decode: 'NBD_OPT_ABORT' });
    await this.conn.readFrame(optionReplyFrame(), 'NBD_OPT_ABORT reply').catch(() => undefined);
  }

  private nextCookie(): bigint {
    this.cookie += 1n;
    return this.cookie;
  }

  private replies(lengths: Map<bigint, number>, maxChunk: number): Promise<Reply> {
    return this.conn.readFrame(
      replyFrame((c) => lengths.get(c), maxChunk),
      'reply',
      (v) => (v.kind === 'simple' ? `simple reply, cookie ${v.cookie}, ${v.error ? errnoName(v.error) : `${v.data.length} bytes`}` : `chunk type ${v.type}${v.done ? ' (done)' : ''}, cookie ${v.cookie}, ${v.data.length} bytes`),
    );
  }

  /** Reads one request's whole answer (a simple reply, or structured chunks up to the one marked done) into its bytes. */
  private async collect(lengths: Map<bigint, number>, what: string, pending: Map<bigint, { offset: number; buf: Uint8Array | null }>): Promise<bigint> {
    const r = await this.replies(lengths, IO_SIZE + 64 * 1024);
    const p = pending.get(r.cookie);
    if (!p) throw new ProtocolError(`NBD: a reply to cookie ${r.cookie}, which no request carries`);
    if (r.kind === 'simple') {
      if (r.error !== 0) throw new ServerError(`NBD ${what}: the server answered ${errnoName(r.error)}`, { errno: r.error });
      if (p.buf) p.buf.set(r.data);
      return r.cookie;
    }
    const body = parseChunk(r.type, r.data);
    if (body.type === 'error') throw new ServerError(`NBD ${what}: the server answered ${errnoName(body.error)}${body.message ? ` (${body.message})` : ''}`, { errno: body.error });
    const length = lengths.get(r.cookie) ?? 0;
    if (body.type === 'data' || body.type === 'hole') {
      const at = body.offset - p.offset;
      const n = body.type === 'data' ? body.data.length : body.length;
      if (!p.buf || at < 0 || at + n > length) throw new ProtocolError(`NBD: a reply chunk at offset ${body.offset} outside the request`);
      if (body.type === 'data') p.buf.set(body.data, at);
      else p.buf.fill(0, at, at + n);
    }
    return r.done ? r.cookie : -1n;
  }

  /**
   * READ of [offset, offset+length), DEPTH requests of IO_SIZE in flight, each range handed to the sink in order
   * once it is whole.
   */
  async read(offset: number, length: number, sink: ByteSink, maxIo = IO_SIZE): Promise<number> {
    const size = Math.max(1, Math.min(IO_SIZE, maxIo));
    const lengths = new Map<bigint, number>();
    const pending = new Map<bigint, { offset: number; buf: Uint8Array | null }>();
    const order: bigint[] = [];
    const done = new Set<bigint>();
    let sent = offset;
    const end = offset + length;
    let written = 0;
    while (written < length) {
      while (sent < end && order.length < DEPTH) {
        const n = Math.min(size, end - sent);
        const cookie = this.nextCookie();
        lengths.set(cookie, n);
        pending.set(cookie, { offset: sent, buf: new Uint8Array(n) });
        order.push(cookie);
        await this.conn.write(encodeRequest({ type: CMD.READ, cookie, offset: sent, length: n }), { decode: `NBD_CMD_READ offset ${sent} length ${n}` });
        sent += n;
      }
      const finished = await this.collect(lengths, 'READ', pending);
      if (finished !== -1n) done.add(finished);
      while (order.length > 0 && done.has(order[0])) {
        const cookie = order.shift()!;
        const p = pending.get(cookie)!;
        done.delete(cookie);
        pending.delete(cookie);
        lengths.delete(cookie);
        written += p.buf!.length;
        await sink.write(p.buf!);
      }
    }
    return written;
  }

  /** One command without data in its reply (WRITE, FLUSH, TRIM, WRITE_ZEROES), answered before the next is sent. */
  async command(type: number, what: string, opts: { offset?: number; length?: number; flags?: number; data?: Uint8Array } = {}): Promise<void> {
    const cookie = this.nextCookie();
    const lengths = new Map([[cookie, 0]]);
    const pending = new Map([[cookie, { offset: opts.offset ?? 0, buf: null }]]);
    await this.conn.write(encodeRequest({ type, cookie, offset: opts.offset, length: opts.data ? opts.data.length : opts.length, flags: opts.flags }, opts.data), {
      decode: `${what} offset ${opts.offset ?? 0} length ${opts.data ? opts.data.length : (opts.length ?? 0)}${opts.flags ? ` flags ${opts.flags}` : ''}`,
    });
    while ((await this.collect(lengths, what, pending)) === -1n) {
      // structured chunks before the one marked done
    }
  }

  /** WRITE of a source's bytes from `offset`, IO_SIZE at most per request; FUA asks each to reach the disk. */
  async write(offset: number, source: ByteSource, opts: { fua: boolean; limit: number }): Promise<number> {
    let at = offset;
    for (let piece = await source.read(); piece !== null; piece = await source.read()) {
      for (let i = 0; i < piece.length; i += IO_SIZE) {
        const part = piece.subarray(i, i + IO_SIZE);
        if (at + part.length > opts.limit) throw new ServerError(`NBD WRITE: ${at + part.length - offset} bytes from offset ${offset} pass the end of the export (${opts.limit} bytes)`);
        await this.command(CMD.WRITE, 'NBD_CMD_WRITE', { offset: at, data: part, flags: opts.fua ? CMD_FLAG.FUA : 0 });
        at += part.length;
      }
    }
    return at - offset;
  }

  /** NBD_CMD_DISC: the server closes after it. */
  async disconnect(): Promise<void> {
    await this.conn.write(encodeRequest({ type: CMD.DISC, cookie: this.nextCookie() }), { decode: 'NBD_CMD_DISC' }).catch(() => undefined);
  }
}
