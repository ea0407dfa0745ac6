import { type Identification, high, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'haproxy-show-info',
      cost: 3,
      ports: [9999],
      payload: textPayload('show info\n'),
      recognize(_b, t) {
        const m = /^Name: (HAProxy)\s*\nVersion: (\S+)/m.exec(t);
        return m ? high('haproxy', { product: 'HAProxy', version: m[2], info: 'stats socket' }) : null;
      },
    },
  ],
};
