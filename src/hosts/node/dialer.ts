// The Node dialer: Conn transports over node:net and node:tls.
import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import { createHash, X509Certificate } from 'node:crypto';
import { RUNTIME_CAPABILITIES } from '../../core/capabilities.ts';
import type { Capability, DialOptions, Dialer, PeerCertificate, Transport, TransportInfo } from '../../core/conn.ts';
import type { DatagramDialOptions, DatagramPeer, DatagramTransport } from '../../core/datagram.ts';
import { PortolanError, classify } from '../../core/errors.ts';

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
    private readonly pinSha256?: string,
  ) {
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
    const secured = await upgrade(this.socket as net.Socket, serverName, this.pinSha256, undefined);
    return new SocketTransport(secured, this.pinSha256);
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
      info.peerCertificates = peerChain(s);
    }
    return info;
  }
}

export function peerChain(s: tls.TLSSocket): PeerCertificate[] {
  const out: PeerCertificate[] = [];
  let cert = s.getPeerX509Certificate?.();
  const seen = new Set<string>();
  while (cert && !seen.has(cert.fingerprint256) && out.length < 10) {
    seen.add(cert.fingerprint256);
    out.push(describeCert(cert));
    cert = cert.issuerCertificate;
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

function normalizeFingerprint(fp: string): string {
  return fp.replace(/^sha256:/i, '').replace(/[^0-9a-f]/gi, '').toLowerCase();
}

function upgrade(socket: net.Socket | undefined, serverName: string, pinSha256: string | undefined, alpn: string[] | undefined, target?: { host: string; address?: string; port: number }): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      ...(socket ? { socket } : { host: target!.address ?? target!.host, port: target!.port }),
      servername: net.isIP(serverName) ? undefined : serverName,
      ALPNProtocols: alpn,
      rejectUnauthorized: !pinSha256,
    });
    s.once('secureConnect', () => {
      if (pinSha256) {
        const cert = s.getPeerX509Certificate();
        const got = cert ? createHash('sha256').update(cert.raw).digest('hex') : '';
        if (got !== normalizeFingerprint(pinSha256)) {
          s.destroy();
          return reject(new PortolanError('untrusted_peer', `certificate fingerprint SHA256:${got} does not match the pinned ${pinSha256}`, { fingerprintSha256: got }));
        }
      }
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (e) => reject(tlsFailure(e)));
  });
}

function tlsFailure(e: Error): PortolanError {
  const err = classify(e);
  if (err.code === 'refused' || err.code === 'connect_timeout') return err;
  const code = (e as { code?: string }).code ?? '';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(code)) {
    return new PortolanError('untrusted_peer', `certificate not trusted: ${e.message}`, { reason: code });
  }
  return new PortolanError('tls_error', `TLS handshake failed: ${e.message}`);
}

export class NodeDialer implements Dialer {
  readonly runtime = 'node' as const;
  readonly capabilities: ReadonlySet<Capability>;

  constructor(capabilities: readonly Capability[] = RUNTIME_CAPABILITIES.node) {
    this.capabilities = new Set(capabilities);
  }

  dialUdp(opts: DatagramDialOptions): Promise<DatagramTransport> {
    return openDatagram(opts);
  }

  async dial(opts: DialOptions): Promise<Transport> {
    const onAbortOf = (destroy: () => void) => {
      const f = () => destroy();
      opts.signal.addEventListener('abort', f, { once: true });
      return () => opts.signal.removeEventListener('abort', f);
    };
    if (opts.tls === 'implicit') {
      let sock: tls.TLSSocket | undefined;
      const off = onAbortOf(() => sock?.destroy());
      try {
        const p = upgrade(undefined, opts.host, opts.pinSha256, opts.alpn, opts);
        sock = await p;
        return new SocketTransport(sock, opts.pinSha256);
      } catch (e) {
        if (opts.signal.aborted) throw classify(opts.signal.reason);
        throw e;
      } finally {
        off();
      }
    }
    const socket = new net.Socket();
    const off = onAbortOf(() => socket.destroy());
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
        socket.connect({ host: opts.address ?? opts.host, port: opts.port });
      });
      socket.removeAllListeners('error');
      return new SocketTransport(socket, opts.pinSha256);
    } catch (e) {
      if (opts.signal.aborted) throw classify(opts.signal.reason);
      throw classify(e);
    } finally {
      off();
    }
  }
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
  const queue: { bytes: Uint8Array; from: DatagramPeer }[] = [];
  let waiter: (() => void) | undefined;
  let error: Error | undefined;
  const MAX_QUEUED = 1024;
  socket.on('message', (msg, rinfo) => {
    if (rinfo.address !== address || queue.length >= MAX_QUEUED) return;
    queue.push({ bytes: new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), from: { address: rinfo.address, port: rinfo.port } });
    waiter?.();
  });
  socket.on('error', (e) => {
    error = e;
    waiter?.();
  });
  return {
    send: (bytes, port) =>
      new Promise((resolve, reject) => socket.send(bytes, port ?? opts.port, address, (e) => (e ? reject(classify(e)) : resolve()))),
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
