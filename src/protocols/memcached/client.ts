// Memcached session driver (memcached doc/protocol.txt; doc/protocol-binary.xml for the probe and SASL).
//
// How it works: every text command is one write; its answer is read element
// by element through `textFrame` until the element that ends it (END for
// retrievals and stats, one status line for the rest, EN/HD/VA/... for meta).
// Commands sent with `noreply` (or meta `q`) have no answer, so a meta no-op
// (`mn`, answered `MN`) follows them: everything before MN is an error the
// server raised, and MN proves the server has processed the command.
import type { Conn } from '../../core/conn.ts';
import { concat, fromLatin1, toHex } from '../../core/bytes.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import {
  BINARY_COMMANDS,
  BINARY_STATUS,
  BinaryOp,
  binaryCommand,
  binaryFrame,
  binaryRequest,
  commandLine,
  errorLine,
  itemStats,
  metaCommand,
  saslPlain,
  slabStats,
  statPairs,
  storageCommand,
  textFrame,
  type BinaryCommand,
  type BinaryCommandName,
  type BinaryResponse,
  type MetaCode,
  type MetaFlag,
  type StorageCommand,
  type TextElement,
} from './codec.ts';

export interface Item {
  key: Uint8Array;
  flags: number;
  cas: string | null;
  data: Uint8Array;
}

function describe(e: TextElement): string {
  if (e.kind === 'value') return `VALUE ${fromLatin1(e.key.subarray(0, 80))} ${e.flags} ${e.data.length}${e.cas ? ` ${e.cas}` : ''}`;
  if (e.kind === 'meta') return `${e.code}${e.flags.map((f) => ` ${f.flag}${f.token}`).join('')}${e.data ? ` (${e.data.length} bytes)` : ''}`;
  return e.text.slice(0, 200);
}

function commandText(bytes: Uint8Array): string {
  const end = bytes.indexOf(0x0d);
  const line = fromLatin1(bytes.subarray(0, end === -1 ? Math.min(bytes.length, 200) : Math.min(end, 200)));
  return end !== -1 && end + 2 < bytes.length ? `${line} (+${bytes.length - end - 2} bytes)` : line;
}

export class MemcachedClient {
  readonly conn: Conn;
  private readonly frame;
  private readonly binary;

  constructor(conn: Conn, maxValueBytes?: number) {
    this.conn = conn;
    this.frame = textFrame(maxValueBytes);
    this.binary = binaryFrame(maxValueBytes);
  }

  async write(bytes: Uint8Array): Promise<void> {
    await this.conn.write(bytes, { decode: commandText(bytes) });
  }

  async element(): Promise<TextElement> {
    return this.conn.readFrame(this.frame, 'memcached response', describe);
  }

  /** The next element, with ERROR / CLIENT_ERROR / SERVER_ERROR thrown as server_error. */
  async expect(): Promise<TextElement> {
    const e = await this.element();
    const err = errorLine(e);
    if (err !== undefined) throw new ServerError(err === 'ERROR' ? 'ERROR (the server does not know this command)' : err, { response: err });
    return e;
  }

  async line(): Promise<string> {
    const e = await this.expect();
    if (e.kind !== 'line') throw new ProtocolError(`expected a status line, got ${describe(e)}`);
    return e.text;
  }

  /**
   * Text-protocol authentication (protocol.txt "Authentication", a server started with -Y): a set whose data is
   * `<user> <password>`, answered STORED, or CLIENT_ERROR authentication failure.
   */
  async asciiAuth(username: string, password: string): Promise<void> {
    const data = new TextEncoder().encode(`${username} ${password}`);
    await this.conn.write(storageCommand('set', new TextEncoder().encode('auth'), 0, 0, data, null, false), { secret: true, decode: `set auth 0 0 ${data.length} (${username} ****)` });
    const e = await this.element();
    if (e.kind === 'line' && e.text === 'STORED') return;
    const err = errorLine(e);
    if (err !== undefined) throw new AuthError(err, { response: err });
    throw new ProtocolError(`unexpected answer to authentication: ${describe(e)}`);
  }

  /** Sends `mn` and reads up to its MN: a no-reply command before it raised nothing if MN comes first. */
  async sync(): Promise<void> {
    await this.write(metaCommand('mn', null, [], null));
    const e = await this.expect();
    if (e.kind !== 'meta' || e.code !== 'MN') throw new ProtocolError(`expected MN after a noreply command, got ${describe(e)}`);
  }

  /** get / gets / gat / gats: VALUE elements until END (protocol.txt "Retrieval commands"). */
  async retrieve(words: (string | Uint8Array)[], maxItems = 10_000): Promise<Item[]> {
    await this.write(commandLine(words));
    const items: Item[] = [];
    for (;;) {
      const e = await this.expect();
      if (e.kind === 'value') {
        if (items.length >= maxItems) throw new ProtocolError(`more than ${maxItems} VALUE blocks`);
        items.push({ key: e.key, flags: e.flags, cas: e.cas, data: e.data });
        continue;
      }
      if (e.kind === 'line' && e.text === 'END') return items;
      throw new ProtocolError(`expected VALUE or END, got ${describe(e)}`);
    }
  }

  /** set / add / replace / append / prepend / cas: STORED, NOT_STORED, EXISTS or NOT_FOUND; null with noreply. */
  async store(cmd: StorageCommand, key: Uint8Array, flags: number, exptime: number, data: Uint8Array, cas: string | null, noreply: boolean): Promise<string | null> {
    await this.write(storageCommand(cmd, key, flags, exptime, data, cas, noreply));
    if (noreply) {
      await this.sync();
      return null;
    }
    const r = await this.line();
    if (!['STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND'].includes(r)) throw new ProtocolError(`unexpected answer to ${cmd}: ${r}`);
    return r;
  }

  /** A command answered by one status line (delete, incr, decr, touch, flush_all, verbosity, version). */
  async simple(words: (string | Uint8Array)[], noreply = false): Promise<string | null> {
    await this.write(commandLine(noreply ? [...words, 'noreply'] : words));
    if (noreply) {
      await this.sync();
      return null;
    }
    return this.line();
  }

  /** `stats [group]`: STAT lines until END. */
  async stats(group?: string): Promise<[string, string][]> {
    await this.write(commandLine(group ? ['stats', group] : ['stats']));
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const e = await this.expect();
      if (e.kind !== 'line') throw new ProtocolError(`expected STAT lines, got ${describe(e)}`);
      if (e.text === 'END') return statPairs(lines);
      lines.push(e.text);
    }
    throw new ProtocolError('more than 100000 STAT lines');
  }

  /** One meta command and its answer (protocol.txt "Meta Commands"); with `q`, answered only on failure: mn closes it. */
  async meta(cmd: 'mg' | 'ms' | 'md' | 'ma' | 'mn', key: Uint8Array | null, flags: string[], data: Uint8Array | null): Promise<{ code: MetaCode; flags: MetaFlag[]; data: Uint8Array | null }> {
    const quiet = flags.includes('q') && cmd !== 'mn';
    await this.write(metaCommand(cmd, key, flags, data));
    if (quiet) await this.write(metaCommand('mn', null, [], null));
    const e = await this.expect();
    if (e.kind !== 'meta') throw new ProtocolError(`expected a meta response, got ${describe(e)}`);
    if (quiet && e.code !== 'MN') {
      // The quiet command answered (a failure, or a hit for mg): MN still follows.
      const mn = await this.expect();
      if (mn.kind !== 'meta' || mn.code !== 'MN') throw new ProtocolError(`expected MN, got ${describe(mn)}`);
    }
    return { code: e.code, flags: e.flags, data: e.data };
  }

  // Binary protocol

  /** The next binary response packet. */
  async binaryResponse(): Promise<BinaryResponse> {
    return this.conn.readFrame(this.binary, 'binary response', (x) => `binary response to 0x${x.opcode.toString(16)} (opaque ${x.opaque}): status 0x${x.status.toString(16).padStart(4, '0')} ${BINARY_STATUS[x.status] ?? ''} (${x.value.length} bytes)`);
  }

  async binaryCall(opcode: number, opts: { key?: Uint8Array; extras?: Uint8Array; value?: Uint8Array; secret?: string } = {}): Promise<BinaryResponse> {
    const req = binaryRequest(opcode, { ...opts, opaque: opcode });
    const name = Object.entries(BinaryOp).find(([, v]) => v === opcode)?.[0] ?? `opcode 0x${opcode.toString(16)}`;
    await this.conn.write(req, opts.secret ? { secret: true, decode: `binary ${name} ${opts.secret}` } : { decode: `binary ${name}${opts.key ? ` ${fromLatin1(opts.key.subarray(0, 80))}` : ''}` });
    const r = await this.binaryResponse();
    if (r.opcode !== opcode) throw new ProtocolError(`binary response is for opcode 0x${r.opcode.toString(16)}, not 0x${opcode.toString(16)}`);
    return r;
  }
}

/** SASL list mechanisms: the names, or null when the server has SASL off (it does not know the command). */
async function saslMechanisms(c: MemcachedClient): Promise<string[] | null> {
  const mechs = await c.binaryCall(BinaryOp.saslListMechs);
  return mechs.status === 0 ? fromLatin1(mechs.value).split(/\s+/).filter(Boolean) : null;
}

/** SASL PLAIN over the binary protocol: the mechanisms offered and the server's "Authenticated." */
export async function saslLogin(c: MemcachedClient, username: string, password: string): Promise<{ mechanisms: string[]; message: string }> {
  const mechanisms = await saslMechanisms(c);
  if (mechanisms === null) throw new ServerError('the server has SASL off (it does not know SASL list mechanisms)');
  if (!mechanisms.includes('PLAIN')) throw new ServerError(`the server offers ${mechanisms.join(' ')}, not PLAIN`);
  const auth = await c.binaryCall(BinaryOp.saslAuth, { key: new TextEncoder().encode('PLAIN'), value: saslPlain(username, password), secret: `SASL PLAIN ${username} ****` });
  // protocol-binary.xml / SASL: 0x0000 authenticated, 0x0020 authentication error.
  if (auth.status === 0x0020) throw new AuthError(binaryError(auth), { status: auth.status });
  if (auth.status !== 0) throw new ServerError(binaryError(auth), { status: auth.status });
  return { mechanisms, message: fromLatin1(auth.value) };
}

export interface BinaryResult {
  op: BinaryCommandName;
  /** False for a quiet command that stayed quiet (success, or a miss of a quiet get). */
  answered: boolean;
  status: number | null;
  /** The server's words for a failure, or the status name. */
  message: string | null;
  key: Uint8Array | null;
  value: Uint8Array | null;
  flags: number | null;
  cas: string | null;
  /** increment / decrement: the new value (64 bits, as text). */
  counter: string | null;
  /** stat: the statistics, name to value. */
  stats: [string, string][] | null;
}

/**
 * The commands in one write, closed by a no-op: every answer before the no-op's belongs to the command its
 * opaque names (quiet commands answer only when there is something to say); the no-op's answer ends the batch.
 */
export async function binaryBatch(c: MemcachedClient, commands: BinaryCommand[], maxStats = 10_000): Promise<BinaryResult[]> {
  const closer = commands.length;
  const bytes = concat([...commands.map((cmd, i) => binaryCommand(cmd, i)), binaryRequest(BinaryOp.noop, { opaque: closer })]);
  await c.conn.write(bytes, { decode: `binary batch of ${commands.length}: ${commands.slice(0, 4).map((x) => `${x.op}${x.key ? ` ${fromLatin1(x.key.subarray(0, 60))}` : ''}`).join('; ')}${commands.length > 4 ? '; …' : ''} + noop` });
  const results: BinaryResult[] = commands.map((cmd) => ({ op: cmd.op, answered: false, status: null, message: null, key: null, value: null, flags: null, cas: null, counter: null, stats: null }));
  for (;;) {
    let r: BinaryResponse;
    try {
      r = await c.binaryResponse();
    } catch (e) {
      // A server that requires SASL answers an unauthenticated command with an auth error, then closes.
      const refused = results.find((x) => x.status === 0x0020);
      if (e instanceof PortolanError && e.code === 'closed' && refused) throw new AuthError(`${refused.message}: the server requires SASL and closed the connection`, { status: 0x0020 });
      throw e;
    }
    if (r.opaque === closer && r.opcode === BinaryOp.noop) return results;
    const out = results[r.opaque];
    if (!out || BINARY_COMMANDS[out.op].opcode !== r.opcode) throw new ProtocolError(`binary response for opcode 0x${r.opcode.toString(16)} with opaque ${r.opaque} matches no command sent`);
    if (out.op === 'stat') {
      out.answered = true;
      out.status = r.status;
      if (r.status !== 0) out.message = binaryError(r);
      else if (r.key.length > 0) {
        out.stats ??= [];
        if (out.stats.length >= maxStats) throw new ProtocolError(`more than ${maxStats} statistics`);
        out.stats.push([fromLatin1(r.key), fromLatin1(r.value)]);
      }
      continue;
    }
    if (out.answered) throw new ProtocolError(`a second binary response for command ${r.opaque + 1} (${out.op})`);
    out.answered = true;
    out.status = r.status;
    out.cas = r.cas === 0n ? null : r.cas.toString();
    if (r.status !== 0) {
      out.message = binaryError(r);
      continue;
    }
    out.message = BINARY_STATUS[0];
    if (r.key.length) out.key = r.key;
    // Get responses carry 4 bytes of flags; increment/decrement answer the new value as 8 bytes.
    if (r.extras.length === 4) out.flags = new DataView(r.extras.buffer, r.extras.byteOffset, 4).getUint32(0);
    const kind = BINARY_COMMANDS[out.op];
    if (kind.extras === 'counter') {
      if (r.value.length !== 8) throw new ProtocolError(`${out.op} answered ${r.value.length} bytes, not an 8-byte counter`);
      out.counter = new DataView(r.value.buffer, r.value.byteOffset, 8).getBigUint64(0).toString();
    } else if (r.value.length || /^(get|gat)/.test(out.op)) out.value = r.value;
  }
}

/** The server's words in a binary error (its value is usually text). */
export function binaryError(r: BinaryResponse): string {
  const text = fromLatin1(r.value.subarray(0, 200)).replace(/[^\x20-\x7e]/g, '');
  return `${text || BINARY_STATUS[r.status] || 'error'} (status 0x${r.status.toString(16).padStart(4, '0')})`;
}

export interface BinaryProbe {
  binary: boolean;
  version: string | null;
  /** SASL mechanisms, or null when the server has SASL off (unknown command). */
  saslMechanisms: string[] | null;
  authenticated: boolean | null;
  authMessage: string | null;
  item: { found: boolean; flags: number | null; cas: string | null; data: Uint8Array | null } | null;
}

/**
 * Binary version, SASL list mechs, SASL PLAIN when credentials are given, and a GET when a key is:
 * what a server on this port speaks and whether the credentials work.
 */
export async function binaryProbe(c: MemcachedClient, opts: { username?: string; password?: string; key?: Uint8Array }): Promise<BinaryProbe> {
  let version: BinaryResponse;
  try {
    version = await c.binaryCall(BinaryOp.version);
  } catch (e) {
    // A text-only server answers a binary request with a text error line (or closes).
    if (e instanceof ProtocolError || (e instanceof PortolanError && e.code === 'closed')) {
      return { binary: false, version: null, saslMechanisms: null, authenticated: null, authMessage: `no binary answer: ${e.message}`, item: null };
    }
    throw e;
  }
  const out: BinaryProbe = {
    binary: true,
    version: version.status === 0 ? fromLatin1(version.value) : null,
    saslMechanisms: null,
    authenticated: null,
    authMessage: null,
    item: null,
  };
  if (opts.password !== undefined) {
    const login = await saslLogin(c, opts.username ?? '', opts.password);
    Object.assign(out, { saslMechanisms: login.mechanisms, authenticated: true, authMessage: login.message });
  } else {
    out.saslMechanisms = await saslMechanisms(c);
  }
  if (opts.key) {
    const got = await c.binaryCall(BinaryOp.get, { key: opts.key });
    if (got.status === 0x0020) throw new AuthError(binaryError(got), { status: got.status });
    if (got.status === 0x0001) out.item = { found: false, flags: null, cas: null, data: null };
    else if (got.status === 0) {
      // GET response extras: 4-byte flags.
      const flags = got.extras.length === 4 ? new DataView(got.extras.buffer, got.extras.byteOffset, 4).getUint32(0) : null;
      out.item = { found: true, flags, cas: got.cas.toString(), data: got.value };
    } else throw new ServerError(binaryError(got), { status: got.status, key: toHex(opts.key) });
  }
  return out;
}

export { itemStats, slabStats };
