// `portolan serve`: the Node host. The same Hono app as the Worker (src/api/app.ts) over node:http, the UI's
// static assets from web/dist, WebSocket sessions and the tunnel through `ws`, and the capability probe.
//
// How it works: at start the probe (probe.ts) tests UDP, privileged source ports and ICMP echo sockets on
// loopback; the dialer's capabilities follow from it and /api/runtime reports it. Requests under /api/ or
// a protocol's short route go to the app; anything else is a static asset (or the app's 404). An HTTP
// upgrade runs through the same app: the acceptor finds the pending upgrade by its Request and hands the
// socket to `ws`; when the app answers without upgrading (an error), that answer is written raw.
import { existsSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Context } from 'hono';
import { WebSocketServer, type WebSocket } from 'ws';
import { createApp, wantsTextIndex, type RateLimiter } from '../../api/app.ts';
import { tunnelLimitsFrom } from '../../api/tunnel.ts';
import type { ServerSocket, WebSocketAcceptor } from '../../api/websocket.ts';
import { InvalidInput, PortolanError } from '../../core/errors.ts';
import { parseCodeExecution, parsePolicy } from '../../guard/index.ts';
import { registry } from '../../protocols/index.ts';
import { serveAsset } from './assets.ts';
import { nodeHostEnv } from './env.ts';
import { BodyTooLarge, sendResponse, toRequest, writeRawResponse } from './http.ts';
import { probeRuntime, type RuntimeProbe } from './probe.ts';

export const DEFAULT_ASSETS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'web', 'dist');

export interface NodeHostOptions {
  /** 0 picks a free port. Default 8787. */
  port?: number;
  /** Default 127.0.0.1; a container sets 0.0.0.0. */
  host?: string;
  /** ALLOW_TARGETS: CIDRs, addresses or `loopback` beyond the public internet. Default: public targets only. */
  allowTargets?: string;
  accessToken?: string;
  /** `capacity/perSeconds` or `off`, like the Worker's RATE_LIMIT_CLIENT / RATE_LIMIT_TARGET. */
  rateLimitClient?: string;
  rateLimitTarget?: string;
  /** CODE_EXECUTION: `off` refuses operations that run code on the target. Default `on`. */
  codeExecution?: string;
  assetsDir?: string;
  /** Take the client address from X-Forwarded-For (behind a proxy you run). */
  trustProxy?: boolean;
  /** A probe result to use instead of probing (tests). */
  probe?: RuntimeProbe;
  /** The Worker's tunnel variables: TUNNEL_IDLE_MS, TUNNEL_QUOTA_BYTES, TUNNEL_BINARY_BUFFER_BYTES. */
  tunnelVars?: Parameters<typeof tunnelLimitsFrom>[0];
}

export interface RunningNodeHost {
  url: string;
  port: number;
  probe: RuntimeProbe;
  close(): Promise<void>;
}

interface Bucket {
  capacity: number;
  refillPerSecond: number;
}

function bucketSpec(spec: string | undefined, fallback: string, name: string): Bucket | undefined {
  const text = spec ?? fallback;
  if (text === 'off') return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m || Number(m[2]) === 0) throw InvalidInput.field(name, `${JSON.stringify(text)} must look like 60/60 (requests/seconds) or off`);
  return { capacity: Number(m[1]), refillPerSecond: Number(m[1]) / Number(m[2]) };
}

/**
 * Token buckets in memory, one per key: the Node host is one process, so no Durable Object is needed.
 * A side without a bucket (`off`) is not limited.
 */
export function memoryRateLimiter(client: Bucket | undefined, target: Bucket | undefined, maxKeys = 10_000): RateLimiter {
  const buckets = new Map<string, { tokens: number; updated: number }>();
  return {
    async take(key) {
      const cfg = key.startsWith('target:') ? target : client;
      if (!cfg) return { allowed: true };
      const now = Date.now();
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value!);
        b = { tokens: cfg.capacity, updated: now };
        buckets.set(key, b);
      }
      b.tokens = Math.min(cfg.capacity, b.tokens + ((now - b.updated) / 1000) * cfg.refillPerSecond);
      b.updated = now;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { allowed: true };
      }
      return { allowed: false, retryAfterSeconds: (1 - b.tokens) / cfg.refillPerSecond };
    },
  };
}

interface PendingUpgrade {
  req: http.IncomingMessage;
  socket: Duplex;
  head: Buffer;
  upgraded: boolean;
}

/** A ServerSocket usable at once, wired to the `ws` socket when the upgrade completes; `flow` is `ws`'s backpressure. */
function deferredSocket(): ServerSocket & { attach(ws: WebSocket): void } {
  let ws: WebSocket | undefined;
  const queued: (Uint8Array | string)[] = [];
  let closeWith: [number, string] | undefined;
  const onMessage: ((data: Uint8Array | string) => void)[] = [];
  const onClose: (() => void)[] = [];
  let closed = false;
  let paused = false;
  let drainWaiters: { bytes: number; resolve: () => void }[] = [];
  const buffered = () => (ws ? ws.bufferedAmount : queued.reduce((n, q) => n + (typeof q === 'string' ? q.length : q.byteLength), 0));
  // Called as each send reaches the network (`ws` calls back from the socket's write).
  const wakeDrained = () => {
    if (drainWaiters.length === 0) return;
    const now = buffered();
    const waiting = drainWaiters;
    drainWaiters = [];
    for (const w of waiting) {
      if (closed || now <= w.bytes) w.resolve();
      else drainWaiters.push(w);
    }
  };
  const fireClose = () => {
    if (closed) return;
    closed = true;
    wakeDrained();
    for (const l of onClose) l();
  };
  return {
    send(data) {
      if (!ws) return void queued.push(data);
      if (ws.readyState !== ws.OPEN) throw new PortolanError('closed', 'the WebSocket is closed');
      ws.send(data, wakeDrained);
    },
    close(code, reason) {
      if (!ws) closeWith = [code, reason];
      else ws.close(code, reason);
    },
    onMessage: (l) => void onMessage.push(l),
    onClose: (l) => void onClose.push(l),
    flow: {
      bufferedAmount: buffered,
      drained: (bytes) => (closed || buffered() <= bytes ? Promise.resolve() : new Promise<void>((resolve) => drainWaiters.push({ bytes, resolve }))),
      pause() {
        paused = true;
        ws?.pause();
      },
      resume() {
        paused = false;
        ws?.resume();
      },
    },
    attach(socket) {
      ws = socket;
      socket.on('message', (data, isBinary) => {
        // `ws` hands a Buffer (fragments as a list): a view of it, no copy.
        const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        const msg = isBinary ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) : buf.toString('utf8');
        for (const l of onMessage) l(msg);
      });
      socket.on('close', fireClose);
      socket.on('error', fireClose);
      if (paused) socket.pause();
      for (const q of queued.splice(0)) socket.send(q, wakeDrained);
      if (closeWith) socket.close(...closeWith);
    },
  };
}

export async function startNodeHost(opts: NodeHostOptions = {}): Promise<RunningNodeHost> {
  const probe = opts.probe ?? (await probeRuntime());
  const policy = parsePolicy({ ALLOW_TARGETS: opts.allowTargets });
  const codeExecution = parseCodeExecution(opts.codeExecution);
  const env = nodeHostEnv({ policy, probe, codeExecution });
  const clientBucket = bucketSpec(opts.rateLimitClient, '120/60', 'RATE_LIMIT_CLIENT');
  const targetBucket = bucketSpec(opts.rateLimitTarget, '60/60', 'RATE_LIMIT_TARGET');
  const assetsDir = opts.assetsDir ?? DEFAULT_ASSETS_DIR;

  // The subprotocol each upgrade answers with, as the route chose it (none unless chosen).
  const chosenProtocol = new WeakMap<http.IncomingMessage, string>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024, handleProtocols: (_offered, req) => chosenProtocol.get(req) ?? false });
  const pending = new WeakMap<Request, PendingUpgrade>();
  const acceptWebSocket: WebSocketAcceptor = (c: Context, opts) => {
    const up = pending.get(c.req.raw);
    if (!up || c.req.header('upgrade')?.toLowerCase() !== 'websocket') return undefined;
    up.upgraded = true;
    if (opts?.protocol) chosenProtocol.set(up.req, opts.protocol);
    const socket = deferredSocket();
    wss.handleUpgrade(up.req, up.socket, up.head, (ws) => socket.attach(ws));
    // node's Response cannot carry status 101: `ws` has already answered; this one is never sent.
    return { socket, response: new Response(null, { status: 204 }) };
  };

  const app = createApp({
    env,
    registry,
    accessToken: opts.accessToken || undefined,
    rateLimiter: clientBucket || targetBucket ? memoryRateLimiter(clientBucket, targetBucket) : undefined,
    clientAddress: (c) => {
      const forwarded = opts.trustProxy ? c.req.header('x-forwarded-for')?.split(',')[0]?.trim() : undefined;
      return forwarded || (c.env as { remoteAddress?: string } | undefined)?.remoteAddress || 'local';
    },
    acceptWebSocket,
    tunnelLimits: tunnelLimitsFrom(opts.tunnelVars ?? {}),
    runtimeInfo: {
      host: 'node',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      probe,
      policy: { allow: policy.allow.join(','), codeExecution: codeExecution ? 'on' : 'off' },
      assets: existsSync(join(assetsDir, 'index.html')),
    },
  });

  const protocolIds = new Set(registry.ids);
  const handle = async (request: Request, remoteAddress: string): Promise<Response> => {
    const url = new URL(request.url);
    const first = url.pathname.split('/')[1] ?? '';
    const bindings = { remoteAddress };
    if (url.pathname.startsWith('/api/') || protocolIds.has(first) || wantsTextIndex(request)) return app.fetch(request, bindings);
    if (request.method === 'GET' || request.method === 'HEAD') {
      const asset = serveAsset(assetsDir, url.pathname, request.method);
      if (asset) return asset;
    }
    return app.fetch(request, bindings);
  };

  const server = http.createServer();
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  let origin = '';

  server.on('request', async (req, res) => {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new PortolanError('closed', 'the client went away'));
    });
    try {
      let request: Request;
      try {
        request = await toRequest(req, origin, controller.signal);
      } catch (e) {
        if (!(e instanceof BodyTooLarge)) throw e;
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
        return void res.end(JSON.stringify({ ok: false, error: { code: 'invalid_input', message: `body: ${e.message}` } }));
      }
      await sendResponse(res, await handle(request, req.socket.remoteAddress ?? 'local'));
    } catch (e) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: { code: 'protocol_error', message: (e as Error).message } }));
    }
  });

  server.on('upgrade', async (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    try {
      const request = await toRequest(req, origin);
      const up: PendingUpgrade = { req, socket, head, upgraded: false };
      pending.set(request, up);
      const response = await handle(request, req.socket.remoteAddress ?? 'local');
      if (!up.upgraded) await writeRawResponse(socket, response);
    } catch {
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8787, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as net.AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  origin = `http://${shown}:${addr.port}`;
  return {
    url: origin,
    port: addr.port,
    probe,
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

/** `portolan serve` options from the environment (the Worker's variable names), flags override them. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): NodeHostOptions {
  return {
    port: env.PORT ? Number(env.PORT) : undefined,
    host: env.HOST,
    allowTargets: env.ALLOW_TARGETS,
    accessToken: env.ACCESS_TOKEN,
    rateLimitClient: env.RATE_LIMIT_CLIENT,
    rateLimitTarget: env.RATE_LIMIT_TARGET,
    codeExecution: env.CODE_EXECUTION,
    assetsDir: env.PORTOLAN_ASSETS,
    trustProxy: env.TRUST_PROXY === '1' || env.TRUST_PROXY === 'true',
    tunnelVars: { TUNNEL_IDLE_MS: env.TUNNEL_IDLE_MS, TUNNEL_QUOTA_BYTES: env.TUNNEL_QUOTA_BYTES, TUNNEL_BINARY_BUFFER_BYTES: env.TUNNEL_BINARY_BUFFER_BYTES },
  };
}
