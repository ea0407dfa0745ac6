// HTTP proxies: CONNECT (RFC 9110 section 9.3.6) in authority-form (RFC 9112 section 3.2.3), Basic proxy
// authentication (RFC 7617, RFC 9110 section 11.7), and the fields a proxy adds of its own (Via, RFC 9110
// section 7.6.3; X-Cache and friends, by convention). Message syntax is the http protocol's codec.
import { toBase64, utf8 } from '../../core/bytes.ts';
import { InvalidInput } from '../../core/errors.ts';
import { parseIp } from '../../core/ip.ts';
import { encodeRequestHead, type Field } from '../http/codec.ts';

/** host:port for a request target or Host field: IPv6 literals in brackets (RFC 3986 section 3.2.2). */
export function authority(host: string, port: number): string {
  const ip = parseIp(host);
  return ip?.family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** RFC 7617 section 2: Basic base64(user-id ":" password); the user id cannot hold a colon. */
export function basicCredentials(username: string, password: string): string {
  if (username.includes(':')) throw InvalidInput.field('username', 'a Basic user id cannot contain a colon (RFC 7617 section 2)');
  return `Basic ${toBase64(utf8(`${username}:${password}`))}`;
}

export function proxyAuthorization(username: string | undefined, password: string | undefined): Field[] {
  return username === undefined ? [] : [['Proxy-Authorization', basicCredentials(username, password ?? '')]];
}

/** A request head as sent, with the proxy credentials masked. */
export function maskedHead(head: string): string {
  return head.replace(/^(Proxy-Authorization: \S+ ).*$/im, '$1****');
}

/** CONNECT host:port HTTP/1.1, with Host (RFC 9112 section 3.2) and Proxy-Authorization when credentials are given. */
export function encodeConnect(host: string, port: number, username?: string, password?: string, extra: Field[] = []): Uint8Array {
  const target = authority(host, port);
  return encodeRequestHead({ method: 'CONNECT', target, headers: [['Host', target], ...proxyAuthorization(username, password), ...extra] });
}

/** Fields a proxy puts on a response of its own accord: what users look at to see which proxy answered and whether it cached. */
const PROXY_FIELDS = new Set(['via', 'x-cache', 'x-cache-lookup', 'x-cache-status', 'x-squid-error', 'proxy-agent', 'proxy-authenticate', 'proxy-connection', 'age', 'x-forwarded-for', 'forwarded', 'cache-status']);

export function proxyFields(headers: readonly Field[]): Field[] {
  return headers.filter(([name]) => PROXY_FIELDS.has(name));
}

/** The challenge of a 407 (RFC 9110 section 11.7.1): scheme and realm, e.g. `Basic realm="lab"`. */
export function parseChallenge(value: string): { scheme: string; realm?: string } {
  const m = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s+(.*))?$/.exec(value);
  if (!m) return { scheme: value.trim() };
  const realm = /realm="((?:[^"\\]|\\.)*)"/i.exec(m[2] ?? '')?.[1];
  return { scheme: m[1], realm: realm?.replace(/\\(.)/g, '$1') };
}
