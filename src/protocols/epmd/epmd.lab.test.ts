import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-b.ts';

const target = { host: '127.0.0.1', port: ports['services-b'].epmd };
const facts = servicesFacts.epmd;

test('epmd: NAMES lists the lab node and its distribution port', async () => {
  const r = await call('epmd', 'names', target);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.epmdPort, target.port);
  assert.deepEqual(r.body.result.nodes.find((n: { name: string }) => n.name === facts.node), { name: facts.node, port: facts.distributionPort });
});

test('epmd: PORT_PLEASE2 gives the node port, type, protocol and versions; an unknown node is not found', async () => {
  const r = await call('epmd', 'port', { ...target, node: facts.node }, { transcript: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const node = r.body.result.node;
  assert.equal(node.port, facts.distributionPort);
  assert.equal(node.type, 'normal');
  assert.equal(node.protocol, 'tcp/ipv4');
  assert.ok(node.highestVersion >= node.lowestVersion && node.lowestVersion >= 5, JSON.stringify(node));
  assert.ok(r.body.transcript.entries.some((e: { decode?: string }) => e.decode === `PORT_PLEASE2_REQ ${facts.node}`));
  const missing = await call('epmd', 'port', { ...target, node: 'nosuchnode' });
  assert.equal(missing.status, 200);
  assert.deepEqual(missing.body.result, { found: false, node: null });
});

test('epmd: bad input names the field', async () => {
  const r = await call('epmd', 'port', { ...target, node: 'a@b' });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /node/);
});
