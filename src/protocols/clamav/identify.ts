import { type Identification, high, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'clamd-ping',
      cost: 2,
      ports: [3310],
      // clamd's null-terminated command form: PING answers PONG.
      payload: textPayload('zPING\0'),
      recognize(_b, t) {
        return /^PONG\0?$/.test(t) ? high('clamav', { product: 'clamd' }) : null;
      },
    },
  ],
};
