// SFTP version 3, draft-ietf-secsh-filexfer-02 (packets 3, attributes 5, requests 6, responses 7), over the "sftp"
// subsystem (RFC 4254 6.5); OpenSSH PROTOCOL 4.1 (SYMLINK argument order) and limits@openssh.com.
//
// How it works: the subsystem channel is a byte stream of length-prefixed packets. A reader loop
// cuts packets out of it (sftpFrame) and settles the request with the same id, so requests can be
// pipelined: get keeps up to `MAX_INFLIGHT` READs outstanding, put as many WRITEs.
import { concat } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { memorySource, type ByteSink, type ByteSource } from '../../core/files.ts';
import type { Channel, SshConnection } from './connection.ts';
import { SshReader, SshWriter } from './wire.ts';

export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

/** draft-ietf-secsh-filexfer-02 7: SSH_FX_* status codes. */
export const STATUS_NAMES: Record<number, string> = {
  0: 'OK',
  1: 'EOF',
  2: 'NO_SUCH_FILE',
  3: 'PERMISSION_DENIED',
  4: 'FAILURE',
  5: 'BAD_MESSAGE',
  6: 'NO_CONNECTION',
  7: 'CONNECTION_LOST',
  8: 'OP_UNSUPPORTED',
};

/** 6.3: SSH_FXF_* open flags. */
export const OPEN_FLAGS = { READ: 1, WRITE: 2, APPEND: 4, CREAT: 8, TRUNC: 0x10, EXCL: 0x20 } as const;

const ATTR = { SIZE: 1, UIDGID: 2, PERMISSIONS: 4, ACMODTIME: 8, EXTENDED: 0x80000000 } as const;

/** Largest SFTP packet accepted (OpenSSH's sftp-server uses 256 KiB). */
export const MAX_SFTP_PACKET = 256 * 1024 + 1024;
/** Request sizes without limits@openssh.com (draft 6.4: servers must handle 32 KiB), and the most we ever ask. */
const DEFAULT_IO_SIZE = 32 * 1024;
const MAX_IO_SIZE = 255 * 1024;
/** Bytes of READs or WRITEs outstanding at once. */
const INFLIGHT_BYTES = 4 * 1024 * 1024;
/** An upload's pieces smaller than this are gathered into one WRITE. */
const GATHER_BYTES = 64 * 1024;
const MAX_NAMES_PER_READDIR = 10_000;

export interface Attrs {
  size?: number;
  uid?: number;
  gid?: number;
  permissions?: number;
  atime?: number;
  mtime?: number;
  extended?: Record<string, string>;
}

/** 3: the uint32 length before each packet, checked. */
function packetLength(b0: number, b1: number, b2: number, b3: number): number {
  const len = ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
  if (len < 1 || len > MAX_SFTP_PACKET) throw new ProtocolError(`SFTP packet length ${len} is out of range (1–${MAX_SFTP_PACKET})`);
  return len;
}

/** 3: uint32 length, then byte type and the body; the value is type + body. */
export const sftpFrame: Frame<Uint8Array> = (buf) => {
  if (buf.length < 4) return undefined;
  const len = packetLength(buf[0], buf[1], buf[2], buf[3]);
  if (buf.length < 4 + len) return undefined;
  return { value: buf.subarray(4, 4 + len), size: 4 + len };
};

/**
 * Cuts packets (as sftpFrame reads them) out of channel data. A packet of file data spans several
 * channel messages: its pieces are kept as they come and copied once, into the packet, when the last
 * one arrives (a FrameDecoder would copy the growing buffer on every message).
 */
export class SftpPacketReader {
  private parts: Uint8Array[] = [];
  private have = 0;
  /** Bytes of the packet being gathered, length field included; 0 until its length is known. */
  private need = 0;

  feed(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (chunk.length > 0) {
      this.parts.push(chunk);
      this.have += chunk.length;
    }
    for (;;) {
      if (this.need === 0) {
        if (this.have < 4) return out;
        const h = this.peek(4);
        this.need = 4 + packetLength(h[0], h[1], h[2], h[3]);
      }
      if (this.have < this.need) return out;
      out.push(this.take(this.need).subarray(4));
      this.have -= this.need;
      this.need = 0;
    }
  }

  /** The first n buffered bytes (n ≤ have), without consuming them. */
  private peek(n: number): Uint8Array {
    if (this.parts[0].length >= n) return this.parts[0];
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of this.parts) {
      const piece = p.subarray(0, n - at);
      out.set(piece, at);
      at += piece.length;
      if (at === n) break;
    }
    return out;
  }

  /** Consumes the first n buffered bytes (n ≤ have): a view when one piece holds them, else one copy. */
  private take(n: number): Uint8Array {
    const first = this.parts[0];
    if (first.length >= n) {
      if (first.length === n) this.parts.shift();
      else this.parts[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const p = this.parts[0];
      const piece = p.subarray(0, n - at);
      out.set(piece, at);
      at += piece.length;
      if (piece.length === p.length) this.parts.shift();
      else this.parts[0] = p.subarray(piece.length);
    }
    return out;
  }
}

/** 5: file attributes. */
export function decodeAttrs(r: SshReader): Attrs {
  const flags = r.u32('attribute flags');
  const a: Attrs = {};
  if (flags & ATTR.SIZE) a.size = Number(r.u64('size'));
  if (flags & ATTR.UIDGID) {
    a.uid = r.u32('uid');
    a.gid = r.u32('gid');
  }
  if (flags & ATTR.PERMISSIONS) a.permissions = r.u32('permissions');
  if (flags & ATTR.ACMODTIME) {
    a.atime = r.u32('atime');
    a.mtime = r.u32('mtime');
  }
  if (flags & ATTR.EXTENDED) {
    const n = r.u32('extended count');
    if (n > 64) throw new ProtocolError(`SFTP attributes with ${n} extended pairs (limit 64)`);
    a.extended = {};
    for (let i = 0; i < n; i++) a.extended[r.text('extended type', 256)] = r.text('extended data', 4096);
  }
  return a;
}

export function encodeAttrs(w: SshWriter, a: Attrs): SshWriter {
  let flags = 0;
  if (a.size !== undefined) flags |= ATTR.SIZE;
  if (a.uid !== undefined && a.gid !== undefined) flags |= ATTR.UIDGID;
  if (a.permissions !== undefined) flags |= ATTR.PERMISSIONS;
  if (a.atime !== undefined && a.mtime !== undefined) flags |= ATTR.ACMODTIME;
  w.u32(flags);
  if (a.size !== undefined) w.u64(BigInt(a.size));
  if (flags & ATTR.UIDGID) w.u32(a.uid!).u32(a.gid!);
  if (a.permissions !== undefined) w.u32(a.permissions);
  if (flags & ATTR.ACMODTIME) w.u32(a.atime!).u32(a.mtime!);
  return w;
}

/** The file type from the permission bits (POSIX S_IFMT). */
export function fileType(mode: number | undefined): 'file' | 'directory' | 'symlink' | 'other' | 'unknown' {
  if (mode === undefined) return 'unknown';
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'directory';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

export interface NameEntry {
  filename: string;
  longname: string;
  attrs: Attrs;
}

type Reply = { type: number; r: SshReader };

interface Pending {
  resolve(v: Reply): void;
  reject(e: unknown): void;
}

export class SftpStatusError extends ServerError {
  readonly status: number;
  constructor(status: number, message: string, path?: string) {
    super(`${path ? `${path}: ` : ''}${message || STATUS_NAMES[status] || `status ${status}`}`, { status: STATUS_NAMES[status] ?? status, ...(path ? { path } : {}) });
    this.status = status;
  }
}

export class SftpClient {
  private readonly ch: Channel;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder = new SftpPacketReader();
  private failure: PortolanError | null = null;
  version = 0;
  extensions: Record<string, string> = {};
  readSize = DEFAULT_IO_SIZE;
  writeSize = DEFAULT_IO_SIZE;
  /** OpenSSH's sftp-server takes SYMLINK's arguments in reverse order (PROTOCOL 4.1). */
  private symlinkReversed: boolean;

  private constructor(ch: Channel, serverVersion: string) {
    this.ch = ch;
    this.symlinkReversed = /OpenSSH/i.test(serverVersion);
  }

  /** Opens the sftp subsystem and exchanges INIT / VERSION (4). */
  static async open(conn: SshConnection): Promise<SftpClient> {
    const ch = await conn.openSession();
    if (!(await ch.request('subsystem', true, (w) => w.string('sftp')))) throw new ServerError('server refused the sftp subsystem');
    const client = new SftpClient(ch, conn.transport.server.softwareVersion);
    await ch.write(new SshWriter(16).u32(5).u8(FXP.INIT).u32(3).finish());
    const first = await client.readPacket();
    const r = new SshReader(first);
    if (r.u8('type') !== FXP.VERSION) throw new ProtocolError('SFTP server did not answer INIT with VERSION');
    client.version = r.u32('version');
    if (client.version < 3) throw new ProtocolError(`SFTP server speaks version ${client.version}; version 3 is needed`);
    while (r.remaining > 0) client.extensions[r.text('extension name', 256)] = r.text('extension data', 1024);
    void client.pump();
    if ('limits@openssh.com' in client.extensions) {
      // OpenSSH PROTOCOL 4.8: max-packet-length, max-read-length, max-write-length, max-open-handles (uint64 each).
      const l = SftpClient.expect(await client.request(FXP.EXTENDED, (w) => w.string('limits@openssh.com')), FXP.EXTENDED_REPLY);
      l.u64('max-packet-length');
      const maxRead = Number(l.u64('max-read-length'));
      const maxWrite = Number(l.u64('max-write-length'));
      if (maxRead > 0) client.readSize = Math.min(maxRead, MAX_IO_SIZE);
      if (maxWrite > 0) client.writeSize = Math.min(maxWrite, MAX_IO_SIZE);
    }
    return client;
  }

  /** The next whole packet from the channel (used before the pump starts). */
  private async readPacket(): Promise<Uint8Array> {
    for (;;) {
      const got = this.queue.shift();
      if (got) return got;
      const chunk = await this.ch.read();
      if (!chunk) throw new PortolanError('closed', 'SFTP channel closed');
      if (chunk.stream === 'stdout') this.queue.push(...this.decoder.feed(chunk.data));
    }
  }

  private readonly queue: Uint8Array[] = [];

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const packet = await this.readPacket();
        const r = new SshReader(packet);
        const type = r.u8('type');
        const id = r.u32('request id');
        const p = this.pending.get(id);
        if (!p) throw new ProtocolError(`SFTP reply for unknown request ${id}`);
        this.pending.delete(id);
        p.resolve({ type, r });
      }
    } catch (e) {
      const err = e instanceof PortolanError ? e : new ProtocolError(String(e));
      this.failure = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    }
  }

  /** Sends a request (its body after the id, `size` bytes when known) and waits for the reply with the same id. */
  private request(type: number, body: (w: SshWriter) => void, size = 64): Promise<Reply> {
    if (this.failure) {
      // Handled here for the same reason as below: a read-ahead asked for after the channel failed.
      const failed = Promise.reject(this.failure);
      failed.catch(() => {});
      return failed;
    }
    const id = this.nextId;
    this.nextId = (this.nextId + 1) >>> 0 || 1;
    const w = new SshWriter(9 + size);
    const done = w.lengthAt('u32');
    w.u8(type).u32(id);
    body(w);
    done();
    const reply = new Promise<Reply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    // A read-ahead a download no longer waits for (it stopped early) fails with the channel, with no one to see it.
    reply.catch(() => {});
    // Not awaited: requests queue on the channel in order while earlier ones are still being written (pipelining).
    this.ch.write(w.written()).catch((e) => {
      const p = this.pending.get(id);
      this.pending.delete(id);
      p?.reject(e);
    });
    return reply;
  }

  private static status(reply: Reply, path?: string): void {
    if (reply.type !== FXP.STATUS) throw new ProtocolError(`expected SFTP STATUS, got type ${reply.type}`);
    const code = reply.r.u32('status code');
    if (code === 0) return;
    throw new SftpStatusError(code, reply.r.remaining >= 4 ? reply.r.text('error message', 4096) : '', path);
  }

  private static expect(reply: Reply, type: number, path?: string): SshReader {
    if (reply.type === FXP.STATUS) {
      SftpClient.status(reply, path);
      throw new ProtocolError(`SFTP server answered OK where a reply of type ${type} was expected`);
    }
    if (reply.type !== type) throw new ProtocolError(`expected SFTP reply type ${type}, got ${reply.type}`);
    return reply.r;
  }

  private static names(r: SshReader): NameEntry[] {
    const n = r.u32('name count');
    if (n > MAX_NAMES_PER_READDIR) throw new ProtocolError(`SFTP NAME with ${n} entries`);
    const out: NameEntry[] = [];
    for (let i = 0; i < n; i++) out.push({ filename: r.text('filename', 4096), longname: r.text('longname', 8192), attrs: decodeAttrs(r) });
    return out;
  }

  async realpath(path: string): Promise<string> {
    const r = SftpClient.expect(await this.request(FXP.REALPATH, (w) => w.string(path)), FXP.NAME, path);
    const names = SftpClient.names(r);
    if (names.length !== 1) throw new ProtocolError(`REALPATH returned ${names.length} names`);
    return names[0].filename;
  }

  async stat(path: string, follow = true): Promise<Attrs> {
    return decodeAttrs(SftpClient.expect(await this.request(follow ? FXP.STAT : FXP.LSTAT, (w) => w.string(path)), FXP.ATTRS, path));
  }

  async list(path: string, max: number): Promise<{ entries: NameEntry[]; truncated: boolean }> {
    const handle = SftpClient.expect(await this.request(FXP.OPENDIR, (w) => w.string(path)), FXP.HANDLE, path).string('handle', 256).slice();
    const entries: NameEntry[] = [];
    let truncated = false;
    try {
      for (;;) {
        const reply = await this.request(FXP.READDIR, (w) => w.string(handle));
        if (reply.type === FXP.STATUS) {
          const code = reply.r.u32('status code');
          if (code === 1) break; // SSH_FX_EOF: no more entries.
          throw new SftpStatusError(code, reply.r.remaining >= 4 ? reply.r.text('error message', 4096) : '', path);
        }
        for (const e of SftpClient.names(SftpClient.expect(reply, FXP.NAME, path))) {
          if (e.filename === '.' || e.filename === '..') continue;
          if (entries.length >= max) truncated = true;
          else entries.push(e);
        }
        if (truncated) break;
      }
    } finally {
      await this.close(handle).catch(() => {});
    }
    entries.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
    return { entries, truncated };
  }

  async open(path: string, flags: number, attrs: Attrs = {}): Promise<Uint8Array> {
    const reply = await this.request(FXP.OPEN, (w) => encodeAttrs(w.string(path).u32(flags), attrs));
    return SftpClient.expect(reply, FXP.HANDLE, path).string('handle', 256).slice();
  }

  async close(handle: Uint8Array): Promise<void> {
    SftpClient.status(await this.request(FXP.CLOSE, (w) => w.string(handle)));
  }

  /** Opens `path` for reading and reads its attributes (FSTAT): a download can name its size before the first byte. */
  async openRead(path: string): Promise<{ handle: Uint8Array; attrs: Attrs }> {
    const handle = await this.open(path, OPEN_FLAGS.READ);
    try {
      return { handle, attrs: await this.fstat(handle) };
    } catch (e) {
      await this.close(handle).catch(() => {});
      throw e;
    }
  }

  /**
   * Reads a file (from `offset`, at most `length` bytes) with pipelined READs, up to INFLIGHT_BYTES
   * outstanding, and writes each chunk in order to `sink`. A write that waits (a slow client) delays the
   * next READs, so what is buffered stays bounded. `handle`: a handle from openRead, closed here.
   * Returns the number of bytes read.
   */
  async download(path: string, sink: ByteSink, opts: { offset?: number; length?: number; handle?: Uint8Array } = {}): Promise<number> {
    const handle = opts.handle ?? (await this.open(path, OPEN_FLAGS.READ));
    const start = opts.offset ?? 0;
    const end = opts.length === undefined ? Number.MAX_SAFE_INTEGER : start + opts.length;
    let next = start;
    let eof = false;
    let total = 0;
    const inflight: Array<{ offset: number; len: number; reply: Promise<Reply> }> = [];
    const issue = () => {
      while (!eof && inflight.length * this.readSize < INFLIGHT_BYTES && next < end) {
        const len = Math.min(this.readSize, end - next);
        const offset = next;
        inflight.push({ offset, len, reply: this.request(FXP.READ, (w) => w.string(handle).u64(BigInt(offset)).u32(len)) });
        next += len;
      }
    };
    try {
      issue();
      while (inflight.length > 0) {
        const head = inflight.shift()!;
        const reply = await head.reply;
        if (reply.type === FXP.STATUS) {
          const code = reply.r.u32('status code');
          if (code !== 1) throw new SftpStatusError(code, reply.r.remaining >= 4 ? reply.r.text('error message', 4096) : '', path);
          eof = true;
          // Later READs past the end also answer EOF; drain them.
          for (const rest of inflight.splice(0)) await rest.reply.catch(() => undefined);
          break;
        }
        const data = SftpClient.expect(reply, FXP.DATA, path).string('data', MAX_SFTP_PACKET);
        if (data.length > head.len) throw new ProtocolError(`SFTP server returned ${data.length} bytes for a ${head.len}-byte READ`);
        total += data.length;
        if (data.length < head.len) {
          // A short read (draft 6.4 allows it): ask again for the rest, in order, before anything later.
          const offset = head.offset + data.length;
          const len = head.len - data.length;
          inflight.unshift({ offset, len, reply: this.request(FXP.READ, (w) => w.string(handle).u64(BigInt(offset)).u32(len)) });
        } else {
          issue();
        }
        if (data.length > 0) await sink.write(data);
      }
    } finally {
      for (const rest of inflight.splice(0)) rest.reply.catch(() => undefined);
      await this.close(handle).catch(() => {});
    }
    return total;
  }

  /** Writes `data` to `path` with pipelined WRITEs (create/truncate, or append). */
  async upload(path: string, data: Uint8Array, opts: { mode?: number; append?: boolean } = {}): Promise<void> {
    await this.uploadFrom(path, memorySource(data, this.writeSize), opts);
  }

  /**
   * Writes what `source` yields to `path` (create/truncate, or append), gathered into WRITEs of the
   * server's write size with up to INFLIGHT_BYTES outstanding. Returns the number of bytes written.
   */
  async uploadFrom(path: string, source: ByteSource, opts: { mode?: number; append?: boolean } = {}): Promise<number> {
    const flags = OPEN_FLAGS.WRITE | OPEN_FLAGS.CREAT | (opts.append ? OPEN_FLAGS.APPEND : OPEN_FLAGS.TRUNC);
    const handle = await this.open(path, flags, opts.mode !== undefined ? { permissions: opts.mode } : {});
    let offset = 0;
    let written = 0;
    const inflight: Array<{ len: number; reply: Promise<Reply> }> = [];
    let inflightBytes = 0;
    try {
      if (opts.append) offset = (await this.fstat(handle)).size ?? 0;
      const issue = async (chunk: Uint8Array) => {
        const at = offset;
        const len = chunk.length;
        offset += len;
        written += len;
        inflight.push({ len, reply: this.request(FXP.WRITE, (w) => w.string(handle).u64(BigInt(at)).string(chunk), 16 + handle.length + len) });
        inflightBytes += len;
        while (inflightBytes >= INFLIGHT_BYTES) {
          const done = inflight.shift()!;
          inflightBytes -= done.len;
          SftpClient.status(await done.reply, path);
        }
      };
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      // The chunks whose bytes are in `pending`: a WRITE copies them, so each goes back to the source once sent.
      let held: Uint8Array[] = [];
      const flush = async (rest: boolean) => {
        const sent = issue(pending.length === 1 ? pending[0] : concat(pending));
        pending = [];
        pendingBytes = 0;
        const keep = rest ? held.pop() : undefined;
        for (const h of held) source.recycle?.(h);
        held = keep ? [keep] : [];
        await sent;
      };
      for (let whole = await source.read(); whole !== null; whole = await source.read()) {
        held.push(whole);
        // A chunk goes as WRITEs of at most the server's size; small chunks are gathered up to GATHER_BYTES first
        // (each request costs more than its bytes), large ones are not copied into a bigger one.
        for (let chunk = whole; chunk.length > 0; ) {
          const piece = chunk.subarray(0, this.writeSize);
          if (pendingBytes + piece.length > this.writeSize) await flush(true);
          chunk = chunk.subarray(piece.length);
          pending.push(piece);
          pendingBytes += piece.length;
          if (pendingBytes >= Math.min(GATHER_BYTES, this.writeSize)) await flush(chunk.length > 0);
        }
      }
      if (pendingBytes > 0) await issue(concat(pending));
      for (const p of inflight.splice(0)) SftpClient.status(await p.reply, path);
    } finally {
      for (const rest of inflight.splice(0)) rest.reply.catch(() => undefined);
      await this.close(handle).catch(() => {});
    }
    return written;
  }

  async fstat(handle: Uint8Array): Promise<Attrs> {
    return decodeAttrs(SftpClient.expect(await this.request(FXP.FSTAT, (w) => w.string(handle)), FXP.ATTRS));
  }

  async setstat(path: string, attrs: Attrs): Promise<void> {
    SftpClient.status(await this.request(FXP.SETSTAT, (w) => encodeAttrs(w.string(path), attrs)), path);
  }

  async mkdir(path: string, mode?: number): Promise<void> {
    SftpClient.status(await this.request(FXP.MKDIR, (w) => encodeAttrs(w.string(path), mode !== undefined ? { permissions: mode } : {})), path);
  }

  async rmdir(path: string): Promise<void> {
    SftpClient.status(await this.request(FXP.RMDIR, (w) => w.string(path)), path);
  }

  async remove(path: string): Promise<void> {
    SftpClient.status(await this.request(FXP.REMOVE, (w) => w.string(path)), path);
  }

  async rename(from: string, to: string): Promise<void> {
    SftpClient.status(await this.request(FXP.RENAME, (w) => w.string(from).string(to)), from);
  }

  async readlink(path: string): Promise<string> {
    const names = SftpClient.names(SftpClient.expect(await this.request(FXP.READLINK, (w) => w.string(path)), FXP.NAME, path));
    if (names.length !== 1) throw new ProtocolError(`READLINK returned ${names.length} names`);
    return names[0].filename;
  }

  /** Creates `linkPath` pointing at `target`. */
  async symlink(target: string, linkPath: string): Promise<void> {
    // draft 6.10: linkpath then targetpath; OpenSSH (PROTOCOL 4.1) reads them the other way round.
    const [a, b] = this.symlinkReversed ? [target, linkPath] : [linkPath, target];
    SftpClient.status(await this.request(FXP.SYMLINK, (w) => w.string(a).string(b)), linkPath);
  }

  async end(): Promise<void> {
    await this.ch.eof().catch(() => {});
    await this.ch.close().catch(() => {});
  }
}
