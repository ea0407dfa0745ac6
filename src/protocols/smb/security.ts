// SMB2/3 message security, [MS-SMB2] §3.1.4: the preauth integrity hash (§3.2.5.2, SHA-512), key derivation
// (§3.1.4.2, SP800-108 counter mode with HMAC-SHA256), signing (HMAC-SHA256 for 2.x, AES-CMAC for 3.0, AES-GMAC
// for 3.1.1 when negotiated) and encryption with the transform header (AES-GCM and AES-CCM, §3.1.4.3); and the SPNEGO
// wrapping of NTLMSSP in SESSION_SETUP (RFC 4178).
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { BerReader, oid, octetString, sequence, tlv } from '../../core/ber.ts';
import { ByteWriter, concat, equalBytes } from '../../core/bytes.ts';
import { aesCcm } from '../../core/ccm.ts';
import { ProtocolError } from '../../core/errors.ts';
import { cipherName, CIPHERS, decodeTransform, FLAGS, SIGNING_ALGORITHMS, transformHeader, TRANSFORM_HEADER_SIZE } from './codec.ts';

/** §3.2.5.2: H(i) = SHA-512(H(i-1) ‖ message), from 64 zero bytes. */
export function preauthStep(hash: Uint8Array, message: Uint8Array): Uint8Array {
  return sha512(concat([hash, message]));
}

export const PREAUTH_START = new Uint8Array(64);

const ascii0 = (s: string) => Uint8Array.from(`${s}\0`, (c) => c.charCodeAt(0));

/** §3.1.4.2: KDF in counter mode, PRF HMAC-SHA256, r = 32, one iteration (L ≤ 256). */
export function kdf(key: Uint8Array, label: Uint8Array, context: Uint8Array, bits: 128 | 256): Uint8Array {
  const input = new ByteWriter(64 + label.length + context.length).u32(1).bytes(label).u8(0).bytes(context).u32(bits).finish();
  return hmac(sha256, key, input).subarray(0, bits / 8);
}

export interface SessionKeys {
  signing: Uint8Array;
  /** Client to server. */
  encryption: Uint8Array;
  /** Server to client. */
  decryption: Uint8Array;
}

/** §3.2.5.3.1: the session's keys for a dialect, from the authentication's session key. */
export function deriveKeys(dialect: number, sessionKey: Uint8Array, preauthHash: Uint8Array, cipher: number | null): SessionKeys {
  const key = sessionKey.length >= 16 ? sessionKey.subarray(0, 16) : concat([sessionKey, new Uint8Array(16 - sessionKey.length)]);
  if (dialect < 0x0300) return { signing: key, encryption: new Uint8Array(0), decryption: new Uint8Array(0) };
  const bits = cipher === CIPHERS['AES-256-GCM'] || cipher === CIPHERS['AES-256-CCM'] ? 256 : 128;
  if (dialect === 0x0311) {
    return {
      signing: kdf(key, ascii0('SMBSigningKey'), preauthHash, 128),
      encryption: kdf(key, ascii0('SMBC2SCipherKey'), preauthHash, bits),
      decryption: kdf(key, ascii0('SMBS2CCipherKey'), preauthHash, bits),
    };
  }
  return {
    signing: kdf(key, ascii0('SMB2AESCMAC'), ascii0('SmbSign'), 128),
    encryption: kdf(key, ascii0('SMB2AESCCM'), ascii0('ServerIn '), 128),
    decryption: kdf(key, ascii0('SMB2AESCCM'), ascii0('ServerOut'), 128),
  };
}

export type SigningAlgorithm = 'HMAC-SHA256' | 'AES-CMAC' | 'AES-GMAC';

/** The signing algorithm of a dialect (§3.1.4.1): the negotiated one for 3.1.1, else by dialect. */
export function signingAlgorithmOf(dialect: number, negotiated: number | null): SigningAlgorithm {
  if (dialect < 0x0300) return 'HMAC-SHA256';
  if (dialect === 0x0311 && negotiated === SIGNING_ALGORITHMS['AES-GMAC']) return 'AES-GMAC';
  return 'AES-CMAC';
}

/** The GMAC nonce of a message (§3.1.4.1): its MessageId, then a word whose bit 0 says server-to-client and bit 1 CANCEL. */
export function gmacNonce(message: Uint8Array): Uint8Array {
  const dv = new DataView(message.buffer, message.byteOffset, message.length);
  const flags = dv.getUint32(16, true);
  const command = dv.getUint16(12, true);
  return new ByteWriter(12)
    .bytes(message.subarray(24, 32))
    .u32le((flags & FLAGS.serverToRedir ? 1 : 0) | (command === 12 ? 2 : 0))
    .finish();
}

export function isGcm(cipher: number): boolean {
  return cipher === CIPHERS['AES-128-GCM'] || cipher === CIPHERS['AES-256-GCM'];
}

/** Bytes of the transform header's nonce field a cipher uses (§2.2.41): 12 for AES-GCM, 11 for AES-CCM. */
export function nonceLength(cipher: number): number {
  return isGcm(cipher) ? 12 : 11;
}

const BLOCK = 16;

/** RFC 4493 §2.3: the CMAC subkey of one block, doubled in GF(2^128). */
function double(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((block[i] << 1) | (i + 1 < BLOCK ? block[i + 1] >> 7 : 0)) & 0xff;
  if (block[0] & 0x80) out[BLOCK - 1] ^= 0x87;
  return out;
}

/**
 * A session's message security on WebCrypto (native AES and SHA-2 on every host): signing and checking in the
 * session's algorithm, sealing and opening transform messages in its cipher. AES-CMAC (RFC 4493) is AES-CBC from
 * a zero IV over all but the last block, then that block tweaked by a subkey; AES-GMAC is AES-GCM with the
 * message as associated data and nothing to encrypt; AES-CCM is core/ccm.ts.
 */
export interface MessageSecurity {
  sign(message: Uint8Array): Promise<void>;
  verify(message: Uint8Array): Promise<boolean>;
  /** The 16-byte signature of a message whose signature field (bytes 48..64) is zero. */
  signature(message: Uint8Array): Promise<Uint8Array>;
  seal(nonce: Uint8Array, sessionId: bigint, message: Uint8Array): Promise<Uint8Array>;
  open(transform: Uint8Array, sessionId: bigint): Promise<Uint8Array>;
}

export async function messageSecurity(subtle: SubtleCrypto, alg: SigningAlgorithm, keys: SessionKeys, cipher: number | null): Promise<MessageSecurity> {
  const raw = keys.signing as BufferSource;
  let signature: (message: Uint8Array) => Promise<Uint8Array>;
  if (alg === 'HMAC-SHA256') {
    const k = await subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    signature = async (m) => new Uint8Array(await subtle.sign('HMAC', k, m as BufferSource)).subarray(0, 16);
  } else if (alg === 'AES-GMAC') {
    const k = await subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt']);
    signature = async (m) => new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: gmacNonce(m) as BufferSource, additionalData: m as BufferSource }, k, new Uint8Array(0)));
  } else {
    const k = await subtle.importKey('raw', raw, 'AES-CBC', false, ['encrypt']);
    const zero = new Uint8Array(BLOCK);
    const l = new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv: zero }, k, zero)).subarray(0, BLOCK);
    const k1 = double(l);
    const k2 = double(k1);
    signature = async (m) => {
      const whole = m.length > 0 && m.length % BLOCK === 0;
      const lastAt = whole ? m.length - BLOCK : m.length - (m.length % BLOCK);
      const last = new Uint8Array(BLOCK);
      last.set(m.subarray(lastAt));
      if (!whole) last[m.length - lastAt] = 0x80;
      const sub = whole ? k1 : k2;
      for (let i = 0; i < BLOCK; i++) last[i] ^= sub[i];
      let chain = zero;
      if (lastAt > 0) {
        const out = new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv: zero }, k, m.subarray(0, lastAt) as BufferSource));
        chain = out.subarray(lastAt - BLOCK, lastAt);
      }
      return new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv: chain as BufferSource }, k, last)).subarray(0, BLOCK);
    };
  }
  let seal: MessageSecurity['seal'] = () => Promise.reject(new ProtocolError('SMB: encryption without a negotiated cipher'));
  let open: (nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array) => Promise<Uint8Array | null> = () => Promise.resolve(null);
  if (cipher !== null) {
    const wrap = (header: Uint8Array, sealed: Uint8Array, size: number) => {
      const out = new Uint8Array(TRANSFORM_HEADER_SIZE + size);
      out.set(header);
      out.set(sealed.subarray(size), 4);
      out.set(sealed.subarray(0, size), TRANSFORM_HEADER_SIZE);
      return out;
    };
    if (isGcm(cipher)) {
      const enc = await subtle.importKey('raw', keys.encryption as BufferSource, 'AES-GCM', false, ['encrypt']);
      const dec = await subtle.importKey('raw', keys.decryption as BufferSource, 'AES-GCM', false, ['decrypt']);
      seal = async (nonce, sessionId, message) => {
        const header = transformHeader(concat([nonce, new Uint8Array(16 - nonce.length)]), message.length, sessionId);
        const sealed = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce as BufferSource, additionalData: header.subarray(20) as BufferSource }, enc, message as BufferSource));
        return wrap(header, sealed, message.length);
      };
      open = (nonce, aad, sealed) => subtle.decrypt({ name: 'AES-GCM', iv: nonce as BufferSource, additionalData: aad as BufferSource }, dec, sealed as BufferSource).then((b) => new Uint8Array(b), () => null);
    } else {
      const enc = await aesCcm(subtle, keys.encryption);
      const dec = await aesCcm(subtle, keys.decryption);
      seal = async (nonce, sessionId, message) => {
        const header = transformHeader(concat([nonce, new Uint8Array(16 - nonce.length)]), message.length, sessionId);
        return wrap(header, await enc.seal(nonce, header.subarray(20), message), message.length);
      };
      open = (nonce, aad, sealed) => dec.open(nonce, aad, sealed);
    }
  }
  return {
    signature,
    async sign(message) {
      const dv = new DataView(message.buffer, message.byteOffset, message.length);
      dv.setUint32(16, dv.getUint32(16, true) | FLAGS.signed, true);
      message.fill(0, 48, 64);
      message.set(await signature(message), 48);
    },
    async verify(message) {
      // The signature is computed over the message with its signature field zeroed: zeroed in place and put back,
      // rather than copying a message of up to a MiB.
      const got = message.slice(48, 64);
      message.fill(0, 48, 64);
      try {
        return equalBytes(await signature(message), got);
      } finally {
        message.set(got, 48);
      }
    },
    seal,
    async open(transform, sessionId) {
      const t = decodeTransform(transform);
      if (t.sessionId !== sessionId) throw new ProtocolError(`SMB: an encrypted message for session 0x${t.sessionId.toString(16)}, not this one`);
      if (t.flags !== 1) throw new ProtocolError(`SMB: transform header Flags ${t.flags}, expected 1 (encrypted)`);
      if (cipher === null) throw new ProtocolError('SMB: an encrypted message, and the negotiation settled on no cipher');
      const plain = await open(t.nonce.subarray(0, nonceLength(cipher)), t.aad, concat([t.ciphertext, t.signature]));
      if (plain === null) throw new ProtocolError(`SMB: an encrypted message failed authentication (${cipherName(cipher)} tag mismatch): the keys differ or the message was altered`);
      return plain;
    },
  };
}

// SPNEGO, RFC 4178 §4.2: NegTokenInit carrying the first NTLMSSP token; NegTokenResp carrying the rest.

const SPNEGO_OID = '1.3.6.1.5.5.2';
export const NTLMSSP_OID = '1.3.6.1.4.1.311.2.2.10';

export function spnegoInit(ntlmToken: Uint8Array): Uint8Array {
  const negTokenInit = sequence([tlv(0, sequence([oid(NTLMSSP_OID)]), 'context', true), tlv(2, octetString(ntlmToken), 'context', true)]);
  return tlv(0, concat([oid(SPNEGO_OID), tlv(0, negTokenInit, 'context', true)]), 'application', true);
}

export function spnegoResponse(ntlmToken: Uint8Array): Uint8Array {
  return tlv(1, sequence([tlv(2, octetString(ntlmToken), 'context', true)]), 'context', true);
}

export const NEG_STATE: Record<number, string> = { 0: 'accept-completed', 1: 'accept-incomplete', 2: 'reject', 3: 'request-mic' };

/** A NegTokenResp: its state, the mechanism the server chose, and the token inside. */
export function decodeSpnegoResponse(blob: Uint8Array): { state: number | null; mech: string | null; token: Uint8Array | null } {
  const outer = new BerReader(blob, 'SPNEGO');
  const resp = outer.sequence('negTokenResp', 1, 'context').sequence('NegTokenResp');
  const out: { state: number | null; mech: string | null; token: Uint8Array | null } = { state: null, mech: null, token: null };
  while (!resp.done) {
    const t = resp.next('NegTokenResp field');
    if (t.cls !== 'context') continue;
    const inner = new BerReader(t.value, 'SPNEGO field', 2);
    if (t.tag === 0) out.state = inner.enumerated('negState');
    else if (t.tag === 1) out.mech = inner.oid('supportedMech');
    else if (t.tag === 2) out.token = inner.octets('responseToken');
  }
  return out;
}

/** The mechanisms a server lists in its NEGOTIATE response's NegTokenInit2 ([MS-SPNG] §2.2.1). */
export function decodeSpnegoMechs(blob: Uint8Array): string[] {
  if (blob.length === 0) return [];
  const outer = new BerReader(blob, 'SPNEGO').sequence('InitialContextToken', 0, 'application');
  if (outer.oid('thisMech') !== SPNEGO_OID) return [];
  const init = outer.sequence('negTokenInit', 0, 'context').sequence('NegTokenInit');
  const mechs: string[] = [];
  while (!init.done) {
    const t = init.next('NegTokenInit field');
    if (t.cls === 'context' && t.tag === 0) {
      const list = new BerReader(t.value, 'mechTypes', 2).sequence('MechTypeList');
      for (let i = 0; i < 32 && !list.done; i++) mechs.push(list.oid('MechType'));
    }
  }
  return mechs;
}

export const MECH_NAMES: Record<string, string> = {
  [NTLMSSP_OID]: 'NTLMSSP',
  '1.2.840.113554.1.2.2': 'Kerberos 5',
  '1.2.840.48018.1.2.2': 'Kerberos 5 (Microsoft)',
  '1.2.840.113554.1.2.2.3': 'Kerberos 5 user-to-user',
  '1.3.6.1.4.1.311.2.2.30': 'NEGOEX',
};
