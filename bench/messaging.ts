// Publishing through the API on workerd beside the brokers' own clients, same messages, same run, rounds
// interleaved: MQTT QoS 1 (10,000 messages in one API call vs `mosquitto_pub -l` with the same lines) and
// AMQP with publisher confirms (10,000 messages in one API call vs amqplib's ConfirmChannel in Node).
// Run: npx tsx bench/messaging.ts [rounds]   (BENCH_TINY=1: 1,000 messages, one round)
import { spawn } from 'node:child_process';
import amqplib from 'amqplib';
import { ensureLab, ports, caPath } from '../lab/index.ts';
import { mqttFacts } from '../lab/servers/messaging-mqtt.ts';
import { rabbitFacts } from '../lab/servers/messaging-rabbitmq.ts';
import { finish, machine, median, pairedRatio, report, say, tiny } from './lib/report.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd } from './lib/workerd.ts';

const COUNT = tiny ? 1_000 : 10_000;
const rounds = Number(process.argv[2] ?? (tiny ? 1 : 5));
const mqttPort = ports['messaging-mqtt'].mosquitto;
const amqpPort = ports['messaging-rabbitmq'].amqp;
/** 32-byte payloads, numbered: the same bytes on both sides. */
const payload = (i: number) => `bench message ${String(i).padStart(8, '0')} xxxxxx`.slice(0, 32);

async function api(url: string, protocol: string, body: Record<string, unknown>): Promise<{ ms: number; result: Record<string, number> }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/api/${protocol}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ host: '127.0.0.1', timeoutMs: 120_000, ...body }) });
  const text = await res.text();
  const ms = performance.now() - t0;
  const parsed = JSON.parse(text) as { ok: boolean; result?: Record<string, number>; error?: unknown };
  if (!parsed.ok || !parsed.result) throw new Error(`${protocol} publish: ${JSON.stringify(parsed.error)}`);
  return { ms, result: parsed.result };
}

/** mosquitto_pub -l: one message per stdin line, QoS 1, one connection; timed from spawn to exit. */
function mosquittoPub(topic: string): Promise<number> {
  const lines = Array.from({ length: COUNT }, (_, i) => payload(i + 1)).join('\n') + '\n';
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-u', mqttFacts.user, '-P', mqttFacts.password, '-q', '1', '-t', topic, '-l', '-V', 'mqttv5'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`mosquitto_pub exited ${code}: ${err}`))));
    child.stdin.end(lines);
  });
}

/** amqplib with a ConfirmChannel: connect, publish every message, wait for every confirm, close. */
async function amqplibPublish(queue: string): Promise<number> {
  const t0 = performance.now();
  const conn = await amqplib.connect({ hostname: '127.0.0.1', port: amqpPort, username: rabbitFacts.user, password: rabbitFacts.password, vhost: '/' });
  const ch = await conn.createConfirmChannel();
  for (let i = 0; i < COUNT; i++) ch.publish('', queue, Buffer.from(payload(i + 1)));
  await ch.waitForConfirms();
  await conn.close();
  return performance.now() - t0;
}

say(`machine: ${await machine()}`);
await ensureLab(['messaging-mqtt', 'messaging-rabbitmq']);
const bundle = buildBundle();
const worker = await startWorkerd(bundle, { vars: BENCH_VARS, caPath });
const queue = `bench.${process.pid}`;
try {
  const mqttAuth = { port: mqttPort, username: mqttFacts.user, password: mqttFacts.password };
  const amqpAuth = { port: amqpPort, username: rabbitFacts.user, password: rabbitFacts.password };
  await api(worker.url, 'amqp', { ...amqpAuth, routingKey: 'amq.warmup', payload: 'x' }).catch(() => undefined);
  const conn = await amqplib.connect({ hostname: '127.0.0.1', port: amqpPort, username: rabbitFacts.user, password: rabbitFacts.password });
  const setup = await conn.createChannel();
  await setup.assertQueue(queue, { autoDelete: false, durable: false });
  // Warm-up of both paths.
  await api(worker.url, 'mqtt', { ...mqttAuth, topic: 'bench/warmup', payload: 'x', qos: 1, count: 100 });
  await api(worker.url, 'amqp', { ...amqpAuth, routingKey: queue, payload: 'x', count: 100 });
  const mqttApi: number[] = [];
  const mqttWire: number[] = [];
  const mqttBase: number[] = [];
  const amqpApi: number[] = [];
  const amqpWire: number[] = [];
  const amqpBase: number[] = [];
  const perSecond = (ms: number) => COUNT / (ms / 1000);
  for (let i = 1; i <= rounds; i++) {
    const topic = `bench/${process.pid}/${i}`;
    const m = await api(worker.url, 'mqtt', { ...mqttAuth, topic, payload: 'bench message {n}', numbered: true, qos: 1, count: COUNT, version: '5.0' });
    if (m.result.acknowledged !== COUNT) throw new Error(`mqtt: ${m.result.acknowledged} of ${COUNT} acknowledged`);
    mqttApi.push(perSecond(m.ms));
    mqttWire.push(perSecond(m.result.publishMs));
    mqttBase.push(perSecond(await mosquittoPub(topic)));
    const a = await api(worker.url, 'amqp', { ...amqpAuth, routingKey: queue, payload: 'bench message {n}', numbered: true, count: COUNT, confirm: true });
    if (a.result.confirmed !== COUNT) throw new Error(`amqp: ${a.result.confirmed} of ${COUNT} confirmed`);
    amqpApi.push(perSecond(a.ms));
    amqpWire.push(perSecond(a.result.publishMs));
    amqpBase.push(perSecond(await amqplibPublish(queue)));
    await setup.purgeQueue(queue);
  }
  await setup.deleteQueue(queue);
  await conn.close();
  say(`${COUNT.toLocaleString('en')} messages of 32 bytes per API request, median of ${rounds} rounds`);
  const mq = { name: 'mosquitto_pub -l -q 1', value: median(mqttBase) };
  report({ name: 'API mqtt publish QoS 1 (whole HTTP request)', value: median(mqttApi), unit: 'messages/s', baseline: mq, ratio: pairedRatio(mqttApi, mqttBase), goal: '≥ 0.5×', pass: pairedRatio(mqttApi, mqttBase) >= 0.5 });
  report({ name: 'API mqtt publish QoS 1 (on the wire inside workerd)', value: median(mqttWire), unit: 'messages/s', baseline: mq, ratio: pairedRatio(mqttWire, mqttBase) });
  const aq = { name: 'amqplib ConfirmChannel (Node)', value: median(amqpBase) };
  report({ name: 'API amqp publish with confirms (whole HTTP request)', value: median(amqpApi), unit: 'messages/s', baseline: aq, ratio: pairedRatio(amqpApi, amqpBase), goal: '≥ 0.5×', pass: pairedRatio(amqpApi, amqpBase) >= 0.5 });
  report({ name: 'API amqp publish with confirms (on the wire inside workerd)', value: median(amqpWire), unit: 'messages/s', baseline: aq, ratio: pairedRatio(amqpWire, amqpBase) });
} finally {
  await worker.stop();
  removeBundle(bundle);
}
finish();
