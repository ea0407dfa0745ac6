import { equalBytes } from '../../core/bytes.ts';
import { type Identification, high, medium, textPayload } from '../../core/identify.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'jdwp-handshake',
      cost: 3,
      ports: [5005],
      payload: textPayload('JDWP-Handshake'),
      // A JVM answers its handshake with the same 14 bytes (JDWP spec "Transports"); more than those is an echo server.
      returnsProbe: true,
      recognize(reply, _t, sent) {
        if (!equalBytes(reply.subarray(0, 14), sent)) return null;
        return reply.length === 14 ? medium('jdwp', { info: 'handshake returned' }) : high('echo');
      },
    },
  ],
};
