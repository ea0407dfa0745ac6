// SNMP request/response over UDP (RFC 3417 §2, retransmitted) or TCP (RFC 3430: one BER message after another).
import { berFrame } from '../../core/ber.ts';
import { toHex, utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { DatagramConn } from '../../core/datagram.ts';
import { ProtocolError, UnsupportedRuntime } from '../../core/errors.ts';
import { unsupportedReasons } from '../../core/capabilities.ts';
import type { OperationContext } from '../../core/protocol.ts';
import type { Transcript } from '../../core/transcript.ts';
import { exchange, type RetryPolicy } from '../datagram/exchange.ts';
import { decodeMessage, describeMessage, encodeRequest, type Message, type PduType, type Version } from './codec.ts';

/** What Workers offers instead of UDP. */
export const TCP_ALTERNATIVE = 'On Workers, use transport tcp (SNMP over TCP, RFC 3430) if the agent listens on TCP.';

export interface SessionOptions extends RetryPolicy {
  version: Version;
  community: string;
  transport: 'udp' | 'tcp';
}

const MAX_TCP_MESSAGE = 1024 * 1024;

/**
 * The community string is SNMPv1/v2c's password: it travels in every request and every answer. The
 * transcript keeps each frame's hex but with the community's bytes replaced by `*` (0x2a).
 */
function maskCommunity(transcript: Transcript, communityHex: string, from: number): void {
  if (communityHex.length === 0) return;
  for (let i = from; i < transcript.entries.length; i++) {
    const e = transcript.entries[i];
    if (e.hex) e.hex = e.hex.split(communityHex).join('2a'.repeat(communityHex.length / 2));
  }
}

export class SnmpSession {
  private nextId: number;
  private readonly communityBytes: Uint8Array;
  private readonly communityHex: string;

  private constructor(
    private readonly ctx: OperationContext,
    private readonly opts: SessionOptions,
    private readonly udp: DatagramConn | undefined,
    private readonly tcp: Conn | undefined,
  ) {
    const b = ctx.crypto.randomBytes(4);
    // A positive 31-bit request-id (RFC 3416 §3: -214783648..214783647).
    this.nextId = ((b[0] & 0x7f) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
    this.communityBytes = utf8(opts.community);
    this.communityHex = toHex(this.communityBytes);
  }

  static async open(ctx: OperationContext, opts: SessionOptions): Promise<SnmpSession> {
    if (opts.transport === 'udp' && !ctx.capabilities.has('udp')) {
      const { reasons, alternatives } = unsupportedReasons(['udp'], [TCP_ALTERNATIVE]);
      throw new UnsupportedRuntime(`SNMP over UDP needs udp, which the ${ctx.runtime} runtime lacks: ${reasons.join(' ')}`, {
        runtime: ctx.runtime,
        missing: ['udp'],
        reasons,
        alternatives,
      });
    }
    if (opts.transport === 'tcp') return new SnmpSession(ctx, opts, undefined, await ctx.dial({ tls: 'off' }));
    return new SnmpSession(ctx, opts, await ctx.dialUdp(), undefined);
  }

  get transport(): 'udp' | 'tcp' {
    return this.opts.transport;
  }

  /** Sends one request PDU and returns the agent's Response (matched by request-id). */
  async request(type: PduType, oids: readonly string[], bulk?: { nonRepeaters: number; maxRepetitions: number }): Promise<{ message: Message; attempts: number }> {
    const id = this.nextId;
    this.nextId = (this.nextId + 1) & 0x7fffffff;
    const bytes = encodeRequest(this.opts.version, this.communityBytes, type, id, oids, bulk);
    const label = `SNMP${this.opts.version} ${type} id=${id} community **** ${oids.slice(0, 4).join(' ')}${oids.length > 4 ? ` +${oids.length - 4}` : ''}${bulk ? ` non-repeaters=${bulk.nonRepeaters} max-repetitions=${bulk.maxRepetitions}` : ''}`;
    const mark = this.ctx.transcript.entries.length;
    try {
      if (this.udp) {
        const answer = await exchange(this.ctx, this.udp, bytes, {
          retries: this.opts.retries,
          waitMs: this.opts.waitMs,
          what: 'SNMP response',
          describeRequest: label,
          describeAnswer: (b) => {
            try {
              return describeMessage(decodeMessage(b));
            } catch (e) {
              return `malformed: ${(e as Error).message}`;
            }
          },
          // RFC 3416 §4.1: a Response is matched to its request by request-id; anything else is dropped.
          accept: (b) => {
            const m = decodeMessage(b);
            return m.pdu.type === 'Response' && m.pdu.requestId === id ? m : undefined;
          },
        });
        return { message: answer.value, attempts: answer.attempts };
      }
      const conn = this.tcp!;
      await conn.write(bytes, { decode: label });
      const tlv = await conn.readFrame(berFrame(MAX_TCP_MESSAGE), 'SNMP response', (t) => {
        try {
          return describeMessage(decodeMessage(t.raw));
        } catch (e) {
          return `malformed: ${(e as Error).message}`;
        }
      });
      const m = decodeMessage(tlv.raw);
      if (m.pdu.type !== 'Response' || m.pdu.requestId !== id) throw new ProtocolError(`SNMP over TCP: expected the Response to request ${id}, got ${m.pdu.type} ${m.pdu.requestId}`);
      return { message: m, attempts: 1 };
    } finally {
      maskCommunity(this.ctx.transcript, this.communityHex, mark);
    }
  }
}
