// WebSocket plumbing shared by the tunnel and interactive sessions; each host supplies the acceptor.
import type { Context } from 'hono';
import { classify, InvalidInput } from '../core/errors.ts';
import type { DefinedOperation, Protocol, SessionChannel, SessionMessage } from '../core/protocol.ts';
import { runOperation, type HostEnv } from '../core/runner.ts';

export interface ServerSocket {
  send(data: Uint8Array | string): void;
  close(code: number, reason: string): void;
  onMessage(listener: (data: Uint8Array | string) => void): void;
  onClose(listener: () => void): void;
}

/** Upgrades the request, or returns undefined when it is not a WebSocket request. */
export type WebSocketAcceptor = (c: Context) => { socket: ServerSocket; response: Response } | undefined;

/** Client messages as a pull queue: binary stays binary, text must be a JSON object with a type. */
export function channelOf(ws: ServerSocket): SessionChannel & { closed: boolean } {
  const queue: (SessionMessage | null)[] = [];
  let waiter: (() => void) | undefined;
  const state = {
    closed: false,
    send(msg: SessionMessage) {
      if (state.closed) return;
      try {
        ws.send(msg instanceof Uint8Array ? msg : JSON.stringify(msg));
      } catch {
        state.closed = true;
      }
    },
    async receive(): Promise<SessionMessage | null> {
      while (queue.length === 0) await new Promise<void>((r) => (waiter = r));
      const next = queue.shift()!;
      if (next === null) queue.unshift(null);
      return next;
    },
  };
  const push = (m: SessionMessage | null) => {
    queue.push(m);
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  ws.onMessage((data) => {
    if (typeof data !== 'string') return push(data);
    try {
      const msg = JSON.parse(data);
      if (msg && typeof msg === 'object' && typeof msg.type === 'string') return push(msg);
    } catch {
      // fall through
    }
    state.send({ type: 'error', error: { code: 'invalid_input', message: 'text messages must be JSON objects with a "type"' } });
  });
  ws.onClose(() => {
    state.closed = true;
    push(null);
  });
  return state;
}

export const SESSION_CLOSE = { normal: 1000, error: 1011, policy: 1008 } as const;

/**
 * Runs an operation's interactive session on an upgraded socket. The first client message must be
 * {"type":"start","input":{...}} (secrets stay out of URLs); it is merged over the query's fields.
 */
export async function serveSession(ws: ServerSocket, env: HostEnv, p: Protocol, op: DefinedOperation, queryInput: Record<string, unknown>): Promise<void> {
  const channel = channelOf(ws);
  try {
    const first = await Promise.race([
      channel.receive(),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000)),
    ]);
    if (first === null) return;
    if (first === 'timeout' || first instanceof Uint8Array || first.type !== 'start') {
      throw InvalidInput.field('start', 'the first message must be {"type":"start","input":{...}} within 30 s');
    }
    const input = { ...queryInput, ...((first.input as Record<string, unknown> | undefined) ?? {}) };
    const answer = await runOperation(env, p, op, input, { channel });
    channel.send({ type: 'end', result: answer.result as unknown, timing: answer.timing });
    ws.close(SESSION_CLOSE.normal, 'session ended');
  } catch (e) {
    const err = classify(e);
    channel.send({ type: 'error', error: err.toJSON() });
    try {
      ws.close(SESSION_CLOSE.error, `${err.code}`);
    } catch {
      // already closed
    }
  }
}
