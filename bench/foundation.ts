// Foundation benchmarks, each figure beside a baseline measured in the same run, rounds interleaved so
// load on this shared machine falls on both sides alike:
//   tunnel throughput and 1-byte round trips (workerd, wrangler dev, websockify, direct TCP), with the CPU
//   each relay spends per MiB; probe overhead (the API's ping RTT vs a bare connect); CPU per operation
//   inside workerd against the Workers Free plan's 10 ms; the bundle and its startup; idle tunnels and
//   concurrent requests at increasing N.
// The Worker is measured as deployed (the dry-run bundle under `workerd serve`) and, for the tunnel, also
// behind `wrangler dev` (a second workerd relays every frame). bench/README.md explains how to read it.
// Run: npx tsx bench/foundation.ts [section...]   (BENCH_TINY=1: the quick configuration the tests run)
//   sections: bundle startup tunnel download ping cpu concurrency idle (default: all)
//   BENCH_AGAINST=<dir>: also run the tunnel from another build's dry-run output (e.g. before a change),
//   interleaved with this one, to compare the two in the same run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { caPath, ensureLab, ports } from '../lab/index.ts';
import { freePort, startWorker, type RunningWorker } from '../test/harness.ts';
import { cpuMs, mainThreadCpuMs, rssKiB, treeCpuMs, wranglerWorkerd } from './lib/proc.ts';
import { finish, interleave, machine, median, pairedRatio, percentile, report, say, tiny, trimmedMean } from './lib/report.ts';
import { BENCH_VARS, buildBundle, isolateHeap, removeBundle, startMinimal, startWorkerd, type Bundle, type RunningWorkerd } from './lib/workerd.ts';
import { MAX_MESSAGE } from '../src/api/tunnel.ts';

const MiB = 1024 * 1024;
const lab = ports.foundation;

// --- WebSocket clients (the `ws` package: Node's leanest client, the same for every relay) -----------

function wsUrl(httpUrl: string, path: string): string {
  return httpUrl.replace(/^http/, 'ws') + path;
}

/** Opens a tunnel and resolves once the server says the TCP connection is open. */
function openTunnel(url: string, deflate = false): Promise<{ ws: WebSocket; window: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: deflate });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(String(data));
      if (m.type === 'open') resolve({ ws, window: m.window });
      else if (m.type === 'error') reject(new Error(`tunnel: ${m.code}: ${m.message}`));
    });
    ws.on('error', reject);
    ws.on('close', (code) => reject(new Error(`tunnel closed (${code}) before it opened`)));
  });
}

/** A tunnel in websockify's `binary` subprotocol: open once the handshake is answered (it connects first). */
async function openBinaryTunnel(url: string): Promise<{ ws: WebSocket; window: number }> {
  const ws = await openWebsockify(url, true);
  if (ws.protocol !== 'binary') throw new Error(`the tunnel answered subprotocol ${JSON.stringify(ws.protocol)}, not binary`);
  return { ws, window: 0 };
}

function openWebsockify(url: string, deflate: boolean): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['binary'], { perMessageDeflate: deflate });
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

/**
 * A tunnel client's acknowledgements as docs/tunnel.md advises: a quarter window at once, the rest 5 ms after
 * the message that brought it (a stream of small messages carries few acks).
 */
function acker(ws: WebSocket, window: number): (bytes: number) => void {
  let owed = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const send = () => {
    clearTimeout(timer);
    timer = undefined;
    if (owed > 0 && ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'ack', bytes: owed }));
    owed = 0;
  };
  return (bytes) => {
    owed += bytes;
    if (owed >= window / 4) send();
    else timer ??= setTimeout(send, 5);
  };
}

/**
 * Sends `bytes` to the echo server and reads them all back, both directions at once, never more than
 * `inFlight` bytes unanswered (sent and not yet echoed back): the same bound for every relay. The credit
 * protocol (`window`: the one the server announced) must also keep within the server's acks and acknowledges
 * what it reads as docs/tunnel.md advises; the others (`window` 0) have no flow control of their own.
 */
async function echoOverWebSocket(ws: WebSocket, bytes: number, inFlight: number, window: number): Promise<{ ms: number; messages: number }> {
  const acks = window > 0;
  const ack = acker(ws, window);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  let acked = 0;
  let got = 0;
  let messages = 0;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const pump = () => {
      while (sent < bytes && sent - got < inFlight && (!acks || sent - acked < window)) {
        ws.send(chunk);
        sent += chunk.length;
      }
    };
    ws.removeAllListeners('message');
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) {
        const m = JSON.parse(String(data));
        if (m.type === 'ack') acked += m.bytes;
        else if (m.type === 'error' || m.type === 'eof') return reject(new Error(`tunnel: ${String(data)}`));
      } else {
        got += data.length;
        messages++;
        if (acks) ack(data.length);
        if (got >= bytes) return resolve({ ms: performance.now() - t0, messages });
      }
      pump();
    });
    ws.once('close', (code) => reject(new Error(`closed (${code}) after ${got} of ${bytes} bytes`)));
    pump();
  });
}

function directEcho(bytes: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = net.connect(lab.echo, '127.0.0.1');
    const t0 = performance.now();
    s.on('connect', async () => {
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      for (let sent = 0; sent < bytes; sent += chunk.length) if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    });
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

/** 1-byte round trips over one connection: `n` timed after 3 untimed. */
async function roundTrips(n: number, send: () => void, arrived: (cb: () => void) => void): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n + 3; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      arrived(r);
      send();
    });
    if (i >= 3) times.push(performance.now() - t0);
  }
  return times;
}

async function directRtt(n: number): Promise<number[]> {
  const s = await new Promise<net.Socket>((resolve, reject) => {
    const c = net.connect(lab.echo, '127.0.0.1', () => resolve(c)).on('error', reject);
  });
  s.setNoDelay(true);
  let waiter: (() => void) | undefined;
  s.on('data', () => waiter?.());
  const times = await roundTrips(n, () => s.write('x'), (cb) => (waiter = cb));
  s.destroy();
  return times;
}

/** `window`: the credit protocol's, whose client acknowledges what it reads; 0 for relays without acks. */
async function wsRtt(ws: WebSocket, n: number, window: number): Promise<number[]> {
  let waiter: (() => void) | undefined;
  const ack = acker(ws, window);
  ws.removeAllListeners('message');
  ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return;
    if (window > 0) ack(data.length);
    waiter?.();
  });
  return roundTrips(n, () => ws.send(Buffer.from('x')), (cb) => (waiter = cb));
}

async function startWebsockify(): Promise<{ url: string; pid: number; stop: () => void }> {
  if (spawnSync('which', ['websockify']).status !== 0) throw new Error('websockify is not installed (lab area "bench" installs it)');
  const port = await freePort();
  const proc = spawn('websockify', [`127.0.0.1:${port}`, `127.0.0.1:${lab.echo}`], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => net.connect(port, '127.0.0.1').on('connect', function (this: net.Socket) { this.destroy(); r(true); }).on('error', () => r(false)));
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `ws://127.0.0.1:${port}/`, pid: proc.pid!, stop: () => proc.kill() };
}

// --- the relays under test ---------------------------------------------------------------------------

interface Relay {
  name: string;
  /** Opens a connection to the lab echo server through this relay. */
  open(): Promise<{ ws: WebSocket; window: number }>;
  acks: boolean;
  /** CPU of the relay's processes so far, ms. */
  cpu(): number;
  /** Which processes cpu() reads: a run during which they changed (a wrangler dev reload) is repeated. */
  identity(): string;
}

/** The tunnel to the lab's echo server. */
const ECHO_TUNNEL = `/api/tunnel?host=127.0.0.1&port=${lab.echo}`;

/** A Worker in a workerd of its own, opened as a credit-protocol client opens a tunnel (the piping Workers answer alike). */
function onWorkerd(name: string, w: RunningWorkerd, acks: boolean): Relay {
  return { name, open: () => openTunnel(wsUrl(w.url, ECHO_TUNNEL), true), acks, cpu: () => cpuMs(w.pid), identity: () => String(w.pid) };
}

/**
 * The clients offer permessage-deflate, as browsers do; websockify declines it, and so does workerd with
 * the Worker's compatibility flag no_web_socket_compression (wrangler.jsonc). wrangler dev's own proxy
 * accepts it, whatever the Worker's flags.
 */
function relays(wd: RunningWorkerd, dev: RunningWorker, wsfy: { url: string; pid: number }, minimal: RunningWorkerd, against?: RunningWorkerd): Relay[] {
  const extra: Relay[] = against ? [onWorkerd('tunnel on workerd, BENCH_AGAINST build', against, true)] : [];
  return [
    onWorkerd('tunnel on workerd', wd, true),
    {
      name: 'tunnel via wrangler dev',
      open: () => openTunnel(wsUrl(dev.url, ECHO_TUNNEL), true),
      acks: true,
      cpu: () => {
        const p = wranglerWorkerd(dev.child.pid!);
        return cpuMs(p.proxy) + cpuMs(p.runtime);
      },
      identity: () => JSON.stringify(wranglerWorkerd(dev.child.pid!)),
    },
    { name: 'websockify', open: async () => ({ ws: await openWebsockify(wsfy.url, true), window: 0 }), acks: false, cpu: () => treeCpuMs(wsfy.pid), identity: () => String(wsfy.pid) },
    onWorkerd('minimal piping Worker on workerd', minimal, false),
    { name: 'tunnel on workerd, binary', open: () => openBinaryTunnel(wsUrl(wd.url, ECHO_TUNNEL)), acks: false, cpu: () => cpuMs(wd.pid), identity: () => String(wd.pid) },
    ...extra,
  ];
}

/** What each relay's rounds measured, by relay name (`direct` too). */
type Figures = Record<'rate' | 'serverCpu' | 'clientCpu' | 'messageKiB' | 'rtt' | 'rttRound', Record<string, number[]>>;

function figures(names: string[]): Figures {
  const each = () => Object.fromEntries(['direct', ...names].map((n) => [n, [] as number[]]));
  return { rate: each(), serverCpu: each(), clientCpu: each(), messageKiB: each(), rtt: each(), rttRound: each() };
}

async function tunnelFigures(bundle: Bundle, wd: RunningWorkerd, dev: RunningWorker, against?: RunningWorkerd): Promise<void> {
  const bytes = tiny ? 4 * MiB : 256 * MiB;
  const rounds = tiny ? 1 : 5;
  const floorRounds = tiny ? 1 : 24;
  const rttN = tiny ? 20 : 200;
  const wsfy = await startWebsockify();
  // The floor of any tunnel on workerd: the runtime's own cost of relaying, each read as large as ours at most
  // (a piping Worker reading 64 KiB ran as fast: 0.99x in 12 paired rounds).
  const minimal = await startMinimal(bundle, MAX_MESSAGE);
  // The same lines in an isolate that holds Portolan's bundle: what the isolate costs before the tunnel's code runs.
  const carrying = await startMinimal(bundle, MAX_MESSAGE, { carrying: true });
  try {
    const list = relays(wd, dev, wsfy, minimal, against);
    const inIsolate = onWorkerd("minimal piping Worker in Portolan's isolate", carrying, false);
    // Every relay's echo client keeps the same bytes in flight (sent, not yet echoed back): 4 MiB, half the credit
    // protocol's default window. A credit client also keeps within the server's acks, which come a little after
    // what they cover: a window no larger than what the stream keeps in flight stops the server's reads now and
    // then (bench/README.md).
    const probe = await list[0].open();
    const inFlight = 4 * MiB;
    if (probe.window < inFlight) throw new Error(`the tunnel's default window (${probe.window}) is below the echo's ${inFlight} bytes in flight`);
    const compression = probe.ws.extensions ? `workerd accepted "${probe.ws.extensions}"` : 'workerd declines it';
    probe.ws.close();
    const all = figures(list.map((r) => r.name));
    // The goals against the runtime's floor come from rounds of their own: the two protocols and the piping
    // Worker alone and in Portolan's isolate, back to back, in turn first (each round of the first set also runs
    // wrangler dev and websockify, whose load moves a ratio between relays that ran seconds apart by ±0.15).
    const [ours, dev2, theirs, floor, binary, other] = list.map((r) => r.name);
    const isolate = inIsolate.name;
    const tight = figures([ours, binary, floor, isolate]);
    let retries = 0;
    const entries: Record<string, () => Promise<void>> = {
      direct: async () => {
        all.rate.direct.push(bytes / MiB / ((await directEcho(bytes)) / 1000));
        const t = await directRtt(rttN);
        all.rtt.direct.push(...t);
        all.rttRound.direct.push(median(t));
      },
    };
    const measure = async (r: Relay, f: Figures) => {
      for (let attempt = 0; ; attempt++) {
        try {
          const { ws, window } = await r.open();
          const id = r.identity();
          const c0 = r.cpu();
          const u0 = process.cpuUsage();
          const credit = r.acks ? window : 0;
          const { ms, messages } = await echoOverWebSocket(ws, bytes, inFlight, credit);
          f.messageKiB[r.name].push(bytes / 1024 / messages);
          await new Promise((res) => setTimeout(res, 100)); // let a forked relay child be reaped
          const u = process.cpuUsage(u0);
          if (r.identity() !== id) throw new Error(`${r.name}: the relay restarted during the run`);
          f.serverCpu[r.name].push((r.cpu() - c0) / (bytes / MiB));
          f.clientCpu[r.name].push((u.user + u.system) / 1000 / (bytes / MiB));
          f.rate[r.name].push(bytes / MiB / (ms / 1000));
          const t = await wsRtt(ws, rttN, credit);
          f.rtt[r.name].push(...t);
          f.rttRound[r.name].push(median(t));
          ws.close();
          return;
        } catch (e) {
          // wrangler dev restarts the Worker when a source file in the shared tree changes.
          if (attempt >= 2) throw e;
          retries++;
          await new Promise((res) => setTimeout(res, 2000));
        }
      }
    };
    for (const r of list) entries[r.name] = () => measure(r, all);
    await interleave(rounds, entries);
    await interleave(floorRounds, Object.fromEntries([...list, inIsolate].filter((r) => r.name in tight.rate).map((r) => [r.name, () => measure(r, tight)])));
    const { rate, serverCpu, clientCpu, messageKiB, rtt, rttRound } = all;
    const n = `${bytes / MiB} MiB each way, median of ${rounds}`;
    report({ name: `echo throughput, ${ours} (${n})`, value: median(rate[ours]), unit: 'MiB/s', baseline: { name: 'direct TCP', value: median(rate.direct) }, ratio: pairedRatio(rate[ours], rate.direct), goal: '>= 0.8 of direct TCP', pass: pairedRatio(rate[ours], rate.direct) >= 0.8, note: `the client offers permessage-deflate as browsers do: ${compression}` });
    report({ name: `echo throughput, ${ours} vs websockify`, value: median(rate[ours]), unit: 'MiB/s', baseline: { name: theirs, value: median(rate[theirs]) }, ratio: pairedRatio(rate[ours], rate[theirs]), goal: '>= 2x websockify', pass: pairedRatio(rate[ours], rate[theirs]) >= 2 });
    report({ name: `echo throughput, ${dev2}`, value: median(rate[dev2]), unit: 'MiB/s', baseline: { name: ours, value: median(rate[ours]) }, ratio: pairedRatio(rate[dev2], rate[ours]) });
    report({ name: `echo throughput, ${theirs}`, value: median(rate[theirs]), unit: 'MiB/s', baseline: { name: 'direct TCP', value: median(rate.direct) }, ratio: pairedRatio(rate[theirs], rate.direct) });
    report({ name: `echo throughput, ${floor}`, value: median(rate[floor]), unit: 'MiB/s', baseline: { name: 'direct TCP', value: median(rate.direct) }, ratio: pairedRatio(rate[floor], rate.direct), note: `${pairedRatio(rate[floor], rate[theirs]).toFixed(2)}x websockify; the runtime alone, with no API, policy or flow control` });
    // What Portolan's isolate costs the same piping lines: the larger heap each garbage collection goes through.
    const m = `median of ${floorRounds} rounds of the two protocols and the piping Worker, alone and in Portolan's isolate`;
    report({ name: `echo throughput, ${isolate} vs alone (${m})`, value: median(tight.rate[isolate]), unit: 'MiB/s', baseline: { name: floor, value: median(tight.rate[floor]) }, ratio: pairedRatio(tight.rate[isolate], tight.rate[floor]), note: `CPU per MiB ${pairedRatio(tight.serverCpu[isolate], tight.serverCpu[floor]).toFixed(2)}x; the same lines, with Portolan's bundle loaded beside them` });
    // The runtime's floor: what the tunnel costs beyond the same Worker only piping, in each protocol; and beside
    // the piping Worker alone, what the tunnel and Portolan's isolate cost together.
    for (const name of [ours, binary]) {
      const r = pairedRatio(tight.rate[name], tight.rate[isolate]);
      const alone = `${pairedRatio(tight.rate[name], tight.rate[floor]).toFixed(2)}x the piping Worker alone`;
      report({ name: `echo throughput, ${name} vs the piping Worker in its isolate`, value: median(tight.rate[name]), unit: 'MiB/s', baseline: { name: isolate, value: median(tight.rate[isolate]) }, ratio: r, goal: '>= 0.95x the piping Worker', pass: r >= 0.95, note: `${alone}; ${pairedRatio(rate[name], rate[theirs]).toFixed(2)}x websockify in the first rounds` });
      const t = pairedRatio(tight.rttRound[name], tight.rttRound[isolate]);
      report({ name: `1-byte round trip, ${name} vs the piping Worker in its isolate`, value: median(tight.rtt[name]), unit: 'ms', baseline: { name: isolate, value: median(tight.rtt[isolate]) }, ratio: t, goal: '<= 1.1x the piping Worker', pass: t <= 1.1, note: `${pairedRatio(tight.rttRound[name], tight.rttRound[floor]).toFixed(2)}x the piping Worker alone` });
      const u = pairedRatio(tight.serverCpu[name], tight.serverCpu[isolate]);
      report({ name: `relay CPU per MiB each way, ${name} vs the piping Worker in its isolate`, value: median(tight.serverCpu[name]), unit: 'ms', baseline: { name: isolate, value: median(tight.serverCpu[isolate]) }, ratio: u, goal: '<= 1.2x the piping Worker', pass: u <= 1.2, note: `${pairedRatio(tight.serverCpu[name], tight.serverCpu[floor]).toFixed(2)}x the piping Worker alone` });
    }
    if (other) report({ name: `echo throughput, ${other}`, value: median(rate[other]), unit: 'MiB/s', baseline: { name: ours, value: median(rate[ours]) }, ratio: pairedRatio(rate[other], rate[ours]) });
    for (const name of [ours, dev2, floor, binary, ...(other ? [other] : [])]) {
      report({ name: `relay CPU per MiB each way, ${name}`, value: median(serverCpu[name]), unit: 'ms', baseline: { name: theirs, value: median(serverCpu[theirs]) }, note: `client CPU ${median(clientCpu[name]).toFixed(1)} ms/MiB vs ${median(clientCpu[theirs]).toFixed(1)} with websockify; data messages to the client ${median(messageKiB[name]).toFixed(1)} KiB on average vs ${median(messageKiB[theirs]).toFixed(1)}` });
    }
    for (const name of [ours, dev2, theirs, floor, binary, ...(other ? [other] : [])]) {
      report({ name: `1-byte round trip, ${name} (median of ${rtt[name].length})`, value: median(rtt[name]), unit: 'ms', baseline: { name: 'direct TCP', value: median(rtt.direct) }, ratio: pairedRatio(rttRound[name], rttRound.direct), note: `p99 ${percentile(rtt[name], 99).toFixed(2)} ms` });
    }
    if (retries) say(`(${retries} tunnel runs repeated after a wrangler dev reload)`);
  } finally {
    wsfy.stop();
    await minimal.stop();
    await carrying.stop();
  }
}

/** A TCP server that sends `bytes` to each connection as fast as the socket takes them, then closes. */
async function sourceServer(bytes: number): Promise<{ port: number; close: () => void }> {
  const chunk = Buffer.alloc(64 * 1024, 0x63);
  const srv = net.createServer(async (s) => {
    s.on('error', () => {});
    for (let sent = 0; sent < bytes && !s.destroyed; sent += chunk.length) if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
    s.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

/**
 * Reads everything a tunnel delivers until its end: the credit protocol's eof (each message acknowledged),
 * or in the `binary` subprotocol the close with 1000.
 */
async function downloadOverTunnel(url: string, binary = false): Promise<{ ms: number; bytes: number }> {
  // Listening from the start: the source sends as soon as the tunnel opens.
  const ws = binary ? new WebSocket(url, ['binary'], { perMessageDeflate: true }) : new WebSocket(url, { perMessageDeflate: true });
  // Acknowledged as docs/tunnel.md advises, by the window the server announces (its open message comes first).
  let ack: (bytes: number) => void = () => {};
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    let got = 0;
    ws.on('error', reject);
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        // In `binary` mode on Workers the only sign of a reading client is a message from it: an empty one
        // every 8 MiB keeps the stream going (docs/tunnel.md "Binary mode").
        if (binary && Math.floor((got + data.length) / (8 * MiB)) > Math.floor(got / (8 * MiB))) ws.send(Buffer.alloc(0));
        got += data.length;
        if (!binary) ack(data.length);
      } else {
        const m = JSON.parse(String(data));
        if (m.type === 'open') ack = acker(ws, m.window);
        else if (m.type === 'eof') {
          resolve({ ms: performance.now() - t0, bytes: got });
          ws.close();
        }
      }
    });
    ws.once('close', (code) => (binary && code === 1000 ? resolve({ ms: performance.now() - t0, bytes: got }) : reject(new Error(`closed (${code}) after ${got} bytes`))));
  });
}

async function directDownload(port: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => net.connect(port, '127.0.0.1').on('data', () => {}).on('end', () => resolve(performance.now() - t0)).on('error', reject));
}

/**
 * One direction, from a source faster than any relay (a download: SFTP, HTTP): what the tunnel's reads
 * cost when data waits in the socket. The echo figures above are paced by the lab's echo server.
 */
async function downloadFigures(bundle: Bundle, wd: RunningWorkerd, against?: RunningWorkerd): Promise<void> {
  const bytes = tiny ? 4 * MiB : 256 * MiB;
  // A download of 256 MiB takes a third of a second: 12 rounds, or one slow round moves a paired median.
  const rounds = tiny ? 1 : 12;
  const src = await sourceServer(bytes);
  const minimal = await startMinimal(bundle, MAX_MESSAGE);
  const url = (w: RunningWorkerd) => wsUrl(w.url, `/api/tunnel?host=127.0.0.1&port=${src.port}`);
  type Key = 'ours' | 'binary' | 'floor' | 'against';
  const rate: Record<string, number[]> = { direct: [], ours: [], binary: [], floor: [], against: [] };
  const cpu: Record<Key, number[]> = { ours: [], binary: [], floor: [], against: [] };
  const through = (w: RunningWorkerd, key: Key, binary = false) => async () => {
    const c0 = cpuMs(w.pid);
    const r = await downloadOverTunnel(url(w), binary);
    if (r.bytes !== bytes) throw new Error(`download through ${key}: ${r.bytes} of ${bytes} bytes`);
    cpu[key].push((cpuMs(w.pid) - c0) / (bytes / MiB));
    rate[key].push(bytes / MiB / (r.ms / 1000));
  };
  try {
    const entries: Record<string, () => Promise<void>> = {
      direct: async () => void rate.direct.push(bytes / MiB / ((await directDownload(src.port)) / 1000)),
      ours: through(wd, 'ours'),
      binary: through(wd, 'binary', true),
      floor: through(minimal, 'floor'),
    };
    if (against) entries.against = through(against, 'against');
    await interleave(rounds, entries);
  } finally {
    src.close();
    await minimal.stop();
  }
  const n = `${bytes / MiB} MiB from a local source, median of ${rounds}`;
  report({ name: `download throughput, tunnel on workerd (${n})`, value: median(rate.ours), unit: 'MiB/s', baseline: { name: 'direct TCP', value: median(rate.direct) }, ratio: pairedRatio(rate.ours, rate.direct), note: `workerd CPU ${median(cpu.ours).toFixed(2)} ms/MiB` });
  report({ name: 'download throughput, minimal piping Worker on workerd', value: median(rate.floor), unit: 'MiB/s', baseline: { name: 'direct TCP', value: median(rate.direct) }, ratio: pairedRatio(rate.floor, rate.direct), note: `workerd CPU ${median(cpu.floor).toFixed(2)} ms/MiB` });
  for (const [key, name] of [['ours', 'tunnel on workerd'], ['binary', 'tunnel on workerd, binary']] as const) {
    const r = pairedRatio(rate[key], rate.floor);
    report({ name: `download throughput, ${name} vs the piping Worker`, value: median(rate[key]), unit: 'MiB/s', baseline: { name: 'minimal piping Worker', value: median(rate.floor) }, ratio: r, goal: '>= 0.95x the piping Worker', pass: r >= 0.95 });
    const c = pairedRatio(cpu[key], cpu.floor);
    report({ name: `download workerd CPU per MiB, ${name} vs the piping Worker`, value: median(cpu[key]), unit: 'ms', baseline: { name: 'minimal piping Worker', value: median(cpu.floor) }, ratio: c, goal: '<= 1.2x the piping Worker', pass: c <= 1.2 });
  }
  if (against) {
    report({ name: 'download throughput, tunnel on workerd, BENCH_AGAINST build', value: median(rate.against), unit: 'MiB/s', baseline: { name: 'this build', value: median(rate.ours) }, ratio: pairedRatio(rate.against, rate.ours) });
    report({ name: 'download workerd CPU per MiB, BENCH_AGAINST build', value: median(cpu.against), unit: 'ms', baseline: { name: 'this build', value: median(cpu.ours) }, ratio: pairedRatio(cpu.against, cpu.ours) });
  }
}

// --- probe overhead ------------------------------------------------------------------------------------

async function bareConnect(port: number): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) =>
    net
      .connect(port, '127.0.0.1')
      .on('connect', function (this: net.Socket) {
        this.destroy();
        resolve();
      })
      .on('error', reject),
  );
  return performance.now() - t0;
}

async function post(url: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return { ok: false, error: { code: `http_${res.status}`, message: text.slice(0, 200) } };
  }
}

async function pingOverhead(wd: RunningWorkerd): Promise<void> {
  const rounds = tiny ? 3 : 20;
  const count = 10;
  const api: number[] = [];
  const bare: number[] = [];
  const request: number[] = [];
  const requestBare: number[] = [];
  await post(wd.url, '/api/ping/tcp', { host: '127.0.0.1', port: lab.echo, count: 3, intervalMs: 0 });
  for (let r = 0; r < rounds; r++) {
    const body = await post(wd.url, '/api/ping/tcp', { host: '127.0.0.1', port: lab.echo, count, intervalMs: 0 });
    if (!body.ok) throw new Error(`ping failed: ${JSON.stringify(body.error)}`);
    api.push(...body.result.probes.map((p: { rttMs: number }) => p.rttMs));
    for (let i = 0; i < count; i++) bare.push(await bareConnect(lab.echo));
    const t0 = performance.now();
    await post(wd.url, '/api/ping/tcp', { host: '127.0.0.1', port: lab.echo, count: 1 });
    request.push(performance.now() - t0);
    requestBare.push(await bareConnect(lab.echo));
  }
  const added = trimmedMean(api) - trimmedMean(bare);
  report({
    name: `TCP ping RTT reported by the API (5% trimmed mean of ${api.length})`,
    value: trimmedMean(api),
    unit: 'ms',
    baseline: { name: 'bare Node connect', value: trimmedMean(bare) },
    goal: '<= 1 ms added',
    pass: added <= 1,
    note: `added ${added.toFixed(2)} ms; workerd's clock reads whole ms, so only a mean is meaningful; max ${Math.max(...api)} ms vs ${Math.max(...bare).toFixed(2)} ms`,
  });
  report({ name: 'POST /api/ping/tcp count=1, whole request (median)', value: median(request), unit: 'ms', baseline: { name: 'bare Node connect (median)', value: median(requestBare) } });
}

// --- CPU per operation ------------------------------------------------------------------------------------

interface Op {
  label: string;
  path: string;
  body: Record<string, unknown>;
}

async function operations(): Promise<Op[]> {
  const h = { host: '127.0.0.1' };
  const ops: Op[] = [
    { label: 'ping tcp (1 probe)', path: '/api/ping/tcp', body: { ...h, port: lab.echo, count: 1 } },
    { label: 'echo send', path: '/api/echo/send', body: { ...h, port: lab.echo } },
    { label: 'daytime get', path: '/api/daytime/get', body: { ...h, port: lab.daytime } },
    { label: 'time get', path: '/api/time/get', body: { ...h, port: lab.time } },
    { label: 'qotd get', path: '/api/qotd/get', body: { ...h, port: lab.qotd } },
    { label: 'finger query', path: '/api/finger/query', body: { ...h, port: lab.finger, user: 'portolan' } },
    { label: 'gopher fetch', path: '/api/gopher/fetch', body: { ...h, port: lab.gopher } },
    { label: 'dict define', path: '/api/dict/define', body: { ...h, port: lab.dict, word: 'portolan' } },
    { label: 'graphite send', path: '/api/graphite/send', body: { ...h, port: lab.carbonPlaintext, metrics: [{ path: 'portolan.bench.cpu', value: 1 }] } },
  ];
  if (tiny) return ops;
  // The SSH and database operations, with the credentials their lab areas export.
  await ensureLab(['ssh', 'databases-sql', 'databases-kv'], { quiet: true });
  const { sshFacts, clientKey } = await import('../lab/servers/ssh.ts');
  const { sqlFacts } = await import('../lab/servers/databases-sql.ts');
  const { kvFacts } = await import('../lab/servers/databases-kv.ts');
  const ssh = { ...h, port: sshFacts.port };
  const pw = sshFacts.users.password;
  const pg = { ...h, port: ports.databases.postgres, user: sqlFacts.postgres.users.scram.user, password: sqlFacts.postgres.users.scram.password, database: sqlFacts.postgres.database };
  const my = { ...h, port: ports.databases.mariadb, user: sqlFacts.mariadb.users.native.user, password: sqlFacts.mariadb.users.native.password, database: sqlFacts.mariadb.database };
  const kv = ports['databases-kv'];
  ops.push(
    { label: 'ssh probe', path: '/api/ssh/probe', body: ssh },
    { label: 'ssh exec (password)', path: '/api/ssh/exec', body: { ...ssh, username: pw.user, password: pw.password, command: 'true' } },
    { label: 'ssh exec (ed25519 key)', path: '/api/ssh/exec', body: { ...ssh, username: sshFacts.users.ed25519.user, privateKey: clientKey('ed25519'), command: 'true' } },
    { label: 'ssh sftp-get (small file)', path: '/api/ssh/sftp-get', body: { ...ssh, username: pw.user, password: pw.password, path: sshFacts.helloFile.path } },
    { label: 'postgres query (SCRAM, SELECT 1)', path: '/api/postgres/query', body: { ...pg, sql: 'SELECT 1' } },
    { label: 'postgres query (1,000 rows)', path: '/api/postgres/query', body: { ...pg, sql: 'SELECT g, md5(g::text) FROM generate_series(1, 1000) g' } },
    { label: 'mysql query (native password, SELECT 1)', path: '/api/mysql/query', body: { ...my, sql: 'SELECT 1' } },
    { label: 'redis command (AUTH + GET)', path: '/api/redis/command', body: { ...h, port: kv.redis, password: kvFacts.redis.password, args: ['GET', 'portolan:bench'] } },
    { label: 'memcached version', path: '/api/memcached/version', body: { ...h, port: kv.memcached } },
  );
  return ops;
}

async function cpuPerOperation(wd: RunningWorkerd): Promise<void> {
  const rounds = tiny ? 2 : 5;
  const batch = tiny ? 3 : 40;
  const runtime = () => fetch(`${wd.url}/api/runtime`).then((r) => r.arrayBuffer());
  // CPU of `batch` calls, per call: the isolate's thread, and the whole process (with V8's GC and
  // compiler threads). Rounds alternate the request alone and the operation.
  const whole: number[] = [];
  const perCall = async (fn: () => Promise<unknown>, all?: number[]) => {
    const c0 = mainThreadCpuMs(wd.pid);
    const p0 = cpuMs(wd.pid);
    for (let i = 0; i < batch; i++) await fn();
    all?.push((cpuMs(wd.pid) - p0) / batch);
    return (mainThreadCpuMs(wd.pid) - c0) / batch;
  };
  for (let i = 0; i < 20; i++) await runtime();
  say(`CPU per request: workerd's isolate thread (JavaScript plus the event loop's HTTP, socket and TLS work) per call, median of ${rounds} rounds of ${batch}; the whole process, with V8's GC threads, in brackets. Cloudflare bills the isolate's JavaScript, so both are upper bounds.`);
  for (const op of await operations()) {
    const first = await post(wd.url, op.path, op.body);
    if (!first.ok) {
      report({ name: `workerd CPU per ${op.label}`, value: NaN, unit: 'ms', goal: '<= 10 ms (Workers Free plan)', pass: false, note: `failed: ${JSON.stringify(first.error).slice(0, 200)}` });
      continue;
    }
    for (let i = 0; i < 3; i++) await post(wd.url, op.path, op.body);
    const base: number[] = [];
    const value: number[] = [];
    const walls: number[] = [];
    whole.length = 0;
    for (let r = 0; r < rounds; r++) {
      base.push(await perCall(runtime));
      value.push(
        await perCall(async () => {
          const t0 = performance.now();
          const body = await post(wd.url, op.path, op.body);
          walls.push(performance.now() - t0);
          if (!body.ok) throw new Error(`${op.label} failed: ${JSON.stringify(body.error)}`);
        }, whole),
      );
    }
    const v = median(value);
    report({ name: `workerd CPU per ${op.label}`, value: v, unit: 'ms', baseline: { name: 'GET /api/runtime', value: median(base) }, ratio: pairedRatio(value, base), goal: '<= 10 ms (Workers Free plan)', pass: v <= 10, note: `whole process ${median(whole).toFixed(2)} ms; wall p50 ${median(walls).toFixed(1)} ms` });
  }
}

// --- scale: concurrent requests, idle tunnels --------------------------------------------------------------

/** A TCP echo server of our own for the scale tests: no per-connection process, no connection-rate limit. */
async function echoServer(): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}

async function concurrentPings(wd: RunningWorkerd, port: number): Promise<void> {
  const steps = tiny ? [1, 10] : [1, 10, 50, 200, 500];
  let single = NaN;
  for (const n of steps) {
    const lat: number[] = [];
    let errors = 0;
    let firstError = '';
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: n }, async () => {
        const s = performance.now();
        try {
          const body = await post(wd.url, '/api/ping/tcp', { host: '127.0.0.1', port, count: 1, probeTimeoutMs: 10_000 });
          if (!body.ok || body.result.stats.received !== 1) throw new Error(JSON.stringify(body.error ?? body.result.probes));
          lat.push(performance.now() - s);
        } catch (e) {
          errors++;
          firstError ||= String(e).slice(0, 160);
        }
      }),
    );
    const wall = performance.now() - t0;
    const p50 = median(lat);
    if (n === 1) single = p50;
    report({ name: `${n} concurrent pings: p50`, value: p50, unit: 'ms', baseline: n === 1 ? undefined : { name: '1 ping alone', value: single }, note: `p99 ${percentile(lat, 99).toFixed(1)} ms, ${errors} errors, ${(n / (wall / 1000)).toFixed(0)} requests/s${firstError ? `; first error: ${firstError}` : ''}` });
  }
}

/** Opens tunnels until `n` are open, 50 at a time (a crowd arriving, not one burst). */
async function openTunnels(url: string, open: WebSocket[], n: number, lat: number[], failures: string[]): Promise<void> {
  while (open.length + failures.length < n) {
    const k = Math.min(50, n - open.length - failures.length);
    await Promise.all(
      Array.from({ length: k }, async () => {
        const t0 = performance.now();
        try {
          const { ws } = await openTunnel(url);
          ws.removeAllListeners('close');
          ws.on('error', () => {});
          open.push(ws);
          lat.push(performance.now() - t0);
        } catch (e) {
          failures.push(String(e).slice(0, 160));
        }
      }),
    );
  }
}

/** 1 KiB to the echo server and back through every tunnel at once; how many came back whole. */
async function echoThroughAll(open: WebSocket[], acks: boolean): Promise<number> {
  const payload = Buffer.alloc(1024, 0x62);
  let whole = 0;
  await Promise.all(
    open.map(
      (ws) =>
        new Promise<void>((resolve) => {
          let got = 0;
          const timer = setTimeout(resolve, 20_000);
          ws.removeAllListeners('message');
          ws.on('message', (data: Buffer, isBinary) => {
            if (!isBinary) return;
            got += data.length;
            if (acks) ws.send(JSON.stringify({ type: 'ack', bytes: data.length }));
            if (got >= payload.length) {
              whole++;
              clearTimeout(timer);
              resolve();
            }
          });
          ws.send(payload);
        }),
    ),
  );
  return whole;
}

async function idleTunnels(bundle: Bundle, echoPort: number): Promise<void> {
  const steps = tiny ? [20] : [100, 250, 500, 1000];
  const max = steps[steps.length - 1];
  const settle = () => new Promise((r) => setTimeout(r, tiny ? 500 : 2000));
  // A fresh workerd, so no earlier section's garbage makes room the tunnels would otherwise need.
  const wd = await startWorkerd(bundle, { vars: BENCH_VARS, inspector: true });
  const url = wsUrl(wd.url, `/api/tunnel?host=127.0.0.1&port=${echoPort}`);
  const open: WebSocket[] = [];
  const kib = (bytes: number) => bytes / 1024;
  try {
    // Warm-up: the first tunnels compile the code paths; their one-time cost is not per tunnel.
    const warm: WebSocket[] = [];
    await openTunnels(url, warm, 20, [], []);
    await echoThroughAll(warm, true);
    for (const ws of warm) ws.terminate();
    await settle();
    const rss0 = rssKiB(wd.pid);
    const heap0 = await isolateHeap(wd);
    let prev = { n: 0, rss: rss0 };
    for (const n of steps) {
      const lat: number[] = [];
      const failures: string[] = [];
      await openTunnels(url, open, n, lat, failures);
      await settle();
      const rss = rssKiB(wd.pid);
      const heap = await isolateHeap(wd);
      const perHeap = kib(heap.usedBytes + heap.embedderBytes - heap0.usedBytes - heap0.embedderBytes) / open.length;
      const last = n === max;
      report({
        name: `isolate heap per idle tunnel, ${n} open`,
        value: perHeap,
        unit: 'KiB',
        goal: last ? '< 100 KiB, no errors' : undefined,
        pass: perHeap < 100 && failures.length === 0,
        note: `workerd RSS ${((rss - rss0) / open.length).toFixed(1)} KiB per tunnel, ${((rss - prev.rss) / (open.length - prev.n)).toFixed(1)} KiB for each since the last step; opening p50 ${median(lat).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms; ${failures.length} errors${failures.length ? ` (${failures[0]})` : ''}`,
      });
      prev = { n: open.length, rss };
    }
    const rssIdle = (rssKiB(wd.pid) - rss0) / open.length;
    // The same tunnels once they have carried a little: buffers allocated on first use stay.
    const whole = await echoThroughAll(open, true);
    await settle();
    const heap = await isolateHeap(wd);
    const perHeap = kib(heap.usedBytes + heap.embedderBytes - heap0.usedBytes - heap0.embedderBytes) / open.length;
    const rssUsed = (rssKiB(wd.pid) - rss0) / open.length;
    report({ name: `isolate heap per tunnel after 1 KiB each way, ${open.length} open`, value: perHeap, unit: 'KiB', goal: '< 100 KiB, all still echo', pass: perHeap < 100 && whole === open.length, note: `${whole} of ${open.length} echoed; workerd RSS ${rssUsed.toFixed(1)} KiB per tunnel` });
    for (const ws of open) ws.terminate();
    open.length = 0;
    // Baseline: the same tunnels through the minimal Worker, in a workerd of their own.
    const min = await startMinimal(bundle);
    try {
      const minUrl = wsUrl(min.url, `/api/tunnel?host=127.0.0.1&port=${echoPort}`);
      const w2: WebSocket[] = [];
      await openTunnels(minUrl, w2, 20, [], []);
      await echoThroughAll(w2, false);
      for (const ws of w2) ws.terminate();
      await settle();
      const base0 = rssKiB(min.pid);
      const failures: string[] = [];
      await openTunnels(minUrl, open, max, [], failures);
      await settle();
      const baseIdle = (rssKiB(min.pid) - base0) / open.length;
      const baseWhole = await echoThroughAll(open, false);
      await settle();
      const baseUsed = (rssKiB(min.pid) - base0) / open.length;
      report({ name: `workerd RSS per idle tunnel, ${max} open`, value: rssIdle, unit: 'KiB', baseline: { name: 'a minimal piping Worker', value: baseIdle } });
      report({ name: `workerd RSS per tunnel after 1 KiB each way, ${max} open`, value: rssUsed, unit: 'KiB', baseline: { name: 'a minimal piping Worker', value: baseUsed }, note: `${baseWhole} of ${open.length} echoed through the minimal Worker; ${failures.length} failed to open` });
    } finally {
      for (const ws of open) ws.terminate();
      await min.stop();
    }
  } finally {
    for (const ws of open) ws.terminate();
    await wd.stop();
  }
}

// --- bundle and startup ----------------------------------------------------------------------------------

function bundleFigures(bundle: Bundle): void {
  report({ name: 'Worker bundle raw', value: bundle.rawBytes / 1024, unit: 'KiB' });
  report({ name: 'Worker bundle gzip', value: bundle.gzipBytes / 1024, unit: 'KiB', goal: '<= 1024 KiB (fails the run)', pass: bundle.gzipBytes <= 1024 * 1024, fatal: true });
}

async function startupFigures(bundle: Bundle, devStartMs: number): Promise<void> {
  // Baseline: a Worker that does nothing, started the same way.
  const dir = mkdtempSync(join(tmpdir(), 'portolan-empty-'));
  writeFileSync(join(dir, 'index.js'), 'export default { fetch() { return new Response("{}"); } };\n');
  const empty: Bundle = { ...bundle, dir, modules: ['index.js'] };
  const runs = tiny ? 1 : 5;
  const ours: number[] = [];
  const theirs: number[] = [];
  const first: number[] = [];
  const warm: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const e = await startWorkerd(empty);
      theirs.push(e.startMs);
      await e.stop();
      const w = await startWorkerd(bundle, { vars: BENCH_VARS });
      ours.push(w.startMs);
      const t0 = performance.now();
      await fetch(`${w.url}/api/protocols`).then((r) => r.arrayBuffer());
      first.push(performance.now() - t0);
      const t1 = performance.now();
      await fetch(`${w.url}/api/protocols`).then((r) => r.arrayBuffer());
      warm.push(performance.now() - t1);
      await w.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report({ name: `workerd start to first answer (median of ${runs})`, value: median(ours), unit: 'ms', baseline: { name: 'an empty Worker', value: median(theirs) }, ratio: pairedRatio(ours, theirs) });
  report({ name: 'first GET /api/protocols after start', value: median(first), unit: 'ms', baseline: { name: 'the same request warm', value: median(warm) } });
  report({ name: 'wrangler dev start to first answer', value: devStartMs, unit: 'ms', baseline: { name: 'workerd alone', value: median(ours) } });
}

export async function main(sections: string[] = []): Promise<void> {
  const run = (name: string) => sections.length === 0 || sections.includes(name);
  const began = performance.now();
  const took: string[] = [];
  const timed = async (name: string, fn: () => Promise<void> | void) => {
    if (!run(name)) return;
    const t0 = performance.now();
    await fn();
    took.push(`${name} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };
  say(`machine: ${await machine()}`);
  await ensureLab(['foundation', 'bench'], { quiet: true });
  const bundle = buildBundle();
  await timed('bundle', () => bundleFigures(bundle));
  let dev: RunningWorker | undefined;
  let devStartMs = NaN;
  if (run('startup') || run('tunnel')) {
    const t0 = performance.now();
    dev = await startWorker({ vars: BENCH_VARS, caPath });
    devStartMs = performance.now() - t0;
  }
  let wd: RunningWorkerd | undefined;
  let against: RunningWorkerd | undefined;
  const echo = await echoServer();
  try {
    await timed('startup', () => startupFigures(bundle, devStartMs));
    // No lab CA here (none of these sections dials TLS): a workerd told to trust extra certificates
    // reads every socket 4 KiB at a time, through a TLS-capable wrapper, at twice the CPU per MiB.
    wd = await startWorkerd(bundle, { vars: BENCH_VARS });
    const dir = process.env.BENCH_AGAINST;
    if (dir && (run('tunnel') || run('download'))) against = await startWorkerd({ ...bundle, dir, modules: ['index.js'] }, { vars: BENCH_VARS });
    await timed('tunnel', () => tunnelFigures(bundle, wd!, dev!, against));
    await timed('download', () => downloadFigures(bundle, wd!, against));
    await against?.stop();
    await dev?.stop();
    await timed('ping', () => pingOverhead(wd!));
    await timed('cpu', () => cpuPerOperation(wd!));
    await timed('concurrency', () => concurrentPings(wd!, echo.port));
    await timed('idle', () => idleTunnels(bundle, echo.port));
  } finally {
    echo.close();
    await against?.stop();
    await wd?.stop();
    await dev?.stop();
    removeBundle(bundle);
  }
  say(`machine at the end: ${await machine()}`);
  say(`took ${((performance.now() - began) / 1000).toFixed(0)} s: ${took.join(', ')}`);
  finish();
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
