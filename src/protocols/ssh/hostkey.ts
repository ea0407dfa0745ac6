// Server host keys and their signatures: RFC 4253 6.6 (ssh-rsa), RFC 8332 (rsa-sha2-256/512),
// RFC 5656 3.1 (ecdsa-sha2-nistp*), RFC 8709 (ssh-ed25519); OpenSSH fingerprints (SHA256:base64);
// known_hosts matching as sshd(8) AUTHORIZED_KEYS/SSH_KNOWN_HOSTS FILE FORMAT describes it.
import { equalBytes, fromBase64, toBase64, utf8 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { PortolanError, ProtocolError } from '../../core/errors.ts';
import { SshReader } from './wire.ts';

/** Plain host key algorithms → the key type in the blob and the signature hash. */
const PLAIN_HOST_KEY_ALGORITHMS: Record<string, { keyType: string; hash: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512' | null }> = {
  'ssh-ed25519': { keyType: 'ssh-ed25519', hash: null },
  'ecdsa-sha2-nistp256': { keyType: 'ecdsa-sha2-nistp256', hash: 'SHA-256' },
  'ecdsa-sha2-nistp384': { keyType: 'ecdsa-sha2-nistp384', hash: 'SHA-384' },
  'ecdsa-sha2-nistp521': { keyType: 'ecdsa-sha2-nistp521', hash: 'SHA-512' },
  'rsa-sha2-512': { keyType: 'ssh-rsa', hash: 'SHA-512' },
  'rsa-sha2-256': { keyType: 'ssh-rsa', hash: 'SHA-256' },
  'ssh-rsa': { keyType: 'ssh-rsa', hash: 'SHA-1' },
};

/**
 * Host key algorithm → the key type in the blob and the signature hash; with the OpenSSH host certificate
 * algorithms (PROTOCOL.certkeys: `<algorithm>-cert-v01@openssh.com`, the key type the certificate's, the
 * signature the base algorithm's; none for SHA-1 ssh-rsa).
 */
export const HOST_KEY_ALGORITHMS: Record<string, { keyType: string; hash: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512' | null }> = {
  ...PLAIN_HOST_KEY_ALGORITHMS,
  ...Object.fromEntries(
    Object.entries(PLAIN_HOST_KEY_ALGORITHMS)
      .filter(([alg]) => alg !== 'ssh-rsa')
      .map(([alg, spec]) => [`${alg}-cert-v01@openssh.com`, { keyType: `${spec.keyType}-cert-v01@openssh.com`, hash: spec.hash }]),
  ),
};

/** Host certificate algorithms, offered first when knownHosts has an @cert-authority line for the host. */
export const HOST_CERT_ALGORITHMS = Object.keys(HOST_KEY_ALGORITHMS).filter((a) => a.endsWith('-cert-v01@openssh.com'));

export const EC_CURVES: Record<string, { curve: 'P-256' | 'P-384' | 'P-521'; size: number; hash: 'SHA-256' | 'SHA-384' | 'SHA-512' }> = {
  nistp256: { curve: 'P-256', size: 32, hash: 'SHA-256' },
  nistp384: { curve: 'P-384', size: 48, hash: 'SHA-384' },
  nistp521: { curve: 'P-521', size: 66, hash: 'SHA-512' },
};

export type PublicKey =
  | { type: 'ssh-ed25519'; blob: Uint8Array; key: Uint8Array }
  | { type: `ecdsa-sha2-${string}`; blob: Uint8Array; curve: string; point: Uint8Array }
  | { type: 'ssh-rsa'; blob: Uint8Array; e: Uint8Array; n: Uint8Array; bits: number };

/** Parses a public key blob (RFC 4253 6.6 and the RFCs above). */
export function parsePublicKey(blob: Uint8Array): PublicKey {
  const r = new SshReader(blob);
  const type = r.text('key type', 64);
  if (type === 'ssh-ed25519') {
    const key = r.string('ed25519 public key', 64);
    if (key.length !== 32) throw new ProtocolError(`ssh-ed25519 public key is ${key.length} bytes, not 32`);
    return { type, blob, key };
  }
  if (type.startsWith('ecdsa-sha2-')) {
    const curve = r.text('curve name', 64);
    const spec = EC_CURVES[curve];
    // RFC 5656 3.1: the curve identifier must match the key type.
    if (!spec || type !== `ecdsa-sha2-${curve}`) throw new ProtocolError(`ECDSA key type ${type} with curve ${curve} is not supported`);
    const point = r.string('ECDSA public point', 200);
    if (point.length !== 1 + 2 * spec.size || point[0] !== 4) throw new ProtocolError(`ECDSA ${curve} public point is not an uncompressed point`);
    return { type: type as `ecdsa-sha2-${string}`, blob, curve, point };
  }
  if (type === 'ssh-rsa') {
    const e = r.mpintBytes('RSA e', 64);
    const n = r.mpintBytes('RSA n', 2049);
    return { type, blob, e, n, bits: bitLength(n) };
  }
  throw new ProtocolError(`host key type ${type} is not supported`);
}

function bitLength(b: Uint8Array): number {
  if (b.length === 0) return 0;
  return (b.length - 1) * 8 + (32 - Math.clz32(b[0]));
}

function b64url(b: Uint8Array): string {
  return toBase64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const bs = (b: Uint8Array) => b as unknown as BufferSource;

/** The algorithm argument of SubtleCrypto.verify, as both the DOM and the Workers types spell it. */
type VerifyParams = Parameters<SubtleCrypto['verify']>[0];

/** Imports a public key for WebCrypto verification under a host key (or signature) algorithm. */
export async function importVerifyKey(crypto: CryptoPort, key: PublicKey, algorithm: string): Promise<{ key: CryptoKey; params: VerifyParams }> {
  const s = crypto.subtle;
  if (key.type === 'ssh-ed25519') {
    return { key: await s.importKey('raw', bs(key.key), { name: 'Ed25519' }, false, ['verify']), params: { name: 'Ed25519' } };
  }
  if (key.type === 'ssh-rsa') {
    const hash = HOST_KEY_ALGORITHMS[algorithm]?.hash;
    if (!hash || HOST_KEY_ALGORITHMS[algorithm].keyType !== 'ssh-rsa') throw new ProtocolError(`signature algorithm ${algorithm} does not fit an RSA key`);
    // OpenSSH refuses RSA keys under 1024 bits (SSH_RSA_MINIMUM_MODULUS_SIZE).
    if (key.bits < 1024) throw new PortolanError('untrusted_peer', `RSA host key has ${key.bits} bits, fewer than 1024`);
    const jwk: JsonWebKey = { kty: 'RSA', n: b64url(key.n), e: b64url(key.e), ext: true };
    return { key: await s.importKey('jwk', jwk, { name: 'RSASSA-PKCS1-v1_5', hash }, false, ['verify']), params: { name: 'RSASSA-PKCS1-v1_5' } };
  }
  const spec = EC_CURVES[key.curve];
  return {
    key: await s.importKey('raw', bs(key.point), { name: 'ECDSA', namedCurve: spec.curve }, false, ['verify']),
    params: { name: 'ECDSA', hash: spec.hash } as VerifyParams,
  };
}

/**
 * Verifies an SSH signature blob (string algorithm, string signature) over `data` with `key`.
 * `expectedAlgorithm` is the negotiated host key algorithm (RFC 8332 3: an RSA signature must use it).
 */
export async function verifySignature(crypto: CryptoPort, key: PublicKey, expectedAlgorithm: string, signatureBlob: Uint8Array, data: Uint8Array): Promise<boolean> {
  const r = new SshReader(signatureBlob);
  const alg = r.text('signature algorithm', 64);
  const sig = r.string('signature', 1100);
  if (alg !== expectedAlgorithm) throw new ProtocolError(`server signed with ${alg}, but ${expectedAlgorithm} was negotiated`);
  let raw = sig;
  if (key.type.startsWith('ecdsa-sha2-')) {
    // RFC 5656 3.1.2: the signature is mpint r, mpint s; WebCrypto wants r || s, each of the field size.
    const size = EC_CURVES[(key as { curve: string }).curve].size;
    const inner = new SshReader(sig);
    const rr = inner.mpintBytes('ECDSA r', size + 1);
    const ss = inner.mpintBytes('ECDSA s', size + 1);
    if (rr.length > size || ss.length > size) return false;
    raw = new Uint8Array(2 * size);
    raw.set(rr, size - rr.length);
    raw.set(ss, 2 * size - ss.length);
  } else if (key.type === 'ssh-ed25519' && sig.length !== 64) {
    return false;
  }
  const { key: ck, params } = await importVerifyKey(crypto, key, alg);
  return crypto.subtle.verify(params, ck, bs(raw), bs(data));
}

/** `SHA256:` + unpadded base64 of SHA-256(blob), as ssh-keygen -l prints it. */
export async function fingerprintSha256(crypto: CryptoPort, blob: Uint8Array): Promise<string> {
  return `SHA256:${toBase64(await crypto.digest('SHA-256', blob)).replace(/=+$/, '')}`;
}

/** `MD5:aa:bb:...`, the legacy form (ssh-keygen -E md5). */
export function fingerprintMd5(crypto: CryptoPort, blob: Uint8Array): string {
  return `MD5:${Array.from(crypto.md5(blob), (b) => b.toString(16).padStart(2, '0')).join(':')}`;
}

export function keyBits(key: PublicKey): number {
  if (key.type === 'ssh-ed25519') return 256;
  if (key.type === 'ssh-rsa') return key.bits;
  return { nistp256: 256, nistp384: 384, nistp521: 521 }[(key as { curve: string }).curve] ?? 0;
}

// ---------------------------------------------------------------- pinning

export interface HostKeyPolicy {
  /** Expected fingerprints (SHA256:… or MD5:…); any one matching is accepted. */
  fingerprints: string[];
  /** known_hosts lines. */
  knownHosts: KnownHostLine[];
}

export interface KnownHostLine {
  marker: '@revoked' | '@cert-authority' | null;
  patterns: string;
  keyType: string;
  blob: Uint8Array;
}

/** Parses known_hosts text: `[marker] patterns keytype base64 [comment]`; comments and blank lines skipped. */
export function parseKnownHosts(text: string): KnownHostLine[] {
  const out: KnownHostLine[] = [];
  const lines = text.split(/\r?\n/);
  if (lines.length > 10_000) throw new ProtocolError('knownHosts has more than 10000 lines');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let marker: KnownHostLine['marker'] = null;
    if (parts[0] === '@revoked' || parts[0] === '@cert-authority') marker = parts.shift() as KnownHostLine['marker'];
    if (parts.length < 3) throw new ProtocolError(`knownHosts line ${i + 1}: expected "hosts keytype base64-key"`);
    let blob: Uint8Array;
    try {
      blob = fromBase64(parts[2]);
    } catch {
      throw new ProtocolError(`knownHosts line ${i + 1}: the key is not base64`);
    }
    out.push({ marker, patterns: parts[0], keyType: parts[1], blob });
  }
  return out;
}

/** The name a known_hosts line uses for host:port (`host`, or `[host]:port` off port 22). */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

function wildcard(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
  return re.test(name);
}

/** Does a patterns field match host:port? Handles hashed names (|1|salt|hash), wildcards and !negation. */
export function knownHostMatches(crypto: CryptoPort, patterns: string, host: string, port: number): Promise<boolean> {
  return matchPatterns(crypto, patterns, knownHostsName(host, port));
}

async function matchPatterns(crypto: CryptoPort, patterns: string, name: string): Promise<boolean> {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (!salt || !hash) return false;
    let mac: Uint8Array;
    try {
      mac = await crypto.hmac('SHA-1', fromBase64(salt), utf8(name));
      return equalBytes(mac, fromBase64(hash));
    } catch {
      return false;
    }
  }
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (wildcard(p.slice(1), name)) return false;
    } else if (wildcard(p, name)) matched = true;
  }
  return matched;
}

/**
 * Applies a pinning policy to the server's host key. Throws `untrusted_peer` naming both the
 * server's fingerprint and the expected ones when nothing matches, or when the key is revoked.
 * `certNote` ends the message when the key came in a certificate no trusted CA signed.
 */
export async function checkHostKey(crypto: CryptoPort, policy: HostKeyPolicy, host: string, port: number, blob: Uint8Array, keyType: string, certNote = ''): Promise<void> {
  const sha = await fingerprintSha256(crypto, blob);
  const md5 = fingerprintMd5(crypto, blob);
  const expected: string[] = [];
  let accepted = false;
  for (const fp of policy.fingerprints) {
    const want = normalizeFingerprint(fp);
    expected.push(want);
    if (want === sha || want.toLowerCase() === md5) accepted = true;
  }
  let linesForHost = 0;
  for (const line of policy.knownHosts) {
    if (line.marker === '@cert-authority') continue;
    if (!(await matchPatterns(crypto, line.patterns, knownHostsName(host, port)))) continue;
    if (line.marker === '@revoked') {
      if (equalBytes(line.blob, blob)) throw new PortolanError('untrusted_peer', `host key ${sha} (${keyType}) is marked @revoked in knownHosts`, { fingerprint: sha, keyType });
      continue;
    }
    linesForHost++;
    const lineFp = await fingerprintSha256(crypto, line.blob);
    expected.push(`${lineFp} (${line.keyType})`);
    if (equalBytes(line.blob, blob)) accepted = true;
  }
  if (accepted) return;
  if (policy.knownHosts.length > 0 && linesForHost === 0 && policy.fingerprints.length === 0) {
    throw new PortolanError('untrusted_peer', `knownHosts has no line for ${knownHostsName(host, port)}; the server's host key is ${sha} (${keyType})${certNote}`, { fingerprint: sha, keyType, expected: [] });
  }
  throw new PortolanError('untrusted_peer', `host key mismatch: the server presented ${sha} (${keyType}), expected ${expected.join(' or ')}${certNote}`, { fingerprint: sha, keyType, expected });
}

/** Accepts `SHA256:abc`, `SHA256:abc=` and `MD5:aa:bb…` forms. */
export function normalizeFingerprint(fp: string): string {
  const t = fp.trim();
  if (/^sha256:/i.test(t)) return `SHA256:${t.slice(7).replace(/=+$/, '')}`;
  if (/^md5:/i.test(t)) return `MD5:${t.slice(4).toLowerCase()}`;
  return t;
}

/** Key types the policy knows for host:port, to put first in our offer (as OpenSSH does). */
export async function pinnedKeyTypes(crypto: CryptoPort, policy: HostKeyPolicy, host: string, port: number): Promise<string[]> {
  const out: string[] = [];
  for (const line of policy.knownHosts) {
    if (line.marker) continue;
    if (await matchPatterns(crypto, line.patterns, knownHostsName(host, port))) out.push(line.keyType);
  }
  return out;
}
