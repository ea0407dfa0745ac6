// LDP against FRR ldpd in its own namespace: the CLI runs the Node host's dialer in the client namespace
// (targeted Hello over UDP, then the session over TCP 646); workerd reaches ldpd through the lab's TCP relay.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { routingFacts } from '../../../lab/servers/edge-routing.ts';
import { call } from '../../../test/harness.ts';
import { BIN } from '../../../test/node-host.ts';

const f = routingFacts.ldp;

function inClient(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', f.clientNetns, process.execPath, BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('ldp init (Node host): targeted Hello, then Initialization and KeepAlive — ldpd’s session parameters, capabilities, addresses and labels', async () => {
  const r = await inClient(['ldp', f.router, 'init', '--hello', '--transcript', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  assert.equal(body.target.port, 646);
  const x = body.result;
  assert.equal(x.peer, `${f.lsrId}:0`);
  assert.deepEqual(x.session, { version: 1, keepaliveTime: 180, advertisement: 'downstream unsolicited', loopDetection: false, pathVectorLimit: 0, maxPduLength: 4096, receiver: '192.0.2.254:0' });
  assert.deepEqual(x.capabilities, ['Dynamic Capability Announcement', 'Typed Wildcard FEC Capability', 'Unrecognized Notification Capability']);
  assert.equal(x.operational, true);
  assert.equal(x.helloSent, true);
  assert.deepEqual([...x.addresses].sort(), [f.router, f.loopback]);
  // Connected prefixes: ldpd is their egress and advertises implicit null (label 3).
  assert.deepEqual(x.labels.map((l: { fec: string; label: number }) => `${l.fec} ${l.label}`).sort(), ['198.18.46.0/30 3', `${f.loopback}/32 3`]);
  const lines = body.transcript.entries.map((e: { dir: string; decode?: string }) => `${e.dir} ${e.decode ?? ''}`).join('\n');
  assert.match(lines, /Hello \(targeted, request targeted\), hold 45s, from 192\.0\.2\.254:0/);
  assert.match(lines, /LDP 198\.18\.46\.1:0: Initialization: version 1, KeepAlive 180s, downstream unsolicited, max PDU 4096, for 192\.0\.2\.254:0, Dynamic Capability Announcement/);
  assert.match(lines, /Notification: Shutdown \(fatal\)/);
});

test('ldp init (Node host): an Initialization for another LSR ID is refused with Session Rejected/No Hello', async () => {
  const r = await inClient(['ldp', f.router, 'init', '--peer-lsr-id', '198.18.46.9']);
  assert.equal(r.code, 10, r.stderr);
  assert.match(r.stderr, /refused: the LDP peer 198\.18\.46\.1:0 sent a Notification in place of the peer’s Initialization: Session Rejected\/No Hello/);
});

test('ldp init (workerd): through the relay a wrong LSR ID is refused and the session comes up while the Hello adjacency lasts; Hello needs UDP', async () => {
  // The first test's Hello keeps the adjacency for 45 s; the relay's connections come from the client's address.
  // The refused session goes first: ldpd closes it itself, so its neighbour is free again before the next connect.
  // A session this side closes, ldpd tears down when it reads the close; a connection arriving before that is one
  // more transport connection for the same neighbour, which ldpd closes without a word.
  const wrong = await call('ldp', 'init', { host: '127.0.0.1', port: f.relayPort });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.body.error.code, 'refused');
  assert.match(wrong.body.error.message, /Session Rejected\/No Hello/);
  assert.equal(wrong.body.error.detail.code, 0x10);
  assert.equal(wrong.body.error.detail.fatal, true);
  const ok = await call('ldp', 'init', { host: '127.0.0.1', port: f.relayPort, peerLsrId: f.lsrId, listenMs: 500 });
  assert.equal(ok.status, 200, JSON.stringify(ok.body.error));
  assert.equal(ok.body.result.peer, `${f.lsrId}:0`);
  assert.equal(ok.body.result.operational, true);
  assert.ok(ok.body.result.addresses.includes(f.loopback), ok.body.result.addresses.join(', '));
  const hello = await call('ldp', 'init', { host: '127.0.0.1', port: f.relayPort, peerLsrId: f.lsrId, hello: true });
  assert.equal(hello.status, 501);
  assert.deepEqual(hello.body.error.detail.missing, ['udp']);
});
