// Chrome DevTools Protocol sessions (chromedevtools.github.io/devtools-protocol; Node's inspector speaks the
// same): the HTTP discovery endpoints, then JSON commands with ids over the target's WebSocket, events between.
import { PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { PNG_SIGNATURE } from '../../core/png.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { JsonSocket, httpJson } from './json-http.ts';

export const MAX_DISCOVERY = 1024 * 1024;

export interface Target {
  id: string;
  type: string;
  title: string;
  url: string;
  webSocketDebuggerUrl?: string;
  description?: string;
}

export async function discovery(ctx: OperationContext, path: string): Promise<unknown> {
  const r = await httpJson(ctx, { method: 'GET', path, maxBytes: MAX_DISCOVERY });
  if (r.status !== 200) throw new ServerError(`GET ${path}: HTTP ${r.status} ${r.reason}${r.text ? ` (${r.text.trim().slice(0, 200)})` : ''}`, { status: r.status });
  if (r.json === undefined) throw new ProtocolError(`GET ${path} did not answer JSON: the port is not a DevTools endpoint`);
  return r.json;
}

export async function listTargets(ctx: OperationContext): Promise<Target[]> {
  const list = await discovery(ctx, '/json/list');
  if (!Array.isArray(list)) throw new ProtocolError('/json/list did not answer a list');
  return list.map((t: Record<string, unknown>) => ({
    id: String(t.id ?? ''),
    type: String(t.type ?? ''),
    title: String(t.title ?? ''),
    url: String(t.url ?? ''),
    ...(typeof t.webSocketDebuggerUrl === 'string' ? { webSocketDebuggerUrl: t.webSocketDebuggerUrl } : {}),
    ...(typeof t.description === 'string' && t.description ? { description: t.description } : {}),
  }));
}

/** The target by id, or the first page (Chromium) or node (Node's inspector) that can be attached. */
export async function pickTarget(ctx: OperationContext, id?: string): Promise<Target> {
  const targets = await listTargets(ctx);
  const attachable = targets.filter((t) => t.webSocketDebuggerUrl);
  const t = id ? targets.find((x) => x.id === id) : (attachable.find((x) => x.type === 'page') ?? attachable.find((x) => x.type === 'node') ?? attachable[0]);
  if (!t) throw new ServerError(id ? `no target ${id} (targets: ${targets.map((x) => x.id).join(', ') || 'none'})` : 'no target to attach to');
  if (!t.webSocketDebuggerUrl) throw new ServerError(`target ${t.id} is already attached to another debugger (no webSocketDebuggerUrl)`);
  return t;
}

/** The path of a ws:// URL: the connection goes to the operation's target, whatever host the URL names. */
export function socketPath(url: string): string {
  const m = /^wss?:\/\/[^/]+(\/.*)$/.exec(url);
  if (!m) throw new ProtocolError(`webSocketDebuggerUrl ${JSON.stringify(url)} is not a ws:// URL`);
  return m[1];
}

export interface CdpEvent {
  method: string;
  params: Record<string, unknown>;
}

export class CdpSession {
  private nextId = 1;
  /** Events that arrived while waiting for a reply, in order: only the methods asked for in `keep`, at most 100. */
  readonly events: CdpEvent[] = [];
  /** Event methods worth keeping while a command runs (Page.loadEventFired during a navigation). */
  keep = new Set<string>();

  private constructor(private readonly socket: JsonSocket) {}

  static async attach(ctx: OperationContext, target: Target, maxMessage: number): Promise<CdpSession> {
    return new CdpSession(await JsonSocket.open(ctx, socketPath(target.webSocketDebuggerUrl!), [], maxMessage));
  }

  async call<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    await this.socket.send({ id, method, params });
    for (;;) {
      const m = await this.socket.next();
      if (m === null) throw new PortolanError('closed', `the target closed the DevTools connection while waiting for ${method}`);
      if (m.id === id) {
        const err = m.error as { code?: number; message?: string; data?: string } | undefined;
        if (err) throw new ServerError(`${method}: ${err.message ?? 'error'}${err.data ? ` (${err.data})` : ''}`, { code: err.code });
        return (m.result ?? {}) as T;
      }
      if (typeof m.method === 'string' && this.keep.has(m.method) && this.events.length < 100) this.events.push({ method: m.method, params: (m.params ?? {}) as Record<string, unknown> });
    }
  }

  /** The next event (those queued first); null when the connection closed. */
  async event(): Promise<CdpEvent | null> {
    const queued = this.events.shift();
    if (queued) return queued;
    for (;;) {
      const m = await this.socket.next();
      if (m === null) return null;
      if (typeof m.method === 'string') return { method: m.method, params: (m.params ?? {}) as Record<string, unknown> };
    }
  }

  close(): Promise<void> {
    return this.socket.close();
  }
}

/** A Runtime.RemoteObject as JSON: the value when serialisable, else its description. */
export function remoteValue(o: Record<string, unknown> | undefined): unknown {
  if (!o) return null;
  if ('value' in o) return o.value;
  if (typeof o.unserializableValue === 'string') return o.unserializableValue;
  if (o.type === 'undefined') return null;
  return o.description ?? null;
}

/** Text of a console call's arguments, as DevTools prints them. */
export function consoleText(args: unknown): string {
  if (!Array.isArray(args)) return '';
  return args
    .map((a: Record<string, unknown>) => {
      const v = remoteValue(a);
      return typeof v === 'string' ? v : a.type === 'undefined' ? 'undefined' : JSON.stringify(v);
    })
    .join(' ');
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  if (png.length < 24 || PNG_SIGNATURE.some((b, i) => png[i] !== b)) throw new ProtocolError('the screenshot is not a PNG');
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}
