// History of runs and saved targets, both kept in this browser only.
import { download, formatMs, OutcomeBadge, Tag } from '../components.tsx';
import { useRegistry } from '../lib/registry.ts';
import { href } from '../lib/router.ts';
import { store, useStore, type HistoryEntry, type SavedTarget } from '../lib/storage.ts';

function linkFor(protocol: string | undefined, operation: string | undefined, input: Record<string, unknown>): string {
  if (!protocol) return href([]);
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(input)) if (v !== undefined) q.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  return operation ? href(['run', protocol, operation], q) : href(['p', protocol], q);
}

function Targets({ targets }: { targets: SavedTarget[] }) {
  if (targets.length === 0)
    return <p className="muted">No saved targets yet. “Save target” under any form keeps the host, port and fields here; secrets only when you tick the box for that target.</p>;
  return (
    <div className="table-wrap">
      <table className="grid" aria-label="Saved targets">
        <thead>
          <tr>
            <th>name</th>
            <th>target</th>
            <th>operation</th>
            <th>secrets</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {targets.map((t) => (
            <tr key={t.id}>
              <td>
                <a href={linkFor(t.protocol, t.operation, { ...t.fields, host: t.host, port: t.port })}>{t.name}</a>
              </td>
              <td>
                {t.host}
                {t.port ? `:${t.port}` : ''}
              </td>
              <td>{[t.protocol, t.operation].filter(Boolean).join(' ')}</td>
              <td>{t.keepSecrets ? <Tag tone="warn">kept in this browser</Tag> : <span className="muted">not stored</span>}</td>
              <td>
                <button type="button" className="small danger" aria-label={`Delete target ${t.name}`} onClick={() => store.removeTarget(t.id)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function History({ entries }: { entries: HistoryEntry[] }) {
  const reg = useRegistry();
  if (entries.length === 0) return <p className="muted">Nothing run yet from this browser.</p>;
  return (
    <div className="table-wrap">
      <table className="grid" aria-label="History">
        <thead>
          <tr>
            <th>when</th>
            <th>operation</th>
            <th>target</th>
            <th>outcome</th>
            <th>total</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {entries.map((h) => (
            <tr key={h.id}>
              <td>{new Date(h.at).toLocaleString()}</td>
              <td>
                <a href={linkFor(h.protocol, h.operation, h.input)} title="Open with the same inputs (secrets are never kept)">
                  {reg.protocols.find((p) => p.id === h.protocol)?.title ?? h.protocol} {h.operation}
                </a>
              </td>
              <td>
                {String(h.input.host ?? '')}
                {h.input.port ? `:${String(h.input.port)}` : ''}
              </td>
              <td title={h.summary}>
                <OutcomeBadge code={h.code} />
              </td>
              <td>{formatMs(h.totalMs)}</td>
              <td>
                <button type="button" className="small" aria-label="Remove from history" onClick={() => store.removeHistory(h.id)}>
                  ✕
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function HistoryPage() {
  const history = useStore(store.history);
  const targets = useStore(store.targets);
  return (
    <div className="stack">
      <h1>History & saved targets</h1>
      <p className="muted">Stored in this browser's localStorage, nowhere else. Passwords, secrets, passphrases, tokens and private keys are never written to history or links.</p>
      <section className="panel">
        <h2>Saved targets ({targets.length})</h2>
        <Targets targets={targets} />
      </section>
      <section className="panel">
        <div className="row">
          <h2 style={{ margin: 0 }}>History ({history.length})</h2>
          <span className="spacer" />
          <button type="button" className="small" disabled={!history.length} onClick={() => download('portolan-history.json', JSON.stringify(history, null, 2), 'application/json')}>
            Export JSON
          </button>
          <button type="button" className="small danger" disabled={!history.length} onClick={() => confirm('Clear the whole history?') && store.clearHistory()}>
            Clear
          </button>
        </div>
        <div style={{ marginTop: 10 }}>
          <History entries={history} />
        </div>
      </section>
    </div>
  );
}
