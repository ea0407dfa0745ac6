import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // RFC 1939 4: the greeting is a positive response.
  greeting: (_b, text) => (/^\+OK\b/.test(text) ? high('pop3', /Dovecot/.test(text.slice(0, 200)) ? { product: 'Dovecot' } : {}) : null),
};
