// SMTP client session (RFC 5321 3, 4.1) with STARTTLS (RFC 3207), AUTH (RFC 4954), PIPELINING (RFC 2920),
// CHUNKING (RFC 3030) and SIZE (RFC 1870); LMTP (RFC 2033) is the same session with LHLO and one DATA reply
// per accepted recipient.
//
// How it works: `SmtpSession` sends one command at a time and reads the whole (multi-line)
// reply through `replyFrame`. A reply the session cannot continue from becomes a ServerError
// carrying code, enhanced code and text; AUTH refusals become AuthError. MAIL and the RCPTs
// go out in one write when the server offers PIPELINING, and their replies are read in order.
import { fromBase64, toBase64 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
import { saslClient, type SaslCredentials, type SaslMechanismName } from '../mail/sasl.ts';
import { dotStuff, parseEhlo, replyFrame, replyText, type EhloCapabilities, type Reply } from './codec.ts';

export type Dialect = 'smtp' | 'lmtp';

export interface ReplyInfo {
  code: number;
  enhanced: string | null;
  text: string;
}

export function info(r: Reply): ReplyInfo {
  return { code: r.code, enhanced: r.enhanced, text: r.lines.join('\n') };
}

/** A reply the operation cannot continue from: server_error with the server's own words. */
export function replyError(what: string, r: Reply): ServerError {
  return new ServerError(`${what}: ${replyText(r)}`, { code: r.code, enhanced: r.enhanced, text: r.lines.join('\n') });
}

export interface RecipientResult extends ReplyInfo {
  address: string;
  accepted: boolean;
}

export class SmtpSession {
  capabilities: EhloCapabilities | null = null;
  /** HELO was used because EHLO was refused: no extensions. */
  heloFallback = false;

  constructor(
    readonly conn: Conn,
    readonly dialect: Dialect,
    readonly clientName: string,
  ) {}

  async reply(what = 'SMTP reply'): Promise<Reply> {
    return this.conn.readFrame(replyFrame, what, replyText);
  }

  async command(line: string, decode = line): Promise<Reply> {
    await this.conn.write(`${line}\r\n`, { decode });
    return this.reply();
  }

  /** RFC 5321 4.2: 220 opens the session; 554 is a refusal (3.1). */
  async greeting(): Promise<Reply> {
    const r = await this.reply('greeting');
    if (r.code !== 220) throw replyError('the server refused the session', r);
    return r;
  }

  /** EHLO (or LHLO); falls back to HELO when EHLO is not understood (RFC 5321 3.2). */
  async hello(): Promise<EhloCapabilities> {
    const verb = this.dialect === 'lmtp' ? 'LHLO' : 'EHLO';
    const r = await this.command(`${verb} ${this.clientName}`);
    if (r.code === 250) {
      this.capabilities = parseEhlo(r);
      return this.capabilities;
    }
    if (this.dialect === 'smtp' && (r.code === 500 || r.code === 502 || r.code === 504 || r.code === 550)) {
      const h = await this.command(`HELO ${this.clientName}`);
      if (h.code !== 250) throw replyError('HELO refused', h);
      this.heloFallback = true;
      this.capabilities = parseEhlo({ ...h, lines: h.lines.slice(0, 1) });
      return this.capabilities;
    }
    throw replyError(`${verb} refused`, r);
  }

  /** RFC 3207 4: STARTTLS, 220, handshake, then EHLO again (the old capabilities are void). */
  async startTls(): Promise<Reply> {
    if (!this.capabilities?.starttls) throw new PortolanError('tls_error', 'the server does not offer STARTTLS (it is not in the EHLO reply)');
    await this.conn.write('STARTTLS\r\n', { decode: 'STARTTLS' });
    const r = await this.reply();
    if (r.code !== 220) throw replyError('STARTTLS refused', r);
    await this.conn.startTls();
    this.capabilities = null;
    return r;
  }

  /** RFC 4954 4: AUTH mechanism [initial-response], 334 challenges, 235 on success. */
  async authenticate(mechanism: SaslMechanismName, creds: SaslCredentials, crypto: CryptoPort): Promise<Reply> {
    const sasl = saslClient(mechanism, creds, crypto);
    const initial = sasl.initial();
    // RFC 4954 4: an empty initial response is sent as "=".
    const line = initial === null ? `AUTH ${mechanism}` : `AUTH ${mechanism} ${initial.length === 0 ? '=' : toBase64(initial)}`;
    await this.conn.write(`${line}\r\n`, initial === null ? { decode: line } : { secret: true, decode: `AUTH ${mechanism} ****` });
    for (let round = 0; round < 8; round++) {
      const r = await this.reply();
      if (r.code === 235) return r;
      if (r.code === 334) {
        let challenge: Uint8Array;
        try {
          challenge = fromBase64(r.lines[0].trim());
        } catch {
          await this.conn.write('*\r\n', { decode: '* (cancel)' });
          await this.reply().catch(() => undefined);
          throw new ProtocolError(`AUTH ${mechanism}: the 334 challenge is not base64: ${JSON.stringify(r.lines[0].slice(0, 60))}`);
        }
        const answer = sasl.respond(challenge);
        await this.conn.write(`${toBase64(answer)}\r\n`, { secret: true, decode: '(SASL response) ****' });
        continue;
      }
      // RFC 4954 6: 535 bad credentials, 534 mechanism too weak, 538 needs encryption, 454 temporary.
      if (r.code === 535 || r.code === 534 || r.code === 538 || r.code === 530) {
        throw new AuthError(`AUTH ${mechanism} failed: ${replyText(r)}`, { code: r.code, enhanced: r.enhanced, text: r.lines.join('\n') });
      }
      throw replyError(`AUTH ${mechanism} failed`, r);
    }
    throw new ProtocolError(`AUTH ${mechanism}: more than 8 challenges`);
  }

  /** MAIL FROM and every RCPT TO, pipelined when offered (RFC 2920 3.1). Returns per-recipient results. */
  async envelope(from: string, recipients: readonly string[], params: string[]): Promise<{ mail: Reply; recipients: RecipientResult[] }> {
    const mailLine = `MAIL FROM:<${from}>${params.length ? ` ${params.join(' ')}` : ''}`;
    const rcptLines = recipients.map((r) => `RCPT TO:<${r}>`);
    const results: RecipientResult[] = [];
    if (this.capabilities?.pipelining) {
      const lines = [mailLine, ...rcptLines];
      await this.conn.write(lines.map((l) => `${l}\r\n`).join(''), { decode: lines.join(' | ') });
      const mail = await this.reply();
      const replies: Reply[] = [];
      for (let i = 0; i < rcptLines.length; i++) replies.push(await this.reply());
      if (mail.code !== 250) throw replyError('MAIL FROM refused', mail);
      replies.forEach((r, i) => results.push({ address: recipients[i], accepted: r.code === 250 || r.code === 251, ...info(r) }));
      return { mail, recipients: results };
    }
    const mail = await this.command(mailLine);
    if (mail.code !== 250) throw replyError('MAIL FROM refused', mail);
    for (const [i, line] of rcptLines.entries()) {
      const r = await this.command(line);
      results.push({ address: recipients[i], accepted: r.code === 250 || r.code === 251, ...info(r) });
    }
    return { mail, recipients: results };
  }

  /**
   * DATA (RFC 5321 4.1.1.4): 354, the dot-stuffed message, then one reply, or in LMTP one
   * reply per accepted recipient, in RCPT order (RFC 2033 4.2).
   */
  async data(message: Uint8Array, accepted: number): Promise<Reply[]> {
    const go = await this.command('DATA');
    if (go.code !== 354) throw replyError('DATA refused', go);
    const payload = dotStuff(message);
    await this.conn.write(payload, { decode: `message (${message.length} bytes, ${payload.length} dot-stuffed with the final ".")` });
    return this.finalReplies(accepted);
  }

  /** BDAT n LAST (RFC 3030 2): the message as is, no dot-stuffing. */
  async bdat(message: Uint8Array, accepted: number): Promise<Reply[]> {
    if (!this.capabilities?.chunking) throw new ServerError('the server does not offer CHUNKING (BDAT); use transfer "data"');
    await this.conn.write(`BDAT ${message.length} LAST\r\n`, { decode: `BDAT ${message.length} LAST` });
    await this.conn.write(message, { decode: `message (${message.length} bytes)` });
    return this.finalReplies(accepted);
  }

  private async finalReplies(accepted: number): Promise<Reply[]> {
    const n = this.dialect === 'lmtp' ? accepted : 1;
    const out: Reply[] = [];
    for (let i = 0; i < n; i++) out.push(await this.reply('reply to the message'));
    return out;
  }

  async reset(): Promise<Reply> {
    return this.command('RSET');
  }

  async noop(): Promise<Reply> {
    return this.command('NOOP');
  }

  /** QUIT, 221; a server that hangs up first is fine. */
  async quit(): Promise<void> {
    try {
      await this.command('QUIT');
    } catch (e) {
      if (!(e instanceof PortolanError) || (e.code !== 'closed' && e.code !== 'protocol_error')) throw e;
    }
  }
}

/** MAIL FROM parameters the message needs and the server offers (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8). */
export function mailParams(caps: EhloCapabilities, message: Uint8Array, envelope: readonly string[]): string[] {
  const params: string[] = [];
  if (caps.size !== null || 'SIZE' in caps.keywords) params.push(`SIZE=${message.length}`);
  const eightBit = message.some((b) => b >= 0x80);
  if (eightBit && caps.eightBitMime) params.push('BODY=8BITMIME');
  const utf8Envelope = envelope.some((a) => /[^\x00-\x7f]/.test(a));
  if (utf8Envelope) {
    if (!caps.smtpUtf8) throw new ServerError('an envelope address is not ASCII and the server does not offer SMTPUTF8 (RFC 6531)');
    params.push('SMTPUTF8');
  }
  return params;
}
