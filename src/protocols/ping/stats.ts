// Round-trip statistics and the ping(8)-shaped text report.

export interface PingStats {
  sent: number;
  received: number;
  lossPercent: number;
  minMs: number | null;
  avgMs: number | null;
  maxMs: number | null;
  stddevMs: number | null;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** Population standard deviation, as ping(8) reports it (mdev). */
export function summarize(rtts: (number | null)[]): PingStats {
  const ok = rtts.filter((r): r is number => r !== null);
  const sent = rtts.length;
  const received = ok.length;
  const lossPercent = sent === 0 ? 0 : round3(((sent - received) / sent) * 100);
  if (received === 0) return { sent, received, lossPercent, minMs: null, avgMs: null, maxMs: null, stddevMs: null };
  const avg = ok.reduce((a, b) => a + b, 0) / received;
  const variance = ok.reduce((a, b) => a + (b - avg) ** 2, 0) / received;
  return { sent, received, lossPercent, minMs: round3(Math.min(...ok)), avgMs: round3(avg), maxMs: round3(Math.max(...ok)), stddevMs: round3(Math.sqrt(variance)) };
}

export function formatPing(target: string, probes: { seq: number; rttMs: number | null; outcome: string; message?: string }[], s: PingStats): string {
  const lines = [`PING ${target} (TCP connect)`];
  for (const p of probes) {
    lines.push(p.rttMs !== null ? `connected to ${target}: seq=${p.seq} time=${p.rttMs.toFixed(3)} ms` : `${target}: seq=${p.seq} ${p.outcome}${p.message ? ` (${p.message})` : ''}`);
  }
  lines.push('', `--- ${target} tcp ping statistics ---`, `${s.sent} probes transmitted, ${s.received} connected, ${s.lossPercent}% loss`);
  if (s.minMs !== null) lines.push(`rtt min/avg/max/stddev = ${s.minMs.toFixed(3)}/${s.avgMs!.toFixed(3)}/${s.maxMs!.toFixed(3)}/${s.stddevMs!.toFixed(3)} ms`);
  return lines.join('\n') + '\n';
}

/** Megabits per second, or null when the time is below what the clock resolves (Workers clocks move in whole ms, only on I/O). */
export function mbps(bytes: number, elapsedMs: number): number | null {
  if (elapsedMs <= 0) return null;
  return Math.round(((bytes * 8) / (elapsedMs / 1000) / 1e6) * 10) / 10;
}
