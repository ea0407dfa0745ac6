// Live TCP ping: one probe per request, appended to the chart as it answers.
import { useEffect, useRef, useState } from 'react';
import { runOperation, type ApiError } from '../lib/api.ts';
import { ErrorView } from './ResultView.tsx';
import { PingStats, RttChart, type Probe } from './charts.tsx';

const WINDOW = 120;

export function PingLive({ protocol, operation, input, onStop }: { protocol: string; operation: string; input: Record<string, unknown>; onStop: () => void }) {
  const [probes, setProbes] = useState<Probe[]>([]);
  const [fatal, setFatal] = useState<ApiError | null>(null);
  const [running, setRunning] = useState(true);
  const stopped = useRef(false);
  const seqRef = useRef(0);
  const interval = typeof input.intervalMs === 'number' ? Math.max(200, input.intervalMs) : 1000;
  const key = JSON.stringify(input);

  useEffect(() => {
    if (!running) return;
    stopped.current = false;
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (stopped.current) return;
      const seq = ++seqRef.current;
      const started = performance.now();
      const a = await runOperation(protocol, operation, { ...input, count: 1, intervalMs: 0 }, { signal: ctl.signal });
      if (stopped.current) return;
      const answered = (a.result as { probes?: Probe[] } | undefined)?.probes?.[0];
      if (a.ok && answered) setProbes((list) => [...list, { ...answered, seq }].slice(-WINDOW));
      else if (a.error && ['invalid_input', 'target_blocked', 'unsupported_runtime'].includes(a.error.code)) {
        setFatal(a.error);
        setRunning(false);
        return;
      } else setProbes((list) => [...list, { seq, rttMs: null, outcome: a.error?.code ?? 'error', message: a.error?.message }].slice(-WINDOW));
      timer = setTimeout(tick, Math.max(0, interval - (performance.now() - started)));
    };
    void tick();
    return () => {
      stopped.current = true;
      ctl.abort();
      if (timer) clearTimeout(timer);
    };
    // The input is captured through its JSON key.
  }, [protocol, operation, key, interval, running]);

  const last = probes[probes.length - 1];
  return (
    <div data-testid="ping-live">
      <div className="result-head">
        <span className={`badge ${running ? 'ok' : 'info'}`}>{running ? 'live' : 'stopped'}</span>
        <b>
          TCP ping → {String(input.host ?? '')}:{String(input.port ?? '')}
        </b>
        <span className="muted small">one probe every {interval} ms, last {WINDOW} kept</span>
        <span className="spacer" />
        <button type="button" className="small" onClick={() => setRunning(!running)}>
          {running ? 'Pause' : 'Resume'}
        </button>
        <button type="button" className="small" onClick={() => setProbes([])}>
          Clear
        </button>
        <button type="button" className="small" onClick={onStop}>
          Close
        </button>
      </div>
      {fatal ? <ErrorView error={fatal} /> : null}
      <RttChart probes={probes} />
      <PingStats probes={probes} />
      {last && last.rttMs === null && (
        <p className="small" style={{ color: 'var(--bad)' }}>
          #{last.seq}: {last.outcome} {last.message}
        </p>
      )}
    </div>
  );
}
