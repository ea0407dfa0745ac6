import { ByteWriter, fromLatin1 } from '../../core/bytes.ts';
import { type Identification, high } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'spice-link',
      cost: 3,
      ports: [5900],
      // SpiceLinkHeader "REDQ" 2.2 and a SpiceLinkMess for the main channel; the server answers with its own "REDQ" header.
      payload: () =>
        new ByteWriter().text('REDQ').u32le(2).u32le(2).u32le(18).u32le(0).u8(1).u8(0).u32le(0).u32le(0).u32le(18).finish(),
      recognize: (b) => (b.length >= 8 && fromLatin1(b.subarray(0, 4)) === 'REDQ' ? high('spice', { version: `${b[4] | (b[5] << 8)}` }) : null),
    },
  ],
};
