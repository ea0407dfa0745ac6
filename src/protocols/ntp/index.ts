// NTP / SNTP, RFC 5905 and RFC 4330: a client-mode query for the server's time, offset, delay, stratum, reference and leap.
import * as z from 'zod';
import { toHex } from '../../core/bytes.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { exchange, retryFields } from '../datagram/exchange.ts';
import { computeSample, decodePacket, describePacket, encodeRequest, fromNtp, isZero, KISS_CODES, LEAP, MODES, referenceIdText, sameTimestamp, toNtp, type NtpPacket, type NtpTimestamp } from './codec.ts';

const sampleSchema = z.object({ offset: z.number(), delay: z.number(), attempts: z.number(), rttMs: z.number() });

const output = z.object({
  version: z.number(),
  mode: z.string(),
  stratum: z.number(),
  leap: z.object({ code: z.number(), meaning: z.string() }),
  synchronized: z.boolean(),
  referenceId: z.string().describe('Reference clock code (stratum 1), upstream server address (stratum 2+) or kiss code'),
  referenceIdHex: z.string(),
  referenceTime: z.string().nullable(),
  serverTime: z.string().describe('The server transmit timestamp (T3)'),
  offset: z.number().describe('θ in seconds: how far this host is behind (+) or ahead (−) of the server'),
  delay: z.number().describe('δ in seconds: round trip less the server processing time'),
  poll: z.number(),
  precision: z.number().describe('Server clock precision, seconds'),
  rootDelay: z.number(),
  rootDispersion: z.number(),
  samples: z.array(sampleSchema),
});

/** A clock with sub-millisecond steps: wall time at start plus the monotonic clock since. */
function clock(): () => number {
  const wall = Date.now();
  const mono = performance.now();
  return () => wall + (performance.now() - mono);
}

const iso = (t: NtpTimestamp) => new Date(fromNtp(t)).toISOString();
const r6 = (n: number) => Math.round(n * 1e6) / 1e6;

/** RFC 4330 §5 and RFC 5905 §8 checks on a reply; kiss-o'-death answers are the server's refusal. */
function checkReply(p: NtpPacket): void {
  if (p.mode !== 4) throw new ProtocolError(`NTP reply in mode ${p.mode} (${MODES[p.mode]}); a server answers in mode 4 (RFC 5905 §7.3)`);
  if (p.stratum === 0) {
    const code = referenceIdText(0, p.referenceId);
    throw new ServerError(`NTP kiss-o'-death ${code}: ${KISS_CODES[code] ?? 'unknown kiss code'} (RFC 5905 §7.4)`, { kissCode: code });
  }
  if (isZero(p.transmit)) throw new ProtocolError('NTP reply with a zero transmit timestamp (RFC 4330 §5: discard it)');
}

export default defineProtocol({
  id: 'ntp',
  title: 'NTP',
  category: 'network',
  summary: "Asks an NTP server for the time (SNTP client mode): clock offset and round-trip delay, the server's stratum, reference, leap indicator and precision. UDP: Node host only.",
  ports: [{ port: 123, transport: 'udp' }],
  specs: ['RFC 5905', 'RFC 4330'],
  rating: {
    stars: 3,
    reason: "Client-mode queries with offset/delay per RFC 5905 §8 over several samples, origin-timestamp matching, kiss-o'-death as the server's error, retransmission on loss; lab-tested against chrony (reference, stratum, leap read back). No NTS, no authentication (MAC), no control (mode 6) queries.",
  },
  verifiedAgainst: 'chrony 4.3-2+deb12u3',
  defaultOperation: 'query',
  identify: { unprobed: 'UDP' },
  operations: {
    query: operation({
      primary: ['samples', 'version'],
      summary: 'Client-mode query: offset, delay, stratum, reference ID, leap',
      input: z.object({
        samples: z.number().int().min(1).max(8).default(1).describe('Queries to send; the one with the smallest delay is reported (RFC 5905 §10 clock filter, simplified)'),
        version: z.union([z.literal(3), z.literal(4)]).default(4).describe('NTP version number to send'),
        ...retryFields({ retries: 2, waitMs: 1000 }),
      }),
      output,
      needs: ['udp'],
      text: (r) =>
        [
          `server time ${r.serverTime}`,
          `offset ${r.offset >= 0 ? '+' : ''}${r.offset.toFixed(6)} s, delay ${r.delay.toFixed(6)} s`,
          `stratum ${r.stratum}, reference ${r.referenceId}, leap ${r.leap.code} (${r.leap.meaning})`,
          `root delay ${r.rootDelay.toFixed(6)} s, root dispersion ${r.rootDispersion.toFixed(6)} s, precision ${r.precision.toExponential(2)} s`,
        ].join('\n'),
      async run(ctx, input) {
        const conn = await ctx.dialUdp();
        const now = clock();
        const samples: { packet: NtpPacket; offset: number; delay: number; attempts: number; rttMs: number }[] = [];
        for (let i = 0; i < input.samples; i++) {
          if (i > 0) await ctx.sleep(50);
          // Each try carries its own transmit timestamp, so the echoed origin says which try was answered.
          const sent: { stamp: NtpTimestamp; at: number }[] = [];
          const answer = await exchange(ctx, conn, () => {
            const at = now();
            const stamp = toNtp(at);
            sent.push({ stamp, at });
            return encodeRequest(stamp, input.version);
          }, {
            retries: input.retries,
            waitMs: input.waitMs,
            what: 'NTP reply',
            describeRequest: `NTPv${input.version} client request`,
            describeAnswer: (b) => {
              try {
                return describePacket(decodePacket(b));
              } catch (e) {
                return `malformed: ${(e as Error).message}`;
              }
            },
            accept: (bytes) => {
              const t4 = now();
              const p = decodePacket(bytes);
              // RFC 5905 §8: a reply whose origin is not one of our transmit timestamps is bogus (or a replay).
              const ours = sent.find((s) => sameTimestamp(s.stamp, p.origin));
              if (!ours) return undefined;
              checkReply(p);
              return { packet: p, ...computeSample(ours.at, fromNtp(p.receive), fromNtp(p.transmit), t4) };
            },
          });
          samples.push({ ...answer.value, attempts: answer.attempts, rttMs: answer.rttMs });
        }
        const best = samples.reduce((a, b) => (b.delay < a.delay ? b : a));
        const p = best.packet;
        ctx.timing.mark('answeredMs');
        return {
          version: p.version,
          mode: MODES[p.mode],
          stratum: p.stratum,
          leap: { code: p.leap, meaning: LEAP[p.leap] },
          synchronized: p.leap !== 3 && p.stratum < 16,
          referenceId: referenceIdText(p.stratum, p.referenceId),
          referenceIdHex: toHex(p.referenceId),
          referenceTime: isZero(p.reference) ? null : iso(p.reference),
          serverTime: iso(p.transmit),
          offset: r6(best.offset),
          delay: r6(best.delay),
          poll: p.poll,
          precision: 2 ** p.precision,
          rootDelay: r6(p.rootDelay),
          rootDispersion: r6(p.rootDispersion),
          samples: samples.map((s) => ({ offset: r6(s.offset), delay: r6(s.delay), attempts: s.attempts, rttMs: s.rttMs })),
        };
      },
    }),
  },
});
