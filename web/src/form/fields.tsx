// Form fields generated from an operation's JSON Schema, one component per shape of field.
import { createContext, lazy, Suspense, useContext, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import type { FieldIssue } from '../lib/api.ts';
import { choices, isBase64Field, isBytesUnion, isMultiline, isSecretField, kindOf, labelOf, nonNull, resolve, type JsonSchema } from '../lib/schema.ts';

/** The protocol and the whole input of the form a field is in (the SQL editor completes from the target's schema). */
export const FormContext = createContext<{ protocol: string; value: Record<string, unknown>; run?: (override?: Record<string, unknown>) => void }>({ protocol: '', value: {} });

const SqlEditor = lazy(() => import('./SqlEditor.tsx'));

export interface FieldProps {
  name: string;
  /** Dotted path in the input object, as the API names fields in its errors. */
  path: string;
  schema: JsonSchema;
  root: JsonSchema;
  value: unknown;
  required: boolean;
  onChange: (value: unknown) => void;
  issues: FieldIssue[];
  /** The object this field belongs to, and a setter for a sibling (file pickers fill filename and encoding). */
  siblings?: Record<string, unknown>;
  setSibling?: (name: string, value: unknown) => void;
  /** Sets several fields of the object at once (this one and siblings): one change, so none is lost. */
  setFields?: (patch: Record<string, unknown>) => void;
  siblingSchema?: Record<string, JsonSchema>;
}

export function issuesAt(issues: FieldIssue[], path: string, deep = false): FieldIssue[] {
  return issues.filter((i) => i.field === path || (deep && i.field.startsWith(`${path}.`)));
}

/** Label, help text and the API's error message around a control. */
function Frame({ id, path, label, required, help, errors, children, check }: { id: string; path: string; label: ReactNode; required?: boolean; help?: string; errors: FieldIssue[]; children: ReactNode; check?: boolean }) {
  const errId = `${id}-err`;
  return (
    <div className={`field${check ? ' check' : ''}${errors.length ? ' invalid' : ''}`} data-field={path}>
      {check ? children : null}
      <label htmlFor={id}>
        {label}
        {required && (
          <span className="req" aria-hidden="true">
            *
          </span>
        )}
      </label>
      {!check && children}
      {help && !check && <span className="help">{help}</span>}
      {errors.map((e, i) => (
        <span key={i} id={errId} className="field-error" role="alert">
          {e.message}
        </span>
      ))}
    </div>
  );
}

function helpOf(s: JsonSchema): string | undefined {
  const parts: string[] = [];
  if (s.description) parts.push(s.description);
  if (s.default !== undefined && typeof s.default !== 'object') parts.push(`default ${JSON.stringify(s.default)}`);
  return parts.join(' · ') || undefined;
}

/** A text control whose shown text is kept while typing, even when it does not parse yet; outside changes replace it. */
function useText(value: unknown, format: (v: unknown) => string): [string, (text: string, emitted: unknown) => void] {
  const [text, setText] = useState(() => format(value));
  const last = useRef(value);
  useEffect(() => {
    if (value !== last.current) {
      last.current = value;
      setText(format(value));
    }
  }, [value, format]);
  return [
    text,
    (t: string, emitted: unknown) => {
      last.current = emitted;
      setText(t);
    },
  ];
}

const formatScalar = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
const formatLines = (v: unknown) => (Array.isArray(v) ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join('\n') : typeof v === 'string' ? v : '');
const formatJson = (v: unknown) => (v === undefined ? '' : JSON.stringify(v, null, 2));

function readFile(file: File, as: 'text' | 'base64'): Promise<string> {
  return new Promise((resolveFile, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(reader.error);
    reader.onload = () => {
      if (as === 'text') resolveFile(String(reader.result));
      else resolveFile(String(reader.result).replace(/^data:[^,]*,/, ''));
    };
    if (as === 'text') reader.readAsText(file);
    else reader.readAsDataURL(file);
  });
}

export function FilePick({ onFile, label = 'Load file…' }: { onFile: (f: File) => void; label?: string }) {
  const ref = useRef<HTMLInputElement>(null);
  return (
    <>
      <button type="button" className="small" onClick={() => ref.current?.click()}>
        {label}
      </button>
      <input
        ref={ref}
        type="file"
        hidden
        onChange={(e) => {
          const f = e.target.files?.[0];
          if (f) onFile(f);
          e.target.value = '';
        }}
      />
    </>
  );
}

/** Chooses the control from the field's schema. */
export function Field(props: FieldProps) {
  const s = nonNull(props.schema, props.root);
  const options = choices(s, props.root);
  if (options) return <SelectField {...props} options={options} />;
  if (isBytesUnion(s, props.root)) return <BytesField {...props} />;
  const alts = s.anyOf ?? s.oneOf;
  const kind = kindOf(s);
  if (alts) {
    const resolved = alts.map((a) => resolve(a, props.root));
    if (resolved.some((a) => kindOf(a) === 'string') || resolved.every((a) => ['string', 'number', 'integer'].includes(kindOf(a)))) return <LooseField {...props} alts={resolved} />;
    return <JsonField {...props} />;
  }
  if (kind === 'boolean') return <CheckField {...props} />;
  if (kind === 'number' || kind === 'integer') return <NumberField {...props} integer={kind === 'integer'} />;
  if (kind === 'string') return <TextField {...props} />;
  if (kind === 'array') {
    const items = nonNull(s.items ?? {}, props.root);
    const ik = kindOf(items);
    if (ik === 'string' || ik === 'number' || ik === 'integer' || isBytesUnion(items, props.root)) return <LinesField {...props} itemKind={isBytesUnion(items, props.root) ? 'string' : ik} />;
    if (ik === 'object' && items.properties && Object.values(items.properties).every((p) => kindOf(nonNull(p, props.root)) !== 'any')) return <ObjectListField {...props} items={items} />;
    return <JsonField {...props} />;
  }
  if (kind === 'object' && s.properties && Object.keys(s.properties).length > 0) return <ObjectField {...props} />;
  return <JsonField {...props} />;
}

function SelectField({ name, path, schema, root, value, required, onChange, issues, options }: FieldProps & { options: unknown[] }) {
  const id = useId();
  const s = nonNull(schema, root);
  const current = value ?? s.default;
  return (
    <Frame id={id} path={path} label={labelOf(name)} required={required} help={s.description} errors={issuesAt(issues, path)}>
      <select
        id={id}
        name={path}
        value={current === undefined ? '' : JSON.stringify(current)}
        onChange={(e) => onChange(e.target.value === '' ? undefined : JSON.parse(e.target.value))}
      >
        {current === undefined && <option value="">{required ? 'Choose…' : '—'}</option>}
        {options.map((o) => (
          <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
            {String(o)}
            {o === s.default ? ' (default)' : ''}
          </option>
        ))}
      </select>
    </Frame>
  );
}

function CheckField({ name, path, schema, root, value, onChange, issues }: FieldProps) {
  const id = useId();
  const s = nonNull(schema, root);
  const checked = (value ?? s.default ?? false) === true;
  return (
    <Frame id={id} path={path} label={<span title={s.description}>{labelOf(name)}{s.description ? <span className="help"> — {s.description}</span> : null}</span>} errors={issuesAt(issues, path)} check>
      <input id={id} name={path} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} />
    </Frame>
  );
}

function NumberField({ name, path, schema, root, value, required, onChange, issues, integer }: FieldProps & { integer: boolean }) {
  const id = useId();
  const s = nonNull(schema, root);
  const [text, setText] = useText(value, formatScalar);
  const range = s.minimum !== undefined && s.maximum !== undefined && s.maximum < 1e12 ? `${s.minimum}–${s.maximum}` : undefined;
  return (
    <Frame id={id} path={path} label={labelOf(name)} required={required} help={[s.description, range && `range ${range}`].filter(Boolean).join(' · ') || undefined} errors={issuesAt(issues, path)}>
      <input
        id={id}
        name={path}
        inputMode={integer ? 'numeric' : 'decimal'}
        placeholder={s.default !== undefined ? String(s.default) : undefined}
        value={text}
        onChange={(e) => {
          const t = e.target.value;
          const trimmed = t.trim();
          // Text that is not a number goes to the API as is, so its message names the field.
          const v = trimmed === '' ? undefined : /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(trimmed) ? Number(trimmed) : trimmed;
          setText(t, v);
          onChange(v);
        }}
      />
    </Frame>
  );
}

function TextField({ name, path, schema, root, value, required, onChange, issues, siblings, setFields, siblingSchema }: FieldProps) {
  const id = useId();
  const s = nonNull(schema, root);
  const secret = isSecretField(name, s);
  const multiline = isMultiline(name, s);
  const form = useContext(FormContext);
  const sqlEditor = path === 'sql' && (form.protocol === 'postgres' || form.protocol === 'mysql');
  const [reveal, setReveal] = useState(false);
  const [text, setText] = useText(value, formatScalar);
  const change = (t: string) => {
    const v = t === '' ? undefined : t;
    setText(t, v);
    onChange(v);
  };
  const encodingSchema = siblingSchema?.encoding ? nonNull(siblingSchema.encoding, root) : undefined;
  const takesBase64 = isBase64Field(name) || (!!encodingSchema?.enum?.includes('base64') && /^(content|data|value)$/i.test(name));
  const takesFile = takesBase64 || /^(privatekey|knownhosts|raw|script|sql|content|text|html|data|stdin)$/i.test(name);
  const onFile = async (f: File) => {
    const content = await readFile(f, takesBase64 ? 'base64' : 'text');
    setText(content, content);
    // The content and the fields it implies change together: set one by one, each change would start
    // from the object as it was before the others and drop them (the content first of all).
    const patch: Record<string, unknown> = { [name]: content };
    if (takesBase64) {
      if (!isBase64Field(name) && siblingSchema?.encoding) patch.encoding = 'base64';
      if (siblingSchema?.filename && !siblings?.filename) patch.filename = f.name;
      if (siblingSchema?.contentType && !siblings?.contentType && f.type) patch.contentType = f.type;
      if (siblingSchema?.path && !siblings?.path) patch.path = f.name;
    }
    if (setFields) setFields(patch);
    else onChange(content);
  };
  const common = {
    id,
    name: path,
    value: text,
    placeholder: s.default !== undefined ? String(s.default) : s.format === 'date-time' ? '2026-01-31T12:00:00Z' : undefined,
    autoComplete: secret ? 'off' : undefined,
    spellCheck: false,
    'aria-invalid': issuesAt(issues, path).length > 0 || undefined,
  };
  return (
    <Frame id={id} path={path} label={labelOf(name)} required={required} help={helpOf(s)} errors={issuesAt(issues, path)}>
      <div className="inline">
        {sqlEditor ? (
          <Suspense fallback={<textarea {...common} rows={6} onChange={(e) => change(e.target.value)} />}>
            <SqlEditor
              id={id}
              value={text}
              onChange={change}
              onRun={form.run && ((selection) => form.run!(selection === undefined ? undefined : { [path]: selection }))}
              dialect={form.protocol as 'postgres' | 'mysql'}
              connection={connectionOf(form.value)}
              invalid={issuesAt(issues, path).length > 0}
            />
          </Suspense>
        ) : multiline ? (
          <textarea {...common} rows={/^(sql|script|raw|html|text|knownhosts|privatekey)$/i.test(name) ? 6 : 3} className={secret && !reveal ? 'secret-text' : undefined} onChange={(e) => change(e.target.value)} />
        ) : (
          <input {...common} type={secret && !reveal ? 'password' : 'text'} onChange={(e) => change(e.target.value)} />
        )}
        {secret && (
          <button type="button" className="small" aria-pressed={reveal} aria-label={reveal ? `Hide ${labelOf(name)}` : `Show ${labelOf(name)}`} onClick={() => setReveal(!reveal)}>
            {reveal ? 'Hide' : 'Show'}
          </button>
        )}
      </div>
      {takesFile && (
        <div className="row small">
          <FilePick onFile={onFile} label={takesBase64 ? 'Load file (as base64)…' : 'Load file…'} />
          {takesBase64 && text && <span className="muted">{Math.floor((text.length * 3) / 4)} bytes</span>}
        </div>
      )}
    </Frame>
  );
}

/** text | {base64} | {hex}: one text box and how to read it. */
function BytesField({ name, path, schema, root, value, required, onChange, issues }: FieldProps) {
  const id = useId();
  const s = resolve(schema, root);
  const mode = value && typeof value === 'object' ? ('hex' in value ? 'hex' : 'base64') : 'text';
  const text = value && typeof value === 'object' ? String((value as Record<string, unknown>)[mode] ?? '') : typeof value === 'string' ? value : '';
  const emit = (m: string, t: string) => onChange(t === '' ? undefined : m === 'text' ? t : { [m]: t });
  return (
    <Frame id={id} path={path} label={labelOf(name)} required={required} help={s.description} errors={issuesAt(issues, path, true)}>
      <div className="inline">
        <input id={id} name={path} value={text} spellCheck={false} onChange={(e) => emit(mode, e.target.value)} />
        <select aria-label={`${labelOf(name)} encoding`} value={mode} onChange={(e) => emit(e.target.value, text)}>
          <option value="text">text</option>
          <option value="hex">hex</option>
          <option value="base64">base64</option>
        </select>
      </div>
    </Frame>
  );
}

/** A union with a text branch (e.g. "22,80" or [22, 80]): typed as text, numbers sent as numbers where allowed. */
function LooseField({ name, path, schema, root, value, required, onChange, issues, alts }: FieldProps & { alts: JsonSchema[] }) {
  const id = useId();
  const s = resolve(schema, root);
  const [text, setText] = useText(value, formatScalar);
  const numeric = alts.some((a) => kindOf(a) === 'integer' || kindOf(a) === 'number');
  return (
    <Frame id={id} path={path} label={labelOf(name)} required={required} help={helpOf(s)} errors={issuesAt(issues, path, true)}>
      <input
        id={id}
        name={path}
        value={text}
        spellCheck={false}
        placeholder={s.default !== undefined ? String(s.default) : undefined}
        onChange={(e) => {
          const t = e.target.value;
          const n = Number(t.trim());
          const v = t.trim() === '' ? undefined : numeric && /^\d+$/.test(t.trim()) && Number.isSafeInteger(n) ? n : t;
          setText(t, v);
          onChange(v);
        }}
      />
    </Frame>
  );
}

/** A list of strings or numbers: one per line. */
function LinesField({ name, path, schema, root, value, required, onChange, issues, itemKind }: FieldProps & { itemKind: string }) {
  const id = useId();
  const s = nonNull(schema, root);
  const [text, setText] = useText(value, formatLines);
  const numeric = itemKind === 'number' || itemKind === 'integer';
  return (
    <Frame id={id} path={path} label={`${labelOf(name)} (one per line)`} required={required} help={s.description ?? nonNull(s.items ?? {}, root).description} errors={issuesAt(issues, path, true)}>
      <textarea
        id={id}
        name={path}
        rows={2}
        value={text}
        spellCheck={false}
        onChange={(e) => {
          const t = e.target.value;
          const lines = t.split('\n').map((l) => l.trim()).filter((l) => l !== '');
          const v = lines.length === 0 ? undefined : numeric ? lines.map((l) => (/^-?\d+(\.\d+)?$/.test(l) ? Number(l) : l)) : lines;
          setText(t, v);
          onChange(v);
        }}
      />
    </Frame>
  );
}

/** Anything the generator has no control for: JSON text. */
function JsonField({ name, path, schema, root, value, required, onChange, issues }: FieldProps) {
  const id = useId();
  const s = resolve(schema, root);
  const [text, setText] = useText(value, formatJson);
  const [bad, setBad] = useState<string | null>(null);
  return (
    <Frame id={id} path={path} label={`${labelOf(name)} (JSON)`} required={required} help={s.description} errors={[...issuesAt(issues, path, true), ...(bad ? [{ field: path, message: bad }] : [])]}>
      <textarea
        id={id}
        name={path}
        rows={3}
        value={text}
        spellCheck={false}
        placeholder={kindOf(s) === 'array' ? '[ ]' : kindOf(s) === 'object' ? '{ }' : undefined}
        onChange={(e) => {
          const t = e.target.value;
          if (t.trim() === '') {
            setText(t, undefined);
            setBad(null);
            return onChange(undefined);
          }
          try {
            const v: unknown = JSON.parse(t);
            setText(t, v);
            onChange(v);
            setBad(null);
          } catch {
            setText(t, value);
            setBad('not valid JSON yet');
          }
        }}
      />
    </Frame>
  );
}

/** The fields of an object, in the schema's order, required ones first. */
export function ObjectFields({ schema, root, path, value, onChange, issues, collapseDefaults = false, primary }: { schema: JsonSchema; root: JsonSchema; path: string; value: Record<string, unknown>; onChange: (v: Record<string, unknown>) => void; issues: FieldIssue[]; collapseDefaults?: boolean; primary?: string[] }) {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const names = Object.keys(props).sort((a, b) => Number(required.has(b)) - Number(required.has(a)));
  const setFields = (patch: Record<string, unknown>) => {
    const next = { ...value };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) delete next[k];
      else next[k] = v;
    }
    onChange(next);
  };
  const setField = (k: string, v: unknown) => setFields({ [k]: v });
  const field = (k: string) => (
    <Field
      key={k}
      name={k}
      path={path ? `${path}.${k}` : k}
      schema={props[k]}
      root={root}
      value={value[k]}
      required={required.has(k)}
      onChange={(v) => setField(k, v)}
      issues={issues}
      siblings={value}
      siblingSchema={props}
      setSibling={setField}
      setFields={setFields}
    />
  );
  // Optional fields that have a default (and are no secret) wait behind "More options" unless set or wrong.
  const tuckable = (k: string) => {
    const d = nonNull(props[k], root).default;
    // An empty default ([] or "") is no real default: such a field usually is the point of the operation.
    return !required.has(k) && d !== undefined && d !== '' && !(Array.isArray(d) && d.length === 0) && !isSecretField(k, nonNull(props[k], root));
  };
  // The declaration's primary fields come first, in its order (and any required field); the rest is "More options".
  const first = primary ? [...primary.filter((k) => k in props), ...names.filter((k) => required.has(k) && !primary.includes(k))] : undefined;
  const tucked = first ? names.filter((k) => !first.includes(k)) : collapseDefaults ? names.filter(tuckable) : [];
  const shown = first ?? names.filter((k) => !tucked.includes(k));
  const open = tucked.some((k) => value[k] !== undefined || issuesAt(issues, path ? `${path}.${k}` : k, true).length > 0);
  return (
    <>
      {shown.map(field)}
      {tucked.length > 0 && (
        <details open={open}>
          <summary>
            More options ({tucked.length}): {tucked.slice(0, 4).map(labelOf).join(', ')}
            {tucked.length > 4 ? ', …' : ''}
          </summary>
          <div className="form">{tucked.map(field)}</div>
        </details>
      )}
    </>
  );
}

function ObjectField({ name, path, schema, root, value, required, onChange, issues }: FieldProps) {
  const s = nonNull(schema, root);
  const obj = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const hasIssue = issuesAt(issues, path, true).length > 0;
  const body = (
    <fieldset data-field={required ? path : undefined}>
      <legend>
        {labelOf(name)}
        {required ? ' *' : ''}
      </legend>
      {s.description && <span className="help">{s.description}</span>}
      <ObjectFields schema={s} root={root} path={path} value={obj} issues={issues} onChange={(v) => onChange(Object.keys(v).length ? v : undefined)} />
    </fieldset>
  );
  if (required) return body;
  return (
    <details open={hasIssue || Object.keys(obj).length > 0} data-field={path}>
      <summary>
        {labelOf(name)} <span className="muted small">(optional{s.description ? `: ${s.description}` : ''})</span>
      </summary>
      {body}
    </details>
  );
}

function ObjectListField({ name, path, value, required, onChange, issues, items, root, schema }: FieldProps & { items: JsonSchema }) {
  const list = Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
  const s = nonNull(schema, root);
  const set = (i: number, v: Record<string, unknown>) => onChange(list.map((x, j) => (j === i ? v : x)));
  return (
    <fieldset data-field={path}>
      <legend>
        {labelOf(name)}
        {required ? ' *' : ''} ({list.length})
      </legend>
      {s.description && <span className="help">{s.description}</span>}
      {issuesAt(issues, path).map((e, i) => (
        <span key={i} className="field-error" role="alert">
          {e.message}
        </span>
      ))}
      {list.map((item, i) => (
        <fieldset key={i}>
          <legend>
            #{i + 1}{' '}
            <button type="button" className="link small" aria-label={`Remove ${labelOf(name)} ${i + 1}`} onClick={() => onChange(list.length > 1 ? list.filter((_, j) => j !== i) : undefined)}>
              remove
            </button>
          </legend>
          <ObjectFields schema={items} root={root} path={`${path}.${i}`} value={item ?? {}} issues={issues} onChange={(v) => set(i, v)} />
        </fieldset>
      ))}
      <div>
        <button type="button" className="small" onClick={() => onChange([...list, {}])}>
          + add {labelOf(name).replace(/s$/, '')}
        </button>
      </div>
    </fieldset>
  );
}

/** The fields that reach a database (target and credentials), for the SQL editor's schema query. */
function connectionOf(v: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(v).filter(([k, x]) => ['host', 'port', 'tls', 'user', 'password', 'database', 'via'].includes(k) && x !== undefined && x !== ''));
}
