// HAProxy runtime API over a TCP stats socket (HAProxy management guide sections 9.1 and 9.3).
import * as z from 'zod';
import { InvalidInput } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { runAction, runCommands, throwIfRefused, type Answer } from './client.ts';
import { parseInfo, parseServersState, parseSessions, parseStatCsv } from './codec.ts';
import { identification } from './identify.ts';

const maxBytes = z.number().int().min(1024).max(16 * 1024 * 1024).default(4 * 1024 * 1024).describe('Longest answer read; more is cut and flagged truncated');
const name = z.string().min(1).max(256).regex(/^[^\s;/#]+$/, 'a name without spaces, ";", "/" or "#"');
const serverRef = { backend: name.describe('Backend (proxy) name').meta({ examples: ['app'] }), server: name.describe('Server name in that backend').meta({ examples: ['s1'] }) };

async function ask(ctx: OperationContext, commands: string[], max: number): Promise<Answer> {
  const conn = await ctx.dial();
  const answer = await runCommands(conn, commands, max);
  throwIfRefused(answer.text);
  return answer;
}

async function act(ctx: OperationContext, command: string): Promise<{ command: string; message: string }> {
  const conn = await ctx.dial();
  return { command, message: await runAction(conn, command, 64 * 1024) };
}

const cell = z.union([z.string(), z.number()]);

/** A text table: the named columns of each row, padded. */
function table(rows: Record<string, string | number>[], columns: string[]): string {
  const cells = [columns, ...rows.map((r) => columns.map((c) => String(r[c] ?? '')))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

const STAT_COLUMNS = ['pxname', 'svname', 'status', 'weight', 'scur', 'smax', 'stot', 'bin', 'bout', 'check_status', 'addr'];

export default defineProtocol({
  id: 'haproxy',
  title: 'HAProxy runtime API',
  category: 'monitoring',
  summary: 'Reads and steers a running HAProxy through its runtime API on a TCP stats socket: process info, statistics as a table, server states and sessions; enables, disables and re-weights servers.',
  ports: [
    { port: 9999, transport: 'tcp', label: 'stats socket (a common choice; HAProxy has no fixed port)' },
    { port: 9998, transport: 'tls', label: 'stats socket with ssl' },
  ],
  specs: ['HAProxy management guide 9.1 (CSV statistics)', 'HAProxy management guide 9.3 (Unix Socket commands)'],
  rating: {
    stars: 5,
    reason:
      'Lab-tested against Debian\'s HAProxy 2.6 on TCP stats sockets at admin and user level, plain and with ssl, through workerd: show info, show stat as typed rows and a table, show servers state, show sess (a live session found by its frontend), disable/enable server and set weight read back from the server state, the server\'s own words for a missing server, an out-of-range weight and a user-level socket (Permission denied → auth_failed), and any command. The runtime API has no authentication of its own beyond the socket\'s level. Not covered: the master CLI of master-worker mode, maps and ACL editing as structured operations (the command operation runs them).',
  },
  verifiedAgainst: 'HAProxy 2.6.12-1+deb12u4 (Debian 12)',
  tls: { implicit: { port: 9998 } },
  defaultOperation: 'info',
  identify: identification,
  operations: {
    info: operation({
      summary: 'show info: version, uptime, connections, rates and limits of the HAProxy process',
      input: z.object({}),
      output: z.object({ version: z.string().nullable(), uptimeSeconds: z.number().nullable(), currentConnections: z.number().nullable(), info: z.record(z.string(), z.string()) }),
      text: (r) => Object.entries(r.info).map(([k, v]) => `${k}: ${v}`).join('\n'),
      async run(ctx) {
        const info = parseInfo((await ask(ctx, ['show info'], 256 * 1024)).text);
        const num = (k: string) => (info[k] !== undefined && /^\d+$/.test(info[k]) ? Number(info[k]) : null);
        return { version: info.Version ?? null, uptimeSeconds: num('Uptime_sec'), currentConnections: num('CurrConns'), info };
      },
    }),
    stat: operation({
      summary: 'show stat: every frontend, backend and server with its counters, as rows (CSV decoded) and a text table',
      input: z.object({ proxy: name.optional().describe('Only this frontend or backend'), maxBytes }),
      output: z.object({ columns: z.array(z.string()), rows: z.array(z.record(z.string(), cell)), truncated: z.boolean() }),
      text: (r) => table(r.rows, STAT_COLUMNS.filter((c) => r.columns.includes(c))),
      async run(ctx, input) {
        // show stat [{<iid>|<proxy>} <type> <sid>]: -1 selects every type and server.
        const a = await ask(ctx, [input.proxy ? `show stat ${input.proxy} -1 -1` : 'show stat'], input.maxBytes);
        return { ...parseStatCsv(a.text), truncated: a.truncated };
      },
    }),
    servers: operation({
      summary: 'show servers state: each server\'s address, operational and administrative state and weights',
      input: z.object({ backend: name.optional().describe('Only this backend'), maxBytes }),
      output: z.object({ version: z.number(), columns: z.array(z.string()), servers: z.array(z.record(z.string(), cell)), truncated: z.boolean() }),
      text: (r) => table(r.servers, ['be_name', 'srv_name', 'srv_addr', 'srv_port', 'srv_op_state', 'srv_admin_state', 'srv_uweight', 'srv_iweight'].filter((c) => r.columns.includes(c))),
      async run(ctx, input) {
        const a = await ask(ctx, [input.backend ? `show servers state ${input.backend}` : 'show servers state'], input.maxBytes);
        if (/^Can't find backend/i.test(a.text.trim())) throw InvalidInput.field('backend', a.text.trim());
        return { ...parseServersState(a.text), truncated: a.truncated };
      },
    }),
    sessions: operation({
      summary: 'show sess: the streams in progress (client, frontend, backend, server, age)',
      input: z.object({ maxBytes, includeOwn: z.boolean().default(false).describe('Keep the stream of this very command (frontend GLOBAL)') }),
      output: z.object({ sessions: z.array(z.object({ id: z.string(), fields: z.record(z.string(), z.string()) })), truncated: z.boolean() }),
      text: (r) => r.sessions.map((s) => `${s.id} ${['proto', 'src', 'fe', 'be', 'srv', 'age'].map((k) => `${k}=${s.fields[k] ?? ''}`).join(' ')}`).join('\n') || '(no sessions)',
      async run(ctx, input) {
        const a = await ask(ctx, ['show sess'], input.maxBytes);
        const all = parseSessions(a.text);
        return { sessions: input.includeOwn ? all : all.filter((s) => s.fields.fe !== 'GLOBAL'), truncated: a.truncated };
      },
    }),
    disable: operation({
      summary: 'disable server: put a server in maintenance (needs an admin-level socket)',
      input: z.object(serverRef),
      output: z.object({ command: z.string(), message: z.string() }),
      run: (ctx, input) => act(ctx, `disable server ${input.backend}/${input.server}`),
    }),
    enable: operation({
      summary: 'enable server: take a server out of maintenance (needs an admin-level socket)',
      input: z.object(serverRef),
      output: z.object({ command: z.string(), message: z.string() }),
      run: (ctx, input) => act(ctx, `enable server ${input.backend}/${input.server}`),
    }),
    weight: operation({
      summary: 'set weight: a server\'s weight, absolute (0–256) or a percentage of its initial weight',
      input: z.object({ ...serverRef, weight: z.string().regex(/^\d{1,3}%?$/, 'a number 0–256, or a percentage such as 50%').meta({ examples: ['20', '50%'] }) }),
      output: z.object({ command: z.string(), message: z.string() }),
      run: (ctx, input) => act(ctx, `set weight ${input.backend}/${input.server} ${input.weight}`),
    }),
    command: operation({
      summary: 'Any runtime API command line (commands separated by ";"), answered as text',
      input: z.object({ command: z.string().min(1).max(16 * 1024).regex(/^[^\r\n]+$/, 'one line').meta({ examples: ['show backend'] }), maxBytes }),
      output: z.object({ text: z.string(), bytes: z.number(), truncated: z.boolean() }),
      text: (r) => r.text,
      async run(ctx, input) {
        const conn = await ctx.dial();
        return runCommands(conn, [input.command], input.maxBytes);
      },
    }),
  },
});
