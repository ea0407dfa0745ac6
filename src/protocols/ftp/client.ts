// FTP session driver: RFC 959 §5.4 (command-reply sequences), RFC 4217 (FTPS), RFC 2428 (EPSV), RFC 3659 (SIZE, MDTM, REST, MLST, MLSD).
//
// How it works: `FtpSession.open` dials the control connection (TLS from the first byte for implicit
// FTPS), reads the 220 greeting, upgrades with AUTH TLS when asked, logs in, and with TLS on sends
// PBSZ 0 and PROT P so data connections are encrypted too (RFC 4217 §9). Every transfer opens its own
// passive data connection: EPSV first (the port on the control connection's host, RFC 2428 §3), PASV
// when the server does not know EPSV (an address and port the server names, RFC 959 §4.1.2). That
// connection is a second hop and goes through the target guard, so a PASV reply naming a private
// address is refused unless the user asked to use the control connection's address instead.
// The data connection is dialled plain and, with PROT P, upgraded to TLS only after the server's 1xx
// reply: servers start the TLS handshake on the data connection after accepting it and answering the
// transfer command, and a command that fails (550) then never leaves a handshake hanging.
// Active mode (on hosts that can listen) turns it round: EPRT or PORT names a port beside the control
// connection's local address, and the server's connection is accepted after its 1xx reply.
import { splitHostPort, type Conn } from '../../core/conn.ts';
import { unsupportedReasons } from '../../core/capabilities.ts';
import { ByteCollector, memorySource, type ByteSink, type ByteSource } from '../../core/files.ts';
import { AuthError, PortolanError, ProtocolError, ServerError, UnsupportedRuntime } from '../../core/errors.ts';
import type { BackChannel, OperationContext } from '../../core/protocol.ts';
import {
  encodeCommand,
  encodePort,
  featureParams,
  formatReply,
  fromNetworkAscii,
  parseEpsv,
  parseFeatures,
  parsePasv,
  parseQuotedPath,
  parseSize,
  parseTimeVal,
  replyFrame,
  toNetworkAscii,
  type Reply,
} from './codec.ts';

export interface SessionOptions {
  user: string;
  password: string;
  /** Sent with ACCT when the server asks for an account (332). */
  account?: string;
  /** `auto`: EPSV, then PASV if the server does not know EPSV. */
  passive: 'auto' | 'epsv' | 'pasv';
  /** `server`: connect where PASV says (the guard decides); `control`: to the control connection's host, at the port PASV names. */
  pasvAddress: 'server' | 'control';
  /** With TLS on the control connection: PROT P (data in TLS) or PROT C (data in clear). */
  protectData: boolean;
  /** Send OPTS UTF8 ON when FEAT lists UTF8 (RFC 2640 §3.2). */
  utf8: boolean;
  /** Active mode: the server connects to us (EPRT, PORT when EPRT is unknown); hosts with `listen` only. */
  active?: boolean;
  /** Active mode's command: `auto` (EPRT, then PORT if the server does not know EPRT), or only one of them. */
  activeCommand?: 'auto' | 'eprt' | 'port';
}

export type DataVia = 'EPSV' | 'PASV' | 'EPRT' | 'PORT';

export type Representation = 'binary' | 'ascii';

export interface DataChannel {
  /** Null in active mode until the server has connected (after its 1xx reply). */
  conn: Conn | null;
  /** Active mode: where the server's connection is accepted. */
  back?: BackChannel;
  via: DataVia;
  host: string;
  port: number;
  /** The address a PASV reply named, when it was not used. */
  ignoredAddress?: string;
}

export interface TransferInfo {
  via: DataVia;
  dataHost: string;
  dataPort: number;
  dataTls: boolean;
  /** Bytes on the data connection (differs from the file size in ASCII mode). */
  wireBytes: number;
  /** From the transfer command's 1xx reply to the end of the data. */
  ms: number;
  /** The server's final reply, e.g. `226 Transfer complete.` */
  reply: string;
}

/** The most one read of a data connection asks for. */
const DATA_READ_BYTES = 256 * 1024;
/**
 * Bytes of an upload handed to the data connection and not yet written: about one chunk while the next is read.
 * More queued in workerd made uploads slower here (1 MiB: 0.85x the throughput of 256 KiB, 4 MiB: 0.8x).
 */
const WRITES_IN_FLIGHT = 256 * 1024;

/** Replies that say the command is not implemented or not understood (RFC 959 §4.2.2). */
const NOT_IMPLEMENTED = [500, 501, 502, 504];

/** A reply the operation cannot continue from: 4xx/5xx → server_error with code and text; anything else → protocol_error. */
export function failure(command: string, reply: Reply): PortolanError {
  const detail = { command, code: reply.code, reply: reply.text };
  if (reply.code >= 400) return new ServerError(`${command}: ${formatReply(reply)}`, detail);
  return new ProtocolError(`${command}: unexpected reply ${formatReply(reply)}`, detail);
}

function isPreliminary(reply: Reply): boolean {
  return reply.code >= 100 && reply.code < 200;
}

export class FtpSession {
  features: string[] = [];
  /** FEAT answered (500/502 means the server predates RFC 2389). */
  featAnswered = false;
  welcome: Reply | null = null;
  /** PROT P is in force: data connections use TLS. */
  dataTls = false;
  private type: 'A' | 'I' | null = null;
  private epsvRefused = false;
  private eprtRefused = false;

  private constructor(
    private readonly ctx: OperationContext,
    readonly control: Conn,
    readonly banner: Reply,
    readonly opts: SessionOptions,
  ) {}

  /** Dials, reads the greeting and, for `tls: 'starttls'`, upgrades with AUTH TLS. Does not log in. */
  static async connect(ctx: OperationContext, opts: SessionOptions, how: { authTls?: boolean } = {}): Promise<FtpSession> {
    if (opts.active && !ctx.capabilities.has('listen')) {
      // Refused before any connection: active mode needs a host that accepts the server's data connection.
      const { reasons, alternatives } = unsupportedReasons(['listen'], ['Use passive mode (dataConnection passive, the default): EPSV or PASV, which Workers can dial.']);
      throw new UnsupportedRuntime(`active mode (EPRT/PORT) needs a host that accepts the server's data connection; the ${ctx.runtime} runtime cannot: ${reasons.join(' ')}`, { runtime: ctx.runtime, missing: ['listen'], reasons, alternatives });
    }
    const control = await ctx.dial();
    let banner = await readReply(control);
    // RFC 959 §5.4: 120 (ready in nnn minutes) may come before 220.
    for (let n = 0; banner.code === 120 && n < 5; n++) banner = await readReply(control);
    if (banner.code !== 220) throw failure('greeting', banner);
    const session = new FtpSession(ctx, control, banner, opts);
    if (how.authTls ?? ctx.target.tls === 'starttls') await session.authTls();
    return session;
  }

  /** Connects and logs in; with TLS, also protects the data channel. */
  static async open(ctx: OperationContext, opts: SessionOptions): Promise<FtpSession> {
    const session = await FtpSession.connect(ctx, opts);
    await session.feat();
    await session.login();
    ctx.timing.mark('loginMs');
    if (session.control.tlsActive) await session.protect();
    if (opts.utf8 && featureParams(session.features, 'UTF8') !== null) {
      // RFC 2640 §3.2 leaves OPTS UTF8 to a draft; servers that need no switch may refuse it, which is harmless.
      await session.command('OPTS UTF8', 'ON');
    }
    return session;
  }

  async reply(): Promise<Reply> {
    return readReply(this.control);
  }

  /** Sends one command line and reads its first reply. */
  async command(verb: string, argument?: string, opts: { secret?: boolean } = {}): Promise<Reply> {
    const bytes = encodeCommand(verb, argument);
    const shown = argument === undefined || argument === '' ? verb : `${verb} ${opts.secret ? '****' : argument}`;
    await this.control.write(bytes, opts.secret ? { secret: true, decode: shown } : { decode: shown });
    return this.reply();
  }

  /** Sends a command and insists on one of the `ok` codes. */
  async expect(verb: string, argument: string | undefined, ok: readonly number[]): Promise<Reply> {
    const reply = await this.command(verb, argument);
    if (!ok.includes(reply.code)) throw failure(argument === undefined ? verb : `${verb} ${argument}`, reply);
    return reply;
  }

  /** RFC 4217 §4: AUTH TLS, 234, then the TLS handshake on the control connection. */
  async authTls(): Promise<void> {
    const reply = await this.command('AUTH', 'TLS');
    if (reply.code !== 234) {
      const detail = { command: 'AUTH TLS', code: reply.code, reply: reply.text };
      if (reply.code >= 400) throw new ServerError(`the server refused AUTH TLS: ${formatReply(reply)}`, detail);
      throw new ProtocolError(`AUTH TLS: expected 234, got ${formatReply(reply)}`, detail);
    }
    await this.control.startTls();
  }

  /** RFC 2389 §3: FEAT; servers without it (500/502) simply list nothing. */
  async feat(): Promise<string[]> {
    const reply = await this.command('FEAT');
    if (reply.code === 211) {
      this.features = parseFeatures(reply);
      this.featAnswered = true;
    } else if (NOT_IMPLEMENTED.includes(reply.code) || reply.code === 530) {
      this.features = [];
    } else {
      throw failure('FEAT', reply);
    }
    return this.features;
  }

  /** RFC 959 §4.1.1 and the login sequence of §5.4: USER, then PASS (331), then ACCT (332). */
  async login(): Promise<Reply> {
    const { user, password, account } = this.opts;
    let reply = await this.command('USER', user);
    if (reply.code === 331) reply = await this.command('PASS', password, { secret: true });
    if (reply.code === 332) {
      if (account === undefined) throw new AuthError(`the server asks for an account (ACCT) for ${user}: ${formatReply(reply)}`, { code: reply.code, reply: reply.text });
      reply = await this.command('ACCT', account, { secret: true });
    }
    if (reply.code === 230 || reply.code === 202) {
      this.welcome = reply;
      return reply;
    }
    // 530 Not logged in (RFC 959 §4.2.2); 430 is used by some servers for a bad user name or password.
    if (reply.code === 530 || reply.code === 430) {
      throw new AuthError(`login as ${user} refused: ${formatReply(reply)}`, { code: reply.code, reply: reply.text });
    }
    throw failure(`login as ${user}`, reply);
  }

  /** RFC 4217 §9: PBSZ 0 must come before PROT; PROT P puts data connections in TLS. */
  async protect(): Promise<void> {
    await this.expect('PBSZ', '0', [200]);
    await this.expect('PROT', this.opts.protectData ? 'P' : 'C', [200]);
    this.dataTls = this.opts.protectData;
  }

  /** RFC 959 §4.1.2: TYPE A (NVT-ASCII, CRLF line ends on the wire) or TYPE I (bytes as they are). */
  async setType(representation: Representation): Promise<void> {
    const code = representation === 'ascii' ? 'A' : 'I';
    if (this.type === code) return;
    await this.expect('TYPE', code, [200]);
    this.type = code;
  }

  async pwd(): Promise<string> {
    const reply = await this.expect('PWD', undefined, [257]);
    const path = parseQuotedPath(reply.text);
    if (path === null) throw new ProtocolError(`PWD reply has no quoted path: ${formatReply(reply)}`);
    return path;
  }

  async cwd(path: string): Promise<void> {
    await this.expect('CWD', path, [250, 200]);
  }

  /** RFC 3659 §4: the size in octets (in TYPE I), or null when the server does not implement SIZE. */
  async size(path: string): Promise<number | null> {
    await this.setType('binary');
    const reply = await this.command('SIZE', path);
    if (reply.code === 213) return parseSize(reply.text);
    if (NOT_IMPLEMENTED.includes(reply.code)) return null;
    throw failure(`SIZE ${path}`, reply);
  }

  /** RFC 3659 §3: last modification time (UTC), or null when MDTM is not implemented. */
  async mdtm(path: string): Promise<string | null> {
    const reply = await this.command('MDTM', path);
    if (reply.code === 213) {
      const time = parseTimeVal(reply.text);
      if (time === null) throw new ProtocolError(`MDTM reply is not a time-val: ${formatReply(reply)}`);
      return time;
    }
    if (NOT_IMPLEMENTED.includes(reply.code)) return null;
    throw failure(`MDTM ${path}`, reply);
  }

  /**
   * A passive data connection: EPSV first (unless `passive: 'pasv'`), PASV when the server does not
   * implement EPSV (and `passive: 'auto'`). The dial is a second hop, checked by the guard.
   */
  async openData(): Promise<DataChannel> {
    if (this.opts.active) return this.openActive();
    let via: 'EPSV' | 'PASV' | undefined;
    let host = this.control.host;
    let port = 0;
    let ignoredAddress: string | undefined;
    if (this.opts.passive !== 'pasv' && !this.epsvRefused) {
      const reply = await this.command('EPSV');
      if (reply.code === 229) {
        port = parseEpsv(reply.text);
        via = 'EPSV';
      } else if (this.opts.passive === 'auto' && (NOT_IMPLEMENTED.includes(reply.code) || reply.code === 522)) {
        this.epsvRefused = true;
      } else {
        throw failure('EPSV', reply);
      }
    }
    if (via === undefined) {
      const reply = await this.command('PASV');
      if (reply.code !== 227) throw failure('PASV', reply);
      const named = parsePasv(reply.text);
      port = named.port;
      via = 'PASV';
      if (this.opts.pasvAddress === 'control') {
        if (named.host !== this.control.host) {
          ignoredAddress = named.host;
          this.control.note(`PASV named ${named.host}; connecting to the control connection's host ${this.control.host} instead, as asked`);
        }
      } else {
        host = named.host;
      }
    }
    const conn = await this.ctx.dial({ host, port, tls: this.dataTls ? 'starttls' : 'off', secondHop: true });
    return { conn, via, host, port, ignoredAddress };
  }

  /**
   * Active mode: listens beside the control connection's local address and tells the server where, with
   * EPRT (RFC 2428 §2) or, when the server does not know EPRT, PORT (RFC 959 §4.1.2, IPv4 only). The
   * server connects after the transfer command; only a connection from its address is accepted.
   */
  private async openActive(): Promise<DataChannel> {
    const local = this.control.info().localAddress;
    if (!local) throw new PortolanError('closed', 'the control connection is gone: no local address to listen on');
    let address = splitHostPort(local).address;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) address = mapped[1];
    const v6 = address.includes(':');
    const back = await this.ctx.listen({ for: this.control });
    let via: 'EPRT' | 'PORT' | undefined;
    const how = this.opts.activeCommand ?? 'auto';
    if (how !== 'port' && !this.eprtRefused) {
      const reply = await this.command('EPRT', `|${v6 ? 2 : 1}|${address}|${back.port}|`);
      if (reply.code === 200) via = 'EPRT';
      else if (how === 'auto' && !v6 && (NOT_IMPLEMENTED.includes(reply.code) || reply.code === 522)) this.eprtRefused = true;
      else throw failure('EPRT', reply);
    }
    if (via === undefined) {
      await this.expect('PORT', encodePort(address, back.port), [200]);
      via = 'PORT';
    }
    return { conn: null, back, via, host: address, port: back.port };
  }

  /** Sends the transfer command (after REST when resuming) and waits for its 1xx; then TLS on the data connection with PROT P. */
  private async startTransfer(data: DataChannel, verb: string, argument: string | undefined, offset: number): Promise<Reply | null> {
    // RFC 3659 §5.3: REST must come right before the transfer command.
    if (offset > 0) await this.expect('REST', String(offset), [350]);
    const first = await this.command(verb, argument);
    if (first.code >= 200 && first.code < 300) return first;
    if (!isPreliminary(first)) throw failure(argument === undefined ? verb : `${verb} ${argument}`, first);
    if (data.back) data.conn = await data.back.accept('the data connection');
    if (this.dataTls) await data.conn!.startTls();
    return null;
  }

  /** The final reply of a transfer: 226 or 250 (RFC 959 §5.4); 426/451 are accepted only when we cut the transfer short. */
  private async finishTransfer(command: string, cutShort: boolean): Promise<Reply> {
    const final = await this.reply();
    if (final.code === 226 || final.code === 250) return final;
    if (cutShort && (final.code === 426 || final.code === 451)) return final;
    throw failure(command, final);
  }

  /**
   * RETR, LIST, NLST or MLSD: the bytes of the data connection, at most `maxBytes` (then `truncated`,
   * and the data connection is closed early). In ASCII mode CRLF becomes LF.
   */
  async receive(
    verb: 'RETR' | 'LIST' | 'NLST' | 'MLSD',
    argument: string | undefined,
    opts: { offset?: number; maxBytes: number; representation?: Representation },
  ): Promise<{ bytes: Uint8Array; truncated: boolean; info: TransferInfo }> {
    const collector = new ByteCollector(opts.maxBytes);
    const { info } = await this.retrieve(verb, argument, collector, { ...opts, stop: () => collector.truncated });
    return { bytes: collector.bytes(), truncated: collector.truncated, info };
  }

  /**
   * RETR, LIST, NLST or MLSD into `sink`, each chunk as the data connection delivers it; every write is
   * awaited, so a slow consumer slows the data connection (TCP flow control reaches the server). `stop()`
   * true closes the data connection early (the 426/451 that follows is then accepted). In ASCII mode CRLF
   * becomes LF. A data connection the server closes early shows in its final reply (426, 451), which fails
   * the transfer.
   */
  async retrieve(
    verb: 'RETR' | 'LIST' | 'NLST' | 'MLSD',
    argument: string | undefined,
    sink: ByteSink,
    opts: { offset?: number; representation?: Representation; stop?: () => boolean },
  ): Promise<{ info: TransferInfo; bytes: number }> {
    await this.setType(opts.representation ?? (verb === 'RETR' ? 'binary' : 'ascii'));
    const ascii = verb === 'RETR' && opts.representation === 'ascii';
    const command = argument === undefined ? verb : `${verb} ${argument}`;
    const data = await this.openData();
    let total = 0;
    let wire = 0;
    let cutShort = false;
    let started = 0;
    try {
      const early = await this.startTransfer(data, verb, argument, opts.offset ?? 0);
      if (early !== null) return { info: this.info(data, 0, 0, early), bytes: 0 };
      started = now();
      const conn = data.conn!;
      conn.bulkReads(DATA_READ_BYTES);
      let pendingCr = false;
      for (;;) {
        const chunk = await conn.read(DATA_READ_BYTES);
        if (chunk === null) break;
        wire += chunk.length;
        let piece = chunk;
        if (ascii) ({ bytes: piece, pendingCr } = fromNetworkAscii(chunk, pendingCr, false));
        total += piece.length;
        if (piece.length > 0) await sink.write(piece);
        if (opts.stop?.()) {
          cutShort = true;
          break;
        }
      }
      if (ascii && pendingCr && !cutShort) {
        total += 1;
        await sink.write(fromNetworkAscii(new Uint8Array(0), true, true).bytes);
      }
    } finally {
      await data.conn?.close();
    }
    const ms = now() - started;
    this.ctx.timing.mark('transferDoneMs');
    const final = await this.finishTransfer(command, cutShort);
    return { info: this.info(data, wire, ms, final), bytes: total };
  }

  /** STOR or APPE (after REST when `offset` is given): writes `content` on the data connection and closes it. */
  async store(verb: 'STOR' | 'APPE', path: string, content: Uint8Array, opts: { offset?: number; representation?: Representation }): Promise<TransferInfo> {
    return (await this.storeFrom(verb, path, memorySource(content), opts)).info;
  }

  /**
   * STOR or APPE (after REST when `offset` is given) from `source`, chunk by chunk: each write waits for the
   * data connection to take it. Returns the file bytes sent (before any ASCII conversion).
   */
  async storeFrom(verb: 'STOR' | 'APPE', path: string, source: ByteSource, opts: { offset?: number; representation?: Representation }): Promise<{ info: TransferInfo; bytes: number }> {
    await this.setType(opts.representation ?? 'binary');
    const ascii = opts.representation === 'ascii';
    const data = await this.openData();
    let started = 0;
    let bytes = 0;
    let wire = 0;
    try {
      const early = await this.startTransfer(data, verb, path, opts.offset ?? 0);
      if (early !== null) throw new ProtocolError(`${verb} ${path}: the server answered ${formatReply(early)} before any data was sent`);
      started = now();
      const conn = data.conn!;
      let afterCr = false;
      // Writes are issued while the next chunk is read, up to WRITES_IN_FLIGHT bytes not yet settled; a
      // chunk goes back to the source once its write has settled.
      const writes: { size: number; done: Promise<void>; chunk: Uint8Array }[] = [];
      let unsettled = 0;
      try {
        for (let chunk = await source.read(); chunk !== null; chunk = await source.read()) {
          if (chunk.length === 0) continue;
          const piece = ascii ? toNetworkAscii(chunk, afterCr) : chunk;
          afterCr = chunk[chunk.length - 1] === 0x0d;
          if (piece !== chunk) source.recycle?.(chunk);
          // Record the size before the write: a runtime may take (detach) the buffer it writes.
          const size = piece.length;
          bytes += chunk.length;
          const done = conn.write(piece, { decode: `file data: ${size} bytes (from offset ${wire})` });
          done.catch(() => {});
          writes.push({ size, done, chunk: piece });
          unsettled += size;
          wire += size;
          while (unsettled > WRITES_IN_FLIGHT) {
            const first = writes.shift()!;
            await first.done;
            unsettled -= first.size;
            source.recycle?.(first.chunk);
          }
        }
      } finally {
        await Promise.allSettled(writes.map((w) => w.done));
      }
      for (const w of writes) await w.done;
      // RFC 959 §3.3 (stream mode): the end of the connection is the end of the file. Half-close, then wait
      // for the server to close: closing at once can lose bytes still queued in the host, and with TLS 1.3
      // unread session tickets would turn the close into a reset (vsftpd: 426, file cut short).
      await conn.end();
      await conn.readToEnd(64 * 1024).catch((e: unknown) => {
        // A reset here is the server's business: its final reply on the control connection says how it went.
        if (!(e instanceof PortolanError && e.code === 'closed')) throw e;
      });
    } finally {
      await data.conn?.close();
    }
    const ms = now() - started;
    this.ctx.timing.mark('transferDoneMs');
    const final = await this.finishTransfer(`${verb} ${path}`, false);
    return { info: this.info(data, wire, ms, final), bytes };
  }

  private info(data: DataChannel, wireBytes: number, ms: number, final: Reply): TransferInfo {
    return { via: data.via, dataHost: data.host, dataPort: data.port, dataTls: this.dataTls, wireBytes, ms: Math.round(ms * 1000) / 1000, reply: formatReply(final) };
  }

  /** RFC 959 §4.1.1: QUIT; the 221 is read when it comes, and a server that just closes is fine. */
  async quit(): Promise<void> {
    try {
      await this.control.write(encodeCommand('QUIT'), { decode: 'QUIT' });
      await this.reply();
    } catch {
      // the operation's answer is already known
    }
  }
}

async function readReply(conn: Conn): Promise<Reply> {
  const reply = await conn.readFrame(replyFrame, 'FTP reply', (r) => formatReply(r).slice(0, 400));
  // RFC 959 §4.2: 421 may come at any time, when the server is closing the control connection.
  if (reply.code === 421) throw new ServerError(`the server is closing the connection: ${formatReply(reply)}`, { code: reply.code, reply: reply.text });
  return reply;
}

function now(): number {
  return performance.now();
}
