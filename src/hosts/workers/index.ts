// The Worker entry: the generated API, the target guard and rate limits, static assets for the UI.
import type { Context } from 'hono';
import { createApp, wantsTextIndex } from '../../api/app.ts';
import { tunnelLimitsFrom } from '../../api/tunnel.ts';
import type { ServerSocket, WebSocketAcceptor } from '../../api/websocket.ts';
import { webCrypto } from '../../core/crypto.ts';
import { registry } from '../../protocols/index.ts';
import { createGuard, parseCodeExecution, parsePolicy } from '../../guard/index.ts';
import { dohWireResolver } from '../../protocols/dns/resolver.ts';
import { sshJumpHost } from '../../protocols/ssh/jump.ts';
import { proxyHandshake } from '../../protocols/socks/hop.ts';
import { WorkersDialer } from './dialer.ts';
import { rootStore } from './roots.ts';
import { durableObjectLimiter, type RateLimitBucket } from './ratelimit.ts';
import { zlibCodecs } from '../zlib.ts';

export { RateLimitBucket } from './ratelimit.ts';

// workerd reports a rejection nothing handled to no one: say it in the log, where the tests look for defects.
addEventListener('unhandledrejection', (event) => console.error('Uncaught (in promise)', event.reason));

export interface Env {
  ASSETS?: Fetcher;
  RATE_LIMITER?: DurableObjectNamespace<RateLimitBucket>;
  /** Comma-separated CIDRs (or `loopback`) this deployment may reach beyond the public internet. */
  ALLOW_TARGETS?: string;
  /** DNS-over-HTTPS endpoint (RFC 8484 wire format) used to check hostnames before connecting. */
  RESOLVER_URL?: string;
  ACCESS_TOKEN?: string;
  /** `capacity/perSeconds`, e.g. `60/60`; `off` disables. */
  RATE_LIMIT_CLIENT?: string;
  RATE_LIMIT_TARGET?: string;
  /** Tunnel limits: idle time in ms and bytes per tunnel (both directions). */
  TUNNEL_IDLE_MS?: string;
  TUNNEL_QUOTA_BYTES?: string;
  /** PEM certificates Portolan's TLS engine trusts besides Mozilla's roots (a private deployment's own CA). */
  TLS_TRUST_ANCHORS?: string;
  /** Binary tunnels (no backpressure on Workers): bytes sent past the client's last message, and bytes held for TCP. */
  TUNNEL_BINARY_BUFFER_BYTES?: string;
  /** `off` refuses every operation that runs code on the target (jupyter execute, cdp evaluate, ...); default `on`. */
  CODE_EXECUTION?: string;
}

const acceptWebSocket: WebSocketAcceptor = (c: Context, opts) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') return undefined;
  const pair = new WebSocketPair();
  const [client, server] = Object.values(pair) as [WebSocket, WebSocket];
  server.accept();
  // Newer compatibility dates deliver binary frames as Blob by default (the standard); ask for bytes.
  (server as unknown as { binaryType: string }).binaryType = 'arraybuffer';
  const socket: ServerSocket = {
    send: (data) => server.send(data),
    close: (code, reason) => server.close(code, reason),
    onMessage: (listener) =>
      server.addEventListener('message', (e) => listener(typeof e.data === 'string' ? e.data : toBytes(e.data))),
    onClose: (listener) => {
      server.addEventListener('close', () => listener());
      server.addEventListener('error', () => listener());
    },
  };
  const headers: HeadersInit = opts?.protocol ? { 'sec-websocket-protocol': opts.protocol } : {};
  return { socket, response: new Response(null, { status: 101, webSocket: client, headers }) };
};

function bucket(spec: string | undefined, fallback: string): { capacity: number; refillPerSecond: number } | undefined {
  const text = spec ?? fallback;
  if (text === 'off') return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) throw new TypeError(`rate limit ${JSON.stringify(text)} must look like 60/60 (requests/seconds) or off`);
  return { capacity: Number(m[1]), refillPerSecond: Number(m[1]) / Number(m[2]) };
}

let cached: { key: string; app: ReturnType<typeof createApp> } | undefined;

function appFor(env: Env) {
  const key = [env.ALLOW_TARGETS, env.RESOLVER_URL, env.ACCESS_TOKEN, env.RATE_LIMIT_CLIENT, env.RATE_LIMIT_TARGET, env.TUNNEL_IDLE_MS, env.TUNNEL_QUOTA_BYTES, env.TUNNEL_BINARY_BUFFER_BYTES, env.CODE_EXECUTION, env.TLS_TRUST_ANCHORS].join('|');
  if (cached?.key === key) return cached.app;
  const crypto = webCrypto();
  const anchors = rootStore(env.TLS_TRUST_ANCHORS);
  const dialer = new WorkersDialer({ crypto, anchors });
  const guard = createGuard({
    policy: parsePolicy({ ALLOW_TARGETS: env.ALLOW_TARGETS }),
    resolver: dohWireResolver(env.RESOLVER_URL ?? 'https://cloudflare-dns.com/dns-query', (input, init) => fetch(input, init)),
    runtime: 'workers',
    cloudflareCheck: true,
  });
  const codeExecution = parseCodeExecution(env.CODE_EXECUTION);
  const clientBucket = bucket(env.RATE_LIMIT_CLIENT, '120/60');
  const targetBucket = bucket(env.RATE_LIMIT_TARGET, '60/60');
  const rateLimiter = env.RATE_LIMITER && (clientBucket || targetBucket) ? durableObjectLimiter(env.RATE_LIMITER, clientBucket, targetBucket) : undefined;
  const app = createApp({
    env: { dialer, guard, crypto, codecs: zlibCodecs, jump: sshJumpHost, proxy: proxyHandshake, codeExecution },
    registry,
    accessToken: env.ACCESS_TOKEN || undefined,
    rateLimiter,
    clientAddress: (c) => c.req.header('cf-connecting-ip') ?? 'local',
    acceptWebSocket,
    // FixedLengthStream sends Content-Length, so a download cut short shows as a short body: workerd ends an
    // errored chunked body with a clean terminator (workerd issue 6818), which a client cannot tell from the end.
    bodyPipe: (length) => (length === null ? new IdentityTransformStream() : new FixedLengthStream(length)),
    runtimeInfo: { policy: { allow: env.ALLOW_TARGETS ?? '', codeExecution: codeExecution ? 'on' : 'off' } },
    tunnelLimits: tunnelLimitsFrom(env),
  });
  cached = { key, app };
  return app;
}

const protocolIds = new Set(registry.ids);

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const path = new URL(request.url).pathname;
    const first = path.split('/')[1] ?? '';
    if (path.startsWith('/api/') || protocolIds.has(first) || wantsTextIndex(request) || !env.ASSETS) {
      return appFor(env).fetch(request, env, ctx);
    }
    return env.ASSETS.fetch(request);
  },
} satisfies ExportedHandler<Env>;

/** Binary WebSocket data as bytes, whatever view the runtime hands over. */
function toBytes(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(0);
}
