// PostgreSQL LISTEN/NOTIFY (PostgreSQL docs 55.2.7 "Asynchronous Operations", SQL commands LISTEN, UNLISTEN, NOTIFY).
//
// How it works: one logged-in connection. LISTEN/UNLISTEN go out as simple queries with quoted
// identifiers; NOTIFY goes out as an extended query of pg_notify($1, $2) so the payload needs no
// quoting. A single reader loop owns the connection's input: it turns NotificationResponse into
// a notification, CommandComplete into an acknowledgement, ErrorResponse into an error message
// (the session goes on: the server is back at ReadyForQuery), NoticeResponse into a notice.
// The WebSocket session runs the reader loop beside a loop over the client's control messages;
// the POST form listens for a fixed time and returns what arrived.
import { PortolanError } from '../../core/errors.ts';
import type { OperationContext, SessionChannel, SessionMessage } from '../../core/protocol.ts';
import { bindMessage, executeMessage, parseMessage, queryMessage, syncMessage, type ErrorFields } from './codec.ts';
import { errorDetail, errorText, readMessage, type Notification, type Session } from './client.ts';

/** An SQL identifier, double-quoted (SQL "Identifiers and Key Words": "" inside stands for "). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export type ListenEvent =
  | { type: 'notification'; channel: string; payload: string; pid: number }
  | { type: 'command'; tag: string }
  | { type: 'notice'; fields: ErrorFields }
  | { type: 'error'; error: { code: 'server_error'; message: string; detail: Record<string, unknown> } }
  | { type: 'ready'; transactionStatus: 'I' | 'T' | 'E' };

/** Reads the next event from the connection (skipping the extended-query acknowledgements). */
export async function nextEvent(s: Session): Promise<ListenEvent> {
  for (;;) {
    const m = await readMessage(s.conn);
    switch (m.type) {
      case 'NotificationResponse':
        return { type: 'notification', channel: m.channel, payload: m.payload, pid: m.pid };
      case 'CommandComplete':
        return { type: 'command', tag: m.tag };
      case 'NoticeResponse':
        return { type: 'notice', fields: m.fields };
      case 'ErrorResponse':
        return { type: 'error', error: { code: 'server_error', message: errorText(m.fields), detail: errorDetail(m.fields) } };
      case 'ReadyForQuery':
        s.transactionStatus = m.status;
        return { type: 'ready', transactionStatus: m.status };
      case 'ParameterStatus':
        s.parameters[m.name] = m.value;
        continue;
      default:
        continue; // ParseComplete, BindComplete, RowDescription, DataRow of pg_notify's void, EmptyQueryResponse
    }
  }
}

export async function listen(s: Session, channels: string[]): Promise<void> {
  if (channels.length === 0) return;
  const sql = channels.map((c) => `LISTEN ${quoteIdent(c)}`).join('; ');
  await s.conn.write(queryMessage(sql), { decode: `Query ${JSON.stringify(sql.slice(0, 300))}` });
}

export async function unlisten(s: Session, channels: string[] | '*'): Promise<void> {
  const sql = channels === '*' ? 'UNLISTEN *' : channels.map((c) => `UNLISTEN ${quoteIdent(c)}`).join('; ');
  await s.conn.write(queryMessage(sql), { decode: `Query ${JSON.stringify(sql.slice(0, 300))}` });
}

export async function notify(s: Session, channel: string, payload: string): Promise<void> {
  const bytes = [parseMessage('', 'SELECT pg_notify($1, $2)'), bindMessage('', '', [channel, payload]), executeMessage('', 0), syncMessage()];
  const all = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bytes) {
    all.set(b, at);
    at += b.length;
  }
  await s.conn.write(all, { decode: `pg_notify(${JSON.stringify(channel)}, ${JSON.stringify(payload.slice(0, 200))})` });
}

/** Waits until the server has answered everything sent so far (ReadyForQuery), collecting notifications meanwhile; throws on an ErrorResponse. */
export async function settle(s: Session, into: Notification[], queries = 1): Promise<void> {
  let ready = 0;
  let error: ListenEvent | undefined;
  while (ready < queries) {
    const e = await nextEvent(s);
    if (e.type === 'notification') into.push({ channel: e.channel, payload: e.payload, pid: e.pid });
    else if (e.type === 'error') error ??= e;
    else if (e.type === 'ready') ready++;
  }
  if (error && error.type === 'error') throw new PortolanError('server_error', error.error.message, error.error.detail);
}

/** POST form: LISTEN, collect notifications for `durationMs` (or until `maxMessages`), UNLISTEN. */
export async function listenFor(ctx: OperationContext, s: Session, channels: string[], durationMs: number, maxMessages: number): Promise<{ notifications: Notification[]; ended: 'duration' | 'maxMessages' }> {
  const got: Notification[] = [];
  await listen(s, channels);
  await settle(s, got);
  ctx.timing.mark('listeningMs');
  let ended: 'duration' | 'maxMessages' = 'duration';
  try {
    await ctx.within(durationMs, async () => {
      while (got.length < maxMessages) {
        const e = await nextEvent(s);
        if (e.type === 'notification') got.push({ channel: e.channel, payload: e.payload, pid: e.pid });
      }
      ended = 'maxMessages';
    });
  } catch (e) {
    if (!(e instanceof PortolanError) || e.code !== 'io_timeout' || ctx.signal.aborted) throw e;
  }
  return { notifications: got.slice(0, maxMessages), ended };
}

function names(m: Record<string, unknown>): string[] | undefined {
  const v = m.channels;
  if (!Array.isArray(v)) return undefined;
  return v.filter((x): x is string => typeof x === 'string' && x.length > 0 && x.length <= 63).slice(0, 1000);
}

/**
 * WebSocket session. Client → server: {type:"listen",channels:[...]}, {type:"unlisten",channels?:[...]},
 * {type:"notify",channel,payload}, {type:"stop"}. Server → client: {type:"listening",channels},
 * {type:"notification",channel,payload,pid}, {type:"command",tag}, {type:"notice",...}, {type:"error",error}.
 * Resolves with a summary when the client stops or leaves, the server closes, or maxMessages arrive.
 */
export async function listenSession(s: Session, channels: string[], maxMessages: number, channel: SessionChannel): Promise<{ count: number; listening: string[]; ended: 'client' | 'server' | 'maxMessages' }> {
  const listening = new Set<string>();
  let count = 0;
  const early: Notification[] = [];
  if (channels.length > 0) {
    await listen(s, channels);
    await settle(s, early);
    for (const c of channels) listening.add(c);
  }
  channel.send({ type: 'listening', channels: [...listening] });
  for (const n of early) channel.send({ type: 'notification', ...n });
  count += early.length;
  // Channels named by listen/unlisten requests not yet acknowledged, in order.
  const pending: { verb: 'listen' | 'unlisten' | 'notify'; channels: string[] | '*'; failed?: boolean }[] = [];
  const serverLoop = async (): Promise<'server' | 'maxMessages'> => {
    for (;;) {
      let e: ListenEvent;
      try {
        e = await nextEvent(s);
      } catch (err) {
        if (err instanceof PortolanError && err.code === 'closed') return 'server';
        throw err;
      }
      if (e.type === 'notification') {
        channel.send({ type: 'notification', channel: e.channel, payload: e.payload, pid: e.pid });
        if (++count >= maxMessages) return 'maxMessages';
      } else if (e.type === 'error') {
        if (pending[0]) pending[0].failed = true;
        channel.send(e);
      } else if (e.type === 'notice') channel.send({ type: 'notice', ...e.fields });
      else if (e.type === 'command') channel.send({ type: 'command', tag: e.tag });
      else if (e.type === 'ready') {
        const done = pending.shift();
        if (!done || done.failed || done.verb === 'notify') continue;
        if (done.verb === 'listen' && done.channels !== '*') for (const c of done.channels) listening.add(c);
        if (done.verb === 'unlisten') {
          if (done.channels === '*') listening.clear();
          else for (const c of done.channels) listening.delete(c);
        }
        channel.send({ type: 'listening', channels: [...listening] });
      }
    }
  };
  const clientLoop = async (): Promise<'client'> => {
    for (;;) {
      const m: SessionMessage | null = await channel.receive();
      if (m === null) return 'client';
      if (m instanceof Uint8Array) {
        channel.send({ type: 'error', error: { code: 'invalid_input', message: 'this session takes JSON control messages only' } });
        continue;
      }
      if (m.type === 'stop') return 'client';
      if (m.type === 'listen') {
        const list = names(m);
        if (!list?.length) {
          channel.send({ type: 'error', error: { code: 'invalid_input', message: 'listen needs channels: a list of names (at most 63 bytes each)' } });
          continue;
        }
        pending.push({ verb: 'listen', channels: list });
        await listen(s, list);
      } else if (m.type === 'unlisten') {
        const list = names(m) ?? '*';
        pending.push({ verb: 'unlisten', channels: list });
        await unlisten(s, list);
      } else if (m.type === 'notify') {
        if (typeof m.channel !== 'string' || m.channel === '' || (m.payload !== undefined && typeof m.payload !== 'string')) {
          channel.send({ type: 'error', error: { code: 'invalid_input', message: 'notify needs channel (text) and payload (text, optional)' } });
          continue;
        }
        pending.push({ verb: 'notify', channels: [m.channel] });
        await notify(s, m.channel, (m.payload as string | undefined) ?? '');
      } else {
        channel.send({ type: 'error', error: { code: 'invalid_input', message: `unknown message type ${JSON.stringify(m.type)}: listen, unlisten, notify or stop` } });
      }
    }
  };
  const fromServer = serverLoop();
  const fromClient = clientLoop();
  // The loser keeps waiting until the runner closes the connection: its rejection is expected.
  fromServer.catch(() => undefined);
  fromClient.catch(() => undefined);
  const ended = await Promise.race([fromServer, fromClient]);
  return { count, listening: [...listening], ended };
}
