// ZooKeeper session over a Conn (ClientCnxn): the handshake, optional addAuth, then requests matched to
// replies by xid, watch notifications kept as events.
//
// How it works: `call` writes one request and reads packets until the reply with its xid arrives;
// notifications (xid -1) met on the way are queued in `events`, ping replies (xid -2) dropped. A session
// that must read while it also waits for its user runs `pump`, the one reader, which files replies under
// their xids and hands notifications to a callback; `call` then waits for the pump instead of reading.
import type { Conn } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { Op, Xid, decodeConnectResponse, decodeReply, decodeWatchEvent, encodeAuth, encodeConnect, encodeRequest, errorName, packetFrame, type ConnectResponse, type JuteReader, type JuteWriter, type Reply, type WatchEvent } from './codec.ts';

const OP_NAMES = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k])) as Record<number, string>;

export class ZkError extends ServerError {
  constructor(
    readonly zkCode: number,
    what: string,
  ) {
    super(`${what}: ${errorName(zkCode)}`, { zkCode, zkError: errorName(zkCode) });
  }
}

function describeReply(p: Uint8Array): string {
  if (p.length < 16) return `${p.length} bytes`;
  const r = decodeReply(p);
  if (r.xid === Xid.notification) return 'watch notification';
  if (r.xid === Xid.ping) return 'ping reply';
  return `reply xid ${r.xid}, zxid ${r.zxid}, ${errorName(r.err)}`;
}

export class ZkClient {
  session: ConnectResponse | undefined;
  readonly events: WatchEvent[] = [];
  lastZxid = 0n;
  private xid = 1;
  private readonly frame = packetFrame();
  private pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void }>();
  private pumping = false;

  constructor(readonly conn: Conn) {}

  private async readPacket(): Promise<Uint8Array> {
    return this.conn.readFrame(this.frame, 'ZooKeeper packet', describeReply);
  }

  async connect(timeoutMs: number, readOnly: boolean): Promise<ConnectResponse> {
    await this.conn.write(encodeConnect({ timeoutMs, readOnly }), { decode: `ConnectRequest timeout ${timeoutMs} ms${readOnly ? ', read-only allowed' : ''}` });
    const body = await this.readPacket();
    const r = decodeConnectResponse(body);
    // ClientCnxnSocket: a timeout of 0 or less means the server refused the session (expired or invalid).
    if (r.timeoutMs <= 0) throw new ServerError('ZooKeeper refused the session (negotiated timeout 0: session expired or refused)');
    this.session = r;
    return r;
  }

  /** addAuth: the server answers on xid -4; AUTHFAILED closes the session. */
  async addAuth(scheme: string, credentials: Uint8Array): Promise<void> {
    await this.conn.write(encodeAuth(scheme, credentials), { secret: true, decode: `auth ${scheme} (credentials hidden)` });
    const r = await this.await(Xid.auth, 'auth');
    if (r.err !== 0) throw new AuthError(`ZooKeeper refused ${scheme} authentication: ${errorName(r.err)}`, { zkCode: r.err, zkError: errorName(r.err) });
  }

  /** One request; its reply body, or ZkError with the server's code. */
  async call(type: number, path: string, body?: (w: JuteWriter) => void): Promise<JuteReader> {
    const xid = this.xid++;
    const what = `${OP_NAMES[type] ?? `op ${type}`} ${path}`;
    await this.conn.write(encodeRequest(xid, type, body), { decode: `${what} (xid ${xid})` });
    const r = await this.await(xid, what);
    if (r.err !== 0) {
      if (r.err === -102) throw new AuthError(`${what}: NOAUTH (the znode's ACL does not let this session in)`, { zkCode: -102, zkError: 'NOAUTH' });
      throw new ZkError(r.err, what);
    }
    return r.body;
  }

  async ping(): Promise<void> {
    await this.conn.write(encodeRequest(Xid.ping, Op.ping), { decode: 'ping' });
  }

  async close(): Promise<void> {
    if (this.pumping) return;
    try {
      await this.conn.write(encodeRequest(this.xid++, Op.closeSession), { decode: 'closeSession' });
      // The server answers, then closes the connection: wait for either, so ephemeral nodes are gone.
      await this.readPacket().catch(() => undefined);
    } catch {
      // already closed
    }
  }

  private async await(xid: number, what: string): Promise<Reply> {
    if (this.pumping) return new Promise<Reply>((resolve, reject) => this.pending.set(xid, { resolve, reject }));
    for (;;) {
      let packet: Uint8Array;
      try {
        packet = await this.readPacket();
      } catch (e) {
        // AUTHFAILED: the server sends the reply and drops the connection; a read that ends early says so.
        if (xid === Xid.auth && e instanceof PortolanError && e.code === 'closed') throw new AuthError(`ZooKeeper closed the session after ${what} (AUTHFAILED)`);
        throw e;
      }
      const r = this.file(packet);
      if (r && r.xid === xid) return r;
      if (r) throw new ProtocolError(`reply for xid ${r.xid} while waiting for ${what} (xid ${xid})`);
    }
  }

  /** Notification → events; ping reply → dropped; anything else returned. */
  private file(packet: Uint8Array, onEvent?: (e: WatchEvent) => void): Reply | undefined {
    const r = decodeReply(packet);
    if (r.zxid > 0n) this.lastZxid = r.zxid;
    if (r.xid === Xid.notification) {
      const e = decodeWatchEvent(r.body);
      if (onEvent) onEvent(e);
      else this.events.push(e);
      return undefined;
    }
    if (r.xid === Xid.ping) return undefined;
    return r;
  }

  /** The one reader of a session: replies to their callers, notifications to `onEvent`, until the connection ends. */
  async pump(onEvent: (e: WatchEvent) => void): Promise<never> {
    this.pumping = true;
    try {
      for (;;) {
        const r = this.file(await this.readPacket(), onEvent);
        if (!r) continue;
        const waiter = this.pending.get(r.xid);
        if (!waiter) throw new ProtocolError(`reply for xid ${r.xid}, which we did not send`);
        this.pending.delete(r.xid);
        waiter.resolve(r);
      }
    } catch (e) {
      for (const w of this.pending.values()) w.reject(e);
      this.pending.clear();
      throw e;
    }
  }
}
