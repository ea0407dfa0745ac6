// The Workers dialer: Conn transports over cloudflare:sockets connect().
import { connect } from 'cloudflare:sockets';
import type { Capability, DialOptions, Dialer, Transport } from '../../core/conn.ts';
import { ENGINE_CAPABILITIES, RUNTIME_CAPABILITIES } from '../../core/capabilities.ts';
import { PortolanError, classify } from '../../core/errors.ts';
import { parseIp } from '../../core/ip.ts';
import { engineTls, needsOwnTls, usesEngine, type EngineEnv } from '../../core/tls/engine.ts';

/** How long a close waits before it drops what is queued, and then again before it gives up waiting. */
const CLOSE_WAIT_MS = 100;

/** Whether `p` settled within `ms`. */
function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** What a read asks for unless the caller says: the size workerd's default reader returns. */
const READ_BYTES = 4096;

function wrap(socket: Socket, remote: string): Transport {
  // A BYOB reader: a read returns what the socket holds, up to the buffer it is given (the default
  // reader returns at most 4 KiB per read, and each read costs the isolate far more than its bytes).
  const reader = socket.readable.getReader({ mode: 'byob' });
  const writer = socket.writable.getWriter();
  // These reject when the peer resets; workerd reports a rejection nobody handles as uncaught.
  reader.closed.catch(() => {});
  writer.closed.catch(() => {});
  // A write failed: the peer reset the connection.
  let broken = false;
  const readInto = async (into: Uint8Array): Promise<Uint8Array | null> => {
    // Taken before the read: the read moves the memory, and `into` then reads as empty.
    const { byteOffset, length } = into;
    for (;;) {
      const { value, done } = await reader.read(into);
      // Bytes first, should they come with done set: the next read then says done alone.
      if (value && value.length > 0) return value;
      if (done) return null;
      // Nothing read: the same memory, moved, is read into again.
      into = new Uint8Array(value!.buffer, byteOffset, length);
    }
  };
  return {
    read: (max = READ_BYTES) => readInto(new Uint8Array(max)),
    readInto,
    async write(bytes) {
      try {
        await writer.write(bytes);
      } catch (e) {
        broken = true;
        throw e;
      }
    },
    async startTls(serverName) {
      reader.releaseLock();
      writer.releaseLock();
      const upgraded = socket.startTls({ expectedServerHostname: serverName });
      // As for connect(): a failed upgrade rejects `closed` too.
      upgraded.closed.catch(() => {});
      await upgraded.opened;
      return wrap(upgraded, remote);
    },
    async end() {
      // After the queued writes: close_notify on TLS, then FIN. Until the peer has closed too, a close()
      // can still drop bytes workerd has queued (seen with FTPS uploads to a server that reads slowly).
      await writer.close();
    },
    async close() {
      // Each lock on its own: a pending read keeps the reader's (close() ends it), and a writer still locked
      // when the writable is aborted below would have its `ready` rejected with nothing to handle it.
      for (const lock of [reader, writer]) {
        try {
          lock.releaseLock();
        } catch {
          // held by a pending read
        }
      }
      // After a failed write workerd's close() never settles while the readable is open, and rejects a promise
      // of its own that nothing can handle once it is done; aborting the errored writable does the same with
      // the reason given. The connection is gone already: ending the reading side releases what is left.
      if (broken) {
        void socket.readable.cancel(new PortolanError('closed', 'connection reset by the peer')).catch(() => {});
        return;
      }
      // A write to a peer that stopped reading keeps close() from ever settling. Then, and only then
      // (aborting a stream first leaves workerd's socket half open: the peer never sees the close),
      // drop what is queued so the promise settles; the runner bounds the wait in any case.
      const closing = socket.close().then(
        () => true,
        () => true,
      );
      if (await settledWithin(closing, CLOSE_WAIT_MS)) return;
      const reason = new PortolanError('closed', 'connection closed while a write waited for the peer');
      void socket.writable.abort(reason).catch(() => {});
      void socket.readable.cancel(reason).catch(() => {});
      await settledWithin(closing, CLOSE_WAIT_MS);
    },
    info() {
      return { remoteAddress: remote };
    },
  };
}

/** Workers report connect failures as plain Errors; give them outcome codes. */
function connectError(e: unknown): PortolanError {
  const err = classify(e);
  if (err.code === 'closed' || err.code === 'protocol_error') return new PortolanError('refused', err.message);
  return err;
}

/**
 * workerd gives the same message for a refused port and a failed TLS handshake. When a TLS dial
 * fails, one plain connect tells them apart: if it succeeds, the port is open and TLS is what failed.
 */
async function tlsOrRefused(host: string, port: number, original: PortolanError, signal: AbortSignal): Promise<PortolanError> {
  if (original.code !== 'refused' || signal.aborted) return original;
  const plain = connect({ hostname: host, port }, { secureTransport: 'off', allowHalfOpen: false });
  plain.closed.catch(() => {});
  try {
    await plain.opened;
  } catch {
    return original;
  } finally {
    void plain.close().catch(() => {});
  }
  return new PortolanError(
    'tls_error',
    `TLS handshake with ${host}:${port} failed, though the port accepts TCP: the server does not speak TLS there, or its certificate is not one Workers trust (self-signed, private CA, expired, or not for this name). Give pinSha256 or caPem to trust it, or tlsEngine portolan to see why it failed.`,
    { runtime: 'workers' },
  );
}

/**
 * Where to connect: the address the guard checked for plain TCP and for IP literals (canonical
 * spelling), so no second resolution can swap the target; the name for TLS to a name, because
 * connect() validates the certificate against the name it is given.
 */
function dialTarget(opts: DialOptions): string {
  if (!opts.address) return opts.host;
  if (opts.tls === 'off' || parseIp(opts.host) !== null) return opts.address;
  return opts.host;
}

export class WorkersDialer implements Dialer {
  readonly runtime = 'workers' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set(RUNTIME_CAPABILITIES.workers);
  readonly engineOnly: ReadonlySet<Capability> = new Set(ENGINE_CAPABILITIES);

  constructor(private readonly engine: EngineEnv) {}

  async dial(opts: DialOptions): Promise<Transport> {
    // connect()'s TLS serves a dial that asks for none of what only the engine gives.
    if (usesEngine(opts, !needsOwnTls(opts))) return this.dialEngine(opts);
    const secureTransport = opts.tls === 'implicit' ? 'on' : opts.tls === 'starttls' ? 'starttls' : 'off';
    const socket = connect({ hostname: dialTarget(opts), port: opts.port }, { secureTransport, allowHalfOpen: false });
    // A failed connect rejects `closed` too, not only `opened`: unhandled, workerd reports it as uncaught.
    socket.closed.catch(() => {});
    const onAbort = () => void socket.close().catch(() => {});
    opts.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const info = await socket.opened;
      return wrap(socket, info.remoteAddress ?? `${opts.host}:${opts.port}`);
    } catch (e) {
      if (opts.signal.aborted) throw classify(opts.signal.reason);
      const err = connectError(e);
      throw opts.tls === 'implicit' ? await tlsOrRefused(dialTarget({ ...opts, tls: 'off' }), opts.port, err, opts.signal) : err;
    } finally {
      opts.signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * TLS by Portolan's engine: a plain TCP connection to the address the guard checked (the engine checks the name
   * itself), with the handshake over it at once (implicit) or when the protocol upgrades (STARTTLS).
   */
  private async dialEngine(opts: DialOptions): Promise<Transport> {
    const plain = await this.dial({ ...opts, tls: 'off', tlsEngine: 'runtime' });
    if (opts.tls === 'starttls') {
      return { ...plain, startTls: (serverName) => engineTls(plain, { ...opts, host: serverName }, this.engine) };
    }
    return engineTls(plain, opts, this.engine);
  }
}
