import { concat } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';
import { PREFACE, encodeSettings } from './frames.ts';

/** An HTTP/2 frame header on stream 0: SETTINGS (4) or GOAWAY (7), as an h2c server answers anything (RFC 9113 3.4). */
export function h2Frames(b: Uint8Array): boolean {
  if (b.length < 9) return false;
  const len = (b[0] << 16) | (b[1] << 8) | b[2];
  const streamZero = (b[5] & 0x7f) === 0 && b[6] === 0 && b[7] === 0 && b[8] === 0;
  return streamZero && ((b[3] === 4 && len % 6 === 0 && len <= 60) || (b[3] === 7 && len >= 8 && len < 1024));
}

export const identification: Identification = {
  probes: [
    {
      name: 'h2c-preface',
      cost: 3,
      ports: [50051, 2379],
      payload: () => concat([PREFACE, encodeSettings([])]),
      recognize: (b) => (h2Frames(b) ? high('http2', { info: 'h2c with prior knowledge' }) : null),
    },
  ],
};
