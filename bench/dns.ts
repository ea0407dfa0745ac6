// DNS through the API on workerd beside a direct Node client on the same lab servers, in the same run:
// one query per request over TCP, TLS and HTTPS, a pipelined batch, and an AXFR.
// Run: npx tsx bench/dns.ts [rounds]
import net from 'node:net';
import { FrameDecoder } from '../src/core/framing.ts';
import { buildQuery, frameTcp, tcpMessageFrame } from '../src/protocols/dns/codec.ts';
import { ZoneTransfer } from '../src/protocols/dns/transfer.ts';
import { ensureLab, ports, caPath } from '../lab/index.ts';
import { dnsFacts, tcpQuery } from '../lab/servers/dns.ts';
import { startWorker } from '../test/harness.ts';

const rounds = Number(process.argv[2] ?? 30);
const p = ports.dns;
const Z = dnsFacts.zone;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

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

await ensureLab(['dns']);
const worker = await startWorker({ vars: { ALLOW_TARGETS: 'loopback', RATE_LIMIT_CLIENT: 'off', RATE_LIMIT_TARGET: 'off' }, caPath });
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
  console.log(`DNS through the API on workerd vs a direct Node client, median of ${rounds} rounds (ms per request)`);
  for (const c of cases) {
    const a: number[] = [];
    const d: number[] = [];
    for (let i = 0; i < rounds; i++) {
      a.push(await timed(c.api));
      d.push(await timed(c.direct));
    }
    const ma = median(a);
    const md = median(d);
    console.log(`${c.label.padEnd(40)} API ${ma.toFixed(2).padStart(7)}   direct ${md.toFixed(2).padStart(7)}   ratio ${(ma / md).toFixed(2)}`);
  }
  const doh: number[] = [];
  for (let i = 0; i < rounds; i++) doh.push(await timed(() => api(worker.url, 'query', { host: '127.0.0.1', port: p.doh, name: Z, transport: 'doh' })));
  console.log(`${'query A over HTTPS (dnsdist DoH)'.padEnd(40)} API ${median(doh).toFixed(2).padStart(7)}`);
  const axfr: number[] = [];
  const wire: number[] = [];
  const direct: number[] = [];
  let records = 0;
  for (let i = 0; i < Math.min(rounds, 10); i++) {
    axfr.push(await timed(async () => {
      const r = await api(worker.url, 'axfr', { host: '127.0.0.1', port: p.bind, zone: Z });
      records = r.recordCount;
      wire.push(r.rttMs);
    }));
    direct.push(await timed(directAxfr));
  }
  console.log(`${`AXFR of ${records} records (BIND)`.padEnd(40)} API ${median(axfr).toFixed(2).padStart(7)}   direct ${median(direct).toFixed(2).padStart(7)}   ratio ${(median(axfr) / median(direct)).toFixed(2)}   (on the wire inside workerd: ${median(wire).toFixed(1)} ms)`);
} finally {
  await worker.stop();
}
