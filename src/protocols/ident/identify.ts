import { type Identification, high, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'ident-query',
      cost: 3,
      ports: [113],
      payload: textPayload('1,1\r\n'),
      recognize: (_b, t) => (/^\s*1\s*,\s*1\s*:\s*(ERROR|USERID)\s*:/.test(t) ? high('ident') : null),
    },
  ],
};
