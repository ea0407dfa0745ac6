// The raw tunnel: GET /api/tunnel?host=&port=[&tls=1] as a WebSocket carrying TCP bytes both ways.
//
// How it works (docs/tunnel.md has the wire contract):
//   binary frames are data; text frames are JSON control messages.
//   server → client: {"type":"open"}, {"type":"ack","bytes":n}, {"type":"eof"}, {"type":"error",...}
//   client → server: {"type":"ack","bytes":n}
// Flow control is by credit in both directions, because workerd's WebSocket has
// no bufferedAmount: the server stops reading TCP once `window` bytes it sent
// are unacknowledged, and acknowledges client bytes only after TCP took them.
// A client that sends more than `window` unacknowledged bytes is cut off.
//
// Message sizes (a tunnel costs per read and per message on both ends, more than per byte;
// bench/README.md): while earlier data is unacknowledged, a read asks for as much as the message being
// gathered still has room for (never past the window), and what is read is gathered into one message,
// sent once MAX_MESSAGE bytes are gathered, once the client's acks show it has nearly caught up (less
// than MAX_MESSAGE unacknowledged), or after COALESCE_MS at the latest. Bytes read when everything sent
// is acknowledged (an idle or interactive tunnel) go out at once: no added latency there. Acks to the
// client are batched too: one per run of TCP writes (at least one per quarter window), not one per
// client message.
import type { Context } from 'hono';
import { z } from 'zod';
import { classify, InvalidInput, PortolanError } from '../core/errors.ts';
import type { Transport } from '../core/conn.ts';
import { fieldIssues, type HostEnv } from '../core/runner.ts';
import { hostField, portField } from '../core/protocol.ts';

import type { ServerSocket, WebSocketAcceptor } from './websocket.ts';

/** Largest data message the server gathers from several TCP reads. */
export const MAX_MESSAGE = 64 * 1024;
/** The least a TCP read asks for (what workerd's default reader returns); a quiet tunnel's pending read holds this much. */
const IDLE_READ = 4096;
/** Longest a read waits to be sent while earlier data is unacknowledged. */
export const COALESCE_MS = 5;

export const TUNNEL_CLOSE = {
  normal: 1000,
  error: 1011,
  idle: 4001,
  quota: 4002,
  flowControl: 4003,
} as const;

const tunnelQuery = z.object({
  host: hostField,
  port: z.coerce.number().pipe(portField),
  tls: z.enum(['0', '1', 'true', 'false']).optional(),
  window: z.coerce.number().int().min(16 * 1024).max(16 * 1024 * 1024).default(1024 * 1024),
});

export interface TunnelLimits {
  idleMs: number;
  quotaBytes: number;
  connectTimeoutMs: number;
}

export const DEFAULT_TUNNEL_LIMITS: TunnelLimits = { idleMs: 5 * 60_000, quotaBytes: 2 * 1024 ** 3, connectTimeoutMs: 10_000 };

export async function tunnelRoute(c: Context, env: HostEnv, accept: WebSocketAcceptor, limits: TunnelLimits = DEFAULT_TUNNEL_LIMITS): Promise<Response> {
  const parsed = tunnelQuery.safeParse(Object.fromEntries(new URL(c.req.url).searchParams));
  if (!parsed.success) throw new InvalidInput(fieldIssues(parsed.error));
  const { host, port, window } = parsed.data;
  const tls = parsed.data.tls === '1' || parsed.data.tls === 'true';
  if (tls && !env.dialer.capabilities.has('tls')) throw new PortolanError('unsupported_runtime', 'this runtime cannot open TLS connections');
  const { address } = await env.guard.check(host, port, 'first');
  const upgraded = accept(c);
  if (!upgraded) throw InvalidInput.field('upgrade', 'GET /api/tunnel needs Upgrade: websocket');
  const { socket, response } = upgraded;
  void pump(socket, env, { host, address, port, tls, window }, limits);
  return response;
}

async function pump(ws: ServerSocket, env: HostEnv, target: { host: string; address?: string; port: number; tls: boolean; window: number }, limits: TunnelLimits): Promise<void> {
  let transport: Transport | undefined;
  let closed = false;
  let total = 0;
  let lastActivity = Date.now();
  let unacked = 0; // bytes sent to the client and not yet acknowledged
  let wakeReader: (() => void) | undefined;
  let writing = Promise.resolve();
  let queued = 0; // client bytes received and not yet written to TCP
  let writesQueued = 0; // client messages handed to TCP whose write has not settled
  let written = 0; // client bytes written to TCP and not yet acknowledged
  const pending: Uint8Array[] = [];
  let gathered: Uint8Array[] = []; // TCP bytes read, not yet sent to the client
  let gatheredBytes = 0;
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let readSize = IDLE_READ; // what the next TCP read asks for

  /** Sends to the client; a client that is gone ends the tunnel (send throws on a closed socket). */
  const send = (data: Uint8Array | string): void => {
    if (closed) return;
    try {
      ws.send(data);
    } catch (e) {
      finish(TUNNEL_CLOSE.error, `client gone: ${classify(e).message}`);
    }
  };

  /** Sends what was gathered from TCP as one message. */
  const flush = () => {
    if (flushTimer !== undefined) {
      clearTimeout(flushTimer);
      flushTimer = undefined;
    }
    if (gatheredBytes === 0 || closed) return;
    let message = gathered[0];
    if (gathered.length > 1) {
      message = new Uint8Array(gatheredBytes);
      let at = 0;
      for (const chunk of gathered) {
        message.set(chunk, at);
        at += chunk.length;
      }
    }
    unacked += gatheredBytes;
    gathered = [];
    gatheredBytes = 0;
    send(message);
  };

  const finish = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    clearInterval(idleTimer);
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    wakeReader?.();
    try {
      ws.close(code, reason.slice(0, 120));
    } catch {
      // the client is already gone
    }
    void transport?.close().catch(() => {});
  };

  const idleTimer = setInterval(() => {
    if (Date.now() - lastActivity > limits.idleMs) finish(TUNNEL_CLOSE.idle, `idle for ${Math.round(limits.idleMs / 1000)} s`);
  }, Math.min(5000, Math.max(50, limits.idleMs / 4)));

  const count = (n: number): boolean => {
    lastActivity = Date.now();
    total += n;
    if (total > limits.quotaBytes) {
      finish(TUNNEL_CLOSE.quota, `byte quota of ${limits.quotaBytes} exceeded`);
      return false;
    }
    return true;
  };

  ws.onClose(() => finish(TUNNEL_CLOSE.normal, 'client closed'));
  ws.onMessage((data) => {
    if (closed) return;
    if (typeof data === 'string') {
      let msg: { type?: string; bytes?: number };
      try {
        msg = JSON.parse(data);
      } catch {
        return finish(TUNNEL_CLOSE.flowControl, 'control message is not JSON');
      }
      if (msg.type === 'ack' && typeof msg.bytes === 'number' && msg.bytes >= 0) {
        unacked = Math.max(0, unacked - msg.bytes);
        lastActivity = Date.now();
        // The client has nearly caught up: what was gathered meanwhile goes now.
        if (unacked < MAX_MESSAGE) flush();
        wakeReader?.();
      }
      return;
    }
    if (!count(data.length)) return;
    queued += data.length;
    if (queued > target.window) return finish(TUNNEL_CLOSE.flowControl, `more than ${target.window} bytes sent without acknowledgement`);
    if (!transport) {
      pending.push(data);
      return;
    }
    writeOut(data);
  });

  // Writes go to TCP as they arrive, without waiting for the one before (the socket keeps their order):
  // each settles in turn, and client bytes are acknowledged once TCP has taken them.
  const writeOut = (data: Uint8Array) => {
    if (closed || !transport) return;
    // Measure first: a runtime may transfer (detach) the buffer it writes.
    const size = data.length;
    writesQueued++;
    writing = transport.write(data).then(
      () => {
        writesQueued--;
        queued -= size;
        written += size;
        // One ack per run of writes (or per quarter window, so a long run keeps the client sending).
        if (!closed && (writesQueued === 0 || written >= target.window / 4)) {
          send(JSON.stringify({ type: 'ack', bytes: written }));
          written = 0;
        }
      },
      (e) => finish(TUNNEL_CLOSE.error, `write failed: ${classify(e).message}`),
    );
  };

  try {
    transport = await env.dialer.dial({
      host: target.host,
      address: target.address,
      port: target.port,
      tls: target.tls ? 'implicit' : 'off',
      signal: AbortSignal.timeout(limits.connectTimeoutMs),
    });
  } catch (e) {
    const err = classify(e);
    const code = err.code === 'io_timeout' ? 'connect_timeout' : err.code;
    send(JSON.stringify({ type: 'error', code, message: err.message }));
    return finish(TUNNEL_CLOSE.error, `${code}: ${err.message}`);
  }
  if (closed) {
    void transport.close();
    return;
  }
  send(JSON.stringify({ type: 'open', window: target.window, remoteAddress: transport.info().remoteAddress ?? null }));
  for (const d of pending.splice(0)) writeOut(d);

  try {
    while (!closed) {
      while (unacked + gatheredBytes >= target.window && !closed) await new Promise<void>((r) => (wakeReader = r));
      if (closed) break;
      // A read asks for twice what the last one brought (more is likely waiting when a read comes back
      // full), at least IDLE_READ, at most the room left in the message and in the window: an idle
      // tunnel's pending read holds a small buffer, a busy one reads whole messages at a time.
      const chunk = await transport.read(Math.min(readSize, MAX_MESSAGE - gatheredBytes, target.window - unacked - gatheredBytes));
      if (chunk === null) {
        flush();
        await writing;
        send(JSON.stringify({ type: 'eof' }));
        return finish(TUNNEL_CLOSE.normal, 'remote closed');
      }
      if (!count(chunk.length)) break;
      readSize = Math.min(MAX_MESSAGE, Math.max(IDLE_READ, 2 * chunk.length));
      gathered.push(chunk);
      gatheredBytes += chunk.length;
      if (unacked === 0 || gatheredBytes >= MAX_MESSAGE) flush();
      else flushTimer ??= setTimeout(flush, COALESCE_MS);
    }
  } catch (e) {
    const err = classify(e);
    flush();
    send(JSON.stringify({ type: 'error', code: err.code, message: err.message }));
    finish(TUNNEL_CLOSE.error, `${err.code}: ${err.message}`);
  }
}
