// BGP session driver over a Conn (RFC 4271 section 8): OPEN both ways, KEEPALIVE to Established, then
// UPDATEs read as they come (answering the peer's KEEPALIVEs), and a Cease to end it politely.
import type { Conn } from '../../core/conn.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import { settleWithin } from '../../core/timers.ts';
import { KEEPALIVE, decodeNotification, decodeOpen, describeMessage, encodeNotification, encodeOpen, messageFrame, type Notification, type Open, type OpenOptions, type RawMessage } from './codec.ts';

export async function read(conn: Conn, what: string): Promise<RawMessage> {
  return conn.readFrame(messageFrame, what, describeMessage);
}

export function notificationError(n: Notification, when: string): PortolanError {
  const text = `${n.codeName} / ${n.subcodeName}${n.message ? `: "${n.message}"` : ''}`;
  return new PortolanError('refused', `the BGP peer sent a NOTIFICATION ${when}: ${text} (${n.code}/${n.subcode})`, { ...n });
}

export interface Session {
  peer: Open;
  /** min(ours, theirs) (RFC 4271 section 4.2); 0 means no keepalives. */
  holdTime: number;
  established: boolean;
  /** A message that arrived in place of the peer's KEEPALIVE (an UPDATE right away). */
  early?: RawMessage;
}

/** Sends our OPEN, reads the peer's, exchanges KEEPALIVEs. A NOTIFICATION or a close is the peer refusing. */
export async function establish(conn: Conn, open: OpenOptions): Promise<Session> {
  await conn.write(encodeOpen(open), { decode: `OPEN AS ${open.as}, hold ${open.holdTime}s, id ${open.bgpId}, ${open.families.join(' ')}${open.addPath ? ', add-path' : ''}` });
  let m: RawMessage;
  try {
    m = await read(conn, 'the peer’s OPEN');
  } catch (e) {
    if (e instanceof PortolanError && e.code === 'closed') throw new PortolanError('refused', 'the BGP peer closed the connection before sending its OPEN: it is not configured to peer with this address, or it still holds an earlier session from it');
    throw e;
  }
  if (m.type === 3) throw notificationError(decodeNotification(m.body), 'instead of its OPEN');
  if (m.type !== 1) throw new ProtocolError(`expected the peer’s OPEN, got ${describeMessage(m)}`);
  const peer = decodeOpen(m.body);
  if (peer.version !== 4) throw new ProtocolError(`the peer speaks BGP version ${peer.version}, not 4`);
  await conn.write(KEEPALIVE, { decode: 'KEEPALIVE' });
  const holdTime = Math.min(open.holdTime, peer.holdTime);
  const next = await read(conn, 'the peer’s KEEPALIVE');
  if (next.type === 3) throw notificationError(decodeNotification(next.body), 'after the OPENs');
  if (next.type === 4) return { peer, holdTime, established: true };
  return { peer, holdTime, established: true, early: next };
}

/** Cease / Administrative Shutdown with a shutdown communication (RFC 8203), then the connection is closed by the runner. */
/**
 * Ends a session: NOTIFICATION Cease, then the peer's own close of the connection (RFC 4271 §8.2.2: a peer that
 * receives a NOTIFICATION drops the connection), waited for up to CEASE_WAIT_MS; a conforming peer closes at once.
 * A peer that takes dynamic neighbours (FRR's `bgp listen range`) refuses a new session from the same address until
 * it has let go of this one.
 */
export async function cease(conn: Conn, message = 'Portolan: session done'): Promise<void> {
  await conn.write(encodeNotification(6, 2, message), { decode: `NOTIFICATION Cease / Administrative Shutdown "${message}"` }).catch(() => undefined);
  await settleWithin(conn.readToEnd(64 * 1024).catch(() => undefined), CEASE_WAIT_MS);
}

/** Longest a session's end waits for the peer to close after our Cease. */
const CEASE_WAIT_MS = 2000;
