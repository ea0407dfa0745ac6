// AMQP 0-9-1 client driver over a Conn: the connection handshake (§2.2.4: protocol header, start/start-ok
// with PLAIN or AMQPLAIN, tune/tune-ok, open), one channel, synchronous methods, content (method + header +
// body frames, §2.3.5), publisher confirms (RabbitMQ's confirm class), and closing both ways.
//
// How it works: every read goes through `next()`, which skips heartbeats and turns a connection.close or
// channel.close from the server into a typed error carrying the reply code and text (after answering it
// with close-ok, as §2.2.4/§2.2.5 ask). Methods that carry content are followed by their header and body
// frames on the same channel; `readContent` collects them (body capped at maxBody).
import { concat } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import {
  FRAME_MIN_SIZE,
  FrameType,
  HEARTBEAT_FRAME,
  PROTOCOL_HEADER,
  REPLY_CODES,
  amqplainResponse,
  decodeHeader,
  decodeMethod,
  describeFrame,
  describeMethod,
  encodeFrame,
  encodeHeaderPayload,
  encodeMethod,
  frameFrame,
  plainResponse,
  type BasicProperties,
  type FieldTable,
  type Method,
  type MethodArgs,
  type RawFrame,
} from './codec.ts';

export interface HandshakeOptions {
  username: string;
  password: string;
  mechanism: 'PLAIN' | 'AMQPLAIN';
  vhost: string;
  heartbeat: number;
  frameMax: number;
  channelMax: number;
  locale?: string;
}

export interface Content {
  properties: BasicProperties;
  body: Uint8Array;
  bodySize: number;
  truncated: boolean;
}

/** What the client tells the server it handles (RabbitMQ reads these capabilities). */
const CLIENT_PROPERTIES: FieldTable = {
  product: 'Portolan',
  platform: 'JavaScript',
  information: 'https://github.com/portolan',
  capabilities: {
    publisher_confirms: true,
    consumer_cancel_notify: true,
    'basic.nack': true,
    'connection.blocked': true,
    authentication_failure_close: true,
    exchange_exchange_bindings: true,
    per_consumer_qos: true,
  },
};

function replyError(m: Method, where: string): PortolanError {
  const code = Number(m.args.replyCode);
  const text = String(m.args.replyText);
  const name = REPLY_CODES[code] ?? 'unknown';
  const detail = { replyCode: code, replyName: name, replyText: text, classId: m.args.classId, methodId: m.args.methodId };
  return new ServerError(`the server closed the ${where}: ${code} ${text}`, detail);
}

export class AmqpClient {
  frameMax = FRAME_MIN_SIZE * 32;
  channelMax = 0;
  heartbeat = 0;
  start: Method | undefined;
  tune: Method | undefined;
  readonly channel = 1;
  /** Frames read past what a caller waited for (content of a delivery seen while waiting for a method). */
  private readonly frame;
  closed = false;

  constructor(
    readonly conn: Conn,
    readonly maxBody = 16 * 1024 * 1024,
  ) {
    this.frame = frameFrame(() => this.frameMax);
  }

  async readFrame(): Promise<RawFrame> {
    for (;;) {
      const f = await this.conn.readFrame(this.frame, 'AMQP frame', describeFrame);
      if (f.type !== FrameType.HEARTBEAT) return f;
    }
  }

  /** The next method on any channel; a server close becomes a typed error. */
  async next(): Promise<Method & { channel: number }> {
    const f = await this.readFrame();
    if (f.type !== FrameType.METHOD) throw new ProtocolError(`expected a method frame, got ${describeFrame(f)}`);
    const m = decodeMethod(f.payload);
    if (m.name === 'connection.close') {
      await this.conn.write(encodeMethod(0, 'connection.close-ok'), { decode: 'connection.close-ok' }).catch(() => {});
      this.closed = true;
      throw replyError(m, 'connection');
    }
    if (m.name === 'channel.close') {
      await this.conn.write(encodeMethod(f.channel, 'channel.close-ok'), { decode: 'channel.close-ok' }).catch(() => {});
      throw replyError(m, `channel ${f.channel}`);
    }
    return { ...m, channel: f.channel };
  }

  async send(channel: number, name: string, args: MethodArgs = {}, secret = false): Promise<void> {
    const decode = secret ? `${name} (credentials masked)` : describeMethod({ name, classId: 0, methodId: 0, args });
    await this.conn.write(encodeMethod(channel, name, args), { decode, secret });
  }

  /** Sends a method and waits for `reply` on the channel; other methods go to `other` (or are unexpected). */
  async call(name: string, args: MethodArgs, reply: string | string[], other?: (m: Method & { channel: number }) => Promise<void>): Promise<Method> {
    await this.send(this.channel, name, args);
    const wanted = Array.isArray(reply) ? reply : [reply];
    for (;;) {
      const m = await this.next();
      if (wanted.includes(m.name)) return m;
      if (other) await other(m);
      else throw new ProtocolError(`expected ${wanted.join(' or ')}, got ${describeMethod(m)}`);
    }
  }

  /** §2.2.4: header, start/start-ok, tune/tune-ok, open/open-ok. */
  async handshake(o: HandshakeOptions): Promise<void> {
    await this.conn.write(PROTOCOL_HEADER, { decode: 'AMQP protocol header 0-9-1' });
    this.frameMax = 128 * 1024;
    const start = await this.next();
    if (start.name !== 'connection.start') throw new ProtocolError(`expected connection.start, got ${describeMethod(start)}`);
    this.start = start;
    const mechanisms = new TextDecoder().decode(start.args.mechanisms as Uint8Array).split(' ').filter(Boolean);
    if (!mechanisms.includes(o.mechanism)) throw new AuthError(`the server does not offer ${o.mechanism}; it offers ${mechanisms.join(', ') || 'nothing'}`, { mechanisms });
    const response = o.mechanism === 'PLAIN' ? plainResponse(o.username, o.password) : amqplainResponse(o.username, o.password);
    await this.send(0, 'connection.start-ok', { clientProperties: CLIENT_PROPERTIES, mechanism: o.mechanism, response, locale: o.locale ?? 'en_US' }, true);
    let tune: Method;
    try {
      tune = await this.next();
    } catch (e) {
      if (e instanceof ServerError && e.detail?.replyCode === 403) throw new AuthError(`the server refused the login: ${e.detail.replyCode} ${String(e.detail.replyText)}`, e.detail);
      if (e instanceof PortolanError && e.code === 'closed') throw new AuthError('the server closed the connection after connection.start-ok: the credentials were refused (a server without authentication_failure_close says no more)');
      throw e;
    }
    if (tune.name === 'connection.secure') throw new AuthError(`the server sent connection.secure: ${o.mechanism} needs a challenge this client does not answer`);
    if (tune.name !== 'connection.tune') throw new ProtocolError(`expected connection.tune, got ${describeMethod(tune)}`);
    this.tune = tune;
    // §4.2.3 / connection.tune: the lower of each limit wins, 0 meaning "no limit" on that side.
    const lower = (ours: number, theirs: number) => (ours === 0 ? theirs : theirs === 0 ? ours : Math.min(ours, theirs));
    this.channelMax = lower(o.channelMax, Number(tune.args.channelMax));
    const frameMax = lower(o.frameMax, Number(tune.args.frameMax));
    this.heartbeat = o.heartbeat === 0 || Number(tune.args.heartbeat) === 0 ? 0 : Math.min(o.heartbeat, Number(tune.args.heartbeat));
    await this.send(0, 'connection.tune-ok', { channelMax: this.channelMax, frameMax, heartbeat: this.heartbeat });
    this.frameMax = frameMax;
    await this.send(0, 'connection.open', { virtualHost: o.vhost });
    let open: Method;
    try {
      open = await this.next();
    } catch (e) {
      // 530 NOT_ALLOWED: the user may not use this virtual host.
      if (e instanceof ServerError && e.detail?.replyCode === 530) throw new AuthError(`the server refused virtual host ${JSON.stringify(o.vhost)}: ${String(e.detail.replyText)}`, e.detail);
      throw e;
    }
    if (open.name !== 'connection.open-ok') throw new ProtocolError(`expected connection.open-ok, got ${describeMethod(open)}`);
  }

  async openChannel(): Promise<void> {
    await this.call('channel.open', {}, 'channel.open-ok');
  }

  /** The header and body frames that follow a content-bearing method (§2.3.5.2). */
  async readContent(): Promise<Content> {
    const h = await this.readFrame();
    if (h.type !== FrameType.HEADER) throw new ProtocolError(`expected a content header, got ${describeFrame(h)}`);
    const header = decodeHeader(h.payload, Number.MAX_SAFE_INTEGER);
    const parts: Uint8Array[] = [];
    let got = 0;
    let kept = 0;
    while (got < header.bodySize) {
      const b = await this.readFrame();
      if (b.type !== FrameType.BODY) throw new ProtocolError(`expected a content body frame, got ${describeFrame(b)}`);
      got += b.payload.length;
      if (got > header.bodySize) throw new ProtocolError(`content body frames carry ${got} bytes, more than the header's ${header.bodySize}`);
      if (kept < this.maxBody) {
        const take = b.payload.subarray(0, this.maxBody - kept);
        parts.push(take);
        kept += take.length;
      }
    }
    return { properties: header.properties, body: concat(parts), bodySize: header.bodySize, truncated: kept < header.bodySize };
  }

  /** basic.publish + content header + body frames split at frame-max (§4.2.6.2), as one buffer. */
  publishFrames(exchange: string, routingKey: string, mandatory: boolean, properties: BasicProperties, body: Uint8Array): Uint8Array {
    const parts = [encodeMethod(this.channel, 'basic.publish', { exchange, routingKey, mandatory }), encodeFrame(FrameType.HEADER, this.channel, encodeHeaderPayload(body.length, properties))];
    const chunk = this.frameMax > 0 ? this.frameMax - 8 : body.length || 1;
    for (let at = 0; at < body.length; at += chunk) parts.push(encodeFrame(FrameType.BODY, this.channel, body.subarray(at, at + chunk)));
    return concat(parts);
  }

  async heartbeatFrame(): Promise<void> {
    await this.conn.write(HEARTBEAT_FRAME, { decode: 'heartbeat' });
  }

  /** channel.close then connection.close, each answered with close-ok (§2.2.4); a slow server does not hold the answer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.send(0, 'connection.close', { replyCode: 200, replyText: 'Goodbye', classId: 0, methodId: 0 });
      for (;;) {
        const f = await this.readFrame();
        if (f.type === FrameType.METHOD && decodeMethod(f.payload).name === 'connection.close-ok') break;
      }
    } catch {
      // the connection is going away either way
    } finally {
      await this.conn.close();
    }
  }
}
