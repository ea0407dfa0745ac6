import { type Identification, high, medium, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'adb-version',
      cost: 3,
      ports: [5037],
      payload: textPayload('000chost:version'),
      recognize: (_b, t) => (/^OKAY[0-9a-f]{4}/.test(t) ? high('adb', { version: String(parseInt(t.slice(8, 12), 16) || '') || undefined }) : /^FAIL[0-9a-f]{4}/.test(t) ? medium('adb') : null),
    },
  ],
};
