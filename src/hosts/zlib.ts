// The codecs port from node:zlib: Node's own, and workerd's under the nodejs_compat flag (wrangler.jsonc).
import { brotliDecompressSync } from 'node:zlib';
import type { CodecsPort } from '../core/codecs.ts';

export const zlibCodecs: CodecsPort = {
  brotliDecompress(input, maxOutput) {
    const out = brotliDecompressSync(input, { maxOutputLength: maxOutput });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  },
};
