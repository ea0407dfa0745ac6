// Shadowsocks AEAD session over a Conn: our salt and the first chunk (target address and data), then
// the server's salt and chunks back. Keys come from the crypto port: HKDF-SHA1 and AES-GCM from WebCrypto,
// ChaCha20-Poly1305 from @noble/ciphers (WebCrypto has none).
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concat } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { METHODS, SUBKEY_INFO, TAG, Direction, bytesToKey, encodeTarget, type Aead, type Method } from './codec.ts';

export async function subkey(crypto: CryptoPort, master: Uint8Array, salt: Uint8Array, length: number): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey('raw', master as BufferSource, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-1', salt: salt as BufferSource, info: SUBKEY_INFO as BufferSource }, k, length * 8));
}

export async function aeadFor(crypto: CryptoPort, method: Method, key: Uint8Array): Promise<Aead> {
  if (method === 'chacha20-ietf-poly1305') {
    return {
      seal: async (n, p) => chacha20poly1305(key, n).encrypt(p),
      open: async (n, c) => chacha20poly1305(key, n).decrypt(c),
    };
  }
  const k = await crypto.subtle.importKey('raw', key as BufferSource, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return {
    seal: async (n, p) => new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: n as BufferSource, tagLength: TAG * 8 }, k, p as BufferSource)),
    open: async (n, c) => new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: n as BufferSource, tagLength: TAG * 8 }, k, c as BufferSource)),
  };
}

export interface Tunnel {
  send(data: Uint8Array): Promise<void>;
  /** The next decrypted payload from the server, or null when it closed. */
  receive(): Promise<Uint8Array | null>;
}

/** Opens the tunnel: salt, then one chunk with the target address and `first` data. */
export async function open(conn: Conn, crypto: CryptoPort, method: Method, password: string, target: { host: string; port: number }, first: Uint8Array): Promise<Tunnel> {
  const { keyLength, saltLength } = METHODS[method];
  const master = bytesToKey(password, keyLength, crypto.md5);
  const salt = crypto.randomBytes(saltLength);
  const out = new Direction(await aeadFor(crypto, method, await subkey(crypto, master, salt, keyLength)));
  const request = await out.seal(concat([encodeTarget(target.host, target.port), first]));
  await conn.write(concat([salt, request]), { decode: `salt, then ${method} chunk: target ${target.host}:${target.port} and ${first.length} bytes of data` });
  let inbound: Direction | undefined;
  return {
    async send(data) {
      await conn.write(await out.seal(data), { decode: `${method} chunk: ${data.length} bytes of data` });
    },
    async receive() {
      if (!inbound) {
        if (conn.atEof) return null;
        const serverSalt = await conn.readExact(saltLength, 'the server’s salt').catch((e) => {
          if (conn.atEof) return null;
          throw e;
        });
        if (!serverSalt) return null;
        inbound = new Direction(await aeadFor(crypto, method, await subkey(crypto, master, serverSalt, keyLength)));
      }
      const len = await inbound.openLength(await conn.readExact(2 + TAG, 'chunk length'));
      const payload = await inbound.open(await conn.readExact(len + TAG, 'chunk payload'));
      conn.note(`decrypted ${payload.length} bytes from the target`);
      return payload;
    },
  };
}
