// The news reader: a server's groups (LIST ACTIVE with descriptions, filtered as typed), a group's newest
// articles from the overview database (OVER), and an article with its main headers and body as the server
// sent it (dot-stuffing undone), every header on request. Everything runs through the nntp groups, overview
// and article operations.
import { useMemo, useState } from 'react';
import { CopyButton, ErrorLine } from '../components.tsx';
import { operationResult, type ApiError } from '../lib/api.ts';
import { href } from '../lib/router.ts';

interface Connection {
  host: string;
  port: string;
  tls: 'off' | 'starttls' | 'implicit';
  username: string;
  password: string;
}

interface Group {
  name: string;
  low: number;
  high: number;
  status: string;
  description: string | null;
}

interface Overview {
  number: number;
  subject: string;
  from: string;
  date: string;
  messageId: string;
  references: string;
  bytes: number | null;
}

interface Article {
  number: number;
  messageId: string;
  headers?: { name: string; value: string }[];
  text?: string;
  base64?: string;
}

/** Articles shown per group: the newest. */
const NEWEST = 200;
const MAIN_HEADERS = ['from', 'subject', 'date', 'newsgroups', 'message-id', 'references'];

function target(c: Connection): Record<string, unknown> {
  const t: Record<string, unknown> = { host: c.host.trim(), tls: c.tls };
  if (c.port.trim()) t.port = Number(c.port);
  if (c.username.trim()) {
    t.username = c.username.trim();
    t.password = c.password;
  }
  return t;
}

const nntp = <T,>(op: string, input: Record<string, unknown>) => operationResult<T>('nntp', op, input);

/** The body of an article: what follows the first empty line, with the wire's CRLF line ends as LF. */
function bodyOf(text: string): string {
  const lines = text.replace(/\r\n/g, '\n');
  const at = lines.indexOf('\n\n');
  return at === -1 ? '' : lines.slice(at + 2);
}

function when(date: string): string {
  const d = new Date(date);
  return Number.isNaN(d.getTime()) ? date : d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

function ArticleView({ article }: { article: Article }) {
  const [all, setAll] = useState(false);
  const headers = article.headers ?? [];
  const shown = all ? headers : headers.filter((h) => MAIN_HEADERS.includes(h.name.toLowerCase()));
  const body = article.text !== undefined ? bodyOf(article.text) : null;
  return (
    <article aria-label="Article" data-testid="article">
      <table className="grid" aria-label="Headers">
        <tbody>
          {shown.map((h, i) => (
            <tr key={i} data-header={h.name.toLowerCase()}>
              <th scope="row" className="mono">
                {h.name}
              </th>
              <td style={{ wordBreak: 'break-word' }}>{h.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="row small" style={{ margin: '6px 0' }}>
        <button type="button" className="small" onClick={() => setAll(!all)}>
          {all ? 'Main headers' : `All ${headers.length} headers`}
        </button>
        <CopyButton text={article.messageId} label="Copy message-id" />
        {article.text !== undefined && <CopyButton text={article.text} label="Copy the article" />}
      </div>
      {body !== null ? (
        <pre className="mono" data-testid="article-body" style={{ whiteSpace: 'pre-wrap' }}>
          {body}
        </pre>
      ) : (
        <p className="muted">The article is not text (base64, {article.base64?.length ?? 0} characters).</p>
      )}
    </article>
  );
}

export function NewsReader() {
  const [conn, setConn] = useState<Connection>({ host: '', port: '', tls: 'off', username: '', password: '' });
  const [groups, setGroups] = useState<Group[] | null>(null);
  const [filter, setFilter] = useState('');
  const [group, setGroup] = useState<string | null>(null);
  const [articles, setArticles] = useState<Overview[] | null>(null);
  const [article, setArticle] = useState<Article | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };

  const connect = (e: React.FormEvent) => {
    e.preventDefault();
    void run(async () => {
      setGroup(null);
      setArticles(null);
      setArticle(null);
      const r = await nntp<{ groups: Group[] }>('groups', target(conn));
      setGroups(r.groups);
    });
  };

  const open = (name: string) =>
    run(async () => {
      setGroup(name);
      setArticle(null);
      setArticles(null);
      const r = await nntp<{ articles: Overview[] }>('overview', { ...target(conn), group: name, limit: NEWEST });
      setArticles([...r.articles].sort((a, b) => b.number - a.number));
    });

  const read = (number: number) =>
    run(async () => {
      setArticle(await nntp<Article>('article', { ...target(conn), group, number }));
    });

  const visible = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return (groups ?? []).filter((g) => !f || g.name.toLowerCase().includes(f) || (g.description ?? '').toLowerCase().includes(f));
  }, [groups, filter]);

  return (
    <div>
      <div className="small muted">
        <a href={href([])}>Protocols</a> / <a href={href(['p', 'nntp'])}>NNTP</a>
      </div>
      <h1>News reader</h1>
      <form className="panel row" onSubmit={connect} aria-label="NNTP connection" style={{ flexWrap: 'wrap', alignItems: 'flex-end' }}>
        <label data-field="host">
          <span className="small muted">Host</span>
          <input value={conn.host} onChange={(e) => setConn({ ...conn, host: e.target.value })} required placeholder="news.example.org" />
        </label>
        <label data-field="port">
          <span className="small muted">Port</span>
          <input value={conn.port} onChange={(e) => setConn({ ...conn, port: e.target.value })} inputMode="numeric" placeholder="119" style={{ width: 80 }} />
        </label>
        <label data-field="tls">
          <span className="small muted">TLS</span>
          <select value={conn.tls} onChange={(e) => setConn({ ...conn, tls: e.target.value as Connection['tls'] })}>
            <option value="off">off</option>
            <option value="starttls">STARTTLS</option>
            <option value="implicit">NNTPS</option>
          </select>
        </label>
        <label data-field="username">
          <span className="small muted">User (empty: no login)</span>
          <input value={conn.username} onChange={(e) => setConn({ ...conn, username: e.target.value })} />
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
      {groups && (
        <div className="row" style={{ alignItems: 'flex-start', gap: 16, marginTop: 12 }}>
          <nav className="panel" aria-label="Groups" style={{ minWidth: 260, maxWidth: 380, overflow: 'auto' }}>
            <input aria-label="Filter groups" placeholder="Filter groups" value={filter} onChange={(e) => setFilter(e.target.value)} style={{ width: '100%', marginBottom: 6 }} />
            {visible.length === 0 && <p className="muted small">{groups.length === 0 ? 'The server lists no groups.' : 'No group matches.'}</p>}
            <ul className="plain">
              {visible.map((g) => (
                <li key={g.name} data-group={g.name}>
                  <button type="button" className={`link mono${g.name === group ? ' current' : ''}`} onClick={() => void open(g.name)}>
                    {g.name}
                  </button>{' '}
                  <span className="small muted">{g.high >= g.low ? g.high - g.low + 1 : 0}</span>
                  {g.description && <div className="small muted">{g.description}</div>}
                </li>
              ))}
            </ul>
          </nav>
          <section className="panel" style={{ flex: 1, minWidth: 0 }} aria-label={group ? `Articles in ${group}` : 'Articles'}>
            {!group && <p className="muted">Choose a group to read its newest articles.</p>}
            {group && articles && articles.length === 0 && <p className="muted">No articles in {group}.</p>}
            {articles && articles.length > 0 && (
              <div className="table-wrap" style={{ maxHeight: 320 }}>
                <table className="grid" aria-label="Article list">
                  <thead>
                    <tr>
                      <th scope="col">#</th>
                      <th scope="col">Subject</th>
                      <th scope="col">From</th>
                      <th scope="col">Date</th>
                    </tr>
                  </thead>
                  <tbody>
                    {articles.map((a) => (
                      <tr key={a.number} data-number={a.number} className={article?.number === a.number ? 'current' : undefined}>
                        <td className="num">{a.number}</td>
                        <td>
                          <button type="button" className="link" onClick={() => void read(a.number)}>
                            {a.references ? '↳ ' : ''}
                            {a.subject || '(no subject)'}
                          </button>
                        </td>
                        <td>{a.from}</td>
                        <td title={a.date}>{when(a.date)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {article && <ArticleView key={article.number} article={article} />}
          </section>
        </div>
      )}
    </div>
  );
}
