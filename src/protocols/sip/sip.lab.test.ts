// SIP OPTIONS against kamailio over UDP (Node host) and TCP (Node host and workerd); UDP refused on workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ports } from '../../../lab/index.ts';
import { nodeFacts } from '../../../lab/servers/node.ts';
import { call } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const f = nodeFacts.sip;
const target = { host: '127.0.0.1', port: ports.node.sip };
const node = useNodeHost();

function assertKamailio(result: Record<string, any>, transport: string): void {
  assert.equal(result.status, 200);
  assert.equal(result.reason, f.reason);
  assert.deepEqual(result.allow, f.allow);
  assert.deepEqual(result.accept, ['application/sdp']);
  assert.equal(result.server, f.server);
  assert.equal(result.transport, transport);
}

test('sip: OPTIONS over UDP through the Node host — status, Allow, Server; rport answered', async () => {
  const r = await callNode(node, 'sip', 'options', target);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assertKamailio(r.body.result, 'udp');
  const via = r.body.result.headers.find(([k]: string[]) => k === 'Via')[1];
  assert.match(via, /;rport=\d+;received=127\.0\.0\.1/);
  assert.equal(r.body.result.attempts, 1);
});

test('sip: OPTIONS over TCP on the Node host and on workerd', async () => {
  const n = await callNode(node, 'sip', 'options', { ...target, transport: 'tcp' });
  assert.equal(n.status, 200, JSON.stringify(n.body));
  assertKamailio(n.body.result, 'tcp');
  const w = await call('sip', 'options', { ...target, transport: 'tcp' });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assertKamailio(w.body.result, 'tcp');
});

test('sip: no SIP server there — io_timeout after the retransmissions; UDP on workerd — 501', async () => {
  const r = await callNode(node, 'sip', 'options', { host: '127.0.0.1', port: ports.foundation.closedPort, retries: 2, waitMs: 150 });
  assert.equal(r.status, 504);
  assert.match(r.body.error.message, /no SIP response from 127\.0\.0\.1:10001 after 3 tries \(2 retries\), 150 ms each/);
  const w = await call('sip', 'options', target);
  assert.equal(w.status, 501);
  assert.deepEqual(w.body.error.detail.missing, ['udp']);
});
