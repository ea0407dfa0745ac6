// What the message brokers (MQTT, AMQP, STOMP) share: payloads given as text or bytes, payloads shown as
// text / JSON / hex, and the live-feed session driver with its flow control.
//
// How a feed session works (GET /api/{protocol}/{operation} as a WebSocket): the session announces
// {"type":"subscribed", ..., "acks":"messages"|"none"}, then sends one {"type":"message", ...} per message.
// Flow control is the session channel's byte credit (src/api/websocket.ts): once `window` bytes sent to the
// client are unacknowledged, the Worker stops reading from the broker, so the broker's own queue and TCP flow
// control hold the rest and nothing is buffered without bound. Where the broker wants messages settled
// (AMQP ack mode client, STOMP client acks), "acks":"messages" asks the client for {"type":"ack","messages":n},
// which settles the next n messages. {"type":"stop"}, or the WebSocket closing, ends the session; the protocol
// then says goodbye (DISCONNECT, basic.cancel and connection.close, UNSUBSCRIBE and DISCONNECT).
import * as z from 'zod';
import { bytesJson, fromBase64, fromHex, fromUtf8, utf8, type ByteEncoding } from '../../core/bytes.ts';
import { InvalidInput, PortolanError } from '../../core/errors.ts';
import type { SessionChannel, SessionMessage } from '../../core/protocol.ts';

export const payloadField = z
  .union([z.string().max(16 * 1024 * 1024), z.object({ base64: z.string().max(22 * 1024 * 1024) }).strict(), z.object({ hex: z.string().max(32 * 1024 * 1024) }).strict()])
  .describe('The payload: text (sent as UTF-8), or {"base64": ...} / {"hex": ...} for any bytes')
  .meta({ 'x-cli-file': true });

export type PayloadInput = z.infer<typeof payloadField>;

export function payloadBytes(v: PayloadInput, field: string): Uint8Array {
  if (typeof v === 'string') return utf8(v);
  try {
    return 'base64' in v ? fromBase64(v.base64) : fromHex(v.hex);
  } catch {
    throw InvalidInput.field(field, `is not valid ${'base64' in v ? 'base64' : 'hex'}`);
  }
}

export const encodingField = z.enum(['auto', 'text', 'base64', 'hex']).default('auto').describe('How payloads come back: auto (UTF-8 text when valid, else base64), text, base64 or hex');

export const payloadOut = z.object({ text: z.string().optional(), base64: z.string().optional(), hex: z.string().optional() });

/** How much of each payload a live feed carries to the browser (the full size is reported beside it). */
export const FEED_PREVIEW_BYTES = 64 * 1024;

/** A payload for JSON, cut at `max` bytes (the size is reported beside it). */
export function payloadJson(bytes: Uint8Array, encoding: ByteEncoding, max = Number.POSITIVE_INFINITY): { text?: string; base64?: string; hex?: string; truncated?: boolean } {
  const cut = bytes.length > max;
  const shown = cut ? bytes.subarray(0, max) : bytes;
  // A cut may split a UTF-8 sequence: judge the whole when deciding text or bytes.
  const json = encoding === 'auto' && cut ? (isUtf8(bytes) ? { text: fromUtf8(shown) } : bytesJson(shown, 'base64')) : bytesJson(shown, encoding);
  return cut ? { ...json, truncated: true } : json;
}

function isUtf8(b: Uint8Array): boolean {
  try {
    fromUtf8(b, true);
    return true;
  } catch {
    return false;
  }
}

/** A payload on one line (the CLI prints one message per line): text with CR and LF escaped, bytes as base64: or hex:. */
export function payloadLine(p: { text?: string; base64?: string; hex?: string }): string {
  if (p.text !== undefined) return p.text.replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  return p.hex !== undefined ? `hex:${p.hex}` : `base64:${p.base64 ?? ''}`;
}

/** The session's credit window (the channel reads an operation's `window` input). */
export const windowField = z
  .number()
  .int()
  .min(1024)
  .max(64 * 1024 * 1024)
  .optional()
  .describe('Session only: bytes sent to the client and not yet acknowledged ({"type":"ack","bytes":n}) before reading from the broker pauses (default 1 MiB)');

export type FeedEnd = 'client' | 'server' | 'maxMessages';

export interface FeedOptions {
  channel: SessionChannel;
  /** Reads from the broker and sends what came (one message or none); resolves 'maxMessages' or 'server' to end. */
  step(): Promise<FeedEnd | void>;
  /** The client settled `n` more messages ({"type":"ack","messages":n}). */
  onAck?(n: number): Promise<void>;
  /** A client control message other than ack and stop. */
  control(m: Record<string, unknown>): Promise<void>;
}

/** Runs the server and client loops of a feed until either ends; a closed broker connection is the server's end. */
export async function runFeed(o: FeedOptions): Promise<FeedEnd> {
  const { channel } = o;
  let stopped = false;
  const fromServer = (async (): Promise<FeedEnd> => {
    try {
      for (;;) {
        if (stopped) return 'client';
        const end = await o.step();
        if (end) return end;
      }
    } catch (e) {
      if (e instanceof PortolanError && e.code === 'closed') return 'server';
      throw e;
    }
  })();
  const fromClient = (async (): Promise<FeedEnd> => {
    for (;;) {
      const m: SessionMessage | null = await channel.receive();
      if (m === null) return 'client';
      if (m instanceof Uint8Array) {
        channel.send({ type: 'error', error: { code: 'invalid_input', message: 'this session takes JSON control messages only' } });
        continue;
      }
      if (m.type === 'stop') return 'client';
      if (m.type === 'ack') {
        const n = m.messages;
        if (typeof n === 'number' && Number.isInteger(n) && n > 0) await o.onAck?.(n);
        continue;
      }
      try {
        await o.control(m);
      } catch (e) {
        if (!(e instanceof PortolanError) || e.code !== 'invalid_input') throw e;
        channel.send({ type: 'error', error: e.toJSON() });
      }
    }
  })();
  try {
    return await Promise.race([fromServer, fromClient]);
  } finally {
    stopped = true;
    fromServer.catch(() => {});
    fromClient.catch(() => {});
  }
}

/** A list of strings from a control message field, or an invalid_input naming it. */
export function controlStrings(m: Record<string, unknown>, field: string, check?: (s: string) => string | null): string[] {
  const v = m[field];
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
  if (list.length === 0 || list.length > 100 || !list.every((x): x is string => typeof x === 'string' && x.length > 0 && x.length <= 4096)) {
    throw InvalidInput.field(field, `${String(m.type)} needs ${field}: a list of 1–100 non-empty strings`);
  }
  for (const [i, s] of list.entries()) {
    const problem = check?.(s);
    if (problem) throw InvalidInput.field(`${field}.${i}`, problem);
  }
  return list;
}

export interface TreeNode {
  name: string;
  topic: string;
  messages: number;
  last?: Record<string, unknown>;
  children?: TreeNode[];
}

/** A topic tree (levels split on `/`): per node the message count under it and the last message at it. */
export function topicTree(messages: { topic: string; [k: string]: unknown }[], maxNodes = 10_000): { tree: TreeNode[]; truncated: boolean } {
  const root: TreeNode = { name: '', topic: '', messages: 0, children: [] };
  let nodes = 0;
  let truncated = false;
  for (const m of messages) {
    let at = root;
    const levels = m.topic.split('/');
    let ok = true;
    for (let i = 0; i < levels.length; i++) {
      at.messages++;
      at.children ??= [];
      let next = at.children.find((c) => c.name === levels[i]);
      if (!next) {
        if (nodes >= maxNodes) {
          truncated = true;
          ok = false;
          break;
        }
        nodes++;
        next = { name: levels[i], topic: levels.slice(0, i + 1).join('/'), messages: 0 };
        at.children.push(next);
      }
      at = next;
    }
    if (!ok) continue;
    at.messages++;
    at.last = m;
  }
  const sort = (n: TreeNode) => {
    n.children?.sort((a, b) => a.name.localeCompare(b.name));
    n.children?.forEach(sort);
  };
  sort(root);
  return { tree: root.children ?? [], truncated };
}

export const treeOut: z.ZodType<TreeNode> = z.lazy(() =>
  z.object({ name: z.string(), topic: z.string(), messages: z.number(), last: z.record(z.string(), z.unknown()).optional(), children: z.array(treeOut).optional() }),
);
