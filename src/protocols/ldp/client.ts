// LDP session initialization over a Conn (RFC 5036 section 2.5.3): our Initialization as the active side,
// the peer's Initialization and KeepAlive (or its Notification), then what it advertises.
import type { Conn } from '../../core/conn.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import { MESSAGE, decodeStatus, describePdu, ldpIdText, pduFrame, type LdpId, type Message, type Pdu, type Status } from './codec.ts';

export function readPdu(conn: Conn, what: string): Promise<Pdu> {
  return conn.readFrame(pduFrame, what, describePdu);
}

const HINTS: Record<number, string> = {
  0x10: 'it has no Hello adjacency with this address, or it is not the LSR ID the Initialization was addressed to (send a targeted Hello first, from the Node host, and give the peer’s LSR ID)',
  0x11: 'it wants the other label advertisement mode',
  0x12: 'it refuses the max PDU length',
  0x18: 'it refuses the KeepAlive time',
};

export function notificationError(from: LdpId, s: Status, when: string): PortolanError {
  const hint = HINTS[s.code];
  return new PortolanError('refused', `the LDP peer ${ldpIdText(from)} sent a Notification ${when}: ${s.name}${hint ? ` — ${hint}` : ''}`, { ...s, peer: ldpIdText(from) });
}

/** The messages the peer sends, one at a time, across PDUs. */
export class MessageReader {
  private queue: Message[] = [];
  peer?: LdpId;
  constructor(private conn: Conn) {}

  async next(what: string): Promise<Message> {
    while (this.queue.length === 0) {
      let pdu: Pdu;
      try {
        pdu = await readPdu(this.conn, what);
      } catch (e) {
        if (e instanceof PortolanError && e.code === 'closed' && !this.peer) {
          throw new PortolanError('refused', 'the LDP peer closed the connection without a word: it may hold the active role for this pair (its transport address is the higher one) and accept no session opened from here, or still be closing an earlier session from this address (a peer takes one transport connection per neighbour)');
        }
        throw e;
      }
      this.peer = pdu.ldpId;
      this.queue.push(...pdu.messages);
    }
    const m = this.queue.shift()!;
    if (m.type === MESSAGE.NOTIFICATION) {
      const s = decodeStatus(m);
      if (s.fatal) throw notificationError(this.peer!, s, `in place of ${what}`);
    }
    return m;
  }
}

/** Reads until a message of `type`, skipping advisory notifications and messages the session may interleave. */
export async function expect(reader: MessageReader, type: number, what: string, seen: (m: Message) => void = () => undefined): Promise<Message> {
  for (let i = 0; i < 64; i++) {
    const m = await reader.next(what);
    if (m.type === type) return m;
    seen(m);
  }
  throw new ProtocolError(`no ${what} among the peer’s first 64 messages`);
}
