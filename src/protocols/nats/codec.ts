// NATS client protocol (docs.nats.io "Client Protocol"; ADR-4 message headers "NATS/1.0"): server operations decoded from bytes, client operations encoded.
//
// How it works: every server operation is a control line (`INFO {...}`, `MSG subject sid [reply] size`,
// `HMSG subject sid [reply] hdrSize totalSize`, `PING`, `PONG`, `+OK`, `-ERR 'text'`), and MSG/HMSG
// are followed by exactly `size` bytes and CRLF. `serverOpFrame` reads one operation from the bytes
// buffered so far: it waits for the control line, checks every size against the caps before waiting
// for (or allocating) the payload, and throws ProtocolError naming the field for wrong bytes.
import { concat, fromLatin1, fromUtf8, indexOf, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

const CRLF = utf8('\r\n');

/** Server INFO (docs.nats.io "INFO"): the fields Portolan reads; everything else is kept as sent. */
export interface ServerInfo {
  server_id?: string;
  server_name?: string;
  version?: string;
  go?: string;
  host?: string;
  port?: number;
  proto?: number;
  headers?: boolean;
  max_payload?: number;
  auth_required?: boolean;
  tls_required?: boolean;
  tls_available?: boolean;
  tls_verify?: boolean;
  jetstream?: boolean;
  nonce?: string;
  cluster?: string;
  domain?: string;
  client_id?: number;
  client_ip?: string;
  connect_urls?: string[];
  ldm?: boolean;
  [key: string]: unknown;
}

/** Message headers: names in the case they were sent, each with every value (ADR-4). */
export interface NatsHeaders {
  /** The status code of a status message (`NATS/1.0 503`): 503 no responders, 404/408/409 JetStream pull status. */
  status?: number;
  description?: string;
  fields: [string, string][];
}

export type ServerOp =
  | { op: 'INFO'; info: ServerInfo }
  | { op: 'MSG'; subject: string; sid: number; reply?: string; headers?: NatsHeaders; payload: Uint8Array }
  | { op: 'PING' }
  | { op: 'PONG' }
  | { op: 'OK' }
  | { op: 'ERR'; message: string };

export type ServerMsg = ServerOp & { op: 'MSG' };

export interface NatsLimits {
  /** Longest control line accepted (INFO included). */
  maxControlLine: number;
  /** Largest message (headers and payload) accepted. */
  maxPayload: number;
  /** Most header fields in one message. */
  maxHeaders: number;
}

export const DEFAULT_LIMITS: NatsLimits = { maxControlLine: 64 * 1024, maxPayload: 64 * 1024 * 1024, maxHeaders: 1024 };

function size(token: string | undefined, field: string, max: number): number {
  if (token === undefined || !/^\d{1,15}$/.test(token)) throw new ProtocolError(`${field} is not a size: ${JSON.stringify(token ?? '')}`);
  const n = Number(token);
  if (n > max) throw new ProtocolError(`${field} ${n} exceeds the ${max}-byte limit`);
  return n;
}

/** Reads one server operation; undefined when more bytes are needed. */
export function serverOpFrame(limits: Partial<NatsLimits> = {}): Frame<ServerOp> {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  return (buf) => {
    const nl = buf.indexOf(0x0a);
    if (nl === -1) {
      if (buf.length > lim.maxControlLine + 1) throw new ProtocolError(`control line longer than ${lim.maxControlLine} bytes`);
      return undefined;
    }
    const end = nl > 0 && buf[nl - 1] === 0x0d ? nl - 1 : nl;
    if (end > lim.maxControlLine) throw new ProtocolError(`control line longer than ${lim.maxControlLine} bytes`);
    const lineBytes = buf.subarray(0, end);
    const sp = lineBytes.findIndex((b) => b === 0x20 || b === 0x09);
    const verb = fromLatin1(sp === -1 ? lineBytes : lineBytes.subarray(0, sp)).toUpperCase();
    const restBytes = sp === -1 ? new Uint8Array(0) : lineBytes.subarray(sp + 1);
    const lineSize = nl + 1;
    switch (verb) {
      case 'PING':
        return { value: { op: 'PING' }, size: lineSize };
      case 'PONG':
        return { value: { op: 'PONG' }, size: lineSize };
      case '+OK':
        return { value: { op: 'OK' }, size: lineSize };
      case '-ERR': {
        const text = fromUtf8(restBytes).trim();
        return { value: { op: 'ERR', message: text.replace(/^'(.*)'$/s, '$1') }, size: lineSize };
      }
      case 'INFO': {
        let info: unknown;
        try {
          info = JSON.parse(fromUtf8(restBytes, true, 'INFO'));
        } catch (e) {
          throw e instanceof ProtocolError ? e : new ProtocolError('INFO is not a JSON object');
        }
        if (!info || typeof info !== 'object' || Array.isArray(info)) throw new ProtocolError('INFO is not a JSON object');
        return { value: { op: 'INFO', info: info as ServerInfo }, size: lineSize };
      }
      case 'MSG':
      case 'HMSG': {
        const args = fromUtf8(restBytes, true, `${verb} subject`).trim().split(/[ \t]+/);
        const withHeaders = verb === 'HMSG';
        const fixed = withHeaders ? 4 : 3;
        if (args.length !== fixed && args.length !== fixed + 1) throw new ProtocolError(`${verb} has ${args.length} arguments, expected ${fixed} or ${fixed + 1}`);
        const [subject, sidText] = args;
        const reply = args.length === fixed + 1 ? args[2] : undefined;
        const total = size(args[args.length - 1], `${verb} ${withHeaders ? 'total size' : 'payload size'}`, lim.maxPayload);
        const hdrSize = withHeaders ? size(args[args.length - 2], 'HMSG header size', total) : 0;
        if (!/^\d{1,15}$/.test(sidText)) throw new ProtocolError(`${verb} sid is not a number: ${JSON.stringify(sidText)}`);
        if (buf.length < lineSize + total + 2) return undefined;
        const body = buf.subarray(lineSize, lineSize + total);
        if (buf[lineSize + total] !== 0x0d || buf[lineSize + total + 1] !== 0x0a) throw new ProtocolError(`${verb} payload is not followed by CRLF`);
        const msg: ServerMsg = { op: 'MSG', subject, sid: Number(sidText), payload: body.slice(hdrSize) };
        if (reply !== undefined) msg.reply = reply;
        if (withHeaders) msg.headers = decodeHeaders(body.subarray(0, hdrSize), lim.maxHeaders);
        return { value: msg, size: lineSize + total + 2 };
      }
      default:
        throw new ProtocolError(`unknown server operation ${JSON.stringify(verb.slice(0, 20))}`);
    }
  };
}

/** The header block of HMSG/HPUB: `NATS/1.0[ status[ description]]` CRLF, `Name: value` CRLF lines, CRLF. */
export function decodeHeaders(block: Uint8Array, maxHeaders = DEFAULT_LIMITS.maxHeaders): NatsHeaders {
  const lines: Uint8Array[] = [];
  let at = 0;
  for (;;) {
    const crlf = indexOf(block, CRLF, at);
    if (crlf === -1) {
      if (at !== block.length) throw new ProtocolError('header block does not end with CRLF');
      break;
    }
    lines.push(block.subarray(at, crlf));
    at = crlf + 2;
  }
  const first = lines.length ? fromUtf8(lines[0]) : '';
  const m = /^NATS\/1\.0(?:[ \t]+(\d{3})(?:[ \t]+(.*))?)?[ \t]*$/.exec(first);
  if (!m) throw new ProtocolError(`header block does not start with NATS/1.0: ${JSON.stringify(first.slice(0, 40))}`);
  const out: NatsHeaders = { fields: [] };
  if (m[1]) out.status = Number(m[1]);
  if (m[2]) out.description = m[2].trim();
  for (const line of lines.slice(1)) {
    if (line.length === 0) continue;
    if (out.fields.length >= maxHeaders) throw new ProtocolError(`more than ${maxHeaders} header fields`);
    const colon = line.indexOf(0x3a);
    if (colon <= 0) throw new ProtocolError(`header line has no name: ${JSON.stringify(fromUtf8(line).slice(0, 40))}`);
    out.fields.push([fromUtf8(line.subarray(0, colon)).trim(), fromUtf8(line.subarray(colon + 1)).trim()]);
  }
  return out;
}

/** Encodes a header block; names and values were checked by `headerProblem`. */
export function encodeHeaders(fields: readonly (readonly [string, string])[]): Uint8Array {
  let text = 'NATS/1.0\r\n';
  for (const [k, v] of fields) text += `${k}: ${v}\r\n`;
  return utf8(`${text}\r\n`);
}

/** The first value of a header, names compared without case. */
export function headerValue(h: NatsHeaders | undefined, name: string): string | undefined {
  const lower = name.toLowerCase();
  return h?.fields.find(([k]) => k.toLowerCase() === lower)?.[1];
}

// Client operations.

export interface ConnectOptions {
  verbose: boolean;
  pedantic: boolean;
  tls_required: boolean;
  name: string;
  lang: string;
  version: string;
  protocol: 1;
  headers: boolean;
  no_responders: boolean;
  echo: boolean;
  user?: string;
  pass?: string;
  auth_token?: string;
  nkey?: string;
  sig?: string;
  jwt?: string;
}

export function encodeConnect(opts: ConnectOptions): Uint8Array {
  return utf8(`CONNECT ${JSON.stringify(opts)}\r\n`);
}

export function encodePub(subject: string, payload: Uint8Array, opts: { reply?: string; headers?: readonly (readonly [string, string])[] } = {}): Uint8Array {
  const reply = opts.reply ? ` ${opts.reply}` : '';
  if (opts.headers && opts.headers.length > 0) {
    const h = encodeHeaders(opts.headers);
    return concat([utf8(`HPUB ${subject}${reply} ${h.length} ${h.length + payload.length}\r\n`), h, payload, CRLF]);
  }
  return concat([utf8(`PUB ${subject}${reply} ${payload.length}\r\n`), payload, CRLF]);
}

export function encodeSub(subject: string, sid: number, queue?: string): Uint8Array {
  return utf8(`SUB ${subject}${queue ? ` ${queue}` : ''} ${sid}\r\n`);
}

export function encodeUnsub(sid: number, max?: number): Uint8Array {
  return utf8(`UNSUB ${sid}${max !== undefined ? ` ${max}` : ''}\r\n`);
}

export const PING = utf8('PING\r\n');
export const PONG = utf8('PONG\r\n');

// Subjects (docs.nats.io "Subject-Based Messaging"): dot-separated tokens, `*` one token, `>` the rest.

const BAD_CHARS = /[\s\u0000]/;

/** Why `subject` cannot be published to (wildcards and empty tokens), or undefined. */
export function publishSubjectProblem(subject: string): string | undefined {
  if (subject.length === 0) return 'is empty';
  if (BAD_CHARS.test(subject)) return 'contains whitespace';
  for (const token of subject.split('.')) {
    if (token === '') return 'has an empty token (leading, trailing or doubled ".")';
    if (token.includes('*') || token.includes('>')) return 'contains a wildcard ("*" or ">"): a message is published to one concrete subject';
  }
  return undefined;
}

/** Why `subject` is not a valid subscription filter, or undefined. */
export function filterSubjectProblem(subject: string): string | undefined {
  if (subject.length === 0) return 'is empty';
  if (BAD_CHARS.test(subject)) return 'contains whitespace';
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '') return 'has an empty token (leading, trailing or doubled ".")';
    if (token === '>' && i !== tokens.length - 1) return 'has ">" before the last token: ">" matches the rest of a subject and must stand last';
    if (token !== '*' && token !== '>' && (token.includes('*') || token.includes('>'))) return `has a wildcard inside the token ${JSON.stringify(token)}: "*" and ">" must be whole tokens`;
  }
  return undefined;
}

/** A queue group name: no whitespace. */
export function queueProblem(queue: string): string | undefined {
  if (queue.length === 0) return 'is empty';
  if (BAD_CHARS.test(queue)) return 'contains whitespace';
  return undefined;
}

/** A header name (ADR-4: an HTTP-style token) or value (no CR or LF). */
export function headerProblem(name: string, value: string): string | undefined {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return `name ${JSON.stringify(name)} is not a token`;
  if (/[\r\n]/.test(value)) return `value of ${name} contains CR or LF`;
  return undefined;
}

/** One line for the transcript. */
export function describeServerOp(op: ServerOp): string {
  switch (op.op) {
    case 'INFO':
      return `INFO ${op.info.server_name ?? op.info.server_id ?? ''} v${op.info.version ?? '?'}${op.info.tls_required ? ' tls_required' : ''}${op.info.auth_required ? ' auth_required' : ''}${op.info.jetstream ? ' jetstream' : ''}`;
    case 'MSG':
      return `${op.headers ? 'HMSG' : 'MSG'} ${op.subject} sid ${op.sid}${op.reply ? ` reply ${op.reply}` : ''}${op.headers?.status ? ` status ${op.headers.status}${op.headers.description ? ` ${op.headers.description}` : ''}` : ''} ${op.payload.length} bytes`;
    case 'ERR':
      return `-ERR '${op.message}'`;
    case 'OK':
      return '+OK';
    default:
      return op.op;
  }
}
