// StatsD line protocol (etsy/statsd docs/metric_types.md): "name:value|type[|@rate][|#tags]", several lines per
// datagram separated by "\n"; the DogStatsD tag extension ("|#k:v,k2:v2") as collectd and Datadog read it.
import { utf8 } from '../../core/bytes.ts';
import { InvalidInput } from '../../core/errors.ts';

export const TYPES = { c: 'counter', g: 'gauge', ms: 'timer', h: 'histogram', s: 'set' } as const;
export type MetricType = keyof typeof TYPES;

export interface Metric {
  name: string;
  value: number | string;
  type: MetricType;
  /** Counters and timers: the fraction of events this one stands for (0 < rate ≤ 1). */
  sampleRate?: number;
  tags?: Record<string, string>;
  /** Gauges: apply as a delta (+5 / -3) instead of setting the value. */
  delta?: boolean;
}

const NAME = /^[^:|@#\s]+$/;
const TAG = /^[^:|,#\s]+$/;

/** One metric line. Names and values that would break the line format are refused, naming the metric. */
export function encodeMetric(m: Metric, field = 'metrics'): string {
  if (!NAME.test(m.name)) throw InvalidInput.field(field, `metric name ${JSON.stringify(m.name)} may not contain ':', '|', '@', '#' or spaces`);
  let value: string;
  if (m.type === 's') {
    value = String(m.value);
    if (!/^[^:|\n]+$/.test(value)) throw InvalidInput.field(field, `set member ${JSON.stringify(value)} may not contain ':', '|' or a newline`);
  } else {
    const n = Number(m.value);
    if (!Number.isFinite(n)) throw InvalidInput.field(field, `${m.name}: value ${JSON.stringify(m.value)} is not a number`);
    if (m.type === 'g' && m.delta) value = n >= 0 ? `+${n}` : String(n);
    else {
      // A gauge set to a negative number must be preceded by a zero set (a leading '-' means a decrement).
      if (m.type === 'g' && n < 0) throw InvalidInput.field(field, `${m.name}: a gauge cannot be set negative directly (that reads as a decrement); set 0, then send a delta`);
      value = String(n);
    }
  }
  let line = `${m.name}:${value}|${m.type}`;
  if (m.sampleRate !== undefined && m.sampleRate !== 1) {
    if (!(m.sampleRate > 0 && m.sampleRate <= 1)) throw InvalidInput.field(field, `${m.name}: sampleRate must be in (0, 1]`);
    line += `|@${m.sampleRate}`;
  }
  if (m.tags && Object.keys(m.tags).length) {
    const tags = Object.entries(m.tags).map(([k, v]) => {
      if (!TAG.test(k) || (v !== '' && !TAG.test(v))) throw InvalidInput.field(field, `${m.name}: tag ${k}:${v} may not contain ':', '|', ',', '#' or spaces`);
      return v === '' ? k : `${k}:${v}`;
    });
    line += `|#${tags.join(',')}`;
  }
  return line;
}

/** Lines packed into datagrams of at most `maxBytes` (one line per datagram if it is longer alone). */
export function packDatagrams(lines: readonly string[], maxBytes: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let current: string[] = [];
  let size = 0;
  for (const line of lines) {
    const n = utf8(line).length;
    if (current.length && size + 1 + n > maxBytes) {
      out.push(utf8(current.join('\n')));
      current = [];
      size = 0;
    }
    current.push(line);
    size += (current.length > 1 ? 1 : 0) + n;
  }
  if (current.length) out.push(utf8(current.join('\n')));
  return out;
}
