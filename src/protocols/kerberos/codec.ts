// Kerberos V5 messages, RFC 4120 §5 (ASN.1 DER): AS-REQ/TGS-REQ, AS-REP/TGS-REP, KRB-ERROR, AP-REQ, the
// encrypted parts, PA-ENC-TIMESTAMP and ETYPE-INFO2 (RFC 4120 §5.2.7); TCP framing of §7.2.2.
//
// How it works: every field is an explicit context tag [n] around a universal type, so the encoder wraps
// values with `field(n, ...)` and the decoder opens them with `fields(reader)`, a map from tag number to the
// inner TLV. Times are GeneralizedTime "YYYYMMDDHHMMSSZ" (§5.2.3), names GeneralString (§5.2.1).
import { BerReader, explicit as field, explicitFields as fields, integer, octetString, sequence, tlv, UniversalTag, type Tlv } from '../../core/ber.ts';
import { fromLatin1, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

const GENERAL_STRING = 27;
const GENERALIZED_TIME = 24;

export const MsgType = { AS_REQ: 10, AS_REP: 11, TGS_REQ: 12, TGS_REP: 13, AP_REQ: 14, KRB_ERROR: 30 } as const;

/** RFC 4120 §7.5.2 PA-DATA types used here. */
export const PaType = { TGS_REQ: 1, ENC_TIMESTAMP: 2, ETYPE_INFO: 11, ETYPE_INFO2: 19, PAC_REQUEST: 128 } as const;

/** RFC 4120 §7.5.9 error codes (the ones a KDC sends). */
export const ERROR_CODES: Record<number, string> = {
  0: 'KDC_ERR_NONE',
  1: 'KDC_ERR_NAME_EXP',
  2: 'KDC_ERR_SERVICE_EXP',
  3: 'KDC_ERR_BAD_PVNO',
  6: 'KDC_ERR_C_PRINCIPAL_UNKNOWN',
  7: 'KDC_ERR_S_PRINCIPAL_UNKNOWN',
  8: 'KDC_ERR_PRINCIPAL_NOT_UNIQUE',
  9: 'KDC_ERR_NULL_KEY',
  10: 'KDC_ERR_CANNOT_POSTDATE',
  11: 'KDC_ERR_NEVER_VALID',
  12: 'KDC_ERR_POLICY',
  13: 'KDC_ERR_BADOPTION',
  14: 'KDC_ERR_ETYPE_NOSUPP',
  15: 'KDC_ERR_SUMTYPE_NOSUPP',
  16: 'KDC_ERR_PADATA_TYPE_NOSUPP',
  17: 'KDC_ERR_TRTYPE_NOSUPP',
  18: 'KDC_ERR_CLIENT_REVOKED',
  19: 'KDC_ERR_SERVICE_REVOKED',
  20: 'KDC_ERR_TGT_REVOKED',
  21: 'KDC_ERR_CLIENT_NOTYET',
  22: 'KDC_ERR_SERVICE_NOTYET',
  23: 'KDC_ERR_KEY_EXPIRED',
  24: 'KDC_ERR_PREAUTH_FAILED',
  25: 'KDC_ERR_PREAUTH_REQUIRED',
  26: 'KDC_ERR_SERVER_NOMATCH',
  27: 'KDC_ERR_MUST_USE_USER2USER',
  28: 'KDC_ERR_PATH_NOT_ACCEPTED',
  29: 'KDC_ERR_SVC_UNAVAILABLE',
  31: 'KRB_AP_ERR_BAD_INTEGRITY',
  32: 'KRB_AP_ERR_TKT_EXPIRED',
  33: 'KRB_AP_ERR_TKT_NYV',
  34: 'KRB_AP_ERR_REPEAT',
  35: 'KRB_AP_ERR_NOT_US',
  36: 'KRB_AP_ERR_BADMATCH',
  37: 'KRB_AP_ERR_SKEW',
  38: 'KRB_AP_ERR_BADADDR',
  39: 'KRB_AP_ERR_BADVERSION',
  40: 'KRB_AP_ERR_MSG_TYPE',
  41: 'KRB_AP_ERR_MODIFIED',
  42: 'KRB_AP_ERR_BADORDER',
  44: 'KRB_AP_ERR_BADKEYVER',
  45: 'KRB_AP_ERR_NOKEY',
  46: 'KRB_AP_ERR_MUT_FAIL',
  47: 'KRB_AP_ERR_BADDIRECTION',
  48: 'KRB_AP_ERR_METHOD',
  49: 'KRB_AP_ERR_BADSEQ',
  50: 'KRB_AP_ERR_INAPP_CKSUM',
  52: 'KRB_ERR_RESPONSE_TOO_BIG',
  60: 'KRB_ERR_GENERIC',
  61: 'KRB_ERR_FIELD_TOOLONG',
  68: 'KDC_ERR_WRONG_REALM',
};

/** RFC 4120 §5.2.8 TicketFlags and §5.4.1 KDCOptions share bit numbers (bit 0 is the most significant). */
export const TICKET_FLAGS = ['reserved', 'forwardable', 'forwarded', 'proxiable', 'proxy', 'may-postdate', 'postdated', 'invalid', 'renewable', 'initial', 'pre-authent', 'hw-authent', 'transited-policy-checked', 'ok-as-delegate', 'unused-14', 'enc-pa-rep', 'anonymous'];

export function flagsToNames(bits: number): string[] {
  return TICKET_FLAGS.map((name, i) => ((bits >>> (31 - i)) & 1 ? name : '')).filter(Boolean);
}

export function flagBits(names: readonly string[]): number {
  let v = 0;
  for (const n of names) {
    const i = n === 'canonicalize' ? 15 : n === 'renewable-ok' ? 27 : TICKET_FLAGS.indexOf(n);
    if (i < 0) throw new ProtocolError(`unknown KDC option ${n}`);
    v |= 1 << (31 - i);
  }
  return v >>> 0;
}

// Encoding (DER)

function kstring(s: string): Uint8Array {
  return tlv(GENERAL_STRING, utf8(s));
}

export function kerberosTime(d: Date): Uint8Array {
  const iso = d.toISOString();
  const text = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return tlv(GENERALIZED_TIME, utf8(text));
}

function bitString32(v: number): Uint8Array {
  return tlv(UniversalTag.bitString, Uint8Array.of(0, v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255));
}

export interface PrincipalName {
  type: number;
  parts: string[];
}

/** RFC 4120 §6.2: NT-PRINCIPAL 1, NT-SRV-INST 2, NT-SRV-HST 3, NT-ENTERPRISE 10. */
export function parsePrincipal(text: string): PrincipalName {
  const parts = text.split('/');
  return { type: parts[0] === 'krbtgt' ? 2 : parts.length > 1 ? 3 : 1, parts };
}

export function principalName(p: PrincipalName): Uint8Array {
  return sequence([field(0, integer(p.type)), field(1, sequence(p.parts.map(kstring)))]);
}

export function encryptedData(etype: number, cipher: Uint8Array, kvno?: number): Uint8Array {
  return sequence([field(0, integer(etype)), ...(kvno !== undefined ? [field(1, integer(kvno))] : []), field(2, octetString(cipher))]);
}

export function paData(type: number, value: Uint8Array): Uint8Array {
  return sequence([field(1, integer(type)), field(2, octetString(value))]);
}

/** PA-ENC-TS-ENC ::= SEQUENCE { patimestamp [0] KerberosTime, pausec [1] Microseconds OPTIONAL } */
export function paEncTsEnc(now: Date, usec: number): Uint8Array {
  return sequence([field(0, kerberosTime(now)), field(1, integer(usec))]);
}

/** KERB-PA-PAC-REQUEST (MS-KILE §2.2.3): include-pac FALSE keeps tickets small where a KDC adds a PAC. */
export interface ReqBody {
  options: number;
  cname?: PrincipalName;
  realm: string;
  sname: PrincipalName;
  till: Date;
  rtime?: Date;
  nonce: number;
  etypes: number[];
}

export function reqBody(b: ReqBody): Uint8Array {
  return sequence([
    field(0, bitString32(b.options)),
    ...(b.cname ? [field(1, principalName(b.cname))] : []),
    field(2, kstring(b.realm)),
    field(3, principalName(b.sname)),
    field(5, kerberosTime(b.till)),
    ...(b.rtime ? [field(6, kerberosTime(b.rtime))] : []),
    field(7, integer(b.nonce)),
    field(8, sequence(b.etypes.map((e) => integer(e)))),
  ]);
}

/** AS-REQ ::= [APPLICATION 10] KDC-REQ; TGS-REQ ::= [APPLICATION 12] KDC-REQ (RFC 4120 §5.4.1). */
export function kdcReq(msgType: 10 | 12, padata: Uint8Array[], body: Uint8Array): Uint8Array {
  return sequence([sequence([field(1, integer(5)), field(2, integer(msgType)), ...(padata.length ? [field(3, sequence(padata))] : []), field(4, body)])], msgType, 'application');
}

/** Authenticator ::= [APPLICATION 2] SEQUENCE { authenticator-vno [0], crealm [1], cname [2], cksum [3], cusec [4], ctime [5], ... } (§5.5.1) */
export function authenticator(realm: string, cname: PrincipalName, cksum: { type: number; value: Uint8Array }, now: Date, usec: number): Uint8Array {
  return sequence(
    [sequence([field(0, integer(5)), field(1, kstring(realm)), field(2, principalName(cname)), field(3, sequence([field(0, integer(cksum.type)), field(1, octetString(cksum.value))])), field(4, integer(usec)), field(5, kerberosTime(now))])],
    2,
    'application',
  );
}

/** AP-REQ ::= [APPLICATION 14] SEQUENCE { pvno [0], msg-type [1], ap-options [2], ticket [3], authenticator [4] } (§5.5.1) */
export function apReq(ticket: Uint8Array, encAuthenticator: Uint8Array): Uint8Array {
  return sequence([sequence([field(0, integer(5)), field(1, integer(MsgType.AP_REQ)), field(2, bitString32(0)), field(3, ticket), field(4, encAuthenticator)])], MsgType.AP_REQ, 'application');
}

// Decoding

function inner(f: Map<number, Tlv>, n: number, what: string, depth: number): BerReader {
  const t = f.get(n);
  if (!t) throw new ProtocolError(`${what}: field [${n}] missing`);
  return new BerReader(t.value, `${what}[${n}]`, depth);
}

function int(f: Map<number, Tlv>, n: number, what: string, depth: number): number {
  const v = inner(f, n, what, depth).integer(`${what}[${n}]`);
  if (typeof v !== 'number') throw new ProtocolError(`${what}[${n}]: integer out of range`);
  return v;
}

function optInt(f: Map<number, Tlv>, n: number, what: string, depth: number): number | undefined {
  return f.has(n) ? int(f, n, what, depth) : undefined;
}

function str(f: Map<number, Tlv>, n: number, what: string, depth: number): string {
  return fromUtf8(inner(f, n, what, depth).octets(`${what}[${n}]`, GENERAL_STRING));
}

function time(f: Map<number, Tlv>, n: number, what: string, depth: number): string {
  const text = fromLatin1(inner(f, n, what, depth).octets(`${what}[${n}]`, GENERALIZED_TIME));
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
  if (!m) throw new ProtocolError(`${what}[${n}]: ${JSON.stringify(text)} is not a KerberosTime`);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
}

function optTime(f: Map<number, Tlv>, n: number, what: string, depth: number): string | null {
  return f.has(n) ? time(f, n, what, depth) : null;
}

function octets(f: Map<number, Tlv>, n: number, what: string, depth: number): Uint8Array {
  return inner(f, n, what, depth).octets(`${what}[${n}]`);
}

function readPrincipal(r: BerReader, what: string): PrincipalName {
  const f = fields(r.sequence(what));
  const type = int(f, 0, what, r.depth + 2);
  const names = inner(f, 1, what, r.depth + 2).sequence('name-string');
  const parts: string[] = [];
  while (!names.done) {
    if (parts.length >= 16) throw new ProtocolError(`${what}: more than 16 name components`);
    parts.push(fromUtf8(names.octets('KerberosString', GENERAL_STRING)));
  }
  return { type, parts };
}

export function principalText(p: PrincipalName): string {
  return p.parts.join('/');
}

export interface EncryptedData {
  etype: number;
  kvno?: number;
  cipher: Uint8Array;
}

function readEncryptedData(r: BerReader, what: string): EncryptedData {
  const f = fields(r.sequence(what));
  return { etype: int(f, 0, what, r.depth + 2), kvno: optInt(f, 1, what, r.depth + 2), cipher: octets(f, 2, what, r.depth + 2) };
}

export interface PaData {
  type: number;
  value: Uint8Array;
}

function readPaDataList(r: BerReader, what: string): PaData[] {
  const list = r.sequence(what);
  const out: PaData[] = [];
  while (!list.done) {
    if (out.length >= 64) throw new ProtocolError(`${what}: more than 64 entries`);
    const f = fields(list.sequence('PA-DATA'));
    out.push({ type: int(f, 1, 'PA-DATA', list.depth + 2), value: octets(f, 2, 'PA-DATA', list.depth + 2) });
  }
  return out;
}

export interface KrbError {
  type: 'KRB-ERROR';
  errorCode: number;
  errorName: string;
  stime: string;
  susec: number;
  realm: string;
  sname: string;
  crealm: string | null;
  cname: string | null;
  eText: string | null;
  eData: Uint8Array | null;
}

export interface KdcRep {
  type: 'AS-REP' | 'TGS-REP';
  padata: PaData[];
  crealm: string;
  cname: PrincipalName;
  /** The Ticket as it came (kept for AP-REQ). */
  ticket: Uint8Array;
  ticketRealm: string;
  ticketSname: PrincipalName;
  ticketEncPart: EncryptedData;
  encPart: EncryptedData;
}

/** TCP (RFC 4120 §7.2.2): a four-octet big-endian length, high bit reserved, then the message. */
export function tcpFrame(max = 1024 * 1024): Frame<Uint8Array> {
  return (buf) => {
    if (buf.length < 4) return undefined;
    if (buf[0] & 0x80) throw new ProtocolError('Kerberos TCP length with the reserved high bit set (RFC 4120 §7.2.2)');
    const n = ((buf[0] << 24) >>> 0) + (buf[1] << 16) + (buf[2] << 8) + buf[3];
    if (n > max) throw new ProtocolError(`Kerberos TCP message of ${n} bytes exceeds ${max}`);
    if (buf.length < 4 + n) return undefined;
    return { value: buf.slice(4, 4 + n), size: 4 + n };
  };
}

export function tcpMessage(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + msg.length);
  new DataView(out.buffer).setUint32(0, msg.length);
  out.set(msg, 4);
  return out;
}

/** Decodes a KDC's answer: KRB-ERROR, AS-REP or TGS-REP. */
export function decodeReply(bytes: Uint8Array): KrbError | KdcRep {
  const top = new BerReader(bytes, 'Kerberos message');
  const app = top.next('message');
  top.end();
  if (app.cls !== 'application' || !app.constructed) throw new ProtocolError(`Kerberos message: expected an APPLICATION tag, got ${app.cls} ${app.tag}`);
  const r = new BerReader(app.value, `[APPLICATION ${app.tag}]`, 1);
  if (app.tag === MsgType.KRB_ERROR) {
    const w = 'KRB-ERROR';
    const f = fields(r.sequence(w));
    const d = 3;
    if (int(f, 1, w, d) !== MsgType.KRB_ERROR) throw new ProtocolError('KRB-ERROR: msg-type is not 30');
    const errorCode = int(f, 6, w, d);
    return {
      type: 'KRB-ERROR',
      errorCode,
      errorName: ERROR_CODES[errorCode] ?? `error ${errorCode}`,
      stime: time(f, 4, w, d),
      susec: int(f, 5, w, d),
      realm: str(f, 9, w, d),
      sname: principalText(readPrincipal(inner(f, 10, w, d), 'sname')),
      crealm: f.has(7) ? str(f, 7, w, d) : null,
      cname: f.has(8) ? principalText(readPrincipal(inner(f, 8, w, d), 'cname')) : null,
      eText: f.has(11) ? fromUtf8(inner(f, 11, w, d).octets('e-text', GENERAL_STRING)) : null,
      eData: f.has(12) ? octets(f, 12, w, d) : null,
    };
  }
  if (app.tag !== MsgType.AS_REP && app.tag !== MsgType.TGS_REP) throw new ProtocolError(`Kerberos: a KDC does not answer with [APPLICATION ${app.tag}]`);
  const w = app.tag === MsgType.AS_REP ? 'AS-REP' : 'TGS-REP';
  const f = fields(r.sequence(w));
  const d = 3;
  if (int(f, 0, w, d) !== 5) throw new ProtocolError(`${w}: pvno is not 5`);
  const ticketTlv = inner(f, 5, w, d).next('ticket');
  if (ticketTlv.cls !== 'application' || ticketTlv.tag !== 1) throw new ProtocolError(`${w}: ticket is not [APPLICATION 1]`);
  const tf = fields(new BerReader(ticketTlv.value, 'Ticket', d + 1).sequence('Ticket'));
  const ticketBytes = f.get(5)!.value.slice(0, ticketTlv.size);
  return {
    type: w,
    padata: f.has(2) ? readPaDataList(inner(f, 2, w, d), 'padata') : [],
    crealm: str(f, 3, w, d),
    cname: readPrincipal(inner(f, 4, w, d), 'cname'),
    ticket: ticketBytes,
    ticketRealm: str(tf, 1, 'Ticket', d + 3),
    ticketSname: readPrincipal(inner(tf, 2, 'Ticket', d + 3), 'sname'),
    ticketEncPart: readEncryptedData(inner(tf, 3, 'Ticket', d + 3), 'enc-part'),
    encPart: readEncryptedData(inner(f, 6, w, d), 'enc-part'),
  };
}

export interface EncKdcRepPart {
  keyType: number;
  key: Uint8Array;
  nonce: number;
  keyExpiration: string | null;
  flags: number;
  authtime: string;
  starttime: string | null;
  endtime: string;
  renewTill: string | null;
  srealm: string;
  sname: PrincipalName;
}

/** EncASRepPart ::= [APPLICATION 25], EncTGSRepPart ::= [APPLICATION 26] EncKDCRepPart (§5.4.2); KDCs send either for AS. */
export function decodeEncKdcRepPart(bytes: Uint8Array): EncKdcRepPart {
  const top = new BerReader(bytes, 'EncKDCRepPart');
  const app = top.next('EncKDCRepPart');
  if (app.cls !== 'application' || (app.tag !== 25 && app.tag !== 26)) throw new ProtocolError(`EncKDCRepPart: [APPLICATION ${app.tag}]`);
  // The decrypted part may carry padding after the DER value; it is ignored.
  const w = 'EncKDCRepPart';
  const f = fields(new BerReader(app.value, w, 1).sequence(w));
  const d = 3;
  const kf = fields(inner(f, 0, w, d).sequence('EncryptionKey'));
  const flagsBits = inner(f, 4, w, d).octets('flags', UniversalTag.bitString);
  if (flagsBits.length < 5) throw new ProtocolError('EncKDCRepPart: flags shorter than 32 bits');
  return {
    keyType: int(kf, 0, 'key', d + 2),
    key: octets(kf, 1, 'key', d + 2),
    nonce: int(f, 2, w, d),
    keyExpiration: optTime(f, 3, w, d),
    flags: (((flagsBits[1] << 24) >>> 0) + (flagsBits[2] << 16) + (flagsBits[3] << 8) + flagsBits[4]) >>> 0,
    authtime: time(f, 5, w, d),
    starttime: optTime(f, 6, w, d),
    endtime: time(f, 7, w, d),
    renewTill: optTime(f, 8, w, d),
    srealm: str(f, 9, w, d),
    sname: readPrincipal(inner(f, 10, w, d), 'sname'),
  };
}

export interface EtypeInfo2Entry {
  etype: number;
  salt: string | null;
  s2kparams: Uint8Array | null;
}

/** ETYPE-INFO2 ::= SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY { etype [0], salt [1] OPTIONAL, s2kparams [2] OPTIONAL } (§5.2.7.5) */
export function decodeEtypeInfo2(value: Uint8Array): EtypeInfo2Entry[] {
  const list = new BerReader(value, 'ETYPE-INFO2').sequence('ETYPE-INFO2');
  const out: EtypeInfo2Entry[] = [];
  while (!list.done) {
    if (out.length >= 32) throw new ProtocolError('ETYPE-INFO2: more than 32 entries');
    const f = fields(list.sequence('ETYPE-INFO2-ENTRY'));
    out.push({ etype: int(f, 0, 'ETYPE-INFO2-ENTRY', 3), salt: f.has(1) ? str(f, 1, 'ETYPE-INFO2-ENTRY', 3) : null, s2kparams: f.has(2) ? octets(f, 2, 'ETYPE-INFO2-ENTRY', 3) : null });
  }
  return out;
}

/** METHOD-DATA ::= SEQUENCE OF PA-DATA: the e-data of KDC_ERR_PREAUTH_REQUIRED (§5.9.1). */
export function decodeMethodData(value: Uint8Array): PaData[] {
  return readPaDataList(new BerReader(value, 'METHOD-DATA'), 'METHOD-DATA');
}
