// SSH as a Dialer: direct-tcpip channels (RFC 4254 7.2) opened through an authenticated connection, so any
// protocol's operation can run through an SSH jump host. The server makes the TCP connection, so names
// resolve and addresses are reached from the jump host's network.
import type { Capability, DialOptions, Dialer, Transport, TransportInfo } from '../../core/conn.ts';
import { PortolanError, UnsupportedRuntime } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { openSession, type AuthInput, type Session } from './client.ts';
import type { Channel, SshConnection } from './connection.ts';

/** A byte stream over one channel (direct-tcpip, or an exec session's standard output when `onStderr` takes standard error apart). */
export class ChannelTransport implements Transport {
  private ended = false;

  constructor(
    private readonly ch: Channel,
    private readonly target: string,
    private readonly via: string,
    private readonly onStderr?: (data: Uint8Array) => void,
  ) {}

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.ended) return null;
      const chunk = await this.ch.read();
      if (!chunk) {
        this.ended = true;
        return null;
      }
      if (chunk.stream === 'stderr' && this.onStderr) {
        this.onStderr(chunk.data);
        continue;
      }
      return chunk.data;
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.ch.write(bytes);
  }

  startTls(): Promise<Transport> {
    return Promise.reject(
      new UnsupportedRuntime('TLS through an SSH jump host is not available: the runtime can only start TLS on its own sockets', {
        runtime: 'ssh',
        missing: ['starttls'],
        reasons: ['direct-tcpip channels carry bytes; the Worker has no TLS implementation to run over them'],
        alternatives: ['Connect to the service without TLS through the jump host, or reach it directly'],
      }),
    );
  }

  async close(): Promise<void> {
    await this.ch.eof().catch(() => {});
    await this.ch.close().catch(() => {});
  }

  info(): TransportInfo {
    return { remoteAddress: `${this.target} via SSH ${this.via}` };
  }
}

/**
 * A Dialer whose connections are direct-tcpip channels of `connection`. It offers plain TCP only
 * (no TLS, no STARTTLS, no UDP). `via` names the jump host in transport info and errors.
 */
export function sshDialer(connection: SshConnection, via: string, runtime: Dialer['runtime']): Dialer {
  return {
    runtime,
    capabilities: new Set<Capability>(['tcp']),
    async dial(opts: DialOptions): Promise<Transport> {
      if (opts.tls !== 'off') throw new UnsupportedRuntime(`TLS (${opts.tls}) is not available through the SSH jump host ${via}`, { runtime, missing: ['tls'], reasons: ['TLS through a direct-tcpip channel is not implemented'], alternatives: [] });
      let ch: Channel;
      try {
        ch = await connection.openDirectTcpip(opts.host, opts.port);
      } catch (e) {
        // RFC 4254 7.2 / 5.1: OPEN_FAILURE "connect failed" is the jump host saying the target refused or is unreachable.
        if (e instanceof PortolanError && e.code === 'server_error') throw new PortolanError('refused', `${opts.host}:${opts.port} via SSH ${via}: ${e.message}`, e.detail);
        throw e;
      }
      return new ChannelTransport(ch, `${opts.host}:${opts.port}`, via);
    },
  };
}

/**
 * Opens an authenticated SSH connection to the jump host described by `via` (dialed through `ctx`,
 * so the target guard checks the jump host) and runs `fn` with a Dialer whose connections go
 * through it. The SSH connection is closed when `fn` settles.
 */
export async function withJumpHost<T>(ctx: OperationContext, via: AuthInput, fn: (dialer: Dialer, session: Session) => Promise<T>): Promise<T> {
  const session = await openSession(ctx, via, { conn: await ctx.dial({ host: via.host, port: via.port, tls: 'off' }) });
  try {
    return await fn(sshDialer(session.connection, `${via.host}:${via.port}`, ctx.runtime), session);
  } finally {
    await session.transport.disconnect();
  }
}
