import { ByteWriter } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'stun-binding',
      cost: 3,
      ports: [3478, 5349],
      payload: (_h, random) => new ByteWriter().u16(0x0001).u16(0).u32(0x2112a442).bytes(random(12)).finish(),
      recognize: (b, t) => {
        if (b.length < 20 || b[0] !== 0x01 || (b[1] !== 0x01 && b[1] !== 0x11) || b[4] !== 0x21 || b[5] !== 0x12 || b[6] !== 0xa4 || b[7] !== 0x42) return null;
        const software = /(Coturn-[\w.-]+)/.exec(t)?.[1];
        return high('stun', software ? { product: 'coturn', version: software.slice(7) } : {});
      },
    },
  ],
};
