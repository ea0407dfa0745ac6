import { type Identification, high, medium } from '../../core/identify.ts';
import { acceptStatName, rpcNullCall, rpcReply } from '../oncrpc/identify.ts';

export const identification: Identification = {
  probes: [
    {
      // ONC RPC (RFC 5531) over TCP: a NULL call to the portmapper program, record-marked; every RPC server answers
      // it, and only rpcbind accepts it.
      name: 'rpc-null',
      cost: 2,
      ports: [111],
      payload: (_host, random) => rpcNullCall(random(4), 100000, 2),
      recognize(reply, _t, sent) {
        const r = rpcReply(reply, sent.subarray(4, 8));
        if (r === null) return null;
        if (r === 0) return high('portmapper', { info: 'answers the NULL call of program 100000 v2' });
        return medium('rpc', { info: `ONC RPC: ${acceptStatName(r)} for the portmapper program` });
      },
    },
  ],
};
