import { concat, equalBytes } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'openvpn-reset',
      cost: 3,
      ports: [1194],
      // P_CONTROL_HARD_RESET_CLIENT_V2 (opcode 7, key id 0) over TCP with its 16-bit length; the server answers with HARD_RESET_SERVER_V2 (opcode 8).
      payload: (_h, random) => concat([Uint8Array.of(0, 14, 0x38), random(8), Uint8Array.of(0, 0, 0, 0, 0)]),
      recognize(b, _t, sent) {
        // The server acknowledges our packet 0 and names our session id as the remote one (openvpn ssl.c "reliable" ACKs).
        if (b.length < 26 || b[2] >> 3 !== 8 || ((b[0] << 8) | b[1]) !== b.length - 2 || b[11] < 1 || b[11] > 8) return null;
        const remote = 12 + 4 * b[11];
        return sent.length >= 11 && equalBytes(b.subarray(remote, remote + 8), sent.subarray(3, 11)) ? high('openvpn', { info: 'HARD_RESET_SERVER_V2' }) : null;
      },
    },
  ],
};
