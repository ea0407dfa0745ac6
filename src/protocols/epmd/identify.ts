import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'epmd-names',
      cost: 3,
      ports: [4369],
      payload: () => Uint8Array.of(0, 1, 0x6e),
      recognize: (b, t) => (b.length >= 4 && (b.length === 4 || /^name \S+ at port \d+/.test(t.slice(4))) && ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) > 0 ? high('epmd', { info: t.slice(4, 120).trim() || undefined }) : null),
    },
  ],
};
