import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'ajp-cping',
      cost: 3,
      ports: [8009],
      // AJP13 CPing (type 10); the container answers CPong "AB" 00 01 09.
      payload: () => Uint8Array.of(0x12, 0x34, 0x00, 0x01, 0x0a),
      recognize: (b) => (b.length >= 5 && b[0] === 0x41 && b[1] === 0x42 && b[4] === 0x09 ? high('ajp', { info: 'CPong' }) : null),
    },
  ],
};
