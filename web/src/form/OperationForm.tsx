// The form of one operation, generated from its input schema: target first, the operation's own fields, then connection settings.
import { useEffect, useId, useMemo, useState } from 'react';
import type { FieldIssue, OperationInfo, ProtocolInfo } from '../lib/api.ts';
import { defaultPortFor, prune, TARGET_FIELDS, type JsonSchema } from '../lib/schema.ts';
import { Field, FormContext, issuesAt, ObjectFields } from './fields.tsx';

export interface FormProps {
  protocol: ProtocolInfo;
  op: OperationInfo;
  value: Record<string, unknown>;
  onChange: (v: Record<string, unknown>) => void;
  /** Runs the form; `override` replaces fields of the input for this run only. */
  onSubmit: (override?: Record<string, unknown>) => void;
  issues: FieldIssue[];
  busy: boolean;
  submitLabel: string;
  /** Extra buttons next to the submit button. */
  actions?: React.ReactNode;
  onCancel?: () => void;
}

/** "host", "host:port", "[v6]:port" or a bare IPv6 literal. */
export function parseHostPort(text: string): { host: string; port?: number | string } {
  const t = text.trim();
  const bracket = /^\[([^\]]*)\](?::(\d*))?$/.exec(t);
  if (bracket) return { host: bracket[1], port: bracket[2] ? Number(bracket[2]) : undefined };
  const colons = t.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = t.split(':');
    return { host, port: port === '' ? undefined : /^\d+$/.test(port) ? Number(port) : port };
  }
  return { host: t };
}

export function formatHostPort(host: unknown, port: unknown): string {
  const h = typeof host === 'string' ? host : '';
  const shown = h.includes(':') ? `[${h}]` : h;
  return port === undefined || port === null || port === '' ? shown : `${shown}:${String(port)}`;
}

/** One box for host and port that fills in the operation's default port. */
function HostPortField({ input, value, onChange, issues }: { input: JsonSchema; value: Record<string, unknown>; onChange: (patch: Record<string, unknown>) => void; issues: FieldIssue[] }) {
  const id = useId();
  const tls = typeof value.tls === 'string' ? value.tls : 'off';
  const defaultPort = defaultPortFor(input, tls);
  const [text, setText] = useState(() => formatHostPort(value.host, value.port));
  const external = formatHostPort(value.host, value.port);
  useEffect(() => {
    const parsed = parseHostPort(text);
    if (parsed.host !== (value.host ?? '') || parsed.port !== value.port) setText(external);
    // Only outside changes (a loaded target, a TLS switch) rewrite the box.
  }, [external]);
  const errors = [...issuesAt(issues, 'host'), ...issuesAt(issues, 'port')];
  const fill = () => {
    const parsed = parseHostPort(text);
    if (parsed.host && parsed.port === undefined && defaultPort) {
      onChange({ host: parsed.host, port: defaultPort });
      setText(formatHostPort(parsed.host, defaultPort));
    }
  };
  return (
    <div className={`field${errors.length ? ' invalid' : ''}`} data-field="host">
      <label htmlFor={id}>
        Target host:port<span className="req" aria-hidden="true">*</span>
      </label>
      <input
        id={id}
        name="host"
        value={text}
        spellCheck={false}
        autoCapitalize="off"
        autoComplete="off"
        inputMode="url"
        placeholder={`example.org:${defaultPort ?? 'port'}`}
        aria-invalid={errors.length > 0 || undefined}
        onChange={(e) => {
          setText(e.target.value);
          const parsed = parseHostPort(e.target.value);
          onChange({ host: parsed.host || undefined, port: parsed.port });
        }}
        onBlur={fill}
      />
      <span className="help">
        {defaultPort ? `Default port ${defaultPort}${tls === 'implicit' ? ' (implicit TLS)' : ''}; filled in when you leave the box.` : 'Hostname or IP address, with :port'}
      </span>
      {errors.map((e, i) => (
        <span key={i} className="field-error" role="alert">
          {e.field}: {e.message}
        </span>
      ))}
    </div>
  );
}

export function OperationForm({ protocol, op, value, onChange, onSubmit, issues, busy, submitLabel, actions, onCancel }: FormProps) {
  const input = op.input;
  const props = input.properties ?? {};
  const own = useMemo<JsonSchema>(() => {
    const ownProps = Object.fromEntries(Object.entries(props).filter(([k]) => !TARGET_FIELDS.has(k)));
    return { ...input, properties: ownProps, required: (input.required ?? []).filter((k) => !TARGET_FIELDS.has(k)) };
  }, [input, props]);
  const ownValue = Object.fromEntries(Object.entries(value).filter(([k]) => !TARGET_FIELDS.has(k)));
  const known = new Set(['host', 'port', 'timeoutMs', 'tls', ...Object.keys(props)]);
  const loose = issues.filter((i) => !known.has(i.field.split('.')[0]));
  const [json, setJson] = useState<string | null>(null);
  const [jsonError, setJsonError] = useState<string | null>(null);
  const setTls = (tls: unknown) => {
    const before = defaultPortFor(input, typeof value.tls === 'string' ? value.tls : 'off');
    const after = defaultPortFor(input, typeof tls === 'string' ? tls : 'off');
    const next: Record<string, unknown> = { ...value, tls };
    if (tls === undefined) delete next.tls;
    // Switching TLS mode moves a default port to the new mode's default.
    if (value.port === undefined || value.port === before) next.port = value.host ? after : undefined;
    if (next.port === undefined) delete next.port;
    onChange(next);
  };
  return (
    <FormContext.Provider value={{ protocol: protocol.id, value, run: onSubmit }}>
    <form
      className="form"
      noValidate
      aria-label={`${protocol.title} ${op.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        onSubmit();
      }}
      onKeyDown={(e) => {
        // A field that runs on Ctrl+Enter itself (the SQL editor runs its selection) has taken the key.
        if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !e.defaultPrevented) {
          e.preventDefault();
          onSubmit();
        }
      }}
    >
      {loose.length > 0 && (
        <div className="form-error" role="alert">
          {loose.map((i, n) => (
            <div key={n}>
              <b>{i.field}</b>: {i.message}
            </div>
          ))}
        </div>
      )}
      {json === null ? (
        <>
          {props.host && <HostPortField input={input} value={value} issues={issues} onChange={(patch) => onChange(prune({ ...value, ...patch }) as Record<string, unknown>)} />}
          {props.tls && (props.tls.enum?.length ?? 0) > 1 && (
            <Field name="tls" path="tls" schema={props.tls} root={input} value={value.tls} required={false} onChange={setTls} issues={issues} />
          )}
          <ObjectFields schema={own} root={input} path="" value={ownValue} issues={issues} collapseDefaults primary={op.primary} onChange={(v) => onChange({ ...Object.fromEntries(Object.entries(value).filter(([k]) => TARGET_FIELDS.has(k))), ...v })} />
          {props.timeoutMs && (
            <details open={issuesAt(issues, 'timeoutMs').length > 0}>
              <summary>Deadline</summary>
              <Field name="timeoutMs" path="timeoutMs" schema={props.timeoutMs} root={input} value={value.timeoutMs} required={false} issues={issues} onChange={(v) => onChange(prune({ ...value, timeoutMs: v }) as Record<string, unknown>)} />
            </details>
          )}
        </>
      ) : (
        <div className="field">
          <label htmlFor="json-body">Request body (JSON)</label>
          <textarea id="json-body" rows={14} value={json} spellCheck={false} onChange={(e) => setJson(e.target.value)} />
          {jsonError && <span className="field-error">{jsonError}</span>}
        </div>
      )}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy} title="Ctrl+Enter">
          {busy ? 'Running…' : submitLabel}
        </button>
        {busy && onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button
          type="button"
          className="small"
          aria-pressed={json !== null}
          onClick={() => {
            if (json === null) {
              setJson(JSON.stringify(prune(value), null, 2));
              return;
            }
            try {
              const parsed: unknown = JSON.parse(json);
              if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the body must be a JSON object');
              onChange(parsed as Record<string, unknown>);
              setJson(null);
              setJsonError(null);
            } catch (e) {
              setJsonError(e instanceof Error ? e.message : String(e));
            }
          }}
        >
          {json === null ? 'Edit as JSON' : 'Back to the form'}
        </button>
        {actions}
      </div>
    </form>
    </FormContext.Provider>
  );
}
