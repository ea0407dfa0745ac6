// The raw tunnel: GET /api/tunnel?host=&port=[&tls=1] as a WebSocket carrying TCP bytes both ways.
//
// How it works (docs/tunnel.md has the wire contract): the subprotocol the client offers picks one of two
// relays over the same limits (idle time, byte quota) and the same target policy.
//
// Portolan's credit protocol (no subprotocol, or none we speak):
//   binary frames are data; text frames are JSON control messages.
//   server → client: {"type":"open"}, {"type":"ack","bytes":n}, {"type":"eof"}, {"type":"error",...}
//   client → server: {"type":"ack","bytes":n}, {"type":"eof"} (half-closes TCP once earlier data is written)
// Flow control is by credit in both directions, because workerd's WebSocket has no bufferedAmount: the
// server stops reading TCP once `window` bytes it sent are unacknowledged, and acknowledges client bytes
// only after TCP took them. A client that sends more than `window` unacknowledged bytes is cut off.
// Message sizes: each TCP read is one message, as in the binary relay and the runtime's own floor, of up to
// MAX_MESSAGE (nextReadSize) and never past the window. Acks to the client are batched: one per quarter
// window written, and the rest ACK_DELAY_MS after the last write settled; a client needs acks only to go on
// past its window, so an interactive tunnel carries few of them. What a tunnel costs is mostly per message on
// both ends, and an incoming message (an ack) costs the Worker more than its bytes: the default window (8 MiB)
// lets a client that acknowledges a quarter window at once send one ack per 2 MiB. The window is also room: a
// client acknowledges what it read a little later, so a window only as large as what a full-duplex stream keeps in
// flight stops the server's reads now and then, and such a stream runs slower than with twice that (bench/README.md).
//
// websockify's `binary` subprotocol: binary frames both ways and nothing else (a text frame's UTF-8 bytes
// are data, as websockify takes them); TCP end of stream closes with 1000, failures with 1011 and the reason.
// Each read is sent as it comes. Flow control uses what the host's WebSocket offers:
//   - a host with backpressure (Node's `ws`): reads stop while the WebSocket's bufferedAmount is a window
//     or more, and the client's messages stop (its TCP window closes) while a window waits for TCP;
//   - Workers, blind (no bufferedAmount): reads stop once `binaryBufferBytes` were sent since the client's
//     last message, and go on at its next one; more than that waiting for TCP closes with 4003. A tunnel
//     held at either edge for the idle time closes with 4004, saying which (docs/tunnel.md "Binary mode").
import type { Context } from 'hono';
import * as z from 'zod';
import { classify, InvalidInput, PortolanError } from '../core/errors.ts';
import type { Transport } from '../core/conn.ts';
import { connectFailure, fieldIssues, type HostEnv } from '../core/runner.ts';
import { hostField, portField } from '../core/protocol.ts';

import type { ServerSocket, WebSocketAcceptor } from './websocket.ts';

/** Largest data message the server sends: the most a busy tunnel's TCP read asks for. */
export const MAX_MESSAGE = 256 * 1024;
/** The least a busy tunnel's TCP read asks for. */
const BUSY_READ = 64 * 1024;
/** The least a TCP read asks for (what workerd's default reader returns); a quiet tunnel's pending read holds this much. */
const IDLE_READ = 4096;
/** Longest the acknowledgement of bytes written to TCP waits for more writes to cover (below a quarter window). */
export const ACK_DELAY_MS = 5;
/** The flow-control window when the client names none (docs/tunnel.md). */
export const DEFAULT_WINDOW = 8 * 1024 * 1024;
/** The binary relay's bound on a host with backpressure (the WebSocket's bufferedAmount) when the client names no window. */
const BACKPRESSURE_WINDOW = 4 * 1024 * 1024;
/** The subprotocol of websockify's plain binary frames. */
export const BINARY_SUBPROTOCOL = 'binary';

export const TUNNEL_CLOSE = {
  normal: 1000,
  error: 1011,
  idle: 4001,
  quota: 4002,
  flowControl: 4003,
  stalled: 4004,
} as const;

const tunnelQuery = z.object({
  host: hostField,
  port: z.coerce.number().pipe(portField),
  tls: z.enum(['0', '1', 'true', 'false']).optional(),
  window: z.coerce.number().int().min(16 * 1024).max(16 * 1024 * 1024).optional(),
});

export interface TunnelLimits {
  idleMs: number;
  quotaBytes: number;
  connectTimeoutMs: number;
  /** Binary mode on a host without backpressure (Workers): bytes sent past the client's last message, and bytes held for TCP. */
  binaryBufferBytes: number;
}

export const DEFAULT_TUNNEL_LIMITS: TunnelLimits = { idleMs: 5 * 60_000, quotaBytes: 2 * 1024 ** 3, connectTimeoutMs: 10_000, binaryBufferBytes: 16 * 1024 * 1024 };

/** Tunnel limits from a host's variables (the Worker's and `portolan serve`'s names), over the defaults. */
export function tunnelLimitsFrom(vars: { TUNNEL_IDLE_MS?: string; TUNNEL_QUOTA_BYTES?: string; TUNNEL_BINARY_BUFFER_BYTES?: string }): TunnelLimits {
  const positive = (name: keyof typeof vars, fallback: number): number => {
    const text = vars[name];
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n <= 0) throw InvalidInput.field(name, `must be a positive whole number, not ${JSON.stringify(text)}`);
    return n;
  };
  const d = DEFAULT_TUNNEL_LIMITS;
  return {
    ...d,
    idleMs: positive('TUNNEL_IDLE_MS', d.idleMs),
    quotaBytes: positive('TUNNEL_QUOTA_BYTES', d.quotaBytes),
    binaryBufferBytes: positive('TUNNEL_BINARY_BUFFER_BYTES', d.binaryBufferBytes),
  };
}

interface Target {
  host: string;
  address?: string;
  port: number;
  tls: boolean;
  window: number;
}

/** The subprotocol to answer with: `binary` when the client offers it among others, none otherwise. */
export function chooseSubprotocol(offered: string | undefined): typeof BINARY_SUBPROTOCOL | undefined {
  if (!offered) return undefined;
  return offered.split(',').some((p) => p.trim() === BINARY_SUBPROTOCOL) ? BINARY_SUBPROTOCOL : undefined;
}

export async function tunnelRoute(c: Context, env: HostEnv, accept: WebSocketAcceptor, limits: TunnelLimits = DEFAULT_TUNNEL_LIMITS): Promise<Response> {
  const parsed = tunnelQuery.safeParse(Object.fromEntries(new URL(c.req.url).searchParams));
  if (!parsed.success) throw new InvalidInput(fieldIssues(parsed.error));
  const { host, port, window } = parsed.data;
  const tls = parsed.data.tls === '1' || parsed.data.tls === 'true';
  if (tls && !env.dialer.capabilities.has('tls')) throw new PortolanError('unsupported_runtime', 'this runtime cannot open TLS connections');
  const { address } = await env.guard.check(host, port, 'first');
  const protocol = chooseSubprotocol(c.req.header('sec-websocket-protocol'));
  const upgraded = accept(c, protocol ? { protocol } : undefined);
  if (!upgraded) throw InvalidInput.field('upgrade', 'GET /api/tunnel needs Upgrade: websocket');
  const { socket, response } = upgraded;
  const target = { host, address, port, tls, window: window ?? (protocol === BINARY_SUBPROTOCOL ? BACKPRESSURE_WINDOW : DEFAULT_WINDOW) };
  void (protocol === BINARY_SUBPROTOCOL ? relayBinary(socket, env, target, limits) : relayCredit(socket, env, target, limits));
  return response;
}

/** What both relays share: the end of the tunnel (once), the idle timer, the byte quota. */
function tunnelState(ws: ServerSocket, limits: TunnelLimits, idleClose: () => [code: number, reason: string]) {
  const state = {
    closed: false,
    transport: undefined as Transport | undefined,
    lastActivity: Date.now(),
    total: 0,
    /** Called once when the tunnel ends, before the WebSocket closes. */
    onFinish: undefined as (() => void) | undefined,
    finish(code: number, reason: string): void {
      if (state.closed) return;
      state.closed = true;
      clearInterval(idleTimer);
      state.onFinish?.();
      try {
        ws.close(code, reason.slice(0, 120));
      } catch {
        // the client is already gone
      }
      void state.transport?.close().catch(() => {});
    },
    /** Sends to the client; a client that is gone ends the tunnel (send throws on a closed socket). */
    send(data: Uint8Array | string): void {
      if (state.closed) return;
      try {
        ws.send(data);
      } catch (e) {
        state.finish(TUNNEL_CLOSE.error, `client gone: ${classify(e).message}`);
      }
    },
    /** Counts bytes against the quota (and as activity); false once the tunnel ended for it. */
    count(n: number): boolean {
      state.lastActivity = Date.now();
      state.total += n;
      if (state.total > limits.quotaBytes) {
        state.finish(TUNNEL_CLOSE.quota, `byte quota of ${limits.quotaBytes} exceeded`);
        return false;
      }
      return true;
    },
  };
  const idleTimer = setInterval(() => {
    if (Date.now() - state.lastActivity > limits.idleMs) state.finish(...idleClose());
  }, Math.min(5000, Math.max(50, limits.idleMs / 4)));
  ws.onClose(() => state.finish(TUNNEL_CLOSE.normal, 'client closed'));
  return state;
}

/** Connects to the target within the connect timeout; a timeout is a connect_timeout. */
async function dialTarget(env: HostEnv, target: Target, limits: TunnelLimits): Promise<Transport> {
  try {
    return await env.dialer.dial({
      host: target.host,
      address: target.address,
      port: target.port,
      tls: target.tls ? 'implicit' : 'off',
      signal: AbortSignal.timeout(limits.connectTimeoutMs),
    });
  } catch (e) {
    throw connectFailure(e, target.host, target.port);
  }
}

/**
 * What a relay's next TCP read asks for, given what the last one asked for and brought. Each read is a message,
 * and a message costs both ends far more than its bytes, so a busy tunnel reads as much as the socket holds: a
 * small pending read when idle; BUSY_READ once more than a trickle comes; twice as much while reads come back
 * full, up to MAX_MESSAGE; else the power of two that holds the last read. A read's buffer lives until its
 * message is sent, and so stays near the size of what it brings.
 */
export function nextReadSize(asked: number, got: number): number {
  if (got <= IDLE_READ / 2) return IDLE_READ;
  const next = got >= asked ? asked * 2 : 2 ** Math.ceil(Math.log2(got));
  return Math.min(MAX_MESSAGE, Math.max(BUSY_READ, next));
}

const idleSeconds = (limits: TunnelLimits) => `${Math.round(limits.idleMs / 1000)} s`;
const mib = (bytes: number) => `${+(bytes / 1024 / 1024).toFixed(2)} MiB`;

async function relayCredit(ws: ServerSocket, env: HostEnv, target: Target, limits: TunnelLimits): Promise<void> {
  const t = tunnelState(ws, limits, () => [TUNNEL_CLOSE.idle, `idle for ${idleSeconds(limits)}`]);
  let unacked = 0; // bytes sent to the client and not yet acknowledged
  let wakeReader: (() => void) | undefined;
  let writing = Promise.resolve();
  let queued = 0; // client bytes received and not yet written to TCP
  let writesQueued = 0; // client messages handed to TCP whose write has not settled
  let written = 0; // client bytes written to TCP and not yet acknowledged
  const pending: Uint8Array[] = [];
  let clientEof = false; // the client sent {"type":"eof"}
  let ackTimer: ReturnType<typeof setTimeout> | undefined;
  t.onFinish = () => {
    if (ackTimer !== undefined) clearTimeout(ackTimer);
    wakeReader?.();
  };

  /** Acknowledges every client byte TCP took so far. */
  const ack = () => {
    if (ackTimer !== undefined) {
      clearTimeout(ackTimer);
      ackTimer = undefined;
    }
    if (written === 0 || t.closed) return;
    t.send(JSON.stringify({ type: 'ack', bytes: written }));
    written = 0;
  };

  ws.onMessage((data) => {
    if (t.closed) return;
    if (typeof data === 'string') {
      let msg: { type?: string; bytes?: number };
      try {
        msg = JSON.parse(data);
      } catch {
        return t.finish(TUNNEL_CLOSE.flowControl, 'control message is not JSON');
      }
      if (msg.type === 'ack' && typeof msg.bytes === 'number' && msg.bytes >= 0) {
        unacked = Math.max(0, unacked - msg.bytes);
        t.lastActivity = Date.now();
        wakeReader?.();
      } else if (msg.type === 'eof') {
        clientEof = true;
        endTarget();
      }
      return;
    }
    if (!t.count(data.length)) return;
    queued += data.length;
    if (queued > target.window) return t.finish(TUNNEL_CLOSE.flowControl, `more than ${target.window} bytes sent without acknowledgement`);
    if (!t.transport) {
      pending.push(data);
      return;
    }
    writeOut(data);
  });

  // Writes go to TCP as they arrive, without waiting for the one before (the socket keeps their order):
  // each settles in turn, and client bytes are acknowledged once TCP has taken them.
  const writeOut = (data: Uint8Array) => {
    if (t.closed || !t.transport) return;
    // Measure first: a runtime may transfer (detach) the buffer it writes.
    const size = data.length;
    writesQueued++;
    writing = t.transport.write(data).then(
      () => {
        writesQueued--;
        queued -= size;
        written += size;
        // One ack per quarter window (a long run keeps the client sending), the rest shortly after a run ends.
        if (written >= target.window / 4) ack();
        else if (writesQueued === 0) ackTimer ??= setTimeout(ack, ACK_DELAY_MS);
      },
      (e) => t.finish(TUNNEL_CLOSE.error, `write failed: ${classify(e).message}`),
    );
  };

  /** The client sent everything: half-close TCP once its writes are done; reads go on to the target's end. */
  const endTarget = () => {
    const transport = t.transport;
    if (!transport || t.closed) return;
    void writing.then(() => transport.end?.()).catch(() => {});
  };

  const fail = (err: PortolanError) => {
    t.send(JSON.stringify({ type: 'error', code: err.code, message: err.message }));
    t.finish(TUNNEL_CLOSE.error, `${err.code}: ${err.message}`);
  };

  try {
    t.transport = await dialTarget(env, target, limits);
  } catch (e) {
    return fail(classify(e));
  }
  if (t.closed) return void t.transport.close();
  t.send(JSON.stringify({ type: 'open', window: target.window, remoteAddress: t.transport.info().remoteAddress ?? null }));
  for (const d of pending.splice(0)) writeOut(d);
  if (clientEof) endTarget();

  let readSize = IDLE_READ;
  try {
    while (!t.closed) {
      while (unacked >= target.window && !t.closed) await new Promise<void>((r) => (wakeReader = r));
      if (t.closed) break;
      const asked = Math.min(readSize, target.window - unacked);
      const chunk = await t.transport.read(asked);
      if (chunk === null) {
        await writing;
        t.send(JSON.stringify({ type: 'eof' }));
        return t.finish(TUNNEL_CLOSE.normal, 'remote closed');
      }
      if (!t.count(chunk.length)) break;
      readSize = nextReadSize(asked, chunk.length);
      unacked += chunk.length;
      t.send(chunk);
    }
  } catch (e) {
    fail(classify(e));
  }
}

const encoder = new TextEncoder();

async function relayBinary(ws: ServerSocket, env: HostEnv, target: Target, limits: TunnelLimits): Promise<void> {
  const flow = ws.flow;
  // With backpressure, a window each way; blind (Workers), the deployment's buffer.
  const edge = flow ? target.window : limits.binaryBufferBytes;
  let blind = 0; // blind: bytes sent since the client's last message
  let queued = 0; // client bytes not yet taken by TCP
  let held: 'client' | 'target' | undefined; // which side the tunnel waits for
  let wakeReader: (() => void) | undefined;
  let writing = Promise.resolve();
  let clientPaused = false;
  const pending: Uint8Array[] = [];
  const t = tunnelState(ws, limits, () =>
    held === 'client'
      ? [TUNNEL_CLOSE.stalled, flow ? `the client read nothing for ${idleSeconds(limits)} (${mib(flow.bufferedAmount())} waiting)` : `no word from the client for ${idleSeconds(limits)} after ${mib(edge)}; Workers cannot see it read`]
      : held === 'target'
        ? [TUNNEL_CLOSE.stalled, `the target took nothing for ${idleSeconds(limits)} (${mib(queued)} waiting)`]
        : [TUNNEL_CLOSE.idle, `idle for ${idleSeconds(limits)}`],
  );
  const wake = () => {
    const w = wakeReader;
    wakeReader = undefined;
    w?.();
  };
  t.onFinish = wake;

  const writeOut = (data: Uint8Array) => {
    const size = data.length;
    writing = t.transport!.write(data).then(
      () => {
        queued -= size;
        if (clientPaused && queued <= edge / 2) {
          clientPaused = false;
          held = undefined;
          flow!.resume();
        }
      },
      (e) => t.finish(TUNNEL_CLOSE.error, `write failed: ${classify(e).message}`),
    );
  };

  ws.onMessage((data) => {
    if (t.closed) return;
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    // A message is the only sign of life a blind host gets from the client: the reader may go on.
    if (blind >= edge) {
      blind = 0;
      wake();
    } else blind = 0;
    // An empty message only says the client is there (a download's keepalive): nothing to write.
    if (bytes.length === 0) return;
    if (!t.count(bytes.length)) return;
    queued += bytes.length;
    if (queued > edge) {
      if (!flow) return t.finish(TUNNEL_CLOSE.flowControl, `the target has not taken ${mib(queued)} the client sent`);
      if (!clientPaused) {
        clientPaused = true;
        held = 'target';
        flow.pause();
      }
    }
    if (t.transport) writeOut(bytes);
    else pending.push(bytes);
  });

  try {
    t.transport = await dialTarget(env, target, limits);
  } catch (e) {
    const err = classify(e);
    return t.finish(TUNNEL_CLOSE.error, `${err.code}: ${err.message}`);
  }
  if (t.closed) return void t.transport.close();
  for (const d of pending.splice(0)) writeOut(d);

  let readSize = IDLE_READ;
  try {
    while (!t.closed) {
      if (flow) {
        if (flow.bufferedAmount() >= edge) {
          held = 'client';
          await flow.drained(edge / 2);
          if (!clientPaused) held = undefined;
          t.lastActivity = Date.now();
        }
      } else if (blind >= edge) {
        held = 'client';
        while (blind >= edge && !t.closed) await new Promise<void>((r) => (wakeReader = r));
        held = undefined;
      }
      if (t.closed) break;
      const chunk = await t.transport.read(readSize);
      if (chunk === null) {
        await writing;
        return t.finish(TUNNEL_CLOSE.normal, 'remote closed');
      }
      if (!t.count(chunk.length)) break;
      readSize = nextReadSize(readSize, chunk.length);
      blind += chunk.length;
      t.send(chunk);
    }
  } catch (e) {
    const err = classify(e);
    t.finish(TUNNEL_CLOSE.error, `${err.code}: ${err.message}`);
  }
}
