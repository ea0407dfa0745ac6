// Kafka codec, cross-checked against kafkajs 2.2.4's own codec in both directions: requests byte for byte,
// record batches written here read by kafkajs and written by kafkajs read here, responses written with
// kafkajs's encoder read here. Plus CRC-32C, split feed, caps and fuzz.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { concat, utf8 } from '../../core/bytes.ts';
import { webCrypto } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { FrameDecoder } from '../../core/framing.ts';
import { assertFuzzSafe, assertSplitFeed } from '../../../test/codec.ts';
import { ScramClient } from '../postgres/scram.ts';
import { API, VERSION, crc32c, decode, decodeRecordBatches, encode, encodeRecordBatch, encodeRequest, responseFrame, topicProblem } from './codec.ts';

const require = createRequire(import.meta.url);
const kjs = (path: string) => require(`kafkajs/src/protocol/${path}`);
const Encoder = kjs('encoder');
const Decoder = kjs('decoder');
const kRequest = kjs('request');
const kCrc32C = kjs('recordBatch/crc32C');
const kRecordBatchDecoder = kjs('recordBatch/v0/decoder');
const Long = require('kafkajs/src/utils/long');

const b = (s: string) => utf8(s);
const buf = (u: Uint8Array) => Buffer.from(u);

/** kafkajs's bytes for a request: size, header v1, body. */
async function theirs(request: { apiKey: number; apiVersion: number; encode: () => Promise<{ buffer: Buffer }> }, correlationId: number, clientId: string): Promise<Uint8Array> {
  return new Uint8Array((await kRequest({ correlationId, clientId, request })).buffer);
}

describe('Kafka requests, byte for byte against kafkajs', () => {
  it('ApiVersions v2, Metadata v4 (all topics and some), SaslHandshake v1', async () => {
    assert.deepEqual(encodeRequest(API.ApiVersions, VERSION.ApiVersions, 1, 'portolan', encode.apiVersions()), await theirs(kjs('requests/apiVersions/v2/request')(), 1, 'portolan'));
    assert.deepEqual(encodeRequest(API.Metadata, VERSION.Metadata, 2, 'portolan', encode.metadata(['orders', 'payments'], true)), await theirs(kjs('requests/metadata/v4/request')({ topics: ['orders', 'payments'], allowAutoTopicCreation: true }), 2, 'portolan'));
    // kafkajs writes an empty topic list as null (-1): every topic.
    assert.deepEqual(encodeRequest(API.Metadata, VERSION.Metadata, 3, 'c', encode.metadata(null, false)), await theirs(kjs('requests/metadata/v4/request')({ topics: [], allowAutoTopicCreation: false }), 3, 'c'));
    assert.deepEqual(encodeRequest(API.SaslHandshake, VERSION.SaslHandshake, 4, 'c', encode.saslHandshake('SCRAM-SHA-512')), await theirs(kjs('requests/saslHandshake/v1/request')({ mechanism: 'SCRAM-SHA-512' }), 4, 'c'));
  });

  it('SaslAuthenticate v0 with PLAIN\'s message', async () => {
    const plain = await kjs('sasl/plain/request')({ username: 'alice', password: 'pässword' }).encode();
    const ours = encodeRequest(API.SaslAuthenticate, VERSION.SaslAuthenticate, 5, 'c', encode.saslAuthenticate(b('\0alice\0pässword')));
    assert.deepEqual(ours, await theirs(kjs('requests/saslAuthenticate/v0/request')({ authBytes: plain }), 5, 'c'));
  });

  it('Fetch v4 and ListOffsets v1', async () => {
    const ours = encodeRequest(API.Fetch, VERSION.Fetch, 6, 'portolan', encode.fetch({ maxWaitMs: 500, minBytes: 1, maxBytes: 1048576, isolationLevel: 0, topic: 'orders', partition: 2, offset: 1234567890123n, partitionMaxBytes: 1048576 }));
    const k = kjs('requests/fetch/v4/request')({ replicaId: -1, maxWaitTime: 500, minBytes: 1, maxBytes: 1048576, isolationLevel: 0, topics: [{ topic: 'orders', partitions: [{ partition: 2, fetchOffset: '1234567890123', maxBytes: 1048576 }] }] });
    assert.deepEqual(ours, await theirs(k, 6, 'portolan'));
    const lo = encodeRequest(API.ListOffsets, VERSION.ListOffsets, 7, 'portolan', encode.listOffsets('orders', [{ partition: 0, timestamp: -2n }, { partition: 1, timestamp: -1n }]));
    const kl = kjs('requests/listOffsets/v1/request')({ replicaId: -1, topics: [{ topic: 'orders', partitions: [{ partition: 0, timestamp: -2 }, { partition: 1, timestamp: -1 }] }] });
    assert.deepEqual(lo, await theirs(kl, 7, 'portolan'));
  });

  it('Produce v3 with a record batch: keys, null key, headers, timestamps, CRC-32C', async () => {
    const t0 = 1_700_000_000_000;
    const messages = [
      { key: Buffer.from('k1'), value: Buffer.from('héllo'), headers: { trace: Buffer.from('abc') }, timestamp: t0 },
      { key: null, value: Buffer.from([0, 255, 13, 10]), headers: {}, timestamp: t0 + 5 },
      { key: Buffer.from('k3'), value: Buffer.from('x'.repeat(300)), headers: { a: Buffer.from('1'), b: Buffer.from('') }, timestamp: t0 + 1000 },
    ];
    const batch = encodeRecordBatch(messages.map((m) => ({ key: m.key && new Uint8Array(m.key), value: new Uint8Array(m.value), headers: Object.entries(m.headers).map(([key, v]) => ({ key, value: new Uint8Array(v) })), timestamp: BigInt(m.timestamp) })));
    const ours = encodeRequest(API.Produce, VERSION.Produce, 8, 'portolan', encode.produce({ acks: -1, timeoutMs: 5000, topic: 'orders', partition: 1, batch }));
    const k = kjs('requests/produce/v3/request')({ acks: -1, timeout: 5000, topicData: [{ topic: 'orders', partitions: [{ partition: 1, messages }] }] });
    assert.deepEqual(ours, await theirs(k, 8, 'portolan'));
  });
});

describe('Kafka record batches, both ways with kafkajs', () => {
  it('a batch written here is read by kafkajs\'s decoder (which also reads our CRC field)', async () => {
    const batch = encodeRecordBatch([
      { key: b('a'), value: b('first'), headers: [{ key: 'h', value: b('v') }], timestamp: 1_700_000_000_000n },
      { key: null, value: null, timestamp: 1_700_000_000_123n },
    ], { baseOffset: 41n });
    const decoded = await kRecordBatchDecoder(new Decoder(buf(batch)));
    assert.equal(decoded.firstOffset, '41');
    assert.deepEqual(decoded.records.map((r: { offset: string; key: Buffer | null; value: Buffer | null; timestamp: string }) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null, r.timestamp]), [['41', 'a', 'first', '1700000000000'], ['42', null, null, '1700000000123']]);
    assert.deepEqual(decoded.records[0].headers, { h: Buffer.from('v') });
    // kafkajs does not check the CRC: check the stored value against kafkajs's CRC-32C of the same bytes.
    const crc = new DataView(batch.buffer).getUint32(17);
    assert.equal(crc, kCrc32C(buf(batch.subarray(21))) >>> 0);
  });

  it('a batch written by kafkajs is read here, its CRC-32C checked', async () => {
    const RecordBatch = kjs('recordBatch/v0').RecordBatch;
    const Record = kjs('recordBatch/record/v0');
    const records = [
      Record({ key: Buffer.from('k'), value: Buffer.from('v1'), headers: { x: 'y' }, offsetDelta: 0, timestampDelta: 0 }),
      Record({ key: null, value: Buffer.from('v2'), offsetDelta: 1, timestampDelta: 7 }),
    ];
    const enc = await RecordBatch({ firstOffset: Long.fromInt(100), firstTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_007, lastOffsetDelta: 1, records });
    const bytes = new Uint8Array(enc.buffer);
    const { batches, partialBytes } = decodeRecordBatches(bytes);
    assert.equal(partialBytes, 0);
    assert.deepEqual(
      batches[0].records.map((r) => [r.offset, r.key && Buffer.from(r.key).toString(), Buffer.from(r.value!).toString(), r.timestamp, r.headers.map((h) => [h.key, Buffer.from(h.value!).toString()])]),
      [[100n, 'k', 'v1', 1_700_000_000_000n, [['x', 'y']]], [101n, null, 'v2', 1_700_000_000_007n, []]],
    );
    const corrupt = bytes.slice();
    corrupt[corrupt.length - 1] ^= 0x01;
    assert.throws(() => decodeRecordBatches(corrupt), /fails its CRC-32C check/);
    // The broker cuts the last batch at max_bytes: the rest is reported, not an error.
    const cut = decodeRecordBatches(concat([bytes, bytes.subarray(0, 30)]));
    assert.deepEqual([cut.batches.length, cut.partialBytes], [1, 30]);
  });

  it('CRC-32C check value and kafkajs agree', () => {
    assert.equal(crc32c(b('123456789')), 0xe3069283);
    const sample = new Uint8Array(1000).map((_, i) => (i * 31) & 0xff);
    assert.equal(crc32c(sample), kCrc32C(Buffer.from(sample)) >>> 0);
  });
});

/** A response as the broker sends it: size, correlation id, body written with kafkajs's encoder. */
function response(correlationId: number, body: { buffer: Buffer }): Uint8Array {
  return new Uint8Array(new Encoder().writeInt32(body.buffer.length + 4).writeInt32(correlationId).writeBuffer(body.buffer).buffer);
}

function one(bytes: Uint8Array) {
  const got = assertSplitFeed(responseFrame(), bytes);
  assert.equal(got.length, 1);
  return got[0];
}

describe('Kafka responses written with kafkajs\'s encoder, read here and by kafkajs', () => {
  it('ApiVersions v2', async () => {
    const body = new Encoder().writeInt16(0).writeArray([new Encoder().writeInt16(0).writeInt16(3).writeInt16(9), new Encoder().writeInt16(18).writeInt16(0).writeInt16(3)]).writeInt32(25);
    const frame = one(response(1, body));
    assert.equal(frame.correlationId, 1);
    const ours = decode.apiVersions(frame.body);
    const k = await kjs('requests/apiVersions/v2/response').decode(Buffer.from(frame.body));
    assert.deepEqual(ours.apis, k.apiVersions);
    assert.equal(ours.throttleTimeMs, k.clientSideThrottleTime);
  });

  it('Metadata v4', async () => {
    const body = new Encoder()
      .writeInt32(0)
      .writeArray([new Encoder().writeInt32(1).writeString('broker-1').writeInt32(9092).writeString('rack-a'), new Encoder().writeInt32(2).writeString('broker-2').writeInt32(9092).writeString(null)])
      .writeString('cluster-xyz')
      .writeInt32(1)
      .writeArray([
        new Encoder().writeInt16(0).writeString('orders').writeBoolean(false).writeArray([new Encoder().writeInt16(0).writeInt32(0).writeInt32(1).writeArray([1, 2]).writeArray([1])]),
      ]);
    const ours = decode.metadata(one(response(2, body)).body);
    const k = await kjs('requests/metadata/v4/response').decode(body.buffer);
    assert.deepEqual(ours.brokers, k.brokers);
    assert.equal(ours.clusterId, k.clusterId);
    assert.equal(ours.controllerId, k.controllerId);
    assert.deepEqual(ours.topics.map((t) => [t.name, t.internal, t.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr])]), k.topicMetadata.map((t: { topic: string; isInternal: boolean; partitionMetadata: { partitionId: number; leader: number; replicas: number[]; isr: number[] }[] }) => [t.topic, t.isInternal, t.partitionMetadata.map((p) => [p.partitionId, p.leader, p.replicas, p.isr])]));
  });

  it('Produce v3 and ListOffsets v1', async () => {
    const body = new Encoder().writeArray([new Encoder().writeString('orders').writeArray([new Encoder().writeInt32(1).writeInt16(0).writeInt64('12345678901').writeInt64(-1)])]).writeInt32(0);
    const ours = decode.produce(one(response(3, body)).body);
    const k = await kjs('requests/produce/v3/response').decode(body.buffer);
    assert.equal(String(ours.topics[0].partitions[0].baseOffset), k.topics[0].partitions[0].baseOffset);
    assert.equal(ours.topics[0].partitions[0].logAppendTime, -1n);
    const lo = new Encoder().writeArray([new Encoder().writeString('orders').writeArray([new Encoder().writeInt32(0).writeInt16(0).writeInt64(-1).writeInt64('42')])]);
    const l = decode.listOffsets(one(response(4, lo)).body);
    const kl = await kjs('requests/listOffsets/v1/response').decode(lo.buffer);
    assert.equal(String(l.topics[0].partitions[0].offset), kl.responses[0].partitions[0].offset);
  });

  it('Fetch v4 with a record batch, read by both', async () => {
    const batch = encodeRecordBatch([{ key: b('k'), value: b('fetched'), timestamp: 1_700_000_000_000n }], { baseOffset: 7n });
    const body = new Encoder()
      .writeInt32(0)
      .writeArray([new Encoder().writeString('orders').writeArray([new Encoder().writeInt32(0).writeInt16(0).writeInt64(8).writeInt64(8).writeArray([]).writeBytes(Buffer.from(batch))])]);
    const ours = decode.fetch(one(response(5, body)).body);
    const p = ours.topics[0].partitions[0];
    assert.equal(p.highWatermark, 8n);
    const recs = decodeRecordBatches(p.records!).batches[0].records;
    assert.deepEqual(recs.map((r) => [r.offset, Buffer.from(r.value!).toString()]), [[7n, 'fetched']]);
    const k = await kjs('requests/fetch/v4/response').decode(body.buffer);
    assert.equal(k.responses[0].partitions[0].messages[0].value.toString(), 'fetched');
    assert.equal(k.responses[0].partitions[0].messages[0].offset, '7');
  });

  it('SaslHandshake v1 refusal and SaslAuthenticate v0 error', async () => {
    const hs = new Encoder().writeInt16(33).writeArray(['SCRAM-SHA-256', 'PLAIN']);
    assert.deepEqual(decode.saslHandshake(one(response(6, hs)).body), { errorCode: 33, mechanisms: ['SCRAM-SHA-256', 'PLAIN'] });
    const au = new Encoder().writeInt16(58).writeString('Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256').writeBytes(Buffer.alloc(0));
    const r = decode.saslAuthenticate(one(response(7, au)).body);
    assert.equal(r.errorCode, 58);
    assert.match(r.errorMessage!, /invalid credentials/);
  });
});

describe('Kafka framing and caps', () => {
  it('sizes below 4 or over the cap are refused before the body; counts must fit the bytes left', () => {
    assert.throws(() => new FrameDecoder(responseFrame()).feed(new Uint8Array([0, 0, 0, 2])), /too small/);
    assert.throws(() => new FrameDecoder(responseFrame(1024)).feed(new Uint8Array([0x7f, 0xff, 0xff, 0xff])), (e: unknown) => e instanceof ProtocolError && /2147483647 exceeds the 1024-byte limit/.test(e.message));
    // Metadata claiming 2^31-1 brokers in a 12-byte body
    assert.throws(() => decode.metadata(new Uint8Array([0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0])), /brokers: 2147483647 elements do not fit/);
    assert.throws(() => decodeRecordBatches(concat([new Uint8Array(8), new Uint8Array([0, 0, 0, 9]), new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 0])])), /magic 1/);
  });
  it('fuzz: responses and record batches', () => {
    assertFuzzSafe(responseFrame(4096));
    const seed = encodeRecordBatch([{ key: b('k'), value: b('v'), timestamp: 1n }]);
    assertFuzzSafe(
      (x) => {
        decodeRecordBatches(x);
        decode.fetch(x);
        return { value: 0, size: x.length };
      },
      { seeds: [seed] },
    );
  });
  it('topic names', () => {
    assert.equal(topicProblem('orders.v1_x-y'), undefined);
    assert.match(topicProblem('a b')!, /only ASCII letters/);
    assert.match(topicProblem('..')!, /cannot be/);
  });
});

describe('SCRAM for Kafka', () => {
  it('SCRAM-SHA-256 with a user name: RFC 7677 section 3 example', async () => {
    const c = new ScramClient(webCrypto(), 'pencil', 'rOprNGfwEbeRWgbNEkqO', undefined, { username: 'user' });
    assert.equal(new TextDecoder().decode(c.start()), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const final = await c.respond(b('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'));
    assert.equal(new TextDecoder().decode(final), 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    c.verify(b('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='));
  });
  it('SCRAM-SHA-512 escapes "," and "=" in the user name and derives a 64-byte proof', async () => {
    const c = new ScramClient(webCrypto(), 'secret', 'abc', undefined, { hash: 'SHA-512', username: 'a,b=c' });
    assert.equal(new TextDecoder().decode(c.start()), 'n,,n=a=2Cb=3Dc,r=abc');
    const final = new TextDecoder().decode(await c.respond(b('r=abcdef,s=c2FsdA==,i=4096')));
    const proof = Buffer.from(final.split(',p=')[1], 'base64');
    assert.equal(proof.length, 64);
  });
});
