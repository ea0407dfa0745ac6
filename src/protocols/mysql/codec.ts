// MySQL client/server protocol (MySQL Internals "Client/Server Protocol"; MariaDB KB "Clients & Connectors / Client/Server Protocol").
//
// How it works: every message travels in packets of a 3-byte little-endian payload length, a
// sequence id and the payload; a payload of 0xFFFFFF bytes continues in the next packet
// ("Sending More Than 16Mb"). `packetFrame` cuts one logical packet (joining continuations);
// `packetsFrame` cuts every whole packet buffered, so a large result set is read in few steps.
// The payload parsers below read the handshake, OK/ERR/EOF, column definitions and text and
// binary rows from a ByteReader; the builders write the handshake response, SSL request and
// commands. Nothing here touches a socket.
import { smallIntAt, textAt } from '../../core/bytes.ts';
import { ByteReader, ByteWriter, concat, fromUtf8, toHex } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';
import type { JsonValue } from '../sql/fields.ts';

/** Capability flags (Protocol::CapabilityFlags). */
export const CLIENT = {
  LONG_PASSWORD: 1,
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 16,
  COMPRESS: 32,
  ODBC: 64,
  LOCAL_FILES: 128,
  IGNORE_SPACE: 256,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 2048,
  IGNORE_SIGPIPE: 4096,
  TRANSACTIONS: 8192,
  RESERVED: 16384,
  SECURE_CONNECTION: 32768,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  CAN_HANDLE_EXPIRED_PASSWORDS: 1 << 22,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
  OPTIONAL_RESULTSET_METADATA: 1 << 25,
  ZSTD_COMPRESSION: 1 << 26,
  QUERY_ATTRIBUTES: 1 << 27,
  MULTI_FACTOR_AUTHENTICATION: 1 << 28,
  CAPABILITY_EXTENSION: 1 << 29,
  SSL_VERIFY_SERVER_CERT: 1 << 30,
  REMEMBER_OPTIONS: 2 ** 31,
} as const;

/** Names of the capability bits set in `flags`. */
export function capabilityNames(flags: number): string[] {
  return Object.entries(CLIENT)
    .filter(([, bit]) => (flags & bit) !== 0 || (bit === 2 ** 31 && flags >= 2 ** 31))
    .map(([name]) => name);
}

/** MariaDB extended capabilities (the last 4 bytes of the handshake's reserved area when CLIENT_MYSQL is off). */
export const MARIADB_CLIENT = { PROGRESS: 1, COM_MULTI: 2, STMT_BULK_OPERATIONS: 4, EXTENDED_METADATA: 8, CACHE_METADATA: 16 } as const;

/** Server status flags (SERVER_STATUS_*). */
export const SERVER_STATUS = { IN_TRANS: 1, AUTOCOMMIT: 2, MORE_RESULTS_EXISTS: 8, NO_GOOD_INDEX_USED: 16, NO_INDEX_USED: 32, CURSOR_EXISTS: 64, LAST_ROW_SENT: 128 } as const;

export const COM = { QUIT: 0x01, INIT_DB: 0x02, QUERY: 0x03, PING: 0x0e, STMT_PREPARE: 0x16, STMT_EXECUTE: 0x17, STMT_CLOSE: 0x19, STMT_RESET: 0x1a } as const;

/** Column types (enum_field_types). */
export const TYPE = {
  DECIMAL: 0x00,
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  FLOAT: 0x04,
  DOUBLE: 0x05,
  NULL: 0x06,
  TIMESTAMP: 0x07,
  LONGLONG: 0x08,
  INT24: 0x09,
  DATE: 0x0a,
  TIME: 0x0b,
  DATETIME: 0x0c,
  YEAR: 0x0d,
  NEWDATE: 0x0e,
  VARCHAR: 0x0f,
  BIT: 0x10,
  TIMESTAMP2: 0x11,
  DATETIME2: 0x12,
  TIME2: 0x13,
  JSON: 0xf5,
  NEWDECIMAL: 0xf6,
  ENUM: 0xf7,
  SET: 0xf8,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  GEOMETRY: 0xff,
} as const;

export const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(TYPE).map(([k, v]) => [v, k.toLowerCase()]));

/** Column flags (Column Definition flags). */
export const FLAG = { NOT_NULL: 1, PRI_KEY: 2, UNIQUE_KEY: 4, MULTIPLE_KEY: 8, BLOB: 16, UNSIGNED: 32, ZEROFILL: 64, BINARY: 128, ENUM: 256, AUTO_INCREMENT: 512, TIMESTAMP: 1024, SET: 2048 } as const;

/** The "binary" character set/collation id: strings of this collation are bytes, not text. */
export const BINARY_COLLATION = 63;
/** utf8mb4_general_ci, understood by MySQL 5.5.3+ and every MariaDB. */
export const UTF8MB4_GENERAL_CI = 45;

const MAX_PAYLOAD = 0xffffff;
export const DEFAULT_MAX_PACKET = 64 * 1024 * 1024;
const MAX_COLUMNS = 4096; // MySQL's table limit; a result can hold more, so cap generously
const MAX_PARAMS = 65535;

// ---------------------------------------------------------------- packets

export interface Packet {
  seq: number;
  payload: Uint8Array;
}

/** Size of the whole logical packet at `at` (with continuations), or undefined when more bytes are needed. */
function logicalPacket(buf: Uint8Array, at: number, max: number): { end: number; parts: [number, number][]; seq: number } | undefined {
  const parts: [number, number][] = [];
  let pos = at;
  let total = 0;
  let seq = 0;
  for (;;) {
    if (buf.length - pos < 4) return undefined;
    const len = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16);
    seq = buf[pos + 3];
    total += len;
    if (total > max) throw new ProtocolError(`packet of more than ${max} bytes exceeds the limit`);
    if (buf.length - pos - 4 < len) return undefined;
    parts.push([pos + 4, pos + 4 + len]);
    pos += 4 + len;
    // A payload of exactly 0xFFFFFF bytes is continued by the next packet.
    if (len < MAX_PAYLOAD) return { end: pos, parts, seq };
    if (parts.length > 1024) throw new ProtocolError('more than 1024 continuation packets');
  }
}

function joinParts(buf: Uint8Array, parts: [number, number][]): Uint8Array {
  return parts.length === 1 ? buf.slice(parts[0][0], parts[0][1]) : concat(parts.map(([s, e]) => buf.subarray(s, e)));
}

/** One logical packet. */
export function packetFrame(max = DEFAULT_MAX_PACKET): Frame<Packet> {
  return (buf) => {
    const got = logicalPacket(buf, 0, max);
    if (!got) return undefined;
    return { value: { seq: got.seq, payload: joinParts(buf, got.parts) }, size: got.end };
  };
}

/** Every whole logical packet buffered (at most `maxPackets`), in order; payloads are views into `buf`, one copy of the bytes. */
export interface PacketBatch {
  packets: Packet[];
  buf: Uint8Array;
}

export function packetsFrame(max = DEFAULT_MAX_PACKET, maxPackets = 8192): Frame<PacketBatch> {
  return (buf) => {
    const spans: { seq: number; parts: [number, number][] }[] = [];
    let at = 0;
    while (spans.length < maxPackets) {
      const got = logicalPacket(buf, at, max);
      if (!got) break;
      spans.push({ seq: got.seq, parts: got.parts });
      at = got.end;
    }
    if (spans.length === 0) return undefined;
    // Copy once so the payloads do not alias the connection's buffer.
    const owned = buf.slice(0, at);
    const packets = spans.map(({ seq, parts }) => ({ seq, payload: parts.length === 1 ? owned.subarray(parts[0][0], parts[0][1]) : joinParts(owned, parts) }));
    return { value: { packets, buf: owned }, size: at };
  };
}

/** Frames a payload as one or more packets starting at `seq`; returns the bytes and the next sequence id. */
export function encodePacket(payload: Uint8Array, seq: number): { bytes: Uint8Array; nextSeq: number } {
  const parts: Uint8Array[] = [];
  let at = 0;
  let s = seq & 0xff;
  for (;;) {
    const len = Math.min(MAX_PAYLOAD, payload.length - at);
    const w = new ByteWriter(4 + len);
    w.u24le(len).u8(s).bytes(payload.subarray(at, at + len));
    parts.push(w.finish());
    s = (s + 1) & 0xff;
    at += len;
    if (len < MAX_PAYLOAD) break;
  }
  return { bytes: concat(parts), nextSeq: s };
}

// ---------------------------------------------------------------- length-encoded values

/** Protocol::LengthEncodedInteger. 0xFB is NULL in rows and is returned as null; 0xFF is not a valid first byte. */
export function readLenencInt(r: ByteReader, field = 'length-encoded integer'): number | null {
  const first = r.u8(field);
  if (first < 0xfb) return first;
  if (first === 0xfb) return null;
  if (first === 0xfc) return r.u16le(field);
  if (first === 0xfd) return r.u24le(field);
  if (first === 0xfe) {
    const v = r.u64le(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`${field}: ${v} is too large`);
    return Number(v);
  }
  throw new ProtocolError(`${field}: 0xff is not a length-encoded integer`);
}

/** A length-encoded integer that may exceed 2^53 (affected rows, insert id). */
export function readLenencBig(r: ByteReader, field = 'length-encoded integer'): number | string {
  const first = r.peekU8(field);
  if (first === 0xfe) {
    r.u8(field);
    const v = r.u64le(field);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? v.toString() : Number(v);
  }
  const n = readLenencInt(r, field);
  if (n === null) throw new ProtocolError(`${field}: unexpected NULL`);
  return n;
}

export function readLenencBytes(r: ByteReader, field = 'length-encoded string'): Uint8Array | null {
  const n = readLenencInt(r, `${field} length`);
  if (n === null) return null;
  return r.bytesN(n, field);
}

function lenencString(r: ByteReader, field: string): string {
  const b = readLenencBytes(r, field);
  if (b === null) throw new ProtocolError(`${field}: unexpected NULL`);
  return fromUtf8(b);
}

export function writeLenencInt(w: ByteWriter, n: number): ByteWriter {
  if (n < 0xfb) return w.u8(n);
  if (n <= 0xffff) return w.u8(0xfc).u16le(n);
  if (n <= 0xffffff) return w.u8(0xfd).u24le(n);
  return w.u8(0xfe).u64le(BigInt(n));
}

export function writeLenencBytes(w: ByteWriter, b: Uint8Array): ByteWriter {
  return writeLenencInt(w, b.length).bytes(b);
}

// ---------------------------------------------------------------- handshake

export interface Handshake {
  protocolVersion: number;
  serverVersion: string;
  connectionId: number;
  /** auth-plugin-data parts 1 and 2 joined, trailing NUL removed (the 20-byte scramble). */
  scramble: Uint8Array;
  capabilities: number;
  charset: number;
  statusFlags: number;
  authPluginName: string | null;
  /** MariaDB's extended capabilities, when the server is MariaDB (CLIENT_MYSQL bit off). */
  mariadbCapabilities: number | null;
}

/** Protocol::HandshakeV10. */
export function parseHandshake(payload: Uint8Array): Handshake {
  const r = new ByteReader(payload);
  const protocolVersion = r.u8('protocol version');
  if (protocolVersion !== 10) throw new ProtocolError(`handshake protocol version ${protocolVersion} is not 10`);
  const serverVersion = fromUtf8(r.cstring('server version', 256));
  const connectionId = r.u32le('connection id');
  const part1 = r.bytesN(8, 'auth-plugin-data-part-1');
  r.skip(1, 'filler');
  let capabilities = r.u16le('capability flags (lower)');
  let charset = 0;
  let statusFlags = 0;
  let authLen = 0;
  let mariadbCapabilities: number | null = null;
  let part2: Uint8Array = new Uint8Array(0);
  let authPluginName: string | null = null;
  if (!r.done) {
    charset = r.u8('character set');
    statusFlags = r.u16le('status flags');
    capabilities = (capabilities | (r.u16le('capability flags (upper)') << 16)) >>> 0;
    authLen = r.u8('auth-plugin-data length');
    r.skip(6, 'reserved');
    const ext = r.u32le('reserved / MariaDB capabilities');
    if ((capabilities & CLIENT.LONG_PASSWORD) === 0) mariadbCapabilities = ext;
    if (capabilities & CLIENT.SECURE_CONNECTION) {
      const n = Math.max(13, authLen - 8);
      part2 = r.bytesN(Math.min(n, r.remaining), 'auth-plugin-data-part-2');
    }
    if (capabilities & CLIENT.PLUGIN_AUTH) {
      // Some servers omit the terminating NUL of the plugin name (Bug#59453).
      const rest = r.rest();
      const nul = rest.indexOf(0);
      authPluginName = fromUtf8(nul === -1 ? rest : rest.subarray(0, nul));
    }
  }
  let scramble = concat([part1, part2]);
  if (scramble.length > 0 && scramble[scramble.length - 1] === 0) scramble = scramble.subarray(0, scramble.length - 1);
  return { protocolVersion, serverVersion, connectionId, scramble: scramble.slice(), capabilities, charset, statusFlags, authPluginName, mariadbCapabilities };
}

/** Protocol::SSLRequest: the first 32 bytes of a HandshakeResponse41 with CLIENT_SSL. */
export function sslRequestPayload(capabilities: number, charset = UTF8MB4_GENERAL_CI, maxPacket = DEFAULT_MAX_PACKET): Uint8Array {
  return new ByteWriter(32).u32le(capabilities >>> 0).u32le(maxPacket).u8(charset).bytes(new Uint8Array(23)).finish();
}

export interface HandshakeResponse {
  capabilities: number;
  user: string;
  authResponse: Uint8Array;
  database?: string;
  authPluginName?: string;
  attributes?: Record<string, string>;
  charset?: number;
  maxPacket?: number;
}

/** Protocol::HandshakeResponse41. */
export function handshakeResponsePayload(h: HandshakeResponse): Uint8Array {
  const caps = h.capabilities >>> 0;
  const w = new ByteWriter();
  w.u32le(caps).u32le(h.maxPacket ?? DEFAULT_MAX_PACKET).u8(h.charset ?? UTF8MB4_GENERAL_CI).bytes(new Uint8Array(23));
  w.cstring(h.user);
  if (caps & CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA) writeLenencBytes(w, h.authResponse);
  else if (caps & CLIENT.SECURE_CONNECTION) {
    if (h.authResponse.length > 255) throw new ProtocolError('auth response longer than 255 bytes needs CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA');
    w.u8(h.authResponse.length).bytes(h.authResponse);
  } else w.cstring(h.authResponse);
  if (caps & CLIENT.CONNECT_WITH_DB) w.cstring(h.database ?? '');
  if (caps & CLIENT.PLUGIN_AUTH) w.cstring(h.authPluginName ?? '');
  if (caps & CLIENT.CONNECT_ATTRS) {
    const a = new ByteWriter();
    for (const [k, v] of Object.entries(h.attributes ?? {})) {
      writeLenencBytes(a, new TextEncoder().encode(k));
      writeLenencBytes(a, new TextEncoder().encode(v));
    }
    writeLenencBytes(w, a.finish());
  }
  return w.finish();
}

// ---------------------------------------------------------------- generic responses

export interface OkPacket {
  kind: 'ok';
  affectedRows: number | string;
  lastInsertId: number | string;
  statusFlags: number;
  warnings: number;
  info: string;
}

export interface ErrPacket {
  kind: 'err';
  code: number;
  sqlState: string | null;
  message: string;
}

export interface EofPacket {
  kind: 'eof';
  warnings: number;
  statusFlags: number;
}

/** Protocol::OK_Packet (header 0x00; 0xFE under CLIENT_DEPRECATE_EOF). */
export function parseOk(payload: Uint8Array): OkPacket {
  const r = new ByteReader(payload);
  const header = r.u8('OK header');
  if (header !== 0x00 && header !== 0xfe) throw new ProtocolError(`OK packet header 0x${header.toString(16)}`);
  const affectedRows = readLenencBig(r, 'affected rows');
  const lastInsertId = readLenencBig(r, 'last insert id');
  const statusFlags = r.remaining >= 2 ? r.u16le('status flags') : 0;
  const warnings = r.remaining >= 2 ? r.u16le('warnings') : 0;
  // The info text is length-encoded in what MariaDB and MySQL send (Connector/C reads it so),
  // though the docs call it string<EOF> without CLIENT_SESSION_TRACK; fall back to the rest.
  let info = '';
  if (!r.done) {
    const start = r.offset;
    const n = readLenencInt(r, 'info length');
    if (n !== null && n <= r.remaining) info = fromUtf8(r.bytesN(n, 'info'));
    else {
      r.offset = start;
      info = fromUtf8(r.rest());
    }
  }
  return { kind: 'ok', affectedRows, lastInsertId, statusFlags, warnings, info };
}

/** Protocol::ERR_Packet: 0xFF, code, '#' + SQLSTATE (protocol 4.1), message. */
export function parseErr(payload: Uint8Array): ErrPacket {
  const r = new ByteReader(payload);
  if (r.u8('ERR header') !== 0xff) throw new ProtocolError('ERR packet does not start with 0xff');
  const code = r.u16le('error code');
  let sqlState: string | null = null;
  if (r.remaining >= 6 && payload[r.offset] === 0x23) {
    r.skip(1, 'SQL state marker');
    sqlState = fromUtf8(r.bytesN(5, 'SQL state'));
  }
  return { kind: 'err', code, sqlState, message: fromUtf8(r.rest()) };
}

/** Protocol::EOF_Packet: 0xFE and fewer than 9 bytes. */
export function isEof(payload: Uint8Array): boolean {
  return payload.length > 0 && payload[0] === 0xfe && payload.length < 9;
}

export function parseEof(payload: Uint8Array): EofPacket {
  const r = new ByteReader(payload);
  r.u8('EOF header');
  if (r.remaining < 4) return { kind: 'eof', warnings: 0, statusFlags: 0 };
  return { kind: 'eof', warnings: r.u16le('warnings'), statusFlags: r.u16le('status flags') };
}

/** Protocol::AuthSwitchRequest: 0xFE, plugin name, plugin data. */
export function parseAuthSwitch(payload: Uint8Array): { plugin: string; data: Uint8Array } {
  const r = new ByteReader(payload);
  r.u8('auth switch header');
  if (r.done) return { plugin: 'mysql_old_password', data: new Uint8Array(0) };
  const plugin = fromUtf8(r.cstring('plugin name', 256));
  let data = r.rest().slice();
  // A string scramble (mysql_native_password, caching_sha2_password, sha256_password: 20 bytes) ends with its NUL;
  // client_ed25519's is 32 raw bytes, and the last of them may be 0.
  if (plugin !== 'client_ed25519' && data.length > 0 && data[data.length - 1] === 0) data = data.subarray(0, data.length - 1);
  return { plugin, data };
}

// ---------------------------------------------------------------- result sets

export interface ColumnDefinition {
  catalog: string;
  schema: string;
  table: string;
  orgTable: string;
  name: string;
  orgName: string;
  charset: number;
  length: number;
  type: number;
  flags: number;
  decimals: number;
}

/** Protocol::ColumnDefinition41. */
export function parseColumnDefinition(payload: Uint8Array): ColumnDefinition {
  const r = new ByteReader(payload);
  const catalog = lenencString(r, 'catalog');
  const schema = lenencString(r, 'schema');
  const table = lenencString(r, 'table');
  const orgTable = lenencString(r, 'org_table');
  const name = lenencString(r, 'name');
  const orgName = lenencString(r, 'org_name');
  const fixed = readLenencInt(r, 'fixed-length fields length');
  if (fixed === null || fixed < 0x0c) throw new ProtocolError(`column definition fixed-length block is ${fixed}, not 12`);
  const charset = r.u16le('character set');
  const length = r.u32le('column length');
  const type = r.u8('column type');
  const flags = r.u16le('flags');
  const decimals = r.u8('decimals');
  return { catalog, schema, table, orgTable, name, orgName, charset, length, type, flags, decimals };
}

/** The column count that opens a result set (a length-encoded integer). */
export function parseColumnCount(payload: Uint8Array): number {
  const r = new ByteReader(payload);
  const n = readLenencInt(r, 'column count');
  if (n === null || n === 0 || n > MAX_COLUMNS) throw new ProtocolError(`column count ${n} is outside 1–${MAX_COLUMNS}`);
  return n;
}

/** ProtocolText::ResultsetRow: a length-encoded string or 0xFB (NULL) per column. */
export function parseTextRow(payload: Uint8Array, columns: number): (Uint8Array | null)[] {
  const r = new ByteReader(payload);
  const out: (Uint8Array | null)[] = new Array(columns);
  for (let i = 0; i < columns; i++) out[i] = readLenencBytes(r, `column ${i}`);
  if (!r.done) throw new ProtocolError(`text row has ${r.remaining} bytes after ${columns} columns`);
  return out;
}


function isBinaryColumn(c: ColumnDefinition): boolean {
  return c.charset === BINARY_COLLATION && c.type !== TYPE.NEWDECIMAL && c.type !== TYPE.DECIMAL && !isTemporal(c.type) && !isNumeric(c.type);
}

function isNumeric(t: number): boolean {
  return t === TYPE.TINY || t === TYPE.SHORT || t === TYPE.LONG || t === TYPE.LONGLONG || t === TYPE.INT24 || t === TYPE.YEAR || t === TYPE.FLOAT || t === TYPE.DOUBLE;
}

function isTemporal(t: number): boolean {
  return t === TYPE.DATE || t === TYPE.NEWDATE || t === TYPE.DATETIME || t === TYPE.DATETIME2 || t === TYPE.TIMESTAMP || t === TYPE.TIMESTAMP2 || t === TYPE.TIME || t === TYPE.TIME2;
}

function integerJson(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** `2024-02-29 13:14:15.5` → `2024-02-29T13:14:15.5`; zero dates and times stay as the server wrote them. */
export function isoDateTime(text: string): string {
  return /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(text) && !text.startsWith('0000-00-00') ? text.replace(' ', 'T') : text;
}

/** A text-protocol value to JSON by its column type. */
export function decodeTextValue(c: ColumnDefinition, v: Uint8Array): JsonValue {
  switch (c.type) {
    case TYPE.TINY:
    case TYPE.SHORT:
    case TYPE.LONG:
    case TYPE.INT24:
    case TYPE.LONGLONG:
    case TYPE.YEAR:
      return integerJson(fromUtf8(v));
    case TYPE.FLOAT:
    case TYPE.DOUBLE: {
      const s = fromUtf8(v);
      const n = Number(s);
      return Number.isFinite(n) ? n : s;
    }
    case TYPE.DECIMAL:
    case TYPE.NEWDECIMAL:
      return fromUtf8(v);
    case TYPE.BIT:
      return { hex: toHex(v) };
    case TYPE.DATETIME:
    case TYPE.DATETIME2:
    case TYPE.TIMESTAMP:
    case TYPE.TIMESTAMP2:
      return isoDateTime(fromUtf8(v));
    case TYPE.JSON:
      try {
        return JSON.parse(fromUtf8(v)) as JsonValue;
      } catch {
        return fromUtf8(v);
      }
    case TYPE.GEOMETRY:
      return { hex: toHex(v) };
    default:
      return isBinaryColumn(c) ? { hex: toHex(v) } : fromUtf8(v);
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** ProtocolBinary::ResultsetRow: 0x00, a NULL bitmap offset by 2 bits, then each non-NULL value in its binary form. */
export function parseBinaryRow(payload: Uint8Array, columns: ColumnDefinition[]): JsonValue[] {
  const r = new ByteReader(payload);
  if (r.u8('binary row header') !== 0x00) throw new ProtocolError('binary row does not start with 0x00');
  const bitmap = r.bytesN(Math.floor((columns.length + 7 + 2) / 8), 'NULL bitmap');
  const out: JsonValue[] = new Array(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const bit = i + 2;
    if (bitmap[bit >> 3] & (1 << (bit & 7))) {
      out[i] = null;
      continue;
    }
    out[i] = readBinaryValue(r, columns[i]);
  }
  if (!r.done) throw new ProtocolError(`binary row has ${r.remaining} bytes after ${columns.length} columns`);
  return out;
}

function readBinaryValue(r: ByteReader, c: ColumnDefinition): JsonValue {
  const unsigned = (c.flags & FLAG.UNSIGNED) !== 0;
  switch (c.type) {
    case TYPE.TINY:
      return unsigned ? r.u8('tiny') : r.i8('tiny');
    case TYPE.SHORT:
    case TYPE.YEAR:
      return unsigned ? r.u16le('short') : r.i16le('short');
    case TYPE.LONG:
    case TYPE.INT24:
      return unsigned ? r.u32le('long') : r.i32le('long');
    case TYPE.LONGLONG: {
      const v = unsigned ? r.u64le('longlong') : r.i64le('longlong');
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
    }
    case TYPE.FLOAT: {
      // A float's shortest decimal form, as the text protocol would print it.
      const f = r.f32le('float');
      return Number.isFinite(f) ? Number(f.toPrecision(7)) : String(f);
    }
    case TYPE.DOUBLE: {
      const d = r.f64le('double');
      return Number.isFinite(d) ? d : String(d);
    }
    case TYPE.DATE:
    case TYPE.NEWDATE:
    case TYPE.DATETIME:
    case TYPE.DATETIME2:
    case TYPE.TIMESTAMP:
    case TYPE.TIMESTAMP2: {
      const len = r.u8('datetime length');
      if (len !== 0 && len !== 4 && len !== 7 && len !== 11) throw new ProtocolError(`datetime value length ${len} is not 0, 4, 7 or 11`);
      const [y, mo, d] = len >= 4 ? [r.u16le('year'), r.u8('month'), r.u8('day')] : [0, 0, 0];
      const [h, mi, s] = len >= 7 ? [r.u8('hour'), r.u8('minute'), r.u8('second')] : [0, 0, 0];
      const us = len === 11 ? r.u32le('microseconds') : 0;
      const date = `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
      if (c.type === TYPE.DATE || c.type === TYPE.NEWDATE) return date;
      const text = `${date} ${pad(h)}:${pad(mi)}:${pad(s)}${c.decimals > 0 && c.decimals <= 6 ? `.${pad(us, 6).slice(0, c.decimals)}` : us ? `.${pad(us, 6)}` : ''}`;
      return isoDateTime(text);
    }
    case TYPE.TIME:
    case TYPE.TIME2: {
      const len = r.u8('time length');
      if (len !== 0 && len !== 8 && len !== 12) throw new ProtocolError(`time value length ${len} is not 0, 8 or 12`);
      if (len === 0) return '00:00:00';
      const negative = r.u8('is_negative') === 1;
      const days = r.u32le('days');
      const h = r.u8('hour') + days * 24;
      const mi = r.u8('minute');
      const s = r.u8('second');
      const us = len === 12 ? r.u32le('microseconds') : 0;
      return `${negative ? '-' : ''}${pad(h)}:${pad(mi)}:${pad(s)}${c.decimals > 0 && c.decimals <= 6 ? `.${pad(us, 6).slice(0, c.decimals)}` : us ? `.${pad(us, 6)}` : ''}`;
    }
    case TYPE.NULL:
      return null;
    default: {
      const b = readLenencBytes(r, 'value');
      if (b === null) throw new ProtocolError('binary value is NULL outside the bitmap');
      return decodeTextValue(c, b);
    }
  }
}

// ---------------------------------------------------------------- commands

export function commandPayload(command: number, body: Uint8Array | string = new Uint8Array(0)): Uint8Array {
  const b = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const out = new Uint8Array(1 + b.length);
  out[0] = command;
  out.set(b, 1);
  return out;
}

export interface PrepareOk {
  statementId: number;
  columns: number;
  params: number;
  warnings: number;
}

/** COM_STMT_PREPARE_OK: 0x00, statement id, column count, parameter count, filler, warnings. */
export function parsePrepareOk(payload: Uint8Array): PrepareOk {
  const r = new ByteReader(payload);
  if (r.u8('prepare OK header') !== 0x00) throw new ProtocolError('COM_STMT_PREPARE answer is not OK');
  const statementId = r.u32le('statement id');
  const columns = r.u16le('column count');
  const params = r.u16le('parameter count');
  if (r.remaining >= 3) r.skip(1, 'filler');
  const warnings = r.remaining >= 2 ? r.u16le('warnings') : 0;
  if (columns > MAX_COLUMNS) throw new ProtocolError(`prepared statement has ${columns} columns`);
  return { statementId, columns, params, warnings };
}

/** A bind parameter for COM_STMT_EXECUTE: the JSON value decides the wire type. */
export type BinaryParam = null | boolean | number | bigint | string | Uint8Array;

/** COM_STMT_EXECUTE with every parameter bound (new-params-bound-flag 1). */
export function executePayload(statementId: number, params: BinaryParam[]): Uint8Array {
  if (params.length > MAX_PARAMS) throw new ProtocolError(`more than ${MAX_PARAMS} parameters`);
  const w = new ByteWriter();
  w.u8(COM.STMT_EXECUTE).u32le(statementId).u8(0x00).u32le(1);
  if (params.length === 0) return w.finish();
  const bitmap = new Uint8Array(Math.floor((params.length + 7) / 8));
  params.forEach((p, i) => {
    if (p === null) bitmap[i >> 3] |= 1 << (i & 7);
  });
  w.bytes(bitmap).u8(1);
  for (const p of params) {
    if (p === null) w.u8(TYPE.NULL).u8(0);
    else if (typeof p === 'boolean') w.u8(TYPE.TINY).u8(0);
    else if (typeof p === 'bigint' || (typeof p === 'number' && Number.isSafeInteger(p))) w.u8(TYPE.LONGLONG).u8(0);
    else if (typeof p === 'number') w.u8(TYPE.DOUBLE).u8(0);
    else if (p instanceof Uint8Array) w.u8(TYPE.BLOB).u8(0);
    else w.u8(TYPE.VAR_STRING).u8(0);
  }
  for (const p of params) {
    if (p === null) continue;
    if (typeof p === 'boolean') w.u8(p ? 1 : 0);
    else if (typeof p === 'bigint') w.u64le(BigInt.asUintN(64, p));
    else if (typeof p === 'number' && Number.isSafeInteger(p)) w.u64le(BigInt.asUintN(64, BigInt(p)));
    else if (typeof p === 'number') w.f64le(p);
    else if (p instanceof Uint8Array) writeLenencBytes(w, p);
    else writeLenencBytes(w, new TextEncoder().encode(p));
  }
  return w.finish();
}

export function describePacket(p: Packet): string {
  const b = p.payload;
  if (b.length === 0) return `#${p.seq} (empty)`;
  if (b[0] === 0xff) {
    try {
      const e = parseErr(b);
      return `#${p.seq} ERR ${e.code} ${e.sqlState ?? ''} ${e.message}`;
    } catch {
      return `#${p.seq} ERR (malformed)`;
    }
  }
  if (b[0] === 0x00 && b.length >= 7) return `#${p.seq} OK`;
  if (isEof(b)) return `#${p.seq} EOF`;
  return `#${p.seq} ${b.length} bytes`;
}

export function describePackets(batch: PacketBatch): string {
  const ps = batch.packets;
  return ps.length === 1 ? describePacket(ps[0]) : `${ps.length} packets (#${ps[0].seq}–#${ps[ps.length - 1].seq})`;
}

// ---------------------------------------------------------------- text rows straight from the wire bytes

/** Decodes one text-protocol value at `buf[start, start + len)`; `latin1`/`ascii` as in postgres/types.ts textAt. */
export type TextDecoderFn = (buf: Uint8Array, start: number, len: number, latin1: string, ascii: boolean) => JsonValue;

/** The fast decoder for a column's text values; the same JSON as decodeTextValue. */
export function textColumnDecoder(c: ColumnDefinition): TextDecoderFn {
  switch (c.type) {
    case TYPE.TINY:
    case TYPE.SHORT:
    case TYPE.LONG:
    case TYPE.INT24:
    case TYPE.LONGLONG:
    case TYPE.YEAR:
      return (buf, start, len, latin1, ascii) => smallIntAt(buf, start, len) ?? integerJson(textAt(buf, start, len, latin1, ascii));
    case TYPE.DECIMAL:
    case TYPE.NEWDECIMAL:
      return textAt;
    case TYPE.DATETIME:
    case TYPE.DATETIME2:
    case TYPE.TIMESTAMP:
    case TYPE.TIMESTAMP2:
      return (buf, start, len, latin1, ascii) => isoDateTime(textAt(buf, start, len, latin1, ascii));
    case TYPE.VAR_STRING:
    case TYPE.STRING:
    case TYPE.VARCHAR:
    case TYPE.ENUM:
    case TYPE.SET:
    case TYPE.DATE:
    case TYPE.NEWDATE:
    case TYPE.TIME:
    case TYPE.TIME2:
      if (!isBinaryColumn(c)) return textAt;
      return (buf, start, len) => decodeTextValue(c, buf.subarray(start, start + len));
    default:
      return (buf, start, len) => decodeTextValue(c, buf.subarray(start, start + len));
  }
}

/**
 * ProtocolText::ResultsetRow decoded in place: `payload` is a view into `buf` (whose latin1 view is
 * given), each column a length-encoded string or 0xFB for NULL.
 */
export function decodeTextRowAt(buf: Uint8Array, payload: Uint8Array, decoders: TextDecoderFn[], latin1: string, ascii: boolean): JsonValue[] {
  const base = payload.byteOffset - buf.byteOffset;
  if (base < 0 || base + payload.length > buf.length) throw new ProtocolError('row payload is not inside its batch');
  const end = base + payload.length;
  let at = base;
  const n = decoders.length;
  const row: JsonValue[] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (at >= end) throw new ProtocolError(`text row ends before column ${i}`);
    const first = buf[at++];
    let len: number;
    if (first < 0xfb) len = first;
    else if (first === 0xfb) {
      row[i] = null;
      continue;
    } else if (first === 0xfc) {
      if (at + 2 > end) throw new ProtocolError(`column ${i} length runs past the row`);
      len = buf[at] | (buf[at + 1] << 8);
      at += 2;
    } else if (first === 0xfd) {
      if (at + 3 > end) throw new ProtocolError(`column ${i} length runs past the row`);
      len = buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16);
      at += 3;
    } else if (first === 0xfe) {
      if (at + 8 > end) throw new ProtocolError(`column ${i} length runs past the row`);
      const hi = buf[at + 4] | (buf[at + 5] << 8) | (buf[at + 6] << 16) | (buf[at + 7] << 24);
      if (hi !== 0) throw new ProtocolError(`column ${i} length is larger than 4 GiB`);
      len = (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16)) + buf[at + 3] * 0x1000000;
      at += 8;
    } else throw new ProtocolError(`column ${i}: 0xff is not a length-encoded integer`);
    if (at + len > end) throw new ProtocolError(`column ${i} value of ${len} bytes runs past the row`);
    row[i] = decoders[i](buf, at, len, latin1, ascii);
    at += len;
  }
  if (at !== end) throw new ProtocolError(`text row has ${end - at} bytes after ${n} columns`);
  return row;
}
