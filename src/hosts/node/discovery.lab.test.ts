// mDNS (the dns protocol's mdns operation) against avahi-daemon across the lab's veth pair: the CLI runs the
// Node host's dialer in the client namespace, so the multicast-DNS responder never sees a real interface.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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
