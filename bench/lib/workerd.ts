// The Worker as a deployment runs it: the bundle `wrangler deploy --dry-run` would upload, served by
// `workerd serve` alone. No wrangler dev in front (its ProxyWorker is a second workerd that relays every
// request and WebSocket), no miniflare entry worker, and no reload when someone edits a source file in
// the shared tree, which makes wrangler dev restart the Worker mid-measurement.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { freePort } from '../../test/harness.ts';

export interface Bundle {
  dir: string;
  /** Module files in upload order (the entry first). */
  modules: string[];
  rawBytes: number;
  gzipBytes: number;
  compatibilityDate: string;
  compatibilityFlags: string[];
}

/** Strips comments from wrangler.jsonc (strings kept as they are). */
function jsonc(text: string): any {
  return JSON.parse(text.replace(/("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_, s: string | undefined) => s ?? ''));
}

/** Builds the Worker exactly as `wrangler deploy` would upload it. */
export function buildBundle(): Bundle {
  const dir = mkdtempSync(join(tmpdir(), 'portolan-bundle-'));
  const r = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', dir], { encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' } });
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${r.stderr}${r.stdout}`);
  const config = jsonc(readFileSync('wrangler.jsonc', 'utf8'));
  const main = 'index.js';
  const modules = readdirSync(dir)
    .filter((f) => /\.(js|mjs|wasm|bin)$/.test(f))
    .sort((a, b) => (a === main ? -1 : b === main ? 1 : a.localeCompare(b)));
  if (modules[0] !== main) throw new Error(`no ${main} in the dry-run output (${readdirSync(dir).join(', ')})`);
  let rawBytes = 0;
  let gzipBytes = 0;
  for (const f of modules) {
    rawBytes += statSync(join(dir, f)).size;
    gzipBytes += gzipSync(readFileSync(join(dir, f))).length;
  }
  // BENCH_COMPAT_FLAGS=a,b tries compatibility flags before they go into wrangler.jsonc.
  const extraFlags = (process.env.BENCH_COMPAT_FLAGS ?? '').split(',').filter(Boolean);
  return { dir, modules, rawBytes, gzipBytes, compatibilityDate: config.compatibility_date, compatibilityFlags: [...(config.compatibility_flags ?? []), ...extraFlags] };
}

export interface RunningWorkerd {
  url: string;
  pid: number;
  /** From spawn to the first answer of GET /api/runtime. */
  startMs: number;
  /** The V8 inspector's port, when started with `inspector: true`. */
  inspectorPort?: number;
  /** Everything workerd printed so far. */
  output(): string;
  stop(): Promise<void>;
}

const capnpString = (s: string) => JSON.stringify(s);

/** Serves a bundle with `workerd serve`, the variables as text bindings, the lab CA trusted for TLS. */
export async function startWorkerd(bundle: Bundle, opts: { vars?: Record<string, string>; caPath?: string; inspector?: boolean } = {}): Promise<RunningWorkerd> {
  const port = await freePort();
  const inspectorPort = opts.inspector ? await freePort() : undefined;
  // capnp resolves `embed` paths relative to the config file, so the config sits beside the bundle.
  const dir = bundle.dir;
  const own = [`config-${port}.capnp`, `ca-${port}.pem`];
  const embed = (f: string) => capnpString(f);
  const modules = bundle.modules.map((f) =>
    f.endsWith('.wasm') ? `(name = ${capnpString(f)}, wasm = embed ${embed(f)})` : f.endsWith('.bin') ? `(name = ${capnpString(f)}, data = embed ${embed(f)})` : `(name = ${capnpString(f)}, esModule = embed ${embed(f)})`,
  );
  let tls = '';
  if (opts.caPath) {
    copyFileSync(opts.caPath, join(dir, own[1]));
    tls = `, tlsOptions = (trustedCertificates = [embed ${capnpString(own[1])}])`;
  }
  const vars = { ...(opts.caPath ? { TLS_TRUST_ANCHORS: readFileSync(opts.caPath, 'utf8') } : {}), ...opts.vars };
  const bindings = Object.entries(vars).map(([k, v]) => `(name = ${capnpString(k)}, text = ${capnpString(v)})`);
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # connect() and fetch() leave through this network; loopback ("local") is allowed for the lab.
    (name = "internet", network = (allow = ["public", "private", "local"]${tls})),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],${inspectorPort ? '\n  v8Flags = ["--expose-gc"],' : ''}
);
const worker :Workerd.Worker = (
  modules = [${modules.join(', ')}],
  compatibilityDate = ${capnpString(bundle.compatibilityDate)},
  compatibilityFlags = [${bundle.compatibilityFlags.map(capnpString).join(', ')}],
  bindings = [${bindings.join(', ')}],
);
`;
  const configPath = join(dir, own[0]);
  writeFileSync(configPath, config);
  const binary: string = createRequire(import.meta.url)('workerd').default;
  const t0 = performance.now();
  const child = spawn(binary, ['serve', configPath, ...(inspectorPort ? [`--inspector-addr=127.0.0.1:${inspectorPort}`] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const f of own) rmSync(join(dir, f), { force: true });
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`workerd exited (${child.exitCode}):\n${output}`);
    }
    try {
      const res = await fetch(`${url}/api/runtime`);
      await res.arrayBuffer();
      if (res.status < 500) return { url, pid: child.pid!, startMs: performance.now() - t0, stop, inspectorPort, output: () => output };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await stop();
  throw new Error(`workerd did not answer within 30 s:\n${output}`);
}

export function removeBundle(bundle: Bundle): void {
  rmSync(bundle.dir, { recursive: true, force: true });
}

/** Variables every benchmark Worker gets: the lab is on loopback, and no rate limit skews a figure. */
export const BENCH_VARS = { ALLOW_TARGETS: 'loopback', RATE_LIMIT_CLIENT: 'off', RATE_LIMIT_TARGET: 'off' } as const;

/**
 * The isolate's live heap after a full garbage collection, through the V8 inspector (needs
 * `inspector: true`): what counts against a Worker's 128 MB memory limit, unlike the process RSS,
 * which also holds workerd's own buffers for every socket and connection. `backingBytes`: the
 * ArrayBuffers' contents, outside the heap.
 */
export async function isolateHeap(w: RunningWorkerd): Promise<{ usedBytes: number; embedderBytes: number; backingBytes: number }> {
  const { call, context, close } = await inspectorSession(w);
  try {
    await call('Runtime.enable');
    // V8 frees a collected ArrayBuffer's memory after the collection, on another thread; the next collection
    // waits for that. Two, then, for backing stores that are all accounted.
    await call('Runtime.evaluate', { expression: 'gc()', contextId: context() });
    await call('Runtime.evaluate', { expression: 'gc()', contextId: context() });
    const usage = await call('Runtime.getHeapUsage');
    return { usedBytes: usage.usedSize, embedderBytes: usage.embedderHeapUsedSize ?? 0, backingBytes: usage.backingStorageSize ?? 0 };
  } finally {
    close();
  }
}

export interface InspectorSession {
  /** A DevTools protocol call; rejects with the inspector's error, or after `timeoutMs` (10 s) without an answer. */
  call(method: string, params?: object, timeoutMs?: number): Promise<any>;
  /** The Worker's execution context (once Runtime.enable has announced it). */
  context(): number;
  /** Every event of this method, as it comes. */
  on(method: string, listener: (params: any) => void): void;
  close(): void;
}

/** A DevTools protocol session with the Worker's isolate (needs `inspector: true`). */
export async function inspectorSession(w: RunningWorkerd): Promise<InspectorSession> {
  if (!w.inspectorPort) throw new Error('workerd was not started with inspector: true');
  const { default: WebSocket } = await import('ws');
  const [target] = (await (await fetch(`http://127.0.0.1:${w.inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const ws = new WebSocket(target.webSocketDebuggerUrl, { maxPayload: 1024 * 1024 * 1024 });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  let next = 0;
  let context = 0;
  const waiting = new Map<number, (m: any) => void>();
  const listeners = new Map<string, ((params: any) => void)[]>();
  ws.on('message', (data) => {
    const m = JSON.parse(String(data));
    if (m.method === 'Runtime.executionContextCreated') context = m.params.context.id;
    if (m.method) for (const l of listeners.get(m.method) ?? []) l(m.params);
    if (m.id) waiting.get(m.id)?.(m);
  });
  return {
    call: (method, params = {}, timeoutMs = 10_000) =>
      new Promise<any>((resolve, reject) => {
        const id = ++next;
        const timer = setTimeout(() => reject(new Error(`inspector: no answer to ${method}`)), timeoutMs);
        waiting.set(id, (m) => {
          waiting.delete(id);
          clearTimeout(timer);
          if (m.error) reject(new Error(`inspector: ${method}: ${m.error.message}`));
          else resolve(m.result);
        });
        ws.send(JSON.stringify({ id, method, params }));
      }),
    context: () => context,
    on: (method, listener) => listeners.set(method, [...(listeners.get(method) ?? []), listener]),
    close: () => ws.close(),
  };
}

/**
 * The least a tunnel can cost on workerd: a Worker that only pipes a WebSocket to a socket (no API, no
 * policy, no flow control), speaking just enough of the tunnel's protocol for the same client. With
 * `readBytes`, it reads the socket into buffers of that size (a BYOB reader); otherwise with workerd's
 * default reader (at most 4 KiB a read, and the least memory per idle socket).
 */
export function minimalTunnel(readBytes?: number, otherwise = `new Response('{}')`): string {
  const pump = readBytes
    ? `const reader = socket.readable.getReader({ mode: 'byob' });
      for (;;) { const { value, done } = await reader.read(new Uint8Array(${readBytes})); if (done) break; server.send(value); }
      server.send(JSON.stringify({ type: 'eof' })); server.close(1000);`
    : `const reader = socket.readable.getReader();
      for (;;) { const { value, done } = await reader.read(); if (done) break; server.send(value); }
      server.send(JSON.stringify({ type: 'eof' })); server.close(1000);`;
  return `import { connect } from 'cloudflare:sockets';
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname !== '/api/tunnel') return ${otherwise};
    const [client, server] = Object.values(new WebSocketPair());
    server.accept();
    server.binaryType = 'arraybuffer';
    const socket = connect({ hostname: url.searchParams.get('host'), port: Number(url.searchParams.get('port')) });
    const writer = socket.writable.getWriter();
    server.addEventListener('message', (e) => { if (typeof e.data !== 'string') writer.write(new Uint8Array(e.data)); });
    socket.opened.then(async () => {
      server.send(JSON.stringify({ type: 'open', window: 1048576 }));
      ${pump}
    });
    return new Response(null, { status: 101, webSocket: client });
  },
};
`;
}

/**
 * The least a file transfer through workerd can cost: a Worker that connects to `?port=` on loopback and
 * - for a GET, pipes the socket into its response body, reading with a BYOB reader whose reads grow with what
 *   they bring (faster here than handing \`socket.readable\` to the Response);
 * - for a POST with \`mode=pipe\`, pipes the request body into the socket inside the runtime (no JavaScript per chunk);
 * - for a POST with \`mode=js\`, reads the body in JavaScript (BYOB, 256 KiB buffers reused) and writes each chunk
 *   while reading the next: what any Worker that looks at an upload's bytes (a multipart parser) starts from.
 */
const minimalTransfer = `import { connect } from 'cloudflare:sockets';
export default {
  async fetch(request) {
    const params = new URL(request.url).searchParams;
    const socket = connect({ hostname: '127.0.0.1', port: Number(params.get('port')) });
    if (request.method === 'POST' && params.get('mode') === 'pipe') {
      await request.body.pipeTo(socket.writable);
      return new Response('ok');
    }
    if (request.method === 'POST') {
      const reader = request.body.getReader({ mode: 'byob' });
      const writer = socket.writable.getWriter();
      const spare = [];
      let written = Promise.resolve();
      for (;;) {
        const { value, done } = await reader.read(spare.pop() ?? new Uint8Array(262144));
        if (done) break;
        await written;
        written = writer.write(value).then(() => { spare.push(new Uint8Array(value.buffer)); });
      }
      await written;
      await writer.close();
      return new Response('ok');
    }
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    const reader = socket.readable.getReader({ mode: 'byob' });
    (async () => {
      for (let size = 4096; ; ) {
        const { value, done } = await reader.read(new Uint8Array(size));
        if (done) break;
        size = Math.min(262144, Math.max(4096, 2 * value.length));
        await writer.write(value);
      }
      await writer.close();
    })();
    return new Response(readable);
  },
};
`;

/** The minimal transfer Worker in a workerd of its own. */
export async function startMinimalTransfer(bundle: Bundle): Promise<RunningWorkerd> {
  const dir = mkdtempSync(join(tmpdir(), 'portolan-minimal-transfer-'));
  writeFileSync(join(dir, 'index.js'), minimalTransfer);
  const w = await startWorkerd({ ...bundle, dir, modules: ['index.js'] });
  return { ...w, stop: async () => { await w.stop(); rmSync(dir, { recursive: true, force: true }); } };
}

/**
 * The minimal Worker in a workerd of its own (`inspector`: as startWorkerd's). `carrying`: its module also
 * imports Portolan's bundle and passes it every other request, so that its isolate holds the same code and
 * heap as Portolan's while the same few lines pipe: what a tunnel costs in Portolan's isolate before any of
 * the tunnel's own code runs.
 */
export async function startMinimal(bundle: Bundle, readBytes?: number, opts: { inspector?: boolean; carrying?: boolean } = {}): Promise<RunningWorkerd> {
  const dir = mkdtempSync(join(tmpdir(), 'portolan-minimal-'));
  let modules = ['index.js'];
  let code = minimalTunnel(readBytes);
  if (opts.carrying) {
    // Every other request is Portolan's: the readiness check builds its app, as a first request does.
    modules = ['pipe.js', ...bundle.modules];
    code = `import portolan from './index.js';\n${minimalTunnel(readBytes, 'portolan.fetch(request, env, ctx)')}`;
    for (const f of bundle.modules) copyFileSync(join(bundle.dir, f), join(dir, f));
  }
  writeFileSync(join(dir, modules[0]), code);
  const w = await startWorkerd({ ...bundle, dir, modules }, opts);
  return { ...w, stop: async () => { await w.stop(); rmSync(dir, { recursive: true, force: true }); } };
}
