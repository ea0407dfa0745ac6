// Server certificate verification that fails closed: path building to a trust anchor and path validation (RFC 5280
// §6.1: signatures, validity, basic constraints, path length, key usage, name constraints, critical extensions),
// extended key usage serverAuth (§4.2.1.12), the name check of RFC 6125 §6.4 (DNS and IP subject alternative names,
// a wildcard only as the whole left-most label, no common-name fallback), and the refusals of weak signatures (SHA-1,
// MD5) and keys (RSA below 2048 bits). Or, by the user's choice, a pin: the SHA-256 of the end-entity certificate
// or of its SubjectPublicKeyInfo, which alone decides.
//
// How it works: the presented certificates are parsed; with a pin, the leaf's digests decide. Otherwise a depth-first
// search walks from the leaf through certificates whose subject is the current one's issuer (the trust anchors first,
// then what the server sent), verifying each signature, until it reaches an anchor; the first complete path is then
// validated link by link, and each refusal names its reason (CertificateProblem) and the certificate it concerns.
import { equalBytes, toHex } from '../bytes.ts';
import { parseIp } from '../ip.ts';
import { CertificateError, type CertificateProblem } from './errors.ts';
import { verifySignature, type Subtle } from './primitives.ts';
import { OID, fingerprintText, parseCertificate, type Certificate, type GeneralName } from './x509.ts';

/** Trust anchors, looked up by subject. */
export interface TrustStore {
  /** What the anchors are ("Mozilla roots from Debian ca-certificates 20230311+deb12u1"). */
  readonly source: string;
  readonly size: number;
  /** Anchors whose subject is exactly `subjectRaw` (DER). */
  bySubject(subjectRaw: Uint8Array): Certificate[];
  /** Whether this exact certificate is an anchor. */
  has(der: Uint8Array): boolean;
}

/**
 * A store from DER certificates; each is parsed (by `parse`) when a chain first asks for its subject. A root kept
 * without its self-signature (it proves nothing of an anchor, RFC 5280 §6.1.1) parses the same way.
 */
export function trustStore(certificates: readonly Uint8Array[], source: string, parse: (der: Uint8Array) => Certificate = parseCertificate): TrustStore {
  let index: Map<string, Uint8Array[]> | undefined;
  const parsed = new Map<Uint8Array, Certificate | null>();
  const build = () => {
    if (index) return index;
    index = new Map();
    for (const der of certificates) {
      const subject = subjectOf(der);
      if (!subject) continue;
      const key = toHex(subject);
      const list = index.get(key) ?? [];
      list.push(der);
      index.set(key, list);
    }
    return index;
  };
  return {
    source,
    size: certificates.length,
    bySubject(subjectRaw) {
      const out: Certificate[] = [];
      for (const der of build().get(toHex(subjectRaw)) ?? []) {
        let c = parsed.get(der);
        if (c === undefined) {
          try {
            c = parse(der);
          } catch {
            c = null;
          }
          parsed.set(der, c);
        }
        if (c) out.push(c);
      }
      return out;
    },
    has(der) {
      const subject = subjectOf(der);
      if (!subject) return false;
      return (build().get(toHex(subject)) ?? []).some((a) => equalBytes(a, der));
    },
  };
}

/** The subject Name (DER) of a certificate, found without parsing the rest; undefined when it is not one. */
function subjectOf(der: Uint8Array): Uint8Array | undefined {
  try {
    const c = parseCertificate(der);
    return c.subjectRaw;
  } catch {
    return undefined;
  }
}

export interface VerifyPolicy {
  /** The name the user asked for: a DNS name or an IP literal. */
  serverName: string;
  anchors: TrustStore;
  /** SHA-256 of the end-entity certificate (DER) or of its SubjectPublicKeyInfo: a match alone decides. */
  pins?: { certificate?: Uint8Array[]; spki?: Uint8Array[] };
  /** Milliseconds since the epoch. */
  now: number;
}

export interface VerifiedChain {
  /** The path from the leaf to the anchor (for a pin: what the server sent). */
  chain: Certificate[];
  /** How the leaf was trusted. */
  trust: 'pinned' | 'anchor';
  /** The anchor's subject, when a CA vouched for it. */
  anchor?: string;
}

const MAX_DEPTH = 8;
const MIN_RSA_BITS = 2048;

function fail(reason: CertificateProblem, message: string, cert?: Certificate): never {
  throw new CertificateError(reason, message, cert ? { certificate: cert.subject, fingerprintSha256: fingerprintText(cert.fingerprintSha256) } : {});
}

/** Parses what the server sent; a certificate that cannot be read is refused as unsupported. */
export function parseChain(presented: readonly Uint8Array[]): Certificate[] {
  return presented.map((der, i) => {
    try {
      return parseCertificate(der);
    } catch (e) {
      fail('unsupported_certificate', `certificate ${i} of the server's chain cannot be read: ${(e as Error).message}`);
    }
  });
}

export async function verifyServerChain(subtle: Subtle, presented: readonly Uint8Array[], policy: VerifyPolicy): Promise<VerifiedChain> {
  if (presented.length === 0) fail('no_certificate', 'the server sent no certificate');
  const certs = parseChain(presented);
  const leaf = certs[0];
  const pins = policy.pins;
  if (pins && ((pins.certificate?.length ?? 0) > 0 || (pins.spki?.length ?? 0) > 0)) {
    const ok = (pins.certificate ?? []).some((p) => equalBytes(p, leaf.fingerprintSha256)) || (pins.spki ?? []).some((p) => equalBytes(p, leaf.spkiSha256));
    if (!ok) {
      throw new CertificateError('pin_mismatch', `the server's certificate (SHA-256 ${fingerprintText(leaf.fingerprintSha256)}, public key SHA-256 ${fingerprintText(leaf.spkiSha256)}) matches no pinned fingerprint`, {
        certificate: leaf.subject,
        fingerprintSha256: fingerprintText(leaf.fingerprintSha256),
        spkiSha256: fingerprintText(leaf.spkiSha256),
      });
    }
    return { chain: certs, trust: 'pinned' };
  }
  const path = await buildPath(subtle, leaf, certs.slice(1), policy.anchors);
  validatePath(path, policy);
  return { chain: path, trust: 'anchor', anchor: path[path.length - 1].subject };
}

function isSelfIssued(c: Certificate): boolean {
  return equalBytes(c.issuerRaw, c.subjectRaw);
}

function checkKeyStrength(c: Certificate): void {
  const key = c.publicKey;
  if (key.type === 'unsupported') fail('unsupported_certificate', `${c.subject}: its public key (${key.algorithm}) is not one the engine can verify with`, c);
  if (key.type === 'rsa' && key.bits < MIN_RSA_BITS) fail('weak_key', `${c.subject} has a ${key.bits}-bit RSA key; keys below ${MIN_RSA_BITS} bits are refused`, c);
}

/** Whether `issuer` signed `child`; a weak or unknown signature algorithm is refused before any check. */
async function signedBy(subtle: Subtle, child: Certificate, issuer: Certificate): Promise<boolean> {
  if (child.signatureWeak) fail('weak_signature', `${child.subject} is signed with ${child.signatureName} (${child.signatureWeak}), which is refused`, child);
  if (!child.signatureVerify) fail('unsupported_certificate', `${child.subject} is signed with ${child.signatureName}, which the engine does not verify`, child);
  if (issuer.publicKey.type === 'unsupported') return false;
  return verifySignature(subtle, issuer.publicKey, child.signatureVerify, child.tbs, child.signature);
}

/** Issuer candidates, those whose key identifier matches first (RFC 5280 §4.2.1.1). */
function ranked(child: Certificate, candidates: Certificate[]): Certificate[] {
  if (!child.authorityKeyId) return candidates;
  const match = (c: Certificate) => (c.subjectKeyId && equalBytes(c.subjectKeyId, child.authorityKeyId!) ? 0 : 1);
  return [...candidates].sort((a, b) => match(a) - match(b));
}

async function buildPath(subtle: Subtle, leaf: Certificate, intermediates: Certificate[], anchors: TrustStore): Promise<Certificate[]> {
  checkKeyStrength(leaf);
  // The leaf itself may be the anchor (a CA file holding the server's own certificate).
  if (anchors.has(leaf.der)) return [leaf];
  let badSignature: Certificate | undefined;
  const walk = async (path: Certificate[]): Promise<Certificate[] | undefined> => {
    const current = path[path.length - 1];
    if (path.length > MAX_DEPTH) return undefined;
    for (const anchor of ranked(current, anchors.bySubject(current.issuerRaw))) {
      if (await signedBy(subtle, current, anchor)) {
        checkKeyStrength(anchor);
        return [...path, anchor];
      }
      badSignature ??= current;
    }
    const inPath = (c: Certificate) => path.some((p) => equalBytes(p.der, c.der));
    const next = intermediates.filter((c) => equalBytes(c.subjectRaw, current.issuerRaw) && !inPath(c));
    for (const issuer of ranked(current, next)) {
      if (!(await signedBy(subtle, current, issuer))) {
        badSignature ??= current;
        continue;
      }
      checkKeyStrength(issuer);
      if (anchors.has(issuer.der)) return [...path, issuer];
      const found = await walk([...path, issuer]);
      if (found) return found;
    }
    return undefined;
  };
  const found = await walk([leaf]);
  if (found) return found;
  if (badSignature) fail('bad_signature', `the signature on ${badSignature.subject} does not verify with its issuer's key`, badSignature);
  // Why no anchor was reached: the last certificate the search could link to.
  let end = leaf;
  const seen = new Set<Certificate>([leaf]);
  for (;;) {
    const up = intermediates.find((c) => !seen.has(c) && equalBytes(c.subjectRaw, end.issuerRaw));
    if (!up) break;
    seen.add(up);
    end = up;
  }
  if (isSelfIssued(end)) {
    if (end === leaf) fail('self_signed', `the server's certificate (${leaf.subject}) is self-signed and not trusted; pin its SHA-256 ${fingerprintText(leaf.fingerprintSha256)} to accept it`, leaf);
    fail('unknown_issuer', `the chain ends at ${end.subject}, a root that is not trusted (${anchors.source})`, end);
  }
  fail('incomplete_chain', `no trusted issuer for ${end.subject}: its issuer (${end.issuer}) is neither a trusted root (${anchors.source}) nor among the certificates the server sent`, end);
}

function validatePath(path: Certificate[], policy: VerifyPolicy): void {
  const leaf = path[0];
  const anchorIndex = path.length - 1;
  for (const [i, c] of path.entries()) {
    if (policy.now > c.notAfter) fail('expired', `${c.subject} expired on ${new Date(c.notAfter).toISOString()}`, c);
    if (policy.now < c.notBefore) fail('not_yet_valid', `${c.subject} is not valid before ${new Date(c.notBefore).toISOString()}`, c);
    for (const ext of c.extensions) {
      if (ext.critical && !HANDLED_EXTENSIONS.has(ext.oid)) fail('unhandled_critical_extension', `${c.subject} has a critical extension the engine does not process (${ext.oid})`, c);
    }
    if (i === 0) continue;
    // An issuer: a CA by its basic constraints (RFC 5280 §6.1.4 k), allowed to sign certificates (n), within its path length (m).
    const isAnchor = i === anchorIndex;
    // A trust anchor is trusted by configuration (§6.1.1 d); every other issuer must say it is a CA.
    if (!c.basicConstraints) {
      if (!isAnchor) fail('not_a_ca', `${c.subject} issued ${path[i - 1].subject} but has no basic constraints marking it a CA`, c);
    } else if (!c.basicConstraints.ca) {
      fail('not_a_ca', `${c.subject} is not a CA (basic constraints cA false) but issued ${path[i - 1].subject}: an end-entity certificate used as a CA`, c);
    }
    if (c.keyUsage && !c.keyUsage.has('keyCertSign')) fail('key_usage', `${c.subject} issued a certificate but its key usage lacks keyCertSign`, c);
    const below = path.slice(1, i).filter((x) => !isSelfIssued(x)).length;
    if (c.basicConstraints?.pathLength !== undefined && below > c.basicConstraints.pathLength) {
      fail('path_length', `${c.subject} allows ${c.basicConstraints.pathLength} intermediate CA(s) below it, and the chain has ${below}`, c);
    }
    if (!isAnchor && c.extKeyUsage && !c.extKeyUsage.includes(OID.serverAuth) && !c.extKeyUsage.includes(OID.anyExtendedKeyUsage)) {
      fail('extended_key_usage', `${c.subject} is not allowed to issue server certificates (its extended key usage lacks serverAuth)`, c);
    }
    if (c.nameConstraints) {
      for (const sub of path.slice(0, i)) checkNameConstraints(c, sub);
    }
  }
  if (leaf.keyUsage && !leaf.keyUsage.has('digitalSignature')) fail('key_usage', `${leaf.subject}: its key usage lacks digitalSignature, which a TLS server certificate needs`, leaf);
  if (leaf.extKeyUsage && !leaf.extKeyUsage.includes(OID.serverAuth) && !leaf.extKeyUsage.includes(OID.anyExtendedKeyUsage)) {
    fail('extended_key_usage', `${leaf.subject} is not a server certificate (its extended key usage lacks serverAuth)`, leaf);
  }
  if (!matchesServerName(leaf, policy.serverName)) {
    const names = leaf.subjectAltNames.filter((n) => n.type === 'dns' || n.type === 'ip');
    fail('wrong_host', `the certificate is for ${names.length ? names.map(nameText).join(', ') : `${leaf.subject} (with no subject alternative names)`}, not ${policy.serverName}`, leaf);
  }
}

const HANDLED_EXTENSIONS = new Set<string>([OID.basicConstraints, OID.keyUsage, OID.extKeyUsage, OID.subjectAltName, OID.nameConstraints, OID.certificatePolicies, OID.policyConstraints, OID.inhibitAnyPolicy, OID.policyMappings]);

function nameText(n: GeneralName): string {
  if (n.type === 'dns') return n.value;
  if (n.type === 'ip') return parseIpBytesText(n.value);
  return n.type;
}

function parseIpBytesText(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  const g: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) g.push(((b[i] << 8) | b[i + 1]).toString(16));
  return g.join(':');
}

// RFC 6125 §6.4: the reference identity against the DNS-IDs and IP-IDs.

function normalizeDns(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** Whether a DNS-ID pattern matches a host name: exact, or `*.` followed by at least two labels matching all but the first label. */
export function dnsNameMatches(pattern: string, host: string): boolean {
  const p = normalizeDns(pattern);
  const h = normalizeDns(host);
  if (!p || !h) return false;
  if (!p.includes('*')) return p === h;
  // §6.4.3 as browsers apply it: only a left-most label of exactly "*", never in an IDN A-label.
  if (!p.startsWith('*.') || p.indexOf('*', 1) !== -1) return false;
  const rest = p.slice(2);
  if (rest.split('.').length < 2) return false;
  const dot = h.indexOf('.');
  if (dot <= 0) return false;
  if (h.startsWith('xn--')) return false;
  return h.slice(dot + 1) === rest;
}

export function matchesServerName(cert: Certificate, serverName: string): boolean {
  const ip = parseIp(serverName.replace(/^\[|\]$/g, ''));
  if (ip) return cert.subjectAltNames.some((n) => n.type === 'ip' && equalBytes(n.value, ip.bytes));
  return cert.subjectAltNames.some((n) => n.type === 'dns' && dnsNameMatches(n.value, serverName));
}

// RFC 5280 §4.2.1.10 name constraints, for the name forms a TLS server certificate carries.

function dnsWithin(name: string, base: string): boolean {
  const n = normalizeDns(name);
  const b = normalizeDns(base).replace(/^\./, '');
  if (b === '') return true;
  return n === b || n.endsWith(`.${b}`);
}

function ipWithin(addr: Uint8Array, constraint: Uint8Array): boolean {
  const half = constraint.length / 2;
  if (addr.length !== half) return false;
  for (let i = 0; i < half; i++) if ((addr[i] & constraint[half + i]) !== (constraint[i] & constraint[half + i])) return false;
  return true;
}

function directoryWithin(rdns: Uint8Array[], base: Uint8Array): boolean {
  // The base is a Name: its RDNs must be the first RDNs of the subject.
  let at = 0;
  let i = 0;
  const baseContent = base[0] === 0x30 ? base.subarray(headerLength(base)) : base;
  while (at < baseContent.length) {
    const len = tlvLength(baseContent, at);
    if (len === undefined || i >= rdns.length) return false;
    if (!equalBytes(baseContent.subarray(at, at + len), rdns[i])) return false;
    at += len;
    i++;
  }
  return true;
}

function headerLength(b: Uint8Array): number {
  const l = b[1];
  return l < 0x80 ? 2 : 2 + (l & 0x7f);
}

function tlvLength(b: Uint8Array, at: number): number | undefined {
  const l = b[at + 1];
  if (l === undefined) return undefined;
  if (l < 0x80) return 2 + l;
  const n = l & 0x7f;
  if (n > 3) return undefined;
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[at + 2 + i];
  return 2 + n + v;
}

function emailWithin(email: string, base: string): boolean {
  const e = email.toLowerCase();
  const b = base.toLowerCase();
  if (b.includes('@')) return e === b;
  const domain = e.slice(e.lastIndexOf('@') + 1);
  return b.startsWith('.') ? domain.endsWith(b) : domain === b;
}

function within(name: GeneralName, base: GeneralName): boolean | undefined {
  if (name.type !== base.type) return undefined;
  switch (name.type) {
    case 'dns':
      return dnsWithin(name.value, (base as { value: string }).value);
    case 'ip':
      return ipWithin(name.value, (base as { value: Uint8Array }).value);
    case 'email':
      return emailWithin(name.value, (base as { value: string }).value);
    case 'uri': {
      const host = /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/i.exec(name.value)?.[1] ?? '';
      return dnsWithin(host, (base as { value: string }).value);
    }
    default:
      return undefined;
  }
}

function checkNameConstraints(ca: Certificate, sub: Certificate): void {
  const nc = ca.nameConstraints!;
  const names: GeneralName[] = [...sub.subjectAltNames];
  if (sub.subjectRdns.length > 0) names.push({ type: 'directory', value: sub.subjectRaw });
  for (const name of names) {
    const check = (base: GeneralName) => (name.type === 'directory' && base.type === 'directory' ? directoryWithin(sub.subjectRdns, base.value) : within(name, base));
    if (nc.excluded.some((b) => check(b) === true)) fail('name_constraints', `${sub.subject} names ${nameText(name)}, which ${ca.subject} excludes by its name constraints`, sub);
    const sameType = nc.permitted.filter((b) => b.type === name.type);
    if (sameType.length > 0 && !sameType.some((b) => check(b) === true)) {
      fail('name_constraints', `${sub.subject} names ${name.type === 'directory' ? sub.subject : nameText(name)}, outside what ${ca.subject} permits by its name constraints`, sub);
    }
  }
}
