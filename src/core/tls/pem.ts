// PEM (RFC 7468) certificates and private keys: PKCS#8 (RFC 5208), SEC 1 EC keys (RFC 5915) and PKCS#1 RSA keys
// (RFC 8017 §A.1.2), the last two wrapped into PKCS#8 for WebCrypto. What a client certificate, a private CA and
// the trust store arrive as.
import { BerReader, UniversalTag, decodeOid, integer, nullValue, octetString, oid, sequence } from '../ber.ts';
import { fromBase64 } from '../bytes.ts';
import { InvalidInput } from '../errors.ts';
import { importSigningKey, type SigningKey, type Subtle } from './primitives.ts';
import { OID, parseCertificate, type Certificate } from './x509.ts';
import { SIGNATURE_SCHEMES } from './wire.ts';

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in a text, in order; `field` names the input in errors. */
export function pemBlocks(text: string, field: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_RE)) {
    const body = m[2].replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) throw InvalidInput.field(field, `the ${m[1]} block is not base64`);
    out.push({ label: m[1], der: fromBase64(body) });
    if (out.length > 64) throw InvalidInput.field(field, 'more than 64 PEM blocks');
  }
  return out;
}

/** The certificates of a PEM text (BEGIN CERTIFICATE blocks), each checked to parse. */
export function pemCertificates(text: string, field: string): Certificate[] {
  const certs = pemBlocks(text, field).filter((b) => b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE');
  if (certs.length === 0) throw InvalidInput.field(field, 'no -----BEGIN CERTIFICATE----- block');
  return certs.map((b, i) => {
    try {
      return parseCertificate(b.der);
    } catch (e) {
      throw InvalidInput.field(field, `certificate ${i + 1} cannot be read: ${(e as Error).message}`);
    }
  });
}

/** A private key as PKCS#8 DER, from any of the three usual PEM forms. */
export function privateKeyPkcs8(text: string, field: string): Uint8Array {
  const blocks = pemBlocks(text, field);
  const block = blocks.find((b) => /PRIVATE KEY$/.test(b.label));
  if (!block) throw InvalidInput.field(field, 'no -----BEGIN PRIVATE KEY----- block');
  switch (block.label) {
    case 'PRIVATE KEY':
      return block.der;
    case 'RSA PRIVATE KEY':
      return sequence([integer(0), sequence([oid(OID.rsaEncryption), nullValue()]), octetString(block.der)]);
    case 'EC PRIVATE KEY': {
      const curve = ecKeyCurve(block.der);
      if (!curve) throw InvalidInput.field(field, 'the EC private key does not name its curve');
      return sequence([integer(0), sequence([oid(OID.ecPublicKey), oid(curve)]), octetString(block.der)]);
    }
    case 'ENCRYPTED PRIVATE KEY':
      throw InvalidInput.field(field, 'the private key is encrypted: give it decrypted (openssl pkey -in key.pem)');
    default:
      throw InvalidInput.field(field, `a ${block.label} block is not a private key form the engine reads`);
  }
}

/** RFC 5915 ECPrivateKey: the curve OID in parameters [0]. */
function ecKeyCurve(der: Uint8Array): string | undefined {
  try {
    const r = new BerReader(der, 'ECPrivateKey').sequence('ECPrivateKey');
    r.int('version');
    r.octets('privateKey');
    while (!r.done) {
      const t = r.next('field');
      if (t.cls === 'context' && t.tag === 0) return decodeOid(new BerReader(t.value, 'parameters', 2).expect('namedCurve', UniversalTag.oid).value);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export interface ClientIdentity {
  /** DER certificates, the client's own first. */
  chain: Uint8Array[];
  leaf: Certificate;
  key: SigningKey;
}

/** A client certificate (with any intermediates after it) and its private key, both PEM. */
export async function loadClientIdentity(subtle: Subtle, certPem: string, keyPem: string): Promise<ClientIdentity> {
  const certs = pemCertificates(certPem, 'clientCertificate.certPem');
  const leaf = certs[0];
  const pub = leaf.publicKey;
  if (pub.type === 'unsupported') throw InvalidInput.field('clientCertificate.certPem', `its public key (${pub.algorithm}) is not one the engine can sign with`);
  const pkcs8 = privateKeyPkcs8(keyPem, 'clientCertificate.keyPem');
  let key: SigningKey;
  try {
    key = await importSigningKey(subtle, pkcs8, { type: pub.type, curve: pub.curve }, SIGNATURE_SCHEMES);
  } catch (e) {
    throw InvalidInput.field('clientCertificate.keyPem', `the key cannot be used for the certificate's ${pub.type} key: ${(e as Error).message}`);
  }
  return { chain: certs.map((c) => c.der), leaf, key };
}
