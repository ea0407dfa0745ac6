import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // ZMTP 3 (rfc.zeromq.org/spec/23): signature 0xFF, 8 bytes, 0x7F, then the version.
  greeting: (b) => (b.length >= 11 && b[0] === 0xff && b[9] === 0x7f ? high('zmtp', { version: `${b[10]}.${b[11] ?? 0}` }) : null),
};
