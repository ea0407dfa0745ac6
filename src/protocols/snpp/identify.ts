import { type Identification, firstLine, high } from '../../core/identify.ts';

export const identification: Identification = {
  // RFC 1861: a 220 greeting; HylaFAX's hfaxd names itself.
  greeting(_b, text) {
    const first = firstLine(text);
    return /^220[ -].*\bSNPP\b/i.test(first) || /^220 .*\bFAX\b|hfaxd/i.test(first) ? high('snpp') : null;
  },
};
