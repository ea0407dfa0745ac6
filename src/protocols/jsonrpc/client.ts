// JSON-RPC 2.0 over HTTP (a POST per call or batch) and over WebSocket (text messages both ways), capped.
import { fromUtf8, toBase64, utf8 } from '../../core/bytes.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { AuthError, ProtocolError, ServerError } from '../../core/errors.ts';
import { exchange, hostField } from '../http/client.ts';
import { WsClient } from '../websocket/client.ts';
import { checkResponse, isServerMessage, parseBody, requestObject, type Call, type Response } from './codec.ts';

export interface TransportOptions {
  transport: 'http' | 'websocket';
  path: string;
  headers: [string, string][];
  username?: string;
  password?: string;
  maxResponseBytes: number;
}

export interface Exchange {
  responses: Response[];
  /** Messages with a method the server sent on its own while we waited (WebSocket). */
  notifications: { method: string; params?: unknown }[];
  httpStatus: number | null;
  requestBytes: number;
  responseBytes: number;
}

function authHeader(o: TransportOptions): [string, string][] {
  if (o.username === undefined) return [];
  return [['Authorization', `Basic ${toBase64(utf8(`${o.username}:${o.password ?? ''}`))}`]];
}

/** Sends calls (one object, or a batch array when `batch`); reads the responses to the calls that have ids. */
export async function send(ctx: OperationContext, calls: Call[], batch: boolean, o: TransportOptions): Promise<Exchange> {
  const payload = batch ? calls.map(requestObject) : requestObject(calls[0]);
  const body = utf8(JSON.stringify(payload));
  const expected = calls.filter((c) => c.id !== undefined).length;
  const tls = ctx.target.tls === 'implicit';
  const authority = hostField({ scheme: tls ? 'https' : 'http', host: ctx.target.host, port: ctx.target.port });
  const conn = await ctx.dial();
  if (o.transport === 'http') {
    const t0 = performance.now();
    const x = await exchange(
      conn,
      {
        method: 'POST',
        target: o.path,
        headers: [['Host', authority], ['Content-Type', 'application/json'], ['Accept', 'application/json'], ['Content-Length', String(body.length)], ...authHeader(o), ...o.headers],
        body,
        maxBodyBytes: o.maxResponseBytes,
        maxRawBytes: 0,
      },
      () => performance.now() - t0,
    );
    if (x.truncated) throw new ProtocolError(`the response body is larger than ${o.maxResponseBytes} bytes (maxResponseBytes)`);
    const status = x.head.status;
    if (status === 401 || status === 403) throw new AuthError(`HTTP ${status} ${x.head.reason}${x.body.length ? `: ${fromUtf8(x.body.subarray(0, 200)).trim()}` : ''}`, { status });
    // Notifications only: the server answers with no content (HTTP 204 or an empty 200).
    if (expected === 0 && x.body.length === 0) return { responses: [], notifications: [], httpStatus: status, requestBytes: body.length, responseBytes: 0 };
    if (x.body.length === 0) throw new ServerError(`HTTP ${status} ${x.head.reason} with no body`, { status });
    let parsed: unknown;
    try {
      parsed = parseBody(fromUtf8(x.body));
    } catch (e) {
      if (status >= 400) throw new ServerError(`HTTP ${status} ${x.head.reason}: ${fromUtf8(x.body.subarray(0, 200)).trim()}`, { status });
      throw e;
    }
    return { responses: responsesOf(parsed, batch), notifications: [], httpStatus: status, requestBytes: body.length, responseBytes: x.bodyBytes };
  }
  const ws = new WsClient(conn, ctx.crypto, o.maxResponseBytes);
  await ws.handshake({ path: o.path, host: authority, headers: [...authHeader(o), ...o.headers], protocols: [] });
  await ws.send('text', body);
  const responses: Response[] = [];
  const notifications: { method: string; params?: unknown }[] = [];
  let responseBytes = 0;
  // Notifications we sent get no answer: wait only for the ones with ids (a batch of only notifications waits for none).
  while (responses.length < expected) {
    const m = await ws.next();
    if (m.kind === 'close') throw new ServerError(`the server closed the WebSocket (${m.code ?? 'no code'}${m.reason ? ` ${m.reason}` : ''}) before answering`);
    if (m.kind !== 'text' && m.kind !== 'binary') continue;
    const text = m.kind === 'text' ? m.text : fromUtf8(m.data);
    responseBytes += text.length;
    const v = parseBody(text);
    if (isServerMessage(v)) {
      if (notifications.length < 1000) notifications.push({ method: v.method, params: v.params });
      continue;
    }
    responses.push(...responsesOf(v, Array.isArray(v)));
  }
  await ws.close(1000).catch(() => undefined);
  return { responses, notifications, httpStatus: null, requestBytes: body.length, responseBytes };
}

function responsesOf(v: unknown, batch: boolean): Response[] {
  if (Array.isArray(v)) {
    if (v.length === 0) throw new ProtocolError('an empty array is not a valid batch response (section 6)');
    if (v.length > 100_000) throw new ProtocolError('more than 100000 responses in a batch');
    return v.map(checkResponse);
  }
  // A server that cannot parse a batch answers one error object (section 6).
  if (batch && v && typeof v === 'object' && 'error' in v) return [checkResponse(v)];
  return [checkResponse(v)];
}
