// What each capability means, why a runtime may lack it, and where to go instead.
import type { Capability } from './conn.ts';

export interface CapabilityInfo {
  title: string;
  /** Why the Workers runtime cannot do it (absent when it can). */
  workersReason?: string;
  alternative?: string;
  /** Why the runtime's own TLS cannot, for what Portolan's TLS engine gives instead (asked for with tlsEngine runtime). */
  runtimeTlsReason?: string;
  /** How a host that lacks it in its runtime has it all the same. */
  how?: string;
}

const ENGINE = "On Workers through Portolan's own TLS engine (src/core/tls) over a plain TCP socket (tlsEngine auto or portolan).";

export const CAPABILITIES: Record<Capability, CapabilityInfo> = {
  tcp: { title: 'Outbound TCP' },
  tls: { title: 'TLS to servers with publicly trusted certificates' },
  starttls: { title: 'Upgrading a plain connection to TLS (STARTTLS)' },
  udp: {
    title: 'UDP datagrams',
    workersReason: 'The Workers Sockets API (connect() from cloudflare:sockets) opens TCP streams only; it has no datagram sockets.',
    alternative: 'Run the Node host (`portolan serve`), which has UDP.',
  },
  alpn: {
    title: 'TLS with ALPN (HTTP/2 and gRPC over TLS)',
    runtimeTlsReason: "connect()'s own TLS offers no way to set or read ALPN, so a TLS server cannot be asked for h2.",
    how: ENGINE,
  },
  peerCert: {
    title: "Reading the server's certificate",
    runtimeTlsReason: "connect()'s own TLS verifies the certificate chain but does not expose it to the Worker.",
    how: ENGINE,
  },
  selfSigned: {
    title: 'TLS to self-signed or privately issued certificates (a pinned fingerprint, or a CA given as PEM)',
    runtimeTlsReason: "connect()'s own TLS trusts only public certificate authorities and cannot pin a certificate.",
    how: ENGINE,
  },
  privilegedPort: {
    title: 'Connecting from a privileged source port (below 1024)',
    workersReason: 'connect() picks the source port; a Worker cannot bind one.',
    alternative: 'Run the Node host as root.',
  },
  listen: {
    title: 'Accepting a connection back from the server (the rsh/rexec standard-error channel)',
    workersReason: 'A Worker cannot accept inbound connections: the Workers Sockets API only dials out (connect()); there is no listen() or accept().',
    alternative: 'Use the Node host, which listens for the one connection back; on Workers, rexec execMerged reads standard error mixed into the output.',
  },
  tlsVersion: {
    title: 'Choosing the TLS versions offered (minimum and maximum)',
    runtimeTlsReason:
      "connect() takes only secureTransport ('off', 'on' or 'starttls'), allowHalfOpen and highWaterMark, and startTls() only expectedServerHostname: no TLS version bounds, so its own TLS cannot offer one version alone, and it does not say which version was negotiated.",
    how: `${ENGINE} The engine offers TLS 1.2 and 1.3; TLS 1.0 and 1.1 (deprecated by RFC 8996) only the Node host tries.`,
  },
  clientCert: {
    title: 'Presenting a TLS client certificate (mutual TLS, SASL EXTERNAL)',
    runtimeTlsReason: "connect() and startTls() take no client certificate or key: the runtime's own TLS cannot authenticate with one.",
    how: ENGINE,
  },
  localPort: {
    title: 'Knowing the local port of a connection (what an ident query names)',
    workersReason: "connect() reports a socket's remote address once it is open (opened.remoteAddress), never its local address or port.",
    alternative: 'Use the Node host, which knows both ends of its connections.',
  },
};

/**
 * Why a host lacks these capabilities, and what to do instead: each capability's advice, then the operation's own.
 * `engineOnly`: capabilities the host has only through Portolan's TLS engine, missing because the dial asked for the
 * runtime's TLS — their reason is the runtime's, and the advice is to let the engine carry the connection.
 */
export function unsupportedReasons(missing: Capability[], own: readonly string[] = [], engineOnly?: ReadonlySet<Capability>): { reasons: string[]; alternatives: string[] } {
  const reasons: string[] = [];
  const alternatives: string[] = [];
  for (const cap of missing) {
    const info = CAPABILITIES[cap];
    if (engineOnly?.has(cap)) {
      reasons.push(`${info.runtimeTlsReason ?? `The runtime's TLS cannot do this (${info.title}).`} tlsEngine is runtime.`);
      alternatives.push("Use tlsEngine auto or portolan: Portolan's own TLS engine does this on every host.");
      continue;
    }
    reasons.push(info.workersReason ?? `${info.title} is not available in this runtime.`);
    if (info.alternative) alternatives.push(info.alternative);
  }
  return { reasons, alternatives: [...new Set([...alternatives, ...own])] };
}

/** What each host offers. The Node host's privileged ports depend on running as root (see /api/runtime). */
/** What Portolan's TLS engine gives a host whose runtime TLS lacks it (Workers: connect() with secureTransport 'off' and the engine on top). */
export const ENGINE_CAPABILITIES: readonly Capability[] = ['alpn', 'peerCert', 'selfSigned', 'tlsVersion', 'clientCert'];

export const RUNTIME_CAPABILITIES: Record<'workers' | 'node' | 'browser', readonly Capability[]> = {
  workers: ['tcp', 'tls', 'starttls', ...ENGINE_CAPABILITIES],
  node: ['tcp', 'tls', 'starttls', 'udp', 'alpn', 'peerCert', 'selfSigned', 'privilegedPort', 'listen', 'tlsVersion', 'clientCert', 'localPort'],
  browser: ['tcp', 'tls', 'starttls'],
};
