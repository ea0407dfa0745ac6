// One protocol: its declaration, a tab per operation, the generated form and the result (or the live session).
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { CopyButton, Stars, Tag } from '../components.tsx';
import { formatHostPort, OperationForm } from '../form/OperationForm.tsx';
import { runOperation, type ApiError, type FieldIssue, type OperationAnswer, type OperationInfo, type ProtocolInfo } from '../lib/api.ts';
import { findOperation, isSession, runsHere, useRegistry } from '../lib/registry.ts';
import { href } from '../lib/router.ts';
import { prune, secretsOf, setPath, stripSecrets } from '../lib/schema.ts';
import { curlCommand, inputFromQuery, shareUrl } from '../lib/share.ts';
import { historyResponse, store, substituteVariables, useStore, variablesIn, type SavedTarget } from '../lib/storage.ts';
import { PingLive } from '../results/PingLive.tsx';
import { ResultPanel } from '../results/ResultView.tsx';
import { ChangedHostKey, KnownHostsList, knownKeys, probeHostKeys, UnknownHostPrompt, type ProbedKey } from '../session/HostKeys.tsx';
import { sessionKind, SessionView } from '../session/SessionView.tsx';
import { hasFileBrowser } from '../files/FileBrowser.tsx';
import { TransferControls } from '../files/transfers.tsx';

/** The recording player (asciinema-player) loads when a recording is there to play. */
const Recording = lazy(() => import('../session/Recording.tsx'));

function ProtocolHeader({ p }: { p: ProtocolInfo }) {
  return (
    <div className="proto-head">
      <div>
        <div className="small muted">
          <a href={href([])}>Protocols</a> / {p.category}
        </div>
        <h1 style={{ marginBottom: 4 }}>{p.title}</h1>
        <p className="muted" style={{ maxWidth: 820 }}>
          {p.summary}
        </p>
        {hasFileBrowser(p.id) && (
          <p>
            <a className="button" href={href(['files', p.id])}>
              Browse files
            </a>{' '}
            <span className="small muted">folders, downloads and uploads of any size</span>
          </p>
        )}
        <div className="proto-meta">
          <span className="ports">{p.ports.map((x) => `${x.port}/${x.transport}${x.label ? ` (${x.label})` : ''}`).join(' · ')}</span>
          {p.tlsModes.length > 1 && <Tag tone="info">TLS: {p.tlsModes.filter((m) => m !== 'off').join(', ')}</Tag>}
          {p.specs.map((s) => (
            <Tag key={s}>{s}</Tag>
          ))}
        </div>
        {(p.id === 'postgres' || p.id === 'mysql') && (
          <p>
            <a href={href(['browse', p.id])}>Open the table browser</a>: the schema tree, rows paged on the server, sort, filter, count, export.
          </p>
        )}
        {p.id === 'redis' && (
          <p>
            <a href={href(['browse', 'redis'])}>Open the key browser</a>: keys as a tree with type, TTL and memory, values by type, edits.
          </p>
        )}
        {p.id === 'nntp' && (
          <p>
            <a href={href(['browse', 'nntp'])}>Open the news reader</a>: the groups, a group's newest articles, an article with its headers.
          </p>
        )}
        {p.id === 'ldap' && (
          <p>
            <a href={href(['browse', 'ldap'])}>Open the directory browser</a>: the tree, entries and searches with export.
          </p>
        )}
      </div>
      <div className="panel" style={{ maxWidth: 460 }}>
        <div className="row">
          <Stars stars={p.rating.stars} reason={p.rating.reason} />
          <span className="small muted">{p.verifiedAgainst ? `verified against ${p.verifiedAgainst}` : 'not lab-verified yet'}</span>
        </div>
        <p className="small" style={{ marginBottom: 0 }}>
          {p.rating.reason}
        </p>
      </div>
    </div>
  );
}

function UnsupportedNotice({ op, runtime }: { op: OperationInfo; runtime: string }) {
  const s = op.support[runtime];
  if (!s || s.supported) return null;
  return (
    <div className="error-box info" role="note" style={{ marginBottom: 12 }}>
      <b>
        Needs {s.missing?.join(', ')}, which this {runtime} host lacks.
      </b>{' '}
      {s.reasons?.join(' ')} {s.alternatives?.length ? <span>Instead: {s.alternatives.join(' ')}</span> : null}
    </div>
  );
}

function SavedTargetPicker({ p, op, onLoad }: { p: ProtocolInfo; op: OperationInfo; onLoad: (t: SavedTarget) => void }) {
  const targets = useStore(store.targets);
  if (targets.length === 0) return null;
  const sorted = [...targets].sort((a, b) => Number(b.protocol === p.id) - Number(a.protocol === p.id) || Number(b.operation === op.name) - Number(a.operation === op.name));
  return (
    <select
      className="target-picker"
      aria-label="Load a saved target"
      value=""
      onChange={(e) => {
        const t = targets.find((x) => x.id === e.target.value);
        if (t) onLoad(t);
      }}
    >
      <option value="">Load saved target…</option>
      {sorted.map((t) => (
        <option key={t.id} value={t.id}>
          {t.name} ({t.host}
          {t.port ? `:${t.port}` : ''}
          {t.protocol && t.protocol !== p.id ? `, ${t.protocol}` : ''})
        </option>
      ))}
    </select>
  );
}

function SaveTargetDialog({ p, op, value, onClose }: { p: ProtocolInfo; op: OperationInfo; value: Record<string, unknown>; onClose: () => void }) {
  const secrets = secretsOf(value, op.input, op.input);
  const [name, setName] = useState(`${p.id} ${String(value.host ?? '')}`.trim());
  const [keep, setKeep] = useState(false);
  return (
    <div className="panel" role="dialog" aria-label="Save this target" style={{ marginTop: 10 }}>
      <div className="form">
        <div className="field">
          <label htmlFor="target-name">Name</label>
          <input id="target-name" value={name} autoFocus onChange={(e) => setName(e.target.value)} />
        </div>
        {secrets.length > 0 && (
          <label className="row small">
            <input type="checkbox" checked={keep} onChange={(e) => setKeep(e.target.checked)} />
            Also keep {secrets.map(([k]) => k).join(', ')} in this browser's storage for this target (unencrypted; off by default)
          </label>
        )}
        <div className="row">
          <button
            type="button"
            className="primary"
            disabled={!value.host}
            onClick={() => {
              store.saveTarget({
                name: name || String(value.host),
                host: String(value.host ?? ''),
                port: typeof value.port === 'number' ? value.port : undefined,
                protocol: p.id,
                operation: op.name,
                fields: stripSecrets(prune(value), op.input, op.input) as Record<string, unknown>,
                keepSecrets: keep,
                secrets: keep ? Object.fromEntries(secrets) : undefined,
              });
              onClose();
            }}
          >
            Save target
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}

function SaveRequestDialog({ p, op, value, onClose }: { p: ProtocolInfo; op: OperationInfo; value: Record<string, unknown>; onClose: () => void }) {
  const collections = useStore(store.collections);
  const [target, setTarget] = useState(collections[0]?.id ?? '');
  const [newName, setNewName] = useState('My requests');
  const [name, setName] = useState(`${p.id} ${op.name}${value.host ? ` ${String(value.host)}` : ''}`);
  const input = stripSecrets(prune(value), op.input, op.input) as Record<string, unknown>;
  return (
    <div className="panel" role="dialog" aria-label="Save to a collection" style={{ marginTop: 10 }}>
      <div className="form">
        <div className="field">
          <label htmlFor="request-name">Request name</label>
          <input id="request-name" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="collection-pick">Collection</label>
          <select id="collection-pick" value={target} onChange={(e) => setTarget(e.target.value)}>
            {collections.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name} ({c.requests.length})
              </option>
            ))}
            <option value="">New collection…</option>
          </select>
        </div>
        {target === '' && (
          <div className="field">
            <label htmlFor="collection-name">New collection name</label>
            <input id="collection-name" value={newName} onChange={(e) => setNewName(e.target.value)} />
          </div>
        )}
        <p className="small muted">Write {'{{host}}'} or any {'{{name}}'} in a field to fill it from the collection's variables when the request runs. Secrets are not saved.</p>
        <div className="row">
          <button
            type="button"
            className="primary"
            onClick={() => {
              const request = { name: name || `${p.id} ${op.name}`, protocol: p.id, operation: op.name, input };
              if (target) store.addRequest(target, request);
              else {
                const vars = Object.fromEntries(variablesIn(input).map((v) => [v, '']));
                store.saveCollection({ name: newName || 'Requests', variables: vars, requests: [] });
                const created = store.collections()[0];
                store.addRequest(created.id, request);
              }
              onClose();
            }}
          >
            Save request
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </div>
    </div>
  );
}

/** SSH operations whose client can also run in this page, the Worker relaying only ciphertext over /api/tunnel. */
const END_TO_END: Record<string, readonly string[]> = { ssh: ['exec', 'probe', 'sftp-ls', 'sftp-stat'] };

/** The live ping is offered to operations that answer probes with round-trip times. */
function offersLivePing(op: OperationInfo): boolean {
  const probes = op.output.properties?.probes;
  return !!probes?.items?.properties?.rttMs && !!op.input.properties?.count;
}

export function RunPage({ protocolId, operationName, query }: { protocolId: string; operationName?: string; query: URLSearchParams }) {
  const reg = useRegistry();
  const { protocol: p, operation: op } = findOperation(reg, protocolId, operationName);
  if (!p) return <div className="empty">No protocol “{protocolId}”. <a href={href([])}>See all protocols</a>.</div>;
  if (!op) return <div className="empty">{p.title} has no operation “{operationName}”.</div>;
  return <OperationRunner key={`${p.id}/${op.name}/${query.toString()}`} p={p} op={op} query={query} runtime={reg.runtime} />;
}

function OperationRunner({ p, op, query, runtime }: { p: ProtocolInfo; op: OperationInfo; query: URLSearchParams; runtime: string }) {
  const reg = useRegistry();
  const initial = useMemo(() => inputFromQuery(op.input, query), [op, query]);
  const [value, setValue] = useState<Record<string, unknown>>(initial);
  const [formKey, setFormKey] = useState(0);
  const [answer, setAnswer] = useState<OperationAnswer | null>(null);
  /** The input of the last run: result views that run more operations on the same target use it. */
  const [ranWith, setRanWith] = useState<Record<string, unknown> | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [transcript, setTranscript] = useState(true);
  const [saving, setSaving] = useState(false);
  const [savingRequest, setSavingRequest] = useState(false);
  const collections = useStore(store.collections);
  const collection = collections.find((c) => c.id === query.get('collection'));
  /** The input as it is sent: {{variables}} filled from the collection it was opened from. */
  const resolved = (v: Record<string, unknown>) => (collection ? substituteVariables(prune(v), collection.variables) : prune(v)) as Record<string, unknown>;
  const [mode, setMode] = useState<'idle' | 'session' | 'live'>('idle');
  const [sessionInput, setSessionInput] = useState<Record<string, unknown> | null>(null);
  const [hostCheck, setHostCheck] = useState<{ kind: 'unknown' | 'changed'; host: string; port: number; keys: ProbedKey[]; input: Record<string, unknown> } | null>(null);
  const [editConnection, setEditConnection] = useState(false);
  const abort = useRef<AbortController | null>(null);
  /** The input of the run in progress, when its operation can be stopped on the server (`cancel`). */
  const cancellable = useRef<Record<string, unknown> | null>(null);
  const issues: FieldIssue[] = answer?.error?.detail?.issues ?? [];
  const session = isSession(op);
  /** A running terminal takes the page; the form folds into a connection bar. */
  const wide = mode === 'session' && !!sessionInput && sessionKind(p, op) === 'terminal' && !editConnection;

  useEffect(() => () => abort.current?.abort(), []);

  const load = (t: SavedTarget) => {
    let next: Record<string, unknown> = { ...(t.protocol === p.id ? t.fields : {}), host: t.host };
    if (t.port && (t.protocol === p.id || !t.protocol)) next.port = t.port;
    for (const [path, secret] of Object.entries(t.secrets ?? {})) next = setPath(next, path.split('.'), secret);
    // Keep only fields this operation has.
    const known = new Set(Object.keys(op.input.properties ?? {}));
    setValue(Object.fromEntries(Object.entries(next).filter(([k]) => known.has(k))));
    setFormKey((k) => k + 1);
  };

  /** Runs the operation with the form's input; `override` replaces fields for this run only (the SQL selection). */
  const run = async (override?: Record<string, unknown>) => {
    const body = { ...resolved(value), ...override };
    // A run the server can be told to stop carries a fresh label the cancel operation finds it by.
    if (op.cancel) body[op.cancel.tag] = [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, '0')).join('');
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    cancellable.current = op.cancel ? body : null;
    setBusy(true);
    const a = await runOperation(p.id, op.name, body, { transcript, signal: ctl.signal });
    if (cancellable.current === body) cancellable.current = null;
    if (abort.current !== ctl) return;
    setBusy(false);
    setAnswer(a);
    setRanWith(body);
    store.addHistory({
      protocol: p.id,
      operation: op.name,
      input: stripSecrets(body, op.input, op.input) as Record<string, unknown>,
      ok: a.ok,
      code: a.ok ? 'ok' : (a.error?.code ?? 'error'),
      totalMs: a.timing?.totalMs,
      summary: a.ok ? undefined : a.error?.message,
      ...historyResponse(a.ok ? a.result : a.error),
    });
  };

  const endToEnd = END_TO_END[p.id]?.includes(op.name) ?? false;
  const runInBrowser = async () => {
    const body = resolved(value);
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setBusy(true);
    const started = performance.now();
    // Loaded on first use: the SSH client and its crypto are a separate chunk.
    const { runSshInBrowser } = await import('../../../src/hosts/browser/ssh.ts');
    const a = await runSshInBrowser(op.name as 'exec', body, { transcript });
    if (abort.current !== ctl) return;
    setBusy(false);
    setAnswer({ ...(a as OperationAnswer), clientMs: performance.now() - started });
    store.addHistory({
      protocol: p.id,
      operation: op.name,
      input: stripSecrets(body, op.input, op.input) as Record<string, unknown>,
      ok: a.ok,
      code: a.ok ? 'ok' : a.error.code,
      totalMs: a.ok ? a.timing.totalMs : undefined,
      summary: a.ok ? 'end to end in the browser' : a.error.message,
    });
  };

  const begin = (input: Record<string, unknown>) => {
    setAnswer(null);
    setSessionInput(input);
    setMode('session');
  };

  /** SSH without a pinned key: the key known in this browser is pinned, an unknown host is asked about first. */
  const startSession = async () => {
    const input = resolved(value);
    setHostCheck(null);
    setEditConnection(false);
    if (p.id === 'ssh' && 'hostKeyFingerprint' in (op.input.properties ?? {}) && input.hostKeyFingerprint === undefined && input.knownHosts === undefined && input.via === undefined) {
      const host = String(input.host ?? '');
      const port = Number(input.port ?? p.ports[0]?.port ?? 22);
      const known = knownKeys(host, port);
      if (known.length > 0) return begin({ ...input, hostKeyFingerprint: known.map((k) => k.fingerprint) });
      setBusy(true);
      const probed = await probeHostKeys(host, port);
      setBusy(false);
      if (probed.error) {
        setMode('idle');
        return setAnswer({ ok: false, protocol: 'ssh', operation: 'probe', error: probed.error });
      }
      return setHostCheck({ kind: 'unknown', host, port, keys: probed.keys, input });
    }
    begin(input);
  };

  /** A pinned key was refused: show what the server has now, and connect no further. */
  const sessionError = async (e: ApiError) => {
    if (p.id !== 'ssh' || e.code !== 'untrusted_peer' || !sessionInput) return;
    const host = String(sessionInput.host ?? '');
    const port = Number(sessionInput.port ?? p.ports[0]?.port ?? 22);
    if (knownKeys(host, port).length === 0) return;
    const probed = await probeHostKeys(host, port);
    setMode('idle');
    setHostCheck({ kind: 'changed', host, port, keys: probed.keys, input: sessionInput });
  };

  const actions = (
    <>
      {session && sessionKind(p, op) !== 'terminal' && sessionKind(p, op) !== 'desktop' && (
        <button type="button" className="small" onClick={() => void run()} disabled={busy} title="Run the operation once over HTTP (for operations that also answer a POST)">
          Run once
        </button>
      )}
      {endToEnd && (
        <button type="button" className="small" onClick={runInBrowser} disabled={busy} title="Run the SSH client in this page: the Worker only relays encrypted bytes over /api/tunnel">
          Run in this browser (end to end)
        </button>
      )}
      {offersLivePing(op) && (
        <button type="button" className="small" aria-pressed={mode === 'live'} onClick={() => setMode(mode === 'live' ? 'idle' : 'live')}>
          {mode === 'live' ? 'Stop live' : 'Live chart'}
        </button>
      )}
      <CopyButton text={() => shareUrl(p.id, op.name, op.input, value)} label="Copy link" />
      <CopyButton text={() => curlCommand(p.id, op.name, op.input, value, session)} label={session ? 'Copy start message' : 'Copy curl'} />
      <button type="button" className="small" onClick={() => setSaving(!saving)} aria-expanded={saving}>
        Save target
      </button>
      <button type="button" className="small" onClick={() => setSavingRequest(!savingRequest)} aria-expanded={savingRequest}>
        Save to collection
      </button>
    </>
  );

  return (
    <div>
      <ProtocolHeader p={p} />
      <nav className="tabs" aria-label="Operations">
        {p.operations.map((o) => (
          <a key={o.name} href={href(['run', p.id, o.name], Object.fromEntries(['host', 'port', 'tls'].filter((k) => value[k] !== undefined).map((k) => [k, String(value[k])])))} aria-current={o.name === op.name ? 'page' : undefined} title={o.summary}>
            {o.name}
            {isSession(o) ? ' ⇄' : ''}
            {!runsHere(reg, o) ? ' ⚠' : ''}
          </a>
        ))}
      </nav>
      {wide && (
        <div className="panel row conn-bar" aria-label="Connection" style={{ marginBottom: 10 }}>
          <b>{op.name}</b>
          <span className="mono">
            {sessionInput?.username || sessionInput?.user ? `${String(sessionInput.username ?? sessionInput.user)}@` : ''}
            {formatHostPort(sessionInput?.host, sessionInput?.port)}
          </span>
          <span className="spacer" />
          <button type="button" className="small" onClick={() => setEditConnection(true)}>
            Edit connection
          </button>
        </div>
      )}
      <div className={wide ? 'run-grid wide' : 'run-grid'}>
        <section className="panel" aria-label="Input" hidden={wide}>
          <div className="row" style={{ marginBottom: 8 }}>
            <h2 style={{ margin: 0 }}>{op.name}</h2>
            <span className="spacer" />
            <SavedTargetPicker p={p} op={op} onLoad={load} />
          </div>
          <p className="small muted">
            {op.summary}
            {session ? ' — an interactive session over a WebSocket.' : ''}
          </p>
          <UnsupportedNotice op={op} runtime={runtime} />
          {collection && (
            <p className="small" data-testid="collection-variables">
              From collection <a href={href(['collections'])}>{collection.name}</a>: {variablesIn(value).length ? variablesIn(value).map((v) => `{{${v}}} = ${collection.variables[v] ?? '(not set)'}`).join(', ') : 'no {{variables}} in this request'}, filled in when it runs.
            </p>
          )}
          <OperationForm
            key={formKey}
            protocol={p}
            op={op}
            value={value}
            onChange={setValue}
            onSubmit={session ? startSession : run}
            issues={issues}
            busy={busy}
            submitLabel={session ? (mode === 'session' ? 'Restart session' : 'Start session') : 'Run'}
            actions={actions}
            onCancel={() => {
              const running = cancellable.current;
              if (running && op.cancel) {
                // Ask the server to stop; the run then answers with the server's own words. If it does not within 5 s, stop waiting.
                cancellable.current = null;
                const ctl = abort.current;
                const fields = new Set(Object.keys(p.operations.find((o) => o.name === op.cancel!.operation)?.input.properties ?? {}));
                void runOperation(p.id, op.cancel.operation, Object.fromEntries(Object.entries(running).filter(([k]) => fields.has(k))), { transcript: false });
                setTimeout(() => {
                  if (abort.current !== ctl) return;
                  ctl?.abort();
                  abort.current = null;
                  setBusy(false);
                }, 5000);
                return;
              }
              abort.current?.abort();
              abort.current = null;
              setBusy(false);
            }}
          />
          {!session && (
            <label className="row small" style={{ marginTop: 8 }}>
              <input type="checkbox" checked={transcript} onChange={(e) => setTranscript(e.target.checked)} /> Record the wire transcript
            </label>
          )}
          {op.transfer && !session && <TransferControls p={p} op={op} input={() => resolved(value)} onResult={(result) => setAnswer({ ok: true, protocol: p.id, operation: op.name, result })} />}
          {p.id === 'ssh' && session && <KnownHostsList />}
          {saving && <SaveTargetDialog p={p} op={op} value={value} onClose={() => setSaving(false)} />}
          {savingRequest && <SaveRequestDialog p={p} op={op} value={value} onClose={() => setSavingRequest(false)} />}
        </section>
        <section className="panel" aria-label="Result" aria-live="polite" aria-busy={busy}>
          {mode === 'live' ? (
            <PingLive protocol={p.id} operation={op.name} input={prune(value) as Record<string, unknown>} onStop={() => setMode('idle')} />
          ) : hostCheck?.kind === 'unknown' ? (
            <UnknownHostPrompt host={hostCheck.host} port={hostCheck.port} keys={hostCheck.keys} onCancel={() => setHostCheck(null)} onTrust={() => (setHostCheck(null), begin({ ...hostCheck.input, hostKeyFingerprint: hostCheck.keys.map((k) => k.fingerprint) }))} />
          ) : hostCheck?.kind === 'changed' ? (
            <ChangedHostKey host={hostCheck.host} port={hostCheck.port} now={hostCheck.keys} onForget={() => setHostCheck(null)} onClose={() => setHostCheck(null)} />
          ) : mode === 'session' && sessionInput ? (
            <SessionView key={JSON.stringify(sessionInput)} protocol={p} op={op} input={sessionInput} onEnd={(a) => a && setAnswer(a)} onError={(e) => void sessionError(e)} />
          ) : answer ? (
            <ResultPanel answer={answer} op={op} input={ranWith} />
          ) : (
            <div className="empty">
              {busy ? 'Running…' : session ? 'Fill in the target and start the session.' : 'Fill in the target and run the operation. Ctrl+Enter runs it from any field.'}
              {p.defaultOperation === op.name && (
                <div className="small" style={{ marginTop: 8 }}>
                  From a shell: <code>curl {`${location.origin}/${p.id}/HOST`}</code>
                </div>
              )}
            </div>
          )}
          {mode === 'session' && answer && <ResultPanel answer={answer} op={op} />}
          {mode === 'session' && answer?.ok && typeof (answer.result as { asciicast?: unknown } | undefined)?.asciicast === 'string' && (
            <Suspense fallback={<p className="muted">Loading the player…</p>}>
              <Recording cast={(answer.result as { asciicast: string }).asciicast} name={`${p.id}-${String(sessionInput?.host ?? 'session')}`} />
            </Suspense>
          )}
        </section>
      </div>
    </div>
  );
}
