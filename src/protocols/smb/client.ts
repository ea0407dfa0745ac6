// The SMB 2/3 client session, [MS-SMB2] §3.2: negotiate, SESSION_SETUP with NTLMSSP in SPNEGO, TREE_CONNECT, and
// the file commands, with credits, signing and encryption.
//
// How it works: every request takes MessageIds and credits (§3.2.4.1.5; 2.1+ charges one credit per 64 KiB);
// each response grants credits back. A request is sent and its response collected by MessageId: responses that
// arrive for another request wait in `early`, an interim STATUS_PENDING (§3.2.5.1.5) only grants credits. The
// preauth integrity hash (3.1.1) runs over NEGOTIATE and the SESSION_SETUP exchange; from the session key and
// that hash the signing and cipher keys are derived. After authentication every request is signed (unless the
// session is a guest's), or encrypted in a transform header when the session or the tree requires it; every
// response is checked the same way.
import { concat } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { authenticateMessage, decodeChallenge, negotiateMessage, type Challenge, type Credentials } from '../dcerpc/ntlmssp.ts';
import {
  CAPABILITIES,
  CIPHERS,
  COMMAND,
  commandName,
  decodeErrorResponse,
  decodeHeader,
  decodeNegotiateResponse,
  decodeSessionSetupResponse,
  decodeTreeConnectResponse,
  dialectName,
  DIALECTS,
  FLAGS,
  SECURITY_MODE,
  SESSION_FLAGS,
  SHARE_FLAGS,
  SIGNING_ALGORITHMS,
  smbFrame,
  statusName,
  STATUS,
  TRANSFORM_MAGIC,
  transportFrame,
  encodeHeader,
  negotiateBody,
  sessionSetupBody,
  treeConnectBody,
  type Header,
  type NegotiateResponse,
  type TreeConnectResponse,
} from './codec.ts';
import { decodeSpnegoResponse, deriveKeys, messageSecurity, nonceLength, PREAUTH_START, preauthStep, signingAlgorithmOf, spnegoInit, spnegoResponse, type MessageSecurity, type SessionKeys, type SigningAlgorithm } from './security.ts';

const frame = smbFrame();
/** Credits asked for with each request: enough for several 1 MiB reads in flight. */
const CREDIT_REQUEST = 256;

export interface Response {
  header: Header;
  msg: Uint8Array;
  encrypted: boolean;
}

/** An NTSTATUS the server answered, as a typed error: LOGON_FAILURE and kin are auth_failed, the rest server_error. */
export function statusError(what: string, status: number, explain = ''): PortolanError {
  const name = statusName(status);
  const detail = { status: `0x${status.toString(16).padStart(8, '0')}`, statusName: name };
  const message = `${what}: ${name}${explain ? ` (${explain})` : ''}`;
  if ([STATUS.LOGON_FAILURE, STATUS.ACCOUNT_DISABLED, STATUS.ACCOUNT_RESTRICTION, STATUS.PASSWORD_EXPIRED, STATUS.ACCOUNT_LOCKED_OUT].includes(status as never)) return new AuthError(message, detail);
  return new ServerError(message, detail);
}

export interface NegotiateOptions {
  dialects: number[];
  requireSigning: boolean;
  /** Ciphers offered to a 3.1.1 server, preferred first (3.0 and 3.0.2 know only AES-128-CCM). */
  ciphers?: number[];
}

/** Ciphers offered when none is chosen: both AES-GCM first (faster, and what Windows prefers), then AES-CCM. */
export const DEFAULT_CIPHERS = [CIPHERS['AES-128-GCM'], CIPHERS['AES-256-GCM'], CIPHERS['AES-128-CCM'], CIPHERS['AES-256-CCM']];

/** The cipher a negotiation settled on: 3.1.1's choice, AES-128-CCM for a 3.0 or 3.0.2 server that can encrypt. */
export function sessionCipher(n: NegotiateResponse): number | null {
  if (n.dialect === DIALECTS['3.1.1']) return n.cipher;
  if (n.dialect >= DIALECTS['3.0'] && n.capabilities & CAPABILITIES.encryption) return CIPHERS['AES-128-CCM'];
  return null;
}

export interface Session {
  id: bigint;
  flags: number;
  guest: boolean;
  signingAlgorithm: SigningAlgorithm | null;
  challenge: Challenge | null;
  encrypted: boolean;
}

export interface Tree extends TreeConnectResponse {
  id: number;
  share: string;
  encrypted: boolean;
}

export class SmbClient {
  private nextMessageId = 0n;
  private credits = 1;
  private readonly early = new Map<bigint, Response>();
  private preauth: Uint8Array = PREAUTH_START;
  private keys: SessionKeys | null = null;
  private security: MessageSecurity | null = null;
  private outgoing: Promise<void> = Promise.resolve();
  private signWith: SigningAlgorithm | null = null;
  private sessionAlg: SigningAlgorithm | null = null;
  private encryptSession = false;
  private readonly encryptedTrees = new Set<number>();
  private nonceCounter = 0n;
  negotiated: NegotiateResponse | null = null;
  /** The session's cipher once negotiated (sessionCipher), null when it cannot encrypt. */
  cipher: number | null = null;
  sessionId = 0n;
  /** Responses whose signature was checked, and encrypted responses opened: proof the keys agree. */
  verified = 0;

  constructor(
    readonly ctx: OperationContext,
    readonly conn: Conn,
  ) {
    conn.bulkReads(1024 * 1024 + 4096);
  }

  get dialect(): number {
    return this.negotiated?.dialect ?? 0;
  }

  get multiCredit(): boolean {
    return this.dialect >= DIALECTS['2.1'] && ((this.negotiated?.capabilities ?? 0) & CAPABILITIES.largeMtu) !== 0;
  }

  /** Credits a request of `bytes` (the larger of its payload and its expected answer) is charged. */
  chargeFor(bytes: number): number {
    return this.multiCredit ? Math.max(1, Math.ceil(bytes / 65536)) : 1;
  }

  get availableCredits(): number {
    return this.credits;
  }

  /** Sends one request; returns its MessageId. */
  async send(command: number, body: Uint8Array, o: { treeId?: number; charge?: number; what?: string } = {}): Promise<bigint> {
    const charge = o.charge ?? 1;
    if (this.credits < charge) throw new ProtocolError(`SMB: ${commandName(command)} needs ${charge} credits and the server granted ${this.credits}`);
    const messageId = this.nextMessageId;
    this.nextMessageId += BigInt(charge);
    this.credits -= charge;
    const header = encodeHeader({ command, creditCharge: this.multiCredit ? charge : 0, credits: CREDIT_REQUEST, messageId, treeId: o.treeId, sessionId: this.sessionId });
    const plain = concat([header.finish(), body]);
    const security = this.security;
    const encrypt = security !== null && (this.encryptSession || (o.treeId !== undefined && this.encryptedTrees.has(o.treeId)));
    // §3.2.4.3: an SMB 3.x client signs TREE_CONNECT even when it signs nothing else.
    const sign = !encrypt && security !== null && (this.signWith !== null || (command === COMMAND.treeConnect && this.dialect >= DIALECTS['3.0']));
    const nonce = encrypt ? this.nonce() : null;
    const note = encrypt ? ' (encrypted)' : sign ? ` (signed ${this.sessionAlg})` : '';
    // Requests leave in MessageId order, whichever signature or seal finishes first.
    const job = this.outgoing.then(async () => {
      let msg = plain;
      if (nonce) msg = await security!.seal(nonce, this.sessionId, plain);
      else if (sign) await security!.sign(msg);
      await this.conn.write(transportFrame(msg), { decode: `${commandName(command)} request #${messageId}${o.what ? ` ${o.what}` : ''}${note}` });
    });
    this.outgoing = job.catch(() => undefined);
    await job;
    return messageId;
  }

  /** The cipher's nonce (12 bytes for AES-GCM, 11 for AES-CCM): a counter, random above it, never repeated in the session (§3.1.4.3). */
  private nonce(): Uint8Array {
    const out = this.ctx.crypto.randomBytes(nonceLength(this.cipher!));
    new DataView(out.buffer).setBigUint64(0, this.nonceCounter++, true);
    return out;
  }

  /** The final response to `messageId`; STATUS_PENDING interim answers are waited through. */
  async receive(messageId: bigint): Promise<Response> {
    for (;;) {
      const waiting = this.early.get(messageId);
      if (waiting) {
        this.early.delete(messageId);
        return waiting;
      }
      const got = await this.readOne();
      if (got.header.flags & FLAGS.async && got.header.status === STATUS.PENDING) continue;
      if (got.header.messageId === messageId) return got;
      if (this.early.size > 256) throw new ProtocolError('SMB: more than 256 responses arrived for other requests');
      this.early.set(got.header.messageId, got);
    }
  }

  private async readOne(): Promise<Response> {
    const raw = await this.conn.readFrame(frame, 'SMB message', (m) => describeIncoming(m));
    let msg = raw;
    let encrypted = false;
    if (raw.length >= 4 && new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0, true) === TRANSFORM_MAGIC) {
      if (!this.security) throw new ProtocolError('SMB: an encrypted message before the session had keys');
      msg = await this.security.open(raw, this.sessionId);
      encrypted = true;
      this.verified++;
    }
    const header = decodeHeader(msg);
    if (header.nextCommand !== 0) throw new ProtocolError('SMB: a compounded response to a request that was not compounded');
    this.credits += header.credits;
    if (this.credits > 65535) this.credits = 65535;
    const interim = header.flags & FLAGS.async && header.status === STATUS.PENDING;
    if (!encrypted && this.signWith && this.security && header.sessionId === this.sessionId && !interim) {
      if (!(header.flags & FLAGS.signed)) {
        if (header.status === STATUS.SUCCESS) throw new ProtocolError(`SMB: an unsigned ${commandName(header.command)} response on a signed session`);
      } else {
        if (!(await this.security!.verify(msg))) throw new ProtocolError(`SMB: the ${commandName(header.command)} response's ${this.signWith} signature does not match the session's key`);
        this.verified++;
      }
    }
    return { header, msg, encrypted };
  }

  /** One request and its response; a status other than SUCCESS (or one of `ok`) throws the server's status. */
  async call(command: number, body: Uint8Array, o: { treeId?: number; charge?: number; what?: string; ok?: number[]; explain?: (status: number) => string } = {}): Promise<Response> {
    const id = await this.send(command, body, o);
    const r = await this.receive(id);
    if (r.header.status !== STATUS.SUCCESS && !(o.ok ?? []).includes(r.header.status)) {
      decodeErrorResponse(r.msg);
      throw statusError(`${commandName(command)}${o.what ? ` ${o.what}` : ''}`, r.header.status, o.explain?.(r.header.status));
    }
    return r;
  }

  /** §3.2.4.2.2.2: NEGOTIATE with the dialects asked; 3.1.1 brings its contexts (preauth SHA-512, ciphers, signing). */
  async negotiate(o: NegotiateOptions): Promise<NegotiateResponse> {
    const body = negotiateBody({
      dialects: o.dialects,
      securityMode: o.requireSigning ? SECURITY_MODE.signingEnabled | SECURITY_MODE.signingRequired : SECURITY_MODE.signingEnabled,
      capabilities: CAPABILITIES.largeMtu | CAPABILITIES.encryption,
      clientGuid: this.ctx.crypto.randomBytes(16),
      salt: this.ctx.crypto.randomBytes(32),
      ciphers: o.ciphers ?? DEFAULT_CIPHERS,
      signing: [SIGNING_ALGORITHMS['AES-GMAC'], SIGNING_ALGORITHMS['AES-CMAC'], SIGNING_ALGORITHMS['HMAC-SHA256']],
    });
    const request = concat([encodeHeader({ command: COMMAND.negotiate, creditCharge: 0, credits: CREDIT_REQUEST, messageId: 0n }).finish(), body]);
    this.nextMessageId = 1n;
    this.credits = 0;
    await this.conn.write(transportFrame(request), { decode: `NEGOTIATE request: dialects ${o.dialects.map((d) => `0x${d.toString(16)}`).join(' ')}` });
    const r = await this.readOne();
    if (r.header.command !== COMMAND.negotiate) throw new ProtocolError(`SMB: ${commandName(r.header.command)} in answer to NEGOTIATE`);
    if (r.header.status !== STATUS.SUCCESS) throw statusError('NEGOTIATE', r.header.status, 'the server accepts none of the dialects offered');
    const n = decodeNegotiateResponse(r.msg);
    if (!o.dialects.includes(n.dialect)) throw new ProtocolError(`SMB: the server chose dialect 0x${n.dialect.toString(16)}, which was not offered`);
    if (n.dialect === DIALECTS['3.1.1']) {
      if (n.preauthHash !== 1) throw new ProtocolError('SMB: a 3.1.1 server must choose SHA-512 preauth integrity');
      this.preauth = preauthStep(preauthStep(PREAUTH_START, request), r.msg);
    }
    this.negotiated = n;
    this.cipher = sessionCipher(n);
    return n;
  }

  /** The first SESSION_SETUP leg: SPNEGO with NTLMSSP NEGOTIATE; the server's CHALLENGE names it (domain, host, clock). */
  async ntlmChallenge(): Promise<{ challenge: Challenge; hash: Uint8Array; mech: string | null }> {
    const first = sessionSetupBody(SECURITY_MODE.signingEnabled, spnegoInit(negotiateMessage()));
    const leg1 = this.nextMessageId;
    const sent1 = await this.sendRaw(COMMAND.sessionSetup, first, { decode: `SESSION_SETUP request #${leg1} SPNEGO NegTokenInit (NTLMSSP NEGOTIATE)` });
    const r1 = await this.receive(leg1);
    if (r1.header.status !== STATUS.MORE_PROCESSING_REQUIRED) throw statusError('SESSION_SETUP (NTLMSSP NEGOTIATE)', r1.header.status);
    this.sessionId = r1.header.sessionId;
    const spnego = decodeSpnegoResponse(decodeSessionSetupResponse(r1.msg).blob);
    if (!spnego.token) throw new AuthError('SESSION_SETUP: the server\'s SPNEGO answer carries no NTLMSSP challenge');
    return { challenge: decodeChallenge(spnego.token), hash: preauthStep(preauthStep(this.preauth, sent1), r1.msg), mech: spnego.mech };
  }

  /**
   * SESSION_SETUP with NTLMSSP (NTLMv2) in SPNEGO, two legs. `sign`: sign every request once authenticated
   * (also when the server does not require it). Guests and null sessions have no key: nothing is signed.
   */
  async sessionSetup(creds: Credentials, o: { sign: boolean }): Promise<Session> {
    const n = this.negotiated!;
    const securityMode = SECURITY_MODE.signingEnabled;
    const leg1 = await this.ntlmChallenge();
    const challenge = leg1.challenge;
    let sessionHash = leg1.hash;
    const { message, sessionBaseKey } = authenticateMessage(this.ctx.crypto, creds, challenge, Date.now());
    const second = sessionSetupBody(securityMode, spnegoResponse(message));
    const leg2 = this.nextMessageId;
    const sent2 = await this.sendRaw(COMMAND.sessionSetup, second, { secret: true, decode: `SESSION_SETUP request #${leg2} NTLMSSP AUTHENTICATE user ${JSON.stringify(creds.domain ? `${creds.domain}\\${creds.user}` : creds.user)} NTLMv2 response (password masked)` });
    sessionHash = preauthStep(sessionHash, sent2);
    const r2 = await this.receive(leg2);
    if (r2.header.status !== STATUS.SUCCESS) throw statusError('SESSION_SETUP (NTLMSSP AUTHENTICATE)', r2.header.status, r2.header.status === STATUS.LOGON_FAILURE ? 'wrong user name or password' : '');
    const s2 = decodeSessionSetupResponse(r2.msg);
    const guest = (s2.sessionFlags & (SESSION_FLAGS.isGuest | SESSION_FLAGS.isNull)) !== 0;
    const session: Session = { id: this.sessionId, flags: s2.sessionFlags, guest, signingAlgorithm: null, challenge, encrypted: false };
    if (!guest) {
      this.keys = deriveKeys(n.dialect, sessionBaseKey, sessionHash, this.cipher);
      const required = (n.securityMode & SECURITY_MODE.signingRequired) !== 0;
      const alg = signingAlgorithmOf(n.dialect, n.signingAlgorithm);
      this.sessionAlg = alg;
      this.security = await messageSecurity(this.ctx.crypto.subtle, alg, this.keys, this.cipher);
      // §3.2.5.3.1: the final SESSION_SETUP response is signed by the server whenever it can be: check it.
      if (r2.header.flags & FLAGS.signed) {
        if (!(await this.security.verify(r2.msg))) throw new AuthError(`SESSION_SETUP: the server's ${alg} signature does not match the key derived from the password (the server did not derive the same session key)`);
        this.verified++;
      }
      if (o.sign || required) this.signWith = alg;
      session.signingAlgorithm = this.signWith;
      if (s2.sessionFlags & SESSION_FLAGS.encryptData) {
        this.requireCipher('the session');
        this.encryptSession = true;
        session.encrypted = true;
      }
    }
    return session;
  }

  private requireCipher(what: string): void {
    const n = this.negotiated!;
    if (this.cipher === null) {
      throw new ServerError(`${what} requires SMB3 encryption, and the negotiation settled on no cipher (dialect ${dialectName(n.dialect)}${n.dialect < DIALECTS['3.0'] ? ': encryption needs SMB 3.0 or later' : n.dialect === DIALECTS['3.1.1'] ? ': the server chose none of the ciphers offered' : ': the server did not announce the encryption capability'})`);
    }
  }

  /** Sends a SESSION_SETUP leg as is (never signed or encrypted) and returns its bytes for the preauth hash. */
  private async sendRaw(command: number, body: Uint8Array, rec: { secret?: boolean; decode: string }): Promise<Uint8Array> {
    if (this.credits < 1) throw new ProtocolError(`SMB: ${commandName(command)} needs a credit and the server granted none`);
    const messageId = this.nextMessageId;
    this.nextMessageId += 1n;
    this.credits -= 1;
    const msg = concat([encodeHeader({ command, creditCharge: this.multiCredit ? 1 : 0, credits: CREDIT_REQUEST, messageId, sessionId: this.sessionId }).finish(), body]);
    await this.conn.write(transportFrame(msg), rec);
    return msg;
  }

  /** TREE_CONNECT to \\host\share; a share that asks for encryption gets it on every later request. */
  async treeConnect(host: string, share: string): Promise<Tree> {
    const path = `\\\\${host}\\${share}`;
    const r = await this.call(COMMAND.treeConnect, treeConnectBody(path), {
      what: path,
      explain: (s) => (s === STATUS.ACCESS_DENIED && !this.keys ? 'a guest or anonymous session cannot open it, or it requires encryption, which needs an authenticated SMB3 session' : s === STATUS.BAD_NETWORK_NAME ? 'no such share' : ''),
    });
    const t = decodeTreeConnectResponse(r.msg);
    const tree: Tree = { ...t, id: r.header.treeId, share, encrypted: this.encryptSession };
    if (t.shareFlags & SHARE_FLAGS.encryptData) {
      if (!this.keys) throw new ServerError(`TREE_CONNECT ${path}: the share requires encryption, and a guest session has no keys to encrypt with`);
      this.requireCipher(`the share ${share}`);
      this.encryptedTrees.add(tree.id);
      tree.encrypted = true;
    }
    return tree;
  }

  async logoff(): Promise<void> {
    const id = await this.send(COMMAND.logoff, Uint8Array.of(4, 0, 0, 0), { what: '' });
    await this.receive(id);
  }
}

/** A transcript line for a received message. */
function describeIncoming(m: Uint8Array): string {
  if (m.length >= 4 && m[0] === 0xfd) return `encrypted message (${m.length} bytes)`;
  try {
    const h = decodeHeader(m);
    return `${commandName(h.command)} response #${h.messageId}: ${statusName(h.status)}${h.flags & FLAGS.signed ? ' (signed)' : ''}, ${h.credits} credits`;
  } catch {
    return `${m.length} bytes`;
  }
}
