// The LDAP session driver (RFC 4511 §4 and §5): connect, StartTLS (§4.14), bind (simple and SASL, RFC 4513),
// requests and their responses by message ID, unbind. Thin over the codec: it reads whole messages from the
// Conn, matches them to the request, and turns result codes into outcomes with the server's own words.
import { fromBase64, toHex, utf8 } from '../../core/bytes.ts';
import type { Conn, TlsMode } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { DialRequest, OperationContext } from '../../core/protocol.ts';
import {
  bindRequest,
  decodeMessage,
  describeResponse,
  encodeMessage,
  extendedRequest,
  messageFrame,
  OID,
  unbindRequest,
  type BindAuth,
  type Control,
  type LdapResult,
  type Message,
  type Response,
} from './codec.ts';

export type Auth =
  | { method: 'anonymous' }
  | { method: 'simple'; dn: string; password: string }
  | { method: 'plain'; username: string; password: string; authzid?: string }
  | { method: 'external'; authzid?: string };

export interface ClientCertificate {
  certPem: string;
  keyPem: string;
}

export interface SessionOptions {
  auth: Auth;
  clientCertificate?: ClientCertificate;
}

const frame = messageFrame();

/** The response type whose op is K (members with several ops included). */
type ResponseOf<K extends Response['op']> = Response extends infer R ? (R extends { op: infer O } ? (K extends O ? R : never) : never) : never;

/** A result code that is not success, as the server said it: result code, its name, diagnostic message and matched DN. */
export function resultError(what: string, res: LdapResult): PortolanError {
  const detail = { resultCode: res.code, resultName: res.name, diagnosticMessage: res.diagnosticMessage, matchedDN: res.matchedDN, referrals: res.referrals };
  const message = `${what}: ${res.code} ${res.name}${res.diagnosticMessage ? `: ${res.diagnosticMessage}` : ''}${res.matchedDN ? ` (matched ${res.matchedDN})` : ''}`;
  // RFC 4513 §5.1.1/§5.2: 49 invalidCredentials, 48 inappropriateAuthentication, 7 authMethodNotSupported, 8 strongerAuthRequired.
  if (res.code === 49 || res.code === 48 || res.code === 7 || res.code === 8 || res.code === 13 || res.code === 123) return new AuthError(message, detail);
  return new ServerError(message, detail);
}

export class LdapSession {
  private nextId = 1;
  bound: string = 'anonymous';

  private constructor(
    readonly ctx: OperationContext,
    readonly conn: Conn,
  ) {}

  /** Dials (implicit TLS when asked), upgrades with StartTLS when asked, and binds. */
  static async open(ctx: OperationContext, opts: SessionOptions, dial: DialRequest = {}): Promise<LdapSession> {
    const tls: TlsMode = dial.tls ?? ctx.target.tls;
    const conn = await ctx.dial({ ...dial, clientCertificate: opts.clientCertificate });
    const s = new LdapSession(ctx, conn);
    if (tls === 'starttls') await s.startTls();
    await s.bind(opts.auth);
    return s;
  }

  /** Sends one request; returns its message ID. */
  async send(protocolOp: Uint8Array, decode: string, controls: readonly Control[] = [], secret = false): Promise<number> {
    const id = this.nextId++;
    await this.conn.write(encodeMessage(id, protocolOp, controls), { decode: `#${id} ${decode}`, secret });
    return id;
  }

  /** The next message for request `id`. Unsolicited notifications (ID 0) end the session with the server's words. */
  async receive(id: number): Promise<Message> {
    for (;;) {
      const raw = await this.conn.readFrame(frame, 'LDAPMessage', (t) => describeResponse(decodeMessage(t)));
      const m = decodeMessage(raw);
      if (m.id === 0) {
        // RFC 4511 §4.4.1: Notice of Disconnection, then the server closes.
        const r = m.response;
        const why = r.op === 'ExtendedResponse' ? `${r.result.code} ${r.result.name}${r.result.diagnosticMessage ? `: ${r.result.diagnosticMessage}` : ''}` : r.op;
        throw new PortolanError('closed', `server sent a notice of disconnection: ${why}`, r.op === 'ExtendedResponse' ? { resultCode: r.result.code, diagnosticMessage: r.result.diagnosticMessage } : undefined);
      }
      if (m.id !== id) throw new ProtocolError(`LDAP: answer for message ${m.id} while waiting for ${id}`);
      return m;
    }
  }

  /** Sends a request and reads its one response, which must be `op`. */
  async request<K extends Response['op']>(protocolOp: Uint8Array, decode: string, op: K, controls: readonly Control[] = [], secret = false): Promise<ResponseOf<K> & { controls: Control[] }> {
    const id = await this.send(protocolOp, decode, controls, secret);
    const m = await this.receive(id);
    if (m.response.op !== op) throw new ProtocolError(`LDAP: expected ${op} for message ${id}, got ${m.response.op}`);
    return { ...(m.response as ResponseOf<K>), controls: m.controls };
  }

  /** RFC 4511 §4.14 StartTLS: the extended request, success, then the TLS handshake in the same turn. */
  async startTls(): Promise<void> {
    const r = await this.request(extendedRequest(OID.startTls), `ExtendedRequest StartTLS (${OID.startTls})`, 'ExtendedResponse');
    if (r.result.code !== 0) throw new PortolanError('tls_error', `server refused StartTLS: ${r.result.code} ${r.result.name}${r.result.diagnosticMessage ? `: ${r.result.diagnosticMessage}` : ''}`, { resultCode: r.result.code, diagnosticMessage: r.result.diagnosticMessage });
    await this.conn.startTls();
  }

  /** RFC 4513: anonymous (§5.1.1), simple name/password (§5.1.3), SASL PLAIN (RFC 4616) and EXTERNAL (§5.2.3). */
  async bind(auth: Auth): Promise<void> {
    let request: BindAuth;
    let decode: string;
    let secret = false;
    switch (auth.method) {
      case 'anonymous':
        request = { type: 'simple', dn: '', password: new Uint8Array(0) };
        decode = 'BindRequest v3 anonymous';
        break;
      case 'simple':
        // RFC 4513 §5.1.2: a name with an empty password is an unauthenticated bind, which servers must refuse by default; send as given.
        request = { type: 'simple', dn: auth.dn, password: utf8(auth.password) };
        decode = `BindRequest v3 simple ${JSON.stringify(auth.dn)} password **** (${utf8(auth.password).length} bytes)`;
        secret = true;
        break;
      case 'plain':
        // RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
        request = { type: 'sasl', dn: '', mechanism: 'PLAIN', credentials: utf8(`${auth.authzid ?? ''}\0${auth.username}\0${auth.password}`) };
        decode = `BindRequest v3 SASL PLAIN authcid ${JSON.stringify(auth.username)}${auth.authzid ? ` authzid ${JSON.stringify(auth.authzid)}` : ''} password ****`;
        secret = true;
        break;
      case 'external':
        // RFC 4422 Appendix A: the credentials are the authorization identity, empty to take the one the TLS certificate gives.
        request = { type: 'sasl', dn: '', mechanism: 'EXTERNAL', credentials: utf8(auth.authzid ?? '') };
        decode = `BindRequest v3 SASL EXTERNAL${auth.authzid ? ` authzid ${JSON.stringify(auth.authzid)}` : ''}`;
        break;
    }
    const r = await this.request(bindRequest(request), decode, 'BindResponse', [], secret);
    if (r.result.code !== 0) throw resultError(`bind (${auth.method}) refused`, r.result);
    this.bound = auth.method === 'simple' ? auth.dn : auth.method;
  }

  /** RFC 4511 §4.3: UnbindRequest, then close; errors while closing do not matter. */
  async unbind(): Promise<void> {
    try {
      await this.send(unbindRequest(), 'UnbindRequest');
    } catch {
      // the server may already be gone
    }
  }
}

/** Bytes of a value given as text or `{ base64 }`. */
export function valueOf(v: string | { base64: string }): Uint8Array {
  return typeof v === 'string' ? utf8(v) : fromBase64(v.base64);
}

export function hexOf(v: Uint8Array): string {
  return toHex(v);
}
