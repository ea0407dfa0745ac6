// WHOIS, RFC 3912: query a server and follow registry referrals, each hop through the target guard.
import * as z from 'zod';
import { fromUtf8 } from '../../core/bytes.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { findReferral, formatQuery } from './codec.ts';

const hop = z.object({ server: z.string(), port: z.number(), query: z.string(), text: z.string(), referral: z.string().nullable(), truncated: z.boolean() });

export default defineProtocol({
  id: 'whois',
  title: 'WHOIS',
  category: 'directory',
  summary: 'Queries a WHOIS server and follows referrals (IANA → registry → registrar, ARIN → RIR), showing every hop (RFC 3912).',
  ports: [{ port: 43, transport: 'tcp' }],
  specs: ['RFC 3912'],
  rating: { stars: 0, reason: 'Query, registry-specific query forms and referral following (IANA → registry → registrar, ARIN → RIR) are unit-tested with recorded registry answers; Debian ships no WHOIS server, so no lab test backs a star.' },
  verifiedAgainst: null,
  defaultOperation: 'query',
  identify: { unprobed: 'answers free text to any line; no signature to tell it from others' },
  operations: {
    query: operation({
      primary: ['query', 'follow'],
      summary: 'Look up a domain, address, AS number or handle',
      input: z.object({
        query: z.string().min(1, 'query is required').max(256).regex(/^[^\r\n]+$/, 'query must be one line'),
        follow: z.boolean().default(true).describe('Follow referrals to the next server'),
        maxHops: z.number().int().min(1).max(5).default(3),
      }),
      output: z.object({ hops: z.array(hop), text: z.string().describe('The last answer') }),
      shortRoute: (extra) => (extra ? { query: extra } : {}),
      text: (r) => r.hops.map((h) => `% ${h.server}:${h.port} (${h.query})\n${h.text.trim()}\n`).join('\n'),
      async run(ctx, input) {
        const hops: z.infer<typeof hop>[] = [];
        let server = { host: ctx.target.host, port: ctx.target.port };
        const seen = new Set<string>();
        for (let i = 0; i < input.maxHops; i++) {
          seen.add(`${server.host}:${server.port}`);
          const conn = await ctx.dial({ host: server.host, port: server.port, tls: 'off', secondHop: i > 0 });
          const query = formatQuery(server.host, input.query);
          await conn.write(`${query}\r\n`, { decode: JSON.stringify(query) });
          const { bytes, truncated } = await conn.readToEnd(1024 * 1024);
          await conn.close();
          const text = fromUtf8(bytes).replace(/\r\n/g, '\n');
          const next = findReferral(text);
          const nextKey = next ? `${next.host}:${next.port}` : null;
          hops.push({ server: server.host, port: server.port, query, text, referral: nextKey, truncated });
          if (!input.follow || !next || seen.has(nextKey!)) break;
          server = next;
        }
        return { hops, text: hops[hops.length - 1].text };
      },
    }),
  },
});
