// AJP13 (Apache Tomcat Connectors "AJP Protocol Reference" and Tomcat's AjpProcessor): packets both ways,
// the Forward Request, body chunks, and the container's SEND_HEADERS, SEND_BODY_CHUNK, GET_BODY_CHUNK,
// END_RESPONSE and CPONG messages.
//
// How it works: a packet from the web server starts 0x12 0x34, one from the container "AB", then a 16-bit
// payload length. The first payload byte is the message type. Strings are a 16-bit length (0xFFFF for
// null), the bytes and a NUL. Common header names travel as 0xA0xx codes. A request body follows the
// Forward Request in packets holding a 16-bit chunk length and the data; the container asks for more with
// GET_BODY_CHUNK, and an empty chunk ends the body.
import { ByteReader, ByteWriter, fromLatin1, fromUtf8, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** Default AJP packet size (Tomcat's packetSize, mod_jk's max_packet_size): 8 KiB. */
export const DEFAULT_PACKET = 8192;
/** Room for data in a body packet: the packet less its 4-byte header and the chunk's 2-byte length. */
export const MAX_CHUNK = DEFAULT_PACKET - 6;

export const Prefix = { FORWARD_REQUEST: 2, SEND_BODY_CHUNK: 3, SEND_HEADERS: 4, END_RESPONSE: 5, GET_BODY_CHUNK: 6, SHUTDOWN: 7, PING: 8, CPONG: 9, CPING: 10 } as const;

const METHODS = ['OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'ACL', 'REPORT', 'VERSION-CONTROL', 'CHECKIN', 'CHECKOUT', 'UNCHECKOUT', 'SEARCH', 'MKWORKSPACE', 'UPDATE', 'LABEL', 'MERGE', 'BASELINE-CONTROL', 'MKACTIVITY'];
/** SC_M_JK_STORED: the method travels as the stored_method attribute. */
const METHOD_STORED = 0xff;

const REQUEST_HEADERS = ['accept', 'accept-charset', 'accept-encoding', 'accept-language', 'authorization', 'connection', 'content-type', 'content-length', 'cookie', 'cookie2', 'host', 'pragma', 'referer', 'user-agent'];
const RESPONSE_HEADERS = ['content-type', 'content-language', 'content-length', 'date', 'last-modified', 'location', 'set-cookie', 'set-cookie2', 'servlet-engine', 'status', 'www-authenticate'];

/** Request attribute codes (AJP Protocol Reference "Request Packet Structure"). */
export const Attr = { context: 1, servlet_path: 2, remote_user: 3, auth_type: 4, query_string: 5, jvm_route: 6, ssl_cert: 7, ssl_cipher: 8, ssl_session: 9, req_attribute: 10, ssl_key_size: 11, secret: 12, stored_method: 13, are_done: 0xff } as const;

export interface ForwardRequest {
  method: string;
  protocol: string;
  uri: string;
  remoteAddr: string;
  remoteHost: string | null;
  serverName: string;
  serverPort: number;
  isSsl: boolean;
  headers: [string, string][];
  queryString?: string;
  remoteUser?: string;
  authType?: string;
  jvmRoute?: string;
  sslCipher?: string;
  sslKeySize?: number;
  secret?: string;
  /** Arbitrary request attributes (req_attribute). */
  attributes: [string, string][];
}

function writeString(w: ByteWriter, s: string | null): void {
  if (s === null) {
    w.u16(0xffff);
    return;
  }
  const b = utf8(s);
  if (b.length >= 0xffff) throw new ProtocolError('an AJP string is shorter than 65535 bytes');
  w.u16(b.length).bytes(b).u8(0);
}

function readString(r: ByteReader, field: string): string | null {
  const n = r.u16(`${field} length`);
  if (n === 0xffff) return null;
  const s = fromUtf8(r.bytesN(n, field));
  if (r.u8(`${field} terminator`) !== 0) throw new ProtocolError(`${field}: AJP string not terminated by NUL`);
  return s;
}

/** A packet from the web server to the container: 0x1234, length, payload. */
export function packet(payload: Uint8Array): Uint8Array {
  if (payload.length > DEFAULT_PACKET - 4) throw new ProtocolError(`AJP packet payload of ${payload.length} bytes exceeds the ${DEFAULT_PACKET}-byte packet size`);
  return new ByteWriter(payload.length + 4).u16(0x1234).u16(payload.length).bytes(payload).finish();
}

export function encodeForwardRequest(req: ForwardRequest): Uint8Array {
  const w = new ByteWriter(1024);
  w.u8(Prefix.FORWARD_REQUEST);
  const code = METHODS.indexOf(req.method.toUpperCase());
  w.u8(code >= 0 ? code + 1 : METHOD_STORED);
  writeString(w, req.protocol);
  writeString(w, req.uri);
  writeString(w, req.remoteAddr);
  writeString(w, req.remoteHost);
  writeString(w, req.serverName);
  w.u16(req.serverPort);
  w.u8(req.isSsl ? 1 : 0);
  w.u16(req.headers.length);
  for (const [name, value] of req.headers) {
    const hc = REQUEST_HEADERS.indexOf(name.toLowerCase());
    if (hc >= 0) w.u16(0xa001 + hc);
    else writeString(w, name);
    writeString(w, value);
  }
  const attr = (c: number, v: string | undefined) => {
    if (v === undefined) return;
    w.u8(c);
    writeString(w, v);
  };
  attr(Attr.remote_user, req.remoteUser);
  attr(Attr.auth_type, req.authType);
  attr(Attr.query_string, req.queryString);
  attr(Attr.jvm_route, req.jvmRoute);
  attr(Attr.ssl_cipher, req.sslCipher);
  if (req.sslKeySize !== undefined) w.u8(Attr.ssl_key_size).u16(req.sslKeySize);
  for (const [n, v] of req.attributes) {
    w.u8(Attr.req_attribute);
    writeString(w, n);
    writeString(w, v);
  }
  attr(Attr.secret, req.secret);
  if (code < 0) attr(Attr.stored_method, req.method);
  w.u8(Attr.are_done);
  return packet(w.finish());
}

/** A body packet: the chunk's length then its bytes; an empty chunk ends the body. */
export function encodeBodyChunk(data: Uint8Array): Uint8Array {
  if (data.length > MAX_CHUNK) throw new ProtocolError(`an AJP body chunk holds at most ${MAX_CHUNK} bytes`);
  if (data.length === 0) return packet(new Uint8Array(0));
  return packet(new ByteWriter(data.length + 2).u16(data.length).bytes(data).finish());
}

export const CPING = packet(new Uint8Array([Prefix.CPING]));

export type ContainerMessage =
  | { type: 'headers'; status: number; reason: string; headers: [string, string][] }
  | { type: 'body'; data: Uint8Array }
  | { type: 'end'; reuse: boolean }
  | { type: 'getBody'; length: number }
  | { type: 'cpong' };

/** A packet from the container ("AB", length, payload), decoded; at most `maxPayload` bytes. */
export function containerFrame(maxPayload = 65535): Frame<ContainerMessage> {
  return (buf) => {
    if (buf.length >= 1 && buf[0] !== 0x41) throw notAjp(buf);
    if (buf.length >= 2 && buf[1] !== 0x42) throw notAjp(buf);
    if (buf.length < 4) return undefined;
    const length = (buf[2] << 8) | buf[3];
    if (length > maxPayload) throw new ProtocolError(`AJP packet of ${length} bytes exceeds ${maxPayload}`);
    if (length === 0) throw new ProtocolError('AJP packet with an empty payload has no message type');
    if (buf.length < 4 + length) return undefined;
    return { value: decodeContainerMessage(buf.subarray(4, 4 + length)), size: 4 + length };
  };
}

function notAjp(buf: Uint8Array): ProtocolError {
  const text = fromLatin1(buf.subarray(0, 16)).replace(/[^\x20-\x7e]/g, '.');
  return new ProtocolError(`not an AJP13 packet from a container (expected "AB"): ${JSON.stringify(text)}`);
}

export function decodeContainerMessage(payload: Uint8Array): ContainerMessage {
  const r = new ByteReader(payload);
  const type = r.u8('message type');
  switch (type) {
    case Prefix.SEND_HEADERS: {
      const status = r.u16('status');
      const reason = readString(r, 'status message') ?? '';
      const n = r.u16('num_headers');
      if (n > 1000) throw new ProtocolError(`AJP SEND_HEADERS with ${n} headers`);
      const headers: [string, string][] = [];
      for (let i = 0; i < n; i++) {
        const peek = r.u16('header name');
        let name: string;
        if ((peek & 0xff00) === 0xa000) {
          name = RESPONSE_HEADERS[(peek & 0xff) - 1];
          if (!name) throw new ProtocolError(`unknown AJP response header code 0x${peek.toString(16)}`);
        } else {
          r.offset -= 2;
          name = (readString(r, 'header name') ?? '').toLowerCase();
        }
        headers.push([name, readString(r, 'header value') ?? '']);
      }
      return { type: 'headers', status, reason, headers };
    }
    case Prefix.SEND_BODY_CHUNK: {
      const n = r.u16('chunk length');
      // Tomcat follows the data with a NUL; mod_jk ignores what is left.
      return { type: 'body', data: r.bytesN(n, 'chunk').slice() };
    }
    case Prefix.END_RESPONSE:
      return { type: 'end', reuse: r.remaining > 0 ? r.u8('reuse') === 1 : false };
    case Prefix.GET_BODY_CHUNK:
      return { type: 'getBody', length: r.u16('requested length') };
    case Prefix.CPONG:
      return { type: 'cpong' };
    default:
      throw new ProtocolError(`unknown AJP message type ${type} from the container`);
  }
}

export function describeMessage(m: ContainerMessage): string {
  switch (m.type) {
    case 'headers':
      return `SEND_HEADERS ${m.status} ${m.reason} (${m.headers.length} headers)`;
    case 'body':
      return `SEND_BODY_CHUNK ${m.data.length} bytes`;
    case 'end':
      return `END_RESPONSE reuse=${m.reuse}`;
    case 'getBody':
      return `GET_BODY_CHUNK ${m.length} bytes`;
    case 'cpong':
      return 'CPONG';
  }
}

/** Test helper and transcript aid: a container packet from a payload. */
export function containerPacket(payload: Uint8Array): Uint8Array {
  return new ByteWriter(payload.length + 4).u8(0x41).u8(0x42).u16(payload.length).bytes(payload).finish();
}

export function encodeSendHeaders(status: number, reason: string, headers: [string, string][]): Uint8Array {
  const w = new ByteWriter(256).u8(Prefix.SEND_HEADERS).u16(status);
  writeString(w, reason);
  w.u16(headers.length);
  for (const [n, v] of headers) {
    const c = RESPONSE_HEADERS.indexOf(n.toLowerCase());
    if (c >= 0) w.u16(0xa001 + c);
    else writeString(w, n);
    writeString(w, v);
  }
  return containerPacket(w.finish());
}

/** Reads a Forward Request back (for tests: what a container sees). */
export function decodeForwardRequest(p: Uint8Array): Omit<ForwardRequest, 'attributes'> & { attributes: [string, string][]; codes: number[] } {
  const r = new ByteReader(p);
  if (r.u16('magic') !== 0x1234) throw new ProtocolError('not a web-server AJP packet');
  r.u16('length');
  if (r.u8('type') !== Prefix.FORWARD_REQUEST) throw new ProtocolError('not a Forward Request');
  const m = r.u8('method');
  const protocol = readString(r, 'protocol') ?? '';
  const uri = readString(r, 'req_uri') ?? '';
  const remoteAddr = readString(r, 'remote_addr') ?? '';
  const remoteHost = readString(r, 'remote_host');
  const serverName = readString(r, 'server_name') ?? '';
  const serverPort = r.u16('server_port');
  const isSsl = r.u8('is_ssl') === 1;
  const n = r.u16('num_headers');
  const headers: [string, string][] = [];
  for (let i = 0; i < n; i++) {
    const peek = r.u16('header name');
    let name: string;
    if ((peek & 0xff00) === 0xa000) name = REQUEST_HEADERS[(peek & 0xff) - 1];
    else {
      r.offset -= 2;
      name = readString(r, 'header name') ?? '';
    }
    headers.push([name, readString(r, 'header value') ?? '']);
  }
  const out: ReturnType<typeof decodeForwardRequest> = { method: m === METHOD_STORED ? '' : METHODS[m - 1], protocol, uri, remoteAddr, remoteHost, serverName, serverPort, isSsl, headers, attributes: [], codes: [] };
  for (;;) {
    const c = r.u8('attribute code');
    out.codes.push(c);
    if (c === Attr.are_done) break;
    if (c === Attr.req_attribute) out.attributes.push([readString(r, 'name') ?? '', readString(r, 'value') ?? '']);
    else if (c === Attr.ssl_key_size) out.sslKeySize = r.u16('ssl_key_size');
    else {
      const v = readString(r, 'attribute') ?? '';
      if (c === Attr.query_string) out.queryString = v;
      else if (c === Attr.secret) out.secret = v;
      else if (c === Attr.remote_user) out.remoteUser = v;
      else if (c === Attr.stored_method) out.method = v;
    }
  }
  return out;
}
