// Lab servers of the messaging-queues area: beanstalkd, gearmand with CLI workers the lab starts, and ZMTP REP sockets of libzmq (python3-zmq).
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { exchange, expectIncludes, isListening } from '../probe.ts';
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
  snpp: {
    /** LOGI with a password (hosts.hfaxd); the server also admits `anonymousUser` from 127.0.0.1 without one. */
    user: 'pager',
    password: 'snpp-lab-secret',
    anonymousUser: 'portolan',
    /** pagermap: all-digit pager ids go to this provider; ids starting "reject" are refused. */
    provider: '5551234',
    rejectPrefix: 'reject',
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
  // A REQ's request reached the REP (its log shows the request, and the reply as sent) and the reply never went on
  // the wire (a capture of the port: the request's bytes acknowledged, then nothing until the client's deadline).
  // Every such loss seen came from a server that had served an earlier test run; a fresh one never lost one.
  freshEachRun: "libzmq 4.3.4's REP has lost a reply after serving an earlier run",
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

const sn = queueFacts.snpp;

/** The spool of the lab's hylafax: sendq holds the pager jobs SNPP SEND queued (q<jobid>), docq their text. */
export function hylafaxSpool(labDir: string): string {
  return join(labDir, 'hylafax', 'spool');
}

// hfaxd serves SNPP (RFC 1861); faxq must run for SEND to queue a job. No modem exists, so jobs stay queued.
const hylafax: LabServer = {
  name: 'hylafax',
  area: 'messaging-queues',
  packages: ['hylafax-server'],
  ports: [p.snpp],
  async start(ctx) {
    const spool = hylafaxSpool(ctx.labDir);
    await ctx.exec('rm', ['-rf', spool]);
    await ctx.exec('cp', ['-a', '/var/spool/hylafax', spool]);
    await ctx.exec('sh', ['-c', `cp -r /etc/hylafax/* ${spool}/etc/`]);
    // hosts.hfaxd holds crypt(3) hashes.
    const hash = (await ctx.exec('openssl', ['passwd', '-6', '-salt', 'portolanlab', sn.password])).trim();
    ctx.writeFile('spool/etc/hosts.hfaxd', `^${sn.anonymousUser}@127\\.0\\.0\\.1$:::\n^${sn.user}@127\\.0\\.0\\.1$::${hash}:\n`, 0o600);
    ctx.writeFile('spool/etc/pagermap', `^${sn.rejectPrefix}.* reject\n^[0-9]+$ ${sn.provider}\n`);
    await ctx.exec('chown', ['uucp', `${spool}/etc/hosts.hfaxd`]);
    await ctx.exec('mkfifo', ['-m', '0600', `${spool}/FIFO`]);
    await ctx.exec('chown', ['uucp:uucp', `${spool}/FIFO`]);
    await ctx.spawnDaemon({ label: 'faxq', command: '/usr/sbin/faxq', args: ['-q', spool, '-D'] });
    await ctx.spawnDaemon({ label: 'hfaxd', command: '/usr/sbin/hfaxd', args: ['-q', spool, '-d', '-l', '127.0.0.1', '-s', String(p.snpp)] });
  },
  async health() {
    expectIncludes('hfaxd SNPP', await exchange(p.snpp, { until: (b) => b.includes('\r\n') }), '220 ');
  },
};

/** drive_smpp sends this many deliver_sm ("1", "2", ...) from 456 to 123 to the first receiver of each run. */
export const smscFacts = { deliverCount: 3, deliverSource: '456', deliverDestination: '123' };

/** drive_smpp's log: with -v 0 it logs each submit_sm as `submit_sm: short_message = <text>`. */
export function driveSmppLog(labDir: string): string {
  return join(labDir, 'kannel', 'drive-smpp.log');
}

// Kannel's drive_smpp (kannel-extras) is an SMSC: it answers binds, submit_sm, enquire_link and unbind, and sends
// deliver_sm to a receiver. It serves one ESME per run and exits when that ESME leaves, so a loop starts it again.
// It also connects to a bearerbox's smsbox port, hard-wired to 127.0.0.1:13001, and stops if none is there: a
// bearerbox with a fake SMSC (so its flow threads live) provides it.
const kannel: LabServer = {
  name: 'kannel',
  area: 'messaging-queues',
  packages: ['kannel', 'kannel-extras'],
  ports: [p.smsc, p.kannelAdmin, p.kannelFakeSmsc, p.kannelSmsbox],
  async start(ctx) {
    const conf = ctx.writeFile(
      'bearerbox.conf',
      [
        'group = core',
        `admin-port = ${p.kannelAdmin}`,
        'admin-interface = 127.0.0.1',
        'admin-password = portolan-lab',
        `smsbox-port = ${p.kannelSmsbox}`,
        'smsbox-interface = 127.0.0.1',
        'box-allow-ip = "127.0.0.1"',
        '',
        'group = smsbox',
        'bearerbox-host = 127.0.0.1',
        '',
        'group = smsc',
        'smsc = fake',
        'smsc-id = idle',
        'host = 127.0.0.1',
        `port = ${p.kannelFakeSmsc}`,
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({ label: 'bearerbox', command: '/usr/sbin/bearerbox', args: ['-v', '1', conf] });
    await ctx.spawnDaemon({
      label: 'drive-smpp',
      command: 'sh',
      args: ['-c', `while :; do /usr/lib/kannel/test/drive_smpp -v 0 -p ${p.smsc} -m ${smscFacts.deliverCount}; sleep 0.2; done`],
    });
  },
  async health() {
    // enquire_link (0x15), sequence 1: drive_smpp answers enquire_link_resp (0x80000015) even before a bind.
    const got = await exchange(p.smsc, { send: Buffer.from('000000100000001500000000000000' + '01', 'hex'), until: (b) => b.length >= 16 });
    if (got.readUInt32BE(4) !== 0x80000015) throw new Error(`drive_smpp: no enquire_link_resp (got ${got.toString('hex')})`);
    if (!(await isListening(p.kannelSmsbox))) throw new Error(`bearerbox: nothing on the smsbox port ${p.kannelSmsbox}`);
  },
};

export const servers: LabServer[] = [beanstalkd, gearmand, zmq, hylafax, kannel];
