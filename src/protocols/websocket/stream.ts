// A byte stream carried in WebSocket binary messages (RFC 6455 §5.6), as MQTT (MQTT 5.0 §6) and STOMP over
// WebSocket use it: each binary message is a chunk of the stream, its boundaries carry no meaning. Wrapped in
// a Conn, a protocol's own framing runs unchanged over TCP, TLS or a WebSocket.
import { utf8 } from '../../core/bytes.ts';
import { Conn, type Transport, type TransportInfo } from '../../core/conn.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { WsClient } from './client.ts';

export class WsStreamTransport implements Transport {
  /** `text`: whether text messages carry the stream too (STOMP servers send frames as text; MQTT forbids it). */
  constructor(
    private readonly ws: WsClient,
    private readonly text: boolean,
  ) {}

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.ws.receivedClose) return null;
      const m = await this.ws.next();
      if (m.kind === 'binary') return m.data;
      if (m.kind === 'close') return null;
      if (m.kind === 'text') {
        if (this.text) return utf8(m.text);
        throw new ProtocolError('the server sent a WebSocket text message where the stream travels in binary messages (MQTT-6.0.0-1)');
      }
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    await this.ws.send('binary', bytes);
  }

  startTls(): Promise<Transport> {
    return Promise.reject(new ProtocolError('STARTTLS is not available inside a WebSocket: use wss (tls implicit)'));
  }

  async end(): Promise<void> {
    await this.ws.close(1000);
  }

  async close(): Promise<void> {
    try {
      if (!this.ws.sentClose) await this.ws.close(1000);
    } catch {
      // the connection is gone already
    }
    await this.ws.conn.close();
  }

  info(): TransportInfo {
    return this.ws.conn.info();
  }
}

export interface WsStreamOptions {
  path: string;
  /** The subprotocol to ask for (`mqtt`, `v12.stomp`...); the server must choose one of them. */
  protocols: string[];
  headers?: [string, string][];
  /** Accept text messages as part of the stream (STOMP); MQTT refuses them [MQTT-6.0.0-1]. */
  acceptText?: boolean;
}

/** Dials the target, opens a WebSocket with `protocols`, and returns a Conn over its binary messages. */
export async function dialWebSocketStream(ctx: OperationContext, opts: WsStreamOptions): Promise<{ conn: Conn; protocol: string | null }> {
  const outer = await ctx.dial();
  const ws = new WsClient(outer, ctx.crypto);
  const port = ctx.target.port;
  const defaultPort = ctx.target.tls === 'implicit' ? 443 : 80;
  const host = ctx.target.host.includes(':') ? `[${ctx.target.host}]` : ctx.target.host;
  const hs = await ws.handshake({ path: opts.path, host: port === defaultPort ? host : `${host}:${port}`, headers: opts.headers ?? [], protocols: opts.protocols });
  if (opts.protocols.length > 0 && hs.protocol === null) {
    throw new PortolanError('protocol_error', `the WebSocket server at ${opts.path} chose no subprotocol; it was offered ${opts.protocols.join(', ')}`);
  }
  outer.note(`WebSocket open at ${opts.path}${hs.protocol ? ` with subprotocol ${hs.protocol}` : ''}`);
  const conn = new Conn({ transport: new WsStreamTransport(ws, opts.acceptText === true), signal: () => outer.signal, transcript: ctx.transcript, host: ctx.target.host, port, tls: 'off' });
  return { conn, protocol: hs.protocol };
}
