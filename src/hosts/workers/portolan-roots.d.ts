// The root store scripts/roots.ts builds into the bundle (wrangler.jsonc aliases this name to its output).
declare module 'portolan:roots' {
  /** Where the roots come from and their date. */
  export const source: string;
  /** The DER certificates, concatenated, in base64. */
  export const roots: string;
}
