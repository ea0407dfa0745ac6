// Foundation lab servers: inetd services (RFC 862/863/864/865/867/868, finger RFC 1288), dictd (RFC 2229),
// gopher (RFC 1436), carbon (Graphite plaintext/pickle), and misbehaving peers.
import { chmodSync, chownSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import { exchange, expectIncludes, expectRefused, expectSilence, isListening, preview } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports.foundation;

/** What the foundation servers are known to serve, for tests to assert against. */
export const foundationFacts = {
  finger: {
    user: 'portolan',
    realName: 'Portolan Lab',
    plan: 'Testing the Portolan lab.',
    project: 'Portolan: a browser-to-TCP protocol workbench.',
  },
  dict: {
    databases: { portolan: 'Portolan Lab Dictionary', ports: 'Portolan Lab Ports' },
    definitions: {
      portolan: 'a medieval navigational chart',
      lighthouse: 'a tower with a powerful light that guides ships at night',
      harbour: 'a sheltered stretch of water where ships can moor',
    },
    portsDefinitions: {
      echo: '7/tcp, RFC 862',
      finger: '79/tcp, RFC 1288',
      gopher: '70/tcp, RFC 1436',
      dict: '2628/tcp, RFC 2229',
    },
    authUser: 'portolan',
    authSecret: 'portolan-secret',
  },
  gopher: {
    welcome: 'Welcome to the Portolan lab gopher server.',
    menu: [
      { type: '0', name: 'About this server', selector: '/about.txt' },
      { type: '1', name: 'The harbour', selector: '/harbour' },
    ],
    files: {
      '/about.txt': 'Portolan lab gopher root.\nThis file has known content.\n',
      '/harbour/lighthouse.txt': 'The lighthouse guides ships into the harbour.\n',
    } as Record<string, string>,
  },
  carbon: {
    whisperDir: join(labDir, 'carbon', 'storage', 'whisper'),
    /** Metrics under portolan.* keep 1-second points for an hour; everything else 60s:1d. */
    fineRetention: '1s:1h',
    defaultRetention: '60s:1d',
  },
} as const;

/** The whisper file carbon writes a metric to, e.g. portolan.test.metric → <whisperDir>/portolan/test/metric.wsp. */
export function whisperFile(metric: string): string {
  return join(foundationFacts.carbon.whisperDir, ...metric.split('.')) + '.wsp';
}

// inetd services and finger, all run by one xinetd

function internalService(name: string, id: string, servicePort: number): string {
  return `service ${name}
{
	type = INTERNAL UNLISTED
	id = ${id}
	socket_type = stream
	protocol = tcp
	port = ${servicePort}
	user = root
	wait = no
}
`;
}

function externalService(name: string, servicePort: number, server: string, args?: string): string {
  return `service ${name}
{
	type = UNLISTED
	socket_type = stream
	protocol = tcp
	port = ${servicePort}
	user = nobody
	wait = no
	server = ${server}${args ? `\n\tserver_args = ${args}` : ''}
}
`;
}

async function ensureFingerUser(ctx: LabContext): Promise<void> {
  const { user, realName, plan, project } = foundationFacts.finger;
  const exists = await ctx.exec('getent', ['passwd', user]).then(
    () => true,
    () => false,
  );
  if (exists) await ctx.exec('usermod', ['--comment', realName, user]);
  else await ctx.exec('useradd', ['--create-home', '--comment', realName, '--shell', '/bin/sh', user]);
  const [, , uid, gid, , home] = (await ctx.exec('getent', ['passwd', user])).trim().split(':');
  chmodSync(home, 0o755);
  for (const [file, text] of [['.plan', plan], ['.project', project]] as const) {
    const path = join(home, file);
    writeFileSync(path, `${text}\n`);
    chmodSync(path, 0o644);
    chownSync(path, Number(uid), Number(gid));
  }
}

const inetd: LabServer = {
  name: 'xinetd',
  area: 'foundation',
  packages: ['xinetd', 'fortune-mod', 'fortunes-min', 'fingerd', 'finger'],
  ports: [p.echo, p.discard, p.daytime, p.qotd, p.chargen, p.time, p.finger],
  async start(ctx) {
    await ensureFingerUser(ctx);
    const config = [
      `defaults
{
	log_type = FILE ${join(ctx.dir, 'service.log')}
	log_on_success = PID HOST EXIT
	log_on_failure = HOST
	bind = 127.0.0.1
	instances = UNLIMITED
	per_source = UNLIMITED
	cps = 1000 1
}
`,
      internalService('echo', 'echo-stream', p.echo),
      internalService('discard', 'discard-stream', p.discard),
      internalService('daytime', 'daytime-stream', p.daytime),
      internalService('chargen', 'chargen-stream', p.chargen),
      internalService('time', 'time-stream', p.time),
      externalService('qotd', p.qotd, '/usr/games/fortune', '-s'),
      externalService('finger', p.finger, '/usr/sbin/in.fingerd'),
    ].join('\n');
    const path = ctx.writeFile('xinetd.conf', config);
    await ctx.spawnDaemon({ command: '/usr/sbin/xinetd', args: ['-dontfork', '-f', path, '-pidfile', join(ctx.dir, 'xinetd.pid')] });
  },
  async health() {
    const echoed = await exchange(p.echo, { send: 'portolan-echo\r\n', until: (got) => got.includes('portolan-echo\r\n') });
    expectIncludes('echo', echoed, 'portolan-echo');
    await expectSilence(p.discard, 200, 'discarded\r\n');
    const daytime = await exchange(p.daytime);
    if (!/\d{4}/.test(daytime.toString('latin1'))) throw new Error(`daytime: no date in ${preview(daytime)}`);
    const chargen = await exchange(p.chargen, { until: (got) => got.length >= 148 });
    if (chargen.length < 148) throw new Error(`chargen: only ${chargen.length} bytes`);
    const time = await exchange(p.time, { until: (got) => got.length >= 4 });
    const seconds = time.length === 4 ? time.readUInt32BE(0) - 2_208_988_800 : NaN;
    if (!(Math.abs(seconds - Date.now() / 1000) < 300)) throw new Error(`time: unexpected answer ${preview(time)}`);
    const quote = await exchange(p.qotd);
    if (quote.toString('utf8').trim().length === 0) throw new Error('qotd: empty answer');
    const finger = await exchange(p.finger, { send: `${foundationFacts.finger.user}\r\n` });
    expectIncludes('finger', finger, foundationFacts.finger.realName);
    expectIncludes('finger', finger, foundationFacts.finger.plan);
  },
};

// dictd with two small databases built by dictfmt

function dictSource(title: string, info: string, entries: Record<string, string>): string {
  const body = Object.entries(entries).map(([headword, definition]) => `${headword}\n  ${definition}\n`);
  return `${title}\n${info}\n${body.join('')}`;
}

const dictd: LabServer = {
  name: 'dictd',
  area: 'foundation',
  packages: ['dictd', 'dictfmt'],
  ports: [p.dict],
  async start(ctx) {
    const { databases, definitions, portsDefinitions, authUser, authSecret } = foundationFacts.dict;
    const sources = {
      portolan: dictSource(databases.portolan, 'A tiny dictionary served by the Portolan lab.', definitions),
      ports: dictSource(databases.ports, 'Well-known ports of the protocols Portolan speaks.', portsDefinitions),
    };
    const dbDir = join(ctx.dir, 'db');
    const blocks: string[] = [];
    for (const [name, text] of Object.entries(sources)) {
      ctx.writeFile(join('db', `${name}.txt`), text);
      const title = databases[name as keyof typeof databases];
      await ctx.exec('dictfmt', ['-f', '--utf8', '-s', title, name], { cwd: dbDir, input: text });
      blocks.push(`database ${name} {\n  data ${join(dbDir, `${name}.dict`)}\n  index ${join(dbDir, `${name}.index`)}\n}\n`);
    }
    const config = `global {
  listen_to 127.0.0.1
  port ${p.dict}
  log_option found
  log_option notfound
}
access {
  allow 127.0.0.1
  allow localhost
}
${blocks.join('')}user ${authUser} ${authSecret}
`;
    const path = ctx.writeFile('dictd.conf', config);
    const logPath = ctx.writeFile('query.log', '');
    await ctx.exec('chown', ['dictd', logPath]);
    await ctx.spawnDaemon({ command: '/usr/sbin/dictd', args: ['--config', path, '--debug', 'nodetach', '--logfile', logPath] });
  },
  async health() {
    const answer = await exchange(p.dict, { send: 'SHOW DB\r\nQUIT\r\n', until: (got) => got.includes('\r\n221') });
    expectIncludes('dict', answer, '220 ');
    for (const name of Object.keys(foundationFacts.dict.databases)) expectIncludes('dict SHOW DB', answer, `${name} "`);
  },
};

// pygopherd over a small gopher root

/** Sets (or, with null, removes) keys of one section of an INI file. */
function setIniKeys(text: string, section: string, values: Record<string, string | null>): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let current = '';
  const pending = new Map(Object.entries(values));
  const flush = (): void => {
    if (current !== section) return;
    for (const [key, value] of pending) if (value !== null) out.push(`${key} = ${value}`);
    pending.clear();
  };
  for (const line of lines) {
    const header = /^\[(.+)\]\s*$/.exec(line);
    if (header) {
      flush();
      current = header[1];
    } else if (current === section) {
      const key = /^(\w+)\s*=/.exec(line)?.[1];
      if (key !== undefined && key in values) {
        const value = pending.get(key);
        if (value !== undefined && value !== null) out.push(`${key} = ${value}`);
        pending.delete(key);
        continue;
      }
    }
    out.push(line);
  }
  flush();
  return out.join('\n');
}

const pygopherdConfig = '/etc/pygopherd/pygopherd.conf';

const gopher: LabServer = {
  name: 'pygopherd',
  area: 'foundation',
  packages: ['pygopherd'],
  ports: [p.gopher],
  async start(ctx) {
    const { welcome, menu, files } = foundationFacts.gopher;
    const gophermap = [welcome, ...menu.map((entry) => `${entry.type}${entry.name}\t${entry.selector}`)].join('\n');
    ctx.writeFile('root/gophermap', `${gophermap}\n`);
    for (const [selector, text] of Object.entries(files)) ctx.writeFile(join('root', selector), text);
    if (!existsSync(pygopherdConfig)) throw new Error(`${pygopherdConfig} is missing`);
    let config = setIniKeys(readFileSync(pygopherdConfig, 'utf8'), 'pygopherd', {
      detach: 'no',
      pidfile: null,
      interface: '127.0.0.1',
      port: String(p.gopher),
      servername: 'localhost',
      usechroot: 'no',
      root: join(ctx.dir, 'root'),
      setuid: 'nobody',
      setgid: 'nogroup',
      enable_tls: 'yes',
      tls_certfile: ctx.tls.certPath,
      tls_keyfile: ctx.tls.keyPath,
    });
    config = setIniKeys(config, 'logger', { logmethod: 'file' });
    const path = ctx.writeFile('pygopherd.conf', config);
    await ctx.spawnDaemon({ command: '/usr/sbin/pygopherd', args: [path] });
  },
  async health() {
    const menu = await exchange(p.gopher, { send: '\r\n' });
    expectIncludes('gopher menu', menu, foundationFacts.gopher.welcome);
    const file = await exchange(p.gopher, { send: '/about.txt\r\n' });
    expectIncludes('gopher /about.txt', file, 'This file has known content.');
  },
};

// carbon-cache with its storage under the state dir

/** A pickle (protocol 0) of {'type': 'cache-query', 'metric': metric}, as the cache query port expects. */
function cacheQuery(metric: string): Buffer {
  const pickle = Buffer.from(`(Vtype\nVcache-query\nVmetric\nV${metric}\nd.`, 'latin1');
  const frame = Buffer.alloc(4 + pickle.length);
  frame.writeUInt32BE(pickle.length, 0);
  pickle.copy(frame, 4);
  return frame;
}

const carbon: LabServer = {
  name: 'carbon',
  area: 'foundation',
  packages: ['graphite-carbon', 'python3-whisper'],
  ports: [p.carbonPlaintext, p.carbonPickle, p.carbonCacheQuery],
  async start(ctx) {
    const storage = join(ctx.dir, 'storage');
    rmSync(join(ctx.dir, 'carbon-cache.pid'), { force: true });
    ctx.writeFile(
      'conf/storage-schemas.conf',
      `[carbon]
pattern = ^carbon\\.
retentions = 60s:1d

[portolan]
pattern = ^portolan\\.
retentions = ${foundationFacts.carbon.fineRetention}

[default]
pattern = .*
retentions = ${foundationFacts.carbon.defaultRetention}
`,
    );
    const config = ctx.writeFile(
      'conf/carbon.conf',
      `[cache]
STORAGE_DIR = ${storage}/
LOCAL_DATA_DIR = ${foundationFacts.carbon.whisperDir}/
WHITELISTS_DIR = ${storage}/lists/
CONF_DIR = ${join(ctx.dir, 'conf')}/
LOG_DIR = ${ctx.dir}/
PID_DIR = ${ctx.dir}/
DATABASE = whisper
ENABLE_LOGROTATION = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = 10000
MAX_CREATES_PER_MINUTE = inf
MIN_TIMESTAMP_RESOLUTION = 1
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = ${p.carbonPlaintext}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = ${p.carbonPickle}
PICKLE_RECEIVER_MAX_LENGTH = 1048576
USE_INSECURE_UNPICKLER = False
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = ${p.carbonCacheQuery}
USE_FLOW_CONTROL = True
LOG_UPDATES = False
LOG_CREATES = True
LOG_LISTENER_CONNECTIONS = False
CACHE_WRITE_STRATEGY = naive
WHISPER_AUTOFLUSH = True
WHISPER_FALLOCATE_CREATE = False
CARBON_METRIC_INTERVAL = 0
ENABLE_TAGS = False
`,
    );
    await ctx.spawnDaemon({
      command: '/usr/bin/carbon-cache',
      args: ['--config', config, '--nodaemon', '--pidfile', join(ctx.dir, 'carbon-cache.pid'), 'start'],
    });
  },
  async health() {
    await expectSilence(p.carbonPlaintext, 50);
    await expectSilence(p.carbonPickle, 50);
    const answer = await exchange(p.carbonCacheQuery, {
      send: cacheQuery('portolan.lab.health'),
      until: (got) => got.length >= 4 && got.length >= 4 + got.readUInt32BE(0),
    });
    expectIncludes('carbon cache query', answer, 'datapoints');
  },
};

// Misbehaving peers: nothing on closedPort, silence on silent, random bytes on garbage, and the
// hostile-server corpus (lab/bad-peers.ts names what each does).

/** The hostile peers by behaviour, as lab/bad-peers.ts names them. */
export const hostilePeers = {
  endless: p.hostileEndless,
  trickle: p.hostileTrickle,
  randomClose: p.hostileRandomClose,
  randomReset: p.hostileRandomReset,
  hugeLength: p.hostileHugeLength,
  nestJson: p.hostileNestJson,
  nestBer: p.hostileNestBer,
  nestResp: p.hostileNestResp,
  compressionLoop: p.hostileCompressionLoop,
  tlsStall: p.hostileTlsStall,
} as const;

const badPeers: LabServer = {
  name: 'bad-peers',
  area: 'foundation',
  packages: [],
  ports: [p.silent, p.garbage, ...Object.values(hostilePeers)],
  async start(ctx) {
    const peers = { silent: p.silent, garbage: p.garbage, ...hostilePeers };
    await ctx.spawnDaemon({
      command: process.execPath,
      args: ['--import', 'tsx', join(ctx.repoRoot, 'lab', 'bad-peers.ts'), ...Object.entries(peers).map(([name, port]) => `${name}=${port}`)],
      cwd: ctx.repoRoot,
    });
  },
  async health() {
    await expectRefused(p.closedPort);
    // Every peer listens (an older lab may have started fewer of them).
    for (const [name, port] of Object.entries(hostilePeers)) if (!(await isListening(port))) throw new Error(`bad-peers: ${name} is not listening on ${port}`);
    await expectSilence(p.silent, 200, 'hello?\r\n');
    const garbage = await exchange(p.garbage);
    if (garbage.length === 0) throw new Error('garbage: peer sent nothing');
    const stall = await exchange(hostilePeers.tlsStall, { send: 'hello', until: (got) => got.length >= 8 });
    if (stall[0] !== 0x16) throw new Error(`tlsStall: expected a TLS record header, got ${stall.toString('hex')}`);
  },
};

// A filtered port: the handshake never completes, so connects time out.
const blackhole: LabServer = {
  name: 'blackhole',
  area: 'foundation',
  packages: [],
  ports: [p.blackhole],
  async start(ctx) {
    await ctx.spawnDaemon({ command: 'python3', args: [join(ctx.repoRoot, 'lab', 'blackhole.py'), String(p.blackhole)], cwd: ctx.repoRoot });
  },
  async health() {
    // Ready once it listens with its queue full: a fresh connect must not complete.
    for (let i = 0; i < 50; i++) {
      const connected = await new Promise<boolean>((resolve) => {
        const s = net.connect(p.blackhole, '127.0.0.1');
        const t = setTimeout(() => {
          s.destroy();
          resolve(false);
        }, 300);
        s.once('connect', () => {
          clearTimeout(t);
          s.destroy();
          resolve(true);
        });
        s.once('error', () => {
          clearTimeout(t);
          resolve(true);
        });
      });
      if (!connected) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`blackhole: connects to ${p.blackhole} still complete`);
  },
};

export const servers: LabServer[] = [inetd, dictd, gopher, carbon, badPeers, blackhole];
