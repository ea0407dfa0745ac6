// HTTP/2, RFC 9113 with HPACK (RFC 7541): h2c with prior knowledge or via the HTTP/1.1 Upgrade (RFC 7540 §3.2)
// on every host, h2 over TLS where the host can offer ALPN (the Node host); requests on concurrent streams,
// and an inspection of the server's SETTINGS, the frames exchanged and the header compression.
import * as z from 'zod';
import { fromBase64, utf8 } from '../../core/bytes.ts';
import { InvalidInput, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { bodyJson, hostField } from '../http/client.ts';
import { headerPairs, headersInput } from '../http/index.ts';
import { responseFile, skipping, withRange } from '../http/files.ts';
import { settingName } from './frames.ts';
import { connectH2, goawayError, type H2Request, type H2Response, type H2Session, type StartMode } from './client.ts';
import { identification } from './identify.ts';

const MiB = 1024 * 1024;

const pathInput = z
  .string()
  .min(1)
  .max(8192)
  .regex(/^\/[\x21-\x7e]*$/, 'path starts with / and has no spaces')
  .default('/')
  .describe('The :path of the request');

const connectionInput = {
  mode: z
    .enum(['prior-knowledge', 'upgrade'])
    .default('prior-knowledge')
    .describe('Cleartext (h2c) only: send the preface at once (prior knowledge), or ask with HTTP/1.1 Upgrade: h2c first. With tls: implicit, ALPN decides.'),
  windowSize: z.number().int().min(1024).max(2 ** 31 - 1).default(MiB).describe('Our SETTINGS_INITIAL_WINDOW_SIZE (per-stream receive window)'),
  huffman: z.boolean().default(true).describe('Huffman-code header strings we send'),
  indexing: z.boolean().default(true).describe('Use the HPACK dynamic table for headers we send'),
  enablePush: z.boolean().default(false).describe('Send SETTINGS_ENABLE_PUSH 1: the server may push responses (PUSH_PROMISE, RFC 9113 §8.4)'),
  maxPushes: z.number().int().min(0).max(100).default(10).describe('Promised streams accepted; later promises are cancelled with RST_STREAM CANCEL'),
};

/** RFC 9218 §4: urgency 0 (highest) to 7, default 3; incremental: the response is useful in pieces. */
const priorityInput = z.object({
  urgency: z.number().int().min(0).max(7).default(3).describe('u: 0 is the most urgent, 7 the least (default 3)'),
  incremental: z.boolean().default(false).describe('i: the response can be used as its bytes arrive'),
});

function priorityValue(p: z.infer<typeof priorityInput>): string {
  return `u=${p.urgency}${p.incremental ? ', i' : ''}`;
}

const windowsOut = z.object({ send: z.number(), recv: z.number() });

const bodyOut = z.object({ text: z.string().optional(), base64: z.string().optional(), bytes: z.number(), truncated: z.boolean() });
const fieldsOut = z.array(z.tuple([z.string(), z.string()]));
const responseOut = z.object({
  stream: z.number(),
  path: z.string(),
  status: z.number().nullable(),
  headers: fieldsOut,
  trailers: fieldsOut,
  body: bodyOut,
  reset: z.object({ by: z.enum(['server', 'client']), error: z.string() }).nullable().describe('RST_STREAM that ended the stream'),
  refused: z.string().nullable().describe('Why the stream was not processed (GOAWAY, connection closed)'),
  firstByteMs: z.number().nullable(),
  totalMs: z.number().nullable(),
  windows: windowsOut.nullable().describe("The stream's send and receive flow-control windows when it ended"),
});
const pushedOut = responseOut.extend({ promisedBy: z.number().describe('The stream whose PUSH_PROMISE announced it'), request: fieldsOut.describe('The promised request') });
const settingsOut = z.array(z.object({ id: z.number(), name: z.string(), value: z.number() }));
const goawayOut = z.object({ lastStream: z.number(), error: z.string(), debug: z.string() }).nullable().describe("The server's GOAWAY: last stream it processed, error code by name (RFC 9113 §7), debug data");
const flowOut = z
  .object({
    connection: windowsOut.describe('Connection-level windows at the end'),
    updates: z.array(z.object({ t: z.number(), dir: z.enum(['out', 'in']), stream: z.number(), increment: z.number() })).describe('WINDOW_UPDATE frames both ways, in order (stream 0: the connection)'),
    updatesDropped: z.number(),
  })
  .describe('Flow control (RFC 9113 §5.2, §6.9)');
const priorityOut = z
  .array(z.object({ stream: z.number(), via: z.enum(['PRIORITY', 'HEADERS']), dependsOn: z.number(), weight: z.number(), exclusive: z.boolean() }))
  .describe('RFC 7540 priority signals the server sent (deprecated by RFC 9113 §5.3.2; shown, not acted on)');

function negotiatedName(mode: StartMode, upgraded: boolean): string {
  if (mode === 'alpn') return 'h2 (TLS with ALPN)';
  if (mode === 'upgrade') return upgraded ? 'h2c (HTTP/1.1 Upgrade, 101 Switching Protocols)' : 'http/1.1 (the server declined the h2c upgrade)';
  return 'h2c (prior knowledge)';
}

function responseJson(r: H2Response, encoding: 'auto' | 'text' | 'base64') {
  const type = r.headers.find(([n]) => n === 'content-type')?.[1];
  return {
    stream: r.stream,
    path: r.path,
    status: r.status,
    headers: r.headers,
    trailers: r.trailers,
    body: { ...bodyJson(r.body, encoding, type), bytes: r.bodyBytes, truncated: r.truncated },
    reset: r.reset,
    refused: r.refused,
    firstByteMs: r.firstByteMs,
    totalMs: r.totalMs,
    windows: r.windows,
  };
}

function pushedJson(r: H2Response, encoding: 'auto' | 'text' | 'base64') {
  return { ...responseJson(r, encoding), promisedBy: r.pushed!.by, request: r.pushed!.request };
}

function flowJson(session: H2Session) {
  return { connection: { send: session.h2.connSendWindow, recv: session.h2.connRecvWindow }, updates: session.windowUpdates, updatesDropped: session.windowUpdatesDropped };
}

function compression(responses: H2Response[]) {
  const sum = (f: (r: H2Response) => number) => responses.reduce((n, r) => n + f(r), 0);
  const requestListBytes = sum((r) => r.requestListBytes);
  const requestBlockBytes = sum((r) => r.requestBlockBytes);
  const responseListBytes = sum((r) => r.headerListBytes);
  const responseBlockBytes = sum((r) => r.headerBlockBytes);
  const ratio = (a: number, b: number) => (b === 0 ? null : Math.round((a / b) * 1000) / 1000);
  return { requestListBytes, requestBlockBytes, requestRatio: ratio(requestBlockBytes, requestListBytes), responseListBytes, responseBlockBytes, responseRatio: ratio(responseBlockBytes, responseListBytes) };
}

const compressionOut = z
  .object({
    requestListBytes: z.number().describe('Header lists we sent, counted as RFC 7541 §4.1 does (name + value + 32 per field)'),
    requestBlockBytes: z.number().describe('What HPACK made of them on the wire'),
    requestRatio: z.number().nullable(),
    responseListBytes: z.number(),
    responseBlockBytes: z.number(),
    responseRatio: z.number().nullable(),
  })
  .describe('Header compression figures');

const http1Out = z.object({ status: z.number(), reason: z.string(), headers: fieldsOut, body: bodyOut }).nullable();

export default defineProtocol({
  id: 'http2',
  title: 'HTTP/2',
  category: 'web',
  summary: 'HTTP/2 with our own frame codec and HPACK: h2c with prior knowledge or Upgrade (Workers and Node), h2 over TLS with ALPN (Node host); concurrent streams, server push, RFC 9218 priorities (priority header, PRIORITY_UPDATE), flow-control windows per stream, SETTINGS, PING, GOAWAY and RST_STREAM shown by name (RFC 9113, RFC 7541, RFC 9218).',
  ports: [
    { port: 80, transport: 'tcp', label: 'h2c' },
    { port: 443, transport: 'tls', label: 'h2' },
  ],
  specs: ['RFC 9113', 'RFC 7541', 'RFC 7540 §3.2', 'RFC 9218'],
  rating: {
    stars: 5,
    reason:
      "Own sans-I/O frame codec and HPACK (RFC 7541 Appendix C vectors, split feed, fuzz). Lab-tested through workerd (src/protocols/http2/http2.lab.test.ts): nginx h2c with prior knowledge (SETTINGS, PING, our GOAWAY and nginx's after its request limit, 100 concurrent streams on one connection, a 3 MiB body through a 64 KiB stream window credited back with WINDOW_UPDATE, a 180 kB upload held by nginx's window, trailers, RST_STREAM at the body cap, a 64 MiB body streamed as a file with Range resume), Apache for the h2c Upgrade and nginx declining it, h2 over TLS with ALPN through Portolan's TLS engine (and the Node host). src/protocols/http2/http2-five.lab.test.ts: server push from Apache mod_http2 (H2Push with Link preload), with prior knowledge and over the h2c Upgrade, each pushed body read back byte for byte, the promise cap cancelling with RST_STREAM CANCEL, no promise with push off; RFC 9218 priority headers per request and PRIORITY_UPDATE frames accepted and answered by nginx and Apache; every server SETTINGS value by name; per-stream send and receive windows and every WINDOW_UPDATE in order for a download and an upload; nginx's GOAWAY ENHANCE_YOUR_CALM named with its last stream, nginx's RST_STREAM NO_ERROR stopping an upload it answered with 413. Not observable here: response order under priorities (neither server's scheduling is visible without timing), RFC 7540 PRIORITY frames (neither nginx 1.22 nor Apache 2.4.71 sends them; decoded and shown, codec-tested), GOAWAY debug data from a real server (shown when sent).",
  },
  verifiedAgainst: 'nginx 1.22.1-9+deb12u11; Apache httpd 2.4.71-1~deb12u1 (h2c Upgrade, mod_http2 server push)',
  tls: { implicit: { port: 443 } },
  defaultOperation: 'request',
  identify: identification,
  operations: {
    request: operation({
      primary: ['method', 'path', 'headers', 'body'],
      needsWithTls: { implicit: ['alpn'] },
      summary:
        'Requests on concurrent streams of one HTTP/2 connection; with Accept: application/octet-stream (or a WebSocket transfer) one response body streams as a file of any size (Range: bytes=N- resumes)',
      transfer: { direction: 'download', resume: true },
      input: z.object({
        method: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/).max(32).default('GET'),
        path: pathInput,
        paths: z.array(pathInput).max(2000).optional().describe('Several paths: one stream each, run concurrently (method, headers and body apply to each)'),
        headers: headersInput,
        body: z.string().max(8 * MiB).optional(),
        bodyBase64: z.string().max(12 * MiB).optional(),
        concurrency: z.number().int().min(1).max(1000).default(100).describe('Streams open at once (never more than the server allows)'),
        maxBodyBytes: z.number().int().min(0).max(8 * MiB).default(MiB).describe('Per response; past it the stream is cancelled with RST_STREAM'),
        bodyEncoding: z.enum(['auto', 'text', 'base64']).default('auto'),
        priority: priorityInput.optional().describe('RFC 9218 priority of every request, sent as its priority header'),
        priorities: z.array(priorityInput).max(2000).optional().describe('A priority per path (same order as paths), overriding priority'),
        reprioritize: priorityInput.optional().describe('A new priority sent in a PRIORITY_UPDATE frame (RFC 9218 §7.1) right after each stream opens'),
        ...connectionInput,
      }),
      output: z.object({
        negotiated: z.string(),
        alpn: z.string().nullable(),
        responses: z.array(responseOut),
        pushed: z.array(pushedOut).describe('Responses the server pushed (enablePush), in the order promised'),
        http1: http1Out.describe('The HTTP/1.1 answer when the server declined the upgrade'),
        serverSettings: settingsOut.describe("The server's SETTINGS, by name"),
        goaway: goawayOut,
        flow: flowOut,
        prioritySignals: priorityOut,
        compression: compressionOut,
        totalMs: z.number(),
      }),
      text: (r) =>
        r.http1
          ? `${r.negotiated}\nHTTP/1.1 ${r.http1.status} ${r.http1.reason}\n${r.http1.body.text ?? `(${r.http1.body.bytes} bytes)`}`
          : [
              ...r.responses.map((x) => `[stream ${x.stream}] ${x.status ?? x.refused ?? x.reset?.error} ${x.path}\n${x.body.text ?? `(${x.body.bytes} bytes)`}`),
              ...r.pushed.map((x) => `[stream ${x.stream}, pushed on ${x.promisedBy}] ${x.status ?? x.reset?.error} ${x.path} (${x.body.bytes} bytes)`),
              ...(r.goaway ? [`GOAWAY ${r.goaway.error}, last stream ${r.goaway.lastStream}${r.goaway.debug ? `: ${r.goaway.debug}` : ''}`] : []),
            ].join('\n'),
      async run(ctx, input) {
        if (input.body !== undefined && input.bodyBase64 !== undefined) throw InvalidInput.field('body', 'give body or bodyBase64, not both');
        const body = input.body !== undefined ? utf8(input.body) : input.bodyBase64 !== undefined ? fromBase64(input.bodyBase64) : undefined;
        if (input.mode === 'upgrade' && input.tls !== 'implicit' && body) throw InvalidInput.field('mode', 'the h2c upgrade is made with a request without a body');
        const start = performance.now();
        const download = ctx.download;
        if (download && input.paths !== undefined) throw InvalidInput.field('paths', 'a streamed download takes one path');
        const { session, mode, alpn } = await connectH2(ctx, input);
        const authority = hostField({ scheme: input.tls === 'implicit' ? 'https' : 'http', host: input.host, port: input.port });
        const headers = download ? withRange(headerPairs(input.headers), download.offset) : headerPairs(input.headers);
        const paths = input.paths ?? [input.path];
        if (input.priorities && input.priorities.length !== paths.length) throw InvalidInput.field('priorities', `give one priority per path (${paths.length})`);
        const requests: H2Request[] = paths.map((path, i) => {
          const p = input.priorities?.[i] ?? input.priority;
          return { method: input.method, scheme: input.tls === 'implicit' ? 'https' : 'http', authority, path, headers, body, priority: p && priorityValue(p), reprioritize: input.reprioritize && priorityValue(input.reprioritize) };
        });
        const upgraded = await session.start(mode, requests[0]);
        ctx.timing.mark('startedMs');
        if (download) {
          if (!upgraded) throw new ServerError(`the server declined the h2c upgrade (HTTP/1.1 ${session.declined!.head.status})`, { status: session.declined!.head.status });
          const got = await session.download(
            requests[0],
            async (status, fields) => {
              const file = responseFile(input.method, input.path, status, fields, download.offset);
              return skipping(await download.begin(file.info), file.skip);
            },
            mode === 'upgrade',
          );
          await session.close();
          const totalMs = Math.round((performance.now() - start) * 1000) / 1000;
          return {
            negotiated: negotiatedName(mode, true),
            alpn,
            responses: [{ stream: 1, path: input.path, status: got.status, headers: got.headers, trailers: got.trailers, body: { bytes: got.bytes, truncated: false }, reset: null, refused: null, firstByteMs: null, totalMs, windows: session.h2.windowsOf(1) ?? null }],
            pushed: [],
            http1: null,
            serverSettings: session.settingsJson(),
            goaway: session.goaway,
            flow: flowJson(session),
            prioritySignals: session.prioritySignals,
            compression: compression([]),
            totalMs,
          };
        }
        if (!upgraded) {
          const x = session.declined!;
          const type = x.head.headers.find(([n]) => n === 'content-type')?.[1];
          return {
            negotiated: negotiatedName(mode, false),
            alpn,
            responses: [],
            pushed: [],
            http1: { status: x.head.status, reason: x.head.reason, headers: x.head.headers, body: { ...bodyJson(x.body, input.bodyEncoding, type), bytes: x.bodyBytes, truncated: x.truncated } },
            serverSettings: [],
            goaway: null,
            flow: flowJson(session),
            prioritySignals: [],
            compression: compression([]),
            totalMs: Math.round((performance.now() - start) * 1000) / 1000,
          };
        }
        const responses = await session.exchange(requests, { concurrency: input.concurrency, maxBodyBytes: input.maxBodyBytes, adoptFirst: mode === 'upgrade' });
        if (session.goaway && session.goaway.error !== 'NO_ERROR' && responses.every((r) => r.status === null)) throw goawayError(session.goaway);
        await session.close();
        return {
          negotiated: negotiatedName(mode, true),
          alpn,
          responses: responses.map((r) => responseJson(r, input.bodyEncoding)),
          pushed: session.pushed.map((r) => pushedJson(r, input.bodyEncoding)),
          http1: null,
          serverSettings: session.settingsJson(),
          goaway: session.goaway,
          flow: flowJson(session),
          prioritySignals: session.prioritySignals,
          compression: compression(responses),
          totalMs: Math.round((performance.now() - start) * 1000) / 1000,
        };
      },
    }),
    inspect: operation({
      primary: ['path'],
      needsWithTls: { implicit: ['alpn'] },
      summary: "The server's HTTP/2 side: its SETTINGS, a PING round trip, one request, every frame exchanged and the header compression",
      input: z.object({ path: pathInput, headers: headersInput, ...connectionInput }),
      output: z.object({
        negotiated: z.string(),
        alpn: z.string().nullable(),
        serverSettings: settingsOut,
        localSettings: settingsOut,
        settingsAcked: z.boolean(),
        pingRttMs: z.number().nullable(),
        response: responseOut.nullable(),
        http1: http1Out,
        frames: z.array(z.object({ t: z.number(), dir: z.enum(['out', 'in']), type: z.string(), stream: z.number(), flags: z.array(z.string()), length: z.number(), summary: z.string() })),
        framesDropped: z.number(),
        flowControl: z.object({ serverInitialWindow: z.number(), windowUpdatesReceived: z.number(), windowUpdatesSent: z.number() }),
        flow: flowOut,
        prioritySignals: priorityOut,
        pushed: z.array(pushedOut),
        compression: compressionOut.extend({ dynamicTableEntries: z.number(), dynamicTableBytes: z.number() }),
        goaway: goawayOut,
      }),
      text: (r) =>
        `${r.negotiated}\nserver SETTINGS: ${r.serverSettings.map((s) => `${s.name}=${s.value}`).join(' ') || '(defaults)'}\nPING RTT: ${r.pingRttMs ?? '-'} ms\nwindows: connection send ${r.flow.connection.send}, receive ${r.flow.connection.recv}${r.response?.windows ? `; stream ${r.response.stream} send ${r.response.windows.send}, receive ${r.response.windows.recv}` : ''}\n${r.frames.map((f) => `${f.dir === 'out' ? '>' : '<'} ${f.summary}`).join('\n')}`,
      async run(ctx, input) {
        const { session, mode, alpn } = await connectH2(ctx, input);
        const authority = hostField({ scheme: input.tls === 'implicit' ? 'https' : 'http', host: input.host, port: input.port });
        const req: H2Request = { method: 'GET', scheme: input.tls === 'implicit' ? 'https' : 'http', authority, path: input.path, headers: headerPairs(input.headers) };
        const upgraded = await session.start(mode, req);
        let response: H2Response | null = null;
        let responses: H2Response[] = [];
        let http1 = null;
        if (upgraded) {
          session.ping(ctx.crypto.randomBytes(8));
          responses = await session.exchange([req], { concurrency: 1, maxBodyBytes: 64 * 1024, adoptFirst: mode === 'upgrade' });
          response = responses[0];
          await ctx.within(2000, () => session.settle()).catch(() => undefined);
          await session.close();
        } else {
          const x = session.declined!;
          http1 = { status: x.head.status, reason: x.head.reason, headers: x.head.headers, body: { ...bodyJson(x.body, 'auto', undefined), bytes: x.bodyBytes, truncated: x.truncated } };
        }
        const local = session.h2.settingsList().map(([id, value]) => ({ id, name: settingName(id), value }));
        return {
          negotiated: negotiatedName(mode, upgraded),
          alpn,
          serverSettings: session.settingsJson(),
          localSettings: local,
          settingsAcked: session.settingsAcked,
          pingRttMs: session.pings[0]?.rttMs ?? null,
          response: response ? responseJson(response, 'auto') : null,
          http1,
          frames: session.log,
          framesDropped: session.logDropped,
          flowControl: { serverInitialWindow: session.h2.peer.initialWindowSize, windowUpdatesReceived: session.windowUpdatesReceived, windowUpdatesSent: session.h2.windowUpdatesSent },
          flow: flowJson(session),
          prioritySignals: session.prioritySignals,
          pushed: session.pushed.map((r) => pushedJson(r, 'auto')),
          compression: { ...compression(responses), dynamicTableEntries: session.h2.decoder.table.entries.length, dynamicTableBytes: session.h2.decoder.table.size },
          goaway: session.goaway,
        };
      },
    }),
  },
});
