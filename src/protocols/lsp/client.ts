// A JSON-RPC 2.0 peer over a Conn for LSP: requests wait for their response; notifications the server sends
// meanwhile are kept (capped); requests the server makes are answered so it does not wait on us.
import type { Conn } from '../../core/conn.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { asRpc, encodeMessage, messageFrame, type RpcMessage } from './codec.ts';

const MAX_KEPT = 200;
/** Notification bodies kept in all (diagnostics are small; a chatty server's log messages are dropped past this). */
const MAX_KEPT_BYTES = 1024 * 1024;

export class RpcPeer {
  private nextId = 1;
  readonly notifications: { method: string; params: unknown }[] = [];
  private keptBytes = 0;
  private readonly frame;

  constructor(readonly conn: Conn, maxBody = 16 * 1024 * 1024) {
    this.frame = messageFrame(maxBody);
  }

  async notify(method: string, params?: unknown): Promise<void> {
    await this.conn.write(encodeMessage({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) }), { decode: `notification ${method}` });
  }

  async request(method: string, params?: unknown): Promise<unknown> {
    const id = this.nextId++;
    await this.conn.write(encodeMessage({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }), { decode: `request ${id} ${method}` });
    for (;;) {
      const frame = await this.conn.readFrame(this.frame, `${method} response`, describe);
      const m = asRpc(frame.body);
      if (m.method !== undefined && m.id !== undefined && m.id !== null) {
        await this.answer(m);
        continue;
      }
      if (m.method !== undefined) {
        if (this.notifications.length < MAX_KEPT && this.keptBytes + frame.length <= MAX_KEPT_BYTES) {
          this.keptBytes += frame.length;
          this.notifications.push({ method: m.method, params: m.params });
        }
        continue;
      }
      if (m.id !== id) throw new ProtocolError(`response to request ${JSON.stringify(m.id)}, expected ${id}`);
      if (m.error) throw new ServerError(`${method}: ${m.error.message} (code ${m.error.code})`, { code: m.error.code, data: m.error.data });
      return m.result;
    }
  }

  /** workspace/configuration gets one null per item; anything else a null result (LSP: "no value"). */
  private async answer(m: RpcMessage): Promise<void> {
    const items = (m.params as { items?: unknown[] } | undefined)?.items;
    const result = m.method === 'workspace/configuration' && Array.isArray(items) ? items.map(() => null) : null;
    await this.conn.write(encodeMessage({ jsonrpc: '2.0', id: m.id, result }), { decode: `response to server request ${m.method}` });
  }
}

function describe(m: { body: unknown; length: number }): string {
  const r = m.body as RpcMessage;
  if (r.method) return `${r.id !== undefined ? `request ${r.id} ` : 'notification '}${r.method}`;
  return `response ${r.id}${r.error ? ` error ${r.error.code}` : ''}, ${m.length} bytes`;
}
