// A thin 9P client over Conn: one request at a time (tag 1), fids handed out in order, every reply matched to
// its request; the dialect negotiated by Tversion chooses between the classic and the Linux messages.
import type { Conn } from '../../core/conn.ts';
import { InvalidInput, ProtocolError, ServerError } from '../../core/errors.ts';
import type { ByteSink, ByteSource } from '../../core/files.ts';
import {
  DEFAULT_MSIZE,
  MAXWELEM,
  MAX_MSIZE,
  messageFrame,
  messageName,
  parseDirStats,
  parseError,
  parseOpened,
  parseQidReply,
  parseRgetattr,
  parseRreaddir,
  parseRread,
  parseRstat,
  parseRversion,
  parseRwalk,
  parseRwrite,
  qidKind,
  tattach,
  tclunk,
  tcreate,
  tgetattr,
  tlcreate,
  tlopen,
  tmkdir,
  topen,
  tread,
  treaddir,
  tremove,
  tstat,
  tversion,
  twalk,
  twrite,
  type Attr,
  type Dialect,
  type Message,
  type Qid,
  type Stat,
} from './codec.ts';

const TAG = 1;
/** Entries a listing returns at most. */
export const MAX_ENTRIES = 10_000;
/** Linux open flags (9P2000.L): O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_DIRECTORY. */
const L = { RDONLY: 0, WRONLY: 1, CREAT: 0o100, TRUNC: 0o1000, DIRECTORY: 0o200000 };
/** Classic open modes. */
const OREAD = 0;
const OWRITE = 1;
const OTRUNC = 0x10;

/** A 9P error reply, in the server's words (or the errno's name for 9P2000.L). */
export class NinepError extends ServerError {
  constructor(
    what: string,
    readonly errno: number | null,
    message: string,
  ) {
    super(`${what}: ${message}`, { errno });
  }
}

export interface Entry {
  name: string;
  type: 'directory' | 'symlink' | 'file';
  qid: Qid;
  size: number | null;
  mode: number | null;
  modified: string | null;
}

/** Splits a path into the names to walk; "." and empty segments go, ".." is sent as typed. */
export function pathNames(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.');
}

export class NinepClient {
  dialect: Dialect = '9P2000.L';
  msize = DEFAULT_MSIZE;
  private nextFid = 1;
  root = 0;

  constructor(readonly conn: Conn) {}

  private async rpc(request: Uint8Array, what: string, expect: number, tag = TAG): Promise<Message> {
    await this.conn.write(request, { decode: what });
    const m = await this.conn.readFrame(messageFrame(Math.max(this.msize, 8192)), `${messageName(expect)}`, (v) => `${messageName(v.type)} tag ${v.tag}, ${v.body.length} bytes`);
    if (m.tag !== tag) throw new ProtocolError(`9P: a reply with tag ${m.tag} to a request with tag ${tag}`);
    if (m.type === 107 || m.type === 7) {
      const e = parseError(m, this.dialect);
      throw new NinepError(what, e.errno, e.message);
    }
    if (m.type !== expect) throw new ProtocolError(`9P: ${messageName(m.type)} in answer to ${messageName(expect - 1)}`);
    return m;
  }

  /** Tversion: the server's msize and the dialect it accepts ("unknown" when none). */
  async version(asked: Dialect, msize = DEFAULT_MSIZE): Promise<{ msize: number; version: string }> {
    const m = await this.rpc(tversion(msize, asked), `Tversion ${asked} msize ${msize}`, 101, 0xffff);
    const v = parseRversion(m.body);
    if (v.msize < 64 || v.msize > MAX_MSIZE) throw new ProtocolError(`9P: Rversion msize ${v.msize} out of range`);
    if (v.msize > msize) throw new ProtocolError(`9P: Rversion msize ${v.msize} is larger than the ${msize} asked`);
    this.msize = v.msize;
    if (v.version === asked) this.dialect = asked;
    return v;
  }

  fid(): number {
    return this.nextFid++;
  }

  /** Tattach: the root of `aname` as `uname` (uid `uid` for .u and .L). */
  async attach(a: { uname: string; aname: string; uid: number }): Promise<Qid> {
    this.root = this.fid();
    const m = await this.rpc(tattach(TAG, this.dialect, { fid: this.root, ...a }), `Tattach fid ${this.root} uname ${a.uname} aname ${a.aname || '(default)'} uid ${a.uid}`, 105);
    return parseQidReply(m.body);
  }

  /** Twalk from the root along the path (MAXWELEM names per message) to a new fid; a partial walk is ENOENT. */
  async walk(path: string): Promise<{ fid: number; qid: Qid | null }> {
    const names = pathNames(path);
    let from = this.root;
    const fid = this.fid();
    let qid: Qid | null = null;
    if (names.length === 0) {
      await this.rpc(twalk(TAG, from, fid, []), `Twalk fid ${from} → ${fid} (clone)`, 111);
      return { fid, qid: null };
    }
    for (let i = 0; i < names.length; i += MAXWELEM) {
      const part = names.slice(i, i + MAXWELEM);
      const m = await this.rpc(twalk(TAG, from, fid, part), `Twalk fid ${from} → ${fid} ${part.join('/')}`, 111);
      const qids = parseRwalk(m.body);
      if (qids.length !== part.length) {
        if (from === fid) await this.clunk(fid);
        throw new NinepError(`Twalk ${path}`, 2, `ENOENT: no such file or directory (${names.slice(0, i + qids.length + 1).join('/')})`);
      }
      qid = qids[qids.length - 1];
      from = fid;
    }
    return { fid, qid };
  }

  async clunk(fid: number): Promise<void> {
    await this.rpc(tclunk(TAG, fid), `Tclunk fid ${fid}`, 121);
  }

  /** Attributes of a walked fid: Tgetattr (9P2000.L) or Tstat. */
  async attributes(fid: number): Promise<{ attr?: Attr; stat?: Stat }> {
    if (this.dialect === '9P2000.L') return { attr: parseRgetattr((await this.rpc(tgetattr(TAG, fid), `Tgetattr fid ${fid}`, 25)).body) };
    return { stat: parseRstat((await this.rpc(tstat(TAG, fid), `Tstat fid ${fid}`, 125)).body, this.dialect) };
  }

  /** Opens a walked fid for reading or writing: Tlopen or Topen; the iounit, or msize - 24. */
  async open(fid: number, mode: 'read' | 'write' | 'directory'): Promise<number> {
    const m =
      this.dialect === '9P2000.L'
        ? await this.rpc(tlopen(TAG, fid, mode === 'write' ? L.WRONLY | L.TRUNC : mode === 'directory' ? L.RDONLY | L.DIRECTORY : L.RDONLY), `Tlopen fid ${fid} ${mode}`, 13)
        : await this.rpc(topen(TAG, fid, mode === 'write' ? OWRITE | OTRUNC : OREAD), `Topen fid ${fid} ${mode}`, 113);
    const { iounit } = parseOpened(m.body);
    return iounit > 0 ? Math.min(iounit, this.msize - 24) : this.msize - 24;
  }

  /** Creates `name` in the directory fid (which becomes the new file, open for writing): Tlcreate or Tcreate. */
  async create(dirFid: number, name: string, mode: number): Promise<number> {
    const m =
      this.dialect === '9P2000.L'
        ? await this.rpc(tlcreate(TAG, dirFid, name, L.WRONLY | L.CREAT | L.TRUNC, mode, 0xffffffff), `Tlcreate fid ${dirFid} ${name} mode ${mode.toString(8)}`, 15)
        : await this.rpc(tcreate(TAG, this.dialect, dirFid, name, mode, OWRITE), `Tcreate fid ${dirFid} ${name} perm ${mode.toString(8)}`, 115);
    const { iounit } = parseOpened(m.body);
    return iounit > 0 ? Math.min(iounit, this.msize - 24) : this.msize - 24;
  }

  /** Reads an open fid from `offset` to its end (or `length` bytes) into the sink. */
  async readInto(fid: number, iounit: number, offset: number, length: number | undefined, sink: ByteSink): Promise<number> {
    let at = offset;
    let got = 0;
    for (;;) {
      const want = length === undefined ? iounit : Math.min(iounit, length - got);
      if (want <= 0) return got;
      const data = parseRread((await this.rpc(tread(TAG, fid, at, want), `Tread fid ${fid} offset ${at} count ${want}`, 117)).body);
      if (data.length > want) throw new ProtocolError(`9P: Rread of ${data.length} bytes to a Tread of ${want}`);
      if (data.length === 0) return got;
      at += data.length;
      got += data.length;
      await sink.write(data);
    }
  }

  /** Writes a source to an open fid from `offset`, iounit bytes per Twrite. */
  async writeFrom(fid: number, iounit: number, offset: number, source: ByteSource): Promise<number> {
    let at = offset;
    for (let piece = await source.read(); piece !== null; piece = await source.read()) {
      for (let i = 0; i < piece.length; ) {
        const part = piece.subarray(i, i + iounit);
        const n = parseRwrite((await this.rpc(twrite(TAG, fid, at, part), `Twrite fid ${fid} offset ${at} count ${part.length}`, 119)).body);
        if (n === 0 || n > part.length) throw new ProtocolError(`9P: Rwrite of ${n} bytes to a Twrite of ${part.length}`);
        i += n;
        at += n;
      }
    }
    return at - offset;
  }

  /** A directory's entries: Treaddir (9P2000.L) or Tread of stat records. */
  async list(fid: number, iounit: number): Promise<Entry[]> {
    const out: Entry[] = [];
    if (this.dialect === '9P2000.L') {
      let offset = 0n;
      for (;;) {
        const entries = parseRreaddir((await this.rpc(treaddir(TAG, fid, offset, iounit), `Treaddir fid ${fid} offset ${offset}`, 41)).body);
        if (entries.length === 0) return out;
        for (const e of entries) {
          if (e.name !== '.' && e.name !== '..') out.push({ name: e.name, type: qidKind(e.qid), qid: e.qid, size: null, mode: null, modified: null });
          offset = e.offset;
        }
        if (out.length > MAX_ENTRIES) throw new InvalidInput([{ field: 'path', message: `the directory has more than ${MAX_ENTRIES} entries` }]);
      }
    }
    let at = 0;
    for (;;) {
      const data = parseRread((await this.rpc(tread(TAG, fid, at, iounit), `Tread fid ${fid} offset ${at} (directory)`, 117)).body);
      if (data.length === 0) return out;
      at += data.length;
      for (const s of parseDirStats(data, this.dialect)) out.push({ name: s.name, type: qidKind(s.qid), qid: s.qid, size: s.length, mode: s.mode, modified: s.mtime || null });
      if (out.length > MAX_ENTRIES) throw new InvalidInput([{ field: 'path', message: `the directory has more than ${MAX_ENTRIES} entries` }]);
    }
  }

  /** Makes a directory `name` in the directory fid: Tmkdir, or Tcreate with DMDIR. */
  async mkdir(dirFid: number, name: string, mode: number): Promise<Qid> {
    if (this.dialect === '9P2000.L') return parseQidReply((await this.rpc(tmkdir(TAG, dirFid, name, mode, 0xffffffff), `Tmkdir fid ${dirFid} ${name} mode ${mode.toString(8)}`, 73)).body);
    const m = await this.rpc(tcreate(TAG, this.dialect, dirFid, name, (0x80000000 | mode) >>> 0, OREAD), `Tcreate fid ${dirFid} ${name} (directory)`, 115);
    await this.clunk(dirFid);
    return parseOpened(m.body).qid;
  }

  /** Tremove: removes the walked file or empty directory (and clunks its fid). */
  async remove(fid: number): Promise<void> {
    await this.rpc(tremove(TAG, fid), `Tremove fid ${fid}`, 123);
  }
}
