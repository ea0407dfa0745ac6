// The HTTP API, generated from the registry: one Hono app for every host.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { PortolanError, classify, httpStatus, InvalidInput } from '../core/errors.ts';
import { runOperation, type HostEnv } from '../core/runner.ts';
import type { Protocol, DefinedOperation } from '../core/protocol.ts';
import type { ProtocolRegistry } from '../protocols/index.ts';
import { describeProtocol, openApiDocument, runtimeSupport } from './describe.ts';
import { capabilityMatrix } from '../protocols/matrix/index.ts';
import { coerceQuery, shortRoute } from './short.ts';
import { DEFAULT_TUNNEL_LIMITS, tunnelRoute, type TunnelLimits } from './tunnel.ts';
import { serveSession, type WebSocketAcceptor } from './websocket.ts';
import { DRAIN_LIMIT_BYTES, multipartUpload, serveTransfer, streamDownload, wantsFileStream, type BodyPipe } from './files.ts';
import { discardUnread, MultipartReader, multipartBoundary } from './multipart.ts';

export interface RateLimiter {
  /** Takes one token from `key`'s bucket; false when empty. */
  take(key: string): Promise<{ allowed: boolean; retryAfterSeconds?: number }>;
}

export interface ApiOptions {
  env: HostEnv;
  /** The protocols it serves, each evaluated when first asked for. */
  registry: ProtocolRegistry;
  /** When set, every /api and short-route request must carry it. */
  accessToken?: string;
  rateLimiter?: RateLimiter;
  /** Client address as the host sees it (Workers: CF-Connecting-IP). */
  clientAddress: (c: Context) => string;
  acceptWebSocket?: WebSocketAcceptor;
  maxBodyBytes?: number;
  /** Runtime description for /api/runtime. */
  runtimeInfo?: Record<string, unknown>;
  tunnelLimits?: TunnelLimits;
  /** The response body pipe for streamed downloads (workerd: FixedLengthStream when the size is known, so Content-Length is sent). */
  bodyPipe?: BodyPipe;
}

/** The JSON error body and status for anything thrown. */
export function errorResponse(c: Context, err: unknown): Response {
  const e = classify(err);
  const body: Record<string, unknown> = { ok: false, error: e.toJSON() };
  const transcript = (e as { transcript?: unknown }).transcript;
  if (transcript) body.transcript = transcript;
  const headers: Record<string, string> = {};
  const retry = e.detail?.retryAfterSeconds;
  if (e.code === 'rate_limited' && typeof retry === 'number') headers['retry-after'] = String(Math.ceil(retry));
  return c.json(body, httpStatus(e.code) as 400, headers);
}

export function createApp(opts: ApiOptions): Hono {
  const app = new Hono();

  app.onError(async (err, c) => {
    await discardUnread(c.req.raw, DRAIN_LIMIT_BYTES);
    return errorResponse(c, err);
  });
  app.notFound((c) => errorResponse(c, InvalidInput.field('path', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`)));

  // Access token for private deployments: a bearer header or ?token=.
  app.use('*', async (c, next) => {
    if (!opts.accessToken) return next();
    const header = c.req.header('authorization') ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : c.req.query('token');
    if (!given || !timingSafeEqual(given, opts.accessToken)) {
      return c.json({ ok: false, error: { code: 'invalid_input', message: 'this deployment needs an access token (Authorization: Bearer …)' } }, 401);
    }
    return next();
  });

  // Answered as every error is (app.onError): after reading and dropping the unread body, so the client reads the
  // answer instead of failing on its send, and its connection stays usable for the next request.
  const limitBody = bodyLimit({
    maxSize: opts.maxBodyBytes ?? 1024 * 1024,
    onError: async (c) => {
      await discardUnread(c.req.raw, DRAIN_LIMIT_BYTES);
      return errorResponse(c, InvalidInput.field('body', `larger than ${opts.maxBodyBytes ?? 1024 * 1024} bytes`));
    },
  });
  // A multipart upload streams to the operation as it arrives: no limit but the platform's (its input part is capped on its own).
  app.use('/api/*', (c, next) => (multipartBoundary(c.req.header('content-type')) !== undefined ? next() : limitBody(c, next)));

  const limited = async (c: Context, target?: string) => {
    if (!opts.rateLimiter) return;
    const client = await opts.rateLimiter.take(`client:${opts.clientAddress(c)}`);
    if (!client.allowed) throw rateLimited('client', client.retryAfterSeconds);
    if (target) {
      const t = await opts.rateLimiter.take(`target:${target.toLowerCase()}`);
      if (!t.allowed) throw rateLimited(`target ${target}`, t.retryAfterSeconds);
    }
  };

  app.get('/', async (c) => c.text(textIndex(new URL(c.req.url).origin, opts.env.dialer.runtime, await opts.registry.all())));

  // The registry and the host's capabilities never change while the app lives: each description is made once
  // (every protocol's JSON Schemas, megabytes and hundreds of milliseconds of CPU) and its text served after.
  let described: Promise<string> | undefined;
  let openApi: Promise<string> | undefined;
  const json = (c: Context, text: string) => c.body(text, 200, { 'content-type': 'application/json' });
  app.get('/api/protocols', async (c) => {
    described ??= opts.registry.all().then((all) => JSON.stringify({ runtime: opts.env.dialer.runtime, protocols: all.map((p) => describeProtocol(p, opts.env.dialer.capabilities)) }));
    return json(c, await described);
  });
  app.get('/api/openapi.json', async (c) => json(c, await (openApi ??= opts.registry.all().then((all) => JSON.stringify(openApiDocument(all))))));
  app.get('/api/runtime', (c) =>
    c.json({ runtime: opts.env.dialer.runtime, capabilities: [...opts.env.dialer.capabilities], ...opts.runtimeInfo }),
  );
  app.get('/api/capabilities', async (c) => {
    const protocols = await opts.registry.all();
    return c.json({ ...runtimeSupport(protocols), matrix: capabilityMatrix(protocols) });
  });

  if (opts.acceptWebSocket) {
    app.get('/api/tunnel', async (c) => {
      await limited(c, c.req.query('host'));
      return tunnelRoute(c, opts.env, opts.acceptWebSocket!, opts.tunnelLimits ?? DEFAULT_TUNNEL_LIMITS);
    });
  }

  const lookup = async (protocolId: string, opName: string): Promise<[Protocol, DefinedOperation]> => {
    const p = await opts.registry.load(protocolId);
    if (!p) throw InvalidInput.field('protocol', `unknown protocol ${JSON.stringify(protocolId)}; GET /api/protocols lists them`);
    const op = p.operations[opName];
    if (!op) throw InvalidInput.field('operation', `${p.id} has no operation ${JSON.stringify(opName)}; it has ${Object.keys(p.operations).join(', ')}`);
    return [p, op];
  };

  app.post('/api/:protocol/:operation', async (c) => {
    const [p, op] = await lookup(c.req.param('protocol'), c.req.param('operation'));
    const transcript = ['1', 'true'].includes(c.req.query('transcript') ?? '');
    const boundary = multipartBoundary(c.req.header('content-type'));
    if (boundary !== undefined) {
      if (op.transfer?.direction !== 'upload') throw InvalidInput.field('content-type', `${p.id} ${op.name} takes a JSON body; multipart/form-data is for upload operations`);
      if (!c.req.raw.body) throw InvalidInput.field('body', 'is empty: send part "input" (JSON) and part "file"');
      const reader = new MultipartReader(c.req.raw.body, boundary);
      try {
        const { input, source } = await multipartUpload(reader);
        await limited(c, String(input.host ?? ''));
        return c.json(await runOperation(opts.env, p, op, input, { transcript, signal: c.req.raw.signal, upload: source }));
      } catch (e) {
        await reader.drain(DRAIN_LIMIT_BYTES);
        throw e;
      } finally {
        reader.cancel();
      }
    }
    let body: unknown;
    try {
      const text = await c.req.text();
      body = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw InvalidInput.field('body', 'is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw InvalidInput.field('body', 'must be a JSON object');
    await limited(c, String((body as Record<string, unknown>).host ?? ''));
    if (wantsFileStream(c)) {
      return streamDownload(opts.env, p, op, body, { range: c.req.header('range'), signal: c.req.raw.signal, pipe: opts.bodyPipe, answerError: (e) => errorResponse(c, e), transcript });
    }
    const answer = await runOperation(opts.env, p, op, body, { transcript, signal: c.req.raw.signal });
    if (op.media && (c.req.header('accept') ?? '').includes(op.media.contentType)) return mediaResponse(op.media, answer);
    return c.json(answer);
  });

  app.get('/api/:protocol/:operation', async (c) => {
    const [p, op] = await lookup(c.req.param('protocol'), c.req.param('operation'));
    if (!op.session && !op.transfer) throw InvalidInput.field('method', `use POST /api/${p.id}/${op.name} with a JSON body`);
    if (!opts.acceptWebSocket) throw new PortolanError('unsupported_runtime', 'this host serves no WebSocket sessions');
    await limited(c, c.req.query('host'));
    const upgraded = opts.acceptWebSocket(c);
    if (!upgraded) throw InvalidInput.field('upgrade', `${p.id} ${op.name} is ${op.session ? 'an interactive session' : 'a file transfer'}: connect with Upgrade: websocket`);
    const query = coerceQuery(op, new URL(c.req.url).searchParams);
    if (op.session) void serveSession(upgraded.socket, opts.env, p, op, query);
    else void serveTransfer(upgraded.socket, opts.env, p, op, query);
    return upgraded.response;
  });

  app.get('/:protocol/:target/:extra{.*}?', async (c) => {
    const p = await opts.registry.load(c.req.param('protocol'));
    if (!p) return c.notFound();
    await limited(c, c.req.param('target'));
    return shortRoute(c, opts.env, p);
  });

  return app;
}

/** `GET /` answers curl with this text index; browsers (Accept: text/html) get the UI. */
export function wantsTextIndex(request: Request): boolean {
  return new URL(request.url).pathname === '/' && request.method === 'GET' && !(request.headers.get('accept') ?? '').includes('text/html');
}

/** What `curl HOST/` prints: how to call the API, then one line per protocol with its short route. */
export function textIndex(origin: string, runtime: string, protocols: readonly Protocol[]): string {
  const lines = [
    `Portolan: ${protocols.length} protocols over TCP from this ${runtime} host.`,
    '',
    `  curl ${origin}/{protocol}/{host[:port]}       the protocol's default operation, as text`,
    `  curl ${origin}/{protocol}/{host}?format=json  the same as JSON (or Accept: application/json)`,
    `  curl -X POST ${origin}/api/{protocol}/{operation} -H 'content-type: application/json' -d '{"host":"example.org"}'`,
    `  ${origin}/api/protocols       every protocol, operation and input schema`,
    `  ${origin}/api/openapi.json    the OpenAPI document`,
    `  ${origin}/                    the web UI, in a browser`,
    '',
  ];
  const width = Math.max(...protocols.map((p) => p.id.length));
  for (const p of protocols) {
    const ports = p.ports.map((x) => `${x.port}/${x.transport}`).join(',');
    const route = p.defaultOperation ? `/${p.id}/HOST runs ${p.defaultOperation}` : `POST /api/${p.id}/{${Object.keys(p.operations).join('|')}}`;
    lines.push(`${p.id.padEnd(width)}  ${ports.padEnd(12)} ${p.title}: ${route}`);
  }
  return lines.join('\n') + '\n';
}

/** An operation's result as its file (`media`), the timing in headers. */
function mediaResponse(media: NonNullable<DefinedOperation['media']>, answer: { result: unknown; timing: Record<string, number> }): Response {
  const bytes = media.body(answer.result);
  const headers: Record<string, string> = { 'content-type': media.contentType, 'content-length': String(bytes.length) };
  if (media.filename) headers['content-disposition'] = `inline; filename="${media.filename(answer.result)}"`;
  for (const [k, v] of Object.entries(answer.timing)) headers[`x-portolan-${k.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`)}`] = String(v);
  return new Response(bytes as BufferSource, { headers });
}

function rateLimited(what: string, retryAfterSeconds = 1): PortolanError {
  return new PortolanError('rate_limited', `too many requests for this ${what}; retry in ${Math.ceil(retryAfterSeconds)} s`, { retryAfterSeconds });
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
