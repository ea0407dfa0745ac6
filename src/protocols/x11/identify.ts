import { fromLatin1 } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'x11-setup',
      cost: 3,
      ports: [6000],
      // Connection setup, little-endian, protocol 11.0, no authorization: the server answers Success, Failed or Authenticate.
      payload: () => Uint8Array.of(0x6c, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0),
      recognize(b) {
        if (b.length < 8 || b[0] > 2 || b[2] !== 11 || b[3] !== 0) return null;
        const vendorLen = b[0] === 1 && b.length >= 26 ? b[24] | (b[25] << 8) : 0;
        const vendor = vendorLen && b.length >= 40 + vendorLen ? fromLatin1(b.subarray(40, 40 + vendorLen)) : undefined;
        return high('x11', { product: vendor, info: ['setup failed (authorization needed)', 'setup accepted', 'authenticate'][b[0]] });
      },
    },
  ],
};
