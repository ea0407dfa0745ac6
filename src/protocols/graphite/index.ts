// Graphite carbon: the plaintext protocol to send metrics, and carbon-cache's query port to read them back.
import * as z from 'zod';
import { ByteWriter } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';
import { lengthPrefixedFrame } from '../../core/framing.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { dumps, loads, PickleTuple } from './pickle.ts';
import { identification } from './identify.ts';

const metricPath = z.string().min(1).max(1024).regex(/^[^\s]+$/, 'a metric path has no spaces or newlines');

export function plaintextLines(metrics: { path: string; value: number; timestamp?: number }[], now: number): string {
  return metrics.map((m) => `${m.path} ${m.value} ${m.timestamp ?? now}\n`).join('');
}

export default defineProtocol({
  id: 'graphite',
  title: 'Graphite (carbon)',
  category: 'monitoring',
  summary: "Sends metrics with carbon's plaintext protocol and reads datapoints back from carbon-cache's query port.",
  ports: [
    { port: 2003, transport: 'tcp', label: 'plaintext receiver' },
    { port: 7002, transport: 'tcp', label: 'cache query' },
  ],
  specs: ['Graphite carbon plaintext protocol', 'carbon cache-query (pickle)'],
  rating: { stars: 4, reason: "Plaintext send, and read-back of cached datapoints over carbon-cache's query port (a data-only pickle codec); lab-tested by sending a metric and reading it back both through the API and from carbon's whisper file. The pickle receiver (2004) is not offered." },
  verifiedAgainst: 'graphite-carbon 1.1.7',
  defaultOperation: 'send',
  identify: identification,
  operations: {
    send: operation({
      summary: 'Send metrics (path value timestamp) with the plaintext protocol',
      input: z.object({
        metrics: z
          .array(z.object({ path: metricPath, value: z.number().refine(Number.isFinite, 'value must be a finite number'), timestamp: z.number().int().min(0).optional() }))
          .min(1, 'metrics needs at least one metric')
          .max(10_000),
      }),
      output: z.object({ sent: z.number(), bytes: z.number(), lines: z.array(z.string()) }),
      text: (r) => `sent ${r.sent} metrics (${r.bytes} bytes)\n${r.lines.join('\n')}`,
      async run(ctx, input) {
        const conn = await ctx.dial();
        const text = plaintextLines(input.metrics, Math.floor(Date.now() / 1000));
        await conn.write(text);
        return { sent: input.metrics.length, bytes: text.length, lines: text.trimEnd().split('\n') };
      },
    }),
    query: operation({
      summary: "Read a metric's cached datapoints from carbon-cache (port 7002)",
      defaultPort: 7002,
      input: z.object({ metric: metricPath }),
      output: z.object({ metric: z.string(), datapoints: z.array(z.object({ timestamp: z.number(), value: z.number().nullable() })) }),
      text: (r) => r.datapoints.map((d) => `${r.metric} ${d.value} ${d.timestamp}`).join('\n') || `${r.metric}: no cached datapoints`,
      async run(ctx, input) {
        const conn = await ctx.dial();
        const body = dumps({ type: 'cache-query', metric: input.metric });
        const w = new ByteWriter();
        w.lengthPrefixed('u32', body);
        await conn.write(w.finish(), { decode: `cache-query ${input.metric}` });
        const reply = loads(await conn.readFrame(lengthPrefixedFrame(4, 64 * 1024 * 1024), 'cache-query reply', (b) => `pickle reply (${b.length} bytes)`));
        if (typeof reply !== 'object' || reply === null || Array.isArray(reply) || reply instanceof PickleTuple || reply instanceof Uint8Array) {
          throw new ProtocolError('cache-query reply is not a dict');
        }
        const r = reply as Record<string, unknown>;
        if (typeof r.error === 'string') throw new ProtocolError(`carbon answered: ${r.error}`);
        const points = Array.isArray(r.datapoints) ? r.datapoints : [];
        return {
          metric: input.metric,
          datapoints: points.map((p) => {
            const items = p instanceof PickleTuple ? p.items : Array.isArray(p) ? p : [];
            return { timestamp: Number(items[0]), value: typeof items[1] === 'number' ? items[1] : null };
          }),
        };
      },
    }),
  },
});
