// SOCKS session driver over a Conn: SOCKS5 method negotiation, username/password sub-negotiation and
// CONNECT (RFC 1928, RFC 1929); SOCKS4 and SOCKS4a CONNECT. A refusal carries the proxy's reply code.
import type { Conn, ProxyGrant } from '../../core/conn.ts';
import { AuthError, PortolanError, ProtocolError } from '../../core/errors.ts';
import {
  COMMANDS,
  describeAddress,
  encodeGreeting,
  encodeRequest,
  encodeSocks4Request,
  encodeUserPass,
  methodName,
  methodSelectionFrame,
  socks4ReplyFrame,
  socks5ReplyFrame,
  socksAddress,
  userPassReplyFrame,
  type MethodSelection,
} from './codec.ts';

export interface Credentials {
  username?: string;
  password?: string;
}

const NO_AUTH = 0x00;
const USER_PASS = 0x02;
const NO_ACCEPTABLE = 0xff;

export async function greet(conn: Conn, methods: readonly number[]): Promise<MethodSelection> {
  await conn.write(encodeGreeting(methods), { decode: `SOCKS5 greeting: ${methods.map(methodName).join(', ')}` });
  return conn.readFrame(methodSelectionFrame, 'SOCKS5 method selection', (s) => `method selected: ${methodName(s.method)}`);
}

/** RFC 1929: the server's status 0 is success; anything else means the credentials were refused. */
export async function authenticate(conn: Conn, username: string, password: string): Promise<void> {
  await conn.write(encodeUserPass(username, password), { secret: true, decode: `username/password: ${username} ****` });
  const r = await conn.readFrame(userPassReplyFrame, 'SOCKS5 username/password reply', (x) => `authentication ${x.status === 0 ? 'succeeded' : `failed (status ${x.status})`}`);
  if (r.status !== 0) throw new AuthError(`the SOCKS5 proxy refused username/password for ${username} (status ${r.status})`, { status: r.status });
}

/** Negotiates a method (username/password when credentials are given) and authenticates; returns the method used. */
export async function negotiate(conn: Conn, creds: Credentials): Promise<number> {
  const offered = creds.username !== undefined ? [NO_AUTH, USER_PASS] : [NO_AUTH];
  const sel = await greet(conn, offered);
  if (sel.method === NO_ACCEPTABLE) {
    const why = creds.username !== undefined ? 'neither no authentication nor username/password' : 'no authentication (give username and password if it requires them)';
    throw new AuthError(`the SOCKS5 proxy accepts none of the methods offered: ${why}`, { offered: offered.map(methodName) });
  }
  if (!offered.includes(sel.method)) throw new ProtocolError(`the SOCKS5 proxy chose ${methodName(sel.method)}, which was not offered`);
  if (sel.method === USER_PASS) await authenticate(conn, creds.username!, creds.password ?? '');
  return sel.method;
}

function refusal(version: string, target: string, code: string, text: string, detail: Record<string, unknown>): PortolanError {
  return new PortolanError('refused', `the ${version} proxy refused ${target}: ${code} ${text}`, { ...detail, replyText: text });
}

/** SOCKS5 CONNECT to `host` (an IP literal goes as an address, anything else as a name for the proxy to resolve). */
export async function socks5Connect(conn: Conn, creds: Credentials, host: string, port: number): Promise<ProxyGrant & { method: number }> {
  const method = await negotiate(conn, creds);
  const dest = socksAddress(host);
  const target = describeAddress(dest, port);
  await conn.write(encodeRequest(COMMANDS.connect, dest, port), { decode: `CONNECT ${target}` });
  const r = await conn.readFrame(socks5ReplyFrame, 'SOCKS5 reply', (x) => `reply 0x${x.reply.toString(16).padStart(2, '0')} ${x.replyText}, bound ${describeAddress(x.bound, x.boundPort)}`);
  const code = `0x${r.reply.toString(16).padStart(2, '0')}`;
  if (r.reply !== 0) throw refusal('SOCKS5', target, code, r.replyText, { reply: r.reply });
  return { proxy: `${conn.host}:${conn.port}`, reply: `${code} ${r.replyText}`, bound: describeAddress(r.bound, r.boundPort), method };
}

/**
 * SOCKS4 CONNECT to an IPv4 address, or SOCKS4a to a name (`byName`): the proxy resolves it. The user id
 * is SOCKS4's only credential; servers that check it ask the client's identd.
 */
export async function socks4Connect(conn: Conn, userId: string, host: string, port: number, byName: boolean): Promise<ProxyGrant> {
  const dest = socksAddress(host);
  const version = byName ? 'SOCKS4a' : 'SOCKS4';
  const target = byName && dest.type === 'domain' ? { name: dest.name } : { address: dest.type === 'domain' ? dest.name : dest.address };
  await conn.write(encodeSocks4Request(COMMANDS.connect, target, port, userId), { decode: `${version} CONNECT ${host}:${port}${userId ? ` as ${userId}` : ''}` });
  const r = await conn.readFrame(socks4ReplyFrame, 'SOCKS4 reply', (x) => `reply ${x.reply} ${x.replyText}`);
  if (r.reply !== 90) throw refusal(version, `${host}:${port}`, String(r.reply), r.replyText, { reply: r.reply });
  return { proxy: `${conn.host}:${conn.port}`, reply: `${r.reply} ${r.replyText}`, bound: `${r.boundAddress}:${r.boundPort}` };
}
