// HTTP/1.1, RFC 9110 (semantics) and RFC 9112 (message syntax): a raw client with any method, headers
// and body, chunked both ways, keep-alive and pipelining, redirects shown and followed on request, content codings
// undone, proxy hops (absolute form to an HTTP proxy, tunnels otherwise), timings and the raw response.
import { acceptEncoding, contentCodings, decodeContent } from './coding.ts';
import type { CodecsPort } from '../../core/codecs.ts';
import { CookieJar } from './cookies.ts';
import * as z from 'zod';
import { fromBase64, toBase64, utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { InvalidInput, PortolanError, classify } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext, type ProxyRoute, type TargetFields, type ViaInput } from '../../core/protocol.ts';
import { proxyAuthRefusal } from '../httpproxy/client.ts';
import { maskedHead, proxyAuthorization } from '../httpproxy/codec.ts';
import { TOKEN, type Field } from './codec.ts';
import { responseFile, skipping, withRange } from './files.ts';
import {
  BODY_HEADERS,
  REDIRECT_STATUSES,
  bodyJson,
  exchange,
  hostField,
  location,
  redirectMethod,
  resolveLocation,
  sameOrigin,
  textOf,
  readResponse,
  urlOf,
  writeRequest,
  type BodyEncoding,
  type ExchangeRequest,
  type ExchangeResult,
  type Origin,
  type SentRequest,
} from './client.ts';
import { identification } from './identify.ts';

const MiB = 1024 * 1024;

export const headersInput = z
  .union([z.record(z.string(), z.string()), z.array(z.tuple([z.string(), z.string()])).max(100)])
  .default([])
  .describe('Header fields: an object, or [name, value] pairs to keep order and repeats');

export function headerPairs(h: Record<string, string> | [string, string][]): Field[] {
  const pairs = Array.isArray(h) ? h : Object.entries(h);
  if (pairs.length > 100) throw InvalidInput.field('headers', 'at most 100 header fields');
  for (const [name, value] of pairs) {
    if (!TOKEN.test(name)) throw InvalidInput.field('headers', `${JSON.stringify(name)} is not a valid field name`);
    if (/[\r\n\0]/.test(value)) throw InvalidInput.field('headers', `${name}: CR, LF and NUL are not allowed in values`);
  }
  return pairs;
}

export const pathInput = z
  .string()
  .min(1)
  .max(8192)
  .regex(/^(\/[\x21-\x7e]*|\*|https?:\/\/[\x21-\x7e]+)$/, 'path starts with / (or is * or an absolute http URL), with no spaces')
  .default('/')
  .describe('Request target: /path?query (or * for OPTIONS, or an absolute URL for a proxy)');

const bodyEncoding = z.enum(['auto', 'text', 'base64']).default('auto').describe('Response body as text (UTF-8), base64, or auto (text when it decodes and looks like text)');

const bodyOut = z.object({ text: z.string().optional(), base64: z.string().optional(), bytes: z.number(), truncated: z.boolean() });
const fieldsOut = z.array(z.tuple([z.string(), z.string()]));

const responseOut = z.object({
  version: z.string(),
  status: z.number(),
  reason: z.string(),
  headers: fieldsOut,
  trailers: fieldsOut,
  interim: z.array(z.object({ status: z.number(), reason: z.string(), headers: fieldsOut })),
  framing: z.string().describe('How the body was delimited: length, chunked, close or none'),
  chunks: z.number(),
  body: bodyOut,
  decoded: z
    .object({ codings: z.array(z.string()), text: z.string().optional(), base64: z.string().optional(), bytes: z.number() })
    .nullable()
    .describe('The body with its Content-Encoding (gzip, deflate, br, zstd) undone, up to 8 MiB; null when there is none, the body was cut short, or a coding is not one of those'),
});

const timingOut = z.object({
  connectMs: z.number().nullable().describe('TCP connect of the last hop (null when the connection was reused)'),
  tlsMs: z.number().nullable().describe('TLS upgrade of the last hop; on Workers the handshake may complete lazily with the first bytes, so it is then part of firstByteMs'),
  firstByteMs: z.number().describe('From the request written to the first response byte'),
  totalMs: z.number().describe('From the request written to the end of the body'),
});

/** Why a server's connections end after one response, in its own terms: an HTTP/1.0 answer or Connection: close. */
function persistence(head: { version: string; headers: Field[] }): string {
  const connection = head.headers.find(([n]) => n === 'connection')?.[1];
  const what = head.version === '1.0' ? `the server answers HTTP/1.0${connection ? ` with Connection: ${connection}` : ' without keep-alive'}` : `the server answers Connection: ${connection ?? 'close'}`;
  return `${what}, so it ends the connection after each response and the requests written behind it are never answered (RFC 9112 §9.3.2: pipelining needs a persistent connection); they went one at a time, each on a new connection`;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * How requests reach their origins. Direct, or through the operation's `via` hop: an HTTP proxy is given http://
 * requests in absolute form (RFC 9112 §3.2.2) and fetches them itself; https:// goes through a CONNECT tunnel, and
 * SOCKS through its own, both set up by the runner for every dial, with origin-form requests inside.
 */
interface Route {
  /** The HTTP proxy that takes absolute-form requests for http:// origins. */
  forward?: ProxyRoute & { type: 'http' };
}

function routeOf(input: TargetFields): Route {
  const via = (input as { via?: ViaInput }).via;
  return via?.type === 'http' ? { forward: { type: 'http', host: via.host, port: via.port, username: via.username, password: via.password, forward: true } } : {};
}

interface Opened {
  conn: Conn;
  connectMs: number;
  tlsMs: number | null;
  /** Requests on this connection go to an HTTP proxy in absolute form. */
  forward?: Route['forward'];
}

/** Opens a connection to an origin; https is dialled plain and upgraded so the TLS handshake is timed apart. */
async function open(ctx: OperationContext, origin: Origin, secondHop: boolean, route: Route): Promise<Opened> {
  const https = origin.scheme === 'https';
  const forward = https ? undefined : route.forward;
  const conn = await ctx.dial({ host: origin.host, port: origin.port, tls: https ? 'starttls' : 'off', secondHop, through: forward });
  let tlsMs: number | null = null;
  if (https) {
    const t0 = performance.now();
    await conn.startTls();
    tlsMs = round(performance.now() - t0);
    ctx.timing.mark('tlsMs');
  }
  return { conn, connectMs: conn.connectMs, tlsMs, forward };
}

/** The request target and the proxy's fields for one request on `opened`: absolute form with Proxy-Authorization to an HTTP proxy. */
function viaOpened(opened: Opened, origin: Origin, target: string): { target: string; fields: Field[] } {
  if (!opened.forward) return { target, fields: [] };
  return { target: /^https?:\/\//i.test(target) ? target : urlOf(origin, target), fields: proxyAuthorization(opened.forward.username, opened.forward.password) };
}

/** The hop this connection went through, as the user should see it; null when direct. */
function hopJson(opened: Opened) {
  const grant = opened.conn.info().proxy;
  if (!grant) return null;
  return { proxy: grant.proxy, mode: opened.forward ? ('absolute-form' as const) : ('tunnel' as const), reply: grant.reply };
}

/**
 * workerd completes a TLS upgrade lazily: a server that does not speak TLS (or a certificate it rejects) shows up
 * as an opaque failure of the first write or read. Said as what it is.
 */
function tlsFirstUse(e: unknown, origin: Origin): unknown {
  if (e instanceof PortolanError && (e.code === 'protocol_error' || e.code === 'closed') && /internal error|TLS|SSL|certificate/i.test(e.message)) {
    return new PortolanError('tls_error', `TLS with ${origin.host}:${origin.port} failed on its first use (${e.message}): the server does not speak TLS there, or its certificate is not trusted`);
  }
  return e;
}

function requestBody(input: { body?: string; bodyBase64?: string }): Uint8Array | undefined {
  if (input.body !== undefined && input.bodyBase64 !== undefined) throw InvalidInput.field('body', 'give body or bodyBase64, not both');
  if (input.body !== undefined) return utf8(input.body);
  if (input.bodyBase64 !== undefined) {
    try {
      return fromBase64(input.bodyBase64);
    } catch {
      throw InvalidInput.field('bodyBase64', 'not valid base64');
    }
  }
  return undefined;
}

/** Request fields: Host first (RFC 9112 §3.2), then defaults the caller did not set, then the caller's, then framing. */
function buildHeaders(origin: Origin, user: Field[], opts: { hostHeader?: string; body?: Uint8Array; chunked: boolean; acceptEncoding?: string }): Field[] {
  const has = (n: string) => user.some(([k]) => k.toLowerCase() === n);
  const out: Field[] = [];
  if (!has('host')) out.push(['Host', opts.hostHeader ?? hostField(origin)]);
  if (!has('user-agent')) out.push(['User-Agent', 'Portolan/0.1']);
  if (!has('accept')) out.push(['Accept', '*/*']);
  if (opts.acceptEncoding && !has('accept-encoding')) out.push(['Accept-Encoding', opts.acceptEncoding]);
  out.push(...user);
  if (opts.chunked) {
    if (!has('transfer-encoding')) out.push(['Transfer-Encoding', 'chunked']);
  } else if (opts.body && opts.body.length > 0 && !has('content-length')) out.push(['Content-Length', String(opts.body.length)]);
  return out;
}

function responseJson(x: ExchangeResult, encoding: BodyEncoding, codecs: CodecsPort | undefined) {
  const type = x.head.headers.find(([n]) => n === 'content-type')?.[1];
  return {
    version: x.head.version,
    status: x.head.status,
    reason: x.head.reason,
    headers: x.head.headers,
    trailers: x.trailers,
    interim: x.interim,
    framing: x.framing.kind === 'length' ? `length ${x.framing.length}` : x.framing.kind === 'chunked' ? `chunked (${x.framing.codings.join(', ')})` : `${x.framing.kind}: ${x.framing.why}`,
    chunks: x.chunks,
    body: { ...bodyJson(x.body, encoding, type), bytes: x.bodyBytes, truncated: x.truncated },
    decoded: decodedJson(x, encoding, type, codecs),
  };
}

/** The body with its content codings undone, when complete and decodable (RFC 9110 8.4). */
function decodedJson(x: ExchangeResult, encoding: BodyEncoding, type: string | undefined, codecs: CodecsPort | undefined) {
  // A body cut short, or streamed as a file (not held here), is not decoded.
  if (x.truncated || x.body.length !== x.bodyBytes) return null;
  const d = decodeContent(x.body, contentCodings(x.head.headers), 8 * MiB, codecs);
  return d ? { codings: d.codings, ...bodyJson(d.bytes, encoding, type), bytes: d.bytes.length } : null;
}

function rawJson(x: ExchangeResult) {
  const text = textOf(x.raw);
  return { ...(text !== undefined ? { text } : { base64: toBase64(x.raw) }), bytes: x.rawBytes, truncated: x.raw.length < x.rawBytes };
}

const requestInput = z.object({
  method: z.string().regex(TOKEN, 'method is a token such as GET, POST, PUT, DELETE').max(32).default('GET'),
  path: pathInput,
  headers: headersInput,
  hostHeader: z.string().max(300).regex(/^[^\r\n\0]*$/).optional().describe('Host header value (default: the target host, with the port when not the default)'),
  body: z.string().max(8 * MiB).optional().describe('Request body as UTF-8 text'),
  bodyBase64: z.string().max(12 * MiB).optional().describe('Request body as base64'),
  chunked: z.boolean().default(false).describe('Send the body with Transfer-Encoding: chunked'),
  chunkSize: z.number().int().min(1).max(MiB).default(16384).describe('Chunk size when chunked'),
  trailers: headersInput.describe('Trailer fields after the last chunk (chunked only)'),
  compressed: z.boolean().default(false).describe(`Ask for a compressed body with Accept-Encoding: gzip, deflate, br, zstd (the codings decoded here; br where the host has a brotli decoder: workerd and Node, not the browser), unless headers set it`),
  followRedirects: z.number().int().min(0).max(20).default(0).describe('How many redirects to follow (0: show the redirect, do not follow)'),
  bodyEncoding,
  maxBodyBytes: z.number().int().min(0).max(8 * MiB).default(MiB).describe('Read at most this many body bytes; the rest is left unread'),
  maxRawBytes: z.number().int().min(0).max(MiB).default(64 * 1024).describe('Keep at most this many bytes of the raw response'),
});

const hopOut = z.object({ url: z.string(), status: z.number(), location: z.string(), next: z.string(), method: z.string(), reusedConnection: z.boolean(), cookiesSet: z.array(z.string()).describe('Names of the cookies this hop set (Set-Cookie), carried to the hops that match') });

export default defineProtocol({
  id: 'http',
  title: 'HTTP/1.1',
  category: 'web',
  summary: 'Raw HTTP/1.1 requests: any method, headers and body; chunked both ways; keep-alive and pipelining; redirects shown or followed; gzip, deflate, br and zstd decoded beside the body as sent; through HTTP and SOCKS proxies; timings and the raw response (RFC 9110, RFC 9112).',
  ports: [
    { port: 80, transport: 'tcp' },
    { port: 443, transport: 'tls', label: 'https' },
  ],
  specs: ['RFC 9110', 'RFC 9112', 'RFC 6265', 'RFC 7932', 'RFC 8878', 'RFC 9659'],
  rating: {
    stars: 5,
    reason:
      "Lab-tested through workerd. Against nginx (src/protocols/http/http.lab.test.ts, files.lab.test.ts): GET, HEAD and POST with bodies read back; chunked responses (nginx sub_filter) and chunked uploads (echoed through nginx); keep-alive proven by nginx's own connection counter; redirect chains shown and followed, to TLS too, each hop through the guard, with cookies set on a redirect carried to the hops they match (RFC 6265 path, domain, Secure); pipelining (every request written before the first response is read); an HTTP/1.1 Upgrade shown as its 101; a large file byte-exact; a response body streamed as a file (64 MiB byte-identical, Range resume, a body cut short never complete); body and raw caps. Content codings (coded.lab.test.ts, coding.test.ts): gzip, x-gzip and deflate, br from nginx's brotli filter compressing on the fly (decoded by the runtime's node:zlib) and zstd from a file the zstd CLI made, each decoded to the original bytes beside the body as sent, with an 8 MiB expansion cap that turns br and zstd bombs into protocol errors (zstd windows past RFC 9659's 8 MiB refused from the header); compressed: true asks for exactly those codings. Proxy hops (via.lab.test.ts): http:// in absolute form through Squid and tinyproxy (their Via shown), https:// through Squid's CONNECT, SOCKS5 through Dante, the hop in the transcript and the answer, Squid's 407 without credentials and 200 with them. HTTP/1.0-only peers (http10.lab.test.ts, python3 http.server): bodies read to the connection's end, no connection reused, pipelining asked of it declined with the reason. Not covered: Digest, NTLM and Negotiate authentication (to the origin or the proxy): the lab's servers offer Basic only.",
  },
  verifiedAgainst: 'nginx 1.22.1-9+deb12u11 with libnginx-mod-http-brotli-filter 1.0.0~rc-3, zstd 1.5.4, Squid 5.7, tinyproxy 1.11.1, Dante 1.4.2, Python 3.11 http.server',
  tls: { implicit: { port: 443 } },
  defaultOperation: 'request',
  identify: identification,
  operations: {
    request: operation({
      primary: ['method', 'path', 'headers', 'body'],
      summary:
        'One request (following redirects when asked): status, headers, body, timings and the raw response; with Accept: application/octet-stream (or a WebSocket transfer) the response body streams as a file of any size (Range: bytes=N- resumes)',
      transfer: { direction: 'download', resume: true },
      input: requestInput,
      output: z.object({
        url: z.string(),
        request: z.object({ head: z.string(), bodyBytes: z.number(), chunked: z.boolean() }),
        response: responseOut,
        raw: z.object({ text: z.string().optional(), base64: z.string().optional(), bytes: z.number(), truncated: z.boolean() }),
        redirect: z.object({ location: z.string(), url: z.string() }).nullable().describe('The redirect this response asks for, when not followed'),
        redirects: z.array(hopOut),
        timing: timingOut,
        connection: z.object({
          reused: z.boolean(),
          keepAlive: z.boolean(),
          connections: z.number(),
          via: z
            .object({ proxy: z.string(), mode: z.enum(['absolute-form', 'tunnel']), reply: z.string() })
            .nullable()
            .describe('The proxy hop (via) of the last connection: absolute-form requests to an HTTP proxy, or a tunnel (CONNECT, SOCKS) with its reply'),
        }),
      }),
      shortRoute: (extra, query) => ({ path: `/${extra ?? ''}${query.toString() ? `?${query.toString()}` : ''}` }),
      text: (r) => `${r.redirects.map((h) => `${h.status} ${h.url} -> ${h.next}\n`).join('')}${r.raw.text !== undefined ? r.raw.text : `HTTP/${r.response.version} ${r.response.status} ${r.response.reason}\n(binary body, ${r.response.body.bytes} bytes)`}`,
      async run(ctx, input) {
        const body = requestBody(input);
        if (input.chunked && !body) throw InvalidInput.field('chunked', 'a chunked request needs a body');
        const trailers = headerPairs(input.trailers);
        if (trailers.length > 0 && !input.chunked) throw InvalidInput.field('trailers', 'trailers need chunked: true');
        const userHeaders = headerPairs(input.headers);
        let origin: Origin = { scheme: input.tls === 'implicit' ? 'https' : 'http', host: input.host, port: input.port };
        let target = input.path;
        let method = input.method;
        let sendBody = body;
        const download = ctx.download;
        let headers = download ? withRange(userHeaders, download.offset) : userHeaders;
        let hostHeader = input.hostHeader;
        const route = routeOf(input);
        let opened = await open(ctx, origin, false, route);
        let connections = 1;
        let reused = false;
        const redirects: z.infer<typeof hopOut>[] = [];
        const jar = new CookieJar();
        for (let hop = 0; ; hop++) {
          const t0 = performance.now();
          const jarCookie = hop > 0 ? jar.header(origin, target) : undefined;
          const hopHeaders: Field[] = jarCookie === undefined ? headers : [...headers.filter(([n]) => n.toLowerCase() !== 'cookie'), ['Cookie', [headers.find(([n]) => n.toLowerCase() === 'cookie')?.[1], jarCookie].filter(Boolean).join('; ')]];
          const fresh = !reused && origin.scheme === 'https';
          const proxied = viaOpened(opened, origin, target);
          const x = await exchange(
            opened.conn,
            {
              method,
              target: proxied.target,
              headers: [...buildHeaders(origin, hopHeaders, { hostHeader, body: sendBody, chunked: input.chunked && sendBody !== undefined, acceptEncoding: input.compressed ? acceptEncoding(ctx.codecs) : undefined }), ...proxied.fields],
              secretHead: proxied.fields.length > 0,
              body: sendBody,
              chunkSize: input.chunked && sendBody !== undefined ? input.chunkSize : undefined,
              trailers,
              maxBodyBytes: input.maxBodyBytes,
              maxRawBytes: input.maxRawBytes,
              bodySink: download
                ? async (head) => {
                    // A redirect that will be followed is read and dropped; the final answer is the file.
                    if (REDIRECT_STATUSES.has(head.status) && location(head) !== undefined && hop < input.followRedirects) return { write: () => Promise.resolve() };
                    const file = responseFile(method, target, head.status, head.headers, download.offset);
                    return skipping(await download.begin(file.info), file.skip);
                  }
                : undefined,
            },
            () => performance.now() - t0,
          ).catch((e: unknown) => {
            throw fresh ? tlsFirstUse(e, origin) : e;
          });
          ctx.timing.mark('firstByteMs');
          if (opened.forward && x.head.status === 407) throw proxyAuthRefusal(x.head, opened.forward.username);
          const loc = location(x.head);
          const isRedirect = REDIRECT_STATUSES.has(x.head.status) && loc !== undefined;
          if (isRedirect && hop < input.followRedirects) {
            const next = resolveLocation(origin, target, loc);
            const m = redirectMethod(x.head.status, method);
            const reuse = sameOrigin(origin, next.origin) && x.reusable;
            const cookiesSet = jar.store(origin, target, x.head.headers);
            redirects.push({ url: urlOf(origin, target), status: x.head.status, location: loc, next: next.url, method: m.method, reusedConnection: reuse, cookiesSet });
            if (!m.keepBody) {
              sendBody = undefined;
              headers = headers.filter(([n]) => !BODY_HEADERS.has(n.toLowerCase()));
            }
            // Credentials stay with their origin (RFC 9110 §15.4: a user agent may remove them; fetch does).
            if (!sameOrigin(origin, next.origin)) {
              headers = headers.filter(([n]) => !['authorization', 'cookie', 'proxy-authorization', 'host'].includes(n.toLowerCase()));
              hostHeader = undefined;
            }
            method = m.method;
            target = next.target;
            if (reuse) {
              reused = true;
            } else {
              await opened.conn.close();
              opened = await open(ctx, next.origin, true, route);
              connections++;
              reused = false;
            }
            origin = next.origin;
            continue;
          }
          const sent = x.requestHead;
          return {
            url: urlOf(origin, target),
            request: { head: maskedHead(sent), bodyBytes: x.requestBodyBytes, chunked: input.chunked && sendBody !== undefined },
            response: download ? { ...responseJson(x, 'base64', ctx.codecs), body: { bytes: x.bodyBytes, truncated: false }, decoded: null } : responseJson(x, input.bodyEncoding, ctx.codecs),
            raw: rawJson(x),
            redirect: isRedirect ? { location: loc, url: resolveLocation(origin, target, loc).url } : null,
            redirects,
            timing: {
              connectMs: reused ? null : opened.connectMs,
              tlsMs: reused ? null : opened.tlsMs,
              firstByteMs: round(x.firstByteAt - x.sentAt),
              totalMs: round(x.doneAt),
            },
            connection: { reused, keepAlive: x.reusable, connections, via: hopJson(opened) },
          };
        }
      },
    }),
    sequence: operation({
      primary: ['paths', 'method'],
      summary: 'Several requests on one keep-alive connection, one after another or pipelined (reconnecting only when the server closes)',
      input: z.object({
        paths: z.array(pathInput).min(1).max(1000).describe('Request targets, in order'),
        method: z.enum(['GET', 'HEAD']).default('GET'),
        headers: headersInput,
        bodyEncoding,
        maxBodyBytes: z.number().int().min(0).max(MiB).default(64 * 1024).describe('Per response'),
        pipeline: z.number().int().min(1).max(32).default(1).describe('Requests in flight at once (HTTP/1.1 pipelining, RFC 9112 9.3.2); 1 waits for each response'),
      }),
      output: z.object({
        responses: z.array(
          z.object({ path: z.string(), status: z.number(), reason: z.string(), headers: fieldsOut, body: bodyOut, connection: z.number(), reused: z.boolean(), firstByteMs: z.number(), totalMs: z.number() }),
        ),
        connections: z.number(),
        pipelining: z
          .object({ asked: z.number(), used: z.number(), why: z.string().nullable() })
          .describe('Requests in flight asked for and used at the end; why names what stopped pipelining (a server that ends the connection after each response)'),
        totalMs: z.number(),
      }),
      text: (r) =>
        [...r.responses.map((x) => `#${x.connection}${x.reused ? ' (reused)' : ''} ${x.status} ${x.path} ${x.body.bytes} bytes ${x.totalMs.toFixed(1)} ms`), ...(r.pipelining.why ? [`not pipelined: ${r.pipelining.why}`] : [])].join('\n'),
      async run(ctx, input) {
        const origin: Origin = { scheme: input.tls === 'implicit' ? 'https' : 'http', host: input.host, port: input.port };
        const user = headerPairs(input.headers);
        const start = performance.now();
        const route = routeOf(input);
        let current: Opened | undefined;
        let connections = 0;
        // Responses read on the current connection; requests in flight at once, until a server shows it cannot take them.
        let onThis = 0;
        let depth = input.pipeline;
        let why: string | null = null;
        const responses = [];
        // RFC 9112 9.3.2: up to `pipeline` requests written before their responses are read, which come back in order.
        // A response that ends the connection voids the requests behind it; they go again on a new connection.
        const inFlight: { path: string; req: ExchangeRequest; sent: SentRequest & { sentAt: number }; t0: number; reused: boolean }[] = [];
        let next = 0;
        // The server closed a connection with pipelined requests on it before answering (HTTP/1.0 peers reset it when
        // requests arrive behind their response): the rest go again one at a time (RFC 9112 §9.3.1: GET and HEAD,
        // the only methods here, are idempotent).
        let fellBack = false;
        while (responses.length < input.paths.length) {
          if (!current) {
            current = await open(ctx, origin, connections > 0, route);
            connections++;
            onThis = 0;
            inFlight.length = 0;
            next = responses.length;
          }
          let f: (typeof inFlight)[number];
          let x: Awaited<ReturnType<typeof readResponse>>;
          try {
            while (inFlight.length < depth && next < input.paths.length) {
              const path = input.paths[next++];
              const proxied = viaOpened(current, origin, path);
              const req: ExchangeRequest = { method: input.method, target: proxied.target, headers: [...buildHeaders(origin, user, { chunked: false }), ...proxied.fields], maxBodyBytes: input.maxBodyBytes, maxRawBytes: 0, secretHead: proxied.fields.length > 0 };
              const t0 = performance.now();
              const sent = await writeRequest(current.conn, req);
              inFlight.push({ path, req, sent: { ...sent, sentAt: performance.now() - t0 }, t0, reused: next - 1 > responses.length || responses.at(-1)?.connection === connections });
            }
            f = inFlight.shift()!;
            x = await readResponse(current.conn, f.req, () => performance.now() - f.t0, f.sent);
          } catch (e) {
            if (classify(e).code !== 'closed' || depth === 1 || fellBack) throw e;
            fellBack = true;
            depth = 1;
            await current.conn.close();
            current = undefined;
            continue;
          }
          if (current.forward && x.head.status === 407) throw proxyAuthRefusal(x.head, current.forward.username);
          onThis++;
          const type = x.head.headers.find(([n]) => n === 'content-type')?.[1];
          responses.push({
            path: f.path,
            status: x.head.status,
            reason: x.head.reason,
            headers: x.head.headers,
            body: { ...bodyJson(x.body, input.bodyEncoding, type), bytes: x.bodyBytes, truncated: x.truncated },
            connection: connections,
            reused: f.reused,
            firstByteMs: round(x.firstByteAt - x.sentAt),
            totalMs: round(x.doneAt),
          });
          if (!x.reusable) {
            // RFC 9112 §9.3.2: pipelining needs a persistent connection. One that ends after its first response never is.
            if (why === null && input.pipeline > 1 && onThis === 1 && (next > responses.length || fellBack)) {
              why = persistence(x.head);
              depth = 1;
            }
            await current.conn.close();
            current = undefined;
          }
        }
        return { responses, connections, pipelining: { asked: input.pipeline, used: depth, why }, totalMs: round(performance.now() - start) };
      },
    }),
  },
});
