// RIP against FRR ripd across the lab's veth pair: the CLI runs the Node host's dialer in the client namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { nodeFacts } from '../../../lab/servers/node.ts';
import { call } from '../../../test/harness.ts';
import { BIN } from '../../../test/node-host.ts';

const f = nodeFacts.rip;

function inClient(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', f.clientNetns, process.execPath, BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('rip: the whole table — every route ripd advertises, metric 1, next hop the sender', async () => {
  const r = await inClient(['rip', f.router, 'request', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  assert.equal(body.target.port, 520);
  assert.deepEqual(body.result.routes.map((x: { prefix: string }) => x.prefix).sort(), [...f.routes].sort());
  for (const x of body.result.routes) assert.deepEqual([x.metric, x.nextHop, x.reachable], [1, '0.0.0.0', true]);
  assert.equal(body.result.version, 2);
});

test('rip: asking for prefixes — a known one with its metric, an unknown one at infinity (16)', async () => {
  const r = await inClient(['rip', f.router, 'request', '--prefixes', `${f.routes[1]},10.9.0.0/16`, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).result.routes.map((x: { prefix: string; metric: number }) => [x.prefix, x.metric]), [[f.routes[1], 1], ['10.9.0.0/16', 16]]);
});

test('rip: nothing answering — io_timeout after the retries (exit 12); workerd refuses UDP', async () => {
  // The client's own address: nothing listens on 520 there.
  const r = await inClient(['rip', f.client, 'request', '--retries', '1', '--wait-ms', '200']);
  assert.equal(r.code, 12, r.stderr);
  assert.match(r.stderr, /no RIP response from 10\.201\.0\.2:520 after 2 tries \(1 retry\), 200 ms each/);
  const broadcast = await inClient(['rip', '10.201.0.3', 'request']);
  assert.equal(broadcast.code, 10, broadcast.stderr);
  assert.match(broadcast.stderr, /refused to send to 10\.201\.0\.3:520 \(EACCES/);
  const w = await call('rip', 'request', { host: '127.0.0.1' });
  assert.equal(w.status, 501);
  assert.deepEqual(w.body.error.detail.missing, ['udp']);
});
