// NFS version 3 sessions (RFC 1813) over ONC RPC on TCP with AUTH_SYS: the export's root handle from MOUNT, paths
// walked one LOOKUP per component, READs and WRITEs pipelined, and the NFSv4.1 EXCHANGE_ID probe (RFC 8881).
//
// How it works: MOUNT and NFS are separate RPC programs, usually on separate ports. A session asks MOUNT (its port
// from the input, or from the portmapper on 111) for the export's root file handle, then speaks NFS on its own
// connection with that handle. NFSv3 is stateless: every call carries the handle and the AUTH_SYS credentials.
// Transfers keep several calls in flight on the one connection; replies may come in any order and are matched by
// xid, then taken in file order.
import { AuthError, InvalidInput, PortolanError, ProtocolError, ServerError, UnsupportedRuntime } from '../../core/errors.ts';
import { unsupportedReasons } from '../../core/capabilities.ts';
import { fixedChunks, type ByteSink, type ByteSource } from '../../core/files.ts';
import type { OperationContext } from '../../core/protocol.ts';
import { RpcClient } from '../oncrpc/client.ts';
import { resultsOf, type AuthSys, type Reply, type XdrReader } from '../oncrpc/codec.ts';
import { PMAP_PROG, PROC as PMAP_PROC, pmapArgs } from '../portmapper/codec.ts';
import {
  commitArgs,
  createArgs,
  dirpathArgs,
  fhArgs,
  lookupArgs,
  MOUNT_PROC,
  MOUNT_PROG,
  NFS3_PROC,
  NFS_PROG,
  parseCommit,
  parseCreate,
  parseExports,
  parseFsinfo,
  parseGetattr,
  parseLookup,
  parseMnt,
  parseRead,
  parseReaddirplus,
  parseSetattr,
  parseWrite,
  readArgs,
  readdirplusArgs,
  STABLE,
  truncateArgs,
  writeArgs,
  type DirEntry,
  type ExportEntry,
  type Fattr3,
  type FsInfo,
  type NfsStatus,
} from './codec.ts';

/** Largest READ or WRITE asked (the server's rtmax / wtmax may be lower). */
const MAX_IO = 1024 * 1024;
/** Calls in flight during a transfer. */
const PIPELINE = 8;
/** A reply record may hold one READ of MAX_IO and its headers; nothing larger is buffered. */
const MAX_RECORD = MAX_IO + 64 * 1024;
/** Most entries one listing returns. */
export const MAX_LIST = 100_000;

export interface SessionInput {
  host: string;
  uid: number;
  gid: number;
  gids: number[];
  machine: string;
  privilegedPort: boolean;
}

const SECURE_HINT =
  'a secure export accepts only calls from a privileged source port (below 1024), which a Worker cannot use; the Node host running as root can (privilegedPort: true)';

/** Refused before any connection where the runtime cannot bind a privileged source port. */
export function checkPrivilegedPort(ctx: OperationContext, wanted: boolean): void {
  if (!wanted || ctx.capabilities.has('privilegedPort')) return;
  const { reasons, alternatives } = unsupportedReasons(['privilegedPort']);
  throw new UnsupportedRuntime(`privilegedPort: a privileged source port needs the Node host running as root; the ${ctx.runtime} runtime cannot bind one: ${reasons.join(' ')}`, { runtime: ctx.runtime, missing: ['privilegedPort'], reasons, alternatives });
}

function authOf(input: SessionInput): AuthSys {
  return { stamp: 0, machine: input.machine, uid: input.uid, gid: input.gid, gids: input.gids };
}

/** The results of an accepted reply; AUTH_TOOWEAK and the other refusals as typed errors that say why. */
export function rpcResults(reply: Reply, what: string, privileged: boolean): XdrReader {
  if (reply.status === 'AUTH_ERROR' && reply.auth === 'AUTH_TOOWEAK') {
    throw new AuthError(`${what}: the server refused the credentials as too weak (AUTH_TOOWEAK)${privileged ? '' : `: ${SECURE_HINT}`}`, { status: reply.status, auth: reply.auth });
  }
  return resultsOf(reply, what);
}

/** An NFS status as a typed error naming the path, with RFC 1813's name and meaning. */
export function statusError(what: string, path: string, s: NfsStatus): PortolanError {
  return new ServerError(`${what} ${JSON.stringify(path)}: ${s.name} (${s.meaning})`, { status: s.name, code: s.code, path });
}

/** Components of a path inside the export, each sent to LOOKUP as typed: `.` and `..` included, empty ones skipped. */
export function pathComponents(path: string): string[] {
  return path.split('/').filter((c) => c !== '');
}

/** MOUNT's port: the one given, or GETPORT from the portmapper on 111. */
async function mountPort(ctx: OperationContext, given: number | undefined): Promise<number> {
  if (given !== undefined) return given;
  let reply: Reply;
  try {
    const pm = new RpcClient(await ctx.dial({ port: 111 }), (n) => ctx.crypto.randomBytes(n));
    reply = await pm.call({ prog: PMAP_PROG, vers: 2, proc: PMAP_PROC.GETPORT, args: pmapArgs(MOUNT_PROG, 3, 'tcp') }, 'portmapper GETPORT mountd v3');
    await pm.conn.close();
  } catch (e) {
    if (e instanceof PortolanError && (e.code === 'refused' || e.code === 'connect_timeout' || e.code === 'closed')) {
      throw new PortolanError('refused', `mountPort was not given and the portmapper on port 111 did not answer (${e.message}): give mountPort, the port of the server's MOUNT service (mountd)`, { mountPort: null });
    }
    throw e;
  }
  const port = resultsOf(reply, 'portmapper GETPORT mountd v3').u32('port');
  if (port === 0 || port > 65535) throw new ServerError(`mountPort was not given and the portmapper on port 111 has no MOUNT version 3 over TCP registered: give mountPort`, { mountPort: null });
  return port;
}

/** One call to the MOUNT program on its own connection. */
async function withMount<T>(ctx: OperationContext, input: SessionInput & { mountPort?: number }, fn: (rpc: RpcClient) => Promise<T>): Promise<T> {
  const port = await mountPort(ctx, input.mountPort);
  const rpc = new RpcClient(await ctx.dial({ port, privilegedSourcePort: input.privilegedPort || undefined }), (n) => ctx.crypto.randomBytes(n));
  try {
    return await fn(rpc);
  } finally {
    await rpc.conn.close().catch(() => undefined);
  }
}

export async function listExports(ctx: OperationContext, input: SessionInput & { mountPort?: number }): Promise<ExportEntry[]> {
  checkPrivilegedPort(ctx, input.privilegedPort);
  return withMount(ctx, input, async (rpc) => parseExports(rpcResults(await rpc.call({ prog: MOUNT_PROG, vers: 3, proc: MOUNT_PROC.EXPORT, auth: authOf(input) }, 'MOUNT EXPORT'), 'MOUNT EXPORT', input.privilegedPort)));
}

export class NfsSession {
  private fsinfo?: FsInfo;

  private constructor(
    readonly rpc: RpcClient,
    readonly root: Uint8Array,
    private readonly auth: AuthSys,
    readonly privileged: boolean,
  ) {}

  /** MNT of the export (then UMNT: NFSv3 needs only the handle), and a connection to NFS. */
  static async open(ctx: OperationContext, input: SessionInput & { mountPort?: number; export: string }): Promise<NfsSession> {
    checkPrivilegedPort(ctx, input.privilegedPort);
    const auth = authOf(input);
    const root = await withMount(ctx, input, async (rpc) => {
      const m = parseMnt(rpcResults(await rpc.call({ prog: MOUNT_PROG, vers: 3, proc: MOUNT_PROC.MNT, auth, args: dirpathArgs(input.export) }, 'MOUNT MNT'), 'MOUNT MNT', input.privilegedPort));
      if (!m.ok) {
        const hint = (m.name === 'MNT3ERR_ACCES' || m.name === 'MNT3ERR_PERM') && !input.privilegedPort ? `; if the export is secure, ${SECURE_HINT}` : '';
        throw new ServerError(`MOUNT ${JSON.stringify(input.export)}: ${m.name} (${m.meaning})${hint}`, { status: m.name, code: m.code, export: input.export });
      }
      await rpc.call({ prog: MOUNT_PROG, vers: 3, proc: MOUNT_PROC.UMNT, auth, args: dirpathArgs(input.export) }, 'MOUNT UMNT').catch(() => undefined);
      return m.fh;
    });
    ctx.timing.mark('mountedMs');
    const conn = await ctx.dial({ privilegedSourcePort: input.privilegedPort || undefined });
    conn.bulkReads(1024 * 1024);
    return new NfsSession(new RpcClient(conn, (n) => ctx.crypto.randomBytes(n), MAX_RECORD), root, auth, input.privilegedPort);
  }

  private async call(proc: number, args: Uint8Array, what: string): Promise<XdrReader> {
    return rpcResults(await this.rpc.call({ prog: NFS_PROG, vers: 3, proc, auth: this.auth, args }, what), what, this.privileged);
  }

  fail(what: string, path: string, s: NfsStatus): PortolanError {
    return statusError(what, path, s);
  }

  async getattr(fh: Uint8Array, path: string): Promise<Fattr3> {
    const r = parseGetattr(await this.call(NFS3_PROC.GETATTR, fhArgs(fh), 'GETATTR'));
    if (r.status) throw this.fail('GETATTR', path, r.status);
    return r.attrs;
  }

  /** Walks `path` from the export's root, one LOOKUP per component as typed; the handle and attributes at its end. */
  async resolve(path: string): Promise<{ fh: Uint8Array; attrs: Fattr3 }> {
    let fh = this.root;
    let attrs: Fattr3 | null = null;
    const parts = pathComponents(path);
    for (const [i, name] of parts.entries()) {
      const r = parseLookup(await this.call(NFS3_PROC.LOOKUP, lookupArgs(fh, name), `LOOKUP ${JSON.stringify(name)}`));
      if (r.status) throw this.fail('LOOKUP', parts.slice(0, i + 1).join('/'), r.status);
      fh = r.fh;
      attrs = r.attrs;
    }
    return { fh, attrs: attrs ?? (await this.getattr(fh, path)) };
  }

  async limits(): Promise<FsInfo> {
    if (this.fsinfo) return this.fsinfo;
    const r = parseFsinfo(await this.call(NFS3_PROC.FSINFO, fhArgs(this.root), 'FSINFO'));
    if (r.status) throw this.fail('FSINFO', '/', r.status);
    this.fsinfo = r;
    return r;
  }

  /** READDIRPLUS until the directory ends (or `max` entries): names with their attributes. */
  async list(dir: Uint8Array, path: string, max = MAX_LIST): Promise<{ entries: DirEntry[]; truncated: boolean }> {
    const entries: DirEntry[] = [];
    let cookie = 0n;
    let verifier: Uint8Array = new Uint8Array(8);
    for (let page = 0; ; page++) {
      const r = parseReaddirplus(await this.call(NFS3_PROC.READDIRPLUS, readdirplusArgs(dir, cookie, verifier, 32 * 1024, 256 * 1024), `READDIRPLUS page ${page + 1}`));
      if (r.status) throw this.fail('READDIRPLUS', path, r.status);
      entries.push(...r.entries);
      if (entries.length >= max && !(r.eof && entries.length === max)) {
        entries.length = max;
        return { entries, truncated: true };
      }
      if (r.eof) return { entries, truncated: false };
      if (r.entries.length === 0) throw new ProtocolError('NFS READDIRPLUS: a page without entries before the end of the directory');
      const last = r.entries[r.entries.length - 1].cookie;
      if (last === cookie) throw new ProtocolError('NFS READDIRPLUS: the cookie did not move on');
      cookie = last;
      verifier = r.verifier;
    }
  }

  private async sendNfs(proc: number, args: Uint8Array, what: string): Promise<number> {
    return this.rpc.send({ prog: NFS_PROG, vers: 3, proc, auth: this.auth, args }, what);
  }

  /**
   * Reads [offset, end) into `sink`, PIPELINE READs in flight. Replies are taken in file order: one that comes
   * early waits (at most PIPELINE of them), and each is written to the sink, its write awaited, before another
   * READ is sent, so the sink's pace sets the server's.
   */
  async readRange(fh: Uint8Array, path: string, offset: number, end: number, sink: ByteSink): Promise<number> {
    const chunk = Math.max(4096, Math.min(MAX_IO, (await this.limits()).rtmax || MAX_IO));
    const queue: { xid: number; at: number; len: number }[] = [];
    const early = new Map<number, Reply>();
    let next = offset;
    let written = 0;
    while (next < end || queue.length > 0) {
      while (next < end && queue.length < PIPELINE) {
        const len = Math.min(chunk, end - next);
        queue.push({ xid: await this.sendNfs(NFS3_PROC.READ, readArgs(fh, next, len), `READ ${len} bytes at ${next}`), at: next, len });
        next += len;
      }
      const req = queue.shift()!;
      const reply = await this.replyTo(req.xid, queue, early, 'READ');
      const r = parseRead(rpcResults(reply, `READ at ${req.at}`, this.privileged), req.len);
      if (r.status) throw this.fail(`READ at ${req.at}`, path, r.status);
      let data = r.data;
      let eof = r.eof;
      // A short read: the rest of this range is asked before the ranges already in flight are taken.
      for (let at = req.at; ; ) {
        if (data.length === 0 && at < req.at + req.len) throw new ServerError(`READ ${JSON.stringify(path)} at ${at}: the file ended before its announced size (${end} bytes); it shrank during the transfer`);
        await sink.write(data);
        written += data.length;
        at += data.length;
        if (at >= req.at + req.len) break;
        if (eof) throw new ServerError(`READ ${JSON.stringify(path)} at ${at}: the file ended before its announced size (${end} bytes); it shrank during the transfer`);
        const missing = req.at + req.len - at;
        const more = parseRead(await this.call(NFS3_PROC.READ, readArgs(fh, at, missing), `READ ${missing} bytes at ${at}`), missing);
        if (more.status) throw this.fail(`READ at ${at}`, path, more.status);
        data = more.data;
        eof = more.eof;
      }
    }
    return written;
  }

  /** The reply to `xid`; replies to other calls still in flight that come first are kept for their turn. */
  private async replyTo(xid: number, inFlight: { xid: number }[], early: Map<number, Reply>, what: string): Promise<Reply> {
    const kept = early.get(xid);
    if (kept) {
      early.delete(xid);
      return kept;
    }
    for (;;) {
      const reply = await this.rpc.receive(what);
      if (reply.xid === xid) return reply;
      if (!inFlight.some((r) => r.xid === reply.xid) || early.has(reply.xid)) throw new ProtocolError(`NFS ${what}: a reply to xid ${reply.xid}, which is not in flight`);
      early.set(reply.xid, reply);
    }
  }

  /**
   * The handle of `name` in `dir` to write from byte 0: an existing file truncated by SETATTR (when `overwrite`),
   * else a new one by CREATE GUARDED with `mode`, which the server refuses with NFS3ERR_EXIST if the name exists.
   */
  async create(dir: Uint8Array, name: string, path: string, overwrite: boolean, mode: number): Promise<{ fh: Uint8Array; existed: boolean }> {
    if (overwrite) {
      const l = parseLookup(await this.call(NFS3_PROC.LOOKUP, lookupArgs(dir, name), `LOOKUP ${JSON.stringify(name)}`));
      if (!l.status) {
        if (l.attrs && l.attrs.type !== 'file') throw new ServerError(`CREATE ${JSON.stringify(path)}: exists and is a ${l.attrs.type}, not a regular file`, { status: l.attrs.type === 'dir' ? 'NFS3ERR_ISDIR' : 'NFS3ERR_EXIST', path });
        const t = parseSetattr(await this.call(NFS3_PROC.SETATTR, truncateArgs(l.fh), 'SETATTR size 0'));
        if (t.status) throw this.fail('SETATTR', path, t.status);
        return { fh: l.fh, existed: true };
      }
      if (l.status.name !== 'NFS3ERR_NOENT') throw this.fail('LOOKUP', path, l.status);
    }
    const r = parseCreate(await this.call(NFS3_PROC.CREATE, createArgs(dir, name, true, mode), `CREATE ${JSON.stringify(name)}`));
    if (r.status) throw this.fail('CREATE', path, r.status);
    if (r.fh) return { fh: r.fh, existed: false };
    const l = parseLookup(await this.call(NFS3_PROC.LOOKUP, lookupArgs(dir, name), `LOOKUP ${JSON.stringify(name)}`));
    if (l.status) throw this.fail('LOOKUP', path, l.status);
    return { fh: l.fh, existed: false };
  }

  /**
   * Writes the source from byte 0 as UNSTABLE WRITEs, PIPELINE in flight, then COMMIT. Every WRITE and the COMMIT
   * must carry the same verifier: a change means the server restarted and may have lost unstable data (RFC 1813
   * 3.3.7).
   */
  async writeFrom(fh: Uint8Array, path: string, source: ByteSource): Promise<{ bytes: number; size: number | null }> {
    const chunk = Math.max(4096, Math.min(MAX_IO, (await this.limits()).wtmax || MAX_IO));
    const queue: { xid: number; at: number; len: number }[] = [];
    const early = new Map<number, Reply>();
    let verifier: Uint8Array | undefined;
    let at = 0;
    let taken = 0;
    const sameVerifier = (v: Uint8Array, what: string) => {
      if (!verifier) verifier = v;
      else if (!v.every((b, i) => b === verifier![i])) throw new ServerError(`${what} ${JSON.stringify(path)}: the write verifier changed: the server restarted during the upload and may have lost data written before`);
    };
    const settle = async () => {
      const req = queue.shift()!;
      const r = parseWrite(rpcResults(await this.replyTo(req.xid, queue, early, 'WRITE'), `WRITE at ${req.at}`, this.privileged));
      if (r.status) throw this.fail(`WRITE at ${req.at}`, path, r.status);
      if (r.count !== req.len) throw new ServerError(`WRITE ${JSON.stringify(path)} at ${req.at}: the server took ${r.count} of ${req.len} bytes`);
      sameVerifier(r.verifier, 'WRITE');
      taken += r.count;
    };
    for await (const piece of fixedChunks(source, chunk)) {
      while (queue.length >= PIPELINE) await settle();
      queue.push({ xid: await this.sendNfs(NFS3_PROC.WRITE, writeArgs(fh, at, piece, STABLE.UNSTABLE), `WRITE ${piece.length} bytes at ${at}`), at, len: piece.length });
      at += piece.length;
    }
    while (queue.length > 0) await settle();
    const c = parseCommit(await this.call(NFS3_PROC.COMMIT, commitArgs(fh), 'COMMIT'));
    if (c.status) throw this.fail('COMMIT', path, c.status);
    if (verifier) sameVerifier(c.verifier, 'COMMIT');
    return { bytes: taken, size: c.attrs ? Number(c.attrs.size) : null };
  }

  async close(): Promise<void> {
    await this.rpc.conn.close().catch(() => undefined);
  }
}

/** A path's parent components and last name, for CREATE; the export's root itself cannot be created. */
export function splitParent(path: string): { parent: string; name: string } {
  const parts = pathComponents(path);
  const name = parts.pop();
  if (name === undefined) throw InvalidInput.field('path', 'names the export itself: give a file name inside it');
  return { parent: parts.join('/'), name };
}
