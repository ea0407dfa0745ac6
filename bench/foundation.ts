// Foundation benchmarks, each figure beside a baseline measured in the same run:
// tunnel throughput (workerd vs direct TCP vs websockify), ping overhead, CPU per operation
// inside workerd, the Worker bundle, and idle tunnels at scale.
// Run: npx tsx bench/foundation.ts            (BENCH_TINY=1 for the quick configuration the tests use)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ensureLab, ports } from '../lab/index.ts';
import { freePort, startWorker, type RunningWorker } from '../test/harness.ts';

const tiny = process.env.BENCH_TINY === '1';
const MiB = 1024 * 1024;
const lab = ports.foundation;

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  goal?: string;
  pass?: boolean;
}

const figures: Figure[] = [];
function report(f: Figure): void {
  figures.push(f);
  const ratio = f.baseline ? `  ratio ${(f.value / f.baseline.value).toFixed(2)} vs ${f.baseline.name} (${f.baseline.value.toFixed(2)} ${f.unit})` : '';
  const goal = f.goal ? `  goal ${f.goal}: ${f.pass ? 'met' : 'NOT MET'}` : '';
  console.log(`${f.name}: ${f.value.toFixed(2)} ${f.unit}${ratio}${goal}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

/** The workerd process under a wrangler dev child. */
function workerdPid(root: number): number {
  const children = (pid: number): number[] => {
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('workerd')) return pid;
    } catch {
      // exited
    }
    queue.push(...children(pid));
  }
  throw new Error('workerd process not found');
}

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}
function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

// --- tunnel throughput -------------------------------------------------------------------------
// Each path carries `bytes` to the echo server and all of them back: both directions at once.

async function directTcp(bytes: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = net.connect(lab.echo, '127.0.0.1', async () => {
      const chunk = Buffer.alloc(256 * 1024);
      for (let sent = 0; sent < bytes; sent += chunk.length) if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    });
    const t0 = performance.now();
    let got = 0;
    s.on('data', (d) => {
      got += d.length;
      if (got >= bytes) {
        s.destroy();
        resolve(performance.now() - t0);
      }
    });
    s.on('error', reject);
  });
}

/** Through a WebSocket: Portolan's tunnel (credit acks both ways) or websockify (no flow control of its own). */
async function overWebSocket(url: string, bytes: number, acks: boolean): Promise<number> {
  const ws = await new Promise<WebSocket>((resolve, reject) => {
    const w = new WebSocket(url, acks ? [] : ['binary']);
    w.binaryType = 'arraybuffer';
    w.onopen = () => resolve(w);
    w.onerror = () => reject(new Error(`websocket to ${url} failed`));
  });
  const chunk = new Uint8Array(64 * 1024);
  const t0 = performance.now();
  let sent = 0;
  let acked = 0;
  let got = 0;
  return new Promise<number>((resolve) => {
    const pump = () => {
      // Keep at most 2 MiB in flight: below the tunnel's window, and a fair bound for websockify.
      while (sent < bytes && sent - (acks ? acked : got) < 2 * MiB) {
        ws.send(chunk);
        sent += chunk.length;
      }
    };
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') {
        const m = JSON.parse(e.data);
        if (m.type === 'ack') acked += m.bytes;
      } else {
        const n = (e.data as ArrayBuffer).byteLength;
        got += n;
        if (acks) ws.send(JSON.stringify({ type: 'ack', bytes: n }));
        if (got >= bytes) {
          ws.close();
          return resolve(performance.now() - t0);
        }
      }
      pump();
    };
    pump();
  });
}

async function websockify(): Promise<{ url: string; stop: () => void }> {
  if (spawnSync('which', ['websockify']).status !== 0) throw new Error('websockify is not installed (lab area "bench" installs it)');
  const port = await freePort();
  const proc = spawn('websockify', [`127.0.0.1:${port}`, `127.0.0.1:${lab.echo}`], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => net.connect(port, '127.0.0.1').on('connect', function (this: net.Socket) { this.destroy(); r(true); }).on('error', () => r(false)));
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `ws://127.0.0.1:${port}/`, stop: () => proc.kill() };
}

async function tunnelThroughput(worker: RunningWorker): Promise<void> {
  const bytes = tiny ? 4 * MiB : 256 * MiB;
  const rate = (ms: number) => bytes / MiB / (ms / 1000);
  const direct = rate(await directTcp(bytes));
  const ours = rate(await overWebSocket(`${worker.url.replace('http', 'ws')}/api/tunnel?host=127.0.0.1&port=${lab.echo}&window=${4 * MiB}`, bytes, true));
  const ws = await websockify();
  let theirs: number;
  try {
    theirs = rate(await overWebSocket(ws.url, bytes, false));
  } finally {
    ws.stop();
  }
  report({ name: `tunnel echo ${bytes / MiB} MiB each way`, value: ours, unit: 'MiB/s', baseline: { name: 'direct TCP', value: direct }, goal: '>= 0.8 of direct TCP', pass: ours >= 0.8 * direct });
  report({ name: `tunnel echo ${bytes / MiB} MiB vs websockify`, value: ours, unit: 'MiB/s', baseline: { name: 'websockify', value: theirs }, goal: '>= 2x websockify', pass: ours >= 2 * theirs });
}

// --- round trips and probes -------------------------------------------------------------------

async function pingOverhead(worker: RunningWorker): Promise<void> {
  const n = tiny ? 5 : 200;
  const bare: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => net.connect(lab.echo, '127.0.0.1').on('connect', function (this: net.Socket) { this.destroy(); resolve(); }).on('error', reject));
    bare.push(performance.now() - t0);
  }
  const res = await fetch(`${worker.url}/api/ping/tcp`, { method: 'POST', body: JSON.stringify({ host: '127.0.0.1', port: lab.echo, count: Math.min(n, 50), intervalMs: 0 }) });
  const api = (await res.json()).result.stats;
  report({ name: 'ping RTT reported by the API (mean)', value: api.avgMs, unit: 'ms', baseline: { name: 'bare Node connect (mean)', value: bare.reduce((a, b) => a + b, 0) / n }, goal: '<= 1 ms added', pass: api.avgMs - bare.reduce((a, b) => a + b, 0) / n <= 1 });
  // 1-byte round trip through the tunnel vs direct.
  const rounds = tiny ? 5 : 200;
  const direct = await new Promise<number[]>((resolve) => {
    const s = net.connect(lab.echo, '127.0.0.1');
    const times: number[] = [];
    let t0 = 0;
    s.on('connect', () => {
      t0 = performance.now();
      s.write('x');
    });
    s.on('data', () => {
      times.push(performance.now() - t0);
      if (times.length === rounds) {
        s.destroy();
        return resolve(times);
      }
      t0 = performance.now();
      s.write('x');
    });
  });
  const tunnel = await new Promise<number[]>((resolve, reject) => {
    const ws = new WebSocket(`${worker.url.replace('http', 'ws')}/api/tunnel?host=127.0.0.1&port=${lab.echo}`);
    ws.binaryType = 'arraybuffer';
    const times: number[] = [];
    let t0 = 0;
    ws.onerror = () => reject(new Error('tunnel failed'));
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') {
        if (JSON.parse(e.data).type === 'open') {
          t0 = performance.now();
          ws.send(new Uint8Array([120]));
        }
        return;
      }
      ws.send(JSON.stringify({ type: 'ack', bytes: 1 }));
      times.push(performance.now() - t0);
      if (times.length === rounds) {
        ws.close();
        return resolve(times);
      }
      t0 = performance.now();
      ws.send(new Uint8Array([120]));
    };
  });
  report({ name: '1-byte round trip through the tunnel (median)', value: median(tunnel), unit: 'ms', baseline: { name: 'direct TCP', value: median(direct) } });
}

async function cpuPerOperation(worker: RunningWorker): Promise<void> {
  const pid = workerdPid(worker.child.pid!);
  const n = tiny ? 10 : 300;
  const ops: [string, string, Record<string, unknown>][] = [
    ['ping', 'tcp', { port: lab.echo, count: 1 }],
    ['echo', 'send', { port: lab.echo }],
    ['daytime', 'get', { port: lab.daytime }],
    ['time', 'get', { port: lab.time }],
    ['qotd', 'get', { port: lab.qotd }],
    ['finger', 'query', { port: lab.finger, user: 'portolan' }],
    ['gopher', 'fetch', { port: lab.gopher }],
    ['dict', 'define', { port: lab.dict, word: 'portolan' }],
    ['graphite', 'send', { port: lab.carbonPlaintext, metrics: [{ path: 'portolan.bench.cpu', value: 1 }] }],
  ];
  // The HTTP request alone, to separate the API's cost from the protocol's.
  const call = (path: string, body?: object) => fetch(`${worker.url}${path}`, body ? { method: 'POST', body: JSON.stringify(body) } : {}).then((r) => r.arrayBuffer());
  const measure = async (fn: () => Promise<unknown>) => {
    for (let i = 0; i < 5; i++) await fn();
    const c0 = cpuMs(pid);
    for (let i = 0; i < n; i++) await fn();
    return (cpuMs(pid) - c0) / n;
  };
  const base = await measure(() => call('/api/runtime'));
  report({ name: 'workerd CPU per request: GET /api/runtime', value: base, unit: 'ms' });
  for (const [p, op, input] of ops) {
    const value = await measure(() => call(`/api/${p}/${op}`, { host: '127.0.0.1', ...input }));
    report({ name: `workerd CPU per ${p} ${op}`, value, unit: 'ms', baseline: { name: 'GET /api/runtime', value: base }, goal: '<= 10 ms (Workers Free plan)', pass: value <= 10 });
  }
}

async function idleTunnels(worker: RunningWorker): Promise<void> {
  const pid = workerdPid(worker.child.pid!);
  const n = tiny ? 20 : 1000;
  const before = rssKiB(pid);
  const sockets: WebSocket[] = [];
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`${worker.url.replace('http', 'ws')}/api/tunnel?host=127.0.0.1&port=${lab.echo}`);
    sockets.push(
      await new Promise<WebSocket>((resolve) => {
        ws.onmessage = (e) => typeof e.data === 'string' && JSON.parse(e.data).type === 'open' && resolve(ws);
        ws.onerror = () => {
          errors++;
          resolve(ws);
        };
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 500));
  const perTunnel = (rssKiB(pid) - before) / n;
  report({ name: `memory per idle tunnel (${n} open, ${errors} errors)`, value: perTunnel, unit: 'KiB', goal: '< 100 KiB', pass: perTunnel < 100 && errors === 0 });
  // Pings while they are open.
  const latencies = await Promise.all(
    Array.from({ length: tiny ? 10 : 200 }, async () => {
      const t0 = performance.now();
      await fetch(`${worker.url}/api/ping/tcp`, { method: 'POST', body: JSON.stringify({ host: '127.0.0.1', port: lab.echo, count: 1 }) }).then((r) => r.arrayBuffer());
      return performance.now() - t0;
    }),
  );
  report({ name: 'concurrent ping requests p50', value: percentile(latencies, 50), unit: 'ms' });
  report({ name: 'concurrent ping requests p99', value: percentile(latencies, 99), unit: 'ms' });
  for (const ws of sockets) ws.close();
}

function bundle(): void {
  const out = mkdtempSync(join(tmpdir(), 'portolan-bundle-'));
  const r = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrangler deploy --dry-run failed:\n${r.stderr}`);
  let raw = 0;
  let gz = 0;
  for (const f of readdirSync(out)) {
    if (!/\.(js|mjs|wasm)$/.test(f)) continue;
    const bytes = readFileSync(join(out, f));
    raw += statSync(join(out, f)).size;
    gz += gzipSync(bytes).length;
  }
  report({ name: 'Worker bundle raw', value: raw / 1024, unit: 'KiB' });
  report({ name: 'Worker bundle gzip', value: gz / 1024, unit: 'KiB', goal: '<= 1024 KiB', pass: gz <= 1024 * 1024 });
}

async function startup(): Promise<void> {
  const t0 = performance.now();
  const w = await startWorker({ vars: { ALLOW_TARGETS: 'loopback', RATE_LIMIT_CLIENT: 'off', RATE_LIMIT_TARGET: 'off' } });
  const ready = performance.now() - t0;
  const c0 = performance.now();
  await fetch(`${w.url}/api/protocols`).then((r) => r.arrayBuffer());
  const first = performance.now() - c0;
  const w0 = performance.now();
  await fetch(`${w.url}/api/protocols`).then((r) => r.arrayBuffer());
  const warm = performance.now() - w0;
  await w.stop();
  report({ name: 'wrangler dev to first answer', value: ready, unit: 'ms' });
  report({ name: 'first GET /api/protocols', value: first, unit: 'ms', baseline: { name: 'the same request warm', value: warm } });
}

export async function main(): Promise<Figure[]> {
  await ensureLab(['foundation', 'bench'], { quiet: true });
  bundle();
  await startup();
  const worker = await startWorker({ vars: { ALLOW_TARGETS: 'loopback', RATE_LIMIT_CLIENT: 'off', RATE_LIMIT_TARGET: 'off' } });
  try {
    await tunnelThroughput(worker);
    await pingOverhead(worker);
    await cpuPerOperation(worker);
    await idleTunnels(worker);
  } finally {
    await worker.stop();
  }
  const failed = figures.filter((f) => f.goal && !f.pass);
  console.log(`\n${figures.length} figures, ${failed.length} goals not met${failed.length ? `: ${failed.map((f) => f.name).join('; ')}` : ''}`);
  // The bundle limit fails the benchmark run (not the tests).
  if (figures.some((f) => f.name === 'Worker bundle gzip' && !f.pass)) process.exitCode = 1;
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
