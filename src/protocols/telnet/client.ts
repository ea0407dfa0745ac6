// A Telnet client over a Conn: every chunk read goes through the parser, negotiation is answered at once,
// and what remains is the terminal's data (RFC 854 §"The NVT", RFC 855).
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { PortolanError } from '../../core/errors.ts';
import { describeEvent, escapeData, Negotiator, Opt, TelnetParser, type TelnetSettings } from './codec.ts';
import { Linemode, type Reply } from './linemode.ts';

const MAX_TEXT = 1024 * 1024;

export class TelnetClient {
  readonly parser = new TelnetParser();
  readonly negotiator: Negotiator;
  readonly linemode = new Linemode();
  /** Text received and not yet consumed by a readUntil (latin1, one char per byte). */
  private pending = '';
  /** IAC EOR marks seen (RFC 885): record boundaries, such as the end of a prompt. */
  records = 0;
  /** The last text the server showed (latin1), for the local echo's password rule. */
  private tail = '';

  constructor(
    readonly conn: Conn,
    settings: TelnetSettings,
  ) {
    this.negotiator = new Negotiator(settings);
  }

  /** Offers what this client would like at the start: the server's END-OF-RECORD and SUPPRESS-GO-AHEAD. */
  async open(): Promise<void> {
    await this.conn.write(this.negotiator.request('DO', Opt.EOR), { decode: 'IAC DO END-OF-RECORD' });
    await this.conn.write(this.negotiator.request('DO', Opt.SGA), { decode: 'IAC DO SUPPRESS-GO-AHEAD' });
  }

  /** Reads one chunk; answers negotiation; returns the data bytes in it (empty when it was all commands), null at the end. */
  async readData(): Promise<Uint8Array | null> {
    const chunk = await this.conn.read();
    if (chunk === null) return null;
    const parts: Uint8Array[] = [];
    for (const e of this.parser.feed(chunk)) {
      if (e.type === 'data') parts.push(e.bytes);
      else {
        if (e.type === 'command' && e.command === 'EOR') this.records++;
        const replies = this.negotiator.answer(e);
        this.conn.note(`received ${describeEvent(e)}`);
        replies.push(...this.linemode.setOn(this.negotiator.local.has(Opt.LINEMODE)));
        if (e.type === 'subnegotiation' && e.option === Opt.LINEMODE && this.linemode.on) replies.push(...this.logged(this.linemode.answer(e.data)));
        for (const r of replies) await this.conn.write(r.bytes, { decode: r.text });
      }
    }
    // REPLY SSL ACCEPT: the server waits for our ClientHello. Nothing is read before the handshake starts.
    if (this.negotiator.auth.state === 'accepted' && !this.conn.tlsActive) await this.conn.startTls();
    if (parts.length > 0) this.tail = (this.tail + fromLatin1(parts[parts.length - 1])).slice(-64);
    if (parts.length === 1) return parts[0];
    const total = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /**
   * AUTH SSL (RFC 2941, type SSL): negotiation until the server's ACCEPT and the TLS handshake after it, before any
   * text is taken; a server that does not offer it, rejects it, or shows text first, is a tls_error.
   */
  async upgrade(): Promise<void> {
    while (!this.conn.tlsActive) {
      const { state, offered } = this.negotiator.auth;
      if (state === 'rejected') throw new PortolanError('tls_error', 'the server rejected AUTH SSL (AUTHENTICATION REPLY SSL REJECT)');
      if (state === 'not-offered') throw new PortolanError('tls_error', `the server does not offer AUTH SSL: its AUTHENTICATION SEND lists ${offered.join(', ') || 'no type'}`);
      if (state === 'idle' && this.pending.trim() !== '') throw new PortolanError('tls_error', `the server sent text before any AUTHENTICATION (it does not speak AUTH SSL): ${JSON.stringify(this.pending.slice(0, 120))}`);
      const data = await this.readData();
      if (data === null) throw new PortolanError('closed', 'the server closed the connection during AUTH SSL');
      this.pending += fromLatin1(data);
    }
  }

  /** Reads until `pattern` matches the text so far; returns the text up to and including the match. */
  async readUntil(pattern: RegExp, what: string): Promise<string> {
    for (;;) {
      const m = pattern.exec(this.pending);
      if (m) {
        const end = m.index + m[0].length;
        const text = this.pending.slice(0, end);
        this.pending = this.pending.slice(end);
        return text;
      }
      if (this.pending.length > MAX_TEXT) throw new PortolanError('protocol_error', `more than ${MAX_TEXT} bytes without ${what}`);
      const data = await this.readData();
      if (data === null) throw new PortolanError('closed', `the server closed the connection while waiting for ${what}; it sent: ${JSON.stringify(this.pending.slice(-200))}`);
      this.pending += fromLatin1(data);
    }
  }

  /** Text received so far and not consumed. */
  takePending(): string {
    const t = this.pending;
    this.pending = '';
    return t;
  }

  async send(text: string, opts: { secret?: boolean; decode?: string } = {}): Promise<void> {
    const bytes = escapeData(utf8(text), this.negotiator.local.has(Opt.BINARY));
    await this.conn.write(bytes, opts.secret ? { secret: true, decode: opts.decode ?? '(password) ****' } : { decode: opts.decode });
  }

  async sendBytes(bytes: Uint8Array): Promise<void> {
    await this.conn.write(escapeData(bytes, this.negotiator.local.has(Opt.BINARY)));
  }

  /**
   * Keystrokes from the user's terminal. In LINEMODE they go through its line editor and signal keys; otherwise as
   * typed. Returns the local echo for the terminal: empty unless LINEMODE edits and the server does not echo, and
   * empty at a prompt that ends in "Password:" (a server in LINEMODE may not say WILL ECHO while login reads one:
   * inetutils telnetd --linemode does not).
   */
  async type(keys: Uint8Array): Promise<Uint8Array> {
    if (!this.linemode.on) {
      await this.sendBytes(keys);
      return new Uint8Array(0);
    }
    const echo = !this.negotiator.remote.has(Opt.ECHO) && !/password: ?$/i.test(this.tail);
    const t = this.linemode.type(keys, { echo, binary: this.negotiator.local.has(Opt.BINARY) });
    for (const r of t.send) await this.conn.write(r.bytes, { decode: r.text });
    return t.echo;
  }

  /** The options in force, and LINEMODE's mode and keys while it is on. */
  state(): { local: string[]; remote: string[]; linemode?: ReturnType<Linemode['state']> } {
    return { ...this.negotiator.state(), ...(this.linemode.on ? { linemode: this.linemode.state() } : {}) };
  }

  private logged(replies: Reply[]): Reply[] {
    for (const r of replies) this.negotiator.log.push(`> ${r.text}`);
    return replies;
  }
}
