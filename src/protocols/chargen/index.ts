// Character Generator Protocol, RFC 864: the server streams characters until the client hangs up.
import { z } from 'zod';
import { fromLatin1 } from '../../core/bytes.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { checkStream } from './codec.ts';

export default defineProtocol({
  id: 'chargen',
  title: 'Character Generator',
  category: 'classic',
  summary: 'Reads a measured amount of the character stream, checks the RFC 864 pattern and reports throughput.',
  ports: [{ port: 19, transport: 'tcp' }],
  specs: ['RFC 864'],
  rating: { stars: 4, reason: 'Reads N bytes, validates every line against the rotating RFC 864 pattern, measures throughput; lab-tested with 1 KiB and 1 MiB reads.' },
  verifiedAgainst: 'xinetd internal chargen-stream',
  defaultOperation: 'read',
  operations: {
    read: operation({
      summary: 'Read bytes from the stream and check them',
      input: z.object({ bytes: z.number().int().min(1).max(16 * 1024 * 1024).default(1024).describe('How many bytes to read') }),
      output: z.object({
        received: z.number(),
        lines: z.number(),
        patternValid: z.boolean(),
        firstBadLine: z.number().nullable(),
        elapsedMs: z.number(),
        throughputMbps: z.number(),
        sample: z.string().describe('The first lines received'),
      }),
      text: (r) => `${r.received} bytes, ${r.lines} lines, pattern ${r.patternValid ? 'valid' : `broken at line ${r.firstBadLine}`}, ${r.throughputMbps.toFixed(1)} Mbit/s\n${r.sample}`,
      async run(ctx, input) {
        const conn = await ctx.dial();
        const t0 = performance.now();
        const data = await conn.readExact(input.bytes, 'chargen stream');
        const elapsedMs = Math.round((performance.now() - t0) * 1000) / 1000;
        const check = checkStream(data);
        return {
          received: data.length,
          ...check,
          elapsedMs,
          throughputMbps: Math.round(((data.length * 8) / (Math.max(elapsedMs, 0.001) / 1000) / 1e6) * 10) / 10,
          sample: fromLatin1(data.subarray(0, 74 * 4)),
        };
      },
    }),
  },
});
