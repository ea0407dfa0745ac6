import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'ldap-bind',
      cost: 3,
      ports: [389, 636],
      // An anonymous simple bind (RFC 4511 4.2), message 1: no credential; the answer is a BindResponse (0x61).
      payload: () => Uint8Array.of(0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00),
      recognize(b) {
        if (b.length < 7 || b[0] !== 0x30) return null;
        const at = b[1] & 0x80 ? 2 + (b[1] & 0x7f) : 2;
        if (b[at] !== 0x02 || b[at + 1] !== 1 || b[at + 2] !== 1 || b[at + 3] !== 0x61) return null;
        return high('ldap', { info: 'BindResponse' });
      },
    },
  ],
};
