import { type Identification, firstLine, high } from '../../core/identify.ts';

export const identification: Identification = {
  // The banner ends in the message id of the APOP-like auth, <…@…> (RFC 2229 3.1).
  greeting(_b, text) {
    const first = firstLine(text);
    if (!/^220[ -].*<[^>]*@[^>]*>\s*$/.test(first)) return null;
    const v = /dictd ([\d.]+)/.exec(first);
    return high('dict', v ? { product: 'dictd', version: v[1] } : {});
  },
};
