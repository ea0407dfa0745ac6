// Kafka wire protocol (kafka.apache.org/protocol, KIP-98 record batches, KIP-43 SASL): framing, request header v1, ApiVersions v2, Metadata v4, Produce v3, Fetch v4, ListOffsets v1, SaslHandshake v1, SaslAuthenticate v0.
//
// How it works: every message is an int32 size and that many bytes. A request's bytes start with
// api_key, api_version, correlation_id and client_id; a response's with the correlation_id. Fields
// are big-endian ints, strings with an int16 length (-1 null), bytes with an int32 length, arrays with
// an int32 count. Records travel in batches (magic 2): a fixed header whose CRC-32C covers everything
// from the attributes on, then records whose fields are zig-zag varints. Every count and length read
// from the wire is checked against what is left before anything is allocated.
import { ByteReader, ByteWriter, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const API = { Produce: 0, Fetch: 1, ListOffsets: 2, Metadata: 3, ApiVersions: 18, SaslHandshake: 17, SaslAuthenticate: 36 } as const;

/** The version Portolan speaks of each API (all within what Kafka 0.11 to 4.x accept). */
export const VERSION = { Produce: 3, Fetch: 4, ListOffsets: 1, Metadata: 4, ApiVersions: 2, SaslHandshake: 1, SaslAuthenticate: 0 } as const;

export const API_NAMES: Record<number, string> = {
  0: 'Produce', 1: 'Fetch', 2: 'ListOffsets', 3: 'Metadata', 4: 'LeaderAndIsr', 5: 'StopReplica', 6: 'UpdateMetadata', 7: 'ControlledShutdown', 8: 'OffsetCommit', 9: 'OffsetFetch',
  10: 'FindCoordinator', 11: 'JoinGroup', 12: 'Heartbeat', 13: 'LeaveGroup', 14: 'SyncGroup', 15: 'DescribeGroups', 16: 'ListGroups', 17: 'SaslHandshake', 18: 'ApiVersions', 19: 'CreateTopics',
  20: 'DeleteTopics', 21: 'DeleteRecords', 22: 'InitProducerId', 23: 'OffsetForLeaderEpoch', 24: 'AddPartitionsToTxn', 25: 'AddOffsetsToTxn', 26: 'EndTxn', 27: 'WriteTxnMarkers', 28: 'TxnOffsetCommit', 29: 'DescribeAcls',
  30: 'CreateAcls', 31: 'DeleteAcls', 32: 'DescribeConfigs', 33: 'AlterConfigs', 34: 'AlterReplicaLogDirs', 35: 'DescribeLogDirs', 36: 'SaslAuthenticate', 37: 'CreatePartitions', 38: 'CreateDelegationToken', 39: 'RenewDelegationToken',
  40: 'ExpireDelegationToken', 41: 'DescribeDelegationToken', 42: 'DeleteGroups', 43: 'ElectLeaders', 44: 'IncrementalAlterConfigs', 45: 'AlterPartitionReassignments', 46: 'ListPartitionReassignments', 47: 'OffsetDelete', 48: 'DescribeClientQuotas', 49: 'AlterClientQuotas',
  50: 'DescribeUserScramCredentials', 51: 'AlterUserScramCredentials', 55: 'DescribeQuorum', 57: 'UpdateFeatures', 60: 'DescribeCluster', 61: 'DescribeProducers', 64: 'UnregisterBroker', 65: 'DescribeTransactions', 66: 'ListTransactions', 68: 'ConsumerGroupHeartbeat',
  69: 'ConsumerGroupDescribe', 71: 'GetTelemetrySubscriptions', 72: 'PushTelemetry', 74: 'ListClientMetricsResources', 75: 'DescribeTopicPartitions',
};

/** Error codes (org.apache.kafka.common.protocol.Errors) a client meets most. */
export const ERRORS: Record<number, string> = {
  [-1]: 'UNKNOWN_SERVER_ERROR', 0: 'NONE', 1: 'OFFSET_OUT_OF_RANGE', 2: 'CORRUPT_MESSAGE', 3: 'UNKNOWN_TOPIC_OR_PARTITION', 5: 'LEADER_NOT_AVAILABLE', 6: 'NOT_LEADER_OR_FOLLOWER', 7: 'REQUEST_TIMED_OUT',
  10: 'MESSAGE_TOO_LARGE', 17: 'INVALID_TOPIC_EXCEPTION', 18: 'RECORD_LIST_TOO_LARGE', 19: 'NOT_ENOUGH_REPLICAS', 29: 'TOPIC_AUTHORIZATION_FAILED', 31: 'CLUSTER_AUTHORIZATION_FAILED',
  33: 'UNSUPPORTED_SASL_MECHANISM', 34: 'ILLEGAL_SASL_STATE', 35: 'UNSUPPORTED_VERSION', 43: 'UNSUPPORTED_FOR_MESSAGE_FORMAT', 58: 'SASL_AUTHENTICATION_FAILED', 87: 'INVALID_RECORD',
};

export function errorName(code: number): string {
  return ERRORS[code] ?? `error ${code}`;
}

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as record batches use it.
const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// Primitives.

const MAX_ARRAY = 100_000;

class KafkaWriter extends ByteWriter {
  str(s: string | null): this {
    if (s === null) return this.i16(-1);
    const b = utf8(s);
    if (b.length > 0x7fff) throw new ProtocolError('string longer than 32767 bytes');
    return this.u16(b.length).bytes(b);
  }
  bytesField(b: Uint8Array | null): this {
    if (b === null) return this.i32(-1);
    return this.i32(b.length).bytes(b);
  }
  array<T>(items: readonly T[] | null, write: (w: this, item: T) => void): this {
    if (items === null) return this.i32(-1);
    this.i32(items.length);
    for (const item of items) write(this, item);
    return this;
  }
  /** Zig-zag varint (record fields). */
  varint(n: number | bigint): this {
    const v = BigInt(n);
    return this.uvarint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }
  varBytes(b: Uint8Array | null): this {
    if (b === null) return this.varint(-1);
    return this.varint(b.length).bytes(b);
  }
}

class KafkaReader extends ByteReader {
  str(field: string): string {
    const n = this.i16(`${field} length`);
    if (n < 0) throw new ProtocolError(`${field} is null`);
    return fromUtf8(this.bytesN(n, field), false);
  }
  nullableStr(field: string): string | null {
    const n = this.i16(`${field} length`);
    return n < 0 ? null : fromUtf8(this.bytesN(n, field), false);
  }
  bytesField(field: string): Uint8Array | null {
    const n = this.i32(`${field} length`);
    return n < 0 ? null : this.bytesN(n, field);
  }
  bool(field: string): boolean {
    return this.u8(field) !== 0;
  }
  /** An array: the count is checked against the bytes left (every element takes at least `minSize`). */
  array<T>(field: string, read: (r: this) => T, minSize = 1): T[] {
    const n = this.i32(`${field} count`);
    if (n < 0) return [];
    if (n > MAX_ARRAY || n * minSize > this.remaining) throw new ProtocolError(`${field}: ${n} elements do not fit in the ${this.remaining} bytes left`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(this));
    return out;
  }
  varint(field: string): bigint {
    const u = this.uvarint(field, 10);
    return u & 1n ? -((u + 1n) >> 1n) : u >> 1n;
  }
  varintNumber(field: string): number {
    const v = this.varint(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new ProtocolError(`${field} does not fit a number`);
    return Number(v);
  }
  varBytes(field: string): Uint8Array | null {
    const n = this.varintNumber(`${field} length`);
    if (n < 0) return null;
    return this.bytesN(n, field);
  }
}

// Framing.

/** A response: int32 size, then the correlation id and the body. */
export function responseFrame(maxSize = 64 * 1024 * 1024): Frame<{ correlationId: number; body: Uint8Array }> {
  return (buf) => {
    if (buf.length < 4) return undefined;
    const size = new ByteReader(buf).i32('size');
    if (size < 4) throw new ProtocolError(`response size ${size} is too small for a correlation id`);
    if (size > maxSize) throw new ProtocolError(`response size ${size} exceeds the ${maxSize}-byte limit`);
    if (buf.length < 4 + size) return undefined;
    const r = new ByteReader(buf, 4);
    return { value: { correlationId: r.i32('correlation_id'), body: buf.slice(8, 4 + size) }, size: 4 + size };
  };
}

/** Request header v1 (api_key, api_version, correlation_id, client_id) and the body, with the size in front. */
export function encodeRequest(apiKey: number, apiVersion: number, correlationId: number, clientId: string | null, body: Uint8Array): Uint8Array {
  const w = new KafkaWriter(body.length + 64);
  const done = w.lengthAt('u32');
  w.i16(apiKey).i16(apiVersion).i32(correlationId).str(clientId).bytes(body);
  done();
  return w.finish();
}

// Record batches (magic 2).

export interface RecordHeader {
  key: string;
  value: Uint8Array | null;
}

export interface KafkaRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers: RecordHeader[];
  /** Milliseconds since the epoch. */
  timestamp: bigint;
  offset: bigint;
}

export interface RecordBatch {
  baseOffset: bigint;
  partitionLeaderEpoch: number;
  attributes: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  firstTimestamp: bigint;
  maxTimestamp: bigint;
  records: KafkaRecord[];
}

/** An uncompressed batch: offset and timestamp deltas from the first record, CRC-32C over attributes onward. */
export function encodeRecordBatch(records: readonly { key: Uint8Array | null; value: Uint8Array | null; headers?: readonly RecordHeader[]; timestamp: bigint }[], opts: { baseOffset?: bigint; producerId?: bigint } = {}): Uint8Array {
  if (records.length === 0) throw new ProtocolError('a record batch needs at least one record');
  const first = records.reduce((m, r) => (r.timestamp < m ? r.timestamp : m), records[0].timestamp);
  const max = records.reduce((m, r) => (r.timestamp > m ? r.timestamp : m), records[0].timestamp);
  const body = new KafkaWriter();
  body
    .i16(0) // attributes: no compression, create time, not transactional, not control
    .i32(records.length - 1)
    .u64(BigInt.asUintN(64, first))
    .u64(BigInt.asUintN(64, max))
    .u64(BigInt.asUintN(64, opts.producerId ?? -1n))
    .i16(0) // producer epoch
    .i32(0); // base sequence
  body.i32(records.length);
  records.forEach((r, i) => {
    const rec = new KafkaWriter();
    rec.u8(0).varint(r.timestamp - first).varint(i).varBytes(r.key).varBytes(r.value);
    const headers = r.headers ?? [];
    rec.varint(headers.length);
    for (const h of headers) rec.varBytes(utf8(h.key)).varBytes(h.value);
    const recBytes = rec.finish();
    body.varint(recBytes.length).bytes(recBytes);
  });
  const bodyBytes = body.finish();
  const w = new KafkaWriter(bodyBytes.length + 24);
  w.u64(BigInt.asUintN(64, opts.baseOffset ?? 0n));
  w.i32(4 + 1 + 4 + bodyBytes.length);
  w.i32(0).u8(2).u32(crc32c(bodyBytes)).bytes(bodyBytes);
  return w.finish();
}

export interface DecodedRecords {
  batches: RecordBatch[];
  /** Bytes at the end that hold only part of a batch (the broker cuts at max_bytes). */
  partialBytes: number;
}

/**
 * Batches of a fetch's record set. A trailing partial batch is normal (the broker cut it at
 * max_bytes) and reported; a wrong magic, CRC or structure is a ProtocolError. Compressed batches
 * are listed with no records (`attributes` names the codec).
 */
export function decodeRecordBatches(bytes: Uint8Array, maxRecords = 100_000): DecodedRecords {
  const batches: RecordBatch[] = [];
  const r = new KafkaReader(bytes);
  let total = 0;
  while (r.remaining > 0) {
    if (r.remaining < 12) return { batches, partialBytes: r.remaining };
    const start = r.offset;
    const baseOffset = r.i64('baseOffset');
    const length = r.i32('batchLength');
    if (length < 0) throw new ProtocolError(`batchLength ${length} is negative`);
    if (length > r.remaining) return { batches, partialBytes: bytes.length - start };
    const b = new KafkaReader(r.bytesN(length, 'record batch'));
    const partitionLeaderEpoch = b.i32('partitionLeaderEpoch');
    const magic = b.i8('magic');
    if (magic !== 2) throw new ProtocolError(`record batch magic ${magic}: only magic 2 (Kafka 0.11+) is read`);
    const crc = b.u32('crc');
    const covered = b.bytes.subarray(b.offset);
    if (crc32c(covered) !== crc) throw new ProtocolError(`record batch at offset ${baseOffset} fails its CRC-32C check`);
    const attributes = b.i16('attributes');
    b.i32('lastOffsetDelta');
    const firstTimestamp = b.i64('firstTimestamp');
    const maxTimestamp = b.i64('maxTimestamp');
    const producerId = b.i64('producerId');
    const producerEpoch = b.i16('producerEpoch');
    const baseSequence = b.i32('baseSequence');
    const count = b.i32('records count');
    const batch: RecordBatch = { baseOffset, partitionLeaderEpoch, attributes, producerId, producerEpoch, baseSequence, firstTimestamp, maxTimestamp, records: [] };
    if ((attributes & 0x07) === 0) {
      if (count < 0 || count > b.remaining) throw new ProtocolError(`record count ${count} does not fit the batch`);
      for (let i = 0; i < count; i++) {
        if (++total > maxRecords) throw new ProtocolError(`more than ${maxRecords} records`);
        const len = b.varintNumber('record length');
        if (len < 0 || len > b.remaining) throw new ProtocolError(`record length ${len} does not fit the batch`);
        const rec = new KafkaReader(b.bytesN(len, 'record'));
        rec.i8('record attributes');
        const tsDelta = rec.varint('timestampDelta');
        const offDelta = rec.varint('offsetDelta');
        const key = rec.varBytes('key');
        const value = rec.varBytes('value');
        const hcount = rec.varintNumber('headers count');
        if (hcount < 0 || hcount > rec.remaining) throw new ProtocolError(`header count ${hcount} does not fit the record`);
        const headers: RecordHeader[] = [];
        for (let h = 0; h < hcount; h++) {
          const k = rec.varBytes('header key');
          headers.push({ key: k ? fromUtf8(k) : '', value: rec.varBytes('header value')?.slice() ?? null });
        }
        batch.records.push({ key: key?.slice() ?? null, value: value?.slice() ?? null, headers, timestamp: firstTimestamp + tsDelta, offset: baseOffset + offDelta });
      }
    }
    batches.push(batch);
  }
  return { batches, partialBytes: 0 };
}

// Requests.

export const encode = {
  apiVersions(): Uint8Array {
    return new Uint8Array(0);
  },
  metadata(topics: readonly string[] | null, allowAutoTopicCreation = false): Uint8Array {
    return new KafkaWriter().array(topics, (w, t) => w.str(t)).u8(allowAutoTopicCreation ? 1 : 0).finish();
  },
  produce(o: { acks: number; timeoutMs: number; topic: string; partition: number; batch: Uint8Array }): Uint8Array {
    return new KafkaWriter(o.batch.length + 64)
      .str(null)
      .i16(o.acks)
      .i32(o.timeoutMs)
      .array([o.topic], (w, t) => w.str(t).array([o.partition], (w2, p) => w2.i32(p).bytesField(o.batch)))
      .finish();
  },
  fetch(o: { maxWaitMs: number; minBytes: number; maxBytes: number; isolationLevel: number; topic: string; partition: number; offset: bigint; partitionMaxBytes: number }): Uint8Array {
    return new KafkaWriter()
      .i32(-1)
      .i32(o.maxWaitMs)
      .i32(o.minBytes)
      .i32(o.maxBytes)
      .i8(o.isolationLevel)
      .array([o.topic], (w, t) => w.str(t).array([o.partition], (w2, p) => w2.i32(p).i64(o.offset).i32(o.partitionMaxBytes)))
      .finish();
  },
  listOffsets(topic: string, partitions: readonly { partition: number; timestamp: bigint }[]): Uint8Array {
    return new KafkaWriter()
      .i32(-1)
      .array([topic], (w, t) => w.str(t).array(partitions, (w2, p) => w2.i32(p.partition).i64(p.timestamp)))
      .finish();
  },
  saslHandshake(mechanism: string): Uint8Array {
    return new KafkaWriter().str(mechanism).finish();
  },
  saslAuthenticate(bytes: Uint8Array): Uint8Array {
    return new KafkaWriter().bytesField(bytes).finish();
  },
};

// Responses.

export interface ApiVersionsResponse {
  errorCode: number;
  apis: { apiKey: number; minVersion: number; maxVersion: number }[];
  throttleTimeMs: number;
}

export interface MetadataResponse {
  throttleTimeMs: number;
  brokers: { nodeId: number; host: string; port: number; rack: string | null }[];
  clusterId: string | null;
  controllerId: number;
  topics: { errorCode: number; name: string; internal: boolean; partitions: { errorCode: number; partition: number; leader: number; replicas: number[]; isr: number[] }[] }[];
}

export interface ProduceResponse {
  topics: { name: string; partitions: { partition: number; errorCode: number; baseOffset: bigint; logAppendTime: bigint }[] }[];
  throttleTimeMs: number;
}

export interface FetchResponse {
  throttleTimeMs: number;
  topics: { name: string; partitions: { partition: number; errorCode: number; highWatermark: bigint; lastStableOffset: bigint; abortedTransactions: { producerId: bigint; firstOffset: bigint }[]; records: Uint8Array | null }[] }[];
}

export interface ListOffsetsResponse {
  topics: { name: string; partitions: { partition: number; errorCode: number; timestamp: bigint; offset: bigint }[] }[];
}

function done<T>(r: ByteReader, value: T, what: string): T {
  if (r.remaining !== 0) throw new ProtocolError(`${what} response has ${r.remaining} bytes left over`);
  return value;
}

export const decode = {
  apiVersions(body: Uint8Array): ApiVersionsResponse {
    const r = new KafkaReader(body);
    const errorCode = r.i16('error_code');
    const apis = r.array('api_versions', (x) => ({ apiKey: x.i16('api_key'), minVersion: x.i16('min_version'), maxVersion: x.i16('max_version') }), 6);
    // An UNSUPPORTED_VERSION answer comes in the v0 layout, without throttle_time_ms.
    const throttleTimeMs = r.remaining >= 4 ? r.i32('throttle_time_ms') : 0;
    return done(r, { errorCode, apis, throttleTimeMs }, 'ApiVersions');
  },
  metadata(body: Uint8Array): MetadataResponse {
    const r = new KafkaReader(body);
    const throttleTimeMs = r.i32('throttle_time_ms');
    const brokers = r.array('brokers', (x) => ({ nodeId: x.i32('node_id'), host: x.str('host'), port: x.i32('port'), rack: x.nullableStr('rack') }), 12);
    const clusterId = r.nullableStr('cluster_id');
    const controllerId = r.i32('controller_id');
    const topics = r.array(
      'topics',
      (x) => ({
        errorCode: x.i16('error_code'),
        name: x.str('topic'),
        internal: x.bool('is_internal'),
        partitions: x.array('partitions', (p) => ({ errorCode: p.i16('error_code'), partition: p.i32('partition'), leader: p.i32('leader'), replicas: p.array('replicas', (q) => q.i32('replica'), 4), isr: p.array('isr', (q) => q.i32('isr'), 4) }), 18),
      }),
      9,
    );
    return done(r, { throttleTimeMs, brokers, clusterId, controllerId, topics }, 'Metadata');
  },
  produce(body: Uint8Array): ProduceResponse {
    const r = new KafkaReader(body);
    const topics = r.array('responses', (x) => ({ name: x.str('topic'), partitions: x.array('partitions', (p) => ({ partition: p.i32('partition'), errorCode: p.i16('error_code'), baseOffset: p.i64('base_offset'), logAppendTime: p.i64('log_append_time') }), 22) }), 6);
    const throttleTimeMs = r.i32('throttle_time_ms');
    return done(r, { topics, throttleTimeMs }, 'Produce');
  },
  fetch(body: Uint8Array): FetchResponse {
    const r = new KafkaReader(body);
    const throttleTimeMs = r.i32('throttle_time_ms');
    const topics = r.array(
      'responses',
      (x) => ({
        name: x.str('topic'),
        partitions: x.array(
          'partitions',
          (p) => ({
            partition: p.i32('partition'),
            errorCode: p.i16('error_code'),
            highWatermark: p.i64('high_watermark'),
            lastStableOffset: p.i64('last_stable_offset'),
            abortedTransactions: p.array('aborted_transactions', (a) => ({ producerId: a.i64('producer_id'), firstOffset: a.i64('first_offset') }), 16),
            records: p.bytesField('records')?.slice() ?? null,
          }),
          30,
        ),
      }),
      6,
    );
    return done(r, { throttleTimeMs, topics }, 'Fetch');
  },
  listOffsets(body: Uint8Array): ListOffsetsResponse {
    const r = new KafkaReader(body);
    const topics = r.array('responses', (x) => ({ name: x.str('topic'), partitions: x.array('partitions', (p) => ({ partition: p.i32('partition'), errorCode: p.i16('error_code'), timestamp: p.i64('timestamp'), offset: p.i64('offset') }), 22) }), 6);
    return done(r, { topics }, 'ListOffsets');
  },
  saslHandshake(body: Uint8Array): { errorCode: number; mechanisms: string[] } {
    const r = new KafkaReader(body);
    const errorCode = r.i16('error_code');
    const mechanisms = r.array('mechanisms', (x) => x.str('mechanism'), 2);
    return done(r, { errorCode, mechanisms }, 'SaslHandshake');
  },
  saslAuthenticate(body: Uint8Array): { errorCode: number; errorMessage: string | null; authBytes: Uint8Array } {
    const r = new KafkaReader(body);
    const errorCode = r.i16('error_code');
    const errorMessage = r.nullableStr('error_message');
    const authBytes = r.bytesField('auth_bytes')?.slice() ?? new Uint8Array(0);
    return done(r, { errorCode, errorMessage, authBytes }, 'SaslAuthenticate');
  },
};

/** Topic names (Kafka's Topic.validate): 1–249 of [a-zA-Z0-9._-], not "." or "..". */
export function topicProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 249) return 'is longer than 249 characters';
  if (name === '.' || name === '..') return 'cannot be "." or ".."';
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return 'may hold only ASCII letters, digits, ".", "_" and "-"';
  return undefined;
}
