// JetStream wire API (docs.nats.io "JetStream wire API Reference"; ADR-9 pull status codes; ADR-15 ack subjects): requests to $JS.API subjects over a NatsClient.
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import { PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { ServerMsg } from './codec.ts';
import type { NatsClient } from './client.ts';

type Json = Record<string, unknown>;

const NS_PER_MS = 1_000_000;

/** A JetStream reply as JSON; its `error` member is thrown with the server's description and codes. */
export function jsReply<T = Json>(reply: ServerMsg, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(fromUtf8(reply.payload, true, `${what} response`));
  } catch (e) {
    throw e instanceof ProtocolError ? e : new ProtocolError(`${what} response is not JSON`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ProtocolError(`${what} response is not a JSON object`);
  const err = (json as { error?: { code?: number; err_code?: number; description?: string } }).error;
  if (err) throw new ServerError(err.description ?? `JetStream error ${err.code}`, { code: err.code, errCode: err.err_code });
  return json as T;
}

/** One $JS.API call; no responders means JetStream is not enabled for the account. */
export async function jsApi<T = Json>(c: NatsClient, subject: string, body?: unknown): Promise<T> {
  let reply: ServerMsg;
  try {
    reply = await c.request(subject, body === undefined ? new Uint8Array(0) : utf8(JSON.stringify(body)));
  } catch (e) {
    if (e instanceof ServerError && e.detail?.status === 503) throw new ServerError('JetStream is not enabled for this account (nothing answers on $JS.API)', { status: 503 });
    throw e;
  }
  return jsReply<T>(reply, subject);
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

interface StreamInfo {
  config?: { name?: string; subjects?: string[]; storage?: string; retention?: string };
  state?: { messages?: number; bytes?: number; first_seq?: number; last_seq?: number; consumer_count?: number };
  created?: string;
}

function streamRow(s: StreamInfo) {
  return {
    name: s.config?.name ?? '',
    subjects: s.config?.subjects ?? [],
    storage: s.config?.storage ?? '',
    retention: s.config?.retention ?? '',
    messages: num(s.state?.messages),
    bytes: num(s.state?.bytes),
    firstSeq: num(s.state?.first_seq),
    lastSeq: num(s.state?.last_seq),
    consumers: num(s.state?.consumer_count),
    created: s.created ?? null,
  };
}

const MAX_STREAMS = 10_000;

/** $JS.API.INFO and every page of $JS.API.STREAM.LIST. */
export async function streamList(c: NatsClient) {
  const account = await jsApi(c, '$JS.API.INFO');
  const streams: StreamInfo[] = [];
  let total = 0;
  for (let page = 0; page < 1000; page++) {
    const r = await jsApi<{ total?: number; streams?: StreamInfo[] | null }>(c, '$JS.API.STREAM.LIST', { offset: streams.length });
    total = num(r.total);
    const batch = r.streams ?? [];
    streams.push(...batch);
    if (batch.length === 0 || streams.length >= total || streams.length >= MAX_STREAMS) break;
  }
  delete account.type;
  return { account, streams: streams.map(streamRow), total };
}

/** STREAM.INFO of one stream and its consumers (CONSUMER.LIST). */
export async function streamDetails(c: NatsClient, name: string) {
  const stream = await jsApi<StreamInfo & Json>(c, `$JS.API.STREAM.INFO.${name}`);
  const consumers = await jsApi<{ consumers?: Json[] | null; total?: number }>(c, `$JS.API.CONSUMER.LIST.${name}`, { offset: 0 });
  delete stream.type;
  return { account: null, streams: [streamRow(stream)], total: 1, stream, consumers: consumers.consumers ?? [] };
}

export async function createStream(
  c: NatsClient,
  o: { name: string; subjects: string[]; storage: string; retention: string; maxMsgs: number; maxBytes: number; maxAgeMs: number; duplicateWindowMs: number },
): Promise<Json> {
  const config = {
    name: o.name,
    subjects: o.subjects,
    storage: o.storage,
    retention: o.retention,
    max_msgs: o.maxMsgs,
    max_bytes: o.maxBytes,
    max_age: o.maxAgeMs * NS_PER_MS,
    duplicate_window: o.duplicateWindowMs * NS_PER_MS,
    num_replicas: 1,
    discard: 'old',
  };
  const r = await jsApi(c, `$JS.API.STREAM.CREATE.${o.name}`, config);
  delete r.type;
  return r;
}

export async function deleteStream(c: NatsClient, name: string): Promise<boolean> {
  const r = await jsApi<{ success?: boolean }>(c, `$JS.API.STREAM.DELETE.${name}`);
  return r.success === true;
}

/** Publishes with a reply inbox and reads the stream's ack: {stream, seq, duplicate}. */
export async function jsPublish(c: NatsClient, subject: string, payload: Uint8Array, headers: [string, string][]) {
  let reply: ServerMsg;
  try {
    reply = await c.request(subject, payload, headers);
  } catch (e) {
    if (e instanceof ServerError && e.detail?.status === 503) throw new ServerError(`no stream captures ${subject} (no responders)`, { status: 503 });
    throw e;
  }
  const ack = jsReply<{ stream?: string; seq?: number; duplicate?: boolean; domain?: string }>(reply, 'publish ack');
  if (typeof ack.stream !== 'string' || typeof ack.seq !== 'number') throw new ProtocolError('publish ack has no stream and seq');
  return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate === true, domain: ack.domain ?? null };
}

/** What a $JS.ACK reply subject says about a delivered message (ADR-15, v1 and v2 token layouts). */
export interface AckMeta {
  stream: string;
  consumer: string;
  delivered: number;
  streamSeq: number;
  consumerSeq: number;
  published: string;
  pending: number;
}

export function parseAckSubject(reply: string): AckMeta {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') throw new ProtocolError(`reply subject ${JSON.stringify(reply.slice(0, 80))} is not a $JS.ACK subject`);
  // v1: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>; v2 adds domain and account hash after ACK and a token at the end.
  const rest = t.length === 9 ? t.slice(2) : t.length >= 11 ? t.slice(4, 11) : undefined;
  if (!rest) throw new ProtocolError(`$JS.ACK subject has ${t.length} tokens`);
  const n = (s: string, field: string) => {
    if (!/^\d{1,20}$/.test(s)) throw new ProtocolError(`$JS.ACK ${field} is not a number`);
    return s;
  };
  const ts = BigInt(n(rest[5], 'timestamp'));
  return {
    stream: rest[0],
    consumer: rest[1],
    delivered: Number(n(rest[2], 'delivered')),
    streamSeq: Number(n(rest[3], 'stream sequence')),
    consumerSeq: Number(n(rest[4], 'consumer sequence')),
    published: new Date(Number(ts / BigInt(NS_PER_MS))).toISOString(),
    pending: Number(n(rest[6], 'pending')),
  };
}

export interface FetchedMessage {
  msg: ServerMsg;
  meta: AckMeta;
}

export interface FetchInput {
  stream: string;
  consumer?: string;
  createDurable: boolean;
  filterSubject?: string;
  deliver: 'all' | 'last' | 'new' | 'startSequence';
  startSequence?: number;
  batch: number;
  expiresMs: number;
  noWait: boolean;
  ack: 'ack' | 'nak' | 'none';
}

function consumerConfig(i: FetchInput, durable?: string): Json {
  const config: Json = {
    ack_policy: 'explicit',
    deliver_policy: i.deliver === 'startSequence' ? 'by_start_sequence' : i.deliver,
  };
  if (durable) config.durable_name = durable;
  else config.inactive_threshold = 30_000 * NS_PER_MS;
  if (i.startSequence !== undefined) config.opt_start_seq = i.startSequence;
  if (i.filterSubject) config.filter_subject = i.filterSubject;
  return config;
}

/** JetStream error code for "consumer not found" (nats-server errors.json JSConsumerNotFoundErr). */
const CONSUMER_NOT_FOUND = 10014;

async function ensureConsumer(c: NatsClient, i: FetchInput): Promise<{ name: string; ephemeral: boolean }> {
  if (i.consumer) {
    try {
      await jsApi(c, `$JS.API.CONSUMER.INFO.${i.stream}.${i.consumer}`);
      return { name: i.consumer, ephemeral: false };
    } catch (e) {
      if (!(e instanceof ServerError && e.detail?.errCode === CONSUMER_NOT_FOUND && i.createDurable)) throw e;
    }
    await jsApi(c, `$JS.API.CONSUMER.DURABLE.CREATE.${i.stream}.${i.consumer}`, { stream_name: i.stream, config: consumerConfig(i, i.consumer) });
    return { name: i.consumer, ephemeral: false };
  }
  const r = await jsApi<{ name?: string }>(c, `$JS.API.CONSUMER.CREATE.${i.stream}`, { stream_name: i.stream, config: consumerConfig(i) });
  if (typeof r.name !== 'string') throw new ProtocolError('CONSUMER.CREATE answer has no name');
  return { name: r.name, ephemeral: true };
}

/**
 * Pull request ($JS.API.CONSUMER.MSG.NEXT) for `batch` messages expiring after `expiresMs`; reads
 * messages until the batch is full or a status (404 no messages, 408 expired, 409 ...) ends it.
 */
export async function fetchMessages(c: NatsClient, i: FetchInput): Promise<{ consumer: string; ephemeral: boolean; messages: FetchedMessage[]; ended: string }> {
  const consumer = await ensureConsumer(c, i);
  const inbox = c.newInbox();
  const sid = await c.subscribe(inbox);
  await c.publish(`$JS.API.CONSUMER.MSG.NEXT.${i.stream}.${consumer.name}`, utf8(JSON.stringify(i.noWait ? { batch: i.batch, no_wait: true } : { batch: i.batch, expires: i.expiresMs * NS_PER_MS })), { reply: inbox });
  const messages: FetchedMessage[] = [];
  let ended = 'batch complete';
  while (messages.length < i.batch) {
    const m = await c.nextMessage();
    if (m.sid !== sid) continue;
    const status = m.headers?.status;
    if (status === 100) continue; // idle heartbeat
    if (status !== undefined) {
      ended = `${status}${m.headers?.description ? ` ${m.headers.description}` : ''}`;
      if (status === 404 || status === 408) break;
      throw new ServerError(`pull request ended by the server: ${ended}`, { status });
    }
    if (!m.reply) throw new ProtocolError('a fetched message has no $JS.ACK reply subject');
    messages.push({ msg: m, meta: parseAckSubject(m.reply) });
    if (i.ack !== 'none') await c.publish(m.reply, utf8(i.ack === 'ack' ? '+ACK' : '-NAK'));
  }
  await c.unsubscribe(sid);
  await c.flush();
  if (consumer.ephemeral) {
    try {
      await jsApi(c, `$JS.API.CONSUMER.DELETE.${i.stream}.${consumer.name}`);
    } catch (e) {
      if (!(e instanceof PortolanError && e.code === 'server_error')) throw e;
    }
  }
  return { consumer: consumer.name, ephemeral: consumer.ephemeral, messages, ended };
}
