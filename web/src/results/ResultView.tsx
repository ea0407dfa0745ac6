// Chooses a view for each part of a result from the operation's output schema and the value itself.
import { createContext, useContext, useState, type ReactNode } from 'react';
import { CopyButton, download, OutcomeBadge } from '../components.tsx';
import type { ApiError, OperationAnswer, OperationInfo } from '../lib/api.ts';
import { base64ToBytes, hexToBytes } from '../lib/bytes.ts';
import { isBytesObject, kindOf, labelOf, nonNull, type JsonSchema } from '../lib/schema.ts';
import { formatHostPort } from '../form/OperationForm.tsx';
import { PortGrid, RttChart, type PortCell } from './charts.tsx';
import { MemcachedStats } from './MemcachedStats.tsx';
import { ImapMessageList, isImapMessage, MessageView } from './MessageView.tsx';
import { planOf, type Plan, type PlanNode } from './plan.ts';
import { BytesView, bytesOf, DataTable, HexDump, JsonTree, KeyValue, Scalar, TimingBar, TranscriptView, type Column } from './views.tsx';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const isPrimitive = (v: unknown) => v === null || v === undefined || typeof v !== 'object';
const isLongText = (v: unknown) => typeof v === 'string' && (v.length > 160 || v.includes('\n'));

function propSchema(schema: JsonSchema | undefined, key: string, root: JsonSchema): JsonSchema | undefined {
  const s = schema ? nonNull(schema, root) : undefined;
  const p = s?.properties?.[key];
  if (p) return nonNull(p, root);
  if (s?.additionalProperties && typeof s.additionalProperties === 'object') return nonNull(s.additionalProperties, root);
  return undefined;
}

/** Values that read well in a key/value list. */
function isInline(v: unknown): boolean {
  if (isPrimitive(v)) return !isLongText(v);
  if (isBytesObject(v)) return !isLongText(v.text) && (v.hex?.length ?? 0) <= 64 && (v.base64?.length ?? 0) <= 64;
  if (Array.isArray(v)) return v.length <= 12 && v.every((x) => isPrimitive(x) && !isLongText(x));
  return false;
}

function InlineValue({ v, name }: { v: unknown; name?: string }) {
  if (Array.isArray(v))
    return v.length === 0 ? (
      <span className="v-null">none</span>
    ) : (
      <span className="chips">
        {v.map((x, i) => (
          <span key={i} className="tag">
            {String(x)}
          </span>
        ))}
      </span>
    );
  return <Scalar value={v} name={name} />;
}

/** {columns: [{name}], rows: [[...]]}: a query result set. */
function isResultSet(v: unknown): v is { columns: { name: string; type?: string }[]; rows: unknown[][] } & Obj {
  return isObj(v) && Array.isArray(v.columns) && Array.isArray(v.rows) && v.columns.every((c) => isObj(c) && typeof c.name === 'string');
}

/** EXPLAIN as a tree: each node with its estimated cost (a bar against the whole plan's), rows, and with ANALYZE its times. */
function PlanTree({ plan }: { plan: Plan }) {
  const whole = plan.root.cost?.total || 1;
  const node = (n: PlanNode, key: string): ReactNode => (
    <li key={key} role="treeitem" aria-expanded={n.children.length > 0 ? true : undefined} data-plan-node={n.label} style={{ margin: '4px 0' }}>
      <div className="row small" style={{ gap: 10, flexWrap: 'wrap' }}>
        <b className="mono">{n.label}</b>
        {n.cost && (
          <span className="muted" data-testid="plan-cost" title="Estimated startup..total cost (planner units), rows and row width">
            cost {n.cost.startup}..{n.cost.total} · {n.cost.rows} rows
          </span>
        )}
        {n.actual && (
          <span data-testid="plan-actual" title="Measured time to the first..last row, rows per loop, loops">
            {n.actual.first}..{n.actual.last} ms · {n.actual.rows} rows{n.actual.loops > 1 ? ` × ${n.actual.loops} loops` : ''}
          </span>
        )}
      </div>
      {n.cost && <div aria-hidden style={{ height: 3, background: 'var(--accent, #4a8fd8)', opacity: 0.6, width: `${Math.max(1, Math.min(100, (n.cost.total / whole) * 100))}%` }} />}
      {n.details.map((d, i) => (
        <div key={i} className="small muted mono" style={{ paddingLeft: 8 }}>
          {d}
        </div>
      ))}
      {n.children.length > 0 && (
        <ul role="group" style={{ listStyle: 'none', paddingLeft: 18, borderLeft: '1px solid var(--border, #444)' }}>
          {n.children.map((c, i) => node(c, `${key}.${i}`))}
        </ul>
      )}
    </li>
  );
  return (
    <div aria-label="Query plan">
      <ul role="tree" style={{ listStyle: 'none', paddingLeft: 0, margin: 0 }}>
        {node(plan.root, '0')}
      </ul>
      {plan.summary.map((line) => (
        <div key={line} className="small muted">
          {line}
        </div>
      ))}
    </div>
  );
}

function ResultSet({ set, index, name }: { set: { columns: { name: string; type?: string }[]; rows: unknown[][] } & Obj; index: number; name: string }) {
  const meta = Object.entries(set).filter(([k, v]) => k !== 'columns' && k !== 'rows' && isInline(v));
  const plan = planOf(set);
  const table = (
    <DataTable
      name={`${name}-${index + 1}`}
      columns={set.columns.map((c, i) => ({ key: `${i}`, label: c.name, numeric: false, title: c.type }))}
      rows={set.rows}
      rawRows={set.rows.map((r) => Object.fromEntries(set.columns.map((c, i) => [c.name, r[i]])))}
    />
  );
  return (
    <div className="section">
      <h3>
        {name} {index + 1}
        {typeof set.command === 'string' ? ` · ${set.command}` : ''}
      </h3>
      <div className="row small muted" style={{ marginBottom: 6, gap: 14 }}>
        {meta.map(([k, v]) => (
          <span key={k}>
            {labelOf(k)}: <InlineValue v={v} name={k} />
          </span>
        ))}
      </div>
      {set.columns.length > 0 ? (
        plan ? (
          <>
            <PlanTree plan={plan} />
            <details>
              <summary className="small">As text</summary>
              {table}
            </details>
          </>
        ) : (
          table
        )
      ) : (
        <p className="muted small">No rows (a statement without a result set).</p>
      )}
    </div>
  );
}

/** A table from an array of objects: columns from the schema's item properties, then any other keys seen. */
function ObjectTable({ items, schema, root, name }: { items: Obj[]; schema?: JsonSchema; root: JsonSchema; name: string }) {
  const itemSchema = schema?.items ? nonNull(schema.items, root) : undefined;
  const keys = [...Object.keys(itemSchema?.properties ?? {})];
  for (const it of items.slice(0, 200)) for (const k of Object.keys(it)) if (!keys.includes(k)) keys.push(k);
  const used = keys.filter((k) => items.some((it) => it[k] !== undefined));
  const columns: Column[] = used.map((k) => ({ key: k, label: k }));
  const rows = items.map((it) => used.map((k) => (Array.isArray(it[k]) && (it[k] as unknown[]).every(isPrimitive) ? (it[k] as unknown[]).join(', ') : it[k])));
  return <DataTable name={name} columns={columns} rows={rows} rawRows={items} />;
}

/** The view for one named part of a result. */
/** A downloaded file's content (FTP contentBase64, SFTP and SCP content in base64, TFTP base64): a file, not a text to show at once. */
function isFileContent(name: string, parent?: Obj): boolean {
  return /^(contentBase64|base64)$/.test(name) || (name === 'content' && parent?.encoding === 'base64');
}

/** The host the answer is about: a port grid links each identified port to its protocol's page for it. */
const TargetHost = createContext<string | undefined>(undefined);

export function PartView({ name, value, schema, root, depth = 0, parent }: { name: string; value: unknown; schema?: JsonSchema; root: JsonSchema; depth?: number; parent?: Obj }) {
  const targetHost = useContext(TargetHost);
  const s = schema ? nonNull(schema, root) : undefined;
  if (value === null || value === undefined) return <Scalar value={value} />;
  if (typeof value === 'string') {
    const fileName = typeof parent?.path === 'string' ? parent.path.split('/').pop() || 'download.bin' : typeof parent?.filename === 'string' ? parent.filename : undefined;
    if (isFileContent(name, parent)) return <BytesView bytes={base64ToBytes(value)} name={fileName ?? 'download.bin'} preview={false} />;
    if (/hex$/i.test(name) && /^[0-9a-f]*$/i.test(value)) return <BytesView bytes={hexToBytes(value)} name={name} />;
    if (/base64$/i.test(name)) return <BytesView bytes={base64ToBytes(value)} name={name.replace(/base64$/i, '') || 'data'} />;
    // A PNG as base64 (a screenshot): shown as the picture, with a download.
    if (value.startsWith('iVBORw0KGgo')) {
      const src = `data:image/png;base64,${value}`;
      return (
        <figure className="result-image">
          <img src={src} alt={name} data-testid="result-image" style={{ maxWidth: '100%', imageRendering: 'pixelated' }} />
          <figcaption className="small">
            <a href={src} download={`${name}.png`}>
              Download {name}.png
            </a>
          </figcaption>
        </figure>
      );
    }
    return (
      <div>
        <div className="row small" style={{ justifyContent: 'flex-end', marginBottom: 4 }}>
          <CopyButton text={value} />
        </div>
        <pre className="textblock">{value}</pre>
      </div>
    );
  }
  if (isPrimitive(value)) return <Scalar value={value} />;
  if (isBytesObject(value)) return <BytesView bytes={bytesOf(value)} name={name} text={value.text} />;
  if (isResultSet(value)) return <ResultSet set={value} index={0} name={name} />;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span className="v-null">none</span>;
    if (value.every(isResultSet)) return <>{value.map((set, i) => <ResultSet key={i} set={set} index={i} name={labelOf(name).replace(/s$/, '')} />)}</>;
    if (value.every(isObj)) {
      const items = value as Obj[];
      const chart = items.every((x) => 'rttMs' in x && 'seq' in x) ? <RttChart probes={items as { seq: number; rttMs: number | null; outcome?: string }[]} /> : null;
      const grid = items.every((x) => typeof x.port === 'number' && typeof x.state === 'string') ? <PortGrid results={items as unknown as PortCell[]} host={targetHost} /> : null;
      // Objects holding only bytes (Redis replies, keys) or nested records (identify's evidence): a tree reads better than a table.
      if (items.some((x) => Object.values(x).some((v) => Array.isArray(v) && v.some(isObj))))
        return (
          <>
            {grid}
            <JsonTree value={value} name={name} />
          </>
        );
      return (
        <>
          {chart}
          {grid}
          <ObjectTable items={items} schema={s} root={root} name={name} />
        </>
      );
    }
    if (value.every(isPrimitive)) {
      if (value.length > 60) return <DataTable name={name} columns={[{ key: 'v', label: name }]} rows={value.map((v) => [v])} />;
      return <InlineValue v={value} />;
    }
    return <JsonTree value={value} name={name} />;
  }
  if (isObj(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return <span className="v-null">empty</span>;
    if (entries.every(([, v]) => isInline(v))) return <KeyValue entries={entries.map(([k, v]) => [k, <InlineValue v={v} name={k} />])} />;
    if (depth >= 2) return <JsonTree value={value} name={name} />;
    return <ObjectView value={value} schema={s} root={root} depth={depth + 1} />;
  }
  return <JsonTree value={value} name={name} />;
}

/** An object: its short values as key/value, each larger part in its own section. */
export function ObjectView({ value, schema, root, depth = 0 }: { value: Obj; schema?: JsonSchema; root: JsonSchema; depth?: number }) {
  const order = Object.keys(schema ? nonNull(schema, root).properties ?? {} : {});
  const keys = [...order.filter((k) => k in value), ...Object.keys(value).filter((k) => !order.includes(k))];
  const inline = keys.filter((k) => isInline(value[k]) && !isFileContent(k, value) && !(Array.isArray(value[k]) && kindOf(propSchema(schema, k, root) ?? {}) === 'array' && nonNull(propSchema(schema, k, root)?.items ?? {}, root).properties));
  // The data first (rows, records, text), then descriptive objects, then what came back empty.
  const rank = (v: unknown) => (Array.isArray(v) ? (v.length === 0 ? 3 : 0) : isObj(v) && !isBytesObject(v) && !isResultSet(v) ? (Object.keys(v).length === 0 ? 3 : 2) : 1);
  const parts = keys.filter((k) => !inline.includes(k)).sort((a, b) => rank(value[a]) - rank(value[b]));
  return (
    <div>
      {inline.length > 0 && <KeyValue entries={inline.map((k) => [labelOf(k), <InlineValue v={value[k]} name={k} />])} />}
      {parts.map((k) => (
        <section className="section" key={k} aria-label={labelOf(k)}>
          <h3>
            {labelOf(k)}
            {Array.isArray(value[k]) ? <span className="tag">{(value[k] as unknown[]).length}</span> : null}
          </h3>
          {propSchema(schema, k, root)?.description && <p className="small muted">{propSchema(schema, k, root)?.description}</p>}
          <PartView name={k} value={value[k]} schema={propSchema(schema, k, root)} root={root} depth={depth} parent={value} />
        </section>
      ))}
    </div>
  );
}

export function ErrorView({ error }: { error: ApiError }) {
  const tone = error.code === 'invalid_input' || error.code === 'rate_limited' || error.code.endsWith('timeout') ? 'warn' : error.code === 'unsupported_runtime' || error.code === 'target_blocked' ? 'info' : '';
  const detail = error.detail ?? {};
  const extra = Object.entries(detail).filter(([k]) => !['issues', 'reasons', 'alternatives'].includes(k));
  return (
    <div className={`error-box ${tone}`} role="alert" data-testid="error">
      <div className="row">
        <OutcomeBadge code={error.code} />
        <b>{error.message}</b>
      </div>
      {detail.issues && detail.issues.length > 0 && (
        <ul>
          {detail.issues.map((i, n) => (
            <li key={n}>
              <code>{i.field}</code>: {i.message}
            </li>
          ))}
        </ul>
      )}
      {detail.reasons && detail.reasons.length > 0 && (
        <p>
          <b>Why:</b> {detail.reasons.join(' ')}
        </p>
      )}
      {detail.alternatives && detail.alternatives.length > 0 && (
        <p>
          <b>Instead:</b> {detail.alternatives.join(' ')}
        </p>
      )}
      {extra.length > 0 && (
        <details>
          <summary>Details from the server</summary>
          <KeyValue entries={extra.map(([k, v]) => [k, isPrimitive(v) ? <Scalar value={v} /> : <JsonTree value={v} />])} />
        </details>
      )}
    </div>
  );
}

type Tab = 'result' | 'transcript' | 'json';

/** `input`: what the operation ran with, for views that run more operations on the same target (an IMAP message's parts). */
export function ResultPanel({ answer, op, extra, input }: { answer: OperationAnswer; op: OperationInfo; extra?: ReactNode; input?: Record<string, unknown> }) {
  const [tab, setTab] = useState<Tab>('result');
  const entries = answer.transcript?.entries.length ?? 0;
  const tabs: [Tab, string][] = [
    ['result', answer.ok ? 'Result' : 'Error'],
    ['transcript', `Transcript${answer.transcript ? ` (${entries})` : ''}`],
    ['json', 'JSON'],
  ];
  const code = answer.ok ? 'ok' : (answer.error?.code ?? 'error');
  return (
    <div data-testid="result" data-outcome={code}>
      <div className="result-head">
        <OutcomeBadge code={code} />
        <b>
          {answer.protocol ?? ''} {answer.operation ?? op.name}
        </b>
        {answer.target && <span className="mono muted">→ {formatHostPort(answer.target.host, answer.target.port)}</span>}
        {answer.status !== undefined && <span className="muted small">HTTP {answer.status}</span>}
        {answer.relayedBytes !== undefined && (
          <span className="muted small" data-testid="end-to-end" title="The client ran in this page; the Worker relayed only these encrypted bytes over /api/tunnel">
            end to end in this browser · {answer.relayedBytes} bytes relayed
          </span>
        )}
        <span className="spacer" />
        <button type="button" className="small" onClick={() => download(`${op.name}-result.json`, JSON.stringify(answer, null, 2), 'application/json')}>
          Download JSON
        </button>
      </div>
      {answer.timing && <TimingBar timing={answer.timing} clientMs={answer.clientMs} />}
      {extra}
      <div className="tabs" role="tablist" style={{ marginTop: 12 }}>
        {tabs.map(([k, label]) => (
          <button key={k} type="button" role="tab" aria-selected={tab === k} onClick={() => setTab(k)}>
            {label}
          </button>
        ))}
      </div>
      <div role="tabpanel">
        <TargetHost.Provider value={answer.target?.host}>
        {tab === 'result' && answer.ok && answer.protocol === 'memcached' && (answer.operation ?? op.name) === 'stats' && isObj(answer.result) && (
          <MemcachedStats result={answer.result as Parameters<typeof MemcachedStats>[0]['result']} />
        )}
        {tab === 'result' && answer.ok && answer.protocol === 'imap' && (answer.operation ?? op.name) === 'fetch' && input && isObj(answer.result) && Array.isArray(answer.result.messages) && answer.result.messages.length > 0 && (
          <ImapMessageList messages={answer.result.messages as Parameters<typeof ImapMessageList>[0]['messages']} input={input} />
        )}
        {tab === 'result' &&
          (answer.ok ? (
            answer.protocol === 'imap' && isImapMessage(answer.result) ? (
              <MessageView message={answer.result} input={input} />
            ) : isObj(answer.result) ? (
              <ObjectView value={answer.result} schema={op.output} root={op.output} />
            ) : (
              <PartView name="result" value={answer.result} schema={op.output} root={op.output} />
            )
          ) : (
            answer.error && <ErrorView error={answer.error} />
          ))}
        {tab === 'transcript' &&
          (answer.transcript ? <TranscriptView transcript={answer.transcript} /> : <p className="muted">No transcript: run with “Record the wire transcript” checked.</p>)}
        {tab === 'json' && (
          <div>
            <div className="row small" style={{ justifyContent: 'flex-end', marginBottom: 4 }}>
              <CopyButton text={JSON.stringify(answer.ok ? answer.result : answer.error, null, 2)} />
            </div>
            <JsonTree value={answer.ok ? answer.result : answer.error} />
          </div>
        )}
        </TargetHost.Provider>
      </div>
    </div>
  );
}

export { HexDump };
