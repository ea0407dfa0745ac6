// The codecs port: decoders a host has built in that protocol code cannot carry itself. Brotli's decoder needs
// its 122 KB dictionary, which the Worker's bundle has no room for; workerd and Node both have Google's C decoder
// in node:zlib. A host without the port (the browser) leaves br bodies as they were sent.
export interface CodecsPort {
  /**
   * Decodes a whole brotli stream (RFC 7932), refusing to produce more than `maxOutput` bytes: past it, a RangeError;
   * a cut or corrupt stream, an Error with the decoder's words.
   */
  brotliDecompress(input: Uint8Array, maxOutput: number): Uint8Array;
}
