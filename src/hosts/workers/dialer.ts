// The Workers dialer: Conn transports over cloudflare:sockets connect().
import { connect } from 'cloudflare:sockets';
import type { Capability, DialOptions, Dialer, Transport } from '../../core/conn.ts';
import { RUNTIME_CAPABILITIES } from '../../core/capabilities.ts';
import { PortolanError, classify } from '../../core/errors.ts';

function wrap(socket: Socket, remote: string): Transport {
  const reader = socket.readable.getReader();
  const writer = socket.writable.getWriter();
  return {
    async read() {
      const { value, done } = await reader.read();
      if (done) return null;
      return value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBuffer);
    },
    async write(bytes) {
      await writer.write(bytes);
    },
    async startTls(serverName) {
      reader.releaseLock();
      writer.releaseLock();
      const upgraded = socket.startTls({ expectedServerHostname: serverName });
      await upgraded.opened;
      return wrap(upgraded, remote);
    },
    async close() {
      try {
        reader.releaseLock();
        writer.releaseLock();
      } catch {
        // a pending read keeps the lock; close() ends it
      }
      await socket.close().catch(() => {});
    },
    info() {
      return { remoteAddress: remote };
    },
  };
}

/** Workers report connect failures as plain Errors; give them outcome codes. */
function connectError(e: unknown, tls: boolean): PortolanError {
  const err = classify(e);
  const text = err.message;
  if (/TLS|certificate|SSL|handshake/i.test(text) && tls) return new PortolanError('tls_error', text);
  if (err.code === 'closed' || err.code === 'protocol_error') return new PortolanError('refused', text);
  return err;
}

export class WorkersDialer implements Dialer {
  readonly runtime = 'workers' as const;
  readonly capabilities: ReadonlySet<Capability> = new Set(RUNTIME_CAPABILITIES.workers);

  async dial(opts: DialOptions): Promise<Transport> {
    const secureTransport = opts.tls === 'implicit' ? 'on' : opts.tls === 'starttls' ? 'starttls' : 'off';
    const socket = connect({ hostname: opts.host, port: opts.port }, { secureTransport, allowHalfOpen: false });
    const onAbort = () => void socket.close().catch(() => {});
    opts.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const info = await socket.opened;
      return wrap(socket, info.remoteAddress ?? `${opts.host}:${opts.port}`);
    } catch (e) {
      if (opts.signal.aborted) throw classify(opts.signal.reason);
      throw connectError(e, opts.tls === 'implicit');
    } finally {
      opts.signal.removeEventListener('abort', onAbort);
    }
  }
}
