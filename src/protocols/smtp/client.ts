// SMTP client session (RFC 5321 3, 4.1) with STARTTLS (RFC 3207), AUTH (RFC 4954), PIPELINING (RFC 2920),
// CHUNKING (RFC 3030) and SIZE (RFC 1870); LMTP (RFC 2033) is the same session with LHLO and one DATA reply
// per accepted recipient.
//
// How it works: `SmtpSession` sends one command at a time and reads the whole (multi-line)
// reply through `replyFrame`. A reply the session cannot continue from becomes a ServerError
// carrying code, enhanced code and text; AUTH refusals become AuthError. MAIL and the RCPTs
// go out in one write when the server offers PIPELINING, and their replies are read in order.
import { fromBase64, toBase64, utf8 } from '../../core/bytes.ts';
import type { Conn } from '../../core/conn.ts';
import type { CryptoPort } from '../../core/crypto.ts';
import { AuthError, InvalidInput, PortolanError, ProtocolError, ServerError } from '../../core/errors.ts';
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
      if (r.code === 235) {
        sasl.complete?.();
        return r;
      }
      if (r.code === 334) {
        let challenge: Uint8Array;
        try {
          challenge = fromBase64(r.lines[0].trim());
        } catch {
          await this.conn.write('*\r\n', { decode: '* (cancel)' });
          await this.reply().catch(() => undefined);
          throw new ProtocolError(`AUTH ${mechanism}: the 334 challenge is not base64: ${JSON.stringify(r.lines[0].slice(0, 60))}`);
        }
        const answer = await sasl.respond(challenge);
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

  /**
   * One mail transaction (RFC 5321 3.3): MAIL FROM, every RCPT TO, then the message by DATA or BDAT. With PIPELINING
   * (RFC 2920 3.1) MAIL, the RCPTs and DATA go out in one write and their replies are read in order; BDAT chunks go
   * out together after the RCPT replies (RFC 3030 4.2). When no recipient is accepted the message is not sent (a 354
   * to a pipelined DATA gets an empty message, as RFC 2920 3.1 asks), and `replies` is empty.
   */
  async transaction(from: string, recipients: readonly string[], message: Uint8Array, opts: TransactionOptions): Promise<TransactionResult> {
    const caps = this.capabilities;
    const pipelined = opts.pipelining && !!caps?.pipelining;
    const mailLine = `MAIL FROM:<${from}>${opts.mailParams.length ? ` ${opts.mailParams.join(' ')}` : ''}`;
    const rcptLines = recipients.map((r) => {
      const params = opts.rcptParams(r);
      return `RCPT TO:<${r}>${params.length ? ` ${params.join(' ')}` : ''}`;
    });
    const groups: string[][] = [];
    const results: RecipientResult[] = [];
    const accept = (r: Reply, i: number) => results.push({ address: recipients[i], accepted: r.code === 250 || r.code === 251, ...info(r) });
    let mail: Reply;
    let dataGo: Reply | undefined;
    if (pipelined) {
      const lines = [mailLine, ...rcptLines, ...(opts.transfer === 'data' ? ['DATA'] : [])];
      groups.push(lines);
      await this.conn.write(lines.map((l) => `${l}\r\n`).join(''), { decode: lines.join(' | ') });
      mail = await this.reply();
      for (let i = 0; i < rcptLines.length; i++) accept(await this.reply(), i);
      if (opts.transfer === 'data') dataGo = await this.reply();
    } else {
      groups.push([mailLine]);
      mail = await this.command(mailLine);
      if (mail.code === 250) {
        for (const [i, line] of rcptLines.entries()) {
          groups.push([line]);
          accept(await this.command(line), i);
        }
      }
    }
    if (mail.code !== 250) throw replyError('MAIL FROM refused', mail);
    const accepted = results.filter((r) => r.accepted).length;
    const done = (replies: Reply[], chunks: number): TransactionResult => ({ mail, recipients: results, replies, pipelined, groups, chunks });
    if (accepted === 0) {
      if (dataGo?.code === 354) await this.data(new Uint8Array(0), 0, true).catch(() => undefined);
      return done([], 0);
    }
    if (opts.transfer === 'data') {
      if (!dataGo) {
        groups.push(['DATA']);
        dataGo = await this.command('DATA');
      }
      if (dataGo.code !== 354) throw replyError('DATA refused', dataGo);
      return done(await this.data(message, accepted, true), 1);
    }
    return this.bdat(message, accepted, opts.chunkSize, pipelined, groups).then((x) => done(x.replies, x.chunks));
  }

  /**
   * DATA (RFC 5321 4.1.1.4): 354, the dot-stuffed message, then one reply, or in LMTP one
   * reply per accepted recipient, in RCPT order (RFC 2033 4.2). `afterGo`: the 354 was already read.
   */
  async data(message: Uint8Array, accepted: number, afterGo = false): Promise<Reply[]> {
    if (!afterGo) {
      const go = await this.command('DATA');
      if (go.code !== 354) throw replyError('DATA refused', go);
    }
    const payload = dotStuff(message);
    await this.conn.write(payload, { decode: `message (${message.length} bytes, ${payload.length} dot-stuffed with the final ".")` });
    return this.finalReplies(Math.max(accepted, 1));
  }

  /**
   * BDAT (RFC 3030 2): the message as is, no dot-stuffing, in chunks of `chunkSize` (one chunk by default), the last
   * marked LAST. Pipelined, every chunk is written before any reply is read; each chunk but the last gets one reply.
   */
  async bdat(message: Uint8Array, accepted: number, chunkSize = message.length, pipelined = false, groups: string[][] = []): Promise<{ replies: Reply[]; chunks: number }> {
    if (!this.capabilities?.chunking) throw new ServerError('the server does not offer CHUNKING (BDAT); use transfer "data"');
    const size = Math.max(1, chunkSize);
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < message.length; at += size) chunks.push(message.subarray(at, at + size));
    if (chunks.length === 0) chunks.push(new Uint8Array(0));
    const head = (i: number) => `BDAT ${chunks[i].length}${i === chunks.length - 1 ? ' LAST' : ''}`;
    const send = async (i: number) => {
      await this.conn.write(`${head(i)}\r\n`, { decode: head(i) });
      if (chunks[i].length > 0) await this.conn.write(chunks[i], { decode: `chunk ${i + 1} of ${chunks.length} (${chunks[i].length} bytes)` });
    };
    const middle = async (i: number) => {
      const r = await this.reply(`reply to BDAT chunk ${i + 1}`);
      if (r.code !== 250) throw replyError(`BDAT chunk ${i + 1} of ${chunks.length} refused`, r);
    };
    if (pipelined) {
      groups.push(chunks.map((_, i) => head(i)));
      for (let i = 0; i < chunks.length; i++) await send(i);
      for (let i = 0; i < chunks.length - 1; i++) await middle(i);
    } else {
      for (let i = 0; i < chunks.length - 1; i++) {
        groups.push([head(i)]);
        await send(i);
        await middle(i);
      }
      groups.push([head(chunks.length - 1)]);
      await send(chunks.length - 1);
    }
    return { replies: await this.finalReplies(accepted), chunks: chunks.length };
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

export interface TransactionOptions {
  mailParams: string[];
  rcptParams: (address: string) => string[];
  transfer: 'data' | 'bdat';
  /** BDAT chunk size in bytes (one chunk by default). */
  chunkSize?: number;
  /** Use PIPELINING when the server offers it. */
  pipelining: boolean;
}

export interface TransactionResult {
  mail: Reply;
  recipients: RecipientResult[];
  /** The replies to the message: one, or one per accepted recipient in LMTP; none when no recipient was accepted. */
  replies: Reply[];
  pipelined: boolean;
  /** The commands as they went out, one list per write. */
  groups: string[][];
  chunks: number;
}

/** Delivery status notifications, RFC 3461: what to report (NOTIFY), how much of the message to return (RET), and an envelope id. */
export interface DsnRequest {
  notify?: ('NEVER' | 'SUCCESS' | 'FAILURE' | 'DELAY')[];
  ret?: 'FULL' | 'HDRS';
  envid?: string;
  /** Send ORCPT (the original recipient) with each RCPT. */
  orcpt: boolean;
}

export type BodyType = 'auto' | '7BIT' | '8BITMIME' | 'BINARYMIME';

export interface ParamOptions {
  dsn?: DsnRequest;
  body: BodyType;
  smtputf8: 'auto' | 'always' | 'never';
  transfer: 'data' | 'bdat';
  /** RFC 8689 REQUIRETLS: every hop must relay the message over verified TLS. */
  requireTls?: { tlsActive: boolean };
}

/** RFC 3461 4: xtext — "+" and "=" and bytes outside 33–126 as "+XX". */
export function xtext(text: string): string {
  let out = '';
  for (const b of utf8(text)) out += b < 33 || b > 126 || b === 0x2b || b === 0x3d ? `+${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b);
  return out;
}

/** RFC 6533 3: utf-8-addr-unitext for ORCPT=utf-8; — non-ASCII as is, "+", "=", "\\" and controls as \x{HEX}. */
export function utf8AddrText(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    out += cp < 33 || cp === 0x7f || ch === '+' || ch === '=' || ch === '\\' ? `\\x{${cp.toString(16).toUpperCase()}}` : ch;
  }
  return out;
}

const ascii = (s: string) => !/[^\x00-\x7f]/.test(s);

/** The header section of a message: bytes up to the first empty line. */
function headerBytes(message: Uint8Array): Uint8Array {
  for (let i = 0; i + 3 < message.length; i++) if (message[i] === 0x0d && message[i + 1] === 0x0a && message[i + 2] === 0x0d && message[i + 3] === 0x0a) return message.subarray(0, i);
  return message;
}

/**
 * MAIL FROM and RCPT TO parameters the message needs and the server offers: SIZE (RFC 1870), BODY (RFC 6152 8BITMIME,
 * RFC 3030 BINARYMIME), SMTPUTF8 (RFC 6531: a non-ASCII envelope or, per RFC 6532, header), and DSN (RFC 3461: RET and
 * ENVID on MAIL, NOTIFY and ORCPT on RCPT), REQUIRETLS (RFC 8689). What the message needs and the server lacks is a clear refusal before MAIL.
 */
export function transactionParams(caps: EhloCapabilities, message: Uint8Array, envelope: readonly string[], o: ParamOptions): { mail: string[]; rcpt: (address: string) => string[] } {
  const params: string[] = [];
  if (caps.size !== null || 'SIZE' in caps.keywords) params.push(`SIZE=${message.length}`);
  const eightBit = message.some((b) => b >= 0x80);
  const bareLineEnds = message.some((b, i) => b === 0x00 || (b === 0x0d && message[i + 1] !== 0x0a) || (b === 0x0a && message[i - 1] !== 0x0d));
  let body = o.body;
  if (body === 'auto') body = eightBit ? '8BITMIME' : '7BIT';
  if (body === 'BINARYMIME' || (o.body === 'auto' && bareLineEnds && o.transfer === 'bdat' && 'BINARYMIME' in caps.keywords)) {
    // RFC 3030 3: BINARYMIME needs CHUNKING, and the message goes by BDAT.
    if (o.transfer !== 'bdat') throw InvalidInput.field('transfer', 'BINARYMIME messages go by BDAT (RFC 3030 3): use transfer "bdat"');
    if (!('BINARYMIME' in caps.keywords)) throw new ServerError('the server does not offer BINARYMIME (RFC 3030 3); send the message as 8BITMIME or 7BIT');
    params.push('BODY=BINARYMIME');
  } else if (body === '8BITMIME') {
    if (!caps.eightBitMime) throw new ServerError('the message has 8-bit bytes and the server does not offer 8BITMIME (RFC 6152); encode the body (quoted-printable or base64)');
    params.push('BODY=8BITMIME');
  } else if (o.body === '7BIT') {
    if (eightBit) throw InvalidInput.field('body', 'the message has bytes above 127: it is not 7BIT');
    if (caps.eightBitMime) params.push('BODY=7BIT');
  }
  const utf8Envelope = envelope.some((a) => !ascii(a));
  const utf8Headers = headerBytes(message).some((b) => b >= 0x80);
  if (o.smtputf8 === 'always' || (o.smtputf8 === 'auto' && (utf8Envelope || utf8Headers))) {
    if (!caps.smtpUtf8) {
      if (utf8Envelope || o.smtputf8 === 'always') throw new ServerError('an envelope address is not ASCII and the server does not offer SMTPUTF8 (RFC 6531)');
    } else params.push('SMTPUTF8');
  } else if (utf8Envelope) throw InvalidInput.field('smtputf8', 'an envelope address is not ASCII: it needs SMTPUTF8 (RFC 6531)');
  if (o.requireTls) {
    // RFC 8689 4.1: REQUIRETLS only on a TLS session, and only to a server that announces it.
    if (!o.requireTls.tlsActive) throw InvalidInput.field('requireTls', 'REQUIRETLS needs a TLS session (RFC 8689 4.1): use tls "starttls" or "implicit"');
    if (!('REQUIRETLS' in caps.keywords)) throw new ServerError('the server does not offer REQUIRETLS (RFC 8689): it cannot promise TLS on every hop, so the message was not sent');
    params.push('REQUIRETLS');
  }
  const dsn = o.dsn;
  if (dsn && (dsn.notify || dsn.ret || dsn.envid !== undefined)) {
    if (!caps.dsn) throw new ServerError('the server does not offer DSN (RFC 3461): it would refuse NOTIFY, RET and ENVID');
    if (dsn.ret) params.push(`RET=${dsn.ret}`);
    if (dsn.envid !== undefined) params.push(`ENVID=${xtext(dsn.envid)}`);
  }
  const rcpt = (address: string): string[] => {
    const out: string[] = [];
    if (!dsn || !caps.dsn) return out;
    if (dsn.notify?.length) out.push(`NOTIFY=${dsn.notify.join(',')}`);
    if (dsn.orcpt && (dsn.notify || dsn.ret || dsn.envid !== undefined)) out.push(ascii(address) ? `ORCPT=rfc822;${xtext(address)}` : `ORCPT=utf-8;${utf8AddrText(address)}`);
    return out;
  };
  return { mail: params, rcpt };
}
