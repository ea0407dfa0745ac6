// DNS through the API on workerd beside a direct Node client on the same lab servers, in the same run:
// one query per request over TCP, TLS and HTTPS, a pipelined batch, and an AXFR.
// Run: npx tsx bench/dns.ts [rounds]   (BENCH_TINY=1: 3 rounds)
import net from 'node:net';
import { FrameDecoder } from '../src/core/framing.ts';
import { buildQuery, frameTcp, tcpMessageFrame } from '../src/protocols/dns/codec.ts';
import { ZoneTransfer } from '../src/protocols/dns/transfer.ts';
import { ensureLab, ports, caPath } from '../lab/index.ts';
import { dnsFacts, tcpQuery } from '../lab/servers/dns.ts';
import { finish, machine, median, pairedRatio, report, say, tiny } from './lib/report.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd } from './lib/workerd.ts';

const rounds = Number(process.argv[2] ?? (tiny ? 3 : 30));
const p = ports.dns;
const Z = dnsFacts.zone;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function api(url: string, op: string, body: object): Promise<any> {
  const res = await fetch(`${url}/api/dns/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as any;
  if (!json.ok) throw new Error(`${op}: ${JSON.stringify(json.error)}`);
  return json.result;
}

/** The same AXFR by a direct Node client: socket, our frame decoder and transfer state machine. */
function directAxfr(): Promise<number> {
  return new Promise((resolve, reject) => {
    const xfr = new ZoneTransfer('AXFR', Z, { maxRecords: 100_000, maxMessages: 10_000 });
    const frames = new FrameDecoder(tcpMessageFrame);
    const socket = net.connect({ host: '127.0.0.1', port: p.bind }, () => socket.write(frameTcp(buildQuery({ id: 7, name: Z, type: 'AXFR' }))));
    socket.on('data', (chunk: Buffer) => {
      for (const { message } of frames.feed(new Uint8Array(chunk))) {
        if (xfr.accept(message)) {
          socket.destroy();
          resolve(xfr.result().recordCount);
        }
      }
    });
    socket.on('error', reject);
  });
}

say(`machine: ${await machine()}`);
await ensureLab(['dns']);
const bundle = buildBundle();
const worker = await startWorkerd(bundle, { vars: BENCH_VARS, caPath });
try {
  const cases: { label: string; api: () => Promise<unknown>; direct: () => Promise<unknown> }[] = [
    {
      label: 'query A over TCP (Unbound)',
      api: () => api(worker.url, 'query', { host: '127.0.0.1', port: p.unbound, name: Z }),
      direct: () => tcpQuery(p.unbound, Z, 'A'),
    },
    {
      label: 'query A over TLS (Unbound DoT)',
      api: () => api(worker.url, 'query', { host: '127.0.0.1', port: p.unboundDot, name: Z, transport: 'dot' }),
      direct: () => tcpQuery(p.unboundDot, Z, 'A', { tls: true }),
    },
    {
      label: 'batch of 16 over one TCP connection',
      api: () => api(worker.url, 'batch', { host: '127.0.0.1', port: p.unbound, questions: Array.from({ length: 16 }, () => ({ name: Z, type: 'A' })) }),
      direct: () => Promise.all(Array.from({ length: 16 }, () => tcpQuery(p.unbound, Z, 'A'))),
    },
  ];
  for (const c of cases) await c.api(); // warm-up
  say(`DNS through the API on workerd vs a direct Node client, median of ${rounds} rounds (ms per request)`);
  for (const c of cases) {
    const a: number[] = [];
    const d: number[] = [];
    for (let i = 0; i < rounds; i++) {
      a.push(await timed(c.api));
      d.push(await timed(c.direct));
    }
    report({ name: `${c.label} through the API`, value: median(a), unit: 'ms', baseline: { name: 'direct Node client', value: median(d) }, ratio: pairedRatio(a, d) });
  }
  const doh: number[] = [];
  for (let i = 0; i < rounds; i++) doh.push(await timed(() => api(worker.url, 'query', { host: '127.0.0.1', port: p.doh, name: Z, transport: 'doh' })));
  report({ name: 'query A over HTTPS (dnsdist DoH) through the API', value: median(doh), unit: 'ms' });
  const axfr: number[] = [];
  const wire: number[] = [];
  const direct: number[] = [];
  let records = 0;
  for (let i = 0; i < Math.min(rounds, tiny ? 2 : 10); i++) {
    axfr.push(await timed(async () => {
      const r = await api(worker.url, 'axfr', { host: '127.0.0.1', port: p.bind, zone: Z });
      records = r.recordCount;
      wire.push(r.rttMs);
    }));
    direct.push(await timed(directAxfr));
  }
  report({ name: `AXFR of ${records} records (BIND) through the API`, value: median(axfr), unit: 'ms', baseline: { name: 'direct Node client', value: median(direct) }, ratio: pairedRatio(axfr, direct), note: `on the wire inside workerd: ${median(wire).toFixed(1)} ms` });
} finally {
  await worker.stop();
  removeBundle(bundle);
}
finish();
