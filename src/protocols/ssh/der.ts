// The DER subset private keys need (ITU-T X.690 8.1 tag/length, 8.3 INTEGER, 8.7 OCTET STRING, 8.19 OBJECT IDENTIFIER).
import { InvalidInput } from '../../core/errors.ts';

export interface DerNode {
  tag: number;
  /** The content octets (a view). */
  body: Uint8Array;
}

const MAX_DEPTH = 8;

function bad(message: string): InvalidInput {
  return InvalidInput.field('privateKey', `malformed key (DER): ${message}`);
}

/** Reads consecutive TLVs from `bytes`. */
export function derChildren(bytes: Uint8Array, depth = 0): DerNode[] {
  if (depth > MAX_DEPTH) throw bad('nested too deeply');
  const out: DerNode[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (out.length > 64) throw bad('too many elements');
    const tag = bytes[at++];
    if ((tag & 0x1f) === 0x1f) throw bad('multi-byte tags are not used in keys');
    if (at >= bytes.length) throw bad('truncated length');
    let len = bytes[at++];
    if (len & 0x80) {
      const n = len & 0x7f;
      // X.690 8.1.3.5: long form; keys never need more than 4 length octets.
      if (n === 0 || n > 4 || at + n > bytes.length) throw bad('bad length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + bytes[at++];
    }
    if (at + len > bytes.length) throw bad('element longer than its container');
    out.push({ tag, body: bytes.subarray(at, at + len) });
    at += len;
  }
  return out;
}

/** The elements of a SEQUENCE (tag 0x30). */
export function derSequence(node: DerNode | Uint8Array, depth = 0): DerNode[] {
  const n = node instanceof Uint8Array ? derChildren(node, depth)[0] : node;
  if (!n || n.tag !== 0x30) throw bad('expected a SEQUENCE');
  return derChildren(n.body, depth + 1);
}

/** An INTEGER's magnitude as unsigned bytes (leading zero octet removed). */
export function derUnsigned(node: DerNode): Uint8Array {
  if (node.tag !== 0x02) throw bad('expected an INTEGER');
  let at = 0;
  while (at < node.body.length - 1 && node.body[at] === 0) at++;
  return node.body.subarray(at);
}

export function derOid(node: DerNode): string {
  if (node.tag !== 0x06 || node.body.length === 0) throw bad('expected an OBJECT IDENTIFIER');
  const b = node.body;
  const parts = [Math.floor(b[0] / 40), b[0] % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  ed25519: '1.3.101.112',
  prime256v1: '1.2.840.10045.3.1.7',
  secp384r1: '1.3.132.0.34',
  secp521r1: '1.3.132.0.35',
  pbes2: '1.2.840.113549.1.5.13',
};
