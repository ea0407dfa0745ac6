// identify against every TCP server of the lab, through the HTTP API of workerd: each port named as
// expected.ts says. bench/identify.ts sets the same scan beside Debian's `nmap -sV --version-intensity 7`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, openSession } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { labTable, namedCorrectly } from './expected.ts';
import type { PortReport } from './client.ts';

const table = labTable(ports as unknown as Record<string, Record<string, number>>, (process.env.LAB_AREAS ?? '').split(',').filter(Boolean));

test('identify scan names the lab ports, as a session with progress', { timeout: 1_800_000 }, async () => {
  assert.ok(table.length > 0, 'no lab areas in this run');
  const list = table.map((r) => r.port);
  const t0 = Date.now();
  const reports = new Map<number, PortReport>();
  // In sessions of up to 128 ports, each well inside the scan's ten-minute ceiling.
  for (let at = 0; at < list.length; at += 128) {
    const chunk = list.slice(at, at + 128);
    const s = await openSession('identify', 'scan', { host: '127.0.0.1', ports: chunk, timeoutMs: 600_000 });
    const progress: number[] = [];
    for (;;) {
      const m = await s.next((x) => x.type === 'message' || x.type === 'end' || x.type === 'error', 600_000);
      if (m.type === 'error') assert.fail(JSON.stringify(m));
      if (m.type === 'end') {
        assert.equal(m.result.results.length, chunk.length, 'the closing result holds every port');
        break;
      }
      progress.push(m.done);
      assert.equal(m.total, chunk.length);
      reports.set(m.port.port, m.port);
    }
    s.close();
    assert.deepEqual(progress, chunk.map((_, i) => i + 1), 'one progress message per port, counting up');
  }
  const oursMs = Date.now() - t0;

  let ours = 0;
  const wrongHigh: string[] = [];
  const lines: string[] = [];
  for (const r of table) {
    const got = reports.get(r.port)!;
    const ok = namedCorrectly(r.expected, got.service);
    if (ok) ours++;
    if (!ok && got.confidence === 'high' && got.service !== 'unknown' && got.service !== 'tls') wrongHigh.push(`${r.area}.${r.key} ${r.port}: ${got.service}, expected ${r.expected?.join('|') ?? 'unknown'}`);
    lines.push(
      `${ok ? '✓' : '✗'} ${String(r.port).padEnd(6)}${`${r.area}.${r.key}`.padEnd(34)}${(r.expected?.join('|') ?? '-').padEnd(14)}${`${got.tls.mode === 'implicit' ? 'ssl/' : ''}${got.service} ${got.confidence}`.padEnd(24)}${`${got.product ?? ''} ${got.version ?? ''}`.trim().slice(0, 28)}`,
    );
  }
  console.log(['identify port area.key expected identify product', ...lines].join('\n'));
  console.log(`identify named ${ours} of ${table.length} lab ports correctly in ${oursMs} ms`);
  assert.deepEqual(wrongHigh, [], 'no wrong name at high confidence');
  assert.ok(ours >= Math.ceil(table.length * 0.95), `identify names ${ours} of ${table.length} (at least 95 %)`);
});

test('identify port: SSH with product and version, the evidence, closed and filtered ports', async () => {
  const ssh = await call('identify', 'port', { host: '127.0.0.1', port: ports.ssh.sshd }, { transcript: true });
  assert.equal(ssh.status, 200, JSON.stringify(ssh.body));
  const r = ssh.body.result as PortReport;
  assert.equal(r.protocol, 'ssh');
  assert.equal(r.confidence, 'high');
  assert.equal(r.product, 'OpenSSH');
  assert.match(r.version ?? '', /^\d+\.\d+p\d/);
  assert.match(r.evidence[0].received ?? '', /^"SSH-2\.0-OpenSSH_/);

  const closed = await call('identify', 'port', { host: '127.0.0.1', port: ports.foundation.closedPort });
  assert.equal(closed.body.result.state, 'closed');
  assert.equal(closed.body.result.protocol, 'unknown');
});

test('identify port: PostgreSQL asked with SSLRequest and a startup message, Redis with PING', async () => {
  const pg = await call('identify', 'port', { host: '127.0.0.1', port: ports.databases.postgresPlain });
  assert.equal(pg.status, 200, JSON.stringify(pg.body));
  assert.equal(pg.body.result.protocol, 'postgres');
  assert.equal(pg.body.result.confidence, 'high');
  const steps = (pg.body.result as PortReport).evidence.map((e) => e.step);
  assert.ok(steps.includes('postgres-sslrequest') && steps.includes('postgres-startup'), steps.join(', '));

  const sentinel = await call('identify', 'port', { host: '127.0.0.1', port: ports['databases-kv'].sentinel });
  assert.equal(sentinel.body.result.protocol, 'redis');
  assert.equal(sentinel.body.result.product, 'Redis Sentinel');
  assert.match(sentinel.body.result.version, /^\d+\.\d+\.\d+$/);
});

test('identify port: an echo server is named echo, never the first protocol tried', async () => {
  const r = await call('identify', 'port', { host: '127.0.0.1', port: ports.foundation.echo });
  assert.equal(r.body.result.service, 'echo');
  assert.equal(r.body.result.protocol, 'echo');
});

test('identify scan: a port list over the limit or malformed is a 400 naming the field', async () => {
  const over = await call('identify', 'scan', { host: '127.0.0.1', ports: '1-2000' });
  assert.equal(over.status, 400);
  assert.match(JSON.stringify(over.body.error), /ports/);
  const bad = await call('identify', 'scan', { host: '127.0.0.1', ports: '22,abc' });
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body.error), /ports.*abc|abc.*ports/);
});

test('identify scan as a request answers with every port once done', async () => {
  const r = await call('identify', 'scan', { host: '127.0.0.1', ports: `${ports.ssh.sshd},${ports.foundation.closedPort}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(
    r.body.result.results.map((x: PortReport) => [x.port, x.state, x.protocol]),
    [
      [ports.foundation.closedPort, 'closed', 'unknown'],
      [ports.ssh.sshd, 'open', 'ssh'],
    ].sort((a, b) => (a[0] as number) - (b[0] as number)),
  );
  assert.equal(r.body.result.named, 1);
});
