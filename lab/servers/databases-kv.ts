// Lab servers of the databases-kv area: redis-server (password, an ACL user, a TLS port), redis-sentinel, a Redis Cluster of
// three masters and an edge node, memcached (plain, SASL, TLS, text-protocol authentication).
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { exchange, expectIncludes } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports['databases-kv'];
const pc = ports['databases-cluster'];

/** What the kv servers are configured with: tests assert against these. */
export const kvFacts = {
  redis: {
    /** requirepass: the password of the `default` user. */
    password: 'portolan-redis-pass',
    /** An ACL user limited to a few commands on keys `app:*` and channels `news.*`. */
    limitedUser: 'portolan-app',
    limitedPassword: 'app-secret-42',
    limitedKeyPattern: 'app:*',
    /** Commands the limited user may run (DEL, FLUSHALL, CONFIG... are denied). */
    limitedCommands: ['get', 'set', 'incr', 'ping', 'hello', 'auth', 'info', 'scan', 'type', 'ttl', 'publish', 'subscribe'],
  },
  sentinel: {
    /** The master name sentinel monitors. */
    masterName: 'portolan',
  },
  cluster: {
    /** requirepass (and masterauth) of every cluster node. */
    password: 'portolan-cluster-pass',
    /** The three masters, slots split as `redis-cli --cluster create` does: 0-5460, 5461-10922, 10923-16383. */
    masters: [pc.redisClusterA, pc.redisClusterB, pc.redisClusterC],
    slots: [[0, 5460], [5461, 10922], [10923, 16383]] as [number, number][],
    /**
     * A master without slots that answers redirects with hostnames (cluster-preferred-endpoint-type hostname), where
     * the third master announces a private address as its hostname: a redirect from here to slots 10923-16383 names it.
     */
    edge: pc.redisClusterEdge,
    privateHostname: '10.255.25.3',
    /** A slot of the first master held mid-migration to the second (MIGRATING / IMPORTING): missing keys there answer ASK. */
    migratingSlot: 100,
    /** A hash tag whose keys fall in migratingSlot ({mig203}). */
    migratingTag: 'mig203',
  },
  memcachedAsciiAuth: {
    /** memcached -Y: the text protocol's own user and password. */
    port: pc.memcachedAsciiAuth,
    user: 'portolan',
    password: 'memc-ascii-secret',
  },
  memcachedSasl: {
    user: 'portolan',
    password: 'memc-sasl-secret',
  },
};

const redisPackage = 'redis-server';

async function redisPing(port: number, password: string): Promise<void> {
  const got = await exchange(port, {
    send: `AUTH ${password}\r\nPING\r\n`,
    until: (b) => b.toString('latin1').includes('PONG') || b.includes('-'),
  });
  expectIncludes(`redis on ${port}`, got, '+PONG');
}

const redis: LabServer = {
  name: 'redis',
  area: 'databases-kv',
  packages: [redisPackage, 'redis-tools'],
  ports: [p.redis, p.redisTls],
  async start(ctx) {
    const r = kvFacts.redis;
    const conf = ctx.writeFile(
      'redis.conf',
      [
        'bind 127.0.0.1',
        `port ${p.redis}`,
        `tls-port ${p.redisTls}`,
        `tls-cert-file ${ctx.tls.certPath}`,
        `tls-key-file ${ctx.tls.keyPath}`,
        `tls-ca-cert-file ${ctx.tls.caPath}`,
        'tls-auth-clients no',
        'daemonize no',
        'supervised no',
        `dir ${ctx.dir}`,
        'logfile ""',
        'loglevel notice',
        'save ""',
        'appendonly no',
        'databases 16',
        `requirepass ${r.password}`,
        `user ${r.limitedUser} on >${r.limitedPassword} ~${r.limitedKeyPattern} &news.* resetchannels &news.* ${r.limitedCommands.map((c) => `+${c}`).join(' ')}`,
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/bin/redis-server', args: [conf] });
  },
  async health() {
    await redisPing(p.redis, kvFacts.redis.password);
  },
};

const sentinel: LabServer = {
  name: 'redis-sentinel',
  area: 'databases-kv',
  packages: ['redis-sentinel'],
  ports: [p.sentinel],
  async start(ctx) {
    // Sentinel rewrites its config file: it is written fresh at every start.
    const conf = ctx.writeFile(
      'sentinel.conf',
      [
        'bind 127.0.0.1',
        `port ${p.sentinel}`,
        'daemonize no',
        `dir ${ctx.dir}`,
        'logfile ""',
        `sentinel monitor ${kvFacts.sentinel.masterName} 127.0.0.1 ${p.redis} 1`,
        `sentinel auth-pass ${kvFacts.sentinel.masterName} ${kvFacts.redis.password}`,
        `sentinel down-after-milliseconds ${kvFacts.sentinel.masterName} 30000`,
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/bin/redis-sentinel', args: [conf] });
  },
  async health() {
    const got = await exchange(p.sentinel, {
      send: `SENTINEL get-master-addr-by-name ${kvFacts.sentinel.masterName}\r\n`,
      until: (b) => b.toString('latin1').split('\r\n').length >= 5 || b[0] === 0x2d,
    });
    expectIncludes('sentinel', got, String(p.redis));
  },
};

// Redis Cluster (redis.io docs "Scale with Redis Cluster", cluster spec): three masters and an edge node, each with its
// own nodes.conf made fresh at every start.

const cf = kvFacts.cluster;
const clusterNodes = [
  { label: 'a', port: pc.redisClusterA, bus: pc.redisClusterBusA },
  { label: 'b', port: pc.redisClusterB, bus: pc.redisClusterBusB },
  { label: 'c', port: pc.redisClusterC, bus: pc.redisClusterBusC },
  { label: 'edge', port: pc.redisClusterEdge, bus: pc.redisClusterBusEdge },
];

function cli(ctx: LabContext, port: number, args: string[]): Promise<string> {
  return ctx.exec('redis-cli', ['--no-auth-warning', '-a', cf.password, '-h', '127.0.0.1', '-p', String(port), ...args]);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 12_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const got = await fn();
      if (got !== undefined) return got;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what}${last ? `: ${last}` : ''}`);
}

async function clusterInfo(port: number): Promise<string> {
  const got = await exchange(port, {
    send: `AUTH ${cf.password}\r\nCLUSTER INFO\r\n`,
    until: (b) => b.toString('latin1').includes('cluster_stats_messages_received') || b.toString('latin1').includes('\r\n-'),
  });
  return got.toString('latin1');
}

const redisCluster: LabServer = {
  name: 'redis-cluster',
  area: 'databases-kv',
  packages: [redisPackage, 'redis-tools'],
  ports: clusterNodes.flatMap((n) => [n.port, n.bus]),
  async start(ctx) {
    for (const n of clusterNodes) {
      await ctx.exec('rm', ['-f', join(ctx.dir, `nodes-${n.port}.conf`)]);
      const conf = ctx.writeFile(
        `${n.label}.conf`,
        [
          'bind 127.0.0.1',
          `port ${n.port}`,
          `cluster-port ${n.bus}`,
          'cluster-enabled yes',
          `cluster-config-file nodes-${n.port}.conf`,
          'cluster-node-timeout 5000',
          'cluster-require-full-coverage no',
          'daemonize no',
          'supervised no',
          `dir ${ctx.dir}`,
          'logfile ""',
          'save ""',
          'appendonly no',
          `requirepass ${cf.password}`,
          `masterauth ${cf.password}`,
          ...(n.label === 'c' ? [`cluster-announce-hostname ${cf.privateHostname}`] : []),
          ...(n.label === 'edge' ? ['cluster-preferred-endpoint-type hostname'] : []),
          '',
        ].join('\n'),
      );
      await ctx.spawnDaemon({ label: n.label, command: '/usr/bin/redis-server', args: [conf] });
    }
    for (const n of clusterNodes) await until(`cluster node ${n.port} did not answer PING`, async () => ((await cli(ctx, n.port, ['PING'])).includes('PONG') ? true : undefined));
    await ctx.exec('redis-cli', ['--no-auth-warning', '-a', cf.password, '--cluster', 'create', ...cf.masters.map((port) => `127.0.0.1:${port}`), '--cluster-yes']);
    await cli(ctx, cf.edge, ['CLUSTER', 'MEET', '127.0.0.1', String(pc.redisClusterA), String(pc.redisClusterBusA)]);
    const ids = await Promise.all(cf.masters.map(async (port) => (await cli(ctx, port, ['CLUSTER', 'MYID'])).trim()));
    // Keep one slot mid-migration from the first master to the second.
    await cli(ctx, cf.masters[1], ['CLUSTER', 'SETSLOT', String(cf.migratingSlot), 'IMPORTING', ids[0]]);
    await cli(ctx, cf.masters[0], ['CLUSTER', 'SETSLOT', String(cf.migratingSlot), 'MIGRATING', ids[1]]);
  },
  async health() {
    for (const port of [...cf.masters, cf.edge]) {
      const info = await clusterInfo(port);
      if (!info.includes('cluster_state:ok') || !info.includes('cluster_known_nodes:4')) throw new Error(`cluster node ${port} is not ready: ${info.replace(/\r\n/g, ' ').slice(0, 300)}`);
    }
    // The edge node has learnt the third master's hostname (it travels in cluster bus ping extensions).
    const slots = await exchange(cf.edge, {
      send: `AUTH ${cf.password}\r\nCLUSTER SLOTS\r\n`,
      until: (b) => b.toString('latin1').includes(cf.privateHostname) && b.toString('latin1').split(String(pc.redisClusterB)).length > 1,
    });
    expectIncludes('redis cluster edge node', slots, cf.privateHostname);
  },
};

async function memcachedVersion(port: number): Promise<void> {
  const got = await exchange(port, { send: 'version\r\n', until: (b) => b.includes('\r\n') });
  expectIncludes(`memcached on ${port}`, got, 'VERSION ');
}

/** A binary-protocol version request (opcode 0x0b): the SASL instance speaks only the binary protocol. */
function binaryVersionRequest(): Buffer {
  const b = Buffer.alloc(24);
  b[0] = 0x80;
  b[1] = 0x0b;
  return b;
}

const memcached: LabServer = {
  name: 'memcached',
  area: 'databases-kv',
  packages: ['memcached'],
  ports: [p.memcached, p.memcachedTls],
  async start(ctx) {
    // One instance: plain text/binary on one port, TLS with the lab certificate on the other.
    await ctx.spawnDaemon({
      command: '/usr/bin/memcached',
      args: [
        '-u', 'memcache', '-U', '0', '-m', '64', '-c', '1024', '-v',
        '-Z', '-o', `ssl_chain_cert=${ctx.tls.certPath},ssl_key=${ctx.tls.keyPath}`,
        '-l', `notls:127.0.0.1:${p.memcached}`, '-l', `127.0.0.1:${p.memcachedTls}`,
      ],
    });
  },
  async health() {
    await memcachedVersion(p.memcached);
  },
};

const memcachedSasl: LabServer = {
  name: 'memcached-sasl',
  area: 'databases-kv',
  packages: ['memcached', 'sasl2-bin', 'libsasl2-modules'],
  ports: [p.memcachedSasl],
  async start(ctx) {
    const db = join(ctx.dir, 'memcached-sasldb2');
    const s = kvFacts.memcachedSasl;
    await ctx.exec('rm', ['-f', db]);
    // saslpasswd2 -p reads the password from stdin; the realm defaults to the host name on both sides.
    await ctx.exec('saslpasswd2', ['-p', '-a', 'memcached', '-c', '-f', db, s.user], { input: s.password });
    await ctx.exec('chmod', ['0644', db]);
    ctx.writeFile('sasl/memcached.conf', `mech_list: plain\nsasldb_path: ${db}\n`);
    await ctx.spawnDaemon({
      command: '/usr/bin/memcached',
      args: ['-S', '-u', 'memcache', '-U', '0', '-m', '16', '-l', '127.0.0.1', '-p', String(p.memcachedSasl), '-v'],
      env: { SASL_CONF_PATH: join(ctx.dir, 'sasl') },
    });
  },
  async health() {
    const got = await exchange(p.memcachedSasl, { send: binaryVersionRequest(), until: (b) => b.length >= 24 && b.length >= 24 + b.readUInt32BE(8) });
    if (got[0] !== 0x81) throw new Error(`memcached-sasl: expected a binary response, got ${got.subarray(0, 8).toString('hex')}`);
  },
};

const memcachedAsciiAuth: LabServer = {
  name: 'memcached-ascii-auth',
  area: 'databases-kv',
  packages: ['memcached'],
  ports: [pc.memcachedAsciiAuth],
  async start(ctx) {
    const a = kvFacts.memcachedAsciiAuth;
    const file = ctx.writeFile('memcached-auth', `${a.user}:${a.password}\n`);
    await ctx.exec('chmod', ['0644', file]);
    await ctx.spawnDaemon({ command: '/usr/bin/memcached', args: ['-u', 'memcache', '-U', '0', '-m', '16', '-l', '127.0.0.1', '-p', String(a.port), '-Y', file] });
  },
  async health() {
    // Unauthenticated, every command is refused: that refusal is the health check.
    expectIncludes('memcached-ascii-auth', await exchange(kvFacts.memcachedAsciiAuth.port, { send: 'version\r\n', until: (b) => b.includes('\r\n') }), 'CLIENT_ERROR unauthenticated');
  },
};

export const servers: LabServer[] = [redis, sentinel, redisCluster, memcached, memcachedSasl, memcachedAsciiAuth];
