// NNTP reader session, RFC 3977: greeting (200 posting allowed, 201 not), CAPABILITIES, MODE READER (5.3),
// STARTTLS (RFC 4642), AUTHINFO USER/PASS and AUTHINFO SASL (RFC 4643), multi-line blocks after the codes that
// announce one, POST with dot-stuffing (6.3.1).
//
// How it works: every command reads one status line; a caller that expects a block reads it with a fresh
// `multilineFrame` when the status is one of the codes that carry one. A status other than the expected one
// becomes ServerError with the server's own line (AuthError during AUTHINFO).
import { fromBase64, toBase64 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, InvalidInput, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { saslClient, type SaslMechanismName } from '../mail/sasl.ts';
import { dotStuff } from '../smtp/codec.ts';
import { multilineFrame, parseCapabilities, statusFrame, type Status } from './codec.ts';

/** Largest block read whole (an article, a group list). */
export const MAX_BLOCK = 32 * 1024 * 1024;

export function statusText(s: Status): string {
  return `${s.code} ${s.text}`.trim();
}

export function errorFor(what: string, s: Status): PortolanError {
  // RFC 4643 2.1: 480 authentication required, 481 rejected, 483 encryption required; RFC 3977 3.2.1: 502 not permitted.
  if (s.code === 480 || s.code === 481 || s.code === 483) return new AuthError(`${what}: ${statusText(s)}`, { code: s.code, text: s.text });
  return new ServerError(`${what} failed: ${statusText(s)}`, { code: s.code, text: s.text });
}

export class NntpSession {
  greeting: Status | null = null;
  capabilities: Record<string, string[]> | null = null;

  constructor(readonly conn: Conn) {}

  async status(what = 'NNTP reply'): Promise<Status> {
    return this.conn.readFrame(statusFrame, what, statusText);
  }

  async command(line: string, decode = line): Promise<Status> {
    if (/[\r\n\0]/.test(line)) throw InvalidInput.field('command', 'must not contain CR, LF or NUL');
    await this.conn.write(`${line}\r\n`, { decode });
    return this.status(`reply to ${line.split(' ')[0]}`);
  }

  /** A command that must answer one of `codes`. */
  async expect(line: string, codes: number[], what = line.split(' ')[0]): Promise<Status> {
    const s = await this.command(line);
    if (!codes.includes(s.code)) throw errorFor(what, s);
    return s;
  }

  async block(what: string): Promise<Uint8Array> {
    return this.conn.readFrame(multilineFrame(MAX_BLOCK), what, (b) => `${what} (${b.length} bytes)`);
  }

  /** A command answered by `code` and a block. */
  async multi(line: string, code: number, what = line.split(' ')[0]): Promise<{ status: Status; body: Uint8Array }> {
    const status = await this.expect(line, [code], what);
    return { status, body: await this.block(what) };
  }

  /** RFC 3977 5.1: 200 posting allowed, 201 not; 400 and 502 refuse the session. */
  async readGreeting(): Promise<Status> {
    const s = await this.status('greeting');
    if (s.code !== 200 && s.code !== 201) throw errorFor('the server refused the session', s);
    this.greeting = s;
    return s;
  }

  /** RFC 3977 5.2; null when the server does not know the command (an RFC 977 server). */
  async capabilitiesList(): Promise<Record<string, string[]> | null> {
    const s = await this.command('CAPABILITIES');
    this.capabilities = s.code === 101 ? parseCapabilities(await this.block('CAPABILITIES')) : null;
    return this.capabilities;
  }

  has(label: string, arg?: string): boolean {
    const args = this.capabilities?.[label.toUpperCase()];
    return args !== undefined && (arg === undefined || args.some((a) => a.toUpperCase() === arg.toUpperCase()));
  }

  /** RFC 3977 5.3: MODE READER on a mode-switching server; 200/201 like a greeting. */
  async modeReader(): Promise<Status> {
    const s = await this.expect('MODE READER', [200, 201]);
    this.greeting = s;
    return s;
  }

  /** RFC 4642: STARTTLS, 382, handshake; the capability list is void afterwards. */
  async startTls(): Promise<void> {
    if (this.capabilities !== null && !this.has('STARTTLS')) throw new PortolanError('tls_error', 'the server does not offer STARTTLS (not in CAPABILITIES)');
    const s = await this.command('STARTTLS');
    if (s.code !== 382) throw new PortolanError('tls_error', `STARTTLS refused: ${statusText(s)}`, { code: s.code, text: s.text });
    await this.conn.startTls();
    this.capabilities = null;
  }

  /** RFC 4643 2.3: AUTHINFO USER, 381, AUTHINFO PASS, 281 (or 281 straight after USER). */
  async userPass(username: string, password: string): Promise<void> {
    const u = await this.command(`AUTHINFO USER ${oneWord(username, 'username')}`);
    if (u.code === 281) return;
    if (u.code !== 381) throw new AuthError(`AUTHINFO USER: ${statusText(u)}`, { code: u.code, text: u.text });
    await this.conn.write(`AUTHINFO PASS ${oneLine(password, 'password')}\r\n`, { secret: true, decode: 'AUTHINFO PASS ****' });
    const p = await this.status('reply to AUTHINFO PASS');
    if (p.code !== 281) throw new AuthError(`AUTHINFO PASS: ${statusText(p)}`, { code: p.code, text: p.text });
  }

  /** RFC 4643 2.4: AUTHINFO SASL mechanism [initial-response], 383 challenges, 281 (or 283 with final data). */
  async sasl(mechanism: SaslMechanismName, username: string, password: string, crypto: CryptoPort): Promise<void> {
    const sasl = saslClient(mechanism, { username, password }, crypto);
    const initial = sasl.initial();
    const line = initial === null ? `AUTHINFO SASL ${mechanism}` : `AUTHINFO SASL ${mechanism} ${initial.length === 0 ? '=' : toBase64(initial)}`;
    await this.conn.write(`${line}\r\n`, initial === null ? { decode: line } : { secret: true, decode: `AUTHINFO SASL ${mechanism} ****` });
    for (let round = 0; round < 8; round++) {
      const r = await this.status('reply to AUTHINFO SASL');
      if (r.code === 281) return sasl.complete?.();
      if (r.code === 283) {
        await sasl.respond(fromBase64(r.text.trim()));
        return sasl.complete?.();
      }
      if (r.code !== 383) throw new AuthError(`AUTHINFO SASL ${mechanism}: ${statusText(r)}`, { code: r.code, text: r.text });
      let challenge: Uint8Array;
      try {
        challenge = fromBase64(r.text.trim() === '=' ? '' : r.text.trim());
      } catch {
        await this.conn.write('*\r\n', { decode: '* (cancel)' });
        throw new ProtocolError(`AUTHINFO SASL ${mechanism}: the challenge is not base64`);
      }
      const answer = await sasl.respond(challenge);
      await this.conn.write(`${answer.length === 0 ? '=' : toBase64(answer)}\r\n`, { secret: true, decode: '(SASL response) ****' });
    }
    throw new ProtocolError(`AUTHINFO SASL ${mechanism}: more than 8 challenges`);
  }

  /** RFC 3977 6.3.1: POST, 340, the article dot-stuffed, 240. */
  async post(article: Uint8Array): Promise<Status> {
    await this.expect('POST', [340]);
    await this.conn.write(dotStuff(article), { decode: `(article, ${article.length} bytes)` });
    const s = await this.status('reply to the article');
    if (s.code !== 240) throw errorFor('POST', s);
    return s;
  }

  async quit(): Promise<void> {
    try {
      await this.command('QUIT');
    } catch (e) {
      if (!(e instanceof PortolanError)) throw e;
    }
  }
}

function oneLine(s: string, field: string): string {
  if (/[\r\n\0]/.test(s)) throw InvalidInput.field(field, 'must not contain CR, LF or NUL');
  return s;
}

function oneWord(s: string, field: string): string {
  if (/[\s\0]/.test(s)) throw InvalidInput.field(field, 'must not contain spaces or control characters');
  return s;
}
