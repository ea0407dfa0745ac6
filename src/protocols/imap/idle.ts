// IMAP IDLE, RFC 2177: a bounded wait for mailbox changes (the `wait` operation) and the long-lived session driver
// behind a WebSocket (`runIdleSession`), re-issuing IDLE before the server's 30-minute inactivity limit (RFC 2177 3).
//
// How it works: `Idler` sends "tag IDLE", waits for the "+" go-ahead, then reads untagged responses
// one at a time, each read bounded by `ctx.within` (so a quiet mailbox surfaces as a timeout and the
// Conn keeps any bytes that arrive later). `stop()` sends DONE and reads to the tagged completion.
// The session driver loops: IDLE in slices of `pollMs` so client messages are noticed (they are
// queued by a pump as they come), leaves IDLE to FETCH what a client asks for or what just
// arrived, and goes back into IDLE; the session ends on stop, a client gone, BYE or its time limit.
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import type { OperationContext, SessionChannel, SessionMessage, TargetFields } from '../../core/protocol.ts';
import { commandError, type ImapSession } from './client.ts';
import { asNumber, atoms, fetchItems, SEQUENCE_SET, type ImapResponse } from './codec.ts';
import { select, uidFetch } from './commands.ts';
import { openImap, type AuthMethod } from './open.ts';

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

/*
 * Messages, as JSON objects on the session's WebSocket:
 *   server → client: {type:"ready", mailbox, exists, uidValidity, uidNext, capabilities}
 *                    {type:"exists", count} {type:"expunge", seq} {type:"recent", count}
 *                    {type:"fetch", seq, uid, flags} {type:"vanished", uids} {type:"bye", text}
 *                    {type:"messages", messages:[{uid, flags, envelope, size, internalDate, ...}]}
 *                    {type:"error", error:{code, message}} (the session goes on)
 *   client → server: {type:"fetch", uids:"1:5"} (envelope, flags, BODYSTRUCTURE) and {type:"stop"}
 * The session resolves with a summary; the API sends it as {type:"end", result}.
 */

export interface IdleSessionInput extends TargetFields {
  username: string;
  password: string;
  authMethod: AuthMethod;
  mailbox: string;
  /** Fetch the envelope of each new message as it arrives. */
  fetchNew: boolean;
}

export interface IdleSessionOptions {
  /** How often the driver looks at client messages while idling. */
  pollMs?: number;
  /** Re-issue IDLE after this long (RFC 2177 3: before the server's 30-minute limit). */
  refreshMs?: number;
  /** End the session cleanly after this long (before the operation's deadline). */
  maxMs?: number;
}

export interface IdleSummary {
  ended: 'client' | 'server' | 'time';
  events: number;
  fetched: number;
}

function clientError(channel: SessionChannel, message: string): void {
  channel.send({ type: 'error', error: { code: 'invalid_input', message } });
}

/**
 * Runs one IDLE session on the selected mailbox (EXAMINE: read-only, flags untouched) until
 * the client sends stop or goes away, the server says BYE, or `maxMs` passes. A failure on
 * the IMAP side is thrown: the API reports it and closes the WebSocket.
 */
export async function runIdleSession(ctx: OperationContext, input: IdleSessionInput, channel: SessionChannel, opts: IdleSessionOptions = {}): Promise<IdleSummary> {
  const pollMs = opts.pollMs ?? 1000;
  const refreshMs = opts.refreshMs ?? 25 * 60_000;
  const endAt = Date.now() + (opts.maxMs ?? Math.max(1000, input.timeoutMs - 5000));
  const inbox: (SessionMessage | null)[] = [];
  let finished = false;
  let clientGone = false;
  // Client messages are queued as they come. A receive cut short by a narrowed deadline
  // (the IDLE polls) is simply asked again: the runner keeps the pending message.
  void (async () => {
    let misses = 0;
    while (!finished) {
      let m: SessionMessage | null;
      try {
        m = await channel.receive();
        misses = 0;
      } catch (e) {
        if (finished || ctx.signal.aborted || !(e instanceof PortolanError && e.code === 'io_timeout') || ++misses > 10_000) {
          clientGone = clientGone || !finished;
          return;
        }
        await new Promise<void>((r) => queueMicrotask(r));
        continue;
      }
      inbox.push(m);
      if (m === null) {
        clientGone = true;
        return;
      }
    }
  })();

  const summary: IdleSummary = { ended: 'time', events: 0, fetched: 0 };
  try {
    const { session: s } = await openImap(ctx, input);
    const sel = await select(s, input.mailbox, true);
    let exists = sel.exists;
    channel.send({ type: 'ready', mailbox: input.mailbox, exists, uidValidity: sel.uidValidity, uidNext: sel.uidNext, capabilities: [...s.capabilities] });
    const forward = (e: IdleEvent) => {
      summary.events++;
      channel.send({ ...e });
    };
    const sendMessages = async (set: string, bodyStructure: boolean) => {
      const messages = await uidFetch(s, set, { envelope: true, flags: true, bodyStructure, internalDate: true, size: true, body: 'none' });
      summary.fetched += messages.length;
      channel.send({ type: 'messages', messages: messages as unknown as Record<string, unknown>[] });
    };
    const fetchNew = async (from: number, to: number) => {
      if (to < from) return;
      const c = await s.ok(['FETCH ', `${from}:${to}`, ' (UID)'], 'FETCH');
      const uids = c.data.filter((d) => d.name === 'FETCH').map((d) => fetchItems(d.values).get('UID'));
      const set = uids.flatMap((u) => (u?.type === 'atom' ? [u.value] : [])).join(',');
      if (set) await sendMessages(set, false);
    };
    const idler = new Idler(ctx, s);
    for (;;) {
      if (clientGone) {
        summary.ended = 'client';
        break;
      }
      if (Date.now() >= endAt) break;
      const started = Date.now();
      for (const e of await idler.start()) forward(e);
      let newFrom = 0;
      while (Date.now() - started < refreshMs && inbox.length === 0 && Date.now() < endAt) {
        const e = await idler.next(pollMs);
        if (!e) continue;
        forward(e);
        if (e.type === 'bye') {
          summary.ended = 'server';
          return summary;
        }
        if (e.type === 'expunge') exists = Math.max(0, exists - 1);
        if (e.type === 'exists' && e.count !== undefined) {
          if (e.count > exists && newFrom === 0) newFrom = exists + 1;
          exists = e.count;
          // Leave IDLE at once to fetch what arrived (after the RECENT that usually follows).
          if (input.fetchNew && newFrom > 0) {
            const more = await idler.next(100);
            if (more) forward(more);
            break;
          }
        }
      }
      for (const e of await idler.stop()) forward(e);
      if (input.fetchNew && newFrom > 0) await fetchNew(newFrom, exists);
      while (inbox.length > 0) {
        const m = inbox.shift()!;
        if (m === null) break;
        if (m instanceof Uint8Array) {
          clientError(channel, 'an IDLE session takes JSON control messages only');
          continue;
        }
        if (m.type === 'stop') {
          summary.ended = 'client';
          await s.logout();
          return summary;
        }
        if (m.type === 'fetch' && typeof m.uids === 'string' && SEQUENCE_SET.test(m.uids) && m.uids.length <= 200) await sendMessages(m.uids, true);
        else clientError(channel, 'expected {"type":"fetch","uids":"1:5"} or {"type":"stop"}');
      }
    }
    await s.logout();
    return summary;
  } finally {
    finished = true;
  }
}
