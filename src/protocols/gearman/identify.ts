import { type Identification, high, medium, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'gearman-version',
      cost: 3,
      ports: [4730],
      // The administrative text protocol's "version" (gearmand's PROTOCOL, "Administrative Protocol").
      payload: textPayload('version\n'),
      recognize(_b, t) {
        const m = /^OK (\d+\.\d[\w.+~-]*)\r?\n/.exec(t);
        return m ? high('gearman', { product: 'gearmand', version: m[1] }) : null;
      },
    },
  ],
  answers: (_b, t) => (/^ERR UNKNOWN_COMMAND /.test(t) ? medium('gearman') : null),
};
