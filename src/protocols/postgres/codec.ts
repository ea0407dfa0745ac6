// PostgreSQL frontend/backend protocol 3.0 (PostgreSQL docs, chapter 55 "Frontend/Backend Protocol", 55.7 "Message Formats").
//
// How it works: every backend message is a type byte, an Int32 length that counts itself but not
// the type byte, and a body (55.7). `backendFrame` cuts one message and decodes it into a typed
// value; `backendBatchFrame` cuts a run of DataRow messages at once (a large result is thousands of
// them) or one other message. Frontend messages are built with ByteWriter and back-patched
// lengths. The untyped startup-phase messages (StartupMessage, SSLRequest, CancelRequest) have no
// type byte. Nothing here touches a socket.
import { ByteReader, ByteWriter, fromUtf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** 55.7 StartupMessage: protocol version 3.0 = 196608. */
export const PROTOCOL_3_0 = 196608;
/** 55.7 SSLRequest code 1234.5679. */
export const SSL_REQUEST_CODE = 80877103;
/** 55.7 CancelRequest code 1234.5678. */
export const CANCEL_REQUEST_CODE = 80877102;
/** 55.7 GSSENCRequest code 1234.5680. */
export const GSSENC_REQUEST_CODE = 80877104;

/** Largest backend message accepted by default (a DataRow with a big bytea fits). */
export const DEFAULT_MAX_MESSAGE = 16 * 1024 * 1024 - 16;
const MAX_FIELDS = 1664; // 55.7 / limits: a table has at most 1600 columns; a row at most 1664 result columns.
const MAX_PARAMS = 65535; // Int16 parameter counts (55.7 Bind, ParameterDescription).

// ---------------------------------------------------------------- frontend messages

/** 55.7 StartupMessage: Int32 length, Int32 version, name/value C strings, a final NUL. */
export function startupMessage(params: Record<string, string>): Uint8Array {
  const w = new ByteWriter();
  const done = w.lengthAt('u32', true);
  w.u32(PROTOCOL_3_0);
  for (const [k, v] of Object.entries(params)) w.cstring(k).cstring(v);
  w.u8(0);
  return done().finish();
}

/** 55.7 SSLRequest: length 8, code 80877103. */
export function sslRequest(): Uint8Array {
  return new ByteWriter(8).u32(8).u32(SSL_REQUEST_CODE).finish();
}

/** 55.7 CancelRequest: length 16, code 80877102, the backend's process ID and secret key. */
export function cancelRequest(pid: number, secretKey: number): Uint8Array {
  return new ByteWriter(16).u32(16).u32(CANCEL_REQUEST_CODE).i32(pid).i32(secretKey).finish();
}

function typed(type: string, body: (w: ByteWriter) => void): Uint8Array {
  const w = new ByteWriter();
  w.u8(type.charCodeAt(0));
  const done = w.lengthAt('u32', true);
  body(w);
  return done().finish();
}

/** 55.7 PasswordMessage ('p'): the cleartext or md5 password as a C string. */
export function passwordMessage(password: string): Uint8Array {
  return typed('p', (w) => w.cstring(password));
}

/** 55.7 SASLInitialResponse ('p'): mechanism, Int32 length of the data (-1 for none), data. */
export function saslInitialResponse(mechanism: string, data: Uint8Array): Uint8Array {
  return typed('p', (w) => w.cstring(mechanism).i32(data.length).bytes(data));
}

/** 55.7 SASLResponse ('p'): the data, no length of its own. */
export function saslResponse(data: Uint8Array): Uint8Array {
  return typed('p', (w) => w.bytes(data));
}

/** 55.7 Query ('Q'): one string, possibly several statements. */
export function queryMessage(sql: string): Uint8Array {
  return typed('Q', (w) => w.cstring(sql));
}

/** 55.7 Parse ('P'): statement name, query, Int16 count of parameter type OIDs, the OIDs (0 = let the server infer). */
export function parseMessage(statement: string, sql: string, paramTypes: number[] = []): Uint8Array {
  if (paramTypes.length > MAX_PARAMS) throw new ProtocolError(`Parse: more than ${MAX_PARAMS} parameter types`);
  return typed('P', (w) => {
    w.cstring(statement).cstring(sql).u16(paramTypes.length);
    for (const oid of paramTypes) w.u32(oid);
  });
}

/** A parameter value: text (format 0), bytes (format 1, binary), or SQL NULL. */
export type ParamValue = string | Uint8Array | null;

/**
 * 55.7 Bind ('B'): portal, statement, Int16 count + format codes, Int16 count + values
 * (Int32 length, -1 for NULL), Int16 count + result format codes.
 */
export function bindMessage(portal: string, statement: string, values: ParamValue[], resultFormats: number[] = []): Uint8Array {
  if (values.length > MAX_PARAMS) throw new ProtocolError(`Bind: more than ${MAX_PARAMS} parameters`);
  return typed('B', (w) => {
    w.cstring(portal).cstring(statement);
    w.u16(values.length);
    for (const v of values) w.u16(v instanceof Uint8Array ? 1 : 0);
    w.u16(values.length);
    for (const v of values) {
      if (v === null) w.i32(-1);
      else w.lengthPrefixed('u32', v);
    }
    w.u16(resultFormats.length);
    for (const f of resultFormats) w.u16(f);
  });
}

/** 55.7 Describe ('D'): 'S' statement or 'P' portal, and its name. */
export function describeMessage(kind: 'S' | 'P', name: string): Uint8Array {
  return typed('D', (w) => w.u8(kind.charCodeAt(0)).cstring(name));
}

/** 55.7 Execute ('E'): portal and the most rows to return (0 = all). */
export function executeMessage(portal: string, maxRows = 0): Uint8Array {
  return typed('E', (w) => w.cstring(portal).u32(maxRows));
}

/** 55.7 Close ('C'): 'S' statement or 'P' portal. */
export function closeMessage(kind: 'S' | 'P', name: string): Uint8Array {
  return typed('C', (w) => w.u8(kind.charCodeAt(0)).cstring(name));
}

/** 55.7 CopyData ('d') header for `length` bytes of data, which follow it on the wire. */
export function copyDataHeader(length: number): Uint8Array {
  return new ByteWriter(5).u8(0x64).u32(4 + length).finish();
}

/** 55.7 CopyDone ('c'): the end of a COPY FROM STDIN's data. */
export const copyDoneMessage = (): Uint8Array => typed('c', () => {});

/** 55.7 CopyFail ('f'): abandons a COPY FROM STDIN with a reason; the server answers with an ErrorResponse. */
export function copyFailMessage(reason: string): Uint8Array {
  return typed('f', (w) => w.cstring(reason));
}

export const syncMessage = (): Uint8Array => typed('S', () => {});
export const flushMessage = (): Uint8Array => typed('H', () => {});
export const terminateMessage = (): Uint8Array => typed('X', () => {});

// ---------------------------------------------------------------- backend messages

export interface FieldDescription {
  name: string;
  tableOid: number;
  columnAttr: number;
  typeOid: number;
  typeSize: number;
  typeModifier: number;
  format: number;
}

/** ErrorResponse / NoticeResponse fields (55.8 "Error and Notice Message Fields"), by their documented names. */
export interface ErrorFields {
  severity?: string;
  /** V: the severity, never localized (9.6+). */
  severityNonLocalized?: string;
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  position?: number;
  internalPosition?: number;
  internalQuery?: string;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  dataType?: string;
  constraint?: string;
  file?: string;
  line?: string;
  routine?: string;
  /** Field codes this client does not know, kept as they came. */
  other?: Record<string, string>;
}

export type AuthRequest =
  | { kind: 'ok' }
  | { kind: 'cleartext' }
  | { kind: 'md5'; salt: Uint8Array }
  | { kind: 'sasl'; mechanisms: string[] }
  | { kind: 'saslContinue'; data: Uint8Array }
  | { kind: 'saslFinal'; data: Uint8Array }
  | { kind: 'kerberosV5' }
  | { kind: 'scmCredential' }
  | { kind: 'gss' }
  | { kind: 'sspi' }
  | { kind: 'gssContinue' };

export type BackendMessage =
  | { type: 'Authentication'; auth: AuthRequest }
  | { type: 'BackendKeyData'; pid: number; secretKey: number }
  | { type: 'BindComplete' }
  | { type: 'CloseComplete' }
  | { type: 'CommandComplete'; tag: string }
  | { type: 'CopyInResponse' | 'CopyOutResponse' | 'CopyBothResponse'; format: number; columnFormats: number[] }
  | { type: 'CopyData'; data: Uint8Array }
  | { type: 'CopyDone' }
  | { type: 'DataRow'; values: (Uint8Array | null)[]; size: number }
  | { type: 'EmptyQueryResponse' }
  | { type: 'ErrorResponse'; fields: ErrorFields }
  | { type: 'NoticeResponse'; fields: ErrorFields }
  | { type: 'FunctionCallResponse'; value: Uint8Array | null }
  | { type: 'NegotiateProtocolVersion'; newestMinor: number; unrecognized: string[] }
  | { type: 'NoData' }
  | { type: 'NotificationResponse'; pid: number; channel: string; payload: string }
  | { type: 'ParameterDescription'; typeOids: number[] }
  | { type: 'ParameterStatus'; name: string; value: string }
  | { type: 'ParseComplete' }
  | { type: 'PortalSuspended' }
  | { type: 'ReadyForQuery'; status: 'I' | 'T' | 'E' }
  | { type: 'RowDescription'; fields: FieldDescription[] };

const ERROR_FIELD_NAMES: Record<string, keyof Omit<ErrorFields, 'position' | 'internalPosition' | 'other'>> = {
  S: 'severity',
  V: 'severityNonLocalized',
  C: 'code',
  M: 'message',
  D: 'detail',
  H: 'hint',
  q: 'internalQuery',
  W: 'where',
  s: 'schema',
  t: 'table',
  c: 'column',
  d: 'dataType',
  n: 'constraint',
  F: 'file',
  L: 'line',
  R: 'routine',
};

/** 55.7 ErrorResponse/NoticeResponse body: (Byte1 code, String value)*, then a NUL (55.8 lists the codes). */
export function decodeErrorFields(body: Uint8Array): ErrorFields {
  const r = new ByteReader(body);
  const out: ErrorFields = {};
  for (let n = 0; n < 256; n++) {
    const code = r.u8('error field code');
    if (code === 0) return out;
    const value = fromUtf8(r.cstring('error field value'));
    const key = String.fromCharCode(code);
    if (key === 'P' || key === 'p') {
      const pos = Number(value);
      if (!Number.isInteger(pos) || pos < 0) throw new ProtocolError(`error field ${key} (position) is not a number: ${JSON.stringify(value.slice(0, 20))}`);
      if (key === 'P') out.position = pos;
      else out.internalPosition = pos;
    } else if (ERROR_FIELD_NAMES[key]) {
      out[ERROR_FIELD_NAMES[key]] = value;
    } else {
      (out.other ??= {})[key] = value;
    }
  }
  throw new ProtocolError('error response has more than 256 fields');
}

function decodeAuth(r: ByteReader): AuthRequest {
  const code = r.u32('authentication code');
  switch (code) {
    case 0:
      return { kind: 'ok' };
    case 2:
      return { kind: 'kerberosV5' };
    case 3:
      return { kind: 'cleartext' };
    case 5:
      return { kind: 'md5', salt: r.bytesN(4, 'md5 salt').slice() };
    case 6:
      return { kind: 'scmCredential' };
    case 7:
      return { kind: 'gss' };
    case 8:
      return { kind: 'gssContinue' };
    case 9:
      return { kind: 'sspi' };
    case 10: {
      // 55.7 AuthenticationSASL: mechanism names, each a C string, then a NUL.
      const mechanisms: string[] = [];
      for (;;) {
        const m = r.cstring('SASL mechanism', 256);
        if (m.length === 0) return { kind: 'sasl', mechanisms };
        if (mechanisms.length >= 32) throw new ProtocolError('AuthenticationSASL lists more than 32 mechanisms');
        mechanisms.push(fromUtf8(m));
      }
    }
    case 11:
      return { kind: 'saslContinue', data: r.rest().slice() };
    case 12:
      return { kind: 'saslFinal', data: r.rest().slice() };
    default:
      throw new ProtocolError(`unknown authentication request code ${code}`);
  }
}

function decodeRowDescription(r: ByteReader): FieldDescription[] {
  const n = r.u16('RowDescription field count');
  if (n > MAX_FIELDS) throw new ProtocolError(`RowDescription has ${n} fields, more than ${MAX_FIELDS}`);
  const fields: FieldDescription[] = [];
  for (let i = 0; i < n; i++) {
    fields.push({
      name: fromUtf8(r.cstring('field name', 1024)),
      tableOid: r.u32('table OID'),
      columnAttr: r.i16('column attribute number'),
      typeOid: r.u32('type OID'),
      typeSize: r.i16('type size'),
      typeModifier: r.i32('type modifier'),
      format: r.i16('format code'),
    });
  }
  return fields;
}

function decodeDataRow(r: ByteReader): (Uint8Array | null)[] {
  const n = r.u16('DataRow column count');
  if (n > MAX_FIELDS) throw new ProtocolError(`DataRow has ${n} columns, more than ${MAX_FIELDS}`);
  const values: (Uint8Array | null)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const len = r.i32('column value length');
    if (len === -1) values[i] = null;
    else if (len < 0) throw new ProtocolError(`DataRow column ${i} has length ${len}`);
    else values[i] = r.bytesN(len, `column ${i} value`);
  }
  return values;
}

function decodeCopyResponse(r: ByteReader): { format: number; columnFormats: number[] } {
  const format = r.u8('copy format');
  const n = r.u16('copy column count');
  if (n > MAX_FIELDS) throw new ProtocolError(`copy response has ${n} columns`);
  const columnFormats: number[] = [];
  for (let i = 0; i < n; i++) columnFormats.push(r.u16('copy column format'));
  return { format, columnFormats };
}

/** Decodes one backend message body of the given type (55.7). `body` must be a copy the caller owns when values are kept. */
export function decodeBackend(type: number, body: Uint8Array): BackendMessage {
  const r = new ByteReader(body);
  const t = String.fromCharCode(type);
  let msg: BackendMessage;
  switch (t) {
    case 'R':
      msg = { type: 'Authentication', auth: decodeAuth(r) };
      break;
    case 'K':
      msg = { type: 'BackendKeyData', pid: r.i32('process ID'), secretKey: r.i32('secret key') };
      break;
    case '2':
      msg = { type: 'BindComplete' };
      break;
    case '3':
      msg = { type: 'CloseComplete' };
      break;
    case 'C':
      msg = { type: 'CommandComplete', tag: fromUtf8(r.cstring('command tag', 1024)) };
      break;
    case 'G':
      msg = { type: 'CopyInResponse', ...decodeCopyResponse(r) };
      break;
    case 'H':
      msg = { type: 'CopyOutResponse', ...decodeCopyResponse(r) };
      break;
    case 'W':
      msg = { type: 'CopyBothResponse', ...decodeCopyResponse(r) };
      break;
    case 'd':
      return { type: 'CopyData', data: r.rest() };
    case 'c':
      msg = { type: 'CopyDone' };
      break;
    case 'D':
      msg = { type: 'DataRow', values: decodeDataRow(r), size: body.length };
      break;
    case 'I':
      msg = { type: 'EmptyQueryResponse' };
      break;
    case 'E':
      return { type: 'ErrorResponse', fields: decodeErrorFields(body) };
    case 'N':
      return { type: 'NoticeResponse', fields: decodeErrorFields(body) };
    case 'V': {
      const len = r.i32('function result length');
      msg = { type: 'FunctionCallResponse', value: len === -1 ? null : r.bytesN(len, 'function result') };
      break;
    }
    case 'v': {
      const newestMinor = r.u32('newest minor protocol version');
      const n = r.u32('unrecognized option count');
      if (n > 256) throw new ProtocolError(`NegotiateProtocolVersion lists ${n} options`);
      const unrecognized: string[] = [];
      for (let i = 0; i < n; i++) unrecognized.push(fromUtf8(r.cstring('option name', 1024)));
      msg = { type: 'NegotiateProtocolVersion', newestMinor, unrecognized };
      break;
    }
    case 'n':
      msg = { type: 'NoData' };
      break;
    case 'A':
      msg = { type: 'NotificationResponse', pid: r.i32('process ID'), channel: fromUtf8(r.cstring('channel', 1024)), payload: fromUtf8(r.cstring('payload', 16 * 1024 * 1024)) };
      break;
    case 't': {
      const n = r.u16('parameter count');
      const typeOids: number[] = [];
      for (let i = 0; i < n; i++) typeOids.push(r.u32('parameter type OID'));
      msg = { type: 'ParameterDescription', typeOids };
      break;
    }
    case 'S':
      msg = { type: 'ParameterStatus', name: fromUtf8(r.cstring('parameter name', 1024)), value: fromUtf8(r.cstring('parameter value', 65536)) };
      break;
    case '1':
      msg = { type: 'ParseComplete' };
      break;
    case 's':
      msg = { type: 'PortalSuspended' };
      break;
    case 'Z': {
      const s = String.fromCharCode(r.u8('transaction status'));
      if (s !== 'I' && s !== 'T' && s !== 'E') throw new ProtocolError(`ReadyForQuery transaction status ${JSON.stringify(s)} is not I, T or E`);
      msg = { type: 'ReadyForQuery', status: s };
      break;
    }
    case 'T':
      msg = { type: 'RowDescription', fields: decodeRowDescription(r) };
      break;
    default:
      throw new ProtocolError(`unknown backend message type 0x${type.toString(16).padStart(2, '0')} (${JSON.stringify(t)})`);
  }
  if (!r.done) throw new ProtocolError(`${msg.type}: ${r.remaining} unexpected bytes at the end`);
  return msg;
}

/** Header check shared by the frame functions: returns the whole message size, or undefined when more bytes are needed. */
function messageSize(buf: Uint8Array, at: number, max: number): number | undefined {
  if (buf.length - at < 5) return undefined;
  const len = ((buf[at + 1] << 24) | (buf[at + 2] << 16) | (buf[at + 3] << 8) | buf[at + 4]) >>> 0;
  // 55.7: the length counts itself, so it is at least 4.
  if (len < 4) throw new ProtocolError(`backend message length ${len} is less than 4`);
  if (len > max) throw new ProtocolError(`backend message ${JSON.stringify(String.fromCharCode(buf[at]))} of ${len} bytes exceeds the ${max}-byte limit`);
  if (buf.length - at < 1 + len) return undefined;
  return 1 + len;
}

/** The first message of `buf`, decoded, or undefined when more bytes are needed. */
function oneMessage(buf: Uint8Array, max: number): { value: BackendMessage; size: number } | undefined {
  const size = messageSize(buf, 0, max);
  if (size === undefined) return undefined;
  return { value: decodeBackend(buf[0], buf.slice(5, size)), size };
}

/** One backend message. */
export function backendFrame(max = DEFAULT_MAX_MESSAGE): Frame<BackendMessage> {
  return (buf) => oneMessage(buf, max);
}

/** A run of consecutive DataRow messages (55.7 DataRow 'D'), kept as one buffer and the bounds of each body. */
export interface DataRowRun {
  type: 'DataRows';
  buf: Uint8Array;
  /** start and end of each DataRow body in `buf`, in pairs. */
  bounds: number[];
}

/**
 * A run of whole DataRow messages (at most `maxRows`), left undecoded so rows can be turned into
 * JSON straight from the bytes; or one other message, decoded. A large result is read in few
 * steps instead of one per row.
 */
export function backendBatchFrame(max = DEFAULT_MAX_MESSAGE, maxRows = 8192): Frame<BackendMessage | DataRowRun> {
  return (buf) => {
    if (buf.length >= 1 && buf[0] !== 0x44) return oneMessage(buf, max);
    let at = 0;
    const bounds: number[] = [];
    while (at < buf.length && buf[at] === 0x44 && bounds.length < maxRows * 2) {
      const size = messageSize(buf, at, max);
      if (size === undefined) break;
      bounds.push(at + 5, at + size);
      at += size;
    }
    if (bounds.length === 0) return undefined;
    // One copy for the run, so the rows do not alias the connection's buffer.
    return { value: { type: 'DataRows', buf: buf.slice(0, at), bounds }, size: at };
  };
}

/** A run of consecutive CopyData messages (55.7 CopyData 'd'): their payloads joined, and how many there were. */
export interface CopyDataRun {
  type: 'CopyDataRun';
  data: Uint8Array;
  messages: number;
}

/**
 * A run of whole CopyData messages (their payloads joined, up to about `maxBytes`), or one other message,
 * decoded. A COPY TO STDOUT sends one CopyData per row: a run is one write to the consumer instead of thousands.
 */
export function copyOutFrame(max = DEFAULT_MAX_MESSAGE, maxBytes = 256 * 1024): Frame<BackendMessage | CopyDataRun> {
  return (buf) => {
    if (buf.length >= 1 && buf[0] !== 0x64) return oneMessage(buf, max);
    let at = 0;
    let total = 0;
    const bounds: number[] = [];
    while (at < buf.length && buf[at] === 0x64 && (total === 0 || total < maxBytes)) {
      const size = messageSize(buf, at, max);
      if (size === undefined) break;
      bounds.push(at + 5, at + size);
      total += size - 5;
      at += size;
    }
    if (bounds.length === 0) return undefined;
    const data = new Uint8Array(total);
    let out = 0;
    for (let k = 0; k < bounds.length; k += 2) {
      data.set(buf.subarray(bounds[k], bounds[k + 1]), out);
      out += bounds[k + 1] - bounds[k];
    }
    return { value: { type: 'CopyDataRun', data, messages: bounds.length / 2 }, size: at };
  };
}

/** The DataRow messages of a run, decoded one by one (for tests and generic consumers). */
export function expandRun(run: DataRowRun): BackendMessage[] {
  const out: BackendMessage[] = [];
  for (let i = 0; i < run.bounds.length; i += 2) out.push(decodeBackend(0x44, run.buf.subarray(run.bounds[i], run.bounds[i + 1])));
  return out;
}

/** The one-byte answer to SSLRequest or GSSENCRequest (55.2.10): 'S' yes, 'N' no; 'E' is a pre-3.0 error. */
export const sslResponseFrame: Frame<'S' | 'N' | 'E' | 'G'> = (buf) => {
  if (buf.length < 1) return undefined;
  const c = String.fromCharCode(buf[0]);
  if (c === 'S' || c === 'N' || c === 'G') return { value: c, size: 1 };
  if (c === 'E') return { value: 'E', size: 1 };
  throw new ProtocolError(`SSLRequest answered with byte 0x${buf[0].toString(16)}, not S or N`);
};

/** A one-line transcript reading of a backend message (passwords never travel this way). */
export function describeBackend(m: BackendMessage): string {
  switch (m.type) {
    case 'Authentication':
      return m.auth.kind === 'sasl' ? `AuthenticationSASL ${m.auth.mechanisms.join(' ')}` : `Authentication ${m.auth.kind}`;
    case 'ParameterStatus':
      return `ParameterStatus ${m.name}=${m.value}`;
    case 'BackendKeyData':
      return `BackendKeyData pid=${m.pid}`;
    case 'CommandComplete':
      return `CommandComplete ${m.tag}`;
    case 'ReadyForQuery':
      return `ReadyForQuery ${m.status}`;
    case 'RowDescription':
      return `RowDescription ${m.fields.map((f) => `${f.name}:${f.typeOid}`).join(', ')}`;
    case 'DataRow':
      return `DataRow (${m.values.length} columns, ${m.size} bytes)`;
    case 'ErrorResponse':
    case 'NoticeResponse':
      return `${m.type} ${m.fields.severity ?? ''} ${m.fields.code ?? ''} ${m.fields.message ?? ''}`;
    case 'NotificationResponse':
      return `NotificationResponse ${m.channel}: ${m.payload}`;
    case 'ParameterDescription':
      return `ParameterDescription ${m.typeOids.join(', ')}`;
    default:
      return m.type;
  }
}

export function describeCopyOut(m: BackendMessage | CopyDataRun): string {
  if (m.type === 'CopyDataRun') return `CopyData × ${m.messages} (${m.data.length} bytes)`;
  if (m.type === 'CopyOutResponse' || m.type === 'CopyInResponse') return `${m.type} ${m.format === 1 ? 'binary' : 'text'}, ${m.columnFormats.length} columns`;
  return describeBackend(m);
}

export function describeBatch(m: BackendMessage | DataRowRun): string {
  if (m.type === 'DataRows') return m.bounds.length === 2 ? `DataRow (${m.bounds[1] - m.bounds[0]} bytes)` : `DataRow × ${m.bounds.length / 2}`;
  return describeBackend(m);
}

/** Reads the row count of a CommandComplete tag (55.7): "INSERT 0 5", "UPDATE 3", "SELECT 10", "COPY 2"... */
export function parseCommandTag(tag: string): { command: string; rowCount: number | null; oid?: number } {
  const parts = tag.split(' ');
  const last = parts[parts.length - 1];
  if (parts.length >= 2 && /^\d+$/.test(last)) {
    if (parts[0] === 'INSERT' && parts.length === 3) return { command: 'INSERT', oid: Number(parts[1]), rowCount: Number(last) };
    return { command: parts.slice(0, -1).join(' '), rowCount: Number(last) };
  }
  return { command: tag, rowCount: null };
}
