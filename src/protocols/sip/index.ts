// SIP, RFC 3261: an OPTIONS ping (§11) over UDP (retransmitted per §17.1.2.2) or TCP: status, Allow, Supported, Server.
import * as z from 'zod';
import { toHex } from '../../core/bytes.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { exchange, retryFields } from '../datagram/exchange.ts';
import { decodeResponse, describeResponse, encodeOptions, header, list, sipFrame, type SipResponse } from './codec.ts';
import { identification } from './identify.ts';

function uriHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function random(ctx: OperationContext, n: number): string {
  return toHex(ctx.crypto.randomBytes(n));
}

export default defineProtocol({
  id: 'sip',
  title: 'SIP',
  category: 'messaging',
  summary: "Pings a SIP server with OPTIONS (RFC 3261 §11): its status, the methods it allows, extensions, accepted bodies and Server header. UDP on the Node host; TCP on both hosts.",
  ports: [{ port: 5060, transport: 'udp' }, { port: 5060, transport: 'tcp' }],
  specs: ['RFC 3261', 'RFC 3581'],
  rating: {
    stars: 3,
    reason:
      'OPTIONS over UDP with timer-E style retransmission and over TCP with Content-Length framing, compact headers and folded lines read, the response matched by branch, Call-ID and CSeq; lab-tested against kamailio over both transports (Allow and Server read back, 405 for other methods). No INVITE dialogs, no digest authentication, no TLS (SIPS).',
  },
  verifiedAgainst: 'kamailio 5.6.3-2',
  defaultOperation: 'options',
  identify: identification,
  operations: {
    options: operation({
      alternatives: ['On Workers, use transport tcp if the server listens on TCP.'],
      summary: 'Send OPTIONS, return the status and capabilities',
      input: z.object({
        transport: z.enum(['udp', 'tcp']).default('udp').describe('udp (Node host only) or tcp'),
        uri: z.string().regex(/^sips?:[^\s<>]{1,250}$/, 'uri is a sip: URI').optional().describe('Request-URI; default sip:<host>:<port>'),
        from: z.string().regex(/^sips?:[^\s<>]{1,250}$/).default('sip:portolan@portolan.invalid').describe('From and Contact URI'),
        ...retryFields({ retries: 3, waitMs: 500 }),
      }),
      output: z.object({
        status: z.number(),
        reason: z.string(),
        allow: z.array(z.string()),
        supported: z.array(z.string()),
        accept: z.array(z.string()),
        server: z.string().nullable(),
        headers: z.array(z.tuple([z.string(), z.string()])),
        transport: z.enum(['udp', 'tcp']),
        attempts: z.number(),
        rttMs: z.number(),
      }),
      text: (r) => [`SIP/2.0 ${r.status} ${r.reason}`, ...r.headers.map(([k, v]) => `${k}: ${v}`)].join('\n'),
      async run(ctx, input) {
        const uri = input.uri ?? `sip:${uriHost(input.host)}:${input.port}`;
        const branch = random(ctx, 8);
        const callId = `${random(ctx, 12)}@portolan.invalid`;
        const request = encodeOptions({ uri, transport: input.transport === 'udp' ? 'UDP' : 'TCP', viaHost: 'portolan.invalid', branch, fromTag: random(ctx, 4), callId, cseq: 1, toUri: uri, fromUri: input.from });
        // §17.1.3: the response belongs to this request when the top Via branch, Call-ID and CSeq match.
        const ours = (r: SipResponse) => (header(r, 'Via') ?? '').includes(`branch=z9hG4bK${branch}`) && header(r, 'Call-ID') === callId && /^1 OPTIONS$/i.test(header(r, 'CSeq') ?? '');
        let response: SipResponse;
        let attempts = 1;
        let rttMs: number;
        if (input.transport === 'udp') {
          const conn = await ctx.dialUdp();
          // Provisional 1xx answers are skipped: OPTIONS ends with a final response.
          const answer = await exchange(ctx, conn, request, {
            retries: input.retries,
            waitMs: input.waitMs,
            what: 'SIP response',
            describeRequest: `OPTIONS ${uri} (UDP)`,
            describeAnswer: (b) => {
              try {
                return describeResponse(decodeResponse(b));
              } catch (e) {
                return `malformed: ${(e as Error).message}`;
              }
            },
            accept: (b) => {
              const r = decodeResponse(b);
              return ours(r) && r.status >= 200 ? r : undefined;
            },
          });
          response = answer.value;
          attempts = answer.attempts;
          rttMs = answer.rttMs;
        } else {
          const conn = await ctx.dial({ tls: 'off' });
          const sent = performance.now();
          await conn.write(request, { decode: `OPTIONS ${uri} (TCP)` });
          for (;;) {
            const r = await conn.readFrame(sipFrame, 'SIP response', describeResponse);
            if (!ours(r)) throw new ProtocolError(`a SIP response to another request: ${describeResponse(r)}`);
            if (r.status >= 200) {
              response = r;
              break;
            }
          }
          rttMs = Math.round((performance.now() - sent) * 1000) / 1000;
        }
        if (response.status >= 300 && response.status !== 405) {
          // 405 still describes the server (it lists Allow); any other 3xx–6xx is the server's refusal.
          throw new ServerError(`SIP ${response.status} ${response.reason}`, { status: response.status, reason: response.reason, headers: response.headers });
        }
        return {
          status: response.status,
          reason: response.reason,
          allow: list(header(response, 'Allow')),
          supported: list(header(response, 'Supported')),
          accept: list(header(response, 'Accept')),
          server: header(response, 'Server') ?? header(response, 'User-Agent') ?? null,
          headers: response.headers,
          transport: input.transport,
          attempts,
          rttMs,
        };
      },
    }),
  },
});
