// STOMP client driver over a Conn: CONNECT with version negotiation, login and virtual host (1.2 "Connecting"),
// frames with receipts, ERROR frames as typed errors in the server's words, and DISCONNECT with a receipt
// ("Graceful Disconnect").
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { describeFrame, encodeFrame, header, negotiateHeartbeat, stompFrame, type StompFrame, type StompVersion } from './codec.ts';

export interface ConnectOptions {
  versions: StompVersion[];
  host: string;
  login?: string;
  passcode?: string;
  heartbeat: [number, number];
  /** Send STOMP instead of CONNECT (1.2 servers accept both; 1.0 ones know only CONNECT). */
  stompCommand?: boolean;
}

/** Login refusals as brokers word them (RabbitMQ: "Access refused", ActiveMQ: "User name [x] or password is invalid"). */
const AUTH_WORDS = /access refused|password|login|authenticat|credential|not authori[sz]ed|security/i;

export class StompClient {
  version: StompVersion = '1.0';
  private readonly frame;
  private receipts = 0;
  heartbeat = { sendEveryMs: 0, expectEveryMs: 0 };
  connected: StompFrame | undefined;

  constructor(
    readonly conn: Conn,
    maxBody = 16 * 1024 * 1024,
  ) {
    this.frame = stompFrame(() => this.version, maxBody);
  }

  /** The next frame that is not a heart-beat; ERROR becomes a ServerError carrying its message header and body. */
  async next(): Promise<StompFrame> {
    for (;;) {
      const f = await this.conn.readFrame(this.frame, 'STOMP frame', describeFrame);
      if (f.command === 'HEARTBEAT') continue;
      if (f.command === 'ERROR') throw errorOf(f);
      return f;
    }
  }

  async send(command: string, headers: [string, string][], body?: Uint8Array, secret = false): Promise<void> {
    const f = { command, headers, body: body ?? new Uint8Array(0) };
    await this.conn.write(encodeFrame(command, headers, body, this.version), { decode: describeFrame(f), secret });
  }

  receiptId(): string {
    return `portolan-${++this.receipts}`;
  }

  async connect(o: ConnectOptions): Promise<StompFrame> {
    const headers: [string, string][] = [['accept-version', o.versions.join(',')], ['host', o.host]];
    if (o.login !== undefined) headers.push(['login', o.login]);
    if (o.passcode !== undefined) headers.push(['passcode', o.passcode]);
    headers.push(['heart-beat', `${o.heartbeat[0]},${o.heartbeat[1]}`]);
    const command = o.stompCommand ? 'STOMP' : 'CONNECT';
    await this.conn.write(encodeFrame(command, headers), { decode: describeFrame({ command, headers, body: new Uint8Array(0) }), secret: o.passcode !== undefined });
    let f: StompFrame;
    try {
      f = await this.next();
    } catch (e) {
      if (e instanceof ServerError && AUTH_WORDS.test(e.message)) throw new AuthError(e.message, e.detail);
      if (e instanceof PortolanError && e.code === 'closed' && this.conn.bytesIn === 0) throw new PortolanError('closed', 'the server closed the connection without answering CONNECT: not a STOMP server, or it refused the login without an ERROR frame');
      throw e;
    }
    if (f.command !== 'CONNECTED') throw new ProtocolError(`expected CONNECTED, got ${describeFrame(f)}`);
    // 1.2 "Protocol Negotiation": no version header means 1.0.
    const v = header(f, 'version') ?? '1.0';
    if (v !== '1.0' && v !== '1.1' && v !== '1.2') throw new ProtocolError(`the server chose STOMP version ${JSON.stringify(v)}`);
    if (!o.versions.includes(v)) throw new ProtocolError(`the server chose STOMP ${v}, which was not offered (${o.versions.join(', ')})`);
    this.version = v;
    this.heartbeat = v === '1.0' ? { sendEveryMs: 0, expectEveryMs: 0 } : negotiateHeartbeat(o.heartbeat, header(f, 'heart-beat'));
    this.connected = f;
    return f;
  }

  /** Waits for RECEIPT `id`; MESSAGE frames that arrive first go to `onMessage`. */
  async receipt(id: string, onMessage?: (f: StompFrame) => void): Promise<void> {
    for (;;) {
      const f = await this.next();
      if (f.command === 'RECEIPT' && header(f, 'receipt-id') === id) return;
      if (f.command === 'MESSAGE' && onMessage) onMessage(f);
    }
  }

  async heartbeatEol(): Promise<void> {
    await this.conn.write(utf8('\n'), { decode: 'heart-beat' });
  }

  /** DISCONNECT with a receipt, then close once it arrives (or the caller's deadline passes). */
  async disconnect(): Promise<void> {
    try {
      if (this.version === '1.0') await this.send('DISCONNECT', []);
      else {
        const id = this.receiptId();
        await this.send('DISCONNECT', [['receipt', id]]);
        await this.receipt(id);
      }
    } finally {
      await this.conn.close();
    }
  }
}

export function errorOf(f: StompFrame): ServerError {
  const message = header(f, 'message') ?? 'ERROR';
  const body = fromUtf8(f.body).trim();
  const detail = { message, body: body.slice(0, 2000), receiptId: header(f, 'receipt-id') ?? null };
  return new ServerError(`the server sent ERROR: ${message}${body && !message.includes(body) ? ` — ${body.split('\n')[0].slice(0, 300)}` : ''}`, detail);
}
