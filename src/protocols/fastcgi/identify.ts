import { utf8 } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'fastcgi-get-values',
      cost: 3,
      ports: [9000],
      // FCGI_GET_VALUES for FCGI_MPXS_CONNS (FastCGI spec 4.1): the application answers FCGI_GET_VALUES_RESULT (type 10).
      payload: () => Uint8Array.of(1, 9, 0, 0, 0, 17, 0, 0, 15, 0, ...utf8('FCGI_MPXS_CONNS'), 0, 0, 0, 0, 0, 0, 0),
      recognize: (b) => (b.length >= 8 && b[0] === 1 && (b[1] === 10 || b[1] === 11) ? high('fastcgi', { info: b[1] === 10 ? 'GET_VALUES_RESULT' : 'UNKNOWN_TYPE' }) : null),
    },
  ],
};
