// Time Protocol, RFC 868 (TCP): four bytes of time, then the server closes.
import * as z from 'zod';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { timeFrame, toUnixMs } from './codec.ts';
import { identification } from './identify.ts';

export default defineProtocol({
  id: 'time',
  title: 'Time',
  category: 'classic',
  summary: "Reads the server's 32-bit time (seconds since 1900) and compares it with this runtime's clock (RFC 868).",
  ports: [{ port: 37, transport: 'tcp' }],
  specs: ['RFC 868'],
  rating: { stars: 5, reason: 'The whole TCP protocol: the 32-bit value decoded (2036 era handled), UTC time and clock offset reported; lab-tested against the clock of the machine.' },
  verifiedAgainst: 'xinetd internal time-stream',
  defaultOperation: 'get',
  identify: identification,
  operations: {
    get: operation({
      summary: "Read the server's time",
      input: z.object({}),
      output: z.object({ seconds1900: z.number(), utc: z.string(), offsetMs: z.number().describe('Server clock minus local clock (1 s resolution)') }),
      text: (r) => `${r.utc} (offset ${(r.offsetMs / 1000).toFixed(0)} s from this runtime's clock)`,
      async run(ctx) {
        const conn = await ctx.dial();
        const seconds1900 = await conn.readFrame(timeFrame, 'time value', (v) => `time ${v}`);
        const local = Date.now();
        const ms = toUnixMs(seconds1900, local);
        return { seconds1900, utc: new Date(ms).toISOString(), offsetMs: ms - Math.floor(local / 1000) * 1000 };
      },
    }),
  },
});
