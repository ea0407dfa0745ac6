// POP3 session, RFC 1939: AUTHORIZATION (USER/PASS, APOP), TRANSACTION (STAT, LIST, UIDL, TOP, RETR, DELE, RSET),
// UPDATE on QUIT; CAPA (RFC 2449) and its PIPELINING, STLS (RFC 2595 4), AUTH with SASL (RFC 5034).
//
// How it works: a command gets one status line; the commands that answer with a body
// (CAPA, LIST, UIDL, TOP, RETR without an argument or with one) read it with a fresh
// `multilineFrame` after a "+OK". "-ERR" becomes ServerError (AuthError while logging in).
import { fromBase64, toBase64, toHex, utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, InvalidInput, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { saslClient, type SaslCredentials, type SaslMechanismName } from '../mail/sasl.ts';
import { multilineFrame, parseCapa, replyFrame, type Reply, type Status } from './codec.ts';

function describe(r: Reply): string {
  if (r.kind === 'continuation') return `+ ${r.text}`;
  return `${r.ok ? '+OK' : '-ERR'}${r.code ? ` [${r.code}]` : ''} ${r.text}`;
}

export function statusText(s: Status): string {
  return `${s.ok ? '+OK' : '-ERR'}${s.code ? ` [${s.code}]` : ''} ${s.text}`.trim();
}

export function errorFor(what: string, s: Status): ServerError {
  return new ServerError(`${what} failed: ${statusText(s)}`, { code: s.code, text: s.text });
}

/** Commands per pipelined write: enough to save round trips, few enough that replies never fill both TCP windows. */
export const PIPELINE_BATCH = 32;

export class Pop3Session {
  greeting: Status | null = null;
  capabilities: Record<string, string[]> | null = null;

  constructor(readonly conn: Conn) {}

  async reply(what = 'POP3 reply'): Promise<Reply> {
    return this.conn.readFrame(replyFrame, what, describe);
  }

  async status(what = 'POP3 reply'): Promise<Status> {
    const r = await this.reply(what);
    if (r.kind !== 'status') throw new ProtocolError(`POP3 server sent a continuation where a status was expected: + ${r.text.slice(0, 60)}`);
    return r;
  }

  async command(line: string, decode = line): Promise<Status> {
    await this.conn.write(`${line}\r\n`, { decode });
    return this.status();
  }

  /** A command that must succeed. */
  async ok(line: string, what = line.split(' ')[0]): Promise<Status> {
    const s = await this.command(line);
    if (!s.ok) throw errorFor(what, s);
    return s;
  }

  async body(what: string): Promise<Uint8Array> {
    return this.conn.readFrame(multilineFrame(), what, (b) => `${what} (${b.length} bytes)`);
  }

  /** A command answered with "+OK" and a multi-line body. */
  async multi(line: string, what = line.split(' ')[0]): Promise<{ status: Status; body: Uint8Array }> {
    const status = await this.ok(line, what);
    return { status, body: await this.body(what) };
  }

  /**
   * Several commands, each answered by a status (and, with `multi`, a body after "+OK"). With RFC 2449 6.6 PIPELINING
   * (when CAPA lists it and `use` allows) they go out in writes of up to PIPELINE_BATCH commands and the replies are
   * read in order; otherwise one command per round trip. Returns each reply, and whether commands were pipelined.
   */
  async pipeline(lines: string[], multi: boolean, use = true): Promise<{ replies: { status: Status; body: Uint8Array | null }[]; pipelined: boolean }> {
    const pipelined = use && this.has('PIPELINING') && lines.length > 1;
    const replies: { status: Status; body: Uint8Array | null }[] = [];
    const readOne = async (line: string) => {
      const what = line.split(' ')[0];
      const status = await this.status(`reply to ${what}`);
      replies.push({ status, body: multi && status.ok ? await this.body(what) : null });
    };
    for (let at = 0; at < lines.length; at += pipelined ? PIPELINE_BATCH : 1) {
      const batch = lines.slice(at, at + (pipelined ? PIPELINE_BATCH : 1));
      await this.conn.write(batch.map((l) => `${l}\r\n`).join(''), { decode: batch.join(' | ') });
      for (const line of batch) await readOne(line);
    }
    return { replies, pipelined };
  }

  /** RFC 1939 4: "+OK" greeting; "-ERR" means the server will not talk. */
  async readGreeting(): Promise<Status> {
    const s = await this.status('greeting');
    if (!s.ok) throw errorFor('the server refused the session', s);
    this.greeting = s;
    return s;
  }

  /** RFC 2449 5 CAPA; null when the server does not know it. */
  async capa(): Promise<Record<string, string[]> | null> {
    const s = await this.command('CAPA');
    this.capabilities = s.ok ? parseCapa(await this.body('CAPA')) : null;
    return this.capabilities;
  }

  has(cap: string): boolean {
    return this.capabilities !== null && cap.toUpperCase() in this.capabilities;
  }

  saslMechanisms(): string[] {
    return (this.capabilities?.SASL ?? []).map((m) => m.toUpperCase());
  }

  /** RFC 2595 4: STLS, "+OK", handshake; CAPA again (the old list is void). */
  async stls(): Promise<void> {
    if (this.capabilities !== null && !this.has('STLS')) throw new PortolanError('tls_error', 'the server does not offer STLS (not in CAPA)');
    const s = await this.command('STLS');
    if (!s.ok) throw errorFor('STLS', s);
    await this.conn.startTls();
    this.capabilities = null;
    await this.capa();
  }

  /** RFC 1939 7: USER then PASS. */
  async userPass(username: string, password: string): Promise<void> {
    const u = await this.command(`USER ${oneLine(username, 'username')}`);
    if (!u.ok) throw new AuthError(`USER failed: ${statusText(u)}`, { code: u.code, text: u.text });
    await this.conn.write(`PASS ${oneLine(password, 'password')}\r\n`, { secret: true, decode: 'PASS ****' });
    const p = await this.status();
    if (!p.ok) throw new AuthError(`PASS failed: ${statusText(p)}`, { code: p.code, text: p.text });
  }

  /** RFC 1939 7: APOP name md5-hex(timestamp + secret). */
  async apop(username: string, password: string, crypto: CryptoPort): Promise<void> {
    const ts = this.greeting ? /<[^<>\s]*@[^<>\s]*>/.exec(this.greeting.text)?.[0] : undefined;
    if (!ts) throw new AuthError('the greeting has no APOP timestamp: the server does not offer APOP');
    const digest = toHex(crypto.md5(utf8(ts + password)));
    const line = `APOP ${oneLine(username, 'username')} ${digest}`;
    await this.conn.write(`${line}\r\n`, { secret: true, decode: `APOP ${username} ****` });
    const s = await this.status();
    if (!s.ok) throw new AuthError(`APOP failed: ${statusText(s)}`, { code: s.code, text: s.text });
  }

  /** RFC 5034 4: AUTH mechanism [initial-response], "+ challenge" rounds, "+OK". */
  async auth(mechanism: SaslMechanismName, creds: SaslCredentials, crypto: CryptoPort): Promise<void> {
    const sasl = saslClient(mechanism, creds, crypto);
    const initial = sasl.initial();
    const line = initial === null ? `AUTH ${mechanism}` : `AUTH ${mechanism} ${initial.length === 0 ? '=' : toBase64(initial)}`;
    await this.conn.write(`${line}\r\n`, initial === null ? { decode: line } : { secret: true, decode: `AUTH ${mechanism} ****` });
    for (let round = 0; round < 8; round++) {
      const r = await this.reply();
      if (r.kind === 'status') {
        if (r.ok) return sasl.complete?.();
        throw new AuthError(`AUTH ${mechanism} failed: ${statusText(r)}`, { code: r.code, text: r.text });
      }
      let challenge: Uint8Array;
      try {
        challenge = fromBase64(r.text.trim());
      } catch {
        await this.conn.write('*\r\n', { decode: '* (cancel)' });
        throw new ProtocolError(`AUTH ${mechanism}: the challenge is not base64`);
      }
      await this.conn.write(`${toBase64(await sasl.respond(challenge))}\r\n`, { secret: true, decode: '(SASL response) ****' });
    }
    throw new ProtocolError(`AUTH ${mechanism}: more than 8 challenges`);
  }

  /** QUIT: enters UPDATE (deletions happen now); the server's answer is returned. */
  async quit(): Promise<Status | null> {
    try {
      return await this.command('QUIT');
    } catch (e) {
      if (e instanceof PortolanError && (e.code === 'closed' || e.code === 'protocol_error')) return null;
      throw e;
    }
  }
}

function oneLine(s: string, field: string): string {
  if (/[\r\n\0]/.test(s)) throw InvalidInput.field(field, 'must not contain CR, LF or NUL');
  return s;
}

