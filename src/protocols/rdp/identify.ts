import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'rdp-x224',
      cost: 3,
      ports: [3389],
      // X.224 Connection Request with RDP_NEG_REQ for TLS and CredSSP (MS-RDPBCGR 2.2.1.1).
      payload: () => Uint8Array.of(3, 0, 0, 19, 14, 0xe0, 0, 0, 0, 0, 0, 1, 0, 8, 0, 3, 0, 0, 0),
      recognize: (b) => (b.length >= 11 && b[0] === 3 && b[1] === 0 && b[5] === 0xd0 ? high('rdp', { info: 'X.224 Connection Confirm' }) : null),
    },
  ],
};
