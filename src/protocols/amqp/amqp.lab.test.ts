// AMQP 0-9-1 against Debian's RabbitMQ 3.10 in the lab, through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, openSession } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { rabbitFacts } from '../../../lab/servers/messaging-rabbitmq.ts';

const p = ports['messaging-rabbitmq'];
const target = { host: '127.0.0.1', port: p.amqp, username: rabbitFacts.user, password: rabbitFacts.password };
const uniq = (name: string) => `lab.${name}.${process.pid}.${Math.floor(Math.random() * 1e9)}`;

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('amqp', op, { ...target, ...input });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('amqp probe: RabbitMQ\'s properties, capabilities and mechanisms; tune negotiation takes the lower limits', async () => {
  const r = await ok('probe', { heartbeat: 30, frameMax: 8192, channelMax: 16 });
  assert.equal(r.product, 'RabbitMQ');
  assert.equal(r.serverVersion, '3.10.8');
  assert.equal(r.version, '0-9');
  assert.equal(r.clusterName, rabbitFacts.clusterName);
  assert.equal(r.capabilities.publisher_confirms, true);
  assert.equal(r.capabilities['basic.nack'], true);
  assert.deepEqual(r.mechanisms.sort(), ['AMQPLAIN', 'PLAIN']);
  assert.deepEqual(r.tune, { channelMax: 2047, frameMax: 131072, heartbeat: 60 });
  assert.deepEqual(r.negotiated, { channelMax: 16, frameMax: 8192, heartbeat: 30 });
  const bare = await ok('probe', { login: false, username: 'nobody', password: 'x' });
  assert.equal(bare.loggedIn, false);
  assert.equal(bare.product, 'RabbitMQ');
});

test('amqp over TLS (5671-style listener), AMQPLAIN, and a second virtual host', async () => {
  const tls = await ok('probe', { port: p.amqps, tls: 'implicit', mechanism: 'AMQPLAIN', vhost: rabbitFacts.vhost });
  assert.equal(tls.loggedIn, true);
  const q = uniq('tls');
  await ok('declare', { port: p.amqps, tls: 'implicit', vhost: rabbitFacts.vhost, name: q, autoDelete: false });
  await ok('publish', { port: p.amqps, tls: 'implicit', vhost: rabbitFacts.vhost, routingKey: q, payload: 'over tls' });
  const got = await ok('get', { port: p.amqps, tls: 'implicit', vhost: rabbitFacts.vhost, queue: q });
  assert.deepEqual(got.messages[0].payload, { text: 'over tls' });
  await ok('delete', { vhost: rabbitFacts.vhost, name: q });
});

test('amqp: a wrong password and a refused virtual host are auth_failed with RabbitMQ\'s words', async () => {
  const bad = await call('amqp', 'probe', { ...target, password: 'wrong' });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'auth_failed');
  assert.equal(bad.body.error.detail.replyCode, 403);
  assert.match(bad.body.error.message, /ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN/);
  const amqplain = await call('amqp', 'probe', { ...target, password: 'wrong', mechanism: 'AMQPLAIN' });
  assert.match(amqplain.body.error.message, /mechanism AMQPLAIN/);
  const vhost = await call('amqp', 'probe', { ...target, username: rabbitFacts.limitedUser, password: rabbitFacts.limitedPassword, vhost: rabbitFacts.vhost });
  assert.equal(vhost.body.error.code, 'auth_failed');
  assert.equal(vhost.body.error.detail.replyCode, 530);
  assert.match(vhost.body.error.message, /access to vhost 'lab' refused for user 'limited'/);
});

test('amqp: not authorized to a queue is server_error with the channel.close text', async () => {
  const limited = { username: rabbitFacts.limitedUser, password: rabbitFacts.limitedPassword };
  const r = await call('amqp', 'declare', { ...target, ...limited, name: 'not-limited-queue' });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.equal(r.body.error.detail.replyCode, 403);
  assert.match(r.body.error.message, /ACCESS_REFUSED - access to queue 'not-limited-queue' in vhost '\/' refused for user 'limited'/);
  // and its own prefix is allowed
  const own = await call('amqp', 'declare', { ...target, ...limited, name: `limited.${process.pid}`, exclusive: true });
  assert.equal(own.status, 200, JSON.stringify(own.body));
});

test('amqp: declare, publish with properties and headers, passive counts, get with requeue then ack, purge, delete', async () => {
  const q = uniq('props');
  const d = await ok('declare', { name: q, durable: true, arguments: { 'x-max-length': 100 } });
  assert.deepEqual([d.name, d.messageCount, d.consumerCount], [q, 0, 0]);
  const headers = { source: 'lab', n: 42, big: 2 ** 40, ok: true, nested: { list: [1, 'two', false] } };
  const pub = await ok('publish', {
    routingKey: q,
    payload: 'msg {n}',
    numbered: true,
    count: 3,
    contentType: 'text/plain',
    contentEncoding: 'utf-8',
    headers,
    persistent: true,
    priority: 5,
    correlationId: 'corr-1',
    replyTo: 'replies',
    expiration: '60000',
    messageId: 'id-1',
    timestamp: 1_700_000_000,
    type: 'greeting',
    userId: rabbitFacts.user,
    appId: 'portolan-lab',
  });
  assert.deepEqual([pub.confirmed, pub.nacked, pub.returnedCount], [3, 0, 0]);
  assert.equal((await ok('declare', { name: q, passive: true })).messageCount, 3);
  const requeued = await ok('get', { queue: q, count: 2, ack: 'requeue' });
  assert.deepEqual(requeued.messages.map((m: any) => m.payload.text), ['msg 1', 'msg 2']);
  const m = requeued.messages[0];
  assert.deepEqual(m.properties, {
    contentType: 'text/plain',
    contentEncoding: 'utf-8',
    headers,
    deliveryMode: 2,
    priority: 5,
    correlationId: 'corr-1',
    replyTo: 'replies',
    expiration: '60000',
    messageId: 'id-1',
    timestamp: 1_700_000_000,
    type: 'greeting',
    userId: rabbitFacts.user,
    appId: 'portolan-lab',
  });
  assert.equal(m.messageCount, 2, 'messages left after the first get');
  const again = await ok('get', { queue: q, count: 5 });
  assert.equal(again.count, 3);
  assert.equal(again.empty, true);
  assert.equal(again.messages[0].redelivered, true, 'requeued messages come back redelivered');
  assert.equal((await ok('declare', { name: q, passive: true })).messageCount, 0);
  await ok('publish', { routingKey: q, payload: 'x', count: 4 });
  assert.equal((await ok('purge', { queue: q })).messageCount, 4);
  await ok('publish', { routingKey: q, payload: 'y' });
  assert.equal((await ok('delete', { name: q })).messageCount, 1);
  const gone = await call('amqp', 'declare', { ...target, name: q, passive: true });
  assert.equal(gone.body.error.code, 'server_error');
  assert.match(gone.body.error.message, /404 NOT_FOUND - no queue/);
});

test('amqp: mandatory publish to nowhere shows basic.return 312 NO_ROUTE, and is still confirmed', async () => {
  const r = await ok('publish', { exchange: 'amq.direct', routingKey: uniq('nowhere'), payload: 'lost', mandatory: true, count: 2 });
  assert.equal(r.returnedCount, 2);
  assert.deepEqual(r.returned[0].replyCode, 312);
  assert.equal(r.returned[0].replyText, 'NO_ROUTE');
  assert.equal(r.returned[0].exchange, 'amq.direct');
  assert.equal(r.confirmed, 2);
});

test('amqp: a 300 KB binary body crosses an 8 KiB frame-max in many body frames and reads back byte for byte', async () => {
  const q = uniq('big');
  await ok('declare', { name: q, exclusive: false, autoDelete: false });
  const body = Buffer.alloc(300_000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 8)) & 0xff;
  await ok('publish', { routingKey: q, payload: { base64: body.toString('base64') }, frameMax: 8192 });
  const got = await ok('get', { queue: q, frameMax: 8192, encoding: 'base64' });
  assert.equal(got.messages[0].size, body.length);
  assert.equal(got.messages[0].payload.base64, body.toString('base64'));
  await ok('delete', { name: q });
});

test('amqp: a topic exchange binding routes by pattern; unbind stops it', async () => {
  const x = uniq('topic');
  const q = uniq('bound');
  await ok('declare', { kind: 'exchange', name: x, type: 'topic', autoDelete: false });
  await ok('declare', { name: q });
  await ok('declare', { kind: 'binding', name: q, source: x, routingKey: 'sensors.*.temp' });
  await ok('publish', { exchange: x, routingKey: 'sensors.kitchen.temp', payload: '21.5' });
  const r = await ok('publish', { exchange: x, routingKey: 'sensors.kitchen.light', payload: 'on', mandatory: true });
  assert.equal(r.returnedCount, 1, 'no binding matches the light');
  const got = await ok('get', { queue: q, count: 5 });
  assert.deepEqual(got.messages.map((m: any) => [m.routingKey, m.payload.text]), [['sensors.kitchen.temp', '21.5']]);
  await ok('declare', { kind: 'binding', name: q, source: x, routingKey: 'sensors.*.temp', unbind: true });
  assert.equal((await ok('publish', { exchange: x, routingKey: 'sensors.hall.temp', mandatory: true })).returnedCount, 1);
  await ok('delete', { name: q });
  await ok('delete', { kind: 'exchange', name: x });
});

test('amqp consume session: prefetch holds deliveries until the client acks; stop cancels and unacked messages go back', async () => {
  const q = uniq('consume');
  await ok('declare', { name: q });
  await ok('publish', { routingKey: q, payload: 'c{n}', numbered: true, count: 6 });
  const s = await openSession('amqp', 'consume', { ...target, queue: q, prefetch: 2, ack: 'client' });
  const sub = await s.next((m) => m.type === 'subscribed');
  assert.equal(sub.prefetch, 2);
  const a = await s.next((m) => m.type === 'message');
  const b = await s.next((m) => m.type === 'message');
  assert.deepEqual([a.payload.text, b.payload.text], ['c1', 'c2']);
  assert.equal(a.topic, `(default)/${q}`);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(s.inbox.filter((m) => m.type === 'message').length, 0, 'prefetch 2: nothing more before an ack');
  s.send({ type: 'ack', messages: 2 });
  const c = await s.next((m) => m.type === 'message');
  await s.next((m) => m.type === 'message');
  assert.equal(c.payload.text, 'c3');
  s.send({ type: 'ack', messages: 1 });
  await s.next((m) => m.type === 'message');
  s.send({ type: 'stop' });
  const end = await s.next((m) => m.type === 'end');
  assert.deepEqual([end.result.ended, end.result.count, end.result.acked], ['client', 5, 3]);
  await s.done;
  // c1..c3 were acked; c4 and c5 were delivered but not acked, so they are back with c6.
  const left = await ok('get', { queue: q, count: 10 });
  assert.deepEqual(left.messages.map((m: any) => m.payload.text), ['c4', 'c5', 'c6']);
  await ok('delete', { name: q });
});

test('amqp: 2,000 messages with publisher confirms in one call, then consumed by a POST window', async () => {
  const q = uniq('batch');
  await ok('declare', { name: q });
  const r = await ok('publish', { routingKey: q, payload: 'b{n}', numbered: true, count: 2000, inflight: 500 });
  assert.deepEqual([r.count, r.confirmed, r.nacked], [2000, 2000, 0]);
  const c = await ok('consume', { queue: q, durationMs: 3000, maxMessages: 2000, prefetch: 500 });
  assert.equal(c.count, 2000);
  assert.equal(c.messages[1999].payload.text, 'b2000');
  assert.equal(c.ended, 'maxMessages');
  assert.equal((await ok('declare', { name: q, passive: true })).messageCount, 0, 'all acked');
  await ok('delete', { name: q });
});

test('amqp consume session, manual settling: nack with requeue brings a delivery back redelivered, reject drops it', async () => {
  const q = uniq('manual');
  await ok('declare', { name: q });
  await ok('publish', { routingKey: q, payload: 'm{n}', numbered: true, count: 2 });
  const s = await openSession('amqp', 'consume', { ...target, queue: q, prefetch: 10, ack: 'manual' });
  await s.next((m) => m.type === 'subscribed');
  const first = await s.next((m) => m.type === 'message' && m.payload.text === 'm1');
  const second = await s.next((m) => m.type === 'message' && m.payload.text === 'm2');
  s.send({ type: 'settle', deliveryTag: first.deliveryTag, outcome: 'nack', requeue: true });
  assert.equal((await s.next((m) => m.type === 'settled')).outcome, 'nack');
  const again = await s.next((m) => m.type === 'message' && m.payload.text === 'm1');
  assert.equal(again.redelivered, true);
  s.send({ type: 'settle', deliveryTag: again.deliveryTag, outcome: 'ack' });
  s.send({ type: 'settle', deliveryTag: second.deliveryTag, outcome: 'reject' });
  await s.next((m) => m.type === 'settled' && m.outcome === 'reject');
  s.send({ type: 'settle', deliveryTag: 'x' });
  assert.match((await s.next((m) => m.type === 'error')).error.message, /deliveryTag/);
  s.send({ type: 'stop' });
  const end = await s.next((m) => m.type === 'end');
  assert.equal(end.result.acked, 3);
  await s.done;
  assert.equal((await ok('declare', { name: q, passive: true })).messageCount, 0, 'acked and rejected: nothing left');
  await ok('delete', { name: q });
});
