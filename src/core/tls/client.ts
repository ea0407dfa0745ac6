// A TLS client, sans-I/O: TLS 1.3 (RFC 8446) and TLS 1.2 (RFC 5246 with ECDHE per RFC 8422, the extended master
// secret of RFC 7627 and the renegotiation indication of RFC 5746; renegotiation itself is refused), with SNI
// (RFC 6066 §3), ALPN (RFC 7301), record_size_limit (RFC 8449), HelloRetryRequest, KeyUpdate, close_notify and
// client certificates in both versions.
//
// How it works: the caller feeds the bytes the server sent (`receive`) and sends what `takeOutgoing` hands back; the
// engine never touches a socket or a timer. Records are cut with `recordFrame` and unprotected with the current read
// keys; handshake messages are reassembled with `handshakeFrame` and run through one state machine per version:
//
//   1.3: ClientHello → [HelloRetryRequest → ClientHello] → ServerHello → EncryptedExtensions → [CertificateRequest]
//        → Certificate → CertificateVerify → Finished  ⇒  [Certificate → CertificateVerify] → Finished; then
//        NewSessionTicket and KeyUpdate may come at any time.
//        Resuming (§2.2): the ClientHello offers a ticket's PSK with its binder; a server that accepts it skips
//        Certificate and CertificateVerify, and the session keeps the chain verified when the ticket was issued.
//   1.2: ClientHello → ServerHello → Certificate → ServerKeyExchange → [CertificateRequest] → ServerHelloDone
//        ⇒  [Certificate] → ClientKeyExchange → [CertificateVerify] → ChangeCipherSpec → Finished
//        ⇐  [NewSessionTicket] → ChangeCipherSpec → Finished.
//
// Every message out of order is unexpected_message; every value the server chooses is checked against what was
// offered (version, suite, group, signature scheme, ALPN, extensions). A failure sends the alert it names, once, and
// leaves the engine failed: every later call throws the same error. Writes (application data, KeyUpdate answers,
// alerts) are sealed in one queue, so their sequence numbers follow the order the bytes leave.
import { concat, constantTimeEqual, equalBytes, utf8 } from '../bytes.ts';
import { ProtocolError, PortolanError } from '../errors.ts';
import { parseIp } from '../ip.ts';
import { CertificateError, TlsError } from './errors.ts';
import * as hs from './handshake.ts';
import { KeySchedule13, extendedMasterSecret, finishedMac12, finishedMac13, keyBlock12, nextTrafficSecret, ticketPsk, trafficKeys } from './keys.ts';
import type { ClientIdentity } from './pem.ts';
import { generateKeyShare, hashFn, hashLength, runningHash, schemeAlgorithm, verifySignature, type KeyShare, type RunningHash, type Subtle } from './primitives.ts';
import { plainRecords, protection12, protection13, recordFrame, type RecordProtection, type TlsRecord } from './record.ts';
import type { VerifiedChain } from './verify.ts';
import { describeCertificate, fingerprintText, type Certificate } from './x509.ts';
import {
  AlertDescription,
  CIPHER_SUITES,
  ContentType,
  DOWNGRADE_TLS11,
  DOWNGRADE_TLS12,
  ExtensionType,
  GROUPS,
  HandshakeType,
  MAX_PLAINTEXT,
  SIGNATURE_SCHEMES,
  TLS12,
  TLS13,
  alertName,
  cipherSuite,
  cipherSuiteName,
  extensionName,
  groupById,
  groupName,
  handshakeName,
  signatureScheme,
  signatureSchemeName,
  type CipherSuite,
  type GroupName,
  type HashAlgorithm,
  type SignatureScheme,
} from './wire.ts';

export type TlsProtocolVersion = 'TLSv1.2' | 'TLSv1.3';

/** One line of the handshake as the transcript shows it: messages decoded, never keys. */
export interface TlsEvent {
  dir: 'in' | 'out';
  /** The message as it travelled (handshake header included), when there is one to show. */
  raw?: Uint8Array;
  decode: string;
}

export interface TlsClientConfig {
  /** The name the user gave: SNI (unless an IP literal) and the certificate's name check. */
  serverName: string;
  alpn?: readonly string[];
  minVersion?: TlsProtocolVersion;
  maxVersion?: TlsProtocolVersion;
  /** Cipher suite ids to offer, in order (default: every suite of the versions offered). */
  cipherSuites?: readonly number[];
  /** Groups to offer, in order; the first gets a key share (default x25519, secp256r1, secp384r1). */
  groups?: readonly GroupName[];
  /** Signature scheme ids to accept, in order (default: all the engine verifies). */
  signatureSchemes?: readonly number[];
  /** Decides whether the server's chain is trusted; throws CertificateError when not. */
  verify(chain: readonly Uint8Array[]): Promise<VerifiedChain>;
  /** A certificate and key for a server that asks for one. */
  clientIdentity?: ClientIdentity;
  subtle: Subtle;
  randomBytes(n: number): Uint8Array;
  /** Called for each handshake message, alert and ChangeCipherSpec, in both directions. */
  onEvent?(event: TlsEvent): void;
  /** A ticket from an earlier TLS 1.3 connection to the same server, offered for resumption (RFC 8446 §2.2). */
  resume?: TlsTicket;
  /** The clock for ticket ages, in milliseconds (default Date.now). */
  now?(): number;
}

/**
 * A TLS 1.3 session ticket (RFC 8446 §4.6.1) with what resuming needs: the PSK it stands for, and the session it
 * came from (its suite's hash, the server's name, the chain verified then).
 */
export interface TlsTicket {
  serverName: string;
  identity: Uint8Array;
  psk: Uint8Array;
  hash: HashAlgorithm;
  ageAdd: number;
  /** Seconds the server lets the ticket live. */
  lifetime: number;
  /** When it arrived (the `now` clock, ms). */
  receivedAt: number;
  alpn: string | null;
  presented: Certificate[];
  verified: VerifiedChain;
  signatureScheme: string;
}

/** What was negotiated, once the handshake is done. */
export interface TlsSessionInfo {
  version: TlsProtocolVersion;
  cipherSuite: CipherSuite;
  group: GroupName;
  /** The server's signature scheme (CertificateVerify or ServerKeyExchange). */
  signatureScheme: string;
  alpn: string | null;
  /** The certificates the server sent, leaf first. */
  presented: Certificate[];
  /** How the leaf was trusted and the path to the anchor. */
  verified: VerifiedChain;
  helloRetry: boolean;
  clientCertificateSent: boolean;
  extendedMasterSecret: boolean;
  /** The server's record_size_limit, when it sent one. */
  recordSizeLimit?: number;
  /** The server accepted the ticket offered: no certificate this time, the chain is the one verified when it was issued. */
  resumed: boolean;
}

type State =
  | 'start'
  | 'wait_sh'
  | 'wait_ee'
  | 'wait_cert_cr'
  | 'wait_cert'
  | 'wait_cv'
  | 'wait_finished'
  | 'wait_cert12'
  | 'wait_ske'
  | 'wait_cr_done'
  | 'wait_done'
  | 'wait_ccs12'
  | 'wait_finished12'
  | 'connected'
  | 'closed'
  | 'failed';

const VERSION_RANK: Record<TlsProtocolVersion, number> = { 'TLSv1.2': TLS12, 'TLSv1.3': TLS13 };
const CV_SERVER_CONTEXT = utf8('TLS 1.3, server CertificateVerify');
const CV_CLIENT_CONTEXT = utf8('TLS 1.3, client CertificateVerify');
/** Our own receive limit, announced with record_size_limit: the full 2^14 plus the 1.3 content type. */
const OUR_RECORD_LIMIT = MAX_PLAINTEXT + 1;
/** Records we seal with one 1.3 key before updating it (well under the AES-GCM limits of RFC 8446 §5.5). */
const KEY_UPDATE_AFTER = 1n << 23n;
/** Tickets kept per connection (servers send one or two). */
const MAX_TICKETS = 4;

const unexpected = (what: string) => new TlsError(AlertDescription.unexpectedMessage, what);
const illegal = (what: string) => new TlsError(AlertDescription.illegalParameter, what);

export class TlsClient {
  private state: State = 'start';
  private failure: PortolanError | undefined;
  private readonly out: Uint8Array[] = [];
  private readonly appData: Uint8Array[] = [];
  private received: Uint8Array = new Uint8Array(0);
  private handshakeBuffer: Uint8Array = new Uint8Array(0);
  private read: RecordProtection | undefined;
  private write: RecordProtection | undefined;
  private writeQueue: Promise<unknown> = Promise.resolve();
  private peerClosed = false;
  private closeSent = false;
  /** RFC 8446 §D.4: one compatibility ChangeCipherSpec, before the second ClientHello or the second flight. */
  private ccsSent = false;

  // What we offered.
  private readonly offeredSuites: CipherSuite[];
  private readonly offeredGroups: GroupName[];
  private readonly offeredSchemes: SignatureScheme[];
  private readonly offerVersions: number[];
  private clientRandom: Uint8Array = new Uint8Array(32);
  private sessionId: Uint8Array = new Uint8Array(0);
  private shares = new Map<GroupName, KeyShare>();
  private helloParams: hs.ClientHelloParams | undefined;

  // What the server chose.
  private version = 0;
  private suite: CipherSuite | undefined;
  private group: GroupName | undefined;
  private serverRandom: Uint8Array = new Uint8Array(32);
  private helloRetried = false;
  private alpn: string | null = null;
  private recordLimit: number | undefined;
  private presented: Certificate[] = [];
  private verified: VerifiedChain | undefined;
  private serverScheme = '';
  private certRequest: hs.CertificateRequest | undefined;
  private ems = false;
  private clientCertSent = false;
  /** The ticket offered in the ClientHello in flight, and whether the server took it. */
  private offeredTicket: TlsTicket | undefined;
  private resumed = false;
  private resumptionMaster: Uint8Array | undefined;
  /** Tickets the server issued on this connection, newest last. */
  readonly tickets: TlsTicket[] = [];

  // Transcript: raw handshake messages, and their running hash once the suite is known.
  private messages: Uint8Array[] = [];
  private hash: RunningHash | undefined;

  // TLS 1.3 secrets.
  private schedule: KeySchedule13 | undefined;
  private clientHs: Uint8Array | undefined;
  private serverHs: Uint8Array | undefined;
  private clientAp: Uint8Array | undefined;
  private serverAp: Uint8Array | undefined;

  // TLS 1.2.
  private ske: hs.ServerKeyExchange | undefined;
  private master12: Uint8Array | undefined;
  private pending12: { client: RecordProtection; server: RecordProtection } | undefined;

  constructor(private readonly config: TlsClientConfig) {
    const min = VERSION_RANK[config.minVersion ?? 'TLSv1.2'];
    const max = VERSION_RANK[config.maxVersion ?? 'TLSv1.3'];
    if (min > max) throw new TlsError(AlertDescription.internalError, `minVersion ${config.minVersion} is above maxVersion ${config.maxVersion}`);
    this.offerVersions = [TLS13, TLS12].filter((v) => v >= min && v <= max);
    const ids = config.cipherSuites ?? CIPHER_SUITES.map((s) => s.id);
    this.offeredSuites = ids.map((id) => cipherSuite(id)).filter((s): s is CipherSuite => !!s && this.offerVersions.includes(s.version));
    if (this.offeredSuites.length === 0) throw new TlsError(AlertDescription.internalError, 'no cipher suite left to offer for the TLS versions asked for');
    this.offeredGroups = [...(config.groups ?? GROUPS.map((g) => g.name))];
    const schemeIds = config.signatureSchemes ?? SIGNATURE_SCHEMES.map((s) => s.id);
    this.offeredSchemes = schemeIds.map((id) => signatureScheme(id)).filter((s): s is SignatureScheme => !!s);
  }

  /** True once the handshake has completed and application data may flow. */
  get connected(): boolean {
    return this.state === 'connected';
  }

  /** True once the server has sent close_notify: no more data will come. */
  get ended(): boolean {
    return this.peerClosed;
  }

  get info(): TlsSessionInfo | undefined {
    if (!this.suite || !this.verified || !this.group) return undefined;
    return {
      version: this.version === TLS13 ? 'TLSv1.3' : 'TLSv1.2',
      cipherSuite: this.suite,
      group: this.group,
      signatureScheme: this.serverScheme,
      alpn: this.alpn,
      presented: this.presented,
      verified: this.verified,
      helloRetry: this.helloRetried,
      clientCertificateSent: this.clientCertSent,
      extendedMasterSecret: this.ems,
      recordSizeLimit: this.recordLimit,
      resumed: this.resumed,
    };
  }

  /** Bytes to send to the server, in order; empties the queue. */
  takeOutgoing(): Uint8Array[] {
    return this.out.splice(0);
  }

  /** Application data received, in order; empties the queue. */
  takeAppData(): Uint8Array[] {
    return this.appData.splice(0);
  }

  private now(): number {
    return this.config.now ? this.config.now() : Date.now();
  }

  private event(dir: 'in' | 'out', decode: string, raw?: Uint8Array): void {
    this.config.onEvent?.({ dir, decode, raw });
  }

  /** Queues the ClientHello. */
  async start(): Promise<void> {
    if (this.state !== 'start') throw new TlsError(AlertDescription.internalError, 'the handshake has already started');
    await this.guarded(async () => {
      this.clientRandom = this.config.randomBytes(32);
      // RFC 8446 §D.4: a non-empty legacy_session_id makes 1.3 look like 1.2 resumption to middleboxes.
      this.sessionId = this.offerVersions.includes(TLS13) ? this.config.randomBytes(32) : new Uint8Array(0);
      const first = this.offeredGroups[0];
      if (first) this.shares.set(first, await generateKeyShare(this.config.subtle, first, this.config.randomBytes));
      this.sendClientHello();
      this.state = 'wait_sh';
    });
  }

  private sendClientHello(cookie?: Uint8Array): void {
    const offers13 = this.offerVersions.includes(TLS13);
    const name = this.config.serverName;
    // §4.2.11: a ticket is offered only with a suite of its hash (after a HelloRetryRequest, the suite chosen there);
    // those suites go first, since a server picks its suite before it looks at the ticket.
    const ticket = this.config.resume;
    const fits = ticket && offers13 && ticket.serverName === name && (this.suite ? this.suite.hash === ticket.hash : this.offeredSuites.some((s) => s.version === TLS13 && s.hash === ticket.hash));
    this.offeredTicket = fits ? ticket : undefined;
    const suites = this.offeredTicket ? [...this.offeredSuites].sort((a, b) => Number(b.hash === ticket!.hash && b.version === TLS13) - Number(a.hash === ticket!.hash && a.version === TLS13)) : this.offeredSuites;
    const params: hs.ClientHelloParams = {
      random: this.clientRandom,
      sessionId: this.sessionId,
      cipherSuites: suites.map((s) => s.id),
      serverName: parseIp(name.replace(/^\[|\]$/g, '')) ? undefined : name.replace(/\.$/, ''),
      groups: this.offeredGroups.map((g) => GROUPS.find((x) => x.name === g)!.id),
      keyShares: offers13 ? [...this.shares.values()].map((k) => ({ group: GROUPS.find((x) => x.name === k.group)!.id, key: k.publicKey })) : [],
      signatureSchemes: this.offeredSchemes.map((s) => s.id),
      alpn: this.config.alpn,
      versions: offers13 ? this.offerVersions : undefined,
      tls12: this.offerVersions.includes(TLS12),
      cookie,
      recordSizeLimit: OUR_RECORD_LIMIT,
    };
    if (this.offeredTicket) {
      const t = this.offeredTicket;
      const ageMs = Math.max(0, Math.round(this.now() - t.receivedAt));
      params.psk = [{ identity: t.identity, obfuscatedAge: (ageMs + t.ageAdd) >>> 0, binderLength: hashLength(t.hash) }];
    }
    this.helloParams = params;
    const message = hs.handshakeMessage(HandshakeType.clientHello, hs.encodeClientHello(params));
    if (this.offeredTicket) {
      // §4.2.11.2: the binder is a Finished MAC over the transcript up to the ClientHello without its binders list.
      const t = this.offeredTicket;
      const partial = message.subarray(0, message.length - hs.bindersLength([hashLength(t.hash)]));
      const binderKey = new KeySchedule13(t.hash, t.psk).binderKey();
      hs.patchBinders(message, [finishedMac13(t.hash, binderKey, hashFn(t.hash)(concat([...this.messages, partial])))]);
    }
    this.addTranscript(message);
    this.event('out', hs.describeClientHello(params), message);
    // RFC 8446 §5.1: legacy_record_version 0x0301 for the first ClientHello.
    this.out.push(...plainRecords(ContentType.handshake, message, cookie || this.helloRetried ? TLS12 : 0x0301));
  }

  /**
   * Feeds bytes from the server. Resolves once every whole record has been handled; queues what must be sent.
   * Throws TlsError (or CertificateError) when the handshake or the stream fails, after queuing the alert.
   */
  async receive(bytes: Uint8Array): Promise<void> {
    await this.guarded(async () => {
      this.received = this.received.length === 0 ? bytes : concat([this.received, bytes]);
      for (;;) {
        if (this.peerClosed || this.received.length === 0) return;
        let got;
        try {
          got = recordFrame(this.received);
        } catch (e) {
          throw fromProtocolError(e);
        }
        if (!got) return;
        this.received = this.received.subarray(got.size);
        await this.handleRecord(got.value);
      }
    });
  }

  /** Runs `fn`; a failure is remembered, its alert queued, and thrown again on every later call. */
  private async guarded<T>(fn: () => Promise<T>): Promise<T> {
    if (this.failure) throw this.failure;
    try {
      return await fn();
    } catch (e) {
      const err = e instanceof PortolanError ? (e instanceof ProtocolError ? fromProtocolError(e) : e) : new TlsError(AlertDescription.internalError, `TLS engine failure: ${(e as Error)?.message ?? e}`);
      if (!this.failure) {
        this.failure = err;
        const alert = err instanceof TlsError ? err.alert : err instanceof CertificateError ? err.alert : AlertDescription.internalError;
        // An alert the server sent is not answered.
        if (!(err instanceof TlsError && err.detail?.by === 'server')) await this.sendAlert(alert).catch(() => {});
        this.state = 'failed';
      }
      throw this.failure;
    }
  }

  private async handleRecord(record: TlsRecord): Promise<void> {
    // §5.1: ChangeCipherSpec in 1.3 is a compatibility no-op, unprotected, one byte 0x01, only during the handshake.
    if (record.type === ContentType.changeCipherSpec) return this.handleChangeCipherSpec(record);
    let type = record.type;
    let content = record.fragment;
    if (this.read) {
      ({ type, content } = await this.read.open(record));
    } else if (content.length > MAX_PLAINTEXT) {
      throw new TlsError(AlertDescription.recordOverflow, `a plaintext record of ${content.length} bytes exceeds 2^14 (record_overflow)`);
    }
    switch (type) {
      case ContentType.alert:
        return this.handleAlert(content);
      case ContentType.handshake:
        if (content.length === 0) throw unexpected('an empty handshake record (RFC 8446 §5.1)');
        this.handshakeBuffer = this.handshakeBuffer.length === 0 ? content.slice() : concat([this.handshakeBuffer, content]);
        for (;;) {
          let got;
          try {
            got = hs.handshakeFrame(this.handshakeBuffer);
          } catch (e) {
            throw fromProtocolError(e);
          }
          if (!got) break;
          this.handshakeBuffer = this.handshakeBuffer.subarray(got.size);
          await this.handleHandshake(got.value);
          if (this.failure || this.peerClosed) return;
        }
        return;
      case ContentType.applicationData:
        if (this.state !== 'connected') throw unexpected('application data from the server before the handshake finished');
        if (this.handshakeBuffer.length > 0) throw unexpected('application data inside a fragmented handshake message');
        if (content.length > 0) this.appData.push(content.slice());
        return;
      default:
        throw unexpected(`a record of content type ${type}`);
    }
  }

  private handleChangeCipherSpec(record: TlsRecord): void {
    if (record.fragment.length !== 1 || record.fragment[0] !== 1) throw unexpected('a malformed ChangeCipherSpec');
    this.event('in', 'ChangeCipherSpec');
    if (this.version === TLS12) {
      if (this.state !== 'wait_ccs12') throw unexpected(`ChangeCipherSpec while ${this.state}`);
      if (this.handshakeBuffer.length > 0) throw unexpected('ChangeCipherSpec inside a fragmented handshake message');
      this.read = this.pending12!.server;
      this.state = 'wait_finished12';
      return;
    }
    // 1.3 (or not yet known): allowed between the first ClientHello and the server's Finished.
    if (this.state === 'connected' || this.state === 'start') throw unexpected('ChangeCipherSpec after the handshake (RFC 8446 §5)');
  }

  private handleAlert(content: Uint8Array): void {
    if (content.length !== 2) throw new TlsError(AlertDescription.decodeError, `an alert of ${content.length} bytes`);
    const [level, description] = content;
    this.event('in', `Alert ${level === 1 ? 'warning' : 'fatal'} ${alertName(description)}`);
    if (description === AlertDescription.closeNotify) {
      this.peerClosed = true;
      return;
    }
    // 1.2 warning alerts other than close_notify are noted and skipped; in 1.3 every other alert is fatal (§6.2).
    if (level === 1 && this.version === TLS12 && description === AlertDescription.userCanceled) return;
    const during = this.state === 'connected' ? '' : ' during the handshake';
    // A server that asked for a client certificate and got none may say so only with a generic alert.
    const unanswered = this.certRequest && !this.clientCertSent && description !== AlertDescription.certificateRequired;
    const why = unanswered ? ': it asked for a client certificate and none was sent' : hint(description);
    throw new TlsError(description, `the server sent the alert ${alertName(description)}${during}${why}`, { by: 'server' });
  }

  private addTranscript(raw: Uint8Array): void {
    this.messages.push(raw);
    this.hash?.update(raw);
  }

  private transcriptHash(): Uint8Array {
    return this.hash!.digest();
  }

  private startHash(suite: CipherSuite): void {
    this.hash = runningHash(suite.hash);
    for (const m of this.messages) this.hash.update(m);
  }

  private async handleHandshake(m: hs.HandshakeMessage): Promise<void> {
    const s = this.state;
    // After the handshake: tickets, key updates, and (1.2) a request to renegotiate, which is refused.
    if (s === 'connected') return this.postHandshake(m);
    const expect = (...types: number[]) => {
      if (!types.includes(m.type)) throw unexpected(`${handshakeName(m.type)} from the server while waiting for ${types.map(handshakeName).join(' or ')}`);
    };
    switch (s) {
      case 'wait_sh':
        expect(HandshakeType.serverHello);
        return this.onServerHello(m);
      case 'wait_ee':
        expect(HandshakeType.encryptedExtensions);
        return this.onEncryptedExtensions(m);
      case 'wait_cert_cr':
        expect(HandshakeType.certificate, HandshakeType.certificateRequest);
        if (m.type === HandshakeType.certificateRequest) return this.onCertificateRequest13(m);
        return this.onCertificate(m, true);
      case 'wait_cert':
        expect(HandshakeType.certificate);
        return this.onCertificate(m, true);
      case 'wait_cv':
        expect(HandshakeType.certificateVerify);
        return this.onCertificateVerify(m);
      case 'wait_finished':
        expect(HandshakeType.finished);
        return this.onFinished13(m);
      case 'wait_cert12':
        if (m.type === HandshakeType.helloRequest) return;
        expect(HandshakeType.certificate);
        return this.onCertificate(m, false);
      case 'wait_ske':
        expect(HandshakeType.serverKeyExchange);
        return this.onServerKeyExchange(m);
      case 'wait_cr_done':
        expect(HandshakeType.certificateRequest, HandshakeType.serverHelloDone);
        if (m.type === HandshakeType.certificateRequest) {
          this.addTranscript(m.raw);
          this.certRequest = hs.decodeCertificateRequest12(m.body);
          this.event('in', hs.describeCertificateRequest(this.certRequest), m.raw);
          this.state = 'wait_done';
          return;
        }
        return this.onServerHelloDone(m);
      case 'wait_done':
        expect(HandshakeType.serverHelloDone);
        return this.onServerHelloDone(m);
      case 'wait_ccs12':
        expect(HandshakeType.newSessionTicket);
        this.addTranscript(m.raw);
        this.event('in', `NewSessionTicket (TLS 1.2), ${hs.decodeNewSessionTicket12(m.body).ticket.length}-byte ticket`, m.raw);
        return;
      case 'wait_finished12':
        expect(HandshakeType.finished);
        return this.onFinished12(m);
      default:
        throw unexpected(`${handshakeName(m.type)} in state ${s}`);
    }
  }

  // ServerHello, HelloRetryRequest, and the version decision.

  private async onServerHello(m: hs.HandshakeMessage): Promise<void> {
    const sh = hs.decodeServerHello(m.body);
    this.event('in', hs.describeServerHello(sh), m.raw);
    if (sh.compression !== 0) throw illegal(`the server chose compression method ${sh.compression} (only null is offered)`);
    let version: number;
    if (sh.selectedVersion !== undefined) {
      // §4.2.1: supported_versions in ServerHello names 1.3 and nothing older.
      if (!this.offerVersions.includes(TLS13)) throw new TlsError(AlertDescription.unsupportedExtension, 'the server answered supported_versions, which was not offered');
      if (sh.selectedVersion !== TLS13) throw illegal(`the server selected version 0x${sh.selectedVersion.toString(16)} in supported_versions, which only carries TLS 1.3 or later`);
      if (sh.legacyVersion !== TLS12) throw illegal('a TLS 1.3 ServerHello whose legacy_version is not 0x0303');
      version = TLS13;
    } else {
      if (sh.retry) throw illegal('a HelloRetryRequest without supported_versions');
      version = sh.legacyVersion;
      if (version !== TLS12 || !this.offerVersions.includes(TLS12)) {
        throw new TlsError(AlertDescription.protocolVersion, `the server chose ${version === TLS12 ? 'TLSv1.2' : `version 0x${version.toString(16)}`}, which was not offered (offered: ${this.offerVersions.map((v) => (v === TLS13 ? 'TLSv1.3' : 'TLSv1.2')).join(', ')})`);
      }
      // §4.1.3: a 1.3 server that negotiates 1.2 marks its random; seeing the mark while offering 1.3 is a downgrade.
      const tail = sh.random.subarray(24);
      if (this.offerVersions.includes(TLS13) && (equalBytes(tail, DOWNGRADE_TLS12) || equalBytes(tail, DOWNGRADE_TLS11))) {
        throw illegal('the ServerHello carries the TLS 1.3 downgrade sentinel (RFC 8446 §4.1.3): something between us and the server removed TLS 1.3 from the offer');
      }
    }
    if (this.helloRetried && sh.retry) throw unexpected('a second HelloRetryRequest (RFC 8446 §4.1.4)');
    if (this.version && version !== this.version) throw illegal('the ServerHello version differs from the HelloRetryRequest');
    const suite = this.offeredSuites.find((s) => s.id === sh.cipherSuite);
    if (!suite || suite.version !== version) throw illegal(`the server chose cipher suite ${cipherSuiteName(sh.cipherSuite)}, which was not offered for ${version === TLS13 ? 'TLSv1.3' : 'TLSv1.2'}`);
    if (this.suite && this.suite.id !== suite.id) throw illegal('the ServerHello cipher suite differs from the HelloRetryRequest (RFC 8446 §4.1.4)');
    this.version = version;
    if (!this.suite) {
      this.suite = suite;
      this.startHash(suite);
    }
    if (version === TLS13) {
      if (!equalBytes(sh.sessionId, this.sessionId)) throw illegal('the server did not echo legacy_session_id (RFC 8446 §4.1.3)');
      for (const type of sh.extensions.keys()) {
        const allowed: number[] = sh.retry ? [ExtensionType.supportedVersions, ExtensionType.keyShare, ExtensionType.cookie] : [ExtensionType.supportedVersions, ExtensionType.keyShare, ExtensionType.preSharedKey];
        if (!allowed.includes(type)) throw new TlsError(AlertDescription.unsupportedExtension, `${sh.retry ? 'HelloRetryRequest' : 'ServerHello'} carries ${extensionName(type)}, which it may not (RFC 8446 §4.2)`);
      }
      if (sh.retry) return this.onHelloRetry(sh, m);
      if (sh.selectedIdentity !== undefined) {
        if (!this.offeredTicket || sh.selectedIdentity !== 0) throw illegal(`the server accepted pre-shared key ${sh.selectedIdentity}, which was not offered`);
        if (suite.hash !== this.offeredTicket.hash) throw illegal(`the server resumed with ${suite.name}, whose hash is not the ticket's (RFC 8446 §4.2.11)`);
        this.resumed = true;
      }
      this.addTranscript(m.raw);
      if (!sh.keyShare?.key) throw new TlsError(AlertDescription.missingExtension, 'the TLS 1.3 ServerHello has no key_share');
      const group = groupById(sh.keyShare.group);
      const share = group && this.shares.get(group);
      if (!group || !share) throw illegal(`the server answered with a ${groupName(sh.keyShare.group)} key share, which was not offered (offered: ${[...this.shares.keys()].join(', ')})`);
      this.group = group;
      this.serverRandom = sh.random;
      const shared = await share.agree(sh.keyShare.key);
      this.schedule = new KeySchedule13(suite.hash, this.resumed ? this.offeredTicket!.psk : undefined);
      const secrets = this.schedule.handshake(shared, this.transcriptHash());
      this.clientHs = secrets.client;
      this.serverHs = secrets.server;
      this.requireRecordBoundary('ServerHello');
      const k = trafficKeys(suite.hash, secrets.server, suite.keyLength);
      this.read = await protection13(this.config.subtle, suite, k.key, k.iv);
      // From here our records (an alert, then our second flight) go under the client handshake traffic key.
      const ck = trafficKeys(suite.hash, secrets.client, suite.keyLength);
      this.write = await protection13(this.config.subtle, suite, ck.key, ck.iv);
      this.state = 'wait_ee';
      return;
    }
    // TLS 1.2.
    this.addTranscript(m.raw);
    this.serverRandom = sh.random;
    this.checkServerHello12(sh);
    this.state = 'wait_cert12';
  }

  private async onHelloRetry(sh: hs.ServerHello, m: hs.HandshakeMessage): Promise<void> {
    this.helloRetried = true;
    // §4.4.1: the first ClientHello is replaced in the transcript by message_hash ‖ Hash(ClientHello1).
    const ch1 = this.messages[0];
    const digest = hashFn(this.suite!.hash)(ch1);
    this.messages = [hs.handshakeMessage(HandshakeType.messageHash, digest)];
    this.startHash(this.suite!);
    this.addTranscript(m.raw);
    let changed = !!sh.cookie;
    if (sh.keyShare) {
      const group = groupById(sh.keyShare.group);
      if (!group || !this.offeredGroups.includes(group)) throw illegal(`the HelloRetryRequest asks for ${groupName(sh.keyShare.group)}, which was not offered`);
      if (this.shares.has(group)) throw illegal(`the HelloRetryRequest asks for ${group}, for which a key share was already sent (RFC 8446 §4.2.8)`);
      this.shares = new Map([[group, await generateKeyShare(this.config.subtle, group, this.config.randomBytes)]]);
      changed = true;
    }
    if (!changed) throw illegal('a HelloRetryRequest that changes nothing in the ClientHello (RFC 8446 §4.1.4)');
    this.requireRecordBoundary('HelloRetryRequest');
    // §D.4: in compatibility mode, a ChangeCipherSpec goes before the second ClientHello.
    this.sendCompatChangeCipherSpec();
    this.sendClientHello(sh.cookie);
    this.state = 'wait_sh';
  }

  private sendCompatChangeCipherSpec(): void {
    if (this.ccsSent) return;
    this.ccsSent = true;
    this.event('out', 'ChangeCipherSpec (compatibility, RFC 8446 §D.4)');
    this.out.push(...plainRecords(ContentType.changeCipherSpec, Uint8Array.of(1)));
  }

  private checkServerHello12(sh: hs.ServerHello): void {
    const offered = new Set<number>([ExtensionType.serverName, ExtensionType.ecPointFormats, ExtensionType.extendedMasterSecret, ExtensionType.renegotiationInfo, ExtensionType.alpn, ExtensionType.recordSizeLimit, ExtensionType.sessionTicket]);
    for (const type of sh.extensions.keys()) {
      if (!offered.has(type)) throw new TlsError(AlertDescription.unsupportedExtension, `the ServerHello carries ${extensionName(type)}, which was not offered`);
    }
    // RFC 5746 §3.4: an initial handshake's renegotiation_info is empty (one zero byte); RFC 7627 §5.3 extended master secret.
    const reneg = sh.extensions.get(ExtensionType.renegotiationInfo);
    if (!reneg) throw new TlsError(AlertDescription.handshakeFailure, 'the TLS 1.2 server does not support secure renegotiation indication (RFC 5746), which is required');
    if (reneg.length !== 1 || reneg[0] !== 0) throw new TlsError(AlertDescription.handshakeFailure, 'the server sent a non-empty renegotiation_info in an initial handshake (RFC 5746 §3.4)');
    if (!sh.extensions.has(ExtensionType.extendedMasterSecret)) throw new TlsError(AlertDescription.handshakeFailure, 'the TLS 1.2 server does not support the extended master secret (RFC 7627), which is required');
    this.ems = true;
    const alpn = sh.extensions.get(ExtensionType.alpn);
    if (alpn) this.acceptAlpn(hs.singleAlpn(alpn));
    const rsl = sh.extensions.get(ExtensionType.recordSizeLimit);
    if (rsl) this.recordLimit = hs.recordSizeLimit(rsl);
    const pf = sh.extensions.get(ExtensionType.ecPointFormats);
    if (pf && !(pf.length >= 2 && pf.subarray(1, 1 + pf[0]).includes(0))) throw illegal('the server does not accept uncompressed EC points (RFC 8422 §5.1.2)');
  }

  private acceptAlpn(name: string): void {
    if (!this.config.alpn?.includes(name)) throw illegal(`the server chose the ALPN protocol "${name}", which was not offered`);
    this.alpn = name;
  }

  /** §5.1: a message before a key change must end its record. */
  private requireRecordBoundary(what: string): void {
    if (this.handshakeBuffer.length > 0) throw unexpected(`handshake data after ${what} in the same record, across a key change (RFC 8446 §5.1)`);
  }

  // TLS 1.3 server flight.

  private onEncryptedExtensions(m: hs.HandshakeMessage): void {
    const ee = hs.decodeEncryptedExtensions(m.body);
    this.addTranscript(m.raw);
    this.event('in', hs.describeEncryptedExtensions(ee), m.raw);
    const allowed = new Set<number>([ExtensionType.serverName, ExtensionType.supportedGroups, ExtensionType.alpn, ExtensionType.recordSizeLimit, ExtensionType.maxFragmentLength, ExtensionType.earlyData, ExtensionType.ecPointFormats]);
    for (const type of ee.extensions.keys()) {
      if (!allowed.has(type)) throw new TlsError(AlertDescription.unsupportedExtension, `EncryptedExtensions carries ${extensionName(type)}, which it may not`);
    }
    if (ee.alpn) this.acceptAlpn(ee.alpn);
    if (ee.recordSizeLimit) this.recordLimit = ee.recordSizeLimit;
    if (this.resumed) {
      // §2.2: authenticated by the PSK; the server's identity is the one proven when the ticket was issued.
      const t = this.offeredTicket!;
      this.verified = t.verified;
      this.presented = t.presented;
      this.serverScheme = t.signatureScheme;
      this.state = 'wait_finished';
      return;
    }
    this.state = 'wait_cert_cr';
  }

  private onCertificateRequest13(m: hs.HandshakeMessage): void {
    this.certRequest = hs.decodeCertificateRequest13(m.body);
    this.addTranscript(m.raw);
    this.event('in', hs.describeCertificateRequest(this.certRequest), m.raw);
    this.state = 'wait_cert';
  }

  private async onCertificate(m: hs.HandshakeMessage, tls13: boolean): Promise<void> {
    const cert = hs.decodeCertificate(m.body, tls13);
    this.addTranscript(m.raw);
    if (tls13 && cert.context.length > 0) throw illegal('the server Certificate has a non-empty request context (RFC 8446 §4.4.2)');
    if (cert.certificates.length === 0) throw new TlsError(AlertDescription.decodeError, 'the server sent an empty certificate list');
    const verified = await this.config.verify(cert.certificates);
    this.verified = verified;
    // The chain as presented, for the API (the verified path may end at an anchor the server did not send).
    this.presented = verified.trust === 'pinned' ? verified.chain : verified.chain.filter((c) => cert.certificates.some((d) => equalBytes(d, c.der)));
    const leaf = verified.chain[0];
    this.event('in', `Certificate: ${cert.certificates.length} certificate(s); ${leaf.subject}, SHA-256 ${fingerprintText(leaf.fingerprintSha256)}; ${verified.trust === 'pinned' ? 'trusted by its pinned fingerprint' : `trusted through ${verified.anchor}`}`, m.raw);
    this.state = tls13 ? 'wait_cv' : 'wait_ske';
  }

  /** The scheme the server signed with: offered, fitting the leaf's key, and (1.3) never PKCS#1 v1.5 (§4.4.3). */
  private serverSignatureScheme(id: number, tls13: boolean): SignatureScheme {
    const scheme = this.offeredSchemes.find((s) => s.id === id);
    if (!scheme) throw illegal(`the server signed with ${signatureSchemeName(id)}, which was not offered`);
    const key = this.verified!.chain[0].publicKey;
    if (tls13 && scheme.kind === 'rsa_pkcs1') throw illegal(`the server signed its CertificateVerify with ${scheme.name}, which TLS 1.3 forbids (RFC 8446 §4.4.3)`);
    const fits =
      (scheme.kind === 'ecdsa' && key.type === 'ec' && (!tls13 || scheme.curve === key.curve)) ||
      (scheme.kind === 'ed25519' && key.type === 'ed25519') ||
      ((scheme.kind === 'rsa_pkcs1' || scheme.kind === 'rsa_pss_rsae') && key.type === 'rsa');
    if (!fits) throw illegal(`the server signed with ${scheme.name}, which does not fit its ${key.type} certificate key`);
    return scheme;
  }

  private async onCertificateVerify(m: hs.HandshakeMessage): Promise<void> {
    const cv = hs.decodeCertificateVerify(m.body);
    this.event('in', hs.describeSigned('CertificateVerify', cv), m.raw);
    const scheme = this.serverSignatureScheme(cv.scheme, true);
    const signed = concat([new Uint8Array(64).fill(0x20), CV_SERVER_CONTEXT, Uint8Array.of(0), this.transcriptHash()]);
    const ok = await verifySignature(this.config.subtle, this.verified!.chain[0].publicKey, schemeAlgorithm(scheme), signed, cv.signature);
    if (!ok) throw new TlsError(AlertDescription.decryptError, `the server's CertificateVerify signature (${scheme.name}) does not verify with its certificate's key: it does not hold the private key`);
    this.serverScheme = scheme.name;
    this.addTranscript(m.raw);
    this.state = 'wait_finished';
  }

  private async onFinished13(m: hs.HandshakeMessage): Promise<void> {
    const suite = this.suite!;
    const expected = finishedMac13(suite.hash, this.serverHs!, this.transcriptHash());
    this.event('in', `Finished (${m.body.length}-byte verify_data)`, m.raw);
    if (!constantTimeEqual(expected, m.body)) throw new TlsError(AlertDescription.decryptError, "the server's Finished does not match the handshake (bad verify_data): the handshake was altered or the keys disagree");
    this.addTranscript(m.raw);
    this.requireRecordBoundary('Finished');
    const app = this.schedule!.application(this.transcriptHash());
    this.clientAp = app.client;
    this.serverAp = app.server;
    const sk = trafficKeys(suite.hash, app.server, suite.keyLength);
    this.read = await protection13(this.config.subtle, suite, sk.key, sk.iv);
    // Our flight: compatibility ChangeCipherSpec, then (if asked) Certificate and CertificateVerify, then Finished.
    this.sendCompatChangeCipherSpec();
    this.applyRecordLimit();
    if (this.certRequest) await this.sendClientCertificate13();
    const finished = hs.handshakeMessage(HandshakeType.finished, finishedMac13(suite.hash, this.clientHs!, this.transcriptHash()));
    this.addTranscript(finished);
    this.resumptionMaster = this.schedule!.resumptionMaster(this.transcriptHash());
    await this.sealHandshake(finished, 'Finished');
    const wk = trafficKeys(suite.hash, app.client, suite.keyLength);
    this.write = await protection13(this.config.subtle, suite, wk.key, wk.iv);
    this.applyRecordLimit();
    this.clientHs = undefined;
    this.serverHs = undefined;
    this.state = 'connected';
  }

  private async sendClientCertificate13(): Promise<void> {
    const req = this.certRequest!;
    const identity = this.config.clientIdentity;
    const scheme = identity?.key.schemes.find((s) => req.signatureSchemes.includes(s.id) && s.kind !== 'rsa_pkcs1');
    const chain = identity && scheme ? identity.chain : [];
    const cert = hs.handshakeMessage(HandshakeType.certificate, hs.encodeCertificate(chain, true, req.context));
    this.addTranscript(cert);
    await this.sealHandshake(cert, chain.length ? `Certificate: ${chain.length} certificate(s); ${identity!.leaf.subject}` : identity ? 'Certificate: empty (the client certificate fits none of the server\'s signature algorithms)' : 'Certificate: empty (no client certificate given)');
    if (!identity || !scheme) return;
    const signed = concat([new Uint8Array(64).fill(0x20), CV_CLIENT_CONTEXT, Uint8Array.of(0), this.transcriptHash()]);
    const cv = hs.handshakeMessage(HandshakeType.certificateVerify, hs.encodeSigned({ scheme: scheme.id, signature: await identity.key.sign(scheme, signed) }));
    this.addTranscript(cv);
    await this.sealHandshake(cv, `CertificateVerify ${scheme.name}`);
    this.clientCertSent = true;
  }

  // TLS 1.2 server flight.

  private async onServerKeyExchange(m: hs.HandshakeMessage): Promise<void> {
    const ske = hs.decodeServerKeyExchange(m.body);
    this.addTranscript(m.raw);
    const group = groupById(ske.group);
    this.event('in', `ServerKeyExchange ECDHE ${groupName(ske.group)}, ${hs.describeSigned('signed', ske.signed)}`, m.raw);
    if (!group || !this.offeredGroups.includes(group)) throw illegal(`the server chose the group ${groupName(ske.group)}, which was not offered`);
    const scheme = this.serverSignatureScheme(ske.signed.scheme, false);
    const key = this.verified!.chain[0].publicKey;
    const kx = this.suite!.kx!;
    if ((kx === 'ECDHE-ECDSA' && key.type !== 'ec' && key.type !== 'ed25519') || (kx === 'ECDHE-RSA' && key.type !== 'rsa')) {
      throw illegal(`the suite ${this.suite!.name} needs a ${kx === 'ECDHE-RSA' ? 'RSA' : 'ECDSA'} certificate; the server's key is ${key.type}`);
    }
    const signed = concat([this.clientRandom, this.serverRandom, ske.params]);
    const ok = await verifySignature(this.config.subtle, key, schemeAlgorithm(scheme), signed, ske.signed.signature);
    if (!ok) throw new TlsError(AlertDescription.decryptError, `the ServerKeyExchange signature (${scheme.name}) does not verify with the server's certificate key`);
    this.serverScheme = scheme.name;
    this.group = group;
    this.ske = ske;
    this.state = 'wait_cr_done';
  }

  private async onServerHelloDone(m: hs.HandshakeMessage): Promise<void> {
    if (m.body.length !== 0) throw new TlsError(AlertDescription.decodeError, 'ServerHelloDone with a body');
    this.addTranscript(m.raw);
    this.event('in', 'ServerHelloDone', m.raw);
    this.requireRecordBoundary('ServerHelloDone');
    const suite = this.suite!;
    const share = await generateKeyShare(this.config.subtle, this.group!, this.config.randomBytes);
    const preMaster = await share.agree(this.ske!.publicKey);
    // Client certificate (RFC 5246 §7.4.6): an empty one when we have none that fits.
    let signing: { scheme: SignatureScheme; identity: ClientIdentity } | undefined;
    if (this.certRequest) {
      const identity = this.config.clientIdentity;
      const typeOk = identity && this.certRequest.certificateTypes?.includes(identity.key.type === 'rsa' ? 1 : 64);
      const scheme = typeOk ? identity!.key.schemes.find((s) => this.certRequest!.signatureSchemes.includes(s.id)) : undefined;
      const chain = identity && scheme ? identity.chain : [];
      const cert = hs.handshakeMessage(HandshakeType.certificate, hs.encodeCertificate(chain, false));
      this.addTranscript(cert);
      this.event('out', chain.length ? `Certificate: ${chain.length} certificate(s); ${identity!.leaf.subject}` : 'Certificate: empty (no client certificate that fits)', cert);
      this.out.push(...plainRecords(ContentType.handshake, cert));
      if (identity && scheme) signing = { scheme, identity };
    }
    const cke = hs.handshakeMessage(HandshakeType.clientKeyExchange, hs.encodeClientKeyExchange(share.publicKey));
    this.addTranscript(cke);
    this.event('out', `ClientKeyExchange ECDHE ${share.group}`, cke);
    this.out.push(...plainRecords(ContentType.handshake, cke));
    // RFC 7627 §4: the session hash runs through ClientKeyExchange.
    this.master12 = extendedMasterSecret(suite.hash, preMaster, this.transcriptHash());
    if (signing) {
      const signature = await signing.identity.key.sign(signing.scheme, concat(this.messages));
      const cv = hs.handshakeMessage(HandshakeType.certificateVerify, hs.encodeSigned({ scheme: signing.scheme.id, signature }));
      this.addTranscript(cv);
      this.event('out', `CertificateVerify ${signing.scheme.name}`, cv);
      this.out.push(...plainRecords(ContentType.handshake, cv));
      this.clientCertSent = true;
    }
    const ivLength = suite.aead === 'CHACHA20-POLY1305' ? 12 : 4;
    const kb = keyBlock12(suite.hash, this.master12, this.clientRandom, this.serverRandom, suite.keyLength, ivLength);
    this.pending12 = {
      client: await protection12(this.config.subtle, suite, kb.clientKey, kb.clientIv),
      server: await protection12(this.config.subtle, suite, kb.serverKey, kb.serverIv),
    };
    this.out.push(...plainRecords(ContentType.changeCipherSpec, Uint8Array.of(1)));
    this.event('out', 'ChangeCipherSpec');
    this.write = this.pending12.client;
    const finished = hs.handshakeMessage(HandshakeType.finished, finishedMac12(suite.hash, this.master12, 'client finished', this.transcriptHash()));
    this.addTranscript(finished);
    await this.sealHandshake(finished, 'Finished');
    this.state = 'wait_ccs12';
  }

  private async onFinished12(m: hs.HandshakeMessage): Promise<void> {
    const expected = finishedMac12(this.suite!.hash, this.master12!, 'server finished', this.transcriptHash());
    this.event('in', `Finished (${m.body.length}-byte verify_data)`, m.raw);
    if (!constantTimeEqual(expected, m.body)) throw new TlsError(AlertDescription.decryptError, "the server's Finished does not match the handshake (bad verify_data): the handshake was altered or the keys disagree");
    this.addTranscript(m.raw);
    this.requireRecordBoundary('Finished');
    this.applyRecordLimit();
    this.state = 'connected';
  }

  // After the handshake.

  private async postHandshake(m: hs.HandshakeMessage): Promise<void> {
    if (this.version === TLS12) {
      if (m.type === HandshakeType.helloRequest) {
        this.event('in', 'HelloRequest (the server asks to renegotiate)', m.raw);
        throw new TlsError(AlertDescription.noRenegotiation, 'the server asked to renegotiate (HelloRequest); renegotiation is refused', { renegotiation: true });
      }
      throw unexpected(`${handshakeName(m.type)} after the TLS 1.2 handshake`);
    }
    switch (m.type) {
      case HandshakeType.newSessionTicket: {
        const t = hs.decodeNewSessionTicket13(m.body);
        this.event('in', `NewSessionTicket lifetime ${t.lifetime} s, ${t.ticket.length}-byte ticket`, m.raw);
        // A lifetime of zero: the ticket must not be used (§4.6.1).
        if (t.lifetime === 0) return;
        const hash = this.suite!.hash;
        if (this.tickets.length >= MAX_TICKETS) this.tickets.shift();
        this.tickets.push({
          serverName: this.config.serverName,
          identity: t.ticket,
          psk: ticketPsk(hash, this.resumptionMaster!, t.nonce),
          hash,
          ageAdd: t.ageAdd,
          lifetime: t.lifetime,
          receivedAt: this.now(),
          alpn: this.alpn,
          presented: this.presented,
          verified: this.verified!,
          signatureScheme: this.serverScheme,
        });
        return;
      }
      case HandshakeType.keyUpdate: {
        const ku = hs.decodeKeyUpdate(m.body);
        this.event('in', `KeyUpdate${ku.updateRequested ? ' (update_requested)' : ''}`, m.raw);
        this.requireRecordBoundary('KeyUpdate');
        const suite = this.suite!;
        this.serverAp = nextTrafficSecret(suite.hash, this.serverAp!);
        const k = trafficKeys(suite.hash, this.serverAp, suite.keyLength);
        this.read = await protection13(this.config.subtle, suite, k.key, k.iv);
        if (ku.updateRequested) await this.serialWrite(() => this.updateWriteKey(false));
        return;
      }
      default:
        throw unexpected(`${handshakeName(m.type)} after the TLS 1.3 handshake`);
    }
  }

  private async updateWriteKey(requestUpdate: boolean): Promise<void> {
    const suite = this.suite!;
    const ku = hs.handshakeMessage(HandshakeType.keyUpdate, Uint8Array.of(requestUpdate ? 1 : 0));
    await this.sealHandshake(ku, `KeyUpdate${requestUpdate ? ' (update_requested)' : ''}`);
    this.clientAp = nextTrafficSecret(suite.hash, this.clientAp!);
    const k = trafficKeys(suite.hash, this.clientAp, suite.keyLength);
    this.write = await protection13(this.config.subtle, suite, k.key, k.iv);
    this.applyRecordLimit();
  }

  /** The peer's record_size_limit bounds what we put in one record (RFC 8449 §4: in 1.3 it counts the content type). */
  private applyRecordLimit(): void {
    if (!this.write || !this.recordLimit) return;
    this.write.maxPlaintext = Math.min(MAX_PLAINTEXT, this.version === TLS13 ? this.recordLimit - 1 : this.recordLimit);
  }

  private async sealHandshake(message: Uint8Array, decode: string): Promise<void> {
    this.event('out', decode, message);
    for (let at = 0; at < message.length; at += this.write!.maxPlaintext) {
      this.out.push(await this.write!.seal(ContentType.handshake, message.subarray(at, Math.min(message.length, at + this.write!.maxPlaintext))));
    }
  }

  /** Runs writes one at a time, in call order. */
  private serialWrite<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeQueue.then(fn);
    this.writeQueue = run.catch(() => {});
    return run;
  }

  /** Seals application data into records (queued for `takeOutgoing`). */
  async send(data: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.state !== 'connected') throw new TlsError(AlertDescription.internalError, 'application data before the handshake finished');
    if (this.closeSent) throw new PortolanError('closed', 'the TLS connection was closed (close_notify sent)');
    await this.serialWrite(async () => {
      for (let at = 0; at < data.length; ) {
        if (this.version === TLS13 && this.write!.sequence >= KEY_UPDATE_AFTER) await this.updateWriteKey(false);
        const n = Math.min(this.write!.maxPlaintext, data.length - at);
        this.out.push(await this.write!.seal(ContentType.applicationData, data.subarray(at, at + n)));
        at += n;
      }
    });
  }

  /** Queues close_notify (once). */
  async close(): Promise<void> {
    if (this.closeSent || this.failure) return;
    await this.sendAlert(AlertDescription.closeNotify);
  }

  private async sendAlert(description: number): Promise<void> {
    if (this.closeSent) return;
    this.closeSent = true;
    const level = description === AlertDescription.closeNotify || description === AlertDescription.userCanceled ? 1 : 2;
    const body = Uint8Array.of(level, description);
    this.event('out', `Alert ${level === 1 ? 'warning' : 'fatal'} ${alertName(description)}`);
    await this.serialWrite(async () => {
      if (this.write) this.out.push(await this.write.seal(ContentType.alert, body));
      else this.out.push(...plainRecords(ContentType.alert, body));
    });
  }

  /** The serverCertificate's DER, for tls-server-end-point channel binding (RFC 5929). */
  get serverCertificate(): Uint8Array | undefined {
    return this.presented[0]?.der;
  }

  /** The chain as the API reports it: the verified path from the leaf to its anchor (what the server sent, when pinned). */
  describeChain() {
    return (this.verified?.chain ?? this.presented).map(describeCertificate);
  }
}

function fromProtocolError(e: unknown): PortolanError {
  if (e instanceof ProtocolError) {
    const alert = typeof e.detail?.alert === 'number' ? (e.detail.alert as number) : AlertDescription.decodeError;
    const err = new TlsError(alert, e.detail?.notTls ? e.message : `malformed TLS from the server: ${e.message}`);
    return err;
  }
  return e as PortolanError;
}

/** What a server's alert usually means, in the user's terms. */
function hint(alert: number): string {
  switch (alert) {
    case AlertDescription.handshakeFailure:
      return ': it shares no cipher suite, group or signature algorithm with what was offered';
    case AlertDescription.protocolVersion:
      return ': it does not accept the TLS versions offered';
    case AlertDescription.noApplicationProtocol:
      return ': it speaks none of the ALPN protocols offered';
    case AlertDescription.certificateRequired:
      return ': it requires a client certificate';
    case AlertDescription.unrecognizedName:
      return ': it does not serve this name (SNI)';
    case AlertDescription.badCertificate:
    case AlertDescription.unknownCa:
    case AlertDescription.unsupportedCertificate:
    case AlertDescription.certificateUnknown:
    case AlertDescription.accessDenied:
      return ': it refused the client certificate (or its absence)';
    default:
      return '';
  }
}
