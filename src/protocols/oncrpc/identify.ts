// The ONC RPC NULL call (RFC 5531 9, 11) as identify sends it, and the reading of its reply: shared by the RPC
// programs that declare an identification probe.
import { ByteReader, ByteWriter, equalBytes } from '../../core/bytes.ts';

/** CALL of procedure 0 of `prog` version `vers`, AUTH_NONE, in one last fragment. */
export function rpcNullCall(xid: Uint8Array, prog: number, vers: number): Uint8Array {
  const w = new ByteWriter();
  w.u32(0x80000000 | 40);
  w.bytes(xid);
  for (const v of [0, 2, prog, vers, 0, 0, 0, 0, 0]) w.u32(v);
  return w.finish();
}

/** A REPLY to our xid: the accept_stat of an accepted one, -1 for a denied one; null when it is not one. */
export function rpcReply(b: Uint8Array, xid: Uint8Array): number | null {
  if (b.length < 4 + 12 || !(b[0] & 0x80)) return null;
  const r = new ByteReader(b.subarray(4));
  if (!equalBytes(r.bytesN(4), xid) || r.u32() !== 1) return null;
  if (r.u32() !== 0) return -1;
  if (r.remaining < 12) return null;
  r.u32();
  r.skip(Math.min(r.u32(), 400));
  return r.remaining >= 4 ? r.u32() : null;
}

/** accept_stat by number (RFC 5531 9). */
export function acceptStatName(r: number): string {
  return r === 1 ? 'PROG_UNAVAIL' : r === 2 ? 'PROG_MISMATCH' : `accept_stat ${r}`;
}
