// SCRAM-SHA-256 client (RFC 5802 section 3 and 5, RFC 7677), as PostgreSQL uses it (docs 55.3 "SASL Authentication"); SCRAM-SHA-512 and a named user for Kafka.
//
// How it works: `start()` gives the client-first-message; `respond(serverFirst)` checks the
// server's nonce extends ours, derives SaltedPassword with PBKDF2 (WebCrypto), and gives the
// client-final-message with the proof; `verify(serverFinal)` checks the server's signature, so a
// server that does not know the password cannot pretend to. SCRAM-SHA-256-PLUS (RFC 5802 §6, RFC 7677) binds the
// exchange to the TLS connection: the gs2 header names tls-server-end-point and the final message carries the
// hash of the server's certificate (RFC 5929), so a man in the middle with another certificate cannot relay the
// proof. Without binding data the gs2 header is "n,,".
import { fromBase64, fromUtf8, toBase64, utf8 } from '../../core/bytes.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, ProtocolError } from '../../core/errors.ts';

const MAX_ITERATIONS = 1_000_000;
/** RFC 5929 §4.1 channel binding data (the hash of the server certificate), for SCRAM-SHA-256-PLUS. */
export interface ChannelBinding {
  type: 'tls-server-end-point';
  data: Uint8Array;
}

/** RFC 4013 SASLprep, approximated by NFKC with non-ASCII spaces mapped to space; PostgreSQL falls back to the raw bytes when prep fails. */
export function saslPrep(password: string): string {
  if (/^[\x20-\x7e]*$/.test(password)) return password;
  return password.replace(/[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g, ' ').replace(/[\u00ad\u200b\u2060\ufeff\u034f\u180b-\u180d\ufe00-\ufe0f]/g, '').normalize('NFKC');
}

function parseAttributes(text: string, what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m) throw new ProtocolError(`SCRAM ${what} is malformed near ${JSON.stringify(part.slice(0, 20))}`);
    if (!out.has(m[1])) out.set(m[1], m[2]);
  }
  return out;
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** RFC 5802 5.1 saslname: "=" and "," escaped as =3D and =2C. */
function saslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

export interface ScramOptions {
  /** SCRAM-SHA-256 (default) or SCRAM-SHA-512 (RFC 7677; Kafka offers both). */
  hash?: 'SHA-256' | 'SHA-512';
  /** The n= user name; empty when the protocol names the user elsewhere (PostgreSQL's startup packet). */
  username?: string;
}

export class ScramClient {
  private readonly nonce: string;
  private readonly hash: 'SHA-256' | 'SHA-512';
  private readonly username: string;
  private clientFirstBare = '';
  private expectedServerSignature?: Uint8Array;

  private readonly gs2Header: string;

  constructor(
    private readonly crypto: CryptoPort,
    private readonly password: string,
    nonce?: string,
    private readonly binding?: ChannelBinding,
    opts: ScramOptions = {},
  ) {
    this.hash = opts.hash ?? 'SHA-256';
    this.username = opts.username ?? '';
    this.nonce = nonce ?? toBase64(crypto.randomBytes(18));
    this.gs2Header = binding ? `p=${binding.type},,` : 'n,,';
  }

  /** RFC 5802 5.1 client-first-message. PostgreSQL takes the user from the startup packet, so n= is empty there. */
  start(): Uint8Array {
    this.clientFirstBare = `n=${saslName(this.username)},r=${this.nonce}`;
    return utf8(this.gs2Header + this.clientFirstBare);
  }

  /** RFC 5802 3: from server-first-message to client-final-message. */
  async respond(serverFirstBytes: Uint8Array): Promise<Uint8Array> {
    const serverFirst = fromUtf8(serverFirstBytes, true, 'SCRAM server-first-message');
    const attrs = parseAttributes(serverFirst, 'server-first-message');
    if (attrs.has('m')) throw new ProtocolError('SCRAM server-first-message asks for an extension (m=) this client does not know');
    const nonce = attrs.get('r');
    const saltB64 = attrs.get('s');
    const iterText = attrs.get('i');
    if (!nonce || saltB64 === undefined || !iterText) throw new ProtocolError('SCRAM server-first-message lacks r, s or i');
    // RFC 5802 5.1: the server's nonce starts with the client's.
    if (!nonce.startsWith(this.nonce) || nonce.length <= this.nonce.length) throw new ProtocolError('SCRAM server nonce does not extend the client nonce');
    const iterations = Number(iterText);
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) throw new ProtocolError(`SCRAM iteration count ${JSON.stringify(iterText)} is outside 1–${MAX_ITERATIONS}`);
    const salt = fromBase64(saltB64);
    const subtle = this.crypto.subtle;
    const key = await subtle.importKey('raw', utf8(saslPrep(this.password)) as BufferSource, 'PBKDF2', false, ['deriveBits']);
    const h = this.hash;
    const salted = new Uint8Array(await subtle.deriveBits({ name: 'PBKDF2', hash: h, salt: salt as BufferSource, iterations }, key, h === 'SHA-512' ? 512 : 256));
    const clientKey = await this.crypto.hmac(h, salted, utf8('Client Key'));
    const storedKey = await this.crypto.digest(h, clientKey);
    // RFC 5802 §7: c= is the gs2 header followed by the channel binding data, base64.
    const cbind = this.binding ? new Uint8Array([...utf8(this.gs2Header), ...this.binding.data]) : utf8(this.gs2Header);
    const finalWithoutProof = `c=${toBase64(cbind)},r=${nonce}`;
    const authMessage = utf8(`${this.clientFirstBare},${serverFirst},${finalWithoutProof}`);
    const clientSignature = await this.crypto.hmac(h, storedKey, authMessage);
    const proof = xor(clientKey, clientSignature);
    const serverKey = await this.crypto.hmac(h, salted, utf8('Server Key'));
    this.expectedServerSignature = await this.crypto.hmac(h, serverKey, authMessage);
    return utf8(`${finalWithoutProof},p=${toBase64(proof)}`);
  }

  /** RFC 5802 3: the server-final-message must carry the expected ServerSignature (v=) or an error (e=). */
  verify(serverFinalBytes: Uint8Array): void {
    const attrs = parseAttributes(fromUtf8(serverFinalBytes, true, 'SCRAM server-final-message'), 'server-final-message');
    const err = attrs.get('e');
    if (err !== undefined) throw new AuthError(`SCRAM: server says ${err}`);
    const v = attrs.get('v');
    if (v === undefined || !this.expectedServerSignature) throw new ProtocolError('SCRAM server-final-message has no verifier');
    const got = fromBase64(v);
    const want = this.expectedServerSignature;
    if (got.length !== want.length || got.some((b, i) => b !== want[i])) {
      throw new AuthError('SCRAM: the server signature does not match; the server does not know the password (possible impostor)');
    }
  }
}
