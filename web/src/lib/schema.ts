// JSON Schema (as zod's toJSONSchema writes it) read for forms and result views: types, refs, unions, field roles.

export interface JsonSchema {
  $schema?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
}

export type Kind = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null' | 'any';

/** Follows `#/$defs/...` references against the root schema. */
export function resolve(s: JsonSchema | undefined, root: JsonSchema | undefined): JsonSchema {
  let cur = s ?? {};
  for (let i = 0; i < 8 && cur.$ref; i++) {
    const m = /^#\/\$defs\/(.+)$/.exec(cur.$ref);
    const next = m ? root?.$defs?.[m[1]] : undefined;
    if (!next) return {};
    cur = { ...next, description: cur.description ?? next.description };
  }
  return cur;
}

function branches(s: JsonSchema): JsonSchema[] | undefined {
  return s.anyOf ?? s.oneOf;
}

/** The schema without its `null` alternative (nullable fields read as their type). */
export function nonNull(s: JsonSchema, root?: JsonSchema): JsonSchema {
  const r = resolve(s, root);
  const alts = branches(r);
  if (alts) {
    const rest = alts.map((a) => resolve(a, root)).filter((a) => kindOf(a) !== 'null');
    if (rest.length === 1) return { ...rest[0], description: r.description ?? rest[0].description, default: r.default ?? rest[0].default };
  }
  if (Array.isArray(r.type)) {
    const rest = r.type.filter((t) => t !== 'null');
    if (rest.length === 1) return { ...r, type: rest[0] };
  }
  return r;
}

export function kindOf(s: JsonSchema): Kind {
  const t = Array.isArray(s.type) ? s.type.filter((x) => x !== 'null')[0] ?? 'null' : s.type;
  if (t === 'string' || t === 'number' || t === 'integer' || t === 'boolean' || t === 'object' || t === 'array' || t === 'null') return t;
  if (s.properties) return 'object';
  if (s.items) return 'array';
  if (s.enum) return typeof s.enum[0] === 'number' ? 'number' : 'string';
  if (s.const !== undefined) return typeof s.const === 'number' ? 'number' : typeof s.const === 'boolean' ? 'boolean' : 'string';
  return 'any';
}

/** Every alternative is a constant (or an enum): a closed list of choices. */
export function choices(s: JsonSchema, root?: JsonSchema): unknown[] | undefined {
  const r = nonNull(s, root);
  if (r.enum) return r.enum;
  const alts = branches(r);
  if (alts && alts.every((a) => a.const !== undefined || a.enum)) return alts.flatMap((a) => (a.const !== undefined ? [a.const] : a.enum ?? []));
  return undefined;
}

/** text | {base64} | {hex}: the API's way to take bytes. */
export function isBytesUnion(s: JsonSchema, root?: JsonSchema): boolean {
  const alts = branches(resolve(s, root));
  if (!alts) return false;
  const keys = alts.map((a) => resolve(a, root)).map((a) => (kindOf(a) === 'string' ? 'text' : Object.keys(a.properties ?? {}).join(',')));
  return keys.includes('text') && keys.some((k) => k === 'base64' || k === 'hex') && keys.every((k) => ['text', 'base64', 'hex'].includes(k));
}

/** {text?, base64?, hex?} (+ length/truncated): bytes as the API answers them. */
export function isBytesObject(value: unknown): value is { text?: string; base64?: string; hex?: string } {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.some((k) => k === 'text' || k === 'base64' || k === 'hex') && keys.every((k) => ['text', 'base64', 'hex', 'length', 'truncated', 'encoding'].includes(k));
}

const SECRET_NAME = /(password|secret|passphrase|token|privatekey|secretkey|apikey)$/i;

/** Fields whose values never go into links, history or saved targets unless the user opts in. */
export function isSecretField(name: string, s?: JsonSchema): boolean {
  if (SECRET_NAME.test(name)) return true;
  // A bare `key` is a secret only as plain text (Redis and memcached keys are data, typed as bytes).
  return name.toLowerCase() === 'key' && !!s && kindOf(s) === 'string' && !s.anyOf;
}

const MULTILINE_NAME = /^(sql|query|script|data|text|html|raw|content|stdin|body|message|knownhosts|privatekey|line|payload|command|value)$/i;

/** Queries, scripts and bodies get a multi-line editor. */
export function isMultiline(name: string, s: JsonSchema): boolean {
  if (s.pattern && /\\r\\n|\\n/.test(s.pattern)) return false;
  if (!MULTILINE_NAME.test(name)) return false;
  return s.maxLength === undefined || s.maxLength > 1024 || /^(sql|script|query)$/i.test(name);
}

/** Fields that hold file bytes as base64 get a file picker. */
export function isBase64Field(name: string): boolean {
  return /base64$/i.test(name);
}

/** Input fields every operation has, laid out apart from the operation's own. */
export const TARGET_FIELDS = new Set(['host', 'port', 'timeoutMs', 'tls']);

/** The default port a form should fill, from the port field's description ("default 2628, 636 with implicit TLS"). */
export function defaultPortFor(input: JsonSchema, tls: string | undefined, fallback?: number): number | undefined {
  const d = input.properties?.port?.description ?? '';
  if (tls === 'implicit') {
    const m = /(\d+) with implicit TLS/.exec(d);
    if (m) return Number(m[1]);
  }
  const m = /default (\d+)/.exec(d);
  return m ? Number(m[1]) : fallback;
}

export function hasValue(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.values(v as object).some(hasValue);
  return true;
}

/** Removes empty strings, empty arrays and empty objects so the API applies its defaults. */
export function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(prune);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const p = prune(x);
      if (p === undefined || p === '' || (typeof p === 'object' && p !== null && !Array.isArray(p) && Object.keys(p).length === 0)) continue;
      out[k] = p;
    }
    return out;
  }
  return v;
}

/** A copy without secret fields (at any depth); `keep` keeps them. */
export function stripSecrets(v: unknown, schema?: JsonSchema, root?: JsonSchema): unknown {
  if (Array.isArray(v)) return v.map((x) => stripSecrets(x, schema ? nonNull(schema, root).items : undefined, root));
  if (v && typeof v === 'object') {
    const props = schema ? nonNull(schema, root).properties : undefined;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (isSecretField(k, props?.[k] ? nonNull(props[k], root) : undefined) && typeof x === 'string') continue;
      out[k] = stripSecrets(x, props?.[k], root);
    }
    return out;
  }
  return v;
}

/** Just the secret fields, as a flat list of [path, value]. */
export function secretsOf(v: unknown, schema?: JsonSchema, root?: JsonSchema, path = ''): [string, string][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => secretsOf(x, schema ? nonNull(schema, root).items : undefined, root, `${path}${i}.`));
  if (v && typeof v === 'object') {
    const props = schema ? nonNull(schema, root).properties : undefined;
    return Object.entries(v).flatMap(([k, x]): [string, string][] =>
      isSecretField(k, props?.[k] ? nonNull(props[k], root) : undefined) && typeof x === 'string' ? [[`${path}${k}`, x]] : secretsOf(x, props?.[k], root, `${path}${k}.`),
    );
  }
  return [];
}

export function getPath(v: unknown, path: string): unknown {
  let cur = v;
  for (const part of path.split('.').filter(Boolean)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Immutable set at a dotted path; numeric parts index arrays. */
export function setPath<T>(v: T, path: string[], value: unknown): T {
  if (path.length === 0) return value as T;
  const [head, ...rest] = path;
  const index = /^\d+$/.test(head) ? Number(head) : undefined;
  if (index !== undefined && Array.isArray(v)) {
    const copy = [...v];
    copy[index] = setPath(copy[index], rest, value);
    return copy as T;
  }
  const base = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const next = setPath(base[head], rest, value);
  const out = { ...base };
  if (next === undefined) delete out[head];
  else out[head] = next;
  return out as T;
}

/** Field text from the schema's name: `maxRows` → "max rows". */
export function labelOf(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/ Ms$/, ' (ms)')
    .toLowerCase();
}
