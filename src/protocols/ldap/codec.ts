// LDAPv3 messages, RFC 4511 §4 (LDAPMessage and every operation), with the core BER codec (X.690 as RFC 4511 §5.1 restricts it).
//
// How it works: requests are built bottom-up with core/ber.ts encoders into one LDAPMessage
// (`encodeMessage`); responses come off the stream one whole TLV at a time (`messageFrame`, capped) and
// are decoded into a typed `Response` by the application tag of their protocolOp. Strings are kept as
// bytes where the protocol says OCTET STRING (attribute values may be binary), and as UTF-8 text where it
// says LDAPString or LDAPDN.
import { BerReader, boolean, enumerated, integer, octetString, readTlv, sequence, tlv, UniversalTag, type Tlv } from '../../core/ber.ts';
import { fromUtf8, toBase64, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import { encodeFilter, filterToString, type Filter } from './filter.ts';

/** RFC 4511 §4.2 ... §4.14: the application tag of each protocolOp. */
export const Op = {
  BindRequest: 0,
  BindResponse: 1,
  UnbindRequest: 2,
  SearchRequest: 3,
  SearchResultEntry: 4,
  SearchResultDone: 5,
  ModifyRequest: 6,
  ModifyResponse: 7,
  AddRequest: 8,
  AddResponse: 9,
  DelRequest: 10,
  DelResponse: 11,
  ModifyDNRequest: 12,
  ModifyDNResponse: 13,
  CompareRequest: 14,
  CompareResponse: 15,
  AbandonRequest: 16,
  SearchResultReference: 19,
  ExtendedRequest: 23,
  ExtendedResponse: 24,
  IntermediateResponse: 25,
} as const;
export type OpName = keyof typeof Op;
const OP_NAMES = Object.fromEntries(Object.entries(Op).map(([k, v]) => [v, k])) as Record<number, OpName>;

/** RFC 4511 Appendix A.1 result codes, plus the RFC 3909/4370/4533/6171 ones servers send. */
export const RESULT_CODES: Record<number, string> = {
  0: 'success',
  1: 'operationsError',
  2: 'protocolError',
  3: 'timeLimitExceeded',
  4: 'sizeLimitExceeded',
  5: 'compareFalse',
  6: 'compareTrue',
  7: 'authMethodNotSupported',
  8: 'strongerAuthRequired',
  10: 'referral',
  11: 'adminLimitExceeded',
  12: 'unavailableCriticalExtension',
  13: 'confidentialityRequired',
  14: 'saslBindInProgress',
  16: 'noSuchAttribute',
  17: 'undefinedAttributeType',
  18: 'inappropriateMatching',
  19: 'constraintViolation',
  20: 'attributeOrValueExists',
  21: 'invalidAttributeSyntax',
  32: 'noSuchObject',
  33: 'aliasProblem',
  34: 'invalidDNSyntax',
  36: 'aliasDereferencingProblem',
  48: 'inappropriateAuthentication',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  54: 'loopDetect',
  64: 'namingViolation',
  65: 'objectClassViolation',
  66: 'notAllowedOnNonLeaf',
  67: 'notAllowedOnRDN',
  68: 'entryAlreadyExists',
  69: 'objectClassModsProhibited',
  71: 'affectsMultipleDSAs',
  80: 'other',
  118: 'canceled',
  119: 'noSuchOperation',
  120: 'tooLate',
  121: 'cannotCancel',
  122: 'assertionFailed',
  123: 'authorizationDenied',
  4096: 'e-syncRefreshRequired',
};

export function resultName(code: number): string {
  return RESULT_CODES[code] ?? `unknown result code ${code}`;
}

/** Well-known OIDs: controls and extended operations this client uses or names. */
export const OID = {
  pagedResults: '1.2.840.113556.1.4.319', // RFC 2696
  startTls: '1.3.6.1.4.1.1466.20037', // RFC 4511 §4.14
  whoAmI: '1.3.6.1.4.1.4203.1.11.3', // RFC 4532
  passwordModify: '1.3.6.1.4.1.4203.1.11.1', // RFC 3062
  noticeOfDisconnection: '1.3.6.1.4.1.1466.20036', // RFC 4511 §4.4.1
  manageDsaIT: '2.16.840.1.113730.3.4.2', // RFC 3296
} as const;

export interface Control {
  type: string;
  critical: boolean;
  value?: Uint8Array;
}

export interface LdapResult {
  code: number;
  name: string;
  matchedDN: string;
  diagnosticMessage: string;
  referrals: string[];
}

export interface Attribute {
  type: string;
  values: Uint8Array[];
}

export type Response =
  | { op: 'BindResponse'; result: LdapResult; serverSaslCreds?: Uint8Array }
  | { op: 'SearchResultEntry'; dn: string; attributes: Attribute[] }
  | { op: 'SearchResultReference'; uris: string[] }
  | { op: 'SearchResultDone' | 'ModifyResponse' | 'AddResponse' | 'DelResponse' | 'ModifyDNResponse' | 'CompareResponse'; result: LdapResult }
  | { op: 'ExtendedResponse'; result: LdapResult; name?: string; value?: Uint8Array }
  | { op: 'IntermediateResponse'; name?: string; value?: Uint8Array };

export interface Message {
  id: number;
  response: Response;
  controls: Control[];
}

/** One LDAPMessage is capped at 16 MiB (a server's largest entry); the frame refuses longer lengths before buffering them. */
export const MAX_MESSAGE = 16 * 1024 * 1024;

export function messageFrame(max = MAX_MESSAGE): Frame<Tlv> {
  return (buf) => {
    // RFC 4511 §4.1.1: LDAPMessage ::= SEQUENCE — refuse anything else at its first byte.
    if (buf.length > 0 && buf[0] !== 0x30) throw new ProtocolError(`LDAPMessage: expected a SEQUENCE (0x30), got 0x${buf[0].toString(16).padStart(2, '0')}`);
    // The value is a view into the receive buffer, which is never written after it is filled.
    const t = readTlv(buf, max);
    return t ? { value: t, size: t.size } : undefined;
  };
}

// Encoding

function encodeControls(controls: readonly Control[]): Uint8Array[] {
  if (controls.length === 0) return [];
  // Controls ::= SEQUENCE OF control Control; Control ::= SEQUENCE { controlType, criticality BOOLEAN DEFAULT FALSE, controlValue OCTET STRING OPTIONAL }
  return [
    sequence(
      controls.map((c) => sequence([octetString(c.type), ...(c.critical ? [boolean(true)] : []), ...(c.value ? [octetString(c.value)] : [])])),
      0,
      'context',
    ),
  ];
}

/** LDAPMessage ::= SEQUENCE { messageID, protocolOp, controls [0] OPTIONAL } around an encoded protocolOp. */
export function encodeMessage(id: number, protocolOp: Uint8Array, controls: readonly Control[] = []): Uint8Array {
  return sequence([integer(id), protocolOp, ...encodeControls(controls)]);
}

export type BindAuth = { type: 'simple'; dn: string; password: Uint8Array } | { type: 'sasl'; dn: string; mechanism: string; credentials?: Uint8Array };

/** §4.2 BindRequest ::= [APPLICATION 0] SEQUENCE { version INTEGER (1..127), name LDAPDN, authentication AuthenticationChoice } */
export function bindRequest(auth: BindAuth): Uint8Array {
  const choice =
    auth.type === 'simple'
      ? octetString(auth.password, 0, 'context')
      : sequence([octetString(auth.mechanism), ...(auth.credentials ? [octetString(auth.credentials)] : [])], 3, 'context');
  return sequence([integer(3), octetString(auth.dn), choice], Op.BindRequest, 'application');
}

/** §4.3 UnbindRequest ::= [APPLICATION 2] NULL */
export function unbindRequest(): Uint8Array {
  return tlv(Op.UnbindRequest, new Uint8Array(0), 'application');
}

export const SCOPES = { base: 0, one: 1, sub: 2, children: 3 } as const;
export type Scope = keyof typeof SCOPES;
export const DEREF = { never: 0, searching: 1, finding: 2, always: 3 } as const;
export type Deref = keyof typeof DEREF;

export interface SearchParams {
  base: string;
  scope: Scope;
  deref: Deref;
  sizeLimit: number;
  timeLimit: number;
  typesOnly: boolean;
  filter: Filter;
  attributes: readonly string[];
}

/** §4.5.1 SearchRequest ::= [APPLICATION 3] SEQUENCE { baseObject, scope, derefAliases, sizeLimit, timeLimit, typesOnly, filter, attributes } */
export function searchRequest(p: SearchParams): Uint8Array {
  return sequence(
    [
      octetString(p.base),
      enumerated(SCOPES[p.scope]),
      enumerated(DEREF[p.deref]),
      integer(p.sizeLimit),
      integer(p.timeLimit),
      boolean(p.typesOnly),
      encodeFilter(p.filter),
      sequence(p.attributes.map((a) => octetString(a))),
    ],
    Op.SearchRequest,
    'application',
  );
}

export type ModOp = 'add' | 'delete' | 'replace' | 'increment';
const MOD_OPS: Record<ModOp, number> = { add: 0, delete: 1, replace: 2, increment: 3 };

function partialAttribute(a: Attribute): Uint8Array {
  // PartialAttribute ::= SEQUENCE { type AttributeDescription, vals SET OF value AttributeValue }
  return sequence([octetString(a.type), sequence(a.values.map((v) => octetString(v)), UniversalTag.set)]);
}

/** §4.6 ModifyRequest ::= [APPLICATION 6] SEQUENCE { object LDAPDN, changes SEQUENCE OF change SEQUENCE { operation, modification } } */
export function modifyRequest(dn: string, changes: readonly { operation: ModOp; attribute: Attribute }[]): Uint8Array {
  return sequence(
    [octetString(dn), sequence(changes.map((c) => sequence([enumerated(MOD_OPS[c.operation]), partialAttribute(c.attribute)])))],
    Op.ModifyRequest,
    'application',
  );
}

/** §4.7 AddRequest ::= [APPLICATION 8] SEQUENCE { entry LDAPDN, attributes AttributeList } */
export function addRequest(dn: string, attributes: readonly Attribute[]): Uint8Array {
  return sequence([octetString(dn), sequence(attributes.map(partialAttribute))], Op.AddRequest, 'application');
}

/** §4.8 DelRequest ::= [APPLICATION 10] LDAPDN */
export function delRequest(dn: string): Uint8Array {
  return octetString(dn, Op.DelRequest, 'application');
}

/** §4.9 ModifyDNRequest ::= [APPLICATION 12] SEQUENCE { entry, newrdn, deleteoldrdn BOOLEAN, newSuperior [0] LDAPDN OPTIONAL } */
export function modifyDnRequest(dn: string, newRdn: string, deleteOldRdn: boolean, newSuperior?: string): Uint8Array {
  return sequence(
    [octetString(dn), octetString(newRdn), boolean(deleteOldRdn), ...(newSuperior !== undefined ? [octetString(newSuperior, 0, 'context')] : [])],
    Op.ModifyDNRequest,
    'application',
  );
}

/** §4.10 CompareRequest ::= [APPLICATION 14] SEQUENCE { entry LDAPDN, ava AttributeValueAssertion } */
export function compareRequest(dn: string, attribute: string, value: Uint8Array): Uint8Array {
  return sequence([octetString(dn), sequence([octetString(attribute), octetString(value)])], Op.CompareRequest, 'application');
}

/** §4.12 ExtendedRequest ::= [APPLICATION 23] SEQUENCE { requestName [0] LDAPOID, requestValue [1] OCTET STRING OPTIONAL } */
export function extendedRequest(name: string, value?: Uint8Array): Uint8Array {
  return sequence([octetString(name, 0, 'context'), ...(value ? [octetString(value, 1, 'context')] : [])], Op.ExtendedRequest, 'application');
}

/** RFC 3062 §2: PasswdModifyRequestValue ::= SEQUENCE { userIdentity [0] OPTIONAL, oldPasswd [1] OPTIONAL, newPasswd [2] OPTIONAL } */
export function passwordModifyValue(p: { user?: string; oldPassword?: Uint8Array; newPassword?: Uint8Array }): Uint8Array {
  const parts: Uint8Array[] = [];
  if (p.user !== undefined) parts.push(octetString(p.user, 0, 'context'));
  if (p.oldPassword) parts.push(octetString(p.oldPassword, 1, 'context'));
  if (p.newPassword) parts.push(octetString(p.newPassword, 2, 'context'));
  return sequence(parts);
}

/** RFC 3062 §2: PasswdModifyResponseValue ::= SEQUENCE { genPasswd [0] OCTET STRING OPTIONAL } */
export function decodePasswordModifyResponse(value: Uint8Array): Uint8Array | undefined {
  const r = new BerReader(value, 'PasswdModifyResponseValue').sequence('PasswdModifyResponseValue');
  if (r.done) return undefined;
  return r.octets('genPasswd', 0, 'context');
}

/** RFC 2696 §2: realSearchControlValue ::= SEQUENCE { size INTEGER (0..maxInt), cookie OCTET STRING } */
export function pagedResultsControl(size: number, cookie: Uint8Array, critical = false): Control {
  return { type: OID.pagedResults, critical, value: sequence([integer(size), octetString(cookie)]) };
}

export function decodePagedResults(value: Uint8Array): { size: number; cookie: Uint8Array } {
  const r = new BerReader(value, 'paged results control').sequence('realSearchControlValue');
  const size = r.int('size', 0);
  const cookie = r.octets('cookie');
  return { size, cookie };
}

// Decoding

function text(bytes: Uint8Array, field: string): string {
  try {
    return fromUtf8(bytes, true);
  } catch {
    throw new ProtocolError(`LDAPMessage: ${field} is not UTF-8`);
  }
}

/** LDAPResult ::= SEQUENCE { resultCode ENUMERATED, matchedDN LDAPDN, diagnosticMessage LDAPString, referral [3] Referral OPTIONAL } (its components, in order) */
function readResult(r: BerReader): LdapResult {
  const code = r.enumerated('resultCode');
  const matchedDN = text(r.octets('matchedDN'), 'matchedDN');
  const diagnosticMessage = text(r.octets('diagnosticMessage'), 'diagnosticMessage');
  const referrals: string[] = [];
  const next = r.peek();
  if (next && next.cls === 'context' && next.tag === 3) {
    const refs = r.sequence('referral', 3, 'context');
    while (!refs.done) referrals.push(text(refs.octets('URI'), 'referral URI'));
  }
  return { code, name: resultName(code), matchedDN, diagnosticMessage, referrals };
}

function readControls(r: BerReader): Control[] {
  const out: Control[] = [];
  if (r.done) return out;
  const list = r.sequence('controls', 0, 'context');
  while (!list.done) {
    const c = list.sequence('control');
    const type = text(c.octets('controlType'), 'controlType');
    let critical = false;
    let value: Uint8Array | undefined;
    if (!c.done && c.peek()!.tag === UniversalTag.boolean && c.peek()!.cls === 'universal') critical = c.boolean('criticality');
    if (!c.done) value = c.octets('controlValue');
    c.end();
    out.push({ type, critical, value });
  }
  return out;
}

function readEntry(op: BerReader): Response {
  // SearchResultEntry ::= [APPLICATION 4] SEQUENCE { objectName LDAPDN, attributes PartialAttributeList }
  const dn = text(op.octets('objectName'), 'objectName');
  const list = op.sequence('attributes');
  const attributes: Attribute[] = [];
  while (!list.done) {
    const a = list.sequence('PartialAttribute');
    const type = text(a.octets('type'), 'attribute type');
    const vals = a.sequence('vals', UniversalTag.set);
    const values: Uint8Array[] = [];
    while (!vals.done) values.push(vals.octets('value'));
    a.end();
    attributes.push({ type, values });
  }
  op.end();
  return { op: 'SearchResultEntry', dn, attributes };
}

/** Decodes one whole LDAPMessage from a server. */
export function decodeMessage(t: Tlv): Message {
  if (t.cls !== 'universal' || t.tag !== UniversalTag.sequence || !t.constructed) throw new ProtocolError('LDAPMessage: not a SEQUENCE');
  const m = new BerReader(t.value, 'LDAPMessage', 1);
  const id = m.int('messageID', 0, 2 ** 31 - 1);
  const opTlv = m.next('protocolOp');
  if (opTlv.cls !== 'application') throw new ProtocolError(`LDAPMessage: protocolOp has tag class ${opTlv.cls}, expected application`);
  const name = OP_NAMES[opTlv.tag];
  if (!name) throw new ProtocolError(`LDAPMessage: unknown protocolOp [APPLICATION ${opTlv.tag}]`);
  const controls = readControls(m);
  m.end();
  if (!opTlv.constructed) throw new ProtocolError(`${name}: expected a constructed value`);
  const op = new BerReader(opTlv.value, name, 2);
  let response: Response;
  switch (name) {
    case 'BindResponse': {
      const result = readResult(op);
      let serverSaslCreds: Uint8Array | undefined;
      if (!op.done) serverSaslCreds = op.octets('serverSaslCreds', 7, 'context');
      response = { op: name, result, serverSaslCreds };
      break;
    }
    case 'SearchResultEntry':
      response = readEntry(op);
      break;
    case 'SearchResultReference': {
      // SearchResultReference ::= [APPLICATION 19] SEQUENCE SIZE (1..MAX) OF uri URI
      const uris: string[] = [];
      while (!op.done) uris.push(text(op.octets('URI'), 'URI'));
      if (uris.length === 0) throw new ProtocolError('SearchResultReference: no URI');
      response = { op: name, uris };
      break;
    }
    case 'SearchResultDone':
    case 'ModifyResponse':
    case 'AddResponse':
    case 'DelResponse':
    case 'ModifyDNResponse':
    case 'CompareResponse':
      response = { op: name, result: readResult(op) };
      break;
    case 'ExtendedResponse': {
      // ExtendedResponse ::= [APPLICATION 24] SEQUENCE { COMPONENTS OF LDAPResult, responseName [10] OPTIONAL, responseValue [11] OPTIONAL }
      const result = readResult(op);
      let rname: string | undefined;
      let value: Uint8Array | undefined;
      if (!op.done && op.peek()!.tag === 10) rname = text(op.octets('responseName', 10, 'context'), 'responseName');
      if (!op.done) value = op.octets('responseValue', 11, 'context');
      response = { op: name, result, name: rname, value };
      break;
    }
    case 'IntermediateResponse': {
      let rname: string | undefined;
      let value: Uint8Array | undefined;
      if (!op.done && op.peek()!.tag === 0) rname = text(op.octets('responseName', 0, 'context'), 'responseName');
      if (!op.done) value = op.octets('responseValue', 1, 'context');
      response = { op: name, name: rname, value };
      break;
    }
    default:
      throw new ProtocolError(`LDAPMessage: a server does not send ${name}`);
  }
  op.end();
  return { id, response, controls };
}

/** One line for the transcript. */
export function describeResponse(m: Message): string {
  const r = m.response;
  const ctl = m.controls.length ? ` controls ${m.controls.map((c) => c.type).join(',')}` : '';
  switch (r.op) {
    case 'SearchResultEntry':
      return `#${m.id} SearchResultEntry ${JSON.stringify(r.dn)} (${r.attributes.length} attributes)${ctl}`;
    case 'SearchResultReference':
      return `#${m.id} SearchResultReference ${r.uris.join(' ')}`;
    case 'IntermediateResponse':
      return `#${m.id} IntermediateResponse ${r.name ?? ''}`;
    default: {
      const res = r.result;
      return `#${m.id} ${r.op} ${res.code} ${res.name}${res.diagnosticMessage ? ` ${JSON.stringify(res.diagnosticMessage)}` : ''}${res.matchedDN ? ` matched ${JSON.stringify(res.matchedDN)}` : ''}${res.referrals.length ? ` referrals ${res.referrals.join(' ')}` : ''}${ctl}`;
    }
  }
}

/** One line for an outgoing request: the filter as RFC 4515 text, never a password. */
export function describeSearch(p: SearchParams, controls: readonly Control[]): string {
  return `SearchRequest base ${JSON.stringify(p.base)} scope ${p.scope} filter ${filterToString(p.filter)} attrs ${p.attributes.join(',') || '*'}${p.sizeLimit ? ` sizeLimit ${p.sizeLimit}` : ''}${controls.length ? ` controls ${controls.map((c) => c.type).join(',')}` : ''}`;
}

/** Attributes whose values are binary by definition (RFC 4517/4523 syntaxes without a string form, and common vendor ones). */
const BINARY_ATTRIBUTES = new Set(
  ['jpegphoto', 'photo', 'usercertificate', 'cacertificate', 'authorityrevocationlist', 'certificaterevocationlist', 'crosscertificatepair', 'usersmimecertificate', 'userpkcs12', 'audio', 'objectguid', 'objectsid', 'msexchmailboxguid', 'thumbnailphoto', 'krbprincipalkey', 'sambantpassword', 'sambalmpassword', 'supportedalgorithms', 'deltarevocationlist'],
);

/** RFC 4522 §2: values of `;binary` descriptions and binary syntaxes are binary, as are values that are not UTF-8. */
export function isBinaryAttribute(type: string, values: readonly Uint8Array[]): boolean {
  return attributeJson({ type, values: [...values] }).binary;
}

/** An attribute's values for JSON: text, or base64 when binary (each value decoded once). */
export function attributeJson(a: Attribute): { values: string[]; binary: boolean } {
  const lower = a.type.toLowerCase();
  const semi = lower.indexOf(';');
  const base = semi < 0 ? lower : lower.slice(0, semi);
  if (BINARY_ATTRIBUTES.has(base) || (semi >= 0 && lower.split(';').includes('binary'))) return { values: a.values.map(toBase64), binary: true };
  const values: string[] = [];
  for (const v of a.values) {
    try {
      values.push(fromUtf8(v, true));
    } catch {
      return { values: a.values.map(toBase64), binary: true };
    }
  }
  return { values, binary: false };
}

/** For request values given as text. */
export function valueBytes(v: string | { base64: string }, fromB64: (s: string) => Uint8Array): Uint8Array {
  return typeof v === 'string' ? utf8(v) : fromB64(v.base64);
}
