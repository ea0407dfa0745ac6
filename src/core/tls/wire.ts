// TLS registry values (RFC 8446 §4 and §B, RFC 5246 §7.4 and §A, IANA TLS parameters): content types,
// handshake types, extensions, cipher suites, groups, signature schemes and alerts, with their names.

export const ContentType = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;

export const HandshakeType = {
  helloRequest: 0,
  clientHello: 1,
  serverHello: 2,
  newSessionTicket: 4,
  endOfEarlyData: 5,
  encryptedExtensions: 8,
  certificate: 11,
  serverKeyExchange: 12,
  certificateRequest: 13,
  serverHelloDone: 14,
  certificateVerify: 15,
  clientKeyExchange: 16,
  finished: 20,
  keyUpdate: 24,
  messageHash: 254,
} as const;

const HANDSHAKE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(HandshakeType).map(([k, v]) => [v, k[0].toUpperCase() + k.slice(1)]),
);

export function handshakeName(type: number): string {
  return HANDSHAKE_NAMES[type] ?? `handshake type ${type}`;
}

export const ExtensionType = {
  serverName: 0,
  maxFragmentLength: 1,
  statusRequest: 5,
  supportedGroups: 10,
  ecPointFormats: 11,
  signatureAlgorithms: 13,
  alpn: 16,
  signedCertificateTimestamp: 18,
  padding: 21,
  encryptThenMac: 22,
  extendedMasterSecret: 23,
  recordSizeLimit: 28,
  sessionTicket: 35,
  preSharedKey: 41,
  earlyData: 42,
  supportedVersions: 43,
  cookie: 44,
  pskKeyExchangeModes: 45,
  certificateAuthorities: 47,
  postHandshakeAuth: 49,
  signatureAlgorithmsCert: 50,
  keyShare: 51,
  renegotiationInfo: 0xff01,
} as const;

const EXTENSION_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ExtensionType).map(([k, v]) => [v, k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]));

export function extensionName(type: number): string {
  return EXTENSION_NAMES[type] ?? `extension ${type}`;
}

export const TLS12 = 0x0303;
export const TLS13 = 0x0304;

export type TlsVersionId = typeof TLS12 | typeof TLS13;

export function versionName(v: number): string {
  switch (v) {
    case 0x0300:
      return 'SSLv3';
    case 0x0301:
      return 'TLSv1';
    case 0x0302:
      return 'TLSv1.1';
    case TLS12:
      return 'TLSv1.2';
    case TLS13:
      return 'TLSv1.3';
    default:
      return `version 0x${v.toString(16).padStart(4, '0')}`;
  }
}

export type AeadName = 'AES-128-GCM' | 'AES-256-GCM' | 'CHACHA20-POLY1305';
export type HashAlgorithm = 'SHA-256' | 'SHA-384';

export interface CipherSuite {
  id: number;
  /** The IANA name. */
  name: string;
  /** OpenSSL's name, which the Node host reports too. */
  openssl: string;
  version: TlsVersionId;
  aead: AeadName;
  keyLength: 16 | 32;
  hash: HashAlgorithm;
  /** TLS 1.2: the key exchange and the server key type it authenticates with. */
  kx?: 'ECDHE-ECDSA' | 'ECDHE-RSA';
}

/** Every suite the engine implements, in the order it prefers them. */
export const CIPHER_SUITES: readonly CipherSuite[] = [
  { id: 0x1301, name: 'TLS_AES_128_GCM_SHA256', openssl: 'TLS_AES_128_GCM_SHA256', version: TLS13, aead: 'AES-128-GCM', keyLength: 16, hash: 'SHA-256' },
  { id: 0x1302, name: 'TLS_AES_256_GCM_SHA384', openssl: 'TLS_AES_256_GCM_SHA384', version: TLS13, aead: 'AES-256-GCM', keyLength: 32, hash: 'SHA-384' },
  { id: 0x1303, name: 'TLS_CHACHA20_POLY1305_SHA256', openssl: 'TLS_CHACHA20_POLY1305_SHA256', version: TLS13, aead: 'CHACHA20-POLY1305', keyLength: 32, hash: 'SHA-256' },
  { id: 0xc02b, name: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', openssl: 'ECDHE-ECDSA-AES128-GCM-SHA256', version: TLS12, aead: 'AES-128-GCM', keyLength: 16, hash: 'SHA-256', kx: 'ECDHE-ECDSA' },
  { id: 0xc02f, name: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', openssl: 'ECDHE-RSA-AES128-GCM-SHA256', version: TLS12, aead: 'AES-128-GCM', keyLength: 16, hash: 'SHA-256', kx: 'ECDHE-RSA' },
  { id: 0xc02c, name: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', openssl: 'ECDHE-ECDSA-AES256-GCM-SHA384', version: TLS12, aead: 'AES-256-GCM', keyLength: 32, hash: 'SHA-384', kx: 'ECDHE-ECDSA' },
  { id: 0xc030, name: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', openssl: 'ECDHE-RSA-AES256-GCM-SHA384', version: TLS12, aead: 'AES-256-GCM', keyLength: 32, hash: 'SHA-384', kx: 'ECDHE-RSA' },
  { id: 0xcca9, name: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', openssl: 'ECDHE-ECDSA-CHACHA20-POLY1305', version: TLS12, aead: 'CHACHA20-POLY1305', keyLength: 32, hash: 'SHA-256', kx: 'ECDHE-ECDSA' },
  { id: 0xcca8, name: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', openssl: 'ECDHE-RSA-CHACHA20-POLY1305', version: TLS12, aead: 'CHACHA20-POLY1305', keyLength: 32, hash: 'SHA-256', kx: 'ECDHE-RSA' },
];

const SUITES_BY_ID = new Map(CIPHER_SUITES.map((s) => [s.id, s]));

export function cipherSuite(id: number): CipherSuite | undefined {
  return SUITES_BY_ID.get(id);
}

/** A suite's IANA name, also for suites the engine does not implement (shown in transcripts). */
export function cipherSuiteName(id: number): string {
  return SUITES_BY_ID.get(id)?.name ?? `0x${id.toString(16).padStart(4, '0')}`;
}

/** Renegotiation indication as a cipher suite (RFC 5746 §3.3); never chosen by a server. */
export const TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;

export type GroupName = 'x25519' | 'secp256r1' | 'secp384r1';

/** Named groups (RFC 8446 §4.2.7, RFC 8422 §5.1.1) the engine implements, in the order it prefers them. */
export const GROUPS: readonly { id: number; name: GroupName }[] = [
  { id: 0x001d, name: 'x25519' },
  { id: 0x0017, name: 'secp256r1' },
  { id: 0x0018, name: 'secp384r1' },
];

const GROUP_NAMES: Record<number, string> = { 0x0019: 'secp521r1', 0x001e: 'x448', 0x0100: 'ffdhe2048', 0x0101: 'ffdhe3072', 0x11ec: 'X25519MLKEM768', ...Object.fromEntries(GROUPS.map((g) => [g.id, g.name])) };

export function groupName(id: number): string {
  return GROUP_NAMES[id] ?? `group 0x${id.toString(16).padStart(4, '0')}`;
}

export function groupById(id: number): GroupName | undefined {
  return GROUPS.find((g) => g.id === id)?.name;
}

export type SignatureKind = 'rsa_pkcs1' | 'rsa_pss_rsae' | 'ecdsa' | 'ed25519';

export interface SignatureScheme {
  id: number;
  name: string;
  kind: SignatureKind;
  hash: 'SHA-256' | 'SHA-384' | 'SHA-512' | null;
  /** ECDSA in TLS 1.3 names its curve. */
  curve?: 'P-256' | 'P-384' | 'P-521';
}

/** Signature schemes (RFC 8446 §4.2.3) the engine verifies, in the order it prefers them. SHA-1 is not among them. */
export const SIGNATURE_SCHEMES: readonly SignatureScheme[] = [
  { id: 0x0403, name: 'ecdsa_secp256r1_sha256', kind: 'ecdsa', hash: 'SHA-256', curve: 'P-256' },
  { id: 0x0503, name: 'ecdsa_secp384r1_sha384', kind: 'ecdsa', hash: 'SHA-384', curve: 'P-384' },
  { id: 0x0603, name: 'ecdsa_secp521r1_sha512', kind: 'ecdsa', hash: 'SHA-512', curve: 'P-521' },
  { id: 0x0807, name: 'ed25519', kind: 'ed25519', hash: null },
  { id: 0x0804, name: 'rsa_pss_rsae_sha256', kind: 'rsa_pss_rsae', hash: 'SHA-256' },
  { id: 0x0805, name: 'rsa_pss_rsae_sha384', kind: 'rsa_pss_rsae', hash: 'SHA-384' },
  { id: 0x0806, name: 'rsa_pss_rsae_sha512', kind: 'rsa_pss_rsae', hash: 'SHA-512' },
  { id: 0x0401, name: 'rsa_pkcs1_sha256', kind: 'rsa_pkcs1', hash: 'SHA-256' },
  { id: 0x0501, name: 'rsa_pkcs1_sha384', kind: 'rsa_pkcs1', hash: 'SHA-384' },
  { id: 0x0601, name: 'rsa_pkcs1_sha512', kind: 'rsa_pkcs1', hash: 'SHA-512' },
];

const SCHEMES_BY_ID = new Map(SIGNATURE_SCHEMES.map((s) => [s.id, s]));
const SCHEME_NAMES: Record<number, string> = { 0x0201: 'rsa_pkcs1_sha1', 0x0203: 'ecdsa_sha1', 0x0808: 'ed448', 0x0809: 'rsa_pss_pss_sha256', 0x080a: 'rsa_pss_pss_sha384', 0x080b: 'rsa_pss_pss_sha512' };

export function signatureScheme(id: number): SignatureScheme | undefined {
  return SCHEMES_BY_ID.get(id);
}

export function signatureSchemeName(id: number): string {
  return SCHEMES_BY_ID.get(id)?.name ?? SCHEME_NAMES[id] ?? `0x${id.toString(16).padStart(4, '0')}`;
}

/** Alert descriptions (RFC 8446 §6, RFC 5246 §7.2). */
export const AlertDescription = {
  closeNotify: 0,
  unexpectedMessage: 10,
  badRecordMac: 20,
  recordOverflow: 22,
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateRevoked: 44,
  certificateExpired: 45,
  certificateUnknown: 46,
  illegalParameter: 47,
  unknownCa: 48,
  accessDenied: 49,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  insufficientSecurity: 71,
  internalError: 80,
  inappropriateFallback: 86,
  userCanceled: 90,
  noRenegotiation: 100,
  missingExtension: 109,
  unsupportedExtension: 110,
  unrecognizedName: 112,
  badCertificateStatusResponse: 113,
  unknownPskIdentity: 115,
  certificateRequired: 116,
  noApplicationProtocol: 120,
} as const;

const ALERT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(AlertDescription).map(([k, v]) => [v, k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]));

export function alertName(code: number): string {
  return ALERT_NAMES[code] ?? `alert ${code}`;
}

/** RFC 8446 §4.1.3: ServerHello.random of a HelloRetryRequest, SHA-256("HelloRetryRequest"). */
export const HELLO_RETRY_RANDOM = Uint8Array.from([
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
]);

/** RFC 8446 §4.1.3: the last 8 bytes of ServerHello.random from a TLS 1.3 server negotiating 1.2 ("DOWNGRD" 01) or lower (00). */
export const DOWNGRADE_TLS12 = Uint8Array.from([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01]);
export const DOWNGRADE_TLS11 = Uint8Array.from([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x00]);

/** RFC 8446 §5.1: TLSPlaintext.length never exceeds 2^14; §5.2: TLSCiphertext 2^14 + 256; RFC 5246 §6.2.3: 2^14 + 2048. */
export const MAX_PLAINTEXT = 16384;
export const MAX_CIPHERTEXT_13 = 16384 + 256;
export const MAX_CIPHERTEXT_12 = 16384 + 2048;
