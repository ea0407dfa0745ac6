// The TLS engine's certificate corpus, made with openssl: a test root and intermediate, one good leaf per key type
// (RSA-2048, ECDSA P-256 and P-384, Ed25519), a client CA with a client certificate, and one certificate for each
// refusal the verifier must name (expired, not yet valid, wrong host, self-signed, unknown root, a CA without basic
// constraints, a leaf used as a CA, a name-constraint violation, a SHA-1 signature, an RSA-1024 key).
//
// How it works: `openssl ca` issues every certificate from a throw-away CA database, so validity dates, extensions
// and the signature digest are exactly what each case needs. `makeCertificates(dir)` is idempotent: it writes
// `<dir>/done` last and returns at once when that file is there.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificateProblem } from '../../src/core/tls/errors.ts';

export interface Identity {
  cert: string;
  key: string;
  /** The certificates a server sends after its own (intermediates), PEM file; absent when none. */
  chain?: string;
}

export interface CertificateCorpus {
  dir: string;
  /** The test root the good chains lead to (given to the engine as a private CA, caPem). */
  root: string;
  intermediate: string;
  good: { rsa: Identity; ecdsa256: Identity; ecdsa384: Identity; ed25519: Identity };
  /** Server certificates that must be refused, each with the chain its server sends. */
  bad: Record<RefusalCase, Identity>;
  /** The CA that issues client certificates, and one client certificate (EKU clientAuth) for each key type. */
  clientCa: string;
  client: { ecdsa: Identity; rsa: Identity };
}

export type RefusalCase = 'expired' | 'notYetValid' | 'wrongHost' | 'selfSigned' | 'unknownRoot' | 'incompleteChain' | 'caWithoutBasicConstraints' | 'leafAsCa' | 'nameConstraints' | 'sha1' | 'rsa1024';

/** The reason the verifier must name for each refusal case (CertificateError.reason, detail.reason in the API). */
export const REFUSAL_REASONS = {
  expired: 'expired',
  notYetValid: 'not_yet_valid',
  wrongHost: 'wrong_host',
  selfSigned: 'self_signed',
  unknownRoot: 'unknown_issuer',
  incompleteChain: 'incomplete_chain',
  caWithoutBasicConstraints: 'not_a_ca',
  leafAsCa: 'not_a_ca',
  nameConstraints: 'name_constraints',
  sha1: 'weak_signature',
  rsa1024: 'weak_key',
} as const satisfies Record<RefusalCase, CertificateProblem>;

const SUBJECT_ALT = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function key(dir: string, name: string, spec: 'rsa2048' | 'rsa1024' | 'p256' | 'p384' | 'ed25519'): string {
  const path = join(dir, `${name}.key`);
  const args =
    spec === 'rsa2048' || spec === 'rsa1024'
      ? ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${spec === 'rsa2048' ? 2048 : 1024}`]
      : spec === 'ed25519'
        ? ['-algorithm', 'ED25519']
        : ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${spec === 'p256' ? 'P-256' : 'P-384'}`];
  openssl(dir, ['genpkey', ...args, '-out', path]);
  return path;
}

/** A CA database for `openssl ca`, issuing with `signer` (cert and key). */
function caConfig(dir: string, name: string): string {
  const db = join(dir, `${name}-db`);
  mkdirSync(db, { recursive: true });
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'serial'), '1000\n');
  const conf = join(dir, `${name}.cnf`);
  writeFileSync(
    conf,
    `[ca]
default_ca = issuer
[issuer]
dir = ${db}
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = $dir
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
`,
  );
  return conf;
}

interface IssueOptions {
  subject: string;
  /** Extension lines for the certificate. */
  extensions: string[];
  /** Issuer cert and key; absent for a self-signed certificate. */
  issuer?: { cert: string; key: string };
  days?: number;
  startDate?: string;
  endDate?: string;
  md?: 'sha256' | 'sha1';
}

function issue(dir: string, conf: string, name: string, keyPath: string, o: IssueOptions): string {
  const csr = join(dir, `${name}.csr`);
  const out = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `[v3]\n${o.extensions.join('\n')}\n`);
  openssl(dir, ['req', '-new', '-key', keyPath, '-subj', o.subject, '-out', csr, '-config', conf]);
  const dates = o.startDate ? ['-startdate', o.startDate, '-enddate', o.endDate!] : ['-days', String(o.days ?? 3650)];
  const signer = o.issuer ? ['-cert', o.issuer.cert, '-keyfile', o.issuer.key] : ['-selfsign', '-keyfile', keyPath];
  openssl(dir, ['ca', '-batch', '-notext', '-preserveDN', '-config', conf, '-in', csr, '-out', out, '-extfile', ext, '-extensions', 'v3', '-md', o.md ?? 'sha256', ...dates, ...signer]);
  return out;
}

const CA_EXT = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash'];
const LEAF_EXT = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid', SUBJECT_ALT];

export function makeCertificates(dir: string): CertificateCorpus {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const p = (name: string) => join(dir, name);
  const corpus: CertificateCorpus = {
    dir,
    root: p('root.pem'),
    intermediate: p('intermediate.pem'),
    good: {
      rsa: { cert: p('leaf-rsa.pem'), key: p('leaf-rsa.key'), chain: p('intermediate.pem') },
      ecdsa256: { cert: p('leaf-p256.pem'), key: p('leaf-p256.key'), chain: p('intermediate.pem') },
      ecdsa384: { cert: p('leaf-p384.pem'), key: p('leaf-p384.key'), chain: p('intermediate.pem') },
      ed25519: { cert: p('leaf-ed25519.pem'), key: p('leaf-ed25519.key'), chain: p('intermediate.pem') },
    },
    bad: {
      expired: { cert: p('expired.pem'), key: p('expired.key'), chain: p('intermediate.pem') },
      notYetValid: { cert: p('not-yet-valid.pem'), key: p('not-yet-valid.key'), chain: p('intermediate.pem') },
      wrongHost: { cert: p('wrong-host.pem'), key: p('wrong-host.key'), chain: p('intermediate.pem') },
      selfSigned: { cert: p('self-signed.pem'), key: p('self-signed.key') },
      unknownRoot: { cert: p('unknown-root-leaf.pem'), key: p('unknown-root-leaf.key'), chain: p('unknown-root-chain.pem') },
      incompleteChain: { cert: p('leaf-p256.pem'), key: p('leaf-p256.key') },
      caWithoutBasicConstraints: { cert: p('under-no-bc.pem'), key: p('under-no-bc.key'), chain: p('no-bc-ca.pem') },
      leafAsCa: { cert: p('under-leaf.pem'), key: p('under-leaf.key'), chain: p('leaf-as-ca.pem') },
      nameConstraints: { cert: p('constrained-leaf.pem'), key: p('constrained-leaf.key'), chain: p('constrained-ca.pem') },
      sha1: { cert: p('sha1.pem'), key: p('sha1.key'), chain: p('intermediate.pem') },
      rsa1024: { cert: p('rsa1024.pem'), key: p('rsa1024.key'), chain: p('intermediate.pem') },
    },
    clientCa: p('client-ca.pem'),
    client: { ecdsa: { cert: p('client-p256.pem'), key: p('client-p256.key') }, rsa: { cert: p('client-rsa.pem'), key: p('client-rsa.key') } },
  };
  if (existsSync(p('done'))) return corpus;

  const conf = caConfig(dir, 'ca');
  const rootKey = key(dir, 'root', 'p256');
  issue(dir, conf, 'root', rootKey, { subject: '/O=Portolan TLS Engine Tests/CN=Portolan Test Root', extensions: CA_EXT });
  const root = { cert: p('root.pem'), key: rootKey };
  const interKey = key(dir, 'intermediate', 'p256');
  issue(dir, conf, 'intermediate', interKey, { subject: '/O=Portolan TLS Engine Tests/CN=Portolan Test Intermediate', issuer: root, extensions: ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign,cRLSign', 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid'] });
  const inter = { cert: p('intermediate.pem'), key: interKey };
  const leaf = (name: string, spec: Parameters<typeof key>[2], o: Partial<IssueOptions> = {}) =>
    issue(dir, conf, name, key(dir, name, spec), { subject: `/O=Portolan TLS Engine Tests/CN=${o.subject ?? 'localhost'}`, issuer: o.issuer ?? inter, extensions: o.extensions ?? LEAF_EXT, days: 3650, ...o, ...(o.subject ? { subject: `/O=Portolan TLS Engine Tests/CN=${o.subject}` } : {}) });

  leaf('leaf-rsa', 'rsa2048');
  leaf('leaf-p256', 'p256');
  leaf('leaf-p384', 'p384');
  leaf('leaf-ed25519', 'ed25519');

  leaf('expired', 'p256', { startDate: '200101000000Z', endDate: '210101000000Z' });
  leaf('not-yet-valid', 'p256', { startDate: '20900101000000Z', endDate: '20910101000000Z' });
  leaf('wrong-host', 'p256', { subject: 'other.portolan.test', extensions: [...LEAF_EXT.slice(0, -1), 'subjectAltName=DNS:other.portolan.test'] });
  leaf('sha1', 'p256', { md: 'sha1' });
  leaf('rsa1024', 'rsa1024');
  const selfKey = key(dir, 'self-signed', 'p256');
  issue(dir, conf, 'self-signed', selfKey, { subject: '/O=Portolan TLS Engine Tests/CN=localhost', extensions: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyCertSign', 'extendedKeyUsage=serverAuth', SUBJECT_ALT] });

  // A chain to a root nobody trusts: the server sends leaf, intermediate and that root.
  const otherRootKey = key(dir, 'unknown-root', 'p256');
  issue(dir, conf, 'unknown-root', otherRootKey, { subject: '/O=Somebody Else/CN=Untrusted Root', extensions: CA_EXT });
  const otherInterKey = key(dir, 'unknown-intermediate', 'p256');
  issue(dir, conf, 'unknown-intermediate', otherInterKey, { subject: '/O=Somebody Else/CN=Untrusted Intermediate', issuer: { cert: p('unknown-root.pem'), key: otherRootKey }, extensions: CA_EXT });
  leaf('unknown-root-leaf', 'p256', { issuer: { cert: p('unknown-intermediate.pem'), key: otherInterKey } });
  writeFileSync(p('unknown-root-chain.pem'), readFileSync(p('unknown-intermediate.pem'), 'utf8') + readFileSync(p('unknown-root.pem'), 'utf8'));

  // An intermediate with no basic constraints at all (key usage says it signs certificates), issued by the root.
  const noBcKey = key(dir, 'no-bc-ca', 'p256');
  issue(dir, conf, 'no-bc-ca', noBcKey, { subject: '/O=Portolan TLS Engine Tests/CN=CA Without Basic Constraints', issuer: root, extensions: ['keyUsage=critical,keyCertSign,digitalSignature', 'subjectKeyIdentifier=hash'] });
  leaf('under-no-bc', 'p256', { issuer: { cert: p('no-bc-ca.pem'), key: noBcKey } });

  // An end-entity certificate (CA:FALSE) from the root, used to sign another.
  const eeKey = key(dir, 'leaf-as-ca', 'p256');
  issue(dir, conf, 'leaf-as-ca', eeKey, { subject: '/O=Portolan TLS Engine Tests/CN=An End Entity', issuer: root, extensions: ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyCertSign', 'subjectKeyIdentifier=hash'] });
  leaf('under-leaf', 'p256', { issuer: { cert: p('leaf-as-ca.pem'), key: eeKey } });

  // An intermediate permitted only names under allowed.portolan.test, issuing for localhost.
  const ncKey = key(dir, 'constrained-ca', 'p256');
  issue(dir, conf, 'constrained-ca', ncKey, { subject: '/O=Portolan TLS Engine Tests/CN=Constrained CA', issuer: root, extensions: [...CA_EXT, 'nameConstraints=critical,permitted;DNS:allowed.portolan.test'] });
  leaf('constrained-leaf', 'p256', { issuer: { cert: p('constrained-ca.pem'), key: ncKey } });

  // Client certificates from their own CA.
  const clientCaKey = key(dir, 'client-ca', 'p256');
  issue(dir, conf, 'client-ca', clientCaKey, { subject: '/O=Portolan TLS Engine Tests/CN=Portolan Client CA', extensions: CA_EXT });
  const clientExt = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'];
  leaf('client-p256', 'p256', { subject: 'portolan-client-ecdsa', issuer: { cert: p('client-ca.pem'), key: clientCaKey }, extensions: clientExt });
  leaf('client-rsa', 'rsa2048', { subject: 'portolan-client-rsa', issuer: { cert: p('client-ca.pem'), key: clientCaKey }, extensions: clientExt });

  writeFileSync(p('done'), new Date().toISOString());
  return corpus;
}
