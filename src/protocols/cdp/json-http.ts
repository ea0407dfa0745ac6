// JSON over HTTP/1.1 and over a WebSocket, for the services whose API is both (the Chrome DevTools endpoints,
// Jupyter Server): one request per connection, a capped body parsed as JSON, and a WebSocket whose text
// messages are JSON objects.
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { exchange } from '../http/client.ts';
import { fieldValue, type Field } from '../http/codec.ts';
import { WsClient } from '../websocket/client.ts';

export interface JsonResponse {
  status: number;
  reason: string;
  headers: Field[];
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  text: string;
}

/** The Host header for the target: IPv6 in brackets, the port when not 80. */
export function hostHeader(host: string, port: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === 80 ? h : `${h}:${port}`;
}

/** One HTTP request on a new connection; a body past `maxBytes` is a protocol error, not a truncated answer. */
export async function httpJson(
  ctx: OperationContext,
  req: { method: string; path: string; headers?: Field[]; body?: unknown; form?: string; maxBytes: number; secretHeaders?: boolean },
): Promise<JsonResponse> {
  const conn = await ctx.dial();
  const body = req.form !== undefined ? utf8(req.form) : req.body === undefined ? undefined : utf8(JSON.stringify(req.body));
  const headers: Field[] = [['Host', hostHeader(ctx.target.host, ctx.target.port)], ['Accept', 'application/json'], ['Connection', 'close'], ...(req.headers ?? [])];
  if (body) headers.push(['Content-Type', req.form !== undefined ? 'application/x-www-form-urlencoded' : 'application/json'], ['Content-Length', String(body.length)]);
  else if (req.method !== 'GET' && req.method !== 'HEAD') headers.push(['Content-Length', '0']);
  const t0 = performance.now();
  const x = await exchange(conn, { method: req.method, target: req.path, headers, body, maxBodyBytes: req.maxBytes, maxRawBytes: 0, secretHead: req.secretHeaders, secretBody: req.secretHeaders }, () => performance.now() - t0);
  await conn.close();
  if (x.truncated) throw new ProtocolError(`${req.method} ${req.path}: the answer is larger than ${req.maxBytes} bytes`);
  const text = fromUtf8(x.body);
  let json: unknown;
  const type = fieldValue(x.head.headers, 'content-type') ?? '';
  if (/json/i.test(type) || /^\s*[[{]/.test(text)) {
    try {
      json = JSON.parse(text);
    } catch {
      if (/json/i.test(type)) throw new ProtocolError(`${req.method} ${req.path}: the body is not valid JSON`);
    }
  }
  return { status: x.head.status, reason: x.head.reason, headers: x.head.headers, json, text };
}

/** A WebSocket to `path` on the target whose text messages are JSON objects. */
export class JsonSocket {
  private constructor(readonly ws: WsClient) {}

  static async open(ctx: OperationContext, path: string, headers: Field[] = [], maxMessage = 16 * 1024 * 1024, secretHeaders = false): Promise<JsonSocket> {
    const conn: Conn = await ctx.dial();
    const ws = new WsClient(conn, ctx.crypto, maxMessage);
    await ws.handshake({ path, host: hostHeader(ctx.target.host, ctx.target.port), headers, protocols: [], secretHead: secretHeaders });
    return new JsonSocket(ws);
  }

  send(message: unknown): Promise<number> {
    return this.ws.send('text', utf8(JSON.stringify(message)));
  }

  /** The next JSON message; null when the server closed the WebSocket. Binary messages are skipped. */
  async next(): Promise<Record<string, unknown> | null> {
    for (;;) {
      const m = await this.ws.next();
      if (m.kind === 'close') return null;
      if (m.kind !== 'text') continue;
      let v: unknown;
      try {
        v = JSON.parse(m.text);
      } catch {
        throw new ProtocolError(`WebSocket message is not JSON: ${JSON.stringify(m.text.slice(0, 80))}`);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError('WebSocket message is not a JSON object');
      return v as Record<string, unknown>;
    }
  }

  close(): Promise<void> {
    return this.ws.close(1000).catch(() => undefined);
  }
}
