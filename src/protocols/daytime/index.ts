// Daytime Protocol, RFC 867: the server sends the date and time as text, then closes.
import * as z from 'zod';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { MAX_DAYTIME_BYTES, daytimeText, parseDaytime } from './codec.ts';
import { identification } from './identify.ts';

export default defineProtocol({
  id: 'daytime',
  title: 'Daytime',
  category: 'classic',
  summary: "Reads the server's date line and, when its format is recognised, the offset from this runtime's clock (RFC 867).",
  ports: [{ port: 13, transport: 'tcp' }],
  specs: ['RFC 867'],
  rating: { stars: 4, reason: 'Reads the line and parses the common formats (ctime, RFC 822, xinetd, NIST ACTS) into UTC with a clock offset; lab-tested. RFC 867 fixes no format, so an unknown one is returned as text only.' },
  verifiedAgainst: 'xinetd internal daytime-stream',
  defaultOperation: 'get',
  identify: identification,
  operations: {
    get: operation({
      summary: "Read the server's date and time",
      input: z.object({}),
      output: z.object({ text: z.string(), utc: z.string().nullable(), format: z.string().nullable(), offsetMs: z.number().nullable() }),
      text: (r) => `${r.text}${r.utc ? `\n= ${r.utc} (${r.format}; offset ${((r.offsetMs ?? 0) / 1000).toFixed(0)} s)` : ''}`,
      async run(ctx) {
        const conn = await ctx.dial();
        const { bytes, truncated } = await conn.readToEnd(MAX_DAYTIME_BYTES);
        const text = daytimeText(bytes, truncated);
        const parsed = parseDaytime(text);
        return { text, utc: parsed ? new Date(parsed.ms).toISOString() : null, format: parsed?.format ?? null, offsetMs: parsed ? parsed.ms - Date.now() : null };
      },
    }),
  },
});
