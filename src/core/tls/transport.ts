// TLS as a Transport over a plain one: drives the sans-I/O TlsClient with a host's TCP transport, so the Workers
// host (connect() with secureTransport 'off') and the Node host can speak the engine's TLS wherever the runtime's
// own TLS cannot serve (ALPN, the peer's certificate, pins, private CAs, client certificates, version bounds).
//
// How it works: `startTlsClient` sends the ClientHello and pumps bytes between the transport and the engine until the
// handshake completes (or fails: the alert is flushed first). Afterwards `read` hands out decrypted application data
// (reading and feeding more records as needed) and `write` seals data into records; both directions flush the
// engine's output queue in order, so KeyUpdate answers and alerts leave in sequence with the data.
import { concat } from '../bytes.ts';
import { PortolanError, classify } from '../errors.ts';
import { raceSignal } from '../runner.ts';
import { MIN_READ_BYTES, nextReadSize, type Transport, type TransportInfo } from '../conn.ts';
import { TlsClient, type TlsClientConfig } from './client.ts';
import { TlsError } from './errors.ts';
import { AlertDescription } from './wire.ts';

/** What a caller's read returns at most when it names no size: several full records. */
const READ_BYTES = 64 * 1024;
/**
 * The most one read asks the plain transport for. Reads grow from 4 KiB with what they bring (`nextReadSize`): with
 * 64 KiB buffers on a socket that returns 4 KiB at a time, the engine ran at half the speed.
 */
const MAX_PLAIN_READ = 256 * 1024;

export interface TlsTransport extends Transport {
  readonly client: TlsClient;
}

/** Runs the handshake over `plain` and resolves with the protected transport. `signal` aborts the handshake. */
export async function startTlsClient(plain: Transport, config: TlsClientConfig, signal?: AbortSignal): Promise<TlsTransport> {
  const client = new TlsClient(config);
  let flushing: Promise<void> = Promise.resolve();
  // Writes what the engine queued, in order; each flush waits for the ones before it.
  const flush = (): Promise<void> => {
    const chunks = client.takeOutgoing();
    if (chunks.length === 0) return flushing;
    const bytes = chunks.length === 1 ? chunks[0] : concat(chunks);
    flushing = flushing.then(() => plain.write(bytes));
    return flushing;
  };
  const abortable = <T>(p: Promise<T>): Promise<T> => (signal ? raceSignal(p, signal) : p);
  let readSize = MIN_READ_BYTES;
  const readPlain = async (): Promise<Uint8Array | null> => {
    const chunk = await plain.read(readSize);
    if (chunk) readSize = nextReadSize(chunk.length, MAX_PLAIN_READ);
    return chunk;
  };
  try {
    await client.start();
    await abortable(flush());
    while (!client.connected) {
      const chunk = await abortable(readPlain());
      if (chunk === null) {
        throw new TlsError(AlertDescription.handshakeFailure, `${config.serverName} closed the connection during the TLS handshake`, { closedBy: 'server' });
      }
      try {
        await client.receive(chunk);
      } finally {
        await flush().catch(() => {});
      }
      if (client.ended && !client.connected) throw new TlsError(AlertDescription.closeNotify, `${config.serverName} sent close_notify during the TLS handshake`, { by: 'server' });
    }
  } catch (e) {
    void plain.close().catch(() => {});
    const err = classify(e);
    if (err.code === 'closed' || err.code === 'protocol_error') {
      throw new TlsError(AlertDescription.handshakeFailure, `TLS handshake with ${config.serverName} failed: ${err.message}`, err.detail);
    }
    throw err;
  }

  let pending: Uint8Array = new Uint8Array(0);
  // One read of the plain transport at a time, fed to the engine; a wait that is abandoned leaves it running, and
  // what it brings stays queued in the engine (data, tickets) for the next call. False at the end of the stream.
  let pumping: Promise<boolean> | undefined;
  const pump = (): Promise<boolean> =>
    (pumping ??= (async () => {
      const chunk = await readPlain();
      if (chunk === null) return false;
      try {
        await client.receive(chunk);
      } finally {
        await flush().catch(() => {});
      }
      return true;
    })().finally(() => (pumping = undefined)));
  const transport: TlsTransport = {
    client,
    async read(max = READ_BYTES) {
      for (;;) {
        if (pending.length === 0) {
          const data = client.takeAppData();
          if (data.length > 0) pending = data.length === 1 ? data[0] : concat(data);
        }
        if (pending.length > 0) {
          const out = pending.subarray(0, max);
          pending = pending.subarray(out.length);
          return out;
        }
        if (client.ended) return null;
        if (!(await pump())) {
          throw new PortolanError('closed', `${config.serverName} closed the connection without a TLS close_notify (the data may be truncated)`);
        }
      }
    },
    async tlsTicket() {
      while (client.tickets.length === 0 && !client.ended) {
        if (!(await pump())) break;
      }
      return client.tickets.at(-1) ?? null;
    },
    async write(bytes) {
      await client.send(bytes);
      await flush();
    },
    async startTls() {
      throw new PortolanError('protocol_error', 'TLS is already active on this connection');
    },
    async end() {
      await client.close();
      await flush();
      await plain.end?.();
    },
    async close() {
      // close_notify when it can leave at once; a peer that stopped reading must not hold the close.
      await client.close().catch(() => {});
      void flush().catch(() => {});
      await plain.close();
    },
    info(): TransportInfo {
      const base = plain.info();
      const s = client.info;
      if (!s) return base;
      return {
        ...base,
        alpn: s.alpn,
        tlsVersion: s.version,
        cipher: s.cipherSuite.openssl,
        tlsGroup: s.group,
        tlsSignatureScheme: s.signatureScheme,
        tlsEngine: 'portolan',
        tlsTrust: { by: s.verified.trust, anchor: s.verified.anchor },
        tlsResumed: s.resumed,
        peerCertificates: client.describeChain(),
        serverCertificate: client.serverCertificate,
      };
    },
  };
  return transport;
}
