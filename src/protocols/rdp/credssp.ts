// CredSSP, MS-CSSP: the TSRequest (2.2.1), TSCredentials and TSPasswordCreds (2.2.1.2), DER-encoded with core's BER
// code, and the public-key binding of 3.1.5: what the client seals into pubKeyAuth and what the server must give back.
//
// How it works: TSRequest ::= SEQUENCE { version [0] INTEGER, negoTokens [1] NegoData OPTIONAL, authInfo [2] OCTET
// STRING OPTIONAL, pubKeyAuth [3] OCTET STRING OPTIONAL, errorCode [4] INTEGER OPTIONAL, clientNonce [5] OCTET STRING
// OPTIONAL }, each field explicitly tagged; NegoData is a SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING }. From
// version 5 on, pubKeyAuth seals SHA-256(magic ‖ clientNonce ‖ SubjectPublicKey) instead of the key itself, and the
// server proves it holds the session key by answering with the server-to-client hash (before version 5: the key
// with its first byte plus one).
import { BerReader, UniversalTag, decodeInteger, explicit, integer, octetString, sequence, type Tlv } from '../../core/ber.ts';
import { concat, equalBytes, toHex, utf8 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { ProtocolError } from '../../core/errors.ts';
import { parseCertificate } from '../../core/tls/x509.ts';
import { utf16le } from '../dcerpc/ntlmssp.ts';
import { statusName } from '../smb/codec.ts';

export interface TsRequest {
  version: number;
  negoTokens: Uint8Array[];
  authInfo?: Uint8Array;
  pubKeyAuth?: Uint8Array;
  /** An NTSTATUS (version 3 and later), unsigned. */
  errorCode?: number;
  clientNonce?: Uint8Array;
}

/** The TSRequest versions a client may announce (MS-CSSP 2.2.1: 2 to 6). */
export const CREDSSP_VERSIONS = [2, 3, 4, 5, 6] as const;

export function encodeTsRequest(r: TsRequest): Uint8Array {
  const fields = [explicit(0, integer(r.version))];
  if (r.negoTokens.length > 0) fields.push(explicit(1, sequence(r.negoTokens.map((t) => sequence([explicit(0, octetString(t))])))));
  if (r.authInfo) fields.push(explicit(2, octetString(r.authInfo)));
  if (r.pubKeyAuth) fields.push(explicit(3, octetString(r.pubKeyAuth)));
  if (r.errorCode !== undefined) fields.push(explicit(4, integer(r.errorCode | 0)));
  if (r.clientNonce) fields.push(explicit(5, octetString(r.clientNonce)));
  return sequence(fields);
}

/** The one universal value inside an explicit [n] tag. */
function inner(t: Tlv, reader: BerReader, field: string, tag: number): Uint8Array {
  const r = new BerReader(t.value, `${reader.what} ${field}`, reader.depth + 1);
  const v = r.expect(field, tag);
  r.end();
  return v.value;
}

export function decodeTsRequest(bytes: Uint8Array): TsRequest {
  const top = new BerReader(bytes, 'TSRequest');
  const r = top.sequence('TSRequest');
  top.end();
  const out: TsRequest = { version: 0, negoTokens: [] };
  let sawVersion = false;
  while (!r.done) {
    const t = r.next('field');
    if (t.cls !== 'context' || !t.constructed) throw new ProtocolError(`TSRequest: unexpected ${t.cls} tag ${t.tag}`);
    if (t.tag === 0) {
      const v = decodeInteger(inner(t, r, 'version', UniversalTag.integer), 'version');
      if (typeof v !== 'number' || v < 1 || v > 255) throw new ProtocolError(`TSRequest: version ${v}`);
      out.version = v;
      sawVersion = true;
    } else if (t.tag === 1) {
      const list = new BerReader(inner(t, r, 'negoTokens', UniversalTag.sequence), 'TSRequest negoTokens', r.depth + 2);
      for (let n = 0; !list.done; n++) {
        if (n >= 8) throw new ProtocolError('TSRequest: more than 8 negoTokens');
        const item = list.sequence('NegoDataItem');
        out.negoTokens.push(item.sequence('negoToken', 0, 'context').octets('negoToken'));
      }
    } else if (t.tag === 2) out.authInfo = inner(t, r, 'authInfo', UniversalTag.octetString);
    else if (t.tag === 3) out.pubKeyAuth = inner(t, r, 'pubKeyAuth', UniversalTag.octetString);
    else if (t.tag === 4) {
      const v = decodeInteger(inner(t, r, 'errorCode', UniversalTag.integer), 'errorCode');
      out.errorCode = typeof v === 'bigint' ? Number(v & 0xffffffffn) : v >>> 0;
    } else if (t.tag === 5) out.clientNonce = inner(t, r, 'clientNonce', UniversalTag.octetString);
  }
  if (!sawVersion) throw new ProtocolError('TSRequest without a version');
  return out;
}

/** NTSTATUS names for what CredSSP servers put in errorCode, and SSPI's SEC_E codes that some send instead. */
const SEC_E: Record<number, string> = {
  0x8009030c: 'SEC_E_LOGON_DENIED',
  0x8009030e: 'SEC_E_NO_CREDENTIALS',
  0x80090308: 'SEC_E_INVALID_TOKEN',
  0x80090302: 'SEC_E_UNSUPPORTED_FUNCTION',
  0x80090322: 'SEC_E_WRONG_PRINCIPAL',
  0x8009035e: 'SEC_E_BAD_BINDINGS',
  0x80090311: 'SEC_E_NO_AUTHENTICATING_AUTHORITY',
};

export function errorCodeName(code: number): string {
  return SEC_E[code] ?? statusName(code);
}

/** The transcript line for a TSRequest: every field, the tokens by their NTLM message type, secrets by size only. */
export function describeTsRequest(r: TsRequest, ntlm: (token: Uint8Array) => string): string {
  const parts = [`TSRequest v${r.version}`];
  if (r.negoTokens.length) parts.push(`negoTokens [${r.negoTokens.map(ntlm).join(', ')}]`);
  if (r.pubKeyAuth) parts.push(`pubKeyAuth (${r.pubKeyAuth.length} bytes, sealed)`);
  if (r.authInfo) parts.push(`authInfo (${r.authInfo.length} bytes, sealed TSCredentials)`);
  if (r.errorCode !== undefined) parts.push(`errorCode 0x${r.errorCode.toString(16).padStart(8, '0')} ${errorCodeName(r.errorCode)}`);
  if (r.clientNonce) parts.push(`clientNonce ${toHex(r.clientNonce)}`);
  return parts.join(', ');
}

/** TSCredentials { credType 1 (password), credentials: TSPasswordCreds { domainName, userName, password } }, UTF-16LE. */
export function encodeTsCredentials(c: { domain: string; user: string; password: string }): Uint8Array {
  const creds = sequence([explicit(0, octetString(utf16le(c.domain))), explicit(1, octetString(utf16le(c.user))), explicit(2, octetString(utf16le(c.password)))]);
  return sequence([explicit(0, integer(1)), explicit(1, octetString(creds))]);
}

/** The SubjectPublicKey of a certificate: the contents of the SPKI's BIT STRING, without its unused-bits octet (3.1.5). */
export function subjectPublicKey(certificateDer: Uint8Array): Uint8Array {
  const spki = new BerReader(parseCertificate(certificateDer).publicKey.spki, 'SubjectPublicKeyInfo').sequence('SubjectPublicKeyInfo');
  spki.sequence('algorithm');
  const bits = spki.expect('subjectPublicKey', UniversalTag.bitString).value;
  if (bits.length < 2 || bits[0] !== 0) throw new ProtocolError('SubjectPublicKeyInfo: the key BIT STRING is empty or not whole octets');
  return bits.subarray(1);
}

const CLIENT_MAGIC = utf8('CredSSP Client-To-Server Binding Hash\0');
const SERVER_MAGIC = utf8('CredSSP Server-To-Client Binding Hash\0');

/** What the client seals into pubKeyAuth (3.1.5 steps 3 and 5). */
export async function clientBinding(crypto: CryptoPort, version: number, publicKey: Uint8Array, nonce: Uint8Array | undefined): Promise<Uint8Array> {
  if (version >= 5) return crypto.digest('SHA-256', concat([CLIENT_MAGIC, nonce!, publicKey]));
  return publicKey;
}

/** Whether the server's unsealed pubKeyAuth is the answer 3.1.5 asks of the server that holds the session key. */
export async function serverBindingMatches(crypto: CryptoPort, version: number, publicKey: Uint8Array, nonce: Uint8Array | undefined, got: Uint8Array): Promise<boolean> {
  if (version >= 5) return equalBytes(got, await crypto.digest('SHA-256', concat([SERVER_MAGIC, nonce!, publicKey])));
  const expected = publicKey.slice();
  expected[0] = (expected[0] + 1) & 0xff;
  return equalBytes(got, expected);
}
