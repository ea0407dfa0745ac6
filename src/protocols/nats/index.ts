// NATS (docs.nats.io "Client Protocol"; ADR-4 headers; JetStream wire API): INFO, publish, request–reply, subscriptions and JetStream streams, publish with ack and pull fetch.
import * as z from 'zod';
import { bytesJson, utf8, type ByteEncoding } from '../../core/bytes.ts';
import { bytesField, bytesOut, bytesPreview, encodingField, inputBytes, type BytesInput } from '../../core/bytes-input.ts';
import { pumpFeed } from '../../core/feed.ts';
import { InvalidInput, PortolanError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext, type SessionMessage } from '../../core/protocol.ts';
import { filterSubjectProblem, headerProblem, publishSubjectProblem, queueProblem, type NatsHeaders, type ServerInfo, type ServerMsg } from './codec.ts';
import { connectNats, openNats, type NatsClient } from './client.ts';
import { createStream, deleteStream, fetchMessages, jsPublish, streamDetails, streamList, type FetchedMessage } from './jetstream.ts';
import { identification } from './identify.ts';

// Inputs.

const auth = {
  user: z.string().min(1).max(1024).optional().describe('User name (with password)'),
  password: z.string().max(4096).optional().describe('Password of the user'),
  token: z.string().min(1).max(4096).optional().describe('Authentication token (authorization { token } on the server)'),
  nkeySeed: z.string().min(1).max(128).optional().describe('User NKey seed ("SU..."): signs the server\'s nonce; the seed never leaves Portolan'),
  clientName: z.string().min(1).max(256).default('portolan').describe('Connection name the server shows (CONNECT name)'),
};

type AuthInput = { user?: string; password?: string; token?: string; nkeySeed?: string; clientName: string };

const encoding = encodingField;

const payloadField = bytesField(8 * 1024 * 1024).default('').describe('Payload: text (sent as UTF-8), or {"base64": ...} / {"hex": ...} for any bytes');

const headersField = z
  .record(z.string().max(256), z.union([z.string().max(8192), z.array(z.string().max(8192)).max(64)]))
  .optional()
  .superRefine((h, ctx) => {
    if (!h) return;
    if (Object.keys(h).length > 256) ctx.addIssue({ code: 'custom', message: 'at most 256 headers' });
    for (const [k, v] of Object.entries(h)) {
      for (const value of Array.isArray(v) ? v : [v]) {
        const problem = headerProblem(k, value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [k] });
      }
    }
  })
  .describe('Message headers (HPUB, ADR-4): {"name": "value"} or {"name": ["v1", "v2"]}');

function subjectField(kind: 'publish' | 'filter', example: string) {
  const check = kind === 'publish' ? publishSubjectProblem : filterSubjectProblem;
  return z
    .string()
    .max(4096)
    .superRefine((s, ctx) => {
      const problem = check(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .meta({ examples: [example] });
}

const queueField = z
  .string()
  .max(256)
  .superRefine((q, ctx) => {
    const problem = queueProblem(q);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .optional()
  .describe('Queue group: each message goes to one member of the group');

const streamName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\s.*>\\/]+$/, 'stream names have no whitespace, ".", "*", ">", "/" or "\\"')
  .meta({ examples: ['ORDERS'] });

function payloadBytes(p: BytesInput): Uint8Array {
  return inputBytes(p, 'payload');
}

function headerList(h: Record<string, string | string[]> | undefined): [string, string][] {
  if (!h) return [];
  return Object.entries(h).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x]));
}

function credentials(input: AuthInput) {
  if (input.password !== undefined && input.user === undefined) throw InvalidInput.field('user', 'is required with a password');
  const given = [input.user !== undefined, input.token !== undefined, input.nkeySeed !== undefined].filter(Boolean).length;
  if (given > 1) throw InvalidInput.field('user', 'give one of user/password, token or nkeySeed');
  return { user: input.user, password: input.password, token: input.token, nkeySeed: input.nkeySeed, name: input.clientName };
}

// Outputs.

const headersOut = z.record(z.string(), z.array(z.string()));

function headersJson(h: NatsHeaders | undefined): Record<string, string[]> | undefined {
  if (!h || h.fields.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const [k, v] of h.fields) (out[k] ??= []).push(v);
  return out;
}

const preview = bytesPreview;

const messageOut = z.object({
  subject: z.string(),
  reply: z.string().optional(),
  sid: z.number().optional(),
  time: z.string().describe('When Portolan read it (ISO 8601)'),
  size: z.number().describe('Payload bytes'),
  payload: bytesOut,
  headers: headersOut.optional(),
  status: z.number().optional().describe('Status of a status message (NATS/1.0 503 ...)'),
});

function messageJson(m: ServerMsg, enc: ByteEncoding, at = new Date()) {
  const out: z.infer<typeof messageOut> = { subject: m.subject, time: at.toISOString(), size: m.payload.length, payload: bytesJson(m.payload, enc) };
  if (m.reply) out.reply = m.reply;
  out.sid = m.sid;
  const h = headersJson(m.headers);
  if (h) out.headers = h;
  if (m.headers?.status) out.status = m.headers.status;
  return out;
}

const infoOut = z.object({
  serverId: z.string().nullable(),
  serverName: z.string().nullable(),
  version: z.string().nullable(),
  go: z.string().nullable(),
  proto: z.number().nullable(),
  headers: z.boolean(),
  maxPayload: z.number().nullable(),
  authRequired: z.boolean(),
  tlsRequired: z.boolean(),
  tlsAvailable: z.boolean(),
  jetstream: z.boolean(),
  nonce: z.boolean().describe('The server sent a nonce (it accepts NKey or JWT sign-in)'),
  cluster: z.string().nullable(),
  domain: z.string().nullable(),
  clientId: z.number().nullable(),
  clientIp: z.string().nullable(),
  connectUrls: z.array(z.string()),
  lameDuck: z.boolean(),
});

function infoJson(i: ServerInfo): z.infer<typeof infoOut> {
  const s = (v: unknown) => (typeof v === 'string' ? v : null);
  const n = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    serverId: s(i.server_id),
    serverName: s(i.server_name),
    version: s(i.version),
    go: s(i.go),
    proto: n(i.proto),
    headers: i.headers === true,
    maxPayload: n(i.max_payload),
    authRequired: i.auth_required === true,
    tlsRequired: i.tls_required === true,
    tlsAvailable: i.tls_available === true,
    jetstream: i.jetstream === true,
    nonce: typeof i.nonce === 'string',
    cluster: s(i.cluster),
    domain: s(i.domain),
    clientId: n(i.client_id),
    clientIp: s(i.client_ip),
    connectUrls: Array.isArray(i.connect_urls) ? i.connect_urls.filter((x): x is string => typeof x === 'string') : [],
    lameDuck: i.ldm === true,
  };
}

/** Runs `fn` for `ms`; its window ending is the normal end, the operation's own deadline is not. */
async function forDuration(ctx: OperationContext, ms: number, fn: () => Promise<void>): Promise<void> {
  try {
    await ctx.within(ms, fn);
  } catch (e) {
    if (!(e instanceof PortolanError) || e.code !== 'io_timeout' || ctx.signal.aborted) throw e;
  }
}

const subscriptionIn = z.object({ subject: subjectField('filter', 'orders.>'), queue: queueField }).strict();

const limitsIn = {
  maxPayload: z.number().int().min(1024).max(64 * 1024 * 1024).default(8 * 1024 * 1024).describe('A message larger than this from the server is a protocol error (nothing that size is allocated)'),
};

export default defineProtocol({
  id: 'nats',
  title: 'NATS',
  category: 'messaging',
  summary: 'Reads a NATS server\'s INFO, publishes (with headers), makes requests, streams subscriptions with queue groups, and works with JetStream: streams, publish with ack and pull-consumer fetch. User/password, token and NKey sign-in; TLS when the server requires it.',
  ports: [{ port: 4222, transport: 'tcp' }],
  specs: ['NATS Client Protocol (docs.nats.io)', 'ADR-4 NATS Message Headers', 'JetStream wire API (docs.nats.io, ADR-9 pull status codes)', 'NKeys (nats-io/nkeys)'],
  rating: {
    stars: 5,
    reason:
      'Lab-tested through workerd against Debian\'s nats-server 2.9.10 with JetStream and an accounts config: INFO, user/password, token and NKey (Ed25519 nonce signature) sign-in with the server\'s -ERR words on refusal (auth_failed), the TLS upgrade a tls_required server asks for, HPUB/HMSG headers, publish with permission violations reported, request–reply with no-responders detection, subscribe sessions with wildcards and queue groups ending with UNSUB, JetStream account info, stream list/info/create/delete, publish with the ack (de-duplication by Nats-Msg-Id) and pull fetch with ack. Not covered: decentralized JWT (.creds) sign-in, TLS handshake-first (nats-server 2.10+, not in Debian 12; offered as tls implicit but untested), client certificates (Workers cannot present them), key-value and object stores, push consumers.',
  },
  verifiedAgainst: 'nats-server 2.9.10 (Debian 12 nats-server 2.9.10-1+b3)',
  tls: { starttls: true, implicit: { port: 4222 } },
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: operation({
      summary: 'Read the server\'s INFO (version, limits, auth, TLS, JetStream); with credentials, also sign in and time a PING',
      input: z.object({ ...auth }),
      output: z.object({ info: infoOut, tls: z.boolean(), authenticated: z.boolean(), rttMs: z.number().nullable(), raw: z.record(z.string(), z.unknown()) }),
      text: (r) =>
        [
          `${r.info.serverName ?? r.info.serverId} nats-server ${r.info.version} (go ${r.info.go}, proto ${r.info.proto})`,
          `max payload ${r.info.maxPayload} · headers ${r.info.headers} · jetstream ${r.info.jetstream}`,
          `auth required ${r.info.authRequired}${r.info.nonce ? ' (nonce: NKey/JWT)' : ''} · TLS ${r.info.tlsRequired ? 'required' : r.info.tlsAvailable ? 'available' : 'no'}${r.tls ? ' (in use)' : ''}`,
          r.authenticated ? `signed in · PING ${r.rttMs} ms` : 'not signed in (INFO only)',
        ].join('\n'),
      async run(ctx, input) {
        const creds = credentials(input);
        const anyCreds = creds.user !== undefined || creds.token !== undefined || creds.nkeySeed !== undefined;
        if (!anyCreds) {
          // INFO only: the server speaks first; no CONNECT is sent, so no credentials are needed.
          const { conn, info } = await openNats(ctx);
          await conn.close();
          return { info: infoJson(info), tls: conn.tlsActive, authenticated: false, rttMs: null, raw: info };
        }
        const c = await connectNats(ctx, creds);
        const t0 = performance.now();
        await c.flush();
        const rttMs = Math.round((performance.now() - t0) * 10) / 10;
        await c.close();
        return { info: infoJson(c.info), tls: c.conn.tlsActive, authenticated: true, rttMs, raw: c.info };
      },
    }),
    publish: operation({
      summary: 'Publish a message (PUB, or HPUB with headers), optionally many times, and confirm the server took it (PING/PONG after)',
      input: z.object({
        subject: subjectField('publish', 'orders.new').describe('Subject to publish to (no wildcards)'),
        payload: payloadField,
        headers: headersField,
        reply: subjectField('publish', 'orders.replies').optional().describe('Reply subject sent with the message'),
        count: z.number().int().min(1).max(100_000).default(1).describe('Publish the message this many times'),
        ...auth,
      }),
      output: z.object({ subject: z.string(), count: z.number(), bytes: z.number(), confirmed: z.boolean(), elapsedMs: z.number(), messagesPerSecond: z.number().nullable() }),
      text: (r) => `published ${r.count} message(s) to ${r.subject} (${r.bytes} bytes each), confirmed by PONG in ${r.elapsedMs} ms`,
      async run(ctx, input) {
        const payload = payloadBytes(input.payload);
        const c = await connectNats(ctx, credentials(input));
        const headers = headerList(input.headers);
        const t0 = performance.now();
        for (let i = 0; i < input.count; i++) await c.publish(input.subject, payload, { reply: input.reply, headers });
        // A permissions violation comes back as -ERR before the PONG.
        await c.flush();
        const elapsedMs = Math.round((performance.now() - t0) * 10) / 10;
        await c.close();
        return { subject: input.subject, count: input.count, bytes: payload.length, confirmed: true, elapsedMs, messagesPerSecond: elapsedMs > 0 ? Math.round((input.count * 1000) / elapsedMs) : null };
      },
    }),
    request: operation({
      summary: 'Request–reply: publish with a fresh inbox as reply subject and wait for the first reply (503 no responders reported)',
      input: z.object({
        subject: subjectField('publish', 'time.now').describe('Subject a service listens on'),
        payload: payloadField,
        headers: headersField,
        encoding,
        ...auth,
        ...limitsIn,
      }),
      output: z.object({ request: z.object({ subject: z.string(), size: z.number() }), reply: messageOut, rttMs: z.number() }),
      defaultTimeoutMs: 5000,
      text: (r) => `${r.reply.subject} (${r.reply.size} bytes, ${r.rttMs} ms)${r.reply.headers ? `\n${Object.entries(r.reply.headers).map(([k, v]) => `${k}: ${v.join(', ')}`).join('\n')}` : ''}\n${preview(r.reply.payload)}`,
      async run(ctx, input) {
        const payload = payloadBytes(input.payload);
        const c = await connectNats(ctx, { ...credentials(input), limits: { maxPayload: input.maxPayload } });
        const t0 = performance.now();
        const reply = await c.request(input.subject, payload, headerList(input.headers));
        const rttMs = Math.round((performance.now() - t0) * 10) / 10;
        await c.close();
        return { request: { subject: input.subject, size: payload.length }, reply: messageJson(reply, input.encoding), rttMs };
      },
    }),
    subscribe: operation({
      summary: 'Subscribe to subjects (wildcards, queue groups): as a WebSocket session, messages as they arrive; as a POST, those of a time window',
      input: z.object({
        subject: subjectField('filter', 'orders.>').optional().describe('Subject filter: "*" matches one token, ">" the rest (e.g. orders.>)'),
        queue: queueField,
        subjects: z.array(subscriptionIn).max(256).default([]).describe('More subscriptions: [{"subject": "a.*", "queue": "workers"}]'),
        durationMs: z.number().int().min(100).max(60_000).default(5000).describe('POST only: how long to listen'),
        maxMessages: z.number().int().min(1).max(1_000_000).default(10_000).describe('Stop after this many messages'),
        window: z.number().int().min(1024).max(64 * 1024 * 1024).optional().describe('Session: bytes of messages sent ahead of the client\'s acks ({"type":"ack","bytes":n}); past it Portolan stops reading from the server (default 1 MiB)'),
        encoding,
        ...auth,
        ...limitsIn,
      }),
      output: z.object({
        messages: z.array(messageOut).describe('POST: the messages received; a session streams them instead'),
        count: z.number(),
        subscriptions: z.array(z.object({ subject: z.string(), queue: z.string().optional(), sid: z.number() })),
        ended: z.enum(['duration', 'maxMessages', 'client', 'server']),
      }),
      text: (r) => r.messages.map((m) => `${m.time} ${m.subject} (${m.size} B): ${preview(m.payload)}`).join('\n') || '(no messages)',
      async run(ctx, input) {
        const subs = subscriptionsOf(input);
        const c = await connectNats(ctx, { ...credentials(input), limits: { maxPayload: input.maxPayload } });
        const active = await subscribeAll(c, subs);
        const messages: z.infer<typeof messageOut>[] = [];
        let ended: 'duration' | 'maxMessages' | 'server' = 'duration';
        try {
          await forDuration(ctx, input.durationMs, async () => {
            while (messages.length < input.maxMessages) messages.push(messageJson(await c.nextMessage(), input.encoding));
            ended = 'maxMessages';
          });
        } catch (e) {
          if (!(e instanceof PortolanError && e.code === 'closed')) throw e;
          ended = 'server';
        }
        if (ended !== 'server') await c.close(active.map((s) => s.sid));
        return { messages, count: messages.length, subscriptions: active, ended };
      },
      async session(ctx, input, channel) {
        const subs = subscriptionsOf(input);
        const c = await connectNats(ctx, { ...credentials(input), limits: { maxPayload: input.maxPayload } });
        const active = await subscribeAll(c, subs);
        channel.send({ type: 'subscribed', server: c.info.server_name ?? c.info.server_id ?? null, subscriptions: active });
        const queueOf = new Map(active.map((s) => [s.sid, s]));
        let result: Awaited<ReturnType<typeof pumpFeed>>;
        try {
          result = await pumpFeed(
            channel,
            input.maxMessages,
            async () => {
              for (const err of c.errors.splice(0)) channel.send({ type: 'error', error: { code: 'server_error', message: err } });
              const m = await c.nextMessage();
              const s = queueOf.get(m.sid);
              return { type: 'message', ...messageJson(m, input.encoding), ...(s?.queue ? { queue: s.queue } : {}) } as SessionMessage;
            },
            (m) => sessionCommand(c, m, active, queueOf, channel),
          );
        } catch (e) {
          await c.conn.close();
          throw e;
        }
        const { ended, count } = result;
        if (ended !== 'server') {
          // A clean end: UNSUB every subscription and wait for the server's PONG, within a short window.
          try {
            await ctx.within(2000, () => c.close(active.map((s) => s.sid)));
          } catch {
            await c.conn.close();
          }
        }
        return { messages: [], count, subscriptions: active, ended };
      },
    }),
    streams: operation({
      summary: 'JetStream: the account\'s usage and limits and every stream with its state; with a name, that stream\'s config, state and consumers',
      input: z.object({ name: streamName.optional().describe('One stream to show in full'), ...auth }),
      output: z.object({
        account: z.record(z.string(), z.unknown()).nullable().describe('$JS.API.INFO: memory, storage, streams, consumers and limits'),
        streams: z.array(
          z.object({
            name: z.string(),
            subjects: z.array(z.string()),
            storage: z.string(),
            retention: z.string(),
            messages: z.number(),
            bytes: z.number(),
            firstSeq: z.number(),
            lastSeq: z.number(),
            consumers: z.number(),
            created: z.string().nullable(),
          }),
        ),
        total: z.number(),
        stream: z.record(z.string(), z.unknown()).optional().describe('With name: the full STREAM.INFO answer'),
        consumers: z.array(z.record(z.string(), z.unknown())).optional().describe('With name: CONSUMER.LIST'),
      }),
      text: (r) =>
        [
          ...r.streams.map((s) => `${s.name}\t${s.subjects.join(',')}\t${s.storage}/${s.retention}\t${s.messages} msgs\t${s.bytes} B\tseq ${s.firstSeq}–${s.lastSeq}\t${s.consumers} consumers`),
          r.streams.length === 0 ? '(no streams)' : '',
          ...(r.consumers ?? []).map((c) => `  consumer ${String(c.name)}: ${String((c as { num_pending?: number }).num_pending ?? '?')} pending, ${String((c as { num_ack_pending?: number }).num_ack_pending ?? '?')} awaiting ack`),
        ]
          .filter(Boolean)
          .join('\n'),
      shortRoute: (extra) => (extra ? { name: decodeURIComponent(extra) } : {}),
      async run(ctx, input) {
        const c = await connectNats(ctx, credentials(input));
        const out = input.name ? await streamDetails(c, input.name) : await streamList(c);
        await c.close();
        return out;
      },
    }),
    streamCreate: operation({
      summary: 'JetStream: create a stream over subjects (file or memory storage, limits, interest or work-queue retention)',
      input: z.object({
        name: streamName,
        subjects: z.array(subjectField('filter', 'orders.>')).min(1).max(256).describe('Subjects the stream captures'),
        storage: z.enum(['file', 'memory']).default('file'),
        retention: z.enum(['limits', 'interest', 'workqueue']).default('limits'),
        maxMsgs: z.number().int().min(-1).default(-1).describe('-1: unlimited'),
        maxBytes: z.number().int().min(-1).default(-1).describe('-1: unlimited'),
        maxAgeMs: z.number().int().min(0).default(0).describe('0: unlimited'),
        duplicateWindowMs: z.number().int().min(0).max(86_400_000).default(120_000).describe('How long Nats-Msg-Id de-duplication remembers an id'),
        ...auth,
      }),
      output: z.object({ stream: z.record(z.string(), z.unknown()) }),
      text: (r) => JSON.stringify(r.stream, null, 2),
      async run(ctx, input) {
        const c = await connectNats(ctx, credentials(input));
        const stream = await createStream(c, input);
        await c.close();
        return { stream };
      },
    }),
    streamDelete: operation({
      summary: 'JetStream: delete a stream and its messages',
      input: z.object({ name: streamName, ...auth }),
      output: z.object({ name: z.string(), deleted: z.boolean() }),
      text: (r) => `${r.name}: ${r.deleted ? 'deleted' : 'not deleted'}`,
      async run(ctx, input) {
        const c = await connectNats(ctx, credentials(input));
        const deleted = await deleteStream(c, input.name);
        await c.close();
        return { name: input.name, deleted };
      },
    }),
    jsPublish: operation({
      summary: 'JetStream: publish and wait for the stream\'s ack (stream, sequence, duplicate), with de-duplication and expectations',
      input: z.object({
        subject: subjectField('publish', 'orders.new').describe('A subject a stream captures'),
        payload: payloadField,
        headers: headersField,
        msgId: z.string().min(1).max(1024).optional().describe('Nats-Msg-Id: the stream drops a second message with the same id within its duplicate window'),
        expectedStream: streamName.optional().describe('Nats-Expected-Stream: refuse unless this stream takes it'),
        expectedLastSeq: z.number().int().min(0).optional().describe('Nats-Expected-Last-Sequence: refuse unless the stream\'s last sequence is this'),
        ...auth,
      }),
      output: z.object({ stream: z.string(), seq: z.number(), duplicate: z.boolean(), domain: z.string().nullable(), rttMs: z.number() }),
      text: (r) => `stored in ${r.stream} as #${r.seq}${r.duplicate ? ' (duplicate: not stored again)' : ''} in ${r.rttMs} ms`,
      async run(ctx, input) {
        const payload = payloadBytes(input.payload);
        const headers = headerList(input.headers);
        if (input.msgId) headers.push(['Nats-Msg-Id', input.msgId]);
        if (input.expectedStream) headers.push(['Nats-Expected-Stream', input.expectedStream]);
        if (input.expectedLastSeq !== undefined) headers.push(['Nats-Expected-Last-Sequence', String(input.expectedLastSeq)]);
        const c = await connectNats(ctx, credentials(input));
        const t0 = performance.now();
        const ack = await jsPublish(c, input.subject, payload, headers);
        const rttMs = Math.round((performance.now() - t0) * 10) / 10;
        await c.close();
        return { ...ack, rttMs };
      },
    }),
    fetch: operation({
      summary: 'JetStream: fetch a batch from a pull consumer (a durable one, or an ephemeral one made for this fetch) and ack, nak or leave them',
      input: z.object({
        stream: streamName,
        consumer: z.string().min(1).max(256).regex(/^[^\s.*>\\/]+$/, 'consumer names have no whitespace, ".", "*", ">", "/" or "\\"').optional().describe('Durable pull consumer; without it an ephemeral consumer is made for this fetch'),
        createDurable: z.boolean().default(false).describe('Create the durable consumer when it does not exist'),
        filterSubject: subjectField('filter', 'orders.>').optional().describe('New consumers only: take only these subjects'),
        deliver: z.enum(['all', 'last', 'new', 'startSequence']).default('all').describe('New consumers only: where to start'),
        startSequence: z.number().int().min(1).optional().describe('With deliver startSequence'),
        batch: z.number().int().min(1).max(10_000).default(10),
        expiresMs: z.number().int().min(100).max(60_000).default(1000).describe('How long the server may wait to fill the batch'),
        noWait: z.boolean().default(false).describe('Answer at once with what is there (404 No Messages when nothing is)'),
        ack: z.enum(['ack', 'nak', 'none']).default('ack').describe('What to answer for each message'),
        encoding,
        ...auth,
        ...limitsIn,
      }),
      output: z.object({
        consumer: z.string(),
        ephemeral: z.boolean(),
        messages: z.array(
          messageOut.extend({
            stream: z.string(),
            streamSeq: z.number(),
            consumerSeq: z.number(),
            delivered: z.number().describe('Times delivered (1 the first time)'),
            pending: z.number().describe('Messages left for the consumer after this one'),
            published: z.string().describe('When the stream stored it (ISO 8601)'),
          }),
        ),
        count: z.number(),
        acked: z.enum(['ack', 'nak', 'none']),
        ended: z.string().describe('Why the fetch ended: batch complete, or the server\'s status (404 No Messages, 408 Request Timeout, ...)'),
      }),
      text: (r) => r.messages.map((m) => `#${m.streamSeq} ${m.subject} (${m.size} B, delivered ${m.delivered}×): ${preview(m.payload)}`).join('\n') || `(no messages: ${r.ended})`,
      async run(ctx, input) {
        if (input.startSequence !== undefined && input.deliver !== 'startSequence') throw InvalidInput.field('startSequence', 'goes with deliver: startSequence');
        if (input.deliver === 'startSequence' && input.startSequence === undefined) throw InvalidInput.field('startSequence', 'is required with deliver: startSequence');
        if (input.expiresMs >= input.timeoutMs) throw InvalidInput.field('expiresMs', `must be shorter than timeoutMs (${input.timeoutMs})`);
        const c = await connectNats(ctx, { ...credentials(input), limits: { maxPayload: input.maxPayload } });
        const got = await fetchMessages(c, input);
        await c.close();
        return {
          consumer: got.consumer,
          ephemeral: got.ephemeral,
          messages: got.messages.map((m: FetchedMessage) => ({ ...messageJson(m.msg, input.encoding), ...m.meta })),
          count: got.messages.length,
          acked: input.ack,
          ended: got.ended,
        };
      },
    }),
  },
});

function subscriptionsOf(input: { subject?: string; queue?: string; subjects: { subject: string; queue?: string }[] }): { subject: string; queue?: string }[] {
  const subs = [...(input.subject !== undefined ? [{ subject: input.subject, queue: input.queue }] : []), ...input.subjects];
  if (input.subject === undefined && input.queue !== undefined) throw InvalidInput.field('queue', 'goes with subject');
  if (subs.length === 0) throw InvalidInput.field('subject', 'give a subject (or subjects)');
  return subs;
}

/** SUB for each, then PING/PONG: a subscription the server refuses comes back as -ERR before the PONG. */
async function subscribeAll(c: NatsClient, subs: { subject: string; queue?: string }[]): Promise<{ subject: string; queue?: string; sid: number }[]> {
  const active: { subject: string; queue?: string; sid: number }[] = [];
  for (const s of subs) active.push({ ...s, sid: await c.subscribe(s.subject, s.queue) });
  await c.flush();
  return active.map((s) => (s.queue ? s : { subject: s.subject, sid: s.sid }));
}

/** Client commands of a subscribe session: subscribe, unsubscribe, publish, ping. Returns a problem to report, if any. */
async function sessionCommand(
  c: NatsClient,
  m: Record<string, unknown>,
  active: { subject: string; queue?: string; sid: number }[],
  bySid: Map<number, { subject: string; queue?: string; sid: number }>,
  channel: { send(m: SessionMessage): void },
): Promise<string | undefined> {
  const subject = typeof m.subject === 'string' ? m.subject : undefined;
  switch (m.type) {
    case 'subscribe': {
      const problem = subject === undefined ? 'is required' : filterSubjectProblem(subject);
      if (problem) return `subject ${problem}`;
      const queue = typeof m.queue === 'string' ? m.queue : undefined;
      if (queue !== undefined && queueProblem(queue)) return `queue ${queueProblem(queue)}`;
      const sid = await c.subscribe(subject!, queue);
      const s = queue ? { subject: subject!, queue, sid } : { subject: subject!, sid };
      active.push(s);
      bySid.set(sid, s);
      channel.send({ type: 'subscribed', subscriptions: [s] });
      return undefined;
    }
    case 'unsubscribe': {
      const matching = active.filter((s) => s.subject === subject || s.sid === m.sid);
      if (matching.length === 0) return `no subscription to ${JSON.stringify(subject ?? m.sid)}`;
      for (const s of matching) {
        await c.unsubscribe(s.sid);
        active.splice(active.indexOf(s), 1);
        bySid.delete(s.sid);
      }
      channel.send({ type: 'unsubscribed', subscriptions: matching });
      return undefined;
    }
    case 'publish': {
      const problem = subject === undefined ? 'is required' : publishSubjectProblem(subject);
      if (problem) return `subject ${problem}`;
      const payload = typeof m.payload === 'string' ? utf8(m.payload) : new Uint8Array(0);
      await c.publish(subject!, payload);
      return undefined;
    }
    default:
      return `unknown message type ${JSON.stringify(m.type)}: subscribe, unsubscribe, publish, ack or stop`;
  }
}

