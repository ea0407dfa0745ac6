// STUN transactions over a stream (TCP, TLS: one message after another) or UDP (retransmitted as
// RFC 8489 section 6.2.1 says, here with the operation's retry policy), matched by transaction id.
import { utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import type { DatagramConn } from '../../core/datagram.ts';
import { ProtocolError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { exchange, type RetryPolicy } from '../datagram/exchange.ts';
import { decodeMessage, describeMessage, encodeMessage, messageFrame, type Attribute, type MessageClass, type StunMessage } from './codec.ts';

export interface StunRequest {
  method: number;
  attributes: Attribute[];
  integrityKey?: Uint8Array;
  fingerprint?: boolean;
}

export interface StunChannel {
  /** Sends a request and returns the response with the same transaction id, and the round trip in ms. */
  request(req: StunRequest, describe: string): Promise<{ response: StunMessage; rttMs: number }>;
}

function sameId(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function build(ctx: OperationContext, req: StunRequest): Promise<{ bytes: Uint8Array; id: Uint8Array }> {
  const id = ctx.crypto.randomBytes(12);
  const cls: MessageClass = 'request';
  const bytes = await encodeMessage(
    { method: req.method, cls, transactionId: id, attributes: req.attributes },
    { integrityKey: req.integrityKey, hmacSha1: (k, d) => ctx.crypto.hmac('SHA-1', k, d), fingerprint: req.fingerprint },
  );
  return { bytes, id };
}

export function streamChannel(ctx: OperationContext, conn: Conn): StunChannel {
  return {
    async request(req, describe) {
      const { bytes, id } = await build(ctx, req);
      const t0 = performance.now();
      await conn.write(bytes, { decode: describe });
      for (let i = 0; i < 16; i++) {
        const m = await conn.readFrame(messageFrame, 'STUN response', describeMessage);
        if (sameId(m.transactionId, id) && m.cls !== 'request' && m.cls !== 'indication') return { response: m, rttMs: Math.round((performance.now() - t0) * 1000) / 1000 };
      }
      throw new ProtocolError('16 STUN messages arrived, none the response to this request');
    },
  };
}

export function datagramChannel(ctx: OperationContext, conn: DatagramConn, policy: RetryPolicy): StunChannel {
  return {
    async request(req, describe) {
      const { bytes, id } = await build(ctx, req);
      const got = await exchange(ctx, conn, bytes, {
        ...policy,
        what: 'STUN response',
        describeRequest: describe,
        describeAnswer: (b) => {
          try {
            return describeMessage(decodeMessage(b));
          } catch (e) {
            return `not STUN: ${(e as Error).message}`;
          }
        },
        accept: (b) => {
          try {
            const m = decodeMessage(b);
            return sameId(m.transactionId, id) && (m.cls === 'success' || m.cls === 'error') ? m : undefined;
          } catch {
            return undefined;
          }
        },
      });
      return { response: got.value, rttMs: got.rttMs };
    },
  };
}

/** RFC 8489 section 9.2.2: the long-term key, MD5(username ":" realm ":" password) (SASLprep omitted: ASCII credentials). */
export function longTermKey(crypto: CryptoPort, username: string, realm: string, password: string): Uint8Array {
  return crypto.md5(utf8(`${username}:${realm}:${password}`));
}
