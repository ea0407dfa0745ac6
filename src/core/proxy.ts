// A Dialer over a proxy: SOCKS (RFC 1928, SOCKS4/4a) and HTTP CONNECT (RFC 9110 9.3.6) share it.
//
// How it works: each dial opens a connection to the proxy through the runner (so the guard checks the
// proxy and the transcript shows its handshake), asks the proxy for the target, and hands the same byte
// stream on as the target's connection. The runner checks the target with the guard before the dial,
// and the proxy is asked for the address the guard checked, so no second resolution can swap it (SOCKS4a
// excepted: it exists to send the name). TLS to the target runs over the proxied stream: the proxy
// connection is opened ready for STARTTLS, and an implicit-TLS dial upgrades after the proxy's go-ahead.
import { joinHostPort, type Capability, type Conn, type DialOptions, type Dialer, type ProxyGrant, type TlsMode, type Transport, type TransportInfo } from './conn.ts';
import { PortolanError, classify } from './errors.ts';
import type { DialRequest, OperationContext, ProxyRoute } from './protocol.ts';

export interface ProxyTarget {
  /** The name the user gave. */
  host: string;
  /** The address the guard checked, when there is one: what the proxy is asked for. */
  address?: string;
  port: number;
}

/** Speaks a proxy's handshake on `conn` (a connection to the proxy), asking it for `target`; after it, `conn` carries the target's bytes. */
export type ProxyHandshake = (ctx: OperationContext, conn: Conn, hop: ProxyRoute, target: ProxyTarget) => Promise<ProxyGrant>;

/** What a connection through a proxy can do: TCP and TLS over it, nothing tied to the socket itself. */
const THROUGH_PROXY: readonly Capability[] = ['tcp', 'tls', 'starttls', 'peerCert', 'selfSigned', 'tlsVersion'];

export const PROXY_NAMES: Record<ProxyRoute['type'], string> = { socks5: 'SOCKS5', socks4: 'SOCKS4', socks4a: 'SOCKS4a', http: 'HTTP', shadowsocks: 'Shadowsocks' };

export function proxyLabel(hop: ProxyRoute): string {
  return `${PROXY_NAMES[hop.type]} proxy ${joinHostPort(hop.host, hop.port)}`;
}

/**
 * A Dialer whose connections are asked of the proxy `hop`. `openProxy` opens the connection to the proxy
 * the way any dial is opened (guard, deadline, transcript), with `base` as the dialer underneath.
 */
export function proxyDialer(ctx: OperationContext, base: Dialer, hop: ProxyRoute, handshake: ProxyHandshake, openProxy: (req: DialRequest) => Promise<Conn>): Dialer {
  return {
    runtime: base.runtime,
    capabilities: new Set(THROUGH_PROXY.filter((c) => base.capabilities.has(c))),
    async dial(opts: DialOptions): Promise<Transport> {
      const tls: TlsMode = opts.tls === 'off' ? 'off' : 'starttls';
      let grant: ProxyGrant;
      let conn: Conn;
      try {
        conn = await openProxy({ host: hop.host, port: hop.port, tls, pinSha256: opts.pinSha256, minVersion: opts.minVersion, maxVersion: opts.maxVersion });
        grant = await handshake(ctx, conn, hop, { host: opts.host, address: opts.address, port: opts.port });
      } catch (e) {
        // Marked as the proxy's, so the runner does not restate it as the target's refusal.
        const err = classify(e);
        throw new PortolanError(err.code, err.message, { ...err.detail, hop: 'proxy' });
      }
      let transport = conn.detach();
      if (opts.tls === 'implicit') transport = await transport.startTls(opts.host);
      return throughProxy(transport, `${joinHostPort(opts.host, opts.port)} via ${proxyLabel(hop)}`, grant);
    },
  };
}

/** The proxied stream, named for the transcript: remote is the target via the proxy, local the proxy's bound address. */
function throughProxy(t: Transport, remote: string, grant: ProxyGrant): Transport {
  return {
    read: (max) => t.read(max),
    write: (bytes) => t.write(bytes),
    startTls: async (serverName) => throughProxy(await t.startTls(serverName), remote, grant),
    end: t.end ? () => t.end!() : undefined,
    close: () => t.close(),
    info(): TransportInfo {
      return { ...t.info(), remoteAddress: remote, localAddress: grant.bound, proxy: grant };
    },
  };
}
