// The SQL table browser for PostgreSQL and MySQL/MariaDB, as pgweb and Adminer have it: a schema tree loaded as it
// is opened (databases, schemas, tables and views, columns with types and keys, indexes), and a table's rows paged
// on the server — keyset on a one-column primary key, LIMIT/OFFSET otherwise — sorted by a column, filtered, counted
// on demand. Every request is the protocol's own schema or query operation; values travel as bind parameters.
import { useState } from 'react';
import { CopyButton, download, ErrorLine, Tag } from '../components.tsx';
import { operationResult, type ApiError } from '../lib/api.ts';
import { toCsv } from '../lib/bytes.ts';
import { href } from '../lib/router.ts';

type Dialect = 'postgres' | 'mysql';

interface Connection {
  host: string;
  port: string;
  user: string;
  password: string;
  database: string;
}

type Row = Record<string, unknown>;
interface ResultSet {
  columns: { name: string }[];
  rows: unknown[][];
}
interface Column {
  name: string;
  type: string;
  nullable?: boolean;
}
interface Index {
  name: string;
  primary: boolean;
  unique: boolean;
  columns: string[];
  definition?: string;
}
interface TableInfo {
  schema: string;
  name: string;
  columns: Column[];
  indexes: Index[];
}

const PAGE = 50;

const TITLES: Record<Dialect, string> = { postgres: 'PostgreSQL', mysql: 'MySQL / MariaDB' };

/** An identifier quoted for the dialect. */
export function quoteIdent(d: Dialect, name: string): string {
  return d === 'postgres' ? `"${name.replace(/"/g, '""')}"` : `\`${name.replace(/`/g, '``')}\``;
}

/** The n-th bind parameter's placeholder. */
const param = (d: Dialect, n: number) => (d === 'postgres' ? `$${n}` : '?');

export interface PageQuery {
  schema: string;
  table: string;
  sort: { column: string; desc: boolean };
  filter?: { column: string; text: string };
  /** Keyset paging: rows after (or before, descending) this primary key value. */
  after?: unknown;
  keyset: boolean;
  offset: number;
}

/** The SELECT for one page (PAGE + 1 rows: one more says whether there is a next page) and its parameters. */
export function pageSql(d: Dialect, q: PageQuery): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.filter && q.filter.text !== '') {
    params.push(`%${q.filter.text}%`);
    where.push(d === 'postgres' ? `${quoteIdent(d, q.filter.column)}::text ILIKE ${param(d, params.length)}` : `CAST(${quoteIdent(d, q.filter.column)} AS CHAR) LIKE ${param(d, params.length)}`);
  }
  if (q.keyset && q.after !== undefined) {
    params.push(q.after);
    where.push(`${quoteIdent(d, q.sort.column)} ${q.sort.desc ? '<' : '>'} ${param(d, params.length)}`);
  }
  const from = `${quoteIdent(d, q.schema)}.${quoteIdent(d, q.table)}`;
  const sql = `SELECT * FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${quoteIdent(d, q.sort.column)} ${q.sort.desc ? 'DESC' : 'ASC'} LIMIT ${PAGE + 1}${q.keyset ? '' : ` OFFSET ${q.offset}`}`;
  return { sql, params };
}

function countSql(d: Dialect, q: PageQuery): { sql: string; params: unknown[] } {
  const { sql, params } = pageSql(d, { ...q, keyset: false, offset: 0, after: undefined });
  const where = /^SELECT \* FROM (.+?) ORDER BY /.exec(sql)![1];
  return { sql: `SELECT count(*) AS n FROM ${where}`, params };
}

/** A cell: NULL is not the text "null"; numbers right-aligned. */
function Cell({ v }: { v: unknown }) {
  if (v === null || v === undefined) return <span className="v-null" data-null="true">NULL</span>;
  if (typeof v === 'object') return <span className="mono">{JSON.stringify(v)}</span>;
  return <>{String(v)}</>;
}

const isNumeric = (v: unknown) => typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));

export function SqlBrowser({ dialect }: { dialect: Dialect }) {
  const [conn, setConn] = useState<Connection>({ host: '', port: '', user: '', password: '', database: '' });
  const [databases, setDatabases] = useState<string[] | null>(null);
  const [schemas, setSchemas] = useState<string[]>([]);
  const [tables, setTables] = useState<Record<string, Row[] | 'loading'>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [info, setInfo] = useState<TableInfo | null>(null);
  const [query, setQuery] = useState<PageQuery | null>(null);
  const [page, setPage] = useState<{ columns: string[]; rows: unknown[][]; more: boolean; number: number } | null>(null);
  /** Keyset: the last key of every page shown so far, to go back. */
  const [keys, setKeys] = useState<unknown[]>([]);
  const [count, setCount] = useState<number | null>(null);
  const [filterColumn, setFilterColumn] = useState('');
  const [filterText, setFilterText] = useState('');

  const target = (over: Partial<Connection> = {}): Record<string, unknown> => {
    const c = { ...conn, ...over };
    const t: Record<string, unknown> = { host: c.host.trim(), user: c.user.trim() };
    if (c.port.trim()) t.port = Number(c.port);
    if (c.password) t.password = c.password;
    if (c.database.trim()) t.database = c.database.trim();
    return t;
  };

  const op = <T,>(name: string, input: Record<string, unknown>) => operationResult<T>(dialect, name, { ...target(), ...input });

  async function connect(e?: React.FormEvent) {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    setInfo(null);
    setPage(null);
    try {
      const r = await op<{ databases?: Row[]; schemas?: Row[] }>('schema', {});
      setDatabases((r.databases ?? r.schemas ?? []).map((d) => String(d.name)));
      // MySQL's schemas are its databases: the tree starts there.
      const names = ((dialect === 'postgres' ? r.schemas : r.databases) ?? []).map((x) => String(x.name));
      setSchemas(names.filter((x) => !(dialect === 'postgres' ? /^(pg_catalog|information_schema)$/ : /^(information_schema|mysql|performance_schema|sys)$/).test(x)));
      setTables({});
    } catch (err) {
      setError(err as ApiError);
      setDatabases(null);
    } finally {
      setBusy(false);
    }
  }

  async function openSchema(schema: string) {
    if (tables[schema]) return setTables(({ [schema]: _closed, ...rest }) => rest);
    setTables((t) => ({ ...t, [schema]: 'loading' }));
    try {
      const r = await op<{ tables?: Row[] }>('schema', { schema });
      setTables((t) => ({ ...t, [schema]: (r.tables ?? []).filter((x) => String(x.schema ?? schema) === schema) }));
    } catch (err) {
      setError(err as ApiError);
      setTables(({ [schema]: _failed, ...rest }) => rest);
    }
  }

  async function load(q: PageQuery, number: number) {
    setBusy(true);
    setError(null);
    try {
      const { sql, params } = pageSql(dialect, q);
      const r = await op<{ results: ResultSet[] }>('query', { sql, ...(params.length ? { params } : {}), maxRows: PAGE + 1 });
      const set = r.results[0] ?? { columns: [], rows: [] };
      setPage({ columns: set.columns.map((c) => c.name), rows: set.rows.slice(0, PAGE), more: set.rows.length > PAGE, number });
      setQuery(q);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  }

  async function openTable(schema: string, name: string) {
    setError(null);
    setCount(null);
    setFilterText('');
    try {
      const r = await op<{ table: TableInfo }>('schema', { schema, table: name });
      const t = r.table;
      setInfo(t);
      const pk = t.indexes.find((i) => i.primary);
      const pkColumns = pk ? (pk.columns ?? /\(([^)]*)\)\s*$/.exec(pk.definition ?? '')?.[1].split(',').map((c) => c.trim().replace(/^"|"$/g, '')) ?? []) : [];
      const keyColumn = pkColumns.length === 1 ? pkColumns[0] : undefined;
      setFilterColumn(t.columns[0]?.name ?? '');
      setKeys([]);
      await load({ schema, table: name, sort: { column: keyColumn ?? t.columns[0]?.name ?? '1', desc: false }, keyset: keyColumn !== undefined, offset: 0 }, 1);
    } catch (err) {
      setError(err as ApiError);
    }
  }

  const keyColumnOf = (t: TableInfo | null): string | undefined => {
    const pk = t?.indexes.find((i) => i.primary);
    const cols = pk ? (pk.columns ?? /\(([^)]*)\)\s*$/.exec(pk.definition ?? '')?.[1].split(',').map((c) => c.trim().replace(/^"|"$/g, '')) ?? []) : [];
    return cols.length === 1 ? cols[0] : undefined;
  };

  /** Sorting or filtering starts again from page 1; keyset paging only while sorted by the one-column key. */
  function requery(over: Partial<PageQuery>) {
    if (!query) return;
    const next = { ...query, ...over, after: undefined, offset: 0 };
    next.keyset = next.sort.column === keyColumnOf(info);
    setKeys([]);
    setCount(null);
    void load(next, 1);
  }

  function nextPage() {
    if (!query || !page) return;
    if (query.keyset) {
      const at = page.columns.indexOf(query.sort.column);
      const last = page.rows[page.rows.length - 1]?.[at];
      setKeys((k) => [...k, query.after]);
      void load({ ...query, after: last }, page.number + 1);
    } else void load({ ...query, offset: query.offset + PAGE }, page.number + 1);
  }

  function previousPage() {
    if (!query || !page || page.number === 1) return;
    if (query.keyset) {
      const back = keys[keys.length - 1];
      setKeys((k) => k.slice(0, -1));
      void load({ ...query, after: back }, page.number - 1);
    } else void load({ ...query, offset: Math.max(0, query.offset - PAGE) }, page.number - 1);
  }

  async function countRows() {
    if (!query) return;
    try {
      const { sql, params } = countSql(dialect, query);
      const r = await op<{ results: ResultSet[] }>('query', { sql, ...(params.length ? { params } : {}) });
      setCount(Number(r.results[0]?.rows[0]?.[0]));
    } catch (err) {
      setError(err as ApiError);
    }
  }

  const asObjects = () => (page ? page.rows.map((r) => Object.fromEntries(page.columns.map((c, i) => [c, r[i]]))) : []);
  const insertSql = () =>
    page && info
      ? page.rows
          .map((r) => `INSERT INTO ${quoteIdent(dialect, info.schema)}.${quoteIdent(dialect, info.name)} (${page.columns.map((c) => quoteIdent(dialect, c)).join(', ')}) VALUES (${r.map((v) => (v === null ? 'NULL' : typeof v === 'number' || typeof v === 'boolean' ? String(v) : `'${(typeof v === 'object' ? JSON.stringify(v) : String(v)).replace(/'/g, "''")}'`)).join(', ')});`)
          .join('\n')
      : '';

  return (
    <div>
      <div className="small muted">
        <a href={href([])}>Protocols</a> / <a href={href(['p', dialect])}>{TITLES[dialect]}</a>
      </div>
      <h1>{TITLES[dialect]} browser</h1>
      <form className="panel row" aria-label="Database connection" onSubmit={connect} style={{ flexWrap: 'wrap', alignItems: 'flex-end' }}>
        {(
          [
            ['host', 'Host', 'db.example.org'],
            ['port', 'Port', dialect === 'postgres' ? '5432' : '3306'],
            ['user', 'User', dialect === 'postgres' ? 'postgres' : 'root'],
            ['password', 'Password', ''],
            ['database', 'Database', ''],
          ] as [keyof Connection, string, string][]
        ).map(([k, label, placeholder]) => (
          <label key={k} data-field={k}>
            <span className="small muted">{label}</span>
            <input type={k === 'password' ? 'password' : 'text'} value={conn[k]} required={k === 'host' || k === 'user'} placeholder={placeholder} onChange={(e) => setConn({ ...conn, [k]: e.target.value })} style={k === 'port' ? { width: 80 } : undefined} />
          </label>
        ))}
        <button type="submit" disabled={busy}>
          Connect
        </button>
      </form>
      {error && <ErrorLine error={error} />}
      {databases && (
        <div className="row" style={{ alignItems: 'flex-start', gap: 16, marginTop: 12 }}>
          <nav className="panel" aria-label="Schema tree" style={{ minWidth: 260, maxWidth: 360, overflow: 'auto' }}>
            {dialect === 'postgres' && (
              <label className="small">
                Database{' '}
                <select
                  aria-label="Database"
                  value={conn.database}
                  onChange={(e) => {
                    setConn({ ...conn, database: e.target.value });
                    setTables({});
                    setInfo(null);
                    setPage(null);
                  }}
                >
                  <option value="">(the user's default)</option>
                  {databases.map((d) => (
                    <option key={d}>{d}</option>
                  ))}
                </select>
              </label>
            )}
            <ul role="tree" aria-label="Schemas" style={{ listStyle: 'none', paddingLeft: 0 }}>
              {schemas.map((s) => {
                const list = tables[s];
                return (
                  <li key={s} role="treeitem" aria-expanded={!!list} data-schema={s}>
                    <button type="button" className="link mono" aria-label={`${list ? 'Collapse' : 'Expand'} ${s}`} onClick={() => void openSchema(s)}>
                      {list ? '▾' : '▸'} {s}
                    </button>
                    {list === 'loading' && <span className="small muted"> …</span>}
                    {Array.isArray(list) && (
                      <ul role="group" style={{ listStyle: 'none', paddingLeft: 16 }}>
                        {list.length === 0 && <li className="small muted">no tables</li>}
                        {list.map((t) => (
                          <li key={String(t.name)} role="treeitem" data-table={`${s}.${String(t.name)}`} aria-selected={info?.schema === s && info.name === t.name}>
                            <button type="button" className="link mono" onClick={() => void openTable(s, String(t.name))}>
                              {String(t.name)}
                            </button>{' '}
                            <span className="small muted">{String(t.kind ?? t.type ?? '')}</span>
                          </li>
                        ))}
                      </ul>
                    )}
                  </li>
                );
              })}
            </ul>
          </nav>
          <section className="panel" aria-label="Table" style={{ flex: 1, minWidth: 0 }}>
            {!info ? (
              <p className="muted">Open a schema and choose a table.</p>
            ) : (
              <>
                <h2 className="mono" style={{ marginTop: 0 }}>
                  {info.schema}.{info.name}
                </h2>
                <details>
                  <summary>
                    Columns ({info.columns.length}) and indexes ({info.indexes.length})
                  </summary>
                  <table className="grid" aria-label="Columns">
                    <tbody>
                      {info.columns.map((c) => (
                        <tr key={c.name} data-column={c.name}>
                          <td className="mono">{c.name}</td>
                          <td className="mono">{c.type}</td>
                          <td>
                            {c.name === keyColumnOf(info) && <Tag tone="info">primary key</Tag>} {c.nullable === false && <span className="small muted">NOT NULL</span>}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                  <ul className="mono small">
                    {info.indexes.map((i) => (
                      <li key={i.name}>{i.definition ?? `${i.primary ? 'PRIMARY' : i.unique ? 'UNIQUE' : 'INDEX'} ${i.name} (${i.columns.join(', ')})`}</li>
                    ))}
                  </ul>
                </details>
                <form
                  className="row small"
                  aria-label="Filter"
                  style={{ margin: '8px 0' }}
                  onSubmit={(e) => {
                    e.preventDefault();
                    requery({ filter: filterText ? { column: filterColumn, text: filterText } : undefined });
                  }}
                >
                  <select aria-label="Filter column" value={filterColumn} onChange={(e) => setFilterColumn(e.target.value)}>
                    {info.columns.map((c) => (
                      <option key={c.name}>{c.name}</option>
                    ))}
                  </select>
                  <input aria-label="Contains" placeholder="contains…" value={filterText} onChange={(e) => setFilterText(e.target.value)} />
                  <button type="submit" className="small">
                    Filter
                  </button>
                  <span className="spacer" />
                  <button type="button" className="small" onClick={() => void countRows()}>
                    Count rows
                  </button>
                  {count !== null && <span data-testid="row-count">{count} rows</span>}
                </form>
                {page && query && (
                  <>
                    <div className="row small" style={{ marginBottom: 6 }}>
                      <button type="button" className="small" disabled={busy || page.number === 1} onClick={previousPage}>
                        ← Previous
                      </button>
                      <span data-testid="page-number" data-paging={query.keyset ? 'keyset' : 'offset'}>
                        Page {page.number}
                      </span>
                      <button type="button" className="small" disabled={busy || !page.more} onClick={nextPage}>
                        Next →
                      </button>
                      <span className="muted">{query.keyset ? `keyset on ${query.sort.column}` : 'LIMIT/OFFSET'}</span>
                      <span className="spacer" />
                      <button type="button" className="small" onClick={() => download(`${info.name}.csv`, toCsv(page.columns, page.rows), 'text/csv')}>
                        CSV
                      </button>
                      <button type="button" className="small" onClick={() => download(`${info.name}.json`, JSON.stringify(asObjects(), null, 2), 'application/json')}>
                        JSON
                      </button>
                      <button type="button" className="small" onClick={() => download(`${info.name}.sql`, insertSql() + '\n', 'application/sql')}>
                        SQL INSERTs
                      </button>
                    </div>
                    <div className="table-wrap">
                      <table className="grid" aria-label="Rows" aria-busy={busy}>
                        <thead>
                          <tr>
                            {page.columns.map((c) => (
                              <th key={c} scope="col" aria-sort={query.sort.column === c ? (query.sort.desc ? 'descending' : 'ascending') : 'none'}>
                                <button type="button" className="link" aria-label={`Sort by ${c}`} onClick={() => requery({ sort: { column: c, desc: query.sort.column === c && !query.sort.desc } })}>
                                  {c} {query.sort.column === c ? (query.sort.desc ? '▼' : '▲') : ''}
                                </button>
                                <CopyButton text={() => page.rows.map((r) => (r[page.columns.indexOf(c)] === null ? 'NULL' : String(r[page.columns.indexOf(c)]))).join('\n')} label="copy" />
                              </th>
                            ))}
                            <th />
                          </tr>
                        </thead>
                        <tbody>
                          {page.rows.map((r, i) => (
                            <tr key={i}>
                              {r.map((v, j) => (
                                <td key={j} className={isNumeric(v) ? 'num' : undefined} title="Double-click to copy" onDoubleClick={() => void navigator.clipboard?.writeText(v === null ? 'NULL' : String(v))}>
                                  <Cell v={v} />
                                </td>
                              ))}
                              <td>
                                <CopyButton text={() => JSON.stringify(Object.fromEntries(page.columns.map((c, k) => [c, r[k]])))} label="Copy row" />
                              </td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                  </>
                )}
              </>
            )}
          </section>
        </div>
      )}
    </div>
  );
}
