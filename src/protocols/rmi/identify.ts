import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'rmi-header',
      cost: 3,
      ports: [1099],
      // JRMP (Java RMI spec 10.2): "JRMI", version 2, StreamProtocol; the server answers ProtocolAck 0x4E.
      payload: () => Uint8Array.of(0x4a, 0x52, 0x4d, 0x49, 0, 2, 0x4b),
      recognize: (b) => (b.length >= 3 && b[0] === 0x4e && b[1] === 0 && b[2] > 0 && b[2] < 254 ? high('rmi', { info: 'ProtocolAck' }) : null),
    },
  ],
};
