import { type Identification, high, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'gopher-root',
      cost: 5,
      ports: [70],
      // The empty selector asks for the root menu (RFC 1436 2); a menu line is type, display, selector, host, port.
      payload: textPayload('\r\n'),
      ownRepliesOnly: true,
      recognize: (_b, t) => (/^[0-9ih+gIT][^\t\r\n]*\t[^\t\r\n]*\t[^\t\r\n]*\t\d+\r?\n/m.test(t) ? high('gopher') : null),
    },
  ],
};
