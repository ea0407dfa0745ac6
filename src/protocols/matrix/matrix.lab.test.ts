// Runs every claim of the capability matrix (docs/capabilities.md): each implemented way is refused on workerd
// with the reason and an alternative when the matrix says "no", and runs (is not refused) on the Node host when
// it says "yes"; open rows are really not in the registry; the fixed rows' facts hold.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { ports } from '../../../lab/index.ts';
import { call, workerUrl } from '../../../test/harness.ts';
import { callNode, startNodeHost, type RunningNodeHost } from '../../../test/node-host.ts';
import { inputJsonSchema } from '../../api/describe.ts';
import { protocols } from '../all.ts';
import { capabilityMatrix } from './index.ts';

const matrix = capabilityMatrix(protocols);
const byId = new Map(protocols.map((p) => [p.id, p]));
let node: RunningNodeHost;
before(async () => {
  node = await startNodeHost();
});
after(() => node?.stop());

/** A probe aimed at a port where nothing listens: the runtime's decision shows before any answer could. */
function probeInput(v: (typeof matrix)[number]['variants'][number]): Record<string, unknown> {
  const props = (inputJsonSchema(byId.get(v.protocol)!.operations[v.operation]).properties ?? {}) as Record<string, unknown>;
  const input: Record<string, unknown> = { host: '127.0.0.1', port: ports.foundation.closedPort, timeoutMs: 1500, ...v.input, ...v.sample };
  if ('retries' in props) Object.assign(input, { retries: 0, waitMs: 300 });
  return input;
}

/** An interactive operation's answer: the session's first error, or {ok:true} once it runs. */
async function session(base: string, protocol: string, operation: string, input: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/${protocol}/${operation}`);
  const first = await new Promise<any>((resolve, reject) => {
    ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'start', input })));
    ws.addEventListener('message', (e) => resolve(typeof e.data === 'string' ? JSON.parse(e.data) : { type: 'data' }));
    ws.addEventListener('close', () => resolve({ type: 'closed' }));
    ws.addEventListener('error', () => reject(new Error('websocket error')));
  });
  ws.close();
  if (first.type === 'error') return { status: first.error.code === 'unsupported_runtime' ? 501 : 502, body: { ok: false, error: first.error } };
  return { status: 200, body: { ok: true } };
}

for (const e of matrix) {
  for (const v of e.variants.filter((x) => x.registered)) {
    test(`matrix ${e.title} (${v.label}): workerd ${v.workers ? 'runs' : 'refuses'} ${v.protocol} ${v.operation}; the Node host ${v.node ? 'runs' : 'refuses'} it`, async () => {
      const input = probeInput(v);
      const interactive = !byId.get(v.protocol)!.operations[v.operation].run;
      const w = interactive ? await session(workerUrl(), v.protocol, v.operation, input) : await call(v.protocol, v.operation, input);
      if (v.workers) {
        assert.notEqual(w.body.error?.code, 'unsupported_runtime', JSON.stringify(w.body));
      } else {
        assert.equal(w.status, 501, JSON.stringify(w.body));
        assert.equal(w.body.error.code, 'unsupported_runtime');
        const missing = v.needs.filter((c) => !['tcp', 'tls', 'starttls'].includes(c));
        for (const m of missing) assert.ok(w.body.error.detail.missing.includes(m), `${m} not named in ${JSON.stringify(w.body.error.detail)}`);
        assert.ok(w.body.error.detail.reasons.length > 0 && w.body.error.detail.alternatives.length > 0);
        assert.ok(e.reason && w.body.error.detail.reasons.every((r: string) => e.reason!.includes(r)), `the docs' reason quotes the refusal: ${w.body.error.detail.reasons}`);
      }
      const n = interactive ? await session(node.url, v.protocol, v.operation, input) : await callNode(node, v.protocol, v.operation, input);
      if (v.node) assert.notEqual(n.body.error?.code, 'unsupported_runtime', JSON.stringify(n.body));
      else assert.equal(n.status, 501);
    });
  }
}

test('matrix: open rows have nothing in the registry, and their needs match what each runtime reports', async () => {
  const workers = await (await fetch(`${workerUrl()}/api/runtime`)).json();
  const nodeRuntime = await (await fetch(`${node.url}/api/runtime`)).json();
  for (const e of matrix.filter((x) => x.open)) {
    for (const v of e.variants) assert.equal(v.registered, false, `${e.title}: ${v.protocol} is registered, the row should not be open`);
    const needs = e.variants.length ? e.variants.flatMap((v) => v.needs) : [];
    for (const c of needs) {
      if (e.workers === 'no') assert.ok(e.reason, `${e.title}: a refusal needs a reason`);
      if (e.node !== 'no' && c !== 'privilegedPort') assert.ok(nodeRuntime.capabilities.includes(c), `${e.title}: node host lacks ${c}`);
      if (!['tcp', 'tls', 'starttls'].includes(c)) assert.ok(!workers.capabilities.includes(c), `${e.title}: workers claims ${c}`);
    }
  }
});

test('matrix: ICMP — the Node host reports the kernel setting and never claims ICMP; workerd has no such capability', async () => {
  const n = await (await fetch(`${node.url}/api/runtime`)).json();
  assert.equal(n.probe.icmpEcho.ok, false);
  assert.equal(n.probe.icmpEcho.pingGroupRange, readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8').trim());
  const w = await (await fetch(`${workerUrl()}/api/runtime`)).json();
  assert.deepEqual(w.capabilities.sort(), ['alpn', 'clientCert', 'peerCert', 'selfSigned', 'starttls', 'tcp', 'tls', 'tlsVersion']);
  const icmp = matrix.find((x) => x.id === 'icmp')!;
  assert.deepEqual([icmp.workers, icmp.node], ['no', 'no']);
  // The alternative it names exists and runs on both hosts.
  const ping = await call('ping', 'tcp', { host: '127.0.0.1', port: ports.foundation.echo, count: 1 });
  assert.equal(ping.status, 200);
  assert.equal(ping.body.result.stats.received, 1);
});

test('matrix: privileged source ports — the Node host runs as root here and its probe says so', async () => {
  const n = await (await fetch(`${node.url}/api/runtime`)).json();
  assert.equal(process.getuid!(), 0);
  assert.equal(n.probe.privilegedSourcePorts.ok, true);
  assert.ok(n.capabilities.includes('privilegedPort'));
});

test('matrix: Cloudflare Containers — the Dockerfile runs `portolan serve` on all interfaces', () => {
  assert.ok(existsSync('Dockerfile'));
  const docker = readFileSync('Dockerfile', 'utf8');
  assert.match(docker, /^CMD \["node", "cli\/portolan\.mjs", "serve"\]$/m);
  assert.match(docker, /HOST=0\.0\.0\.0/);
  assert.match(readFileSync('docs/capabilities.md', 'utf8'), /cannot be built here/);
});

test('matrix: docs/capabilities.md is what the generator writes now', () => {
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/capabilities.ts', '--check'], { stdio: 'pipe' });
});
