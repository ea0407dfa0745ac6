// RDP connection initiation over a Conn (MS-RDPBCGR 1.3.1.1, 2.2.1.1–2.2.1.2, 5.4.5): one X.224 Connection
// Request with RDP_NEG_REQ, the Connection Confirm, and — when TLS was selected — the TLS handshake that
// follows at once on the same connection (External Security Protocol, 5.4.5.1).
import type { Conn } from '../../core/conn.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { describeConfirm, describeRequest, decodeConnectionConfirm, decodeMcsConnectResponse, encodeConnectionRequest, encodeMcsConnectInitial, tpktFrame, type ConnectionConfirm, type ConnectionRequest, type ServerData } from './codec.ts';

export async function negotiate(conn: Conn, req: ConnectionRequest): Promise<ConnectionConfirm> {
  await conn.write(encodeConnectionRequest(req), { decode: describeRequest(req) });
  const packet = await conn.readFrame(tpktFrame, 'X.224 Connection Confirm', (p) => describeConfirm(decodeConnectionConfirm(p)));
  return decodeConnectionConfirm(packet);
}

/** Dials for an upgrade: the connection starts plain and may turn to TLS after the Confirm. */
export function dialForNegotiation(ctx: OperationContext): Promise<Conn> {
  return ctx.dial({ tls: 'starttls' });
}

/** Basic Settings Exchange (1.3.1.1, 2.2.1.3–2.2.1.4): MCS Connect Initial out, Connect Response in. */
export async function basicSettings(conn: Conn, selectedProtocol: number): Promise<ServerData> {
  await conn.write(encodeMcsConnectInitial(selectedProtocol), { decode: 'MCS Connect Initial with GCC Conference Create Request (client core, security, network data)' });
  const packet = await conn.readFrame(tpktFrame, 'MCS Connect Response', (p) => {
    const d = decodeMcsConnectResponse(p);
    return `MCS Connect Response ${d.resultName}${d.versionName ? `, server ${d.versionName}` : ''} [${d.blocks.map((b) => b.type).join(', ')}]`;
  });
  return decodeMcsConnectResponse(packet);
}
