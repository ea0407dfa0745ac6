// POP3, RFC 1939 with CAPA (RFC 2449), STLS (RFC 2595), SASL AUTH (RFC 5034); POP3S (RFC 8314) on 995.
import * as z from 'zod';
import { fromUtf8, toBase64 } from '../../core/bytes.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext, type TargetFields } from '../../core/protocol.ts';
import { headerBlock, parseHeaders } from '../mail/mime.ts';
import { chooseMechanism, type SaslMechanismName } from '../mail/sasl.ts';
import { apopTimestamp, parseScanListing, parseStat } from './codec.ts';
import { errorFor, Pop3Session, statusText } from './client.ts';
import { identification } from './identify.ts';

const authMethod = z
  .enum(['auto', 'USER', 'APOP', 'AUTH PLAIN', 'AUTH LOGIN', 'AUTH CRAM-MD5', 'AUTH SCRAM-SHA-256'])
  .default('auto')
  .describe('auto: AUTH PLAIN over TLS; on a plain connection AUTH SCRAM-SHA-256, APOP or AUTH CRAM-MD5 when offered; else USER/PASS');

const credentials = { username: z.string().min(1).max(512), password: z.string().max(1024), authMethod };

type Auth = { username?: string; password?: string; authMethod: z.infer<typeof authMethod> };

interface Opened {
  session: Pop3Session;
  greeting: string;
  before: Record<string, string[]> | null;
  afterStls: Record<string, string[]> | null;
  method: string | null;
}

async function open(ctx: OperationContext, input: TargetFields & Auth): Promise<Opened> {
  const conn = await ctx.dial();
  const s = new Pop3Session(conn);
  const g = await s.readGreeting();
  ctx.timing.mark('greetingMs');
  const before = await s.capa();
  let afterStls: Record<string, string[]> | null = null;
  if (input.tls === 'starttls') {
    await s.stls();
    ctx.timing.mark('tlsMs');
    afterStls = s.capabilities;
  }
  let method: string | null = null;
  if (input.username !== undefined) {
    if (input.password === undefined) throw InvalidInput.field('password', 'is required with username');
    method = await login(ctx, s, input as Required<Auth>);
    ctx.timing.mark('authMs');
  }
  return { session: s, greeting: g.text, before, afterStls, method };
}

async function login(ctx: OperationContext, s: Pop3Session, input: Required<Auth>): Promise<string> {
  let method: string = input.authMethod;
  if (method === 'auto') {
    const mech = chooseMechanism(s.saslMechanisms(), 'auto', s.conn.tlsActive);
    if (s.conn.tlsActive && mech === 'PLAIN') method = 'AUTH PLAIN';
    else if (mech === 'SCRAM-SHA-256') method = 'AUTH SCRAM-SHA-256';
    else if (!s.conn.tlsActive && s.greeting && apopTimestamp(s.greeting.text)) method = 'APOP';
    else if (mech === 'CRAM-MD5') method = 'AUTH CRAM-MD5';
    else method = 'USER';
  }
  const creds = { username: input.username, password: input.password };
  if (method === 'USER') await s.userPass(creds.username, creds.password);
  else if (method === 'APOP') await s.apop(creds.username, creds.password, ctx.crypto);
  else {
    const mech = method.slice(5) as SaslMechanismName;
    if (s.capabilities && !s.saslMechanisms().includes(mech)) throw InvalidInput.field('authMethod', `the server does not offer SASL ${mech} (CAPA SASL: ${s.saslMechanisms().join(' ') || 'none'})`);
    await s.auth(mech, creds, ctx.crypto);
  }
  return method;
}

async function withMaildrop<T>(ctx: OperationContext, input: TargetFields & Auth, fn: (s: Pop3Session) => Promise<T>): Promise<T> {
  const { session } = await open(ctx, input);
  const out = await fn(session);
  await session.quit();
  return out;
}

/** Message number for a UIDL value, through UIDL (RFC 1939 7). */
async function numberOf(s: Pop3Session, input: { number?: number; uid?: string }): Promise<{ number: number; uid: string | null }> {
  if (input.number !== undefined) return { number: input.number, uid: input.uid ?? null };
  if (input.uid === undefined) throw InvalidInput.field('number', 'give number or uid');
  const { body } = await s.multi('UIDL');
  const hit = parseScanListing(body, 'UIDL').find((x) => x.value === input.uid);
  if (!hit) throw InvalidInput.field('uid', `no message with UIDL ${input.uid} in the maildrop`);
  return { number: hit.number, uid: input.uid };
}

export function present(bytes: Uint8Array): { text?: string; base64?: string } {
  try {
    return { text: fromUtf8(bytes, true) };
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return { base64: toBase64(bytes) };
  }
}

function summary(headers: Uint8Array): { subject: string | null; from: string | null; date: string | null; messageId: string | null } {
  const h = parseHeaders(headerBlock(headers));
  const get = (n: string) => h.find((x) => x.name.toLowerCase() === n)?.value ?? null;
  return { subject: get('subject'), from: get('from'), date: get('date'), messageId: get('message-id') };
}

const which = {
  number: z.number().int().min(1).optional().describe('Message number in this session'),
  uid: z.string().max(70).optional().describe('UIDL of the message (stable across sessions)'),
};

const pipelining = z.boolean().default(true).describe('Pipeline TOP or DELE commands when CAPA lists PIPELINING (RFC 2449 6.6)');

const capaOut = z.record(z.string(), z.array(z.string())).nullable();

export default defineProtocol({
  id: 'pop3',
  title: 'POP3 / POP3S',
  category: 'mail',
  summary: 'Reads a POP3 maildrop: capabilities, STLS, USER/PASS, APOP, SASL, STAT, LIST with UIDL and headers, TOP, RETR, DELE with RSET (RFC 1939).',
  ports: [
    { port: 110, transport: 'tcp', label: 'POP3 (STLS)' },
    { port: 995, transport: 'tls', label: 'POP3S' },
  ],
  specs: ['RFC 1939', 'RFC 2449', 'RFC 2595', 'RFC 5034', 'RFC 8314', 'RFC 7677'],
  rating: { stars: 5, reason: 'CAPA before/after STLS and after login, USER/PASS, APOP, AUTH PLAIN/LOGIN/CRAM-MD5/SCRAM-SHA-256 (every mechanism the lab Dovecot offers; SCRAM checks the server signature), STAT, LIST with UIDL and headers, TOP, RETR with byte-stuffing undone (read back byte for byte after SMTP submission), DELE with RSET and QUIT, PIPELINING of the TOPs and DELEs when CAPA lists it (one write, the same answers as one by one), errors as auth_failed/server_error with the server text, lab-tested through workerd against Dovecot on POP3, STLS and POP3S. A message is read whole up to 32 MiB.' },
  verifiedAgainst: 'Dovecot 2.3.19.1+dfsg1-2.1+deb12u7',
  tls: { implicit: { port: 995 }, starttls: true },
  defaultOperation: 'capabilities',
  identify: identification,
  operations: {
    capabilities: operation({
      summary: 'Greeting, CAPA before and after STLS (and after login), APOP support',
      input: z.object({ username: z.string().min(1).max(512).optional(), password: z.string().max(1024).optional(), authMethod }),
      output: z.object({
        greeting: z.string(),
        apop: z.boolean().describe('The greeting carries an APOP timestamp'),
        capabilities: capaOut,
        capabilitiesAfterStls: capaOut,
        capabilitiesAfterLogin: capaOut,
        tls: z.boolean(),
        authMethod: z.string().nullable(),
      }),
      text: (r) => [r.greeting, `CAPA: ${Object.keys(r.capabilitiesAfterLogin ?? r.capabilitiesAfterStls ?? r.capabilities ?? {}).join(' ')}`].join('\n'),
      async run(ctx, input) {
        const o = await open(ctx, input);
        const afterLogin = o.method ? await o.session.capa() : null;
        await o.session.quit();
        return {
          greeting: o.greeting,
          apop: apopTimestamp(o.greeting) !== null,
          capabilities: o.before,
          capabilitiesAfterStls: o.afterStls,
          capabilitiesAfterLogin: afterLogin,
          tls: o.session.conn.tlsActive,
          authMethod: o.method,
        };
      },
    }),
    stat: operation({
      summary: 'STAT: message count and maildrop size',
      input: z.object(credentials),
      output: z.object({ count: z.number(), size: z.number(), authMethod: z.string() }),
      async run(ctx, input) {
        const o = await open(ctx, input);
        const st = parseStat((await o.session.ok('STAT')).text);
        await o.session.quit();
        return { ...st, authMethod: o.method! };
      },
    }),
    list: operation({
      primary: ['username', 'password', 'limit'],
      summary: 'LIST with UIDL, and the Subject/From/Date of the last messages through TOP 0',
      input: z.object({ ...credentials, headers: z.boolean().default(true), limit: z.number().int().min(1).max(500).default(50).describe('Headers for at most this many of the newest messages'), pipelining }),
      output: z.object({
        pipelined: z.boolean().describe('The TOP commands went out pipelined (RFC 2449 PIPELINING)'),
        count: z.number(),
        size: z.number(),
        messages: z.array(z.object({ number: z.number(), size: z.number(), uid: z.string().nullable(), subject: z.string().nullable().optional(), from: z.string().nullable().optional(), date: z.string().nullable().optional(), messageId: z.string().nullable().optional() })),
      }),
      text: (r) => r.messages.map((m) => `${m.number}\t${m.size}\t${m.uid ?? ''}\t${m.subject ?? ''}`).join('\n'),
      maxTimeoutMs: 120_000,
      run: (ctx, input) =>
        withMaildrop(ctx, input, async (s) => {
          const st = parseStat((await s.ok('STAT')).text);
          const sizes = parseScanListing((await s.multi('LIST')).body, 'LIST');
          const uidl = await s.command('UIDL');
          const uids = new Map(uidl.ok ? parseScanListing(await s.body('UIDL'), 'UIDL').map((x) => [x.number, x.value]) : []);
          const newest = input.headers ? sizes.slice(-input.limit) : [];
          const tops = await s.pipeline(newest.map((x) => `TOP ${x.number} 0`), true, input.pipelining);
          const headers = new Map(newest.map((x, i) => [x.number, tops.replies[i]]));
          const messages = sizes.map((x) => {
            const top = headers.get(x.number);
            if (top && !top.status.ok) throw errorFor('TOP', top.status);
            return { number: x.number, size: Number(x.value), uid: uids.get(x.number) ?? null, ...(top?.body ? summary(top.body) : {}) };
          });
          return { pipelined: tops.pipelined, ...st, messages };
        }),
    }),
    retrieve: operation({
      primary: ['username', 'password', 'number'],
      summary: 'RETR a message (byte-stuffing undone) by number or UIDL',
      input: z.object({ ...credentials, ...which }),
      output: z.object({ number: z.number(), uid: z.string().nullable(), size: z.number(), subject: z.string().nullable(), from: z.string().nullable(), date: z.string().nullable(), messageId: z.string().nullable(), text: z.string().optional(), base64: z.string().optional() }),
      text: (r) => r.text ?? `${r.size} bytes (base64 in JSON)`,
      maxTimeoutMs: 120_000,
      run: (ctx, input) =>
        withMaildrop(ctx, input, async (s) => {
          const { number, uid } = await numberOf(s, input);
          const { body } = await s.multi(`RETR ${number}`, 'RETR');
          return { number, uid, size: body.length, ...summary(body), ...present(body) };
        }),
    }),
    top: operation({
      primary: ['username', 'password', 'number', 'lines'],
      summary: 'TOP: the headers and the first lines of a message',
      input: z.object({ ...credentials, ...which, lines: z.number().int().min(0).max(100_000).default(0) }),
      output: z.object({ number: z.number(), uid: z.string().nullable(), size: z.number(), subject: z.string().nullable(), from: z.string().nullable(), date: z.string().nullable(), messageId: z.string().nullable(), text: z.string().optional(), base64: z.string().optional() }),
      text: (r) => r.text ?? '',
      run: (ctx, input) =>
        withMaildrop(ctx, input, async (s) => {
          const { number, uid } = await numberOf(s, input);
          const { body } = await s.multi(`TOP ${number} ${input.lines}`, 'TOP');
          return { number, uid, size: body.length, ...summary(body), ...present(body) };
        }),
    }),
    delete: operation({
      summary: 'DELE messages by number or UIDL, then QUIT (UPDATE); with rset, RSET undoes them first',
      input: z.object({ ...credentials, numbers: z.array(z.number().int().min(1)).max(1000).default([]).meta({ examples: [[1]] }), uids: z.array(z.string().max(70)).max(1000).default([]), rset: z.boolean().default(false).describe('Send RSET before QUIT: nothing is deleted'), pipelining }),
      output: z.object({ pipelined: z.boolean(), marked: z.array(z.object({ number: z.number(), uid: z.string().nullable(), reply: z.string() })), rset: z.string().nullable(), countBeforeQuit: z.number(), quit: z.string().nullable() }),
      async run(ctx, input) {
        if (input.numbers.length === 0 && input.uids.length === 0) throw InvalidInput.field('numbers', 'give numbers or uids');
        const o = await open(ctx, input);
        const s = o.session;
        const targets: { number: number; uid: string | null }[] = input.numbers.map((n) => ({ number: n, uid: null }));
        if (input.uids.length > 0) {
          const listing = parseScanListing((await s.multi('UIDL')).body, 'UIDL');
          for (const [i, uid] of input.uids.entries()) {
            const hit = listing.find((x) => x.value === uid);
            if (!hit) throw InvalidInput.field(`uids.${i}`, `no message with UIDL ${uid} in the maildrop`);
            targets.push({ number: hit.number, uid });
          }
        }
        const dele = await s.pipeline(targets.map((t) => `DELE ${t.number}`), false, input.pipelining);
        const marked = targets.map((t, i) => {
          const r = dele.replies[i].status;
          if (!r.ok) throw errorFor(`DELE ${t.number}`, r);
          return { ...t, reply: statusText(r) };
        });
        const rset = input.rset ? statusText(await s.ok('RSET')) : null;
        const countBeforeQuit = parseStat((await s.ok('STAT')).text).count;
        const quit = await s.quit();
        if (quit && !quit.ok) throw new ProtocolError(`QUIT failed, the deletions may not have happened: ${statusText(quit)}`);
        return { pipelined: dele.pipelined, marked, rset, countBeforeQuit, quit: quit ? statusText(quit) : null };
      },
    }),
  },
});
