// The TLS engine's trust anchors on Workers: Mozilla's roots built into the bundle (scripts/roots.ts), plus the
// deployment's own CA certificates (TLS_TRUST_ANCHORS, PEM), parsed once per isolate on the first handshake that needs them.
import { roots, source } from 'portolan:roots';
import { fromBase64 } from '../../core/bytes.ts';
import { readAnchorRecords } from '../../core/tls/anchors.ts';
import { pemCertificates } from '../../core/tls/pem.ts';
import { trustStore, type TrustStore } from '../../core/tls/verify.ts';

export function rootStore(extraPem: string | undefined): () => TrustStore {
  let store: TrustStore | undefined;
  return () => {
    if (store) return store;
    const { certificates, parse } = readAnchorRecords(fromBase64(roots));
    let label = source;
    if (extraPem?.trim()) {
      const extra = pemCertificates(extraPem, 'TLS_TRUST_ANCHORS');
      certificates.push(...extra.map((c) => c.der));
      label += ` and ${extra.length} from TLS_TRUST_ANCHORS`;
    }
    store = trustStore(certificates, label, parse);
    return store;
  };
}
