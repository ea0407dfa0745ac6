// CVS pserver: log in, the server's version and the requests it accepts, and rls listings of the repository.
import * as z from 'zod';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { authenticate, send, start, type Login } from './client.ts';
import { identification } from './identify.ts';

const login = {
  root: z.string().min(1, 'root is required').max(1024).regex(/^\/[^\n\0]*$/, 'root is the repository path on the server, like /cvsroot').meta({ examples: ['/cvsroot'] }),
  user: z.string().min(1).max(256).regex(/^[^\n\0:]+$/, 'user is one line without a colon').default('anonymous'),
  password: z.string().max(1024).regex(/^[^\n\0]*$/, 'password is one line').default('').describe('pserver password (sent scrambled, which is not encryption)'),
};

async function session<T>(ctx: OperationContext, input: Login, fn: (conn: Awaited<ReturnType<OperationContext['dial']>>, valid: string[]) => Promise<T>): Promise<T> {
  const conn = await ctx.dial();
  await authenticate(conn, input, 'AUTH');
  ctx.timing.mark('authMs');
  const valid = await start(conn, input.root);
  return fn(conn, valid);
}

export interface LsEntry {
  name: string;
  /** With long: the date, revision, and whether it is a directory. */
  date?: string;
  revision?: string;
  directory?: boolean;
}

/** `ls -l` lines: "---- 2026-12-04 21:35:53 +0000 1.1.1.1    README", or "d--- date  name" for directories. */
function parseLong(line: string): LsEntry | null {
  const m = /^([d-])--- (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}) +(\S+)? +(.+)$/.exec(line);
  if (!m) return null;
  return { name: m[4], date: m[2], revision: m[1] === 'd' ? undefined : m[3], directory: m[1] === 'd' };
}

export default defineProtocol({
  id: 'cvs',
  title: 'CVS pserver',
  category: 'file',
  summary: 'Logs in to a CVS password server, reads its version and the requests it accepts, and lists modules and files (rls).',
  ports: [{ port: 2401, transport: 'tcp' }],
  specs: ['cvsclient.texi (The CVS client/server protocol)'],
  rating: {
    stars: 3,
    reason:
      'pserver AUTH and VERIFICATION with the scrambled password (I LOVE YOU / I HATE YOU and the server\'s error lines), valid-requests, version, and ls (rls) plain, long (-l, dates and revisions) and recursive; lab-tested against cvs 1.12.13 pserver with a CVSROOT/passwd user. No checkout, log or diff, no GSSAPI or ext (rsh/ssh) access.',
  },
  verifiedAgainst: 'cvs 1.12.13 pserver (Debian 1.12.13+real-28)',
  defaultOperation: 'version',
  identify: identification,
  operations: {
    login: operation({
      summary: 'BEGIN VERIFICATION REQUEST: check a user and password without starting a session',
      input: z.object(login),
      output: z.object({ accepted: z.literal(true) }),
      text: () => 'I LOVE YOU: the server accepted the login',
      async run(ctx, input) {
        const conn = await ctx.dial();
        await authenticate(conn, input, 'VERIFICATION');
        return { accepted: true as const };
      },
    }),
    version: operation({
      summary: "The server's CVS version and the requests it accepts",
      input: z.object(login),
      output: z.object({ version: z.string(), validRequests: z.array(z.string()) }),
      text: (r) => `${r.version}\nrequests: ${r.validRequests.join(' ')}`,
      run: (ctx, input) =>
        session(ctx, input, async (conn, validRequests) => {
          const a = await send(conn, ['version']);
          return { version: a.lines.join('\n'), validRequests };
        }),
    }),
    ls: operation({
      summary: 'ls (rls): the modules of the repository, or the files of a module or directory',
      input: z.object({
        ...login,
        path: z.string().max(1024).regex(/^[^\n\0]*$/, 'path is one line').default('').describe('A module or directory inside the repository; empty lists the top level'),
        long: z.boolean().default(false).describe('-l: dates and revisions'),
        recursive: z.boolean().default(false).describe('-R: descend into directories'),
      }),
      output: z.object({
        lines: z.array(z.string()),
        entries: z.array(z.object({ name: z.string(), date: z.string().optional(), revision: z.string().optional(), directory: z.boolean().optional() })),
        messages: z.array(z.string()),
      }),
      text: (r) => r.lines.join('\n'),
      run: (ctx, input) =>
        session(ctx, input, async (conn, valid) => {
          if (valid.length && !valid.includes('ls')) {
            return { lines: [], entries: [], messages: ['the server does not offer the ls request (CVS before 1.12)'] };
          }
          const args = [...(input.long ? ['-l'] : []), ...(input.recursive ? ['-R'] : []), ...(input.path ? [input.path] : [])];
          const a = await send(conn, [...args.map((x) => `Argument ${x}`), 'ls']);
          const entries = input.recursive ? [] : a.lines.map((line) => (input.long ? parseLong(line) : line ? { name: line } : null)).filter((e): e is LsEntry => e !== null);
          return { lines: a.lines, entries, messages: a.messages };
        }),
    }),
  },
});
