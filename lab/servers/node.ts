// Node-host lab servers: UDP services and the rsh family, each on 127.0.0.1 only. chrony (NTP, RFC 5905),
// net-snmp's snmpd (SNMP v1/v2c over UDP and TCP, RFC 3416/3430), tftpd-hpa (TFTP, RFC 1350 + 2347–2349), and an
// nginx that speaks only TLS 1.0–1.2 (for the tls protocol's version probe).
import dgram from 'node:dgram';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import { exchange, preview } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';
import { nginxConfig } from '../nginx.ts';
import { decodeMessage } from '../../src/protocols/dns/codec.ts';
import { llmnrQuery } from '../../src/protocols/dns/mdns.ts';

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
  /** atftpd (RFC 7440 windowsize, which tftpd-hpa lacks): its own root, whose `uploads` directory takes new files. */
  atftp: {
    root: join(labDir, 'atftpd', 'root'),
    files: { 'hello.txt': 'Hello from the Portolan atftpd lab.\n' } as Record<string, string>,
    uploadDir: 'uploads',
  },
  statsd: {
    /** collectd's csv writer: <csvDir>/<hostname>/statsd/<type>-<metric>-<date>, one "epoch,value" row per second. */
    csvDir: join(labDir, 'collectd', 'csv'),
    hostname: 'portolan-lab',
  },
  sip: {
    /** kamailio answers OPTIONS statelessly with these. */
    reason: 'Portolan lab OK',
    allow: ['INVITE', 'ACK', 'CANCEL', 'OPTIONS', 'BYE'],
    server: 'Portolan lab kamailio',
  },
  ssdp: {
    /** The namespace the lab creates for minidlna: only its loopback, with multicast routed there. */
    netns: 'portolan-ssdp',
    friendlyName: 'Portolan Lab DLNA',
    /** What minidlna answers an ssdp:all search with (one response each). */
    searchTargets: ['upnp:rootdevice', 'urn:schemas-upnp-org:device:MediaServer:1', 'urn:schemas-upnp-org:service:ContentDirectory:1', 'urn:schemas-upnp-org:service:ConnectionManager:1', 'urn:microsoft.com:service:X_MS_MediaReceiverRegistrar:1'],
    server: /MiniDLNA\/1\.3\.0/,
  },
  rip: {
    /** Two namespaces joined by a veth pair: FRR's ripd in one, the client in the other. */
    routerNetns: 'portolan-rip-router',
    clientNetns: 'portolan-rip-client',
    router: '10.201.0.1',
    client: '10.201.0.2',
    /** ripd's own static RIP routes (`route` in `router rip`), each advertised with metric 1. */
    routes: ['192.0.2.0/24', '198.51.100.0/25', '203.0.113.64/26'],
  },
  llmnr: {
    /** The name llmnrd answers for (-H): LLMNR names are single labels (RFC 4795 §3). */
    hostName: 'portolan-llmnr',
  },
  mdns: {
    /** avahi in one namespace, the client in another, joined by a veth pair: multicast stays between them. */
    responderNetns: 'portolan-mdns-responder',
    clientNetns: 'portolan-mdns-client',
    responder: '10.202.0.1',
    client: '10.202.0.2',
    hostName: 'portolan-lab',
    /** publish-workstation=yes: avahi announces _workstation._tcp for its host. */
    service: '_workstation._tcp.local',
  },
  remote: {
    /** The account telnet, rsh, rlogin and rexec log in to. */
    user: 'portolan-rsh',
    // netkit rexecd reads at most 15 password characters.
    password: 'harbour7',
    /** The client-side user name .rhosts trusts from localhost (rsh and rlogin send it). */
    trustedLocalUser: 'portolan',
    /** A file in the account's home with known content. */
    file: 'lighthouse.txt',
    fileText: 'The keeper lights the lamp at dusk.\n',
  },
  tlsLegacy: {
    /** nginx's ssl_protocols there: an old-style server that never learned TLS 1.3. */
    versions: ['TLSv1', 'TLSv1.1', 'TLSv1.2'],
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

// atftpd: the lab's TFTP server with windowsize (RFC 7440), beside tftpd-hpa. It runs in the foreground on its own
// port, as nobody, serving a root with a world-writable upload directory (atftpd creates files where it may write).
// Debian's atftpd and tftpd-hpa conflict (installing one removes the other), so atftpd runs unpacked.
const atftpd: LabServer = {
  name: 'atftpd',
  area: 'node',
  packages: ['libpcre2-8-0', 'libwrap0'],
  unpacked: ['atftpd'],
  ports: [p.atftpd],
  async start(ctx) {
    const f = nodeFacts.atftp;
    mkdirSync(f.root, { recursive: true, mode: 0o755 });
    for (const [name, text] of Object.entries(f.files)) writeFileSync(join(f.root, name), text, { mode: 0o644 });
    mkdirSync(join(f.root, f.uploadDir), { recursive: true });
    chmodSync(join(f.root, f.uploadDir), 0o777);
    await ctx.spawnDaemon({
      command: join(ctx.unpacked('atftpd'), 'usr/sbin/atftpd'),
      args: ['--daemon', '--no-fork', '--port', String(p.atftpd), '--bind-address', '127.0.0.1', '--user', 'nobody', '--group', 'nogroup', '--logfile', '-', '--verbose=5', f.root],
    });
  },
  async health() {
    // RRQ hello.txt with windowsize: the OACK (opcode 6) must carry it back.
    const rrq = Buffer.concat([Buffer.from([0, 1]), Buffer.from('hello.txt\0octet\0windowsize\x004\0')]);
    const reply = await udpExchange(p.atftpd, rrq);
    if (reply.readUInt16BE(0) !== 6 || !reply.subarray(2).toString('latin1').includes('windowsize\x004')) {
      throw new Error(`atftpd: no OACK with windowsize to an RRQ asking for it: ${reply.toString('hex').slice(0, 60)}`);
    }
  },
};

// telnetd (inetutils) and the netkit rsh family, run by one xinetd: a user with a password (telnet, rexec)
// and a .rhosts trusting `portolan` at localhost (rsh, rlogin); telnetd-ssl (netkit with SSL, unpacked: it
// conflicts with the other telnetd) for Telnet over TLS from the first byte (port 992's telnets), and again on a
// port of its own offering TLS inside Telnet (AUTHENTICATION with its SSL type, RFC 2941).

async function ensureRemoteUser(ctx: LabContext): Promise<string> {
  const r = nodeFacts.remote;
  const exists = await ctx.exec('getent', ['passwd', r.user]).then(
    () => true,
    () => false,
  );
  if (!exists) await ctx.exec('useradd', ['--create-home', '--shell', '/bin/sh', '--comment', 'Portolan remote shells', r.user]);
  await ctx.exec('chpasswd', [], { input: `${r.user}:${r.password}\n` });
  const [, , uid, gid, , home] = (await ctx.exec('getent', ['passwd', r.user])).trim().split(':');
  const put = (name: string, text: string, mode: number) => {
    const path = join(home, name);
    writeFileSync(path, text, { mode });
    chmodSync(path, mode);
    chownSync(path, Number(uid), Number(gid));
  };
  // rshd and rlogind (pam_rhosts) trust `host user` lines; the file must be the user's and not writable by others.
  put('.rhosts', `localhost ${r.trustedLocalUser}\n127.0.0.1 ${r.trustedLocalUser}\n`, 0o600);
  put(r.file, r.fileText, 0o644);
  return home;
}

function xinetdService(name: string, port: number, server: string, args?: string): string {
  return `service ${name}
{
	type = UNLISTED
	socket_type = stream
	protocol = tcp
	port = ${port}
	bind = 127.0.0.1
	wait = no
	user = root
	server = ${server}${args ? `\n\tserver_args = ${args}` : ''}
}
`;
}

const remoteShells: LabServer = {
  name: 'remote-shells',
  area: 'node',
  packages: ['xinetd', 'inetutils-telnetd', 'rsh-server', 'rsh-client'],
  unpacked: ['telnetd-ssl'],
  ports: [p.telnet, p.telnetLinemode, p.rsh, p.rlogin, p.rexec, ports.sshftp.telnets, ports.sshftp.telnetAuthSsl],
  async start(ctx) {
    await ensureRemoteUser(ctx);
    const conf = ctx.writeFile(
      'xinetd.conf',
      [
        `defaults\n{\n\tlog_type = FILE ${join(ctx.dir, 'service.log')}\n\tlog_on_success = PID HOST EXIT\n\tlog_on_failure = HOST\n\tinstances = 50\n\tcps = 1000 1\n}\n`,
        xinetdService('telnet', p.telnet, '/usr/sbin/telnetd'),
        // --linemode: LINEMODE kept on after login (which clears the pty's EXTPROC), edit mode following the pty's ICANON.
        xinetdService('telnet-linemode', p.telnetLinemode, '/usr/sbin/telnetd', '--linemode'),
        // -z ssl: TLS first, then Telnet; -z secure: never fall back to the clear; -L: login(1) itself (its telnetlogin wrapper is not installed).
        xinetdService(
          'telnets',
          ports.sshftp.telnets,
          join(ctx.unpacked('telnetd-ssl'), 'usr/sbin/in.telnetd'),
          `-L /bin/login -z ssl -z secure -z cert=${ctx.tls.certPath} -z key=${ctx.tls.keyPath}`,
        ),
        // Without -z ssl: Telnet first, DO AUTHENTICATION offering SSL, the handshake after REPLY SSL ACCEPT; -z secure refuses a client that stays in the clear.
        xinetdService('telnet-authssl', ports.sshftp.telnetAuthSsl, join(ctx.unpacked('telnetd-ssl'), 'usr/sbin/in.telnetd'), `-L /bin/login -z secure -z cert=${ctx.tls.certPath} -z key=${ctx.tls.keyPath}`),
        xinetdService('shell', p.rsh, '/usr/sbin/in.rshd'),
        xinetdService('login', p.rlogin, '/usr/sbin/in.rlogind'),
        xinetdService('exec', p.rexec, '/usr/sbin/in.rexecd'),
      ].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/sbin/xinetd', args: ['-dontfork', '-f', conf, '-pidfile', join(ctx.dir, 'xinetd.pid')] });
  },
  async health(ctx) {
    // telnetd opens with option negotiation: IAC (255) DO/WILL ...
    const t = await exchange(p.telnet, { until: (b) => b.length >= 3 });
    if (t[0] !== 255) throw new Error(`telnetd: no option negotiation, got ${preview(t)}`);
    const lm = await exchange(p.telnetLinemode, { until: (b) => b.length >= 3 });
    if (lm[0] !== 255) throw new Error(`telnetd --linemode: no option negotiation, got ${preview(lm)}`);
    // telnetd-ssl: a TLS handshake with the lab certificate, then option negotiation inside it.
    const secure = await new Promise<Buffer>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: ports.sshftp.telnets, servername: 'localhost', ca: readFileSync(ctx.tls.caPath) });
      const timer = setTimeout(() => (s.destroy(), reject(new Error('telnetd-ssl: no answer within 5 s'))), 5000);
      s.once('data', (d) => (clearTimeout(timer), s.destroy(), resolve(d)));
      s.once('error', (e) => (clearTimeout(timer), reject(e)));
    });
    if (secure[0] !== 255) throw new Error(`telnetd-ssl: no option negotiation over TLS, got ${preview(secure)}`);
    // telnetd-ssl without -z ssl: option negotiation in the clear (AUTHENTICATION comes once the first is answered).
    const auth = await exchange(ports.sshftp.telnetAuthSsl, { until: (b) => b.length >= 3 });
    if (auth[0] !== 255) throw new Error(`telnetd-ssl (AUTH SSL): no option negotiation, got ${preview(auth)}`);
    // rexecd: "\0user\0password\0command\0" — answers \0 and the output, or \1 and why.
    const r = nodeFacts.remote;
    const out = await exchange(p.rexec, { send: `0\0${r.user}\0${r.password}\0cat ${r.file}\0`, until: (b) => b.includes(r.fileText.trim()) });
    if (out[0] !== 0 || !out.includes(r.fileText.trim())) throw new Error(`rexecd: unexpected answer ${preview(out)}`);
    await expectRefusedNot(p.rsh);
    await expectRefusedNot(p.rlogin);
  },
};

/** The port accepts connections (rshd and rlogind only talk to privileged source ports, so no exchange). */
function expectRefusedNot(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve();
    });
    s.once('error', (e) => reject(new Error(`127.0.0.1:${port}: ${e.message}`)));
  });
}

// collectd with the statsd plugin, writing every value through the csv plugin once a second.

const collectd: LabServer = {
  name: 'collectd',
  area: 'node',
  packages: ['collectd-core'],
  ports: [p.statsd],
  async start(ctx) {
    const f = nodeFacts.statsd;
    mkdirSync(f.csvDir, { recursive: true });
    const conf = ctx.writeFile(
      'collectd.conf',
      [
        'Interval 1',
        `Hostname "${f.hostname}"`,
        'FQDNLookup false',
        `BaseDir "${ctx.dir}"`,
        `PIDFile "${join(ctx.dir, 'collectd.pid')}"`,
        'PluginDir "/usr/lib/collectd"',
        'TypesDB "/usr/share/collectd/types.db"',
        'LoadPlugin logfile',
        '<Plugin logfile>\n  LogLevel info\n  File STDOUT\n</Plugin>',
        'LoadPlugin statsd',
        'LoadPlugin csv',
        `<Plugin statsd>\n  Host "127.0.0.1"\n  Port "${p.statsd}"\n  DeleteCounters false\n  DeleteGauges false\n  TimerPercentile 90\n  TimerCount true\n</Plugin>`,
        `<Plugin csv>\n  DataDir "${f.csvDir}"\n  StoreRates false\n</Plugin>`,
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/sbin/collectd', args: ['-f', '-C', conf] });
  },
  async health() {
    // StatsD never answers: the socket must be bound (/proc/net/udp lists 127.0.0.1:port as 0100007F:PORT).
    const want = `0100007F:${p.statsd.toString(16).toUpperCase().padStart(4, '0')}`;
    if (!readFileSync('/proc/net/udp', 'utf8').includes(want)) throw new Error(`collectd: nothing bound to 127.0.0.1:${p.statsd}/udp`);
  },
};

/** The values collectd wrote for one statsd metric (`type` as collectd names it: gauge, derive, latency, objects). */
export function statsdValues(type: string, metric: string): number[] {
  const dir = join(nodeFacts.statsd.csvDir, nodeFacts.statsd.hostname, 'statsd');
  let files: string[];
  try {
    files = readdirSync(dir).filter((n) => n.startsWith(`${type}-${metric}-20`));
  } catch {
    return [];
  }
  return files.flatMap((n) =>
    readFileSync(join(dir, n), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((row) => Number(row.split(',')[1])),
  );
}

// kamailio: a stateless SIP responder on UDP and TCP that answers OPTIONS with 200 and anything else with 405.

const kamailio: LabServer = {
  name: 'kamailio',
  area: 'node',
  packages: ['kamailio'],
  ports: [p.sip],
  async start(ctx) {
    const f = nodeFacts.sip;
    const conf = ctx.writeFile(
      'kamailio.cfg',
      `#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=2
listen=udp:127.0.0.1:${p.sip}
listen=tcp:127.0.0.1:${p.sip}
server_header="Server: ${f.server}"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (is_method("OPTIONS")) {
    append_to_reply("Allow: ${f.allow.join(', ')}\\r\\n");
    append_to_reply("Accept: application/sdp\\r\\n");
    sl_send_reply("200", "${f.reason}");
    exit;
  }
  sl_send_reply("405", "Method Not Allowed");
}
`,
    );
    // -DD: stay in the foreground; -E: log to stderr; small shared and private memory pools.
    await ctx.spawnDaemon({ command: '/usr/sbin/kamailio', args: ['-DD', '-E', '-f', conf, '-m', '32', '-M', '8', '-P', join(ctx.dir, 'kamailio.pid')] });
  },
  async health() {
    const options = `OPTIONS sip:127.0.0.1:${p.sip} SIP/2.0\r\nVia: SIP/2.0/UDP lab.invalid;branch=z9hG4bKhealth;rport\r\nMax-Forwards: 70\r\nTo: <sip:127.0.0.1>\r\nFrom: <sip:lab@lab.invalid>;tag=1\r\nCall-ID: health@lab.invalid\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
    const reply = (await udpExchange(p.sip, Buffer.from(options))).toString('latin1');
    if (!reply.startsWith(`SIP/2.0 200 ${nodeFacts.sip.reason}`)) throw new Error(`kamailio: unexpected answer ${JSON.stringify(reply.slice(0, 60))}`);
  },
};

// minidlna (SSDP) in a network namespace of its own: it joins 239.255.255.250 on the namespace's loopback, so
// its announcements and answers never reach a real interface. Tests run the client in the same namespace.

/** Creates the lab's namespace (idempotent): loopback up, multicast on it and routed to it. */
export async function ensureNetns(ctx: Pick<LabContext, 'exec'>, name: string): Promise<void> {
  const list = await ctx.exec('ip', ['netns', 'list']);
  if (!list.split('\n').some((l) => l.split(' ')[0] === name)) await ctx.exec('ip', ['netns', 'add', name]);
  await ctx.exec('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
  await ctx.exec('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'multicast', 'on']);
  await ctx.exec('ip', ['netns', 'exec', name, 'ip', 'route', 'replace', '224.0.0.0/4', 'dev', 'lo']);
}

const MSEARCH_PROBE = `const s=require('dgram').createSocket('udp4');s.on('message',m=>{if(m.toString().startsWith('HTTP/1.1 200')){console.log('ok');process.exit(0)}});s.bind(0,()=>{s.setMulticastTTL(1);s.send('M-SEARCH * HTTP/1.1\\r\\nHOST: 239.255.255.250:1900\\r\\nMAN: "ssdp:discover"\\r\\nMX: 1\\r\\nST: upnp:rootdevice\\r\\n\\r\\n',1900,'239.255.255.250')});setTimeout(()=>process.exit(1),2500)`;

const minidlna: LabServer = {
  name: 'minidlna',
  area: 'node',
  packages: ['minidlna', 'iproute2'],
  ports: [],
  async start(ctx) {
    const f = nodeFacts.ssdp;
    await ensureNetns(ctx, f.netns);
    mkdirSync(join(ctx.dir, 'media'), { recursive: true });
    mkdirSync(join(ctx.dir, 'db'), { recursive: true });
    ctx.writeFile('media/harbour.txt', 'not a media file\n');
    const conf = ctx.writeFile(
      'minidlna.conf',
      [`media_dir=${join(ctx.dir, 'media')}`, `db_dir=${join(ctx.dir, 'db')}`, `log_dir=${ctx.dir}`, 'network_interface=lo', `port=${p.ssdp}`, `friendly_name=${f.friendlyName}`, 'inotify=no', 'notify_interval=900', ''].join('\n'),
    );
    // -S: stay in the foreground; -R: rebuild the (empty) database.
    await ctx.spawnDaemon({ command: '/usr/sbin/ip', args: ['netns', 'exec', f.netns, '/usr/sbin/minidlnad', '-S', '-R', '-f', conf, '-P', join(ctx.dir, 'minidlna.pid')] });
  },
  async health(ctx) {
    const out = await ctx.exec('ip', ['netns', 'exec', nodeFacts.ssdp.netns, process.execPath, '-e', MSEARCH_PROBE]);
    if (!out.includes('ok')) throw new Error('minidlna: no answer to M-SEARCH inside the namespace');
  },
};

// FRR ripd between two namespaces joined by a veth pair (no real interface, no multicast beyond the pair).

const RIP_PROBE = (router: string) =>
  `const s=require('dgram').createSocket('udp4');s.on('message',m=>{if(m[0]===2){console.log('ok');process.exit(0)}});s.bind(0,()=>s.send(Buffer.from('010200000000000000000000000000000000000000000010','hex'),520,'${router}'));setTimeout(()=>process.exit(1),2500)`;

const frrRip: LabServer = {
  name: 'frr-rip',
  area: 'node',
  packages: ['frr', 'iproute2'],
  ports: [],
  async start(ctx) {
    const f = nodeFacts.rip;
    for (const ns of [f.routerNetns, f.clientNetns]) {
      const list = await ctx.exec('ip', ['netns', 'list']);
      if (!list.split('\n').some((l) => l.split(' ')[0] === ns)) await ctx.exec('ip', ['netns', 'add', ns]);
      await ctx.exec('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    }
    const links = await ctx.exec('ip', ['netns', 'exec', f.routerNetns, 'ip', '-br', 'link']);
    if (!links.includes('pt-rip0')) {
      await ctx.exec('ip', ['link', 'add', 'pt-rip0', 'netns', f.routerNetns, 'type', 'veth', 'peer', 'name', 'pt-rip1', 'netns', f.clientNetns]);
      await ctx.exec('ip', ['netns', 'exec', f.routerNetns, 'ip', 'addr', 'add', `${f.router}/30`, 'dev', 'pt-rip0']);
      await ctx.exec('ip', ['netns', 'exec', f.clientNetns, 'ip', 'addr', 'add', `${f.client}/30`, 'dev', 'pt-rip1']);
    }
    await ctx.exec('ip', ['netns', 'exec', f.routerNetns, 'ip', 'link', 'set', 'pt-rip0', 'up']);
    await ctx.exec('ip', ['netns', 'exec', f.clientNetns, 'ip', 'link', 'set', 'pt-rip1', 'up']);
    const zebra = ctx.writeFile('zebra.conf', 'hostname lab-zebra\n');
    const ripd = ctx.writeFile('ripd.conf', ['hostname lab-ripd', 'router rip', ' version 2', ' network pt-rip0', ...f.routes.map((r) => ` route ${r}`), ''].join('\n'));
    const [uid, gid] = [Number((await ctx.exec('id', ['-u', 'frr'])).trim()), Number((await ctx.exec('id', ['-g', 'frr'])).trim())];
    for (const path of [ctx.dir, zebra, ripd]) chownSync(path, uid, gid);
    const common = ['-z', join(ctx.dir, 'zserv.api'), '--vty_socket', ctx.dir];
    await ctx.spawnDaemon({ label: 'zebra', command: '/usr/sbin/ip', args: ['netns', 'exec', f.routerNetns, '/usr/lib/frr/zebra', '-f', zebra, '-i', join(ctx.dir, 'zebra.pid'), ...common] });
    await new Promise((r) => setTimeout(r, 1000));
    await ctx.spawnDaemon({ label: 'ripd', command: '/usr/sbin/ip', args: ['netns', 'exec', f.routerNetns, '/usr/lib/frr/ripd', '-f', ripd, '-i', join(ctx.dir, 'ripd.pid'), ...common] });
  },
  async health(ctx) {
    const f = nodeFacts.rip;
    const out = await ctx.exec('ip', ['netns', 'exec', f.clientNetns, process.execPath, '-e', RIP_PROBE(f.router)]);
    if (!out.includes('ok')) throw new Error('frr ripd: no answer to a RIP request from the client namespace');
  },
};

/** Two namespaces joined by a veth pair `a` (first namespace, first address) ↔ `b`; idempotent. */
async function ensureVethPair(ctx: Pick<LabContext, 'exec'>, pair: { nsA: string; nsB: string; ifA: string; ifB: string; addrA: string; addrB: string }): Promise<void> {
  for (const ns of [pair.nsA, pair.nsB]) {
    const list = await ctx.exec('ip', ['netns', 'list']);
    if (!list.split('\n').some((l) => l.split(' ')[0] === ns)) await ctx.exec('ip', ['netns', 'add', ns]);
    await ctx.exec('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  }
  const links = await ctx.exec('ip', ['netns', 'exec', pair.nsA, 'ip', '-br', 'link']);
  if (!links.includes(pair.ifA)) {
    await ctx.exec('ip', ['link', 'add', pair.ifA, 'netns', pair.nsA, 'type', 'veth', 'peer', 'name', pair.ifB, 'netns', pair.nsB]);
    await ctx.exec('ip', ['netns', 'exec', pair.nsA, 'ip', 'addr', 'add', `${pair.addrA}/30`, 'dev', pair.ifA]);
    await ctx.exec('ip', ['netns', 'exec', pair.nsB, 'ip', 'addr', 'add', `${pair.addrB}/30`, 'dev', pair.ifB]);
  }
  await ctx.exec('ip', ['netns', 'exec', pair.nsA, 'ip', 'link', 'set', pair.ifA, 'up']);
  await ctx.exec('ip', ['netns', 'exec', pair.nsB, 'ip', 'link', 'set', pair.ifB, 'up']);
}

// avahi-daemon across a veth pair between two namespaces: no D-Bus, no real interface, answers legacy unicast queries.

const MDNS_PROBE = (responder: string, name: string) =>
  `const s=require('dgram').createSocket('udp4');s.on('message',m=>{if(m.length>12&&m.readUInt16BE(6)>0){console.log('ok');process.exit(0)}});const q=Buffer.concat([Buffer.from('abcd00000001000000000000','hex'),...'${name}.local'.split('.').map(l=>Buffer.concat([Buffer.from([l.length]),Buffer.from(l)])),Buffer.from('0000010001','hex')]);s.bind(0,()=>s.send(q,5353,'${responder}'));setTimeout(()=>process.exit(1),2500)`;

const avahi: LabServer = {
  name: 'avahi',
  area: 'node',
  packages: ['avahi-daemon', 'iproute2'],
  ports: [],
  async start(ctx) {
    const f = nodeFacts.mdns;
    await ensureVethPair(ctx, { nsA: f.responderNetns, nsB: f.clientNetns, ifA: 'pt-mdns0', ifB: 'pt-mdns1', addrA: f.responder, addrB: f.client });
    const conf = ctx.writeFile(
      'avahi-daemon.conf',
      ['[server]', `host-name=${f.hostName}`, 'domain-name=local', 'use-ipv4=yes', 'use-ipv6=no', 'allow-interfaces=pt-mdns0', 'enable-dbus=no', '[wide-area]', 'enable-wide-area=no', '[publish]', 'publish-addresses=yes', 'publish-hinfo=no', 'publish-workstation=yes', ''].join('\n'),
    );
    // avahi-daemon keeps its pid in /run/avahi-daemon/pid (no option moves it) and refuses to start while that pid
    // lives: after an earlier run the system may have given it to any process.
    const pidFile = '/run/avahi-daemon/pid';
    const stale = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '';
    if (stale && !(existsSync(`/proc/${stale}/comm`) && readFileSync(`/proc/${stale}/comm`, 'utf8').trim() === 'avahi-daemon')) rmSync(pidFile, { force: true });
    await ctx.spawnDaemon({ command: '/usr/sbin/ip', args: ['netns', 'exec', f.responderNetns, '/usr/sbin/avahi-daemon', '--no-drop-root', '--no-chroot', '--no-rlimits', '--no-proc-title', '-f', conf] });
  },
  async health(ctx) {
    const f = nodeFacts.mdns;
    const out = await ctx.exec('ip', ['netns', 'exec', f.clientNetns, process.execPath, '-e', MDNS_PROBE(f.responder, f.hostName)]);
    if (!out.includes('ok')) throw new Error('avahi: no answer to a unicast mDNS query from the client namespace');
  },
};

// llmnrd, Debian's stand-alone LLMNR responder, bound to loopback on a lab port: it answers A queries for its
// -H name with the addresses of the interface the query came in on. Unpacked, not installed: the package's
// init script would start a responder on every interface.

const llmnrd: LabServer = {
  name: 'llmnrd',
  area: 'node',
  packages: [],
  unpacked: ['llmnrd'],
  ports: [p.llmnr],
  async start(ctx) {
    await ctx.spawnDaemon({ command: join(ctx.unpacked('llmnrd'), 'usr/sbin/llmnrd'), args: ['-H', nodeFacts.llmnr.hostName, '-i', 'lo', '-p', String(p.llmnr)] });
  },
  async health() {
    const answers = decodeMessage(await udpExchange(p.llmnr, llmnrQuery(0x4c4c, nodeFacts.llmnr.hostName, 'A'))).answers;
    if (answers.length === 0) throw new Error(`llmnrd: no answer for ${nodeFacts.llmnr.hostName}`);
  },
};

// nginx offering TLS 1.0, 1.1 and 1.2 only. OpenSSL 3 refuses 1.0 and 1.1 at its default security level (their
// handshake signatures use SHA-1), so the server lowers it to 0, as a legacy server built that way would.

const nginxTlsLegacy: LabServer = {
  name: 'nginx-tls-legacy',
  area: 'node',
  packages: ['nginx'],
  ports: [p.tlsLegacy],
  async start(ctx) {
    const conf = ctx.writeFile(
      'nginx.conf',
      nginxConfig(ctx.dir, {
        generatedBy: 'lab/servers/node.ts',
        workerConnections: 64,
        http: `  access_log off;
  server {
    listen 127.0.0.1:${p.tlsLegacy} ssl;
    ssl_certificate ${ctx.tls.certPath};
    ssl_certificate_key ${ctx.tls.keyPath};
    ssl_protocols ${nodeFacts.tlsLegacy.versions.join(' ')};
    ssl_ciphers DEFAULT:@SECLEVEL=0;
    location / { return 200 "legacy TLS"; }
  }
`,
      }),
    );
    await ctx.exec('/usr/sbin/nginx', ['-t', '-p', ctx.dir, '-c', conf]);
    await ctx.spawnDaemon({ command: '/usr/sbin/nginx', args: ['-p', ctx.dir, '-c', conf] });
  },
  async health() {
    // A TLS 1.0 handshake completes (the client lowers its security level too); TLS 1.3 is refused.
    const handshake = (v: 'TLSv1' | 'TLSv1.3') =>
      new Promise<string>((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: p.tlsLegacy, minVersion: v, maxVersion: v, ciphers: 'DEFAULT:@SECLEVEL=0', rejectUnauthorized: false });
        s.once('secureConnect', () => {
          resolve(s.getProtocol() ?? '?');
          s.destroy();
        });
        s.once('error', (e) => resolve(`error: ${e.message}`));
      });
    const old = await handshake('TLSv1');
    if (old !== 'TLSv1') throw new Error(`nginx-tls-legacy: a TLS 1.0 handshake gave ${old}`);
    const modern = await handshake('TLSv1.3');
    if (!modern.startsWith('error')) throw new Error(`nginx-tls-legacy: TLS 1.3 was accepted (${modern})`);
  },
};

export const servers: LabServer[] = [chrony, snmpd, tftpd, atftpd, remoteShells, collectd, kamailio, minidlna, frrRip, avahi, llmnrd, nginxTlsLegacy];
