// STOMP against RabbitMQ 3.10's STOMP plugin and ActiveMQ 5.17 in the lab, through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, openSession } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { rabbitFacts } from '../../../lab/servers/messaging-rabbitmq.ts';
import { activemqFacts } from '../../../lab/servers/messaging-activemq.ts';

const brokers = [
  { name: 'RabbitMQ', server: /^RabbitMQ\/3\.10\.8$/, target: { host: '127.0.0.1', port: ports['messaging-rabbitmq'].stomp, login: rabbitFacts.user, passcode: rabbitFacts.password, vhost: '/' }, refused: /Access refused for user 'portolan'/ },
  { name: 'ActiveMQ', server: /^ActiveMQ\/5\.17\.2$/, target: { host: '127.0.0.1', port: ports['messaging-activemq'].stomp, login: activemqFacts.user, passcode: activemqFacts.password }, refused: /User name \[portolan\] or password is invalid/ },
];

const uniq = (name: string) => `/queue/lab.${name}.${process.pid}.${Math.floor(Math.random() * 1e9)}`;

for (const b of brokers) {
  const ok = async (op: string, input: Record<string, unknown>) => {
    const r = await call('stomp', op, { ...b.target, ...input });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.result;
  };

  test(`stomp ${b.name}: version negotiation 1.2, 1.1 and 1.0, the server header and heart-beats`, async () => {
    const v12 = await ok('probe', {});
    assert.equal(v12.version, '1.2');
    assert.match(v12.server, b.server);
    assert.ok(v12.session);
    assert.ok(v12.negotiatedHeartbeat.sendEveryMs >= 10_000);
    assert.equal((await ok('probe', { versions: ['1.0', '1.1'] })).version, '1.1');
    const v10 = await ok('probe', { versions: ['1.0'], heartbeatMs: 0 });
    assert.equal(v10.version, '1.0');
    assert.deepEqual(v10.negotiatedHeartbeat, { sendEveryMs: 0, expectEveryMs: 0 });
  });

  test(`stomp ${b.name}: a wrong passcode is auth_failed with the broker's ERROR text`, async () => {
    const r = await call('stomp', 'probe', { ...b.target, passcode: 'wrong' });
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, 'auth_failed');
    assert.match(r.body.error.message, b.refused);
  });

  test(`stomp ${b.name}: send with receipt, headers and a binary body; subscribe reads them back byte for byte`, async () => {
    const dest = uniq('send');
    const bin = Buffer.from([0x00, 0xff, 0x0a, 0x00, 0x41]);
    const sent = await ok('send', { destination: dest, payload: { base64: bin.toString('base64') }, contentType: 'application/octet-stream', headers: { 'x-lab': 'one:two\nthree' } });
    assert.match(sent.receipt, /^portolan-/);
    await ok('send', { destination: dest, payload: 'héllo {json}', count: 2 });
    const r = await ok('subscribe', { destinations: [dest], durationMs: 800, ackMode: 'client-individual', encoding: 'auto' });
    assert.equal(r.count, 3);
    assert.deepEqual(r.messages[0].payload, { base64: bin.toString('base64') });
    assert.equal(r.messages[0].size, 5);
    assert.equal(r.messages[0].headers['x-lab'], 'one:two\nthree', 'escaped header values come back as sent');
    assert.equal(r.messages[0].headers['content-type'], 'application/octet-stream');
    assert.deepEqual(r.messages.slice(1).map((m: any) => m.payload.text), ['héllo {json}', 'héllo {json}']);
    assert.equal(r.acked, 3);
    const again = await ok('subscribe', { destinations: [dest], durationMs: 500 });
    assert.equal(again.count, 0, 'acknowledged messages are gone');
    // client mode: one ACK of the last message covers the earlier ones.
    await ok('send', { destination: dest, payload: 'c', count: 3 });
    const client = await ok('subscribe', { destinations: [dest], durationMs: 800, ackMode: 'client' });
    assert.deepEqual([client.count, client.acked], [3, 3]);
    assert.equal((await ok('subscribe', { destinations: [dest], durationMs: 500 })).count, 0, 'a cumulative ACK took all three');
  });

  test(`stomp ${b.name}: a client-ack session acknowledges what the browser acknowledged; the rest is redelivered`, async () => {
    const dest = uniq('session');
    await ok('send', { destination: dest, payload: 'first' });
    const s = await openSession('stomp', 'subscribe', { ...b.target, destinations: [dest], ackMode: 'client-individual', prefetch: 10 });
    const sub = await s.next((m) => m.type === 'subscribed');
    assert.equal(sub.version, '1.2');
    assert.equal((await s.next((m) => m.type === 'message')).payload.text, 'first');
    s.send({ type: 'ack', messages: 1 });
    s.send({ type: 'send', destination: dest, payload: 'second' });
    const second = await s.next((m) => m.type === 'message');
    assert.equal(second.payload.text, 'second');
    assert.equal(second.topic, dest);
    // not acknowledged: goes back to the queue when the session ends (UNSUBSCRIBE, DISCONNECT)
    s.send({ type: 'stop' });
    const end = await s.next((m) => m.type === 'end');
    assert.deepEqual([end.result.ended, end.result.count, end.result.acked], ['client', 2, 1]);
    await s.done;
    const left = await ok('subscribe', { destinations: [dest], durationMs: 800 });
    assert.deepEqual(left.messages.map((m: any) => m.payload.text), ['second']);
  });
}

test('stomp RabbitMQ: a destination the user may not read is server_error with the broker\'s words', async () => {
  const r = await call('stomp', 'subscribe', { ...brokers[0].target, login: rabbitFacts.limitedUser, passcode: rabbitFacts.limitedPassword, destinations: ['/queue/not-limited'], durationMs: 300 });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.match(r.body.error.message, /access to queue 'not-limited' in vhost '\/' refused for user 'limited'/);
});

test('stomp RabbitMQ over TLS and over WebSocket (Web-STOMP, frames in text messages)', async () => {
  const rabbit = brokers[0].target;
  const tls = await call('stomp', 'probe', { ...rabbit, port: ports['messaging-rabbitmq'].stompTls, tls: 'implicit' });
  assert.equal(tls.status, 200, JSON.stringify(tls.body));
  assert.equal(tls.body.result.version, '1.2');
  const ws = { ...rabbit, port: ports['messaging-rabbitmq'].webStomp, transport: 'websocket', path: '/ws' };
  const dest = uniq('ws');
  const sent = await call('stomp', 'send', { ...ws, destination: dest, payload: 'over a websocket' });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  const got = await call('stomp', 'subscribe', { ...ws, destinations: [dest], durationMs: 800 });
  assert.deepEqual(got.body.result.messages.map((m: any) => m.payload.text), ['over a websocket']);
});
