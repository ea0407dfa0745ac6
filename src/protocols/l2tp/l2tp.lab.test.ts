// L2TP against xl2tpd on the Node host (UDP): SCCRP decoded, then StopCCN; workerd answers 501.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';
import { ports } from '../../../lab/index.ts';
import { edgeFacts } from '../../../lab/servers/edge.ts';

const f = edgeFacts.l2tp;
const node = useNodeHost();

test('l2tp probe: xl2tpd’s SCCRP — host name, vendor, version, its tunnel id and window', async () => {
  const r = await callNode(node, 'l2tp', 'probe', { host: '127.0.0.1', port: f.port }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body.error));
  const p = r.body.result;
  assert.equal(p.messageType, 'SCCRP');
  assert.equal(p.protocolVersion, '1.0');
  assert.equal(p.hostname, f.hostname);
  assert.equal(p.vendor, f.vendor);
  assert.equal(typeof p.firmware, 'number');
  assert.ok(p.tunnelId > 0);
  assert.equal(p.receiveWindow, 4);
  assert.equal(p.challenge, false);
  assert.match(JSON.stringify(r.body.transcript), /StopCCN/);
});

test('l2tp: nothing listening is io_timeout after the retries; workerd refuses UDP', async () => {
  const r = await callNode(node, 'l2tp', 'probe', { host: '127.0.0.1', port: ports.foundation.closedPort, retries: 1, waitMs: 200 });
  assert.equal(r.body.error.code, 'io_timeout');
  assert.match(r.body.error.message, /no SCCRP from 127\.0\.0\.1:10001 after 2 tries/);
  const w = await call('l2tp', 'probe', { host: '127.0.0.1', port: f.port });
  assert.equal(w.status, 501);
  assert.deepEqual(w.body.error.detail.missing, ['udp']);
});
