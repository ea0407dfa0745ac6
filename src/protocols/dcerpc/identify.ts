// DCE/RPC asked in its own words: a bind to the endpoint mapper's interface (the one interface every DCE/RPC
// endpoint mapper has). Any DCE/RPC server answers a bind: bind_ack, or bind_nak when the interface is not
// there (a dynamic port), both DCE/RPC. Nothing is called.
import { type Identification, high } from '../../core/identify.ts';
import { bindPdu, decodePdu, EPMAPPER, NDR } from './codec.ts';

export const identification: Identification = {
  probes: [
    {
      name: 'dcerpc-bind',
      cost: 3,
      ports: [135, 593],
      payload: () => bindPdu({ callId: 1, contexts: [{ id: 0, abstract: EPMAPPER, transfer: [NDR] }] }),
      recognize: (reply) => {
        try {
          const pdu = decodePdu(reply);
          if (pdu.kind === 'bind_ack') {
            const accepted = pdu.results[0]?.result === 'acceptance';
            return high('dcerpc', { info: accepted ? `bind_ack: the endpoint mapper${pdu.secondaryAddress ? ` at ${pdu.secondaryAddress}` : ''}` : 'bind_ack: no endpoint mapper on this port' });
          }
          if (pdu.kind === 'bind_nak') return high('dcerpc', { info: `bind_nak: ${pdu.reasonText}` });
          return null;
        } catch {
          return null;
        }
      },
      ownRepliesOnly: true,
    },
  ],
};
