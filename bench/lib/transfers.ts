// Transfers timed side by side: each path once per round in interleaved rounds, workerd's CPU counted for the
// paths through it, and one figure per pair (MiB/s through workerd beside the native client, paired ratio).
import { MiB } from '../../test/files.ts';
import { cpuMs } from './proc.ts';
import { interleave, median, pairedRatio, report } from './report.ts';

export interface TransferTimes {
  times: Record<string, number[]>;
  /** workerd CPU per run, for the paths whose name ends in "workerd". */
  cpu: Record<string, number[]>;
}

export async function timeTransfers(rounds: number, paths: Record<string, () => Promise<void>>, workerdPid: number): Promise<TransferTimes> {
  const out: TransferTimes = { times: {}, cpu: {} };
  const entries = Object.fromEntries(
    Object.entries(paths).map(([name, fn]) => [
      name,
      async () => {
        const throughWorkerd = name.endsWith('workerd');
        const c0 = throughWorkerd ? cpuMs(workerdPid) : 0;
        const t0 = performance.now();
        await fn();
        (out.times[name] ??= []).push(performance.now() - t0);
        if (throughWorkerd) (out.cpu[name] ??= []).push(cpuMs(workerdPid) - c0);
      },
    ]),
  );
  await interleave(rounds, entries);
  return out;
}

/** Pairs are [path through workerd, baseline path, goal ratio or null]; names read "what, who". */
export function reportTransfers(size: number, rounds: number, t: TransferTimes, pairs: readonly (readonly [string, string, number | null])[]): void {
  const rate = (ms: number) => size / MiB / (ms / 1000);
  for (const [ours, base, goal] of pairs) {
    const oursRate = t.times[ours].map(rate);
    const baseRate = t.times[base].map(rate);
    const ratio = pairedRatio(oursRate, baseRate);
    report({
      name: `${ours.split(',')[0]} of ${size / MiB} MiB through workerd, streamed (whole request)`,
      value: median(oursRate),
      unit: 'MiB/s',
      baseline: { name: base.split(', ')[1], value: median(baseRate) },
      ratio,
      ...(goal === null ? {} : { goal: `≥ ${goal}x`, pass: ratio >= goal }),
      note: `${rounds} interleaved rounds; workerd CPU ${(median(t.cpu[ours]) / (size / MiB)).toFixed(2)} ms per MiB`,
    });
  }
}
