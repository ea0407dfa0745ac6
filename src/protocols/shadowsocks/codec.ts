// Shadowsocks AEAD (SIP004, as shadowsocks-libev implements it): the master key from the password
// (OpenSSL's EVP_BytesToKey with MD5), a per-direction subkey HKDF-SHA1(key, salt, "ss-subkey"), and a
// stream of chunks — encrypted 2-byte length + tag, encrypted payload + tag — under a little-endian
// counter nonce. The first payload starts with the target address in SOCKS5 form. Sans I/O: the
// AEAD itself is passed in (WebCrypto's AES-GCM, @noble's ChaCha20-Poly1305).
import { ByteWriter, concat, utf8 } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { parseIp } from '../../core/ip.ts';

export const METHODS = {
  'chacha20-ietf-poly1305': { keyLength: 32, saltLength: 32 },
  'aes-256-gcm': { keyLength: 32, saltLength: 32 },
  'aes-128-gcm': { keyLength: 16, saltLength: 16 },
} as const;

export type Method = keyof typeof METHODS;

export const TAG = 16;
/** SIP004: a payload chunk holds at most 0x3FFF bytes. */
export const MAX_PAYLOAD = 0x3fff;
export const SUBKEY_INFO = utf8('ss-subkey');

/** OpenSSL EVP_BytesToKey(MD5, no salt, 1 round): D_i = MD5(D_{i-1} || password), concatenated to keyLength. */
export function bytesToKey(password: string, keyLength: number, md5: (b: Uint8Array) => Uint8Array): Uint8Array {
  const pw = utf8(password);
  const parts: Uint8Array[] = [];
  let prev = new Uint8Array(0);
  let have = 0;
  while (have < keyLength) {
    prev = md5(concat([prev, pw])) as Uint8Array<ArrayBuffer>;
    parts.push(prev);
    have += prev.length;
  }
  return concat(parts).slice(0, keyLength);
}

/** The 12-byte nonce for the n-th AEAD operation in one direction: n little-endian. */
export function nonce(n: number): Uint8Array {
  const out = new Uint8Array(12);
  let v = n;
  for (let i = 0; i < 6 && v > 0; i++) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

/** SOCKS5-style address (RFC 1928 section 5): ATYP, address, port. */
export function encodeTarget(host: string, port: number): Uint8Array {
  const ip = parseIp(host);
  const w = new ByteWriter(260);
  if (ip && ip.zone === undefined) w.u8(ip.family === 4 ? 1 : 4).bytes(ip.bytes);
  else {
    const name = utf8(host);
    if (name.length < 1 || name.length > 255) throw InvalidInput.field('targetHost', 'a name is 1–255 bytes');
    w.u8(3).lengthPrefixed('u8', name);
  }
  return w.u16(port).finish();
}

/** The AEAD of one direction: seal and open under the subkey, each call taking the next nonce. */
export interface Aead {
  seal(nonce: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  open(nonce: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

/** One direction's state: the counter that makes each nonce. */
export class Direction {
  private counter = 0;
  constructor(private readonly aead: Aead) {}

  /** Payload chunks (SIP004): [len + tag][payload + tag] for each piece of at most 0x3FFF bytes. */
  async seal(payload: Uint8Array): Promise<Uint8Array> {
    const out: Uint8Array[] = [];
    for (let at = 0; at < payload.length || (at === 0 && payload.length === 0); at += MAX_PAYLOAD) {
      const piece = payload.subarray(at, at + MAX_PAYLOAD);
      out.push(await this.aead.seal(nonce(this.counter++), new ByteWriter(2).u16(piece.length).finish()));
      out.push(await this.aead.seal(nonce(this.counter++), piece));
      if (payload.length === 0) break;
    }
    return concat(out);
  }

  /** The payload length of the next chunk, from its 18 encrypted bytes. */
  async openLength(bytes: Uint8Array): Promise<number> {
    const plain = await this.open(bytes, 'chunk length');
    const len = ((plain[0] << 8) | plain[1]) & 0xffff;
    if (len > MAX_PAYLOAD) throw new ProtocolError(`Shadowsocks chunk length ${len} exceeds 0x3FFF`);
    return len;
  }

  open(bytes: Uint8Array, what = 'chunk payload'): Promise<Uint8Array> {
    return this.aead.open(nonce(this.counter++), bytes).catch(() => {
      throw new ProtocolError(`Shadowsocks ${what} failed to decrypt: wrong password or cipher, or the stream was altered`);
    });
  }
}
