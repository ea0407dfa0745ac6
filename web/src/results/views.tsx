// Typed result views: key/value, sortable tables with export, JSON tree, hex dump, timing bar, transcript timeline.
import { useMemo, useState, type ReactNode } from 'react';
import { CopyButton, download, formatMs } from '../components.tsx';
import type { Transcript, TranscriptEntry } from '../lib/api.ts';
import { base64ToBytes, hexDumpRows, hexToBytes, toCsv, utf8 } from '../lib/bytes.ts';
import { isBytesObject } from '../lib/schema.ts';

/** A primitive, colored by type. */
export function Scalar({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span className="v-null">{value === null ? 'null' : '–'}</span>;
  if (typeof value === 'boolean') return <span className={value ? 'v-bool-true' : 'v-bool-false'}>{value ? 'yes' : 'no'}</span>;
  if (typeof value === 'number') return <span className="v-num">{Number.isInteger(value) ? value : Number(value.toFixed(3))}</span>;
  if (isBytesObject(value)) return <BytesInline value={value} />;
  if (typeof value === 'object') return <span className="mono">{JSON.stringify(value)}</span>;
  return <span>{String(value)}</span>;
}

export function BytesInline({ value }: { value: { text?: string; base64?: string; hex?: string } }) {
  if (value.text !== undefined) return <span title="text">{value.text}</span>;
  if (value.hex !== undefined) return <span title="hex" className="mono">0x{value.hex}</span>;
  return <span title="base64" className="mono">b64:{value.base64}</span>;
}

export function KeyValue({ entries }: { entries: [string, ReactNode][] }) {
  return (
    <dl className="kv">
      {entries.map(([k, v]) => (
        <div key={k} style={{ display: 'contents' }}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A collapsible tree of any JSON value. */
export function JsonTree({ value, name, depth = 0 }: { value: unknown; name?: string; depth?: number }) {
  const [open, setOpen] = useState(depth < 2);
  const label = name !== undefined ? <span className="k">{name}: </span> : null;
  if (value === null || typeof value !== 'object') {
    return (
      <div className="jt">
        {label}
        {typeof value === 'string' ? <span className="s">"{value}"</span> : <Scalar value={value} />}
      </div>
    );
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const brackets = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return (
    <div className="jt">
      <button type="button" className="toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? '▾' : '▸'}
      </button>
      {label}
      {brackets[0]}
      {!open && (
        <span className="muted">
          {' '}
          {entries.length} {Array.isArray(value) ? 'items' : 'keys'} {brackets[1]}
        </span>
      )}
      {open && (
        <>
          <ul>
            {entries.slice(0, 500).map(([k, v]) => (
              <li key={k}>
                <JsonTree value={v} name={k} depth={depth + 1} />
              </li>
            ))}
            {entries.length > 500 && <li className="muted">… {entries.length - 500} more</li>}
          </ul>
          {brackets[1]}
        </>
      )}
    </div>
  );
}

export function HexDump({ bytes, label }: { bytes: Uint8Array; label?: string }) {
  const rows = useMemo(() => hexDumpRows(bytes), [bytes]);
  return (
    <div className="hexdump" role="region" aria-label={label ?? 'hex dump'} tabIndex={0}>
      {rows.map((r) => (
        <div key={r.offset}>
          <span className="off">{r.offset}</span>  {r.hex} <span className="asc">|{r.ascii}|</span>
        </div>
      ))}
      {bytes.length > 64 * 1024 && <div className="muted">… {bytes.length - 64 * 1024} more bytes</div>}
      {bytes.length === 0 && <span className="muted">(no bytes)</span>}
    </div>
  );
}

/**
 * Bytes shown as text or as a hex dump, with a download. `preview: false` (a downloaded file) shows only
 * its size and the buttons until a preview is asked for: a file is not a wall of text.
 */
export function BytesView({ bytes, name, text, preview = true }: { bytes: Uint8Array; name: string; text?: string; preview?: boolean }) {
  const printable = text ?? utf8(bytes.subarray(0, 256 * 1024));
  const isText = text !== undefined || !/[\x00-\x08\x0e-\x1f]/.test(printable.slice(0, 4096));
  const [mode, setMode] = useState<'none' | 'text' | 'hex'>(!preview ? 'none' : isText ? 'text' : 'hex');
  return (
    <div>
      <div className="row small" style={{ marginBottom: 6 }}>
        <span role="tablist" aria-label={`${name} view`} className="row">
          <button type="button" role="tab" className="small" aria-selected={mode === 'text'} onClick={() => setMode(mode === 'text' && !preview ? 'none' : 'text')}>
            {preview ? 'text' : 'preview as text'}
          </button>
          <button type="button" role="tab" className="small" aria-selected={mode === 'hex'} onClick={() => setMode(mode === 'hex' && !preview ? 'none' : 'hex')}>
            {preview ? 'hex' : 'preview as hex'}
          </button>
        </span>
        <span className="muted">{bytes.length} bytes</span>
        <button type="button" className="small" onClick={() => download(name.replace(/[^\w.-]+/g, '_') || 'data.bin', bytes, 'application/octet-stream')}>
          {preview ? 'Download' : 'Save as file'}
        </button>
      </div>
      {mode === 'text' ? <pre className="textblock">{printable}</pre> : mode === 'hex' ? <HexDump bytes={bytes} label={name} /> : null}
    </div>
  );
}

export function bytesOf(v: { text?: string; base64?: string; hex?: string }): Uint8Array {
  if (v.hex !== undefined) return hexToBytes(v.hex);
  if (v.base64 !== undefined) return base64ToBytes(v.base64);
  return new TextEncoder().encode(v.text ?? '');
}

export interface Column {
  key: string;
  label: string;
  numeric?: boolean;
  /** Shown on hover: the column's type, for query results. */
  title?: string;
}

function sortValue(v: unknown): string | number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return '';
  if (isBytesObject(v)) return v.text ?? v.hex ?? v.base64 ?? '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A sortable table with CSV and JSON export. Rows are arrays aligned with columns. */
export function DataTable({ columns, rows, name, rawRows }: { columns: Column[]; rows: unknown[][]; name: string; rawRows?: unknown[] }) {
  const [sort, setSort] = useState<{ col: number; dir: 1 | -1 } | null>(null);
  const [limit, setLimit] = useState(500);
  const order = useMemo(() => {
    const idx = rows.map((_, i) => i);
    if (!sort) return idx;
    return idx.sort((a, b) => {
      const x = sortValue(rows[a][sort.col]);
      const y = sortValue(rows[b][sort.col]);
      if (typeof x === 'number' && typeof y === 'number') return (x - y) * sort.dir;
      return String(x).localeCompare(String(y), undefined, { numeric: true }) * sort.dir;
    });
  }, [rows, sort]);
  const file = name.replace(/[^\w.-]+/g, '_');
  return (
    <div>
      <div className="row small" style={{ marginBottom: 6 }}>
        <span className="muted">
          {rows.length} row{rows.length === 1 ? '' : 's'}
        </span>
        <span className="spacer" />
        <button type="button" className="small" onClick={() => download(`${file}.csv`, toCsv(columns.map((c) => c.label), order.map((i) => rows[i].map((v) => (isBytesObject(v) ? (v.text ?? v.hex ?? v.base64) : v)))), 'text/csv')}>
          Export CSV
        </button>
        <button
          type="button"
          className="small"
          onClick={() => download(`${file}.json`, JSON.stringify(rawRows ?? order.map((i) => Object.fromEntries(columns.map((c, j) => [c.label, rows[i][j]]))), null, 2), 'application/json')}
        >
          Export JSON
        </button>
      </div>
      <div className="table-wrap">
        <table className="grid">
          <thead>
            <tr>
              {columns.map((c, i) => (
                <th key={c.key} title={c.title} aria-sort={sort?.col === i ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'} scope="col">
                  <button type="button" onClick={() => setSort(sort?.col === i ? (sort.dir === 1 ? { col: i, dir: -1 } : null) : { col: i, dir: 1 })}>
                    {c.label} {sort?.col === i ? (sort.dir === 1 ? '▲' : '▼') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {order.slice(0, limit).map((i) => (
              <tr key={i}>
                {rows[i].map((v, j) => (
                  <td key={j} className={typeof v === 'number' ? 'num' : undefined}>
                    <Scalar value={v} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length > limit && (
        <button type="button" className="small" style={{ marginTop: 6 }} onClick={() => setLimit(limit + 1000)}>
          Show more ({rows.length - limit} hidden)
        </button>
      )}
    </div>
  );
}

/** connect, TLS, first byte, total — whatever marks the operation recorded. */
export function TimingBar({ timing, clientMs }: { timing: Record<string, number>; clientMs?: number }) {
  const total = timing.totalMs ?? Math.max(0, ...Object.values(timing));
  const order = ['connectMs', 'tlsMs', 'firstByteMs', 'totalMs'];
  const marks = Object.entries(timing)
    .filter(([k, v]) => k !== 'totalMs' && typeof v === 'number')
    .sort((a, b) => a[1] - b[1] || order.indexOf(a[0]) - order.indexOf(b[0]));
  const colors = ['var(--info)', 'var(--accent)', 'var(--ok)', 'var(--warn)', 'var(--bad)'];
  let prev = 0;
  return (
    <div className="timing" aria-label="Timing">
      <div className="timing-bar" role="img" aria-label={Object.entries(timing).map(([k, v]) => `${k} ${v} ms`).join(', ')}>
        {marks.map(([k, v], i) => {
          const left = total ? (prev / total) * 100 : 0;
          const width = total ? (Math.max(0, v - prev) / total) * 100 : 0;
          prev = Math.max(prev, v);
          return <span key={k} style={{ left: `${left}%`, width: `${width}%`, background: colors[i % colors.length] }} title={`${k}: ${v} ms`} />;
        })}
        <span style={{ left: `${total ? (prev / total) * 100 : 0}%`, right: 0, background: 'var(--fg3)', opacity: 0.5 }} title={`rest of the operation until ${total} ms`} />
      </div>
      <div className="timing-legend">
        {marks.map(([k, v], i) => (
          <span key={k}>
            <i style={{ background: colors[i % colors.length] }} />
            {k.replace(/Ms$/, '')} {formatMs(v)}
          </span>
        ))}
        <span>
          <i style={{ background: 'var(--fg3)' }} />
          total {formatMs(total)}
        </span>
        {clientMs !== undefined && <span title="Measured by this browser, including the trip to the Worker">browser round trip {formatMs(clientMs)}</span>}
      </div>
    </div>
  );
}

function TranscriptRow({ e }: { e: TranscriptEntry }) {
  const [open, setOpen] = useState(false);
  const canOpen = !!e.hex;
  const arrow = e.dir === 'out' ? '→' : e.dir === 'in' ? '←' : '·';
  return (
    <li className={e.dir}>
      <span className="t">{e.t} ms</span>
      <span className="dir" title={e.dir === 'out' ? 'sent' : e.dir === 'in' ? 'received' : 'note'}>
        {arrow}
        {e.conn >= 0 ? <sub>{e.conn}</sub> : null}
      </span>
      <span className="decode">
        {canOpen ? (
          <button type="button" className="link" style={{ padding: 0, textAlign: 'left', color: 'inherit' }} aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? '▾' : '▸'} {e.decode ?? `${e.size} bytes`}
          </button>
        ) : (
          e.decode
        )}
      </span>
      <span className="size">{e.dir !== 'info' ? `${e.size} B` : ''}</span>
      {open && e.hex && <HexDump bytes={hexToBytes(e.hex)} label={`frame at ${e.t} ms`} />}
    </li>
  );
}

/** The wire log as a timeline: decoded frames, their hex on demand. */
export function TranscriptView({ transcript }: { transcript: Transcript }) {
  const sent = transcript.entries.filter((e) => e.dir === 'out').reduce((n, e) => n + e.size, 0);
  const received = transcript.entries.filter((e) => e.dir === 'in').reduce((n, e) => n + e.size, 0);
  return (
    <div>
      <div className="row small muted" style={{ marginBottom: 6 }}>
        <span>
          {transcript.entries.length} entries · {sent} bytes sent · {received} bytes received
          {transcript.dropped ? ` · ${transcript.dropped} dropped` : ''}
        </span>
        <span className="spacer" />
        <CopyButton text={() => transcript.entries.map((e) => `${String(e.t).padStart(6)} ${e.dir.padEnd(4)} ${e.conn} ${e.decode ?? ''}${e.hex ? `  [${e.hex}]` : ''}`).join('\n')} label="Copy as text" />
        <button type="button" className="small" onClick={() => download('transcript.json', JSON.stringify(transcript, null, 2), 'application/json')}>
          Export JSON
        </button>
      </div>
      <ul className="tl" aria-label="Transcript">
        {transcript.entries.map((e, i) => (
          <TranscriptRow key={i} e={e} />
        ))}
      </ul>
    </div>
  );
}
