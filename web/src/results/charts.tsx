// TCP ping's RTT chart and the port check's grid.
import { formatMs } from '../components.tsx';
import { href } from '../lib/router.ts';

export interface Probe {
  seq: number;
  rttMs: number | null;
  outcome?: string;
  message?: string;
}

/** Round-trip times as a line, lost probes as red marks on the axis. */
export function RttChart({ probes, width = 640, height = 220 }: { probes: Probe[]; width?: number; height?: number }) {
  const pad = { l: 52, r: 12, t: 12, b: 26 };
  const ok = probes.filter((p) => p.rttMs !== null) as (Probe & { rttMs: number })[];
  const max = Math.max(1, ...ok.map((p) => p.rttMs)) * 1.15;
  const n = Math.max(probes.length, 2);
  const x = (i: number) => pad.l + ((width - pad.l - pad.r) * i) / (n - 1);
  const y = (ms: number) => height - pad.b - ((height - pad.t - pad.b) * ms) / max;
  const points = probes.map((p, i) => (p.rttMs === null ? null : `${x(i)},${y(p.rttMs)}`)).filter(Boolean).join(' ');
  const ticks = [0, max / 2, max].map((v) => Number(v.toFixed(v < 10 ? 2 : 0)));
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={`RTT of ${probes.length} probes, ${ok.length} answered`} data-testid="rtt-chart">
      {ticks.map((t) => (
        <g key={t}>
          <line className="axis" x1={pad.l} x2={width - pad.r} y1={y(t)} y2={y(t)} />
          <text className="label" x={pad.l - 6} y={y(t) + 4} textAnchor="end">
            {t} ms
          </text>
        </g>
      ))}
      <polyline className="line" points={points} vectorEffect="non-scaling-stroke" />
      {probes.map((p, i) =>
        p.rttMs === null ? (
          <text key={p.seq} className="lost" x={x(i)} y={height - pad.b + 4} textAnchor="middle" fontSize="14">
            ✕<title>{`#${p.seq}: ${p.outcome ?? 'lost'} ${p.message ?? ''}`}</title>
          </text>
        ) : (
          <circle key={p.seq} className="dot" cx={x(i)} cy={y(p.rttMs)} r={3}>
            <title>{`#${p.seq}: ${formatMs(p.rttMs)}`}</title>
          </circle>
        ),
      )}
      <text className="label" x={width - pad.r} y={height - 6} textAnchor="end">
        probe #{probes[probes.length - 1]?.seq ?? 0}
      </text>
    </svg>
  );
}

export function PingStats({ probes }: { probes: Probe[] }) {
  const ok = probes.filter((p) => p.rttMs !== null).map((p) => p.rttMs as number);
  const avg = ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
  const sd = avg === null ? null : Math.sqrt(ok.reduce((a, b) => a + (b - avg) ** 2, 0) / ok.length);
  const loss = probes.length ? ((probes.length - ok.length) / probes.length) * 100 : 0;
  return (
    <div className="stats" aria-label="Ping statistics">
      <span>
        sent <b>{probes.length}</b>
      </span>
      <span>
        received <b>{ok.length}</b>
      </span>
      <span>
        loss <b>{loss.toFixed(0)}%</b>
      </span>
      <span>
        min <b>{formatMs(ok.length ? Math.min(...ok) : null)}</b>
      </span>
      <span>
        avg <b>{formatMs(avg)}</b>
      </span>
      <span>
        max <b>{formatMs(ok.length ? Math.max(...ok) : null)}</b>
      </span>
      <span>
        stddev <b>{formatMs(sd)}</b>
      </span>
    </div>
  );
}

/** A port as a check or an identification reports it; `protocol` etc. when the port was identified. */
export interface PortCell {
  port: number;
  state: string;
  rttMs?: number | null;
  detail?: string;
  protocol?: string;
  service?: string;
  product?: string;
  version?: string;
  tls?: { mode?: string };
}

/** The ports as a grid; an identified port names its service and product and links to its protocol's page. */
export function PortGrid({ results, host }: { results: PortCell[]; host?: string }) {
  const counts = results.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.state]: (acc[r.state] ?? 0) + 1 }), {});
  return (
    <div style={{ marginBottom: 12 }}>
      <div className="row small muted" style={{ marginBottom: 6 }}>
        {Object.entries(counts).map(([state, n]) => (
          <span key={state}>
            {n} {state}
          </span>
        ))}
      </div>
      <div className="portgrid" role="list" aria-label="Ports" data-testid="port-grid">
        {results.map((r) => (
          <div key={r.port} role="listitem" className={`portcell ${r.state}`} data-port={r.port} title={r.detail ?? (r.rttMs != null ? `${r.rttMs} ms` : r.state)}>
            <b>{r.port}</b>
            {r.state}
            {r.rttMs != null ? ` ${formatMs(r.rttMs)}` : ''}
            {r.service && r.service !== 'unknown' && (
              <div className="small" data-testid="port-service">
                {r.protocol && r.protocol !== 'unknown' ? (
                  <a href={href(['p', r.protocol], new URLSearchParams({ ...(host ? { host } : {}), port: String(r.port), ...(r.tls?.mode === 'implicit' ? { tls: 'implicit' } : {}) }))}>{r.service}</a>
                ) : (
                  r.service
                )}
                {r.tls?.mode === 'implicit' ? ' (TLS)' : ''}
                {r.product ? ` · ${r.product}${r.version ? ` ${r.version}` : ''}` : r.version ? ` · ${r.version}` : ''}
              </div>
            )}
          </div>
        ))}
      </div>
    </div>
  );
}
