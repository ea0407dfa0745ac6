// IMAP client session, RFC 9051 (and RFC 3501 servers): greeting, CAPABILITY, STARTTLS (6.2.1), LOGIN (6.2.3),
// AUTHENTICATE with SASL-IR (6.2.2, RFC 4959), tagged commands with synchronising and non-synchronising
// literals (4.3, RFC 7888), and the mailbox commands the operations use.
//
// How it works: `run()` tags a command, writes its text and literals (waiting for "+" before a
// synchronising literal), then reads responses until the tagged status arrives, collecting the
// untagged ones. A tagged NO/BAD becomes ServerError with the server's text (AuthError for
// LOGIN/AUTHENTICATE); the caller decides which untagged responses it needs.
import { fromBase64, fromLatin1, toBase64 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, InvalidInput, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { deflateLayer } from '../../core/inflate.ts';
import type { ByteSink } from '../../core/files.ts';
import { saslClient, type SaslCredentials, type SaslMechanismName } from '../mail/sasl.ts';
import { asString, astring, describeCommand, istring, joinParts, responseFrame, type CommandPart, type ImapResponse, type ResponseCode } from './codec.ts';

export type StatusResponse = Extract<ImapResponse, { kind: 'status' }>;
export type DataResponse = Extract<ImapResponse, { kind: 'data' }>;

export interface Completed {
  status: StatusResponse;
  data: DataResponse[];
  /** Untagged status responses (OK/NO/BAD/BYE with codes such as UIDVALIDITY). */
  notices: StatusResponse[];
}

export interface RunOptions {
  /** What the transcript shows for the command (secrets masked). */
  decode?: string;
  secret?: boolean;
  /** Answers a "+" continuation that is not a literal go-ahead (AUTHENTICATE, IDLE). */
  onContinuation?: (text: string) => Promise<void>;
}

/** Untagged responses kept per command; a mailbox of a million messages still fits. */
const MAX_UNTAGGED = 1_000_000;

export function describeResponse(r: ImapResponse): string {
  if (r.kind === 'continuation') return `+ ${r.text}`;
  if (r.kind === 'status') return `${r.tag} ${r.status}${r.code ? ` [${r.code.name}${r.code.text ? ` ${r.code.text}` : ''}]` : ''} ${r.text}`;
  return `* ${r.number !== null ? `${r.number} ` : ''}${r.name}${r.values.length ? ' …' : ''}`;
}

export function statusText(s: StatusResponse): string {
  return `${s.status}${s.code ? ` [${s.code.name}${s.code.text ? ` ${s.code.text}` : ''}]` : ''} ${s.text}`.trim();
}

export class ImapSession {
  capabilities = new Set<string>();
  /** COMPRESS=DEFLATE is active (RFC 4978). */
  compressed = false;
  greeting: StatusResponse | null = null;
  authenticated = false;
  private tagNo = 0;

  constructor(readonly conn: Conn) {}

  has(cap: string): boolean {
    return this.capabilities.has(cap.toUpperCase());
  }

  authMechanisms(): string[] {
    return [...this.capabilities].filter((c) => c.startsWith('AUTH=')).map((c) => c.slice(5));
  }

  async read(what = 'IMAP response'): Promise<ImapResponse> {
    return this.conn.readFrame(responseFrame, what, describeResponse);
  }

  private setCapabilities(list: string[]): void {
    this.capabilities = new Set(list.map((c) => c.toUpperCase()));
  }

  /** A CAPABILITY response code on a status line replaces the known capabilities. */
  private noteCode(code: ResponseCode | null): void {
    if (code?.name === 'CAPABILITY') this.setCapabilities(code.text.split(/\s+/).filter(Boolean));
  }

  /** RFC 9051 7.1: the greeting is OK, PREAUTH or BYE. */
  async readGreeting(): Promise<StatusResponse> {
    const r = await this.read('greeting');
    if (r.kind !== 'status' || r.tag !== '*') throw new ProtocolError(`IMAP greeting is not an untagged status: ${describeResponse(r)}`);
    if (r.status === 'BYE') throw new ServerError(`the server refused the session: BYE ${r.text}`, { status: 'BYE', text: r.text });
    if (r.status !== 'OK' && r.status !== 'PREAUTH') throw new ProtocolError(`IMAP greeting is ${r.status}`);
    this.authenticated = r.status === 'PREAUTH';
    this.noteCode(r.code);
    this.greeting = r;
    return r;
  }

  nextTag(): string {
    this.tagNo++;
    return `P${String(this.tagNo).padStart(3, '0')}`;
  }

  /** Sends one tagged command and collects everything until its completion. */
  async run(parts: CommandPart[], opts: RunOptions = {}): Promise<Completed> {
    const tag = this.nextTag();
    const data: DataResponse[] = [];
    const notices: StatusResponse[] = [];
    const nonSync = (n: number) => this.has('LITERAL+') || (this.has('LITERAL-') && n <= 4096);
    const shown = `${tag} ${opts.decode ?? describeCommand(parts)}`;
    const writeOpts = (what: string) => (opts.secret ? { secret: true, decode: what } : { decode: what });

    let text = `${tag} `;
    let early: StatusResponse | null = null;
    for (const part of parts) {
      if (typeof part === 'string') {
        text += part;
        continue;
      }
      if (nonSync(part.length)) {
        // RFC 7888 3: {n+} needs no go-ahead.
        await this.conn.write(`${text}{${part.length}+}\r\n`, writeOpts(shown));
        await this.conn.write(part, writeOpts(`literal (${part.length} bytes)`));
        text = '';
        continue;
      }
      await this.conn.write(`${text}{${part.length}}\r\n`, writeOpts(shown));
      text = '';
      // RFC 9051 4.3: wait for "+" before a synchronising literal; a tagged reply instead means refused.
      for (;;) {
        const r = await this.read('literal go-ahead');
        if (r.kind === 'continuation') break;
        if (r.kind === 'status' && r.tag === tag) {
          early = r;
          break;
        }
        this.collect(r, data, notices);
      }
      if (early) break;
      await this.conn.write(part, writeOpts(`literal (${part.length} bytes)`));
    }
    if (!early) await this.conn.write(`${text}\r\n`, writeOpts(text === `${tag} ` || text === '' ? '(end of command)' : shown));

    let status = early;
    while (!status) {
      let r: ImapResponse;
      try {
        r = await this.read();
      } catch (e) {
        // RFC 9051 7.1.5: BYE announces the close; report the server's reason, not just the hang-up.
        const bye = notices.find((n) => n.status === 'BYE');
        if (bye && e instanceof PortolanError && e.code === 'closed') throw new ServerError(`the server ended the session: BYE ${bye.text}`, { status: 'BYE', text: bye.text });
        throw e;
      }
      if (r.kind === 'status' && r.tag === tag) {
        status = r;
        break;
      }
      if (r.kind === 'continuation') {
        if (!opts.onContinuation) throw new ProtocolError(`IMAP server sent an unexpected continuation: + ${r.text.slice(0, 60)}`);
        await opts.onContinuation(r.text);
        continue;
      }
      if (r.kind === 'status' && r.tag !== '*') throw new ProtocolError(`IMAP response for unknown tag ${r.tag}`);
      this.collect(r, data, notices);
    }
    this.noteCode(status.code);
    return { status, data, notices };
  }

  private collect(r: ImapResponse, data: DataResponse[], notices: StatusResponse[]): void {
    if (data.length + notices.length >= MAX_UNTAGGED) throw new ProtocolError(`IMAP server sent more than ${MAX_UNTAGGED} untagged responses to one command`);
    if (r.kind === 'data') {
      if (r.name === 'CAPABILITY') this.setCapabilities(r.values.map((v) => asString(v) ?? ''));
      data.push(r);
    } else if (r.kind === 'status') {
      this.noteCode(r.code);
      notices.push(r);
    }
  }

  /** Runs a command and throws ServerError unless it completes OK. */
  async ok(parts: CommandPart[], what: string, opts: RunOptions = {}): Promise<Completed> {
    const c = await this.run(parts, opts);
    if (c.status.status !== 'OK') throw commandError(what, c.status);
    return c;
  }

  async capability(): Promise<string[]> {
    await this.ok(['CAPABILITY'], 'CAPABILITY');
    return [...this.capabilities];
  }

  /** RFC 9051 6.2.1: STARTTLS, OK, handshake; capabilities learnt before are void. */
  async startTls(): Promise<void> {
    if (!this.has('STARTTLS')) throw new PortolanError('tls_error', 'the server does not offer STARTTLS (not in CAPABILITY)');
    const c = await this.run(['STARTTLS']);
    if (c.status.status !== 'OK') throw commandError('STARTTLS', c.status);
    await this.conn.startTls();
    this.capabilities.clear();
    await this.capability();
  }

  /** RFC 4978 COMPRESS DEFLATE: from the tagged OK on, both directions are one deflate stream each, sync-flushed. */
  async compress(): Promise<void> {
    if (!this.has('COMPRESS=DEFLATE')) throw InvalidInput.field('compress', `the server does not offer COMPRESS=DEFLATE on this connection (it offers ${[...this.capabilities].filter((c) => c.startsWith('COMPRESS=')).join(' ') || 'no COMPRESS'})`);
    await this.ok(['COMPRESS DEFLATE'], 'COMPRESS');
    this.conn.wrap((inner) => deflateLayer(inner, 'IMAP COMPRESS=DEFLATE'), 'COMPRESS=DEFLATE: both directions deflated from here on (the transcript shows them inflated)');
    this.compressed = true;
  }

  /** RFC 9051 6.2.3 LOGIN; refused when the server says LOGINDISABLED. */
  async login(username: string, password: string): Promise<void> {
    if (this.has('LOGINDISABLED')) throw new AuthError('the server disables LOGIN on this connection (LOGINDISABLED): use STARTTLS or implicit TLS, or AUTHENTICATE');
    const parts = joinParts('LOGIN', astring(username), istring(password));
    const c = await this.run(parts, { secret: true, decode: `LOGIN ${username} ****` });
    if (c.status.status !== 'OK') throw authError('LOGIN', c.status);
    await this.afterAuth(c.status);
  }

  /** RFC 9051 6.2.2 AUTHENTICATE, with the initial response inline when SASL-IR is offered (RFC 4959). */
  async authenticate(mechanism: SaslMechanismName, creds: SaslCredentials, crypto: CryptoPort): Promise<void> {
    const sasl = saslClient(mechanism, creds, crypto);
    const initial = sasl.initial();
    let pendingInitial = initial;
    const parts: CommandPart[] = ['AUTHENTICATE ', mechanism];
    if (initial !== null && this.has('SASL-IR')) {
      parts.push(` ${initial.length === 0 ? '=' : toBase64(initial)}`);
      pendingInitial = null;
    }
    const c = await this.run(parts, {
      secret: initial !== null && this.has('SASL-IR'),
      decode: `AUTHENTICATE ${mechanism}${initial !== null && this.has('SASL-IR') ? ' ****' : ''}`,
      onContinuation: async (text) => {
        let answer: Uint8Array;
        if (pendingInitial !== null) {
          answer = pendingInitial;
          pendingInitial = null;
        } else {
          let challenge: Uint8Array;
          try {
            challenge = fromBase64(text.trim());
          } catch {
            await this.conn.write('*\r\n', { decode: '* (cancel)' });
            throw new ProtocolError(`AUTHENTICATE ${mechanism}: the challenge is not base64`);
          }
          answer = await sasl.respond(challenge);
        }
        await this.conn.write(`${toBase64(answer)}\r\n`, { secret: true, decode: '(SASL response) ****' });
      },
    });
    if (c.status.status !== 'OK') throw authError(`AUTHENTICATE ${mechanism}`, c.status);
    sasl.complete?.();
    await this.afterAuth(c.status);
  }

  private async afterAuth(s: StatusResponse): Promise<void> {
    this.authenticated = true;
    // Servers often put the new capabilities in the OK's response code; else ask.
    if (s.code?.name !== 'CAPABILITY') await this.capability();
  }

  /** RFC 2971: ID with our parameters; the server's as a map (or null for NIL). */
  async id(params: Record<string, string> = { name: 'Portolan' }): Promise<Record<string, string | null> | null> {
    const list: CommandPart[] = ['ID ('];
    Object.entries(params).forEach(([k, v], i) => list.push(...(i ? [' '] : []), ...istring(k), ' ', ...istring(v)));
    list.push(')');
    const c = await this.ok(list, 'ID');
    const r = c.data.find((d) => d.name === 'ID');
    if (!r || r.values[0]?.type !== 'list') return null;
    const out: Record<string, string | null> = {};
    const v = r.values[0].value;
    for (let i = 0; i + 1 < v.length; i += 2) out[asString(v[i]) ?? ''] = asString(v[i + 1]);
    return out;
  }

  /**
   * UID FETCH of one section (`item`: BODY.PEEK[...] or BINARY.PEEK[...]) whose literal is streamed into
   * the sink `open` returns, instead of being held whole: the literal's size comes first (RFC 9051 4.3
   * `{n}`, RFC 3516 `~{n}`), so it is announced before the first byte. Lines are read one by one: a
   * literal that is not this section's (another item, an unsolicited FETCH) is read and dropped. Returns
   * the size of the section, or null when the server sent no such message.
   */
  async fetchSection(uid: number, item: string, open: (size: number) => Promise<ByteSink>): Promise<number | null> {
    const tag = this.nextTag();
    const command = `UID FETCH ${uid} (${item})`;
    await this.conn.write(`${tag} ${command}\r\n`, { decode: `${tag} ${command}` });
    // The item as the answer names it: BODY.PEEK[x] answers BODY[x], BINARY.PEEK[x] answers BINARY[x].
    const key = item.replace('.PEEK[', '[');
    const ours = new RegExp(`${key.replace(/[[\].]/g, '\\$&')} ~?\\{(\\d+)\\}$`, 'i');
    let size: number | null = null;
    for (;;) {
      const line = fromLatin1(await this.conn.readLineBytes({ max: 64 * 1024, ending: 'lf' }));
      if (line.startsWith(`${tag} `)) {
        const status = /^\S+ (OK|NO|BAD)\b ?(.*)$/i.exec(line);
        if (!status) throw new ProtocolError(`IMAP tagged response is malformed: ${JSON.stringify(line.slice(0, 80))}`);
        if (status[1].toUpperCase() !== 'OK') throw new ServerError(`${command}: ${status[1].toUpperCase()} ${status[2]}`, { status: status[1].toUpperCase(), text: status[2] });
        return size;
      }
      const literal = /~?\{(\d{1,15})\+?\}$/.exec(line);
      if (!literal) continue;
      const n = Number(literal[1]);
      if (size === null && line.startsWith('* ') && ours.test(line)) {
        size = n;
        const sink = await open(n);
        for (let left = n; left > 0; ) {
          const chunk = await this.conn.read(Math.min(left, 256 * 1024));
          if (chunk === null) throw new PortolanError('closed', `the server closed the connection after ${n - left} of the ${n} bytes of ${key}: the download is incomplete`);
          left -= chunk.length;
          await sink.write(chunk);
        }
        continue;
      }
      // A literal of something else: read past it.
      for (let left = n; left > 0; ) {
        const chunk = await this.conn.read(Math.min(left, 256 * 1024));
        if (chunk === null) throw new PortolanError('closed', 'the server closed the connection in the middle of a literal');
        left -= chunk.length;
      }
    }
  }

  async logout(): Promise<void> {
    try {
      await this.run(['LOGOUT']);
    } catch (e) {
      if (!(e instanceof PortolanError) || (e.code !== 'closed' && e.code !== 'protocol_error')) throw e;
    }
  }
}

export function commandError(what: string, s: StatusResponse): ServerError {
  return new ServerError(`${what} failed: ${statusText(s)}`, { status: s.status, code: s.code?.name ?? null, text: s.text });
}

function authError(what: string, s: StatusResponse): PortolanError {
  if (s.status === 'NO') return new AuthError(`${what} failed: ${statusText(s)}`, { status: s.status, code: s.code?.name ?? null, text: s.text });
  return commandError(what, s);
}
