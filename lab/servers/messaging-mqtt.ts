// Lab servers of the messaging-mqtt area: mosquitto 2.0 with a password file, an ACL, and four listeners:
// MQTT, MQTT over TLS, MQTT over WebSocket and over secure WebSocket.
import { chownSync } from 'node:fs';
import { ports } from '../ports.ts';
import { exchange } from '../probe.ts';
import { tlsPaths } from '../runner.ts';
import type { LabServer } from '../server.ts';
import { encodeConnect } from '../../src/protocols/mqtt/codec.ts';

const p = ports['messaging-mqtt'];

/** What mosquitto is configured with: tests assert against these. */
export const mqttFacts = {
  /** Reads and writes every topic except restricted/# (denied by the ACL). */
  user: 'portolan',
  password: 'mqtt-lab-secret',
  /** May only read sensors/#: publishing anywhere or subscribing elsewhere is not authorized. */
  reader: 'reader',
  readerPassword: 'reader-secret',
  deniedPrefix: 'restricted/',
  /** The WebSocket path (mosquitto accepts any path). */
  wsPath: '/mqtt',
};

/** CONNECT with the lab user, then expect CONNACK 0 (3.1.1): 0x20 0x02 0x00 0x00. */
async function connack(port: number, tls: boolean): Promise<void> {
  const connect = encodeConnect({ version: 4, clientId: `health-${port}`, cleanStart: true, keepAlive: 10, username: mqttFacts.user, password: new TextEncoder().encode(mqttFacts.password) });
  const got = await exchange(port, { send: connect, until: (b) => b.length >= 4, tlsCa: tls ? tlsPaths.caPath : undefined });
  if (got.subarray(0, 4).toString('hex') !== '20020000') throw new Error(`mosquitto on ${port}: expected CONNACK 0, got ${got.toString('hex')}`);
}

async function upgrade(port: number, tls: boolean): Promise<void> {
  const req = `GET ${mqttFacts.wsPath} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n`;
  const got = await exchange(port, { send: req, until: (b) => b.includes('\r\n\r\n'), tlsCa: tls ? tlsPaths.caPath : undefined });
  if (!got.toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`mosquitto WebSocket on ${port}: ${got.toString('latin1').split('\r\n')[0]}`);
}

const mosquitto: LabServer = {
  name: 'mosquitto',
  area: 'messaging-mqtt',
  packages: ['mosquitto', 'mosquitto-clients'],
  ports: [p.mosquitto, p.mosquittoTls, p.mosquittoWs, p.mosquittoWss],
  async start(ctx) {
    const f = mqttFacts;
    const passwd = ctx.writeFile('passwd', '', 0o600);
    await ctx.exec('/usr/bin/mosquitto_passwd', ['-b', passwd, f.user, f.password]);
    await ctx.exec('/usr/bin/mosquitto_passwd', ['-b', passwd, f.reader, f.readerPassword]);
    const acl = ctx.writeFile('acl', [`user ${f.user}`, 'topic readwrite #', `topic deny ${f.deniedPrefix}#`, '', `user ${f.reader}`, 'topic read sensors/#', ''].join('\n'), 0o600);
    // mosquitto drops root for its own user: it must read its files.
    const uid = Number((await ctx.exec('id', ['-u', 'mosquitto'])).trim());
    chownSync(passwd, uid, 0);
    chownSync(acl, uid, 0);
    const tls = [`certfile ${ctx.tls.certPath}`, `keyfile ${ctx.tls.keyPath}`];
    const conf = ctx.writeFile(
      'mosquitto.conf',
      [
        'per_listener_settings false',
        'allow_anonymous false',
        `password_file ${passwd}`,
        `acl_file ${acl}`,
        'persistence false',
        'log_dest stdout',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'max_inflight_messages 0',
        'max_queued_messages 100000',
        `listener ${p.mosquitto} 127.0.0.1`,
        `listener ${p.mosquittoTls} 127.0.0.1`,
        ...tls,
        `listener ${p.mosquittoWs} 127.0.0.1`,
        'protocol websockets',
        `listener ${p.mosquittoWss} 127.0.0.1`,
        'protocol websockets',
        ...tls,
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/sbin/mosquitto', args: ['-c', conf] });
  },
  async health() {
    await connack(p.mosquitto, false);
    await connack(p.mosquittoTls, true);
    await upgrade(p.mosquittoWs, false);
    await upgrade(p.mosquittoWss, true);
  },
};

export const servers: LabServer[] = [mosquitto];
