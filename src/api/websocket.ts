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
  /** Backpressure, on hosts whose WebSocket has it (Node's `ws`); Workers' has none (workerd issue 988). */
  flow?: SocketFlow;
}

/** What a host's WebSocket tells about the bytes in flight, and how to hold the client back. */
export interface SocketFlow {
  /** Bytes sent and not yet handed to the network (the WebSocket's bufferedAmount). */
  bufferedAmount(): number;
  /** Resolves once bufferedAmount() is at most `bytes`, or the socket has closed. */
  drained(bytes: number): Promise<void>;
  /** Stops taking the client's messages (its TCP window closes), and starts again. */
  pause(): void;
  resume(): void;
}

/** Upgrades the request, or returns undefined when it is not a WebSocket request. `protocol`: the subprotocol to answer with. */
export type WebSocketAcceptor = (c: Context, opts?: { protocol?: string }) => { socket: ServerSocket; response: Response } | undefined;

/** Unacknowledged bytes a session may have in flight to its client, unless the client asks for another window. */
export const DEFAULT_SESSION_WINDOW = 1024 * 1024;
const MAX_SESSION_WINDOW = 64 * 1024 * 1024;

/** The size of a message as credit counts it: bytes of binary data, characters of JSON text. */
function creditSize(data: Uint8Array | string): number {
  return typeof data === 'string' ? data.length : data.byteLength;
}

/**
 * Client messages as a pull queue (binary stays binary, text must be a JSON object with a type), and
 * credit flow control for what goes to the client: it acknowledges what it has read with
 * {"type":"ack","bytes":n} (binary bytes, or characters of a JSON message), and `ready()` waits while
 * `window` or more is unacknowledged. Credit acks are the channel's own; sessions never see them.
 */
export function channelOf(ws: ServerSocket): SessionChannel & { closed: boolean; setWindow(bytes: number): void } {
  const queue: (SessionMessage | null)[] = [];
  let waiter: (() => void) | undefined;
  let window = DEFAULT_SESSION_WINDOW;
  let unacked = 0;
  let roomWaiters: (() => void)[] = [];
  const wakeRoom = () => {
    if (unacked >= window && !state.closed) return;
    const waiting = roomWaiters;
    roomWaiters = [];
    for (const w of waiting) w();
  };
  const state = {
    closed: false,
    setWindow(bytes: number) {
      window = Math.min(MAX_SESSION_WINDOW, Math.max(1024, Math.floor(bytes)));
      wakeRoom();
    },
    send(msg: SessionMessage) {
      if (state.closed) return;
      const data = msg instanceof Uint8Array ? msg : JSON.stringify(msg);
      try {
        ws.send(data);
        unacked += creditSize(data);
      } catch {
        state.closed = true;
        wakeRoom();
      }
    },
    async receive(): Promise<SessionMessage | null> {
      while (queue.length === 0) await new Promise<void>((r) => (waiter = r));
      const next = queue.shift()!;
      if (next === null) queue.unshift(null);
      return next;
    },
    ready(): Promise<void> {
      if (unacked < window || state.closed) return Promise.resolve();
      return new Promise<void>((resolve) => roomWaiters.push(resolve));
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
      // {"type":"ack","bytes":n} is credit; other acks (a message ack of AMQP or STOMP) are the session's.
      if (msg && typeof msg === 'object' && msg.type === 'ack' && typeof msg.bytes === 'number') {
        if (Number.isSafeInteger(msg.bytes) && msg.bytes > 0) {
          unacked = Math.max(0, unacked - msg.bytes);
          wakeRoom();
        }
        return;
      }
      if (msg && typeof msg === 'object' && typeof msg.type === 'string') return push(msg);
    } catch {
      // fall through
    }
    state.send({ type: 'error', error: { code: 'invalid_input', message: 'text messages must be JSON objects with a "type"' } });
  });
  ws.onClose(() => {
    state.closed = true;
    wakeRoom();
    push(null);
  });
  return state;
}

export const SESSION_CLOSE = { normal: 1000, error: 1011, policy: 1008 } as const;

/**
 * Runs an operation's interactive session on an upgraded socket. The first client message must be
 * {"type":"start","input":{...},"window"?:n} (secrets stay out of URLs); it is merged over the query's
 * fields. The client then acknowledges what it reads (channelOf).
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
    // The credit window: the start message's, or the operation's own `window` input where it has one.
    const window = typeof first.window === 'number' ? first.window : input.window;
    if (typeof window === 'number' && Number.isFinite(window)) channel.setWindow(window);
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
