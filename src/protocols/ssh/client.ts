// SSH session driver for the operations: dial, transport handshake with host key policy, authentication,
// the connection layer; and the credential-free probe (RFC 4253 4.2, 7.1; RFC 4252 5.2).
import { equalBytes, toBase64 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import type { Conn } from '../../core/conn.ts';
import { InvalidInput, PortolanError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { authenticate, Authenticator, type AuthOutcome } from './auth.ts';
import { CIPHERS, MACS } from './ciphers.ts';
import { SshConnection } from './connection.ts';
import { certificateJson, checkHostCertificate, hasCertAuthority, parseCertificateInput, type Certificate } from './cert.ts';
import { checkHostKey, fingerprintMd5, fingerprintSha256, HOST_CERT_ALGORITHMS, HOST_KEY_ALGORITHMS, knownHostsName, parseKnownHosts, pinnedKeyTypes, type HostKeyPolicy } from './hostkey.ts';
import { DEFAULT_CIPHERS, DEFAULT_HOST_KEYS, DEFAULT_KEX, DEFAULT_MACS, KEX_METHODS, KEX_STRICT_S } from './kex.ts';
import { parsePrivateKey, type PrivateKey } from './keys.ts';
import { SshTransport, type AlgorithmOffer, type ServerHostKey } from './transport.ts';
import { weakAlgorithms, type WeakAlgorithm } from './weak.ts';

export interface AlgorithmInput {
  kex?: string[];
  hostKey?: string[];
  cipher?: string[];
  mac?: string[];
}

export interface ConnectInput {
  host: string;
  port: number;
  hostKeyFingerprint?: string | string[];
  knownHosts?: string;
  algorithms?: AlgorithmInput;
  /** Re-key after this many bytes (both directions together). */
  rekeyLimitBytes?: number;
  /** Re-key after this many seconds, also when the connection is idle (OpenSSH RekeyLimit's second argument). */
  rekeyIntervalSeconds?: number;
}

export interface AuthInput extends ConnectInput {
  username: string;
  password?: string;
  privateKey?: string;
  passphrase?: string;
  /** An OpenSSH user certificate for privateKey (the -cert.pub line). */
  certificate?: string;
  responses?: string[];
}

/** Our offer, narrowed by the user's lists (each name must be one we implement). */
export function buildOffer(a: AlgorithmInput | undefined, pinnedTypes: string[] = [], certAuthority = false): AlgorithmOffer {
  const check = (field: string, given: string[] | undefined, supported: readonly string[], fallback: string[]) => {
    if (!given) return fallback;
    for (const name of given) if (!supported.includes(name)) throw InvalidInput.field(`algorithms.${field}`, `${name} is not supported; choose from ${supported.join(', ')}`);
    return given;
  };
  let hostKey = check('hostKey', a?.hostKey, Object.keys(HOST_KEY_ALGORITHMS), DEFAULT_HOST_KEYS);
  if (!a?.hostKey && pinnedTypes.length > 0) {
    // As OpenSSH does: prefer the host key types the pinned knowledge has for this host.
    const first = hostKey.filter((alg) => pinnedTypes.includes(HOST_KEY_ALGORITHMS[alg].keyType));
    hostKey = [...first, ...hostKey.filter((alg) => !first.includes(alg))];
  }
  // As OpenSSH does with a CA for the host: host certificates first.
  if (!a?.hostKey && certAuthority) hostKey = [...HOST_CERT_ALGORITHMS, ...hostKey];
  return {
    kex: check('kex', a?.kex, Object.keys(KEX_METHODS), DEFAULT_KEX),
    hostKey,
    cipher: check('cipher', a?.cipher, Object.keys(CIPHERS), DEFAULT_CIPHERS),
    mac: check('mac', a?.mac, Object.keys(MACS), DEFAULT_MACS),
  };
}

function hostKeyPolicy(input: ConnectInput): HostKeyPolicy | null {
  const fps = input.hostKeyFingerprint === undefined ? [] : Array.isArray(input.hostKeyFingerprint) ? input.hostKeyFingerprint : [input.hostKeyFingerprint];
  let knownHosts: HostKeyPolicy['knownHosts'] = [];
  if (input.knownHosts !== undefined) {
    try {
      knownHosts = parseKnownHosts(input.knownHosts);
    } catch (e) {
      throw InvalidInput.field('knownHosts', e instanceof Error ? e.message : String(e));
    }
    if (knownHosts.length === 0) throw InvalidInput.field('knownHosts', 'has no host key lines');
  }
  if (fps.length === 0 && knownHosts.length === 0) return null;
  return { fingerprints: fps, knownHosts };
}

export interface ConnectOptions {
  /** Override the offer (probe uses it to ask for one host key type). */
  offer?: AlgorithmOffer;
  /** An already-open byte stream (the jump-host case); default: ctx.dial(). */
  conn?: Conn;
  noteMessages?: boolean;
}

/** Dials, exchanges versions and keys, and checks the host key against the user's pins. */
export async function connectTransport(ctx: OperationContext, input: ConnectInput, opts: ConnectOptions = {}): Promise<SshTransport> {
  const policy = hostKeyPolicy(input);
  const pinned = policy ? await pinnedKeyTypes(ctx.crypto, policy, input.host, input.port) : [];
  const withCa = policy ? await hasCertAuthority(ctx.crypto, policy, input.host, input.port) : false;
  const offer = opts.offer ?? buildOffer(input.algorithms, pinned, withCa);
  const conn = opts.conn ?? (await ctx.dial());
  const t = new SshTransport(conn, ctx.crypto, {
    offer,
    noteMessages: opts.noteMessages,
    rekeyBytes: input.rekeyLimitBytes,
    rekeyMs: input.rekeyIntervalSeconds === undefined ? undefined : input.rekeyIntervalSeconds * 1000,
    checkHostKey: policy ? (k) => checkServerKey(ctx.crypto, policy, input, k) : undefined,
  });
  await t.handshake();
  ctx.timing.mark('kexMs');
  return t;
}

/** A host certificate from a trusted CA settles it; otherwise the plain key is checked against the pins. */
async function checkServerKey(crypto: CryptoPort, policy: HostKeyPolicy, input: ConnectInput, k: ServerHostKey): Promise<void> {
  const cert = k.certificate;
  if (cert && (await checkHostCertificate(crypto, policy, input.host, input.port, cert))) return;
  const note = cert ? `; its host certificate "${cert.keyId}" was signed by CA ${cert.ca}, which no @cert-authority line in knownHosts names for ${knownHostsName(input.host, input.port)}` : '';
  await checkHostKey(crypto, policy, input.host, input.port, k.blob, k.type, note);
}

export interface Session {
  transport: SshTransport;
  connection: SshConnection;
  auth: AuthOutcome;
}

/** Parses the key (before dialing, so key errors cost no connection), connects and authenticates. */
export async function openSession(ctx: OperationContext, input: AuthInput, opts: ConnectOptions = {}): Promise<Session> {
  let key: PrivateKey | undefined;
  if (input.privateKey !== undefined) key = await parsePrivateKey(ctx.crypto, input.privateKey, input.passphrase);
  let certificate: Certificate | undefined;
  if (input.certificate !== undefined) {
    if (!key) throw InvalidInput.field('certificate', 'a certificate needs its privateKey');
    certificate = await parseCertificateInput(ctx.crypto, input.certificate);
    if (certificate.kind !== 'user') throw InvalidInput.field('certificate', 'is a host certificate, not a user certificate');
    if (!equalBytes(certificate.key.blob, key.publicBlob)) throw InvalidInput.field('certificate', `certifies another key (${await fingerprintSha256(ctx.crypto, certificate.key.blob)}), not the privateKey`);
  }
  if (key === undefined && input.password === undefined && input.responses === undefined) {
    throw InvalidInput.field('password', 'give a password, a privateKey or keyboard-interactive responses');
  }
  const transport = await connectTransport(ctx, input, opts);
  const auth = await authenticate(transport, { username: input.username, password: input.password, privateKey: key, certificate, responses: input.responses });
  ctx.timing.mark('authMs');
  return { transport, connection: new SshConnection(transport), auth };
}

/** What every operation reports about the server it talked to. */
export function serverSummary(t: SshTransport) {
  return {
    version: t.server.raw,
    hostKey: hostKeyJson(t.hostKey),
    algorithms: {
      kex: t.negotiated.kex,
      hostKey: t.negotiated.hostKey,
      cipher: t.negotiated.cipherCS,
      mac: t.negotiated.macCS,
      strictKex: t.strictKex,
    },
    /** Key exchanges on this connection: 1 plus every re-exchange (either side may start one). */
    keyExchanges: t.exchanges.length,
  };
}

function hostKeyJson(k: ServerHostKey) {
  const key = { algorithm: k.algorithm, type: k.type, bits: k.bits, fingerprint: k.fingerprint, publicKey: `${k.type} ${toBase64(k.blob)}` };
  return k.certificate ? { ...key, certificate: certificateJson(k.certificate) } : key;
}

// ---------------------------------------------------------------- probe

export interface ProbeResult {
  banner: { version: string; protocol: string; software: string; comments: string | null; preamble: string[] };
  kexinit: {
    kex: string[];
    hostKey: string[];
    cipherClientToServer: string[];
    cipherServerToClient: string[];
    macClientToServer: string[];
    macServerToClient: string[];
    compressionClientToServer: string[];
    compressionServerToClient: string[];
    languages: string[];
  };
  strictKex: boolean;
  extInfo: boolean;
  /** RFC 8308 extensions the server sent in EXT_INFO (server-sig-algs, ...). */
  extensions: string[];
  negotiated: ReturnType<typeof serverSummary>['algorithms'];
  hostKeys: Array<{ algorithm: string; type: string; bits: number; fingerprint: string; fingerprintMd5: string; publicKey: string } | { algorithm: string; type: string; error: string }>;
  authMethods: string[] | null;
  authBanner: string | null;
  weak: WeakAlgorithm[];
  /** Algorithms the server offers that this client cannot speak. */
  notSupportedHere: string[];
}

/** One host key algorithm per key type the server lists (RSA once, by its best signature algorithm). */
function hostKeyAlgorithmsByType(serverList: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const alg of ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']) {
    if (!serverList.includes(alg)) continue;
    const type = HOST_KEY_ALGORITHMS[alg].keyType;
    if (seen.has(type)) continue;
    seen.add(type);
    out.push(alg);
  }
  return out;
}

export async function probe(ctx: OperationContext, input: ConnectInput & { username: string }): Promise<ProbeResult> {
  const first = await connectTransport(ctx, input);
  const s = first.serverKexInit;
  // The methods offered to `none` (RFC 4252 5.2), then goodbye.
  let authMethods: string[] | null = null;
  const a = new Authenticator(first);
  await a.start();
  try {
    authMethods = await a.none(input.username);
  } catch (e) {
    if (!(e instanceof PortolanError) || e.code !== 'auth_failed') throw e;
  }
  await first.disconnect(11, 'probe finished');
  const hostKeys: ProbeResult['hostKeys'] = [];
  const baseOffer = buildOffer(input.algorithms);
  const others = hostKeyAlgorithmsByType(s.hostKey);
  // One connection per further host key type; the first one already showed one key.
  const results = await Promise.all(
    others.map(async (alg) => {
      if (HOST_KEY_ALGORITHMS[alg].keyType === first.hostKey.type) return { alg, key: first.hostKey };
      try {
        const t = await connectTransport(ctx, { ...input, hostKeyFingerprint: undefined, knownHosts: undefined }, { offer: { ...baseOffer, hostKey: [alg] }, noteMessages: false });
        await t.disconnect(11, 'probe finished');
        return { alg, key: t.hostKey };
      } catch (e) {
        return { alg, error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
  for (const r of results) {
    if ('key' in r && r.key) hostKeys.push({ ...hostKeyJson(r.key), fingerprintMd5: fingerprintMd5(ctx.crypto, r.key.blob) });
    else hostKeys.push({ algorithm: r.alg, type: HOST_KEY_ALGORITHMS[r.alg].keyType, error: (r as { error: string }).error });
  }
  const supported = new Set([...Object.keys(KEX_METHODS), ...Object.keys(HOST_KEY_ALGORITHMS), ...Object.keys(CIPHERS), ...Object.keys(MACS), 'none', 'ext-info-s', KEX_STRICT_S]);
  const notSupportedHere = [...new Set([...s.kex, ...s.hostKey, ...s.cipherSC, ...s.macSC, ...s.compressionSC])].filter((a) => !supported.has(a) && !a.startsWith('kex-strict-'));
  return {
    banner: { version: first.server.raw, protocol: first.server.protoVersion, software: first.server.softwareVersion, comments: first.server.comments, preamble: first.preamble },
    kexinit: {
      kex: s.kex,
      hostKey: s.hostKey,
      cipherClientToServer: s.cipherCS,
      cipherServerToClient: s.cipherSC,
      macClientToServer: s.macCS,
      macServerToClient: s.macSC,
      compressionClientToServer: s.compressionCS,
      compressionServerToClient: s.compressionSC,
      languages: [...new Set([...s.languagesCS, ...s.languagesSC])],
    },
    strictKex: s.kex.includes(KEX_STRICT_S),
    extInfo: s.kex.includes('ext-info-s'),
    negotiated: serverSummary(first).algorithms,
    extensions: [...first.extensions.keys()],
    hostKeys,
    authMethods,
    authBanner: a.banner,
    weak: weakAlgorithms(s, hostKeys),
    notSupportedHere,
  };
}
