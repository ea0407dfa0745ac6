// The shell: loads the registry, routes by hash, applies the theme.
import { useEffect, useState } from 'react';
import { fetchRegistry, type Registry } from './lib/api.ts';
import { RegistryContext } from './lib/registry.ts';
import { href, useRoute } from './lib/router.ts';
import { store, useStore } from './lib/storage.ts';
import { ApiPage } from './pages/ApiPage.tsx';
import { Catalog } from './pages/Catalog.tsx';
import { HistoryPage } from './pages/HistoryPage.tsx';
import { LdapBrowser } from './pages/LdapBrowser.tsx';
import { NewsReader } from './pages/NewsReader.tsx';
import { RedisBrowser } from './pages/RedisBrowser.tsx';
import { SqlBrowser } from './pages/SqlBrowser.tsx';
import { RunPage } from './pages/RunPage.tsx';
import { WherePage } from './pages/WherePage.tsx';
import { FilesPage } from './files/FileBrowser.tsx';

const NAV: [string, string, string][] = [
  ['catalog', 'Protocols', href([])],
  ['history', 'History & targets', href(['history'])],
  ['api', 'API', href(['api'])],
  ['where', 'What runs where', href(['where'])],
];

function useTheme(): ['dark' | 'light' | 'system', () => void] {
  const theme = useStore(store.theme);
  useEffect(() => {
    const media = window.matchMedia('(prefers-color-scheme: light)');
    const apply = () => {
      const effective = theme === 'system' ? (media.matches ? 'light' : 'dark') : theme;
      document.documentElement.dataset.theme = effective;
    };
    apply();
    media.addEventListener('change', apply);
    return () => media.removeEventListener('change', apply);
  }, [theme]);
  const next = () => store.setTheme(theme === 'system' ? 'light' : theme === 'light' ? 'dark' : 'system');
  return [theme, next];
}

export function App() {
  const route = useRoute();
  const [registry, setRegistry] = useState<Registry | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [theme, nextTheme] = useTheme();

  useEffect(() => {
    fetchRegistry().then(setRegistry, (e: unknown) => setError(String(e)));
  }, []);

  const [page, ...rest] = route.parts;
  const section = page === 'run' || page === 'p' || page === 'browse' || page === 'files' || page === undefined ? 'catalog' : page === 'targets' ? 'history' : page;

  const routeKey = route.parts.join('/');
  useEffect(() => {
    const titles: Record<string, string> = { history: 'History', api: 'API', where: 'What runs where' };
    const [first, ...others] = routeKey.split('/');
    document.title = first === 'browse' ? `${others[0] === 'redis' ? 'Redis key' : others[0] === 'postgres' ? 'PostgreSQL' : others[0] === 'mysql' ? 'MySQL' : others[0] === 'nntp' ? 'News' : 'LDAP directory'} ${others[0] === 'nntp' ? 'reader' : 'browser'} · Portolan` : first === 'files' ? `${others.join(' ')} files · Portolan` : first === 'run' || first === 'p' ? `${others.join(' ')} · Portolan` : titles[first] ? `${titles[first]} · Portolan` : 'Portolan';
    document.getElementById('main')?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [routeKey]);

  let body;
  if (error) body = <div className="error-box">Cannot load the protocol list: {error}</div>;
  else if (!registry) body = <p className="muted">Loading the protocol registry…</p>;
  else if (page === undefined || page === 'catalog') body = <Catalog query={route.query} />;
  else if (page === 'p' || page === 'run') body = <RunPage protocolId={rest[0] ?? ''} operationName={rest[1]} query={route.query} />;
  else if (page === 'files') body = <FilesPage protocolId={rest[0] ?? ''} query={route.query} />;
  else if (page === 'browse' && rest[0] === 'ldap') body = <LdapBrowser />;
  else if (page === 'browse' && rest[0] === 'redis') body = <RedisBrowser />;
  else if (page === 'browse' && rest[0] === 'nntp') body = <NewsReader />;
  else if (page === 'browse' && (rest[0] === 'postgres' || rest[0] === 'mysql')) body = <SqlBrowser key={rest[0]} dialect={rest[0]} />;
  else if (page === 'history' || page === 'targets') body = <HistoryPage />;
  else if (page === 'api') body = <ApiPage />;
  else if (page === 'where') body = <WherePage />;
  else body = <div className="empty">No page at #{route.parts.join('/')}. <a href={href([])}>Back to the protocols</a>.</div>;

  return (
    <RegistryContext.Provider value={registry ?? { runtime: 'unknown', protocols: [] }}>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header className="top">
        <a className="brand" href={href([])} aria-label="Portolan home">
          <img src="/favicon.svg" alt="" />
          Portolan
        </a>
        <nav className="nav" aria-label="Main">
          {NAV.map(([key, label, to]) => (
            <a key={key} href={to} aria-current={section === key ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        {registry && (
          <span className="runtime-pill" title="The runtime that serves this page and runs its operations">
            runtime: {registry.runtime}
          </span>
        )}
        <button className="small" onClick={nextTheme} aria-label={`Theme: ${theme}. Switch theme`} title="Switch theme (system → light → dark)">
          {theme === 'light' ? '☀' : theme === 'dark' ? '☾' : '◐'} {theme}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {body}
      </main>
    </RegistryContext.Provider>
  );
}
