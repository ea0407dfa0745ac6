// Lab servers of the messaging-queues area: beanstalkd, gearmand with CLI workers the lab starts, and ZMTP REP sockets of libzmq (python3-zmq).
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { exchange, expectIncludes } from '../probe.ts';
import type { LabServer } from '../server.ts';

const p = ports['messaging-queues'];

/** What the queue servers are configured with: tests assert against these. */
export const queueFacts = {
  gearman: {
    /** Reverses its workload (`rev`): "abc\n" comes back "cba\n". */
    reverse: 'reverse',
    /** Sleeps 3 s, then answers its workload unchanged: a background job is seen running meanwhile. */
    slow: 'slow',
    slowSeconds: 3,
  },
  zmq: {
    /** The REP sockets answer [f1, f2, ...] with [echoPrefix, f1, f2, ...]. */
    echoPrefix: 'echo',
    user: 'portolan',
    password: 'zmq-lab-secret',
  },
};

const beanstalkd: LabServer = {
  name: 'beanstalkd',
  area: 'messaging-queues',
  packages: ['beanstalkd'],
  ports: [p.beanstalkd],
  async start(ctx) {
    // No -b: jobs live in memory, so every lab start begins with empty tubes.
    await ctx.spawnDaemon({ command: '/usr/bin/beanstalkd', args: ['-l', '127.0.0.1', '-p', String(p.beanstalkd)] });
  },
  async health() {
    expectIncludes('beanstalkd', await exchange(p.beanstalkd, { send: 'stats\r\n', until: (b) => b.includes('\r\n\r\n') || b.includes('---') }), 'OK ');
  },
};

const g = queueFacts.gearman;

const gearmand: LabServer = {
  name: 'gearmand',
  area: 'messaging-queues',
  packages: ['gearman-job-server', 'gearman-tools'],
  ports: [p.gearman],
  async start(ctx) {
    await ctx.spawnDaemon({
      label: 'gearmand',
      command: '/usr/sbin/gearmand',
      args: ['--listen=127.0.0.1', `--port=${p.gearman}`, '--log-file=stderr', '--verbose=WARNING', '--threads=1'],
    });
    const worker = (fn: string, command: string[]) =>
      ctx.spawnDaemon({ label: `worker-${fn}`, command: '/usr/bin/gearman', args: ['-w', '-h', '127.0.0.1', '-p', String(p.gearman), '-f', fn, '--', ...command] });
    await worker(g.reverse, ['rev']);
    await worker(g.slow, ['sh', '-c', `sleep ${g.slowSeconds}; cat`]);
  },
  async health() {
    // Healthy once both workers have registered their functions.
    const got = await exchange(p.gearman, { send: 'status\n', until: (b) => b.includes('\n.\n') });
    for (const fn of [g.reverse, g.slow]) {
      if (!new RegExp(`^${fn}\\t\\d+\\t\\d+\\t[1-9]`, 'm').test(got.toString('latin1'))) throw new Error(`gearmand: no worker for ${fn} yet (status: ${got.toString('latin1').trim()})`);
    }
  },
};

const zmq: LabServer = {
  name: 'zmq-rep',
  area: 'messaging-queues',
  packages: ['python3-zmq'],
  ports: [p.zmqRep, p.zmqPlain],
  async start(ctx) {
    await ctx.spawnDaemon({ command: '/usr/bin/python3', args: [join(ctx.repoRoot, 'lab', 'zmq-rep.py'), String(p.zmqRep), String(p.zmqPlain), queueFacts.zmq.user, queueFacts.zmq.password], cwd: ctx.repoRoot });
  },
  async health() {
    for (const port of [p.zmqRep, p.zmqPlain]) {
      // ZMTP 3 greeting: signature 0xFF, 8 padding bytes, 0x7F, then version 3.
      const got = await exchange(port, { send: Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f]), until: (b) => b.length >= 11 });
      if (got[0] !== 0xff || got[9] !== 0x7f || got[10] !== 3) throw new Error(`zmq-rep on ${port}: no ZMTP 3 greeting (got ${got.toString('hex')})`);
    }
  },
};

export const servers: LabServer[] = [beanstalkd, gearmand, zmq];
