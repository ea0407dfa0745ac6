import { type Identification, firstLine, high } from '../../core/identify.ts';

export const identification: Identification = {
  // RFC 3977 5.1: 200 posting allowed, 201 not; INN names itself.
  greeting(_b, text) {
    const first = firstLine(text);
    if (/^20[01] .*\b(?:INN|InterNetNews)\b/.test(first)) return high('nntp', { product: 'INN', version: /\bINN ([\d.]+)/.exec(first)?.[1], info: first.slice(4, 120) });
    return /^20[01] .*\b(NNTP|NNRP|news)\b/i.test(first) ? high('nntp', { info: first.slice(4, 120) }) : null;
  },
};
