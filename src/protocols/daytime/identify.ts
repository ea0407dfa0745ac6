import { type Identification, medium } from '../../core/identify.ts';

export const identification: Identification = {
  // RFC 867 fixes no format; the common ones are ctime's and "dd MMM yyyy hh:mm:ss".
  greeting: (_b, text) => (/^\[?\d{1,2} [A-Z]{3} \d{4} \d{2}:\d{2}:\d{2}/i.test(text) || /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}\r?\n/.test(text) ? medium('daytime') : null),
};
