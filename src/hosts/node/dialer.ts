// The Node dialer: Conn transports over node:net and node:tls.
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { createHash, X509Certificate } from 'node:crypto';
import { RUNTIME_CAPABILITIES, unsupportedReasons } from '../../core/capabilities.ts';
import { RESERVED_PORTS, type Capability, type ClientCertificate, type DialOptions, type Dialer, type ListenOptions, type Listener, type PeerCertificate, type TlsVersion, type Transport, type TransportInfo } from '../../core/conn.ts';
import type { DatagramDialOptions, DatagramPeer, DatagramTransport } from '../../core/datagram.ts';
import { PortolanError, UnsupportedRuntime, classify } from '../../core/errors.ts';
import { sameHostAddress } from '../../core/ip.ts';
import { engineTls, parsePin, usesEngine, type EngineEnv } from '../../core/tls/engine.ts';
import { webCrypto } from '../../core/crypto.ts';
import { trustStore, type TrustStore } from '../../core/tls/verify.ts';
import { readFileSync } from 'node:fs';

const HIGH_WATER = 1024 * 1024;

/** Pull-based reads over a Node socket, pausing it while unread data piles up. */
class SocketTransport implements Transport {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private error: Error | undefined;
  private waiter: (() => void) | undefined;
  private readonly onData = (chunk: Buffer) => {
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (this.queued > HIGH_WATER) this.socket.pause();
    this.wake();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake();
  };
  private readonly onError = (e: Error) => {
    this.error = e;
    this.wake();
  };

  constructor(
    private readonly socket: net.Socket | tls.TLSSocket,
    private readonly tlsOptions: TlsOptions = {},
  ) {
    // Protocols write small frames and wait for answers: no Nagle delay.
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        this.queued -= next.length;
        if (this.socket.isPaused() && this.queued < HIGH_WATER / 2) this.socket.resume();
        return next;
      }
      if (this.error) throw this.error;
      if (this.ended) return null;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.error) return reject(this.error);
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  async startTls(serverName: string): Promise<Transport> {
    this.detach();
    const secured = await upgrade(this.socket as net.Socket, serverName, { ...this.tlsOptions, alpn: undefined });
    return new SocketTransport(secured, this.tlsOptions);
  }

  end(): Promise<void> {
    return new Promise((resolve) => this.socket.end(() => resolve()));
  }

  private detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
  }

  async close(): Promise<void> {
    this.socket.destroy();
  }

  info(): TransportInfo {
    const s = this.socket;
    const info: TransportInfo = { remoteAddress: s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : undefined, localAddress: s.localAddress ? `${s.localAddress}:${s.localPort}` : undefined };
    if (s instanceof tls.TLSSocket) {
      info.alpn = s.alpnProtocol || null;
      info.tlsVersion = s.getProtocol() ?? undefined;
      info.cipher = s.getCipher()?.name;
      info.peerCertificates = chains.get(s) ?? peerChain(s);
      const raw = s.getPeerCertificate()?.raw;
      if (raw?.length) info.serverCertificate = new Uint8Array(raw);
    }
    return info;
  }
}

/** The chain as seen at the handshake: once the peer closes, Node no longer hands it out. */
const chains = new WeakMap<tls.TLSSocket, PeerCertificate[]>();

/** The chain the peer presented, leaf first (from the detailed legacy object, which links the issuers). */
export function peerChain(s: tls.TLSSocket): PeerCertificate[] {
  return peerX509Chain(s).map(describeCert);
}

function peerX509Chain(s: tls.TLSSocket): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let c: tls.DetailedPeerCertificate | undefined = s.getPeerCertificate(true) as tls.DetailedPeerCertificate;
  while (c && c.raw && !seen.has(c.fingerprint256) && out.length < 10) {
    seen.add(c.fingerprint256);
    out.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}

function describeCert(c: X509Certificate): PeerCertificate {
  const key = c.publicKey;
  const details = key.asymmetricKeyDetails;
  return {
    subject: c.subject.replace(/\n/g, ', '),
    issuer: c.issuer.replace(/\n/g, ', '),
    subjectAltNames: c.subjectAltName ? c.subjectAltName.split(', ') : [],
    validFrom: new Date(c.validFrom).toISOString(),
    validTo: new Date(c.validTo).toISOString(),
    fingerprintSha256: c.fingerprint256,
    keyType: key.asymmetricKeyType,
    keyBits: details?.modulusLength ?? (details?.namedCurve ? curveBits(details.namedCurve) : undefined),
  };
}

function curveBits(curve: string): number | undefined {
  const m = /(\d{3})/.exec(curve);
  return m ? Number(m[1]) : undefined;
}

/** What a TLS handshake offers and accepts: ALPN, a pinned leaf or key, a private CA, version bounds. */
interface TlsOptions {
  alpn?: string[];
  pinSha256?: string;
  pinSpkiSha256?: string;
  caPem?: string;
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  clientCertificate?: ClientCertificate;
}

/**
 * TLS 1.0 and 1.1 sign the handshake with SHA-1, which OpenSSL 3 refuses at its default security level
 * ("legacy sigalg disallowed"): a dial that asks for them lowers the level to 0, and only then.
 */
function legacyCiphers(o: TlsOptions): string | undefined {
  const min = o.minVersion ?? 'TLSv1.2';
  return min === 'TLSv1' || min === 'TLSv1.1' ? 'DEFAULT:@SECLEVEL=0' : undefined;
}

/**
 * TLS on a new or existing socket. The chain is always checked here rather than by Node's reject path, so a
 * refusal can show the certificate it refused: with a pin, only the SHA-256 of the leaf decides; without
 * one, the CA chain and the name must verify, and an untrusted certificate fails as untrusted_peer with its
 * fingerprint (what the user passes as pinSha256 to accept it).
 */
function upgrade(socket: net.Socket | undefined, serverName: string, o: TlsOptions, target?: { host: string; address?: string; port: number }): Promise<tls.TLSSocket> {
  const pinSha256 = o.pinSha256;
  const ciphers = legacyCiphers(o);
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      ...(socket ? { socket } : { host: target!.address ?? target!.host, port: target!.port }),
      servername: net.isIP(serverName) ? undefined : serverName,
      ALPNProtocols: o.alpn,
      rejectUnauthorized: false,
      ...(o.minVersion ? { minVersion: o.minVersion } : {}),
      ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
      ...(ciphers ? { ciphers } : {}),
      ...(o.clientCertificate ? { cert: o.clientCertificate.certPem, key: o.clientCertificate.keyPem } : {}),
      ...(o.caPem ? { ca: o.caPem } : {}),
    });
    const onError = (e: Error) => reject(tlsFailure(e));
    s.once('error', onError);
    s.once('secureConnect', () => {
      s.off('error', onError);
      // Node 20 hands out the peer certificate once per socket: read the chain here and keep it.
      const x509 = peerX509Chain(s);
      const cert = x509[0];
      const got = cert ? createHash('sha256').update(cert.raw).digest('hex') : '';
      const seen = cert ? { fingerprintSha256: got, subject: cert.subject.replace(/\n/g, ', '), issuer: cert.issuer.replace(/\n/g, ', ') } : { fingerprintSha256: got };
      if (pinSha256 || o.pinSpkiSha256) {
        const spki = cert ? createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('hex') : '';
        const certOk = !!pinSha256 && got === Buffer.from(parsePin(pinSha256, 'pinSha256')).toString('hex');
        const spkiOk = !!o.pinSpkiSha256 && spki === Buffer.from(parsePin(o.pinSpkiSha256, 'pinSpkiSha256')).toString('hex');
        if (!certOk && !spkiOk) {
          s.destroy();
          return reject(new PortolanError('untrusted_peer', `certificate fingerprint SHA256:${got} (public key SHA-256 ${spki}) matches no pinned fingerprint`, { ...seen, reason: 'pin_mismatch', spkiSha256: spki }));
        }
      } else if (!s.authorized) {
        const reason = String(s.authorizationError ?? 'not verified');
        s.destroy();
        return reject(new PortolanError('untrusted_peer', `certificate not trusted (${reason}); its fingerprint is SHA256:${got} — pass it as pinSha256 to trust this certificate`, { ...seen, reason }));
      }
      s.on('error', () => {});
      chains.set(s, x509.map(describeCert));
      resolve(s);
    });
  });
}

function tlsFailure(e: Error): PortolanError {
  const err = classify(e);
  if (err.code === 'refused' || err.code === 'connect_timeout') return err;
  const code = (e as { code?: string }).code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(code)) {
    return new PortolanError('untrusted_peer', `certificate not trusted: ${e.message}`, { reason: code });
  }
  // OpenSSL's own words ("tlsv1 alert protocol version") read better than its error-queue line.
  const reason = (e as { reason?: string }).reason;
  return new PortolanError('tls_error', `TLS handshake failed: ${reason ? `${reason}${code ? ` (${code})` : ''}` : e.message}`);
}

/** A port below 1024 asked for where this host lacks `privilegedPort` (not running as root). */
function needsRoot(what: string): UnsupportedRuntime {
  const { reasons, alternatives } = unsupportedReasons(['privilegedPort']);
  return new UnsupportedRuntime(`${what} needs root here: ${reasons.join(' ')}`, { runtime: 'node', missing: ['privilegedPort'], reasons, alternatives });
}

/** The engine on the Node host trusts Node's bundled Mozilla roots and NODE_EXTRA_CA_CERTS, as node:tls does. */
let nodeAnchors: TrustStore | undefined;
function nodeTrustStore(): TrustStore {
  if (nodeAnchors) return nodeAnchors;
  const pems = [...tls.rootCertificates];
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  if (extra) {
    try {
      pems.push(readFileSync(extra, 'utf8'));
    } catch {
      // unreadable: node:tls warns about it too
    }
  }
  const ders = pems.flatMap((p) => [...p.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'))));
  nodeAnchors = trustStore(ders, `Mozilla's roots bundled in Node.js ${process.versions.node}${extra ? ' and NODE_EXTRA_CA_CERTS' : ''}`);
  return nodeAnchors;
}

const NODE_ENGINE: EngineEnv = { crypto: webCrypto(), anchors: nodeTrustStore };

export class NodeDialer implements Dialer {
  readonly runtime = 'node' as const;
  readonly capabilities: ReadonlySet<Capability>;

  constructor(capabilities: readonly Capability[] = RUNTIME_CAPABILITIES.node) {
    this.capabilities = new Set(capabilities);
  }

  /** Portolan's TLS engine over a plain socket (tlsEngine portolan; or to offer chosen suites and groups alone). */
  private async dialEngine(opts: DialOptions): Promise<Transport> {
    const plain = await this.dial({ ...opts, tls: 'off', tlsEngine: 'runtime' });
    if (opts.tls === 'starttls') return Object.assign(plain, { startTls: (serverName: string) => engineTls(plain, { ...opts, host: serverName }, NODE_ENGINE) });
    return engineTls(plain, opts, NODE_ENGINE);
  }

  dialUdp(opts: DatagramDialOptions): Promise<DatagramTransport> {
    return openDatagram(opts);
  }

  listen(opts: ListenOptions): Promise<Listener> {
    if (opts.privilegedPort && !this.capabilities.has('privilegedPort')) return Promise.reject(needsRoot('a reserved listening port'));
    return listenForServer(opts);
  }

  async dial(opts: DialOptions): Promise<Transport> {
    if (opts.privilegedSourcePort && !this.capabilities.has('privilegedPort')) throw needsRoot('a privileged source port');
    const onAbortOf = (destroy: () => void) => {
      const f = () => destroy();
      opts.signal.addEventListener('abort', f, { once: true });
      return () => opts.signal.removeEventListener('abort', f);
    };
    if (usesEngine(opts, !opts.cipherSuites?.length && !opts.groups?.length && !opts.tlsResume)) return this.dialEngine(opts);
    const tlsOptions: TlsOptions = { alpn: opts.alpn, pinSha256: opts.pinSha256, pinSpkiSha256: opts.pinSpkiSha256, caPem: opts.caPem, minVersion: opts.minVersion, maxVersion: opts.maxVersion, clientCertificate: opts.clientCertificate };
    if (opts.tls === 'implicit' && !opts.privilegedSourcePort) {
      let sock: tls.TLSSocket | undefined;
      const off = onAbortOf(() => sock?.destroy());
      try {
        const p = upgrade(undefined, opts.host, tlsOptions, opts);
        sock = await p;
        return new SocketTransport(sock, tlsOptions);
      } catch (e) {
        if (opts.signal.aborted) throw classify(opts.signal.reason);
        throw e;
      } finally {
        off();
      }
    }
    let socket: net.Socket | undefined;
    const off = onAbortOf(() => socket?.destroy());
    try {
      socket = opts.privilegedSourcePort ? await connectFromReservedPort(opts, (s) => (socket = s)) : await connectPlain(opts, undefined, (s) => (socket = s));
      if (opts.tls === 'implicit') return new SocketTransport(await upgrade(socket, opts.host, tlsOptions), tlsOptions);
      return new SocketTransport(socket, tlsOptions);
    } catch (e) {
      if (opts.signal.aborted) throw classify(opts.signal.reason);
      throw classify(e);
    } finally {
      off();
    }
  }
}

function connectPlain(opts: DialOptions, localPort: number | undefined, track: (s: net.Socket) => void): Promise<net.Socket> {
  const socket = new net.Socket();
  track(socket);
  return new Promise<net.Socket>((resolve, reject) => {
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (e) => {
      socket.destroy();
      reject(e);
    });
    socket.connect({ host: opts.address ?? opts.host, port: opts.port, ...(localPort ? { localPort } : {}) });
  });
}

/** Lowest and highest reserved port rresvport(3) hands out: 512–1023 (the rsh family checks the client's port). */

/**
 * Runs `use` with free ports in 512–1023, like rresvport(3), trying the next one while a port is taken; from a
 * random start, so a server on the same machine taking ports from 1023 down (rshd connecting back) rarely collides.
 */
async function withReservedPort<T>(what: string, use: (port: number) => Promise<T>): Promise<T> {
  const span = RESERVED_PORTS.high - RESERVED_PORTS.low + 1;
  const start = Math.floor(Math.random() * span);
  let last: unknown;
  for (let i = 0; i < 64; i++) {
    const port = RESERVED_PORTS.high - ((start + i) % span);
    try {
      return await use(port);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') {
        const reason = `binding ${what} ${port} was refused (${code}): the Node host is not running as root`;
        throw new UnsupportedRuntime(reason, { runtime: 'node', missing: ['privilegedPort'], reasons: [reason], alternatives: ['Run `portolan serve` as root (or with CAP_NET_BIND_SERVICE).'] });
      }
      if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL') throw e;
      last = e;
    }
  }
  throw new PortolanError('refused', `no free ${what} in ${RESERVED_PORTS.low}–${RESERVED_PORTS.high}: ${(last as Error)?.message ?? 'all taken'}`);
}

/** Connects from a free port in 512–1023 (the rsh family's trust check). */
function connectFromReservedPort(opts: DialOptions, track: (s: net.Socket) => void): Promise<net.Socket> {
  return withReservedPort('source port', (localPort) => connectPlain(opts, localPort, track));
}

function listenOn(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/**
 * Listens for the one connection a server makes back (rshd and rexecd open standard error that way), bound to the
 * local address the server saw: connections from any other address are dropped, and the socket stops listening
 * after the first accepted one or when the operation ends.
 */
async function listenForServer(opts: ListenOptions): Promise<Listener> {
  const server = net.createServer();
  let accepted: net.Socket | undefined;
  let closed = false;
  let waiter: { resolve: (s: net.Socket) => void; reject: (e: Error) => void } | undefined;
  server.on('connection', (socket) => {
    if (accepted || !sameHostAddress(socket.remoteAddress, opts.from)) {
      socket.destroy();
      return;
    }
    accepted = socket;
    // Until a transport wraps it, a reset must not become an unhandled 'error' event; the transport sees it closed.
    socket.on('error', () => {});
    server.close();
    waiter?.resolve(socket);
  });
  const port = opts.privilegedPort ? await withReservedPort('listening port', (p) => listenOn(server, opts.localAddress, p)) : await listenOn(server, opts.localAddress, 0);
  const close = async () => {
    if (closed) return;
    closed = true;
    server.close();
    waiter?.reject(new PortolanError('closed', `stopped listening on port ${port}`));
  };
  opts.signal.addEventListener('abort', () => void close(), { once: true });
  return {
    port,
    accept() {
      if (accepted) return Promise.resolve(new SocketTransport(accepted));
      if (closed) return Promise.reject(new PortolanError('closed', `stopped listening on port ${port}`));
      return new Promise<net.Socket>((resolve, reject) => (waiter = { resolve, reject })).then((s) => new SocketTransport(s));
    },
    close,
  };
}

/** A UDP socket for one target address; datagrams from any other address are dropped. */
async function openDatagram(opts: DatagramDialOptions): Promise<DatagramTransport> {
  let address = opts.address ?? opts.host;
  if (!net.isIP(address)) {
    const { lookup } = await import('node:dns/promises');
    address = (await lookup(address)).address;
  }
  const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // A multicast target (SSDP, mDNS discovery; only where the policy allows it) is answered by each responder
  // from its own address: accept those, and keep the query on the local link (TTL 1).
  const multicast = isMulticast(address);
  if (multicast) socket.setMulticastTTL(1);
  const queue: { bytes: Uint8Array; from: DatagramPeer }[] = [];
  let waiter: (() => void) | undefined;
  let error: Error | undefined;
  const MAX_QUEUED = 1024;
  socket.on('message', (msg, rinfo) => {
    if ((!multicast && rinfo.address !== address) || queue.length >= MAX_QUEUED) return;
    queue.push({ bytes: new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), from: { address: rinfo.address, port: rinfo.port } });
    waiter?.();
  });
  socket.on('error', (e) => {
    error = e;
    waiter?.();
  });
  return {
    send: (bytes, port) =>
      new Promise((resolve, reject) =>
        socket.send(bytes, port ?? opts.port, address, (e) => {
          if (!e) return resolve();
          // Linux refuses datagrams to a broadcast address unless SO_BROADCAST is set, which Portolan never sets.
          if ((e as NodeJS.ErrnoException).code === 'EACCES') return reject(new PortolanError('refused', `the system refused to send to ${address}:${port ?? opts.port} (EACCES: a broadcast address?)`));
          reject(classify(e));
        }),
      ),
    async receive() {
      for (;;) {
        const next = queue.shift();
        if (next) return next;
        if (error) throw classify(error);
        await new Promise<void>((r) => (waiter = r));
        waiter = undefined;
      }
    },
    async close() {
      try {
        socket.close();
      } catch {
        // already closed
      }
    },
    info: () => ({ remoteAddress: address, localPort: socket.address().port }),
  };
}

function isMulticast(address: string): boolean {
  if (net.isIPv4(address)) {
    const first = Number(address.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return /^ff/i.test(address);
}
