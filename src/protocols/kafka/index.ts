// Apache Kafka wire protocol (kafka.apache.org/protocol): ApiVersions, Metadata, Produce with record batches (CRC-32C), Fetch, ListOffsets, SASL PLAIN and SCRAM-SHA-256/512.
import * as z from 'zod';
import { bytesJson, type ByteEncoding } from '../../core/bytes.ts';
import { bytesField, bytesOut, bytesPreview, encodingField, inputBytes } from '../../core/bytes-input.ts';
import { InvalidInput, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { KafkaClient, type SaslMechanism } from './client.ts';
import { API, API_NAMES, VERSION, decode, decodeRecordBatches, encode, encodeRecordBatch, errorName, topicProblem } from './codec.ts';

const topic = z
  .string()
  .superRefine((t, ctx) => {
    const problem = topicProblem(t);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ examples: ['orders'] });

const connection = {
  sasl: z.enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']).optional().describe('SASL mechanism (with username and password)'),
  username: z.string().min(1).max(1024).optional(),
  password: z.string().max(4096).optional(),
  clientId: z.string().max(256).default('portolan').describe('client_id sent in every request header'),
};

type ConnInput = { sasl?: SaslMechanism; username?: string; password?: string; clientId: string };

async function open(ctx: OperationContext, input: ConnInput, maxResponseBytes?: number): Promise<KafkaClient> {
  if (input.sasl && (input.username === undefined || input.password === undefined)) throw InvalidInput.field('username', `${input.sasl} needs username and password`);
  if (!input.sasl && input.username !== undefined) throw InvalidInput.field('sasl', 'choose a mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512) for the username');
  const c = new KafkaClient(await ctx.dial(), input.clientId, maxResponseBytes);
  await c.apiVersions();
  if (input.sasl) {
    await c.authenticate(ctx.crypto, input.sasl, input.username!, input.password!);
    ctx.timing.mark('authenticatedMs');
  }
  return c;
}

const n = (v: bigint) => Number(v);

function recordJson(r: { key: Uint8Array | null; value: Uint8Array | null; headers: { key: string; value: Uint8Array | null }[]; timestamp: bigint; offset: bigint }, enc: ByteEncoding) {
  return {
    offset: n(r.offset),
    timestamp: new Date(n(r.timestamp)).toISOString(),
    key: r.key === null ? null : bytesJson(r.key, enc),
    value: r.value === null ? null : bytesJson(r.value, enc),
    size: r.value?.length ?? 0,
    headers: r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : bytesJson(h.value, enc) })),
  };
}

/** Throws a partition's error code as the broker's words. */
function partitionOk(what: string, errorCode: number): void {
  if (errorCode !== 0) throw new ServerError(`${what}: ${errorName(errorCode)}`, { errorCode });
}

async function offsetsOf(c: KafkaClient, name: string, partition: number, timestamp: bigint): Promise<bigint> {
  const r = decode.listOffsets(await c.call(API.ListOffsets, encode.listOffsets(name, [{ partition, timestamp }])));
  const p = r.topics[0]?.partitions[0];
  if (!p) throw new ServerError(`ListOffsets: no answer for ${name}[${partition}]`);
  partitionOk(`ListOffsets ${name}[${partition}]`, p.errorCode);
  return p.offset;
}

const recordOut = z.object({
  offset: z.number(),
  timestamp: z.string(),
  key: bytesOut.nullable(),
  value: bytesOut.nullable(),
  size: z.number(),
  headers: z.array(z.object({ key: z.string(), value: bytesOut.nullable() })),
});

export default defineProtocol({
  id: 'kafka',
  title: 'Apache Kafka',
  category: 'messaging',
  summary: 'Speaks the Kafka wire protocol to a broker: API versions, cluster metadata, produce record batches (CRC-32C), fetch and decode records, list offsets; SASL PLAIN and SCRAM-SHA-256/512, TLS.',
  ports: [
    { port: 9092, transport: 'tcp' },
    { port: 9093, transport: 'tls', label: 'TLS (a common choice)' },
  ],
  specs: ['Kafka protocol guide (kafka.apache.org/protocol)', 'KIP-98 record batch v2', 'KIP-43 SASL handshake', 'KIP-152 SaslAuthenticate', 'RFC 5802 / RFC 7677 SCRAM'],
  rating: {
    stars: 0,
    reason:
      'No Kafka broker can run in the lab: Debian 12 packages none (Kafka needs a JVM distribution fetched from outside), and no broker that others run in production ships as an npm package. The encoders and decoders are cross-checked byte for byte against kafkajs 2.2.4\'s own codec in both directions — request headers and bodies of ApiVersions v2, Metadata v4, Produce v3, Fetch v4, ListOffsets v1, SaslHandshake v1 and SaslAuthenticate v0; record batches written here read by kafkajs and written by kafkajs read here (CRC-32C checked); responses written with kafkajs\'s encoder read here — and SCRAM against RFC 7677\'s vector. Not covered by any server test: the operations themselves, compressed batches (listed, not decoded), transactions, consumer groups.',
  },
  verifiedAgainst: null,
  tls: { implicit: { port: 9093 } },
  defaultOperation: 'apiVersions',
  identify: { unprobed: 'no lab server' },
  operations: {
    apiVersions: operation({
      summary: 'ApiVersions: every API the broker offers with its version range, and whether Portolan\'s version is in it',
      input: z.object({ ...connection }),
      output: z.object({ apis: z.array(z.object({ apiKey: z.number(), name: z.string(), minVersion: z.number(), maxVersion: z.number(), portolanVersion: z.number().nullable(), usable: z.boolean().nullable() })), authenticated: z.boolean() }),
      text: (r) => r.apis.map((a) => `${String(a.apiKey).padStart(3)} ${a.name.padEnd(28)} v${a.minVersion}–v${a.maxVersion}${a.portolanVersion !== null ? ` (Portolan v${a.portolanVersion}${a.usable ? '' : ', out of range'})` : ''}`).join('\n'),
      async run(ctx, input) {
        const c = await open(ctx, input);
        return {
          apis: c.versions!.apis.map((a) => {
            const name = API_NAMES[a.apiKey] ?? `api ${a.apiKey}`;
            const ours = (VERSION as Record<string, number>)[name] ?? null;
            return { ...a, name, portolanVersion: ours, usable: ours === null ? null : ours >= a.minVersion && ours <= a.maxVersion };
          }),
          authenticated: input.sasl !== undefined,
        };
      },
    }),
    metadata: operation({
      summary: 'Metadata: brokers, controller, cluster id, and topics with their partitions, leaders, replicas and ISR',
      input: z.object({ topics: z.array(topic).max(1000).optional().describe('Only these topics (default: all)'), ...connection }),
      output: z.object({
        clusterId: z.string().nullable(),
        controllerId: z.number(),
        brokers: z.array(z.object({ nodeId: z.number(), host: z.string(), port: z.number(), rack: z.string().nullable() })),
        topics: z.array(z.object({ name: z.string(), internal: z.boolean(), error: z.string().nullable(), partitions: z.array(z.object({ partition: z.number(), leader: z.number(), replicas: z.array(z.number()), isr: z.array(z.number()), error: z.string().nullable() })) })),
      }),
      text: (r) => [`cluster ${r.clusterId} controller ${r.controllerId}`, ...r.brokers.map((b) => `broker ${b.nodeId} ${b.host}:${b.port}${b.rack ? ` rack ${b.rack}` : ''}`), ...r.topics.map((t) => `${t.name}${t.internal ? ' (internal)' : ''}: ${t.partitions.length} partitions${t.error ? ` ${t.error}` : ''}`)].join('\n'),
      async run(ctx, input) {
        const c = await open(ctx, input);
        const m = decode.metadata(await c.call(API.Metadata, encode.metadata(input.topics ?? null)));
        return {
          clusterId: m.clusterId,
          controllerId: m.controllerId,
          brokers: m.brokers,
          topics: m.topics.map((t) => ({ name: t.name, internal: t.internal, error: t.errorCode ? errorName(t.errorCode) : null, partitions: t.partitions.map((p) => ({ partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, error: p.errorCode ? errorName(p.errorCode) : null })) })),
        };
      },
    }),
    produce: operation({
      summary: 'Produce one record batch (v2, CRC-32C) to a topic partition and read its base offset',
      input: z.object({
        topic,
        partition: z.number().int().min(0).max(0x7fffffff).default(0),
        records: z
          .array(z.object({ key: bytesField(1024 * 1024).optional(), value: bytesField(4 * 1024 * 1024), headers: z.record(z.string().max(1024), bytesField(64 * 1024)).optional() }).strict())
          .min(1)
          .max(10_000)
          .describe('Records: [{"key": "k", "value": "v", "headers": {"h": "x"}}]')
          .meta({ examples: [[{ key: 'order-1', value: '{"total": 42}' }]] }),
        acks: z.union([z.literal(-1), z.literal(0), z.literal(1)]).default(-1).describe('-1: all in-sync replicas, 1: the leader, 0: no answer'),
        ackTimeoutMs: z.number().int().min(1).max(60_000).default(5000).describe('How long the broker may wait for replicas'),
        ...connection,
      }),
      output: z.object({ topic: z.string(), partition: z.number(), baseOffset: z.number().nullable(), logAppendTime: z.string().nullable(), records: z.number(), batchBytes: z.number() }),
      text: (r) => `${r.records} record(s) to ${r.topic}[${r.partition}]${r.baseOffset !== null ? ` at offset ${r.baseOffset}` : ' (acks 0: no answer)'}`,
      async run(ctx, input) {
        const now = BigInt(Date.now());
        const batch = encodeRecordBatch(
          input.records.map((r, i) => ({
            key: r.key === undefined ? null : inputBytes(r.key, `records.${i}.key`),
            value: inputBytes(r.value, `records.${i}.value`),
            headers: Object.entries(r.headers ?? {}).map(([k, v]) => ({ key: k, value: inputBytes(v, `records.${i}.headers.${k}`) })),
            timestamp: now,
          })),
        );
        const c = await open(ctx, input);
        const body = await c.call(API.Produce, encode.produce({ acks: input.acks, timeoutMs: input.ackTimeoutMs, topic: input.topic, partition: input.partition, batch }), { expectResponse: input.acks !== 0 });
        if (input.acks === 0) return { topic: input.topic, partition: input.partition, baseOffset: null, logAppendTime: null, records: input.records.length, batchBytes: batch.length };
        const p = decode.produce(body).topics[0]?.partitions[0];
        if (!p) throw new ServerError('Produce: no answer for the partition');
        partitionOk(`Produce ${input.topic}[${input.partition}]`, p.errorCode);
        return { topic: input.topic, partition: input.partition, baseOffset: n(p.baseOffset), logAppendTime: p.logAppendTime >= 0n ? new Date(n(p.logAppendTime)).toISOString() : null, records: input.records.length, batchBytes: batch.length };
      },
    }),
    fetch: operation({
      summary: 'Fetch records from a topic partition from an offset (or the earliest / latest), decoding every record batch',
      input: z.object({
        topic,
        partition: z.number().int().min(0).max(0x7fffffff).default(0),
        offset: z.union([z.number().int().min(0), z.enum(['earliest', 'latest'])]).default('earliest').describe('Offset to read from, or earliest / latest (ListOffsets)'),
        maxRecords: z.number().int().min(1).max(100_000).default(100),
        maxBytes: z.number().int().min(1024).max(32 * 1024 * 1024).default(1024 * 1024).describe('partition_max_bytes and max_bytes'),
        maxWaitMs: z.number().int().min(0).max(30_000).default(500).describe('How long the broker may wait for data'),
        isolation: z.enum(['read_uncommitted', 'read_committed']).default('read_uncommitted'),
        encoding: encodingField,
        ...connection,
      }),
      output: z.object({ topic: z.string(), partition: z.number(), fromOffset: z.number(), highWatermark: z.number(), records: z.array(recordOut), compressedBatches: z.number(), partialBytes: z.number() }),
      text: (r) => r.records.map((x) => `${x.offset}\t${x.timestamp}\t${x.key ? bytesPreview(x.key) : '-'}\t${x.value ? bytesPreview(x.value) : 'null'}`).join('\n') || `(no records from offset ${r.fromOffset}; high watermark ${r.highWatermark})`,
      async run(ctx, input) {
        if (input.maxWaitMs >= input.timeoutMs) throw InvalidInput.field('maxWaitMs', `must be shorter than timeoutMs (${input.timeoutMs})`);
        const c = await open(ctx, input, input.maxBytes + 64 * 1024);
        const from = typeof input.offset === 'number' ? BigInt(input.offset) : await offsetsOf(c, input.topic, input.partition, input.offset === 'earliest' ? -2n : -1n);
        const f = decode.fetch(await c.call(API.Fetch, encode.fetch({ maxWaitMs: input.maxWaitMs, minBytes: 1, maxBytes: input.maxBytes, isolationLevel: input.isolation === 'read_committed' ? 1 : 0, topic: input.topic, partition: input.partition, offset: from, partitionMaxBytes: input.maxBytes })));
        const p = f.topics[0]?.partitions[0];
        if (!p) throw new ServerError('Fetch: no answer for the partition');
        partitionOk(`Fetch ${input.topic}[${input.partition}] from ${from}`, p.errorCode);
        const decoded = p.records ? decodeRecordBatches(p.records) : { batches: [], partialBytes: 0 };
        const records = decoded.batches.flatMap((b) => b.records).filter((r) => r.offset >= from).slice(0, input.maxRecords);
        return {
          topic: input.topic,
          partition: input.partition,
          fromOffset: n(from),
          highWatermark: n(p.highWatermark),
          records: records.map((r) => recordJson(r, input.encoding)),
          compressedBatches: decoded.batches.filter((b) => (b.attributes & 7) !== 0).length,
          partialBytes: decoded.partialBytes,
        };
      },
    }),
    listOffsets: operation({
      summary: 'ListOffsets: the earliest and latest offset of partitions (or the first offset at a time)',
      input: z.object({ topic, partitions: z.array(z.number().int().min(0)).min(1).max(1000).default([0]), at: z.iso.datetime({ offset: true }).optional().describe('The first offset whose timestamp is at or after this time'), ...connection }),
      output: z.object({ topic: z.string(), partitions: z.array(z.object({ partition: z.number(), earliest: z.number().nullable(), latest: z.number().nullable(), atTime: z.number().nullable(), error: z.string().nullable() })) }),
      text: (r) => r.partitions.map((p) => `${r.topic}[${p.partition}] ${p.error ?? `earliest ${p.earliest} latest ${p.latest}${p.atTime !== null ? ` at time ${p.atTime}` : ''}`}`).join('\n'),
      async run(ctx, input) {
        const c = await open(ctx, input);
        const ask = async (ts: bigint) => decode.listOffsets(await c.call(API.ListOffsets, encode.listOffsets(input.topic, input.partitions.map((partition) => ({ partition, timestamp: ts }))))).topics[0]?.partitions ?? [];
        const earliest = await ask(-2n);
        const latest = await ask(-1n);
        const at = input.at ? await ask(BigInt(Date.parse(input.at))) : [];
        return {
          topic: input.topic,
          partitions: input.partitions.map((partition) => {
            const e = earliest.find((p) => p.partition === partition);
            const l = latest.find((p) => p.partition === partition);
            const a = at.find((p) => p.partition === partition);
            const err = [e, l, a].find((p) => p && p.errorCode !== 0);
            return { partition, earliest: e && !e.errorCode ? n(e.offset) : null, latest: l && !l.errorCode ? n(l.offset) : null, atTime: a && !a.errorCode ? n(a.offset) : null, error: err ? errorName(err.errorCode) : null };
          }),
        };
      },
    }),
  },
});
