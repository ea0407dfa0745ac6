// The API reference, rendered from /api/openapi.json.
import { useEffect, useMemo, useState } from 'react';
import { CopyButton, Tag } from '../components.tsx';
import { fetchOpenApi } from '../lib/api.ts';
import { href } from '../lib/router.ts';
import { kindOf, nonNull, type JsonSchema } from '../lib/schema.ts';

interface OpenApiOperation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { description?: string }>;
}

type Paths = Record<string, Record<string, OpenApiOperation>>;

function typeText(s: JsonSchema, root: JsonSchema): string {
  const r = nonNull(s, root);
  if (r.enum) return r.enum.map((e) => JSON.stringify(e)).join(' | ');
  const alts = r.anyOf ?? r.oneOf;
  if (alts) return alts.map((a) => typeText(a, root)).join(' | ');
  const k = kindOf(r);
  if (k === 'array') return `${typeText(r.items ?? {}, root)}[]`;
  return k;
}

function fieldRows(s: JsonSchema, root: JsonSchema, prefix = '', depth = 0): { name: string; type: string; required: boolean; def?: unknown; description?: string }[] {
  const r = nonNull(s, root);
  const req = new Set(r.required ?? []);
  return Object.entries(r.properties ?? {}).flatMap(([k, p]) => {
    const ps = nonNull(p, root);
    const row = { name: prefix + k, type: typeText(p, root), required: req.has(k), def: ps.default, description: ps.description };
    const nested = kindOf(ps) === 'object' && ps.properties && depth < 2 ? fieldRows(ps, root, `${prefix}${k}.`, depth + 1) : [];
    return [row, ...nested];
  });
}

function SchemaTable({ schema }: { schema: JsonSchema }) {
  const rows = fieldRows(schema, schema);
  if (rows.length === 0) return <p className="muted small">No fields.</p>;
  return (
    <div className="table-wrap">
      <table className="grid">
        <thead>
          <tr>
            <th>field</th>
            <th>type</th>
            <th>default</th>
            <th>description</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.name}>
              <td>
                {r.name}
                {r.required ? <span className="req"> *</span> : null}
              </td>
              <td>{r.type}</td>
              <td>{r.def === undefined ? '' : JSON.stringify(r.def)}</td>
              <td style={{ fontFamily: 'var(--sans)' }}>{r.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Endpoint({ path, method, op }: { path: string; method: string; op: OpenApiOperation }) {
  const body = op.requestBody?.content?.['application/json']?.schema;
  const m = /^\/api\/([^/]+)\/([^/]+)$/.exec(path);
  const example = body ? Object.fromEntries((body.required ?? []).map((k) => [k, k === 'host' ? 'example.org' : '…'])) : undefined;
  const curl = method === 'post' ? `curl -sS -X POST '${location.origin}${path}?transcript=1' -H 'content-type: application/json' -d '${JSON.stringify(example ?? {})}'` : `curl -sS '${location.origin}${path.replace('{target}', 'example.org')}'`;
  return (
    <details className="endpoint" id={op.operationId}>
      <summary>
        <span className="method">{method.toUpperCase()}</span>
        <code>{path}</code>
        <span className="muted small">{op.summary}</span>
      </summary>
      <div className="stack">
        <div className="row small">
          {m && method === 'post' && <a href={href(['run', m[1], m[2]])}>Open the form</a>}
          <CopyButton text={curl} label="Copy curl" />
          {(op.tags ?? []).map((t) => (
            <Tag key={t}>{t}</Tag>
          ))}
        </div>
        {op.description && <p className="small" data-testid="endpoint-description">{op.description}</p>}
        {op.parameters && op.parameters.length > 0 && (
          <div>
            <h3>Parameters</h3>
            <ul className="small">
              {op.parameters.map((p) => (
                <li key={p.name}>
                  <code>{p.name}</code> ({p.in}
                  {p.required ? ', required' : ''}) {p.description}
                </li>
              ))}
            </ul>
          </div>
        )}
        {body && (
          <div>
            <h3>Request body</h3>
            <SchemaTable schema={body} />
          </div>
        )}
        {op.responses && (
          <div>
            <h3>Responses</h3>
            <ul className="small">
              {Object.entries(op.responses).map(([code, r]) => (
                <li key={code}>
                  <b>{code}</b> {r.description}
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
    </details>
  );
}

export function ApiPage() {
  const [doc, setDoc] = useState<{ info?: { title?: string; version?: string }; paths?: Paths } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [q, setQ] = useState('');
  useEffect(() => {
    fetchOpenApi().then((d) => setDoc(d as typeof doc), (e: unknown) => setError(String(e)));
  }, []);
  const groups = useMemo(() => {
    const out = new Map<string, [string, string, OpenApiOperation][]>();
    for (const [path, methods] of Object.entries(doc?.paths ?? {})) {
      for (const [method, op] of Object.entries(methods)) {
        if (q && !`${path} ${op.summary ?? ''}`.toLowerCase().includes(q.toLowerCase())) continue;
        const tag = op.tags?.[0] ?? 'general';
        out.set(tag, [...(out.get(tag) ?? []), [path, method, op]]);
      }
    }
    return [...out].sort((a, b) => (a[0] === 'general' ? -1 : b[0] === 'general' ? 1 : a[0].localeCompare(b[0])));
  }, [doc, q]);
  if (error) return <div className="error-box">{error}</div>;
  if (!doc) return <p className="muted">Loading /api/openapi.json…</p>;
  const count = Object.values(doc.paths ?? {}).reduce((n, m) => n + Object.keys(m).length, 0);
  return (
    <div className="stack">
      <h1>
        {doc.info?.title ?? 'API'} <span className="muted small">{doc.info?.version}</span>
      </h1>
      <p className="muted">
        {count} endpoints, generated from the protocol declarations. The machine-readable document is <a href="/api/openapi.json">/api/openapi.json</a>. Every operation answers <code>{'{ok: true, result, timing, transcript?}'}</code> or{' '}
        <code>{'{ok: false, error: {code, message, detail}}'}</code>; interactive sessions are WebSockets on <code>GET /api/&#123;protocol&#125;/&#123;operation&#125;</code> whose first message is <code>{'{"type":"start","input":{…}}'}</code>.
      </p>
      <input className="search" type="search" placeholder="Filter endpoints…" aria-label="Filter endpoints" value={q} onChange={(e) => setQ(e.target.value)} />
      {groups.map(([tag, ops]) => (
        <section key={tag}>
          <h2>{tag}</h2>
          {ops.map(([path, method, op]) => (
            <Endpoint key={`${method} ${path}`} path={path} method={method} op={op} />
          ))}
        </section>
      ))}
    </div>
  );
}
