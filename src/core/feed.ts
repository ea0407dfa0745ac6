// Streaming sessions (subscriptions): messages from the server to the client while the client's control messages are read.
//
// Flow control is the channel's (SessionChannel.ready, src/api/websocket.ts): the client acknowledges
// what it has read, and past its window the session's connections stop reading, so a broker that
// publishes faster than the browser reads is held back by TCP (and may drop the subscriber as slow,
// in its own words), never buffered here without bound.
import { PortolanError } from './errors.ts';
import type { SessionChannel, SessionMessage } from './protocol.ts';

export type FeedEnd = 'maxMessages' | 'server' | 'client';

/**
 * Runs a streaming session: `next` gives each message from the server (its `closed` error is the
 * server ending the session); the client's control messages are read meanwhile — stop ends it,
 * anything else goes to `onCommand`, whose returned problem is reported to the client.
 */
export async function pumpFeed(
  channel: SessionChannel,
  maxMessages: number,
  next: () => Promise<SessionMessage>,
  onCommand: (m: Record<string, unknown>) => Promise<string | undefined> = async (m) => `unknown message type ${JSON.stringify(m.type)}: stop`,
): Promise<{ ended: FeedEnd; count: number }> {
  let count = 0;
  const serverLoop = async (): Promise<FeedEnd> => {
    try {
      for (;;) {
        channel.send(await next());
        if (++count >= maxMessages) return 'maxMessages';
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
      const problem = await onCommand(m);
      if (problem) channel.send({ type: 'error', error: { code: 'invalid_input', message: problem } });
    }
  };
  const ended = await Promise.race([serverLoop(), clientLoop()]);
  return { ended, count };
}
