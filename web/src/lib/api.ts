// The API the UI is generated from: /api/protocols, /api/capabilities, /api/openapi.json, /api/runtime, operations and sessions.
import type { JsonSchema } from './schema.ts';

export interface RuntimeSupport {
  supported: boolean;
  tls?: Record<string, boolean>;
  missing?: string[];
  reasons?: string[];
  alternatives?: string[];
}

export interface OperationInfo {
  name: string;
  summary: string;
  /** `session`: a WebSocket at GET /api/{protocol}/{operation}; `request`: POST. */
  kind?: 'request' | 'session';
  /** The fields a person fills first, in order; the rest go under "More options". */
  primary?: string[];
  /** A session's messages (what the client sends and receives besides data), as the operation describes them. */
  messages?: string;
  needs: string[];
  input: JsonSchema;
  output: JsonSchema;
  support: Record<string, RuntimeSupport>;
  availableHere?: boolean;
  /** The operation moves a file (docs/files.md): a download or an upload, whose bytes `content` carries inline. */
  transfer?: { direction: 'download' | 'upload'; resume?: boolean; content?: string };
  /** A run is stopped on the server by `operation` with the same input, found by a random label in the field `tag`. */
  cancel?: { operation: string; tag: string };
}

export interface PortInfo {
  port: number;
  transport: 'tcp' | 'tls' | 'udp';
  label?: string;
}

export interface ProtocolInfo {
  id: string;
  title: string;
  category: string;
  summary: string;
  ports: PortInfo[];
  specs: string[];
  rating: { stars: number; reason: string };
  verifiedAgainst: string | null;
  tlsModes: string[];
  defaultOperation: string | null;
  operations: OperationInfo[];
}

export interface Registry {
  runtime: string;
  protocols: ProtocolInfo[];
}

export interface Capabilities {
  capabilities: Record<string, { title: string; workers: boolean; node: boolean; workersReason?: string; alternative?: string; [k: string]: unknown }>;
  operations: { protocol: string; operation: string; needs: string[]; support: Record<string, RuntimeSupport> }[];
}

export interface TranscriptEntry {
  t: number;
  dir: 'out' | 'in' | 'info';
  conn: number;
  size: number;
  hex?: string;
  decode?: string;
}

export interface Transcript {
  entries: TranscriptEntry[];
  dropped: number;
}

export interface FieldIssue {
  field: string;
  message: string;
}

export interface ApiError {
  code: string;
  message: string;
  detail?: { issues?: FieldIssue[]; reasons?: string[]; alternatives?: string[]; [k: string]: unknown };
}

export interface OperationAnswer {
  ok: boolean;
  protocol?: string;
  operation?: string;
  target?: { host: string; port: number };
  result?: unknown;
  timing?: Record<string, number>;
  transcript?: Transcript;
  error?: ApiError;
  /** Filled in by the UI: HTTP status and the wall time the browser measured. */
  status?: number;
  clientMs?: number;
  /** Set when the client ran in this page (end to end): the bytes the Worker relayed over /api/tunnel. */
  relayedBytes?: number;
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export const fetchRegistry = () => getJson<Registry>('/api/protocols');
export const fetchCapabilities = () => getJson<Capabilities>('/api/capabilities');
export const fetchOpenApi = () => getJson<Record<string, unknown>>('/api/openapi.json');
export const fetchRuntime = () => getJson<Record<string, unknown>>('/api/runtime');

/** POST /api/{protocol}/{operation}; never throws for an API error, only answers with it. */
export async function runOperation(protocol: string, operation: string, input: Record<string, unknown>, opts: { transcript?: boolean; signal?: AbortSignal } = {}): Promise<OperationAnswer> {
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(`/api/${encodeURIComponent(protocol)}/${encodeURIComponent(operation)}${opts.transcript ? '?transcript=1' : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(input),
      signal: opts.signal,
    });
  } catch (e) {
    const aborted = e instanceof DOMException && e.name === 'AbortError';
    return { ok: false, error: { code: aborted ? 'canceled' : 'network', message: aborted ? 'canceled in the browser' : `the API did not answer: ${String(e)}` }, clientMs: performance.now() - started };
  }
  let body: OperationAnswer;
  try {
    body = (await res.json()) as OperationAnswer;
  } catch {
    body = { ok: false, error: { code: 'network', message: `HTTP ${res.status} without a JSON body` } };
  }
  return { ...body, status: res.status, clientMs: performance.now() - started };
}

/** runOperation for pages that work with the result: the result, or the API's error thrown. */
export async function operationResult<T>(protocol: string, operation: string, input: Record<string, unknown>): Promise<T> {
  const a = await runOperation(protocol, operation, input);
  if (!a.ok) throw a.error ?? { code: 'closed', message: 'no answer' };
  return a.result as T;
}

/** The WebSocket URL of an interactive session (the input goes in the first message, never the URL). */
export function sessionUrl(protocol: string, operation: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/api/${encodeURIComponent(protocol)}/${encodeURIComponent(operation)}`;
}

/** Outcome codes the API uses, for badges; anything else shows as is. */
export const OUTCOME_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'info'> = {
  ok: 'ok',
  refused: 'bad',
  connect_timeout: 'warn',
  io_timeout: 'warn',
  closed: 'bad',
  tls_error: 'bad',
  protocol_error: 'bad',
  server_error: 'bad',
  auth_failed: 'bad',
  untrusted_peer: 'bad',
  invalid_input: 'warn',
  target_blocked: 'info',
  unsupported_runtime: 'info',
  rate_limited: 'warn',
  network: 'bad',
  canceled: 'info',
};
