// Datagrams (UDP) for the hosts that have them: the transport seam and the Conn-like wrapper protocols use.
import { PortolanError, classify } from './errors.ts';
import type { Transcript, RecordOptions } from './transcript.ts';
import { previewBytes } from './transcript.ts';

export interface DatagramPeer {
  address: string;
  port: number;
}

/** A UDP socket aimed at one host; it may receive from other ports of that host (TFTP's transfer IDs). */
export interface DatagramTransport {
  /** Sends to the target, or to another port of the same host. */
  send(bytes: Uint8Array, port?: number): Promise<void>;
  /** The next datagram from the target's address; datagrams from other addresses are dropped. */
  receive(): Promise<{ bytes: Uint8Array; from: DatagramPeer }>;
  close(): Promise<void>;
  /** The address the socket sends to, and the local port. */
  info(): { remoteAddress: string; localPort?: number };
}

export interface DatagramDialOptions {
  host: string;
  address?: string;
  port: number;
  signal: AbortSignal;
}

export class DatagramConn {
  private pending: Promise<{ bytes: Uint8Array; from: DatagramPeer }> | undefined;
  readonly id: number;
  private closed = false;

  constructor(
    private readonly transport: DatagramTransport,
    private readonly signalOf: () => AbortSignal,
    private readonly transcript: Transcript | undefined,
    readonly host: string,
    readonly port: number,
  ) {
    this.id = transcript?.nextConnId() ?? 0;
  }

  async send(bytes: Uint8Array, opts: RecordOptions & { port?: number } = {}): Promise<void> {
    this.transcript?.record('out', this.id, bytes, { ...opts, decode: opts.decode ?? (opts.secret ? undefined : previewBytes(bytes)) });
    await this.transport.send(bytes, opts.port);
  }

  /** The next datagram, unless the deadline fires first (an abandoned wait keeps its datagram). */
  async receive(what = 'datagram', describe?: (bytes: Uint8Array) => string): Promise<{ bytes: Uint8Array; from: DatagramPeer }> {
    const signal = this.signalOf();
    if (signal.aborted) throw asDeadline(signal, what);
    this.pending ??= this.transport.receive();
    const got = await new Promise<{ bytes: Uint8Array; from: DatagramPeer }>((resolve, reject) => {
      const onAbort = () => reject(asDeadline(signal, what));
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending!.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(classify(e));
        },
      );
    });
    this.pending = undefined;
    this.transcript?.record('in', this.id, got.bytes, { decode: `${describe ? describe(got.bytes) : previewBytes(got.bytes)} (from ${got.from.address}:${got.from.port})` });
    return got;
  }

  note(text: string): void {
    this.transcript?.info(this.id, text);
  }

  info() {
    return this.transport.info();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.transport.close().catch(() => {});
  }
}

function asDeadline(signal: AbortSignal, what: string): PortolanError {
  return signal.reason instanceof PortolanError ? signal.reason : new PortolanError('io_timeout', `no ${what} before the deadline`);
}
