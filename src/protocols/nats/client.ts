// NATS session driver (docs.nats.io "Client Protocol", "JetStream wire API Reference") over the codec.
//
// How it works: `connectNats` dials (plain with an upgrade kept possible, or TLS from the first
// byte), reads INFO, upgrades to TLS when the server requires it or the user asked, signs the
// nonce with an NKey seed when one is given, and sends CONNECT then PING: the PONG (or the
// server's -ERR) tells whether it was accepted. `NatsClient.next` reads one operation, answering
// the server's PINGs. `flush` sends PING and reads until PONG: an -ERR before it (a permissions
// violation) is the answer to what was sent just before; messages read meanwhile are kept for
// `nextMessage`. Request–reply subscribes a fresh inbox with UNSUB after one message, then
// publishes with that inbox as reply subject. JetStream calls are requests to $JS.API subjects
// whose JSON answer carries `error` on failure.
import { toHex } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, InvalidInput, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import {
  PING,
  PONG,
  describeServerOp,
  encodeConnect,
  encodePub,
  encodeSub,
  encodeUnsub,
  headerValue,
  serverOpFrame,
  type ConnectOptions,
  type NatsLimits,
  type ServerInfo,
  type ServerMsg,
  type ServerOp,
} from './codec.ts';
import { decodeSeed, signNonce } from './nkeys.ts';

export interface NatsAuth {
  user?: string;
  password?: string;
  token?: string;
  /** A user NKey seed ("SU..."): the nonce is signed with it. */
  nkeySeed?: string;
}

export interface NatsConnectOptions extends NatsAuth {
  name?: string;
  /** Receive our own publications on matching subscriptions. */
  echo?: boolean;
  limits?: Partial<NatsLimits>;
}

/** -ERR texts that mean the credentials were refused (nats-server auth.go, client.go). */
const AUTH_ERRORS = /authorization violation|authentication (timeout|expired|revoked)|user authentication/i;

/** An -ERR as the outcome it means. */
export function errFromServer(message: string): PortolanError {
  if (AUTH_ERRORS.test(message)) return new AuthError(`server refused the credentials: ${message}`, { serverError: message });
  return new ServerError(message, { serverError: message });
}

/** Messages kept while waiting for a PONG or a reply; more than this is a protocol error of the caller's making. */
const MAX_PENDING = 100_000;

export class NatsClient {
  readonly conn: Conn;
  info: ServerInfo;
  private readonly frame;
  private nextSid = 1;
  private readonly pending: ServerMsg[] = [];
  /** Non-fatal -ERR lines read while nothing was waiting for them. */
  readonly errors: string[] = [];

  private readonly random: (n: number) => Uint8Array;

  constructor(conn: Conn, info: ServerInfo, random: (n: number) => Uint8Array, limits: Partial<NatsLimits> = {}) {
    this.conn = conn;
    this.random = random;
    this.info = info;
    this.frame = serverOpFrame(limits);
  }

  get maxPayload(): number {
    return typeof this.info.max_payload === 'number' ? this.info.max_payload : 1024 * 1024;
  }

  /** The next server operation; PINGs are answered and INFO updates kept, so neither is returned. */
  async next(): Promise<Exclude<ServerOp, { op: 'PING' } | { op: 'INFO' }>> {
    for (;;) {
      const op = await this.conn.readFrame(this.frame, 'NATS operation', describeServerOp);
      if (op.op === 'PING') await this.conn.write(PONG, { decode: 'PONG' });
      else if (op.op === 'INFO') this.info = { ...this.info, ...op.info };
      else return op;
    }
  }

  /** The next message (a kept one first); a -ERR that closes the connection is thrown, others recorded. */
  async nextMessage(): Promise<ServerMsg> {
    const kept = this.pending.shift();
    if (kept) return kept;
    for (;;) {
      const op = await this.next();
      if (op.op === 'MSG') return op;
      if (op.op === 'ERR') this.onErr(op.message);
    }
  }

  private onErr(message: string): void {
    // Permission violations leave the connection open (nats-server client.go sendErr); anything else ends it.
    if (/^permissions violation/i.test(message)) {
      if (this.errors.length < 100) this.errors.push(message);
      return;
    }
    throw errFromServer(message);
  }

  private keep(msg: ServerMsg): void {
    if (this.pending.length >= MAX_PENDING) throw new ProtocolError(`more than ${MAX_PENDING} messages arrived while waiting for the server's answer`);
    this.pending.push(msg);
  }

  /** PING and read until PONG; an -ERR before it is thrown (the server's answer to what was just sent). */
  async flush(): Promise<void> {
    await this.conn.write(PING, { decode: 'PING' });
    for (;;) {
      const op = await this.next();
      if (op.op === 'PONG') return;
      if (op.op === 'ERR') throw errFromServer(op.message);
      if (op.op === 'MSG') this.keep(op);
    }
  }

  sid(): number {
    return this.nextSid++;
  }

  async subscribe(subject: string, queue?: string): Promise<number> {
    const sid = this.sid();
    await this.conn.write(encodeSub(subject, sid, queue), { decode: `SUB ${subject}${queue ? ` queue ${queue}` : ''} sid ${sid}` });
    return sid;
  }

  async unsubscribe(sid: number, max?: number): Promise<void> {
    await this.conn.write(encodeUnsub(sid, max), { decode: `UNSUB ${sid}${max !== undefined ? ` after ${max}` : ''}` });
  }

  /** Checks the size against the server's max_payload, then writes PUB or HPUB. */
  async publish(subject: string, payload: Uint8Array, opts: { reply?: string; headers?: readonly (readonly [string, string])[] } = {}): Promise<void> {
    if (opts.headers?.length && this.info.headers === false) throw new ServerError('this server does not support message headers (INFO headers is false)');
    const bytes = encodePub(subject, payload, opts);
    const head = bytes.indexOf(0x0a) + 1;
    if (bytes.length - head - 2 > this.maxPayload) {
      throw InvalidInput.field('payload', `is ${bytes.length - head - 2} bytes with its headers; the server accepts at most ${this.maxPayload} (INFO max_payload)`);
    }
    await this.conn.write(bytes, { decode: `${opts.headers?.length ? 'HPUB' : 'PUB'} ${subject}${opts.reply ? ` reply ${opts.reply}` : ''} ${payload.length} bytes` });
  }

  /** A reply subject no other client will use: _INBOX. and 12 random bytes in hex. */
  newInbox(): string {
    return `_INBOX.${toHex(this.random(12))}`;
  }

  /**
   * Publishes with a fresh inbox as reply subject and waits for one reply; a 503 status is "no
   * responders" (the server says so when headers are on).
   */
  async request(subject: string, payload: Uint8Array, headers?: readonly (readonly [string, string])[]): Promise<ServerMsg> {
    const inbox = this.newInbox();
    const sid = await this.subscribe(inbox);
    await this.unsubscribe(sid, 1);
    await this.publish(subject, payload, { reply: inbox, headers });
    for (;;) {
      const m = await this.nextMessage();
      if (m.sid !== sid) {
        this.keep(m);
        continue;
      }
      if (m.headers?.status === 503) throw new ServerError(`no responders: nothing is subscribed to ${subject}`, { status: 503 });
      return m;
    }
  }

  /** UNSUB of every given subscription, then PING/PONG so they are gone before the connection closes. */
  async close(sids: readonly number[] = []): Promise<void> {
    try {
      for (const sid of sids) await this.unsubscribe(sid);
      if (sids.length) await this.flush();
    } finally {
      await this.conn.close();
    }
  }
}

/** The header names a JetStream status message uses (ADR-9 / ADR-13). */
export function statusOf(m: ServerMsg): { status?: number; description?: string } {
  return { status: m.headers?.status, description: m.headers?.description };
}

export { headerValue };

function masked(c: ConnectOptions): string {
  const shown: Record<string, unknown> = { ...c };
  for (const k of ['pass', 'auth_token', 'sig', 'jwt'] as const) if (shown[k] !== undefined) shown[k] = '****';
  return `CONNECT ${JSON.stringify(shown)}`;
}

/**
 * Dials, reads INFO, upgrades to TLS when the server requires it or `tls` is starttls, authenticates
 * and confirms with PING/PONG. Returns a client ready for SUB/PUB.
 */
export async function connectNats(ctx: OperationContext, opts: NatsConnectOptions): Promise<NatsClient> {
  const { conn, info } = await openNats(ctx, opts.limits);
  return signIn(ctx, conn, info, opts);
}

/** Dials and reads INFO, upgrading to TLS when the server requires it or the user asked (no CONNECT yet). */
export async function openNats(ctx: OperationContext, limits?: Partial<NatsLimits>): Promise<{ conn: Conn; info: ServerInfo }> {
  const mode = ctx.target.tls;
  const conn = await ctx.dial(mode === 'implicit' ? {} : { tls: 'starttls' });
  const first = await conn.readFrame(serverOpFrame(limits), 'INFO', describeServerOp);
  if (first.op !== 'INFO') throw new ProtocolError(`the server's first operation is ${first.op}, not INFO: is this a NATS server?`);
  ctx.timing.mark('infoMs');
  const info = first.info;
  if (mode !== 'implicit' && (info.tls_required || mode === 'starttls')) {
    if (mode === 'starttls' && !info.tls_required && !info.tls_available) {
      throw new PortolanError('tls_error', 'the server offers no TLS: its INFO has neither tls_required nor tls_available');
    }
    if (mode === 'off') conn.note('the server requires TLS (INFO tls_required): upgrading');
    await conn.startTls();
    ctx.timing.mark('tlsMs');
  }
  return { conn, info };
}

/** CONNECT with the credentials (the nonce signed with an NKey seed), then PING: the PONG or the server's -ERR answers it. */
export async function signIn(ctx: OperationContext, conn: Conn, info: ServerInfo, opts: NatsConnectOptions): Promise<NatsClient> {
  const client = new NatsClient(conn, info, (n) => ctx.crypto.randomBytes(n), opts.limits);
  const connect: ConnectOptions = {
    verbose: false,
    pedantic: false,
    tls_required: conn.tlsActive,
    name: opts.name ?? 'portolan',
    lang: 'portolan',
    version: '0.1.0',
    protocol: 1,
    headers: info.headers !== false,
    no_responders: info.headers !== false,
    echo: opts.echo ?? true,
  };
  if (opts.nkeySeed !== undefined) {
    const pair = decodeSeed(opts.nkeySeed, 'nkeySeed');
    if (!info.nonce) throw new ServerError('the server sent no nonce in INFO, so an NKey cannot be used to sign in (the server has no NKey users)');
    connect.nkey = pair.publicKey;
    connect.sig = signNonce(pair, info.nonce);
  }
  if (opts.user !== undefined) connect.user = opts.user;
  if (opts.password !== undefined) connect.pass = opts.password;
  if (opts.token !== undefined) connect.auth_token = opts.token;
  const secret = connect.pass !== undefined || connect.auth_token !== undefined || connect.sig !== undefined;
  await conn.write(encodeConnect(connect), secret ? { secret: true, decode: masked(connect) } : { decode: masked(connect) });
  try {
    await client.flush();
  } catch (e) {
    // nats-server answers bad credentials with -ERR 'Authorization Violation' and closes.
    if (e instanceof PortolanError && e.code === 'closed' && info.auth_required) {
      throw new AuthError('the server closed the connection after CONNECT: the credentials were not accepted');
    }
    throw e;
  }
  ctx.timing.mark('readyMs');
  return client;
}
