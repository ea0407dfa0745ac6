// SOCKS proxies: SOCKS5 (RFC 1928) with no authentication and username/password (RFC 1929), SOCKS4 and
// SOCKS4a: the methods a server accepts, and a connection to a target through it. Every operation also
// takes a SOCKS proxy as `via` (core/proxy.ts, socks/hop.ts).
import * as z from 'zod';
import { bytesJson, utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { classify } from '../../core/errors.ts';
import { defineProtocol, hostField, operation, portField, type OperationContext, type ProxyRoute } from '../../core/protocol.ts';
import { authenticate, greet } from './client.ts';
import { methodName } from './codec.ts';
import { identification } from './identify.ts';

const username = z.string().min(1).max(255).optional().describe('Username (SOCKS5 username/password, RFC 1929; the user id for SOCKS4)');
const password = z.string().max(255).optional().describe('Password (SOCKS5 username/password)');

/** The methods worth asking about one by one: what servers implement. */
const PROBED = [0x00, 0x01, 0x02];

const bytesOut = z.object({ text: z.string().optional(), base64: z.string().optional(), hex: z.string().optional() });

/** Sends `data` on a proxied connection and reads what the target answers within `waitMs` (null when it says nothing). */
export async function exchangeThrough(ctx: OperationContext, conn: Conn, data: string | undefined, waitMs: number): Promise<Uint8Array | null> {
  if (data !== undefined && data.length > 0) await conn.write(utf8(data));
  try {
    return await ctx.within(waitMs, () => conn.read());
  } catch (e) {
    if (classify(e).code === 'io_timeout') return null;
    throw e;
  }
}

export const targetInput = {
  targetHost: hostField.describe('The host to reach through the proxy').meta({ examples: ['example.com'] }),
  targetPort: portField.describe('Its port').meta({ examples: [80] }),
  data: z.string().max(64 * 1024).optional().describe('Text to send to the target once connected (e.g. "HEAD / HTTP/1.0\\r\\n\\r\\n")'),
  waitMs: z.number().int().min(0).max(30_000).default(2000).describe('How long to wait for the target’s first bytes'),
};

export default defineProtocol({
  id: 'socks',
  title: 'SOCKS',
  category: 'network',
  summary: 'SOCKS5 and SOCKS4/4a proxies: the authentication methods a server accepts, and a connection to a target through it with the address the proxy connected from. Any operation can use a SOCKS proxy as its `via` hop.',
  ports: [{ port: 1080, transport: 'tcp' }],
  specs: ['RFC 1928', 'RFC 1929', 'SOCKS 4', 'SOCKS 4A'],
  rating: {
    stars: 5,
    reason:
      'SOCKS5 method discovery, no authentication and username/password, CONNECT; SOCKS4 CONNECT; the proxy’s reply code and text on refusals; and every protocol through a SOCKS5 or SOCKS4 hop (PostgreSQL with TLS, Redis and SSH tested), lab-tested against Dante 1.4.2 with and without authentication. SOCKS4a is encoded per its spec and codec-tested only (Dante does not implement 4A). No BIND, UDP ASSOCIATE or GSSAPI.',
  },
  verifiedAgainst: 'Dante 1.4.2',
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: operation({
      summary: 'The SOCKS5 authentication methods the server accepts (each offered alone), the one it picks from all, and a login when credentials are given',
      input: z.object({ username, password }),
      output: z.object({
        version: z.literal(5),
        methods: z.array(z.object({ method: z.number(), name: z.string(), accepted: z.boolean() })),
        chosen: z.object({ method: z.number(), name: z.string() }).nullable().describe('What the server picks when every probed method is offered'),
        login: z.object({ username: z.string(), ok: z.boolean(), message: z.string() }).optional(),
      }),
      text: (r) =>
        [...r.methods.map((m) => `${m.accepted ? 'accepts' : 'refuses'} ${m.name} (0x${m.method.toString(16).padStart(2, '0')})`), `offered all: ${r.chosen ? r.chosen.name : 'no acceptable method'}`, ...(r.login ? [`login ${r.login.username}: ${r.login.message}`] : [])].join('\n'),
      async run(ctx, input) {
        const methods = [];
        for (const m of PROBED) {
          const conn = await ctx.dial();
          const sel = await greet(conn, [m]);
          methods.push({ method: m, name: methodName(m), accepted: sel.method === m });
          await conn.close();
        }
        const all = await ctx.dial();
        const sel = await greet(all, PROBED);
        await all.close();
        const chosen = sel.method === 0xff ? null : { method: sel.method, name: methodName(sel.method) };
        let login;
        if (input.username !== undefined) {
          const conn = await ctx.dial();
          const got = await greet(conn, [0x02]);
          if (got.method !== 0x02) login = { username: input.username, ok: false, message: `the server does not accept username/password (it answered ${methodName(got.method)})` };
          else {
            try {
              await authenticate(conn, input.username, input.password ?? '');
              login = { username: input.username, ok: true, message: 'accepted' };
            } catch (e) {
              const err = classify(e);
              if (err.code !== 'auth_failed') throw err;
              login = { username: input.username, ok: false, message: err.message };
            }
          }
          await conn.close();
        }
        return { version: 5 as const, methods, chosen, login };
      },
    }),
    connect: operation({
      summary: 'Connects to a target through the proxy (CONNECT) and reports the address the proxy connected from; optionally sends text and shows the answer',
      input: z.object({
        version: z.enum(['5', '4', '4a']).default('5').describe('SOCKS5, SOCKS4 (IPv4 only) or SOCKS4a (the proxy resolves the name)'),
        ...targetInput,
        username,
        password,
      }),
      output: z.object({
        version: z.string(),
        target: z.string(),
        reply: z.string().describe('The proxy’s reply code and text'),
        bound: z.string().nullable().describe('The address and port the proxy connected to the target from (BND.ADDR:BND.PORT)'),
        connectMs: z.number().describe('Connection to the proxy and its handshake'),
        answer: bytesOut.nullable().describe('What the target sent first, within waitMs'),
      }),
      text: (r) => [`${r.reply}: connected to ${r.target}${r.bound ? ` from ${r.bound}` : ''} in ${r.connectMs} ms`, ...(r.answer ? [r.answer.text ?? r.answer.hex ?? r.answer.base64 ?? ''] : [])].join('\n'),
      async run(ctx, input) {
        const through: ProxyRoute = { type: input.version === '5' ? 'socks5' : input.version === '4' ? 'socks4' : 'socks4a', host: input.host, port: input.port, username: input.username, password: input.password };
        const conn = await ctx.dial({ host: input.targetHost, port: input.targetPort, tls: 'off', through });
        const grant = conn.info().proxy;
        const answer = await exchangeThrough(ctx, conn, input.data, input.waitMs);
        return {
          version: `SOCKS${input.version}`,
          target: `${input.targetHost}:${input.targetPort}`,
          reply: grant?.reply ?? '',
          bound: grant?.bound ?? null,
          connectMs: conn.connectMs,
          answer: answer ? bytesJson(answer) : null,
        };
      },
    }),
  },
});
