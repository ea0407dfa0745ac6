// Portolan's TLS engine as a host uses it: from a dial's options (ALPN, pins, a private CA, a client certificate,
// version bounds) to a TLS connection over the host's plain TCP transport. `tlsEngine: 'auto'` picks it wherever
// the runtime's own TLS cannot serve what the dial asks; `needsOwnTls` says when.
import { fromBase64, fromHex } from '../bytes.ts';
import type { DialOptions, TlsVersion, Transport } from '../conn.ts';
import type { CryptoPort } from '../crypto.ts';
import { InvalidInput, UnsupportedRuntime } from '../errors.ts';
import type { TlsClientConfig, TlsProtocolVersion } from './client.ts';
import { loadClientIdentity } from './pem.ts';
import { pemCertificates } from './pem.ts';
import { startTlsClient } from './transport.ts';
import { trustStore, verifyServerChain, type TrustStore } from './verify.ts';

export type TlsEngineChoice = 'auto' | 'runtime' | 'portolan';

export interface EngineEnv {
  crypto: CryptoPort;
  /** The trust anchors used when the dial names no CA of its own (built into the host: Mozilla's roots). */
  anchors(): TrustStore;
  now?(): number;
}

/** Whether a TLS dial asks for something only the engine gives on a host whose runtime TLS is limited (Workers). */
export function needsOwnTls(opts: Pick<DialOptions, 'alpn' | 'pinSha256' | 'pinSpkiSha256' | 'caPem' | 'clientCertificate' | 'minVersion' | 'maxVersion' | 'peerCertificate' | 'cipherSuites' | 'groups' | 'tlsResume'>): boolean {
  return !!(opts.alpn?.length || opts.pinSha256 || opts.pinSpkiSha256 || opts.caPem || opts.clientCertificate || opts.minVersion || opts.maxVersion || opts.peerCertificate || opts.cipherSuites?.length || opts.groups?.length || opts.tlsResume);
}

/** Whether this dial runs on the engine: asked for, or `auto` where the runtime's TLS cannot serve it. */
export function usesEngine(opts: DialOptions, runtimeServes: boolean): boolean {
  if (opts.tls === 'off') return false;
  if (opts.tlsEngine === 'portolan') return true;
  if (opts.tlsEngine === 'runtime') return false;
  return !runtimeServes;
}

/** A certificate pin: hex SHA-256 (colons and a `sha256:` prefix allowed) or base64 (curl's `sha256//…`, HPKP's pin-sha256). */
export function parsePin(text: string, field: string): Uint8Array {
  const t = text.trim().replace(/^sha256(\/\/|:)/i, '');
  const hex = t.replace(/:/g, '');
  if (/^[0-9a-f]{64}$/i.test(hex)) return fromHex(hex);
  if (/^[A-Za-z0-9+/]{43}=$/.test(t)) return fromBase64(t);
  throw InvalidInput.field(field, 'a SHA-256 pin is 64 hex digits (colons allowed) or 44 base64 characters');
}

const ENGINE_VERSIONS: Partial<Record<TlsVersion, TlsProtocolVersion>> = { 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3' };

function engineVersion(v: TlsVersion | undefined, bound: 'min' | 'max'): TlsProtocolVersion | undefined {
  if (!v) return undefined;
  const mapped = ENGINE_VERSIONS[v];
  if (mapped) return mapped;
  if (bound === 'min') return undefined;
  const reason = `Portolan's TLS engine speaks TLS 1.2 and 1.3 only; ${v} (RFC 8996 deprecated it) is not one it can offer.`;
  throw new UnsupportedRuntime(reason, { runtime: 'engine', missing: ['tlsVersion'], reasons: [reason], alternatives: ['Use the Node host (tlsEngine runtime) to try TLS 1.0 and 1.1.'] });
}

/** Runs the engine's handshake over `plain` for this dial; the result is the protected transport. `plain` is closed on failure. */
export async function engineTls(plain: Transport, opts: DialOptions, env: EngineEnv): Promise<Transport> {
  let config: TlsClientConfig;
  try {
    config = await engineConfig(opts, env);
  } catch (e) {
    void plain.close().catch(() => {});
    throw e;
  }
  return startTlsClient(plain, config, opts.signal);
}

/** The engine's configuration for a dial: pins, anchors, the client identity, version bounds. */
async function engineConfig(opts: DialOptions, env: EngineEnv): Promise<TlsClientConfig> {
  const subtle = env.crypto.subtle;
  const pins = {
    certificate: opts.pinSha256 ? [parsePin(opts.pinSha256, 'pinSha256')] : [],
    spki: opts.pinSpkiSha256 ? [parsePin(opts.pinSpkiSha256, 'pinSpkiSha256')] : [],
  };
  const anchors = opts.caPem ? trustStore(pemCertificates(opts.caPem, 'caPem').map((c) => c.der), 'the CA given in caPem') : env.anchors();
  const identity = opts.clientCertificate ? await loadClientIdentity(subtle, opts.clientCertificate.certPem, opts.clientCertificate.keyPem) : undefined;
  const now = env.now ?? (() => Date.now());
  return {
    serverName: opts.host,
    alpn: opts.alpn,
    minVersion: engineVersion(opts.minVersion, 'min'),
    maxVersion: engineVersion(opts.maxVersion, 'max'),
    cipherSuites: opts.cipherSuites,
    groups: opts.groups,
    subtle,
    randomBytes: (n) => env.crypto.randomBytes(n),
    verify: (chain) => verifyServerChain(subtle, chain, { serverName: opts.host, anchors, pins, now: now() }),
    clientIdentity: identity,
    onEvent: opts.onTlsEvent,
    resume: opts.tlsResume,
    now,
  };
}
