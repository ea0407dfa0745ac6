import { type Identification, high, productVersion, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'stomp-connect',
      cost: 3,
      ports: [61613],
      payload: textPayload('CONNECT\naccept-version:1.0,1.1,1.2\nhost:/\n\n\0'),
      recognize(_b, t) {
        // A whole frame: the command line, headers, a blank line and the NUL that ends it (STOMP 1.2 "Frames").
        if (!/^(CONNECTED|ERROR)\r?\n([^\n:]+:[^\n]*\r?\n)*\r?\n[^\0]*\0/.test(t)) return null;
        const server = /^server:(.*)$/m.exec(t)?.[1]?.trim();
        return high('stomp', server ? productVersion(server) : {});
      },
    },
  ],
};
