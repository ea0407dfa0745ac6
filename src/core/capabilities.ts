// What each capability means, why a runtime may lack it, and where to go instead.
import type { Capability } from './conn.ts';

export interface CapabilityInfo {
  title: string;
  /** Why the Workers runtime cannot do it (absent when it can). */
  workersReason?: string;
  alternative?: string;
}

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
    workersReason: 'connect() offers no way to set or read ALPN, so a TLS server cannot be asked for h2.',
    alternative: 'Use h2c (HTTP/2 over cleartext) on Workers, or the Node host for h2 and gRPC over TLS.',
  },
  peerCert: {
    title: "Reading the server's certificate",
    workersReason: 'connect() verifies the certificate chain but does not expose it to the Worker.',
    alternative: 'Use the Node host, which shows the whole chain.',
  },
  selfSigned: {
    title: 'TLS to self-signed or privately issued certificates (with fingerprint pinning)',
    workersReason: 'Workers trust only public certificate authorities and cannot pin a certificate.',
    alternative: 'Use the Node host with the certificate\'s SHA-256 fingerprint.',
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
    workersReason:
      "connect() takes only secureTransport ('off', 'on' or 'starttls'), allowHalfOpen and highWaterMark, and startTls() only expectedServerHostname: no TLS version bounds, so a Worker cannot offer one version alone to learn whether the server accepts it, and it is not told which version was negotiated.",
    alternative: 'Use the Node host, whose tls inspect tries TLS 1.0, 1.1, 1.2 and 1.3 one at a time.',
  },
  clientCert: {
    title: 'Presenting a TLS client certificate (mutual TLS, SASL EXTERNAL)',
    workersReason: "connect() and startTls() take no client certificate or key: a Worker's TLS connections cannot authenticate with one.",
    alternative: 'Use the Node host, which presents the certificate and key given (PEM).',
  },
  localPort: {
    title: 'Knowing the local port of a connection (what an ident query names)',
    workersReason: "connect() reports a socket's remote address once it is open (opened.remoteAddress), never its local address or port.",
    alternative: 'Use the Node host, which knows both ends of its connections.',
  },
};

/** Why a host lacks these capabilities, and what to do instead: each capability's advice, then the operation's own. */
export function unsupportedReasons(missing: Capability[], own: readonly string[] = []): { reasons: string[]; alternatives: string[] } {
  const reasons: string[] = [];
  const alternatives: string[] = [];
  for (const cap of missing) {
    const info = CAPABILITIES[cap];
    reasons.push(info.workersReason ?? `${info.title} is not available in this runtime.`);
    if (info.alternative) alternatives.push(info.alternative);
  }
  return { reasons, alternatives: [...new Set([...alternatives, ...own])] };
}

/** What each host offers. The Node host's privileged ports depend on running as root (see /api/runtime). */
export const RUNTIME_CAPABILITIES: Record<'workers' | 'node' | 'browser', readonly Capability[]> = {
  workers: ['tcp', 'tls', 'starttls'],
  node: ['tcp', 'tls', 'starttls', 'udp', 'alpn', 'peerCert', 'selfSigned', 'privilegedPort', 'listen', 'tlsVersion', 'clientCert', 'localPort'],
  browser: ['tcp', 'tls', 'starttls'],
};
