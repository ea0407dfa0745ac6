// Tor control session driver over a Conn: commands and their replies, asynchronous events kept aside,
// and authentication (control-spec sections 3.5, 3.21, 3.24): none, password, cookie and SAFECOOKIE.
import { equalBytes, fromHex } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, InvalidInput, PortolanError, ServerError } from '../../core/errors.ts';
import {
  SAFECOOKIE_CLIENT_KEY,
  SAFECOOKIE_SERVER_KEY,
  command,
  describeReply,
  hexArg,
  keywords,
  parseProtocolInfo,
  quote,
  replyFrame,
  safeCookieMessage,
  type ProtocolInfo,
  type Reply,
} from './codec.ts';

/** Status 650: an asynchronous event (section 4.1). */
export const EVENT = 650;
const MAX_QUEUED_EVENTS = 10_000;

export class TorControl {
  /** Events that arrived while a command waited for its reply, oldest first. */
  readonly events: Reply[] = [];

  constructor(readonly conn: Conn) {}

  /** The next reply of any kind, events included. */
  next(): Promise<Reply> {
    return this.conn.readFrame(replyFrame, 'Tor control reply', describeReply);
  }

  /** The next event: a queued one first. */
  async nextEvent(): Promise<Reply> {
    const queued = this.events.shift();
    if (queued) return queued;
    for (;;) {
      const r = await this.next();
      if (r.status === EVENT) return r;
    }
  }

  /** Sends a command and returns its reply (events arriving first are queued). */
  async send(line: Uint8Array, decode?: string, secret = false): Promise<Reply> {
    await this.conn.write(line, { decode, secret });
    for (;;) {
      const r = await this.next();
      if (r.status !== EVENT) return r;
      if (this.events.length >= MAX_QUEUED_EVENTS) this.events.shift();
      this.events.push(r);
    }
  }

  /** Sends a command and fails with the server's own words unless it answers 250. */
  async ok(line: Uint8Array, what: string, decode?: string): Promise<Reply> {
    const r = await this.send(line, decode);
    if (r.status !== 250) throw replyError(r, what);
    return r;
  }
}

/** A 5xx reply as the right outcome, with tor's words (section 4: 514 and 515 are authentication). */
export function replyError(r: Reply, what: string): PortolanError {
  const text = r.lines.map((l) => l.text).join('; ');
  const detail = { status: r.status, message: text };
  if (r.status === 514 || r.status === 515) return new AuthError(`tor refused ${what}: ${r.status} ${text}`, detail);
  return new ServerError(`tor answered ${what} with ${r.status} ${text}`, detail);
}

export async function protocolInfo(ctl: TorControl): Promise<ProtocolInfo> {
  return parseProtocolInfo(await ctl.ok(command('PROTOCOLINFO', '1'), 'PROTOCOLINFO'));
}

export type AuthMethod = 'auto' | 'null' | 'password' | 'cookie' | 'safecookie';

export interface AuthInput {
  auth: AuthMethod;
  password?: string;
  /** The 32-byte control cookie, hex. */
  cookie?: string;
}

function cookieBytes(hex: string | undefined): Uint8Array {
  if (!hex) throw InvalidInput.field('cookie', 'cookie and safecookie authentication need the cookie file’s 32 bytes as hex');
  let bytes: Uint8Array;
  try {
    bytes = fromHex(hex);
  } catch {
    throw InvalidInput.field('cookie', 'the cookie is hex: 64 hex digits');
  }
  if (bytes.length !== 32) throw InvalidInput.field('cookie', `the cookie is 32 bytes, not ${bytes.length}`);
  return bytes;
}

/** The method `auto` picks from what PROTOCOLINFO offers and what the input carries. */
export function chooseMethod(input: AuthInput, offered: string[]): Exclude<AuthMethod, 'auto'> {
  if (input.auth !== 'auto') return input.auth;
  if (input.cookie && offered.includes('SAFECOOKIE')) return 'safecookie';
  if (input.cookie && offered.includes('COOKIE')) return 'cookie';
  if (input.password !== undefined && offered.includes('HASHEDPASSWORD')) return 'password';
  if (offered.includes('NULL')) return 'null';
  throw new AuthError(`tor asks for ${offered.join(' or ') || 'an unknown method'}: give ${offered.includes('HASHEDPASSWORD') ? 'password' : 'cookie'}`, { offered });
}

/** PROTOCOLINFO, then AUTHENTICATE by the chosen method. Returns what PROTOCOLINFO said and the method used. */
export async function authenticate(ctl: TorControl, crypto: CryptoPort, input: AuthInput): Promise<{ info: ProtocolInfo; method: Exclude<AuthMethod, 'auto'> }> {
  const info = await protocolInfo(ctl);
  const method = chooseMethod(input, info.methods);
  let line: Uint8Array;
  let decode: string;
  if (method === 'null') {
    line = command('AUTHENTICATE');
    decode = 'AUTHENTICATE';
  } else if (method === 'password') {
    line = command('AUTHENTICATE', quote(input.password ?? ''));
    decode = 'AUTHENTICATE "****"';
  } else if (method === 'cookie') {
    line = command('AUTHENTICATE', hexArg(cookieBytes(input.cookie)));
    decode = 'AUTHENTICATE <cookie>';
  } else {
    const cookie = cookieBytes(input.cookie);
    const clientNonce = crypto.randomBytes(32);
    const challenge = await ctl.ok(command('AUTHCHALLENGE', 'SAFECOOKIE', hexArg(clientNonce)), 'AUTHCHALLENGE');
    const k = keywords(challenge.lines[0].text);
    if (!k.SERVERHASH || !k.SERVERNONCE) throw new ServerError(`tor's AUTHCHALLENGE reply lacks SERVERHASH or SERVERNONCE: ${challenge.lines[0].text}`);
    const serverNonce = fromHex(k.SERVERNONCE);
    const message = safeCookieMessage(cookie, clientNonce, serverNonce);
    // Section 3.24: the server proves it knows the cookie before we prove we do.
    const expected = await crypto.hmac('SHA-256', SAFECOOKIE_SERVER_KEY, message);
    if (!equalBytes(expected, fromHex(k.SERVERHASH))) {
      throw new PortolanError('untrusted_peer', 'tor’s SERVERHASH does not match the cookie given: this server does not know that cookie (wrong cookie, or another tor)', { serverHash: k.SERVERHASH });
    }
    line = command('AUTHENTICATE', hexArg(await crypto.hmac('SHA-256', SAFECOOKIE_CLIENT_KEY, message)));
    decode = 'AUTHENTICATE <SAFECOOKIE client hash>';
  }
  const r = await ctl.send(line, decode, method !== 'null');
  if (r.status !== 250) throw replyError(r, `AUTHENTICATE (${method})`);
  return { info, method };
}
