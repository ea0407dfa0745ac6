// SIP messages, RFC 3261 §7 (message format), §20 (headers, with the compact forms of §7.3.3) and §18.3
// (stream framing by Content-Length); OPTIONS, §11.
import { fromLatin1, indexOf, utf8 } from '../../core/bytes.ts';
import type { Frame } from '../../core/conn.ts';
import { ProtocolError } from '../../core/errors.ts';

/** RFC 3261 §7.3.3 compact header names. */
const COMPACT: Record<string, string> = { v: 'Via', f: 'From', t: 'To', i: 'Call-ID', m: 'Contact', l: 'Content-Length', c: 'Content-Type', k: 'Supported', s: 'Subject', e: 'Content-Encoding', o: 'Event', u: 'Allow-Events' };

export interface SipResponse {
  version: string;
  status: number;
  reason: string;
  headers: [string, string][];
  body: string;
}

const MAX_HEADERS = 100;
const MAX_MESSAGE = 64 * 1024;
const CRLFCRLF = utf8('\r\n\r\n');

export interface OptionsRequest {
  uri: string;
  transport: 'UDP' | 'TCP';
  viaHost: string;
  branch: string;
  fromTag: string;
  callId: string;
  cseq: number;
  toUri: string;
  fromUri: string;
}

/** An OPTIONS request (RFC 3261 §11.1): the mandatory headers of §8.1.1 and Accept: application/sdp. */
export function encodeOptions(r: OptionsRequest): Uint8Array {
  const lines = [
    `OPTIONS ${r.uri} SIP/2.0`,
    // §8.1.1.7: the branch starts with the magic cookie z9hG4bK; rport asks for the reply to the source port (RFC 3581).
    `Via: SIP/2.0/${r.transport} ${r.viaHost};branch=z9hG4bK${r.branch}${r.transport === 'UDP' ? ';rport' : ''}`,
    'Max-Forwards: 70',
    `To: <${r.toUri}>`,
    `From: <${r.fromUri}>;tag=${r.fromTag}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} OPTIONS`,
    `Contact: <${r.fromUri}>`,
    'Accept: application/sdp',
    'User-Agent: Portolan',
    'Content-Length: 0',
    '',
    '',
  ];
  return utf8(lines.join('\r\n'));
}

function canonical(name: string): string {
  const lower = name.toLowerCase();
  if (COMPACT[lower] && name.length === 1) return COMPACT[lower];
  return name.replace(/(^|-)([a-z])/g, (_, d: string, c: string) => d + c.toUpperCase());
}

function parseHead(text: string): { status: number; reason: string; version: string; headers: [string, string][] } {
  const lines = text.split('\r\n');
  const m = /^(SIP\/\d\.\d) (\d{3}) ?(.*)$/.exec(lines[0]);
  if (!m) throw new ProtocolError(`not a SIP response status line: ${JSON.stringify(lines[0].slice(0, 80))}`);
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    // §7.3.1: a line starting with whitespace continues the previous header.
    if (/^[ \t]/.test(line) && headers.length) {
      headers[headers.length - 1][1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ProtocolError(`SIP header without a colon: ${JSON.stringify(line.slice(0, 80))}`);
    if (headers.length >= MAX_HEADERS) throw new ProtocolError(`more than ${MAX_HEADERS} SIP headers`);
    headers.push([canonical(line.slice(0, colon).trim()), line.slice(colon + 1).trim()]);
  }
  return { version: m[1], status: Number(m[2]), reason: m[3], headers };
}

export function header(r: Pick<SipResponse, 'headers'>, name: string): string | undefined {
  return r.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/** A whole datagram (§18.3: over UDP the Content-Length may be absent; the body runs to the end). */
export function decodeResponse(bytes: Uint8Array): SipResponse {
  if (bytes.length > MAX_MESSAGE) throw new ProtocolError(`SIP message of ${bytes.length} bytes`);
  const end = indexOf(bytes, CRLFCRLF);
  if (end < 0) throw new ProtocolError('SIP message without the blank line that ends the headers');
  const head = parseHead(fromLatin1(bytes.subarray(0, end)));
  const rest = bytes.subarray(end + 4);
  const declared = header(head, 'Content-Length');
  const n = declared === undefined ? rest.length : Number(declared);
  if (!Number.isInteger(n) || n < 0 || n > rest.length) throw new ProtocolError(`SIP Content-Length ${declared} does not fit the ${rest.length} bytes after the headers`);
  return { ...head, body: fromLatin1(rest.subarray(0, n)) };
}

/** Stream framing (§18.3): headers to the blank line, then exactly Content-Length bytes (required over TCP). */
export const sipFrame: Frame<SipResponse> = (buf) => {
  // Keep-alive CRLFs between messages (RFC 5626 §3.5.1) are skipped.
  let start = 0;
  while (start + 1 < buf.length && buf[start] === 0x0d && buf[start + 1] === 0x0a) start += 2;
  const end = indexOf(buf, CRLFCRLF, start);
  if (end < 0) {
    if (buf.length - start > MAX_MESSAGE) throw new ProtocolError(`SIP headers longer than ${MAX_MESSAGE} bytes`);
    return undefined;
  }
  const head = parseHead(fromLatin1(buf.subarray(start, end)));
  const declared = header(head, 'Content-Length');
  if (declared === undefined) throw new ProtocolError('SIP over a stream without Content-Length (RFC 3261 §18.3 requires it)');
  const n = Number(declared);
  if (!Number.isInteger(n) || n < 0 || n > MAX_MESSAGE) throw new ProtocolError(`SIP Content-Length ${declared}`);
  if (buf.length < end + 4 + n) return undefined;
  return { value: { ...head, body: fromLatin1(buf.subarray(end + 4, end + 4 + n)) }, size: end + 4 + n };
};

export function describeResponse(r: SipResponse): string {
  return `${r.version} ${r.status} ${r.reason} (${header(r, 'CSeq') ?? '?'})`;
}

/** Comma-separated header values (Allow, Supported, Accept). */
export function list(value: string | undefined): string[] {
  return value ? value.split(',').map((s) => s.trim()).filter(Boolean) : [];
}
