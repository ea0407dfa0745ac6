// An rsync daemon session (clientserver.c): greeting both ways, "#list" or a module name, the challenge when the
// module has "auth users", then for a listing the server arguments and rsync's binary stream as the receiving side
// sees it: compat flags, checksum negotiation, the checksum seed, an empty filter list, and the file list in
// multiplexed frames.
import { fromUtf8 } from '../../core/bytes.ts';
import type { Conn, Frame } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, InvalidInput, ProtocolError, ServerError } from '../../core/errors.ts';
import { AUTH_DIGESTS, authDigest, authResponse, Cursor, dataMessage, FileListDecoder, Incomplete, lineFrame, listArgs, messageFrame, MSG, parseGreeting, parseModuleLine, vstring, type AuthDigest, type FileEntry, type Greeting } from './codec.ts';

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

  /** The file list of `path` in the selected module (recursive or one directory level). */
  async list(module: string, path: string, recursive: boolean): Promise<Listing> {
    if (this.protocol < 30) throw new ProtocolError(`listing needs protocol 30 or later; the session speaks ${this.protocol}`);
    await this.conn.write(listArgs(module, path, recursive), { decode: `--server --sender -l${recursive ? 'r' : 'd'}e.LsfxCv --list-only . ${module}/${path}` });
    const compatFlags = await this.conn.readFrame(cursorFrame((c) => c.varint('compat flags')), 'compat flags', (v) => `compat flags 0x${v.toString(16)}`);
    let checksum: string | null = null;
    if (compatFlags & CF_VARINT_FLIST_FLAGS) {
      await this.conn.write(vstring('md5 md4'), { decode: 'checksums: md5 md4' });
      const theirs = await this.conn.readFrame(cursorFrame((c) => c.vstring('checksum list')), 'checksum list', (s) => `checksums: ${s}`);
      checksum = ['md5', 'md4'].find((x) => theirs.split(/\s+/).includes(x)) ?? null;
    }
    await this.conn.readFrame(cursorFrame((c) => c.int32()), 'checksum seed', (v) => `checksum seed ${v}`);
    // An empty filter list (one zero int), multiplexed like everything this side writes from protocol 30.
    await this.conn.write(dataMessage(new Uint8Array(4)), { decode: 'filter list: empty' });
    const decoder = new FileListDecoder();
    const messages: Listing['messages'] = [];
    let pending = new Uint8Array(0);
    while (!decoder.done) {
      const m = await this.conn.readFrame(messageFrame, 'file list', (x) => `message ${x.tag} (${x.payload.length} bytes)`);
      if (m.tag === MSG.DATA) {
        const joined = new Uint8Array(pending.length + m.payload.length);
        joined.set(pending);
        joined.set(m.payload, pending.length);
        const used = decoder.decode(joined, 0);
        pending = joined.slice(used);
        if (pending.length > 64 * 1024) throw new ProtocolError('rsync file list entry larger than 64 KiB');
      } else if (TEXT_TAGS[m.tag]) {
        if (messages.length < 1000) messages.push({ kind: TEXT_TAGS[m.tag], text: fromUtf8(m.payload).replace(/\n$/, '') });
      } else if (m.tag === MSG.ERROR_EXIT) {
        throw new ServerError(`the daemon ended the transfer${messages.length ? `: ${messages.map((x) => x.text).join(' / ')}` : ''}`, { messages });
      }
    }
    if (decoder.entries.length === 0 && decoder.ioError !== 0) {
      throw new ServerError(`the daemon sent no file list${messages.length ? `: ${messages.map((x) => x.text).join(' / ')}` : ` (io_error ${decoder.ioError})`}`, { ioError: decoder.ioError, messages });
    }
    return { entries: decoder.entries, ioError: decoder.ioError ?? 0, messages, compatFlags, checksum };
  }

  /** Ends the session politely where the protocol allows: a listing needs no more than closing. */
  async close(): Promise<void> {
    await this.conn.close();
  }
}

