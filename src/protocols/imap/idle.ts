// IMAP IDLE, RFC 2177: a bounded wait for mailbox changes (the `wait` operation) and the long-lived session driver
// behind a WebSocket (`runIdleSession`), re-issuing IDLE before the server's 30-minute inactivity limit (RFC 2177 3).
//
// How it works: `Idler` sends "tag IDLE", waits for the "+" go-ahead, then reads untagged responses
// one at a time, each read bounded by `ctx.within` (so a quiet mailbox surfaces as a timeout and the
// Conn keeps any bytes that arrive later). `stop()` sends DONE and reads to the tagged completion.
// The session driver loops: IDLE in slices of `pollMs` so client commands are noticed, leaves IDLE
// to FETCH what a client asks for or what just arrived, and goes back into IDLE.
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import type { OperationContext, TargetFields } from '../../core/protocol.ts';
import { commandError, type ImapSession } from './client.ts';
import { asNumber, atoms, fetchItems, type ImapResponse } from './codec.ts';
import { select, uidFetch, type FetchedMessage } from './commands.ts';

export interface IdleEvent {
  type: 'exists' | 'expunge' | 'recent' | 'fetch' | 'vanished' | 'bye';
  seq?: number;
  count?: number;
  uid?: number | null;
  flags?: string[];
  uids?: string;
  text?: string;
}

/** The mailbox change an untagged response reports, if any (RFC 9051 7.4, 7.5; RFC 7162 VANISHED). */
export function idleEvent(r: ImapResponse): IdleEvent | null {
  if (r.kind === 'status') return r.tag === '*' && r.status === 'BYE' ? { type: 'bye', text: r.text } : null;
  if (r.kind !== 'data') return null;
  if (r.name === 'EXISTS' && r.number !== null) return { type: 'exists', count: r.number };
  if (r.name === 'RECENT' && r.number !== null) return { type: 'recent', count: r.number };
  if (r.name === 'EXPUNGE' && r.number !== null) return { type: 'expunge', seq: r.number };
  if (r.name === 'FETCH' && r.number !== null) {
    const m = fetchItems(r.values);
    return { type: 'fetch', seq: r.number, uid: m.has('UID') ? asNumber(m.get('UID')) : null, flags: m.has('FLAGS') ? atoms(m.get('FLAGS')) : undefined };
  }
  if (r.name === 'VANISHED') {
    const last = r.values[r.values.length - 1];
    return { type: 'vanished', uids: last?.type === 'atom' ? last.value : '' };
  }
  return null;
}

function isTimeout(e: unknown): boolean {
  return e instanceof PortolanError && e.code === 'io_timeout';
}

export class Idler {
  private tag: string | null = null;

  constructor(
    private readonly ctx: OperationContext,
    readonly session: ImapSession,
  ) {}

  get idling(): boolean {
    return this.tag !== null;
  }

  /** Sends IDLE and waits for "+"; changes reported before the go-ahead are returned. */
  async start(): Promise<IdleEvent[]> {
    if (!this.session.has('IDLE')) throw new ProtocolError('the server does not offer IDLE (RFC 2177)');
    const tag = this.session.nextTag();
    await this.session.conn.write(`${tag} IDLE\r\n`, { decode: `${tag} IDLE` });
    const events: IdleEvent[] = [];
    for (;;) {
      const r = await this.session.read('IDLE go-ahead');
      if (r.kind === 'continuation') break;
      if (r.kind === 'status' && r.tag === tag) throw commandError('IDLE', r);
      const e = idleEvent(r);
      if (e) events.push(e);
    }
    this.tag = tag;
    return events;
  }

  /** The next change within `ms`, or null when nothing happened. */
  async next(ms: number): Promise<IdleEvent | null> {
    try {
      const r = await this.ctx.within(ms, () => this.session.read('mailbox change'));
      if (r.kind === 'status' && r.tag === this.tag) throw commandError('IDLE ended by the server', r);
      return idleEvent(r);
    } catch (e) {
      if (isTimeout(e)) return null;
      throw e;
    }
  }

  /** DONE, then everything up to the tagged completion (RFC 2177 3). */
  async stop(): Promise<IdleEvent[]> {
    const tag = this.tag;
    if (tag === null) return [];
    this.tag = null;
    await this.session.conn.write('DONE\r\n', { decode: 'DONE' });
    const events: IdleEvent[] = [];
    for (;;) {
      const r = await this.session.read('IDLE completion');
      if (r.kind === 'status' && r.tag === tag) {
        if (r.status !== 'OK') throw commandError('IDLE', r);
        return events;
      }
      const e = idleEvent(r);
      if (e) events.push(e);
    }
  }
}

/**
 * Waits up to `waitMs` for the selected mailbox to change. After the first change it
 * collects what follows for a moment (a new message brings EXISTS and RECENT together).
 * Without IDLE it polls with NOOP once a second.
 */
export async function idleWait(ctx: OperationContext, s: ImapSession, waitMs: number): Promise<IdleEvent[]> {
  const until = Date.now() + waitMs;
  const events: IdleEvent[] = [];
  if (!s.has('IDLE')) {
    while (Date.now() < until && events.length === 0) {
      const c = await s.ok(['NOOP'], 'NOOP');
      for (const d of c.data) {
        const e = idleEvent(d);
        if (e) events.push(e);
      }
      if (events.length === 0) await ctx.sleep(Math.min(1000, Math.max(0, until - Date.now())));
    }
    return events;
  }
  const idler = new Idler(ctx, s);
  events.push(...(await idler.start()));
  while (events.length === 0 && Date.now() < until) {
    const e = await idler.next(until - Date.now());
    if (e) events.push(e);
  }
  while (events.length > 0) {
    const e = await idler.next(150);
    if (!e) break;
    events.push(e);
  }
  events.push(...(await idler.stop()));
  return events;
}

// The WebSocket session driver

/** A message channel to the browser, as the API's WebSocket session layer provides it. */
export interface SessionChannel {
  /** One JSON text frame to the client. */
  send(message: string): void;
  /** Resolves with the next client message (a JSON text frame), or null when the client went away. */
  receive(): Promise<string | null>;
}

/** What the server sends: JSON text frames. */
export type IdleServerMessage =
  | { type: 'ready'; mailbox: string; exists: number; uidValidity: number | null; uidNext: number | null; capabilities: string[] }
  | { type: 'event'; event: IdleEvent }
  | { type: 'messages'; messages: FetchedMessage[] }
  | { type: 'error'; code: string; message: string }
  | { type: 'closed'; reason: string };

/** What the client may send. */
export type IdleClientMessage = { type: 'fetch'; uids: string } | { type: 'stop' };

export interface IdleSessionInput extends TargetFields {
  username: string;
  password: string;
  authMethod: 'auto' | 'LOGIN' | 'AUTHENTICATE PLAIN' | 'AUTHENTICATE LOGIN' | 'AUTHENTICATE CRAM-MD5';
  mailbox: string;
  /** Fetch the envelope of each new message as it arrives. */
  fetchNew: boolean;
}

export interface IdleSessionOptions {
  /** How often the driver looks at client messages while idling. */
  pollMs?: number;
  /** Re-issue IDLE after this long (RFC 2177: before 29 minutes). */
  refreshMs?: number;
  /** End the session after this long. */
  maxMs?: number;
}

/**
 * Runs one IDLE session until the client sends stop, goes away, the server says BYE,
 * or `maxMs` passes. Errors are sent as {type:"error"} before the channel is left; the
 * caller closes the WebSocket and the runner closes the connection.
 */
export async function runIdleSession(
  ctx: OperationContext,
  input: IdleSessionInput,
  channel: SessionChannel,
  open: (ctx: OperationContext, input: IdleSessionInput) => Promise<ImapSession>,
  opts: IdleSessionOptions = {},
): Promise<void> {
  const pollMs = opts.pollMs ?? 1000;
  const refreshMs = opts.refreshMs ?? 25 * 60_000;
  const endAt = Date.now() + (opts.maxMs ?? 60 * 60_000);
  const send = (m: IdleServerMessage) => channel.send(JSON.stringify(m));
  const inbox: (string | null)[] = [];
  let clientGone = false;
  // Client messages are queued as they come; the loop looks at the queue between reads.
  void (async () => {
    for (;;) {
      const m = await channel.receive();
      inbox.push(m);
      if (m === null) {
        clientGone = true;
        return;
      }
    }
  })();

  try {
    const s = await open(ctx, input);
    const sel = await select(s, input.mailbox, true);
    let exists = sel.exists;
    send({ type: 'ready', mailbox: input.mailbox, exists, uidValidity: sel.uidValidity, uidNext: sel.uidNext, capabilities: [...s.capabilities] });
    const idler = new Idler(ctx, s);
    const fetchNew = async (from: number, to: number) => {
      if (to < from) return;
      const c = await s.ok(['FETCH ', `${from}:${to}`, ' (UID FLAGS ENVELOPE RFC822.SIZE INTERNALDATE)'], 'FETCH');
      const uids = c.data.filter((d) => d.name === 'FETCH').map((d) => fetchItems(d.values).get('UID'));
      const set = uids.filter((u) => u?.type === 'atom').map((u) => (u as { value: string }).value).join(',');
      if (set) send({ type: 'messages', messages: await uidFetch(s, set, { envelope: true, flags: true, bodyStructure: false, internalDate: true, size: true, body: 'none' }) });
    };
    for (;;) {
      if (clientGone || Date.now() >= endAt) break;
      const started = Date.now();
      for (const e of await idler.start()) send({ type: 'event', event: e });
      let leave: 'refresh' | 'client' | 'new' | 'end' = 'refresh';
      let newFrom = exists + 1;
      while (Date.now() - started < refreshMs) {
        if (inbox.length > 0) {
          leave = 'client';
          break;
        }
        if (Date.now() >= endAt) {
          leave = 'end';
          break;
        }
        const e = await idler.next(pollMs);
        if (!e) continue;
        send({ type: 'event', event: e });
        if (e.type === 'bye') {
          send({ type: 'closed', reason: `server said BYE: ${e.text ?? ''}` });
          return;
        }
        if (e.type === 'expunge') exists = Math.max(0, exists - 1);
        if (e.type === 'exists' && e.count !== undefined) {
          newFrom = exists + 1;
          const grew = e.count > exists;
          exists = e.count;
          if (grew && input.fetchNew) {
            leave = 'new';
            break;
          }
        }
      }
      for (const e of await idler.stop()) send({ type: 'event', event: e });
      if (leave === 'new') await fetchNew(newFrom, exists);
      while (inbox.length > 0) {
        const raw = inbox.shift()!;
        if (raw === null) break;
        let msg: IdleClientMessage;
        try {
          msg = JSON.parse(raw) as IdleClientMessage;
        } catch {
          send({ type: 'error', code: 'invalid_input', message: 'client message is not JSON' });
          continue;
        }
        if (msg.type === 'stop') {
          await s.logout();
          send({ type: 'closed', reason: 'stopped by the client' });
          return;
        }
        if (msg.type === 'fetch' && typeof msg.uids === 'string' && /^[\d:,*]{1,200}$/.test(msg.uids)) {
          send({ type: 'messages', messages: await uidFetch(s, msg.uids, { envelope: true, flags: true, bodyStructure: true, internalDate: true, size: true, body: 'none' }) });
        } else send({ type: 'error', code: 'invalid_input', message: 'expected {"type":"fetch","uids":"1:5"} or {"type":"stop"}' });
      }
    }
    await s.logout();
    send({ type: 'closed', reason: clientGone ? 'client went away' : 'session time limit reached' });
  } catch (e) {
    const err = e instanceof PortolanError ? e : new PortolanError('protocol_error', String(e));
    send({ type: 'error', code: err.code, message: err.message });
  }
}
