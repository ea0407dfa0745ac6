// Short routes: GET /{protocol}/{host}[:{port}][/{extra}] — text for curl, JSON on request, the UI for browsers.
import type { Context } from 'hono';
import { classify, httpStatus, InvalidInput } from '../core/errors.ts';
import type { DefinedOperation, Protocol } from '../core/protocol.ts';
import { runOperation, type HostEnv } from '../core/runner.ts';
import { inputJsonSchema } from './describe.ts';

/**
 * A short route's path after the protocol, each segment decoded exactly once: the target, and the
 * rest (`extra`, its segments joined by '/'). A malformed escape is the user's input error.
 */
export function shortPath(pathname: string): { target: string; extra: string | undefined } {
  const [, , target = '', ...rest] = pathname.split('/');
  const decode = (segment: string): string => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw InvalidInput.field('path', `${JSON.stringify(segment)} is not a valid URL path segment (a % must start an escape such as %25)`);
    }
  };
  const extra = rest.map(decode).join('/');
  return { target: decode(target), extra: extra === '' ? undefined : extra };
}

/** Splits `host`, `host:port`, `[v6]` or `[v6]:port`; a bare IPv6 literal has no port. */
export function parseTarget(target: string): { host: string; port?: number } {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
  if (bracket) return { host: bracket[1], port: bracket[2] === undefined ? undefined : toPort(bracket[2]) };
  const colons = target.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = target.split(':');
    return { host, port: toPort(port) };
  }
  return { host: target };
}

function toPort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw InvalidInput.field('port', `${JSON.stringify(text)} is not a port (1–65535)`);
  return n;
}

/** Query strings carry text; convert each to the type the operation's schema wants. */
export function coerceQuery(op: DefinedOperation, query: URLSearchParams): Record<string, unknown> {
  const props = (inputJsonSchema(op).properties ?? {}) as Record<string, { type?: string | string[]; items?: unknown }>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of query) {
    if (key === 'format' || key === 'transcript' || key === 'token') continue;
    const type = props[key]?.type;
    const t = Array.isArray(type) ? type[0] : type;
    if (t === 'integer' || t === 'number') out[key] = value.trim() === '' ? value : Number(value);
    else if (t === 'boolean') out[key] = value === '' || value === '1' || value === 'true';
    else if (t === 'array') out[key] = value.split(',').map((v) => (/^\d+$/.test(v) ? Number(v) : v));
    else out[key] = value;
  }
  return out;
}

type Format = 'json' | 'text' | 'html';

function chooseFormat(c: Context): Format {
  const f = c.req.query('format');
  if (f === 'json' || f === 'text') return f;
  const accept = c.req.header('accept') ?? '';
  if (accept.includes('application/json')) return 'json';
  if (accept.includes('text/html')) return 'html';
  return 'text';
}

/** A generic text rendering for operations without their own. */
export function renderText(value: unknown, indent = ''): string {
  if (value === null || value === undefined) return `${indent}-\n`;
  if (typeof value !== 'object') return `${indent}${String(value)}\n`;
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'object' && v !== null ? renderText(v, indent + '  ') : `${indent}- ${String(v)}\n`)).join('');
  let out = '';
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'object' && v !== null) out += `${indent}${k}:\n${renderText(v, indent + '  ')}`;
    else out += `${indent}${k}: ${v === undefined || v === null ? '-' : String(v)}\n`;
  }
  return out;
}

/** Runs a protocol's default operation for `GET /{protocol}/{target}[/{extra}]`. */
export async function shortRoute(c: Context, env: HostEnv, p: Protocol): Promise<Response> {
  const format = chooseFormat(c);
  const opName = p.defaultOperation;
  if (!opName) throw InvalidInput.field('protocol', `${p.id} has no short route; use POST /api/${p.id}/{operation}`);
  const op = p.operations[opName];
  const url = new URL(c.req.url);
  const transcript = url.searchParams.get('transcript') === '1';
  try {
    // From the raw path: route parameters arrive decoded, and a second decode would misread "%25" or throw.
    const { target, extra } = shortPath(url.pathname);
    const { host, port } = parseTarget(target);
    const input: Record<string, unknown> = {
      ...coerceQuery(op, url.searchParams),
      ...(op.shortRoute ? op.shortRoute(extra, url.searchParams) : {}),
      host,
    };
    if (port !== undefined) input.port = port;
    if (format === 'html') {
      const params = new URLSearchParams(Object.entries(input).map(([k, v]): [string, string] => [k, String(v)]));
      return c.redirect(`/#/run/${p.id}/${op.name}?${params}`, 302);
    }
    const answer = await runOperation(env, p, op, input, { transcript, signal: c.req.raw.signal });
    if (format === 'json') return c.json(answer);
    const body = op.text ? op.text(answer.result as never, input as never) : renderText(answer.result);
    return c.text(body.endsWith('\n') ? body : body + '\n');
  } catch (err) {
    const e = classify(err);
    if (format === 'json') throw e;
    const lines = [`error: ${e.code}: ${e.message}`];
    const detail = e.detail as { issues?: { field: string; message: string }[]; alternatives?: string[] } | undefined;
    for (const alt of detail?.alternatives ?? []) lines.push(`alternative: ${alt}`);
    return c.text(lines.join('\n') + '\n', httpStatus(e.code) as 400);
  }
}
