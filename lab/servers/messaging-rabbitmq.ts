// Lab servers of the messaging-rabbitmq area: RabbitMQ with AMQP 0-9-1 (plain and TLS), and its MQTT, Web-MQTT,
// STOMP and management plugins, users and permissions loaded from a definitions file.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { exchange } from '../probe.ts';
import { tlsPaths } from '../runner.ts';
import type { LabServer } from '../server.ts';
import { encodeConnect } from '../../src/protocols/mqtt/codec.ts';

const p = ports['messaging-rabbitmq'];

/** What RabbitMQ is configured with: tests assert against these. */
export const rabbitFacts = {
  /** An administrator with every permission on vhosts / and lab. */
  user: 'portolan',
  password: 'amqp-lab-secret',
  /** May use only names starting with `limited.` (queues, exchanges, topic routing keys) in vhost /. */
  limitedUser: 'limited',
  limitedPassword: 'limited-secret',
  vhost: 'lab',
  nodeName: 'portolan@localhost',
  clusterName: 'portolan-lab',
};

/** rabbit_password_hashing_sha256: base64(salt ‖ SHA-256(salt ‖ password)) with a 4-byte salt. */
function passwordHash(password: string): string {
  const salt = randomBytes(4);
  return Buffer.concat([salt, createHash('sha256').update(Buffer.concat([salt, Buffer.from(password)])).digest()]).toString('base64');
}

function definitions(): string {
  const f = rabbitFacts;
  const all = { configure: '.*', write: '.*', read: '.*' };
  const limited = '^(limited\\..*|mqtt-subscription-.*|amq\\.topic)$';
  return JSON.stringify(
    {
      users: [
        { name: f.user, password_hash: passwordHash(f.password), hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'] },
        { name: f.limitedUser, password_hash: passwordHash(f.limitedPassword), hashing_algorithm: 'rabbit_password_hashing_sha256', tags: [] },
      ],
      vhosts: [{ name: '/' }, { name: f.vhost }],
      permissions: [
        { user: f.user, vhost: '/', ...all },
        { user: f.user, vhost: f.vhost, ...all },
        { user: f.limitedUser, vhost: '/', configure: limited, write: limited, read: limited },
      ],
      topic_permissions: [{ user: f.limitedUser, vhost: '/', exchange: 'amq.topic', write: '^limited\\..*', read: '^limited\\..*' }],
      parameters: [],
      global_parameters: [{ name: 'cluster_name', value: f.clusterName }],
      policies: [],
      queues: [],
      exchanges: [],
      bindings: [],
    },
    null,
    2,
  );
}

const rabbitmq: LabServer = {
  name: 'rabbitmq',
  area: 'messaging-rabbitmq',
  packages: ['rabbitmq-server'],
  // RabbitMQ 3.10 boots in 15–18 s on two idle cores (its start script, the Erlang release, then five
  // plugins), longer when the lab starts every area at once: it gets 60 s.
  startTimeoutMs: 60_000,
  ports: [p.amqp, p.amqps, p.mqtt, p.stomp, p.stompTls, p.management, p.webMqtt, p.webStomp, p.epmd, p.dist],
  async start(ctx) {
    const defs = ctx.writeFile('definitions.json', definitions());
    ctx.writeFile(
      'rabbitmq.conf',
      [
        `listeners.tcp.default = 127.0.0.1:${p.amqp}`,
        `listeners.ssl.default = 127.0.0.1:${p.amqps}`,
        `ssl_options.cacertfile = ${ctx.tls.caPath}`,
        `ssl_options.certfile = ${ctx.tls.certPath}`,
        `ssl_options.keyfile = ${ctx.tls.keyPath}`,
        'ssl_options.verify = verify_none',
        'ssl_options.fail_if_no_peer_cert = false',
        `management.tcp.ip = 127.0.0.1`,
        `management.tcp.port = ${p.management}`,
        'management.rates_mode = basic',
        'collect_statistics_interval = 1000',
        `mqtt.listeners.tcp.default = 127.0.0.1:${p.mqtt}`,
        'mqtt.allow_anonymous = false',
        `web_mqtt.tcp.ip = 127.0.0.1`,
        `web_mqtt.tcp.port = ${p.webMqtt}`,
        `stomp.listeners.tcp.default = 127.0.0.1:${p.stomp}`,
        `stomp.listeners.ssl.default = 127.0.0.1:${p.stompTls}`,
        `web_stomp.tcp.ip = 127.0.0.1`,
        `web_stomp.tcp.port = ${p.webStomp}`,
        'loopback_users = none',
        `load_definitions = ${defs}`,
        'log.console = true',
        'log.console.level = warning',
        'log.file = false',
        '',
      ].join('\n'),
    );
    ctx.writeFile('enabled_plugins', '[rabbitmq_management,rabbitmq_mqtt,rabbitmq_web_mqtt,rabbitmq_stomp,rabbitmq_web_stomp].\n');
    ctx.writeFile('rabbitmq-env.conf', '');
    const env = {
      HOME: ctx.dir,
      ERL_EPMD_PORT: String(p.epmd),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_NODENAME: rabbitFacts.nodeName,
      RABBITMQ_DIST_PORT: String(p.dist),
      RABBITMQ_CONF_ENV_FILE: join(ctx.dir, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: join(ctx.dir, 'rabbitmq'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(ctx.dir, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(ctx.dir, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(ctx.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(ctx.dir, 'log'),
      RABBITMQ_PID_FILE: join(ctx.dir, 'rabbitmq.pid'),
      // One scheduler per core and no busy waiting: the lab shares two cores with every other server.
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '+sbwt none +sbwtdcpu none +sbwtdio none',
    };
    // epmd in the foreground on its own port, so the lab owns it (rabbit would otherwise start a detached one).
    await ctx.spawnDaemon({ label: 'epmd', command: '/usr/bin/epmd', args: ['-port', String(p.epmd), '-address', '127.0.0.1'], env });
    await ctx.spawnDaemon({ command: '/usr/lib/rabbitmq/bin/rabbitmq-server', args: [], env });
  },
  async health() {
    // AMQP 0-9-1 protocol header → connection.start (frame type 1, channel 0, class 10 method 10).
    const amqp = await exchange(p.amqp, { send: Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'), until: (b) => b.length >= 11 });
    if (amqp.subarray(0, 3).toString('hex') !== '010000' || amqp.readUInt32BE(7) !== 0x000a000a) throw new Error(`rabbitmq AMQP: no connection.start (${amqp.subarray(0, 16).toString('hex')})`);
    const amqps = await exchange(p.amqps, { send: Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'), until: (b) => b.length >= 11, tlsCa: tlsPaths.caPath });
    if (amqps[0] !== 1) throw new Error('rabbitmq AMQPS: no connection.start');
    const connect = encodeConnect({ version: 4, clientId: 'health', cleanStart: true, keepAlive: 10, username: rabbitFacts.user, password: new TextEncoder().encode(rabbitFacts.password) });
    const mqtt = await exchange(p.mqtt, { send: connect, until: (b) => b.length >= 4 });
    if (mqtt.subarray(0, 4).toString('hex') !== '20020000') throw new Error(`rabbitmq MQTT: ${mqtt.toString('hex')}`);
    const stomp = await exchange(p.stomp, { send: `CONNECT\naccept-version:1.2\nhost:/\nlogin:${rabbitFacts.user}\npasscode:${rabbitFacts.password}\n\n\0`, until: (b) => b.includes(0) });
    if (!stomp.toString('latin1').startsWith('CONNECTED')) throw new Error(`rabbitmq STOMP: ${stomp.toString('latin1').split('\n')[0]}`);
    const stomps = await exchange(p.stompTls, { send: `CONNECT\naccept-version:1.2\nhost:/\nlogin:${rabbitFacts.user}\npasscode:${rabbitFacts.password}\n\n\0`, until: (b) => b.includes(0), tlsCa: tlsPaths.caPath });
    if (!stomps.toString('latin1').startsWith('CONNECTED')) throw new Error(`rabbitmq STOMP over TLS: ${stomps.toString('latin1').split('\n')[0]}`);
    const auth = Buffer.from(`${rabbitFacts.user}:${rabbitFacts.password}`).toString('base64');
    const http = await exchange(p.management, { send: `GET /api/overview HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic ${auth}\r\nConnection: close\r\n\r\n` });
    if (!http.toString('latin1').startsWith('HTTP/1.1 200')) throw new Error(`rabbitmq management: ${http.toString('latin1').split('\r\n')[0]}`);
    const ws = await exchange(p.webMqtt, { send: 'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n', until: (b) => b.includes('\r\n\r\n') });
    if (!ws.toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`rabbitmq Web-MQTT: ${ws.toString('latin1').split('\r\n')[0]}`);
    const wss = await exchange(p.webStomp, { send: 'GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n', until: (b) => b.includes('\r\n\r\n') });
    if (!wss.toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`rabbitmq Web-STOMP: ${wss.toString('latin1').split('\r\n')[0]}`);
  },
};

export const servers: LabServer[] = [rabbitmq];
