import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'socks5-greeting',
      cost: 3,
      ports: [1080],
      payload: () => Uint8Array.of(5, 1, 0),
      recognize: (b) => (b.length === 2 && b[0] === 5 && (b[1] === 0 || b[1] === 2 || b[1] === 0xff) ? high('socks', { version: '5', info: b[1] === 0 ? 'no authentication' : b[1] === 2 ? 'username/password' : 'no acceptable method' }) : null),
    },
  ],
};
