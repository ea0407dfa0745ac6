// Transfers timed side by side: each path once per round in interleaved rounds, workerd's CPU counted for the
// paths through it, and one figure per pair (MiB/s through workerd beside the native client, paired ratio).
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import net from 'node:net';
import { MiB } from '../../test/files.ts';
import { cpuMs } from './proc.ts';
import { interleave, median, pairedRatio, report } from './report.ts';
import { startMinimalTransfer, type Bundle } from './workerd.ts';

/**
 * The runtime's floor for a download: a local TCP source that sends the file to whoever connects, through a
 * Worker that does nothing but pipe the socket into its response, read by curl to /dev/null.
 */
export async function startDownloadFloor(bundle: Bundle, filePath: string): Promise<{ download(): Promise<void>; stop(): Promise<void> }> {
  const floor = await startMinimalTransfer(bundle);
  const source = net.createServer((s) => {
    s.on('error', () => {});
    createReadStream(filePath, { highWaterMark: 256 * 1024 }).pipe(s);
  });
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  const port = (source.address() as net.AddressInfo).port;
  return {
    download: () =>
      new Promise<void>((resolve, reject) =>
        execFile('curl', ['-sS', '-f', '-o', '/dev/null', `${floor.url}/?port=${port}`], (err, _out, stderr) => (err ? reject(new Error(`the download floor: ${err.message} ${stderr}`)) : resolve())),
      ),
    async stop() {
      await floor.stop();
      source.close();
    },
  };
}

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

/** The download floor's figure: its speed and its paired ratio to the native client timed in the same rounds. */
export function reportDownloadFloor(size: number, floorMs: number[], clientMs: number[], client: string): void {
  const rate = (ms: number) => size / MiB / (ms / 1000);
  const [floorRate, clientRate] = [floorMs.map(rate), clientMs.map(rate)];
  report({
    name: `the runtime's floor: ${size / MiB} MiB from a local TCP source through a Worker that only pipes it into its response`,
    value: median(floorRate),
    unit: 'MiB/s',
    baseline: { name: client, value: median(clientRate) },
    ratio: pairedRatio(floorRate, clientRate),
    note: `what any Worker reaches on this machine: the highest ratio to ${client} a download through workerd can have`,
  });
}
