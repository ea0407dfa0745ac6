// A Telnet client over a Conn: every chunk read goes through the parser, negotiation is answered at once,
// and what remains is the terminal's data (RFC 854 §"The NVT", RFC 855).
import { fromLatin1, utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import { PortolanError } from '../../core/errors.ts';
import { describeEvent, escapeData, Negotiator, Opt, TelnetParser, type TelnetSettings } from './codec.ts';

const MAX_TEXT = 1024 * 1024;

export class TelnetClient {
  readonly parser = new TelnetParser();
  readonly negotiator: Negotiator;
  /** Text received and not yet consumed by a readUntil (latin1, one char per byte). */
  private pending = '';
  /** IAC EOR marks seen (RFC 885): record boundaries, such as the end of a prompt. */
  records = 0;

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
        for (const r of replies) await this.conn.write(r.bytes, { decode: r.text });
      }
    }
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
}
