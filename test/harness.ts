// Starts the real Workers runtime for tests (workerd through Miniflare) and benchmarks (also through wrangler dev).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DOWNLOAD_CUT } from '../src/api/files.ts';
import type { Bundle } from '../bench/lib/workerd.ts';

/** The test deployment is private: it needs this token, like a deployment with ACCESS_TOKEN set. */
export const DEPLOYMENT_TOKEN = 'test-deployment-token';
/** Tunnel limits of the test development Worker, small enough to reach in a test. */
export const TUNNEL_IDLE_MS = 4000;
export const TUNNEL_QUOTA_BYTES = 8 * 1024 * 1024;

/** Headers for the given test Worker (the deployment one needs its token). */
export function authHeaders(kind: 'dev' | 'deployment'): Record<string, string> {
  return kind === 'deployment' ? { authorization: `Bearer ${DEPLOYMENT_TOKEN}` } : {};
}

export interface ServedWorker {
  url: string;
  stop(): Promise<void>;
  /** Everything the runtime and the Worker printed, kept in this file. */
  logPath: string;
}

export interface RunningWorker extends ServedWorker {
  child: ChildProcess;
}

/**
 * Lines of a Worker's log (startTestWorker's) that are defects whatever the tests said: an exception the
 * Worker left uncaught, the isolate out of memory, a fatal error.
 */
export function workerLogDefects(log: string): string[] {
  // Colour codes come before the words. A streamed download that fails after its first byte is aborted on
  // purpose (docs/files.md), and workerd reports every aborted response as an uncaught exception: not a defect.
  // A WebSocket the Worker closes soon after the upgrade reaches the client through Miniflare's entry Worker,
  // and workerd reports each such close as the response's connection lost, with no JavaScript frame; the same
  // bundle under `workerd serve` reports nothing for the same closes (test/tunnel.lab.test.ts asserts it). A
  // lost connection in the Worker's own code has its frame.
  return log
    .split('\n')
    .map((line) => line.replace(/\x1b\[[0-9;]*m/g, ''))
    .filter((line) => /\bUncaught\b|exceeded (its )?memory|Fatal JavaScript/i.test(line))
    .filter((line) => !line.includes(DOWNLOAD_CUT) && !(line.includes('Network connection lost.') && line.endsWith(NO_FRAME)));
}

/** How startTestWorker's log marks an exception the inspector reports without a JavaScript frame. */
const NO_FRAME = '(no JavaScript frame)';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface WorkerOptions {
  /** Worker variables, e.g. { ALLOW_TARGETS: 'loopback' }. */
  vars?: Record<string, string>;
  /** A CA for workerd to trust (test-only: the lab CA). */
  caPath?: string;
  port?: number;
}

/** Runs `wrangler dev` on a free port and waits until the API answers. */
export async function startWorker(opts: WorkerOptions = {}): Promise<RunningWorker> {
  const port = opts.port ?? (await freePort());
  const inspector = await freePort();
  const persist = mkdtempSync(join(tmpdir(), 'portolan-wrangler-'));
  // At debug level the log keeps wrangler's own events (bundles, config, reloads) and the source of every
  // uncaught exception (workerLogDefects reads it); PORTOLAN_WRANGLER_LOG sets another level.
  const args = ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector), '--persist-to', persist, '--log-level', process.env.PORTOLAN_WRANGLER_LOG ?? 'debug', '--show-interactive-dev-session=false'];
  // The lab CA is trusted the same way by connect()'s TLS (NODE_EXTRA_CA_CERTS below) and by Portolan's TLS engine.
  const vars = { ...(opts.caPath ? { TLS_TRUST_ANCHORS: readFileSync(opts.caPath, 'utf8') } : {}), ...opts.vars };
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  // No fetch of the request.cf sample from the internet: the Worker does not read it.
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
  if (opts.caPath) env.NODE_EXTRA_CA_CERTS = opts.caPath;
  const logPath = join(tmpdir(), `portolan-worker-${port}.log`);
  const log = openSync(logPath, 'w');
  const child = spawn('npx', args, { env, stdio: ['ignore', log, log], detached: true });
  closeSync(log);
  const output = () => readFileSync(logPath, 'utf8');
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await new Promise((r) => {
        const t = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // gone
          }
          r(undefined);
        }, 3000);
        child.once('exit', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
    }
    rmSync(persist, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output()}`);
    try {
      // Any HTTP answer means workerd serves (a private deployment answers 401).
      const res = await fetch(`${url}/api/runtime`);
      await res.body?.cancel();
      if (res.status < 500) return { url, stop, child, logPath };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`wrangler dev did not answer within 60 s:\n${output()}`);
}

/**
 * Writes every exception the inspector reports uncaught in the Worker, one line each (`[ERROR] Uncaught Error:
 * … <stack>`), as `wrangler dev` shows them; the runtime's own log does not say which isolate an exception
 * came from (Cloudflare's asset router, in front of the Worker, reports a body left unread as its own).
 * Returns what detaches.
 */
async function logExceptions(inspectorPort: number, write: (line: string) => void): Promise<() => void> {
  const { default: WebSocket } = await import('ws');
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { id: string; webSocketDebuggerUrl: string }[];
  const user = targets.find((t) => t.id.startsWith('core:user:'));
  if (!user) throw new Error(`no user Worker among the inspector's targets (${targets.map((t) => t.id).join(', ')})`);
  const ws = new WebSocket(user.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.on('message', (data) => {
    const m = JSON.parse(String(data));
    if (m.method !== 'Runtime.exceptionThrown') return;
    const d = m.params.exceptionDetails;
    const where = d.stackTrace?.callFrames?.length || d.scriptId ? (d.exception?.description ?? `at ${d.url}:${d.lineNumber + 1}`) : NO_FRAME;
    write(`[ERROR] ${d.text} ${where}`.replace(/\n/g, ' | '));
  });
  // Acknowledged before the first request, so nothing thrown by it is missed.
  await new Promise<void>((resolve) => {
    ws.on('message', (data) => JSON.parse(String(data)).id === 1 && resolve());
    ws.send(JSON.stringify({ id: 1, method: 'Runtime.enable' }));
  });
  return () => ws.close();
}

/**
 * Serves a bundle (the one `wrangler deploy` uploads) on workerd through Miniflare, as `wrangler dev` does
 * but without its ProxyWorker: a second workerd in front that relays every request and answers any that it
 * fails to relay (under load: "stream disconnected prematurely") with 503 "Your worker restarted
 * mid-request". Cloudflare's own asset worker serves web/dist; the rate limiter's Durable Object is in
 * memory; the lab CA is trusted by connect()'s TLS and by Portolan's TLS engine.
 */
export async function startTestWorker(bundle: Bundle, opts: WorkerOptions = {}): Promise<ServedWorker> {
  const port = opts.port ?? (await freePort());
  const inspectorPort = await freePort();
  const ca = opts.caPath ? readFileSync(opts.caPath, 'utf8') : undefined;
  const vars = { ...(ca ? { TLS_TRUST_ANCHORS: ca } : {}), ...opts.vars };
  const logPath = join(tmpdir(), `portolan-worker-${port}.log`);
  const log = createWriteStream(logPath);
  // Imported here: every test file imports this module, and only the test run starts Workers.
  const { Miniflare } = await import('miniflare');
  const mf = new Miniflare({
    host: '127.0.0.1',
    port,
    inspectorPort,
    modulesRoot: bundle.dir,
    modules: bundle.modules.map((f) => ({ type: f.endsWith('.wasm') ? ('CompiledWasm' as const) : f.endsWith('.bin') ? ('Data' as const) : ('ESModule' as const), path: join(bundle.dir, f) })),
    compatibilityDate: bundle.compatibilityDate,
    compatibilityFlags: bundle.compatibilityFlags,
    bindings: vars,
    durableObjects: { RATE_LIMITER: { className: 'RateLimitBucket', useSQLite: true } },
    assets: { directory: 'web/dist', binding: 'ASSETS', routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true } },
    // Miniflare's own network, with the lab CA beside the public ones.
    outboundService: { network: { allow: ['public', 'private', '240.0.0.0/4'], deny: [], tlsOptions: { trustBrowserCas: true, trustedCertificates: ca ? [ca] : [] } } },
    // No fetch of the request.cf sample from the internet: the Worker does not read it.
    cf: false,
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.pipe(log, { end: false });
      stderr.pipe(log, { end: false });
    },
  });
  try {
    await mf.ready;
  } catch (e) {
    log.end();
    throw new Error(`workerd (Miniflare) did not start: ${(e as Error).message}\n${readFileSync(logPath, 'utf8')}`);
  }
  const detach = await logExceptions(inspectorPort, (line) => log.write(`${line}\n`));
  const stop = async () => {
    detach();
    await mf.dispose();
    await new Promise((r) => log.end(r));
  };
  return { url: `http://127.0.0.1:${port}`, stop, logPath };
}

/** The Worker the test run started (scripts/test.ts sets these); `deployment` has no loopback allowance. */
export function workerUrl(kind: 'dev' | 'deployment' = 'dev'): string {
  const url = kind === 'dev' ? process.env.PORTOLAN_URL : process.env.PORTOLAN_DEPLOY_URL;
  if (!url) throw new Error(`run through \`npm test\` (scripts/test.ts), which starts workerd and sets ${kind === 'dev' ? 'PORTOLAN_URL' : 'PORTOLAN_DEPLOY_URL'}`);
  return url;
}

export interface ApiResult<T = any> {
  status: number;
  body: T;
}

/** POST /api/{protocol}/{operation} on the test Worker. */
export async function call<T = any>(protocol: string, operation: string, input: Record<string, unknown>, opts: { kind?: 'dev' | 'deployment'; transcript?: boolean } = {}): Promise<ApiResult<T>> {
  // One connection per call: workerd closes a connection idle for 5 s, and a test that computes for longer
  // (hashing a large expected file) would otherwise send its next request into a connection already closed.
  const res = await fetch(`${workerUrl(opts.kind)}/api/${protocol}/${operation}${opts.transcript ? '?transcript=1' : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close', ...authHeaders(opts.kind ?? 'dev') },
    body: JSON.stringify(input),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as T };
  } catch {
    throw new Error(`${protocol} ${operation}: HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 300)}`);
  }
}

export interface SessionClient {
  /** Sends a JSON control message or binary data. */
  send(msg: unknown): void;
  /** The first received JSON message that matches (removed from the inbox). */
  next(match: (m: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  /** Binary data received so far. */
  readonly data: Uint8Array[];
  /** JSON messages received and not yet taken by `next`. */
  readonly inbox: Record<string, any>[];
  /** Everything received as the session's credit counts it: bytes of binary data, characters of JSON text. */
  readonly received: number;
  close(): void;
  readonly closed: boolean;
  /** Resolves with the close code once the server has closed. */
  readonly done: Promise<number>;
}

/**
 * Opens an interactive session (GET /api/{protocol}/{operation} as a WebSocket) and sends the start
 * message. It acknowledges every message as it arrives (the session's credit flow control), unless
 * `manualAck` leaves that to the test.
 */
export async function openSession(protocol: string, operation: string, input: Record<string, unknown>, kind: 'dev' | 'deployment' = 'dev', opts: { manualAck?: boolean } = {}): Promise<SessionClient> {
  const url = `${workerUrl(kind).replace(/^http/, 'ws')}/api/${protocol}/${operation}`;
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const inbox: Record<string, any>[] = [];
  const data: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  let received = 0;
  const done = new Promise<number>((resolve) =>
    ws.addEventListener('close', (ev) => {
      closed = true;
      wake?.();
      resolve(ev.code);
    }),
  );
  ws.addEventListener('message', (ev) => {
    const text = typeof ev.data === 'string' ? ev.data : undefined;
    if (text !== undefined) inbox.push(JSON.parse(text));
    else data.push(new Uint8Array(ev.data as ArrayBuffer));
    const size = text?.length ?? (ev.data as ArrayBuffer).byteLength;
    received += size;
    if (!opts.manualAck && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ack', bytes: size }));
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot open ${url}`)), { once: true });
  });
  ws.send(JSON.stringify({ type: 'start', input }));
  return {
    send: (msg) => ws.send(msg instanceof Uint8Array ? msg : JSON.stringify(msg)),
    async next(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = inbox.findIndex(match);
        if (i >= 0) return inbox.splice(i, 1)[0];
        if (closed) throw new Error(`session closed; got ${JSON.stringify(inbox)}`);
        if (Date.now() > deadline) throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(inbox)}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
    },
    data,
    inbox,
    get received() {
      return received;
    },
    close: () => ws.close(),
    get closed() {
      return closed;
    },
    done,
  };
}
