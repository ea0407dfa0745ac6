// Portolan's TLS engine (src/core/tls) in workerd beside the runtime's own TLS (connect()'s), in the same run:
//   - CPU per handshake: `tls inspect` (one handshake, no enumeration) with either engine against the lab's nginx
//     (RSA-2048 leaf under the lab CA), paired rounds; and the engine alone against `openssl s_server` with an ECDSA
//     P-256 chain (leaf, intermediate and root all P-256) and with an RSA-2048 leaf, beside GET /api/runtime;
//   - bulk throughput: a 3 MiB download over HTTP/1.1 from the same nginx with either engine, as a stream (the
//     client's time from the response's head to its last byte), the engine also on the runtime's workerd (4 KiB reads);
//   - the bundle, with the root store in it.
// Run: npx tsx bench/tls.ts [rounds]   (BENCH_TINY=1: one round of 3)
import { readFileSync } from 'node:fs';
import { caPath, ensureLab, ports } from '../lab/index.ts';
import { httpFacts } from '../lab/servers/http.ts';
import { tlsEngineCertificates } from '../lab/servers/tls-engine.ts';
import { cpuMs, mainThreadCpuMs } from './lib/proc.ts';
import { finish, machine, median, pairedRatio, report, say, tiny } from './lib/report.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd, type RunningWorkerd } from './lib/workerd.ts';

const rounds = Number(process.argv[2] ?? (tiny ? 1 : 5));
const batch = tiny ? 3 : 20;
const MiB = 1024 * 1024;

async function post(url: string, path: string, body: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { ok: boolean; result?: any; error?: unknown };
  if (!json.ok) throw new Error(`${path}: ${JSON.stringify(json.error).slice(0, 300)}`);
  return json.result;
}

/** CPU of `batch` calls, per call: workerd's isolate thread, and the whole process into `whole`. */
async function perCall(wd: RunningWorkerd, fn: () => Promise<unknown>, whole?: number[]): Promise<number> {
  const c0 = mainThreadCpuMs(wd.pid);
  const p0 = cpuMs(wd.pid);
  for (let i = 0; i < batch; i++) await fn();
  whole?.push((cpuMs(wd.pid) - p0) / batch);
  return (mainThreadCpuMs(wd.pid) - c0) / batch;
}

say(`machine: ${await machine()}`);
await ensureLab(['http', 'tls-engine']);
const rootPem = readFileSync(tlsEngineCertificates().root, 'utf8');
const bundle = buildBundle();
// Two workerd processes from the same bundle. The runtime's TLS can trust the lab CA only through the network's
// trustedCertificates, and with that setting workerd reads every socket at most 4 KiB at a time (README, tunnel
// finding 5), which a deployment never does; the engine trusts the lab CA through its own anchors
// (TLS_TRUST_ANCHORS), so it runs on a workerd without the setting, as deployed.
const wd = await startWorkerd(bundle, { vars: BENCH_VARS, caPath });
const own = await startWorkerd(bundle, { vars: { ...BENCH_VARS, TLS_TRUST_ANCHORS: readFileSync(caPath, 'utf8') } });
try {
  report({ name: 'Worker bundle gzip, with the root store and the TLS engine', value: bundle.gzipBytes / 1024, unit: 'KiB', goal: '<= 1024 KiB', pass: bundle.gzipBytes <= MiB, note: `raw ${(bundle.rawBytes / 1024).toFixed(0)} KiB` });

  const nginx = { host: 'localhost', port: ports.http.nginxTls, versions: false, suites: false, groups: false, resumption: false };
  const on = (tlsEngine: 'runtime' | 'portolan') => (tlsEngine === 'runtime' ? wd : own);
  const inspect = (tlsEngine: 'runtime' | 'portolan', target: Record<string, unknown> = nginx) => () => post(on(tlsEngine).url, '/api/tls/inspect', { ...target, tlsEngine });
  const runtimeApi = () => fetch(`${own.url}/api/runtime`).then((r) => r.arrayBuffer());
  const tp = ports['tls-engine'];
  const p256 = { host: 'localhost', port: tp.opensslP256, caPem: rootPem, versions: false, suites: false, groups: false, resumption: false };
  const rsa = { ...p256, port: tp.opensslRsa };
  // Warm-up: the first calls compile the code paths.
  for (const fn of [inspect('runtime'), inspect('portolan'), inspect('portolan', p256), inspect('portolan', rsa), runtimeApi]) for (let i = 0; i < 3; i++) await fn();
  const first = await inspect('portolan', p256)();
  say(`engine against s_server P-256: ${first.version} ${first.cipher} ${first.group} ${first.signatureScheme}; against nginx: ${(await inspect('portolan')()).signatureScheme}`);

  say(`CPU per call: workerd's isolate thread per call, median of ${rounds} rounds of ${batch} (whole process in brackets); each call is one TCP connection and one TLS handshake`);
  const cpu = { runtime: [] as number[], portolan: [] as number[], p256: [] as number[], rsa: [] as number[], api: [] as number[] };
  const whole = { runtime: [] as number[], portolan: [] as number[], p256: [] as number[], rsa: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    cpu.api.push(await perCall(own, runtimeApi));
    cpu.runtime.push(await perCall(wd, inspect('runtime'), whole.runtime));
    cpu.portolan.push(await perCall(own, inspect('portolan'), whole.portolan));
    cpu.p256.push(await perCall(own, inspect('portolan', p256), whole.p256));
    cpu.rsa.push(await perCall(own, inspect('portolan', rsa), whole.rsa));
  }
  const api = { name: 'GET /api/runtime', value: median(cpu.api) };
  const extra = (xs: number[]) => median(xs.map((v, i) => v - cpu.api[i]));
  report({ name: 'tls inspect against nginx (RSA-2048), Portolan engine', value: median(cpu.portolan), unit: 'ms CPU', baseline: { name: 'the same with the runtime TLS', value: median(cpu.runtime) }, ratio: pairedRatio(cpu.portolan, cpu.runtime), note: `whole process ${median(whole.portolan).toFixed(2)} vs ${median(whole.runtime).toFixed(2)} ms` });
  const p256Extra = extra(cpu.p256);
  report({ name: 'TLS 1.3 handshake, X25519 + ECDSA P-256 chain (tls inspect minus GET /api/runtime)', value: p256Extra, unit: 'ms CPU', baseline: api, ratio: pairedRatio(cpu.p256, cpu.api), goal: '<= 3 ms', pass: p256Extra <= 3, note: `whole call ${median(cpu.p256).toFixed(2)} ms, whole process ${median(whole.p256).toFixed(2)} ms` });
  const rsaExtra = extra(cpu.rsa);
  report({ name: 'TLS 1.3 handshake, X25519 + RSA-2048 leaf (tls inspect minus GET /api/runtime)', value: rsaExtra, unit: 'ms CPU', baseline: api, ratio: pairedRatio(cpu.rsa, cpu.api), goal: '<= 5 ms', pass: rsaExtra <= 5, note: `whole call ${median(cpu.rsa).toFixed(2)} ms, whole process ${median(whole.rsa).toFixed(2)} ms` });

  // The download with either engine; `engine4k` is Portolan's engine on the runtime's workerd, whose network reads
  // at most 4 KiB at a time (the same setting the runtime's TLS runs under here, which no deployment has).
  type Series = 'runtime' | 'portolan' | 'engine4k';
  const serve = { runtime: wd, portolan: own, engine4k: wd } as const;
  // The body as a stream (Accept: application/octet-stream), timed by the client from the response's head to its
  // last byte: the TLS records and the stream, without the connect, the handshake or a JSON encoding of the body.
  const download = (series: Series) => async () => {
    const tlsEngine = series === 'runtime' ? 'runtime' : 'portolan';
    const res = await fetch(`${serve[series].url}/api/http/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/octet-stream' },
      body: JSON.stringify({ host: 'localhost', port: ports.http.nginxTls, tls: 'implicit', tlsEngine, path: httpFacts.large.path }),
    });
    if (res.status !== 200 || !res.body) throw new Error(`${series}: ${res.status} ${await res.text()}`);
    const head = performance.now();
    let bytes = 0;
    const reader = res.body.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) bytes += r.value.length;
    const ms = performance.now() - head;
    if (bytes !== httpFacts.large.bytes) throw new Error(`${series}: ${bytes} bytes`);
    return bytes / MiB / (ms / 1000);
  };
  const all: Series[] = ['runtime', 'portolan', 'engine4k'];
  for (let i = 0; i < 2; i++) for (const e of all) await download(e)();
  const speed: Record<Series, number[]> = { runtime: [], portolan: [], engine4k: [] };
  for (let r = 0; r < rounds * 3; r++) {
    const order = r % 2 ? [...all].reverse() : all;
    for (const e of order) speed[e].push(await download(e)());
  }
  // CPU per MiB: workerd's isolate thread over a batch of downloads, the whole request (connect and handshake included).
  const perMiB: Record<Series, number[]> = { runtime: [], portolan: [], engine4k: [] };
  for (let r = 0; r < rounds; r++) {
    for (const e of all) {
      const c0 = mainThreadCpuMs(serve[e].pid);
      for (let i = 0; i < 3; i++) await download(e)();
      perMiB[e].push((mainThreadCpuMs(serve[e].pid) - c0) / 3 / (httpFacts.large.bytes / MiB));
    }
  }
  const runtimeCpu = { name: 'the runtime TLS', value: median(perMiB.runtime) };
  report({ name: '3 MiB download, Portolan engine: isolate CPU per MiB (whole request, handshake included)', value: median(perMiB.portolan), unit: 'ms/MiB', baseline: runtimeCpu, ratio: pairedRatio(perMiB.portolan, perMiB.runtime) });
  report({ name: '3 MiB download, Portolan engine on 4 KiB reads: isolate CPU per MiB (whole request, handshake included)', value: median(perMiB.engine4k), unit: 'ms/MiB', baseline: runtimeCpu, ratio: pairedRatio(perMiB.engine4k, perMiB.runtime) });
  const runtimeSpeed = { name: 'the runtime TLS', value: median(speed.runtime) };
  // The goal is judged where both TLS run alike: on the runtime's workerd, whose reads are 4 KiB for both.
  const ratio = pairedRatio(speed.engine4k, speed.runtime);
  report({ name: '3 MiB download from nginx over HTTP/1.1 as a stream, Portolan engine on the runtime TLS\'s workerd (4 KiB reads for both; the response\'s head to its last byte)', value: median(speed.engine4k), unit: 'MiB/s', baseline: runtimeSpeed, ratio, goal: '>= 0.5x the runtime', pass: ratio >= 0.5, note: `${rounds * 3} paired rounds` });
  report({ name: 'the same, Portolan engine as deployed (a workerd without trustedCertificates)', value: median(speed.portolan), unit: 'MiB/s', baseline: runtimeSpeed, ratio: pairedRatio(speed.portolan, speed.runtime) });
} finally {
  await Promise.all([wd.stop(), own.stop()]);
  removeBundle(bundle);
}
finish();
