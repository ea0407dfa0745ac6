// Jupyter Server's REST API (jupyter-server docs, "REST API") and the kernel channels WebSocket that carries the
// Jupyter messaging protocol 5.3 as JSON: execute_request on shell, then iopub's status, stream, execute_result,
// display_data and error for that request, and shell's execute_reply.
import { toHex } from '../../core/bytes.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import type { Field } from '../http/codec.ts';
import { JsonSocket, httpJson } from '../cdp/json-http.ts';

export interface Auth {
  token?: string;
  password?: string;
}

/** How requests prove who they are: the token header, or the cookies of a password login (and its XSRF token). */
export interface Credentials {
  headers: Field[];
  /** The _xsrf cookie's value, sent back as X-XSRFToken on requests that change state. */
  xsrf?: string;
  kind: 'token' | 'password' | 'none';
}

export function authHeaders(auth: Auth): Field[] {
  return auth.token ? [['Authorization', `token ${auth.token}`]] : [];
}

/** Cookie name=value pairs from Set-Cookie fields. */
export function cookiesOf(headers: readonly Field[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'set-cookie') continue;
    const pair = value.split(';', 1)[0];
    const at = pair.indexOf('=');
    if (at > 0) out.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  return out;
}

/**
 * The token as a header, or a password login as the browser does it: GET /login for the _xsrf cookie, POST the
 * password with it, keep the session cookie the 302 sets.
 */
export async function authenticate(ctx: OperationContext, auth: Auth): Promise<Credentials> {
  if (auth.token !== undefined) return { headers: authHeaders(auth), kind: 'token' };
  if (auth.password === undefined) return { headers: [], kind: 'none' };
  const page = await httpJson(ctx, { method: 'GET', path: '/login', maxBytes: 256 * 1024 });
  const xsrf = cookiesOf(page.headers).get('_xsrf');
  if (page.status !== 200 || !xsrf) throw new ServerError(`Jupyter Server: GET /login answered HTTP ${page.status} ${page.reason}${xsrf ? '' : ' without an _xsrf cookie'}: no password login here`);
  const form = `_xsrf=${encodeURIComponent(xsrf)}&password=${encodeURIComponent(auth.password)}`;
  const r = await httpJson(ctx, { method: 'POST', path: '/login', headers: [['Cookie', `_xsrf=${xsrf}`]], form, maxBytes: 256 * 1024, secretHeaders: true });
  const session = [...cookiesOf(r.headers)].filter(([name]) => name !== '_xsrf');
  if (r.status === 401 || r.status === 403 || session.length === 0) {
    const words = /Invalid credentials/i.test(r.text) ? 'Invalid credentials' : `HTTP ${r.status} ${r.reason}`;
    throw new AuthError(`Jupyter Server refused the password: ${words}`, { status: r.status });
  }
  ctx.timing.mark('loginMs');
  const cookie = [...session.map(([name, value]) => `${name}=${value}`), `_xsrf=${xsrf}`].join('; ');
  return { headers: [['Cookie', cookie]], xsrf, kind: 'password' };
}

/** A REST call; 401/403 are auth_failed and other errors the server's own message. */
export async function api(ctx: OperationContext, auth: Credentials, method: string, path: string, maxBytes: number, body?: unknown): Promise<unknown> {
  const headers = [...auth.headers, ...(auth.xsrf && method !== 'GET' ? ([['X-XSRFToken', auth.xsrf]] as Field[]) : [])];
  const r = await httpJson(ctx, { method, path, headers, body, maxBytes, secretHeaders: auth.kind !== 'none' });
  const message = (r.json as { message?: string; reason?: string } | undefined)?.message ?? r.text.trim().slice(0, 200);
  if (r.status === 401 || r.status === 403) {
    const hint = auth.kind === 'token' ? ' (wrong token?)' : auth.kind === 'none' ? ' (this server needs a token or a password)' : '';
    throw new AuthError(`Jupyter Server: HTTP ${r.status} ${message || r.reason}${hint}`, { status: r.status });
  }
  if (r.status >= 400) throw new ServerError(`Jupyter Server: HTTP ${r.status} ${message || r.reason}`, { status: r.status });
  if (r.status === 204) return null;
  if (r.json === undefined) throw new ProtocolError(`${method} ${path} did not answer JSON: the port is not a Jupyter Server API`);
  return r.json;
}

export type Output =
  | { type: 'stream'; name: string; text: string }
  | { type: 'result'; executionCount: number | null; data: Record<string, unknown> }
  | { type: 'display'; data: Record<string, unknown> }
  | { type: 'error'; ename: string; evalue: string; traceback: string[] };

export interface Execution {
  status: string;
  executionCount: number | null;
  outputs: Output[];
  truncated: boolean;
}

/** Terminal colour codes IPython puts in tracebacks. */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

/** One message of the messaging protocol: its type, the request it answers, its content. */
function parse(m: Record<string, unknown>): { msgType: string; parent: string | undefined; channel: string; content: Record<string, unknown> } {
  const header = m.header as { msg_type?: string } | undefined;
  const parent = m.parent_header as { msg_id?: string } | undefined;
  return { msgType: String(header?.msg_type ?? ''), parent: parent?.msg_id, channel: String(m.channel ?? ''), content: (m.content ?? {}) as Record<string, unknown> };
}

export class KernelChannel {
  private constructor(
    private readonly socket: JsonSocket,
    private readonly session: string,
    private readonly crypto: OperationContext['crypto'],
  ) {}

  static async open(ctx: OperationContext, auth: Credentials, kernelId: string): Promise<KernelChannel> {
    const session = toHex(ctx.crypto.randomBytes(16));
    const socket = await JsonSocket.open(ctx, `/api/kernels/${encodeURIComponent(kernelId)}/channels?session_id=${session}`, auth.headers, 16 * 1024 * 1024, auth.kind !== 'none');
    return new KernelChannel(socket, session, ctx.crypto);
  }

  /** Runs one cell; `onOutput` sees each output as it arrives. Ends at the reply and the kernel's return to idle. */
  async execute(code: string, maxOutputBytes: number, onOutput?: (o: Output) => void): Promise<Execution> {
    const msgId = toHex(this.crypto.randomBytes(16));
    await this.socket.send({
      header: { msg_id: msgId, username: 'portolan', session: this.session, date: new Date().toISOString(), msg_type: 'execute_request', version: '5.3' },
      parent_header: {},
      metadata: {},
      content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
      channel: 'shell',
      buffers: [],
    });
    const outputs: Output[] = [];
    let size = 0;
    let truncated = false;
    let reply: { status: string; executionCount: number | null } | undefined;
    let idle = false;
    const keep = (o: Output, bytes: number) => {
      onOutput?.(o);
      if (truncated) return;
      if (size + bytes > maxOutputBytes) {
        truncated = true;
        return;
      }
      size += bytes;
      const last = outputs[outputs.length - 1];
      if (o.type === 'stream' && last?.type === 'stream' && last.name === o.name) last.text += o.text;
      else outputs.push(o);
    };
    while (!reply || !idle) {
      const raw = await this.socket.next();
      if (raw === null) throw new PortolanError('closed', 'Jupyter Server closed the kernel channel before the cell finished');
      const m = parse(raw);
      if (m.parent !== msgId) continue;
      const c = m.content;
      switch (m.msgType) {
        case 'status':
          if (c.execution_state === 'idle') idle = true;
          break;
        case 'stream':
          keep({ type: 'stream', name: String(c.name), text: String(c.text ?? '') }, String(c.text ?? '').length);
          break;
        case 'execute_result':
          keep({ type: 'result', executionCount: typeof c.execution_count === 'number' ? c.execution_count : null, data: (c.data ?? {}) as Record<string, unknown> }, JSON.stringify(c.data ?? {}).length);
          break;
        case 'display_data':
          keep({ type: 'display', data: (c.data ?? {}) as Record<string, unknown> }, JSON.stringify(c.data ?? {}).length);
          break;
        case 'error': {
          const traceback = Array.isArray(c.traceback) ? c.traceback.map((l) => stripAnsi(String(l))) : [];
          keep({ type: 'error', ename: String(c.ename ?? ''), evalue: String(c.evalue ?? ''), traceback }, traceback.join('\n').length);
          break;
        }
        case 'execute_reply':
          reply = { status: String(c.status ?? 'unknown'), executionCount: typeof c.execution_count === 'number' ? c.execution_count : null };
          break;
      }
    }
    return { status: reply.status, executionCount: reply.executionCount, outputs, truncated };
  }

  close(): Promise<void> {
    return this.socket.close();
  }
}
