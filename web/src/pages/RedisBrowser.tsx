// The Redis key browser: SCAN pages (MATCH, TYPE) loaded until the iteration is done, the keys grouped into a tree
// by a separator with type, TTL and MEMORY USAGE each, and a viewer per type (string as text, JSON or hex; hash as
// a field/value table with editing; list, set, sorted set with scores, stream entries) with TTL, persist, rename
// and delete. Everything runs through the redis scan, key, command and pipeline operations.
import { useMemo, useState } from 'react';
import { CopyButton, ErrorLine, Tag } from '../components.tsx';
import { operationResult, type ApiError } from '../lib/api.ts';
import { base64ToBytes, hexDumpRows } from '../lib/bytes.ts';
import { href } from '../lib/router.ts';

interface Connection {
  host: string;
  port: string;
  tls: 'off' | 'implicit';
  username: string;
  password: string;
  db: string;
}

/** A byte string as the API returns it: UTF-8 text when valid, else base64. */
interface Bytes {
  text?: string;
  base64?: string;
  hex?: string;
}

interface KeyRow {
  key: Bytes;
  type: string | null;
  ttl: number | null;
  memory?: number | null;
}

interface ScanPage {
  cursor: string;
  done: boolean;
  keys: KeyRow[];
}

interface KeyView {
  key: Bytes;
  exists: boolean;
  type: string;
  ttl: number | null;
  encoding: string | null;
  size: number | null;
  string?: Bytes;
  list?: Bytes[];
  set?: Bytes[];
  zset?: { member: Bytes; score: string }[];
  hash?: { field: Bytes; value: Bytes }[];
  stream?: { id: string; fields: { field: Bytes; value: Bytes }[] }[];
  /** Index of the first element shown of a list or sorted set. */
  offset?: number;
  /** The score range a sorted set was read in. */
  scores?: { min: string; max: string };
  groups?: { name: string; pending: number | null; lastDeliveredId: string | null; entriesRead: number | null; lag: number | null; consumers: { name: string; pending: number | null; idleMs: number | null }[] }[];
  truncated: boolean;
}

/** Elements per page of a collection. */
const PAGE = 500;

/** Which page of a key: by index for lists and sorted sets, after an entry ID for streams. */
interface KeyPage {
  offset?: number;
  after?: string;
  scores?: { min: string; max: string };
}

interface Reply {
  type: string;
  text?: string;
  value?: number | string | boolean;
  message?: string;
}

const TYPES = ['', 'string', 'hash', 'list', 'set', 'zset', 'stream'];

/** A key as the API takes it back: text, or the base64 it came as. */
const keyArg = (k: Bytes): string | { base64: string } => (k.text !== undefined ? k.text : { base64: k.base64 ?? '' });
const keyName = (k: Bytes): string => k.text ?? `b64:${k.base64 ?? k.hex ?? ''}`;
const show = (b: Bytes): string => b.text ?? `b64:${b.base64 ?? b.hex ?? ''}`;

/** A TTL the way people read it: "no expiry", "45 s", "3 h 12 min", "2 d 4 h". */
export function humanTtl(ttl: number | null | undefined): string {
  if (ttl === null || ttl === undefined) return '–';
  if (ttl === -1) return 'no expiry';
  if (ttl === -2) return 'gone';
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3600],
    ['min', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = ttl;
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0 || (parts.length === 0 && size === 1)) parts.push(`${n} ${name}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

function humanBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function target(c: Connection): Record<string, unknown> {
  const t: Record<string, unknown> = { host: c.host.trim(), tls: c.tls, db: Number(c.db || 0) };
  if (c.port.trim()) t.port = Number(c.port);
  if (c.username.trim()) t.username = c.username.trim();
  if (c.password) t.password = c.password;
  return t;
}

const redis = <T,>(conn: Connection, op: string, input: Record<string, unknown>) => operationResult<T>('redis', op, { ...target(conn), ...input });

interface Folder {
  name: string;
  path: string;
  folders: Map<string, Folder>;
  keys: KeyRow[];
}

/** The keys grouped by the separator: "user:1:name" is the key "name" in folder user → 1. */
function buildTree(keys: KeyRow[], separator: string): Folder {
  const root: Folder = { name: '', path: '', folders: new Map(), keys: [] };
  for (const k of keys) {
    const name = keyName(k.key);
    const parts = separator && k.key.text !== undefined ? name.split(separator) : [name];
    let at = root;
    for (const part of parts.slice(0, -1)) {
      const path = at.path ? `${at.path}${separator}${part}` : part;
      let next = at.folders.get(part);
      if (!next) at.folders.set(part, (next = { name: part, path, folders: new Map(), keys: [] }));
      at = next;
    }
    at.keys.push(k);
  }
  return root;
}

function countKeys(f: Folder): number {
  let n = f.keys.length;
  for (const sub of f.folders.values()) n += countKeys(sub);
  return n;
}

function StringView({ value }: { value: Bytes }) {
  const json = useMemo(() => {
    if (value.text === undefined) return null;
    try {
      const parsed: unknown = JSON.parse(value.text);
      return typeof parsed === 'object' && parsed !== null ? JSON.stringify(parsed, null, 2) : null;
    } catch {
      return null;
    }
  }, [value.text]);
  const [mode, setMode] = useState<'text' | 'json' | 'hex'>(json ? 'json' : value.text !== undefined ? 'text' : 'hex');
  const bytes = value.text !== undefined ? new TextEncoder().encode(value.text) : base64ToBytes(value.base64 ?? '');
  return (
    <div>
      <div className="row small" role="radiogroup" aria-label="Show the string as">
        {(['text', 'json', 'hex'] as const).map((m) => (
          <label key={m}>
            <input type="radio" name="string-mode" checked={mode === m} disabled={(m === 'json' && !json) || (m === 'text' && value.text === undefined)} onChange={() => setMode(m)} /> {m === 'json' ? 'JSON' : m}
          </label>
        ))}
        <CopyButton text={value.text ?? value.base64 ?? ''} label="Copy value" />
      </div>
      <pre className="mono" data-testid="string-value" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
        {mode === 'json' && json ? json : mode === 'hex' ? hexDumpRows(bytes).map((r) => `${r.offset}  ${r.hex}  ${r.ascii}`).join('\n') : (value.text ?? '')}
      </pre>
    </div>
  );
}

function HashView({ rows, onSet, onDelete }: { rows: { field: Bytes; value: Bytes }[]; onSet: (field: string, value: string) => Promise<void>; onDelete: (field: string) => Promise<void> }) {
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState('');
  const [newField, setNewField] = useState('');
  const [newValue, setNewValue] = useState('');
  return (
    <div>
      <div className="table-wrap">
        <table className="grid" aria-label="Hash fields">
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Value</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const f = show(r.field);
              return (
                <tr key={f} data-hash-field={f}>
                  <td className="mono">{f}</td>
                  <td className="mono" style={{ wordBreak: 'break-all' }}>
                    {editing === f ? (
                      <input aria-label={`New value of ${f}`} value={draft} onChange={(e) => setDraft(e.target.value)} style={{ width: '100%' }} />
                    ) : (
                      show(r.value)
                    )}
                  </td>
                  <td className="row" style={{ gap: 4 }}>
                    {editing === f ? (
                      <>
                        <button type="button" className="small primary" onClick={() => void onSet(f, draft).then(() => setEditing(null))}>
                          Save
                        </button>
                        <button type="button" className="small" onClick={() => setEditing(null)}>
                          Cancel
                        </button>
                      </>
                    ) : (
                      <>
                        <button type="button" className="small" aria-label={`Edit ${f}`} disabled={r.field.text === undefined} onClick={() => (setEditing(f), setDraft(r.value.text ?? ''))}>
                          Edit
                        </button>
                        <CopyButton text={show(r.value)} label="Copy" />
                        <button type="button" className="small" aria-label={`Delete field ${f}`} disabled={r.field.text === undefined} onClick={() => window.confirm(`Delete the field ${f}?`) && void onDelete(f)}>
                          ✕
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <form
        className="row small"
        aria-label="Add a field"
        style={{ marginTop: 6 }}
        onSubmit={(e) => {
          e.preventDefault();
          if (newField) void onSet(newField, newValue).then(() => (setNewField(''), setNewValue('')));
        }}
      >
        <input aria-label="New field" placeholder="field" value={newField} onChange={(e) => setNewField(e.target.value)} />
        <input aria-label="Its value" placeholder="value" value={newValue} onChange={(e) => setNewValue(e.target.value)} />
        <button type="submit" className="small">
          Add field
        </button>
      </form>
    </div>
  );
}

function ListTable({ label, head, rows }: { label: string; head: string[]; rows: string[][] }) {
  return (
    <div className="table-wrap">
      <table className="grid" aria-label={label}>
        <thead>
          <tr>
            {head.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {r.map((c, j) => (
                <td key={j} className={`mono${j === 0 && head[0] === '#' ? ' num' : ''}`} style={{ wordBreak: 'break-all' }}>
                  {c}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A consumer's idle time as a person reads it. */
function humanIdle(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  return humanTtl(Math.round(ms / 1000));
}

/** Pages of a list or sorted set by index. */
function indexPages(view: KeyView, shown: number, onPage: (page: KeyPage) => Promise<boolean>) {
  const first = view.offset ?? 0;
  const size = view.size ?? 0;
  return {
    first,
    shown,
    size,
    onPrevious: first > 0 ? () => void onPage({ scores: view.scores, offset: Math.max(0, first - PAGE) }) : undefined,
    onNext: first + shown < size ? () => void onPage({ scores: view.scores, offset: first + PAGE }) : undefined,
  };
}

/** Previous/next over a collection too large for one page, with the range shown. */
function Pager({ label, first, shown, size, onPrevious, onNext }: { label: string; first: number; shown: number; size: number; onPrevious?: () => void; onNext?: () => void }) {
  if (!onPrevious && !onNext) return null;
  return (
    <div className="row small" role="navigation" aria-label={`${label} pages`} style={{ margin: '6px 0' }}>
      <button type="button" className="small" disabled={!onPrevious} onClick={onPrevious}>
        ← Previous
      </button>
      <span data-testid="element-range">
        {shown === 0 ? 'none' : `${(first + 1).toLocaleString('en')}–${(first + shown).toLocaleString('en')}`} of {size.toLocaleString('en')}
      </span>
      <button type="button" className="small" disabled={!onNext} onClick={onNext}>
        Next →
      </button>
    </div>
  );
}

function KeyPanel({
  conn,
  view,
  onChanged,
  onDeleted,
  onPage,
}: {
  conn: Connection;
  view: KeyView;
  onChanged: (k: Bytes) => Promise<void>;
  onDeleted: () => void;
  onPage: (page: KeyPage) => Promise<boolean>;
}) {
  const [ttl, setTtl] = useState('');
  // A stream's pages by the ID each started after: going back pops one.
  const [afters, setAfters] = useState<string[]>([]);
  const [minScore, setMinScore] = useState(view.scores?.min ?? '');
  const [maxScore, setMaxScore] = useState(view.scores?.max ?? '');
  const [renameTo, setRenameTo] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [pushValue, setPushValue] = useState('');
  const name = keyName(view.key);
  const command = async (args: (string | { base64: string })[], then: Bytes = view.key) => {
    setError(null);
    try {
      await redis<{ reply: Reply }>(conn, 'command', { args });
      await onChanged(then);
    } catch (e) {
      setError(e as ApiError);
    }
  };
  const k = keyArg(view.key);
  if (!view.exists) return <p className="muted">The key {name} does not exist (any more).</p>;
  return (
    <div data-testid="key-view" data-key={name} data-type={view.type}>
      <div className="row" style={{ marginBottom: 6 }}>
        <h3 className="mono" style={{ margin: 0 }}>
          {name}
        </h3>
        <CopyButton text={name} label="Copy name" />
        <Tag tone="info">{view.type}</Tag>
        <span className="small" data-testid="key-ttl">
          TTL: {humanTtl(view.ttl)}
        </span>
        <span className="small muted">
          {view.encoding ?? ''} · {view.size ?? '–'} {view.type === 'string' ? 'bytes' : 'elements'}
        </span>
        {view.truncated && !view.list && !view.zset && !view.stream && <span className="v-warn small">only the first elements are shown</span>}
      </div>
      <div className="row small" style={{ flexWrap: 'wrap', marginBottom: 8 }}>
        <form className="row" aria-label="Set TTL" onSubmit={(e) => (e.preventDefault(), ttl && void command(['EXPIRE', k, ttl]))}>
          <input aria-label="TTL in seconds" inputMode="numeric" placeholder="seconds" value={ttl} onChange={(e) => setTtl(e.target.value.replace(/\D/g, ''))} style={{ width: 90 }} />
          <button type="submit" className="small">
            Set TTL
          </button>
        </form>
        <button type="button" className="small" disabled={view.ttl === -1} onClick={() => void command(['PERSIST', k])}>
          Persist
        </button>
        <form className="row" aria-label="Rename" onSubmit={(e) => (e.preventDefault(), renameTo && void command(['RENAME', k, renameTo], { text: renameTo }))}>
          <input aria-label="New name" placeholder="new name" value={renameTo} onChange={(e) => setRenameTo(e.target.value)} />
          <button type="submit" className="small">
            Rename
          </button>
        </form>
        <button
          type="button"
          className="small danger"
          onClick={async () => {
            if (!window.confirm(`Delete the key ${name}?`)) return;
            try {
              await redis(conn, 'command', { args: ['DEL', k] });
              onDeleted();
            } catch (e) {
              setError(e as ApiError);
            }
          }}
        >
          Delete key
        </button>
      </div>
      {error && <ErrorLine error={error} />}
      {view.string && <StringView value={view.string} />}
      {view.hash && <HashView rows={view.hash} onSet={(f, v) => command(['HSET', k, f, v])} onDelete={(f) => command(['HDEL', k, f])} />}
      {view.list && (
        <>
          <Pager label="List" {...indexPages(view, view.list.length, onPage)} />
          <ListTable label="List elements" head={['#', 'Element']} rows={view.list.map((v, i) => [String((view.offset ?? 0) + i), show(v)])} />
          <form className="row small" aria-label="Push" style={{ marginTop: 6 }} onSubmit={(e) => e.preventDefault()}>
            <input aria-label="Element" value={pushValue} onChange={(e) => setPushValue(e.target.value)} />
            <button type="button" className="small" onClick={() => void command(['LPUSH', k, pushValue])}>
              Push left
            </button>
            <button type="button" className="small" onClick={() => void command(['RPUSH', k, pushValue])}>
              Push right
            </button>
            <button type="button" className="small" onClick={() => void command(['LPOP', k])}>
              Pop left
            </button>
            <button type="button" className="small" onClick={() => void command(['RPOP', k])}>
              Pop right
            </button>
          </form>
        </>
      )}
      {view.set && <ListTable label="Set members" head={['Member']} rows={view.set.map((v) => [show(v)])} />}
      {view.zset && (
        <>
          <form
            className="row small"
            aria-label="Score range"
            style={{ marginBottom: 6 }}
            onSubmit={(e) => {
              e.preventDefault();
              void onPage(minScore || maxScore ? { scores: { min: minScore || '-inf', max: maxScore || '+inf' } } : {});
            }}
          >
            <span className="muted">Scores from</span>
            <input aria-label="Minimum score" placeholder="-inf" value={minScore} onChange={(e) => setMinScore(e.target.value.trim())} style={{ width: 90 }} />
            <span className="muted">to</span>
            <input aria-label="Maximum score" placeholder="+inf" value={maxScore} onChange={(e) => setMaxScore(e.target.value.trim())} style={{ width: 90 }} />
            <button type="submit" className="small">
              Range
            </button>
            <span className="muted">( before a bound excludes it</span>
          </form>
          <Pager label="Sorted set" {...indexPages(view, view.zset.length, onPage)} />
          <ListTable label="Sorted set members" head={['Member', 'Score']} rows={view.zset.map((m) => [show(m.member), m.score])} />
        </>
      )}
      {view.stream && (
        <>
          <Pager
            label="Stream"
            first={afters.length * PAGE}
            shown={view.stream.length}
            size={view.size ?? 0}
            onPrevious={
              afters.length > 0
                ? () => {
                    const back = afters.slice(0, -1);
                    // The range shown moves once the page is in.
                    void onPage(back.length ? { after: back[back.length - 1] } : {}).then((shown) => shown && setAfters(back));
                  }
                : undefined
            }
            onNext={
              view.stream.length === PAGE && afters.length * PAGE + PAGE < (view.size ?? 0)
                ? () => {
                    const after = view.stream![view.stream!.length - 1].id;
                    void onPage({ after }).then((shown) => shown && setAfters([...afters, after]));
                  }
                : undefined
            }
          />
          <ListTable label="Stream entries" head={['ID', 'Fields']} rows={view.stream.map((s) => [s.id, s.fields.map((f) => `${show(f.field)}=${show(f.value)}`).join('  ')])} />
          {view.groups && view.groups.length > 0 && (
            <>
              <h4 style={{ margin: '10px 0 4px' }}>Consumer groups</h4>
              <ListTable
                label="Consumer groups"
                head={['Group', 'Pending', 'Last delivered', 'Read', 'Lag', 'Consumers (pending, idle)']}
                rows={view.groups.map((g) => [
                  g.name,
                  String(g.pending ?? '–'),
                  g.lastDeliveredId ?? '–',
                  String(g.entriesRead ?? '–'),
                  String(g.lag ?? '–'),
                  g.consumers.map((c) => `${c.name} (${c.pending ?? '–'}, ${c.idleMs === null ? '–' : humanIdle(c.idleMs)})`).join(', ') || 'none',
                ])}
              />
            </>
          )}
        </>
      )}
    </div>
  );
}

export function RedisBrowser() {
  const [conn, setConn] = useState<Connection>({ host: '', port: '', tls: 'off', username: '', password: '', db: '0' });
  const [match, setMatch] = useState('');
  const [type, setType] = useState('');
  const [separator, setSeparator] = useState(':');
  const [keys, setKeys] = useState<KeyRow[] | null>(null);
  const [cursor, setCursor] = useState<string>('0');
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [view, setView] = useState<KeyView | null>(null);
  const [keyPage, setKeyPage] = useState<KeyPage>({});

  /** One SCAN page, then MEMORY USAGE of its keys in one pipeline. */
  async function loadPage(from: string, previous: KeyRow[]) {
    setBusy(true);
    setError(null);
    try {
      const page = await redis<ScanPage>(conn, 'scan', { cursor: from, pageSize: 100, ...(match ? { match } : {}), ...(type ? { type } : {}) });
      let rows = page.keys;
      if (rows.length > 0) {
        const mem = await redis<{ replies: Reply[] }>(conn, 'pipeline', { commands: rows.map((r) => ['MEMORY', 'USAGE', keyArg(r.key)]) });
        rows = rows.map((r, i) => ({ ...r, memory: mem.replies[i]?.type === 'integer' ? Number(mem.replies[i].value) : null }));
      }
      setKeys([...previous, ...rows]);
      setCursor(page.cursor);
      setDone(page.done);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  }

  /** Shows a key (a page of it); false when the server did not answer with it. */
  async function openKey(k: Bytes, page: KeyPage = {}): Promise<boolean> {
    setError(null);
    try {
      setView(await redis<KeyView>(conn, 'key', { key: keyArg(k), limit: PAGE, ...page }));
      setKeyPage(page);
      return true;
    } catch (e) {
      setError(e as ApiError);
      return false;
    }
  }

  /** After a change: the key's view again (the same page), and its row's TTL. */
  async function refresh(k: Bytes) {
    const same = view && keyName(view.key) === keyName(k) ? keyPage : {};
    const v = await redis<KeyView>(conn, 'key', { key: keyArg(k), limit: PAGE, ...same });
    setView(v);
    setKeys((all) => {
      if (!all) return all;
      const known = all.some((r) => keyName(r.key) === keyName(k));
      const updated = all.map((r) => (keyName(r.key) === keyName(k) ? { ...r, ttl: v.ttl, type: v.type } : r));
      // A rename: the old name is gone from the server, the new one is shown.
      return known ? updated : [...all.filter((r) => keyName(r.key) !== keyName(view?.key ?? {})), { key: k, type: v.type, ttl: v.ttl }];
    });
  }

  const tree = useMemo(() => (keys ? buildTree(keys, separator) : null), [keys, separator]);

  function FolderNode({ f, depth }: { f: Folder; depth: number }) {
    const isOpen = open.has(f.path);
    return (
      <li role="treeitem" aria-expanded={isOpen} aria-level={depth + 1} data-folder={f.path}>
        <button type="button" className="link mono" aria-label={`${isOpen ? 'Collapse' : 'Expand'} ${f.path}`} onClick={() => setOpen((o) => new Set(o.has(f.path) ? [...o].filter((p) => p !== f.path) : [...o, f.path]))}>
          {isOpen ? '▾' : '▸'} {f.name}
          {separator}* <span className="muted small">({countKeys(f)})</span>
        </button>
        {isOpen && <Children f={f} depth={depth + 1} />}
      </li>
    );
  }

  function Children({ f, depth }: { f: Folder; depth: number }) {
    return (
      <ul role="group" style={{ listStyle: 'none', paddingLeft: depth ? 16 : 0, margin: 0 }}>
        {[...f.folders.values()]
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((sub) => (
            <FolderNode key={sub.path} f={sub} depth={depth} />
          ))}
        {[...f.keys]
          .sort((a, b) => keyName(a.key).localeCompare(keyName(b.key)))
          .map((k) => {
            const name = keyName(k.key);
            return (
              <li key={name} role="treeitem" aria-level={depth + 1} aria-selected={view ? keyName(view.key) === name : false} data-key={name}>
                <div className="row" style={{ gap: 6 }}>
                  <button type="button" className="link mono" onClick={() => void openKey(k.key)} title={name}>
                    {f.path && name.startsWith(f.path + separator) ? name.slice(f.path.length + separator.length) : name}
                  </button>
                  <Tag>{k.type ?? '?'}</Tag>
                  <span className="small muted" data-testid="row-ttl">
                    {humanTtl(k.ttl)}
                  </span>
                  <span className="small muted">{humanBytes(k.memory)}</span>
                </div>
              </li>
            );
          })}
      </ul>
    );
  }

  return (
    <div>
      <div className="small muted">
        <a href={href([])}>Protocols</a> / <a href={href(['p', 'redis'])}>Redis</a>
      </div>
      <h1>Redis key browser</h1>
      <form
        className="panel row"
        aria-label="Redis connection"
        style={{ flexWrap: 'wrap', alignItems: 'flex-end' }}
        onSubmit={(e) => {
          e.preventDefault();
          setView(null);
          setOpen(new Set());
          void loadPage('0', []);
        }}
      >
        <label data-field="host">
          <span className="small muted">Host</span>
          <input value={conn.host} onChange={(e) => setConn({ ...conn, host: e.target.value })} required placeholder="redis.example.org" />
        </label>
        <label data-field="port">
          <span className="small muted">Port</span>
          <input value={conn.port} onChange={(e) => setConn({ ...conn, port: e.target.value })} inputMode="numeric" placeholder="6379" style={{ width: 80 }} />
        </label>
        <label data-field="tls">
          <span className="small muted">TLS</span>
          <select value={conn.tls} onChange={(e) => setConn({ ...conn, tls: e.target.value as Connection['tls'] })}>
            <option value="off">off</option>
            <option value="implicit">TLS</option>
          </select>
        </label>
        <label data-field="username">
          <span className="small muted">User (ACL)</span>
          <input value={conn.username} onChange={(e) => setConn({ ...conn, username: e.target.value })} placeholder="default" style={{ width: 110 }} />
        </label>
        <label data-field="password">
          <span className="small muted">Password</span>
          <input type="password" value={conn.password} onChange={(e) => setConn({ ...conn, password: e.target.value })} />
        </label>
        <label data-field="db">
          <span className="small muted">DB</span>
          <input value={conn.db} onChange={(e) => setConn({ ...conn, db: e.target.value.replace(/\D/g, '') })} inputMode="numeric" style={{ width: 50 }} />
        </label>
        <label data-field="match">
          <span className="small muted">MATCH</span>
          <input className="mono" value={match} onChange={(e) => setMatch(e.target.value)} placeholder="user:*" />
        </label>
        <label data-field="type">
          <span className="small muted">TYPE</span>
          <select value={type} onChange={(e) => setType(e.target.value)}>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label data-field="separator">
          <span className="small muted">Separator</span>
          <input className="mono" value={separator} onChange={(e) => setSeparator(e.target.value)} style={{ width: 40 }} />
        </label>
        <button type="submit" disabled={busy}>
          Scan
        </button>
      </form>
      {error && <ErrorLine error={error} />}
      {keys && tree && (
        <div className="row" style={{ alignItems: 'flex-start', gap: 16, marginTop: 12 }}>
          <nav className="panel" aria-label="Keys" style={{ minWidth: 320, maxWidth: 520, overflow: 'auto' }}>
            <div className="row small" style={{ marginBottom: 6 }}>
              <span data-testid="key-count">
                {keys.length} key{keys.length === 1 ? '' : 's'}
              </span>
              <span className="muted" data-testid="scan-state">
                {done ? 'scan complete' : `more to scan (cursor ${cursor})`}
              </span>
              <span className="spacer" />
              {!done && (
                <button type="button" className="small" disabled={busy} onClick={() => void loadPage(cursor, keys)}>
                  {busy ? 'Loading…' : 'Load more'}
                </button>
              )}
            </div>
            <ul role="tree" aria-label="Key tree" style={{ listStyle: 'none', paddingLeft: 0, margin: 0 }}>
              <Children f={tree} depth={0} />
            </ul>
          </nav>
          <section className="panel" style={{ flex: 1, minWidth: 0 }} aria-label="Value">
            {view ? (
              <KeyPanel
                key={keyName(view.key)}
                conn={conn}
                view={view}
                onChanged={refresh}
                onPage={(p) => openKey(view.key, p)}
                onDeleted={() => {
                  setKeys((all) => all?.filter((r) => keyName(r.key) !== keyName(view.key)) ?? null);
                  setView(null);
                }}
              />
            ) : (
              <p className="muted">Choose a key to see its value.</p>
            )}
          </section>
        </div>
      )}
    </div>
  );
}
