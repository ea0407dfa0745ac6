// The RabbitMQ management API against Debian's RabbitMQ 3.10 in the lab, through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, openSession } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { rabbitFacts } from '../../../lab/servers/messaging-rabbitmq.ts';

const p = ports['messaging-rabbitmq'];
const mgmt = { host: '127.0.0.1', port: p.management, username: rabbitFacts.user, password: rabbitFacts.password };
const amqp = { host: '127.0.0.1', port: p.amqp, username: rabbitFacts.user, password: rabbitFacts.password };

async function ok(protocol: string, op: string, input: Record<string, unknown>) {
  const r = await call(protocol, op, input);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('rabbitmq overview and nodes: versions, cluster name, listeners, node resources', async () => {
  const o = await ok('rabbitmq', 'overview', mgmt);
  assert.equal(o.rabbitmqVersion, '3.10.8');
  assert.match(o.erlangVersion, /^25\./);
  assert.equal(o.clusterName, rabbitFacts.clusterName);
  assert.equal(o.node, rabbitFacts.nodeName);
  const listeners = Object.fromEntries(o.listeners.map((l: any) => [l.protocol, l.port]));
  assert.equal(listeners.amqp, p.amqp);
  assert.equal(listeners['amqp/ssl'], p.amqps);
  assert.equal(listeners.mqtt, p.mqtt);
  assert.equal(listeners.stomp, p.stomp);
  const nodes = await ok('rabbitmq', 'nodes', mgmt);
  assert.equal(nodes.count, 1);
  assert.equal(nodes.items[0].name, rabbitFacts.nodeName);
  assert.equal(nodes.items[0].running, true);
  assert.ok(nodes.items[0].memUsed > 0 && nodes.items[0].memLimit > nodes.items[0].memUsed);
  const vhosts = await ok('rabbitmq', 'vhosts', mgmt);
  assert.deepEqual(vhosts.items.map((v: any) => v.name).sort(), ['/', rabbitFacts.vhost]);
});

test('rabbitmq queues, exchanges and bindings show what AMQP declared, with depth; connections show a live consumer', async () => {
  const q = `lab.mgmt.${process.pid}.${Math.floor(Math.random() * 1e9)}`;
  const x = `${q}.x`;
  await ok('amqp', 'declare', { ...amqp, vhost: rabbitFacts.vhost, name: q, durable: true, arguments: { 'x-max-length': 50 } });
  await ok('amqp', 'declare', { ...amqp, vhost: rabbitFacts.vhost, kind: 'exchange', name: x, type: 'fanout' });
  await ok('amqp', 'declare', { ...amqp, vhost: rabbitFacts.vhost, kind: 'binding', name: q, source: x });
  await ok('amqp', 'publish', { ...amqp, vhost: rabbitFacts.vhost, exchange: x, payload: 'm', count: 7 });
  let queue: any;
  for (let i = 0; i < 20 && !(queue?.messages === 7); i++) {
    // the management plugin's statistics are refreshed every second
    await new Promise((r) => setTimeout(r, 300));
    queue = (await ok('rabbitmq', 'queues', { ...mgmt, vhost: rabbitFacts.vhost })).items.find((i: any) => i.name === q);
  }
  assert.equal(queue.messages, 7);
  assert.equal(queue.ready, 7);
  assert.equal(queue.type, 'classic');
  assert.deepEqual(queue.arguments, { 'x-max-length': 50 });
  const ex = (await ok('rabbitmq', 'exchanges', { ...mgmt, vhost: rabbitFacts.vhost })).items.find((e: any) => e.name === x);
  assert.equal(ex.type, 'fanout');
  const bindings = (await ok('rabbitmq', 'bindings', { ...mgmt, vhost: rabbitFacts.vhost })).items.filter((b: any) => b.source === x);
  assert.deepEqual(bindings.map((b: any) => [b.destination, b.destinationType]), [[q, 'queue']]);
  const live = await openSession('amqp', 'consume', { ...amqp, vhost: rabbitFacts.vhost, queue: q, prefetch: 1 });
  await live.next((m) => m.type === 'message');
  let conn: any;
  for (let i = 0; i < 20 && !conn; i++) {
    await new Promise((r) => setTimeout(r, 300));
    conn = (await ok('rabbitmq', 'connections', { ...mgmt, vhost: rabbitFacts.vhost })).items.find((c: any) => c.clientProduct === 'Portolan');
  }
  assert.equal(conn.user, rabbitFacts.user);
  assert.equal(conn.protocol, 'AMQP 0-9-1');
  live.send({ type: 'stop' });
  await live.done;
  await ok('amqp', 'delete', { ...amqp, vhost: rabbitFacts.vhost, name: q });
  await ok('amqp', 'delete', { ...amqp, vhost: rabbitFacts.vhost, kind: 'exchange', name: x });
});

test('rabbitmq: a refused login is auth_failed in the API\'s words; a user without the management tag too', async () => {
  const bad = await call('rabbitmq', 'overview', { ...mgmt, password: 'wrong' });
  assert.equal(bad.body.error.code, 'auth_failed');
  assert.match(bad.body.error.message, /Login failed/);
  const limited = await call('rabbitmq', 'queues', { ...mgmt, username: rabbitFacts.limitedUser, password: rabbitFacts.limitedPassword });
  assert.equal(limited.body.error.code, 'auth_failed');
  assert.match(limited.body.error.message, /Not management user/);
});

test('no credential in any transcript: management Basic auth, MQTT CONNECT, AMQP start-ok, STOMP CONNECT', async () => {
  const hexOf = (s: string) => Buffer.from(s).toString('hex');
  const basic = Buffer.from(`${rabbitFacts.user}:${rabbitFacts.password}`).toString('base64');
  const runs = [
    await call('rabbitmq', 'overview', mgmt, { transcript: true }),
    await call('mqtt', 'probe', { host: '127.0.0.1', port: p.mqtt, username: rabbitFacts.user, password: rabbitFacts.password, version: '3.1.1' }, { transcript: true }),
    await call('amqp', 'probe', amqp, { transcript: true }),
    await call('amqp', 'probe', { ...amqp, mechanism: 'AMQPLAIN' }, { transcript: true }),
    await call('stomp', 'probe', { host: '127.0.0.1', port: p.stomp, login: rabbitFacts.user, passcode: rabbitFacts.password, vhost: '/' }, { transcript: true }),
  ];
  for (const r of runs) {
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const text = JSON.stringify(r.body.transcript);
    assert.ok(r.body.transcript.entries.length > 2);
    assert.ok(!text.includes(rabbitFacts.password) && !text.includes(hexOf(rabbitFacts.password)) && !text.includes(basic) && !text.includes(hexOf(basic)), `${r.body.protocol}: the password is in the transcript`);
  }
});
