import { ByteReader, ByteWriter, equalBytes } from '../../core/bytes.ts';
import { type Identification, high, medium } from '../../core/identify.ts';

/** Client-first probes in the order they cost least; a reply is also read by every other probe's recognizer. */
/** CALL of procedure 0 of program 100000 version 2, AUTH_NONE, in one last fragment (RFC 5531 §9, §11). */
function rpcNullCall(xid: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  w.u32(0x80000000 | 40);
  w.bytes(xid);
  for (const v of [0, 2, 100000, 2, 0, 0, 0, 0, 0]) w.u32(v);
  return w.finish();
}

/** A REPLY to our xid: the accept_stat of an accepted one, -1 for a denied one; null when it is not one. */
function rpcReply(b: Uint8Array, xid: Uint8Array): number | null {
  if (b.length < 4 + 12 || !(b[0] & 0x80)) return null;
  const r = new ByteReader(b.subarray(4));
  if (!equalBytes(r.bytesN(4), xid) || r.u32() !== 1) return null;
  if (r.u32() !== 0) return -1;
  if (r.remaining < 12) return null;
  r.u32();
  r.skip(Math.min(r.u32(), 400));
  return r.remaining >= 4 ? r.u32() : null;
}

export const identification: Identification = {
  probes: [
    {
      // ONC RPC (RFC 5531) over TCP: a NULL call to the portmapper program, record-marked; every RPC server answers
      // it, and only rpcbind accepts it.
      name: 'rpc-null',
      cost: 2,
      ports: [111],
      payload: (_host, random) => rpcNullCall(random(4)),
      recognize(reply, _t, sent) {
        const r = rpcReply(reply, sent.subarray(4, 8));
        if (r === null) return null;
        if (r === 0) return high('portmapper', { info: 'answers the NULL call of program 100000 v2' });
        return medium('rpc', { info: `ONC RPC: ${r === 1 ? 'PROG_UNAVAIL' : r === 2 ? 'PROG_MISMATCH' : `accept_stat ${r}`} for the portmapper program` });
      },
    },
  ],
};
