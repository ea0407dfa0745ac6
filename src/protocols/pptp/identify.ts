import { ByteWriter } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'pptp-sccrq',
      cost: 3,
      ports: [1723],
      // Start-Control-Connection-Request (RFC 2637 2.1); the reply carries the magic cookie 0x1A2B3C4D.
      payload() {
        const w = new ByteWriter().u16(156).u16(1).u32(0x1a2b3c4d).u16(1).u16(0).u16(0x0100).u16(0).u32(1).u32(1).u16(0).u16(0);
        w.bytes(new Uint8Array(64)).bytes(new Uint8Array(64));
        return w.finish();
      },
      recognize(b, t) {
        if (b.length < 12 || b[4] !== 0x1a || b[5] !== 0x2b || b[6] !== 0x3c || b[7] !== 0x4d || b[9] !== 2) return null;
        const vendor = b.length >= 156 ? t.slice(92, 156).replace(/\0.*$/s, '') : undefined;
        return high('pptp', { product: vendor || undefined });
      },
    },
  ],
};
