// MQTT against Debian's mosquitto 2.0 (password file, ACL, TLS and WebSocket listeners) and RabbitMQ's MQTT
// plugin, through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, openSession } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { mqttFacts } from '../../../lab/servers/messaging-mqtt.ts';
import { rabbitFacts } from '../../../lab/servers/messaging-rabbitmq.ts';

const p = ports['messaging-mqtt'];
const auth = { username: mqttFacts.user, password: mqttFacts.password };
const target = { host: '127.0.0.1', port: p.mosquitto, ...auth };
const uniq = (name: string) => `lab/${name}/${process.pid}-${Math.floor(Math.random() * 1e9)}`;

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('mqtt', op, { ...target, ...input });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('mqtt probe: 5.0 CONNACK with mosquitto\'s limits, and 3.1.1', async () => {
  const v5 = await ok('probe', {});
  assert.equal(v5.version, '5.0');
  assert.equal(v5.code, 0);
  assert.equal(v5.reason, 'Success');
  assert.equal(v5.server.topicAliasMaximum, 10, 'mosquitto announces 10 topic aliases by default');
  assert.match(v5.clientId, /^portolan-[0-9a-f]{12}$/);
  const v4 = await ok('probe', { version: '3.1.1', clientId: 'lab-probe-311' });
  assert.deepEqual([v4.version, v4.code, v4.reason, v4.clientId], ['3.1.1', 0, 'Connection Accepted', 'lab-probe-311']);
});

test('mqtt probe over TLS (8883-style listener), WebSocket and secure WebSocket', async () => {
  const tls = await ok('probe', { port: p.mosquittoTls, tls: 'implicit' });
  assert.equal(tls.tls, true);
  assert.equal(tls.code, 0);
  const ws = await ok('probe', { port: p.mosquittoWs, transport: 'websocket', path: mqttFacts.wsPath });
  assert.deepEqual([ws.transport, ws.websocketProtocol, ws.code], ['websocket', 'mqtt', 0]);
  const wss = await ok('probe', { port: p.mosquittoWss, transport: 'websocket', tls: 'implicit', version: '3.1.1' });
  assert.deepEqual([wss.websocketProtocol, wss.tls, wss.reason], ['mqtt', true, 'Connection Accepted']);
});

test('mqtt: a wrong password is auth_failed with the broker\'s reason code (5.0 and 3.1.1)', async () => {
  const v5 = await call('mqtt', 'probe', { ...target, password: 'not-the-password' });
  assert.equal(v5.status, 502);
  assert.equal(v5.body.error.code, 'auth_failed');
  assert.equal(v5.body.error.detail.reasonCode, 0x87);
  assert.match(v5.body.error.message, /135 \(Not authorized\)/);
  const v4 = await call('mqtt', 'probe', { ...target, password: 'not-the-password', version: '3.1.1' });
  assert.equal(v4.body.error.code, 'auth_failed');
  assert.equal(v4.body.error.detail.reasonCode, 5);
  assert.match(v4.body.error.message, /not authorized/);
});

test('mqtt: a misplaced wildcard is a 400 naming the field, before any connection', async () => {
  const closed = { host: '127.0.0.1', port: ports.foundation.closedPort };
  const sub = await call('mqtt', 'subscribe', { ...closed, topics: ['ok/#', 'sensors/#/temp'] });
  assert.equal(sub.status, 400);
  assert.equal(sub.body.error.detail.issues[0].field, 'topics.1');
  assert.match(sub.body.error.message, /# must be a whole level and the last one/);
  const pub = await call('mqtt', 'publish', { ...closed, topic: 'sensors/+' });
  assert.equal(pub.status, 400);
  assert.equal(pub.body.error.detail.issues[0].field, 'topic');
  const plus = await call('mqtt', 'subscribe', { ...closed, topics: ['a/b+/c'] });
  assert.match(plus.body.error.message, /\+ must fill a whole level/);
});

test('mqtt: retained publish with v5 properties reads back through retained, with the topic tree', async () => {
  const base = uniq('retained');
  const correlation = Buffer.from([0, 1, 2, 0xff]);
  await ok('publish', {
    topic: `${base}/kitchen/temp`,
    payload: '{"c":21.5}',
    qos: 1,
    retain: true,
    contentType: 'application/json',
    userProperties: { unit: 'celsius' },
    correlationData: { hex: correlation.toString('hex') },
    messageExpiry: 600,
  });
  await ok('publish', { topic: `${base}/kitchen/humidity`, payload: { hex: '00ff10' }, qos: 2, retain: true });
  await ok('publish', { topic: `${base}/hall/light`, payload: 'on', qos: 0, retain: true, version: '3.1.1' });
  const r = await ok('retained', { topics: [`${base}/#`], durationMs: 700 });
  assert.deepEqual(
    r.messages.map((m: any) => m.topic),
    [`${base}/hall/light`, `${base}/kitchen/humidity`, `${base}/kitchen/temp`],
  );
  const temp = r.messages[2];
  assert.deepEqual(temp.payload, { text: '{"c":21.5}' });
  assert.equal(temp.retain, true);
  assert.equal(temp.properties.contentType, 'application/json');
  assert.deepEqual(temp.properties.userProperties, [{ name: 'unit', value: 'celsius' }]);
  assert.deepEqual(temp.properties.correlationData, { hex: '0001' + '02ff' });
  assert.ok(temp.properties.messageExpiryInterval <= 600 && temp.properties.messageExpiryInterval > 590);
  assert.deepEqual(r.messages[1].payload, { base64: Buffer.from([0, 0xff, 0x10]).toString('base64') });
  // the tree: lab → retained → <run> → {hall, kitchen}
  let node = r.tree[0];
  while (node.children?.length === 1) node = node.children[0];
  assert.deepEqual(node.children.map((c: any) => [c.name, c.messages]), [['hall', 1], ['kitchen', 2]]);
  assert.equal(node.children[1].children[1].last.payload.text, '{"c":21.5}');
  // an empty retained payload clears it
  await ok('publish', { topic: `${base}/hall/light`, payload: '', retain: true });
  const after = await ok('retained', { topics: [`${base}/#`], durationMs: 500 });
  assert.equal(after.count, 2);
});

test('mqtt: 2,000 QoS 1 and 200 QoS 2 messages in one call arrive, in order, at a subscriber', async () => {
  const topic = uniq('batch');
  const listening = call('mqtt', 'subscribe', { ...target, topics: [topic], qos: 2, durationMs: 4000, maxMessages: 2200 });
  await new Promise((r) => setTimeout(r, 500));
  const q1 = await ok('publish', { topic, payload: 'm{n}', numbered: true, qos: 1, count: 2000 });
  assert.equal(q1.acknowledged, 2000);
  assert.deepEqual(q1.reasons, { Success: 2000 });
  const q2 = await ok('publish', { topic, payload: 'q2-{n}', numbered: true, qos: 2, count: 200, version: '3.1.1' });
  assert.equal(q2.acknowledged, 200);
  const sub = await listening;
  assert.equal(sub.status, 200, JSON.stringify(sub.body));
  const texts = sub.body.result.messages.map((m: any) => m.payload.text);
  assert.equal(texts.length, 2200);
  assert.deepEqual(texts.slice(0, 3), ['m1', 'm2', 'm3']);
  assert.equal(texts[1999], 'm2000');
  assert.equal(texts[2199], 'q2-200');
  assert.equal(sub.body.result.ended, 'maxMessages');
});

test('mqtt: not authorized by the ACL is server_error in the broker\'s words', async () => {
  const pub = await call('mqtt', 'publish', { ...target, topic: `${mqttFacts.deniedPrefix}x`, qos: 1 });
  assert.equal(pub.status, 502);
  assert.equal(pub.body.error.code, 'server_error');
  assert.match(pub.body.error.message, /PUBACK 135 \(Not authorized\)/);
  // The read-only user may not publish, even where it may read. (mosquitto grants SUBSCRIBE outside
  // the ACL and filters deliveries instead, so a refused SUBACK is tested against RabbitMQ.)
  const reader = { ...target, username: mqttFacts.reader, password: mqttFacts.readerPassword };
  const denied = await call('mqtt', 'publish', { ...reader, topic: 'sensors/x', qos: 2 });
  assert.equal(denied.body.error.code, 'server_error');
  assert.match(denied.body.error.message, /PUBREC 135 \(Not authorized\)/);
  assert.equal(denied.body.error.detail.reasonCode, 135);
});

test('mqtt subscribe session: live messages, reading pauses while the client is behind, publish from the session, stop sends DISCONNECT', async () => {
  const base = uniq('live');
  const will = `${base}/will`;
  // A 1 KiB credit window acknowledged by hand: a few messages fill it.
  const s = await openSession('mqtt', 'subscribe', { ...target, topics: [`${base}/data/#`], qos: 1, window: 1024, will: { topic: will, payload: 'gone' } }, 'dev', { manualAck: true });
  const subscribed = await s.next((m) => m.type === 'subscribed');
  assert.equal(subscribed.acks, 'none', 'MQTT messages need no settling by the client');
  assert.equal(subscribed.subscriptions[0].granted, 1);
  s.send({ type: 'ack', bytes: 1_000_000 });
  // A watcher for the will: a clean DISCONNECT means it is never published.
  const watcher = call('mqtt', 'subscribe', { ...target, topics: [will], durationMs: 6000 });
  // 12 messages of 20 KB: the Worker's reads (64 KiB at most) pause once the 1 KiB window is used up.
  const big = 'x'.repeat(20_000);
  await ok('publish', { topic: `${base}/data/a`, payload: big, qos: 1, count: 12 });
  const first = await s.next((m) => m.type === 'message');
  assert.equal(first.topic, `${base}/data/a`);
  assert.equal(first.payload.text.length, 20_000);
  assert.equal(first.size, 20_000);
  assert.match(first.time, /^\d{4}-\d\d-\d\dT/);
  // What one read brought in is sent on; then the Worker stops reading until the client acknowledges.
  await new Promise((r) => setTimeout(r, 800));
  const held = s.inbox.filter((m) => m.type === 'message').length + 1;
  assert.ok(held >= 1 && held < 12, `${held} messages arrived before any ack`);
  let got = held;
  while (got < 12) {
    s.send({ type: 'ack', bytes: 1_000_000 });
    await s.next((m) => m.type === 'message');
    got++;
  }
  s.send({ type: 'ack', bytes: 1_000_000 });
  // Publish from the session itself, and a bad control message answered with an error naming the field.
  s.send({ type: 'publish', topic: `${base}/data/b`, payload: 'from-session', qos: 1 });
  const echoed = await s.next((m) => m.type === 'message' && m.topic === `${base}/data/b`);
  assert.deepEqual(echoed.payload, { text: 'from-session' });
  assert.equal((await s.next((m) => m.type === 'published')).reason, 'Success');
  s.send({ type: 'subscribe', topics: ['bad/#/x'] });
  const err = await s.next((m) => m.type === 'error');
  assert.equal(err.error.code, 'invalid_input');
  assert.match(err.error.message, /topics\.0/);
  s.send({ type: 'ack', bytes: 1_000_000 });
  s.send({ type: 'stop' });
  const end = await s.next((m) => m.type === 'end');
  assert.equal(end.result.ended, 'client');
  assert.equal(end.result.count, 13);
  assert.equal(await s.done, 1000);
  const w = await watcher;
  assert.equal(w.body.result.count, 0, 'the will was not published: the session ended with DISCONNECT');
});

test('mqtt subscribe session over WebSocket: closing the browser socket ends it cleanly', async () => {
  const base = uniq('ws');
  const will = `${base}/will`;
  const s = await openSession('mqtt', 'subscribe', { ...target, port: p.mosquittoWs, transport: 'websocket', topics: [`${base}/#`], will: { topic: will, payload: 'gone' }, version: '3.1.1' });
  await s.next((m) => m.type === 'subscribed');
  const watcher = call('mqtt', 'subscribe', { ...target, topics: [will], durationMs: 2500 });
  await ok('publish', { topic: `${base}/x`, payload: 'hello', port: p.mosquittoWss, transport: 'websocket', tls: 'implicit' });
  assert.deepEqual((await s.next((m) => m.type === 'message')).payload, { text: 'hello' });
  s.close();
  await s.done;
  assert.equal((await watcher).body.result.count, 0, 'no will: the Worker sent DISCONNECT when the WebSocket closed');
});

const rabbit = { host: '127.0.0.1', port: ports['messaging-rabbitmq'].mqtt, username: rabbitFacts.user, password: rabbitFacts.password };

test('mqtt on RabbitMQ\'s MQTT plugin: 5.0 refused, probe falls back to 3.1.1; publish and subscribe work; Web-MQTT too', async () => {
  const probe = await ok('probe', { ...rabbit });
  assert.deepEqual([probe.version, probe.fellBack, probe.code], ['3.1.1', true, 0]);
  const strict = await call('mqtt', 'publish', { ...rabbit, topic: 'x' });
  assert.equal(strict.body.error.code, 'closed', 'without the probe\'s fallback, a 5.0 CONNECT is closed');
  const topic = uniq('rabbit');
  const listening = call('mqtt', 'subscribe', { ...rabbit, version: '3.1.1', topics: [`${topic}/#`], qos: 1, durationMs: 3000, maxMessages: 300 });
  await new Promise((r) => setTimeout(r, 500));
  const pub = await ok('publish', { ...rabbit, version: '3.1.1', topic: `${topic}/a`, payload: 'r{n}', numbered: true, qos: 1, count: 300 });
  assert.equal(pub.acknowledged, 300);
  const sub = await listening;
  assert.equal(sub.body.result.count, 300);
  assert.equal(sub.body.result.messages[299].payload.text, 'r300');
  const ws = await ok('probe', { ...rabbit, port: ports['messaging-rabbitmq'].webMqtt, transport: 'websocket', path: '/ws', version: '3.1.1' });
  assert.deepEqual([ws.websocketProtocol, ws.code], ['mqtt', 0]);
});

test('mqtt on RabbitMQ: a topic the user may not read is server_error (RabbitMQ closes instead of a SUBACK failure)', async () => {
  const r = await call('mqtt', 'subscribe', { ...rabbit, username: rabbitFacts.limitedUser, password: rabbitFacts.limitedPassword, version: '3.1.1', topics: ['other/#'], durationMs: 300 });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.match(r.body.error.message, /closed the connection in answer to SUBSCRIBE other\/#/);
  const allowed = await call('mqtt', 'subscribe', { ...rabbit, username: rabbitFacts.limitedUser, password: rabbitFacts.limitedPassword, version: '3.1.1', topics: ['limited/#'], durationMs: 300 });
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  const badLogin = await call('mqtt', 'probe', { ...rabbit, version: '3.1.1', password: 'wrong' });
  assert.equal(badLogin.body.error.code, 'auth_failed');
  assert.equal(badLogin.body.error.detail.reasonCode, 4);
});

test('mqtt 5.0 persistent session: clean start off with a session expiry keeps the subscription and queues QoS 1 while away', async () => {
  const clientId = `lab-persistent-${process.pid}`;
  const topic = uniq('persist');
  const session = { ...target, clientId, cleanStart: false, sessionExpiry: 120 };
  // First connection: subscribe at QoS 1, then leave (DISCONNECT; the session stays for 120 s).
  const first = await ok('subscribe', { ...session, topics: [topic], qos: 1, durationMs: 200 });
  assert.equal(first.subscriptions[0].granted, 1);
  await ok('publish', { topic, payload: 'while you were away', qos: 1 });
  // Back: the broker delivers what was queued for the stored subscription (this SUBSCRIBE is for another topic).
  const back = await ok('subscribe', { ...session, topics: [`${topic}/unrelated`], qos: 1, durationMs: 800 });
  assert.deepEqual(back.messages.map((m: any) => [m.topic, m.payload.text, m.qos]), [[topic, 'while you were away', 1]]);
  // End the stored session: connect with clean start.
  const clean = await ok('probe', { ...target, clientId });
  assert.equal(clean.sessionPresent, false);
});
