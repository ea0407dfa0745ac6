// History of runs (with their responses), collections of saved requests, saved targets: all in this browser only.
import { Fragment, useState } from 'react';
import { download, formatMs, OutcomeBadge, Tag } from '../components.tsx';
import { JsonTree } from '../results/views.tsx';
import { useRegistry } from '../lib/registry.ts';
import { href } from '../lib/router.ts';
import { MAX_HISTORY_CHARS, store, useStore, variablesIn, type Collection, type HistoryEntry, type SavedTarget } from '../lib/storage.ts';

function linkFor(protocol: string | undefined, operation: string | undefined, input: Record<string, unknown>, collection?: string): string {
  if (!protocol) return href([]);
  const q = new URLSearchParams(collection ? { collection } : {});
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

/** Reads a JSON file the user picks. */
function pickJson(onLoad: (value: unknown) => void, onError: (message: string) => void): void {
  const input = document.createElement('input');
  input.type = 'file';
  input.accept = 'application/json,.json';
  input.onchange = async () => {
    const file = input.files?.[0];
    if (!file) return;
    try {
      onLoad(JSON.parse(await file.text()));
    } catch (e) {
      onError(`${file.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  input.click();
}

function matches(h: HistoryEntry, q: string): boolean {
  if (!q) return true;
  const hay = `${h.protocol} ${h.operation} ${String(h.input.host ?? '')}:${String(h.input.port ?? '')} ${h.code} ${h.summary ?? ''} ${JSON.stringify(h.input)} ${h.response === undefined ? '' : JSON.stringify(h.response)}`.toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((t) => hay.includes(t));
}

function History({ entries }: { entries: HistoryEntry[] }) {
  const reg = useRegistry();
  const [open, setOpen] = useState<string | null>(null);
  if (entries.length === 0) return <p className="muted">Nothing here: run an operation, or change the search.</p>;
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
            <th>response</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {entries.map((h) => (
            <Fragment key={h.id}>
              <tr data-history-id={h.id}>
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
                  {h.response !== undefined ? (
                    <button type="button" className="small" aria-expanded={open === h.id} onClick={() => setOpen(open === h.id ? null : h.id)}>
                      {open === h.id ? 'Hide' : 'Show'}
                    </button>
                  ) : h.responseDropped ? (
                    <span className="small warn-text" title="Larger than one history entry keeps">not kept ({Math.round(h.responseDropped / 1024)} KiB)</span>
                  ) : (
                    <span className="muted small">–</span>
                  )}
                </td>
                <td>
                  <button type="button" className="small" aria-label="Remove from history" onClick={() => store.removeHistory(h.id)}>
                    ✕
                  </button>
                </td>
              </tr>
              {open === h.id && (
                <tr>
                  <td colSpan={7}>
                    <JsonTree value={h.response} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CollectionView({ c }: { c: Collection }) {
  const [vars, setVars] = useState(() => Object.entries({ ...Object.fromEntries(c.requests.flatMap((r) => variablesIn(r.input)).map((v) => [v, ''])), ...c.variables }));
  const save = (next: [string, string][]) => {
    setVars(next);
    store.saveCollection({ ...c, variables: Object.fromEntries(next.filter(([k]) => k.trim() !== '')) });
  };
  return (
    <section className="panel" aria-label={`Collection ${c.name}`} data-collection={c.name}>
      <div className="row">
        <h3 style={{ margin: 0 }}>{c.name}</h3>
        <span className="muted small">{c.requests.length} requests</span>
        <span className="spacer" />
        <button type="button" className="small" onClick={() => download(`${c.name.replace(/[^\w.-]+/g, '_')}.portolan-collection.json`, JSON.stringify({ portolan: 'collection', collections: [c] }, null, 2), 'application/json')}>
          Export
        </button>
        <button type="button" className="small danger" onClick={() => confirm(`Delete the collection ${c.name}?`) && store.removeCollection(c.id)}>
          Delete
        </button>
      </div>
      <h4>Variables</h4>
      <div className="form" style={{ maxWidth: 640 }}>
        {vars.map(([k, v], i) => (
          <div className="inline" key={i}>
            <input aria-label="Variable name" value={k} placeholder="name" onChange={(e) => save(vars.map((x, j) => (j === i ? [e.target.value, x[1]] : x)))} />
            <input aria-label={`Value of ${k}`} value={v} placeholder="value" onChange={(e) => save(vars.map((x, j) => (j === i ? [x[0], e.target.value] : x)))} />
          </div>
        ))}
        <button type="button" className="small" onClick={() => save([...vars, ['', '']])}>
          Add a variable
        </button>
      </div>
      <h4>Requests</h4>
      <ul>
        {c.requests.map((r) => (
          <li key={r.id}>
            <a href={linkFor(r.protocol, r.operation, r.input, c.id)}>{r.name}</a>{' '}
            <span className="muted small">
              {r.protocol} {r.operation} {variablesIn(r.input).map((v) => `{{${v}}}`).join(' ')}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function HistoryPage() {
  const history = useStore(store.history);
  const targets = useStore(store.targets);
  const collections = useStore(store.collections);
  const [q, setQ] = useState('');
  const [note, setNote] = useState<string | null>(null);
  const shown = history.filter((h) => matches(h, q));
  const kept = history.reduce((n, h) => n + (h.response === undefined ? 0 : JSON.stringify(h.response).length), 0);
  return (
    <div className="stack">
      <h1>History, collections & saved targets</h1>
      <p className="muted">Stored in this browser's localStorage, nowhere else. Passwords, secrets, passphrases, tokens and private keys are never written to history, collections or links.</p>
      {note && (
        <p className="small" role="status">
          {note}
        </p>
      )}
      <section className="panel">
        <div className="row">
          <h2 style={{ margin: 0 }}>History ({history.length})</h2>
          <span className="small muted">
            responses kept: {Math.round(kept / 1024)} of {MAX_HISTORY_CHARS / 1024} KiB
          </span>
          <span className="spacer" />
          <input className="search" type="search" placeholder="Search history and responses…" aria-label="Search history" value={q} onChange={(e) => setQ(e.target.value)} style={{ maxWidth: 320 }} />
          <button type="button" className="small" disabled={!history.length} onClick={() => download('portolan-history.json', JSON.stringify({ portolan: 'history', entries: history }, null, 2), 'application/json')}>
            Export JSON
          </button>
          <button
            type="button"
            className="small"
            onClick={() =>
              pickJson(
                (v) => {
                  const entries = Array.isArray(v) ? v : ((v as { entries?: unknown }).entries ?? []);
                  setNote(`Imported ${store.importHistory(entries as HistoryEntry[])} history entries.`);
                },
                (m) => setNote(`Not imported: ${m}`),
              )
            }
          >
            Import
          </button>
          <button type="button" className="small danger" disabled={!history.length} onClick={() => confirm('Clear the whole history?') && store.clearHistory()}>
            Clear
          </button>
        </div>
        <div style={{ marginTop: 10 }}>
          <History entries={shown} />
        </div>
      </section>
      <section className="panel" id="collections">
        <div className="row">
          <h2 style={{ margin: 0 }}>Collections ({collections.length})</h2>
          <span className="spacer" />
          <button type="button" className="small" onClick={() => store.saveCollection({ name: `Collection ${collections.length + 1}`, variables: { host: '' }, requests: [] })}>
            New collection
          </button>
          <button
            type="button"
            className="small"
            onClick={() =>
              pickJson(
                (v) => {
                  const list = Array.isArray(v) ? v : ((v as { collections?: unknown }).collections ?? []);
                  setNote(`Imported ${store.importCollections(list as Collection[])} collections.`);
                },
                (m) => setNote(`Not imported: ${m}`),
              )
            }
          >
            Import
          </button>
          <button type="button" className="small" disabled={!collections.length} onClick={() => download('portolan-collections.json', JSON.stringify({ portolan: 'collection', collections }, null, 2), 'application/json')}>
            Export all
          </button>
        </div>
        {collections.length === 0 ? (
          <p className="muted">No collections yet. “Save to collection” under any form keeps the request; write {'{{host}}'} in a field to fill it from the collection's variables.</p>
        ) : (
          <div className="stack" style={{ marginTop: 10 }}>
            {collections.map((c) => (
              <CollectionView key={c.id} c={c} />
            ))}
          </div>
        )}
      </section>
      <section className="panel">
        <h2>Saved targets ({targets.length})</h2>
        <Targets targets={targets} />
      </section>
    </div>
  );
}
