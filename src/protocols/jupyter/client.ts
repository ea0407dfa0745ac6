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
}

export function authHeaders(auth: Auth): Field[] {
  return auth.token ? [['Authorization', `token ${auth.token}`]] : [];
}

/** A REST call; 401/403 are auth_failed and other errors the server's own message. */
export async function api(ctx: OperationContext, auth: Auth, method: string, path: string, maxBytes: number, body?: unknown): Promise<unknown> {
  const r = await httpJson(ctx, { method, path, headers: authHeaders(auth), body, maxBytes, secretHeaders: auth.token !== undefined });
  const message = (r.json as { message?: string; reason?: string } | undefined)?.message ?? r.text.trim().slice(0, 200);
  if (r.status === 401 || r.status === 403) throw new AuthError(`Jupyter Server: HTTP ${r.status} ${message || r.reason}${auth.token ? ' (wrong token?)' : ' (this server needs a token)'}`, { status: r.status });
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

  static async open(ctx: OperationContext, auth: Auth, kernelId: string): Promise<KernelChannel> {
    const session = toHex(ctx.crypto.randomBytes(16));
    const socket = await JsonSocket.open(ctx, `/api/kernels/${encodeURIComponent(kernelId)}/channels?session_id=${session}`, authHeaders(auth), 16 * 1024 * 1024, auth.token !== undefined);
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
