// SpamAssassin's spamd (spamd/PROTOCOL, SPAMC/1.5): PING, CHECK, SYMBOLS, REPORT, PROCESS and TELL.
import * as z from 'zod';
import { fromUtf8, utf8 } from '../../core/bytes.ts';
import { ProtocolError, ServerError } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { EX, headFrame, MAX_BODY, parseReport, parseSpamHeader, request, type Method, type SpamdResponse } from './codec.ts';
import { identification } from './identify.ts';

const head = headFrame();

const SAMPLE = 'From: sender@example.com\r\nTo: you@example.com\r\nSubject: Hello\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n\r\nHi there.\r\n';

const messageFields = {
  message: z.string().min(1, 'message is required').max(16 * 1024 * 1024).describe('The raw message (RFC 5322: headers, a blank line, the body); CRLF is added when it does not end in a line break').meta({ examples: [SAMPLE] }),
  user: z.string().max(256).regex(/^[^\r\n]*$/, 'user must not contain CR or LF').optional().describe('The User header: whose preferences and Bayes database spamd uses'),
};

async function exchange(ctx: OperationContext, method: Method, message: string | null, headers: Record<string, string> = {}): Promise<SpamdResponse> {
  const conn = await ctx.dial();
  // spamd reads the message line by line: a last line without its line break would wait for spamd's own timeout.
  const bytes = message === null ? null : utf8(message.endsWith('\n') ? message : `${message}\r\n`);
  await conn.write(request(method, bytes, headers), { decode: `${method} SPAMC/1.5${bytes ? ` (${bytes.length}-byte message)` : ''}` });
  const h = await conn.readFrame(head, 'spamd response', (r) => `SPAMD/${r.version} ${r.code} ${r.message}`);
  let body: Uint8Array | null = null;
  const length = h.headers.get('content-length');
  if (length !== undefined) {
    if (!/^\d+$/.test(length) || Number(length) > MAX_BODY) throw new ProtocolError(`spamd: Content-length ${JSON.stringify(length)} is not a size up to ${MAX_BODY}`);
    body = await conn.readExact(Number(length), 'spamd response body');
  }
  if (h.code !== 0) throw new ServerError(`spamd: ${h.code} ${EX[h.code] ?? ''} ${h.message}`.replace(/\s+/g, ' ').trim(), { code: h.code, name: EX[h.code] ?? null, message: h.message });
  return { ...h, body };
}

function verdict(r: SpamdResponse) {
  const spam = r.headers.get('spam');
  if (spam === undefined) throw new ProtocolError(`spamd: no Spam header in the answer to a check (${r.message})`);
  return parseSpamHeader(spam);
}

const verdictOut = { spam: z.boolean(), score: z.number(), threshold: z.number() };
const headersOf = (user?: string): Record<string, string> => (user ? { User: user } : {});
const verdictText = (r: { spam: boolean; score: number; threshold: number }) => `${r.spam ? 'spam' : 'ham'}: ${r.score} / ${r.threshold}`;

export default defineProtocol({
  id: 'spamd',
  title: 'SpamAssassin (spamd)',
  category: 'mail',
  summary: 'Asks SpamAssassin\'s spamd about a message: PING, CHECK (verdict and score), SYMBOLS (rules hit), REPORT (each rule\'s points and description), PROCESS (the message as marked up), and TELL to learn a message as spam or ham.',
  ports: [{ port: 783, transport: 'tcp' }],
  specs: ['SpamAssassin spamd/PROTOCOL (SPAMC/1.5)'],
  tls: { implicit: { port: 783 } },
  rating: {
    stars: 5,
    reason:
      'Lab-tested through workerd against SpamAssassin 4.0.1\'s spamd with its shipped rules (src/protocols/spamd/spamd.lab.test.ts): PING, CHECK (ham and GTUBE), SYMBOLS, REPORT parsed into rules with points and descriptions, PROCESS with the X-Spam headers, TELL learning into Bayes (DidSet), learning again (nothing set) and forgetting (DidRemove), over plain TCP and over TLS (spamd --listen ssl:). ' +
      'Not covered: REPORT_IFSPAM, HEADERS and SKIP, zlib-compressed requests, per-user preferences beyond the User header, network rule tests (the lab runs spamd --local).',
  },
  verifiedAgainst: 'SpamAssassin 4.0.1 (spamd)',
  defaultOperation: 'ping',
  identify: identification,
  operations: {
    ping: operation({
      summary: 'PING: spamd answers PONG with its protocol version',
      input: z.object({}),
      output: z.object({ version: z.string(), reply: z.string() }),
      text: (r) => `SPAMD/${r.version} ${r.reply}`,
      run: async (ctx) => {
        const r = await exchange(ctx, 'PING', null);
        return { version: r.version, reply: r.message };
      },
    }),
    check: operation({
      summary: 'CHECK: spam or not, the score and the threshold',
      input: z.object({ ...messageFields }),
      output: z.object(verdictOut),
      text: verdictText,
      run: async (ctx, input) => verdict(await exchange(ctx, 'CHECK', input.message, headersOf(input.user))),
    }),
    symbols: operation({
      summary: 'SYMBOLS: the verdict and the names of the rules the message hit',
      input: z.object({ ...messageFields }),
      output: z.object({ ...verdictOut, symbols: z.array(z.string()) }),
      text: (r) => `${verdictText(r)}\n${r.symbols.join(', ')}`,
      run: async (ctx, input) => {
        const r = await exchange(ctx, 'SYMBOLS', input.message, headersOf(input.user));
        const symbols = r.body ? fromUtf8(r.body).trim().split(',').map((s) => s.trim()).filter(Boolean) : [];
        return { ...verdict(r), symbols };
      },
    }),
    report: operation({
      summary: 'REPORT: the verdict and SpamAssassin\'s report, each rule with its points and description',
      input: z.object({ ...messageFields }),
      output: z.object({ ...verdictOut, rules: z.array(z.object({ points: z.number(), rule: z.string(), description: z.string() })), report: z.string() }),
      text: (r) => r.report,
      run: async (ctx, input) => {
        const r = await exchange(ctx, 'REPORT', input.message, headersOf(input.user));
        const report = r.body ? fromUtf8(r.body) : '';
        return { ...verdict(r), rules: parseReport(report), report };
      },
    }),
    process: operation({
      summary: 'PROCESS: the message as SpamAssassin marks it up (X-Spam-* headers; a spam message wrapped with its report)',
      input: z.object({ ...messageFields }),
      output: z.object({ ...verdictOut, message: z.string(), bytes: z.number() }),
      text: (r) => r.message,
      run: async (ctx, input) => {
        const r = await exchange(ctx, 'PROCESS', input.message, headersOf(input.user));
        const body = r.body ?? new Uint8Array(0);
        return { ...verdict(r), message: fromUtf8(body), bytes: body.length };
      },
    }),
    tell: operation({
      summary: 'TELL: learn a message as spam or ham into the local Bayes database (or forget it); needs spamd --allow-tell',
      input: z.object({
        ...messageFields,
        class: z.enum(['spam', 'ham']).describe('What the message is').meta({ examples: ['spam'] }),
        action: z.enum(['learn', 'forget']).default('learn').describe('Learn it (Set: local) or forget it (Remove: local)'),
      }),
      output: z.object({ didSet: z.array(z.string()), didRemove: z.array(z.string()), reply: z.string() }),
      text: (r) => (r.didSet.length || r.didRemove.length ? `set: ${r.didSet.join(', ') || '-'}; removed: ${r.didRemove.join(', ') || '-'}` : 'nothing changed (already known)'),
      run: async (ctx, input) => {
        const headers: Record<string, string> = { 'Message-class': input.class, ...(input.action === 'learn' ? { Set: 'local' } : { Remove: 'local' }), ...headersOf(input.user) };
        const r = await exchange(ctx, 'TELL', input.message, headers);
        const list = (k: string) => (r.headers.get(k) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        return { didSet: list('didset'), didRemove: list('didremove'), reply: r.message };
      },
    }),
  },
});
