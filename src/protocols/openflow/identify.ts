import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  // OFPT_HELLO (type 0, version 1–6, length ≥ 8): a switch or controller greets first.
  greeting(b) {
    if (b.length < 8 || b[0] < 1 || b[0] > 6 || b[1] !== 0) return null;
    const len = (b[2] << 8) | b[3];
    if (len < 8 || len > 256) return null;
    return high('openflow', { version: ['1.0', '1.1', '1.2', '1.3', '1.4', '1.5'][b[0] - 1] });
  },
};
