// HTTP proxy driver over a Conn: CONNECT and its answer. A 2xx turns the connection into a tunnel
// (RFC 9110 section 9.3.6); 407 is the proxy asking for (other) credentials; anything else is the
// proxy refusing the target, shown with its status, reason and error fields.
import type { Conn, ProxyGrant } from '../../core/conn.ts';
import { AuthError, PortolanError } from '../../core/errors.ts';
import { describeHead, fieldValue, responseHeadFrame, type ResponseHead } from '../http/codec.ts';
import { authority, encodeConnect, parseChallenge, proxyFields } from './codec.ts';

export interface ConnectAnswer extends ProxyGrant {
  head: Omit<ResponseHead, 'raw'>;
}

/** A 407 (RFC 9110 section 15.5.8): the proxy asking for credentials, or refusing the ones given, with its challenge. */
export function proxyAuthRefusal(head: Pick<ResponseHead, 'status' | 'reason' | 'headers'>, username: string | undefined): AuthError {
  const reply = `${head.status} ${head.reason}`.trim();
  const challenge = fieldValue(head.headers, 'proxy-authenticate');
  const c = challenge ? parseChallenge(challenge) : undefined;
  const asked = c ? ` (it asks for ${c.scheme}${c.realm !== undefined ? ` in realm "${c.realm}"` : ''})` : '';
  const why = username === undefined ? `the HTTP proxy requires authentication${asked}: give username and password` : `the HTTP proxy refused the credentials for ${username}${asked}`;
  return new AuthError(`${why}: ${reply}`, { status: head.status, reason: head.reason, headers: proxyFields(head.headers) });
}

export async function httpConnect(conn: Conn, host: string, port: number, username?: string, password?: string): Promise<ConnectAnswer> {
  const target = authority(host, port);
  await conn.write(encodeConnect(host, port, username, password), {
    secret: username !== undefined,
    decode: `CONNECT ${target} HTTP/1.1${username !== undefined ? ` (Proxy-Authorization: Basic ${username}:****)` : ''}`,
  });
  const { raw: _raw, ...head } = await conn.readFrame(responseHeadFrame(), 'HTTP proxy response', describeHead);
  const reply = `${head.status} ${head.reason}`.trim();
  const detail = { status: head.status, reason: head.reason, headers: proxyFields(head.headers) };
  if (head.status === 407) throw proxyAuthRefusal(head, username);
  if (head.status < 200 || head.status > 299) {
    const squid = fieldValue(head.headers, 'x-squid-error');
    throw new PortolanError('refused', `the HTTP proxy refused CONNECT ${target}: ${reply}${squid ? ` (${squid})` : ''}`, detail);
  }
  return { proxy: `${conn.host}:${conn.port}`, reply, headers: head.headers, head };
}
