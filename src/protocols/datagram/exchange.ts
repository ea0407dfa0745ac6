// Request/response over UDP with retransmission: what NTP (RFC 5905), SNMP (RFC 3417 §2), TFTP (RFC 1350),
// SIP (RFC 3261 §17.1.2.2, timer E) and the discovery protocols share.
//
// How it works: send the request, then read datagrams until `accept` recognises the answer or the
// per-try wait (`ctx.within`) runs out; then send it again, up to `retries` more times. A late answer to
// an earlier try is accepted too (same request). Each timeout is noted in the transcript. When every try
// went unanswered the failure is io_timeout, naming the tries and the wait, with both in the detail.
import { PortolanError, classify } from '../../core/errors.ts';
import type { DatagramConn, DatagramPeer } from '../../core/datagram.ts';
import type { OperationContext } from '../../core/protocol.ts';
import * as z from 'zod';

export interface RetryPolicy {
  /** Retransmissions after the first try. */
  retries: number;
  /** How long each try waits for the answer, in ms. */
  waitMs: number;
}

/** Input fields for a UDP operation's retry policy. */
export const retryFields = (defaults: RetryPolicy = { retries: 2, waitMs: 1000 }) => ({
  retries: z.number().int().min(0).max(10).default(defaults.retries).describe('UDP: retransmissions when no answer comes'),
  waitMs: z.number().int().min(50).max(30_000).default(defaults.waitMs).describe('UDP: how long each try waits for the answer, in ms'),
});

export interface Answered<T> {
  value: T;
  bytes: Uint8Array;
  from: DatagramPeer;
  /** 1 for the first try. */
  attempts: number;
  /** From the last send to the answer. */
  rttMs: number;
}

export interface ExchangeOptions<T> extends RetryPolicy {
  /** What the answer is called in messages ("NTP reply"). */
  what: string;
  /** Transcript line for the request. */
  describeRequest?: string;
  /** Transcript line for a datagram received. */
  describeAnswer?: (bytes: Uint8Array) => string;
  /** The answer, or undefined for a datagram that is not it (another ID, a duplicate). */
  accept: (bytes: Uint8Array, from: DatagramPeer) => T | undefined;
  /** Send to this port of the target instead of the socket's own (TFTP). */
  port?: number;
  /** Datagrams ignored before giving up this try: a flood is not an answer. */
  maxIgnored?: number;
  /** The request carries a secret: the transcript keeps its size and description, not its bytes. */
  secret?: boolean;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * Sends `request` (or, for protocols that stamp each try, the bytes `request(attempt)` builds) and waits
 * for the answer, retransmitting as the policy says.
 */
export async function exchange<T>(ctx: OperationContext, conn: DatagramConn, request: Uint8Array | ((attempt: number) => Uint8Array), opts: ExchangeOptions<T>): Promise<Answered<T>> {
  const tries = opts.retries + 1;
  let ignored = 0;
  for (let attempt = 1; attempt <= tries; attempt++) {
    const sentAt = performance.now();
    await conn.send(typeof request === 'function' ? request(attempt) : request, { decode: `${opts.describeRequest ?? opts.what}${attempt > 1 ? ` (retransmission ${attempt - 1} of ${opts.retries})` : ''}`, port: opts.port, secret: opts.secret });
    try {
      return await ctx.within(opts.waitMs, async () => {
        for (;;) {
          const got = await conn.receive(opts.what, opts.describeAnswer);
          const value = opts.accept(got.bytes, got.from);
          if (value !== undefined) return { value, bytes: got.bytes, from: got.from, attempts: attempt, rttMs: round(performance.now() - sentAt) };
          if (++ignored > (opts.maxIgnored ?? 64)) throw new PortolanError('protocol_error', `${ignored} datagrams that were not the ${opts.what}`);
          conn.note('ignored: not the answer to this request');
        }
      });
    } catch (e) {
      const err = classify(e);
      if (err.code !== 'io_timeout' || ctx.signal.aborted) throw err;
      conn.note(`no ${opts.what} within ${opts.waitMs} ms (try ${attempt} of ${tries})`);
    }
  }
  const target = `${conn.host}:${opts.port ?? conn.port}`;
  throw new PortolanError('io_timeout', `no ${opts.what} from ${target} after ${tries} ${tries === 1 ? 'try' : 'tries'} (${opts.retries} ${opts.retries === 1 ? 'retry' : 'retries'}), ${opts.waitMs} ms each`, {
    tries,
    retries: opts.retries,
    waitMs: opts.waitMs,
  });
}

/** Waits `ms` for every datagram that arrives (discovery: several responders may answer one query). */
export async function collect<T>(ctx: OperationContext, conn: DatagramConn, ms: number, what: string, accept: (bytes: Uint8Array, from: DatagramPeer) => T | undefined, max = 256): Promise<T[]> {
  const out: T[] = [];
  try {
    await ctx.within(ms, async () => {
      while (out.length < max) {
        const got = await conn.receive(what);
        const v = accept(got.bytes, got.from);
        if (v !== undefined) out.push(v);
      }
    });
  } catch (e) {
    const err = classify(e);
    if (err.code !== 'io_timeout' || ctx.signal.aborted) throw err;
  }
  return out;
}
