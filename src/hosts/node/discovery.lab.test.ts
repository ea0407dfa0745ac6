// mDNS (the dns protocol's mdns operation) against avahi-daemon across the lab's veth pair: the CLI runs the
// Node host's dialer in the client namespace, so the multicast-DNS responder never sees a real interface.
// LLMNR (the llmnr operation) against llmnrd on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { ports } from '../../../lab/index.ts';
import { nodeFacts } from '../../../lab/servers/node.ts';
import { BIN } from '../../../test/node-host.ts';

const f = nodeFacts.mdns;

function inClient(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', f.clientNetns, process.execPath, BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('mdns: avahi answers a one-shot query for its host name with its address (RFC 6762 §6.7 legacy unicast)', async () => {
  const r = await inClient(['dns', f.responder, 'mdns', '--name', `${f.hostName}.local`, '--type', 'A', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const x = JSON.parse(r.stdout).result;
  assert.equal(x.flags.aa, true);
  assert.deepEqual(x.answers.map((a: { name: string; type: string; rdata: string }) => [a.name, a.type, a.rdata]), [[`${f.hostName}.local.`, 'A', f.responder]]);
});

test('mdns: DNS-SD service enumeration lists what avahi publishes', async () => {
  const r = await inClient(['dns', f.responder, 'mdns', '--type', 'PTR', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const x = JSON.parse(r.stdout).result;
  assert.equal(x.questions[0].name, '_services._dns-sd._udp.local.');
  assert.deepEqual(x.answers.map((a: { rdata: string }) => a.rdata), [`${f.service}.`]);
});

test('mdns: a name avahi does not own gets no answer — io_timeout (exit 12)', async () => {
  const r = await inClient(['dns', f.responder, 'mdns', '--name', 'nobody-here.local', '--type', 'A', '--timeout-ms', '1500']);
  assert.equal(r.code, 12, r.stderr);
  assert.match(r.stderr, /io_timeout/);
});

// LLMNR against llmnrd on loopback (lab/servers/node.ts): the Node host's own dialer, no namespace needed.
const l = nodeFacts.llmnr;
const llmnrTarget = `127.0.0.1:${ports.node.llmnr}`;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('llmnr: llmnrd answers for its name with the address of the interface asked (RFC 4795), flags read', async () => {
  const r = await cli(['dns', llmnrTarget, 'llmnr', '--name', l.hostName, '--type', 'A', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const x = JSON.parse(r.stdout).result;
  assert.equal(x.rcode, 'NOERROR');
  assert.deepEqual(x.answers.map((a: { name: string; type: string; rdata: string }) => [a.name, a.type, a.rdata]), [[`${l.hostName}.`, 'A', '127.0.0.1']]);
  assert.deepEqual(x.llmnr, { conflict: false, truncated: false, tentative: false });
  assert.ok(x.size > 12, `answer of ${x.size} bytes`);
  const text = await cli(['dns', llmnrTarget, 'llmnr', '--name', l.hostName]);
  assert.match(text.stdout, new RegExp(`^${l.hostName}\\.\\s+\\d+\\s+IN\\s+A\\s+127\\.0\\.0\\.1$`, 'm'));
  assert.match(text.stdout, /MSG SIZE {2}rcvd: [1-9]\d*/);
});

test('llmnr: a name llmnrd does not own gets no answer — io_timeout (exit 12), as RFC 4795 §2.1.1 asks', async () => {
  const r = await cli(['dns', llmnrTarget, 'llmnr', '--name', 'nobody-here', '--type', 'A', '--timeout-ms', '1500']);
  assert.equal(r.code, 12, r.stderr);
  assert.match(r.stderr, /io_timeout/);
});
