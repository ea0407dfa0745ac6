// Node-host lab servers: UDP services and the rsh family, each on 127.0.0.1 only. chrony (NTP, RFC 5905),
// net-snmp's snmpd (SNMP v1/v2c over UDP and TCP, RFC 3416/3430), tftpd-hpa (TFTP, RFC 1350 + 2347–2349).
import dgram from 'node:dgram';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports.node;

/** Sends one datagram to 127.0.0.1:port and resolves with the first answer. */
export function udpExchange(port: number, payload: Uint8Array, timeoutMs = 1500): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`127.0.0.1:${port}/udp: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(msg);
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      socket.close();
      reject(e);
    });
    socket.send(payload, port, '127.0.0.1');
  });
}

/** Known content of a file, generated the same way by the lab and the tests. */
export function patternBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** What the node-area servers are known to serve, for tests to assert against. */
export const nodeFacts = {
  ntp: {
    /** chrony's `local stratum 10`: it serves its own clock, with the local reference ID 127.127.1.1. */
    stratum: 10,
    referenceId: '127.127.1.1',
  },
  snmp: {
    community: 'harbour-master-1742',
    sysContact: 'Portolan Lab <lab@portolan.test>',
    sysName: 'portolan-lab-agent',
    sysLocation: 'Portolan lab, 127.0.0.1',
    sysServices: 72,
  },
  tftp: {
    root: join(labDir, 'tftpd', 'root'),
    /** Writable by the server: uploads land here (the server only overwrites files that exist unless -c). */
    files: {
      'hello.txt': 'Hello from the Portolan TFTP lab.\n',
    } as Record<string, string>,
    /** Binary files: name → [size, seed] of patternBytes. 1024 is exactly two 512-byte blocks (RFC 1350 §6: an empty last block). */
    binary: { 'pattern-100k.bin': [100_000, 7], 'exact-1024.bin': [1024, 11] } as Record<string, [number, number]>,
    uploadDir: 'uploads',
  },
} as const;

// chrony: NTP server with no upstream sources (nothing leaves the machine), serving its local clock.

const chrony: LabServer = {
  name: 'chrony',
  area: 'node',
  packages: ['chrony'],
  ports: [p.ntp],
  async start(ctx) {
    const conf = ctx.writeFile(
      'chrony.conf',
      [
        `port ${p.ntp}`,
        'bindaddress 127.0.0.1',
        'allow 127.0.0.1',
        `local stratum ${nodeFacts.ntp.stratum}`,
        'cmdport 0',
        `pidfile ${join(ctx.dir, 'chronyd.pid')}`,
        '',
      ].join('\n'),
    );
    // -d: foreground, log to stderr; -x: never touch the system clock; -u root: no privilege drop (state in ctx.dir).
    await ctx.spawnDaemon({ command: '/usr/sbin/chronyd', args: ['-d', '-x', '-u', 'root', '-f', conf] });
  },
  async health() {
    const req = new Uint8Array(48);
    req[0] = 0x23; // LI 0, VN 4, mode 3
    req[40] = 0xe0;
    const reply = await udpExchange(p.ntp, req);
    if (reply.length < 48 || (reply[0] & 7) !== 4 || reply[1] !== nodeFacts.ntp.stratum) {
      throw new Error(`chrony: unexpected NTP reply ${reply.toString('hex').slice(0, 32)} (want mode 4, stratum ${nodeFacts.ntp.stratum})`);
    }
  },
};

// net-snmp snmpd: v1/v2c with one read-only community, UDP and TCP on the same port number.

const snmpd: LabServer = {
  name: 'snmpd',
  area: 'node',
  packages: ['snmpd', 'snmp'],
  ports: [p.snmp],
  async start(ctx) {
    const f = nodeFacts.snmp;
    const conf = ctx.writeFile(
      'snmpd.conf',
      [
        `agentAddress udp:127.0.0.1:${p.snmp},tcp:127.0.0.1:${p.snmp}`,
        `rocommunity ${f.community} 127.0.0.1`,
        `sysContact ${f.sysContact}`,
        `sysName ${f.sysName}`,
        `sysLocation ${f.sysLocation}`,
        `sysServices ${f.sysServices}`,
        '',
      ].join('\n'),
    );
    mkdirSync(join(ctx.dir, 'persist'), { recursive: true });
    // -f foreground, -Lo log to stdout, -C only this config, -p pid file.
    await ctx.spawnDaemon({
      command: '/usr/sbin/snmpd',
      args: ['-f', '-Lo', '-C', '-c', conf, '-p', join(ctx.dir, 'snmpd.pid')],
      env: { SNMP_PERSISTENT_DIR: join(ctx.dir, 'persist'), MIBS: '' },
    });
  },
  async health(ctx) {
    const out = await ctx.exec('/usr/bin/snmpget', ['-v2c', '-c', nodeFacts.snmp.community, '-On', '-t', '1', '-r', '0', `127.0.0.1:${p.snmp}`, '1.3.6.1.2.1.1.5.0']);
    if (!out.includes(nodeFacts.snmp.sysName)) throw new Error(`snmpd: sysName.0 is not ${nodeFacts.snmp.sysName}: ${out.trim()}`);
  },
};

// tftpd-hpa: a root with known files and a writable upload directory.

function writeTftpFiles(ctx: LabContext): void {
  const f = nodeFacts.tftp;
  mkdirSync(f.root, { recursive: true, mode: 0o755 });
  for (const [name, text] of Object.entries(f.files)) writeFileSync(join(f.root, name), text, { mode: 0o644 });
  for (const [name, [size, seed]] of Object.entries(f.binary)) writeFileSync(join(f.root, name), patternBytes(size, seed), { mode: 0o644 });
  const uploads = join(f.root, f.uploadDir);
  mkdirSync(uploads, { recursive: true, mode: 0o777 });
  void ctx;
}

const tftpd: LabServer = {
  name: 'tftpd',
  area: 'node',
  packages: ['tftpd-hpa', 'tftp-hpa'],
  ports: [p.tftp],
  async start(ctx) {
    writeTftpFiles(ctx);
    const uid = Number((await ctx.exec('id', ['-u', 'tftp'])).trim());
    const gid = Number((await ctx.exec('id', ['-g', 'tftp'])).trim());
    chownSync(join(nodeFacts.tftp.root, nodeFacts.tftp.uploadDir), uid, gid);
    // -L foreground, -a address:port, -s chroot into the root, -c allow creating files, -u drop to tftp, -v log.
    await ctx.spawnDaemon({
      command: '/usr/sbin/in.tftpd',
      args: ['-L', '-a', `127.0.0.1:${p.tftp}`, '-s', '-c', '-u', 'tftp', '-v', '-v', nodeFacts.tftp.root],
    });
  },
  async health() {
    // RRQ hello.txt octet (RFC 1350 §5): the first DATA packet (opcode 3, block 1) carries the file.
    const rrq = Buffer.concat([Buffer.from([0, 1]), Buffer.from('hello.txt\0octet\0')]);
    const reply = await udpExchange(p.tftp, rrq);
    if (reply.readUInt16BE(0) !== 3 || !reply.subarray(4).toString().startsWith('Hello from')) {
      throw new Error(`tftpd: unexpected answer to RRQ hello.txt: ${reply.toString('hex').slice(0, 40)}`);
    }
  },
};

export const servers: LabServer[] = [chrony, snmpd, tftpd];
