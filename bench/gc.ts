// Where a relay's CPU goes beyond the runtime's floor. The tunnel (websockify's `binary` subprotocol) and the
// minimal piping Worker each echo the same bytes through the lab's echo server under `workerd serve`, with the
// V8 CPU profiler on: workerd's CPU per MiB, the garbage collector's share of the profile, and each isolate's
// live heap after a full collection. Both allocate the same buffers (a 64 KiB read each, and each message the
// client sends); what a collection costs grows with everything else the isolate holds. Then a census of the
// Worker's idle heap: objects by constructor, from a heap snapshot.
// Run: npx tsx bench/gc.ts            (BENCH_TINY=1: 16 MiB each way, one round)
import WebSocket from 'ws';
import { ensureLab, ports } from '../lab/index.ts';
import { cpuMs } from './lib/proc.ts';
import { finish, interleave, machine, median, pairedRatio, report, say, tiny } from './lib/report.ts';
import { BENCH_VARS, buildBundle, inspectorSession, isolateHeap, removeBundle, startMinimal, startWorkerd, type RunningWorkerd } from './lib/workerd.ts';

const MiB = 1024 * 1024;
const BYTES = (tiny ? 16 : 256) * MiB;
const ROUNDS = tiny ? 1 : 3;
const IN_FLIGHT = MiB;

/** Sends `BYTES` in 64 KiB messages with at most IN_FLIGHT unanswered, until all came back; the time in ms. */
async function echo(url: string, subprotocols: string[]): Promise<number> {
  const ws = new WebSocket(url, subprotocols, { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  let got = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (sent < BYTES && sent - got < IN_FLIGHT) {
        ws.send(chunk);
        sent += chunk.length;
      }
    };
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return;
      got += data.length;
      if (got >= BYTES) return resolve();
      pump();
    });
    ws.once('close', (code) => reject(new Error(`closed (${code}) after ${got} of ${BYTES} bytes`)));
    pump();
  });
  const ms = performance.now() - t0;
  ws.removeAllListeners('close');
  ws.close();
  return ms;
}

interface Relay {
  name: string;
  w: RunningWorkerd;
  subprotocols: string[];
}

/** One echo under the CPU profiler: MiB/s, workerd CPU per MiB each way, and the collector's ms per MiB each way. */
async function profiledEcho(r: Relay): Promise<{ rate: number; cpu: number; gc: number }> {
  const s = await inspectorSession(r.w);
  try {
    await s.call('Profiler.enable');
    await s.call('Profiler.setSamplingInterval', { interval: 250 });
    await s.call('Profiler.start');
    const c0 = cpuMs(r.w.pid);
    const ms = await echo(`${r.w.url.replace(/^http/, 'ws')}/api/tunnel?host=127.0.0.1&port=${ports.foundation.echo}`, r.subprotocols);
    const cpu = cpuMs(r.w.pid) - c0;
    const { profile } = await s.call('Profiler.stop', {}, 60_000);
    const gcNodes = new Set<number>(profile.nodes.filter((n: any) => n.callFrame.functionName === '(garbage collector)').map((n: any) => n.id));
    let gcUs = 0;
    profile.samples.forEach((id: number, i: number) => {
      if (gcNodes.has(id)) gcUs += profile.timeDeltas[i] ?? 0;
    });
    const each = BYTES / MiB;
    return { rate: each / (ms / 1000), cpu: cpu / each / 2, gc: gcUs / 1000 / each / 2 };
  } finally {
    s.close();
  }
}

/** The idle Worker's heap by constructor, from a heap snapshot: objects in all, and the most numerous kinds. */
async function census(w: RunningWorkerd): Promise<{ objects: number; top: [string, number][] }> {
  const s = await inspectorSession(w);
  try {
    let text = '';
    s.on('HeapProfiler.addHeapSnapshotChunk', (p) => (text += p.chunk));
    await s.call('HeapProfiler.enable');
    await s.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, 120_000);
    const snap = JSON.parse(text);
    const fields: string[] = snap.snapshot.meta.node_fields;
    const types: string[] = snap.snapshot.meta.node_types[0];
    const [iType, iName] = [fields.indexOf('type'), fields.indexOf('name')];
    const count = new Map<string, number>();
    for (let i = 0; i < snap.nodes.length; i += fields.length) {
      const type = types[snap.nodes[i + iType]];
      const key = type === 'object' || type === 'closure' ? `${type} ${snap.strings[snap.nodes[i + iName]] || '(anonymous)'}` : type;
      count.set(key, (count.get(key) ?? 0) + 1);
    }
    return { objects: snap.nodes.length / fields.length, top: [...count].sort((a, b) => b[1] - a[1]).slice(0, 12) };
  } finally {
    s.close();
  }
}

async function main(): Promise<void> {
  await ensureLab(['foundation'], { quiet: true });
  say(`machine: ${await machine()}`);
  const bundle = buildBundle();
  const ours = await startWorkerd(bundle, { vars: BENCH_VARS, inspector: true });
  const minimal = await startMinimal(bundle, 64 * 1024, { inspector: true });
  try {
    const relays: Relay[] = [
      { name: 'tunnel, binary', w: ours, subprotocols: ['binary'] },
      { name: 'minimal piping Worker', w: minimal, subprotocols: [] },
    ];
    const figures: Record<string, { rate: number[]; cpu: number[]; gc: number[] }> = {};
    for (const r of relays) {
      figures[r.name] = { rate: [], cpu: [], gc: [] };
      await echo(`${r.w.url.replace(/^http/, 'ws')}/api/tunnel?host=127.0.0.1&port=${ports.foundation.echo}`, r.subprotocols);
    }
    await interleave(
      ROUNDS,
      Object.fromEntries(
        relays.map((r) => [
          r.name,
          async () => {
            const f = await profiledEcho(r);
            figures[r.name].rate.push(f.rate);
            figures[r.name].cpu.push(f.cpu);
            figures[r.name].gc.push(f.gc);
          },
        ]),
      ),
    );
    const [t, m] = relays.map((r) => figures[r.name]);
    say(`${BYTES / MiB} MiB each way, ${ROUNDS} interleaved rounds, profiler sampling every 250 µs`);
    report({ name: 'echo throughput, tunnel (binary)', value: median(t.rate), unit: 'MiB/s', baseline: { name: 'the piping Worker', value: median(m.rate) }, ratio: pairedRatio(t.rate, m.rate) });
    report({ name: 'workerd CPU per MiB each way, tunnel (binary)', value: median(t.cpu), unit: 'ms', baseline: { name: 'the piping Worker', value: median(m.cpu) }, ratio: pairedRatio(t.cpu, m.cpu) });
    report({ name: 'garbage collector per MiB each way, tunnel (binary)', value: median(t.gc), unit: 'ms', baseline: { name: 'the piping Worker', value: median(m.gc) }, note: `the collector is ${((median(t.gc) - median(m.gc)) / (median(t.cpu) - median(m.cpu)) * 100).toFixed(0)} % of the CPU the tunnel adds` });
    const [heapOurs, heapMinimal] = [await isolateHeap(ours), await isolateHeap(minimal)];
    report({ name: "the Worker's live heap after a full collection", value: heapOurs.usedBytes / MiB, unit: 'MiB', baseline: { name: 'the piping Worker', value: heapMinimal.usedBytes / MiB } });
    const c = await census(ours);
    say(`the Worker's idle heap: ${c.objects} objects; most numerous: ${c.top.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  } finally {
    await ours.stop();
    await minimal.stop();
    removeBundle(bundle);
  }
  finish();
}

await main();
