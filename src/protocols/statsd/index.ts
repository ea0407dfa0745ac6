// StatsD (etsy/statsd docs/metric_types.md): counters, gauges, timers, histograms and sets sent as UDP datagrams.
import * as z from 'zod';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { encodeMetric, packDatagrams, TYPES, type MetricType } from './codec.ts';

const metric = z.object({
  name: z.string().min(1).max(250),
  value: z.union([z.number(), z.string().max(250)]),
  type: z.enum(Object.keys(TYPES) as [MetricType, ...MetricType[]]).default('c').describe('c counter, g gauge, ms timer, h histogram, s set'),
  sampleRate: z.number().gt(0).max(1).optional(),
  delta: z.boolean().optional().describe('Gauges: +n / -n changes the value instead of setting it'),
  tags: z.record(z.string().max(100), z.string().max(200)).optional().describe('DogStatsD tags (|#key:value)'),
});

export default defineProtocol({
  id: 'statsd',
  title: 'StatsD',
  category: 'monitoring',
  summary: 'Sends StatsD metrics (counters, gauges, timers, histograms, sets; sample rates and DogStatsD tags) as UDP datagrams. StatsD never answers: check the value in your metrics store. Node host only.',
  ports: [{ port: 8125, transport: 'udp' }],
  specs: ['etsy/statsd metric types', 'DogStatsD datagram format'],
  rating: {
    stars: 3,
    reason:
      "Every metric type with sample rates, gauge deltas and tags, lines packed into datagrams under the MTU; lab-tested against collectd's statsd plugin by reading each value back from the CSV files collectd writes. Fire-and-forget by design: a lost datagram cannot be detected. No TCP transport.",
  },
  verifiedAgainst: 'collectd 5.12.0-14 (statsd plugin, csv writer)',
  defaultOperation: 'send',
  identify: { unprobed: 'UDP' },
  operations: {
    send: operation({
      summary: 'Send metrics (no answer comes back: StatsD is one-way)',
      input: z.object({
        metrics: z.array(metric).min(1).max(1000),
        maxDatagram: z.number().int().min(64).max(65_000).default(1432).describe('Largest datagram to send; lines are packed up to it (1432 fits a 1500-byte MTU)'),
      }),
      output: z.object({ lines: z.array(z.string()), datagrams: z.number(), bytes: z.number() }),
      needs: ['udp'],
      text: (r) => `${r.lines.join('\n')}\n(sent ${r.lines.length} line${r.lines.length === 1 ? '' : 's'} in ${r.datagrams} datagram${r.datagrams === 1 ? '' : 's'}, ${r.bytes} bytes)`,
      async run(ctx, input) {
        const lines = input.metrics.map((m, i) => encodeMetric(m, `metrics.${i}`));
        const datagrams = packDatagrams(lines, input.maxDatagram);
        const conn = await ctx.dialUdp();
        let bytes = 0;
        for (const d of datagrams) {
          await conn.send(d);
          bytes += d.length;
        }
        ctx.timing.mark('sentMs');
        return { lines, datagrams: datagrams.length, bytes };
      },
    }),
  },
});
