// SSDP against minidlna in the lab's network namespace (multicast stays on its loopback): the CLI runs the
// Node host's dialer inside that namespace. Outside it, the Node host's policy refuses the multicast group,
// and workerd refuses UDP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { nodeFacts } from '../../../lab/servers/node.ts';
import { call } from '../../../test/harness.ts';
import { BIN, callNode, startNodeHost } from '../../../test/node-host.ts';

const f = nodeFacts.ssdp;

function inNamespace(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', f.netns, process.execPath, BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('ssdp: a multicast M-SEARCH ssdp:all finds every service minidlna offers, with its server and location', async () => {
  const r = await inNamespace(['ssdp', '239.255.255.250:1900', 'search', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  assert.equal(body.result.multicast, true);
  const sts = body.result.responses.map((x: { st: string }) => x.st);
  for (const st of f.searchTargets) assert.ok(sts.includes(st), `${st} missing from ${JSON.stringify(sts)}`);
  for (const x of body.result.responses) {
    assert.equal(x.status, 200);
    assert.match(x.server, f.server);
    assert.match(x.location, /^http:\/\/[\d.]+:\d+\/rootDesc\.xml$/);
    assert.equal(x.from, '127.0.0.1:1900');
    assert.ok(x.maxAge > 0);
  }
});

test('ssdp: a search for one target gets only that answer', async () => {
  const r = await inNamespace(['ssdp', '239.255.255.250', 'search', '--st', 'urn:schemas-upnp-org:device:MediaServer:1', '--mx', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout).result.responses;
  assert.deepEqual(res.map((x: { st: string }) => x.st), ['urn:schemas-upnp-org:device:MediaServer:1']);
  assert.match(res[0].usn, /^uuid:[0-9a-f-]+::urn:schemas-upnp-org:device:MediaServer:1$/);
});

test('ssdp: the Node host refuses the multicast group unless the deployment allows it; workerd has no UDP', async () => {
  const node = await startNodeHost();
  try {
    const r = await callNode(node, 'ssdp', 'search', { host: '239.255.255.250' });
    assert.equal(r.status, 403);
    assert.match(r.body.error.message, /239\.255\.255\.250 is in 224\.0\.0\.0\/4 \(multicast\)/);
  } finally {
    await node.stop();
  }
  const w = await call('ssdp', 'search', { host: '127.0.0.1' });
  assert.equal(w.status, 501);
  assert.deepEqual(w.body.error.detail.missing, ['udp']);
});
