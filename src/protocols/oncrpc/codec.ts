// ONC RPC (RFC 5531) over TCP with record marking (section 11), and the XDR (RFC 4506) it is written in: shared by
// the portmapper and NFS. Calls carry AUTH_NONE or AUTH_SYS credentials; replies are decoded to the accepted
// results or a typed refusal.
import { ByteReader, ByteWriter, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { AuthError, ProtocolError, ServerError } from '../../core/errors.ts';

/** XDR writer: big-endian 4-byte units, opaque data padded to 4 bytes. */
export class XdrWriter {
  private readonly w = new ByteWriter(128);

  u32(v: number): this {
    this.w.u32(v >>> 0);
    return this;
  }

  bool(v: boolean): this {
    return this.u32(v ? 1 : 0);
  }

  u64(v: bigint): this {
    this.w.u32(Number((v >> 32n) & 0xffffffffn)).u32(Number(v & 0xffffffffn));
    return this;
  }

  /** Fixed-length opaque: the bytes and padding. */
  fixed(b: Uint8Array): this {
    this.w.bytes(b);
    for (let i = b.length; i % 4 !== 0; i++) this.w.u8(0);
    return this;
  }

  /** Variable-length opaque: length, bytes, padding. */
  opaque(b: Uint8Array): this {
    return this.u32(b.length).fixed(b);
  }

  string(s: string): this {
    return this.opaque(utf8(s));
  }

  finish(): Uint8Array {
    return this.w.finish();
  }
}

/** XDR reader with caps on every length and count. */
export class XdrReader {
  readonly r: ByteReader;

  constructor(bytes: Uint8Array) {
    this.r = new ByteReader(bytes);
  }

  u32(field: string): number {
    return this.r.u32(field);
  }

  bool(field: string): boolean {
    const v = this.r.u32(field);
    if (v > 1) throw new ProtocolError(`XDR ${field}: boolean ${v}`);
    return v === 1;
  }

  u64(field: string): bigint {
    return this.r.u64(field);
  }

  fixed(n: number, field: string): Uint8Array {
    const b = this.r.bytesN(n, field);
    this.r.skip((4 - (n % 4)) % 4, field);
    return b;
  }

  opaque(field: string, max: number): Uint8Array {
    const n = this.r.u32(field);
    if (n > max) throw new ProtocolError(`XDR ${field}: ${n} bytes (at most ${max})`);
    return this.fixed(n, field);
  }

  string(field: string, max = 4096): string {
    return fromUtf8(this.opaque(field, max));
  }

  /** An XDR optional-data list (`*next` chains): a boolean before each item. */
  list<T>(field: string, max: number, item: () => T): T[] {
    const out: T[] = [];
    while (this.bool(`${field} follows`)) {
      if (out.length >= max) throw new ProtocolError(`XDR ${field}: more than ${max} items`);
      out.push(item());
    }
    return out;
  }

  get done(): boolean {
    return this.r.done;
  }
}

/** Record marking (RFC 5531 11): fragments with a 4-byte header, top bit on the last; reassembled, capped. */
export function recordFrame(max = 16 * 1024 * 1024): Frame<Uint8Array> {
  return (buf) => {
    let at = 0;
    let total = 0;
    for (let fragments = 0; ; fragments++) {
      if (buf.length < at + 4) {
        if (total > max) throw new ProtocolError(`RPC record longer than ${max} bytes`);
        return undefined;
      }
      const header = ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
      const len = header & 0x7fffffff;
      total += len;
      if (total > max) throw new ProtocolError(`RPC record longer than ${max} bytes`);
      if (fragments > 4096) throw new ProtocolError('RPC record of more than 4096 fragments');
      if (buf.length < at + 4 + len) return undefined;
      at += 4 + len;
      if (header & 0x80000000) break;
    }
    // One fragment (what servers send): the record is a view of the buffer, not a copy.
    if (at === total + 4) return { value: buf.subarray(4, at), size: at };
    const out = new Uint8Array(total);
    let from = 0;
    let to = 0;
    while (to < total) {
      const len = (((buf[from] << 24) | (buf[from + 1] << 16) | (buf[from + 2] << 8) | buf[from + 3]) >>> 0) & 0x7fffffff;
      out.set(buf.subarray(from + 4, from + 4 + len), to);
      to += len;
      from += 4 + len;
    }
    return { value: out, size: at };
  };
}

/** One record, one fragment. */
export function record(body: Uint8Array): Uint8Array {
  return new ByteWriter(4 + body.length).u32((0x80000000 | body.length) >>> 0).bytes(body).finish();
}

export interface AuthSys {
  stamp: number;
  machine: string;
  uid: number;
  gid: number;
  gids: number[];
}

export const AUTH = { NONE: 0, SYS: 1 } as const;

export interface Call {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  auth?: AuthSys;
  args?: Uint8Array;
}

/** RFC 5531 9: call header with credentials (AUTH_SYS, RFC 5531 appendix A, or AUTH_NONE) and an AUTH_NONE verifier. */
export function encodeCall(c: Call): Uint8Array {
  const w = new XdrWriter().u32(c.xid).u32(0).u32(2).u32(c.prog).u32(c.vers).u32(c.proc);
  if (c.auth) {
    if (c.auth.gids.length > 16) throw new ProtocolError('AUTH_SYS carries at most 16 groups');
    const body = new XdrWriter().u32(c.auth.stamp).string(c.auth.machine).u32(c.auth.uid).u32(c.auth.gid).u32(c.auth.gids.length);
    for (const g of c.auth.gids) body.u32(g);
    w.u32(AUTH.SYS).opaque(body.finish());
  } else w.u32(AUTH.NONE).u32(0);
  w.u32(AUTH.NONE).u32(0);
  return concatBytes(w.finish(), c.args ?? new Uint8Array(0));
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const ACCEPT_STAT = ['SUCCESS', 'PROG_UNAVAIL', 'PROG_MISMATCH', 'PROC_UNAVAIL', 'GARBAGE_ARGS', 'SYSTEM_ERR'] as const;
const AUTH_STAT = ['AUTH_OK', 'AUTH_BADCRED', 'AUTH_REJECTEDCRED', 'AUTH_BADVERF', 'AUTH_REJECTEDVERF', 'AUTH_TOOWEAK', 'AUTH_INVALIDRESP', 'AUTH_FAILED', 'RPCSEC_GSS_CREDPROBLEM', 'RPCSEC_GSS_CTXPROBLEM'] as const;

export type Reply =
  | { xid: number; status: 'SUCCESS'; results: XdrReader }
  | { xid: number; status: Exclude<(typeof ACCEPT_STAT)[number], 'SUCCESS'>; low?: number; high?: number }
  | { xid: number; status: 'RPC_MISMATCH'; low: number; high: number }
  | { xid: number; status: 'AUTH_ERROR'; auth: string };

/** RFC 5531 9: a reply message. */
export function decodeReply(body: Uint8Array): Reply {
  const x = new XdrReader(body);
  const xid = x.u32('xid');
  const type = x.u32('msg_type');
  if (type !== 1) throw new ProtocolError(`RPC message type ${type} where a REPLY (1) was expected`);
  const stat = x.u32('reply_stat');
  if (stat === 0) {
    x.u32('verifier flavor');
    x.opaque('verifier', 400);
    const a = x.u32('accept_stat');
    const status = ACCEPT_STAT[a];
    if (status === undefined) throw new ProtocolError(`RPC accept_stat ${a}`);
    if (status === 'SUCCESS') return { xid, status, results: x };
    if (status === 'PROG_MISMATCH') return { xid, status, low: x.u32('low'), high: x.u32('high') };
    return { xid, status };
  }
  if (stat === 1) {
    const r = x.u32('reject_stat');
    if (r === 0) return { xid, status: 'RPC_MISMATCH', low: x.u32('low'), high: x.u32('high') };
    if (r === 1) {
      const a = x.u32('auth_stat');
      return { xid, status: 'AUTH_ERROR', auth: AUTH_STAT[a] ?? `auth_stat ${a}` };
    }
    throw new ProtocolError(`RPC reject_stat ${r}`);
  }
  throw new ProtocolError(`RPC reply_stat ${stat}`);
}

/** The results of a SUCCESS reply; anything else as a typed error naming the program. */
export function resultsOf(reply: Reply, what: string): XdrReader {
  if (reply.status === 'SUCCESS') return reply.results;
  if (reply.status === 'AUTH_ERROR') throw new AuthError(`${what}: the server refused the credentials (${reply.auth})`, { status: reply.status, auth: reply.auth });
  const range = 'low' in reply && reply.low !== undefined ? ` (supports versions ${reply.low}-${reply.high})` : '';
  throw new ServerError(`${what}: ${reply.status}${range}`, { status: reply.status, ...('low' in reply ? { low: reply.low, high: reply.high } : {}) });
}
