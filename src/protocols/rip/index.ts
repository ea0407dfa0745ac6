// RIP version 2 (RFC 2453) and 1 (RFC 1058): a request for a router's whole table or some prefixes, answered
// unicast to the asking port as RFC 2453 §3.9.1 provides for diagnostic queries.
import * as z from 'zod';
import { InvalidInput } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { parseIpv4Strict } from '../../core/ip.ts';
import { exchange, retryFields } from '../datagram/exchange.ts';
import { decodeMessage, describeMessage, encodeRequest, RIP_PORT, type Route } from './codec.ts';

const route = z.object({ prefix: z.string(), nextHop: z.string(), metric: z.number(), routeTag: z.number(), reachable: z.boolean() });

function prefixOf(r: Route): string {
  return r.prefixLength === null ? r.address : `${r.address}/${r.prefixLength}`;
}

export default defineProtocol({
  id: 'rip',
  title: 'RIP',
  category: 'network',
  summary: "Asks a RIP router for its routing table (RFC 2453 §3.9.1 request from a non-RIP port, answered unicast): prefixes, next hops, metrics, route tags. UDP: Node host only.",
  ports: [{ port: RIP_PORT, transport: 'udp' }],
  specs: ['RFC 2453', 'RFC 1058'],
  rating: {
    stars: 2,
    reason:
      'Whole-table and per-prefix requests in v2 (v1 too), simple-password authentication entry, every answer datagram of a large table collected, metrics and masks checked; lab-tested against FRR ripd across a veth pair between two network namespaces the lab creates. BIRD refuses requests from ports other than 520, which only a root-bound port could send (not offered). No MD5 authentication (RFC 4822).',
  },
  verifiedAgainst: 'FRR ripd 8.4.4-1.1~deb12u2',
  defaultOperation: 'request',
  identify: { unprobed: 'UDP' },
  operations: {
    request: operation({
      summary: 'Request the whole routing table (or some prefixes) and list the routes',
      input: z.object({
        version: z.union([z.literal(1), z.literal(2)]).default(2),
        prefixes: z.array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'prefixes look like 192.0.2.0/24')).max(24).default([]).describe('Ask only for these; empty asks for the whole table'),
        password: z.string().max(16).optional().describe('RIPv2 simple password (RFC 2453 §4.1); masked in the transcript'),
        collectMs: z.number().int().min(0).max(5000).default(300).describe('After the first answer, keep reading this long for the rest of a large table (25 routes per datagram)'),
        ...retryFields({ retries: 2, waitMs: 1000 }),
      }),
      output: z.object({ version: z.number(), routes: z.array(route), datagrams: z.number(), authenticated: z.boolean(), attempts: z.number() }),
      needs: ['udp'],
      text: (r) => r.routes.map((x) => `${x.prefix.padEnd(20)} via ${x.nextHop === '0.0.0.0' ? '(sender)' : x.nextHop}  metric ${x.metric}${x.routeTag ? `  tag ${x.routeTag}` : ''}`).join('\n') || '(no routes)',
      async run(ctx, input) {
        const prefixes = input.prefixes.map((p, i) => {
          const [addr, len] = p.split('/');
          const ip = parseIpv4Strict(addr);
          const n = Number(len);
          if (!ip || n > 32) throw InvalidInput.field(`prefixes.${i}`, `${p} is not an IPv4 prefix`);
          return { address: ip.bytes, prefixLength: n };
        });
        if (input.password !== undefined && input.version !== 2) throw InvalidInput.field('password', 'authentication exists in RIP version 2 only');
        const conn = await ctx.dialUdp();
        const request = encodeRequest(input.version, prefixes, input.password);
        const describe = (b: Uint8Array) => {
          try {
            return describeMessage(decodeMessage(b));
          } catch (e) {
            return `malformed: ${(e as Error).message}`;
          }
        };
        const first = await exchange(ctx, conn, request, {
          retries: input.retries,
          waitMs: input.waitMs,
          what: 'RIP response',
          describeRequest: `RIPv${input.version} request ${prefixes.length ? input.prefixes.join(' ') : 'whole table'}${input.password !== undefined ? ' (password ****)' : ''}`,
          describeAnswer: describe,
          accept: (b) => {
            const m = decodeMessage(b);
            return m.command === 'response' ? m : undefined;
          },
        });
        const messages = [first.value];
        // A table of more than 25 routes comes in several datagrams, back to back.
        if (input.collectMs > 0 && first.value.routes.length >= 25) {
          try {
            await ctx.within(input.collectMs, async () => {
              for (;;) {
                const got = await conn.receive('RIP response', describe);
                const m = decodeMessage(got.bytes);
                if (m.command === 'response') messages.push(m);
              }
            });
          } catch {
            // the window closed
          }
        }
        const routes = messages.flatMap((m) => m.routes).map((r) => ({ prefix: prefixOf(r), nextHop: r.nextHop, metric: r.metric, routeTag: r.routeTag, reachable: r.metric < 16 }));
        return { version: first.value.version, routes, datagrams: messages.length, authenticated: messages.some((m) => m.auth !== null), attempts: first.attempts };
      },
    }),
  },
});
