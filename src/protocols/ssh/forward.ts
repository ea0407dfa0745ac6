// Local port forwarding as a session: one authenticated SSH connection carries many TCP connections, each a
// direct-tcpip channel (RFC 4254 7.2) opened on the client's request. The session's wire (docs in index.ts):
// a binary message is a connection's bytes behind a 4-byte big-endian connection id, both ways; JSON messages
// open, half-close and close connections and say what happened to each.
//
// Flow control: toward the client, each connection's relay waits on the session channel's credit before it
// reads its channel, so an unread connection fills its SSH window and the server stops (per channel, the
// others go on). Toward the server, writes are cut to the channel's SSH window; `sent` tells the client how
// much of a connection's data has gone into its channel, so it keeps a bounded amount in flight.
import { classify, InvalidInput, PortolanError } from '../../core/errors.ts';
import type { OperationContext, SessionChannel } from '../../core/protocol.ts';
import { openSession, serverSummary, type AuthInput } from './client.ts';
import type { Channel } from './connection.ts';

/** Bytes of one connection the client may have sent and not yet seen `sent` for (the client's side of the contract). */
export const FORWARD_WINDOW = 1024 * 1024;
const MAX_ID = 0x7fffffff;

/** A connection's data message: the id (uint32, big-endian), then the bytes. */
export function dataFrame(id: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint32(0, id);
  out.set(data, 4);
  return out;
}

export function parseDataFrame(m: Uint8Array): { id: number; data: Uint8Array } {
  if (m.length < 4) throw InvalidInput.field('data', `a data message is a 4-byte connection id and the bytes; got ${m.length} bytes`);
  return { id: new DataView(m.buffer, m.byteOffset, 4).getUint32(0), data: m.subarray(4) };
}

export interface ForwardSessionInput extends Omit<AuthInput, 'host' | 'port'> {
  maxConnections: number;
  keepaliveMs: number;
  connectTimeoutMs: number;
}

export interface ForwardSessionResult {
  ended: 'server' | 'client';
  connections: number;
  failed: number;
  bytesIn: number;
  bytesOut: number;
  keyExchanges: number;
}

interface Forwarded {
  id: number;
  target: string;
  /** The channel, once the server confirmed it; null when the open failed. */
  opening: Promise<Channel | null>;
  ch?: Channel;
  writes: Promise<void>;
  /** Bytes taken from the client, not yet in the channel. */
  backlog: number;
  closed: boolean;
}

/**
 * Runs a forward session: connections opened on the client's request, bytes relayed both ways, each closed on
 * its own. Ends when the client stops or goes, or the SSH connection ends; every channel closes with it.
 */
export async function forwardSession(ctx: OperationContext, input: ForwardSessionInput, channel: SessionChannel): Promise<ForwardSessionResult> {
  const session = await ctx.within(input.connectTimeoutMs, () => openSession(ctx, { ...input, host: ctx.target.host, port: ctx.target.port }));
  const ssh = session.connection;
  channel.send({ type: 'connected', server: serverSummary(session.transport), auth: { method: session.auth.method, banner: session.auth.banner } });
  const open = new Map<number, Forwarded>();
  const totals = { connections: 0, failed: 0, bytesIn: 0, bytesOut: 0 };
  let stopped = false;

  const finish = (f: Forwarded) => {
    if (f.closed) return;
    f.closed = true;
    open.delete(f.id);
    totals.bytesIn += f.ch?.bytesIn ?? 0;
    totals.bytesOut += f.ch?.bytesOut ?? 0;
    if (!stopped) channel.send({ type: 'closed', id: f.id, bytesIn: f.ch?.bytesIn ?? 0, bytesOut: f.ch?.bytesOut ?? 0 });
  };

  /** What the target sends, to the client, under the session's credit; then its EOF and close. */
  const relay = async (f: Forwarded, ch: Channel) => {
    try {
      for (;;) {
        await channel.ready?.();
        if (stopped) return;
        const chunk = await ch.read();
        if (!chunk) break;
        if (chunk.stream === 'stdout') channel.send(dataFrame(f.id, chunk.data));
      }
      if (!stopped && !f.closed) channel.send({ type: 'eof', id: f.id });
      await ch.closed();
    } catch {
      // The connection failed: the session's own end reports it.
    }
    finish(f);
  };

  const openConnection = (id: number, host: string, port: number) => {
    const f: Forwarded = { id, target: `${host}:${port}`, opening: Promise.resolve(null), writes: Promise.resolve(), backlog: 0, closed: false };
    open.set(id, f);
    totals.connections++;
    f.opening = ssh.openDirectTcpip(host, port).then(
      (ch) => {
        f.ch = ch;
        if (f.closed) {
          void ch.close().catch(() => {});
          return ch;
        }
        channel.send({ type: 'opened', id });
        void relay(f, ch);
        return ch;
      },
      (e) => {
        // RFC 4254 7.2: OPEN_FAILURE is the server's word on this target (connect failed, prohibited ...).
        const err = classify(e);
        const out = err.code === 'server_error' ? new PortolanError('refused', `${host}:${port} via SSH: ${err.message}`, err.detail) : err;
        totals.failed++;
        f.closed = true;
        open.delete(id);
        if (!stopped) channel.send({ type: 'failed', id, error: out.toJSON() });
        return null;
      },
    );
  };

  const idOf = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_ID ? v : undefined);
  const refuse = (id: number | undefined, field: string, message: string) => channel.send({ type: 'failed', id: id ?? null, error: InvalidInput.field(field, message).toJSON() });

  if (input.keepaliveMs) {
    const every = input.keepaliveMs;
    void (async () => {
      while (!stopped) {
        await ctx.sleep(every);
        if (!stopped) await ssh.keepalive();
      }
    })().catch(() => {});
  }

  const fromClient = (async (): Promise<'client'> => {
    for (;;) {
      const m = await channel.receive();
      if (m === null) return 'client';
      if (m instanceof Uint8Array) {
        if (m.length < 4) {
          channel.send({ type: 'error', error: InvalidInput.field('data', `a data message is a 4-byte connection id and the bytes; got ${m.length} bytes`).toJSON() });
          continue;
        }
        const { id, data } = parseDataFrame(m);
        const f = open.get(id);
        if (!f) {
          refuse(id, 'id', `connection ${id} is not open`);
          continue;
        }
        if (data.length === 0) continue;
        // The client keeps a connection's unconfirmed bytes within FORWARD_WINDOW; one that does not is cut off,
        // as the tunnel does, so what waits for an SSH window stays bounded.
        if (f.backlog + data.length > FORWARD_WINDOW) {
          channel.send({ type: 'failed', id, error: InvalidInput.field('data', `connection ${id} has ${f.backlog + data.length} bytes waiting for its SSH channel, more than the ${FORWARD_WINDOW}-byte window: wait for "sent"`).toJSON() });
          await f.ch?.close().catch(() => {});
          finish(f);
          continue;
        }
        f.backlog += data.length;
        f.writes = f.writes.then(async () => {
          const ch = await f.opening;
          if (ch && !f.closed) {
            await ch.write(data).then(
              () => channel.send({ type: 'sent', id, bytes: data.length }),
              () => undefined,
            );
          }
          f.backlog -= data.length;
        });
        continue;
      }
      const id = idOf(m.id);
      if (m.type === 'open') {
        if (id === undefined) refuse(undefined, 'id', `is a connection id from 0 to ${MAX_ID}`);
        else if (open.has(id)) refuse(id, 'id', `connection ${id} is already open`);
        else if (typeof m.host !== 'string' || m.host.length < 1 || m.host.length > 253) refuse(id, 'host', 'is the target host name or address (1 to 253 characters)');
        else if (typeof m.port !== 'number' || !Number.isInteger(m.port) || m.port < 1 || m.port > 65535) refuse(id, 'port', 'is the target port (1 to 65535)');
        else if (open.size >= input.maxConnections) refuse(id, 'maxConnections', `${input.maxConnections} connections are open; close one first`);
        else openConnection(id, m.host, m.port);
      } else if (m.type === 'eof' || m.type === 'close') {
        const f = id === undefined ? undefined : open.get(id);
        if (!f) {
          refuse(id, 'id', `connection ${String(m.id)} is not open`);
          continue;
        }
        const half = m.type === 'eof';
        // After the bytes sent before it, in order.
        f.writes = f.writes.then(async () => {
          const ch = await f.opening;
          if (!ch) return;
          if (half) await ch.eof().catch(() => {});
          else await ch.close().catch(() => {});
        });
      } else if (m.type === 'stop') return 'client';
      else channel.send({ type: 'error', error: { code: 'invalid_input', message: `unknown message type ${JSON.stringify(m.type)}: binary data, open, eof, close or stop` } });
    }
  })();

  let ended: 'server' | 'client';
  try {
    ended = await Promise.race([fromClient, ssh.done.then(() => 'server' as const)]);
  } finally {
    stopped = true;
    fromClient.catch(() => {});
  }
  if (ended === 'server' && ssh.failure && ssh.failure.code !== 'closed') throw ssh.failure;
  for (const f of [...open.values()]) {
    await f.ch?.close().catch(() => {});
    finish(f);
  }
  await session.transport.disconnect();
  return { ended, ...totals, keyExchanges: session.transport.exchanges.length };
}
