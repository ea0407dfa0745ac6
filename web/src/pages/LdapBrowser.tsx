// The LDAP directory browser: a tree grown from the root DSE's naming contexts by one-level paged searches, an
// entry's attributes as a table with copy buttons, and a search whose RFC 4515 filter is checked as it is typed
// (the same parser the server side uses), with the results exported as LDIF or CSV.
import { useState } from 'react';
import { filterError } from '../../../src/protocols/ldap/filter.ts';
import { toCsv, toLdif, type EntryJson } from '../../../src/protocols/ldap/ldif.ts';
import { CopyButton, download, ErrorLine } from '../components.tsx';
import { operationResult, type ApiError } from '../lib/api.ts';
import { href } from '../lib/router.ts';

interface Connection {
  host: string;
  port: string;
  tls: 'off' | 'starttls' | 'implicit';
  bindDn: string;
  password: string;
}

interface SearchAnswer {
  entries: EntryJson[];
  references: string[][];
  cursor: string | null;
  result: { code: number; name: string; diagnosticMessage: string };
}

interface TreeNode {
  dn: string;
  children?: string[];
  cursor?: string | null;
  open: boolean;
  loading: boolean;
}

/** Entries per one-level page when a node is expanded. */
const PAGE = 50;

function target(c: Connection): Record<string, unknown> {
  const t: Record<string, unknown> = { host: c.host.trim(), tls: c.tls };
  if (c.port.trim()) t.port = Number(c.port);
  if (c.bindDn.trim()) {
    t.bindDn = c.bindDn.trim();
    t.password = c.password;
  }
  return t;
}

const ldap = <T,>(op: string, input: Record<string, unknown>) => operationResult<T>('ldap', op, input);

/** The first RDN of a DN, for the tree's labels. */
function rdnOf(dn: string): string {
  const m = /^((?:[^,\\]|\\.)*)/.exec(dn);
  return m ? m[1] : dn;
}

function FilterBox({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const err = value ? filterError(value) : null;
  return (
    <div data-field="filter" style={{ flex: 1, minWidth: 280 }}>
      <label className="small muted" htmlFor="ldap-filter">
        Filter (RFC 4515)
      </label>
      <input id="ldap-filter" className="mono" value={value} onChange={(e) => onChange(e.target.value)} aria-invalid={err ? true : undefined} aria-describedby="ldap-filter-check" spellCheck={false} style={{ width: '100%' }} />
      <div id="ldap-filter-check" className={`small filter-check${err ? " bad" : " muted"}`} role="status" data-testid="filter-check">
        {err ? (
          <>
            <span className="mono" aria-hidden="true" style={{ whiteSpace: 'pre' }}>
              {`${value}\n${' '.repeat(Math.max(0, err.position - 1))}^`}
            </span>
            <div>{err.message}</div>
          </>
        ) : value ? (
          'The filter parses.'
        ) : (
          'Empty: every entry ((objectClass=*)).'
        )}
      </div>
    </div>
  );
}

function Attributes({ entry }: { entry: EntryJson }) {
  const binary = new Set(entry.binary ?? []);
  return (
    <div>
      <div className="row" style={{ marginBottom: 6 }}>
        <h3 style={{ margin: 0 }} className="mono" data-testid="entry-dn">
          {entry.dn}
        </h3>
        <CopyButton text={entry.dn} label="Copy DN" />
        <span className="spacer" />
        <button type="button" className="small" onClick={() => download(`${rdnOf(entry.dn) || 'entry'}.ldif`, `${toLdif([entry], { version: true })}`, 'text/plain')}>
          Export LDIF
        </button>
      </div>
      <div className="table-wrap">
        <table className="grid" aria-label="Attributes">
          <thead>
            <tr>
              <th scope="col">Attribute</th>
              <th scope="col">Value</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {Object.entries(entry.attributes).flatMap(([name, values]) =>
              values.map((v, i) => (
                <tr key={`${name}-${i}`} data-attribute={name}>
                  <td className="mono">{i === 0 ? name : ''}</td>
                  <td className="mono" style={{ wordBreak: 'break-all' }}>
                    {binary.has(name) ? <span title="base64">b64:{v}</span> : v}
                  </td>
                  <td>
                    <CopyButton text={v} label="Copy" />
                  </td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

export function LdapBrowser() {
  const [conn, setConn] = useState<Connection>({ host: '', port: '', tls: 'off', bindDn: '', password: '' });
  const [roots, setRoots] = useState<string[] | null>(null);
  const [nodes, setNodes] = useState<Record<string, TreeNode>>({});
  const [selected, setSelected] = useState<EntryJson | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [base, setBase] = useState('');
  const [filter, setFilter] = useState('(objectClass=*)');
  const [scope, setScope] = useState<'base' | 'one' | 'sub'>('sub');
  const [attrs, setAttrs] = useState('');
  const [results, setResults] = useState<SearchAnswer | null>(null);
  const [resultCursor, setResultCursor] = useState<string | null>(null);

  const patch = (dn: string, p: Partial<TreeNode>) => setNodes((n) => ({ ...n, [dn]: { ...(n[dn] ?? { dn, open: false, loading: false }), ...p } }));

  async function connect(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSelected(null);
    setResults(null);
    try {
      const dse = await ldap<{ namingContexts: string[] }>('rootDse', target(conn));
      setRoots(dse.namingContexts);
      setNodes(Object.fromEntries(dse.namingContexts.map((dn) => [dn, { dn, open: false, loading: false }])));
      setBase(dse.namingContexts[0] ?? '');
    } catch (err) {
      setError(err as ApiError);
      setRoots(null);
    } finally {
      setBusy(false);
    }
  }

  /** One page of children: a one-level search asking for no attributes (1.1), paged with a cursor. */
  async function loadChildren(dn: string, cursor?: string) {
    patch(dn, { loading: true });
    try {
      const r = await ldap<SearchAnswer>('search', { ...target(conn), base: dn, scope: 'one', attributes: ['1.1'], pageSize: PAGE, allPages: false, ...(cursor ? { cursor } : {}) });
      const kids = r.entries.map((x) => x.dn);
      setNodes((n) => {
        const next = { ...n };
        for (const k of kids) next[k] ??= { dn: k, open: false, loading: false };
        next[dn] = { ...(n[dn] ?? { dn }), dn, open: true, loading: false, children: [...(cursor ? (n[dn]?.children ?? []) : []), ...kids], cursor: r.cursor };
        return next;
      });
    } catch (err) {
      patch(dn, { loading: false });
      setError(err as ApiError);
    }
  }

  async function toggle(dn: string) {
    const node = nodes[dn];
    if (node?.open) return patch(dn, { open: false });
    if (node?.children) return patch(dn, { open: true });
    await loadChildren(dn);
  }

  async function select(dn: string) {
    setError(null);
    setBase(dn);
    try {
      const r = await ldap<SearchAnswer>('search', { ...target(conn), base: dn, scope: 'base', attributes: ['*'] });
      setSelected(r.entries[0] ?? null);
    } catch (err) {
      setError(err as ApiError);
    }
  }

  async function search(e: React.FormEvent, cursor?: string) {
    e.preventDefault();
    if (filter && filterError(filter)) return;
    setBusy(true);
    setError(null);
    try {
      const attributes = attrs.split(/[\s,]+/).filter(Boolean);
      const r = await ldap<SearchAnswer>('search', { ...target(conn), base, scope, filter: filter || '(objectClass=*)', attributes, pageSize: 100, allPages: false, ...(cursor ? { cursor } : {}) });
      setResults((prev) => (cursor && prev ? { ...r, entries: [...prev.entries, ...r.entries] } : r));
      setResultCursor(r.cursor);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  function Node({ dn, depth }: { dn: string; depth: number }) {
    const n = nodes[dn] ?? { dn, open: false, loading: false };
    return (
      <li role="treeitem" aria-expanded={n.open} aria-level={depth + 1} aria-selected={selected?.dn === dn} data-dn={dn}>
        <div className="row" style={{ gap: 4 }}>
          <button type="button" className="toggle" aria-label={`${n.open ? 'Collapse' : 'Expand'} ${dn}`} onClick={() => toggle(dn)}>
            {n.loading ? '…' : n.open ? '▾' : '▸'}
          </button>
          <button type="button" className="link mono" onClick={() => select(dn)} title={dn}>
            {depth === 0 ? dn : rdnOf(dn)}
          </button>
        </div>
        {n.open && (
          <ul role="group" style={{ listStyle: 'none', paddingLeft: 18, margin: 0 }}>
            {(n.children ?? []).map((c) => (
              <Node key={c} dn={c} depth={depth + 1} />
            ))}
            {n.children?.length === 0 && <li className="small muted">no children</li>}
            {n.cursor && (
              <li>
                <button type="button" className="small" onClick={() => loadChildren(dn, n.cursor ?? undefined)}>
                  More children…
                </button>
              </li>
            )}
          </ul>
        )}
      </li>
    );
  }

  const columns = attrs.split(/[\s,]+/).filter((a) => a && a !== '*' && a !== '+' && a !== '1.1');
  const filterBad = filter !== '' && filterError(filter) !== null;

  return (
    <div>
      <div className="small muted">
        <a href={href([])}>Protocols</a> / <a href={href(['p', 'ldap'])}>LDAP</a>
      </div>
      <h1>LDAP directory browser</h1>
      <form className="panel row" onSubmit={connect} aria-label="LDAP connection" style={{ flexWrap: 'wrap', alignItems: 'flex-end' }}>
        <label data-field="host">
          <span className="small muted">Host</span>
          <input value={conn.host} onChange={(e) => setConn({ ...conn, host: e.target.value })} required placeholder="ldap.example.org" />
        </label>
        <label data-field="port">
          <span className="small muted">Port</span>
          <input value={conn.port} onChange={(e) => setConn({ ...conn, port: e.target.value })} inputMode="numeric" placeholder="389" style={{ width: 80 }} />
        </label>
        <label data-field="tls">
          <span className="small muted">TLS</span>
          <select value={conn.tls} onChange={(e) => setConn({ ...conn, tls: e.target.value as Connection['tls'] })}>
            <option value="off">off</option>
            <option value="starttls">StartTLS</option>
            <option value="implicit">LDAPS</option>
          </select>
        </label>
        <label data-field="bindDn">
          <span className="small muted">Bind DN (empty: anonymous)</span>
          <input value={conn.bindDn} onChange={(e) => setConn({ ...conn, bindDn: e.target.value })} placeholder="cn=admin,dc=example,dc=org" />
        </label>
        <label data-field="password">
          <span className="small muted">Password</span>
          <input type="password" value={conn.password} onChange={(e) => setConn({ ...conn, password: e.target.value })} />
        </label>
        <button type="submit" disabled={busy}>
          Connect
        </button>
      </form>
      {error && <ErrorLine error={error} />}
      {roots && (
        <div className="row" style={{ alignItems: 'flex-start', gap: 16, marginTop: 12 }}>
          <nav className="panel" aria-label="Directory tree" style={{ minWidth: 280, maxWidth: 420, overflow: 'auto' }}>
            {roots.length === 0 ? (
              <p className="muted">The server lists no naming contexts.</p>
            ) : (
              <ul role="tree" aria-label="Directory tree" style={{ listStyle: 'none', paddingLeft: 0, margin: 0 }}>
                {roots.map((dn) => (
                  <Node key={dn} dn={dn} depth={0} />
                ))}
              </ul>
            )}
          </nav>
          <section className="panel" style={{ flex: 1, minWidth: 0 }} aria-label="Entry">
            {selected ? <Attributes entry={selected} /> : <p className="muted">Choose an entry in the tree to see its attributes.</p>}
          </section>
        </div>
      )}
      {roots && (
        <form className="panel" onSubmit={(e) => search(e)} aria-label="LDAP search" style={{ marginTop: 12 }}>
          <div className="row" style={{ flexWrap: 'wrap', alignItems: 'flex-start' }}>
            <label data-field="base" style={{ minWidth: 260 }}>
              <span className="small muted">Base DN</span>
              <input className="mono" value={base} onChange={(e) => setBase(e.target.value)} style={{ width: '100%' }} />
            </label>
            <label data-field="scope">
              <span className="small muted">Scope</span>
              <select value={scope} onChange={(e) => setScope(e.target.value as typeof scope)}>
                <option value="base">base</option>
                <option value="one">one level</option>
                <option value="sub">subtree</option>
              </select>
            </label>
            <FilterBox value={filter} onChange={setFilter} />
            <label data-field="attributes">
              <span className="small muted">Attributes (empty: all)</span>
              <input className="mono" value={attrs} onChange={(e) => setAttrs(e.target.value)} placeholder="cn mail" />
            </label>
            <button type="submit" disabled={busy || filterBad}>
              Search
            </button>
          </div>
        </form>
      )}
      {results && (
        <section className="panel" aria-label="Search results" style={{ marginTop: 12 }}>
          <div className="row small" style={{ marginBottom: 6 }}>
            <span data-testid="result-count">
              {results.entries.length} entr{results.entries.length === 1 ? 'y' : 'ies'}
            </span>
            <span className="muted">
              {results.result.code} {results.result.name}
              {results.result.diagnosticMessage ? `: ${results.result.diagnosticMessage}` : ''}
            </span>
            <span className="spacer" />
            {resultCursor && (
              <button type="button" className="small" onClick={(e) => search(e, resultCursor)}>
                Next page
              </button>
            )}
            <button type="button" className="small" onClick={() => download('search.ldif', toLdif(results.entries, { version: true }), 'text/plain')}>
              Export LDIF
            </button>
            <button type="button" className="small" onClick={() => download('search.csv', toCsv(results.entries, columns), 'text/csv')}>
              Export CSV
            </button>
          </div>
          <div className="table-wrap">
            <table className="grid" aria-label="Entries found">
              <thead>
                <tr>
                  <th scope="col">DN</th>
                  {columns.map((c) => (
                    <th key={c} scope="col">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {results.entries.map((e) => (
                  <tr key={e.dn}>
                    <td className="mono">
                      <button type="button" className="link mono" onClick={() => select(e.dn)}>
                        {e.dn}
                      </button>
                    </td>
                    {columns.map((c) => {
                      const k = Object.keys(e.attributes).find((a) => a.toLowerCase() === c.toLowerCase());
                      return (
                        <td key={c} className="mono">
                          {k ? e.attributes[k].join('; ') : ''}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </div>
  );
}
