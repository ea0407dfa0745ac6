// OpenSSH certificates (PROTOCOL.certkeys): a public key, its principals and validity, signed by a CA key.
// Host certificates are checked as ssh(1) checks them against `@cert-authority` known_hosts lines;
// user certificates go into publickey authentication under the -cert-v01 algorithm names.
import { concat, equalBytes, fromBase64, toBase64 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { InvalidInput, PortolanError, ProtocolError } from '../../core/errors.ts';
import { fingerprintSha256, HOST_KEY_ALGORITHMS, knownHostMatches, parsePublicKey, verifySignature, type HostKeyPolicy, type PublicKey } from './hostkey.ts';
import { SshReader, SshWriter } from './wire.ts';

const SUFFIX = '-cert-v01@openssh.com';

/** Certificate blob type → the plain key type it certifies. */
export const CERT_KEY_TYPES: Record<string, string> = {
  'ssh-ed25519-cert-v01@openssh.com': 'ssh-ed25519',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com': 'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com': 'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com': 'ecdsa-sha2-nistp521',
  'ssh-rsa-cert-v01@openssh.com': 'ssh-rsa',
};

/** The algorithm name of a certificate under a signature algorithm (rsa-sha2-512 → rsa-sha2-512-cert-v01@openssh.com). */
export function certAlgorithm(signatureAlgorithm: string): string {
  return `${signatureAlgorithm}${SUFFIX}`;
}

/** The signature algorithm behind a certificate algorithm name, or null for a plain one. */
export function baseAlgorithm(algorithm: string): string | null {
  return algorithm.endsWith(SUFFIX) ? algorithm.slice(0, -SUFFIX.length) : null;
}

export const CERT_USER = 1;
export const CERT_HOST = 2;

export interface Certificate {
  /** The certificate blob as it goes on the wire. */
  blob: Uint8Array;
  certType: string;
  /** The certified key (its plain blob in `key.blob`). */
  key: PublicKey;
  serial: bigint;
  kind: 'user' | 'host';
  keyId: string;
  principals: string[];
  /** Seconds since the epoch; validBefore 2^64-1 means forever. */
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: string[];
  extensions: string[];
  /** The CA's public key blob, its type and SHA256 fingerprint. */
  signatureKey: Uint8Array;
  caType: string;
  ca: string;
  signature: Uint8Array;
  /** The bytes the CA signed: everything up to the signature field. */
  signed: Uint8Array;
}

const FOREVER = 0xffffffffffffffffn;
const MAX_PRINCIPALS = 256;

function names(r: SshReader, field: string, withData: boolean): string[] {
  const inner = new SshReader(r.string(field, 16 * 1024));
  const out: string[] = [];
  while (!inner.done) {
    if (out.length >= MAX_PRINCIPALS) throw new ProtocolError(`${field}: more than ${MAX_PRINCIPALS} entries`);
    out.push(inner.text(field, 1024));
    if (withData) inner.string(`${field} data`, 4096);
  }
  return out;
}

/** Parses a certificate blob (PROTOCOL.certkeys). */
export async function parseCertificate(crypto: CryptoPort, blob: Uint8Array): Promise<Certificate> {
  const r = new SshReader(blob);
  const certType = r.text('certificate type', 64);
  const keyType = CERT_KEY_TYPES[certType];
  if (!keyType) throw new ProtocolError(`certificate type ${certType} is not supported`);
  r.string('nonce', 256);
  const keyStart = r.offset;
  if (keyType === 'ssh-ed25519') r.string('ed25519 public key', 64);
  else if (keyType === 'ssh-rsa') {
    r.string('RSA e', 65);
    r.string('RSA n', 2050);
  } else {
    r.string('curve name', 64);
    r.string('ECDSA public point', 200);
  }
  const key = parsePublicKey(concat([new SshWriter(16).string(keyType).finish(), blob.subarray(keyStart, r.offset)]));
  const serial = r.u64('serial');
  const type = r.u32('certificate role');
  if (type !== CERT_USER && type !== CERT_HOST) throw new ProtocolError(`certificate role ${type} is neither user (1) nor host (2)`);
  const keyId = r.text('key id', 4096);
  const principals = names(r, 'valid principals', false);
  const validAfter = r.u64('valid after');
  const validBefore = r.u64('valid before');
  const criticalOptions = names(r, 'critical options', true);
  const extensions = names(r, 'extensions', true);
  r.string('reserved', 4096);
  const signatureKey = r.string('signature key', 4096);
  const signed = blob.subarray(0, r.offset);
  const signature = r.string('signature', 4096);
  r.end('certificate');
  const caType = parsePublicKey(signatureKey).type;
  const ca = await fingerprintSha256(crypto, signatureKey);
  return { blob, certType, key, serial, kind: type === CERT_USER ? 'user' : 'host', keyId, principals, validAfter, validBefore, criticalOptions, extensions, signatureKey, caType, ca, signature, signed };
}

/** A certificate validity bound as ISO time ("forever" for the open end). */
export function certTime(t: bigint): string {
  if (t === FOREVER) return 'forever';
  if (t > 253402300799n) return 'forever';
  return new Date(Number(t) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Why the certificate is not valid at `now` (seconds), or null. */
export function validityProblem(cert: Certificate, now: number): string | null {
  const n = BigInt(Math.floor(now));
  if (n < cert.validAfter) return `not valid before ${certTime(cert.validAfter)}`;
  if (n >= cert.validBefore) return `expired at ${certTime(cert.validBefore)}`;
  return null;
}

/**
 * Verifies the CA's signature over the certificate. The CA signs with its own algorithm; OpenSSH's
 * default CASignatureAlgorithms leave out ssh-rsa (SHA-1), and so does this.
 */
export async function verifyCertificateSignature(crypto: CryptoPort, cert: Certificate): Promise<boolean> {
  const ca = parsePublicKey(cert.signatureKey);
  const alg = new SshReader(cert.signature).text('signature algorithm', 64);
  const spec = HOST_KEY_ALGORITHMS[alg];
  if (!spec || spec.keyType !== ca.type) throw new ProtocolError(`certificate signed with ${alg} by a ${ca.type} CA key`);
  if (alg === 'ssh-rsa') return false;
  return verifySignature(crypto, ca, alg, cert.signature, cert.signed);
}

/** What a result shows of a certificate. */
export function certificateJson(cert: Certificate) {
  return {
    type: cert.certType,
    keyId: cert.keyId,
    serial: cert.serial.toString(),
    principals: cert.principals,
    validAfter: certTime(cert.validAfter),
    validBefore: certTime(cert.validBefore),
    ca: cert.ca,
    caType: cert.caType,
    criticalOptions: cert.criticalOptions,
    extensions: cert.extensions,
  };
}

/** Parses the user's certificate input: a `-cert.pub` line (`type base64 [comment]`) or bare base64. */
export async function parseCertificateInput(crypto: CryptoPort, text: string, field = 'certificate'): Promise<Certificate> {
  const parts = text.trim().split(/\s+/);
  const b64 = parts.length >= 2 ? parts[1] : parts[0];
  let blob: Uint8Array;
  try {
    blob = fromBase64(b64);
  } catch {
    throw InvalidInput.field(field, 'is not a certificate line ("ssh-ed25519-cert-v01@openssh.com AAAA… comment")');
  }
  try {
    const cert = await parseCertificate(crypto, blob);
    if (parts.length >= 2 && parts[0] !== cert.certType) throw InvalidInput.field(field, `the line says ${parts[0]} but the certificate is ${cert.certType}`);
    return cert;
  } catch (e) {
    if (e instanceof InvalidInput) throw e;
    throw InvalidInput.field(field, e instanceof Error ? e.message : String(e));
  }
}

/** The `type base64` line of a certificate, as ssh-keygen writes it. */
export function certificateLine(cert: Certificate): string {
  return `${cert.certType} ${toBase64(cert.blob)}`;
}

/**
 * Checks a host certificate against the policy's `@cert-authority` lines for host:port, as ssh(1)
 * does: true when a trusted CA signed a valid host certificate for this name; false when no line
 * names its CA (the plain key is then checked as usual); `untrusted_peer` when a trusted CA's
 * certificate is invalid (wrong role, other principals, expired, bad signature) or the CA is revoked.
 */
export async function checkHostCertificate(crypto: CryptoPort, policy: HostKeyPolicy, host: string, port: number, cert: Certificate): Promise<boolean> {
  const ca = cert.ca;
  const about = `host certificate "${cert.keyId}" (serial ${cert.serial}) signed by CA ${ca}`;
  let trusted = false;
  for (const line of policy.knownHosts) {
    if (line.marker === null || !equalBytes(line.blob, cert.signatureKey)) continue;
    if (!(await knownHostMatches(crypto, line.patterns, host, port))) continue;
    if (line.marker === '@revoked') throw new PortolanError('untrusted_peer', `${about}: the CA key is marked @revoked in knownHosts`, { ca });
    trusted = true;
  }
  if (!trusted) return false;
  const refuse = (why: string) => new PortolanError('untrusted_peer', `${about} is not valid: ${why}`, { ca, keyId: cert.keyId, principals: cert.principals });
  if (cert.kind !== 'host') throw refuse('it is a user certificate');
  if (cert.principals.length > 0 && !cert.principals.includes(host.toLowerCase())) throw refuse(`its principals (${cert.principals.join(', ')}) do not include ${host}`);
  const validity = validityProblem(cert, Date.now() / 1000);
  if (validity) throw refuse(validity);
  if (!(await verifyCertificateSignature(crypto, cert))) throw refuse("the CA's signature does not verify");
  return true;
}

/** Is there an `@cert-authority` line for host:port (then host certificate algorithms are offered first)? */
export async function hasCertAuthority(crypto: CryptoPort, policy: HostKeyPolicy, host: string, port: number): Promise<boolean> {
  for (const line of policy.knownHosts) if (line.marker === '@cert-authority' && (await knownHostMatches(crypto, line.patterns, host, port))) return true;
  return false;
}

/** The failure a refused user certificate gets: what the certificate says, and what is wrong with it here. */
export function describeUserCertificate(cert: Certificate, user: string): string {
  const ca = cert.ca;
  const problems: string[] = [];
  const validity = validityProblem(cert, Date.now() / 1000);
  if (validity) problems.push(`it ${validity.startsWith('expired') ? 'has ' : 'is '}${validity}`);
  if (cert.principals.length > 0 && !cert.principals.includes(user)) problems.push(`its principals (${cert.principals.join(', ')}) do not include ${user}`);
  const what = `certificate "${cert.keyId}" (serial ${cert.serial}, CA ${ca}, valid ${certTime(cert.validAfter)} to ${certTime(cert.validBefore)})`;
  return problems.length > 0 ? `${what}: ${problems.join('; ')}` : `${what}: valid by its dates and principals, so the server does not trust its CA for ${user} (TrustedUserCAKeys) or has revoked it`;
}
