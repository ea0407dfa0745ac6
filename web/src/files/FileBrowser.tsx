// A file browser for the protocols that list and download files (FTP/FTPS, SFTP, SMB, NFS, rsync): folders,
// breadcrumbs, up, sizes and dates for people, sort; download as a real file; where the protocol can, rename,
// delete, chmod and upload by picker or by dropping several files; a transfer list with progress, rate, ETA and
// cancel.
//
// How it works: the connection form is the list operation's own (generated from its schema). Every
// action is another operation of the same protocol, run with the connection's fields that operation
// takes plus its own (path, to, mode). Downloads and uploads are WebSocket transfers (docs/files.md).
import { useMemo, useRef, useState } from 'react';
import { download } from '../components.tsx';
import { OperationForm } from '../form/OperationForm.tsx';
import { runOperation, type FieldIssue, type OperationInfo, type ProtocolInfo } from '../lib/api.ts';
import { findOperation, useRegistry } from '../lib/registry.ts';
import { href } from '../lib/router.ts';
import { prune } from '../lib/schema.ts';
import { inputFromQuery } from '../lib/share.ts';
import { ErrorView } from '../results/ResultView.tsx';
import { downloadFile, humanBytes, uploadFile } from './transfer.ts';
import { TransferList, useTransfers } from './transfers.tsx';

interface Entry {
  name: string;
  dir: boolean;
  link: boolean;
  size: number | null;
  modified: string | null;
  mode: string | null;
}

interface BrowserSpec {
  list: string;
  download: string;
  /** Operations the protocol lacks are left out, and so are their buttons. */
  upload?: string;
  rename?: { op: string; from: string; to: string };
  remove?: string;
  rmdir?: string;
  mkdir?: string;
  chmod?: string;
  /** The path field of an operation for a folder (default: the folder as shown, "/a/b"). */
  dirPath?(dir: string): string;
  /** The path field of an operation for an entry (default: folder and name joined, "/a/b/c"). */
  entryPath?(dir: string, name: string): string;
  /** The directory the listing is of, and its entries. */
  listing(result: Record<string, any>, dir: string): { dir: string; entries: Entry[] };
}

/** Paths relative to the root of a share, export or module: the browser's "/a/b" is "a/b" there. */
const rooted = {
  dirPath: (dir: string) => dir.replace(/^\/+/, ''),
  entryPath: (dir: string, name: string) => join(dir, name).replace(/^\/+/, ''),
};

/** The folder a rooted listing is of, as the browser shows it ("a\\b" or "a/b/" is "/a/b"). */
function shownDir(path: unknown): string {
  return `/${String(path).replace(/\\/g, '/').replace(/^\/+|\/+$/g, '')}`;
}

/** An entry with a Unix file type, size, mtime and octal mode (NFS, rsync). */
function unixEntry(e: { name: string; type: string; size: number | null; mtime: string | null; mode: string | null }): Entry {
  return { name: e.name, dir: e.type === 'dir', link: e.type === 'symlink', size: e.type === 'dir' ? null : e.size, modified: e.mtime, mode: e.mode };
}

const BROWSERS: Record<string, BrowserSpec> = {
  ftp: {
    list: 'list',
    download: 'download',
    upload: 'upload',
    rename: { op: 'rename', from: 'from', to: 'to' },
    remove: 'delete',
    rmdir: 'rmdir',
    mkdir: 'mkdir',
    chmod: 'chmod',
    listing: (r) => ({
      dir: r.cwd,
      entries: (r.entries as any[]).map((e) => ({ name: e.name, dir: e.type === 'dir', link: e.type === 'link', size: e.type === 'dir' ? null : e.size, modified: e.modified, mode: e.permissions ?? e.facts?.['unix.mode'] ?? null })),
    }),
  },
  ssh: {
    list: 'sftp-ls',
    download: 'sftp-get',
    upload: 'sftp-put',
    rename: { op: 'sftp-rename', from: 'path', to: 'to' },
    remove: 'sftp-rm',
    rmdir: 'sftp-rmdir',
    mkdir: 'sftp-mkdir',
    chmod: 'sftp-chmod',
    listing: (r) => ({
      dir: r.path,
      entries: (r.entries as any[]).map((e) => ({ name: e.name, dir: e.type === 'directory', link: e.type === 'symlink', size: e.type === 'directory' ? null : e.size, modified: e.mtime, mode: e.mode })),
    }),
  },
  smb: {
    list: 'list',
    download: 'download',
    upload: 'upload',
    rename: { op: 'rename', from: 'from', to: 'to' },
    remove: 'delete',
    rmdir: 'delete',
    mkdir: 'mkdir',
    ...rooted,
    listing: (r) => ({
      dir: shownDir(r.path),
      entries: (r.entries as any[]).map((e) => ({ name: e.name, dir: e.type === 'dir', link: false, size: e.type === 'dir' ? null : e.size, modified: e.modified, mode: null })),
    }),
  },
  nfs: {
    list: 'list',
    download: 'download',
    upload: 'upload',
    ...rooted,
    listing: (r) => ({ dir: shownDir(r.path), entries: (r.entries as any[]).map(unixEntry) }),
  },
  rsync: {
    list: 'list',
    download: 'download',
    ...rooted,
    // A folder is listed by its contents: its path with a trailing slash.
    dirPath: (dir) => (dir === '/' ? '' : `${dir.replace(/^\/+|\/+$/g, '')}/`),
    listing: (r, dir) => ({ dir, entries: (r.entries as any[]).filter((e) => e.name !== '.').map(unixEntry) }),
  },
};

/** Protocols with a file browser. */
export function hasFileBrowser(protocolId: string): boolean {
  return protocolId in BROWSERS;
}

/** Fields of the list operation that are about the listing, not the connection. */
const LISTING_FIELDS = new Set(['path', 'method', 'maxEntries', 'timeoutMs', 'recursive']);

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir.replace(/\/+$/, '')}/${name}`;
}

function parent(dir: string): string {
  const trimmed = dir.replace(/\/+$/, '');
  const at = trimmed.lastIndexOf('/');
  return at <= 0 ? '/' : trimmed.slice(0, at);
}

function when(iso: string | null): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

type SortKey = 'name' | 'size' | 'modified';

export function FilesPage({ protocolId, query }: { protocolId: string; query: URLSearchParams }) {
  const reg = useRegistry();
  const spec = BROWSERS[protocolId];
  const { protocol: p, operation: listOp } = findOperation(reg, protocolId, spec?.list);
  if (!spec || !p || !listOp) return <div className="empty">No file browser for “{protocolId}”. <a href={href([])}>See all protocols</a>.</div>;
  return <FileBrowser p={p} spec={spec} listOp={listOp} query={query} />;
}

function FileBrowser({ p, spec, listOp, query }: { p: ProtocolInfo; spec: BrowserSpec; listOp: OperationInfo; query: URLSearchParams }) {
  const initial = useMemo(() => inputFromQuery(listOp.input, query), [listOp, query]);
  const [form, setForm] = useState<Record<string, unknown>>(initial);
  const [conn, setConn] = useState<Record<string, unknown> | null>(null);
  const [dir, setDir] = useState<string | null>(null);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ code: string; message: string; detail?: any } | null>(null);
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });
  const transfers = useTransfers();
  const [dragging, setDragging] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const ops = useMemo(() => Object.fromEntries(p.operations.map((o) => [o.name, o])), [p]);
  const issues: FieldIssue[] = error?.detail?.issues ?? [];

  /** The connection's fields that `opName` takes, and its own. */
  const inputFor = (opName: string, own: Record<string, unknown>, c = conn): Record<string, unknown> => {
    const props = ops[opName]?.input.properties ?? {};
    const base = Object.fromEntries(Object.entries(c ?? {}).filter(([k]) => k in props && !LISTING_FIELDS.has(k)));
    return { ...base, ...own };
  };

  const dirPath = (d: string) => (spec.dirPath ? spec.dirPath(d) : d);
  const entryPath = (d: string, name: string) => (spec.entryPath ? spec.entryPath(d, name) : join(d, name));

  // Listings can overlap (each finished upload asks for one): only the answer to the latest request is shown, so an
  // earlier, slower answer never replaces a newer one.
  const listing = useRef(0);
  const list = async (path: string | undefined, c = conn): Promise<void> => {
    const n = ++listing.current;
    setBusy(true);
    const a = await runOperation(p.id, spec.list, inputFor(spec.list, path === undefined ? {} : { path: dirPath(path) }, c));
    if (n !== listing.current) return;
    setBusy(false);
    if (!a.ok) {
      setError(a.error ?? { code: 'error', message: 'listing failed' });
      return;
    }
    setError(null);
    const l = spec.listing(a.result as Record<string, any>, path === undefined ? '/' : path);
    setDir(l.dir);
    setEntries(l.entries);
  };

  const connect = async () => {
    const c = prune(form) as Record<string, unknown>;
    setConn(c);
    await list(typeof c.path === 'string' && c.path !== '' ? c.path : undefined, c);
  };

  const act = async (opName: string, own: Record<string, unknown>) => {
    setBusy(true);
    const a = await runOperation(p.id, opName, inputFor(opName, own));
    setBusy(false);
    if (!a.ok) setError(a.error ?? { code: 'error', message: `${opName} failed` });
    else await list(dir ?? undefined);
  };

  const downloadEntry = (e: Entry) => {
    const path = entryPath(dir!, e.name);
    transfers.track('download', e.name, (onProgress) => downloadFile(p.id, spec.download, inputFor(spec.download, { path }), onProgress), (v) => {
      const got = v as { blob: Blob; name: string };
      download(got.name, got.blob, got.blob.type);
    });
  };

  const upload = (files: FileList | File[]) => {
    const target = dir!;
    const op = spec.upload;
    if (!op) return;
    for (const f of Array.from(files)) transfers.track('upload', f.name, (onProgress) => uploadFile(p.id, op, inputFor(op, { path: entryPath(target, f.name) }), f, onProgress), () => void list(target));
  };

  const sorted = useMemo(() => {
    const k = sort.key;
    const cmp = (a: Entry, b: Entry) => {
      if (a.dir !== b.dir) return a.dir ? -1 : 1;
      const av = k === 'name' ? a.name.toLowerCase() : k === 'size' ? (a.size ?? -1) : (a.modified ?? '');
      const bv = k === 'name' ? b.name.toLowerCase() : k === 'size' ? (b.size ?? -1) : (b.modified ?? '');
      const r = av < bv ? -1 : av > bv ? 1 : 0;
      return sort.desc ? -r : r;
    };
    return [...entries].sort(cmp);
  }, [entries, sort]);

  const header = (key: SortKey, label: string) => (
    <th aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
      <button type="button" className="link" onClick={() => setSort({ key, desc: sort.key === key ? !sort.desc : false })}>
        {label}
        {sort.key === key ? (sort.desc ? ' ▾' : ' ▴') : ''}
      </button>
    </th>
  );

  const crumbs = dir === null ? [] : dir.split('/').filter(Boolean);

  return (
    <div className="filebrowser">
      <div className="small muted">
        <a href={href([])}>Protocols</a> / <a href={href(['p', p.id])}>{p.title}</a> / files
      </div>
      <h1>{p.title}: files</h1>
      <div className="run-grid">
        <section className="panel" aria-label="Connection">
          <OperationForm protocol={p} op={listOp} value={form} onChange={setForm} onSubmit={connect} issues={issues} busy={busy} submitLabel={conn ? 'Reconnect' : 'Connect'} actions={null} onCancel={() => setBusy(false)} />
        </section>
        <section className="panel" aria-label="Files">
          {error && <ErrorView error={error} />}
          {dir === null ? (
            <div className="empty">Connect to browse the server's files.</div>
          ) : (
            <div
              className={`dropzone${dragging ? ' over' : ''}`}
              data-testid="dropzone"
              onDragOver={(e) => {
                e.preventDefault();
                setDragging(true);
              }}
              onDragLeave={() => setDragging(false)}
              onDrop={(e) => {
                e.preventDefault();
                setDragging(false);
                if (e.dataTransfer.files.length > 0) upload(e.dataTransfer.files);
              }}
            >
              <div className="row crumbs" aria-label="Path">
                <button type="button" className="small" onClick={() => list(parent(dir))} disabled={dir === '/' || busy} title="Up one folder">
                  ↑ Up
                </button>
                <nav aria-label="Breadcrumbs">
                  <a href="#" onClick={(e) => (e.preventDefault(), list('/'))}>
                    /
                  </a>
                  {crumbs.map((c, i) => (
                    <span key={i}>
                      {i > 0 ? ' / ' : ''}
                      <a href="#" onClick={(e) => (e.preventDefault(), list(`/${crumbs.slice(0, i + 1).join('/')}`))}>
                        {c}
                      </a>
                    </span>
                  ))}
                </nav>
                <span className="spacer" />
                <button type="button" className="small" onClick={() => list(dir)} disabled={busy}>
                  Refresh
                </button>
                {spec.mkdir && (
                  <button
                    type="button"
                    className="small"
                    onClick={() => {
                      const name = prompt('New folder name');
                      if (name && spec.mkdir) void act(spec.mkdir, { path: entryPath(dir, name) });
                    }}
                  >
                    New folder
                  </button>
                )}
                {spec.upload && (
                  <button type="button" className="small primary" onClick={() => picker.current?.click()}>
                    Upload files…
                  </button>
                )}
                <input
                  ref={picker}
                  type="file"
                  multiple
                  hidden
                  aria-label="Files to upload"
                  onChange={(e) => {
                    if (e.target.files?.length) upload(e.target.files);
                    e.target.value = '';
                  }}
                />
              </div>
              {spec.upload && <p className="small muted">Drop files here to upload them to {dir}.</p>}
              <div className="table-wrap">
                <table className="files" aria-label={`Files in ${dir}`}>
                  <thead>
                    <tr>
                      {header('name', 'Name')}
                      {header('size', 'Size')}
                      {header('modified', 'Modified')}
                      <th>Mode</th>
                      <th>Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {sorted.map((e) => (
                      <tr key={e.name} data-name={e.name}>
                        <td>
                          {e.dir ? (
                            <a href="#" onClick={(ev) => (ev.preventDefault(), list(join(dir, e.name)))} title="Open the folder">
                              {e.name}/
                            </a>
                          ) : (
                            <span title={e.link ? 'a symbolic link' : undefined}>
                              {e.name}
                              {e.link ? ' →' : ''}
                            </span>
                          )}
                        </td>
                        <td className="num" title={e.size === null ? undefined : `${e.size} bytes`}>
                          {e.dir ? '' : humanBytes(e.size)}
                        </td>
                        <td title={e.modified ?? undefined}>{when(e.modified)}</td>
                        <td className="mono">{e.mode ?? ''}</td>
                        <td className="row">
                          {!e.dir && (
                            <button type="button" className="small" onClick={() => downloadEntry(e)} aria-label={`Download ${e.name}`}>
                              Download
                            </button>
                          )}
                          {spec.rename && (
                            <button
                              type="button"
                              className="small"
                              aria-label={`Rename ${e.name}`}
                              onClick={() => {
                                const to = prompt(`Rename ${e.name} to`, e.name);
                                if (to && to !== e.name && spec.rename) void act(spec.rename.op, { [spec.rename.from]: entryPath(dir, e.name), [spec.rename.to]: entryPath(dir, to) });
                              }}
                            >
                              Rename
                            </button>
                          )}
                          {spec.chmod && (
                            <button
                              type="button"
                              className="small"
                              aria-label={`Change the mode of ${e.name}`}
                              onClick={() => {
                                const mode = prompt(`Permissions of ${e.name} (octal, like 644)`, e.mode && /^[0-7]+$/.test(e.mode) ? e.mode : '644');
                                if (mode && spec.chmod) void act(spec.chmod, { path: entryPath(dir, e.name), mode });
                              }}
                            >
                              Chmod
                            </button>
                          )}
                          {(e.dir ? spec.rmdir : spec.remove) && (
                            <button
                              type="button"
                              className="small danger"
                              aria-label={`Delete ${e.name}`}
                              onClick={() => {
                                const op = e.dir ? spec.rmdir : spec.remove;
                                if (op && confirm(`Delete ${join(dir, e.name)}?`)) void act(op, { path: entryPath(dir, e.name) });
                              }}
                            >
                              Delete
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                {sorted.length === 0 && <p className="muted small">This folder is empty.</p>}
              </div>
            </div>
          )}
          <TransferList transfers={transfers} />
        </section>
      </div>
    </div>
  );
}
