// Flow control for sessions that stream messages (subscriptions): credits from the client, drop-oldest when they run out.
//
// How it works: a WebSocket on workerd has no bufferedAmount, so the session cannot see how far
// behind the browser is; the client says so instead. The session may have at most `window`
// messages sent and not yet acknowledged; the client acknowledges with {"type":"ack","messages":n}
// as it consumes them. Messages that arrive while the window is full wait in a queue of at most
// `maxQueued`; when that is full the oldest waiting message is dropped and counted. Reading from the
// server goes on meanwhile (keep-alives are answered, the broker never sees a slow consumer), and
// memory stays bounded by window + maxQueued messages. When sending resumes after drops the client
// gets {"type":"dropped","count":n,"total":t} before the next message.
import { PortolanError } from './errors.ts';
import type { SessionChannel, SessionMessage } from './protocol.ts';

export interface FeedCreditOptions {
  /** Messages sent and not yet acknowledged. */
  window: number;
  /** Messages held while the window is full; beyond it the oldest is dropped. */
  maxQueued: number;
}

export class FeedCredits {
  private inFlight = 0;
  private readonly queue: SessionMessage[] = [];
  private droppedSinceReport = 0;
  /** Messages dropped over the session. */
  dropped = 0;
  /** Messages sent to the client. */
  sent = 0;

  constructor(
    private readonly channel: Pick<SessionChannel, 'send'>,
    private readonly opts: FeedCreditOptions,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  /** Sends now when the window allows, else queues (dropping the oldest queued when full). */
  offer(msg: SessionMessage): void {
    if (this.inFlight < this.opts.window && this.queue.length === 0) return this.emit(msg);
    if (this.queue.length >= this.opts.maxQueued) {
      this.queue.shift();
      this.dropped++;
      this.droppedSinceReport++;
    }
    this.queue.push(msg);
  }

  /** The client consumed `n` messages: more may be sent. */
  credit(n: number): void {
    if (!Number.isFinite(n) || n <= 0) return;
    this.inFlight = Math.max(0, this.inFlight - Math.floor(n));
    while (this.inFlight < this.opts.window && this.queue.length > 0) this.emit(this.queue.shift()!);
  }

  /** Reads an ack control message; true when `m` was one. */
  handle(m: Record<string, unknown>): boolean {
    if (m.type !== 'ack' || typeof m.messages !== 'number') return false;
    this.credit(m.messages);
    return true;
  }

  private emit(msg: SessionMessage): void {
    if (this.droppedSinceReport > 0) {
      this.channel.send({ type: 'dropped', count: this.droppedSinceReport, total: this.dropped });
      this.droppedSinceReport = 0;
    }
    this.inFlight++;
    this.sent++;
    this.channel.send(msg);
  }
}

export type FeedEnd = 'maxMessages' | 'server' | 'client';

/**
 * Runs a streaming session: `next` gives each message from the server (its `closed` error is the
 * server ending the session), the client's control messages are read meanwhile — ack gives credit,
 * stop ends it, anything else goes to `onCommand`, whose returned problem is reported to the client.
 */
export async function pumpFeed(
  channel: SessionChannel,
  opts: FeedCreditOptions & { maxMessages: number },
  next: () => Promise<SessionMessage>,
  onCommand: (m: Record<string, unknown>) => Promise<string | undefined> = async (m) => `unknown message type ${JSON.stringify(m.type)}: ack or stop`,
): Promise<{ ended: FeedEnd; count: number; dropped: number }> {
  const feed = new FeedCredits(channel, opts);
  let count = 0;
  const serverLoop = async (): Promise<FeedEnd> => {
    try {
      for (;;) {
        feed.offer(await next());
        if (++count >= opts.maxMessages) return 'maxMessages';
      }
    } catch (e) {
      if (e instanceof PortolanError && e.code === 'closed') return 'server';
      throw e;
    }
  };
  const clientLoop = async (): Promise<FeedEnd> => {
    for (;;) {
      const m = await channel.receive();
      if (m === null) return 'client';
      if (m instanceof Uint8Array) {
        channel.send({ type: 'error', error: { code: 'invalid_input', message: 'this session takes JSON control messages only' } });
        continue;
      }
      if (m.type === 'stop') return 'client';
      if (feed.handle(m)) continue;
      const problem = await onCommand(m);
      if (problem) channel.send({ type: 'error', error: { code: 'invalid_input', message: problem } });
    }
  };
  const ended = await Promise.race([serverLoop(), clientLoop()]);
  return { ended, count, dropped: feed.dropped };
}
