// HTTP/2 against HTTP/1.1 on the same nginx, in the same run: requests per second for h2c with 100
// concurrent streams on one connection beside HTTP/1.1 keep-alive (one connection, one request after the
// other), each through the API of workerd and in-process with the Node dialer. The figure is the time the
// operation itself reports (connect to last byte); the API's wall time is printed beside it.
// Run: npx tsx bench/http.ts            (BENCH_TINY=1 for the quick configuration)
import { ensureLab, ports } from '../lab/index.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd } from './lib/workerd.ts';
import { runOperation } from '../src/core/runner.ts';
import { webCrypto } from '../src/core/crypto.ts';
import { NodeDialer } from '../src/hosts/node/dialer.ts';
import { protocols } from '../src/protocols/all.ts';

const tiny = process.env.BENCH_TINY === '1';
const REQUESTS = tiny ? 200 : 1000;
const ROUNDS = tiny ? 1 : 5;
const PATH = '/hello.txt';
const p = ports.http;

interface Figure {
  name: string;
  value: number;
  baseline?: { name: string; value: number };
}
const figures: Figure[] = [];

function report(f: Figure): void {
  figures.push(f);
  const ratio = f.baseline ? `  ratio ${(f.value / f.baseline.value).toFixed(2)} vs ${f.baseline.name} (${f.baseline.value.toFixed(0)} req/s)` : '';
  console.log(`${f.name}: ${f.value.toFixed(0)} req/s${ratio}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const paths = Array.from({ length: REQUESTS }, () => PATH);
const h1Input = { host: '127.0.0.1', port: p.nginx, paths, maxBodyBytes: 1024, timeoutMs: 30_000 };
const h2Input = { host: '127.0.0.1', port: p.nginxH2c, paths, concurrency: 100, maxBodyBytes: 1024, timeoutMs: 30_000 };

function check(kind: string, result: any): void {
  const responses = result.responses as { status: number; body: { text?: string } }[];
  const good = responses.filter((r) => r.status === 200 && r.body.text === 'Hello from the Portolan lab.\n').length;
  if (good !== REQUESTS) throw new Error(`${kind}: ${good} of ${REQUESTS} responses were right`);
}

async function viaApi(url: string, protocol: string, op: string, input: object): Promise<{ opMs: number; wallMs: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/api/${protocol}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
  const json = (await res.json()) as any;
  const wallMs = performance.now() - t0;
  if (!json.ok) throw new Error(`${protocol} ${op}: ${JSON.stringify(json.error)}`);
  check(`${protocol} via workerd`, json.result);
  return { opMs: json.timing.totalMs, wallMs };
}

const env = { dialer: new NodeDialer(), guard: { check: async () => ({}) }, crypto: webCrypto() };

async function inNode(protocol: string, op: string, input: object): Promise<{ opMs: number; wallMs: number }> {
  const proto = protocols.find((x) => x.id === protocol)!;
  const t0 = performance.now();
  const answer = await runOperation(env, proto, proto.operations[op], input);
  const wallMs = performance.now() - t0;
  check(`${protocol} in Node`, answer.result);
  return { opMs: answer.timing.totalMs, wallMs };
}

async function pair(label: string, h1: () => Promise<{ opMs: number; wallMs: number }>, h2: () => Promise<{ opMs: number; wallMs: number }>): Promise<void> {
  // Warm up both paths once (JIT, nginx worker, workerd isolate), then alternate rounds.
  await h1();
  await h2();
  const r1: number[] = [];
  const r2: number[] = [];
  const w1: number[] = [];
  const w2: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const a = await h1();
    const b = await h2();
    r1.push(a.opMs);
    r2.push(b.opMs);
    w1.push(a.wallMs);
    w2.push(b.wallMs);
  }
  const h1Rate = REQUESTS / (median(r1) / 1000);
  const h2Rate = REQUESTS / (median(r2) / 1000);
  report({ name: `HTTP/1.1 keep-alive, ${REQUESTS} requests on one connection (${label})`, value: h1Rate });
  report({ name: `h2c, ${REQUESTS} requests on 100 concurrent streams (${label})`, value: h2Rate, baseline: { name: `HTTP/1.1 keep-alive (${label})`, value: h1Rate } });
  console.log(`  API wall time, median of ${ROUNDS}: HTTP/1.1 ${median(w1).toFixed(1)} ms, h2c ${median(w2).toFixed(1)} ms (operation: ${median(r1).toFixed(1)} ms, ${median(r2).toFixed(1)} ms)`);
}

await ensureLab(['http'], { quiet: true });
// The deployment bundle under `workerd serve` (bench/lib/workerd.ts): no wrangler dev hop in the wall
// times, and no reload when a source file in the shared tree changes mid-run. No lab CA: nothing here
// dials TLS, and a workerd told to trust one reads every socket 4 KiB at a time (bench/README.md).
const bundle = buildBundle();
const worker = await startWorkerd(bundle, { vars: BENCH_VARS });
try {
  console.log(`nginx ${p.nginx} (HTTP/1.1) and ${p.nginxH2c} (h2c), GET ${PATH} (29-byte body), ${REQUESTS} requests per run, median of ${ROUNDS} runs`);
  await pair('workerd', () => viaApi(worker.url, 'http', 'sequence', h1Input), () => viaApi(worker.url, 'http2', 'request', h2Input));
  await pair('Node, in process', () => inNode('http', 'sequence', h1Input), () => inNode('http2', 'request', h2Input));
} finally {
  await worker.stop();
  removeBundle(bundle);
}
console.log(`${figures.length} figures, 0 goals not met`);
