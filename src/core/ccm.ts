// AES-CCM (NIST SP 800-38C, RFC 3610) on WebCrypto, which has no CCM of its own but has the two halves: the
// CBC-MAC over the formatted nonce, associated data and message is AES-CBC from a zero IV (its last block before
// the padding block WebCrypto appends), and the encryption is AES-CTR from counter block 1, with block 0 masking
// the tag. Nonces of 7 to 13 bytes (the length field takes the rest of the block), tags of 4 to 16 bytes,
// associated data shorter than 65,280 bytes.
import { equalBytes } from './bytes.ts';

const BLOCK = 16;

export interface Ccm {
  /** Encrypts and authenticates: the ciphertext followed by the tag. */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Checks and decrypts `sealed` (ciphertext then tag): the plaintext, or null when the tag does not match. */
  open(nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array | null>;
}

function check(nonce: Uint8Array, aad: Uint8Array): void {
  if (nonce.length < 7 || nonce.length > 13) throw new RangeError(`AES-CCM nonce of ${nonce.length} bytes (7 to 13)`);
  if (aad.length >= 0xff00) throw new RangeError(`AES-CCM associated data of ${aad.length} bytes (under 65,280)`);
}

/** Counter block i: flags L' = L - 1, the nonce, i in the last L bytes. */
function counterBlock(nonce: Uint8Array, i: number): Uint8Array {
  const block = new Uint8Array(BLOCK);
  block[0] = BLOCK - 2 - nonce.length;
  block.set(nonce, 1);
  for (let at = BLOCK - 1, v = i; at > nonce.length; at--, v = Math.floor(v / 256)) block[at] = v & 0xff;
  return block;
}

/** B0, the length-prefixed associated data and the message, each zero-padded to whole blocks. */
function macInput(nonce: Uint8Array, aad: Uint8Array, message: Uint8Array, tagLength: number): Uint8Array {
  const l = BLOCK - 1 - nonce.length;
  const aadPart = aad.length === 0 ? 0 : Math.ceil((2 + aad.length) / BLOCK) * BLOCK;
  const input = new Uint8Array(BLOCK + aadPart + Math.ceil(message.length / BLOCK) * BLOCK);
  input[0] = (aad.length > 0 ? 0x40 : 0) | (((tagLength - 2) / 2) << 3) | (l - 1);
  input.set(nonce, 1);
  let length = message.length;
  for (let i = BLOCK - 1; i > nonce.length; i--, length = Math.floor(length / 256)) input[i] = length & 0xff;
  if (length !== 0) throw new RangeError(`AES-CCM message of ${message.length} bytes does not fit a ${l}-byte length`);
  if (aad.length > 0) {
    input[BLOCK] = aad.length >> 8;
    input[BLOCK + 1] = aad.length & 0xff;
    input.set(aad, BLOCK + 2);
  }
  input.set(message, BLOCK + aadPart);
  return input;
}

/** AES-CCM under `key` (16, 24 or 32 bytes) with tags of `tagLength` bytes. */
export async function aesCcm(subtle: SubtleCrypto, key: Uint8Array, tagLength = 16): Promise<Ccm> {
  if (tagLength < 4 || tagLength > 16 || tagLength % 2 !== 0) throw new RangeError(`AES-CCM tag of ${tagLength} bytes (4 to 16, even)`);
  const cbcKey = await subtle.importKey('raw', key as BufferSource, 'AES-CBC', false, ['encrypt']);
  const ctrKey = await subtle.importKey('raw', key as BufferSource, 'AES-CTR', false, ['encrypt']);
  const mac = async (nonce: Uint8Array, aad: Uint8Array, message: Uint8Array) => {
    const input = macInput(nonce, aad, message, tagLength);
    const chained = new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(BLOCK) }, cbcKey, input as BufferSource));
    return chained.subarray(input.length - BLOCK, input.length - BLOCK + tagLength);
  };
  const ctr = async (nonce: Uint8Array, first: number, data: Uint8Array) =>
    new Uint8Array(await subtle.encrypt({ name: 'AES-CTR', counter: counterBlock(nonce, first) as BufferSource, length: 8 * (BLOCK - 1 - nonce.length) }, ctrKey, data as BufferSource));
  return {
    async seal(nonce, aad, plaintext) {
      check(nonce, aad);
      const [tag, body] = await Promise.all([mac(nonce, aad, plaintext).then((t) => ctr(nonce, 0, t)), ctr(nonce, 1, plaintext)]);
      const out = new Uint8Array(plaintext.length + tagLength);
      out.set(body);
      out.set(tag, plaintext.length);
      return out;
    },
    async open(nonce, aad, sealed) {
      check(nonce, aad);
      if (sealed.length < tagLength) return null;
      const body = sealed.subarray(0, sealed.length - tagLength);
      const [plaintext, tag] = await Promise.all([ctr(nonce, 1, body), ctr(nonce, 0, sealed.subarray(body.length))]);
      return equalBytes(await mac(nonce, aad, plaintext), tag) ? plaintext : null;
    },
  };
}
