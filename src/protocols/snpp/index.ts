// SNPP, Simple Network Paging Protocol v3 (RFC 1861) levels 1 and 2: send pages (PAGE, MESS or DATA, SUBJ, LEVE, HOLD, ALER, CALL, COVE, SEND) with LOGI, PING a pager, read HELP.
import * as z from 'zod';
import type { Conn } from '../../core/conn.ts';
import { AuthError, InvalidInput, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { dataLines, describeReply, encodeCommand, encodeData, holdTime, isSuccess, replyFrame, type Reply } from './codec.ts';
import { identification } from './identify.ts';

const frame = replyFrame();

class SnppClient {
  constructor(readonly conn: Conn) {}

  async reply(): Promise<Reply> {
    return this.conn.readFrame(frame, 'SNPP reply', describeReply);
  }

  async command(line: string, opts: { secret?: string } = {}): Promise<Reply> {
    await this.conn.write(encodeCommand(line), opts.secret ? { secret: true, decode: opts.secret } : { decode: line });
    return this.reply();
  }

  /** A command that must succeed; failures are thrown with the server's code and words. */
  async must(line: string, opts: { secret?: string; auth?: boolean } = {}): Promise<Reply> {
    const r = await this.command(line, opts);
    if (!isSuccess(r.code)) {
      const what = opts.secret ?? line.split(' ')[0];
      const err = `${what}: ${r.code} ${r.lines.join(' ')}`;
      throw opts.auth ? new AuthError(err, { code: r.code }) : new ServerError(err, { code: r.code });
    }
    return r;
  }
}

const oneLine = (field: string, max = 512) =>
  z
    .string()
    .max(max)
    .refine((s) => !/[\r\n]/.test(s), `${field} must be one line`);

const login = {
  user: oneLine('user', 256).optional().describe('LOGI user name (some servers, hfaxd among them, require a login)'),
  password: oneLine('password', 256).optional().describe('LOGI password'),
};

async function open(ctx: OperationContext, input: { user?: string; password?: string }): Promise<{ c: SnppClient; banner: Reply }> {
  if (input.password !== undefined && input.user === undefined) throw InvalidInput.field('user', 'is required with a password');
  const c = new SnppClient(await ctx.dial());
  const banner = await c.reply();
  if (banner.code !== 220) throw new ServerError(`the server is not ready: ${banner.code} ${banner.lines.join(' ')}`, { code: banner.code });
  if (input.user !== undefined) await c.must(`LOGI ${input.user}${input.password !== undefined ? ` ${input.password}` : ''}`, { secret: `LOGI ${input.user}${input.password !== undefined ? ' ****' : ''}`, auth: true });
  return { c, banner };
}

const stepOut = z.object({ command: z.string(), code: z.number(), text: z.string() });

export default defineProtocol({
  id: 'snpp',
  title: 'SNPP',
  category: 'messaging',
  summary: 'Sends pages over the Simple Network Paging Protocol (RFC 1861) levels 1 and 2 — one or more pager ids, a one-line or multi-line message, subject, service level, hold time, alert and caller id — and PINGs pagers.',
  ports: [{ port: 444, transport: 'tcp' }],
  specs: ['RFC 1861'],
  rating: {
    stars: 4,
    reason:
      'Lab-tested through workerd against HylaFAX 6.0.7\'s hfaxd (Debian 12 hylafax-server): the banner, HELP and STAT, LOGI with and without a password (550 Login incorrect as auth_failed), PAGE to several pagers with the provider and job id hfaxd gives, MESS and DATA (dot-stuffed multi-line text), SUBJ, LEVE, HOLD, SITE commands, SEND queueing the job (its text checked in hfaxd\'s spool), PING, rejected pager ids and past HOLD times in the server\'s words. Not covered: hfaxd does not implement ALER, CALL, COVE or the level 3 two-way commands (sent as RFC 1861 has them, untested); with several pagers in one SEND hfaxd waits for delivery, which never comes without a modem, so multi-pager SEND is untested; no pager is reached. SNPP has no TLS.',
  },
  verifiedAgainst: 'HylaFAX hfaxd 6.0.7 (Debian 12 hylafax-server 3:6.0.7-5)',
  defaultOperation: 'probe',
  identify: identification,
  operations: {
    probe: operation({
      summary: 'The banner and HELP (and STAT where the server has it), after LOGI when credentials are given',
      input: z.object({ ...login }),
      output: z.object({ banner: z.string(), help: z.array(z.string()), status: z.array(z.string()).nullable(), loggedIn: z.boolean() }),
      text: (r) => [r.banner, ...r.help, ...(r.status ?? [])].join('\n'),
      async run(ctx, input) {
        const { c, banner } = await open(ctx, input);
        const help = await c.command('HELP');
        const stat = await c.command('STAT');
        await c.command('QUIT').catch(() => undefined);
        return { banner: banner.lines[0], help: isSuccess(help.code) ? help.lines : [], status: isSuccess(stat.code) ? stat.lines : null, loggedIn: input.user !== undefined };
      },
    }),
    send: operation({
      summary: 'Send a page to one or more pagers: PAGE each, the message (MESS, or DATA when it has several lines), the level 2 options, then SEND',
      input: z.object({
        pagers: z.array(oneLine('pager id', 256).pipe(z.string().min(1))).min(1).max(100).describe('Pager ids (PAGE), e.g. ["5551234"]').meta({ examples: [['5551234']] }),
        pin: oneLine('pin', 256).optional().describe('Password/PIN for every PAGE (RFC 1861 4.3.1 "PAGEr <id> [pass]")'),
        message: z
          .string()
          .min(1)
          .max(64 * 1024)
          .refine((m) => !dataLines(m).includes('.'), 'has a line that is a single "." (it would end the DATA text; SNPP has no escape for it)')
          .describe('The text: one line goes as MESS, several as DATA').meta({ examples: ['Server room temperature high'] }),
        subject: oneLine('subject').optional().describe('SUBJ'),
        level: z.number().int().min(0).max(11).optional().describe('LEVE: service level 0–11 (0 priority … 7 lowest; 8–11 server-defined)'),
        holdUntil: z.iso.datetime({ offset: true }).optional().describe('HOLD: deliver at this time (ISO 8601)'),
        alert: z.boolean().optional().describe('ALER: alert the recipient (1) or not (0)'),
        callerId: oneLine('callerId', 256).optional().describe('CALL: caller identification'),
        coverage: oneLine('coverage', 256).optional().describe('COVE: alternate coverage area'),
        site: z.array(oneLine('site command', 256)).max(20).default([]).describe('Server-specific SITE commands sent before SEND (hfaxd: ["JQUEUE YES"] to queue without waiting for delivery)'),
        ...login,
      }),
      output: z.object({
        pagers: z.array(z.object({ pager: z.string(), text: z.string(), jobId: z.string().nullable() })),
        sent: z.object({ code: z.number(), text: z.string() }),
        steps: z.array(stepOut).describe('Every command and the server\'s answer'),
      }),
      text: (r) => [...r.pagers.map((p) => `${p.pager}: ${p.text}`), `${r.sent.code} ${r.sent.text}`].join('\n'),
      async run(ctx, input) {
        const { c } = await open(ctx, input);
        const steps: z.infer<typeof stepOut>[] = [];
        const step = async (line: string) => {
          const r = await c.must(line);
          steps.push({ command: line.split(' ')[0], code: r.code, text: r.lines.join('\n') });
          return r;
        };
        if (input.level !== undefined) await step(`LEVE ${input.level}`);
        if (input.alert !== undefined) await step(`ALER ${input.alert ? 1 : 0}`);
        if (input.callerId !== undefined) await step(`CALL ${input.callerId}`);
        if (input.coverage !== undefined) await step(`COVE ${input.coverage}`);
        if (input.holdUntil !== undefined) await step(`HOLD ${holdTime(new Date(input.holdUntil))}`);
        for (const s of input.site) await step(`SITE ${s}`);
        const pagers = [];
        for (const pager of input.pagers) {
          const r = await step(`PAGE ${pager}${input.pin !== undefined ? ` ${input.pin}` : ''}`);
          const text = r.lines.join(' ');
          pagers.push({ pager, text, jobId: /jobid:\s*(\S+?)\.?$/i.exec(text)?.[1] ?? null });
        }
        if (input.subject !== undefined) await step(`SUBJ ${input.subject}`);
        if (/[\r\n]/.test(input.message)) {
          const go = await c.command('DATA');
          if (go.code !== 354) throw new ServerError(`DATA: ${go.code} ${go.lines.join(' ')}`, { code: go.code });
          await c.conn.write(encodeData(input.message), { decode: `message text, ${input.message.split('\n').length} lines` });
          const r = await c.reply();
          if (!isSuccess(r.code)) throw new ServerError(`DATA: ${r.code} ${r.lines.join(' ')}`, { code: r.code });
          steps.push({ command: 'DATA', code: r.code, text: r.lines.join('\n') });
        } else await step(`MESS ${input.message}`);
        const sent = await step('SEND');
        await c.command('QUIT').catch(() => undefined);
        return { pagers, sent: { code: sent.code, text: sent.lines.join(' ') }, steps };
      },
    }),
    ping: operation({
      summary: 'PING a pager: is the id valid, and where is it (RFC 1861 level 3 PING, which hfaxd offers)',
      input: z.object({ pager: oneLine('pager id', 256).pipe(z.string().min(1)).describe('Pager id').meta({ examples: ['5551234'] }), ...login }),
      output: z.object({ pager: z.string(), valid: z.boolean(), code: z.number(), text: z.string() }),
      text: (r) => `${r.pager}: ${r.code} ${r.text}`,
      async run(ctx, input) {
        const { c } = await open(ctx, input);
        const r = await c.command(`PING ${input.pager}`);
        await c.command('QUIT').catch(() => undefined);
        if (r.code === 500 || r.code === 502) throw new ServerError(`PING: ${r.code} ${r.lines.join(' ')}`, { code: r.code });
        return { pager: input.pager, valid: isSuccess(r.code), code: r.code, text: r.lines.join(' ') };
      },
    }),
  },
});
