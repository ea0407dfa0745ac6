import { type Identification, high, medium } from '../../core/identify.ts';
import { acceptStatName, rpcNullCall, rpcReply } from '../oncrpc/identify.ts';

export const identification: Identification = {
  probes: [
    {
      // ONC RPC (RFC 5531) over TCP: a NULL call to NFS (program 100003) version 3, record-marked. An NFS server
      // accepts it; PROG_MISMATCH names a server of other NFS versions only (v4-only servers).
      name: 'nfs-null',
      cost: 2,
      ports: [2049],
      ownRepliesOnly: true,
      payload: (_host, random) => rpcNullCall(random(4), 100003, 3),
      recognize(reply, _t, sent) {
        const r = rpcReply(reply, sent.subarray(4, 8));
        if (r === null) return null;
        if (r === 0) return high('nfs', { info: 'answers the NULL call of program 100003 (NFS) v3' });
        if (r === 2) return high('nfs', { info: 'NFS program 100003 is served, but not version 3 (PROG_MISMATCH)' });
        return medium('rpc', { info: `ONC RPC: ${acceptStatName(r)} for the NFS program` });
      },
    },
  ],
};
