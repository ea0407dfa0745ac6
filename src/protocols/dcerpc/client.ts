// The DCE/RPC connection-oriented client (C706 chapter 12; [MS-RPCE] §3.3): bind, with NTLMSSP's three legs when
// asked (bind carrying NEGOTIATE, bind_ack carrying CHALLENGE, auth3 carrying AUTHENTICATE), then calls whose
// responses may span several fragments. A fault is the server's answer and keeps its status code.
import { concat, equalBytes } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import {
  AUTH_LEVEL,
  AUTH_TYPE,
  auth3Pdu,
  bindPdu,
  decodePdu,
  describePdu,
  NDR,
  NDR64,
  pduFrame,
  PFC,
  requestPdu,
  type ContextResult,
  type Pdu,
  type SyntaxId,
} from './codec.ts';
import { authenticateMessage, decodeChallenge, flagNames, negotiateMessage, signature, signingKeys, type Challenge, type Credentials } from './ntlmssp.ts';

const frame = pduFrame();
/** Fault statuses a server answers with when the NTLMSSP leg failed: access denied, protocol error, security package error. */
const AUTH_FAULTS = new Set([0x00000005, 0x1c01000b, 0x1c000024]);
/** A response larger than this (all fragments) is refused: no endpoint map or status reply comes near it. */
const MAX_STUB = 8 * 1024 * 1024;

export interface BindOutcome {
  accepted: boolean;
  /** The bind_ack's or bind_nak's fields as the server sent them. */
  ack?: { maxXmitFrag: number; maxRecvFrag: number; assocGroup: number; secondaryAddress: string; results: ContextResult[] };
  nak?: { reason: number; reasonText: string; versions: { major: number; minor: number }[] };
  /** The NTLMSSP CHALLENGE the server sent in its bind_ack. */
  ntlm?: { targetName: string; flags: string[]; serverInfo: Challenge['info']; version?: Challenge['version'] };
}

/** NTLMSSP session security of an integrity-level association: each direction's key and sequence number. */
interface Signing {
  client: Uint8Array;
  server: Uint8Array;
  seqOut: number;
  seqIn: number;
}

export type AuthLevelName = 'connect' | 'integrity';

export class RpcConnection {
  private callId = 1;
  private readonly authContextId = 0;
  private authLevel = 0;
  private signing: Signing | undefined;
  /** Responses whose NTLMSSP signature checked out: proof that the server derived the same session key. */
  verifiedResponses = 0;

  constructor(
    readonly ctx: OperationContext,
    readonly conn: Conn,
  ) {}

  private async readFor(callId: number): Promise<{ p: Pdu; raw: Uint8Array }> {
    const raw = await this.conn.readFrame(frame, 'DCE/RPC PDU', (b) => describePdu(decodePdu(b)));
    const p = decodePdu(raw);
    if (p.callId !== callId && p.kind !== 'other') {
      if (p.kind === 'fault') throw new ServerError(`the server faulted call ${p.callId} (${p.statusText}) while call ${callId} was waiting`, { status: p.status, statusText: p.statusText });
      throw new ProtocolError(`DCE/RPC: answer for call ${p.callId} while waiting for call ${callId}`);
    }
    return { p, raw };
  }

  /**
   * Binds one presentation context for `iface` (NDR, and NDR64 when asked), with NTLMSSP when credentials are
   * given: at the integrity level (default) every call is signed and every response's signature checked, which
   * proves the server derived the same session key, i.e. accepted the password; the auth3 leg has no answer.
   */
  async bind(iface: SyntaxId, o: { credentials?: Credentials; ndr64?: boolean; level?: AuthLevelName } = {}): Promise<BindOutcome> {
    const callId = this.callId++;
    const transfer = o.ndr64 ? [NDR, NDR64] : [NDR];
    const contexts = transfer.map((t, i) => ({ id: i, abstract: iface, transfer: [t] }));
    const level = AUTH_LEVEL[o.level ?? 'integrity'];
    const auth = o.credentials ? { type: AUTH_TYPE.winnt, level, contextId: this.authContextId, value: negotiateMessage() } : undefined;
    await this.conn.write(bindPdu({ callId, contexts, auth }), { decode: `bind call ${callId} ${iface.uuid} v${iface.version.major}.${iface.version.minor}${auth ? ` with NTLMSSP NEGOTIATE (${o.level ?? 'integrity'} level)` : ''}` });
    const { p } = await this.readFor(callId);
    if (p.kind === 'bind_nak') return { accepted: false, nak: { reason: p.reason, reasonText: p.reasonText, versions: p.versions } };
    if (p.kind !== 'bind_ack') throw new ProtocolError(`DCE/RPC: ${p.type} in answer to a bind`);
    const out: BindOutcome = {
      accepted: p.results.some((r) => r.result === 'acceptance'),
      ack: { maxXmitFrag: p.maxXmitFrag, maxRecvFrag: p.maxRecvFrag, assocGroup: p.assocGroup, secondaryAddress: p.secondaryAddress, results: p.results },
    };
    if (o.credentials) {
      if (!p.auth || p.auth.type !== AUTH_TYPE.winnt) throw new AuthError('the server answered the NTLMSSP bind without an NTLMSSP challenge');
      const ch = decodeChallenge(p.auth.value);
      out.ntlm = { targetName: ch.targetName, flags: flagNames(ch.flags), serverInfo: ch.info, version: ch.version };
      const { message, sessionBaseKey } = authenticateMessage(this.ctx.crypto, o.credentials, ch, Date.now());
      const a3 = this.callId++;
      await this.conn.write(auth3Pdu(a3, { type: AUTH_TYPE.winnt, level, contextId: this.authContextId, value: message }), {
        secret: true,
        decode: `auth3 call ${a3} NTLMSSP AUTHENTICATE user ${JSON.stringify(o.credentials.domain ? `${o.credentials.domain}\\${o.credentials.user}` : o.credentials.user)} NTLMv2 response (password masked)`,
      });
      this.authLevel = level;
      if (level === AUTH_LEVEL.integrity) this.signing = { ...signingKeys(this.ctx.crypto, sessionBaseKey), seqOut: 0, seqIn: 0 };
    }
    return out;
  }

  /** One call on context `contextId`: the response's stub data, reassembled. A fault is a ServerError with its status. */
  async call(opnum: number, stub: Uint8Array, what: string, contextId = 0): Promise<Uint8Array> {
    const callId = this.callId++;
    let pdu: Uint8Array;
    if (this.signing) {
      // [MS-RPCE] §2.2.2.11: the signature covers the header, the body and the sec_trailer, not the signature itself.
      pdu = requestPdu({ callId, contextId, opnum, stub, auth: { type: AUTH_TYPE.winnt, level: this.authLevel, contextId: this.authContextId, value: new Uint8Array(16) } });
      pdu.set(signature(this.ctx.crypto, this.signing.client, this.signing.seqOut++, pdu.subarray(0, pdu.length - 16)), pdu.length - 16);
    } else pdu = requestPdu({ callId, contextId, opnum, stub });
    await this.conn.write(pdu, { decode: `request call ${callId} opnum ${opnum} ${what}${this.signing ? ' (signed)' : ''}` });
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { p, raw } = await this.readFor(callId);
      if (p.kind === 'fault') {
        const detail = { status: p.status, statusText: p.statusText };
        // Samba answers the first call after a failed auth3 with a fault and hangs up ([MS-RPCE] §3.3.3.5.2 leaves it open).
        if (this.authLevel && this.verifiedResponses === 0 && AUTH_FAULTS.has(p.status)) throw new AuthError(`${what}: the server refused the first call after NTLMSSP authentication: ${p.statusText} (wrong user name or password, or an authentication level it does not allow)`, detail);
        throw new ServerError(`${what}: fault ${p.statusText}`, detail);
      }
      if (p.kind !== 'response') throw new ProtocolError(`DCE/RPC: ${p.type} in answer to a request`);
      if (this.signing) {
        if (!p.auth || p.auth.value.length !== 16) throw new AuthError(`${what}: the server's response carries no NTLMSSP signature`);
        const want = signature(this.ctx.crypto, this.signing.server, this.signing.seqIn++, raw.subarray(0, raw.length - 16));
        if (!equalBytes(want, p.auth.value)) throw new AuthError(`${what}: the response's NTLMSSP signature does not match the session key (the server did not derive it from these credentials)`);
        this.verifiedResponses++;
      }
      size += p.stub.length;
      if (size > MAX_STUB) throw new ProtocolError(`DCE/RPC: response larger than ${MAX_STUB} bytes`);
      parts.push(p.stub);
      if (p.flags & PFC.lastFrag) break;
    }
    return parts.length === 1 ? parts[0] : concat(parts);
  }
}
