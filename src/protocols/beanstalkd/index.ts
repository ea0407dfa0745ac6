// beanstalkd (doc/protocol.txt, 1.12): tubes and their stats, put with priority/delay/ttr, reserve with timeout and what to do with the job, delete, kick, peek, pause.
import * as z from 'zod';
import { bytesJson } from '../../core/bytes.ts';
import { bytesField, bytesOut, bytesPreview, encodingField, inputBytes } from '../../core/bytes-input.ts';
import { InvalidInput } from '../../core/errors.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { BeanstalkClient, jobOf, type Job } from './client.ts';
import { parseYaml, tubeProblem, type YamlValue } from './codec.ts';
import { identification } from './identify.ts';

const tube = z
  .string()
  .superRefine((t, ctx) => {
    const problem = tubeProblem(t);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ examples: ['emails'] });

const tubeDefault = tube.default('default').describe('Tube (default: "default")');
const jobId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).describe('Job id').meta({ examples: [1] });
const priorityValue = z.number().int().min(0).max(0xffffffff);
const priority = priorityValue.default(1024).describe('Priority: 0 is most urgent, 2^32-1 least (default 1024)');
const maxJobBytes = z.number().int().min(1024).max(16 * 1024 * 1024).default(4 * 1024 * 1024).describe('Largest job body accepted from the server');

const statsOut = z.record(z.string(), z.union([z.string(), z.number()]));
const jobOut = z.object({ id: z.number(), size: z.number(), body: bytesOut, stats: statsOut.nullable().describe('stats-job: tube, state, pri, age, delay, ttr, time-left, reserves, timeouts, releases, buries, kicks') });

async function open(ctx: OperationContext, maxBody?: number): Promise<BeanstalkClient> {
  return new BeanstalkClient(await ctx.dial(), maxBody);
}

async function jobJson(c: BeanstalkClient, job: Job, encoding: 'auto' | 'text' | 'base64' | 'hex', withStats = true) {
  let stats: Record<string, YamlValue> | null = null;
  if (withStats) {
    const r = await c.call(['stats-job', job.id]);
    // The job may be gone already (deleted by another client): then there are no stats.
    if (r.status === 'OK') stats = parseYaml(r.body!) as Record<string, YamlValue>;
  }
  return { id: job.id, size: job.body.length, body: bytesJson(job.body, encoding), stats };
}

function renderStats(s: Record<string, string | number>): string {
  const width = Math.max(...Object.keys(s).map((k) => k.length));
  return Object.entries(s)
    .map(([k, v]) => `${k.padEnd(width)}  ${v}`)
    .join('\n');
}

function renderJob(j: z.infer<typeof jobOut>): string {
  return `job ${j.id} (${j.size} bytes${j.stats ? `, ${j.stats.state} in ${j.stats.tube}, pri ${j.stats.pri}` : ''})\n${bytesPreview(j.body)}`;
}

export default defineProtocol({
  id: 'beanstalkd',
  title: 'beanstalkd',
  category: 'messaging',
  summary: 'Works a beanstalkd work queue: server and tube stats, put with priority, delay and time-to-run, reserve with a timeout and then delete, release or bury, peek at ready, delayed and buried jobs, kick, delete and pause tubes.',
  ports: [{ port: 11300, transport: 'tcp' }],
  specs: ['beanstalkd doc/protocol.txt (1.12)'],
  rating: {
    stars: 5,
    reason:
      'Lab-tested through workerd against Debian\'s beanstalkd 1.12: stats, list-tubes with stats-tube per tube, put with priority/delay/ttr into a tube (binary bodies kept), reserve-with-timeout over watched tubes then delete, release (priority, delay) or bury, reserve-job by id, peek by id and peek-ready/delayed/buried with stats-job, kick and kick-job, delete, pause-tube; NOT_FOUND, TIMED_OUT, JOB_TOO_BIG and DRAINING reported in the server\'s words; reply sizes capped before any allocation. beanstalkd has no authentication and no TLS, so there is none to offer. Not offered: touch (a job stays reserved only for one operation), an interactive session holding jobs across calls.',
  },
  verifiedAgainst: 'beanstalkd 1.12 (Debian 12 beanstalkd 1.12-2+b1)',
  defaultOperation: 'stats',
  identify: identification,
  operations: {
    stats: operation({
      summary: 'Server statistics: version, uptime, job counts by state, commands run, connections, binlog',
      input: z.object({}),
      output: z.object({ stats: statsOut }),
      text: (r) => renderStats(r.stats),
      async run(ctx) {
        const c = await open(ctx);
        return { stats: await c.dict(['stats']) };
      },
    }),
    tubes: operation({
      summary: 'Every tube with its job counts (list-tubes, then stats-tube for each)',
      input: z.object({}),
      output: z.object({
        tubes: z.array(
          z.object({
            name: z.string(),
            ready: z.number(),
            reserved: z.number(),
            delayed: z.number(),
            buried: z.number(),
            urgent: z.number(),
            total: z.number(),
            watching: z.number(),
            using: z.number(),
            waiting: z.number(),
            paused: z.boolean(),
          }),
        ),
      }),
      text: (r) => ['tube\tready\treserved\tdelayed\tburied\ttotal', ...r.tubes.map((t) => `${t.name}\t${t.ready}\t${t.reserved}\t${t.delayed}\t${t.buried}\t${t.total}${t.paused ? '\tpaused' : ''}`)].join('\n'),
      async run(ctx) {
        const c = await open(ctx);
        const names = (await c.list(['list-tubes'])).slice(0, 1000);
        const tubes = [];
        for (const name of names) {
          const r = await c.call(['stats-tube', name]);
          if (r.status !== 'OK') continue; // the tube went away between the two commands
          const s = parseYaml(r.body!) as Record<string, YamlValue>;
          const n = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);
          tubes.push({
            name,
            ready: n('current-jobs-ready'),
            reserved: n('current-jobs-reserved'),
            delayed: n('current-jobs-delayed'),
            buried: n('current-jobs-buried'),
            urgent: n('current-jobs-urgent'),
            total: n('total-jobs'),
            watching: n('current-watching'),
            using: n('current-using'),
            waiting: n('current-waiting'),
            paused: n('pause') > 0,
          });
        }
        return { tubes };
      },
    }),
    statsTube: operation({
      summary: 'stats-tube: one tube\'s counters',
      input: z.object({ tube: tube.describe('Tube name') }),
      output: z.object({ stats: statsOut }),
      text: (r) => renderStats(r.stats),
      shortRoute: (extra) => (extra ? { tube: decodeURIComponent(extra) } : {}),
      async run(ctx, input) {
        const c = await open(ctx);
        return { stats: await c.dict(['stats-tube', input.tube]) };
      },
    }),
    put: operation({
      summary: 'Put a job into a tube with a priority, a delay and a time-to-run',
      input: z.object({
        tube: tubeDefault,
        body: bytesField(8 * 1024 * 1024).describe('Job body: text (UTF-8), or {"base64": ...} / {"hex": ...}').meta({ examples: ['{"task": "resize", "id": 42}'] }),
        priority,
        delaySeconds: z.number().int().min(0).max(0xffffffff).default(0).describe('Seconds before the job becomes ready'),
        ttrSeconds: z.number().int().min(1).max(0xffffffff).default(60).describe('Time to run: seconds a reserver has before the job is released again'),
        count: z.number().int().min(1).max(10_000).default(1).describe('Put the job this many times'),
      }),
      output: z.object({ tube: z.string(), ids: z.array(z.number()), buried: z.array(z.number()).describe('Ids the server buried at once (it ran out of memory to grow its queue)') }),
      text: (r) => `put into ${r.tube}: ${r.ids.join(', ')}${r.buried.length ? ` (buried: ${r.buried.join(', ')})` : ''}`,
      async run(ctx, input) {
        const body = inputBytes(input.body, 'body');
        const c = await open(ctx);
        if (input.tube !== 'default') await c.expect(['use', input.tube], ['USING']);
        const ids: number[] = [];
        const buried: number[] = [];
        for (let i = 0; i < input.count; i++) {
          const r = await c.expect(['put', input.priority, input.delaySeconds, input.ttrSeconds, body.length], ['INSERTED', 'BURIED'], body);
          const id = Number(r.args[0]);
          ids.push(id);
          if (r.status === 'BURIED') buried.push(id);
        }
        return { tube: input.tube, ids, buried };
      },
    }),
    reserve: operation({
      summary: 'Reserve the next ready job of the watched tubes (waiting up to a timeout), or a job by id, then delete, release or bury it',
      input: z.object({
        tubes: z.array(tube).min(1).max(100).default(['default']).describe('Tubes to watch'),
        id: jobId.optional().describe('reserve-job: this job, whatever tube it is in'),
        waitSeconds: z.number().int().min(0).max(3600).default(0).describe('reserve-with-timeout: seconds to wait for a ready job (0: answer at once)'),
        then: z.enum(['delete', 'release', 'bury']).default('release').describe('What to do with the reserved job: delete it (done), release it back, or bury it'),
        priority: priorityValue.optional().describe('For release and bury: the new priority (default: the job\'s own)'),
        delaySeconds: z.number().int().min(0).max(0xffffffff).default(0).describe('For release: seconds before it is ready again'),
        encoding: encodingField,
        maxJobBytes,
      }),
      output: z.object({ job: jobOut.nullable(), done: z.enum(['deleted', 'released', 'buried']).nullable(), timedOut: z.boolean() }),
      maxTimeoutMs: 3_700_000,
      text: (r) => (r.job ? `${renderJob(r.job)}\n(${r.done})` : 'no job ready (TIMED_OUT)'),
      async run(ctx, input) {
        if (input.waitSeconds * 1000 >= input.timeoutMs) throw InvalidInput.field('waitSeconds', `must end before timeoutMs (${input.timeoutMs} ms)`);
        const c = await open(ctx, input.maxJobBytes);
        for (const t of input.tubes) if (t !== 'default') await c.expect(['watch', t], ['WATCHING']);
        if (!input.tubes.includes('default')) await c.expect(['ignore', 'default'], ['WATCHING']);
        const r = input.id !== undefined ? await c.expect(['reserve-job', input.id], ['RESERVED']) : await c.expect(['reserve-with-timeout', input.waitSeconds], ['RESERVED', 'TIMED_OUT', 'DEADLINE_SOON']);
        if (r.status !== 'RESERVED') return { job: null, done: null, timedOut: true };
        const job = await jobJson(c, jobOf(r), input.encoding);
        const pri = input.priority ?? (typeof job.stats?.pri === 'number' ? job.stats.pri : 1024);
        let done: 'deleted' | 'released' | 'buried';
        if (input.then === 'delete') {
          await c.expect(['delete', job.id], ['DELETED']);
          done = 'deleted';
        } else if (input.then === 'bury') {
          await c.expect(['bury', job.id, pri], ['BURIED']);
          done = 'buried';
        } else {
          await c.expect(['release', job.id, pri, input.delaySeconds], ['RELEASED', 'BURIED']);
          done = 'released';
        }
        return { job, done, timedOut: false };
      },
    }),
    peek: operation({
      summary: 'Look at a job without reserving it: by id, or the next ready, delayed or buried job of a tube',
      input: z.object({
        which: z.enum(['id', 'ready', 'delayed', 'buried']).default('ready'),
        id: jobId.optional().describe('With which: id'),
        tube: tubeDefault,
        encoding: encodingField,
        maxJobBytes,
      }),
      output: z.object({ job: jobOut.nullable() }),
      text: (r) => (r.job ? renderJob(r.job) : '(no such job)'),
      async run(ctx, input) {
        if ((input.which === 'id') !== (input.id !== undefined)) throw InvalidInput.field('id', input.which === 'id' ? 'is required with which: id' : 'goes with which: id');
        const c = await open(ctx, input.maxJobBytes);
        if (input.which !== 'id' && input.tube !== 'default') await c.expect(['use', input.tube], ['USING']);
        const r = await c.expect(input.which === 'id' ? ['peek', input.id!] : [`peek-${input.which}`], ['FOUND', 'NOT_FOUND']);
        return { job: r.status === 'FOUND' ? await jobJson(c, jobOf(r), input.encoding) : null };
      },
    }),
    delete: operation({
      summary: 'Delete a job by id (ready, delayed or buried; a reserved one only by its reserver)',
      input: z.object({ id: jobId }),
      output: z.object({ id: z.number(), deleted: z.boolean() }),
      text: (r) => `job ${r.id}: ${r.deleted ? 'deleted' : 'NOT_FOUND'}`,
      async run(ctx, input) {
        const c = await open(ctx);
        const r = await c.expect(['delete', input.id], ['DELETED', 'NOT_FOUND']);
        return { id: input.id, deleted: r.status === 'DELETED' };
      },
    }),
    kick: operation({
      summary: 'Kick buried jobs back to ready (or delayed ones when none is buried) in a tube, or one job by id',
      input: z.object({ tube: tubeDefault, bound: z.number().int().min(1).max(0xffffffff).default(1000).describe('Kick at most this many'), id: jobId.optional().describe('kick-job: just this job') }),
      output: z.object({ kicked: z.number() }),
      text: (r) => `kicked ${r.kicked}`,
      async run(ctx, input) {
        const c = await open(ctx);
        if (input.id !== undefined) {
          const r = await c.expect(['kick-job', input.id], ['KICKED', 'NOT_FOUND']);
          return { kicked: r.status === 'KICKED' ? 1 : 0 };
        }
        if (input.tube !== 'default') await c.expect(['use', input.tube], ['USING']);
        const r = await c.expect(['kick', input.bound], ['KICKED']);
        return { kicked: Number(r.args[0]) };
      },
    }),
    pauseTube: operation({
      summary: 'Pause a tube: no job is reserved from it for the given seconds',
      input: z.object({ tube: tube.describe('Tube name'), seconds: z.number().int().min(0).max(0xffffffff).describe('0 resumes it').meta({ examples: [60] }) }),
      output: z.object({ tube: z.string(), pausedSeconds: z.number() }),
      text: (r) => `${r.tube}: ${r.pausedSeconds ? `paused for ${r.pausedSeconds} s` : 'resumed'}`,
      async run(ctx, input) {
        const c = await open(ctx);
        await c.expect(['pause-tube', input.tube, input.seconds], ['PAUSED']);
        return { tube: input.tube, pausedSeconds: input.seconds };
      },
    }),
  },
});
