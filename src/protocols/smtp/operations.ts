// The SMTP family's operations (RFC 5321, 6409, 8314, 2033): probe and send, declared once and used by
// the SMTP declaration (index.ts, with submission and SMTPS as ports and TLS modes) and the LMTP one (lmtp.ts).
import * as z from 'zod';
import { fromUtf8 } from '../../core/bytes.ts';
import { AuthError, InvalidInput, ServerError } from '../../core/errors.ts';
import { operation, type OperationContext, type TargetFields } from '../../core/protocol.ts';
import { messageFieldsShape, messageFromInput, type MessageInput } from '../mail/fields.ts';
import { parseAddress } from '../mail/mime.ts';
import { chooseMechanism, SASL_MECHANISMS, type SaslMechanismName } from '../mail/sasl.ts';
import { checkEnvelopeAddress, queueIdOf, type EhloCapabilities } from './codec.ts';
import { info, replyError, SmtpSession, transactionParams, type Dialect, type DsnRequest } from './client.ts';

const clientName = z
  .string()
  .max(255)
  .regex(/^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/, 'must be a domain name or an address literal like [192.0.2.1] (RFC 5321 4.1.1.1)')
  .default('portolan.invalid')
  .describe('The name this client gives in EHLO/LHLO');

const authShape = {
  username: z.string().max(512).optional().describe('Authenticate as this user (SASL)'),
  password: z.string().max(1024).optional(),
  authMechanism: z.enum(['auto', ...SASL_MECHANISMS]).default('auto').describe('auto: PLAIN over TLS, SCRAM-SHA-256 or CRAM-MD5 when the connection is plain'),
};

const capabilitiesOut = z.object({
  greeting: z.string(),
  keywords: z.record(z.string(), z.array(z.string())),
  size: z.number().nullable(),
  starttls: z.boolean(),
  pipelining: z.boolean(),
  eightBitMime: z.boolean(),
  smtpUtf8: z.boolean(),
  chunking: z.boolean(),
  enhancedStatusCodes: z.boolean(),
  dsn: z.boolean(),
  auth: z.array(z.string()),
});

const replyOut = z.object({ code: z.number(), enhanced: z.string().nullable(), text: z.string() });

interface Opened {
  session: SmtpSession;
  banner: string;
  before: EhloCapabilities;
  after: EhloCapabilities | null;
}

/** Connects, reads the greeting, says hello, and upgrades when the TLS mode asks for STARTTLS. */
async function open(ctx: OperationContext, input: TargetFields & { clientName: string }, dialect: Dialect): Promise<Opened> {
  const conn = await ctx.dial();
  const session = new SmtpSession(conn, dialect, input.clientName);
  const greeting = await session.greeting();
  ctx.timing.mark('bannerMs');
  const before = await session.hello();
  let after: EhloCapabilities | null = null;
  if (input.tls === 'starttls') {
    await session.startTls();
    ctx.timing.mark('tlsMs');
    after = await session.hello();
  }
  return { session, banner: greeting.lines.join('\n'), before, after };
}

async function login(ctx: OperationContext, session: SmtpSession, input: { username?: string; password?: string; authMechanism: 'auto' | SaslMechanismName }): Promise<SaslMechanismName | null> {
  if (input.username === undefined) return null;
  if (input.password === undefined) throw InvalidInput.field('password', 'is required with username');
  const caps = session.capabilities!;
  const tls = session.conn.tlsActive;
  if (caps.auth.length === 0) {
    throw new AuthError(`the server offers no AUTH mechanism${tls ? '' : ' on a plain connection (submission servers offer AUTH only after STARTTLS: use tls "starttls" or "implicit")'}`);
  }
  const mech = chooseMechanism(caps.auth, input.authMechanism, tls);
  if (!mech) throw new AuthError(`the server offers AUTH ${caps.auth.join(' ')}; none of them is ${input.authMechanism === 'auto' ? SASL_MECHANISMS.join(', ') : input.authMechanism}`);
  await session.authenticate(mech, { username: input.username, password: input.password }, ctx.crypto);
  ctx.timing.mark('authMs');
  return mech;
}

export function probeOperation(dialect: Dialect) {
  return operation({
    summary: dialect === 'lmtp' ? 'Greeting and LHLO capabilities, without delivering' : 'Banner, EHLO capabilities, TLS and AUTH mechanisms before and after STARTTLS, without sending',
    input: z.object({ clientName }),
    output: z.object({
      banner: z.string(),
      heloFallback: z.boolean().describe('EHLO was refused and HELO used'),
      capabilities: capabilitiesOut.describe('Capabilities on the plain connection (or the implicit-TLS one)'),
      tls: z.object({ offered: z.boolean(), active: z.boolean(), mode: z.string() }),
      capabilitiesAfterStartTls: capabilitiesOut.nullable(),
      authBefore: z.array(z.string()),
      authAfter: z.array(z.string()).nullable(),
    }),
    text: (r) =>
      [
        r.banner,
        `TLS: ${r.tls.active ? 'active' : r.tls.offered ? 'offered (STARTTLS)' : 'not offered'}`,
        `capabilities: ${Object.keys(r.capabilities.keywords).join(' ')}`,
        `AUTH before TLS: ${r.authBefore.join(' ') || '(none)'}`,
        ...(r.authAfter ? [`AUTH after STARTTLS: ${r.authAfter.join(' ') || '(none)'}`] : []),
      ].join('\n'),
    async run(ctx, input) {
      const o = await open(ctx, input, dialect);
      await o.session.quit();
      return {
        banner: o.banner,
        heloFallback: o.session.heloFallback,
        capabilities: o.before,
        tls: { offered: o.before.starttls, active: o.session.conn.tlsActive, mode: input.tls },
        capabilitiesAfterStartTls: o.after,
        authBefore: o.before.auth,
        authAfter: o.after?.auth ?? null,
      };
    },
  });
}

const recipientOut = z.object({ address: z.string(), accepted: z.boolean(), code: z.number(), enhanced: z.string().nullable(), text: z.string() });

export function sendOperation(dialect: Dialect) {
  return operation({
    primary: dialect === 'smtp' ? ['from', 'to', 'subject', 'text', 'username', 'password'] : ['from', 'to', 'subject', 'text'],
    summary:
      dialect === 'lmtp'
        ? 'Deliver a message (built from fields or raw) with per-recipient delivery replies'
        : 'Send a message built from fields (text, HTML, attachments) or raw, with optional STARTTLS and AUTH',
    input: z.object({
      clientName,
      ...(dialect === 'smtp' ? authShape : {}),
      ...messageFieldsShape,
      bcc: z.array(z.string().max(320)).max(100).default([]).describe('Envelope-only recipients'),
      envelopeFrom: z.string().max(320).optional().describe('MAIL FROM address ("" for the null sender); the From address by default'),
      envelopeTo: z.array(z.string().max(320)).max(100).optional().describe('RCPT TO addresses; to + cc + bcc by default'),
      transfer: z.enum(['data', 'bdat']).default('data').describe('DATA with dot-stuffing, or BDAT (CHUNKING, RFC 3030)'),
      chunkSize: z.number().int().min(1).max(64 * 1024 * 1024).optional().describe('BDAT: send the message in chunks of this many bytes (one chunk by default)'),
      pipelining: z.boolean().default(true).describe('Use PIPELINING when the server offers it (RFC 2920): MAIL, RCPT and DATA in one write'),
      body: z.enum(['auto', '7BIT', '8BITMIME', 'BINARYMIME']).default('auto').describe('MAIL BODY=: auto says 8BITMIME when the message has 8-bit bytes (RFC 6152); BINARYMIME needs BDAT (RFC 3030)'),
      smtputf8: z.enum(['auto', 'always', 'never']).default('auto').describe('MAIL SMTPUTF8 (RFC 6531): auto when an envelope address or a header is not ASCII'),
      requireTls: z.boolean().default(false).describe('MAIL REQUIRETLS (RFC 8689): refuse to send unless this session is TLS and the server promises TLS on every further hop'),
      dsn: z
        .object({
          notify: z.array(z.enum(['NEVER', 'SUCCESS', 'FAILURE', 'DELAY'])).min(1).max(3).optional().describe('RCPT NOTIFY=: when to report (NEVER alone, or any of SUCCESS, FAILURE, DELAY)'),
          ret: z.enum(['FULL', 'HDRS']).optional().describe('MAIL RET=: return the full message or only its headers in a failure report'),
          envid: z.string().min(1).max(100).regex(/^[\x20-\x7e]+$/, 'printable ASCII').optional().describe('MAIL ENVID=: an id the reports will carry (Original-Envelope-Id)'),
          orcpt: z.boolean().default(true).describe('RCPT ORCPT=: the original recipient, for the reports'),
        })
        .strict()
        .refine((d) => !d.notify || !d.notify.includes('NEVER') || d.notify.length === 1, { message: 'NEVER stands alone (RFC 3461 4.1)', path: ['notify'] })
        .optional()
        .describe('Delivery status notifications (RFC 3461)'),
    }),
    output: z.object({
      banner: z.string(),
      capabilities: capabilitiesOut,
      tls: z.boolean(),
      auth: z.string().nullable().describe('The SASL mechanism used'),
      envelope: z.object({ from: z.string(), mail: replyOut, recipients: z.array(recipientOut) }),
      data: replyOut.nullable().describe('The reply to the message (SMTP)'),
      delivery: z.array(recipientOut).nullable().describe('One reply per accepted recipient (LMTP)'),
      queueId: z.string().nullable(),
      messageId: z.string().nullable(),
      mailParams: z.array(z.string()).describe('The MAIL FROM parameters sent'),
      rcptParams: z.array(z.string()).describe('The RCPT TO parameters sent with each recipient'),
      pipelining: z.object({ used: z.boolean(), groups: z.array(z.array(z.string())) }).describe('Whether commands were pipelined, and the commands of each write'),
      chunks: z.number().describe('BDAT chunks (1 for DATA)'),
      size: z.number(),
      message: z.string().describe('The message as sent, before dot-stuffing (CRLF line ends)'),
    }),
    text: (r) =>
      [
        ...r.envelope.recipients.map((x) => `${x.accepted ? 'accepted' : 'REFUSED'} ${x.address}: ${x.code} ${x.text}`),
        ...(r.data ? [`message: ${r.data.code} ${r.data.text}`] : []),
        ...(r.delivery ?? []).map((x) => `${x.accepted ? 'delivered' : 'FAILED'} ${x.address}: ${x.code} ${x.text}`),
      ].join('\n'),
    maxTimeoutMs: 120_000,
    defaultTimeoutMs: 30_000,
    async run(ctx, raw) {
      const input = raw as typeof raw & MessageInput & { bcc: string[]; envelopeFrom?: string; envelopeTo?: string[]; username?: string; password?: string; authMechanism?: 'auto' | SaslMechanismName; dsn?: DsnRequest };
      const { bytes, messageId } = messageFromInput(input, ctx.crypto);
      // The envelope sender: envelopeFrom, else the from field, else a raw message's From header.
      const headerFrom = input.from ?? (input.raw !== undefined ? /^From:[^\S\r\n]*([^\r\n]+)/im.exec(input.raw)?.[1] : undefined);
      if (input.envelopeFrom === undefined && !headerFrom) throw InvalidInput.field('envelopeFrom', 'is required when neither from nor a From header names the sender');
      const envelopeFrom = checkEnvelopeAddress(input.envelopeFrom ?? parseAddress(headerFrom!, 'from').address, 'envelopeFrom', true);
      const rcpts = input.envelopeTo ?? [...input.to, ...input.cc, ...input.bcc].map((a, i) => parseAddress(a, `recipients.${i}`).address);
      if (rcpts.length === 0) throw InvalidInput.field('to', 'give at least one recipient (to, cc, bcc or envelopeTo)');
      rcpts.forEach((a, i) => checkEnvelopeAddress(a, `envelopeTo.${i}`));

      const o = await open(ctx, input, dialect);
      const session = o.session;
      const auth = dialect === 'smtp' ? await login(ctx, session, { username: input.username, password: input.password, authMechanism: input.authMechanism ?? 'auto' }) : null;
      const caps = session.capabilities!;
      const params = transactionParams(caps, bytes, [envelopeFrom, ...rcpts], { dsn: input.dsn, body: input.body, smtputf8: input.smtputf8, transfer: input.transfer, requireTls: input.requireTls ? { tlsActive: session.conn.tlsActive } : undefined });
      const x = await session.transaction(envelopeFrom, rcpts, bytes, { mailParams: params.mail, rcptParams: params.rcpt, transfer: input.transfer, chunkSize: input.chunkSize, pipelining: input.pipelining });
      ctx.timing.mark('dataMs');
      const env = { mail: x.mail, recipients: x.recipients };
      const accepted = env.recipients.filter((r) => r.accepted);
      if (accepted.length === 0) {
        await session.reset().catch(() => undefined);
        const first = env.recipients[0];
        throw new ServerError(`no recipient accepted: ${env.recipients.map((r) => `${r.address}: ${r.code}${r.enhanced ? ` ${r.enhanced}` : ''} ${r.text}`).join('; ')}`, {
          code: first.code,
          enhanced: first.enhanced,
          text: first.text,
          recipients: env.recipients,
        });
      }
      const replies = x.replies;
      let data = null;
      let delivery = null;
      if (dialect === 'smtp') {
        if (replies[0].code !== 250) throw replyError('the message was refused', replies[0]);
        data = info(replies[0]);
      } else {
        delivery = accepted.map((r, i) => ({ address: r.address, accepted: replies[i].code === 250, ...info(replies[i]) }));
        if (delivery.every((d) => !d.accepted)) throw replyError('no recipient took the message', replies[0]);
      }
      await session.quit();
      return {
        banner: o.banner,
        capabilities: caps,
        tls: session.conn.tlsActive,
        auth,
        envelope: { from: envelopeFrom, mail: info(env.mail), recipients: env.recipients },
        data,
        delivery,
        queueId: dialect === 'smtp' ? queueIdOf(replies[0]) : null,
        messageId,
        mailParams: params.mail,
        rcptParams: params.rcpt(rcpts[0]),
        pipelining: { used: x.pipelined, groups: x.groups },
        chunks: x.chunks,
        size: bytes.length,
        message: fromUtf8(bytes),
      };
    },
  });
}
