// TCP ping: the time a TCP handshake takes, probe after probe, reported like ping(8).
import * as z from 'zod';
import { classify, type FailureCode } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { summarize, formatPing } from './stats.ts';

const probe = z.object({
  seq: z.number(),
  rttMs: z.number().nullable(),
  outcome: z.string().describe('ok, or the outcome code of a failed probe'),
  message: z.string().optional(),
});

function mostFrequent(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
}

export default defineProtocol({
  id: 'ping',
  title: 'TCP ping',
  category: 'diagnostics',
  summary: 'Measures TCP connect time to a port, probe after probe, with loss and min/avg/max/stddev like ping.',
  ports: [{ port: 443, transport: 'tcp' }],
  specs: ['RFC 9293'],
  rating: { stars: 4, reason: 'Connect RTT per probe, loss and statistics, refused and timed-out probes told apart; lab-tested against open, closed and silent ports. No ICMP: Workers have no raw sockets.' },
  verifiedAgainst: 'xinetd on 127.0.0.1',
  defaultOperation: 'tcp',
  identify: { unprobed: 'a measurement, not a service' },
  operations: {
    tcp: operation({
      primary: ['count'],
      summary: 'Connect repeatedly and time each handshake',
      input: z.object({
        count: z.number().int().min(1).max(50).default(4).describe('Probes to send'),
        intervalMs: z.number().int().min(0).max(10_000).default(500).describe('Pause between probes'),
        probeTimeoutMs: z.number().int().min(50).max(10_000).default(2000).describe('Deadline for each connect'),
      }),
      output: z.object({
        probes: z.array(probe),
        stats: z.object({
          sent: z.number(),
          received: z.number(),
          lossPercent: z.number(),
          minMs: z.number().nullable(),
          avgMs: z.number().nullable(),
          maxMs: z.number().nullable(),
          stddevMs: z.number().nullable(),
        }),
      }),
      maxTimeoutMs: 120_000,
      defaultTimeoutMs: 30_000,
      text: (r, input) => formatPing(`${input.host}:${input.port}`, r.probes, r.stats),
      // No probe answered: the most frequent failure stands for the run (ping(8) exits non-zero too).
      failedAs: (r) => (r.stats.received > 0 ? undefined : (mostFrequent(r.probes.map((p) => p.outcome)) as FailureCode | undefined)),
      async run(ctx, input) {
        const probes: z.infer<typeof probe>[] = [];
        for (let seq = 1; seq <= input.count; seq++) {
          if (seq > 1) await ctx.sleep(input.intervalMs);
          try {
            const conn = await ctx.dial({ connectTimeoutMs: input.probeTimeoutMs });
            probes.push({ seq, rttMs: conn.connectMs, outcome: 'ok' });
            await conn.close();
          } catch (e) {
            const err = classify(e);
            if (err.code === 'target_blocked' || err.code === 'invalid_input' || err.code === 'unsupported_runtime') throw err;
            probes.push({ seq, rttMs: null, outcome: err.code, message: err.message });
          }
        }
        return { probes, stats: summarize(probes.map((p) => p.rttMs)) };
      },
    }),
  },
});
