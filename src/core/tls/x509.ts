// X.509 certificates (RFC 5280 §4.1, §4.2): the fields path validation and the transcript need, read from DER with
// core's BER reader. Signature and key algorithms from RFC 4055, RFC 5758, RFC 8410; names as RFC 4514 strings in
// the order OpenSSL and Node print them.
//
// How it works: `parseCertificate` walks Certificate → TBSCertificate once, keeping the raw bytes that are signed
// (tbs), compared (issuer, subject) and imported (the SubjectPublicKeyInfo), and decoding the extensions path
// validation acts on. An extension it does not know is kept with its criticality, so validation can refuse an
// unhandled critical one (RFC 5280 §4.2). Wrong bytes throw ProtocolError naming the field.
import { sha256 } from '@noble/hashes/sha2.js';
import { BerReader, UniversalTag, decodeOid, type Tlv } from '../ber.ts';
import { fromUtf8, toHex } from '../bytes.ts';
import { ProtocolError } from '../errors.ts';
import type { PeerCertificate } from '../conn.ts';
import type { PublicKeyInfo, VerifyAlgorithm } from './primitives.ts';

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  ecPublicKey: '1.2.840.10045.2.1',
  ed25519: '1.3.101.112',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  p521: '1.3.132.0.35',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  nameConstraints: '2.5.29.30',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  certificatePolicies: '2.5.29.32',
  policyMappings: '2.5.29.33',
  policyConstraints: '2.5.29.36',
  inhibitAnyPolicy: '2.5.29.54',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  anyExtendedKeyUsage: '2.5.29.37.0',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  mgf1: '1.2.840.113549.1.1.8',
} as const;

/** Certificate signature algorithms: how to verify, and which are refused as weak. */
const SIGNATURE_ALGORITHMS: Record<string, { name: string; verify: VerifyAlgorithm; weak?: string }> = {
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', verify: { kind: 'rsa_pkcs1', hash: 'SHA-256' } },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', verify: { kind: 'rsa_pkcs1', hash: 'SHA-384' } },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', verify: { kind: 'rsa_pkcs1', hash: 'SHA-512' } },
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', verify: { kind: 'rsa_pkcs1', hash: 'SHA-1' }, weak: 'SHA-1' },
  '1.2.840.113549.1.1.4': { name: 'md5WithRSAEncryption', verify: { kind: 'rsa_pkcs1', hash: 'SHA-1' }, weak: 'MD5' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', verify: { kind: 'ecdsa', hash: 'SHA-256' } },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', verify: { kind: 'ecdsa', hash: 'SHA-384' } },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', verify: { kind: 'ecdsa', hash: 'SHA-512' } },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', verify: { kind: 'ecdsa', hash: 'SHA-1' }, weak: 'SHA-1' },
  '1.3.101.112': { name: 'Ed25519', verify: { kind: 'ed25519' } },
};

const HASH_OIDS: Record<string, 'SHA-256' | 'SHA-384' | 'SHA-512'> = { [OID.sha256]: 'SHA-256', [OID.sha384]: 'SHA-384', [OID.sha512]: 'SHA-512' };

const ATTRIBUTE_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
  '2.5.4.9': 'street',
  '2.5.4.17': 'postalCode',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

export type GeneralName = { type: 'dns'; value: string } | { type: 'ip'; value: Uint8Array } | { type: 'email'; value: string } | { type: 'uri'; value: string } | { type: 'directory'; value: Uint8Array } | { type: 'other'; tag: number };

/** RFC 5280 §4.2.1.10; an iPAddress constraint is the address followed by its mask (8 or 32 bytes). */
export interface NameConstraints {
  permitted: GeneralName[];
  excluded: GeneralName[];
}

export interface Certificate {
  der: Uint8Array;
  tbs: Uint8Array;
  version: number;
  serial: string;
  signatureOid: string;
  signatureName: string;
  /** How to verify this certificate's signature; undefined for an algorithm the engine does not know. */
  signatureVerify?: VerifyAlgorithm;
  /** Why the signature algorithm is refused (SHA-1, MD5). */
  signatureWeak?: string;
  signature: Uint8Array;
  issuerRaw: Uint8Array;
  subjectRaw: Uint8Array;
  issuer: string;
  subject: string;
  /** RDNs of the subject, each as raw DER, for directoryName constraints. */
  subjectRdns: Uint8Array[];
  notBefore: number;
  notAfter: number;
  publicKey: PublicKeyInfo;
  extensions: { oid: string; critical: boolean }[];
  basicConstraints?: { ca: boolean; pathLength?: number };
  /** KeyUsage bits as a number: digitalSignature 0x80 in the first byte... (bit 0 is the most significant). */
  keyUsage?: Set<KeyUsageName>;
  extKeyUsage?: string[];
  subjectAltNames: GeneralName[];
  nameConstraints?: NameConstraints;
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
  fingerprintSha256: Uint8Array;
  spkiSha256: Uint8Array;
}

export type KeyUsageName = 'digitalSignature' | 'nonRepudiation' | 'keyEncipherment' | 'dataEncipherment' | 'keyAgreement' | 'keyCertSign' | 'cRLSign' | 'encipherOnly' | 'decipherOnly';
const KEY_USAGE_BITS: KeyUsageName[] = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'];

const bad = (message: string) => new ProtocolError(`certificate: ${message}`);

export function parseCertificate(der: Uint8Array): Certificate {
  const outer = new BerReader(der, 'certificate');
  const certTlv = outer.next('Certificate');
  if (certTlv.tag !== UniversalTag.sequence || certTlv.size !== der.length) throw bad('not one DER SEQUENCE');
  const cert = new BerReader(certTlv.value, 'Certificate', 1);
  const tbsTlv = cert.expect('tbsCertificate', UniversalTag.sequence, 'universal', true);
  const tbs = der.subarray(der.length - certTlv.value.length, der.length - certTlv.value.length + tbsTlv.size);
  const sigAlg = algorithm(cert.sequence('signatureAlgorithm'), 'signatureAlgorithm');
  const signature = bitString(cert.expect('signatureValue', UniversalTag.bitString).value, 'signatureValue');
  cert.end();

  const t = new BerReader(tbsTlv.value, 'TBSCertificate', 2);
  let version = 1;
  if (t.peek()?.cls === 'context' && t.peek()?.tag === 0) {
    const v = t.sequence('version', 0, 'context');
    version = v.int('version', 0, 2) + 1;
  }
  const serialTlv = t.expect('serialNumber', UniversalTag.integer);
  const inner = algorithm(t.sequence('signature'), 'signature');
  if (inner.oid !== sigAlg.oid) throw bad(`the signature algorithm inside (${inner.oid}) differs from the one outside (${sigAlg.oid}) (RFC 5280 §4.1.1.2)`);
  const issuerTlv = t.expect('issuer', UniversalTag.sequence, 'universal', true);
  const validity = t.sequence('validity');
  const notBefore = time(validity.next('notBefore'), 'notBefore');
  const notAfter = time(validity.next('notAfter'), 'notAfter');
  validity.end();
  const subjectTlv = t.expect('subject', UniversalTag.sequence, 'universal', true);
  const spkiTlv = t.expect('subjectPublicKeyInfo', UniversalTag.sequence, 'universal', true);
  const rawTlv = (x: Tlv) => {
    const start = x.value.byteOffset - der.byteOffset;
    const headerSize = x.size - x.value.length;
    return der.subarray(start - headerSize, start + x.value.length);
  };
  const issuerRaw = rawTlv(issuerTlv);
  const subjectRaw = rawTlv(subjectTlv);
  const spki = rawTlv(spkiTlv);
  const out: Certificate = {
    der,
    tbs,
    version,
    serial: toHex(serialTlv.value),
    signatureOid: sigAlg.oid,
    signatureName: SIGNATURE_ALGORITHMS[sigAlg.oid]?.name ?? (sigAlg.oid === OID.rsassaPss ? 'RSASSA-PSS' : sigAlg.oid),
    signature,
    issuerRaw,
    subjectRaw,
    issuer: nameString(issuerTlv.value),
    subject: nameString(subjectTlv.value),
    subjectRdns: rdns(subjectTlv.value),
    notBefore,
    notAfter,
    publicKey: publicKeyInfo(spki, spkiTlv.value),
    extensions: [],
    subjectAltNames: [],
    fingerprintSha256: sha256(der),
    spkiSha256: sha256(spki),
  };
  const known = SIGNATURE_ALGORITHMS[sigAlg.oid];
  if (known) {
    out.signatureVerify = known.verify;
    out.signatureWeak = known.weak;
  } else if (sigAlg.oid === OID.rsassaPss) {
    out.signatureVerify = pssParams(sigAlg.params);
  }
  // Optional issuerUniqueID [1], subjectUniqueID [2], then extensions [3].
  while (!t.done) {
    const next = t.next('TBSCertificate field');
    if (next.cls !== 'context') throw bad(`unexpected ${next.tag} in TBSCertificate`);
    if (next.tag === 3) {
      if (version !== 3) throw bad('extensions in a certificate that is not version 3');
      readExtensions(new BerReader(next.value, 'extensions', 3), out);
    }
  }
  return out;
}

function algorithm(r: BerReader, field: string): { oid: string; params?: Tlv } {
  const oid = r.oid(`${field} algorithm`);
  const params = r.done ? undefined : r.next(`${field} parameters`);
  r.end();
  return { oid, params };
}

/** RFC 4055 §3.1 RSASSA-PSS-params: the hash, MGF1 with the same hash, and the salt length. */
function pssParams(params: Tlv | undefined): VerifyAlgorithm | undefined {
  if (!params || params.tag !== UniversalTag.sequence) return undefined;
  const r = new BerReader(params.value, 'RSASSA-PSS-params', 3);
  let hash: 'SHA-256' | 'SHA-384' | 'SHA-512' | undefined;
  let mgfHash: string | undefined;
  let salt = 20;
  while (!r.done) {
    const f = r.next('RSASSA-PSS-params field');
    if (f.cls !== 'context') return undefined;
    const inner = new BerReader(f.value, 'RSASSA-PSS-params', 4);
    if (f.tag === 0) hash = HASH_OIDS[algorithm(inner.sequence('hashAlgorithm'), 'hashAlgorithm').oid];
    else if (f.tag === 1) {
      const mgf = algorithm(inner.sequence('maskGenAlgorithm'), 'maskGenAlgorithm');
      if (mgf.oid !== OID.mgf1 || !mgf.params) return undefined;
      mgfHash = decodeOid(new BerReader(mgf.params.value, 'mgf1', 5).expect('hash', UniversalTag.oid).value);
    } else if (f.tag === 2) salt = inner.int('saltLength', 0, 1024);
  }
  // Defaults are SHA-1, which is refused.
  if (!hash || !mgfHash || HASH_OIDS[mgfHash] !== hash) return undefined;
  return { kind: 'rsa_pss', hash, saltLength: salt };
}

function bitString(value: Uint8Array, field: string): Uint8Array {
  if (value.length < 1 || value[0] !== 0) throw bad(`${field}: a BIT STRING with unused bits`);
  return value.subarray(1);
}

function publicKeyInfo(spki: Uint8Array, content: Uint8Array): PublicKeyInfo {
  const r = new BerReader(content, 'subjectPublicKeyInfo', 3);
  const alg = algorithm(r.sequence('algorithm'), 'subjectPublicKeyInfo');
  const key = bitString(r.expect('subjectPublicKey', UniversalTag.bitString).value, 'subjectPublicKey');
  r.end();
  if (alg.oid === OID.rsaEncryption) {
    const rsa = new BerReader(key, 'RSAPublicKey', 4).sequence('RSAPublicKey');
    let modulus = rsa.expect('modulus', UniversalTag.integer).value;
    while (modulus.length > 1 && modulus[0] === 0) modulus = modulus.subarray(1);
    const bits = modulus.length * 8 - Math.clz32(modulus[0]) + 24;
    return { spki, type: 'rsa', bits };
  }
  if (alg.oid === OID.ecPublicKey) {
    const curveOid = alg.params?.tag === UniversalTag.oid ? decodeOid(alg.params.value) : '';
    const curve = curveOid === OID.p256 ? 'P-256' : curveOid === OID.p384 ? 'P-384' : curveOid === OID.p521 ? 'P-521' : undefined;
    if (!curve) return { spki, type: 'unsupported', algorithm: `EC key on curve ${curveOid || '(explicit parameters)'}`, bits: 0 };
    return { spki, type: 'ec', curve, bits: curve === 'P-256' ? 256 : curve === 'P-384' ? 384 : 521 };
  }
  if (alg.oid === OID.ed25519) {
    if (key.length !== 32) throw bad('an Ed25519 key that is not 32 bytes');
    return { spki, type: 'ed25519', bits: 256, raw: key };
  }
  return { spki, type: 'unsupported', algorithm: alg.oid === OID.rsassaPss ? 'RSASSA-PSS key' : alg.oid, bits: 0 };
}

/** UTCTime (RFC 5280 §4.1.2.5.1) or GeneralizedTime (§4.1.2.5.2), always in Z, read from the digits. */
function time(t: Tlv, field: string): number {
  const v = t.value;
  const digits = (from: number, n: number): number => {
    let x = 0;
    for (let i = from; i < from + n; i++) {
      const d = v[i] - 0x30;
      if (d < 0 || d > 9 || i >= v.length) throw bad(`${field}: not a time`);
      x = x * 10 + d;
    }
    return x;
  };
  let year: number;
  let at: number;
  if (t.tag === 23 && v.length === 13) {
    const yy = digits(0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    at = 2;
  } else if (t.tag === 24 && v.length === 15) {
    year = digits(0, 4);
    at = 4;
  } else throw bad(`${field}: neither UTCTime nor GeneralizedTime in the form RFC 5280 requires`);
  if (v[v.length - 1] !== 0x5a) throw bad(`${field}: not in UTC (Z)`);
  const ms = Date.UTC(year, digits(at, 2) - 1, digits(at + 2, 2), digits(at + 4, 2), digits(at + 6, 2), digits(at + 8, 2));
  if (Number.isNaN(ms)) throw bad(`${field}: not a date`);
  return ms;
}

function rdns(nameContent: Uint8Array): Uint8Array[] {
  const r = new BerReader(nameContent, 'Name', 3);
  const out: Uint8Array[] = [];
  let at = 0;
  while (!r.done) {
    const set = r.next('RelativeDistinguishedName');
    out.push(nameContent.subarray(at, at + set.size));
    at += set.size;
  }
  return out;
}

/** An X.501 Name as `C=US, O=…, CN=…` in the certificate's order, multi-valued RDNs joined with +. */
function nameString(nameContent: Uint8Array): string {
  const r = new BerReader(nameContent, 'Name', 3);
  const parts: string[] = [];
  while (!r.done) {
    const set = r.sequence('RelativeDistinguishedName', UniversalTag.set);
    const attrs: string[] = [];
    while (!set.done) {
      const atv = set.sequence('AttributeTypeAndValue');
      const type = atv.oid('attribute type');
      const value = atv.next('attribute value');
      attrs.push(`${ATTRIBUTE_NAMES[type] ?? type}=${directoryString(value)}`);
    }
    parts.push(attrs.join('+'));
    if (parts.length > 64) throw bad('a Name of more than 64 RDNs');
  }
  return parts.join(', ');
}

/** DirectoryString and friends as text (RFC 5280 §4.1.2.4). */
function directoryString(t: Tlv): string {
  switch (t.tag) {
    case 12: // UTF8String
    case 19: // PrintableString
    case 22: // IA5String
    case 20: // TeletexString (in practice latin1 or UTF-8)
    case 26: // VisibleString
      return fromUtf8(t.value);
    case 30: {
      // BMPString: UTF-16BE
      let s = '';
      for (let i = 0; i + 1 < t.value.length; i += 2) s += String.fromCharCode((t.value[i] << 8) | t.value[i + 1]);
      return s;
    }
    case 28: {
      // UniversalString: UTF-32BE
      let s = '';
      for (let i = 0; i + 3 < t.value.length; i += 4) s += String.fromCodePoint(((t.value[i] << 24) | (t.value[i + 1] << 16) | (t.value[i + 2] << 8) | t.value[i + 3]) >>> 0);
      return s;
    }
    default:
      return `#${toHex(t.value)}`;
  }
}

function readExtensions(r: BerReader, cert: Certificate): void {
  const list = r.sequence('Extensions');
  r.end();
  const seen = new Set<string>();
  while (!list.done) {
    const ext = list.sequence('Extension');
    const oid = ext.oid('extnID');
    let critical = false;
    if (ext.peek()?.tag === UniversalTag.boolean) critical = ext.boolean('critical');
    const value = ext.octets('extnValue');
    ext.end();
    if (seen.has(oid)) throw bad(`extension ${oid} appears twice (RFC 5280 §4.2)`);
    seen.add(oid);
    cert.extensions.push({ oid, critical });
    if (cert.extensions.length > 64) throw bad('more than 64 extensions');
    const v = new BerReader(value, oid, 4);
    switch (oid) {
      case OID.basicConstraints: {
        const bc = v.sequence('BasicConstraints');
        let ca = false;
        let pathLength: number | undefined;
        if (bc.peek()?.tag === UniversalTag.boolean) ca = bc.boolean('cA');
        if (!bc.done) pathLength = bc.int('pathLenConstraint', 0, 255);
        cert.basicConstraints = { ca, pathLength };
        break;
      }
      case OID.keyUsage: {
        const t = v.expect('KeyUsage', UniversalTag.bitString);
        const bits = t.value.subarray(1);
        const set = new Set<KeyUsageName>();
        KEY_USAGE_BITS.forEach((name, i) => {
          if ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) set.add(name);
        });
        cert.keyUsage = set;
        break;
      }
      case OID.extKeyUsage: {
        const seq = v.sequence('ExtKeyUsageSyntax');
        const oids: string[] = [];
        while (!seq.done) {
          oids.push(seq.oid('KeyPurposeId'));
          if (oids.length > 64) throw bad('more than 64 key purposes');
        }
        cert.extKeyUsage = oids;
        break;
      }
      case OID.subjectAltName:
        cert.subjectAltNames = generalNames(v.sequence('GeneralNames'));
        break;
      case OID.nameConstraints: {
        const nc = v.sequence('NameConstraints');
        const out: NameConstraints = { permitted: [], excluded: [] };
        while (!nc.done) {
          const f = nc.next('NameConstraints field');
          if (f.cls !== 'context' || (f.tag !== 0 && f.tag !== 1)) throw bad('NameConstraints with an unknown field');
          const subtrees = new BerReader(f.value, 'GeneralSubtrees', 5);
          while (!subtrees.done) {
            const st = subtrees.sequence('GeneralSubtree');
            const name = generalName(st.next('base'));
            (f.tag === 0 ? out.permitted : out.excluded).push(name);
            if (out.permitted.length + out.excluded.length > 256) throw bad('more than 256 name constraints');
          }
        }
        cert.nameConstraints = out;
        break;
      }
      case OID.subjectKeyIdentifier:
        cert.subjectKeyId = v.octets('SubjectKeyIdentifier').slice();
        break;
      case OID.authorityKeyIdentifier: {
        const aki = v.sequence('AuthorityKeyIdentifier');
        while (!aki.done) {
          const f = aki.next('AuthorityKeyIdentifier field');
          if (f.cls === 'context' && f.tag === 0) cert.authorityKeyId = f.value.slice();
        }
        break;
      }
    }
  }
}

function generalNames(r: BerReader): GeneralName[] {
  const out: GeneralName[] = [];
  while (!r.done) {
    out.push(generalName(r.next('GeneralName')));
    if (out.length > 1024) throw bad('more than 1024 subject alternative names');
  }
  return out;
}

/** RFC 5280 §4.2.1.6 GeneralName: the context tag says which choice. */
function generalName(t: Tlv): GeneralName {
  if (t.cls !== 'context') throw bad('a GeneralName that is not context-tagged');
  switch (t.tag) {
    case 1:
      return { type: 'email', value: fromUtf8(t.value) };
    case 2:
      return { type: 'dns', value: fromUtf8(t.value) };
    case 4:
      return { type: 'directory', value: t.value.slice() };
    case 6:
      return { type: 'uri', value: fromUtf8(t.value) };
    case 7:
      return { type: 'ip', value: t.value.slice() };
    default:
      return { type: 'other', tag: t.tag };
  }
}

/** Colon-separated upper-case hex, as OpenSSL and Node print fingerprints. */
export function fingerprintText(bytes: Uint8Array): string {
  return toHex(bytes, ':').toUpperCase();
}

function ipText(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
    return groups.join(':');
  }
  return toHex(b);
}

/** A subject alternative name as Node prints it ("DNS:localhost", "IP Address:127.0.0.1"). */
export function generalNameText(n: GeneralName): string {
  switch (n.type) {
    case 'dns':
      return `DNS:${n.value}`;
    case 'ip':
      return `IP Address:${ipText(n.value)}`;
    case 'email':
      return `email:${n.value}`;
    case 'uri':
      return `URI:${n.value}`;
    case 'directory':
      return 'DirName';
    default:
      return `othername ${n.tag}`;
  }
}

/** The certificate as the API reports a chain entry (the same fields the Node host gives). */
export function describeCertificate(c: Certificate): PeerCertificate {
  const key = c.publicKey;
  return {
    subject: c.subject,
    issuer: c.issuer,
    subjectAltNames: c.subjectAltNames.map(generalNameText),
    validFrom: new Date(c.notBefore).toISOString(),
    validTo: new Date(c.notAfter).toISOString(),
    fingerprintSha256: fingerprintText(c.fingerprintSha256),
    keyType: key.type === 'unsupported' ? undefined : key.type,
    keyBits: key.type === 'unsupported' ? undefined : key.bits,
  };
}
