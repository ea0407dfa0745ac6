// Quote of the Day Protocol, RFC 865: the server sends a short message, then closes.
import * as z from 'zod';
import { fromUtf8 } from '../../core/bytes.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { identification } from './identify.ts';

/** RFC 865: "the quote may be up to 512 characters"; read a little beyond to notice a server that ignores it. */
const LIMIT = 4096;

export default defineProtocol({
  id: 'qotd',
  title: 'Quote of the Day',
  category: 'classic',
  summary: "Reads the server's quote and notes whether it keeps to RFC 865's 512-character limit.",
  ports: [{ port: 17, transport: 'tcp' }],
  specs: ['RFC 865'],
  rating: { stars: 5, reason: 'The whole TCP protocol: the quote read to the close, its length checked against the RFC limit; lab-tested against fortune served by xinetd.' },
  verifiedAgainst: 'fortune-mod served by xinetd',
  defaultOperation: 'get',
  identify: identification,
  operations: {
    get: operation({
      summary: 'Read the quote',
      input: z.object({}),
      output: z.object({ quote: z.string(), characters: z.number(), withinRfcLimit: z.boolean(), truncated: z.boolean() }),
      text: (r) => r.quote,
      async run(ctx) {
        const conn = await ctx.dial();
        const { bytes, truncated } = await conn.readToEnd(LIMIT);
        const quote = fromUtf8(bytes);
        const characters = [...quote].length;
        return { quote, characters, withinRfcLimit: characters <= 512, truncated };
      },
    }),
  },
});
