// The TLS record layer: framing (RFC 8446 §5.1, RFC 5246 §6.2.1) and AEAD record protection for TLS 1.3 (RFC 8446
// §5.2–5.3: TLSInnerPlaintext, per-record nonce from the IV and sequence number) and TLS 1.2 (RFC 5288 §3 AES-GCM
// with an explicit nonce, RFC 7905 §2 ChaCha20-Poly1305 with the 1.3-style nonce; RFC 5246 §6.2.3.3 additional data).
//
// How it works: `recordFrame` cuts whole records off the received bytes (undefined while one is incomplete) and
// refuses lengths past the largest any version allows; the client checks the tighter limit of the version in use.
// A `RecordProtection` holds one direction's key, IV and sequence number and turns plaintext into a record and a
// record back into plaintext; its `maxPlaintext` follows a record_size_limit the peer asked for (RFC 8449).
import { ProtocolError } from '../errors.ts';
import type { Frame } from '../conn.ts';
import { makeAead, type Aead, type Subtle } from './primitives.ts';
import { TlsError } from './errors.ts';
import { AlertDescription, ContentType, MAX_CIPHERTEXT_12, MAX_CIPHERTEXT_13, MAX_PLAINTEXT, TLS12, type CipherSuite } from './wire.ts';

export interface TlsRecord {
  type: number;
  version: number;
  fragment: Uint8Array;
}

const KNOWN_TYPES = new Set<number>([ContentType.changeCipherSpec, ContentType.alert, ContentType.handshake, ContentType.applicationData]);

/**
 * One record from the start of the buffer. Wrong bytes throw ProtocolError with `detail.alert`: an unknown content
 * type or a non-TLS version is unexpected_message or protocol_version (RFC 8446 §5.1); a length past 2^14 + 2048 is
 * record_overflow (§5.2, RFC 5246 §6.2.3).
 */
export const recordFrame: Frame<TlsRecord> = (buf) => {
  if (buf.length < 5) {
    // Fail on the first byte that cannot start a record: a peer that is not speaking TLS is named at once.
    if (buf.length >= 1 && !KNOWN_TYPES.has(buf[0])) throw notTls(buf);
    if (buf.length >= 2 && buf[1] !== 3) throw notTls(buf);
    return undefined;
  }
  const type = buf[0];
  if (!KNOWN_TYPES.has(type) || buf[1] !== 3) throw notTls(buf);
  const version = (buf[1] << 8) | buf[2];
  const length = (buf[3] << 8) | buf[4];
  if (length > MAX_CIPHERTEXT_12) {
    throw new ProtocolError(`TLS record of ${length} bytes exceeds the ${MAX_CIPHERTEXT_12}-byte limit (record_overflow, RFC 5246 §6.2.3)`, { alert: AlertDescription.recordOverflow });
  }
  if (buf.length < 5 + length) return undefined;
  return { value: { type, version, fragment: buf.slice(5, 5 + length) }, size: 5 + length };
};

function notTls(buf: Uint8Array): ProtocolError {
  const head = Array.from(buf.subarray(0, 5), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return new ProtocolError(`the server's bytes are not a TLS record (they start ${head}): it does not speak TLS on this port`, { alert: AlertDescription.unexpectedMessage, notTls: true });
}

/** A plaintext record (before keys, and the ChangeCipherSpec), fragmented at 2^14. */
export function plainRecords(type: number, payload: Uint8Array, version = TLS12): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < payload.length || (at === 0 && payload.length === 0); at += MAX_PLAINTEXT) {
    const part = payload.subarray(at, Math.min(payload.length, at + MAX_PLAINTEXT));
    out.push(recordBytes(type, version, part));
    if (payload.length === 0) break;
  }
  return out;
}

function recordBytes(type: number, version: number, fragment: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + fragment.length);
  out[0] = type;
  out[1] = version >> 8;
  out[2] = version & 0xff;
  out[3] = fragment.length >> 8;
  out[4] = fragment.length & 0xff;
  out.set(fragment, 5);
  return out;
}

/** 8-byte big-endian sequence number. */
function seqBytes(seq: bigint): Uint8Array {
  const out = new Uint8Array(8);
  let v = seq;
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** RFC 8446 §5.3: the IV with the sequence number XORed into its last 8 bytes. */
function xorNonce(iv: Uint8Array, seq: bigint): Uint8Array {
  const nonce = iv.slice();
  const s = seqBytes(seq);
  for (let i = 0; i < 8; i++) nonce[nonce.length - 8 + i] ^= s[i];
  return nonce;
}

/** One direction of a protected connection. */
export interface RecordProtection {
  readonly version: 'TLSv1.2' | 'TLSv1.3';
  /** The largest plaintext one record may carry (2^14, or less when the peer asked with record_size_limit). */
  maxPlaintext: number;
  /** Records protected so far (the next sequence number). */
  readonly sequence: bigint;
  seal(type: number, plaintext: Uint8Array): Promise<Uint8Array>;
  open(record: TlsRecord): Promise<{ type: number; content: Uint8Array }>;
}

const overflow = (what: string) => new TlsError(AlertDescription.recordOverflow, `${what} (record_overflow)`);

/** TLS 1.3 record protection with one traffic key (RFC 8446 §5.2). */
export async function protection13(subtle: Subtle, suite: CipherSuite, key: Uint8Array, iv: Uint8Array): Promise<RecordProtection> {
  const aead = await makeAead(subtle, suite.aead, key);
  return new Protection13(aead, iv);
}

class Protection13 implements RecordProtection {
  readonly version = 'TLSv1.3';
  maxPlaintext = MAX_PLAINTEXT;
  sequence = 0n;

  constructor(
    private readonly aead: Aead,
    private readonly iv: Uint8Array,
  ) {}

  async seal(type: number, plaintext: Uint8Array): Promise<Uint8Array> {
    const inner = new Uint8Array(plaintext.length + 1);
    inner.set(plaintext);
    inner[plaintext.length] = type;
    const length = inner.length + 16;
    const header = Uint8Array.of(ContentType.applicationData, 3, 3, length >> 8, length & 0xff);
    const sealed = await this.aead.seal(xorNonce(this.iv, this.sequence++), header, inner);
    const out = new Uint8Array(5 + sealed.length);
    out.set(header);
    out.set(sealed, 5);
    return out;
  }

  async open(record: TlsRecord): Promise<{ type: number; content: Uint8Array }> {
    if (record.type !== ContentType.applicationData) {
      throw new TlsError(AlertDescription.unexpectedMessage, `an unprotected ${record.type === ContentType.alert ? 'alert' : `record of type ${record.type}`} arrived after keys were in use (RFC 8446 §5.2)`);
    }
    if (record.fragment.length > MAX_CIPHERTEXT_13) throw overflow(`a TLS 1.3 record of ${record.fragment.length} bytes exceeds 2^14 + 256`);
    const n = record.fragment.length;
    const header = Uint8Array.of(record.type, record.version >> 8, record.version & 0xff, n >> 8, n & 0xff);
    const inner = await this.aead.open(xorNonce(this.iv, this.sequence++), header, record.fragment);
    // TLSInnerPlaintext: content ‖ type ‖ zero padding. The type is the last non-zero byte.
    let end = inner.length - 1;
    while (end >= 0 && inner[end] === 0) end--;
    if (end < 0) throw new TlsError(AlertDescription.unexpectedMessage, 'a protected record with no content type (all padding, RFC 8446 §5.4)');
    if (end > MAX_PLAINTEXT) throw overflow(`a TLS 1.3 record carried ${end} bytes of plaintext, more than 2^14`);
    return { type: inner[end], content: inner.subarray(0, end) };
  }
}

/** TLS 1.2 AEAD record protection (RFC 5246 §6.2.3.3 with RFC 5288 or RFC 7905 nonces). */
export async function protection12(subtle: Subtle, suite: CipherSuite, key: Uint8Array, iv: Uint8Array): Promise<RecordProtection> {
  const aead = await makeAead(subtle, suite.aead, key);
  return new Protection12(aead, iv, suite.aead !== 'CHACHA20-POLY1305');
}

class Protection12 implements RecordProtection {
  readonly version = 'TLSv1.2';
  maxPlaintext = MAX_PLAINTEXT;
  sequence = 0n;

  constructor(
    private readonly aead: Aead,
    private readonly iv: Uint8Array,
    /** AES-GCM: a 4-byte salt and an 8-byte explicit nonce in each record; ChaCha20-Poly1305: the 12-byte IV XOR seq. */
    private readonly explicitNonce: boolean,
  ) {}

  private aad(seq: Uint8Array, type: number, length: number): Uint8Array {
    const aad = new Uint8Array(13);
    aad.set(seq);
    aad[8] = type;
    aad[9] = 3;
    aad[10] = 3;
    aad[11] = length >> 8;
    aad[12] = length & 0xff;
    return aad;
  }

  async seal(type: number, plaintext: Uint8Array): Promise<Uint8Array> {
    const seq = this.sequence++;
    const seqB = seqBytes(seq);
    const aad = this.aad(seqB, type, plaintext.length);
    const nonce = this.explicitNonce ? concat2(this.iv, seqB) : xorNonce(this.iv, seq);
    const sealed = await this.aead.seal(nonce, aad, plaintext);
    const explicit = this.explicitNonce ? 8 : 0;
    const length = explicit + sealed.length;
    const out = new Uint8Array(5 + length);
    out.set([type, 3, 3, length >> 8, length & 0xff]);
    if (explicit) out.set(seqB, 5);
    out.set(sealed, 5 + explicit);
    return out;
  }

  async open(record: TlsRecord): Promise<{ type: number; content: Uint8Array }> {
    if (record.fragment.length > MAX_CIPHERTEXT_12) throw overflow(`a TLS 1.2 record of ${record.fragment.length} bytes exceeds 2^14 + 2048`);
    const seq = this.sequence++;
    const seqB = seqBytes(seq);
    let nonce: Uint8Array;
    let body = record.fragment;
    if (this.explicitNonce) {
      if (body.length < 8 + 16) throw new TlsError(AlertDescription.badRecordMac, 'a protected record too short for its nonce and tag (bad_record_mac)');
      nonce = concat2(this.iv, body.subarray(0, 8));
      body = body.subarray(8);
    } else {
      if (body.length < 16) throw new TlsError(AlertDescription.badRecordMac, 'a protected record too short for its tag (bad_record_mac)');
      nonce = xorNonce(this.iv, seq);
    }
    const content = await this.aead.open(nonce, this.aad(seqB, record.type, body.length - 16), body);
    if (content.length > MAX_PLAINTEXT) throw overflow(`a TLS 1.2 record carried ${content.length} bytes of plaintext, more than 2^14`);
    return { type: record.type, content };
  }
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
