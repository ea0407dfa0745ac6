import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // The management CLI greets with a status line: 107 (authentication challenge) or 200, and the body length.
  greeting: (_b, text) => (/^(107|200) \d+ *\n/.test(text) ? high('varnish', { info: 'management CLI' }) : null),
};
