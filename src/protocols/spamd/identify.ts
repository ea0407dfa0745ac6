import { type Identification, high, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'spamd-ping',
      cost: 2,
      ports: [783],
      payload: textPayload('PING SPAMC/1.5\r\n\r\n'),
      recognize(_b, t) {
        const m = /^SPAMD\/(\d+\.\d+) 0 PONG\r?\n/.exec(t);
        return m ? high('spamd', { product: 'SpamAssassin spamd', info: `protocol ${m[1]}` }) : null;
      },
    },
  ],
};
