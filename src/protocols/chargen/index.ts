// Character Generator Protocol, RFC 864: the server streams characters until the client hangs up.
import * as z from 'zod';
import { fromLatin1 } from '../../core/bytes.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { checkStream } from './codec.ts';
import { mbps } from '../ping/stats.ts';
import { identification } from './identify.ts';

export default defineProtocol({
  id: 'chargen',
  title: 'Character Generator',
  category: 'classic',
  summary: 'Reads a measured amount of the character stream, checks the RFC 864 pattern and reports throughput.',
  ports: [{ port: 19, transport: 'tcp' }],
  specs: ['RFC 864'],
  rating: { stars: 4, reason: "Reads N bytes, validates every line as 72 consecutive characters of the server's cycle, counts cycle restarts, measures throughput; lab-tested with 1 KiB and 1 MiB reads." },
  verifiedAgainst: 'xinetd internal chargen-stream',
  defaultOperation: 'read',
  identify: identification,
  operations: {
    read: operation({
      summary: 'Read bytes from the stream and check them',
      input: z.object({ bytes: z.number().int().min(1).max(16 * 1024 * 1024).default(1024).describe('How many bytes to read') }),
      output: z.object({
        received: z.number(),
        lines: z.number(),
        patternValid: z.boolean(),
        firstBadLine: z.number().nullable(),
        restarts: z.number().describe('Lines that restart the cycle instead of continuing it'),
        alphabetSize: z.number().describe('Distinct characters seen (95 for the RFC example set)'),
        elapsedMs: z.number(),
        throughputMbps: z.number().nullable().describe('Null when the read took less than the clock can measure'),
        sample: z.string().describe('The first lines received'),
      }),
      text: (r) => `${r.received} bytes, ${r.lines} lines, pattern ${r.patternValid ? 'valid' : `broken at line ${r.firstBadLine}`}${r.throughputMbps === null ? '' : `, ${r.throughputMbps.toFixed(1)} Mbit/s`}\n${r.sample}`,
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
          throughputMbps: mbps(data.length, elapsedMs),
          sample: fromLatin1(data.subarray(0, 74 * 4)),
        };
      },
    }),
  },
});
