// Gearman (gearman.org "Protocol"; gearmand administrative protocol): submit jobs in the foreground or background, ask their status, list functions and workers.
import * as z from 'zod';
import { bytesJson, fromLatin1 } from '../../core/bytes.ts';
import { bytesField, bytesOut, bytesPreview, encodingField, inputBytes } from '../../core/bytes-input.ts';
import { InvalidInput, ProtocolError } from '../../core/errors.ts';
import { defineProtocol, operation } from '../../core/protocol.ts';
import { adminLine, adminList, followJob, GearmanClient } from './client.ts';
import { PACKET, parseStatusLine, parseWorkerLine } from './codec.ts';
import { identification } from './identify.ts';

const functionName = z
  .string()
  .min(1)
  .max(512)
  .refine((s) => !/[\0\s]/.test(s), 'has whitespace or NUL')
  .describe('Function name a worker registered')
  .meta({ examples: ['reverse'] });

const handleField = z
  .string()
  .min(1)
  .max(512)
  .refine((s) => !/[\0\s]/.test(s), 'has whitespace or NUL')
  .describe('Job handle from JOB_CREATED (e.g. H:host:42)')
  .meta({ examples: ['H:lab:1'] });

const SUBMIT = {
  normal: [PACKET.SUBMIT_JOB, PACKET.SUBMIT_JOB_BG],
  high: [PACKET.SUBMIT_JOB_HIGH, PACKET.SUBMIT_JOB_HIGH_BG],
  low: [PACKET.SUBMIT_JOB_LOW, PACKET.SUBMIT_JOB_LOW_BG],
} as const;

const statusOut = z.object({ handle: z.string(), known: z.boolean(), running: z.boolean(), numerator: z.number(), denominator: z.number(), waitingClients: z.number().nullable() });

export default defineProtocol({
  id: 'gearman',
  title: 'Gearman',
  category: 'messaging',
  summary: 'Submits Gearman jobs (foreground with the worker\'s data, warnings, status and result; or background), asks a job\'s status, and reads gearmand\'s function table, workers and version over the text admin protocol.',
  ports: [{ port: 4730, transport: 'tcp' }],
  specs: ['Gearman protocol (gearman.org "Protocol")', 'gearmand administrative protocol'],
  rating: {
    stars: 4,
    reason:
      'Lab-tested through workerd against Debian\'s gearman-job-server 1.1.20 with workers from gearman-tools: foreground jobs at normal, high and low priority with the worker\'s result (binary data kept), background jobs and GET_STATUS / GET_STATUS_UNIQUE while they run and after, unknown functions waiting until the deadline, ECHO, and the admin protocol (status, workers, version, getpid). gearmand has no authentication; TLS (gearmand --ssl) is not in the lab. Not covered: the worker side (GRAB_JOB), WORK_EXCEPTION forwarding (OPTION_REQ exceptions), reducer jobs (SUBMIT_REDUCE_JOB), scheduled jobs (SUBMIT_JOB_EPOCH).',
  },
  verifiedAgainst: 'gearmand 1.1.20 (Debian 12 gearman-job-server 1.1.20+ds-1)',
  tls: { implicit: { port: 4730 } },
  defaultOperation: 'status',
  identify: identification,
  operations: {
    submit: operation({
      summary: 'Submit a job; in the foreground wait for its result (with WORK_DATA, WARNING and STATUS updates), in the background get its handle',
      input: z.object({
        function: functionName,
        data: bytesField(8 * 1024 * 1024).default('').describe('Workload: text (UTF-8), or {"base64": ...} / {"hex": ...}'),
        unique: z.string().max(64).refine((s) => !s.includes('\0'), 'has a NUL').optional().describe('Unique id: jobs with the same id are coalesced'),
        priority: z.enum(['normal', 'high', 'low']).default('normal'),
        background: z.boolean().default(false).describe('Do not wait: the server answers with the handle and runs the job detached'),
        encoding: encodingField,
        maxResultBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(8 * 1024 * 1024).describe('Largest packet accepted from the server'),
      }),
      output: z.object({
        handle: z.string(),
        background: z.boolean(),
        end: z.enum(['complete', 'fail', 'exception']).nullable().describe('Foreground: how the job ended'),
        result: bytesOut.nullable(),
        data: z.array(bytesOut).describe('WORK_DATA the worker sent on the way'),
        warnings: z.array(bytesOut),
        status: z.array(z.object({ numerator: z.number(), denominator: z.number() })),
        exception: bytesOut.nullable(),
      }),
      defaultTimeoutMs: 30_000,
      maxTimeoutMs: 600_000,
      text: (r) => (r.background ? `queued in the background as ${r.handle}` : r.end === 'complete' ? bytesPreview(r.result ?? {}) : `job ${r.handle} ended with ${r.end}${r.exception ? `: ${bytesPreview(r.exception)}` : ''}`),
      async run(ctx, input) {
        const data = inputBytes(input.data, 'data');
        const c = new GearmanClient(await ctx.dial(), input.maxResultBytes);
        const type = SUBMIT[input.priority][input.background ? 1 : 0];
        await c.send(type, [input.function, input.unique ?? '', data]);
        const handle = fromLatin1((await c.expect(PACKET.JOB_CREATED)).args[0]);
        ctx.timing.mark('createdMs');
        const none = { end: null, result: null, data: [], warnings: [], status: [], exception: null };
        if (input.background) return { handle, background: true, ...none };
        const r = await followJob(c, handle);
        const j = (b: Uint8Array) => bytesJson(b, input.encoding);
        return {
          handle,
          background: false,
          end: r.end,
          result: r.result ? j(r.result) : null,
          data: r.data.map(j),
          warnings: r.warnings.map(j),
          status: r.status,
          exception: r.exception ? j(r.exception) : null,
        };
      },
    }),
    jobStatus: operation({
      summary: 'Status of a job by handle (GET_STATUS) or by unique id (GET_STATUS_UNIQUE): known, running, progress',
      input: z.object({ handle: handleField.optional(), unique: z.string().min(1).max(64).optional().describe('The unique id the job was submitted with') }),
      output: statusOut,
      text: (r) => `${r.handle}: ${r.known ? (r.running ? `running ${r.numerator}/${r.denominator}` : 'queued') : 'unknown (finished or never submitted)'}${r.waitingClients !== null ? `, ${r.waitingClients} client(s) waiting` : ''}`,
      shortRoute: (extra) => (extra ? { handle: decodeURIComponent(extra) } : {}),
      async run(ctx, input) {
        if ((input.handle === undefined) === (input.unique === undefined)) throw InvalidInput.field('handle', 'give either handle or unique');
        const c = new GearmanClient(await ctx.dial());
        if (input.handle !== undefined) {
          await c.send(PACKET.GET_STATUS, [input.handle]);
          const [h, known, running, num, den] = (await c.expect(PACKET.STATUS_RES)).args.map(fromLatin1);
          return { handle: h, known: known === '1', running: running === '1', numerator: Number(num) || 0, denominator: Number(den) || 0, waitingClients: null };
        }
        await c.send(PACKET.GET_STATUS_UNIQUE, [input.unique!]);
        const [u, known, running, num, den, waiting] = (await c.expect(PACKET.STATUS_RES_UNIQUE)).args.map(fromLatin1);
        return { handle: u, known: known === '1', running: running === '1', numerator: Number(num) || 0, denominator: Number(den) || 0, waitingClients: Number(waiting) || 0 };
      },
    }),
    status: operation({
      summary: 'Admin "status": every function with its queued and running jobs and available workers',
      input: z.object({}),
      output: z.object({ functions: z.array(z.object({ name: z.string(), queued: z.number(), running: z.number(), workers: z.number() })) }),
      text: (r) => ['function\tqueued\trunning\tworkers', ...r.functions.map((f) => `${f.name}\t${f.queued}\t${f.running}\t${f.workers}`)].join('\n'),
      async run(ctx) {
        const conn = await ctx.dial();
        return { functions: await adminList(conn, 'status', parseStatusLine) };
      },
    }),
    workers: operation({
      summary: 'Admin "workers": every connection with its address, client id and registered functions',
      input: z.object({}),
      output: z.object({ workers: z.array(z.object({ fd: z.number(), address: z.string(), clientId: z.string(), functions: z.array(z.string()) })) }),
      text: (r) => r.workers.map((w) => `${w.fd}\t${w.address}\t${w.clientId}\t${w.functions.join(' ')}`).join('\n'),
      async run(ctx) {
        const conn = await ctx.dial();
        return { workers: await adminList(conn, 'workers', parseWorkerLine) };
      },
    }),
    version: operation({
      summary: 'Admin "version" and "getpid", and a binary ECHO round trip',
      input: z.object({}),
      output: z.object({ version: z.string(), pid: z.number().nullable(), echoMs: z.number() }),
      text: (r) => `gearmand ${r.version}${r.pid !== null ? ` (pid ${r.pid})` : ''}, echo ${r.echoMs} ms`,
      async run(ctx) {
        const conn = await ctx.dial();
        const version = (await adminLine(conn, 'version')).replace(/^OK /, '');
        const pidLine = await adminLine(conn, 'getpid').catch(() => '');
        const pid = /^OK (\d+)$/.exec(pidLine)?.[1];
        const c = new GearmanClient(conn);
        const t0 = performance.now();
        await c.send(PACKET.ECHO_REQ, ['portolan']);
        const echoed = fromLatin1((await c.expect(PACKET.ECHO_RES)).args[0]);
        if (echoed !== 'portolan') throw new ProtocolError(`ECHO came back as ${JSON.stringify(echoed)}`);
        return { version, pid: pid ? Number(pid) : null, echoMs: Math.round((performance.now() - t0) * 10) / 10 };
      },
    }),
  },
});
