import { type Identification, medium } from '../../core/identify.ts';

export const identification: Identification = {
  // RFC 868: four bytes, seconds since 1900, then the server closes; a plausible value reads as now.
  greeting(b) {
    if (b.length !== 4) return null;
    const v = ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
    return v > 3_900_000_000 && v < 4_294_967_295 ? medium('time', { info: 'four bytes that read as an RFC 868 time near now' }) : null;
  },
};
