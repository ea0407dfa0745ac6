// TLS channel binding for SASL mechanisms such as SCRAM-SHA-256-PLUS: RFC 5929 §4.1 tls-server-end-point, the hash
// of the server's certificate (the DER bytes) with the hash function of the certificate's signature algorithm,
// except that MD5 and SHA-1 become SHA-256. A host that can read the certificate reports it in TransportInfo.
import { BerReader } from './ber.ts';
import type { CryptoPort, HashName } from './crypto.ts';
import { ProtocolError } from './errors.ts';

/** Signature algorithm OIDs (RFC 4055, RFC 5758, RFC 3279) to the hash RFC 5929 prescribes for them. */
const END_POINT_HASH: Record<string, HashName> = {
  '1.2.840.113549.1.1.4': 'SHA-256', // md5WithRSAEncryption
  '1.2.840.113549.1.1.5': 'SHA-256', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.11': 'SHA-256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'SHA-384', // sha384WithRSAEncryption
  '1.2.840.113549.1.1.13': 'SHA-512', // sha512WithRSAEncryption
  '1.2.840.10045.4.1': 'SHA-256', // ecdsa-with-SHA1
  '1.2.840.10045.4.3.2': 'SHA-256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'SHA-384', // ecdsa-with-SHA384
  '1.2.840.10045.4.3.4': 'SHA-512', // ecdsa-with-SHA512
};

/** The signature algorithm OID of an X.509 certificate (RFC 5280 §4.1.1.2). */
export function certificateSignatureAlgorithm(der: Uint8Array): string {
  const cert = new BerReader(der, 'certificate').sequence('Certificate');
  cert.next('tbsCertificate');
  return cert.sequence('signatureAlgorithm').oid('algorithm');
}

/** The tls-server-end-point channel binding data of a server certificate (RFC 5929 §4.1). */
export async function tlsServerEndPoint(crypto: CryptoPort, der: Uint8Array): Promise<Uint8Array> {
  const oid = certificateSignatureAlgorithm(der);
  const hash = END_POINT_HASH[oid];
  // RSASSA-PSS and EdDSA certificates have no tls-server-end-point hash in RFC 5929 (PostgreSQL refuses them too).
  if (!hash) throw new ProtocolError(`the server certificate is signed with ${oid}, for which RFC 5929 defines no tls-server-end-point hash`);
  return crypto.digest(hash, der);
}
