// SSDP, UPnP Device Architecture 2.0 §1.3.2 (M-SEARCH request) and §1.3.3 (search response): HTTP-shaped
// messages over UDP ("HTTPU"), one per datagram.
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import { ProtocolError } from '../../core/errors.ts';

export const SSDP_GROUP = '239.255.255.250';
export const SSDP_PORT = 1900;

export interface SearchRequest {
  /** Search target: ssdp:all, upnp:rootdevice, uuid:..., urn:...:device:...:v. */
  st: string;
  /** Seconds a responder may wait before answering (multicast only, 1–5). */
  mx?: number;
  host: string;
  userAgent?: string;
}

/** UDA §1.3.2: MAN "ssdp:discover"; MX only in multicast searches (a unicast search leaves it out). */
export function encodeSearch(r: SearchRequest): Uint8Array {
  const lines = ['M-SEARCH * HTTP/1.1', `HOST: ${r.host}`, 'MAN: "ssdp:discover"'];
  if (r.mx !== undefined) lines.push(`MX: ${r.mx}`);
  lines.push(`ST: ${r.st}`);
  if (r.userAgent) lines.push(`USER-AGENT: ${r.userAgent}`);
  lines.push('', '');
  return utf8(lines.join('\r\n'));
}

export interface SearchResponse {
  status: number;
  headers: Record<string, string>;
  st: string | null;
  usn: string | null;
  location: string | null;
  server: string | null;
  /** CACHE-CONTROL max-age, seconds. */
  maxAge: number | null;
}

const MAX_HEADERS = 64;

/** A search response; NOTIFY announcements and anything not HTTP-shaped are protocol errors. */
export function decodeResponse(bytes: Uint8Array): SearchResponse {
  if (bytes.length > 8192) throw new ProtocolError(`SSDP datagram of ${bytes.length} bytes`);
  const lines = fromLatin1(bytes).split(/\r?\n/);
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]);
  if (!m) throw new ProtocolError(`not an SSDP search response: ${JSON.stringify(lines[0].slice(0, 60))}`);
  const headers: Record<string, string> = {};
  let count = 0;
  for (const line of lines.slice(1)) {
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ProtocolError(`SSDP header without a colon: ${JSON.stringify(line.slice(0, 60))}`);
    if (++count > MAX_HEADERS) throw new ProtocolError(`more than ${MAX_HEADERS} SSDP headers`);
    headers[line.slice(0, colon).trim().toUpperCase()] = line.slice(colon + 1).trim();
  }
  const age = /max-age\s*=\s*(\d+)/i.exec(headers['CACHE-CONTROL'] ?? '');
  return {
    status: Number(m[1]),
    headers,
    st: headers.ST ?? null,
    usn: headers.USN ?? null,
    location: headers.LOCATION ?? null,
    server: headers.SERVER ?? null,
    maxAge: age ? Number(age[1]) : null,
  };
}

/** Is this datagram an announcement (NOTIFY) rather than an answer? Those are skipped while collecting. */
export function isNotify(bytes: Uint8Array): boolean {
  return fromLatin1(bytes.subarray(0, 7)) === 'NOTIFY ';
}
