// Redis Cluster against three masters and an edge node of Debian's redis-server in the lab, through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call } from '../../../test/harness.ts';
import { kvFacts } from '../../../lab/servers/databases-kv.ts';

const cf = kvFacts.cluster;
const [portA, portB, portC] = cf.masters;
const nodeA = { host: '127.0.0.1', port: portA, password: cf.password };
const edge = { host: '127.0.0.1', port: cf.edge, password: cf.password };
const uniq = (name: string) => `${name}:${process.pid}:${Math.floor(Math.random() * 1e9)}`;

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('redis', op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('redis cluster: CLUSTER SHARDS and CLUSTER SLOTS give the three masters with their slot ranges', async () => {
  for (const source of ['shards', 'slots'] as const) {
    const r = await ok('cluster', { ...nodeA, source });
    assert.equal(r.source, source === 'shards' ? 'CLUSTER SHARDS' : 'CLUSTER SLOTS');
    assert.equal(r.slotsCovered, 16384);
    assert.equal(r.info.cluster_state, 'ok');
    assert.equal(r.info.cluster_known_nodes, '4');
    const served = r.shards.filter((s: { slots: unknown[] }) => s.slots.length > 0);
    assert.deepEqual(
      served.map((s: { slots: { start: number; end: number }[]; nodes: { port: number; role: string }[] }) => [s.slots, s.nodes.find((n) => n.role === 'master')?.port]).sort((a: any, b: any) => a[0][0].start - b[0][0].start),
      cf.slots.map(([start, end], i) => [[{ start, end }], cf.masters[i]]),
    );
  }
  // CLUSTER NODES as the first master sees it: four nodes, and its own slot mid-migration to the second master.
  const r = await ok('cluster', nodeA);
  assert.equal(r.nodes.length, 4);
  const self = r.nodes.find((n: { flags: string[] }) => n.flags.includes('myself'));
  assert.equal(self.port, portA);
  const b = r.nodes.find((n: { port: number }) => n.port === portB);
  assert.deepEqual(self.migrating, [{ slot: cf.migratingSlot, to: b.id }]);
  // The third master announces a hostname, which CLUSTER NODES shows after its address.
  assert.equal(r.nodes.find((n: { port: number }) => n.port === portC).hostname, cf.privateHostname);
});

test('redis cluster: a command on the wrong node follows MOVED to the owner; the value reads back from any node', async () => {
  const key = uniq('moved');
  // Find a key that the second master owns: a SET sent to the first master is MOVED there.
  const set = await ok('clusterCommand', { ...nodeA, args: ['SET', key, 'across the cluster'] });
  const get = await ok('clusterCommand', { ...{ ...nodeA, port: portC }, args: ['GET', key] });
  assert.deepEqual(get.reply, { type: 'bulk', text: 'across the cluster', length: 18 });
  assert.equal(get.node, set.node, 'both answered by the node that owns the slot');
  // A key of the third master's slots (slot 12182, as CLUSTER KEYSLOT foo answers): MOVED from the first master.
  const moved = await ok('clusterCommand', { ...nodeA, args: ['SET', 'foo', 'bar'] });
  assert.deepEqual(moved.reply, { type: 'simple', text: 'OK' });
  assert.deepEqual(moved.redirects, [{ kind: 'MOVED', slot: 12182, from: `127.0.0.1:${portA}`, to: `127.0.0.1:${portC}` }]);
  assert.equal(moved.node, `127.0.0.1:${portC}`);
  // The server's own words: a command refused by the owning node comes back as its error.
  const wrong = await call('redis', 'clusterCommand', { ...nodeA, args: ['LPUSH', 'foo', 'x'] });
  assert.equal(wrong.body.error.code, 'server_error');
  assert.match(wrong.body.error.message, /WRONGTYPE/);
  // Keys of different slots in one command: CROSSSLOT, in the server's words.
  const cross = await call('redis', 'clusterCommand', { ...nodeA, args: ['MSET', 'foo', '1', uniq('other'), '2'] });
  assert.match(cross.body.error.message, /CROSSSLOT/);
});

test('redis cluster: a key of a slot mid-migration follows ASK with ASKING to the importing node', async () => {
  const key = `{${cf.migratingTag}}:${uniq('ask')}`;
  const set = await ok('clusterCommand', { ...nodeA, args: ['SET', key, 'migrating value'] });
  assert.deepEqual(set.redirects, [{ kind: 'ASK', slot: cf.migratingSlot, from: `127.0.0.1:${portA}`, to: `127.0.0.1:${portB}` }]);
  assert.equal(set.node, `127.0.0.1:${portB}`);
  const get = await ok('clusterCommand', { ...nodeA, args: ['GET', key] });
  assert.equal(get.reply.text, 'migrating value');
  assert.equal(get.redirects[0].kind, 'ASK');
  // Without ASKING the importing node itself answers MOVED back to the slot's owner: the router follows it, then ASK again.
  const fromB = await ok('clusterCommand', { ...nodeA, port: portB, args: ['GET', key] });
  assert.equal(fromB.reply.text, 'migrating value');
  assert.deepEqual(fromB.redirects.map((r: { kind: string }) => r.kind), ['MOVED', 'ASK']);
});

test('redis cluster: a redirect to a private address is target_blocked, naming the redirect', async () => {
  // The edge node answers with hostnames; the third master's is a private address, which the guard refuses.
  const r = await call('redis', 'clusterCommand', { ...edge, args: ['GET', 'foo'] });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'target_blocked');
  assert.match(r.body.error.message, new RegExp(`^MOVED 12182 from 127\\.0\\.0\\.1:${cf.edge} to ${cf.privateHostname.replace(/\./g, '\\.')}:${portC}: .*second hop`));
  assert.deepEqual(r.body.error.detail.redirect, { kind: 'MOVED', slot: 12182, from: `127.0.0.1:${cf.edge}`, to: `${cf.privateHostname}:${portC}` });
  // The edge node's topology names the same address, as the node announces it.
  const topo = await ok('cluster', edge);
  const c = topo.shards.find((s: { nodes: { port: number }[] }) => s.nodes.some((n) => n.port === portC));
  assert.equal(c.nodes[0].endpoint, cf.privateHostname);
});

test('redis cluster: the key browser pages through every master in slot order', async () => {
  const prefix = uniq('browse');
  const keys = Array.from({ length: 30 }, (_, i) => `${prefix}:${i}`);
  for (const k of keys) await ok('clusterCommand', { ...nodeA, args: ['SET', k, 'v'] });
  await ok('clusterCommand', { ...nodeA, args: ['EXPIRE', keys[0], '600'] });
  const seen = new Map<string, { slot: number; node: string; type: string; ttl: number }>();
  let cursor = '0';
  let pages = 0;
  do {
    const page = await ok('clusterScan', { ...nodeA, cursor, match: `${prefix}:*`, pageSize: 7, count: 1000 });
    assert.deepEqual(page.masters.map((m: { node: string }) => m.node), cf.masters.map((port) => `127.0.0.1:${port}`));
    for (const k of page.keys) seen.set(k.key.text, k);
    cursor = page.cursor;
    pages++;
    assert.ok(pages < 40, 'the browser ends');
  } while (cursor !== '0');
  assert.deepEqual([...seen.keys()].sort(), [...keys].sort());
  assert.equal(seen.get(keys[0])!.type, 'string');
  assert.ok(seen.get(keys[0])!.ttl > 0 && seen.get(keys[0])!.ttl <= 600);
  assert.equal(seen.get(keys[1])!.ttl, -1);
  // Every key was found on the master whose slots hold it, and the keys spread over all three.
  for (const [k, info] of seen) {
    const owner = cf.slots.findIndex(([s, e]) => info.slot >= s && info.slot <= e);
    assert.equal(info.node, `127.0.0.1:${cf.masters[owner]}`, k);
    const slot = await ok('clusterCommand', { ...nodeA, args: ['CLUSTER', 'KEYSLOT', k] });
    assert.equal(slot.reply.value, info.slot, `slot of ${k}`);
  }
  assert.equal(new Set([...seen.values()].map((x) => x.node)).size, 3);
  const bad = await call('redis', 'clusterScan', { ...nodeA, cursor: '9:0' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /cursor/);
});

test('redis cluster: a server without cluster mode says so', async () => {
  const { ports } = await import('../../../lab/index.ts');
  const r = await call('redis', 'cluster', { host: '127.0.0.1', port: ports['databases-kv'].redis, password: kvFacts.redis.password });
  assert.equal(r.body.error.code, 'server_error');
  assert.match(r.body.error.message, /cluster support disabled.*not a cluster node/);
});
