// The catalog: every protocol of the registry as a card, searchable by name, port or category.
import { useEffect, useMemo, useRef } from 'react';
import { Stars, Tag } from '../components.tsx';
import type { ProtocolInfo, Registry } from '../lib/api.ts';
import { isSession, runsHere, useRegistry } from '../lib/registry.ts';
import { href, navigate } from '../lib/router.ts';

type RuntimeFilter = 'any' | 'here' | 'workers' | 'node-only';

interface Filters {
  q: string;
  category: string;
  stars: number;
  runtime: RuntimeFilter;
  sessions: boolean;
}

function readFilters(query: URLSearchParams): Filters {
  const runtime = query.get('runtime');
  return {
    q: query.get('q') ?? '',
    category: query.get('category') ?? '',
    stars: Number(query.get('stars') ?? 0) || 0,
    runtime: runtime === 'here' || runtime === 'workers' || runtime === 'node-only' ? runtime : 'any',
    sessions: query.get('sessions') === '1',
  };
}

function writeFilters(f: Filters): void {
  const q = new URLSearchParams();
  if (f.q) q.set('q', f.q);
  if (f.category) q.set('category', f.category);
  if (f.stars) q.set('stars', String(f.stars));
  if (f.runtime !== 'any') q.set('runtime', f.runtime);
  if (f.sessions) q.set('sessions', '1');
  const qs = q.toString();
  history.replaceState(null, '', `#/${qs ? `?${qs}` : ''}`);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/** The protocols most people come for, in this order: shown first; the rest are grouped by category. */
export const MOST_USED = ['ssh', 'postgres', 'mysql', 'redis', 'http', 'dns', 'smtp', 'ftp', 'imap', 'ldap', 'memcached', 'telnet', 'tls', 'ping'];

/** How well a protocol matches the search: 0 = no match; ports first, then ids and titles. */
export function matchScore(p: ProtocolInfo, q: string): number {
  const terms = q.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return 1;
  let score = 0;
  for (const term of terms) {
    const port = /^:?(\d{1,5})(?:\/(tcp|udp|tls))?$/.exec(term);
    if (port) {
      const hit = p.ports.find((x) => x.port === Number(port[1]) && (!port[2] || x.transport === port[2]));
      if (!hit) return 0;
      score += 100;
      continue;
    }
    const id = p.id.toLowerCase();
    const title = p.title.toLowerCase();
    if (id === term || title === term) score += 50;
    else if (id.startsWith(term) || title.startsWith(term)) score += 30;
    else if (id.includes(term) || title.toLowerCase().includes(term)) score += 20;
    else if (p.category.toLowerCase().includes(term)) score += 10;
    else if (p.operations.some((o) => o.name.toLowerCase().includes(term))) score += 6;
    else if (p.summary.toLowerCase().includes(term) || p.specs.some((s) => s.toLowerCase().includes(term))) score += 3;
    else return 0;
  }
  return score;
}

function runtimeOk(reg: Registry, p: ProtocolInfo, f: RuntimeFilter): boolean {
  if (f === 'any') return true;
  if (f === 'here') return p.operations.some((o) => runsHere(reg, o));
  if (f === 'workers') return p.operations.some((o) => o.support.workers?.supported);
  return p.operations.some((o) => !o.support.workers?.supported && o.support.node?.supported);
}

export function Catalog({ query }: { query: URLSearchParams }) {
  const reg = useRegistry();
  const f = readFilters(query);
  const search = useRef<HTMLInputElement>(null);
  const set = (patch: Partial<Filters>) => writeFilters({ ...f, ...patch });

  const categories = useMemo(() => [...new Set(reg.protocols.map((p) => p.category))].sort(), [reg]);
  const shown = useMemo(
    () =>
      reg.protocols
        .map((p, i) => ({ p, i, score: matchScore(p, f.q) }))
        .filter(({ p, score }) => score > 0 && (!f.category || p.category === f.category) && p.rating.stars >= f.stars && runtimeOk(reg, p, f.runtime) && (!f.sessions || p.operations.some(isSession)))
        .sort((a, b) => b.score - a.score || a.i - b.i)
        .map(({ p }) => p),
    [reg, f.q, f.category, f.stars, f.runtime, f.sessions],
  );

  // Without a search or filter: the most used protocols first, the rest grouped by category.
  const filtered = f.q !== '' || f.category !== '' || f.stars > 0 || f.runtime !== 'any' || f.sessions;
  const groups = useMemo(() => {
    const out = new Map<string, ProtocolInfo[]>();
    for (const p of shown) if (!MOST_USED.includes(p.id)) out.set(p.category, [...(out.get(p.category) ?? []), p]);
    return [...out].sort(([a], [b]) => a.localeCompare(b));
  }, [shown]);

  // "/" focuses the search from anywhere on the page, unless focus is already in a text field (the search included).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey && !/^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName) && !t.isContentEditable && document.activeElement !== search.current) {
        e.preventDefault();
        search.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <div>
      <h1>Protocols</h1>
      <p className="muted">
        {reg.protocols.length} protocols, {reg.protocols.reduce((n, p) => n + p.operations.length, 0)} operations, all run from this {reg.runtime} host over TCP. Stars are claims backed by lab tests against real servers.
      </p>
      <div className="catalog-head" role="search">
        <input
          ref={search}
          className="search"
          type="search"
          placeholder="Search by name, port (e.g. 6379) or category — press /"
          aria-label="Search protocols by name, port or category"
          value={f.q}
          autoFocus
          onChange={(e) => set({ q: e.target.value })}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && shown[0]) navigate(href(['p', shown[0].id]));
          }}
        />
        <div className="filters">
          <select aria-label="Category" value={f.category} onChange={(e) => set({ category: e.target.value })}>
            <option value="">All categories</option>
            {categories.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
          <select aria-label="Minimum stars" value={f.stars} onChange={(e) => set({ stars: Number(e.target.value) })}>
            <option value={0}>Any rating</option>
            {[1, 2, 3, 4, 5].map((n) => (
              <option key={n} value={n}>
                {'★'.repeat(n)} or more
              </option>
            ))}
          </select>
          <select aria-label="Runtime support" value={f.runtime} onChange={(e) => set({ runtime: e.target.value as RuntimeFilter })}>
            <option value="any">Any runtime</option>
            <option value="here">Runs here ({reg.runtime})</option>
            <option value="workers">Runs on Workers</option>
            <option value="node-only">Has Node-only operations</option>
          </select>
          <label className="row small">
            <input type="checkbox" checked={f.sessions} onChange={(e) => set({ sessions: e.target.checked })} /> live sessions
          </label>
        </div>
      </div>
      <p className="small muted" aria-live="polite">
        {shown.length === reg.protocols.length ? `Showing all ${shown.length}` : `${shown.length} of ${reg.protocols.length} match`}
      </p>
      {shown.length === 0 ? (
        <div className="empty">
          Nothing matches. <button className="link" onClick={() => writeFilters({ q: '', category: '', stars: 0, runtime: 'any', sessions: false })}>Clear the filters</button>
        </div>
      ) : filtered ? (
        <CardList list={shown} reg={reg} />
      ) : (
        <>
          <section aria-label="Most used">
            <h2>Most used</h2>
            <CardList list={MOST_USED.map((id) => shown.find((p) => p.id === id)).filter((p): p is ProtocolInfo => !!p)} reg={reg} />
          </section>
          {groups.map(([category, list]) => (
            <section key={category} aria-label={category} style={{ marginTop: 20 }}>
              <h2 style={{ textTransform: 'capitalize' }}>{category}</h2>
              <CardList list={list} reg={reg} />
            </section>
          ))}
        </>
      )}
    </div>
  );
}

function CardList({ list, reg }: { list: ProtocolInfo[]; reg: Registry }) {
  return (
    <ul className="cards" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
      {list.map((p) => (
        <li key={p.id} style={{ display: 'contents' }}>
          <ProtocolCard p={p} reg={reg} />
        </li>
      ))}
    </ul>
  );
}

function ProtocolCard({ p, reg }: { p: ProtocolInfo; reg: Registry }) {
  const nodeOnly = p.operations.filter((o) => !runsHere(reg, o));
  const sessions = p.operations.filter(isSession);
  return (
    <a className="card" href={href(['p', p.id])} data-protocol={p.id} aria-label={`${p.title}: ${p.summary}`}>
      <div className="row">
        <h2>{p.title}</h2>
        <span className="spacer" />
        <Stars stars={p.rating.stars} reason={p.rating.reason} />
      </div>
      <div className="row">
        <Tag>{p.category}</Tag>
        <span className="ports">{p.ports.map((x) => `${x.port}/${x.transport}`).join(' · ')}</span>
        {p.tlsModes.length > 1 && <Tag tone="info">TLS: {p.tlsModes.filter((m) => m !== 'off').join(', ')}</Tag>}
      </div>
      <div className="summary">{p.summary}</div>
      <div className="small muted" title={p.rating.reason}>
        {p.rating.reason.length > 140 ? `${p.rating.reason.slice(0, 140)}…` : p.rating.reason}
      </div>
      <div className="small">
        {p.verifiedAgainst ? (
          <span>
            Verified against <b>{p.verifiedAgainst}</b>
          </span>
        ) : (
          <span className="muted">Not lab-verified yet</span>
        )}
      </div>
      <div className="ops" aria-label="Operations">
        {p.operations.map((o) => (
          <Tag key={o.name} tone={!runsHere(reg, o) ? 'warn' : isSession(o) ? 'info' : undefined} title={`${o.summary}${!runsHere(reg, o) ? ` — not on ${reg.runtime}: ${(o.support[reg.runtime]?.reasons ?? []).join(' ')}` : ''}`}>
            {o.name}
            {isSession(o) ? ' ⇄' : ''}
          </Tag>
        ))}
      </div>
      {(nodeOnly.length > 0 || sessions.length > 0) && (
        <div className="small muted">
          {nodeOnly.length > 0 && `${nodeOnly.length} need${nodeOnly.length === 1 ? 's' : ''} another runtime. `}
          {sessions.length > 0 && `⇄ live session${sessions.length === 1 ? '' : 's'}.`}
        </div>
      )}
    </a>
  );
}
