// AMQP 0-9-1 (RabbitMQ and other brokers): server properties, declare/inspect, publish with mandatory and
// publisher confirms, basic.get, consumers as live sessions with prefetch and acknowledgements, delete and purge.
import * as z from 'zod';
import { concat, fromUtf8, type ByteEncoding } from '../../core/bytes.ts';
import { InvalidInput, PortolanError, ProtocolError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { encodingField, FEED_PREVIEW_BYTES, windowField, payloadBytes, payloadField, payloadJson, payloadLine, payloadOut, runFeed, type FeedEnd } from '../messaging/feed.ts';
import { AmqpClient, type Content } from './client.ts';
import { fieldJson, type BasicProperties, type FieldTable, type FieldValue, type Method } from './codec.ts';
import { identification } from './identify.ts';

const connection = {
  username: z.string().max(255).default('guest').describe('User name'),
  password: z.string().max(4096).default('guest'),
  mechanism: z.enum(['PLAIN', 'AMQPLAIN']).default('PLAIN').describe('SASL mechanism: PLAIN (RFC 4616) or AMQPLAIN'),
  vhost: z.string().max(255).default('/').describe('Virtual host'),
  heartbeat: z.number().int().min(0).max(65535).default(60).describe('Heartbeat interval asked for, in seconds (0: none); the lower of ours and the server\'s wins'),
  frameMax: z.number().int().min(4096).max(16 * 1024 * 1024).default(131072).describe('Largest frame asked for, in bytes; the lower of ours and the server\'s wins'),
  channelMax: z.number().int().min(1).max(65535).default(2047).describe('Channels asked for'),
  maxBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024).describe('Message bodies are kept up to this size (the rest is counted and flagged truncated)'),
};

type ConnInput = z.infer<ReturnType<typeof z.object<typeof connection>>>;

const shortName = z.string().max(255, 'at most 255 bytes (an AMQP short string)');
const argumentsField = z.record(z.string().max(255), z.unknown()).optional().describe('Arguments table, e.g. {"x-message-ttl": 60000, "x-queue-type": "quorum"}');

function toTable(v: Record<string, unknown> | undefined, field: string): FieldTable | undefined {
  if (!v) return undefined;
  const conv = (x: unknown, path: string, depth: number): FieldValue => {
    if (depth > 16) throw InvalidInput.field(path, 'nested too deep');
    if (x === null || typeof x === 'boolean' || typeof x === 'string') return x;
    if (typeof x === 'number') {
      if (!Number.isFinite(x)) throw InvalidInput.field(path, 'must be a finite number');
      return x;
    }
    if (Array.isArray(x)) return x.map((y, i) => conv(y, `${path}.${i}`, depth + 1));
    if (typeof x === 'object') return Object.fromEntries(Object.entries(x as Record<string, unknown>).map(([k, y]) => [k, conv(y, `${path}.${k}`, depth + 1)]));
    throw InvalidInput.field(path, 'must be text, a number, true/false, null, a list or an object');
  };
  return conv(v, field, 0) as FieldTable;
}

async function open(ctx: OperationContext, input: ConnInput & { tls: string }): Promise<AmqpClient> {
  const conn = await ctx.dial();
  const c = new AmqpClient(conn, input.maxBodyBytes);
  await c.handshake({ username: input.username, password: input.password, mechanism: input.mechanism, vhost: input.vhost, heartbeat: input.heartbeat, frameMax: input.frameMax, channelMax: input.channelMax });
  ctx.timing.mark('openMs');
  await c.openChannel();
  return c;
}

/** Closes within a short window: the answer does not wait on a slow close-ok. */
async function finish(ctx: OperationContext, c: AmqpClient): Promise<void> {
  await ctx.within(2000, () => c.close()).catch(() => {});
}

function propertiesJson(p: BasicProperties): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) out[k] = k === 'headers' ? fieldJson(v as FieldValue) : v;
  return out;
}

const messageOut = z.object({
  deliveryTag: z.string().optional(),
  redelivered: z.boolean().optional(),
  exchange: z.string(),
  routingKey: z.string(),
  topic: z.string().describe('exchange/routing key, for feeds'),
  size: z.number(),
  truncated: z.boolean(),
  time: z.string(),
  properties: z.record(z.string(), z.unknown()),
  payload: payloadOut.extend({ truncated: z.boolean().optional() }),
});
type MessageJson = z.infer<typeof messageOut>;

function messageJson(m: Method, content: Content, encoding: ByteEncoding, preview?: number): MessageJson {
  const exchange = String(m.args.exchange ?? '');
  const routingKey = String(m.args.routingKey ?? '');
  return {
    ...(m.args.deliveryTag !== undefined ? { deliveryTag: String(m.args.deliveryTag) } : {}),
    ...(m.args.redelivered !== undefined ? { redelivered: m.args.redelivered === true } : {}),
    exchange,
    routingKey,
    topic: `${exchange || '(default)'}/${routingKey}`,
    size: content.bodySize,
    truncated: content.truncated,
    time: new Date().toISOString(),
    properties: propertiesJson(content.properties),
    payload: payloadJson(content.body, encoding, preview),
  };
}

function messageLine(m: MessageJson): string {
  return `${m.topic} ${payloadLine(m.payload)}`;
}

const propertiesInput = {
  contentType: shortName.optional(),
  contentEncoding: shortName.optional(),
  headers: argumentsField.describe('Message headers table'),
  persistent: z.boolean().optional().describe('Delivery mode 2 (persistent) or 1'),
  priority: z.number().int().min(0).max(255).optional(),
  correlationId: shortName.optional(),
  replyTo: shortName.optional(),
  expiration: z.string().regex(/^\d{1,10}$/, 'expiration is a number of milliseconds, as text').optional().describe('Per-message TTL in ms, as text'),
  messageId: shortName.optional(),
  timestamp: z.number().int().min(0).optional().describe('Seconds since the epoch'),
  type: shortName.optional(),
  userId: shortName.optional().describe('Must equal the connected user on RabbitMQ'),
  appId: shortName.optional(),
};

function basicProperties(input: { [K in keyof typeof propertiesInput]?: unknown }): BasicProperties {
  const p: BasicProperties = {};
  const s = (k: keyof BasicProperties, v: unknown) => {
    if (v !== undefined) (p as Record<string, unknown>)[k] = v;
  };
  s('contentType', input.contentType);
  s('contentEncoding', input.contentEncoding);
  s('headers', toTable(input.headers as Record<string, unknown> | undefined, 'headers'));
  if (input.persistent !== undefined) p.deliveryMode = input.persistent ? 2 : 1;
  s('priority', input.priority);
  s('correlationId', input.correlationId);
  s('replyTo', input.replyTo);
  s('expiration', input.expiration);
  s('messageId', input.messageId);
  s('timestamp', input.timestamp);
  s('type', input.type);
  s('userId', input.userId);
  s('appId', input.appId);
  return p;
}

function serverInfo(c: AmqpClient) {
  const s = c.start!;
  const props = s.args.serverProperties as FieldTable;
  const text = (v: unknown) => (v instanceof Uint8Array ? fromUtf8(v) : String(v ?? ''));
  return {
    version: `${s.args.versionMajor}-${s.args.versionMinor}`,
    product: typeof props.product === 'string' ? props.product : null,
    serverVersion: typeof props.version === 'string' ? props.version : null,
    platform: typeof props.platform === 'string' ? props.platform : null,
    clusterName: typeof props.cluster_name === 'string' ? props.cluster_name : null,
    capabilities: (fieldJson(props.capabilities ?? {}) ?? {}) as Record<string, unknown>,
    serverProperties: fieldJson(props) as Record<string, unknown>,
    mechanisms: text(s.args.mechanisms).split(' ').filter(Boolean),
    locales: text(s.args.locales).split(' ').filter(Boolean),
  };
}

const returnedOut = z.object({ replyCode: z.number(), replyText: z.string(), exchange: z.string(), routingKey: z.string(), message: z.number() });

export default defineProtocol({
  id: 'amqp',
  title: 'AMQP 0-9-1',
  category: 'messaging',
  summary: 'Talks AMQP 0-9-1 to RabbitMQ and other brokers: server properties and limits, declaring and inspecting exchanges, queues and bindings, publishing with mandatory returns and publisher confirms, basic.get, consumers as live sessions with prefetch and acknowledgements, delete and purge.',
  ports: [
    { port: 5672, transport: 'tcp' },
    { port: 5671, transport: 'tls', label: 'AMQPS' },
  ],
  specs: ['AMQP 0-9-1 (amqp0-9-1.pdf, amqp0-9-1.xml)', 'RabbitMQ AMQP 0-9-1 errata and extensions (publisher confirms, basic.nack, authentication_failure_close)', 'RFC 4616 (PLAIN)'],
  rating: {
    stars: 5,
    reason:
      'Frames, methods, field tables (every RabbitMQ field type, nesting capped) and content encoded and decoded from bytes, frames over the negotiated frame-max refused from their header; PLAIN and AMQPLAIN, virtual hosts, TLS, heartbeats, channel-max and frame-max negotiation; server properties and capabilities; exchange, queue and binding declaration (passive to inspect message and consumer counts); publishing with properties and headers, mandatory with basic.return shown, and publisher confirms, thousands of messages pipelined; basic.get with ack, nack, reject and requeue; consumers as live WebSocket sessions with prefetch and per-message acknowledgement; delete and purge; the server\'s reply code and text on every refusal. Lab-tested through workerd against RabbitMQ 3.10 (Debian 12). Not covered: connection.secure challenges (no mechanism here needs one), transactions (tx class), more than one channel per connection, EXTERNAL (client certificates).',
  },
  verifiedAgainst: 'RabbitMQ 3.10.8 (Debian 12, Erlang 25)',
  tls: { implicit: { port: 5671 } },
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: operation({
      summary: 'Connect and report the server: product, version, platform, cluster name, capabilities, SASL mechanisms, locales, and (when the login works) the negotiated channel-max, frame-max and heartbeat',
      input: z.object({ ...connection, login: z.boolean().default(true).describe('Log in to report the negotiated limits (false: stop after connection.start)') }),
      output: z.object({
        version: z.string().describe('Protocol version the server speaks (0-9)'),
        product: z.string().nullable(),
        serverVersion: z.string().nullable(),
        platform: z.string().nullable(),
        clusterName: z.string().nullable(),
        capabilities: z.record(z.string(), z.unknown()),
        mechanisms: z.array(z.string()),
        locales: z.array(z.string()),
        serverProperties: z.record(z.string(), z.unknown()),
        loggedIn: z.boolean(),
        tune: z.object({ channelMax: z.number(), frameMax: z.number(), heartbeat: z.number() }).nullable().describe('What the server proposed in connection.tune'),
        negotiated: z.object({ channelMax: z.number(), frameMax: z.number(), heartbeat: z.number() }).nullable(),
      }),
      text: (r) =>
        [`${r.product ?? 'AMQP server'} ${r.serverVersion ?? ''} (AMQP ${r.version})${r.platform ? ` on ${r.platform}` : ''}`, r.clusterName ? `cluster ${r.clusterName}` : '', `mechanisms: ${r.mechanisms.join(' ')}`, `capabilities: ${Object.entries(r.capabilities).filter(([, v]) => v === true).map(([k]) => k).join(', ')}`, r.negotiated ? `negotiated: channel-max ${r.negotiated.channelMax}, frame-max ${r.negotiated.frameMax}, heartbeat ${r.negotiated.heartbeat} s` : '']
          .filter(Boolean)
          .join('\n'),
      async run(ctx, input) {
        const conn = await ctx.dial();
        const c = new AmqpClient(conn, input.maxBodyBytes);
        if (!input.login) {
          await conn.write(new Uint8Array([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]), { decode: 'AMQP protocol header 0-9-1' });
          c.frameMax = 128 * 1024;
          const start = await c.next();
          if (start.name !== 'connection.start') throw new ProtocolError(`expected connection.start, got ${start.name}`);
          c.start = start;
          return { ...serverInfo(c), loggedIn: false, tune: null, negotiated: null };
        }
        await c.handshake({ username: input.username, password: input.password, mechanism: input.mechanism, vhost: input.vhost, heartbeat: input.heartbeat, frameMax: input.frameMax, channelMax: input.channelMax });
        const t = c.tune!.args;
        const result = {
          ...serverInfo(c),
          loggedIn: true,
          tune: { channelMax: Number(t.channelMax), frameMax: Number(t.frameMax), heartbeat: Number(t.heartbeat) },
          negotiated: { channelMax: c.channelMax, frameMax: c.frameMax, heartbeat: c.heartbeat },
        };
        await finish(ctx, c);
        return result;
      },
    }),
    declare: operation({
      summary: 'Declare (or, passive, inspect) an exchange, a queue or a binding: a queue answers its message and consumer counts',
      input: z.object({
        kind: z.enum(['queue', 'exchange', 'binding']).default('queue'),
        name: shortName.default('').describe('Queue or exchange name (a queue named "" gets a server-generated name); for a binding, the destination queue or exchange'),
        passive: z.boolean().default(false).describe('Only check that it exists (and read its counts)'),
        durable: z.boolean().default(false),
        exclusive: z.boolean().default(false).describe('Queue: used by this connection only, deleted when it closes'),
        autoDelete: z.boolean().default(false),
        internal: z.boolean().default(false).describe('Exchange: not for publishing directly'),
        type: z.string().max(255).default('direct').describe('Exchange type: direct, fanout, topic, headers, x-…'),
        source: shortName.optional().describe('Binding: the exchange to bind from'),
        destinationType: z.enum(['queue', 'exchange']).default('queue').describe('Binding: bind a queue or (RabbitMQ) an exchange'),
        routingKey: shortName.default('').describe('Binding: the routing key or pattern'),
        unbind: z.boolean().default(false).describe('Binding: remove it instead'),
        arguments: argumentsField,
        ...connection,
      }),
      output: z.object({
        kind: z.string(),
        name: z.string(),
        messageCount: z.number().nullable(),
        consumerCount: z.number().nullable(),
        created: z.boolean().describe('Not passive: declared (or already there with the same settings)'),
      }),
      text: (r) => `${r.kind} ${r.name || '(default)'}${r.messageCount !== null ? `: ${r.messageCount} messages, ${r.consumerCount} consumers` : ': ok'}`,
      async run(ctx, input) {
        const args = toTable(input.arguments, 'arguments') ?? {};
        if (input.kind === 'binding' && input.source === undefined) throw InvalidInput.field('source', 'a binding needs the source exchange');
        const c = await open(ctx, input);
        let out: { kind: string; name: string; messageCount: number | null; consumerCount: number | null; created: boolean };
        if (input.kind === 'queue') {
          const ok = await c.call('queue.declare', { queue: input.name, passive: input.passive, durable: input.durable, exclusive: input.exclusive, autoDelete: input.autoDelete, arguments: args }, 'queue.declare-ok');
          out = { kind: 'queue', name: String(ok.args.queue), messageCount: Number(ok.args.messageCount), consumerCount: Number(ok.args.consumerCount), created: !input.passive };
        } else if (input.kind === 'exchange') {
          await c.call('exchange.declare', { exchange: input.name, type: input.type, passive: input.passive, durable: input.durable, autoDelete: input.autoDelete, internal: input.internal, arguments: args }, 'exchange.declare-ok');
          out = { kind: 'exchange', name: input.name, messageCount: null, consumerCount: null, created: !input.passive };
        } else {
          const verb = input.unbind ? 'unbind' : 'bind';
          if (input.destinationType === 'queue') await c.call(`queue.${verb}`, { queue: input.name, exchange: input.source!, routingKey: input.routingKey, arguments: args }, `queue.${verb}-ok`);
          else await c.call(`exchange.${verb}`, { destination: input.name, source: input.source!, routingKey: input.routingKey, arguments: args }, `exchange.${verb}-ok`);
          out = { kind: 'binding', name: `${input.source} → ${input.name} (${input.routingKey})`, messageCount: null, consumerCount: null, created: !input.unbind };
        }
        await finish(ctx, c);
        return out;
      },
    }),
    publish: operation({
      summary: 'Publish a message (or `count` of them, pipelined) with properties and headers; mandatory shows basic.return, confirm waits for the broker\'s ack or nack',
      maxTimeoutMs: 300_000,
      input: z.object({
        exchange: shortName.default('').describe('Exchange ("" is the default exchange, which routes by queue name)'),
        routingKey: shortName.default('').meta({ examples: ['portolan.test'] }),
        payload: payloadField.default(''),
        mandatory: z.boolean().default(false).describe('Ask the broker to return an unroutable message (basic.return)'),
        confirm: z.boolean().default(true).describe('Publisher confirms: wait for basic.ack / basic.nack of every message'),
        count: z.number().int().min(1).max(1_000_000).default(1),
        numbered: z.boolean().default(false).describe('With count: replace {n} in a text payload with the message number'),
        inflight: z.number().int().min(1).max(100_000).default(1000).describe('Unconfirmed messages at once (with confirm)'),
        ...propertiesInput,
        ...connection,
      }),
      output: z.object({
        exchange: z.string(),
        routingKey: z.string(),
        count: z.number(),
        confirmed: z.number().describe('Acked by the broker (confirm)'),
        nacked: z.number(),
        returned: z.array(returnedOut).describe('Messages the broker returned as unroutable (mandatory), first 100'),
        returnedCount: z.number(),
        bytes: z.number(),
        publishMs: z.number(),
        messagesPerSecond: z.number().nullable(),
      }),
      text: (r) => `published ${r.count} to ${r.exchange || '(default)'} / ${r.routingKey}: ${r.confirmed} confirmed, ${r.nacked} nacked, ${r.returnedCount} returned${r.returned[0] ? ` (${r.returned[0].replyCode} ${r.returned[0].replyText})` : ''}`,
      async run(ctx, input) {
        const body = payloadBytes(input.payload, 'payload');
        const props = basicProperties(input);
        const template = typeof input.payload === 'string' && input.numbered ? input.payload : null;
        const c = await open(ctx, input);
        if (input.confirm) await c.call('confirm.select', {}, 'confirm.select-ok');
        const returned: z.infer<typeof returnedOut>[] = [];
        let returnedCount = 0;
        let confirmed = 0;
        let nacked = 0;
        let settledUpTo = 0; // delivery tags 1..settledUpTo are settled; tags are message numbers (one channel).
        const settled = new Set<number>();
        let bytes = 0;
        let sent = 0;
        const t0 = performance.now();
        const settle = (tag: number, multiple: boolean, ok: boolean) => {
          const mark = (t: number) => {
            if (t <= settledUpTo || settled.has(t)) return;
            settled.add(t);
            if (ok) confirmed++;
            else nacked++;
          };
          if (multiple) for (let t = settledUpTo + 1; t <= tag; t++) mark(t);
          else mark(tag);
          while (settled.has(settledUpTo + 1)) settled.delete(++settledUpTo);
        };
        const onMethod = async (m: Method) => {
          if (m.name === 'basic.ack' || m.name === 'basic.nack') settle(Number(m.args.deliveryTag), m.args.multiple === true, m.name === 'basic.ack');
          else if (m.name === 'basic.return') {
            await c.readContent();
            returnedCount++;
            if (returned.length < 100) returned.push({ replyCode: Number(m.args.replyCode), replyText: String(m.args.replyText), exchange: String(m.args.exchange), routingKey: String(m.args.routingKey), message: sent });
          } else if (m.name !== 'connection.blocked' && m.name !== 'connection.unblocked') throw new ProtocolError(`unexpected ${m.name} while publishing`);
        };
        while (sent < input.count) {
          const out: Uint8Array[] = [];
          let size = 0;
          while (sent < input.count && (!input.confirm || sent - settledUpTo < input.inflight) && size < 256 * 1024) {
            const b = template ? new TextEncoder().encode(template.replaceAll('{n}', String(sent + 1))) : body;
            const frames = c.publishFrames(input.exchange, input.routingKey, input.mandatory, props, b);
            out.push(frames);
            size += frames.length;
            bytes += b.length;
            sent++;
          }
          if (out.length > 0) await c.conn.write(out.length === 1 ? out[0] : concat(out), { decode: `${out.length} × basic.publish exchange=${JSON.stringify(input.exchange)} routingKey=${JSON.stringify(input.routingKey)}${input.mandatory ? ' mandatory' : ''} + content` });
          if (input.confirm) {
            // Read while the window is full, then whatever has already arrived.
            while (sent - settledUpTo >= input.inflight || (c.conn.buffered > 0 && settledUpTo < sent)) await onMethod(await c.next());
          }
        }
        if (input.confirm) while (settledUpTo < sent) await onMethod(await c.next());
        const publishMs = Math.round((performance.now() - t0) * 1000) / 1000;
        // Without confirms, a mandatory return may still be on its way: close collects what the server sends first.
        await finish(ctx, c);
        return {
          exchange: input.exchange,
          routingKey: input.routingKey,
          count: input.count,
          confirmed,
          nacked,
          returned,
          returnedCount,
          bytes,
          publishMs,
          messagesPerSecond: publishMs > 0 ? Math.round((input.count * 1000) / publishMs) : null,
        };
      },
    }),
    get: operation({
      summary: 'basic.get: take up to `count` messages from a queue, then ack, nack (requeue or not), reject, or leave them to the broker (autoAck)',
      input: z.object({
        queue: shortName.meta({ examples: ['portolan.test'] }),
        count: z.number().int().min(1).max(10_000).default(1),
        ack: z.enum(['ack', 'requeue', 'nack', 'reject', 'autoAck']).default('ack').describe('ack: remove; requeue: nack with requeue (put back); nack / reject: drop or dead-letter; autoAck: no-ack get'),
        encoding: encodingField,
        ...connection,
      }),
      output: z.object({ messages: z.array(messageOut.extend({ messageCount: z.number() })), count: z.number(), empty: z.boolean().describe('The queue ran out'), settled: z.string() }),
      text: (r) => r.messages.map(messageLine).join('\n') || '(queue empty)',
      async run(ctx, input) {
        const c = await open(ctx, input);
        const messages: (MessageJson & { messageCount: number })[] = [];
        let empty = false;
        let lastTag: bigint | undefined;
        while (messages.length < input.count) {
          const m = await c.call('basic.get', { queue: input.queue, noAck: input.ack === 'autoAck' }, ['basic.get-ok', 'basic.get-empty']);
          if (m.name === 'basic.get-empty') {
            empty = true;
            break;
          }
          const content = await c.readContent();
          messages.push({ ...messageJson(m, content, input.encoding), messageCount: Number(m.args.messageCount) });
          lastTag = m.args.deliveryTag as bigint;
          if (input.ack === 'reject') await c.send(c.channel, 'basic.reject', { deliveryTag: lastTag, requeue: false });
        }
        if (lastTag !== undefined) {
          if (input.ack === 'ack') await c.send(c.channel, 'basic.ack', { deliveryTag: lastTag, multiple: true });
          else if (input.ack === 'requeue' || input.ack === 'nack') await c.send(c.channel, 'basic.nack', { deliveryTag: lastTag, multiple: true, requeue: input.ack === 'requeue' });
        }
        await finish(ctx, c);
        return { messages, count: messages.length, empty, settled: input.ack };
      },
    }),
    consume: operation({
      summary: 'basic.consume: as a WebSocket session, a live feed of deliveries with prefetch and acknowledgements; as a POST, the messages of a time window',
      input: z.object({
        queue: shortName.meta({ examples: ['portolan.test'] }),
        prefetch: z.number().int().min(0).max(65535).default(100).describe('basic.qos prefetch count: unacknowledged deliveries the broker allows (0: no limit)'),
        ack: z.enum(['auto', 'client', 'manual']).default('client').describe('auto: no-ack consumer; client: each message is acked once the client acknowledged it ({"type":"ack","messages":n}; a POST acks all at the end); manual: {"type":"settle","deliveryTag":"…","outcome":"ack|nack|reject","requeue":bool}'),
        exclusive: z.boolean().default(false),
        durationMs: z.number().int().min(100).max(60_000).default(5000).describe('POST only: how long to consume'),
        maxMessages: z.number().int().min(1).max(1_000_000).default(10_000),
        encoding: encodingField,
        window: windowField,
        ...connection,
      }),
      output: z.object({
        messages: z.array(messageOut).describe('POST: the messages consumed; a session streams them instead'),
        count: z.number(),
        consumerTag: z.string(),
        ended: z.enum(['duration', 'maxMessages', 'client', 'server']),
        acked: z.number(),
      }),
      text: (r) => r.messages.map(messageLine).join('\n') || '(no messages)',
      sessionText: (m) => (m.type === 'message' ? messageLine(m as unknown as MessageJson) : undefined),
      async run(ctx, input) {
        const c = await open(ctx, input);
        await c.call('basic.qos', { prefetchCount: input.prefetch }, 'basic.qos-ok');
        const ok = await c.call('basic.consume', { queue: input.queue, noAck: input.ack === 'auto', exclusive: input.exclusive }, 'basic.consume-ok');
        const consumerTag = String(ok.args.consumerTag);
        const messages: MessageJson[] = [];
        let ended: 'duration' | 'maxMessages' | 'server' = 'duration';
        let lastTag: bigint | undefined;
        let acked = 0;
        try {
          await ctx.within(input.durationMs, async () => {
            while (messages.length < input.maxMessages) {
              const m = await c.next();
              if (m.name === 'basic.cancel') {
                ended = 'server';
                return;
              }
              if (m.name !== 'basic.deliver') continue;
              messages.push(messageJson(m, await c.readContent(), input.encoding));
              lastTag = m.args.deliveryTag as bigint;
              // Keep the prefetch window moving: ack as we go.
              if (input.ack !== 'auto' && input.prefetch > 0 && messages.length % Math.max(1, Math.floor(input.prefetch / 2)) === 0) {
                await c.send(c.channel, 'basic.ack', { deliveryTag: lastTag, multiple: true });
                acked = messages.length;
              }
            }
            ended = 'maxMessages';
          });
        } catch (e) {
          if (!(e instanceof PortolanError) || e.code !== 'io_timeout' || ctx.signal.aborted) throw e;
        }
        if (input.ack !== 'auto' && lastTag !== undefined && acked < messages.length) {
          await c.send(c.channel, 'basic.ack', { deliveryTag: lastTag, multiple: true });
          acked = messages.length;
        }
        await ctx.within(2000, () => c.call('basic.cancel', { consumerTag }, 'basic.cancel-ok', async () => {})).catch(() => {});
        await finish(ctx, c);
        return { messages, count: messages.length, consumerTag, ended, acked: input.ack === 'auto' ? messages.length : acked };
      },
      async session(ctx, input, channel) {
        const c = await open(ctx, input);
        await c.call('basic.qos', { prefetchCount: input.prefetch }, 'basic.qos-ok');
        const ok = await c.call('basic.consume', { queue: input.queue, noAck: input.ack === 'auto', exclusive: input.exclusive }, 'basic.consume-ok');
        const consumerTag = String(ok.args.consumerTag);
        channel.send({ type: 'subscribed', queue: input.queue, consumerTag, prefetch: input.prefetch, ack: input.ack, acks: input.ack === 'client' ? 'messages' : 'none' });
        let count = 0;
        let acked = 0;
        // Delivery tags sent to the client, oldest first, until acknowledged (ack mode client).
        const unacked: bigint[] = [];
        let running = true;
        if (c.heartbeat > 0) {
          void (async () => {
            while (running) {
              await ctx.sleep(c.heartbeat * 500);
              if (running) await c.heartbeatFrame();
            }
          })().catch(() => {});
        }
        let ended: FeedEnd;
        try {
          ended = await runFeed({
            channel,
            async onAck(n) {
              if (input.ack !== 'client') return;
              const done = unacked.splice(0, Math.min(n, unacked.length));
              if (done.length === 0) return;
              await c.send(c.channel, 'basic.ack', { deliveryTag: done[done.length - 1], multiple: true });
              acked += done.length;
            },
            async step() {
              const m = await c.next();
              if (m.name === 'basic.cancel') {
                channel.send({ type: 'cancelled', consumerTag, reason: 'the broker cancelled the consumer (queue deleted?)' });
                return 'server';
              }
              if (m.name !== 'basic.deliver') return undefined;
              const msg = messageJson(m, await c.readContent(), input.encoding, FEED_PREVIEW_BYTES);
              if (input.ack === 'client') unacked.push(m.args.deliveryTag as bigint);
              channel.send({ type: 'message', ...msg });
              count++;
              return count >= input.maxMessages ? 'maxMessages' : undefined;
            },
            async control(m) {
              if (m.type !== 'settle') throw InvalidInput.field('type', `unknown message type ${JSON.stringify(m.type)}: ack, settle or stop`);
              if (input.ack !== 'manual') throw InvalidInput.field('type', 'settle is for ack mode manual');
              if (typeof m.deliveryTag !== 'string' || !/^\d{1,20}$/.test(m.deliveryTag)) throw InvalidInput.field('deliveryTag', 'give the message\'s deliveryTag (a decimal string)');
              const tag = BigInt(m.deliveryTag);
              const outcome = m.outcome ?? 'ack';
              if (outcome === 'ack') await c.send(c.channel, 'basic.ack', { deliveryTag: tag, multiple: false });
              else if (outcome === 'nack') await c.send(c.channel, 'basic.nack', { deliveryTag: tag, multiple: false, requeue: m.requeue === true });
              else if (outcome === 'reject') await c.send(c.channel, 'basic.reject', { deliveryTag: tag, requeue: m.requeue === true });
              else throw InvalidInput.field('outcome', 'ack, nack or reject');
              acked++;
              channel.send({ type: 'settled', deliveryTag: m.deliveryTag, outcome });
            },
          });
        } finally {
          running = false;
        }
        // A clean end: basic.cancel, then channel and connection close (unacked deliveries go back to the queue).
        await ctx.within(2000, () => c.call('basic.cancel', { consumerTag }, 'basic.cancel-ok', async (m) => {
          if (m.name === 'basic.deliver') await c.readContent();
        })).catch(() => {});
        await finish(ctx, c);
        return { messages: [], count, consumerTag, ended, acked: input.ack === 'auto' ? count : acked };
      },
    }),
    delete: operation({
      summary: 'Delete a queue (answering how many messages went with it) or an exchange, optionally only if unused or empty',
      input: z.object({
        kind: z.enum(['queue', 'exchange']).default('queue'),
        name: shortName.min(1, 'name is required').meta({ examples: ['portolan.test'] }),
        ifUnused: z.boolean().default(false),
        ifEmpty: z.boolean().default(false).describe('Queue only'),
        ...connection,
      }),
      output: z.object({ kind: z.string(), name: z.string(), messageCount: z.number().nullable() }),
      text: (r) => `deleted ${r.kind} ${r.name}${r.messageCount !== null ? ` with ${r.messageCount} messages` : ''}`,
      async run(ctx, input) {
        const c = await open(ctx, input);
        let messageCount: number | null = null;
        if (input.kind === 'queue') messageCount = Number((await c.call('queue.delete', { queue: input.name, ifUnused: input.ifUnused, ifEmpty: input.ifEmpty }, 'queue.delete-ok')).args.messageCount);
        else await c.call('exchange.delete', { exchange: input.name, ifUnused: input.ifUnused }, 'exchange.delete-ok');
        await finish(ctx, c);
        return { kind: input.kind, name: input.name, messageCount };
      },
    }),
    purge: operation({
      summary: 'Purge a queue: remove its ready messages and say how many',
      input: z.object({ queue: shortName.min(1, 'queue is required').meta({ examples: ['portolan.test'] }), ...connection }),
      output: z.object({ queue: z.string(), messageCount: z.number() }),
      text: (r) => `purged ${r.messageCount} messages from ${r.queue}`,
      async run(ctx, input) {
        const c = await open(ctx, input);
        const ok = await c.call('queue.purge', { queue: input.queue }, 'queue.purge-ok');
        await finish(ctx, c);
        return { queue: input.queue, messageCount: Number(ok.args.messageCount) };
      },
    }),
  },
});
