import { concat } from '../../core/bytes.ts';
import { type Finding, type Identification, high } from '../../core/identify.ts';

/** A BGP message: 16 bytes of 0xFF marker, a length of 19–4096 and a type 1–5 (RFC 4271 4.1). */
function bgpMessage(b: Uint8Array): Finding | null {
  if (b.length < 19) return null;
  for (let i = 0; i < 16; i++) if (b[i] !== 0xff) return null;
  const len = (b[16] << 8) | b[17];
  if (len < 19 || len > 4096 || b[18] < 1 || b[18] > 5) return null;
  return high('bgp', { info: ['OPEN', 'UPDATE', 'NOTIFICATION', 'KEEPALIVE', 'ROUTE-REFRESH'][b[18] - 1] });
}

export const identification: Identification = {
  // A speaker may open with its OPEN message.
  greeting: (b) => bgpMessage(b),
  probes: [
    {
      name: 'bgp-keepalive',
      cost: 3,
      ports: [179],
      // A KEEPALIVE before OPEN is an FSM error (RFC 4271 6.6): a speaker answers NOTIFICATION and closes.
      payload: () => concat([new Uint8Array(16).fill(0xff), Uint8Array.of(0, 19, 4)]),
      recognize: (b) => bgpMessage(b),
    },
  ],
};
