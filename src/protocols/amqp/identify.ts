import { fromLatin1 } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'amqp-header',
      cost: 3,
      ports: [5672, 5671],
      payload: () => Uint8Array.of(0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1),
      recognize(b) {
        // Connection.Start: a method frame (type 1) on channel 0, class 10 method 10 (AMQP 0-9-1 4.2.3).
        if (b.length >= 11 && b[0] === 1 && b[1] === 0 && b[2] === 0 && b[7] === 0 && b[8] === 10 && b[9] === 0 && b[10] === 10) return high('amqp', { version: `0-9-1` });
        if (b.length >= 8 && fromLatin1(b.subarray(0, 4)) === 'AMQP') return high('amqp', { info: `server prefers AMQP ${b.subarray(4, 8).join('-')}` });
        return null;
      },
    },
  ],
};
