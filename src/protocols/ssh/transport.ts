// The SSH transport layer driver, RFC 4253 (4.2 version exchange, 7 key exchange, 9 re-exchange, 11 generic messages),
// RFC 8308 (ext-info-c), OpenSSH PROTOCOL 1.10 (strict key exchange, the Terrapin countermeasure).
//
// How it works: `handshake()` exchanges version lines, then runs the first key exchange. Afterwards
// `receive()` hands the layers above (auth, connection) every message that is not the transport's
// own: IGNORE and DEBUG are noted and dropped, EXT_INFO is kept, DISCONNECT becomes a typed error,
// and a KEXINIT starts a re-exchange in place. `send()` serialises packets through one chain (sequence
// numbers and cipher state must follow wire order) and holds non-kex messages while a key exchange
// runs (RFC 4253 7.1). Re-keying starts on our side after `rekeyBytes` or `rekeyMs` (RFC 4253 9, like
// OpenSSH's RekeyLimit): both are checked on send, and the time limit also by a timer that runs only while
// `receive()` waits for a packet, so an idle session re-keys on time too. That timer is cleared as soon as the
// wait ends, the transport fails or we disconnect; closing the connection ends every wait, so nothing outlives
// the operation. A timed re-exchange goes through the same send chain and kex gate as one started on send.
import { fromLatin1 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { PortolanError, ProtocolError, type FailureCode } from '../../core/errors.ts';
import { later } from '../../core/timers.ts';
import type { RecordOptions } from '../../core/transcript.ts';
import { createOpener, createSealer, plainOpener, plainSealer, type PacketOpener, type PacketSealer } from './ciphers.ts';
import {
  CLIENT_VERSION,
  decodeDebug,
  decodeDisconnect,
  decodeExtInfo,
  decodeGexGroup,
  decodeKexDhReply,
  decodeKexEcdhReply,
  decodeKexInit,
  describePayload,
  DISCONNECT_REASONS,
  encodeDisconnect,
  encodeGexRequest,
  encodeKexDhInit,
  encodeKexEcdhInit,
  encodeKexInit,
  MAX_PREAMBLE_LINES,
  messageName,
  MSG,
  parseIdentification,
  type Identification,
  type KexInit,
} from './codec.ts';
import { baseAlgorithm, parseCertificate, type Certificate } from './cert.ts';
import { fingerprintSha256, HOST_KEY_ALGORITHMS, keyBits, parsePublicKey, verifySignature } from './hostkey.ts';
import {
  bitLength,
  deriveSessionKeys,
  dhAgreement,
  ecdhAgreement,
  exchangeHash,
  EXT_INFO_C,
  KEX_METHODS,
  KEX_STRICT_C,
  KEX_STRICT_S,
  modpGroup,
  negotiate,
  sntrup761x25519Agreement,
  x25519Agreement,
  type Agreement,
  type Negotiated,
} from './kex.ts';
import { bigIntToBytes, bytesToBigInt } from './wire.ts';

export interface AlgorithmOffer {
  kex: string[];
  hostKey: string[];
  cipher: string[];
  mac: string[];
}

export interface ServerHostKey {
  /** The negotiated host key algorithm (rsa-sha2-512, ssh-ed25519, ...). */
  algorithm: string;
  /** The key type in the blob (ssh-rsa, ssh-ed25519, ...). */
  type: string;
  blob: Uint8Array;
  fingerprint: string;
  bits: number;
  /** The host certificate the key came in, when a certificate algorithm was negotiated. */
  certificate?: Certificate;
}

export interface TransportOptions {
  offer: AlgorithmOffer;
  /** Called with the verified host key before keys are taken into use; throw `untrusted_peer` to refuse. */
  checkHostKey?: (key: ServerHostKey) => Promise<void>;
  /** Re-key after this many bytes in both directions together (default 1 GiB). */
  rekeyBytes?: number;
  /** Re-key after this long since the last key exchange, also on an idle connection (default 1 hour). */
  rekeyMs?: number;
  /** Group exchange sizes asked for (RFC 4419 3). */
  gex?: { min: number; n: number; max: number };
  /** Transcript: note every decrypted message (default true). */
  noteMessages?: boolean;
}

export interface KexRecord {
  negotiated: Negotiated;
  /** Milliseconds the exchange took. */
  ms: number;
}

/** Transport messages allowed while a key exchange runs (RFC 4253 7.1): 1–19 except 5–7, and 20–49. */
function isKexMessage(type: number): boolean {
  return (type >= 1 && type <= 4) || (type >= 20 && type <= 49);
}

const DISCONNECT_OUTCOMES: Record<number, FailureCode> = {
  1: 'refused',
  2: 'protocol_error',
  3: 'protocol_error',
  5: 'protocol_error',
  6: 'protocol_error',
  8: 'protocol_error',
  9: 'untrusted_peer',
  10: 'closed',
  11: 'closed',
  12: 'server_error',
  13: 'auth_failed',
  14: 'auth_failed',
  15: 'auth_failed',
};

export function disconnectError(payload: Uint8Array): PortolanError {
  const d = decodeDisconnect(payload);
  const reason = DISCONNECT_REASONS[d.reason] ?? `reason ${d.reason}`;
  return new PortolanError(DISCONNECT_OUTCOMES[d.reason] ?? 'server_error', `server disconnected (${reason}): ${d.description || 'no description'}`, {
    disconnectReason: d.reason,
    description: d.description,
  });
}

/** The most one read of the connection asks for. */
const MAX_READ_BYTES = 512 * 1024;

interface Gate {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function gate(): Gate {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export class SshTransport {
  readonly conn: Conn;
  readonly crypto: CryptoPort;
  private readonly opts: TransportOptions;
  server!: Identification;
  /** Lines the server sent before its version line (RFC 4253 4.2). */
  preamble: string[] = [];
  serverKexInit!: KexInit;
  negotiated!: Negotiated;
  hostKey!: ServerHostKey;
  sessionId!: Uint8Array;
  strictKex = false;
  /** RFC 8308 extensions the server announced (server-sig-algs, ...). */
  readonly extensions = new Map<string, Uint8Array>();
  readonly exchanges: KexRecord[] = [];

  private rx: PacketOpener = plainOpener;
  private tx: PacketSealer;
  private rxSeq = 0;
  private txSeq = 0;
  private chain: Promise<void> = Promise.resolve();
  /** Orders the messages of the layers above (they wait for key exchanges; kex messages do not). */
  private upper: Promise<void> = Promise.resolve();
  /** Open while a key exchange runs; non-kex sends wait on it. */
  private kexGate: Gate | null = null;
  /** Our KEXINIT payload for the exchange in progress, once sent. */
  private ourKexInit: Uint8Array | null = null;
  private firstKexDone = false;
  private bytesSinceKex = 0;
  private kexStartedAt = 0;
  /** Cancels the time-based re-exchange, armed by an idle wait in `receive()`; null when none is armed. */
  private rekeyTimer: (() => void) | null = null;
  /** `receive()` is waiting on an idle connection: the only time the timer may start a re-exchange. */
  private idleWait = false;
  private fatal: PortolanError | null = null;
  private readonly noteMessages: boolean;
  /** Set while reading a packet so a failure names what was awaited. */
  packetsIn = 0;
  packetsOut = 0;
  private bulkNoted = 0;

  constructor(conn: Conn, crypto: CryptoPort, opts: TransportOptions) {
    this.conn = conn;
    this.crypto = crypto;
    this.opts = opts;
    this.tx = plainSealer((n) => crypto.randomBytes(n));
    this.noteMessages = opts.noteMessages ?? true;
    // Packets carry up to 256 KiB of channel data: read in large chunks when data streams in.
    conn.bulkReads(MAX_READ_BYTES);
  }

  get encrypted(): boolean {
    return this.firstKexDone;
  }

  // ------------------------------------------------------------ version exchange and first kex

  async handshake(): Promise<void> {
    const versionWrite = this.conn.write(`${CLIENT_VERSION}\r\n`, { decode: CLIENT_VERSION });
    // Our KEXINIT goes out right behind the version line, without waiting for the server's (RFC 4253 7.1).
    this.kexGate = gate();
    this.kexStartedAt = Date.now();
    await versionWrite;
    const sendInit = this.sendKexInit();
    sendInit.catch(() => {});
    await this.readVersion();
    await sendInit;
    const first = await this.readPayload();
    if (first[0] !== MSG.KEXINIT) {
      if (first[0] === MSG.DISCONNECT) throw disconnectError(first);
      // OpenSSH PROTOCOL 1.10: with strict kex the first packet must be KEXINIT; we require it always.
      throw new ProtocolError(`expected KEXINIT as the server's first packet, got ${messageName(first[0])}`);
    }
    await this.runKex(first);
  }

  private async readVersion(): Promise<void> {
    for (let i = 0; i <= MAX_PREAMBLE_LINES; i++) {
      let line: Uint8Array;
      try {
        line = await this.conn.readLineBytes({ max: 1024, ending: 'lf' });
      } catch (e) {
        if (e instanceof ProtocolError) throw new ProtocolError(`not an SSH server: the greeting is not a line of text (${e.message})`);
        if (e instanceof PortolanError && e.code === 'closed') {
          if (this.preamble.length > 0) throw new ProtocolError(`not an SSH server: it sent ${JSON.stringify(this.preamble[0].slice(0, 80))} and closed without an SSH version line`);
          throw new PortolanError('closed', 'server closed the connection before sending its SSH version line');
        }
        throw e;
      }
      const id = parseIdentification(line);
      if (!id) {
        // RFC 4253 4.2: other lines may precede the version line; they must not start with "SSH-".
        this.preamble.push(fromLatin1(line).slice(0, 255));
        continue;
      }
      if (line.length > 253) throw new ProtocolError('server version line is longer than 255 bytes (RFC 4253 4.2)');
      if (id.protoVersion !== '2.0' && id.protoVersion !== '1.99') throw new ProtocolError(`server speaks SSH protocol ${id.protoVersion}; only 2.0 is supported`);
      this.server = id;
      this.conn.note(`server version ${id.raw}`);
      return;
    }
    const sample = this.preamble[0] ?? '';
    throw new ProtocolError(`not an SSH server: no SSH version line in the first ${MAX_PREAMBLE_LINES} lines (first line: ${JSON.stringify(sample.slice(0, 80))})`);
  }

  private buildKexInit(): KexInit {
    const o = this.opts.offer;
    // RFC 8308 2.1 / OpenSSH PROTOCOL 1.10: the pseudo-algorithms go only in the first KEXINIT.
    const kex = this.firstKexDone ? [...o.kex] : [...o.kex, EXT_INFO_C, KEX_STRICT_C];
    return {
      cookie: this.crypto.randomBytes(16),
      kex,
      hostKey: [...o.hostKey],
      cipherCS: [...o.cipher],
      cipherSC: [...o.cipher],
      macCS: [...o.mac],
      macSC: [...o.mac],
      compressionCS: ['none'],
      compressionSC: ['none'],
      languagesCS: [],
      languagesSC: [],
      firstKexFollows: false,
    };
  }

  private async sendKexInit(): Promise<void> {
    const payload = encodeKexInit(this.buildKexInit());
    this.ourKexInit = payload;
    await this.enqueue(payload);
  }

  /** Reads the next packet for the key exchange: only `type`, with IGNORE/DEBUG tolerated outside strict initial kex. */
  private async readKexPacket(type: number): Promise<Uint8Array> {
    for (let n = 0; n < 1000; n++) {
      const p = await this.readPayload();
      const t = p[0];
      if (t === MSG.DISCONNECT) throw disconnectError(p);
      if (t === type) return p;
      if ((t === MSG.IGNORE || t === MSG.DEBUG) && !(this.strictKex && !this.firstKexDone)) continue;
      // OpenSSH PROTOCOL 1.10: during strict initial kex any unexpected message is fatal.
      throw new ProtocolError(`expected ${messageName(type)} during key exchange, got ${messageName(t)}`);
    }
    throw new ProtocolError('too many messages during key exchange');
  }

  private async runKex(serverInitPayload: Uint8Array): Promise<void> {
    const started = Date.now();
    const gateNow = this.kexGate ?? (this.kexGate = gate());
    try {
      if (!this.ourKexInit) await this.sendKexInit();
      const ourPayload = this.ourKexInit!;
      const server = decodeKexInit(serverInitPayload);
      const client = decodeKexInit(ourPayload);
      if (!this.firstKexDone) {
        this.serverKexInit = server;
        this.strictKex = server.kex.includes(KEX_STRICT_S);
        // OpenSSH PROTOCOL 1.10: the server's KEXINIT must have been its first packet.
        if (this.strictKex && this.rxSeq !== 1) throw new ProtocolError('strict key exchange: KEXINIT was not the first packet');
      }
      const n = negotiate(client, server);
      this.conn.note(`negotiated kex=${n.kex} hostkey=${n.hostKey} cipher=${n.cipherCS}${n.macCS ? `+${n.macCS}` : ''}${this.strictKex ? ' strict-kex' : ''}`);
      // RFC 4253 7: a wrong guess of the server's first kex packet is skipped.
      if (server.firstKexFollows && (server.kex[0] !== n.kex || server.hostKey[0] !== n.hostKey)) await this.readPayload();
      const method = KEX_METHODS[n.kex];
      const vC = CLIENT_VERSION;
      const vS = this.server.raw;
      let agreement: Agreement;
      let hostKeyBlob: Uint8Array;
      let serverPublic: Uint8Array;
      let signature: Uint8Array;
      let gex: { min: number; n: number; max: number; p: bigint; g: bigint } | undefined;
      if (method.kind === 'x25519' || method.kind === 'ecdh' || method.kind === 'sntrup761x25519') {
        agreement =
          method.kind === 'x25519'
            ? await x25519Agreement(this.crypto)
            : method.kind === 'sntrup761x25519'
              ? await sntrup761x25519Agreement(this.crypto)
              : await ecdhAgreement(this.crypto, method.curve!);
        await this.enqueue(encodeKexEcdhInit(agreement.clientPublic));
        const reply = decodeKexEcdhReply(await this.readKexPacket(MSG.KEX_31));
        hostKeyBlob = reply.hostKey;
        serverPublic = reply.serverPublic;
        signature = reply.signature;
      } else {
        let p: bigint;
        let g: bigint;
        let replyType: number = MSG.KEX_31;
        if (method.kind === 'gex') {
          const sizes = this.opts.gex ?? { min: 2048, n: 2048, max: 8192 };
          await this.enqueue(encodeGexRequest(sizes.min, sizes.n, sizes.max));
          ({ p, g } = decodeGexGroup(await this.readKexPacket(MSG.KEX_31)));
          const bits = bitLength(p);
          // RFC 4419 3: the group must be within the sizes asked for; RFC 8270 puts the floor at 2048.
          if (bits < sizes.min || bits > sizes.max) throw new ProtocolError(`server offered a ${bits}-bit DH group, outside ${sizes.min}–${sizes.max}`);
          if (g <= 1n || g >= p - 1n) throw new ProtocolError('server DH generator is out of range');
          gex = { ...sizes, p, g };
          replyType = MSG.KEX_33;
        } else {
          p = modpGroup(method.group!.bits, method.group!.n);
          g = 2n;
        }
        agreement = dhAgreement(this.crypto, p, g);
        await this.enqueue(encodeKexDhInit(method.kind === 'gex' ? MSG.KEX_32 : MSG.KEX_30, bytesToBigInt(agreement.clientPublic)));
        const reply = decodeKexDhReply(await this.readKexPacket(replyType), replyType);
        hostKeyBlob = reply.hostKey;
        serverPublic = bigIntToBytes(reply.f);
        signature = reply.signature;
      }
      const sharedSecret = await agreement.sharedSecret(serverPublic);
      const h = await exchangeHash(this.crypto, method.hash, {
        vC,
        vS,
        iC: ourPayload,
        iS: serverInitPayload,
        hostKey: hostKeyBlob,
        kind: method.kind === 'dh' || method.kind === 'gex' ? 'dh' : 'ecdh',
        kString: method.kString,
        clientPublic: agreement.clientPublic,
        serverPublic,
        sharedSecret,
        gex,
      });
      // A host certificate (PROTOCOL.certkeys) carries the key; the exchange is signed with the base algorithm.
      const signatureAlgorithm = baseAlgorithm(n.hostKey) ?? n.hostKey;
      const certificate = signatureAlgorithm === n.hostKey ? undefined : await parseCertificate(this.crypto, hostKeyBlob);
      const key = certificate ? certificate.key : parsePublicKey(hostKeyBlob);
      const expectedType = HOST_KEY_ALGORITHMS[n.hostKey].keyType;
      const sentType = certificate ? certificate.certType : key.type;
      if (sentType !== expectedType) throw new ProtocolError(`server sent a ${sentType} host key for ${n.hostKey}`);
      const fingerprint = await fingerprintSha256(this.crypto, key.blob);
      if (!(await verifySignature(this.crypto, key, signatureAlgorithm, signature, h))) {
        throw new PortolanError('untrusted_peer', `the server's ${n.hostKey} signature over the exchange hash does not verify with its host key ${fingerprint}`, { fingerprint });
      }
      const hostKey: ServerHostKey = { algorithm: n.hostKey, type: key.type, blob: key.blob, fingerprint, bits: keyBits(key), certificate };
      if (this.firstKexDone && this.hostKey && fingerprint !== this.hostKey.fingerprint) {
        throw new PortolanError('untrusted_peer', `host key changed during re-exchange: ${this.hostKey.fingerprint} became ${fingerprint}`);
      }
      if (this.opts.checkHostKey) await this.opts.checkHostKey(hostKey);
      this.hostKey = hostKey;
      this.sessionId ??= h;
      const keys = await deriveSessionKeys(this.crypto, method.hash, sharedSecret, h, this.sessionId, n, method.kString);
      const [sealer, opener] = await Promise.all([
        createSealer(this.crypto, n.cipherCS, n.macCS, { key: keys.keyCS, iv: keys.ivCS, macKey: keys.macCS }),
        createOpener(this.crypto, n.cipherSC, n.macSC, { key: keys.keySC, iv: keys.ivSC, macKey: keys.macSC }),
      ]);
      // RFC 4253 7.3: new keys apply to every packet after our NEWKEYS; strict kex resets the sequence number.
      await this.enqueue(new Uint8Array([MSG.NEWKEYS]), undefined, () => {
        this.tx = sealer;
        if (this.strictKex) this.txSeq = 0;
      });
      await this.readKexPacket(MSG.NEWKEYS);
      this.rx = opener;
      if (this.strictKex) this.rxSeq = 0;
      this.negotiated = n;
      this.firstKexDone = true;
      this.ourKexInit = null;
      this.bytesSinceKex = 0;
      this.kexStartedAt = Date.now();
      this.exchanges.push({ negotiated: n, ms: Date.now() - started });
      this.kexGate = null;
      gateNow.resolve();
    } catch (e) {
      this.kexGate = null;
      gateNow.reject(e);
      this.fail(e);
      throw e;
    }
  }

  // ------------------------------------------------------------ packets

  private fail(e: unknown): void {
    this.cancelRekeyTimer();
    if (!this.fatal) this.fatal = e instanceof PortolanError ? e : new ProtocolError(String(e));
  }

  /** Reads and decrypts the next packet; returns its payload. */
  private async readPayload(): Promise<Uint8Array> {
    const opener = this.rx;
    const seq = this.rxSeq;
    const encrypted = opener !== plainOpener;
    const wire = await this.conn.readFrame<Uint8Array>(
      (buf) => {
        if (buf.length < opener.headerSize) return undefined;
        const size = opener.wireSize(buf, seq);
        if (buf.length < size) return undefined;
        // A view: the connection never writes into bytes it has handed out.
        return { value: buf.subarray(0, size), size };
      },
      'SSH packet',
      (w) => (encrypted ? `packet #${seq}, ${w.length} bytes (${opener.name})` : describePayload(w.subarray(5, w.length - w[4]))),
    );
    const payload = await opener.open(wire, seq);
    this.rxSeq = (seq + 1) >>> 0;
    // OpenSSH PROTOCOL 1.10: the sequence number must not wrap during strict initial kex.
    if (this.rxSeq === 0 && !this.firstKexDone) throw new ProtocolError('sequence number wrapped during the initial key exchange');
    this.bytesSinceKex += wire.length;
    this.packetsIn++;
    if (encrypted && this.noteMessages) {
      // Bulk data would flood the transcript: the first 32 data-carrying messages are noted, then a count.
      const bulk = payload[0] === MSG.CHANNEL_DATA || payload[0] === MSG.CHANNEL_EXTENDED_DATA || payload[0] === MSG.CHANNEL_WINDOW_ADJUST;
      if (!bulk || this.bulkNoted < 32) this.conn.note(`← ${describePayload(payload)}`);
      else if (this.bulkNoted === 32) this.conn.note('← (further channel data messages are not noted one by one)');
      if (bulk) this.bulkNoted++;
    }
    return payload;
  }

  /**
   * Queues a packet behind every earlier one; `after` runs in order right after it is sealed. Sealing
   * follows wire order (sequence numbers, cipher state); each packet's write is issued as soon as it is
   * sealed, without waiting for the write before it to settle (the connection keeps their order), so
   * bulk data streams. Resolves when this packet's write has settled.
   */
  private enqueue(payload: Uint8Array, rec?: RecordOptions, after?: () => void): Promise<void> {
    const seal = async (): Promise<{ written: Promise<void> }> => {
      if (this.fatal) throw this.fatal;
      const seq = this.txSeq;
      this.txSeq = (seq + 1) >>> 0;
      const wire = await this.tx.seal(payload, seq);
      this.bytesSinceKex += wire.length;
      this.packetsOut++;
      after?.();
      const written = this.conn.write(wire, rec?.secret ? { secret: true, decode: `→ ${rec.decode ?? '(secret)'}` } : { decode: `→ ${rec?.decode ?? describePayload(payload)}` });
      written.catch(() => {});
      return { written };
    };
    const issued = this.chain.then(seal);
    this.chain = issued.then(
      () => {},
      () => {},
    );
    return issued.then((w) => w.written);
  }

  /**
   * Sends a message of the layers above. Messages go out in the order of the calls, each after any key
   * exchange in progress; a re-exchange starts when the volume or time limit is reached. Resolves when
   * the message is written, so a caller may issue several and await them together.
   */
  send(payload: Uint8Array, rec?: RecordOptions): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (isKexMessage(payload[0])) return this.enqueue(payload, rec);
    const queued = this.upper.then(async () => {
      await this.kexFinished();
      if (this.firstKexDone && this.needsRekey()) {
        // A re-exchange starts: its KEXINIT goes out, and this message waits for NEWKEYS.
        await this.startRekey();
        await this.kexFinished();
      }
      return { written: this.enqueue(payload, rec) };
    });
    this.upper = queued.then(
      () => {},
      () => {},
    );
    return queued.then((q) => q.written);
  }

  /** Resolves when no key exchange is running (rejects if one fails). */
  async kexFinished(): Promise<void> {
    for (let g = this.kexGate; g; g = this.kexGate) await g.promise;
  }

  private get rekeyMs(): number {
    return this.opts.rekeyMs ?? 3_600_000;
  }

  private needsRekey(): boolean {
    return this.bytesSinceKex > (this.opts.rekeyBytes ?? 1 << 30) || Date.now() - this.kexStartedAt > this.rekeyMs;
  }

  /**
   * An idle wait in `receive()` begins: the time limit applies (OpenSSH checks it in its client loop, not only
   * on send). The timer, once armed, stays armed between waits (arming one per wait cost about 1 ms of CPU per
   * MiB of a bulk transfer); firing outside a wait, it waits for the next. `fail()` and `disconnect()` cancel it.
   */
  private startIdleWait(): void {
    this.idleWait = true;
    if (this.rekeyTimer || !this.firstKexDone || this.kexGate || this.fatal) return;
    // Timers hold at most 2^31-1 ms; a longer limit is re-armed when that much has passed.
    const delay = Math.min(Math.max(0, this.kexStartedAt + this.rekeyMs - Date.now()), 0x7fffffff);
    this.rekeyTimer = later(delay, () => {
      this.rekeyTimer = null;
      if (this.fatal || this.kexGate || !this.idleWait) return;
      if (Date.now() - this.kexStartedAt < this.rekeyMs - 1000) return this.startIdleWait();
      // startRekey queues KEXINIT behind any packet being sent and closes the kex gate for later ones.
      this.startRekey().catch((e) => {
        this.fail(e);
        this.kexGate?.reject(e);
      });
    });
  }

  private cancelRekeyTimer(): void {
    this.rekeyTimer?.();
    this.rekeyTimer = null;
    this.idleWait = false;
  }

  /** RFC 4253 9: either side may start a re-exchange by sending KEXINIT. The reader completes it. */
  async startRekey(): Promise<void> {
    if (this.kexGate || !this.firstKexDone) return;
    this.kexGate = gate();
    this.conn.note('starting key re-exchange');
    await this.sendKexInit();
  }

  /**
   * The next message for the layers above. Transport messages are handled here: IGNORE and DEBUG
   * are dropped (DEBUG noted), EXT_INFO stored, DISCONNECT thrown as a typed error, KEXINIT answered.
   */
  async receive(): Promise<Uint8Array> {
    for (;;) {
      if (this.fatal) throw this.fatal;
      let p: Uint8Array;
      // With bytes already buffered the wait is for the rest of a packet in flight, not an idle connection.
      if (this.conn.buffered === 0) this.startIdleWait();
      try {
        p = await this.readPayload();
      } catch (e) {
        this.fail(e);
        this.kexGate?.reject(e);
        throw e;
      } finally {
        this.idleWait = false;
      }
      const t = p[0];
      switch (t) {
        case MSG.IGNORE:
          continue;
        case MSG.DEBUG:
          this.conn.note(`server debug message: ${decodeDebug(p).message}`);
          continue;
        case MSG.DISCONNECT: {
          const err = disconnectError(p);
          this.fail(err);
          throw err;
        }
        case MSG.UNIMPLEMENTED:
          throw new ProtocolError('server answered UNIMPLEMENTED to one of our messages');
        case MSG.EXT_INFO:
          for (const [k, v] of decodeExtInfo(p)) this.extensions.set(k, v);
          continue;
        case MSG.KEXINIT:
          await this.runKex(p);
          continue;
        default:
          if (t >= 20 && t <= 49) throw new ProtocolError(`unexpected ${messageName(t)} outside a key exchange`);
          return p;
      }
    }
  }

  /** RFC 8308 3.1: the signature algorithms the server accepts for publickey auth, if it said. */
  serverSigAlgs(): string[] | undefined {
    const v = this.extensions.get('server-sig-algs');
    return v ? fromLatin1(v).split(',') : undefined;
  }

  /** RFC 4253 11.1: a polite goodbye; errors are ignored (the connection may be gone). */
  async disconnect(reason = 11, description = 'bye'): Promise<void> {
    this.cancelRekeyTimer();
    if (this.fatal) return;
    try {
      await this.enqueue(encodeDisconnect(reason, description));
    } catch {
      // already closed
    }
    this.fatal = new PortolanError('closed', 'connection closed by us');
  }
}
