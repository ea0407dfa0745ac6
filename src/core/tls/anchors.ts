// Trust anchors in a compact form for the Workers bundle: each root certificate with an empty signature (an anchor's
// self-signature proves nothing, RFC 5280 §6.1.1, and it is a third of a root's bytes), then the SHA-256 of the real
// certificate, so the chain a user sees names the root's true fingerprint. scripts/roots.ts writes them at build
// time; the Workers host reads them into its trust store.
import { sha256 } from '@noble/hashes/sha2.js';
import { readTlv, sequence, tlv, UniversalTag } from '../ber.ts';
import { concat } from '../bytes.ts';
import { ProtocolError } from '../errors.ts';
import { parseCertificate, type Certificate } from './x509.ts';

/** One certificate (DER) as an anchor record: the certificate without its signature, then its SHA-256. */
export function anchorRecord(der: Uint8Array): Uint8Array {
  const outer = readTlv(der);
  if (!outer || outer.size !== der.length) throw new ProtocolError('anchor: not one DER certificate');
  const tbs = readTlv(outer.value);
  const alg = tbs && readTlv(outer.value.subarray(tbs.size));
  if (!tbs || !alg) throw new ProtocolError('anchor: no tbsCertificate and signatureAlgorithm');
  const unsigned = sequence([outer.value.subarray(0, tbs.size + alg.size), tlv(UniversalTag.bitString, Uint8Array.of(0))]);
  return concat([unsigned, sha256(der)]);
}

/** Anchor records back into certificates, each parsed when first asked for, with the real certificate's fingerprint. */
export function readAnchorRecords(bytes: Uint8Array): { certificates: Uint8Array[]; parse: (der: Uint8Array) => Certificate } {
  const certificates: Uint8Array[] = [];
  const fingerprints = new Map<Uint8Array, Uint8Array>();
  for (let at = 0; at < bytes.length; ) {
    const t = readTlv(bytes.subarray(at));
    if (!t || at + t.size + 32 > bytes.length) throw new ProtocolError(`anchor records: a truncated record at byte ${at}`);
    const der = bytes.subarray(at, at + t.size);
    certificates.push(der);
    fingerprints.set(der, bytes.subarray(at + t.size, at + t.size + 32));
    at += t.size + 32;
  }
  const parse = (der: Uint8Array): Certificate => {
    const c = parseCertificate(der);
    const fingerprint = fingerprints.get(der);
    return fingerprint ? { ...c, fingerprintSha256: fingerprint } : c;
  };
  return { certificates, parse };
}
