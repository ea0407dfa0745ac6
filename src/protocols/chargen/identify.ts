import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // RFC 864: lines of 72 printable characters, each one character on from the last.
  greeting(b) {
    if (b.length < 74) return null;
    for (let i = 1; i < 72; i++) {
      const a = b[i - 1];
      const c = b[i];
      if (a < 0x20 || a > 0x7e || !(c === a + 1 || (a === 0x7e && c === 0x20))) return null;
    }
    return high('chargen');
  },
};
