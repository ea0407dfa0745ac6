import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // RFC 9051 7.1: the greeting is an untagged OK or PREAUTH.
  greeting: (_b, text) => (/^\* (OK|PREAUTH)\b/.test(text) ? high('imap', /Dovecot/.test(text.slice(0, 200)) ? { product: 'Dovecot' } : {}) : null),
};
