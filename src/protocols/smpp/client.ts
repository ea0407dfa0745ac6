// SMPP v3.4 session driver: bind, request/response by sequence number, the SMSC's own requests answered in between.
//
// How it works: every request gets the next sequence number and waits for the response with the
// same one. What the SMSC sends meanwhile is handled in place: enquire_link is answered at once,
// deliver_sm is acknowledged with deliver_sm_resp and kept for `nextDeliver`, an unbind from the
// SMSC is answered and ends the session, and a generic_nack for our sequence number is an error.
import type { Conn } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { AUTH_STATUSES, CMD, commandName, decodeBindResp, decodeShortMessage, describePdu, encodeBind, encodeMessageIdResp, encodePdu, pduFrame, statusText, type BindRequest, type Pdu, type ShortMessage } from './codec.ts';

export type BindMode = 'transmitter' | 'receiver' | 'transceiver';

const BIND_CMD: Record<BindMode, number> = { transmitter: CMD.bind_transmitter, receiver: CMD.bind_receiver, transceiver: CMD.bind_transceiver };

export interface Delivered {
  at: Date;
  sm: ShortMessage;
  sequence: number;
}

const MAX_KEPT = 10_000;

export class SmppClient {
  private seq = 0;
  private readonly frame;
  readonly delivered: Delivered[] = [];
  /** The SMSC asked to unbind (and was answered). */
  unboundByPeer = false;

  constructor(
    readonly conn: Conn,
    maxPdu?: number,
  ) {
    this.frame = pduFrame(maxPdu);
  }

  private async read(): Promise<Pdu> {
    return this.conn.readFrame(this.frame, 'SMPP PDU', describePdu);
  }

  private async write(commandId: number, sequence: number, body?: Uint8Array, opts: { secret?: boolean; decode?: string; status?: number } = {}): Promise<void> {
    await this.conn.write(encodePdu(commandId, sequence, body, opts.status ?? 0), { secret: opts.secret, decode: opts.decode ?? `${commandName(commandId)} seq ${sequence}` });
  }

  /** Handles a PDU the SMSC initiated; true when it was one. */
  private async onPeerRequest(p: Pdu): Promise<boolean> {
    switch (p.commandId) {
      case CMD.enquire_link:
        await this.write(CMD.enquire_link_resp, p.sequence);
        return true;
      case CMD.deliver_sm: {
        const sm = decodeShortMessage(p.body);
        await this.write(CMD.deliver_sm_resp, p.sequence, encodeMessageIdResp());
        if (this.delivered.length >= MAX_KEPT) throw new ProtocolError(`more than ${MAX_KEPT} deliver_sm arrived unread`);
        this.delivered.push({ at: new Date(), sm, sequence: p.sequence });
        return true;
      }
      case CMD.unbind:
        await this.write(CMD.unbind_resp, p.sequence);
        this.unboundByPeer = true;
        return true;
      default:
        return false;
    }
  }

  /** Sends a request and reads until its response (the SMSC's own requests handled meanwhile). */
  async request(commandId: number, body?: Uint8Array, opts: { secret?: boolean; decode?: string } = {}): Promise<Pdu> {
    const sequence = ++this.seq;
    await this.write(commandId, sequence, body, opts);
    for (;;) {
      const p = await this.read();
      if (await this.onPeerRequest(p)) {
        if (this.unboundByPeer) throw new PortolanError('closed', `the SMSC unbound while waiting for ${commandName(commandId | 0x80000000)}`);
        continue;
      }
      if (p.sequence !== sequence) continue; // a late response to something we gave up on
      if (p.commandId === CMD.generic_nack) throw new ServerError(`generic_nack for ${commandName(commandId)}: ${statusText(p.status)}`, { status: p.status });
      if (p.commandId !== (commandId | 0x80000000) >>> 0) throw new ProtocolError(`expected ${commandName((commandId | 0x80000000) >>> 0)}, got ${commandName(p.commandId)}`);
      return p;
    }
  }

  async bind(mode: BindMode, b: BindRequest): Promise<{ systemId: string; interfaceVersion: number | null }> {
    const p = await this.request(BIND_CMD[mode], encodeBind(b), { secret: true, decode: `bind_${mode} system_id ${b.systemId} password ****` });
    if (p.status !== 0) {
      const text = `bind_${mode} refused: ${statusText(p.status)}`;
      throw AUTH_STATUSES.has(p.status) ? new AuthError(text, { status: p.status }) : new ServerError(text, { status: p.status });
    }
    return decodeBindResp(p.body);
  }

  /** The next deliver_sm (one kept first), answering the SMSC's other requests meanwhile. */
  async nextDeliver(): Promise<Delivered> {
    for (;;) {
      const kept = this.delivered.shift();
      if (kept) return kept;
      if (this.unboundByPeer) throw new PortolanError('closed', 'the SMSC unbound');
      const p = await this.read();
      if (!(await this.onPeerRequest(p))) this.conn.note(`ignored ${describePdu(p)}`);
    }
  }

  /** unbind and its response. */
  async unbind(): Promise<void> {
    if (this.unboundByPeer) return;
    const p = await this.request(CMD.unbind);
    if (p.status !== 0) throw new ServerError(`unbind: ${statusText(p.status)}`, { status: p.status });
  }
}
