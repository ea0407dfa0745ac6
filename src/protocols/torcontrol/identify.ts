import { type Identification, high, medium, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'torcontrol-protocolinfo',
      cost: 3,
      ports: [9051],
      payload: textPayload('PROTOCOLINFO 1\r\n'),
      recognize(_b, t) {
        if (!/^250-PROTOCOLINFO /.test(t) && !/^51\d /.test(t)) return null;
        const v = /VERSION Tor="([^"]+)"/.exec(t)?.[1];
        return /^250/.test(t) ? high('torcontrol', { product: 'Tor', version: v }) : medium('torcontrol');
      },
    },
  ],
};
