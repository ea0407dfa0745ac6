// An rsync daemon session (clientserver.c): greeting both ways, "#list" or a module name, the challenge when the
// module has "auth users", then the server arguments and rsync's binary stream as the receiving side sees it: compat
// flags, checksum negotiation, the checksum seed, an empty filter list, the file list in multiplexed frames, and for
// a download the generator's request for the one file, the sender's literal data and checksum, and the ending.
import { md5 } from '@noble/hashes/legacy.js';
import { concat, fromUtf8, toHex } from '../../core/bytes.ts';
import type { Conn, Frame } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, classify, InvalidInput, ProtocolError, ServerError } from '../../core/errors.ts';
import { Md4 } from '../dcerpc/ntlmssp.ts';
import {
  AUTH_DIGESTS,
  authDigest,
  authResponse,
  checkFileSum,
  Cursor,
  dataMessage,
  downloadArgs,
  extraBytes,
  FileListDecoder,
  Incomplete,
  ITEM,
  lineFrame,
  listArgs,
  literalLength,
  MSG,
  muxHeader,
  NDX_DONE,
  NdxCodec,
  parseGreeting,
  parseModuleLine,
  vstring,
  wholeFileRequest,
  type AuthDigest,
  type FileEntry,
  type Greeting,
} from './codec.ts';

/** compat.c: the sender writes file-list flags as varints (the client asked with 'v'). */
const CF_VARINT_FLIST_FLAGS = 0x80;

/** A value read by a Cursor from the front of the buffer. */
function cursorFrame<T>(read: (c: Cursor) => T): Frame<T> {
  return (buf) => {
    const c = new Cursor(buf);
    try {
      return { value: read(c), size: c.offset };
    } catch (e) {
      if (e instanceof Incomplete) return undefined;
      throw e;
    }
  };
}

export interface Listing {
  entries: FileEntry[];
  ioError: number;
  messages: { kind: string; text: string }[];
  compatFlags: number;
  checksum: string | null;
}

const TEXT_TAGS: Record<number, string> = { [MSG.ERROR_XFER]: 'error', [MSG.INFO]: 'info', [MSG.ERROR]: 'error', [MSG.WARNING]: 'warning', [MSG.ERROR_SOCKET]: 'error', [MSG.LOG]: 'log', [MSG.ERROR_UTF8]: 'error', [MSG.CLIENT]: 'info' };

/** Longest message frame other than data (an error line, an io_error word). */
const MAX_MESSAGE = 64 * 1024;
/** Longest xname (an alternate basis name) beside an index. */
const MAX_XNAME = 4096;

/** Whole-file checksums this client computes as the bytes arrive (MD4 as negotiated from protocol 30: no seed). */
export type FileChecksum = 'md5' | 'md4';

export interface OpenFile {
  entry: FileEntry;
  mux: MuxReader;
  checksum: FileChecksum;
}

/** The sender's statistics at the end of a transfer (main.c handle_stats), from its side. */
export interface SenderStats {
  bytesRead: number;
  bytesWritten: number;
  totalSize: number;
  fileListBuildMs: number;
  fileListSendMs: number;
}

export interface Received {
  bytes: number;
  /** The sender's whole-file checksum, hex (it matched the bytes received). */
  checksum: string;
  stats: SenderStats;
}

/**
 * The sender's multiplexed stream as the data it carries: MSG_DATA payloads read as they arrive (never a whole frame
 * held), other frames handled on the way: text messages collected, io_error words and MSG_NO_SEND (a file the
 * sender could not open) noted, MSG_ERROR_EXIT ending the operation in the daemon's words.
 */
export class MuxReader {
  readonly messages: { kind: string; text: string }[] = [];
  ioError = 0;
  /** The index of a file the sender could not open (MSG_NO_SEND), if any. */
  noSend: number | null = null;
  /** Data bytes left in the current MSG_DATA frame. */
  private left = 0;
  private held: Uint8Array = new Uint8Array(0);

  constructor(private readonly conn: Conn) {}

  /** Puts bytes back in front of the data stream. */
  unread(bytes: Uint8Array): void {
    this.held = concat([bytes, this.held]);
  }

  said(): string {
    return this.messages.length ? `: ${this.messages.map((x) => x.text).join(' / ')}` : '';
  }

  private message(tag: number, payload: Uint8Array): void {
    if (TEXT_TAGS[tag]) {
      if (this.messages.length < 1000) this.messages.push({ kind: TEXT_TAGS[tag], text: fromUtf8(payload).replace(/\n$/, '') });
    } else if (tag === MSG.IO_ERROR && payload.length === 4) {
      this.ioError |= new Cursor(payload).int32();
    } else if (tag === MSG.NO_SEND && payload.length === 4) {
      this.noSend = new Cursor(payload).int32();
    } else if (tag === MSG.ERROR_EXIT) {
      throw new ServerError(`the daemon ended the transfer${this.said()}`, { messages: this.messages });
    }
  }

  /** Reads frames until data is at hand. */
  private async data(what: string): Promise<void> {
    while (this.left === 0) {
      const h = await this.conn.readFrame(muxHeader, what, (x) => `message ${x.tag}, ${x.length} bytes`);
      if (h.tag === MSG.DATA) {
        this.left = h.length;
        continue;
      }
      if (h.length > MAX_MESSAGE) throw new ProtocolError(`rsync message ${h.tag} of ${h.length} bytes (over ${MAX_MESSAGE})`);
      this.message(h.tag, h.length ? await this.conn.readExact(h.length, `message ${h.tag}`) : new Uint8Array(0));
    }
  }

  /** Data bytes as they arrive, at most `max`. */
  async some(max: number, what: string): Promise<Uint8Array> {
    if (this.held.length > 0) {
      const out = this.held.subarray(0, max);
      this.held = this.held.subarray(out.length);
      return out;
    }
    await this.data(what);
    const got = await this.conn.read(Math.min(max, this.left));
    if (got === null) throw new ProtocolError(`the daemon closed the connection in ${what}${this.said()}`);
    this.left -= got.length;
    return got;
  }

  /** Exactly `n` data bytes (small reads: indexes, words, checksums). */
  async exact(n: number, what: string): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (let got = 0; got < n; ) {
      const b = await this.some(n - got, what);
      parts.push(b);
      got += b.length;
    }
    return parts.length === 1 ? parts[0].slice() : concat(parts);
  }

  /** One file index (io.c read_ndx). */
  async ndx(codec: NdxCodec): Promise<number> {
    let buf = await this.exact(1, 'file index');
    for (;;) {
      try {
        return codec.decode(new Cursor(buf));
      } catch (e) {
        if (!(e instanceof Incomplete)) throw e;
        buf = concat([buf, await this.exact(1, 'file index')]);
      }
    }
  }

  /** io.c read_varlong. */
  async varlong(min: number, field: string): Promise<number> {
    const head = await this.exact(min, field);
    const rest = await this.exact(extraBytes(head[0]), field);
    return new Cursor(concat([head, rest])).varlong(min, field);
  }

  /** Reads to the end of the stream: messages only, no more data. */
  async end(): Promise<void> {
    for (;;) {
      if (this.left > 0 || this.held.length > 0) throw new ProtocolError('rsync sender sent data after its goodbye');
      try {
        await this.data('the end of the session');
      } catch (e) {
        const err = classify(e);
        if (err.code === 'closed' && this.conn.buffered === 0) return;
        throw e;
      }
    }
  }
}

export class RsyncSession {
  greeting: Greeting | null = null;
  protocol = 0;
  motd: string[] = [];
  digest: AuthDigest | null = null;
  /** The digests our greeting listed (none before protocol 30). */
  offered: readonly AuthDigest[] = [];

  constructor(readonly conn: Conn) {}

  async line(what: string): Promise<string> {
    return this.conn.readFrame(lineFrame, what, (l) => l);
  }

  /** Reads the daemon's greeting and answers with ours: the lower of both versions is spoken. */
  async hello(version: number, digests: readonly AuthDigest[] = AUTH_DIGESTS): Promise<Greeting> {
    const g = parseGreeting(await this.line('greeting'));
    this.greeting = g;
    this.protocol = Math.min(version, g.protocol);
    this.offered = version >= 30 ? digests : [];
    await this.conn.write(`@RSYNCD: ${version}.0${this.offered.map((d) => ` ${d}`).join('')}\n`);
    return g;
  }

  /** "#list": the motd, then "name\tcomment" lines until "@RSYNCD: EXIT". */
  async modules(): Promise<{ name: string; comment: string }[]> {
    await this.conn.write('#list\n');
    const modules: { name: string; comment: string }[] = [];
    for (let n = 0; n < 100_000; n++) {
      const l = await this.line('module list');
      if (l === '@RSYNCD: EXIT') return modules;
      if (l.startsWith('@ERROR')) throw new ServerError(`the daemon refused the module list: ${l}`, { line: l });
      if (l.includes('\t')) modules.push(parseModuleLine(l));
      else if (modules.length === 0) this.motd.push(l);
    }
    throw new ProtocolError('rsync module list longer than 100000 lines');
  }

  /** Selects a module; answers the challenge when it asks for one. */
  async select(module: string, creds: { username?: string; password?: string }, crypto: CryptoPort): Promise<{ authenticated: boolean }> {
    if (!/^[^\s\0/#][^\0\n/]*$/.test(module)) throw InvalidInput.field('module', 'must be a module name (no slash, no newline)');
    await this.conn.write(`${module}\n`);
    let authenticated = false;
    for (let n = 0; n < 10_000; n++) {
      const l = await this.line('module reply');
      if (l === '@RSYNCD: OK') return { authenticated };
      if (l.startsWith('@RSYNCD: AUTHREQD ')) {
        if (creds.username === undefined || creds.password === undefined) throw new AuthError(`module ${module} requires a user name and password (auth users)`, { line: l });
        this.digest = authDigest(this.greeting!, this.protocol, this.offered);
        const answer = authResponse(creds.username, creds.password, l.slice('@RSYNCD: AUTHREQD '.length).trim(), this.digest, crypto);
        await this.conn.write(`${answer}\n`, { secret: true, decode: `${creds.username} **** (${this.digest})` });
        authenticated = true;
        continue;
      }
      if (l.startsWith('@ERROR')) {
        const text = l.replace(/^@ERROR:?\s*/, '');
        if (authenticated && /auth failed/i.test(text)) throw new AuthError(`the daemon refused the login: ${l}`, { line: l });
        throw new ServerError(`the daemon refused module ${module}: ${l}`, { line: l });
      }
      if (l === '@RSYNCD: EXIT') throw new ServerError(`the daemon closed the session for module ${module}`);
      this.motd.push(l);
    }
    throw new ProtocolError('rsync daemon sent more than 10000 lines before OK');
  }

  /**
   * Sends the server arguments and reads what the sender writes before its file list: compat flags, the checksum
   * negotiation (offering `checksums`), the seed; then writes an empty filter list.
   */
  private async start(args: Uint8Array, decode: string, checksums: string): Promise<{ compatFlags: number; checksum: string | null }> {
    await this.conn.write(args, { decode });
    const compatFlags = await this.conn.readFrame(cursorFrame((c) => c.varint('compat flags')), 'compat flags', (v) => `compat flags 0x${v.toString(16)}`);
    let checksum: string | null = null;
    if (compatFlags & CF_VARINT_FLIST_FLAGS) {
      await this.conn.write(vstring(checksums), { decode: `checksums: ${checksums}` });
      const theirs = await this.conn.readFrame(cursorFrame((c) => c.vstring('checksum list')), 'checksum list', (s) => `checksums: ${s}`);
      checksum = checksums.split(' ').find((x) => theirs.split(/\s+/).includes(x)) ?? null;
    }
    await this.conn.readFrame(cursorFrame((c) => c.int32()), 'checksum seed', (v) => `checksum seed ${v}`);
    // An empty filter list (one zero int), multiplexed like everything this side writes from protocol 30.
    await this.conn.write(dataMessage(new Uint8Array(4)), { decode: 'filter list: empty' });
    return { compatFlags, checksum };
  }

  /** Reads the file list from the sender's multiplexed stream. */
  private async fileList(mux: MuxReader): Promise<FileListDecoder> {
    const decoder = new FileListDecoder();
    let pending = new Uint8Array(0);
    while (!decoder.done) {
      const chunk = await mux.some(64 * 1024, 'file list');
      const joined = concat([pending, chunk]);
      const used = decoder.decode(joined, 0);
      pending = joined.slice(used);
      if (pending.length > 64 * 1024) throw new ProtocolError('rsync file list entry larger than 64 KiB');
    }
    if (pending.length > 0) mux.unread(pending);
    if (decoder.entries.length === 0 && decoder.ioError !== 0) {
      const messages = mux.messages;
      throw new ServerError(`the daemon sent no file list${messages.length ? `: ${messages.map((x) => x.text).join(' / ')}` : ` (io_error ${decoder.ioError})`}`, { ioError: decoder.ioError, messages });
    }
    return decoder;
  }

  /** The file list of `path` in the selected module (recursive or one directory level). */
  async list(module: string, path: string, recursive: boolean): Promise<Listing> {
    if (this.protocol < 30) throw new ProtocolError(`listing needs protocol 30 or later; the session speaks ${this.protocol}`);
    const { compatFlags, checksum } = await this.start(listArgs(module, path, recursive), `--server --sender -l${recursive ? 'r' : 'd'}e.LsfxCv --list-only . ${module}/${path}`, 'md5 md4');
    const mux = new MuxReader(this.conn);
    const decoder = await this.fileList(mux);
    return { entries: decoder.entries, ioError: decoder.ioError ?? 0, messages: mux.messages, compatFlags, checksum };
  }

  /**
   * Asks the sender for one file and reads its file list: the one entry, which must be a regular file. The transfer
   * itself is `receive`.
   */
  async openFile(module: string, path: string, offer: readonly FileChecksum[]): Promise<OpenFile> {
    if (this.protocol < 30) throw new ProtocolError(`downloading needs protocol 30 or later; the session speaks ${this.protocol}`);
    if (path === '' || path.endsWith('/')) throw InvalidInput.field('path', 'must name a file, not a directory');
    // Without a negotiation (a daemon that does not offer one) the whole-file checksum of protocol 30 and later is MD5.
    const { compatFlags, checksum } = await this.start(downloadArgs(module, path), `--server --sender -lde.LsfxCv . ${module}/${path}`, offer.join(' '));
    if (compatFlags & CF_VARINT_FLIST_FLAGS && checksum === null) throw new ProtocolError(`the daemon takes none of the checksums offered (${offer.join(' ')})`);
    const chosen: FileChecksum = (checksum as FileChecksum | null) ?? 'md5';
    const mux = new MuxReader(this.conn);
    const decoder = await this.fileList(mux);
    if (decoder.entries.length !== 1) throw new ServerError(`${path}: the daemon listed ${decoder.entries.length} entries for one path${mux.messages.length ? `: ${mux.messages.map((x) => x.text).join(' / ')}` : ''}`, { messages: mux.messages });
    const entry = decoder.entries[0];
    if (entry.type !== 'file') {
      await this.finish(mux, new NdxCodec()).catch(() => undefined);
      throw new InvalidInput([{ field: 'path', message: `${path} is a ${entry.type === 'dir' ? 'directory' : entry.type}${entry.target !== undefined ? ` (to ${entry.target})` : ''}: only a regular file can be downloaded` }]);
    }
    return { entry, mux, checksum: chosen };
  }

  /**
   * The generator's and the receiver's part for the one file: a whole-file request (no blocks), the phase ends, then
   * the sender's echo, its literal data handed to `write` as it arrives, the checksum it ends with (checked), its phase
   * ends and statistics, and the goodbye exchange, so the daemon ends cleanly.
   */
  async receive(file: OpenFile, write: (chunk: Uint8Array) => Promise<void>): Promise<Received> {
    const { mux } = file;
    const out = new NdxCodec();
    const inp = new NdxCodec();
    // The request and the three phase ends of protocol 29 and later (sender.c max_phase 2): the sender reads them in order.
    await this.conn.write(dataMessage(concat([wholeFileRequest(out, 0), out.encode(NDX_DONE), out.encode(NDX_DONE), out.encode(NDX_DONE)])), { decode: 'file 0: ITEM_TRANSFER, no blocks (whole file); NDX_DONE x3' });
    const ndx = await mux.ndx(inp);
    if (ndx === NDX_DONE) {
      // The sender could not open the file (MSG_NO_SEND) and went on to the end of the phase: end as rsync does, then say why.
      await this.finish(mux, inp, out, 1).catch(() => undefined);
      throw new ServerError(`the daemon did not send ${file.entry.name}${mux.said() || (mux.noSend !== null ? ' (MSG_NO_SEND)' : '')}`, { messages: mux.messages, noSend: mux.noSend });
    }
    if (ndx !== 0) throw new ProtocolError(`rsync sender answered for file index ${ndx}, not 0`);
    const iflags = new Cursor(await mux.exact(2, 'item flags')).u16();
    if (iflags & ITEM.BASIS_TYPE_FOLLOWS) await mux.exact(1, 'basis type');
    if (iflags & ITEM.XNAME_FOLLOWS) {
      const first = (await mux.exact(1, 'xname length'))[0];
      const len = first & 0x80 ? ((first & 0x7f) << 8) | (await mux.exact(1, 'xname length'))[0] : first;
      if (len > MAX_XNAME) throw new ProtocolError(`rsync xname of ${len} bytes`);
      await mux.exact(len, 'xname');
    }
    if (!(iflags & ITEM.TRANSFER)) throw new ProtocolError(`rsync sender answered file 0 without ITEM_TRANSFER (flags 0x${iflags.toString(16)})`);
    const head = new Cursor(await mux.exact(16, 'checksum head'));
    const sum = { count: head.sint32(), blength: head.sint32(), s2length: head.sint32(), remainder: head.sint32() };
    if (sum.count !== 0) throw new ProtocolError(`rsync sender echoed ${sum.count} checksum blocks for a whole-file request`);
    const hash = file.checksum === 'md5' ? md5.create() : new Md4();
    let bytes = 0;
    for (;;) {
      const len = literalLength(new Cursor(await mux.exact(4, 'data token')).sint32());
      if (len === 0) break;
      for (let left = len; left > 0; ) {
        const chunk = await mux.some(left, 'file data');
        left -= chunk.length;
        bytes += chunk.length;
        hash.update(chunk);
        await write(chunk);
      }
    }
    const sent = await mux.exact(16, 'file checksum');
    checkFileSum(file.entry.name, file.checksum.toUpperCase(), sent, hash.digest());
    const stats = await this.finish(mux, inp, out);
    return { bytes, checksum: toHex(sent), stats };
  }

  /**
   * The end of a transfer as the sender sees it: its three phase ends, its statistics (read, written, total size,
   * file-list times), then the goodbye: our NDX_DONE, and from protocol 31 its NDX_DONE and ours once more. Then the
   * daemon closes.
   */
  private async finish(mux: MuxReader, inp: NdxCodec, out?: NdxCodec, phasesRead = 0): Promise<SenderStats> {
    const w = out ?? new NdxCodec();
    if (!out) await this.conn.write(dataMessage(concat([w.encode(NDX_DONE), w.encode(NDX_DONE), w.encode(NDX_DONE)])), { decode: 'NDX_DONE x3' });
    for (let phase = phasesRead; phase < 3; phase++) {
      const n = await mux.ndx(inp);
      if (n !== NDX_DONE) throw new ProtocolError(`rsync sender sent file index ${n} where the end of phase ${phase} belongs`);
    }
    const v: number[] = [];
    for (let i = 0; i < 5; i++) v.push(await mux.varlong(3, 'statistics'));
    await this.conn.write(dataMessage(w.encode(NDX_DONE)), { decode: 'NDX_DONE (goodbye)' });
    if (this.protocol >= 31) {
      const n = await mux.ndx(inp);
      if (n !== NDX_DONE) throw new ProtocolError(`rsync sender sent file index ${n} in its goodbye`);
      await this.conn.write(dataMessage(w.encode(NDX_DONE)), { decode: 'NDX_DONE (goodbye)' });
    }
    await mux.end();
    return { bytesRead: v[0], bytesWritten: v[1], totalSize: v[2], fileListBuildMs: v[3], fileListSendMs: v[4] };
  }

  /** Ends the session politely where the protocol allows: a listing needs no more than closing. */
  async close(): Promise<void> {
    await this.conn.close();
  }
}

