// "What runs where": capabilities per runtime and every operation a runtime cannot run, generated from the declarations.
import { useEffect, useState } from 'react';
import { Tag } from '../components.tsx';
import { fetchCapabilities, fetchRuntime, type Capabilities } from '../lib/api.ts';
import { useRegistry } from '../lib/registry.ts';
import { href } from '../lib/router.ts';

export function WherePage() {
  const reg = useRegistry();
  const [caps, setCaps] = useState<Capabilities | null>(null);
  const [runtime, setRuntime] = useState<Record<string, unknown> | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetchCapabilities().then(setCaps, (e: unknown) => setError(String(e)));
    fetchRuntime().then(setRuntime, () => undefined);
  }, []);
  if (error) return <div className="error-box">{error}</div>;
  if (!caps) return <p className="muted">Loading /api/capabilities…</p>;
  const runtimes = [...new Set(caps.operations.flatMap((o) => Object.keys(o.support)))];
  const blocked = runtimes.map((r) => [r, caps.operations.filter((o) => !o.support[r]?.supported)] as const);
  const total = caps.operations.length;
  return (
    <div className="stack">
      <h1>What runs where</h1>
      <p className="muted">
        Generated live from the protocol declarations (<a href="/api/capabilities">/api/capabilities</a>). This page is served by the <b>{reg.runtime}</b> runtime
        {runtime?.capabilities ? <> with {(runtime.capabilities as string[]).join(', ')}</> : null}.
      </p>
      <section className="panel">
        <h2>Capabilities</h2>
        <div className="table-wrap">
          <table className="grid matrix" aria-label="Capabilities by runtime">
            <thead>
              <tr>
                <th>capability</th>
                {runtimes.map((r) => (
                  <th key={r}>{r}</th>
                ))}
                <th>why not, and what instead</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(caps.capabilities).map(([name, c]) => (
                <tr key={name}>
                  <td>
                    <b>{name}</b>
                    <div className="small muted" style={{ fontFamily: 'var(--sans)' }}>
                      {c.title}
                    </div>
                  </td>
                  {runtimes.map((r) => (
                    <td key={r} className={c[r] ? 'yes' : 'no'} aria-label={c[r] ? 'yes' : 'no'}>
                      {c[r] ? '✓' : '✕'}
                    </td>
                  ))}
                  <td style={{ fontFamily: 'var(--sans)' }}>
                    {c.workersReason && <div>{c.workersReason}</div>}
                    {c.alternative && <div className="muted">{c.alternative}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      {blocked.map(([r, ops]) => (
        <section className="panel" key={r}>
          <h2>
            On {r}: {total - ops.length} of {total} operations run
          </h2>
          {ops.length === 0 ? (
            <p className="muted">Everything runs here.</p>
          ) : (
            <div className="table-wrap">
              <table className="grid" aria-label={`Operations ${r} cannot run`}>
                <thead>
                  <tr>
                    <th>operation</th>
                    <th>needs</th>
                    <th>why</th>
                    <th>instead</th>
                  </tr>
                </thead>
                <tbody>
                  {ops.map((o) => (
                    <tr key={`${o.protocol}/${o.operation}`}>
                      <td>
                        <a href={href(['run', o.protocol, o.operation])}>
                          {o.protocol} {o.operation}
                        </a>
                      </td>
                      <td>
                        {(o.support[r]?.missing ?? o.needs).map((n) => (
                          <Tag key={n} tone="warn">
                            {n}
                          </Tag>
                        ))}
                      </td>
                      <td style={{ fontFamily: 'var(--sans)' }}>{o.support[r]?.reasons?.join(' ')}</td>
                      <td style={{ fontFamily: 'var(--sans)' }}>{o.support[r]?.alternatives?.join(' ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      ))}
      <section className="panel">
        <h2>TLS modes per runtime</h2>
        <p className="small muted">Operations whose TLS variants differ by runtime (e.g. implicit TLS to a private CA needs the Node host).</p>
        <div className="table-wrap">
          <table className="grid" aria-label="TLS modes by runtime">
            <thead>
              <tr>
                <th>operation</th>
                {runtimes.map((r) => (
                  <th key={r}>{r}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {caps.operations
                .filter((o) => runtimes.some((r) => Object.keys(o.support[r]?.tls ?? {}).length > 1))
                .map((o) => (
                  <tr key={`${o.protocol}/${o.operation}`}>
                    <td>
                      {o.protocol} {o.operation}
                    </td>
                    {runtimes.map((r) => (
                      <td key={r}>
                        {Object.entries(o.support[r]?.tls ?? {}).map(([m, ok]) => (
                          <Tag key={m} tone={ok ? 'ok' : 'bad'}>
                            {m}
                          </Tag>
                        ))}
                      </td>
                    ))}
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}
