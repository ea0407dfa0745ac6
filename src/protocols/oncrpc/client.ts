// One ONC RPC call over a TCP connection: the call as one record, the reply read as one record, xids matched.
import type { Conn } from '../../core/conn.ts';
import type { DatagramConn } from '../../core/datagram.ts';
import { ProtocolError } from '../../core/errors.ts';
import { decodeReply, encodeCall, record, recordFrame, type Call, type Reply } from './codec.ts';

export class RpcClient {
  private xid: number;

  constructor(
    readonly conn: Conn,
    random: (n: number) => Uint8Array,
    /** Longest reply record accepted (RFC 5531 11 sets no limit; a hostile server must not set ours). */
    readonly maxRecord = 16 * 1024 * 1024,
  ) {
    const r = random(4);
    this.xid = ((r[0] << 24) | (r[1] << 16) | (r[2] << 8) | r[3]) >>> 0;
  }

  async call(c: Omit<Call, 'xid'>, what: string): Promise<Reply> {
    const xid = await this.send(c, what);
    const reply = await this.receive(what);
    if (reply.xid !== xid) throw new ProtocolError(`${what}: reply xid ${reply.xid} does not match call xid ${xid}`);
    return reply;
  }

  /** Sends a call without waiting for its reply (pipelining); resolves to its xid. */
  async send(c: Omit<Call, 'xid'>, what: string): Promise<number> {
    const xid = (this.xid = (this.xid + 1) >>> 0);
    await this.conn.write(record(encodeCall({ ...c, xid })), { decode: `${what}: call xid ${xid}, program ${c.prog} v${c.vers} procedure ${c.proc}` });
    return xid;
  }

  /** The next reply on the connection, whichever call it answers (a server may answer pipelined calls out of order). */
  async receive(what: string): Promise<Reply> {
    const body = await this.conn.readFrame(recordFrame(this.maxRecord), `${what} reply`, (b) => `${what}: reply xid ${b.length >= 4 ? ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0 : '?'} (${b.length} bytes)`);
    return decodeReply(body);
  }
}

/** One call over UDP (RFC 5531 without record marking): one datagram each way; stray datagrams are skipped. */
export async function udpCall(conn: DatagramConn, c: Omit<Call, 'xid'>, random: (n: number) => Uint8Array, what: string): Promise<Reply> {
  const r = random(4);
  const xid = ((r[0] << 24) | (r[1] << 16) | (r[2] << 8) | r[3]) >>> 0;
  await conn.send(encodeCall({ ...c, xid }), { decode: `${what}: call xid ${xid}, program ${c.prog} v${c.vers} procedure ${c.proc}` });
  for (let stray = 0; stray < 16; stray++) {
    const got = await conn.receive(`${what} reply`, (b) => `${what}: reply (${b.length} bytes)`);
    const reply = decodeReply(got.bytes);
    if (reply.xid === xid) return reply;
  }
  throw new ProtocolError(`${what}: 16 datagrams without a reply to xid ${xid}`);
}
