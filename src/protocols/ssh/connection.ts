// The SSH connection protocol, RFC 4254: global requests (4), channels with window flow control (5.1–5.3),
// channel requests (5.4), sessions (6: pty-req, env, shell, exec, subsystem, window-change, signal, exit-status),
// direct-tcpip (7.2); keepalive@openssh.com (OpenSSH PROTOCOL 2.5 style global request).
//
// How it works: after authentication one pump reads every message and dispatches it by recipient
// channel. Each Channel keeps a queue of received data; reading from it gives window back to the
// server (WINDOW_ADJUST once half the window is consumed), so a slow reader slows the server down.
// Writes are cut to the server's window and maximum packet size and wait for WINDOW_ADJUST.
import { concat } from '../../core/bytes.ts';
import { classify, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { messageName, MSG } from './codec.ts';
import type { SshTransport } from './transport.ts';
import { SshReader, SshWriter } from './wire.ts';

/**
 * Our receive window per channel, and the largest data packet we accept. OpenSSH uses 2 MiB / 32 KiB;
 * larger packets mean fewer packets to decrypt per byte (the transport accepts up to 256 KiB).
 */
export const LOCAL_WINDOW = 4 * 1024 * 1024;
export const LOCAL_MAX_PACKET = 128 * 1024;
const MAX_CHANNELS = 256;

export interface ChannelChunk {
  stream: 'stdout' | 'stderr';
  data: Uint8Array;
}

export interface ExitSignal {
  name: string;
  coreDumped: boolean;
  message: string;
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
}

/** RFC 4254 5.1: reason codes of SSH_MSG_CHANNEL_OPEN_FAILURE. */
const OPEN_FAILURES: Record<number, string> = {
  1: 'administratively prohibited',
  2: 'connect failed',
  3: 'unknown channel type',
  4: 'resource shortage',
};

export class Channel {
  readonly localId: number;
  remoteId = -1;
  private remoteWindow = 0;
  private remoteMaxPacket = 0;
  private localWindow = LOCAL_WINDOW;
  private consumed = 0;
  private readonly queue: ChannelChunk[] = [];
  private queuedBytes = 0;
  private readers: Waiter<ChannelChunk | null>[] = [];
  private windowWaiters: Waiter<void>[] = [];
  private requestReplies: Waiter<boolean>[] = [];
  private writeChain: Promise<void> = Promise.resolve();
  private openWaiter: Waiter<void> | null = null;
  eofReceived = false;
  eofSent = false;
  closeReceived = false;
  closeSent = false;
  exitStatus: number | null = null;
  exitSignal: ExitSignal | null = null;
  private failure: PortolanError | null = null;
  private closedWaiters: Array<() => void> = [];
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    private readonly conn: SshConnection,
    localId: number,
  ) {
    this.localId = localId;
  }

  private get t(): SshTransport {
    return this.conn.transport;
  }

  /** Waits for OPEN_CONFIRMATION (or throws on OPEN_FAILURE). */
  opened(): Promise<void> {
    return new Promise((resolve, reject) => (this.openWaiter = { resolve, reject }));
  }

  handleOpenConfirmation(remoteId: number, window: number, maxPacket: number): void {
    this.remoteId = remoteId;
    this.remoteWindow = window;
    // RFC 4254 5.1: maximum packet size; a zero or absurd value is clamped to something workable.
    this.remoteMaxPacket = Math.max(1024, Math.min(maxPacket, 256 * 1024));
    this.openWaiter?.resolve();
    this.openWaiter = null;
  }

  handleOpenFailure(reason: number, description: string): void {
    this.openWaiter?.reject(new ServerError(`server refused to open the channel (${OPEN_FAILURES[reason] ?? `reason ${reason}`})${description ? `: ${description}` : ''}`, { reason }));
    this.openWaiter = null;
  }

  handleWindowAdjust(n: number): void {
    // RFC 4254 5.2: the window may not exceed 2^32 - 1.
    this.remoteWindow = Math.min(this.remoteWindow + n, 0xffffffff);
    const w = this.windowWaiters;
    this.windowWaiters = [];
    for (const x of w) x.resolve();
  }

  handleData(stream: 'stdout' | 'stderr', data: Uint8Array): void {
    // RFC 4254 5.2: the server may not send more than the window we gave.
    if (data.length > this.localWindow) throw new ProtocolError(`server sent ${data.length} bytes on channel ${this.localId} with only ${this.localWindow} bytes of window left`);
    if (this.eofReceived) throw new ProtocolError(`server sent data on channel ${this.localId} after EOF`);
    this.localWindow -= data.length;
    this.bytesIn += data.length;
    // The payload buffer is this packet's own (decrypted afresh), so the view is kept without a copy.
    const chunk = { stream, data };
    const reader = this.readers.shift();
    if (reader) {
      this.consume(data.length);
      reader.resolve(chunk);
    } else {
      this.queue.push(chunk);
      this.queuedBytes += data.length;
    }
  }

  handleEof(): void {
    this.eofReceived = true;
    this.flushReaders();
  }

  handleClose(): void {
    this.closeReceived = true;
    this.eofReceived = true;
    this.flushReaders();
    const err = new PortolanError('closed', `channel ${this.localId} closed by the server`);
    for (const w of this.windowWaiters) w.reject(err);
    this.windowWaiters = [];
    for (const r of this.requestReplies) r.resolve(false);
    this.requestReplies = [];
    this.openWaiter?.reject(err);
    for (const f of this.closedWaiters) f();
    this.closedWaiters = [];
    // RFC 4254 5.3: answer a CLOSE with a CLOSE unless we already sent one.
    if (!this.closeSent) {
      this.closeSent = true;
      this.t.send(new SshWriter(8).u8(MSG.CHANNEL_CLOSE).u32(this.remoteId).finish()).catch(() => {});
    }
  }

  handleRequest(type: string, wantReply: boolean, r: SshReader): void {
    if (type === 'exit-status') this.exitStatus = r.u32('exit status');
    else if (type === 'exit-signal') {
      // RFC 4254 6.10: signal name without "SIG", core dumped, error message, language tag.
      this.exitSignal = { name: r.text('signal name', 64), coreDumped: r.bool('core dumped'), message: r.text('error message', 4096) };
    }
    if (wantReply) this.t.send(new SshWriter(8).u8(MSG.CHANNEL_FAILURE).u32(this.remoteId).finish()).catch(() => {});
  }

  handleRequestReply(ok: boolean): void {
    const w = this.requestReplies.shift();
    if (!w) throw new ProtocolError(`unexpected ${ok ? 'CHANNEL_SUCCESS' : 'CHANNEL_FAILURE'} on channel ${this.localId}`);
    w.resolve(ok);
  }

  fail(err: PortolanError): void {
    this.failure ??= err;
    for (const r of this.readers) r.reject(err);
    this.readers = [];
    for (const w of this.windowWaiters) w.reject(err);
    this.windowWaiters = [];
    for (const r of this.requestReplies) r.reject(err);
    this.requestReplies = [];
    this.openWaiter?.reject(err);
    this.openWaiter = null;
    for (const f of this.closedWaiters) f();
    this.closedWaiters = [];
  }

  private flushReaders(): void {
    if (this.queue.length > 0) return;
    for (const r of this.readers) r.resolve(null);
    this.readers = [];
  }

  /** Gives window back once half of it has been consumed (RFC 4254 5.2). */
  private consume(n: number): void {
    this.consumed += n;
    if (this.consumed >= LOCAL_WINDOW / 2 && !this.closeReceived && !this.closeSent) {
      const add = this.consumed;
      this.consumed = 0;
      this.localWindow += add;
      this.t.send(new SshWriter(12).u8(MSG.CHANNEL_WINDOW_ADJUST).u32(this.remoteId).u32(add).finish()).catch(() => {});
    }
  }

  /** The next chunk of data (stdout or stderr), or null after EOF. */
  read(): Promise<ChannelChunk | null> {
    const chunk = this.queue.shift();
    if (chunk) {
      this.queuedBytes -= chunk.data.length;
      this.consume(chunk.data.length);
      return Promise.resolve(chunk);
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.eofReceived) return Promise.resolve(null);
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  /** Bytes received and not yet read. */
  get pending(): number {
    return this.queuedBytes;
  }

  /** RFC 4254 5.4: a channel request; resolves to the server's answer (true without want_reply). */
  async request(type: string, wantReply: boolean, body?: (w: SshWriter) => void, rec?: { secret?: boolean; decode?: string }): Promise<boolean> {
    if (this.failure) throw this.failure;
    const w = new SshWriter(64).u8(MSG.CHANNEL_REQUEST).u32(this.remoteId).string(type).bool(wantReply);
    body?.(w);
    const reply = wantReply ? new Promise<boolean>((resolve, reject) => this.requestReplies.push({ resolve, reject })) : Promise.resolve(true);
    await this.t.send(w.finish(), rec);
    return reply;
  }

  /**
   * Sends data, cut to the server's window and packet size; waits for window when it runs out. The
   * packets are issued one after another without waiting for each write to settle, then awaited together.
   */
  write(data: Uint8Array): Promise<void> {
    const run = async () => {
      let at = 0;
      const sent: Promise<void>[] = [];
      try {
        while (at < data.length) {
          if (this.failure) throw this.failure;
          if (this.closeReceived || this.closeSent) throw new PortolanError('closed', `channel ${this.localId} is closed`);
          if (this.remoteWindow === 0) {
            await new Promise<void>((resolve, reject) => this.windowWaiters.push({ resolve, reject }));
            continue;
          }
          // Header room: type, recipient, length (9 bytes) within the maximum packet.
          const n = Math.min(data.length - at, this.remoteWindow, this.remoteMaxPacket - 9);
          const chunk = data.subarray(at, at + n);
          this.remoteWindow -= n;
          at += n;
          this.bytesOut += n;
          const w = new SshWriter(n + 9).u8(MSG.CHANNEL_DATA).u32(this.remoteId).string(chunk);
          const p = this.t.send(w.written());
          p.catch(() => {});
          sent.push(p);
        }
      } finally {
        await Promise.allSettled(sent);
      }
      await Promise.all(sent);
    };
    const next = this.writeChain.then(run);
    this.writeChain = next.catch(() => {});
    return next;
  }

  /** RFC 4254 5.3: no more data from us. */
  async eof(): Promise<void> {
    if (this.eofSent || this.closeSent) return;
    this.eofSent = true;
    await this.writeChain;
    await this.t.send(new SshWriter(8).u8(MSG.CHANNEL_EOF).u32(this.remoteId).finish());
  }

  async close(): Promise<void> {
    if (this.closeSent) return;
    this.closeSent = true;
    await this.t.send(new SshWriter(8).u8(MSG.CHANNEL_CLOSE).u32(this.remoteId).finish());
  }

  /** Resolves when the server closed the channel (or the connection failed). */
  closed(): Promise<void> {
    if (this.closeReceived || this.failure) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  get failed(): PortolanError | null {
    return this.failure;
  }
}

export class SshConnection {
  readonly transport: SshTransport;
  private readonly channels = new Map<number, Channel>();
  private nextId = 0;
  private globalReplies: Waiter<Uint8Array | null>[] = [];
  private readonly accepting = new Map<string, (ch: Channel) => void>();
  private error: PortolanError | null = null;
  readonly done: Promise<void>;

  constructor(t: SshTransport) {
    this.transport = t;
    this.done = this.pump();
  }

  get failure(): PortolanError | null {
    return this.error;
  }

  private async pump(): Promise<void> {
    try {
      for (;;) this.dispatch(await this.transport.receive());
    } catch (e) {
      const err = classify(e);
      this.error = err;
      for (const ch of this.channels.values()) ch.fail(err);
      for (const w of this.globalReplies) w.reject(err);
      this.globalReplies = [];
    }
  }

  private channel(r: SshReader): Channel {
    const id = r.u32('recipient channel');
    const ch = this.channels.get(id);
    if (!ch) throw new ProtocolError(`server addressed channel ${id}, which is not open`);
    return ch;
  }

  private dispatch(p: Uint8Array): void {
    const r = new SshReader(p, 1);
    switch (p[0]) {
      case MSG.GLOBAL_REQUEST: {
        r.text('request name', 256);
        // RFC 4254 4: requests we do not know get REQUEST_FAILURE when a reply is wanted.
        if (r.bool('want reply')) this.transport.send(new Uint8Array([MSG.REQUEST_FAILURE])).catch(() => {});
        return;
      }
      case MSG.REQUEST_SUCCESS:
      case MSG.REQUEST_FAILURE: {
        const w = this.globalReplies.shift();
        if (!w) throw new ProtocolError(`unexpected ${messageName(p[0])}`);
        w.resolve(p[0] === MSG.REQUEST_SUCCESS ? p.slice(1) : null);
        return;
      }
      case MSG.CHANNEL_OPEN: {
        // Server-initiated channels are accepted only of the types asked for (an agent we forward); others
        // (forwarded-tcpip, x11) get RFC 4254 5.1 reason 1.
        const type = r.text('channel type', 256);
        const sender = r.u32('sender channel');
        const window = r.u32('initial window size');
        const maxPacket = r.u32('maximum packet size');
        const onOpen = this.accepting.get(type);
        if (!onOpen || this.channels.size >= MAX_CHANNELS) {
          this.transport.send(new SshWriter(32).u8(MSG.CHANNEL_OPEN_FAILURE).u32(sender).u32(onOpen ? 4 : 1).string(onOpen ? 'too many channels' : 'not accepted by this client').string('').finish()).catch(() => {});
          return;
        }
        const ch = new Channel(this, this.nextId++);
        this.channels.set(ch.localId, ch);
        ch.handleOpenConfirmation(sender, window, maxPacket);
        this.transport.send(new SshWriter(32).u8(MSG.CHANNEL_OPEN_CONFIRMATION).u32(sender).u32(ch.localId).u32(LOCAL_WINDOW).u32(LOCAL_MAX_PACKET).finish()).catch(() => {});
        onOpen(ch);
        return;
      }
      case MSG.CHANNEL_OPEN_CONFIRMATION: {
        const ch = this.channel(r);
        ch.handleOpenConfirmation(r.u32('sender channel'), r.u32('initial window size'), r.u32('maximum packet size'));
        return;
      }
      case MSG.CHANNEL_OPEN_FAILURE: {
        const ch = this.channel(r);
        this.channels.delete(ch.localId);
        ch.handleOpenFailure(r.u32('reason code'), r.text('description', 4096));
        return;
      }
      case MSG.CHANNEL_WINDOW_ADJUST: {
        const ch = this.channel(r);
        ch.handleWindowAdjust(r.u32('bytes to add'));
        return;
      }
      case MSG.CHANNEL_DATA: {
        const ch = this.channel(r);
        ch.handleData('stdout', r.string('data', LOCAL_MAX_PACKET * 2));
        return;
      }
      case MSG.CHANNEL_EXTENDED_DATA: {
        const ch = this.channel(r);
        const code = r.u32('data type code');
        const data = r.string('data', LOCAL_MAX_PACKET * 2);
        // RFC 4254 5.2: SSH_EXTENDED_DATA_STDERR is 1, the only code defined; any other is kept apart from stdout too.
        void code;
        ch.handleData('stderr', data);
        return;
      }
      case MSG.CHANNEL_EOF:
        this.channel(r).handleEof();
        return;
      case MSG.CHANNEL_CLOSE: {
        const ch = this.channel(r);
        this.channels.delete(ch.localId);
        ch.handleClose();
        return;
      }
      case MSG.CHANNEL_REQUEST: {
        const ch = this.channel(r);
        const type = r.text('request type', 256);
        ch.handleRequest(type, r.bool('want reply'), r);
        return;
      }
      case MSG.CHANNEL_SUCCESS:
      case MSG.CHANNEL_FAILURE:
        this.channel(r).handleRequestReply(p[0] === MSG.CHANNEL_SUCCESS);
        return;
      default:
        throw new ProtocolError(`unexpected ${messageName(p[0])} on an authenticated connection`);
    }
  }

  /** RFC 4254 5.1: opens a channel of `type` with type-specific fields. */
  async open(type: string, extra?: (w: SshWriter) => void): Promise<Channel> {
    if (this.error) throw this.error;
    if (this.channels.size >= MAX_CHANNELS) throw new ProtocolError(`more than ${MAX_CHANNELS} channels open`);
    const id = this.nextId++;
    const ch = new Channel(this, id);
    this.channels.set(id, ch);
    const opened = ch.opened();
    const w = new SshWriter(64).u8(MSG.CHANNEL_OPEN).string(type).u32(id).u32(LOCAL_WINDOW).u32(LOCAL_MAX_PACKET);
    extra?.(w);
    await this.transport.send(w.finish());
    await opened;
    return ch;
  }

  /** Accepts channels of `type` the server opens (RFC 4254 5.1): each is confirmed, then handed to `onOpen`. */
  accept(type: string, onOpen: (ch: Channel) => void): void {
    this.accepting.set(type, onOpen);
  }

  /** RFC 4254 6.1. */
  openSession(): Promise<Channel> {
    return this.open('session');
  }

  /** RFC 4254 7.2: a TCP connection from the server to host:port. */
  openDirectTcpip(host: string, port: number, originHost = '127.0.0.1', originPort = 0): Promise<Channel> {
    return this.open('direct-tcpip', (w) => w.string(host).u32(port).string(originHost).u32(originPort));
  }

  /** RFC 4254 4: a global request; resolves to the reply data, or null on REQUEST_FAILURE. */
  async globalRequest(name: string, wantReply: boolean, body?: (w: SshWriter) => void): Promise<Uint8Array | null> {
    if (this.error) throw this.error;
    const w = new SshWriter(64).u8(MSG.GLOBAL_REQUEST).string(name).bool(wantReply);
    body?.(w);
    const reply = wantReply ? new Promise<Uint8Array | null>((resolve, reject) => this.globalReplies.push({ resolve, reject })) : Promise.resolve(null);
    await this.transport.send(w.finish());
    return reply;
  }

  /** An OpenSSH-style keepalive: any answer (even REQUEST_FAILURE) proves the server alive. */
  async keepalive(): Promise<void> {
    await this.globalRequest('keepalive@openssh.com', true);
  }
}

// ---------------------------------------------------------------- exec

export interface ExecOptions {
  env?: Record<string, string>;
  stdin?: Uint8Array;
  /** Output beyond this many bytes per stream is read and dropped, and `truncated` set. */
  maxOutput: number;
  pty?: PtyOptions;
  /** Ask for agent forwarding on the channel (auth-agent-req@openssh.com, OpenSSH PROTOCOL 4.1). */
  forwardAgent?: boolean;
}

export interface PtyOptions {
  term: string;
  cols: number;
  rows: number;
  /** RFC 4254 8: encoded terminal modes (opcode, uint32 value)*, TTY_OP_END added here. */
  modes?: Record<number, number>;
}

export interface ExecResult {
  stdout: Uint8Array;
  stderr: Uint8Array;
  exitStatus: number | null;
  exitSignal: ExitSignal | null;
  truncated: boolean;
  /** The server's answer to auth-agent-req@openssh.com; null when not asked. */
  agentForwarded: boolean | null;
}

/** RFC 4254 6.2: pty-req. */
export async function requestPty(ch: Channel, pty: PtyOptions): Promise<boolean> {
  const modes = new SshWriter(64);
  for (const [op, v] of Object.entries(pty.modes ?? {})) modes.u8(Number(op)).u32(v);
  modes.u8(0); // TTY_OP_END
  return ch.request('pty-req', true, (w) => w.string(pty.term).u32(pty.cols).u32(pty.rows).u32(0).u32(0).string(modes.finish()));
}

/** RFC 4254 6.4: env requests, sent without waiting for replies (servers may refuse silently, as AcceptEnv decides). */
export async function sendEnv(ch: Channel, env: Record<string, string>): Promise<void> {
  for (const [k, v] of Object.entries(env)) await ch.request('env', false, (w) => w.string(k).string(v));
}

/** RFC 4254 6.5: runs one command and collects stdout, stderr and the exit status or signal. */
export async function execCommand(conn: SshConnection, command: string, opts: ExecOptions): Promise<ExecResult> {
  const ch = await conn.openSession();
  if (opts.env) await sendEnv(ch, opts.env);
  if (opts.pty && !(await requestPty(ch, opts.pty))) throw new ServerError('server refused to allocate a terminal (pty-req)');
  const agentForwarded = opts.forwardAgent ? await ch.request('auth-agent-req@openssh.com', true) : null;
  const accepted = ch.request('exec', true, (w) => w.string(command));
  if (opts.stdin) await ch.write(opts.stdin);
  await ch.eof();
  if (!(await accepted)) throw new ServerError(`server refused to run the command (exec request failed)`);
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  let outLen = 0;
  let errLen = 0;
  let truncated = false;
  for (;;) {
    const chunk = await ch.read();
    if (!chunk) break;
    if (chunk.stream === 'stdout') {
      if (outLen + chunk.data.length > opts.maxOutput) {
        truncated = true;
        const room = opts.maxOutput - outLen;
        if (room > 0) out.push(chunk.data.subarray(0, room));
        outLen = opts.maxOutput;
      } else {
        out.push(chunk.data);
        outLen += chunk.data.length;
      }
    } else if (errLen + chunk.data.length > opts.maxOutput) {
      truncated = true;
      const room = opts.maxOutput - errLen;
      if (room > 0) err.push(chunk.data.subarray(0, room));
      errLen = opts.maxOutput;
    } else {
      err.push(chunk.data);
      errLen += chunk.data.length;
    }
  }
  await ch.closed();
  if (ch.failed && !ch.closeReceived) throw ch.failed;
  return { stdout: concat(out), stderr: concat(err), exitStatus: ch.exitStatus, exitSignal: ch.exitSignal, truncated, agentForwarded };
}

