import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'smpp-enquire-link',
      cost: 3,
      ports: [2775],
      payload: () => Uint8Array.of(0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1),
      recognize: (b) => (b.length >= 16 && b[0] === 0 && b[3] >= 16 && b[4] === 0x80 && b[5] === 0 && b[6] === 0 && (b[7] === 0x15 || b[7] === 0) ? high('smpp') : null),
    },
  ],
};
