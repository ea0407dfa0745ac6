// MySQL/MariaDB session driver: connection phase (handshake, TLS, authentication) and command phase
// (COM_QUERY with multiple result sets, COM_STMT_PREPARE/EXECUTE with binary rows).
//
// How it works: `connect` reads the server's HandshakeV10; with TLS it sends an SSLRequest and
// upgrades; then it sends HandshakeResponse41 answering the server's default auth plugin, and
// follows AuthSwitchRequest (0xFE) and AuthMoreData (0x01) until OK or ERR. Sequence ids count up
// within a command and restart at 0 with each command. Results are read in batches of packets
// from a queue; rows past `maxRows` (of each statement) or `maxBytes` (of the answer) are read and counted but not kept, so the next
// result of a multi-statement query still arrives.
import { fromUtf8, latin1View } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { AuthError, InvalidInput, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import type { OperationContext } from '../../core/protocol.ts';

import { cachingSha2Password, CACHING_SHA2, ed25519Password, nativePassword, rsaEncryptPassword } from './auth.ts';
import {
  CLIENT,
  COM,
  commandPayload,
  describePackets,
  encodePacket,
  executePayload,
  isEof,
  packetsFrame,
  parseAuthSwitch,
  parseBinaryRow,
  parseColumnCount,
  parseColumnDefinition,
  parseEof,
  parseErr,
  parseHandshake,
  parseOk,
  parsePrepareOk,
  decodeTextRowAt,
  textColumnDecoder,
  SERVER_STATUS,
  sslRequestPayload,
  TYPE_NAMES,
  handshakeResponsePayload,
  type BinaryParam,
  type ColumnDefinition,
  type ErrPacket,
  type Handshake,
  type Packet,
} from './codec.ts';
import { RowBudget, type JsonValue, type Limits } from '../sql/fields.ts';

const frame = packetsFrame();

/** Reads packets one at a time from batches, keeping what a batch brought beyond the current need. */
export class PacketReader {
  private queue: Packet[] = [];
  private at = 0;
  /** The bytes of the current batch, and their latin1 view once a row decoder asked for it. */
  private batch: Uint8Array = new Uint8Array(0);
  private view?: { latin1: string; ascii: boolean };
  constructor(readonly conn: Conn) {}

  async next(): Promise<Packet> {
    if (this.at >= this.queue.length) {
      const b = await this.conn.readFrame(frame, 'MySQL packet', describePackets);
      this.queue = b.packets;
      this.batch = b.buf;
      this.view = undefined;
      this.at = 0;
    }
    return this.queue[this.at++];
  }

  /** The batch the last packet came from, with its latin1 view (for decoding rows in place). */
  current(): { buf: Uint8Array; latin1: string; ascii: boolean } {
    this.view ??= latin1View(this.batch);
    return { buf: this.batch, ...this.view };
  }

  get pending(): number {
    return this.queue.length - this.at;
  }
}

export interface ConnectOptions {
  user: string;
  password?: string;
  database?: string;
  /** Use the server's RSA public key for caching_sha2_password full auth over plain TCP. */
  allowPublicKeyRetrieval?: boolean;
  /** LOAD DATA LOCAL INFILE, opted into: the one file the server may ask for, by name, and its content. */
  localInfile?: LocalInfile;
}

export interface LocalInfile {
  name: string;
  content: Uint8Array;
}

export interface Session {
  conn: Conn;
  reader: PacketReader;
  handshake: Handshake;
  capabilities: number;
  tls: boolean;
  /** Plugins used, in order (the first is the initial one; later ones came by auth switch). */
  authPlugins: string[];
  authPath?: 'fast' | 'full-tls' | 'full-rsa';
  seq: number;
  localInfile?: LocalInfile;
  /** A file the server asked for that was not the one given: refused (an empty file), named after the command. */
  refusedInfile?: string;
}

const CLIENT_WANTS =
  CLIENT.LONG_PASSWORD |
  CLIENT.LONG_FLAG |
  CLIENT.PROTOCOL_41 |
  CLIENT.TRANSACTIONS |
  CLIENT.SECURE_CONNECTION |
  CLIENT.MULTI_STATEMENTS |
  CLIENT.MULTI_RESULTS |
  CLIENT.PS_MULTI_RESULTS |
  CLIENT.PLUGIN_AUTH |
  CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  CLIENT.CONNECT_ATTRS;

/** MySQL error codes that mean "these credentials are not accepted". */
const AUTH_ERRORS = new Set([1044, 1045, 1251, 1698, 1862, 2049, 3159, 1820]);

export function errText(e: ErrPacket): string {
  return `${e.code}${e.sqlState ? ` (${e.sqlState})` : ''}: ${e.message}`;
}

export function errDetail(e: ErrPacket, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const m = /at line (\d+)/.exec(e.message);
  const near = /near '([\s\S]*)' at line \d+/.exec(e.message);
  return { errno: e.code, sqlstate: e.sqlState, message: e.message, ...(m ? { line: Number(m[1]) } : {}), ...(near ? { near: near[1] } : {}), ...extra };
}

async function send(s: Session, payload: Uint8Array, opts: { decode?: string; secret?: boolean } = {}): Promise<void> {
  const { bytes, nextSeq } = encodePacket(payload, s.seq);
  s.seq = nextSeq;
  await s.conn.write(bytes, { decode: opts.decode ?? `#${(nextSeq + 255) & 0xff} ${payload.length} bytes`, secret: opts.secret });
}

async function recv(s: Session): Promise<Packet> {
  const p = await s.reader.next();
  s.seq = (p.seq + 1) & 0xff;
  return p;
}

/** Reads the server's greeting: HandshakeV10, or an ERR (host blocked, too many connections). */
export async function readHandshake(conn: Conn, reader: PacketReader): Promise<Handshake> {
  const p = await reader.next();
  if (p.payload[0] === 0xff) {
    const e = parseErr(p.payload);
    throw new ServerError(`server refused the connection: ${errText(e)}`, errDetail(e));
  }
  const h = parseHandshake(p.payload);
  conn.note(`server ${h.serverVersion}, connection ${h.connectionId}, auth plugin ${h.authPluginName ?? '(none)'}, TLS ${h.capabilities & CLIENT.SSL ? 'offered' : 'not offered'}`);
  return h;
}

async function authResponse(ctx: OperationContext, s: Session, plugin: string, data: Uint8Array, password: string): Promise<Uint8Array> {
  switch (plugin) {
    case 'mysql_native_password':
      return nativePassword(ctx.crypto, password, data);
    case 'caching_sha2_password':
      return cachingSha2Password(ctx.crypto, password, data);
    case 'client_ed25519': {
      if (data.length < 32) throw new ProtocolError(`client_ed25519 scramble is ${data.length} bytes, not 32`);
      return (await ed25519Password(ctx.crypto, password, data.subarray(0, 32))).signature;
    }
    case 'mysql_clear_password':
      if (!s.tls) throw new AuthError('the server asks for mysql_clear_password, which would send the password in clear text; use tls: starttls');
      return new Uint8Array([...new TextEncoder().encode(password), 0]);
    case 'sha256_password':
      if (s.tls) return new Uint8Array([...new TextEncoder().encode(password), 0]);
      // Ask for the public key (a single 0x01 byte per the sha256_password docs).
      return new Uint8Array([0x01]);
    default:
      throw new AuthError(`the server asks for auth plugin ${plugin}, which this client does not support (mysql_native_password, caching_sha2_password, client_ed25519, sha256_password, mysql_clear_password over TLS)`);
  }
}

/** Connection phase (MySQL Internals "Connection Phase"). */
export async function connect(ctx: OperationContext, opts: ConnectOptions): Promise<Session> {
  const conn = await ctx.dial({ tls: ctx.target.tls === 'off' ? 'off' : 'starttls' });
  const reader = new PacketReader(conn);
  const handshake = await readHandshake(conn, reader);
  if (!(handshake.capabilities & CLIENT.PROTOCOL_41)) throw new ProtocolError('server does not speak protocol 4.1 (CLIENT_PROTOCOL_41)');
  let caps = (CLIENT_WANTS & (handshake.capabilities | CLIENT.LONG_PASSWORD)) >>> 0;
  if (opts.database) caps |= CLIENT.CONNECT_WITH_DB;
  // Only a client that has a file to give says it can (CLIENT_LOCAL_FILES); without it the server refuses LOCAL.
  if (opts.localInfile) caps |= CLIENT.LOCAL_FILES;
  const s: Session = { conn, reader, handshake, capabilities: caps, tls: false, authPlugins: [], seq: 1, localInfile: opts.localInfile };
  if (ctx.target.tls !== 'off') {
    if (!(handshake.capabilities & CLIENT.SSL)) throw new PortolanError('tls_error', `TLS was asked for, but the server (${handshake.serverVersion}) does not offer it: CLIENT_SSL is not in its capabilities`);
    s.capabilities = (s.capabilities | CLIENT.SSL) >>> 0;
    await send(s, sslRequestPayload(s.capabilities), { decode: 'SSLRequest' });
    if (reader.pending > 0) throw new ProtocolError('server sent data before the TLS handshake');
    await conn.startTls();
    s.tls = true;
  }
  const password = opts.password ?? '';
  const plugin = handshake.authPluginName ?? 'mysql_native_password';
  // client_ed25519 needs its own 32-byte scramble: answer with native and let the server switch.
  const first = plugin === 'client_ed25519' || plugin === 'sha256_password' ? 'mysql_native_password' : plugin;
  s.authPlugins.push(first);
  const response = await authResponse(ctx, s, first, handshake.scramble, password);
  await send(
    s,
    handshakeResponsePayload({ capabilities: s.capabilities, user: opts.user, authResponse: response, database: opts.database, authPluginName: first, attributes: { _client_name: 'portolan', program_name: 'portolan' } }),
    { secret: true, decode: `HandshakeResponse41 user=${opts.user}${opts.database ? ` database=${opts.database}` : ''} plugin=${first} (auth data masked)` },
  );
  let scramble = handshake.scramble;
  let current = first;
  for (let step = 0; step < 8; step++) {
    const p = await recv(s);
    const b = p.payload;
    if (b[0] === 0x00) {
      parseOk(b);
      ctx.timing.mark('readyMs');
      return s;
    }
    if (b[0] === 0xff) {
      const e = parseErr(b);
      if (AUTH_ERRORS.has(e.code)) throw new AuthError(errText(e), errDetail(e, { plugin: current }));
      throw new ServerError(errText(e), errDetail(e));
    }
    if (b[0] === 0xfe) {
      // AuthSwitchRequest: answer the named plugin with its fresh scramble.
      const sw = parseAuthSwitch(b);
      current = sw.plugin;
      scramble = sw.data;
      s.authPlugins.push(current);
      conn.note(`server switches authentication to ${current}`);
      await send(s, await authResponse(ctx, s, current, scramble, password), { secret: true, decode: `auth response for ${current} (masked)` });
      continue;
    }
    if (b[0] === 0x01) {
      const more = b.subarray(1);
      if (current === 'caching_sha2_password' && more.length === 1 && more[0] === CACHING_SHA2.FAST_AUTH_SUCCESS) {
        s.authPath = 'fast';
        continue;
      }
      if (current === 'caching_sha2_password' && more.length === 1 && more[0] === CACHING_SHA2.PERFORM_FULL_AUTH) {
        if (s.tls) {
          s.authPath = 'full-tls';
          await send(s, new Uint8Array([...new TextEncoder().encode(password), 0]), { secret: true, decode: 'password over TLS (masked)' });
        } else {
          if (opts.allowPublicKeyRetrieval === false) throw new AuthError('the server asks for full caching_sha2_password authentication; over plain TCP that needs its RSA public key, and public key retrieval is off');
          s.authPath = 'full-rsa';
          await send(s, new Uint8Array([CACHING_SHA2.REQUEST_PUBLIC_KEY]), { decode: 'request public key' });
        }
        continue;
      }
      // The server's RSA public key (caching_sha2_password after 0x02, or sha256_password).
      const pem = new TextDecoder().decode(more);
      if (!pem.includes('PUBLIC KEY')) throw new ProtocolError(`unexpected AuthMoreData for ${current}: ${more.length} bytes`);
      conn.note(`received the server's RSA public key (${more.length} bytes)`);
      await send(s, await rsaEncryptPassword(ctx.crypto, password, scramble, pem), { secret: true, decode: 'RSA-encrypted password (masked)' });
      continue;
    }
    throw new ProtocolError(`unexpected packet 0x${b[0].toString(16)} during authentication`);
  }
  throw new ProtocolError('authentication did not finish within 8 exchanges');
}

export async function quit(s: Session): Promise<void> {
  s.seq = 0;
  await send(s, commandPayload(COM.QUIT), { decode: 'COM_QUIT' }).catch(() => undefined);
}

// ---------------------------------------------------------------- results


export interface Column {
  name: string;
  type: string;
  table: string;
  schema: string;
  orgName: string;
  charset: number;
  length: number;
  flags: number;
  decimals: number;
}

export interface ResultSet {
  columns: Column[];
  rows: JsonValue[][];
  rowsReceived: number;
  truncated: boolean;
  affectedRows: number | string | null;
  lastInsertId: number | string | null;
  warnings: number;
  info: string;
}

export interface QueryOutcome {
  results: ResultSet[];
  truncated: boolean;
  limit?: string;
  statusFlags: number;
}

function column(c: ColumnDefinition): Column {
  return { name: c.name, type: TYPE_NAMES[c.type] ?? `type:${c.type}`, table: c.orgTable || c.table, schema: c.schema, orgName: c.orgName, charset: c.charset, length: c.length, flags: c.flags, decimals: c.decimals };
}

class Collector {
  readonly results: ResultSet[] = [];
  private readonly budget: RowBudget;
  constructor(limits: Limits) {
    this.budget = new RowBudget(limits);
  }

  begin(set: ResultSet): void {
    this.budget.nextSet();
    this.results.push(set);
  }

  keep(set: ResultSet, size: number): boolean {
    set.rowsReceived++;
    if (this.budget.keep(size)) return true;
    set.truncated = true;
    return false;
  }

  outcome(statusFlags: number): QueryOutcome {
    const truncated = this.results.some((r) => r.truncated);
    return { results: this.results, truncated, statusFlags, ...(truncated && this.budget.first ? { limit: this.budget.first } : {}) };
  }
}

function serverError(e: ErrPacket, c: Collector): ServerError {
  return new ServerError(errText(e), errDetail(e, { completed: c.results.map((r) => ({ columns: r.columns.length, rows: r.rowsReceived, affectedRows: r.affectedRows })), statementIndex: c.results.length }));
}

/** Reads column definitions (and the EOF after them: CLIENT_DEPRECATE_EOF is not asked for). */
async function readColumns(s: Session, n: number): Promise<ColumnDefinition[]> {
  const defs: ColumnDefinition[] = [];
  for (let i = 0; i < n; i++) defs.push(parseColumnDefinition((await recv(s)).payload));
  const eof = await recv(s);
  if (!isEof(eof.payload)) throw new ProtocolError('expected EOF after the column definitions');
  return defs;
}

/**
 * Reads one command's results: OK, ERR, or a result set (column count, definitions, EOF, rows, EOF),
 * again while SERVER_MORE_RESULTS_EXISTS is set.
 */
async function readResults(s: Session, c: Collector, binary: boolean): Promise<QueryOutcome> {
  for (let n = 0; n < 10_000; n++) {
    const first = await recv(s);
    const b = first.payload;
    if (b[0] === 0xff) throw serverError(parseErr(b), c);
    if (b[0] === 0x00) {
      // OK: a statement without a result set (a result set starts with its column count, never 0).
      const ok = parseOk(b);
      c.results.push({ columns: [], rows: [], rowsReceived: 0, truncated: false, affectedRows: ok.affectedRows, lastInsertId: ok.lastInsertId, warnings: ok.warnings, info: ok.info });
      if (ok.statusFlags & SERVER_STATUS.MORE_RESULTS_EXISTS) continue;
      return c.outcome(ok.statusFlags);
    }
    if (b[0] === 0xfb) {
      // LOCAL INFILE request (0xFB and the file name): the content in packets, then an empty one; the server
      // answers OK or ERR. Only the file given, by its name: any other request gets an empty file.
      const name = fromUtf8(b.subarray(1));
      const file = s.localInfile;
      if (file && file.name === name) {
        for (let at = 0; at < file.content.length; at += INFILE_CHUNK) {
          const part = file.content.subarray(at, at + INFILE_CHUNK);
          await send(s, part, { decode: `LOCAL INFILE ${JSON.stringify(name)}: bytes ${at}–${at + part.length} of ${file.content.length}` });
        }
      } else s.refusedInfile = name;
      await send(s, new Uint8Array(0), { decode: file && file.name === name ? `LOCAL INFILE ${JSON.stringify(name)}: end` : `refuse LOCAL INFILE ${JSON.stringify(name)}: not the file given` });
      continue;
    }
    const count = parseColumnCount(b);
    const defs = await readColumns(s, count);
    const decoders = defs.map(textColumnDecoder);
    const set: ResultSet = { columns: defs.map(column), rows: [], rowsReceived: 0, truncated: false, affectedRows: null, lastInsertId: null, warnings: 0, info: '' };
    c.begin(set);
    for (;;) {
      const p = await recv(s);
      const r = p.payload;
      if (isEof(r)) {
        const eof = parseEof(r);
        set.warnings = eof.warnings;
        if (eof.statusFlags & SERVER_STATUS.MORE_RESULTS_EXISTS) break;
        return c.outcome(eof.statusFlags);
      }
      if (r[0] === 0xff) throw serverError(parseErr(r), c);
      if (!c.keep(set, r.length)) continue;
      if (binary) set.rows.push(parseBinaryRow(r, defs));
      else {
        const batch = s.reader.current();
        if (r.buffer === batch.buf.buffer) set.rows.push(decodeTextRowAt(batch.buf, r, decoders, batch.latin1, batch.ascii));
        else {
          // A row joined from continuation packets (over 16 MiB) has its own buffer.
          const own = latin1View(r);
          set.rows.push(decodeTextRowAt(r, r, decoders, own.latin1, own.ascii));
        }
      }
    }
  }
  throw new ProtocolError('more than 10000 results for one command');
}

/** Bytes per packet of a LOCAL INFILE's content (well under any server's max_allowed_packet). */
const INFILE_CHUNK = 64 * 1024;

/** COM_QUERY: any SQL, several statements allowed (CLIENT_MULTI_STATEMENTS). */
export async function query(s: Session, sql: string, limits: Limits): Promise<QueryOutcome> {
  s.seq = 0;
  s.refusedInfile = undefined;
  await send(s, commandPayload(COM.QUERY, sql), { decode: `COM_QUERY ${JSON.stringify(sql.slice(0, 300))}` });
  let out: QueryOutcome;
  try {
    out = await readResults(s, new Collector(limits), false);
  } catch (e) {
    throw withPosition(e, sql);
  }
  if (s.refusedInfile !== undefined) {
    const asked = JSON.stringify(s.refusedInfile);
    if (!s.localInfile) throw new ProtocolError(`the server asked for the local file ${asked} although the client did not offer LOCAL INFILE; it was sent an empty file`);
    throw InvalidInput.field('localInfile.name', `the server asked for ${asked}, not ${JSON.stringify(s.localInfile.name)}, the file given: it was sent an empty file`);
  }
  return out;
}

/** ER_PARSE_ERROR names the text "near '...'": its place in the SQL is the 1-based character position. */
function withPosition(e: unknown, sql: string): unknown {
  if (!(e instanceof ServerError) || typeof e.detail?.near !== 'string') return e;
  const near = e.detail.near;
  const at = near === '' ? sql.length : sql.indexOf(near);
  if (at === -1) return e;
  return new ServerError(`${e.message} (position ${at + 1})`, { ...e.detail, position: at + 1 });
}

/** COM_STMT_PREPARE, COM_STMT_EXECUTE with bound parameters (binary rows), COM_STMT_CLOSE. */
export async function preparedQuery(s: Session, sql: string, params: BinaryParam[], limits: Limits): Promise<QueryOutcome & { statementId: number; paramCount: number }> {
  s.seq = 0;
  await send(s, commandPayload(COM.STMT_PREPARE, sql), { decode: `COM_STMT_PREPARE ${JSON.stringify(sql.slice(0, 300))}` });
  const first = await recv(s);
  if (first.payload[0] === 0xff) {
    const e = parseErr(first.payload);
    throw withPosition(new ServerError(errText(e), errDetail(e)), sql);
  }
  const prep = parsePrepareOk(first.payload);
  if (prep.params > 0) await readColumns(s, prep.params);
  if (prep.columns > 0) await readColumns(s, prep.columns);
  if (params.length !== prep.params) {
    await closeStatement(s, prep.statementId);
    throw new PortolanError('invalid_input', `params: the statement has ${prep.params} placeholders, ${params.length} values were given`);
  }
  s.seq = 0;
  await send(s, executePayload(prep.statementId, params), { decode: `COM_STMT_EXECUTE statement ${prep.statementId} with ${params.length} parameters` });
  const c = new Collector(limits);
  try {
    const out = await readResults(s, c, true);
    return { ...out, statementId: prep.statementId, paramCount: prep.params };
  } finally {
    await closeStatement(s, prep.statementId).catch(() => undefined);
  }
}

async function closeStatement(s: Session, id: number): Promise<void> {
  s.seq = 0;
  const w = new Uint8Array(5);
  w[0] = COM.STMT_CLOSE;
  new DataView(w.buffer).setUint32(1, id, true);
  await send(s, w, { decode: `COM_STMT_CLOSE ${id}` });
}
