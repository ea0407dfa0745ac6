// The node: modules protocol code uses in the Worker, which workerd provides under the nodejs_compat flag
// (wrangler.jsonc). Only what is used is declared, so a Node API the Worker lacks stays a type error here.
declare module 'node:zlib' {
  export function brotliDecompressSync(input: Uint8Array, options?: { maxOutputLength?: number }): Uint8Array;
}
