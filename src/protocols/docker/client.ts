// Docker Engine API over HTTP/1.1 (one request per connection): JSON requests and answers, capped; the
// hijacked exec stream read until the daemon closes it.
import { fromUtf8, toBase64, utf8 } from '../../core/bytes.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { AuthError, ProtocolError, ServerError } from '../../core/errors.ts';
import { exchange, hostField } from '../http/client.ts';
import { errorMessage } from './codec.ts';

export interface ApiOptions {
  apiVersion?: string;
  username?: string;
  password?: string;
  maxResponseBytes: number;
  clientCert?: { certPem: string; keyPem: string };
}

export interface ApiAnswer {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

export async function api(ctx: OperationContext, o: ApiOptions, method: string, path: string, json?: unknown): Promise<ApiAnswer> {
  const tls = ctx.target.tls === 'implicit';
  const conn = await ctx.dial(o.clientCert ? { clientCertificate: o.clientCert } : {});
  const body = json === undefined ? undefined : utf8(JSON.stringify(json));
  const target = `${o.apiVersion ? `/v${o.apiVersion}` : ''}${path}`;
  const headers: [string, string][] = [
    ['Host', hostField({ scheme: tls ? 'https' : 'http', host: ctx.target.host, port: ctx.target.port })],
    ['User-Agent', 'Portolan/0.1'],
    ['Accept', 'application/json'],
  ];
  if (body) headers.push(['Content-Type', 'application/json'], ['Content-Length', String(body.length)]);
  if (o.username !== undefined) headers.push(['Authorization', `Basic ${toBase64(utf8(`${o.username}:${o.password ?? ''}`))}`]);
  const t0 = performance.now();
  const x = await exchange(conn, { method, target, headers, body, maxBodyBytes: o.maxResponseBytes, maxRawBytes: 0 }, () => performance.now() - t0);
  if (x.truncated) throw new ProtocolError(`the answer to ${method} ${path} is larger than ${o.maxResponseBytes} bytes (maxResponseBytes)`);
  const status = x.head.status;
  if (status === 401 || status === 403) {
    const realm = x.head.headers.find(([n]) => n === 'www-authenticate')?.[1];
    throw new AuthError(`${method} ${path}: HTTP ${status} ${x.head.reason}${realm ? ` (${realm})` : ''}${x.body.length ? `: ${fromUtf8(x.body.subarray(0, 300)).trim()}` : ''}`, { status });
  }
  if (status >= 400) {
    let message = fromUtf8(x.body.subarray(0, 1000)).trim();
    try {
      message = errorMessage(JSON.parse(fromUtf8(x.body))) ?? message;
    } catch {
      // not JSON: the text as it came
    }
    throw new ServerError(`${method} ${path}: HTTP ${status}: ${message}`, { status });
  }
  return { status, headers: x.head.headers, body: x.body };
}

export function jsonOf(a: ApiAnswer, what: string): unknown {
  try {
    return JSON.parse(fromUtf8(a.body));
  } catch {
    throw new ProtocolError(`${what}: the answer is not JSON`);
  }
}
