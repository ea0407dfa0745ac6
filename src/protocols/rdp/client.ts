// RDP connection initiation over a Conn (MS-RDPBCGR 1.3.1.1, 2.2.1.1–2.2.1.2, 5.4.5): one X.224 Connection
// Request with RDP_NEG_REQ, the Connection Confirm, and — when TLS was selected — the TLS handshake that
// follows at once on the same connection (External Security Protocol, 5.4.5.1).
import type { Conn } from '../../core/conn.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { describeConfirm, describeRequest, decodeConnectionConfirm, encodeConnectionRequest, tpktFrame, type ConnectionConfirm, type ConnectionRequest } from './codec.ts';

export async function negotiate(conn: Conn, req: ConnectionRequest): Promise<ConnectionConfirm> {
  await conn.write(encodeConnectionRequest(req), { decode: describeRequest(req) });
  const packet = await conn.readFrame(tpktFrame, 'X.224 Connection Confirm', (p) => describeConfirm(decodeConnectionConfirm(p)));
  return decodeConnectionConfirm(packet);
}

/** Dials for an upgrade: the connection starts plain and may turn to TLS after the Confirm. */
export function dialForNegotiation(ctx: OperationContext): Promise<Conn> {
  return ctx.dial({ tls: 'starttls' });
}
