// How every benchmark reports: one line per figure, with its ratio to a baseline measured in the same
// run, the goal it is held to, and a closing count. A goal not met is reported, not a failure; only the
// limits a benchmark marks `fatal` (the Worker bundle over 1 MiB gzip) make `npm run bench` fail.

export const tiny = process.env.BENCH_TINY === '1';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The same quantity measured in the same run by the thing we compare against. */
  baseline?: { name: string; value: number };
  /** When the ratio is not value / baseline.value (e.g. the median of paired per-round ratios). */
  ratio?: number;
  goal?: string;
  pass?: boolean;
  /** A missed goal that fails the benchmark run. */
  fatal?: boolean;
  /** Spread or context printed after the figure: p99, rounds, errors. */
  note?: string;
}

const figures: Figure[] = [];

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  return a >= 100 ? n.toFixed(0) : a >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function report(f: Figure): void {
  figures.push(f);
  const ratio = f.baseline ? `  ratio ${(f.ratio ?? f.value / f.baseline.value).toFixed(2)} vs ${f.baseline.name} (${fmt(f.baseline.value)} ${f.unit})` : '';
  const goal = f.goal ? `  goal ${f.goal}: ${f.pass ? 'met' : 'NOT MET'}` : '';
  const note = f.note ? `  [${f.note}]` : '';
  console.log(`${f.name}: ${fmt(f.value)} ${f.unit}${ratio}${goal}${note}`);
}

/** A line of context that is not a figure (what was measured, where). */
export function say(line: string): void {
  console.log(line);
}

/** The closing line; sets a failing exit code only when a fatal limit was missed. */
export function finish(): Figure[] {
  const failed = figures.filter((f) => f.goal && !f.pass);
  console.log(`\n${figures.length} figures, ${failed.length} goals not met${failed.length ? `: ${failed.map((f) => f.name).join('; ')}` : ''}`);
  if (figures.some((f) => f.fatal && !f.pass)) process.exitCode = 1;
  return figures;
}

/** The machine a run came from: its figures mean little without it. */
export async function machine(): Promise<string> {
  const os = await import('node:os');
  const [l1, l5, l15] = os.loadavg();
  const gib = (n: number) => (n / 1024 ** 3).toFixed(1);
  return `${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), ${gib(os.totalmem())} GiB RAM (${gib(os.freemem())} free), load average ${l1.toFixed(2)} ${l5.toFixed(2)} ${l15.toFixed(2)}, node ${process.version}`;
}

// --- statistics ---------------------------------------------------------------------------------

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((s.length * p) / 100) - 1))];
}

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Mean of the middle values, `trim` of them dropped at each end: robust to a stray retransmit, still unbiased on ms-quantised clocks. */
export function trimmedMean(xs: readonly number[], trim = 0.05): number {
  const s = sorted(xs);
  const k = Math.floor(s.length * trim);
  return mean(s.slice(k, s.length - k));
}

/** Paired comparison: the median of per-round ratios, so a load spike in one round moves both sides. */
export function pairedRatio(subject: readonly number[], baseline: readonly number[]): number {
  return median(subject.map((v, i) => v / baseline[i]));
}

/** Runs each entry once per round, rotating the order, so no path always runs first or after a slow one. */
export async function interleave<K extends string>(rounds: number, entries: Record<K, () => Promise<void>>): Promise<void> {
  const keys = Object.keys(entries) as K[];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < keys.length; i++) await entries[keys[(i + round) % keys.length]]();
  }
}
