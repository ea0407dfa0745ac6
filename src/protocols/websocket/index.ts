// WebSocket, RFC 6455: a client to any ws:// or wss:// endpoint — an interactive session (messages both ways
// from the browser) and a request-style exchange (connect, send, collect replies, close).
import * as z from 'zod';
import { fromBase64, utf8 } from '../../core/bytes.ts';
import { PortolanError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext, type SessionMessage } from '../../core/protocol.ts';
import { hostField } from '../http/client.ts';
import { headerPairs, headersInput } from '../http/index.ts';
import { closeCodeName, sendableCloseCode, type WsMessage } from './codec.ts';
import { WsClient, messageJson, type Handshake } from './client.ts';
import type { DeflateOffer } from './deflate.ts';

const MiB = 1024 * 1024;

const connectInput = {
  path: z.string().min(1).max(8192).regex(/^\/[\x21-\x7e]*$/, 'path starts with / and has no spaces').default('/').describe('Request target of the handshake'),
  headers: headersInput,
  protocols: z.array(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a subprotocol is a token')).max(20).default([]).describe('Sec-WebSocket-Protocol values to offer'),
  origin: z.string().max(500).regex(/^[^\r\n]*$/).optional().describe('Origin header'),
  maxMessageBytes: z.number().int().min(125).max(16 * MiB).default(4 * MiB).describe('Largest message accepted, after decompression'),
  deflate: z
    .union([
      z.boolean(),
      z
        .object({
          serverNoContextTakeover: z.boolean().optional().describe('Ask the server to compress each message on its own'),
          clientNoContextTakeover: z.boolean().optional().describe('Say we compress each message on its own'),
          serverMaxWindowBits: z.number().int().min(8).max(15).optional().describe('Largest LZ77 window the server may use (2^n bytes)'),
          clientMaxWindowBits: z.union([z.boolean(), z.number().int().min(9).max(15)]).optional().describe('true: let the server limit our window; n: our own limit'),
        })
        .strict(),
    ])
    .default(false)
    .describe('Offer permessage-deflate (RFC 7692): true (as browsers offer it), or the parameters to offer'),
};

const closeCode = z
  .number()
  .int()
  .refine(sendableCloseCode, 'close code must be 1000–1003, 1007–1014 or 3000–4999 (RFC 6455 §7.4)')
  .default(1000);

const outgoing = z.union([z.object({ text: z.string().max(16 * MiB) }).strict(), z.object({ base64: z.string().max(24 * MiB) }).strict()]);

const deflateOut = z
  .object({ serverNoContextTakeover: z.boolean(), clientNoContextTakeover: z.boolean(), serverMaxWindowBits: z.number(), clientMaxWindowBits: z.number(), header: z.string() })
  .nullable()
  .describe('permessage-deflate as the server agreed it (null: not in use)');
const handshakeOut = z.object({
  status: z.number(),
  headers: z.array(z.tuple([z.string(), z.string()])),
  accept: z.string(),
  protocol: z.string().nullable().describe('The subprotocol the server chose'),
  extensions: z.string().nullable(),
  deflate: deflateOut,
  requestHead: z.string(),
});
const closeOut = z.object({ code: z.number().nullable(), name: z.string(), reason: z.string(), by: z.enum(['client', 'server']) }).nullable();

type Input = { host: string; port: number; tls: string; path: string; headers: Record<string, string> | [string, string][]; protocols: string[]; origin?: string; maxMessageBytes: number; deflate: boolean | DeflateOffer };

async function connect(ctx: OperationContext, input: Input): Promise<{ ws: WsClient; handshake: Handshake }> {
  const conn = await ctx.dial();
  const ws = new WsClient(conn, ctx.crypto, input.maxMessageBytes);
  const handshake = await ws.handshake({
    path: input.path,
    host: hostField({ scheme: input.tls === 'implicit' ? 'https' : 'http', host: input.host, port: input.port }),
    headers: headerPairs(input.headers),
    protocols: input.protocols,
    origin: input.origin,
    deflate: input.deflate === true ? { clientMaxWindowBits: true } : input.deflate === false ? undefined : input.deflate,
  });
  ctx.timing.mark('handshakeMs');
  return { ws, handshake };
}

function handshakeJson(h: Handshake) {
  return { status: h.status, headers: h.headers, accept: h.accept, protocol: h.protocol, extensions: h.extensions, deflate: h.deflate, requestHead: h.requestHead };
}

function closeJson(ws: WsClient, initiator: 'client' | 'server') {
  const c = initiator === 'server' ? ws.receivedClose : ws.sentClose;
  if (!c) return null;
  return { code: c.code, name: c.code === null ? 'no status' : closeCodeName(c.code), reason: c.reason, by: initiator };
}

/** The pong answering our ping (same payload), with its round trip. */
function pongOf(received: WsMessage[], ping: string | undefined): { rttMs?: number } | undefined {
  if (ping === undefined) return undefined;
  const want = utf8(ping);
  return received.find((m): m is Extract<WsMessage, { kind: 'pong' }> => m.kind === 'pong' && m.rttMs !== undefined && m.data.length === want.length && m.data.every((b, i) => b === want[i]));
}

/** Reads until the server's Close (or the connection ends), bounded by `ms`. */
async function awaitClose(ctx: OperationContext, ws: WsClient, ms: number, into: WsMessage[]): Promise<void> {
  if (ws.receivedClose) return;
  await ctx
    .within(ms, async () => {
      while (!ws.receivedClose) into.push(await ws.next());
    })
    .catch((e) => {
      if (!(e instanceof PortolanError) || (e.code !== 'closed' && e.code !== 'io_timeout')) throw e;
    });
}

export default defineProtocol({
  id: 'websocket',
  title: 'WebSocket',
  category: 'web',
  summary: 'WebSocket client (RFC 6455): the opening handshake, subprotocols, permessage-deflate compression (RFC 7692), text and binary messages, fragmentation, timed ping/pong and close codes, as an interactive session or a one-shot exchange.',
  ports: [
    { port: 80, transport: 'tcp', label: 'ws' },
    { port: 443, transport: 'tls', label: 'wss' },
  ],
  specs: ['RFC 6455', 'RFC 7692'],
  rating: {
    stars: 5,
    reason:
      'Lab-tested through workerd (src/protocols/websocket/websocket.lab.test.ts) against the `ws` echo server, directly and behind nginx, plain and over TLS: handshake with accept check and the chosen subprotocol, text (UTF-8) and binary messages, fragmented both ways, server ping answered with pong and our ping timed, close codes and reasons from either side, refused handshakes; permessage-deflate (RFC 7692) offered and agreed in all 16 combinations of server_/client_no_context_takeover and server_/client_max_window_bits, against a `ws` server that takes the offer and one that imposes its terms, compressed messages both ways (fragmented too, fewer bytes on the wire than the payload), context takeover across messages, a compression bomb stopped at maxMessageBytes; the interactive session with deflate through the API WebSocket. Our compressor cannot honour client_max_window_bits=8 (zlib raw deflate needs 9) and says so.',
  },
  verifiedAgainst: 'ws 8.23.0 (Node) behind nginx 1.22.1-9+deb12u11',
  tls: { implicit: { port: 443 } },
  defaultOperation: 'exchange',
  identify: { unprobed: 'runs over HTTP: named http' },
  operations: {
    exchange: operation({
      primary: ['path', 'messages', 'protocols'],
      summary: 'Connects, sends messages (and a ping), collects the replies, closes with a code',
      input: z.object({
        ...connectInput,
        messages: z.array(outgoing).max(1000).default([]).describe('Messages to send: {text} or {base64}'),
        fragmentSize: z.number().int().min(1).max(16 * MiB).optional().describe('Send each message in frames of this many bytes'),
        ping: z.string().max(125).optional().describe('Also send a ping with this payload and wait for its pong'),
        expect: z.number().int().min(0).max(10_000).optional().describe('Replies to wait for (default: as many as messages sent)'),
        waitMs: z.number().int().min(0).max(60_000).default(3000).describe('Longest wait for the replies'),
        closeCode,
        closeReason: z.string().max(120).default(''),
      }),
      output: z.object({
        handshake: handshakeOut,
        sent: z.number(),
        received: z.array(z.record(z.string(), z.unknown())),
        close: closeOut.describe('Who closed first, with which code'),
        closeReply: closeOut.describe("The other side's Close"),
        frames: z.object({ in: z.number(), out: z.number() }),
        pingMs: z.number().nullable().describe('Round trip of our ping to its pong'),
      }),
      text: (r) =>
        `${r.handshake.protocol ? `subprotocol ${r.handshake.protocol}\n` : ''}${r.handshake.deflate ? `${r.handshake.deflate.header}\n` : ''}${r.pingMs !== null ? `ping ${r.pingMs} ms\n` : ''}${r.received.map((m) => `< ${m.type}${m.text !== undefined ? ` ${m.text}` : m.base64 !== undefined ? ` (${m.bytes} bytes)` : ''}${m.code !== undefined ? ` ${m.code} ${m.reason}` : ''}`).join('\n')}${r.close ? `\nclosed by ${r.close.by}: ${r.close.code} ${r.close.name}` : ''}`,
      async run(ctx, input) {
        const { ws, handshake } = await connect(ctx, input);
        let frames = 0;
        for (const m of input.messages) {
          const isText = 'text' in m;
          frames += await ws.send(isText ? 'text' : 'binary', isText ? utf8(m.text) : fromBase64(m.base64), input.fragmentSize);
        }
        if (input.ping !== undefined) await ws.ping(utf8(input.ping));
        const want = input.expect ?? input.messages.length;
        const received: WsMessage[] = [];
        let data = 0;
        let pong = input.ping === undefined;
        await ctx
          .within(Math.max(1, input.waitMs), async () => {
            while ((data < want || !pong) && !ws.receivedClose) {
              const m = await ws.next();
              received.push(m);
              if (m.kind === 'text' || m.kind === 'binary') data++;
              if (m.kind === 'pong') pong = true;
            }
          })
          .catch((e) => {
            // Fewer replies than expected within waitMs is an answer, not a failure.
            if (!(e instanceof PortolanError) || (e.code !== 'io_timeout' && e.code !== 'closed')) throw e;
          });
        const serverFirst = ws.receivedClose !== null;
        if (!serverFirst) {
          await ws.close(input.closeCode, input.closeReason);
          await awaitClose(ctx, ws, 2000, received);
        }
        return {
          handshake: handshakeJson(handshake),
          sent: frames,
          received: received.map(messageJson),
          close: closeJson(ws, serverFirst ? 'server' : 'client'),
          closeReply: closeJson(ws, serverFirst ? 'client' : 'server'),
          frames: { in: ws.framesIn, out: ws.framesOut },
          pingMs: pongOf(received, input.ping)?.rttMs ?? null,
        };
      },
    }),
    session: operation({
      primary: ['path', 'protocols'],
      summary: 'An interactive WebSocket: send text or binary messages, pings and a close, and see every message the server sends',
      messages: 'Client: {"type":"send","text"|"base64"}, {"type":"ping"}, {"type":"close","code","reason"}; server: every message received.',
      input: z.object({ ...connectInput }),
      output: z.object({ close: closeOut, closeReply: closeOut, frames: z.object({ in: z.number(), out: z.number() }), ended: z.enum(['server', 'client']) }),
      async session(ctx, input, channel) {
        const { ws, handshake } = await connect(ctx, input);
        channel.send({ type: 'open', handshake: handshakeJson(handshake) });
        let first: 'client' | 'server' | undefined;
        const fromServer = (async (): Promise<'server'> => {
          try {
            for (;;) {
              const m = await ws.next();
              channel.send({ ...messageJson(m), type: m.kind === 'text' || m.kind === 'binary' ? 'message' : m.kind, format: m.kind });
              if (m.kind === 'close') {
                first ??= 'server';
                return 'server';
              }
            }
          } catch (e) {
            if (e instanceof PortolanError && e.code === 'closed') return 'server';
            throw e;
          }
        })();
        const fromClient = (async (): Promise<'client'> => {
          for (;;) {
            const m: SessionMessage | null = await channel.receive();
            if (m === null) {
              first ??= 'client';
              await ws.close(1001, 'client went away').catch(() => undefined);
              return 'client';
            }
            if (m instanceof Uint8Array) {
              await ws.send('binary', m);
              continue;
            }
            if (m.type === 'send') {
              if (typeof m.text === 'string') await ws.send('text', utf8(m.text), typeof m.fragmentSize === 'number' ? m.fragmentSize : undefined);
              else if (typeof m.base64 === 'string') await ws.send('binary', fromBase64(m.base64));
              else channel.send({ type: 'error', error: { code: 'invalid_input', message: 'send needs text or base64' } });
            } else if (m.type === 'ping') await ws.ping(utf8(typeof m.text === 'string' ? m.text.slice(0, 125) : ''));
            else if (m.type === 'close') {
              const code = typeof m.code === 'number' ? m.code : 1000;
              if (!sendableCloseCode(code)) {
                channel.send({ type: 'error', error: { code: 'invalid_input', message: `close code ${code} may not be sent` } });
                continue;
              }
              first ??= 'client';
              await ws.close(code, typeof m.reason === 'string' ? m.reason : '');
            } else channel.send({ type: 'error', error: { code: 'invalid_input', message: `unknown message type ${JSON.stringify(m.type)}: send, ping or close` } });
          }
        })();
        fromClient.catch(() => undefined);
        // The session ends when the server's Close (or the end of the connection) arrives, or the client leaves.
        const ended = await Promise.race([fromServer, fromClient]);
        if (ended === 'client') await ctx.within(2000, () => fromServer).catch(() => undefined);
        const by = first ?? 'server';
        return { close: closeJson(ws, by), closeReply: closeJson(ws, by === 'server' ? 'client' : 'server'), frames: { in: ws.framesIn, out: ws.framesOut }, ended };
      },
    }),
  },
});
