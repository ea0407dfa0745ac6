// MQTT 3.1.1 and 5.0 (OASIS): probe, publish with every QoS flow, subscriptions as live sessions, and the
// retained-message tree; over TCP, TLS (8883) and WebSocket (MQTT 5.0 §6, subprotocol "mqtt").
import * as z from 'zod';
import { toHex, type ByteEncoding } from '../../core/bytes.ts';
import { InvalidInput, PortolanError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { dialWebSocketStream } from '../websocket/stream.ts';
import { controlStrings, encodingField, FEED_PREVIEW_BYTES, windowField, payloadBytes, payloadField, payloadJson, payloadLine, payloadOut, runFeed, topicTree, treeOut, type FeedEnd } from '../messaging/feed.ts';
import { MqttClient, subscriptionRefused, type ConnackPacket, type PublishPacket } from './client.ts';
import { encodeAck, encodePublish, encodeSubscribe, encodeUnsubscribe, reasonName, topicFilterProblem, topicNameProblem, type MqttProperties, type MqttVersion, type Packet, type Subscription } from './codec.ts';
import { identification } from './identify.ts';

const versionField = z.enum(['3.1.1', '5.0']).default('5.0').describe('Protocol version: 3.1.1 (level 4) or 5.0 (level 5)');

const topicName = z
  .string()
  .superRefine((t, c) => {
    const problem = topicNameProblem(t);
    if (problem) c.addIssue({ code: 'custom', message: problem });
  })
  .meta({ examples: ['sensors/kitchen/temperature'] });

const topicFilter = z.string().superRefine((t, c) => {
  const problem = topicFilterProblem(t);
  if (problem) c.addIssue({ code: 'custom', message: problem });
});

const qosField = z
  .number()
  .int('qos is 0, 1 or 2')
  .min(0, 'qos is 0, 1 or 2')
  .max(2, 'qos is 0, 1 or 2')
  .transform((q) => q as 0 | 1 | 2);

const connection = {
  version: versionField,
  transport: z.enum(['tcp', 'websocket']).default('tcp').describe('tcp (1883, 8883 with TLS), or websocket (ws://, wss:// with TLS; subprotocol mqtt)'),
  path: z.string().regex(/^\/[\x21-\x7e]*$/, 'path must start with / and hold no spaces').max(2048).default('/mqtt').describe('WebSocket path (transport websocket)'),
  clientId: z.string().max(256).optional().describe('Client identifier (default: portolan- and random hex; empty asks a v5 broker to assign one)'),
  username: z.string().max(4096).optional(),
  password: z.string().max(4096).optional(),
  keepAlive: z.number().int().min(0).max(65535).default(60).describe('Keep-alive in seconds (0: none); sessions send PINGREQ within it'),
  cleanStart: z.boolean().default(true).describe('Clean start (3.1.1: clean session)'),
  sessionExpiry: z.number().int().min(0).max(4294967295).optional().describe('v5: session expiry interval in seconds'),
  will: z
    .object({ topic: topicName, payload: payloadField.default(''), qos: qosField.default(0), retain: z.boolean().default(false) })
    .strict()
    .optional()
    .describe('Will message the broker publishes if the connection ends without DISCONNECT'),
  maxPacketBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024).describe('Largest packet accepted (v5 announces it as Maximum Packet Size)'),
};

type ConnInput = z.infer<ReturnType<typeof z.object<typeof connection>>>;

const versionOf = (v: '3.1.1' | '5.0'): MqttVersion => (v === '5.0' ? 5 : 4);

function randomClientId(ctx: OperationContext): string {
  return `portolan-${toHex(ctx.crypto.randomBytes(6))}`;
}

interface Opened {
  client: MqttClient;
  connack: ConnackPacket;
  clientId: string;
  websocketProtocol: string | null;
}

async function open(ctx: OperationContext, input: ConnInput, version = versionOf(input.version)): Promise<Opened> {
  let conn;
  let websocketProtocol: string | null = null;
  if (input.transport === 'websocket') {
    const ws = await dialWebSocketStream(ctx, { path: input.path, protocols: ['mqtt'] });
    conn = ws.conn;
    websocketProtocol = ws.protocol;
  } else conn = await ctx.dial();
  const client = new MqttClient(conn, version, input.maxPacketBytes);
  const clientId = input.clientId ?? randomClientId(ctx);
  const properties: MqttProperties = {};
  if (version === 5) {
    properties.maximumPacketSize = input.maxPacketBytes;
    if (input.sessionExpiry !== undefined) properties.sessionExpiryInterval = input.sessionExpiry;
  }
  const connack = await client.connect({
    clientId,
    cleanStart: input.cleanStart,
    keepAlive: input.keepAlive,
    ...(input.username !== undefined ? { username: input.username } : {}),
    ...(input.password !== undefined ? { password: new TextEncoder().encode(input.password) } : {}),
    ...(input.will ? { will: { topic: input.will.topic, payload: payloadBytes(input.will.payload, 'will.payload'), qos: input.will.qos, retain: input.will.retain } } : {}),
    properties,
  });
  ctx.timing.mark('connackMs');
  return { client, connack, clientId: connack.properties.assignedClientIdentifier ?? clientId, websocketProtocol };
}

/** Sends PINGREQ within the keep-alive (5.0 §3.1.2.10) while a session runs. */
function keepAlive(ctx: OperationContext, client: MqttClient, seconds: number, running: () => boolean): void {
  if (seconds === 0) return;
  void (async () => {
    while (running()) {
      await ctx.sleep(Math.max(500, seconds * 750));
      if (running()) await client.ping();
    }
  })().catch(() => {});
}

const propertiesOut = z.record(z.string(), z.unknown()).describe('MQTT 5.0 properties by name (binary values as hex)');

function propsJson(p: MqttProperties): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) out[k] = v instanceof Uint8Array ? { hex: toHex(v) } : k === 'userProperties' ? (v as [string, string][]).map(([name, value]) => ({ name, value })) : v;
  return out;
}

const messageOut = z.object({
  topic: z.string(),
  qos: z.number(),
  retain: z.boolean(),
  dup: z.boolean(),
  size: z.number().describe('Payload bytes'),
  time: z.string().describe('When it arrived (ISO 8601)'),
  payload: payloadOut.extend({ truncated: z.boolean().optional() }),
  properties: propertiesOut.optional(),
});

type MessageJson = z.infer<typeof messageOut>;

function messageJson(p: PublishPacket, encoding: ByteEncoding, preview?: number): MessageJson {
  const props = Object.keys(p.properties).length > 0 ? { properties: propsJson(p.properties) } : {};
  return { topic: p.topic, qos: p.qos, retain: p.retain, dup: p.dup, size: p.payload.length, time: new Date().toISOString(), payload: payloadJson(p.payload, encoding, preview), ...props };
}

function messageLine(m: MessageJson): string {
  return `${m.topic} ${payloadLine(m.payload)}${m.retain ? ' (retained)' : ''}`;
}

const subscribeFields = {
  topics: z.array(topicFilter).min(1).max(100).meta({ examples: [['sensors/#']] }).describe('Topic filters, with + and # wildcards ($share/group/filter for a v5 shared subscription)'),
  qos: qosField.default(0).describe('Maximum QoS asked for each filter'),
  noLocal: z.boolean().default(false).describe('v5: do not receive our own publications'),
  retainHandling: z.number().int().min(0).max(2).default(0).transform((q) => q as 0 | 1 | 2).describe('v5: 0 send retained messages at subscribe, 1 only for a new subscription, 2 never'),
  encoding: encodingField,
};

function subscriptions(input: { topics: string[]; qos: 0 | 1 | 2; noLocal: boolean; retainHandling: 0 | 1 | 2 }): Subscription[] {
  return input.topics.map((filter) => ({ filter, qos: input.qos, noLocal: input.noLocal, retainHandling: input.retainHandling }));
}

function grantedJson(subs: Subscription[], codes: number[], version: MqttVersion) {
  return subs.map((s, i) => ({ filter: s.filter, code: codes[i], reason: reasonName(codes[i], version, 'suback'), granted: subscriptionRefused(codes[i]) ? null : codes[i] }));
}

/** A refused filter ends the operation with the broker's words (5.0 §3.9.3; 3.1.1: 0x80 Failure). */
function checkGranted(subs: Subscription[], codes: number[], version: MqttVersion, reasonString?: string): void {
  const refused = subs.map((s, i) => ({ s, code: codes[i] })).filter((x) => subscriptionRefused(x.code));
  if (refused.length === 0) return;
  const words = refused.map((x) => `${x.s.filter}: ${x.code} (${reasonName(x.code, version, 'suback')})`).join('; ');
  throw new ServerError(`the broker refused the subscription: ${words}${reasonString ? `: ${reasonString}` : ''}`, { refused: refused.map((x) => ({ filter: x.s.filter, reasonCode: x.code, reason: reasonName(x.code, version, 'suback') })), reasonString: reasonString ?? null });
}

const defaultPort = (input: Record<string, unknown>) => (input.transport === 'websocket' ? (input.tls === 'implicit' ? 443 : 80) : undefined);

const publishProps = {
  contentType: z.string().max(1024).optional().describe('v5 content type, e.g. application/json'),
  responseTopic: topicName.optional().describe('v5 response topic for request/response'),
  correlationData: payloadField.optional().describe('v5 correlation data: text, or {"base64"} / {"hex"}'),
  userProperties: z.record(z.string().max(4096), z.string().max(65535)).optional().describe('v5 user properties (name → value)'),
  messageExpiry: z.number().int().min(0).max(4294967295).optional().describe('v5 message expiry interval in seconds'),
  payloadFormat: z.enum(['bytes', 'utf8']).optional().describe('v5 payload format indicator'),
};

export default defineProtocol({
  id: 'mqtt',
  title: 'MQTT',
  category: 'messaging',
  summary: 'Talks to an MQTT 3.1.1 or 5.0 broker over TCP, TLS or WebSocket: CONNACK and the server limits, publishing with QoS 0/1/2 (one message or thousands pipelined), live subscriptions with a topic tree, and the retained messages under a filter.',
  ports: [
    { port: 1883, transport: 'tcp' },
    { port: 8883, transport: 'tls', label: 'MQTT over TLS' },
  ],
  specs: ['MQTT 3.1.1 (OASIS Standard, 2014)', 'MQTT 5.0 (OASIS Standard, 2019)', 'RFC 6455 (MQTT over WebSocket, subprotocol mqtt)'],
  rating: {
    stars: 5,
    reason:
      'MQTT 3.1.1 and 5.0 packets encoded and decoded from bytes (remaining length and properties capped), CONNECT with username/password, client id, clean start, session expiry, keep-alive and a will; CONNACK reason codes and v5 server limits; publish with QoS 0, 1 and 2 (PUBACK and PUBREC/PUBREL/PUBCOMP), retain and v5 properties, thousands of messages pipelined within the Receive Maximum; subscriptions with wildcards as live WebSocket sessions that pause reading while the client is behind; retained-message snapshots as a topic tree; over TCP, TLS and WebSocket (ws and wss). Lab-tested through workerd against mosquitto 2.0 (password file, ACL, TLS and WebSocket listeners) and RabbitMQ\'s MQTT plugin (3.1.1). Not covered: v5 enhanced authentication (AUTH exchanges), topic aliases, client certificates (Workers cannot present one).',
  },
  verifiedAgainst: 'mosquitto 2.0.11 (Debian 12) and RabbitMQ 3.10.8 rabbitmq_mqtt (Debian 12)',
  tls: { implicit: { port: 8883 } },
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: operation({
      summary: 'Connect and report CONNACK: the reason code, session present, and on 5.0 the server limits (receive maximum, maximum QoS, retain, topic aliases, packet size, wildcard/shared subscriptions)',
      defaultPort,
      input: z.object({ ...connection }),
      output: z.object({
        version: z.string().describe('The version the broker accepted'),
        fellBack: z.boolean().describe('A 5.0 CONNECT was refused as unsupported and 3.1.1 was accepted'),
        code: z.number(),
        reason: z.string(),
        sessionPresent: z.boolean(),
        clientId: z.string(),
        transport: z.string(),
        websocketProtocol: z.string().nullable(),
        tls: z.boolean(),
        server: z.object({
          receiveMaximum: z.number().nullable(),
          maximumQos: z.number().nullable(),
          retainAvailable: z.boolean().nullable(),
          topicAliasMaximum: z.number().nullable(),
          maximumPacketSize: z.number().nullable(),
          wildcardSubscriptionAvailable: z.boolean().nullable(),
          subscriptionIdentifierAvailable: z.boolean().nullable(),
          sharedSubscriptionAvailable: z.boolean().nullable(),
          serverKeepAlive: z.number().nullable(),
          sessionExpiryInterval: z.number().nullable(),
        }).describe('5.0 CONNACK properties (null: not sent, so the spec default applies)'),
        properties: propertiesOut,
      }),
      text: (r) =>
        [`MQTT ${r.version}${r.fellBack ? ' (5.0 refused, fell back)' : ''}: ${r.code} ${r.reason}`, `client id ${r.clientId}${r.sessionPresent ? ', session present' : ''}`, ...Object.entries(r.server).filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}`)].join('\n'),
      async run(ctx, input) {
        let o: Opened;
        let fellBack = false;
        try {
          o = await open(ctx, input);
        } catch (e) {
          // A 3.1.1 broker answers a level-5 CONNECT with return code 1 (3.1.1 §3.2.2.3) or 0x84 (5.0): try 3.1.1.
          // A 3.1.1-only broker may also just close the connection (RabbitMQ 3.10 does).
          const code = e instanceof PortolanError ? (e.detail?.reasonCode as number | undefined) : undefined;
          const closedAtOnce = e instanceof PortolanError && e.code === 'closed' && /without a CONNACK/.test(e.message);
          if (input.version !== '5.0' || (code !== 1 && code !== 0x84 && !closedAtOnce)) throw e;
          fellBack = true;
          o = await open(ctx, input, 4);
        }
        await o.client.disconnect();
        const p = o.connack.properties;
        const flag = (v: number | undefined) => (v === undefined ? null : v === 1);
        return {
          version: o.client.version === 5 ? '5.0' : '3.1.1',
          fellBack,
          code: o.connack.code,
          reason: reasonName(o.connack.code, o.client.version, 'connack'),
          sessionPresent: o.connack.sessionPresent,
          clientId: o.clientId,
          transport: input.transport,
          websocketProtocol: o.websocketProtocol,
          tls: input.tls === 'implicit',
          server: {
            receiveMaximum: p.receiveMaximum ?? null,
            maximumQos: p.maximumQos ?? null,
            retainAvailable: flag(p.retainAvailable),
            topicAliasMaximum: p.topicAliasMaximum ?? null,
            maximumPacketSize: p.maximumPacketSize ?? null,
            wildcardSubscriptionAvailable: flag(p.wildcardSubscriptionAvailable),
            subscriptionIdentifierAvailable: flag(p.subscriptionIdentifierAvailable),
            sharedSubscriptionAvailable: flag(p.sharedSubscriptionAvailable),
            serverKeepAlive: p.serverKeepAlive ?? null,
            sessionExpiryInterval: p.sessionExpiryInterval ?? null,
          },
          properties: propsJson(p),
        };
      },
    }),
    publish: operation({
      summary: 'Publish one message, or `count` of them pipelined, with QoS 0, 1 (PUBACK) or 2 (PUBREC, PUBREL, PUBCOMP), retain and v5 properties',
      defaultPort,
      maxTimeoutMs: 300_000,
      input: z.object({
        topic: topicName.describe('Topic name (no wildcards)'),
        payload: payloadField.default(''),
        qos: qosField.default(0),
        retain: z.boolean().default(false).describe('Ask the broker to keep it as the topic\'s retained message (an empty retained payload clears it)'),
        count: z.number().int().min(1).max(1_000_000).default(1).describe('Publish the message this many times, pipelined'),
        numbered: z.boolean().default(false).describe('With count: replace {n} in a text payload with the message number (1…count)'),
        inflight: z.number().int().min(1).max(65535).default(1000).describe('QoS 1/2 messages awaiting acknowledgement at once (never more than the broker\'s Receive Maximum)'),
        ...publishProps,
        ...connection,
      }),
      output: z.object({
        topic: z.string(),
        qos: z.number(),
        retain: z.boolean(),
        count: z.number(),
        acknowledged: z.number().describe('Messages the broker acknowledged (PUBACK or PUBCOMP)'),
        reasons: z.record(z.string(), z.number()).describe('Acknowledgement reason → count'),
        reasonStrings: z.array(z.string()).describe('v5 reason strings the broker sent'),
        bytes: z.number().describe('Payload bytes published'),
        publishMs: z.number().describe('From the first PUBLISH to the last acknowledgement'),
        messagesPerSecond: z.number().nullable(),
        version: z.string(),
      }),
      text: (r) => `published ${r.count} message${r.count === 1 ? '' : 's'} to ${r.topic} (QoS ${r.qos}${r.retain ? ', retained' : ''}): ${Object.entries(r.reasons).map(([k, v]) => `${v}× ${k}`).join(', ')}${r.messagesPerSecond ? `, ${r.messagesPerSecond} msg/s` : ''}`,
      async run(ctx, input) {
        const payload = payloadBytes(input.payload, 'payload');
        const properties: MqttProperties = {};
        if (input.contentType !== undefined) properties.contentType = input.contentType;
        if (input.responseTopic !== undefined) properties.responseTopic = input.responseTopic;
        if (input.correlationData !== undefined) properties.correlationData = payloadBytes(input.correlationData, 'correlationData');
        if (input.userProperties) properties.userProperties = Object.entries(input.userProperties);
        if (input.messageExpiry !== undefined) properties.messageExpiryInterval = input.messageExpiry;
        if (input.payloadFormat) properties.payloadFormatIndicator = input.payloadFormat === 'utf8' ? 1 : 0;
        if (Object.keys(properties).length > 0 && input.version !== '5.0') throw InvalidInput.field('version', 'message properties (contentType, responseTopic, correlationData, userProperties, messageExpiry, payloadFormat) need MQTT 5.0');
        const numbered = input.numbered && typeof input.payload === 'string' && input.payload.includes('{n}');
        const o = await open(ctx, input);
        const t0 = performance.now();
        const template = input.payload as string;
        let bytes = 0;
        const { acks } = await o.client.publishMany(
          input.count,
          (i) => {
            const body = numbered ? new TextEncoder().encode(template.replaceAll('{n}', String(i + 1))) : payload;
            bytes += body.length;
            return { topic: input.topic, payload: body, qos: input.qos, retain: input.retain, properties };
          },
          input.inflight,
        );
        const publishMs = Math.round((performance.now() - t0) * 1000) / 1000;
        await o.client.disconnect();
        const reasons: Record<string, number> = {};
        const reasonStrings = new Set<string>();
        for (const a of acks) {
          reasons[a.reason] = (reasons[a.reason] ?? 0) + 1;
          if (a.reasonString) reasonStrings.add(a.reasonString);
        }
        return {
          topic: input.topic,
          qos: input.qos,
          retain: input.retain,
          count: input.count,
          acknowledged: input.qos === 0 ? 0 : acks.length,
          reasons,
          reasonStrings: [...reasonStrings],
          bytes,
          publishMs,
          messagesPerSecond: publishMs > 0 ? Math.round((input.count * 1000) / publishMs) : null,
          version: input.version,
        };
      },
    }),
    subscribe: operation({
      summary: 'Subscribe to topic filters: as a WebSocket session, messages as they arrive (with a topic tree in the UI); as a POST, the messages of a time window',
      defaultPort,
      input: z.object({
        ...subscribeFields,
        durationMs: z.number().int().min(100).max(60_000).default(5000).describe('POST only: how long to listen'),
        maxMessages: z.number().int().min(1).max(1_000_000).default(10_000).describe('Stop after this many messages'),
        window: windowField,
        ...connection,
      }),
      output: z.object({
        messages: z.array(messageOut).describe('POST: the messages received; a session streams them instead'),
        count: z.number(),
        subscriptions: z.array(z.object({ filter: z.string(), code: z.number(), reason: z.string(), granted: z.number().nullable() })),
        ended: z.enum(['duration', 'maxMessages', 'client', 'server']),
      }),
      text: (r) => r.messages.map(messageLine).join('\n') || '(no messages)',
      sessionText: (m) => (m.type === 'message' ? messageLine(m as unknown as MessageJson) : undefined),
      cli: { short: { t: 'topics' } },
      async run(ctx, input) {
        const o = await open(ctx, input);
        const subs = subscriptions(input);
        const messages: MessageJson[] = [];
        const keep = (p: PublishPacket) => {
          if (messages.length < input.maxMessages) messages.push(messageJson(p, input.encoding));
        };
        const ack = await o.client.subscribe(subs, keep);
        checkGranted(subs, ack.codes, o.client.version, ack.properties.reasonString);
        let ended: 'duration' | 'maxMessages' = 'duration';
        try {
          await ctx.within(input.durationMs, async () => {
            while (messages.length < input.maxMessages) await o.client.handleOther(await o.client.next(), keep);
            ended = 'maxMessages';
          });
        } catch (e) {
          if (!(e instanceof PortolanError) || e.code !== 'io_timeout' || ctx.signal.aborted) throw e;
        }
        await o.client.disconnect();
        return { messages, count: messages.length, subscriptions: grantedJson(subs, ack.codes, o.client.version), ended };
      },
      async session(ctx, input, channel) {
        const o = await open(ctx, input);
        const c = o.client;
        let count = 0;
        const forward = (p: PublishPacket) => {
          const m = messageJson(p, input.encoding, FEED_PREVIEW_BYTES);
          channel.send({ type: 'message', ...m });
          count++;
        };
        const subs = subscriptions(input);
        const early: PublishPacket[] = [];
        const ack = await c.subscribe(subs, (p) => early.push(p));
        checkGranted(subs, ack.codes, c.version, ack.properties.reasonString);
        const active = new Map(subs.map((s) => [s.filter, s]));
        channel.send({ type: 'subscribed', subscriptions: grantedJson(subs, ack.codes, c.version), clientId: o.clientId, version: input.version, acks: 'none' });
        for (const p of early) forward(p);
        let running = true;
        keepAlive(ctx, c, input.keepAlive, () => running);
        // Packet ids of requests made from the client side, answered in the server loop.
        const pending = new Map<number, { kind: 'subscribe'; subs: Subscription[] } | { kind: 'unsubscribe'; filters: string[] } | { kind: 'publish'; topic: string }>();
        let ended: FeedEnd;
        try {
          ended = await runFeed({
            channel,
            async step() {
              const p: Packet = await c.next();
              if (p.type === 'publish') {
                await c.acknowledge(p);
                forward(p);
                return count >= input.maxMessages ? 'maxMessages' : undefined;
              }
              const req = 'packetId' in p ? pending.get(p.packetId) : undefined;
              if (p.type === 'suback' && req?.kind === 'subscribe') {
                pending.delete(p.packetId);
                for (const s of req.subs) active.set(s.filter, s);
                channel.send({ type: 'subscribed', subscriptions: grantedJson(req.subs, p.codes, c.version), ...(p.properties.reasonString ? { reasonString: p.properties.reasonString } : {}) });
              } else if (p.type === 'unsuback' && req?.kind === 'unsubscribe') {
                pending.delete(p.packetId);
                for (const f of req.filters) active.delete(f);
                channel.send({ type: 'unsubscribed', filters: req.filters, codes: p.codes });
              } else if ((p.type === 'puback' || p.type === 'pubcomp') && req?.kind === 'publish') {
                pending.delete(p.packetId);
                channel.send({ type: 'published', topic: req.topic, code: p.code, reason: reasonName(p.code, c.version), ...(p.properties.reasonString ? { reasonString: p.properties.reasonString } : {}) });
              } else if (p.type === 'pubrec' && req?.kind === 'publish') {
                await c.send(encodeAck(c.version, 'pubrel', p.packetId), `PUBREL id ${p.packetId}`);
              } else await c.handleOther(p);
              return undefined;
            },
            async control(m) {
              if (m.type === 'subscribe') {
                const topics = controlStrings(m, 'topics', topicFilterProblem);
                const qos = m.qos === 1 || m.qos === 2 ? m.qos : 0;
                const list = topics.map((filter) => ({ filter, qos, noLocal: input.noLocal, retainHandling: input.retainHandling }) as Subscription);
                const id = c.packetId();
                pending.set(id, { kind: 'subscribe', subs: list });
                await c.send(encodeSubscribe(c.version, id, list), `SUBSCRIBE id ${id} ${topics.join(', ')}`);
              } else if (m.type === 'unsubscribe') {
                const filters = controlStrings(m, 'topics');
                const id = c.packetId();
                pending.set(id, { kind: 'unsubscribe', filters });
                await c.send(encodeUnsubscribe(c.version, id, filters), `UNSUBSCRIBE id ${id} ${filters.join(', ')}`);
              } else if (m.type === 'publish') {
                const [topic] = controlStrings(m, 'topic', topicNameProblem);
                const payload = payloadBytes(parsePayload(m.payload), 'payload');
                const qos = m.qos === 1 || m.qos === 2 ? m.qos : 0;
                const id = qos > 0 ? c.packetId() : undefined;
                if (id) pending.set(id, { kind: 'publish', topic });
                await c.send(encodePublish(c.version, { topic, payload, qos, retain: m.retain === true, packetId: id }), `PUBLISH "${topic}" qos ${qos} ${payload.length} bytes`);
                if (!id) channel.send({ type: 'published', topic, code: 0, reason: 'not acknowledged (QoS 0)' });
              } else throw InvalidInput.field('type', `unknown message type ${JSON.stringify(m.type)}: subscribe, unsubscribe, publish, ack or stop`);
            },
          });
        } finally {
          running = false;
        }
        await c.disconnect().catch(() => {});
        return { messages: [], count, subscriptions: [...active.values()].map((s) => ({ filter: s.filter, code: s.qos, reason: reasonName(s.qos, c.version, 'suback'), granted: s.qos })), ended };
      },
    }),
    retained: operation({
      summary: 'Collect the retained messages under topic filters for a while: a snapshot of the topic tree with the last value per topic',
      defaultPort,
      input: z.object({
        topics: subscribeFields.topics.default(['#']),
        durationMs: z.number().int().min(100).max(60_000).default(1000).describe('How long to collect'),
        maxMessages: z.number().int().min(1).max(100_000).default(10_000),
        encoding: encodingField,
        ...connection,
      }),
      output: z.object({
        messages: z.array(messageOut).describe('Retained messages by topic'),
        count: z.number(),
        tree: z.array(treeOut),
        truncated: z.boolean(),
      }),
      text: (r) => r.messages.map(messageLine).join('\n') || '(no retained messages)',
      cli: { short: { t: 'topics' } },
      async run(ctx, input) {
        const o = await open(ctx, input);
        const byTopic = new Map<string, MessageJson>();
        let truncated = false;
        const keep = (p: PublishPacket) => {
          // Retained messages arrive with the retain flag set [MQTT-3.3.1-8]; live ones without it are not part of the snapshot.
          if (!p.retain) return;
          if (byTopic.size >= input.maxMessages && !byTopic.has(p.topic)) {
            truncated = true;
            return;
          }
          byTopic.set(p.topic, messageJson(p, input.encoding));
        };
        const subs: Subscription[] = input.topics.map((filter) => ({ filter, qos: 1, retainHandling: 0 }));
        const ack = await o.client.subscribe(subs, keep);
        checkGranted(subs, ack.codes, o.client.version, ack.properties.reasonString);
        try {
          await ctx.within(input.durationMs, async () => {
            for (;;) await o.client.handleOther(await o.client.next(), keep);
          });
        } catch (e) {
          if (!(e instanceof PortolanError) || e.code !== 'io_timeout' || ctx.signal.aborted) throw e;
        }
        await o.client.unsubscribe(input.topics).catch(() => undefined);
        await o.client.disconnect();
        const messages = [...byTopic.values()].sort((a, b) => a.topic.localeCompare(b.topic));
        const t = topicTree(messages);
        return { messages, count: messages.length, tree: t.tree, truncated: truncated || t.truncated };
      },
    }),
  },
});

function parsePayload(v: unknown): z.infer<typeof payloadField> {
  const r = payloadField.safeParse(v ?? '');
  if (!r.success) throw InvalidInput.field('payload', 'must be text, {"base64": ...} or {"hex": ...}');
  return r.data;
}
