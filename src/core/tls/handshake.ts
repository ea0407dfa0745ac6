// The TLS handshake codec: message framing (RFC 8446 §4, RFC 5246 §7.4), the ClientHello we send with its
// extensions (§4.1.2, §4.2), and the server's messages in both versions: ServerHello and HelloRetryRequest (§4.1.3–4),
// EncryptedExtensions (§4.3.1), CertificateRequest (§4.3.2; RFC 5246 §7.4.4), Certificate (§4.4.2; RFC 5246 §7.4.2),
// CertificateVerify (§4.4.3), Finished (§4.4.4), NewSessionTicket (§4.6.1; RFC 5077 §3.3), KeyUpdate (§4.6.3),
// ServerKeyExchange for ECDHE (RFC 8422 §5.4) and ServerHelloDone; and what the client sends back.
//
// How it works: `handshakeFrame` cuts whole handshake messages out of the handshake byte stream (which records may
// split or coalesce), capping each at MAX_HANDSHAKE. Each `decode*` reads one message body with a ByteReader and
// throws ProtocolError naming the field, with `detail.alert` set to decode_error or illegal_parameter; every list is
// capped. `describe*` give the one-line reading the transcript shows. Nothing here holds a key.
import { ByteReader, ByteWriter, fromLatin1, isPrintableAscii, toHex, utf8 } from '../bytes.ts';
import type { Frame } from '../conn.ts';
import { ProtocolError } from '../errors.ts';
import {
  AlertDescription,
  ExtensionType,
  HELLO_RETRY_RANDOM,
  cipherSuiteName,
  extensionName,
  groupName,
  handshakeName,
  signatureSchemeName,
  versionName,
} from './wire.ts';

/** The largest handshake message accepted: a certificate chain of some 100 KB fits (OpenSSL's default is 100 KiB). */
export const MAX_HANDSHAKE = 128 * 1024;
const MAX_LIST = 1024;
const MAX_CERTIFICATES = 16;

export interface HandshakeMessage {
  type: number;
  body: Uint8Array;
  /** Header and body as they travelled: what the transcript hash covers. */
  raw: Uint8Array;
}

const decodeError = (message: string) => new ProtocolError(message, { alert: AlertDescription.decodeError });
const illegal = (message: string) => new ProtocolError(message, { alert: AlertDescription.illegalParameter });

export const handshakeFrame: Frame<HandshakeMessage> = (buf) => {
  if (buf.length < 4) return undefined;
  const length = (buf[1] << 16) | (buf[2] << 8) | buf[3];
  if (length > MAX_HANDSHAKE) throw decodeError(`${handshakeName(buf[0])} of ${length} bytes exceeds the ${MAX_HANDSHAKE}-byte limit`);
  if (buf.length < 4 + length) return undefined;
  const raw = buf.slice(0, 4 + length);
  return { value: { type: buf[0], body: raw.subarray(4), raw }, size: 4 + length };
};

/** A handshake message with its 4-byte header. */
export function handshakeMessage(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out[0] = type;
  out[1] = body.length >> 16;
  out[2] = (body.length >> 8) & 0xff;
  out[3] = body.length & 0xff;
  out.set(body, 4);
  return out;
}

// Extensions

export interface Extension {
  type: number;
  data: Uint8Array;
}

/** An extensions block: `u16` total length, then type/length/data entries; at most one of each type (§4.2). */
export function decodeExtensions(r: ByteReader, what: string): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  if (r.done) return out;
  const block = new ByteReader(r.lengthPrefixed('u16', `${what} extensions`));
  while (!block.done) {
    const type = block.u16(`${what} extension type`);
    const data = block.lengthPrefixed('u16', `${what} ${extensionName(type)}`);
    if (out.has(type)) throw illegal(`${what} carries ${extensionName(type)} twice (RFC 8446 §4.2)`);
    out.set(type, data);
    if (out.size > 64) throw decodeError(`${what} carries more than 64 extensions`);
  }
  return out;
}

function u16List(data: Uint8Array, what: string, prefix: 'u8' | 'u16' = 'u16'): number[] {
  const r = new ByteReader(data);
  const list = new ByteReader(r.lengthPrefixed(prefix, what));
  if (!r.done) throw decodeError(`${what}: bytes after the list`);
  return u16Items(list, what);
}

/** The rest of a reader as u16 values. */
function u16Items(list: ByteReader, what: string): number[] {
  if (list.remaining % 2 !== 0) throw decodeError(`${what}: odd length`);
  if (list.remaining > 2 * MAX_LIST) throw decodeError(`${what}: more than ${MAX_LIST} entries`);
  const out: number[] = [];
  while (!list.done) out.push(list.u16(what));
  return out;
}

function alpnList(data: Uint8Array, what: string): string[] {
  const r = new ByteReader(data);
  const list = new ByteReader(r.lengthPrefixed('u16', what));
  if (!r.done) throw decodeError(`${what}: bytes after the list`);
  const out: string[] = [];
  while (!list.done) {
    const name = list.lengthPrefixed('u8', `${what} protocol name`);
    if (name.length === 0) throw decodeError(`${what}: an empty protocol name (RFC 7301 §3.1)`);
    out.push(fromLatin1(name));
    if (out.length > MAX_LIST) throw decodeError(`${what}: more than ${MAX_LIST} names`);
  }
  return out;
}

// ClientHello

export interface ClientHelloParams {
  random: Uint8Array;
  /** 32 random bytes for TLS 1.3 middlebox compatibility (§D.4), or a TLS 1.2 session id to resume. */
  sessionId: Uint8Array;
  cipherSuites: readonly number[];
  /** A DNS name for server_name (RFC 6066 §3: never an IP literal). */
  serverName?: string;
  groups: readonly number[];
  keyShares: readonly { group: number; key: Uint8Array }[];
  signatureSchemes: readonly number[];
  alpn?: readonly string[];
  /** supported_versions (§4.2.1), highest first; absent when offering TLS 1.2 alone. */
  versions?: readonly number[];
  /** TLS 1.2 offered: ec_point_formats, extended_master_secret, renegotiation_info. */
  tls12: boolean;
  /** A HelloRetryRequest cookie to echo (§4.2.2). */
  cookie?: Uint8Array;
  /** record_size_limit (RFC 8449 §4). */
  recordSizeLimit?: number;
  /** session_ticket (RFC 5077 §3.2): empty to ask for one, or the ticket to resume with. */
  sessionTicket?: Uint8Array;
  /** TLS 1.3 PSK resumption: the identities offered; binders are filled in by `patchBinders`. */
  psk?: { identity: Uint8Array; obfuscatedAge: number; binderLength: number }[];
}

/** The ClientHello body; with a PSK the binders are zeros until `patchBinders` writes them. */
export function encodeClientHello(p: ClientHelloParams): Uint8Array {
  const w = new ByteWriter(512);
  w.u16(0x0303).bytes(p.random);
  w.lengthPrefixed('u8', p.sessionId);
  const suites = w.lengthAt('u16');
  for (const s of p.cipherSuites) w.u16(s);
  suites();
  w.u8(1).u8(0); // legacy_compression_methods: null only
  const exts = w.lengthAt('u16');
  const ext = (type: number, body: (w: ByteWriter) => void) => {
    w.u16(type);
    const len = w.lengthAt('u16');
    body(w);
    len();
  };
  if (p.serverName) {
    ext(ExtensionType.serverName, (w) => {
      const list = w.lengthAt('u16');
      w.u8(0).lengthPrefixed('u16', utf8(p.serverName!));
      list();
    });
  }
  if (p.tls12) {
    ext(ExtensionType.ecPointFormats, (w) => w.u8(1).u8(0));
    ext(ExtensionType.extendedMasterSecret, () => {});
    ext(ExtensionType.renegotiationInfo, (w) => w.u8(0));
    if (p.sessionTicket) ext(ExtensionType.sessionTicket, (w) => w.bytes(p.sessionTicket!));
  }
  ext(ExtensionType.supportedGroups, (w) => {
    const list = w.lengthAt('u16');
    for (const g of p.groups) w.u16(g);
    list();
  });
  ext(ExtensionType.signatureAlgorithms, (w) => {
    const list = w.lengthAt('u16');
    for (const s of p.signatureSchemes) w.u16(s);
    list();
  });
  if (p.alpn?.length) {
    ext(ExtensionType.alpn, (w) => {
      const list = w.lengthAt('u16');
      for (const name of p.alpn!) w.lengthPrefixed('u8', utf8(name));
      list();
    });
  }
  if (p.recordSizeLimit) ext(ExtensionType.recordSizeLimit, (w) => w.u16(p.recordSizeLimit!));
  if (p.versions?.length) {
    ext(ExtensionType.supportedVersions, (w) => {
      const list = w.lengthAt('u8');
      for (const v of p.versions!) w.u16(v);
      list();
    });
    if (p.cookie) ext(ExtensionType.cookie, (w) => w.lengthPrefixed('u16', p.cookie!));
    ext(ExtensionType.pskKeyExchangeModes, (w) => w.u8(1).u8(1)); // psk_dhe_ke only
    ext(ExtensionType.keyShare, (w) => {
      const list = w.lengthAt('u16');
      for (const k of p.keyShares) w.u16(k.group).lengthPrefixed('u16', k.key);
      list();
    });
  }
  // pre_shared_key comes last (§4.2.11).
  if (p.psk?.length) {
    ext(ExtensionType.preSharedKey, (w) => {
      const ids = w.lengthAt('u16');
      for (const id of p.psk!) w.lengthPrefixed('u16', id.identity).u32(id.obfuscatedAge >>> 0);
      ids();
      const binders = w.lengthAt('u16');
      for (const id of p.psk!) w.lengthPrefixed('u8', new Uint8Array(id.binderLength));
      binders();
    });
  }
  exts();
  return w.finish();
}

/** A ClientHello as a server reads it (tests and the transcript of a relayed handshake). */
export interface ClientHello {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuites: number[];
  extensions: Map<number, Uint8Array>;
  serverName?: string;
  groups: number[];
  keyShares: { group: number; key: Uint8Array }[];
  signatureSchemes: number[];
  alpn: string[];
  versions: number[];
}

export function decodeClientHello(body: Uint8Array): ClientHello {
  const r = new ByteReader(body);
  const legacyVersion = r.u16('ClientHello version');
  const random = r.bytesN(32, 'ClientHello random').slice();
  const sessionId = r.lengthPrefixed('u8', 'ClientHello session id', 32).slice();
  const cipherSuites = u16Items(new ByteReader(r.lengthPrefixed('u16', 'ClientHello cipher suites')), 'ClientHello cipher suites');
  const compression = r.lengthPrefixed('u8', 'ClientHello compression methods');
  if (!compression.includes(0)) throw illegal('ClientHello without the null compression method');
  const extensions = decodeExtensions(r, 'ClientHello');
  if (!r.done) throw decodeError('ClientHello: bytes after the extensions');
  const out: ClientHello = { legacyVersion, random, sessionId, cipherSuites, extensions, groups: [], keyShares: [], signatureSchemes: [], alpn: [], versions: [] };
  const sni = extensions.get(ExtensionType.serverName);
  if (sni) {
    const list = new ByteReader(new ByteReader(sni).lengthPrefixed('u16', 'server_name list'));
    if (list.u8('server_name type') === 0) out.serverName = fromLatin1(list.lengthPrefixed('u16', 'host_name', 255));
  }
  const groups = extensions.get(ExtensionType.supportedGroups);
  if (groups) out.groups = u16List(groups, 'supported_groups');
  const sa = extensions.get(ExtensionType.signatureAlgorithms);
  if (sa) out.signatureSchemes = u16List(sa, 'signature_algorithms');
  const alpn = extensions.get(ExtensionType.alpn);
  if (alpn) out.alpn = alpnList(alpn, 'ALPN');
  const sv = extensions.get(ExtensionType.supportedVersions);
  if (sv) out.versions = u16List(sv, 'supported_versions', 'u8');
  const ks = extensions.get(ExtensionType.keyShare);
  if (ks) {
    const list = new ByteReader(new ByteReader(ks).lengthPrefixed('u16', 'key_share list'));
    while (!list.done) {
      out.keyShares.push({ group: list.u16('key_share group'), key: list.lengthPrefixed('u16', 'key_share key', 1024).slice() });
      if (out.keyShares.length > 16) throw decodeError('key_share: more than 16 shares');
    }
  }
  return out;
}

/** Bytes the binders take at the end of a ClientHello: their u16 list length and each u8-prefixed binder (§4.2.11.2). */
export function bindersLength(binderLengths: readonly number[]): number {
  return 2 + binderLengths.reduce((n, l) => n + 1 + l, 0);
}

/** Writes the binders into the last bytes of a ClientHello message (header included). */
export function patchBinders(message: Uint8Array, binders: readonly Uint8Array[]): void {
  let at = message.length - bindersLength(binders.map((b) => b.length)) + 2;
  for (const b of binders) {
    message[at] = b.length;
    message.set(b, at + 1);
    at += 1 + b.length;
  }
}

// ServerHello and HelloRetryRequest

export interface ServerHello {
  /** True for a HelloRetryRequest (§4.1.4: ServerHello with the special random). */
  retry: boolean;
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuite: number;
  compression: number;
  extensions: Map<number, Uint8Array>;
  /** supported_versions, when present (TLS 1.3). */
  selectedVersion?: number;
  /** key_share: the server's share, or for HelloRetryRequest the group it wants. */
  keyShare?: { group: number; key?: Uint8Array };
  cookie?: Uint8Array;
  /** pre_shared_key: the identity the server accepted. */
  selectedIdentity?: number;
}

export function decodeServerHello(body: Uint8Array): ServerHello {
  const r = new ByteReader(body);
  const legacyVersion = r.u16('ServerHello version');
  const random = r.bytesN(32, 'ServerHello random').slice();
  const retry = random.every((b, i) => b === HELLO_RETRY_RANDOM[i]);
  const what = retry ? 'HelloRetryRequest' : 'ServerHello';
  const sessionId = r.lengthPrefixed('u8', `${what} session id`, 32).slice();
  const cipherSuite = r.u16(`${what} cipher suite`);
  const compression = r.u8(`${what} compression method`);
  const extensions = decodeExtensions(r, what);
  if (!r.done) throw decodeError(`${what}: ${r.remaining} bytes after the extensions`);
  const sh: ServerHello = { retry, legacyVersion, random, sessionId, cipherSuite, compression, extensions };
  const sv = extensions.get(ExtensionType.supportedVersions);
  if (sv) {
    if (sv.length !== 2) throw decodeError(`${what} supported_versions: ${sv.length} bytes, not 2`);
    sh.selectedVersion = (sv[0] << 8) | sv[1];
  }
  const ks = extensions.get(ExtensionType.keyShare);
  if (ks) {
    const kr = new ByteReader(ks);
    const group = kr.u16(`${what} key_share group`);
    sh.keyShare = retry ? { group } : { group, key: kr.lengthPrefixed('u16', `${what} key_share key`, 1024).slice() };
    if (!kr.done) throw decodeError(`${what} key_share: bytes after the share`);
  }
  const cookie = extensions.get(ExtensionType.cookie);
  if (cookie) {
    const cr = new ByteReader(cookie);
    sh.cookie = cr.lengthPrefixed('u16', 'HelloRetryRequest cookie').slice();
    if (sh.cookie.length === 0) throw decodeError('HelloRetryRequest cookie is empty (RFC 8446 §4.2.2)');
  }
  const psk = extensions.get(ExtensionType.preSharedKey);
  if (psk) {
    if (psk.length !== 2) throw decodeError(`${what} pre_shared_key: ${psk.length} bytes, not 2`);
    sh.selectedIdentity = (psk[0] << 8) | psk[1];
  }
  return sh;
}

// EncryptedExtensions

export interface EncryptedExtensions {
  extensions: Map<number, Uint8Array>;
  alpn?: string;
  recordSizeLimit?: number;
}

export function decodeEncryptedExtensions(body: Uint8Array): EncryptedExtensions {
  const r = new ByteReader(body);
  const extensions = decodeExtensions(r, 'EncryptedExtensions');
  if (!r.done) throw decodeError('EncryptedExtensions: bytes after the extensions');
  const out: EncryptedExtensions = { extensions };
  const alpn = extensions.get(ExtensionType.alpn);
  if (alpn) out.alpn = singleAlpn(alpn);
  const rsl = extensions.get(ExtensionType.recordSizeLimit);
  if (rsl) out.recordSizeLimit = recordSizeLimit(rsl);
  return out;
}

/** RFC 7301 §3.1: the server's ALPN answer names exactly one protocol. */
export function singleAlpn(data: Uint8Array): string {
  const names = alpnList(data, 'ALPN');
  if (names.length !== 1) throw illegal(`the server's ALPN answer names ${names.length} protocols, not one (RFC 7301 §3.1)`);
  return names[0];
}

/** RFC 8449 §4: a limit below 64 is illegal_parameter. */
export function recordSizeLimit(data: Uint8Array): number {
  if (data.length !== 2) throw decodeError(`record_size_limit: ${data.length} bytes, not 2`);
  const v = (data[0] << 8) | data[1];
  if (v < 64) throw illegal(`record_size_limit ${v} is below 64 (RFC 8449 §4)`);
  return v;
}

// CertificateRequest

export interface CertificateRequest {
  /** TLS 1.3: the certificate_request_context to echo. */
  context: Uint8Array;
  signatureSchemes: number[];
  /** TLS 1.2: ClientCertificateType values (rsa_sign 1, ecdsa_sign 64). */
  certificateTypes?: number[];
  /** Distinguished names of the CAs the server accepts (DER), when it lists them. */
  authorities: Uint8Array[];
}

export function decodeCertificateRequest13(body: Uint8Array): CertificateRequest {
  const r = new ByteReader(body);
  const context = r.lengthPrefixed('u8', 'CertificateRequest context').slice();
  const extensions = decodeExtensions(r, 'CertificateRequest');
  if (!r.done) throw decodeError('CertificateRequest: bytes after the extensions');
  const sa = extensions.get(ExtensionType.signatureAlgorithms);
  if (!sa) throw new ProtocolError('CertificateRequest without signature_algorithms (RFC 8446 §4.3.2)', { alert: AlertDescription.missingExtension });
  const ca = extensions.get(ExtensionType.certificateAuthorities);
  return { context, signatureSchemes: u16List(sa, 'CertificateRequest signature_algorithms'), authorities: ca ? distinguishedNames(ca, 'certificate_authorities') : [] };
}

export function decodeCertificateRequest12(body: Uint8Array): CertificateRequest {
  const r = new ByteReader(body);
  const types = [...r.lengthPrefixed('u8', 'CertificateRequest certificate types')];
  const signatureSchemes = u16Items(new ByteReader(r.lengthPrefixed('u16', 'CertificateRequest signature algorithms')), 'CertificateRequest signature algorithms');
  const authorities = distinguishedNames(r.rest(), 'CertificateRequest authorities');
  return { context: new Uint8Array(0), signatureSchemes, certificateTypes: types, authorities };
}

function distinguishedNames(data: Uint8Array, what: string): Uint8Array[] {
  const r = new ByteReader(data);
  const list = new ByteReader(r.lengthPrefixed('u16', what));
  const out: Uint8Array[] = [];
  while (!list.done) {
    out.push(list.lengthPrefixed('u16', `${what} name`).slice());
    if (out.length > 256) throw decodeError(`${what}: more than 256 names`);
  }
  return out;
}

// Certificate

export interface CertificateMessage {
  context: Uint8Array;
  /** DER certificates, the end-entity first. */
  certificates: Uint8Array[];
}

export function decodeCertificate(body: Uint8Array, tls13: boolean): CertificateMessage {
  const r = new ByteReader(body);
  const context = tls13 ? r.lengthPrefixed('u8', 'Certificate context').slice() : new Uint8Array(0);
  const length = r.u24('Certificate list length');
  const list = new ByteReader(r.bytesN(length, 'Certificate list'));
  if (!r.done) throw decodeError('Certificate: bytes after the list');
  const certificates: Uint8Array[] = [];
  while (!list.done) {
    const n = list.u24('certificate length');
    if (n === 0) throw decodeError('Certificate: an empty certificate entry');
    certificates.push(list.bytesN(n, 'certificate').slice());
    if (tls13) decodeExtensions(list, 'CertificateEntry');
    if (certificates.length > MAX_CERTIFICATES) throw decodeError(`Certificate: more than ${MAX_CERTIFICATES} certificates`);
  }
  return { context, certificates };
}

export function encodeCertificate(certificates: readonly Uint8Array[], tls13: boolean, context: Uint8Array = new Uint8Array(0)): Uint8Array {
  const w = new ByteWriter(1024);
  if (tls13) w.lengthPrefixed('u8', context);
  const list = w.lengthAt('u24');
  for (const c of certificates) {
    const len = w.lengthAt('u24');
    w.bytes(c);
    len();
    if (tls13) w.u16(0);
  }
  list();
  return w.finish();
}

// CertificateVerify (1.3, and 1.2's client CertificateVerify with its algorithm)

export interface SignedData {
  scheme: number;
  signature: Uint8Array;
}

export function decodeSigned(r: ByteReader, what: string): SignedData {
  const scheme = r.u16(`${what} signature algorithm`);
  const signature = r.lengthPrefixed('u16', `${what} signature`, 4096).slice();
  return { scheme, signature };
}

export function decodeCertificateVerify(body: Uint8Array): SignedData {
  const r = new ByteReader(body);
  const out = decodeSigned(r, 'CertificateVerify');
  if (!r.done) throw decodeError('CertificateVerify: bytes after the signature');
  return out;
}

export function encodeSigned(s: SignedData): Uint8Array {
  return new ByteWriter(s.signature.length + 4).u16(s.scheme).lengthPrefixed('u16', s.signature).finish();
}

// NewSessionTicket

export interface NewSessionTicket13 {
  lifetime: number;
  ageAdd: number;
  nonce: Uint8Array;
  ticket: Uint8Array;
  maxEarlyData?: number;
}

export function decodeNewSessionTicket13(body: Uint8Array): NewSessionTicket13 {
  const r = new ByteReader(body);
  const lifetime = r.u32('NewSessionTicket lifetime');
  const ageAdd = r.u32('NewSessionTicket age_add');
  const nonce = r.lengthPrefixed('u8', 'NewSessionTicket nonce').slice();
  const ticket = r.lengthPrefixed('u16', 'NewSessionTicket ticket').slice();
  if (ticket.length === 0) throw decodeError('NewSessionTicket with an empty ticket');
  const extensions = decodeExtensions(r, 'NewSessionTicket');
  if (!r.done) throw decodeError('NewSessionTicket: bytes after the extensions');
  // §4.6.1: lifetime above seven days is illegal.
  if (lifetime > 604800) throw illegal(`NewSessionTicket lifetime ${lifetime} s is over seven days (RFC 8446 §4.6.1)`);
  const ed = extensions.get(ExtensionType.earlyData);
  return { lifetime, ageAdd, nonce, ticket, maxEarlyData: ed && ed.length === 4 ? new ByteReader(ed).u32() : undefined };
}

export function decodeNewSessionTicket12(body: Uint8Array): { lifetime: number; ticket: Uint8Array } {
  const r = new ByteReader(body);
  const lifetime = r.u32('NewSessionTicket lifetime hint');
  const ticket = r.lengthPrefixed('u16', 'NewSessionTicket ticket').slice();
  if (!r.done) throw decodeError('NewSessionTicket: bytes after the ticket');
  return { lifetime, ticket };
}

// KeyUpdate

export function decodeKeyUpdate(body: Uint8Array): { updateRequested: boolean } {
  if (body.length !== 1) throw decodeError(`KeyUpdate of ${body.length} bytes, not 1`);
  if (body[0] > 1) throw illegal(`KeyUpdate request_update ${body[0]} is neither 0 nor 1 (RFC 8446 §4.6.3)`);
  return { updateRequested: body[0] === 1 };
}

// TLS 1.2 ServerKeyExchange (ECDHE, RFC 8422 §5.4) and ClientKeyExchange (§5.7)

export interface ServerKeyExchange {
  group: number;
  publicKey: Uint8Array;
  /** curve_type ‖ named_curve ‖ public key, as signed. */
  params: Uint8Array;
  signed: SignedData;
}

export function decodeServerKeyExchange(body: Uint8Array): ServerKeyExchange {
  const r = new ByteReader(body);
  const curveType = r.u8('ServerKeyExchange curve type');
  if (curveType !== 3) throw illegal(`ServerKeyExchange curve type ${curveType}: only named_curve (3) is allowed (RFC 8422 §5.4)`);
  const group = r.u16('ServerKeyExchange named curve');
  const publicKey = r.lengthPrefixed('u8', 'ServerKeyExchange public key').slice();
  const params = body.slice(0, r.offset);
  const signed = decodeSigned(r, 'ServerKeyExchange');
  if (!r.done) throw decodeError('ServerKeyExchange: bytes after the signature');
  return { group, publicKey, params, signed };
}

export function encodeClientKeyExchange(publicKey: Uint8Array): Uint8Array {
  return new ByteWriter(publicKey.length + 1).lengthPrefixed('u8', publicKey).finish();
}

// Descriptions for the transcript

function list(ids: readonly number[], name: (id: number) => string, max = 12): string {
  const shown = ids.slice(0, max).map(name).join(', ');
  return ids.length > max ? `${shown}, … (${ids.length})` : shown;
}

export function describeClientHello(p: ClientHelloParams): string {
  const parts = [`ClientHello ${p.versions?.length ? p.versions.map(versionName).join('/') : 'TLSv1.2'}`];
  if (p.serverName) parts.push(`SNI ${p.serverName}`);
  if (p.alpn?.length) parts.push(`ALPN ${p.alpn.join(',')}`);
  parts.push(`suites [${list(p.cipherSuites, cipherSuiteName)}]`);
  parts.push(`groups [${list(p.groups, groupName)}]`);
  if (p.keyShares.length) parts.push(`key_share ${p.keyShares.map((k) => groupName(k.group)).join(',')}`);
  parts.push(`signature_algorithms [${list(p.signatureSchemes, signatureSchemeName, 16)}]`);
  if (p.cookie) parts.push('cookie echoed');
  if (p.psk?.length) parts.push(`pre_shared_key ${p.psk.length} ticket(s)`);
  if (p.sessionTicket?.length) parts.push('session_ticket (resuming)');
  return parts.join(', ');
}

export function describeServerHello(sh: ServerHello): string {
  const version = versionName(sh.selectedVersion ?? sh.legacyVersion);
  if (sh.retry) return `HelloRetryRequest ${version}, ${cipherSuiteName(sh.cipherSuite)}${sh.keyShare ? `, wants key_share ${groupName(sh.keyShare.group)}` : ''}${sh.cookie ? ', with a cookie' : ''}`;
  const parts = [`ServerHello ${version}, ${cipherSuiteName(sh.cipherSuite)}`];
  if (sh.keyShare) parts.push(`key_share ${groupName(sh.keyShare.group)}`);
  if (sh.selectedIdentity !== undefined) parts.push(`pre_shared_key accepted (identity ${sh.selectedIdentity})`);
  const others = [...sh.extensions.keys()].filter((t) => t !== ExtensionType.supportedVersions && t !== ExtensionType.keyShare && t !== ExtensionType.preSharedKey);
  if (others.length) parts.push(`extensions [${others.map(extensionName).join(', ')}]`);
  return parts.join(', ');
}

export function describeEncryptedExtensions(ee: EncryptedExtensions): string {
  const parts = ['EncryptedExtensions'];
  if (ee.alpn) parts.push(`ALPN ${ee.alpn}`);
  if (ee.recordSizeLimit) parts.push(`record_size_limit ${ee.recordSizeLimit}`);
  const others = [...ee.extensions.keys()].filter((t) => t !== ExtensionType.alpn && t !== ExtensionType.recordSizeLimit);
  if (others.length) parts.push(`[${others.map(extensionName).join(', ')}]`);
  return parts.join(', ');
}

export function describeCertificateRequest(cr: CertificateRequest): string {
  return `CertificateRequest, signature_algorithms [${list(cr.signatureSchemes, signatureSchemeName, 16)}]${cr.authorities.length ? `, ${cr.authorities.length} acceptable CA name(s)` : ''}`;
}

export function describeSigned(what: string, s: SignedData): string {
  return `${what} ${signatureSchemeName(s.scheme)}, ${s.signature.length}-byte signature`;
}

/** A printable name or its hex. */
export function printable(bytes: Uint8Array): string {
  return isPrintableAscii(bytes) ? fromLatin1(bytes) : toHex(bytes);
}
