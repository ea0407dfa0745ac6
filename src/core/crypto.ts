// The crypto port: WebCrypto (present in workerd, Node and browsers) plus what it lacks, from @noble.
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { md5 as nobleMd5, sha1 as nobleSha1 } from '@noble/hashes/legacy.js';

export type HashName = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface CryptoPort {
  readonly subtle: SubtleCrypto;
  randomBytes(n: number): Uint8Array;
  digest(hash: HashName, data: Uint8Array): Promise<Uint8Array>;
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** MD5, for protocols that still require it (CRAM-MD5, PostgreSQL md5, APOP). */
  md5(data: Uint8Array): Uint8Array;
  sha1Sync(data: Uint8Array): Uint8Array;
  /** HMAC-MD5 (RFC 2104), which WebCrypto lacks: RADIUS Message-Authenticator, NTLMv2, Kerberos RC4. */
  hmacMd5(key: Uint8Array, data: Uint8Array): Uint8Array;
}

export function webCrypto(crypto: Crypto = (globalThis as unknown as { crypto: Crypto }).crypto): CryptoPort {
  const subtle = crypto.subtle;
  return {
    subtle,
    randomBytes(n) {
      const out = new Uint8Array(n);
      for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
      return out;
    },
    async digest(hash, data) {
      return new Uint8Array(await subtle.digest(hash, data as BufferSource));
    },
    async hmac(hash, key, data) {
      const k = await subtle.importKey('raw', key as BufferSource, { name: 'HMAC', hash }, false, ['sign']);
      return new Uint8Array(await subtle.sign('HMAC', k, data as BufferSource));
    },
    md5: (data) => nobleMd5(data),
    sha1Sync: (data) => nobleSha1(data),
    hmacMd5: (key, data) => nobleHmac(nobleMd5, key, data),
  };
}
