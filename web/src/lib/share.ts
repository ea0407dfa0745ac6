// Shareable links: an operation and its inputs in the URL (never a secret), and back into form values.
import { isBytesUnion, isSecretField, kindOf, nonNull, prune, stripSecrets, type JsonSchema } from './schema.ts';

/** Text from a link (or the short routes' redirect) converted to what each field's schema wants. */
export function inputFromQuery(schema: JsonSchema, query: URLSearchParams): Record<string, unknown> {
  const props = schema.properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, text] of query) {
    const p = props[key];
    if (!p) continue;
    const s = nonNull(p, schema);
    const kind = kindOf(s);
    const json = /^\s*[[{]/.test(text) ? tryJson(text) : undefined;
    if (kind === 'integer' || kind === 'number') out[key] = text.trim() === '' ? undefined : Number(text);
    else if (kind === 'boolean') out[key] = text === '' || text === '1' || text === 'true';
    else if (kind === 'array') out[key] = Array.isArray(json) ? json : text.split(',').filter(Boolean).map((v) => (/^\d+$/.test(v) && kindOf(nonNull(s.items ?? {}, schema)) !== 'string' ? Number(v) : v));
    else if (kind === 'object') out[key] = json ?? undefined;
    else if (isBytesUnion(s, schema) && json && typeof json === 'object') out[key] = json;
    else if ((s.anyOf ?? s.oneOf) && json !== undefined) out[key] = json;
    else out[key] = text;
  }
  return prune(out) as Record<string, unknown>;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The inputs as link parameters: secrets removed, structures as JSON. */
export function queryFromInput(schema: JsonSchema, input: Record<string, unknown>): URLSearchParams {
  const clean = stripSecrets(prune(input), schema, schema) as Record<string, unknown>;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(clean)) {
    if (v === undefined) continue;
    if (isSecretField(k)) continue;
    q.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
  }
  return q;
}

export function shareUrl(protocol: string, operation: string, schema: JsonSchema, input: Record<string, unknown>): string {
  const qs = queryFromInput(schema, input).toString();
  return `${location.origin}/#/run/${encodeURIComponent(protocol)}/${encodeURIComponent(operation)}${qs ? `?${qs}` : ''}`;
}

/** A curl command for the same request (with secrets replaced by placeholders). */
export function curlCommand(protocol: string, operation: string, schema: JsonSchema, input: Record<string, unknown>, session: boolean): string {
  const body = maskSecrets(prune(input), schema) as Record<string, unknown>;
  if (session) return `# an interactive session: open ws${location.protocol === 'https:' ? 's' : ''}://${location.host}/api/${protocol}/${operation} and send\n${JSON.stringify({ type: 'start', input: body })}`;
  return `curl -sS -X POST '${location.origin}/api/${protocol}/${operation}?transcript=1' -H 'content-type: application/json' -d '${JSON.stringify(body).replace(/'/g, "'\\''")}'`;
}

function maskSecrets(v: unknown, schema?: JsonSchema): unknown {
  if (Array.isArray(v)) return v.map((x) => maskSecrets(x, schema ? nonNull(schema, schema).items : undefined));
  if (v && typeof v === 'object') {
    const props = schema?.properties;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, isSecretField(k, props?.[k]) && typeof x === 'string' ? '****' : maskSecrets(x, props?.[k])]));
  }
  return v;
}
