// FastCGI 1.0 (the FastCGI Specification, Open Market 1996): records (section 3.3), name-value pairs
// (section 3.4), BEGIN_REQUEST / END_REQUEST bodies (sections 5.1, 5.5) and management records (section 4).
//
// How it works: every record is an 8-byte header (version 1, type, request id, content length, padding
// length, reserved), the content and the padding. Streams (PARAMS, STDIN, STDOUT, STDERR) are sequences of
// records ended by an empty one. The response of a Responder is CGI output on STDOUT: header lines, an
// empty line, the body (RFC 3875 section 6).
import { ByteReader, ByteWriter, fromLatin1, indexOf, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

export const VERSION_1 = 1;

/** Record types (section 8). */
export const Type = {
  BEGIN_REQUEST: 1,
  ABORT_REQUEST: 2,
  END_REQUEST: 3,
  PARAMS: 4,
  STDIN: 5,
  STDOUT: 6,
  STDERR: 7,
  DATA: 8,
  GET_VALUES: 9,
  GET_VALUES_RESULT: 10,
  UNKNOWN_TYPE: 11,
} as const;

const TYPE_NAMES = Object.fromEntries(Object.entries(Type).map(([k, v]) => [v, k])) as Record<number, string>;

export function typeName(t: number): string {
  return TYPE_NAMES[t] ?? `type ${t}`;
}

export const Role = { RESPONDER: 1, AUTHORIZER: 2, FILTER: 3 } as const;

/** END_REQUEST protocolStatus (section 5.5). */
export const PROTOCOL_STATUS = ['REQUEST_COMPLETE', 'CANT_MPX_CONN', 'OVERLOADED', 'UNKNOWN_ROLE'] as const;

export interface FcgiRecord {
  type: number;
  requestId: number;
  content: Uint8Array;
}

/** Content length is 16 bits: larger data goes in several records. */
export const MAX_CONTENT = 0xffff;

export function encodeRecord(type: number, requestId: number, content: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (content.length > MAX_CONTENT) throw new ProtocolError(`a FastCGI record carries at most ${MAX_CONTENT} bytes`);
  // Section 3.3: padding aligns records to 8 bytes (recommended, not required).
  const padding = (8 - (content.length % 8)) % 8;
  return new ByteWriter(8 + content.length + padding).u8(VERSION_1).u8(type).u16(requestId).u16(content.length).u8(padding).u8(0).bytes(content).bytes(new Uint8Array(padding)).finish();
}

/** A stream's data cut into records, then the empty record that ends it (section 3.3 "Stream records"). */
export function encodeStream(type: number, requestId: number, data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += MAX_CONTENT) out.push(encodeRecord(type, requestId, data.subarray(at, at + MAX_CONTENT)));
  out.push(encodeRecord(type, requestId));
  return out;
}

/** One record; a version other than 1 is a protocol error (section 3.3). */
export const recordFrame: Frame<FcgiRecord> = (buf) => {
  if (buf.length < 8) {
    if (buf.length >= 1 && buf[0] !== VERSION_1) throw notFastCgi(buf);
    return undefined;
  }
  if (buf[0] !== VERSION_1) throw notFastCgi(buf);
  const r = new ByteReader(buf);
  r.skip(1);
  const type = r.u8('type');
  const requestId = r.u16('requestId');
  const length = r.u16('contentLength');
  const padding = r.u8('paddingLength');
  const size = 8 + length + padding;
  if (buf.length < size) return undefined;
  return { value: { type, requestId, content: buf.slice(8, 8 + length) }, size };
};

function notFastCgi(buf: Uint8Array): ProtocolError {
  const text = fromLatin1(buf.subarray(0, 16)).replace(/[^\x20-\x7e]/g, '.');
  return new ProtocolError(`not a FastCGI record (version byte ${buf[0]}, expected 1): ${JSON.stringify(text)}`);
}

/** FCGI_BeginRequestBody (section 5.1): role, flags (bit 0 FCGI_KEEP_CONN), five reserved bytes. */
export function encodeBeginRequest(requestId: number, role: number, keepConn: boolean): Uint8Array {
  return encodeRecord(Type.BEGIN_REQUEST, requestId, new ByteWriter(8).u16(role).u8(keepConn ? 1 : 0).bytes(new Uint8Array(5)).finish());
}

export interface EndRequest {
  appStatus: number;
  protocolStatus: number;
}

/** FCGI_EndRequestBody (section 5.5): a 32-bit application status, the protocol status, three reserved bytes. */
export function decodeEndRequest(content: Uint8Array): EndRequest {
  const r = new ByteReader(content);
  const appStatus = r.i32('appStatus');
  const protocolStatus = r.u8('protocolStatus');
  return { appStatus, protocolStatus };
}

export function encodeEndRequest(e: EndRequest): Uint8Array {
  return new ByteWriter(8).i32(e.appStatus).u8(e.protocolStatus).bytes(new Uint8Array(3)).finish();
}

function encodeLength(w: ByteWriter, n: number): void {
  // Section 3.4: one byte below 128, otherwise four with the high bit set.
  if (n < 128) w.u8(n);
  else w.u32((n | 0x80000000) >>> 0);
}

export type Pair = [name: Uint8Array | string, value: Uint8Array | string];

export function encodePairs(pairs: Pair[]): Uint8Array {
  const w = new ByteWriter(256);
  for (const [n, v] of pairs) {
    const name = typeof n === 'string' ? utf8(n) : n;
    const value = typeof v === 'string' ? utf8(v) : v;
    encodeLength(w, name.length);
    encodeLength(w, value.length);
    w.bytes(name).bytes(value);
  }
  return w.finish();
}

/** Name-value pairs (section 3.4); at most `maxPairs`, lengths bounded by the content they sit in. */
export function decodePairs(content: Uint8Array, maxPairs = 10_000): [string, string][] {
  const r = new ByteReader(content);
  const out: [string, string][] = [];
  const length = (field: string) => {
    const b = r.peekU8(field);
    return b < 128 ? r.u8(field) : r.u32(field) & 0x7fffffff;
  };
  while (!r.done) {
    if (out.length >= maxPairs) throw new ProtocolError(`more than ${maxPairs} name-value pairs`);
    const n = length('nameLength');
    const v = length('valueLength');
    out.push([fromLatin1(r.bytesN(n, 'name')), fromLatin1(r.bytesN(v, 'value'))]);
  }
  return out;
}

export interface CgiResponse {
  /** From the Status header (RFC 3875 section 6.3.3), 200 when absent. */
  status: number;
  reason: string;
  headers: [string, string][];
  body: Uint8Array;
}

/** CGI response output (RFC 3875 section 6): header lines up to an empty line (LF or CRLF), then the body. */
export function splitCgiOutput(out: Uint8Array, maxHead = 64 * 1024): CgiResponse {
  let end = indexOf(out, utf8('\r\n\r\n'));
  let sep = 4;
  const lf = indexOf(out, utf8('\n\n'));
  if (lf !== -1 && (end === -1 || lf < end)) {
    end = lf;
    sep = 2;
  }
  if (end === -1) {
    if (out.length > maxHead) throw new ProtocolError(`CGI response head longer than ${maxHead} bytes or missing its empty line`);
    throw new ProtocolError('CGI response has no empty line after its headers (RFC 3875 section 6.2)');
  }
  if (end > maxHead) throw new ProtocolError(`CGI response head longer than ${maxHead} bytes`);
  const headers: [string, string][] = [];
  for (const line of fromLatin1(out.subarray(0, end)).split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ProtocolError(`malformed CGI header line ${JSON.stringify(line.slice(0, 80))}`);
    headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  const statusHeader = headers.find(([n]) => n === 'status')?.[1];
  let status = 200;
  let reason = 'OK';
  if (statusHeader !== undefined) {
    const m = /^(\d{3})(?: (.*))?$/.exec(statusHeader);
    if (!m) throw new ProtocolError(`CGI Status header ${JSON.stringify(statusHeader.slice(0, 40))} is not "NNN reason"`);
    status = Number(m[1]);
    reason = m[2] ?? '';
  } else if (headers.some(([n]) => n === 'location')) {
    status = 302;
    reason = 'Found';
  }
  return { status, reason, headers, body: out.subarray(end + sep) };
}

export function describeRecord(r: FcgiRecord): string {
  if (r.type === Type.END_REQUEST && r.content.length >= 5) {
    const e = decodeEndRequest(r.content);
    return `END_REQUEST id ${r.requestId}: appStatus ${e.appStatus}, ${PROTOCOL_STATUS[e.protocolStatus] ?? e.protocolStatus}`;
  }
  return `${typeName(r.type)} id ${r.requestId}, ${r.content.length} bytes`;
}
