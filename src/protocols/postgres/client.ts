// PostgreSQL session driver: protocol 3.0 message flow (PostgreSQL docs 55.2 "Message Flow").
//
// How it works: `openSession` dials, optionally asks for TLS with SSLRequest (55.2.10) and
// upgrades, sends the StartupMessage and answers the authentication requests (55.2.1: trust,
// cleartext, md5, SCRAM-SHA-256) until AuthenticationOk, then collects ParameterStatus and
// BackendKeyData up to the first ReadyForQuery. `simpleQuery` sends one Query (55.2.2) and
// gathers a result per statement until ReadyForQuery; `extendedQuery` does Parse/Bind/Describe/
// Execute/Sync (55.2.3) with parameters. Both keep at most `maxRows` rows of each statement and `maxBytes` bytes in all
// and read the rest of the result off the wire without keeping it, so a later statement in the
// same Query still runs and the implicit transaction is not aborted by a disconnect.
import { concat, latin1View } from '../../core/bytes.ts';
import type { ByteSink, ByteSource } from '../../core/files.ts';
import type { Conn } from '../../core/conn.ts';
import { toHex, utf8 } from '../../core/bytes.ts';
import { AuthError, InvalidInput, PortolanError, ProtocolError, ServerError, UnsupportedRuntime } from '../../core/errors.ts';
import { unsupportedReasons } from '../../core/capabilities.ts';
import { tlsServerEndPoint } from '../../core/channel-binding.ts';
import type { OperationContext } from '../../core/protocol.ts';
import {
  backendBatchFrame,
  backendFrame,
  bindMessage,
  cancelRequest,
  copyDataHeader,
  copyDoneMessage,
  copyFailMessage,
  copyOutFrame,
  describeCopyOut,
  describeBackend,
  describeBatch,
  describeMessage,
  executeMessage,
  parseCommandTag,
  parseMessage,
  passwordMessage,
  queryMessage,
  saslInitialResponse,
  saslResponse,
  sslRequest,
  sslResponseFrame,
  startupMessage,
  syncMessage,
  terminateMessage,
  type BackendMessage,
  type DataRowRun,
  type ErrorFields,
  type FieldDescription,
  type ParamValue,
} from './codec.ts';
import { ScramClient, type ChannelBinding } from './scram.ts';
import { columnDecoder, decodeDataRowAt, typeName, type ColumnDecoder } from './types.ts';
import { binaryDecoder } from './binary.ts';
import { RowBudget, type JsonValue, type Limits } from '../sql/fields.ts';

const single = backendFrame();
const batch = backendBatchFrame();

export interface ConnectOptions {
  user: string;
  password?: string;
  database?: string;
  applicationName?: string;
  /** SCRAM-SHA-256-PLUS: use when offered (default), insist on it, or never use it (libpq's channel_binding). */
  channelBinding?: 'prefer' | 'require' | 'disable';
}

export type AuthMethod = 'trust' | 'cleartext' | 'md5' | 'scram-sha-256' | 'scram-sha-256-plus';

export interface Session {
  conn: Conn;
  parameters: Record<string, string>;
  pid: number | null;
  secretKey: number | null;
  authMethod: AuthMethod;
  tls: boolean;
  notices: ErrorFields[];
  notifications: Notification[];
  transactionStatus: 'I' | 'T' | 'E';
}

export interface Notification {
  pid: number;
  channel: string;
  payload: string;
}

export async function readMessage(conn: Conn): Promise<BackendMessage> {
  return conn.readFrame(single, 'backend message', describeBackend);
}

async function readBatch(conn: Conn): Promise<BackendMessage | DataRowRun> {
  return conn.readFrame(batch, 'backend message', describeBatch);
}

/** Formats an ErrorResponse as one line: `ERROR 42P01: relation "x" does not exist (position 15)`. */
export function errorText(f: ErrorFields): string {
  const where = f.position !== undefined ? ` (position ${f.position})` : '';
  return `${f.severityNonLocalized ?? f.severity ?? 'ERROR'} ${f.code ?? '?????'}: ${f.message ?? 'no message'}${where}`;
}

/** The ErrorResponse fields as an error's detail: sqlstate first, then every field the server sent. */
export function errorDetail(f: ErrorFields): Record<string, unknown> {
  const { code, ...rest } = f;
  return { sqlstate: code, ...rest };
}

/** 55.2.10: SSLRequest, then 'S' → TLS handshake, 'N' → the server does not offer TLS. */
export async function requestTls(conn: Conn): Promise<boolean> {
  await conn.write(sslRequest(), { decode: 'SSLRequest' });
  const answer = await conn.readFrame(sslResponseFrame, 'SSLRequest answer', (c) => `SSL answer ${c}`);
  if (answer !== 'S') return false;
  await conn.startTls();
  return true;
}

/**
 * Dials the target in the input's TLS mode: starttls is SSLRequest; implicit is PostgreSQL 17 direct TLS with ALPN
 * "postgresql". `peerCertificate`: the login may bind to the server certificate (SCRAM-SHA-256-PLUS), so the TLS in
 * use must show it (on Workers, Portolan's TLS engine).
 */
export async function dialPostgres(ctx: OperationContext, peerCertificate = false): Promise<{ conn: Conn; tls: boolean }> {
  // Where no TLS can show the certificate, prefer still logs in, without the binding.
  const cert = peerCertificate && ctx.capabilities.has('peerCert');
  if (ctx.target.tls === 'implicit') {
    // 55.2.10 (PostgreSQL 17): direct SSL needs ALPN "postgresql"; hosts without ALPN answer unsupported_runtime.
    const conn = await ctx.dial({ alpn: ['postgresql'], peerCertificate: cert });
    return { conn, tls: true };
  }
  const conn = await ctx.dial({ peerCertificate: cert });
  if (ctx.target.tls === 'starttls') {
    if (!(await requestTls(conn))) throw new PortolanError('tls_error', 'TLS was asked for, but the server answered N to SSLRequest: it does not offer TLS');
  }
  return { conn, tls: ctx.target.tls !== 'off' };
}

function md5Hex(ctx: OperationContext, data: Uint8Array): string {
  return toHex(ctx.crypto.md5(data));
}

function authFailure(f: ErrorFields): PortolanError {
  // 28000 invalid_authorization_specification (no pg_hba entry), 28P01 invalid_password.
  if (f.code?.startsWith('28')) return new AuthError(errorText(f), errorDetail(f));
  return new ServerError(errorText(f), errorDetail(f));
}

/**
 * The channel binding to log in with (55.3.1): tls-server-end-point of the server's certificate when the server
 * offers SCRAM-SHA-256-PLUS (it does over TLS) and this host can read the certificate; none otherwise, unless
 * `require` asks for it, which then fails naming what is missing.
 */
async function channelBinding(ctx: OperationContext, conn: Conn, mechanisms: string[], mode: 'prefer' | 'require' | 'disable'): Promise<ChannelBinding | undefined> {
  if (mode === 'disable') return undefined;
  const offered = mechanisms.includes('SCRAM-SHA-256-PLUS');
  const certificate = conn.info().serverCertificate;
  if (offered && certificate) return { type: 'tls-server-end-point', data: await tlsServerEndPoint(ctx.crypto, certificate) };
  if (mode === 'prefer') return undefined;
  if (!offered) throw new AuthError(`channelBinding require: the server offers ${mechanisms.join(', ')}, not SCRAM-SHA-256-PLUS (it offers it only over TLS)`);
  const { reasons, alternatives } = unsupportedReasons(['peerCert']);
  throw new UnsupportedRuntime(`channelBinding require: SCRAM-SHA-256-PLUS hashes the server certificate, which the ${ctx.runtime} runtime cannot read: ${reasons.join(' ')}`, {
    runtime: ctx.runtime,
    missing: ['peerCert'],
    reasons,
    alternatives: [...alternatives, 'Or channelBinding prefer, which logs in with SCRAM-SHA-256 over the same TLS connection.'],
  });
}

/** Runs the startup and authentication exchange (55.2.1) on a connected (and maybe TLS) conn. */
export async function startup(ctx: OperationContext, conn: Conn, tls: boolean, opts: ConnectOptions): Promise<Session> {
  const params: Record<string, string> = { user: opts.user, database: opts.database ?? opts.user, client_encoding: 'UTF8', DateStyle: 'ISO, MDY' };
  if (opts.applicationName) params.application_name = opts.applicationName;
  await conn.write(startupMessage(params), { decode: `StartupMessage user=${opts.user} database=${params.database}` });
  const session: Session = { conn, parameters: {}, pid: null, secretKey: null, authMethod: 'trust', tls, notices: [], notifications: [], transactionStatus: 'I' };
  let scram: ScramClient | undefined;
  // libpq's channel_binding=require: any login but SCRAM-SHA-256-PLUS is refused, before a password is sent.
  const refuseUnbound = (method: AuthMethod): void => {
    if (opts.channelBinding === 'require') throw new AuthError(`channelBinding require: the server asks for ${method} authentication, which has no channel binding; nothing was sent`);
  };
  const needPassword = (method: string): string => {
    if (opts.password === undefined) throw new AuthError(`the server asks for ${method} password authentication and no password was given`);
    return opts.password;
  };
  for (let step = 0; step < 16; step++) {
    const m = await readMessage(conn);
    if (m.type === 'ErrorResponse') throw authFailure(m.fields);
    if (m.type === 'NoticeResponse') {
      session.notices.push(m.fields);
      continue;
    }
    if (m.type === 'NegotiateProtocolVersion') {
      conn.note(`server speaks protocol 3.${m.newestMinor}; unrecognized options: ${m.unrecognized.join(', ') || 'none'}`);
      continue;
    }
    if (m.type !== 'Authentication') throw new ProtocolError(`expected an authentication request, got ${m.type}`);
    const a = m.auth;
    switch (a.kind) {
      case 'ok':
        if (session.authMethod !== 'scram-sha-256-plus') refuseUnbound(session.authMethod);
        return finishStartup(session);
      case 'cleartext':
        refuseUnbound('cleartext');
        session.authMethod = 'cleartext';
        await conn.write(passwordMessage(needPassword('cleartext')), { secret: true, decode: 'PasswordMessage ****' });
        break;
      case 'md5': {
        // 55.3: "md5" + md5hex(md5hex(password + user) + salt)
        refuseUnbound('md5');
        session.authMethod = 'md5';
        const inner = md5Hex(ctx, utf8(needPassword('md5') + opts.user));
        const outer = md5Hex(ctx, new Uint8Array([...utf8(inner), ...a.salt]));
        await conn.write(passwordMessage(`md5${outer}`), { secret: true, decode: 'PasswordMessage md5****' });
        break;
      }
      case 'sasl': {
        const binding = await channelBinding(ctx, conn, a.mechanisms, opts.channelBinding ?? 'prefer');
        const mechanism = binding ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256';
        if (!a.mechanisms.includes(mechanism)) {
          throw new AuthError(`the server offers SASL mechanisms ${a.mechanisms.join(', ')}; this client speaks SCRAM-SHA-256, and SCRAM-SHA-256-PLUS needs the server certificate (the Node host reads it) and channelBinding prefer or require`);
        }
        session.authMethod = binding ? 'scram-sha-256-plus' : 'scram-sha-256';
        scram = new ScramClient(ctx.crypto, needPassword(mechanism), undefined, binding);
        const first = scram.start();
        await conn.write(saslInitialResponse(mechanism, first), { decode: `SASLInitialResponse ${mechanism} ${new TextDecoder().decode(first)}` });
        break;
      }
      case 'saslContinue': {
        if (!scram) throw new ProtocolError('SASLContinue before SASL was started');
        const final = await scram.respond(a.data);
        await conn.write(saslResponse(final), { secret: true, decode: 'SASLResponse (client-final-message, proof masked)' });
        break;
      }
      case 'saslFinal':
        if (!scram) throw new ProtocolError('SASLFinal before SASL was started');
        scram.verify(a.data);
        conn.note('SCRAM server signature verified');
        break;
      default:
        throw new AuthError(`the server asks for ${a.kind} authentication, which this client does not support (trust, cleartext, md5 and SCRAM-SHA-256 are supported)`);
    }
  }
  throw new ProtocolError('authentication did not finish within 16 messages');
}

async function finishStartup(session: Session): Promise<Session> {
  for (let n = 0; n < 10_000; n++) {
    const m = await readMessage(session.conn);
    switch (m.type) {
      case 'ParameterStatus':
        session.parameters[m.name] = m.value;
        break;
      case 'BackendKeyData':
        session.pid = m.pid;
        session.secretKey = m.secretKey;
        break;
      case 'NoticeResponse':
        session.notices.push(m.fields);
        break;
      case 'ErrorResponse':
        throw authFailure(m.fields);
      case 'ReadyForQuery':
        session.transactionStatus = m.status;
        return session;
      default:
        throw new ProtocolError(`unexpected ${m.type} during startup`);
    }
  }
  throw new ProtocolError('startup sent more than 10000 messages before ReadyForQuery');
}

export async function connect(ctx: OperationContext, opts: ConnectOptions): Promise<Session> {
  const { conn, tls } = await dialPostgres(ctx, opts.channelBinding !== 'disable');
  const session = await startup(ctx, conn, tls, opts);
  ctx.timing.mark('readyMs');
  return session;
}

export async function terminate(session: Session): Promise<void> {
  await session.conn.write(terminateMessage(), { decode: 'Terminate' }).catch(() => undefined);
}

// ---------------------------------------------------------------- queries


export interface Column {
  name: string;
  type: string;
  typeOid: number;
  tableOid?: number;
  columnAttr?: number;
}

export interface ResultSet {
  command: string;
  rowCount: number | null;
  oid?: number;
  columns: Column[];
  rows: JsonValue[][];
  /** Rows the server sent for this statement (kept or not). */
  rowsReceived: number;
  truncated: boolean;
  /** COPY ... TO STDOUT output (text), when the statement was a COPY out. */
  copy?: string;
}

export interface QueryOutcome {
  results: ResultSet[];
  notices: ErrorFields[];
  notifications: Notification[];
  parameterChanges: Record<string, string>;
  transactionStatus: 'I' | 'T' | 'E';
  truncated: boolean;
  /** Which limit cut the results, e.g. "maxRows 1000". */
  limit?: string;
}

/** The decoder of a result column: its binary decoder when it came in binary format and the type has one. */
function decoderOf(f: FieldDescription): ColumnDecoder {
  const binary = f.format === 1 ? binaryDecoder(f.typeOid) : undefined;
  return binary ? (buf, start, len) => binary(buf.subarray(start, start + len)) : columnDecoder(f.typeOid, f.format);
}

/** Result formats: text (format 0), or binary (format 1) for every column whose type has a binary decoder. */
export type ResultFormat = 'text' | 'binary';

/** Keeps rows until a limit is reached; then only counts them. */
class Collector {
  readonly budget: RowBudget;
  readonly results: ResultSet[] = [];
  current?: { set: ResultSet; fields: FieldDescription[]; decoders: ColumnDecoder[] };
  readonly notices: ErrorFields[] = [];
  readonly notifications: Notification[] = [];
  readonly parameterChanges: Record<string, string> = {};
  error?: ErrorFields;
  private copyParts: Uint8Array[] = [];
  private copyBytes = 0;

  constructor(limits: Limits) {
    this.budget = new RowBudget(limits);
  }

  begin(fields: FieldDescription[]): void {
    this.budget.nextSet();
    const set: ResultSet = {
      command: '',
      rowCount: null,
      columns: fields.map((f) => ({ name: f.name, type: typeName(f.typeOid), typeOid: f.typeOid, ...(f.tableOid ? { tableOid: f.tableOid, columnAttr: f.columnAttr } : {}) })),
      rows: [],
      rowsReceived: 0,
      truncated: false,
    };
    this.current = { set, fields, decoders: fields.map(decoderOf) };
  }

  /** Turns a run of DataRow bodies into JSON rows (55.7 DataRow: Int16 count, then Int32 length (-1 NULL) and bytes per column). */
  dataRows(run: DataRowRun): void {
    if (!this.current) throw new ProtocolError('DataRow before RowDescription');
    const { set, decoders } = this.current;
    const { buf, bounds } = run;
    const { latin1, ascii } = latin1View(buf);
    for (let k = 0; k < bounds.length; k += 2) {
      const start = bounds[k];
      const end = bounds[k + 1];
      const size = end - start;
      set.rowsReceived++;
      if (!this.budget.keep(size)) {
        set.truncated = true;
        continue;
      }
      set.rows.push(decodeDataRowAt(buf, start, end, decoders, latin1, ascii));
    }
  }

  copyData(data: Uint8Array): void {
    if (!this.budget.fits(this.copyBytes + data.length)) {
      if (this.current) this.current.set.truncated = true;
      return;
    }
    this.copyParts.push(data.slice());
    this.copyBytes += data.length;
  }

  complete(tag: string): void {
    const set = this.current?.set ?? { command: '', rowCount: null, columns: [], rows: [], rowsReceived: 0, truncated: false };
    const parsed = parseCommandTag(tag);
    set.command = parsed.command;
    set.rowCount = parsed.rowCount;
    if (parsed.oid !== undefined) set.oid = parsed.oid;
    if (this.copyParts.length > 0 || parsed.command === 'COPY') {
      if (this.copyParts.length > 0) set.copy = new TextDecoder().decode(concat(this.copyParts));
      this.budget.bytes += this.copyBytes;
      this.copyParts = [];
      this.copyBytes = 0;
    }
    this.results.push(set);
    this.current = undefined;
  }

  outcome(status: 'I' | 'T' | 'E'): QueryOutcome {
    const truncated = this.results.some((r) => r.truncated) || (this.current?.set.truncated ?? false);
    return {
      results: this.results,
      notices: this.notices,
      notifications: this.notifications,
      parameterChanges: this.parameterChanges,
      transactionStatus: status,
      truncated,
      ...(this.budget.first !== undefined && truncated ? { limit: this.budget.first } : {}),
    };
  }
}


/** Where the messages that may come at any time go: notices, notifications, parameter changes. */
interface Asides {
  notices: ErrorFields[];
  notifications: Notification[];
  parameterChanges?: Record<string, string>;
}

/** Takes a NoticeResponse, NotificationResponse or ParameterStatus (55.2.7 "Asynchronous Operations"); false for any other message. */
function aside(session: Session, m: BackendMessage, into: Asides): boolean {
  switch (m.type) {
    case 'NoticeResponse':
      if (into.notices.length < 1000) into.notices.push(m.fields);
      return true;
    case 'NotificationResponse':
      if (into.notifications.length < 1000) into.notifications.push({ pid: m.pid, channel: m.channel, payload: m.payload });
      return true;
    case 'ParameterStatus':
      session.parameters[m.name] = m.value;
      if (into.parameterChanges) into.parameterChanges[m.name] = m.value;
      return true;
    default:
      return false;
  }
}

/** Handles one message common to both query flows; false when the flow itself must handle it. */
async function common(session: Session, c: Collector, m: BackendMessage): Promise<boolean> {
  if (aside(session, m, c)) return true;
  switch (m.type) {
    case 'RowDescription':
      c.begin(m.fields);
      return true;
    case 'DataRow':
      throw new ProtocolError('DataRow outside a batch');
    case 'CommandComplete':
      c.complete(m.tag);
      return true;
    case 'EmptyQueryResponse':
      c.current = undefined;
      return true;
    case 'ErrorResponse':
      c.error ??= m.fields;
      c.current = undefined;
      return true;
    case 'CopyOutResponse':
      c.begin([]);
      return true;
    case 'CopyData':
      c.copyData(m.data);
      return true;
    case 'CopyDone':
      return true;
    case 'CopyInResponse':
      await session.conn.write(copyFailMessage('COPY FROM STDIN takes its data from an upload: use the copy-in operation'), { decode: 'CopyFail' });
      return true;
    default:
      return false;
  }
}

function finish(session: Session, c: Collector, status: 'I' | 'T' | 'E'): QueryOutcome {
  session.transactionStatus = status;
  if (c.error) {
    const outcome = c.outcome(status);
    throw new ServerError(errorText(c.error), { ...errorDetail(c.error), completed: outcome.results.map((r) => ({ command: r.command, rowCount: r.rowCount })), statementIndex: outcome.results.length });
  }
  return c.outcome(status);
}

/** 55.2.2 Simple Query: one Query message, a result per statement, ReadyForQuery at the end. */
export async function simpleQuery(session: Session, sql: string, limits: Limits): Promise<QueryOutcome> {
  const c = new Collector(limits);
  await session.conn.write(queryMessage(sql), { decode: `Query ${JSON.stringify(sql.slice(0, 300))}` });
  for (;;) {
    const m = await readBatch(session.conn);
    if (m.type === 'DataRows') {
      c.dataRows(m);
      continue;
    }
    if (await common(session, c, m)) continue;
    if (m.type === 'ReadyForQuery') return finish(session, c, m.status);
    throw new ProtocolError(`unexpected ${m.type} in a simple query`);
  }
}

/**
 * 55.2.3 Extended Query: Parse, Bind (parameters in text, bytes in binary), Describe portal,
 * Execute with a row limit (the server stops and says PortalSuspended when it is reached), Sync.
 */
export async function extendedQuery(session: Session, sql: string, params: ParamValue[], limits: Limits, resultFormat: ResultFormat = 'text'): Promise<QueryOutcome> {
  const c = new Collector(limits);
  const maxRows = Math.min(limits.maxRows + 1, 0x7fffffff);
  const run = [describeMessage('P', ''), executeMessage('', maxRows), syncMessage()];
  if (resultFormat === 'binary') {
    // The result's column types are known only after Parse: describe the statement first, then ask for binary
    // exactly for the columns this client decodes from binary (the unnamed statement lasts until the next Parse).
    const fields = await describeStatement(session, sql, c);
    if (fields === undefined) return finish(session, c, session.transactionStatus);
    const formats = fields.map((f) => (binaryDecoder(f.typeOid) ? 1 : 0));
    await session.conn.write(concat([bindMessage('', '', params, formats.includes(1) ? formats : []), ...run]), {
      decode: `Bind/Describe/Execute/Sync with ${params.length} parameters, ${formats.filter((f) => f === 1).length} of ${formats.length} columns in binary`,
    });
  } else {
    await session.conn.write(concat([parseMessage('', sql), bindMessage('', '', params), ...run]), { decode: `Parse/Bind/Describe/Execute/Sync ${JSON.stringify(sql.slice(0, 200))} with ${params.length} parameters` });
  }
  let noData = false;
  for (;;) {
    const m = await readBatch(session.conn);
    if (m.type === 'DataRows') {
      c.dataRows(m);
      continue;
    }
    if (await common(session, c, m)) continue;
    switch (m.type) {
      case 'ParseComplete':
      case 'BindComplete':
      case 'ParameterDescription':
        continue;
      case 'NoData':
        noData = true;
        continue;
      case 'PortalSuspended':
        // The row limit (maxRows + 1) was reached on the server side: the result has more rows.
        if (c.current) {
          const set = c.current.set;
          set.truncated = true;
          c.budget.first ??= `maxRows ${limits.maxRows}`;
          c.complete(`SELECT ${set.rowsReceived}`);
          set.rowCount = null;
        }
        continue;
      case 'ReadyForQuery':
        if (noData && c.results.length === 0 && !c.error) c.results.push({ command: '', rowCount: null, columns: [], rows: [], rowsReceived: 0, truncated: false });
        return finish(session, c, m.status);
      default:
        throw new ProtocolError(`unexpected ${m.type} in an extended query`);
    }
  }
}

/**
 * Parse and Describe the unnamed statement, then Sync (55.2.3): the result's columns (none for a statement
 * without rows), or undefined when the server refused the statement (its error is in the collector).
 */
async function describeStatement(session: Session, sql: string, c: Collector): Promise<FieldDescription[] | undefined> {
  await session.conn.write(concat([parseMessage('', sql), describeMessage('S', ''), syncMessage()]), { decode: `Parse/Describe/Sync ${JSON.stringify(sql.slice(0, 200))}` });
  let fields: FieldDescription[] = [];
  for (;;) {
    const m = await readMessage(session.conn);
    if (aside(session, m, c)) continue;
    switch (m.type) {
      case 'ParseComplete':
      case 'ParameterDescription':
      case 'NoData':
        continue;
      case 'RowDescription':
        fields = m.fields;
        continue;
      case 'ErrorResponse':
        c.error ??= m.fields;
        continue;
      case 'ReadyForQuery':
        session.transactionStatus = m.status;
        return c.error ? undefined : fields;
      default:
        throw new ProtocolError(`unexpected ${m.type} after Describe`);
    }
  }
}

/** 55.2.8 Canceling Requests: a new connection carrying CancelRequest with the backend's pid and key; the server closes it without an answer. */
export async function sendCancel(ctx: OperationContext, pid: number, secretKey: number): Promise<void> {
  const conn = await ctx.dial({ tls: 'off', secondHop: false });
  await conn.write(cancelRequest(pid, secretKey), { decode: `CancelRequest pid=${pid} key=****`, secret: true });
  // The server closes the connection once it has read the request.
  await conn.readToEnd(1024).catch(() => undefined);
  await conn.close();
}

/** LISTEN/NOTIFY and any asynchronous message: reads one message while idle. */
export async function readAsync(session: Session): Promise<BackendMessage> {
  return readMessage(session.conn);
}

// ---------------------------------------------------------------- COPY (55.2.6 "COPY Operations")

const copyOut = copyOutFrame();

/** What a COPY ended with: CommandComplete's row count, the bytes moved, the notices. */
export interface CopyOutcome {
  rowCount: number | null;
  bytes: number;
  notices: ErrorFields[];
}

/** An ErrorResponse of a COPY as a server_error: the message, and where the server was (`COPY t, line 3, column b: "x"`). */
function copyError(f: ErrorFields): ServerError {
  return new ServerError(f.where ? `${errorText(f)} (${f.where})` : errorText(f), errorDetail(f));
}

/**
 * Runs one `COPY … TO STDOUT` as a simple query (55.2.6): CopyOutResponse, then CopyData runs handed to the sink
 * `open` gives (called at CopyOutResponse with its format, 0 text or 1 binary), each write awaited before more
 * is read, then CopyDone and CommandComplete "COPY n". An error before the data is a server_error naming it.
 */
export async function copyOutQuery(session: Session, sql: string, open: (format: number) => Promise<ByteSink>, field: string): Promise<CopyOutcome> {
  const { conn } = session;
  await conn.write(queryMessage(sql), { decode: `Query ${JSON.stringify(sql.slice(0, 300))}` });
  conn.bulkReads(256 * 1024);
  const notices: ErrorFields[] = [];
  let sink: ByteSink | undefined;
  let error: ErrorFields | undefined;
  let rowCount: number | null = null;
  let bytes = 0;
  let other: string | undefined;
  for (;;) {
    const m = await conn.readFrame(copyOut, 'backend message', describeCopyOut);
    if (m.type === 'CopyDataRun') {
      if (!sink) throw new ProtocolError('CopyData before CopyOutResponse');
      bytes += m.data.length;
      await sink.write(m.data);
      continue;
    }
    if (aside(session, m, { notices, notifications: session.notifications })) continue;
    switch (m.type) {
      case 'CopyOutResponse':
        if (sink) throw InvalidInput.field(field, 'runs more than one COPY: give one statement');
        sink = await open(m.format);
        continue;
      case 'CopyDone':
        continue;
      case 'CommandComplete':
        rowCount = parseCommandTag(m.tag).rowCount;
        if (!sink) other ??= m.tag;
        continue;
      case 'ErrorResponse':
        error ??= m.fields;
        continue;
      case 'CopyInResponse':
        other ??= 'COPY FROM STDIN';
        await conn.write(copyFailMessage('this operation runs COPY TO STDOUT'), { decode: 'CopyFail' });
        continue;
      case 'RowDescription':
      case 'EmptyQueryResponse':
        other ??= m.type === 'RowDescription' ? 'rows' : 'nothing';
        continue;
      case 'DataRow':
        continue;
      case 'ReadyForQuery':
        session.transactionStatus = m.status;
        if (error) throw copyError(error);
        if (!sink) throw InvalidInput.field(field, `is not a COPY … TO STDOUT: the server answered ${other ?? 'without data'}`);
        return { rowCount, bytes, notices };
      default:
        throw new ProtocolError(`unexpected ${m.type} during COPY TO STDOUT`);
    }
  }
}

/**
 * Runs one `COPY … FROM STDIN` (55.2.6): after CopyInResponse, each chunk of `source` goes out as a CopyData
 * message, then CopyDone; CommandComplete "COPY n" says how many rows the server took. The server's answer is
 * read while the data goes out, so a malformed row stops the upload at once: the ErrorResponse, with its
 * `COPY t, line 3` context, is the error, and the whole COPY is rolled back.
 */
export async function copyInQuery(session: Session, sql: string, source: ByteSource, field: string): Promise<CopyOutcome> {
  const { conn } = session;
  await conn.write(queryMessage(sql), { decode: `Query ${JSON.stringify(sql.slice(0, 300))}` });
  const notices: ErrorFields[] = [];
  let error: ErrorFields | undefined;
  let other: string | undefined;
  // Up to CopyInResponse, or the end of a statement that is not a COPY FROM STDIN.
  for (;;) {
    const m = await readMessage(conn);
    if (aside(session, m, { notices, notifications: session.notifications })) continue;
    if (m.type === 'CopyInResponse') break;
    if (m.type === 'ErrorResponse') error ??= m.fields;
    else if (m.type === 'CopyOutResponse') other ??= 'COPY TO STDOUT';
    else if (m.type === 'RowDescription') other ??= 'rows';
    else if (m.type === 'CommandComplete') other ??= m.tag;
    if (m.type === 'ReadyForQuery') {
      session.transactionStatus = m.status;
      if (error) throw copyError(error);
      throw InvalidInput.field(field, `is not a COPY … FROM STDIN: the server answered ${other ?? 'without asking for data'}`);
    }
  }
  // The server's answer, read while the data goes out: it may refuse a row long before the end.
  let rowCount: number | null = null;
  let ended = false;
  const answer = (async () => {
    for (;;) {
      const m = await readMessage(conn);
      if (aside(session, m, { notices, notifications: session.notifications })) continue;
      if (m.type === 'ErrorResponse') error ??= m.fields;
      else if (m.type === 'CommandComplete') rowCount = parseCommandTag(m.tag).rowCount;
      else if (m.type === 'ReadyForQuery') {
        session.transactionStatus = m.status;
        return;
      } else throw new ProtocolError(`unexpected ${m.type} during COPY FROM STDIN`);
    }
  })().finally(() => {
    ended = true;
  });
  answer.catch(() => undefined);
  let bytes = 0;
  try {
    for (let chunk = await source.read(); chunk !== null && !ended; chunk = await source.read()) {
      if (chunk.length === 0) continue;
      await conn.write(concat([copyDataHeader(chunk.length), chunk]), { decode: `CopyData (${chunk.length} bytes)` });
      bytes += chunk.length;
    }
  } catch (e) {
    // The upload failed on our side (the client went, the deadline): the server rolls the COPY back.
    if (!ended) await conn.write(copyFailMessage('the upload ended before its last byte'), { decode: 'CopyFail' }).catch(() => undefined);
    throw e;
  }
  if (!ended) await conn.write(copyDoneMessage(), { decode: 'CopyDone' });
  await answer;
  if (error) throw copyError(error);
  return { rowCount, bytes, notices };
}
