// HTTP proxies (RFC 9110 sections 7.6.3, 9.3.6 and 11.7): CONNECT tunnels and absolute-form requests,
// Basic proxy authentication, and the fields the proxy adds (Via, X-Cache). Any operation can use an
// HTTP proxy as its `via` hop (core/proxy.ts, socks/hop.ts).
import * as z from 'zod';
import { bytesJson, utf8 } from '../../core/bytes.ts';
import { AuthError, InvalidInput } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext, type ProxyRoute } from '../../core/protocol.ts';
import { bodyJson, exchange, hostField as hostHeader, type Origin } from '../http/client.ts';
import { fieldValue, type Field } from '../http/codec.ts';
import { headerPairs, headersInput } from '../http/index.ts';
import { exchangeThrough, targetInput } from '../socks/index.ts';
import { maskedHead, proxyAuthorization, proxyFields } from './codec.ts';

const MiB = 1024 * 1024;

const username = z.string().min(1).max(255).optional().describe('Proxy username (Basic, RFC 7617)');
const password = z.string().max(255).optional().describe('Proxy password');

const fieldsOut = z.array(z.tuple([z.string(), z.string()]));
const bytesOut = z.object({ text: z.string().optional(), base64: z.string().optional(), hex: z.string().optional() });

function hop(input: { host: string; port: number; username?: string; password?: string }, forward = false): ProxyRoute {
  return { type: 'http', host: input.host, port: input.port, username: input.username, password: input.password, forward };
}

function parseUrl(url: string): Origin & { path: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw InvalidInput.field('url', `${JSON.stringify(url.slice(0, 100))} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw InvalidInput.field('url', 'the URL must be http:// or https://');
  if (u.username || u.password) throw InvalidInput.field('url', 'credentials in the URL are not sent; use headers');
  const scheme = u.protocol === 'https:' ? 'https' : 'http';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { scheme, host, port: u.port ? Number(u.port) : scheme === 'https' ? 443 : 80, path: `${u.pathname}${u.search}` };
}

async function request(ctx: OperationContext, input: { host: string; port: number; username?: string; password?: string; url: string; method: string; headers: Record<string, string> | [string, string][]; body?: string; maxBodyBytes: number; bodyEncoding: 'auto' | 'text' | 'base64' }) {
  const origin = parseUrl(input.url);
  const https = origin.scheme === 'https';
  const user = headerPairs(input.headers);
  const has = (n: string) => user.some(([k]) => k.toLowerCase() === n);
  const body = input.body !== undefined ? utf8(input.body) : undefined;
  // http: the proxy gets the absolute URL and fetches it (RFC 9112 section 3.2.2); https: a CONNECT tunnel, TLS to the origin through it, origin-form.
  const conn = await ctx.dial({ host: origin.host, port: origin.port, tls: https ? 'implicit' : 'off', through: hop(input, !https) });
  const grant = conn.info().proxy;
  const headers: Field[] = [['Host', hostHeader(origin)]];
  if (!has('user-agent')) headers.push(['User-Agent', 'Portolan/0.1']);
  if (!has('accept')) headers.push(['Accept', '*/*']);
  if (!https) headers.push(...proxyAuthorization(input.username, input.password));
  headers.push(...user);
  if (body && !has('content-length')) headers.push(['Content-Length', String(body.length)]);
  const t0 = performance.now();
  const x = await exchange(
    conn,
    { method: input.method, target: https ? origin.path : input.url, headers, body, maxBodyBytes: input.maxBodyBytes, maxRawBytes: 0, secretHead: !https && input.username !== undefined },
    () => performance.now() - t0,
  );
  if (x.head.status === 407) {
    const challenge = fieldValue(x.head.headers, 'proxy-authenticate');
    const why = input.username === undefined ? 'the HTTP proxy requires authentication: give username and password' : `the HTTP proxy refused the credentials for ${input.username}`;
    throw new AuthError(`${why}: 407 ${x.head.reason}${challenge ? ` (${challenge})` : ''}`, { status: 407, reason: x.head.reason, headers: proxyFields(x.head.headers) });
  }
  const type = fieldValue(x.head.headers, 'content-type');
  return {
    mode: https ? ('CONNECT' as const) : ('absolute-form' as const),
    request: maskedHead(x.requestHead),
    connect: https && grant ? { reply: grant.reply, headers: grant.headers ?? [] } : null,
    status: x.head.status,
    reason: x.head.reason,
    headers: x.head.headers,
    proxyHeaders: proxyFields(x.head.headers),
    via: fieldValue(x.head.headers, 'via') ?? null,
    cache: fieldValue(x.head.headers, 'x-cache') ?? null,
    body: { ...bodyJson(x.body, input.bodyEncoding, type), bytes: x.bodyBytes, truncated: x.truncated },
  };
}

export default defineProtocol({
  id: 'httpproxy',
  title: 'HTTP proxy',
  category: 'network',
  summary: 'HTTP forward proxies: CONNECT tunnels and absolute-form requests with Basic proxy authentication, showing the proxy’s own fields (Via, X-Cache, Proxy-Agent) and its refusals. Any operation can use an HTTP proxy as its `via` hop.',
  ports: [
    { port: 3128, transport: 'tcp', label: 'Squid' },
    { port: 8080, transport: 'tcp' },
    { port: 8888, transport: 'tcp', label: 'tinyproxy' },
  ],
  specs: ['RFC 9110', 'RFC 9112', 'RFC 7617'],
  rating: {
    stars: 5,
    reason:
      'CONNECT tunnels (plain and TLS to the origin through them), absolute-form GET and POST, Basic proxy authentication right and wrong, the 407 challenge, the proxy’s refusal with its status and error fields, Via and X-Cache (a cache HIT on a repeat), and every protocol through an HTTP CONNECT hop; lab-tested against Squid 5.7 and tinyproxy 1.11. No Digest, NTLM or Negotiate proxy authentication.',
  },
  verifiedAgainst: 'Squid 5.7, tinyproxy 1.11.1',
  over: ['http'],
  defaultOperation: 'request',
  identify: { unprobed: 'answers HTTP: the HTTP probe names squid and tinyproxy from the Server header and the error headers squid adds' },
  operations: {
    connect: operation({
      summary: 'CONNECT to a target through the proxy: the proxy’s answer and fields; optionally sends text and shows what the target answers',
      input: z.object({ ...targetInput, username, password }),
      output: z.object({
        target: z.string(),
        reply: z.string().describe('The proxy’s status and reason'),
        headers: fieldsOut.describe('The fields of the proxy’s answer'),
        connectMs: z.number(),
        answer: bytesOut.nullable().describe('What the target sent first, within waitMs'),
      }),
      text: (r) => [`${r.reply}: tunnel to ${r.target} in ${r.connectMs} ms`, ...r.headers.map(([n, v]) => `${n}: ${v}`), ...(r.answer ? ['', r.answer.text ?? r.answer.hex ?? r.answer.base64 ?? ''] : [])].join('\n'),
      async run(ctx, input) {
        const conn = await ctx.dial({ host: input.targetHost, port: input.targetPort, tls: 'off', through: hop(input) });
        const grant = conn.info().proxy;
        const answer = await exchangeThrough(ctx, conn, input.data, input.waitMs);
        return { target: `${input.targetHost}:${input.targetPort}`, reply: grant?.reply ?? '', headers: grant?.headers ?? [], connectMs: conn.connectMs, answer: answer ? bytesJson(answer) : null };
      },
    }),
    request: operation({
      summary: 'One request for a URL through the proxy: http:// in absolute form (the proxy fetches it), https:// through a CONNECT tunnel; the response and the proxy’s own fields',
      input: z.object({
        url: z.string().min(1).max(8192).describe('The URL to fetch through the proxy').meta({ examples: ['http://example.com/'] }),
        method: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'method is a token such as GET or POST').max(32).default('GET'),
        headers: headersInput,
        body: z.string().max(8 * MiB).optional().describe('Request body as UTF-8 text'),
        username,
        password,
        maxBodyBytes: z.number().int().min(0).max(8 * MiB).default(MiB),
        bodyEncoding: z.enum(['auto', 'text', 'base64']).default('auto'),
      }),
      output: z.object({
        mode: z.enum(['absolute-form', 'CONNECT']),
        request: z.string().describe('The request head as sent (proxy credentials masked)'),
        connect: z.object({ reply: z.string(), headers: fieldsOut }).nullable().describe('The proxy’s answer to CONNECT (https)'),
        status: z.number(),
        reason: z.string(),
        headers: fieldsOut,
        proxyHeaders: fieldsOut.describe('Fields the proxy added or answers with: Via, X-Cache, X-Squid-Error, Proxy-Authenticate...'),
        via: z.string().nullable(),
        cache: z.string().nullable().describe('X-Cache: HIT or MISS, and from which proxy'),
        body: z.object({ text: z.string().optional(), base64: z.string().optional(), bytes: z.number(), truncated: z.boolean() }),
      }),
      text: (r) => [`${r.mode}: HTTP ${r.status} ${r.reason}`, ...r.proxyHeaders.map(([n, v]) => `${n}: ${v}`), '', r.body.text ?? `(${r.body.bytes} bytes)`].join('\n'),
      run: (ctx, input) => request(ctx, input),
    }),
  },
});
