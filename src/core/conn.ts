// The transport seam: hosts implement Dialer/Transport; protocols only see Conn.
//
// How it works: a host's Dialer opens a Transport (raw chunks in and out). The
// session runner wraps it in a Conn, which owns a receive buffer, applies the
// operation's AbortSignal to every wait, records each frame in the transcript,
// and offers the framing readers protocols need (exact bytes, lines, frames
// decided by a sans-I/O `Frame` function). Nothing here starts a timer.
import { ReceiveBuffer, concat, indexOf, fromLatin1, utf8 } from './bytes.ts';
import { PortolanError, ProtocolError, classify } from './errors.ts';
import { previewBytes, type Transcript, type RecordOptions } from './transcript.ts';
import type { DatagramDialOptions, DatagramTransport } from './datagram.ts';
import type { TlsTicket } from './tls/client.ts';

export type TlsMode = 'off' | 'implicit' | 'starttls';

export type Capability = 'tcp' | 'tls' | 'starttls' | 'udp' | 'alpn' | 'peerCert' | 'selfSigned' | 'privilegedPort' | 'listen' | 'tlsVersion' | 'clientCert' | 'localPort';

/** TLS protocol versions as OpenSSL and Node name them (RFC 2246, 4346, 5246, 8446). */
export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

export interface DialOptions {
  /** The name the user gave: used for TLS (SNI and certificate checks). */
  host: string;
  /** The address the guard checked, when the host should connect to it rather than resolve again. */
  address?: string;
  port: number;
  /** `implicit`: TLS from the first byte; `starttls`: plain now, `startTls()` later. */
  tls: TlsMode;
  signal: AbortSignal;
  /** ALPN protocols to offer (`alpn`). */
  alpn?: string[];
  /** Accept a certificate whose SHA-256 fingerprint matches, whoever issued it (`selfSigned`). */
  pinSha256?: string;
  /** Node host only: bind a privileged local port (rsh family). */
  privilegedSourcePort?: boolean;
  /** The lowest and highest TLS version to offer (`tlsVersion`). */
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  /** A client certificate and its key (PEM) for TLS, implicit or after STARTTLS (`clientCert`). */
  clientCertificate?: ClientCertificate;
  /** Whose TLS: the runtime's, Portolan's engine (src/core/tls), or `auto` (the engine where the runtime cannot serve the dial). */
  tlsEngine?: 'auto' | 'runtime' | 'portolan';
  /** Accept a certificate whose SubjectPublicKeyInfo has this SHA-256 (hex or base64), whoever issued it. */
  pinSpkiSha256?: string;
  /** Trust these CA certificates (PEM) instead of the public roots. */
  caPem?: string;
  /** The operation reads the server's certificate (`peerCert`). */
  peerCertificate?: boolean;
  /** Cipher suites and groups to offer, by IANA id and name (the engine only: `tls inspect` enumerates them). */
  cipherSuites?: number[];
  groups?: ('x25519' | 'secp256r1' | 'secp384r1')[];
  /** A TLS 1.3 ticket from an earlier connection to offer for resumption (the engine only). */
  tlsResume?: TlsTicket;
  /** Each TLS handshake message, alert and ChangeCipherSpec, decoded, for the transcript (the engine only). */
  onTlsEvent?: (event: { dir: 'in' | 'out'; raw?: Uint8Array; decode: string }) => void;
}

/** A TLS client certificate and its private key, PEM (SASL EXTERNAL, mutual TLS). */
export interface ClientCertificate {
  certPem: string;
  keyPem: string;
}

/** Where to wait for one connection back from a server (the rsh/rexec standard-error channel). */
export interface ListenOptions {
  /** The local address to bind: the one the server saw our first connection come from. */
  localAddress: string;
  /** The only address a connection is accepted from (the server's); others are dropped. */
  from: string;
  /** Bind a port in 512–1023, as rresvport(3) does (rshd refuses an unreserved one). */
  privilegedPort: boolean;
  signal: AbortSignal;
}

/** A listening socket that accepts one connection (hosts with the `listen` capability). */
export interface Listener {
  readonly port: number;
  /** The first connection from `from`; rejects once closed. */
  accept(): Promise<Transport>;
  close(): Promise<void>;
}

export interface PeerCertificate {
  subject: string;
  issuer: string;
  subjectAltNames: string[];
  validFrom: string;
  validTo: string;
  fingerprintSha256: string;
  keyType?: string;
  keyBits?: number;
}

export interface TransportInfo {
  /** "address:port" (IPv6 unbracketed: "::1:514"), as `splitHostPort` reads it. */
  remoteAddress?: string;
  localAddress?: string;
  /** Negotiated ALPN protocol, where the host can tell. */
  alpn?: string | null;
  tlsVersion?: string;
  /** Negotiated cipher suite (OpenSSL name), where the host can tell. */
  cipher?: string;
  peerCertificates?: PeerCertificate[];
  /** The server's certificate as DER, where the host can read it (RFC 5929 channel binding: core/channel-binding.ts). */
  serverCertificate?: Uint8Array;
  /** The key exchange group (x25519, secp256r1...), where the host can tell. */
  tlsGroup?: string;
  /** The signature scheme the server signed the handshake with, where the host can tell. */
  tlsSignatureScheme?: string;
  /** Whose TLS carries the connection: the runtime's, or Portolan's own engine (src/core/tls). */
  tlsEngine?: 'runtime' | 'portolan';
  /** How the engine trusted the server: a pinned fingerprint, or a path to an anchor (named). */
  tlsTrust?: { by: 'pinned' | 'anchor'; anchor?: string };
  /** The engine resumed a TLS 1.3 session with a ticket (no certificate this time). */
  tlsResumed?: boolean;
  /** A connection asked of a proxy (core/proxy.ts): what the proxy answered when it granted it. */
  proxy?: ProxyGrant;
}

export interface ProxyGrant {
  /** The proxy, "host:port". */
  proxy: string;
  /** The proxy's answer, e.g. "0x00 succeeded" or "200 Connection established". */
  reply: string;
  /** The address and port the proxy connected from, when its reply says ("203.0.113.5:40112"). */
  bound?: string;
  /** The proxy's own response fields (HTTP CONNECT), names lower-cased. */
  headers?: [string, string][];
}

/** The address and port of a TransportInfo address ("127.0.0.1:514", "::1:514"). */
/** "host:port" as people write it: an IPv6 literal in brackets ("[::1]:5432"). */
export function joinHostPort(host: string, port: number | string): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function splitHostPort(hostPort: string): { address: string; port: number } {
  const at = hostPort.lastIndexOf(':');
  return { address: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) };
}

/** Ports 512–1023: rcmd(3) and rresvport(3) take them as proof that a peer runs as root. */
export const RESERVED_PORTS = { low: 512, high: 1023 } as const;

/** A connected byte stream as a host provides it. */
export interface Transport {
  /**
   * The next chunk, or null at end of stream. Rejects when the peer resets. `max`: a host that reads
   * into a buffer of the caller's size (Workers) returns what is waiting, up to `max` bytes, in one
   * chunk (its default is 4 KiB); others ignore it and return chunks of their own size.
   */
  read(max?: number): Promise<Uint8Array | null>;
  /**
   * Reads into the caller's memory: what is waiting, up to `into.length` bytes, returned as the filled part of it.
   * A host may move the memory as it reads (Workers' BYOB reads transfer the buffer): use the returned view, whose
   * `buffer` is the same memory, never `into` again. Null at end of stream. Hosts without it are read with `read`.
   */
  readInto?(into: Uint8Array): Promise<Uint8Array | null>;
  /** Writes may be issued before earlier ones settle: they reach the peer, and settle, in order. */
  write(bytes: Uint8Array): Promise<void>;
  /** Upgrades in place (only for dials with tls: 'starttls'). */
  startTls(serverName: string): Promise<Transport>;
  /** The newest TLS 1.3 ticket the server issued on this connection, once one has come (null: the server closed first; the engine only). */
  tlsTicket?(): Promise<TlsTicket | null>;
  /** Half-close once written bytes are flushed: TLS close_notify, then FIN; reads go on until the peer closes. */
  end?(): Promise<void>;
  close(): Promise<void>;
  info(): TransportInfo;
}

export interface Dialer {
  /** What this host can do: the runner refuses operations that need more. */
  readonly capabilities: ReadonlySet<Capability>;
  /** Of those, what only Portolan's TLS engine gives here: missing when a dial asks for the runtime's TLS (`tlsEngine: 'runtime'`). */
  readonly engineOnly?: ReadonlySet<Capability>;
  readonly runtime: 'workers' | 'node' | 'browser';
  dial(opts: DialOptions): Promise<Transport>;
  /** UDP, on hosts with the `udp` capability. */
  dialUdp?(opts: DatagramDialOptions): Promise<DatagramTransport>;
  /** Waits for a connection back from a server, on hosts with the `listen` capability. */
  listen?(opts: ListenOptions): Promise<Listener>;
}

/**
 * A sans-I/O frame parser: given the bytes buffered so far, returns the next
 * whole message and how many bytes it used, or undefined when it needs more.
 * Malformed input throws ProtocolError.
 */
export type Frame<T> = ((buffered: Uint8Array) => { value: T; size: number } | undefined) & {
  /**
   * How many bytes the buffer must hold before the frame can go on (the whole next message, or the fragment being
   * received), once its header is buffered; asked when the frame needs more bytes. A large remainder is then read
   * straight into memory of its own instead of being gathered from chunks.
   */
  sizeOf?: (buffered: Uint8Array) => number | undefined;
};

export interface ConnOptions {
  transport: Transport;
  /** The connection's number in the transcript, when the runner took it before dialing. */
  id?: number;
  /** The deadline every wait obeys; a function when the runner narrows it for a while (`ctx.within`). */
  signal: AbortSignal | (() => AbortSignal);
  transcript?: Transcript;
  /** Receive-buffer cap: a frame larger than this is a protocol error. */
  maxBuffered?: number;
  /** Waited on before each read from the transport (a session's client flow control); obeys the deadline. */
  beforeRead?: () => Promise<void>;
  host: string;
  port: number;
  tls: TlsMode;
}

export interface ReadLineOptions {
  /** Longest line accepted, terminator excluded. */
  max?: number;
  /** 'crlf' needs CRLF; 'lf' accepts LF with an optional CR before it. */
  ending?: 'crlf' | 'lf';
  decode?: (line: string) => string;
}

const CRLF = utf8('\r\n');
/** How many of a server's first bytes a Conn keeps. */
const FIRST_BYTES = 64;
/** Bytes still to come of a message from which on it is read straight into its own memory (Transport.readInto). */
const DIRECT_READ_BYTES = 64 * 1024;

/** The least a growing read asks for: what an idle connection's pending read holds. */
export const MIN_READ_BYTES = 4096;

/**
 * The size of the next read of a stream read in growing pieces: twice what the last read brought, from
 * MIN_READ_BYTES up to `max`. A host reads into a buffer of the size asked (Workers): a quiet connection keeps a
 * small one, a fast stream gets large ones, and a socket that returns little never costs a large buffer per read.
 */
export function nextReadSize(last: number, max: number): number {
  return Math.min(max, Math.max(MIN_READ_BYTES, last * 2));
}

export class Conn {
  private transport: Transport;
  private readonly signalOf: () => AbortSignal;
  /** A read the transport has not answered yet; kept when a wait is abandoned so no bytes are lost. */
  private pendingRead: Promise<Uint8Array | null> | undefined;
  readonly host: string;
  readonly port: number;
  private readonly transcript?: Transcript;
  readonly id: number;
  private readonly maxBuffered: number;
  private readonly beforeRead?: () => Promise<void>;
  private readonly received = new ReceiveBuffer();
  private eof = false;
  private closedByUs = false;
  /** A direct read was abandoned with part of a message in memory it no longer owns: the stream cannot go on. */
  private cut: PortolanError | null = null;
  tlsActive: boolean;
  private tlsUnconfirmed = false;
  bytesIn = 0;
  bytesOut = 0;
  /** The first bytes the server sent (up to FIRST_BYTES): what the runner reads a foreign greeting from. */
  firstBytes: Uint8Array = new Uint8Array(0);
  /** Time the dial took, set by the runner. */
  connectMs = 0;
  /** With `bulkReads`: the most one transport read asks for, and what the next one asks for. */
  private maxRead = 0;
  private nextRead = 0;

  constructor(opts: ConnOptions) {
    this.transport = opts.transport;
    const signal = opts.signal;
    this.signalOf = typeof signal === 'function' ? signal : () => signal;
    this.transcript = opts.transcript;
    this.id = opts.id ?? opts.transcript?.nextConnId() ?? 0;
    this.maxBuffered = opts.maxBuffered ?? 16 * 1024 * 1024;
    this.beforeRead = opts.beforeRead;
    this.host = opts.host;
    this.port = opts.port;
    this.tlsActive = opts.tls === 'implicit';
    this.tlsUnconfirmed = this.tlsActive;
  }

  info(): TransportInfo {
    return this.transport.info();
  }

  /**
   * The newest TLS 1.3 session ticket the server issued, waiting for one under the operation's deadline (tighten it with
   * `ctx.within`); null when the server closed first or the connection is not on Portolan's engine.
   */
  async tlsTicket(): Promise<TlsTicket | null> {
    return this.transport.tlsTicket ? this.guard(this.transport.tlsTicket(), 'a TLS session ticket') : null;
  }

  /** Bytes received but not yet consumed. */
  get buffered(): number {
    return this.buf.length;
  }

  get atEof(): boolean {
    return this.eof && this.buf.length === 0;
  }

  get signal(): AbortSignal {
    return this.signalOf();
  }

  /**
   * For bulk data (a file transfer, SSH packets): each transport read asks for twice what the last one
   * brought, from 4 KiB up to `max`, so a host that reads into the caller's buffer (Workers) returns
   * large chunks when data streams in and a quiet connection's pending read stays small.
   */
  bulkReads(max: number): void {
    this.maxRead = max;
    this.nextRead = Math.min(max, MIN_READ_BYTES);
  }

  /** Waits for `p` unless the operation's deadline fires first. */
  private guard<T>(p: Promise<T>, waiting: string): Promise<T> {
    const signal = this.signalOf();
    if (signal.aborted) return Promise.reject(deadlineError(signal, waiting));
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(deadlineError(signal, waiting));
      signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(this.closedByUs ? new PortolanError('closed', 'connection closed') : this.tlsFailure(classifyIo(e)));
        },
      );
    });
  }

  /** Reads one more chunk into the buffer; false at end of stream. */
  private async fill(waiting: string): Promise<boolean> {
    if (this.cut) throw this.cut;
    if (this.eof) return false;
    if (!this.pendingRead && this.beforeRead) await this.guard(this.beforeRead(), `the client to read what it was sent before ${waiting}`);
    this.pendingRead ??= this.transport.read(this.maxRead > 0 ? this.nextRead : undefined);
    const chunk = await this.guard(this.pendingRead, waiting);
    this.pendingRead = undefined;
    this.tlsUnconfirmed = false;
    if (chunk === null) {
      this.eof = true;
      return false;
    }
    if (this.maxRead > 0) this.nextRead = nextReadSize(chunk.length, this.maxRead);
    this.counted(chunk);
    if (this.received.length + chunk.length > this.maxBuffered) {
      throw new ProtocolError(`server sent more than ${this.maxBuffered} bytes without a complete message`);
    }
    this.received.append(chunk);
    return true;
  }

  private counted(chunk: Uint8Array): void {
    this.bytesIn += chunk.length;
    if (this.firstBytes.length < FIRST_BYTES) this.firstBytes = concat([this.firstBytes, chunk.subarray(0, FIRST_BYTES - this.firstBytes.length)]);
  }

  /** Whether the next `size` bytes (a message whose size is known) should be read straight into memory of their own. */
  private direct(size: number): boolean {
    return this.transport.readInto !== undefined && !this.pendingRead && !this.beforeRead && size <= this.maxBuffered && size - this.buf.length >= DIRECT_READ_BYTES;
  }

  /**
   * Reads until `size` bytes are buffered, into one allocation of that size: what is buffered is copied to its
   * start and the transport reads the rest into it. No chunk is read past the message.
   */
  private async fillDirect(size: number, waiting: string): Promise<void> {
    if (this.cut) throw this.cut;
    const have = this.buf.length;
    let memory: Uint8Array = new Uint8Array(size);
    memory.set(this.take(have));
    for (let at = have; at < size; ) {
      let got: Uint8Array | null;
      try {
        got = await this.guard(this.transport.readInto!(memory.subarray(at)), waiting);
      } catch (e) {
        // The read may still land in memory this Conn no longer holds; whatever comes next is mid-message.
        this.cut = new PortolanError('closed', `the connection was left in the middle of ${waiting} (${at} of ${size} bytes read)`);
        throw e;
      }
      this.tlsUnconfirmed = false;
      if (got === null) {
        this.eof = true;
        throw closedEarly(waiting, at, size);
      }
      this.counted(got);
      at += got.length;
      memory = new Uint8Array(got.buffer, 0, size);
    }
    this.received.append(memory);
  }

  /** The buffered bytes, not yet consumed. */
  private get buf(): Uint8Array {
    return this.received.bytes;
  }

  private take(n: number): Uint8Array {
    return this.received.take(n);
  }

  /**
   * Until TLS has carried a byte back, a failure is the handshake's: some runtimes (workerd)
   * finish the handshake lazily and report its failure as an opaque error on the first read or write.
   */
  private tlsFailure(err: PortolanError): PortolanError {
    if (!this.tlsUnconfirmed || err.code === 'io_timeout' || err.code === 'tls_error' || err.code === 'untrusted_peer') return err;
    return new PortolanError('tls_error', `TLS with ${joinHostPort(this.host, this.port)} failed before any data arrived: the server does not speak TLS there, or its certificate is not trusted (${err.message})`);
  }

  /** Whether frames are being recorded (only with ?transcript=1): decodes are built only then. */
  private get recording(): boolean {
    return this.transcript?.enabled === true;
  }

  private recordIn(bytes: Uint8Array, decode?: string, secret = false): void {
    if (!this.recording) return;
    this.transcript?.record('in', this.id, bytes, { decode: decode ?? (secret ? undefined : previewBytes(bytes)), secret });
  }

  /** Whatever arrives next (buffered bytes first), at most `max`; null at end of stream. */
  async read(max = 64 * 1024): Promise<Uint8Array | null> {
    if (this.buf.length === 0 && !(await this.fill('data'))) return null;
    const out = this.take(Math.min(max, this.buf.length));
    this.recordIn(out);
    return out;
  }

  /** Exactly n bytes; `closed` if the stream ends first. */
  async readExact(n: number, what = `${n} bytes`): Promise<Uint8Array> {
    if (n > this.maxBuffered) throw new ProtocolError(`${what}: ${n} bytes exceeds the ${this.maxBuffered}-byte limit`);
    if (this.direct(n)) {
      // The buffer then holds exactly these bytes, in memory of their own: the view taken is the caller's alone.
      await this.fillDirect(n, what);
      const out = this.take(n);
      this.recordIn(out);
      return out;
    }
    while (this.buf.length < n) {
      if (!(await this.fill(what))) throw closedEarly(what, this.buf.length, n);
    }
    const out = this.take(n).slice();
    this.recordIn(out);
    return out;
  }

  /** One line, terminator removed, as latin1 text (every byte kept). */
  async readLine(opts: ReadLineOptions = {}): Promise<string> {
    const bytes = await this.readLineBytes(opts);
    return fromLatin1(bytes);
  }

  /** One line as bytes, terminator removed. The transcript shows `decode(line)` when given. */
  async readLineBytes(opts: ReadLineOptions = {}): Promise<Uint8Array> {
    const max = opts.max ?? 8192;
    const ending = opts.ending ?? 'lf';
    let scanned = 0;
    for (;;) {
      const at = ending === 'crlf' ? indexOf(this.buf, CRLF, Math.max(0, scanned - 1)) : this.buf.indexOf(0x0a, scanned);
      if (at !== -1) {
        const termLen = ending === 'crlf' ? 2 : 1;
        let end = at;
        if (ending === 'lf' && end > 0 && this.buf[end - 1] === 0x0d) end--;
        if (end > max) throw new ProtocolError(`line longer than ${max} bytes`);
        const raw = this.take(at + termLen);
        const line = raw.slice(0, end);
        const text = fromLatin1(line);
        if (this.recording) this.transcript?.record('in', this.id, raw, { decode: opts.decode ? opts.decode(text) : JSON.stringify(text).slice(0, 400) });
        return line;
      }
      if (this.buf.length > max + 2) throw new ProtocolError(`line longer than ${max} bytes`);
      scanned = this.buf.length;
      if (!(await this.fill('line'))) throw closedEarly('line', this.buf.length);
    }
  }

  /** The next message as parsed by a sans-I/O frame function. */
  /** `secret(value)` true keeps the frame's bytes out of the transcript (its size and `describe` stay). */
  async readFrame<T>(frame: Frame<T>, what = 'message', describe?: (value: T) => string, secret?: (value: T) => boolean): Promise<T> {
    for (;;) {
      if (this.buf.length > 0) {
        let got;
        try {
          got = frame(this.buf);
        } catch (e) {
          // Keep the offending bytes in the transcript: they are what the user needs to see.
          this.transcript?.record('in', this.id, this.buf, { decode: `malformed ${what}: ${(e as Error).message}` });
          throw e;
        }
        if (got) {
          const raw = this.take(got.size);
          if (this.recording) this.recordIn(raw, describe ? describe(got.value) : undefined, secret?.(got.value) ?? false);
          return got.value;
        }
        const size = frame.sizeOf?.(this.buf);
        if (size !== undefined && this.direct(size)) {
          await this.fillDirect(size, what);
          continue;
        }
      }
      if (!(await this.fill(what))) throw closedEarly(what, this.buf.length);
    }
  }

  /**
   * Reads until end of stream (capped): how daytime, finger or gopher servers delimit an answer.
   * A connection lost after data (a TLS peer that closes without close_notify) ends the read
   * with `cleanEnd: false` instead of failing, so the answer is kept and the caller can say so.
   */
  async readToEnd(max = 1024 * 1024): Promise<{ bytes: Uint8Array; truncated: boolean; cleanEnd: boolean }> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await this.read(max - size);
      } catch (e) {
        const err = classify(e);
        if (err.code === 'closed' && size > 0) return { bytes: concat(parts), truncated: false, cleanEnd: false };
        throw err;
      }
      if (chunk === null) return { bytes: concat(parts), truncated: false, cleanEnd: true };
      parts.push(chunk);
      size += chunk.length;
      if (size >= max) return { bytes: concat(parts), truncated: true, cleanEnd: true };
    }
  }

  /** Sends bytes (or UTF-8 text). Pass `secret` to keep the bytes out of the transcript. */
  async write(data: Uint8Array | string, opts: RecordOptions = {}): Promise<void> {
    const bytes = typeof data === 'string' ? utf8(data) : data;
    if (this.recording) {
      this.transcript?.record('out', this.id, bytes, {
        ...opts,
        decode: opts.decode ?? (opts.secret ? undefined : previewBytes(bytes)),
      });
    }
    this.bytesOut += bytes.length;
    await this.guard(this.transport.write(bytes), 'write');
  }

  /** A note in the transcript (TLS upgrade, chosen algorithm...). */
  note(text: string): void {
    this.transcript?.info(this.id, text);
  }

  /**
   * Upgrades to TLS. Call it right after reading the server's go-ahead: with
   * bytes still buffered the server is already talking past the upgrade point.
   */
  async startTls(): Promise<void> {
    if (this.buf.length > 0) {
      throw new ProtocolError(`server sent ${this.buf.length} bytes after its STARTTLS go-ahead (possible injection)`);
    }
    this.note('starting TLS');
    try {
      this.transport = await this.guard(this.transport.startTls(this.host), 'TLS handshake');
    } catch (e) {
      throw asTlsError(e);
    }
    this.tlsActive = true;
    this.tlsUnconfirmed = true;
    this.note('TLS established');
  }

  /**
   * Ends our sending side (TLS close_notify, then FIN) and keeps reading: how a stream protocol marks the
   * end of its data (an FTP upload). Closing instead may drop bytes the host has not sent yet.
   */
  async end(): Promise<void> {
    this.note('half-close: no more data from us');
    if (!this.transport.end) return this.close();
    await this.guard(this.transport.end(), 'half-close');
  }

  /**
   * Hands the byte stream to a new owner (a proxy hop passing its connection on as the target's):
   * bytes already received come first. This Conn no longer reads, writes or closes it.
   */
  detach(): Transport {
    const transport = this.handOver();
    this.closedByUs = true;
    return transport;
  }

  /**
   * Puts a layer between the protocol and the byte stream from here on (IMAP COMPRESS=DEFLATE): `layer` gets the
   * stream, bytes already received first, and returns the one this Conn reads and writes. The transcript goes on
   * showing what the protocol says. Call it right after reading the server's go-ahead.
   */
  wrap(layer: (inner: Transport) => Transport, note: string): void {
    this.transport = layer(this.handOver());
    this.note(note);
  }

  /** The byte stream with what was already received put back in front of it. */
  private handOver(): Transport {
    const transport = this.transport;
    let pending = this.pendingRead;
    let left: Uint8Array | null = this.buf.length > 0 ? this.take(this.buf.length).slice() : null;
    this.pendingRead = undefined;
    return {
      read(max) {
        if (left) {
          const out = left;
          left = null;
          return Promise.resolve(out);
        }
        const p = pending ?? transport.read(max);
        pending = undefined;
        return p;
      },
      write: (bytes) => transport.write(bytes),
      startTls(serverName) {
        if (left || pending) return Promise.reject(new ProtocolError('the peer sent bytes before the TLS handshake could start'));
        return transport.startTls(serverName);
      },
      end: transport.end ? () => transport.end!() : undefined,
      close: () => transport.close(),
      info: () => transport.info(),
    };
  }

  async close(): Promise<void> {
    if (this.closedByUs) return;
    this.closedByUs = true;
    try {
      await this.transport.close();
    } catch {
      // already gone
    }
  }
}

function deadlineError(signal: AbortSignal, waiting: string): PortolanError {
  const reason = signal.reason;
  if (reason instanceof PortolanError) return reason;
  return new PortolanError('io_timeout', `no ${waiting} from the server before the deadline`);
}

function classifyIo(e: unknown): PortolanError {
  const err = classify(e);
  // A connected socket that fails later was reset or closed, not refused.
  if (err.code === 'refused' || err.code === 'connect_timeout') return new PortolanError('closed', err.message);
  return err;
}

function asTlsError(e: unknown): PortolanError {
  const err = classify(e);
  if (err.code === 'io_timeout' || err.code === 'tls_error' || err.code === 'untrusted_peer') return err;
  return new PortolanError('tls_error', `TLS handshake failed: ${err.message}`);
}

function closedEarly(what: string, have: number, need?: number): PortolanError {
  const tail = need === undefined ? `${have} bytes pending` : `${have} of ${need} bytes received`;
  return new PortolanError('closed', `server closed the connection while waiting for ${what} (${tail})`);
}
