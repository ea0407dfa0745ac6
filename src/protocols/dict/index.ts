// DICT, RFC 2229: dictionary lookups (DEFINE, MATCH, SHOW DB, SHOW STRAT).
import * as z from 'zod';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import type { Conn } from '../../core/conn.ts';
import { quote } from './codec.ts';
import { authenticate, define, greet, match, quit, show } from './client.ts';
import { identification } from './identify.ts';

const word = z.string().min(1, 'word is required').max(512).regex(/^[^\r\n]*$/, 'word must be one line');
const database = z.string().min(1).max(256).regex(/^[^\s"'\\]+$/, 'database is a name, or * (all) or ! (first match)').default('*');

const auth = z
  .object({ user: z.string().min(1).max(256).regex(/^[^\s"'\\]+$/, 'user is one word'), secret: z.string().min(1).max(1024) })
  .optional()
  .describe('AUTH with a shared secret (RFC 2229 3.11), for servers that restrict databases');

async function session<T>(ctx: OperationContext, input: { auth?: { user: string; secret: string } }, fn: (conn: Conn, banner: string) => Promise<T>): Promise<T> {
  const conn = await ctx.dial();
  const { banner, msgId } = await greet(conn);
  if (input.auth) await authenticate(conn, ctx.crypto, msgId, input.auth.user, input.auth.secret, quote);
  const out = await fn(conn, banner);
  await quit(conn);
  return out;
}

const pair = z.object({ name: z.string(), description: z.string() });

export default defineProtocol({
  id: 'dict',
  title: 'DICT',
  category: 'directory',
  summary: 'Looks up words in dictionary servers: definitions, matches by strategy, databases and strategies (RFC 2229).',
  ports: [{ port: 2628, transport: 'tcp' }],
  specs: ['RFC 2229'],
  rating: { stars: 4, reason: 'DEFINE, MATCH, SHOW DB, SHOW STRAT, SHOW INFO and AUTH with quoting, dot-unstuffing and every preliminary reply; lab-tested against dictd with two databases. AUTH with a shared secret, right and wrong. No OPTION MIME or SASL.' },
  verifiedAgainst: 'dictd 1.13.0',
  defaultOperation: 'define',
  identify: identification,
  operations: {
    define: operation({
      summary: 'Definitions of a word',
      input: z.object({ word, database, auth }),
      output: z.object({ banner: z.string(), definitions: z.array(z.object({ word: z.string(), database: z.string(), description: z.string(), text: z.string() })) }),
      shortRoute: (extra) => (extra ? { word: extra } : {}),
      text: (r) => (r.definitions.length === 0 ? 'no match' : r.definitions.map((d) => `From ${d.description} [${d.database}]:\n\n${d.text}\n`).join('\n')),
      run: (ctx, input) => session(ctx, input, async (conn, banner) => ({ banner, definitions: await define(conn, input.database, input.word, quote) })),
    }),
    match: operation({
      summary: 'Words matching a pattern under a strategy',
      input: z.object({ word, database, auth, strategy: z.string().min(1).max(64).regex(/^[^\s"'\\]+$/).default('.').describe('Strategy name, or . for the server default') }),
      output: z.object({ matches: z.array(z.object({ database: z.string(), word: z.string() })) }),
      text: (r) => r.matches.map((m) => `${m.database}: ${m.word}`).join('\n') || 'no match',
      run: (ctx, input) => session(ctx, input, async (conn) => ({ matches: await match(conn, input.database, input.strategy, input.word, quote) })),
    }),
    databases: operation({
      summary: 'SHOW DB: the databases the server offers',
      input: z.object({ auth }),
      output: z.object({ databases: z.array(pair) }),
      text: (r) => r.databases.map((d) => `${d.name}\t${d.description}`).join('\n'),
      run: (ctx, input) => session(ctx, input, async (conn) => ({ databases: (await show(conn, 'DB')).pairs })),
    }),
    strategies: operation({
      summary: 'SHOW STRAT: the match strategies the server offers',
      input: z.object({ auth }),
      output: z.object({ strategies: z.array(pair) }),
      text: (r) => r.strategies.map((d) => `${d.name}\t${d.description}`).join('\n'),
      run: (ctx, input) => session(ctx, input, async (conn) => ({ strategies: (await show(conn, 'STRAT')).pairs })),
    }),
    info: operation({
      summary: 'SHOW INFO: the description of one database',
      input: z.object({ database: z.string().min(1).max(256).regex(/^[^\s"'\\*!]+$/, 'database must be one database name'), auth }),
      output: z.object({ text: z.string() }),
      text: (r) => r.text,
      run: (ctx, input) => session(ctx, input, async (conn) => ({ text: (await show(conn, 'INFO', input.database)).text })),
    }),
  },
});
