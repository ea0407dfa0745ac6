// Finger User Information Protocol, RFC 1288: one query line, a free-form answer, then the server closes.
import * as z from 'zod';
import { fromUtf8 } from '../../core/bytes.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { buildQuery } from './codec.ts';
import { identification } from './identify.ts';

export default defineProtocol({
  id: 'finger',
  title: 'Finger',
  category: 'directory',
  summary: 'Asks a finger server about a user (or who is logged in), with the /W verbose switch and optional forwarding (RFC 1288).',
  ports: [{ port: 79, transport: 'tcp' }],
  specs: ['RFC 1288'],
  rating: { stars: 4, reason: "User queries, the user list and /W built to RFC 1288 section 2.3 and lab-tested against in.fingerd, reading back the lab user's real name and .plan. Forwarding (user@host) is built but servers rightly refuse it, so it is untested." },
  verifiedAgainst: 'bsd-finger in.fingerd 0.17',
  defaultOperation: 'query',
  identify: identification,
  operations: {
    query: operation({
      summary: 'Look up a user, or list users when empty',
      input: z.object({
        user: z
          .string()
          .max(256)
          .regex(/^[^\r\n]*$/, 'user must be one line')
          .default('')
          .describe('User name (empty lists users)'),
        verbose: z.boolean().default(false).describe('Send /W for the long form'),
        forwardTo: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a hostname')).max(4).default([]).describe('Hosts to forward through (user@host1@host2); most servers refuse'),
      }),
      output: z.object({ query: z.string(), text: z.string(), lines: z.number(), truncated: z.boolean() }),
      shortRoute: (extra) => (extra ? { user: extra } : {}),
      text: (r) => r.text,
      async run(ctx, input) {
        const conn = await ctx.dial();
        const query = buildQuery(input.user, input.verbose, input.forwardTo);
        await conn.write(query + '\r\n', { decode: JSON.stringify(query) });
        const { bytes, truncated } = await conn.readToEnd(256 * 1024);
        const text = fromUtf8(bytes).replace(/\r\n/g, '\n');
        return { query, text, lines: text.split('\n').filter((l) => l.length > 0).length, truncated };
      },
    }),
  },
});
