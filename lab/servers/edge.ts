// The network edge's proxies on 127.0.0.1: Dante (SOCKS4/4a/5) without and with username/password
// authentication, Squid (one port open, one asking Basic proxy authentication) and tinyproxy.
// Both proxies refuse 127.0.0.2 by rule, so a refusal by the proxy's own policy is testable.
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import { exchange, expectIncludes, isListening } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports.edge;

/** What the edge lab serves, for tests to assert against. */
export const edgeFacts = {
  socks: {
    port: p.socks,
    authPort: p.socksAuth,
    /** A system account: Dante's username method checks the password database. */
    user: 'portolan-socks',
    password: 'socks-pass-1',
    /** Both Dante instances refuse CONNECT to this address by rule (reply 0x02). */
    blocked: '127.0.0.2',
    version: '1.4.2',
  },
  squid: {
    port: p.squid,
    authPort: p.squidAuth,
    user: 'portolan-proxy',
    password: 'proxy-pass-1',
    realm: 'Portolan lab proxy',
    hostname: 'portolan-squid',
    /** Refused by http_access (403, ERR_ACCESS_DENIED). */
    blocked: '127.0.0.2',
    version: '5.7',
  },
  tinyproxy: { port: p.tinyproxy, viaName: 'portolan-tinyproxy', version: '1.11.1' },
  tor: {
    controlPort: p.torControl,
    password: 'tor-pass-1',
    /** The control cookie (32 bytes) tor writes at start; read it with torCookie(). */
    cookieFile: join(labDir, 'tor', 'control_auth_cookie'),
    version: '0.4.9.11',
  },
  turn: {
    port: p.stun,
    tlsPort: p.stunTls,
    user: 'portolan',
    password: 'turn-pass-1',
    realm: 'portolan.lab',
    software: "Coturn-4.6.1 'Gorst'",
    relay: { min: p.turnRelayMin, max: p.turnRelayMax },
  },
  /** pptpd has no port option: it listens on 1723 (on 127.0.0.1 only). */
  pptp: { port: p.pptp, hostname: 'local', vendor: 'linux', version: '1.4.0' },
  l2tp: { port: p.l2tp, hostname: 'portolan-lns', vendor: 'xelerance.com', version: '1.3.18' },
  /**
   * OpenVPN in TCP server mode: plain, with tls-auth (key direction 0, HMAC-SHA1) and with tls-crypt.
   * Server mode needs a tun device: each instance gets one (pttun0–2) that is never configured
   * (no addresses, no routes, link down); `dev null` only works in point-to-point mode.
   */
  openvpn: {
    port: p.openvpn,
    tlsAuthPort: p.openvpnTlsAuth,
    tlsCryptPort: p.openvpnTlsCrypt,
    tlsAuthKeyFile: join(labDir, 'openvpn', 'ta.key'),
    tlsCryptKeyFile: join(labDir, 'openvpn', 'tc.key'),
    version: '2.6.14',
  },
  /**
   * strongSwan charon as an IKEv2 responder: IKE on `port`, NAT-T on `natTPort`. On any port but 500 charon
   * takes a datagram without the four-byte non-ESP marker (RFC 3948 section 2.2) for ESP and drops it
   * unlogged, so every IKE message to these ports carries the marker. One connection, pre-shared key,
   * proposal AES-CBC-256 / HMAC-SHA2-256 / MODP-2048: the KE for any other group draws INVALID_KE_PAYLOAD
   * asking for MODP-2048. Debian's plugin set here has no ECP or Curve25519 (no openssl plugin).
   */
  ike: {
    port: p.ike,
    natTPort: p.ikeNatT,
    /** As charon lists the transforms of the proposal it chose. */
    proposal: ['AES-CBC-256', 'HMAC-SHA2-256-128', 'PRF-HMAC-SHA2-256', 'MODP-2048'],
    group: 'MODP-2048',
    version: '5.9.8',
  },
  shadowsocks: { chachaPort: p.shadowsocksChacha, aesPort: p.shadowsocksAes, password: 'ss-pass-1', version: '3.3.5' },
} as const;

/** The control cookie tor wrote, as hex (what a user on the tor host reads from the file). */
export function torCookie(): string {
  return readFileSync(edgeFacts.tor.cookieFile).toString('hex');
}

async function ensureSystemUser(ctx: LabContext, user: string, password: string): Promise<void> {
  const exists = await ctx.exec('getent', ['passwd', user]).then(
    () => true,
    () => false,
  );
  if (!exists) await ctx.exec('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', '--comment', 'Portolan SOCKS lab', user]);
  await ctx.exec('chpasswd', [], { input: `${user}:${password}\n` });
}

function danteConfig(port: number, method: 'none' | 'username'): string {
  return `logoutput: stderr
internal: 127.0.0.1 port = ${port}
external: 127.0.0.1
clientmethod: none
socksmethod: ${method}
user.privileged: root
user.unprivileged: nobody
client pass {
  from: 127.0.0.0/8 to: 0.0.0.0/0
}
socks block {
  from: 0.0.0.0/0 to: ${edgeFacts.socks.blocked}/32
  log: error
}
socks pass {
  from: 127.0.0.0/8 to: 127.0.0.0/8
  command: connect
  log: error
}
`;
}

/** RFC 1928 greeting offering `method` alone: the health check wants that method chosen. */
async function expectMethod(port: number, method: number): Promise<void> {
  const got = await exchange(port, { send: Uint8Array.of(5, 1, method), until: (b) => b.length >= 2 });
  if (got[0] !== 5 || got[1] !== method) throw new Error(`danted on ${port}: answered ${got.toString('hex')} to a greeting offering method ${method}`);
}

const dante: LabServer = {
  name: 'dante',
  area: 'edge',
  packages: ['dante-server'],
  ports: [p.socks, p.socksAuth],
  async start(ctx) {
    await ensureSystemUser(ctx, edgeFacts.socks.user, edgeFacts.socks.password);
    const open = ctx.writeFile('danted.conf', danteConfig(p.socks, 'none'));
    const auth = ctx.writeFile('danted-auth.conf', danteConfig(p.socksAuth, 'username'));
    await ctx.spawnDaemon({ label: 'danted', command: '/usr/sbin/danted', args: ['-f', open, '-p', join(ctx.dir, 'danted.pid')] });
    await ctx.spawnDaemon({ label: 'danted-auth', command: '/usr/sbin/danted', args: ['-f', auth, '-p', join(ctx.dir, 'danted-auth.pid')] });
  },
  async health() {
    await expectMethod(p.socks, 0x00);
    await expectMethod(p.socksAuth, 0x02);
  },
};

const squid: LabServer = {
  name: 'squid',
  area: 'edge',
  packages: ['squid'],
  ports: [p.squid, p.squidAuth],
  async start(ctx) {
    const f = edgeFacts.squid;
    const hash = execFileSync('openssl', ['passwd', '-apr1', f.password]).toString().trim();
    const passwd = ctx.writeFile('passwd', `${f.user}:${hash}\n`);
    const conf = ctx.writeFile(
      'squid.conf',
      [
        `http_port 127.0.0.1:${p.squid} name=open`,
        `http_port 127.0.0.1:${p.squidAuth} name=auth`,
        `visible_hostname ${f.hostname}`,
        `pid_filename ${join(ctx.dir, 'squid.pid')}`,
        `cache_log stdio:${join(ctx.dir, 'cache.log')}`,
        `access_log stdio:${join(ctx.dir, 'access.log')}`,
        `coredump_dir ${ctx.dir}`,
        'cache_mem 8 MB',
        'pinger_enable off',
        'shutdown_lifetime 1 seconds',
        `auth_param basic program /usr/lib/squid/basic_ncsa_auth ${passwd}`,
        `auth_param basic realm ${f.realm}`,
        'acl authport myportname auth',
        'acl authed proxy_auth REQUIRED',
        `acl blocked dst ${f.blocked}`,
        'http_access deny blocked',
        'http_access allow authport authed',
        'http_access deny authport',
        'http_access allow localhost',
        'http_access deny all',
        '',
      ].join('\n'),
    );
    // Squid drops to the proxy user: it writes its pid file and logs here.
    const [, , uid, gid] = (await ctx.exec('getent', ['passwd', 'proxy'])).trim().split(':');
    chownSync(ctx.dir, Number(uid), Number(gid));
    await ctx.spawnDaemon({ command: '/usr/sbin/squid', args: ['-N', '-f', conf] });
  },
  async health() {
    for (const port of [p.squid, p.squidAuth]) {
      const got = await exchange(port, { send: 'OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n', until: (b) => b.includes('\r\n\r\n') });
      expectIncludes(`squid on ${port}`, got, 'squid/');
    }
  },
};

const tinyproxy: LabServer = {
  name: 'tinyproxy',
  area: 'edge',
  packages: ['tinyproxy'],
  ports: [p.tinyproxy],
  async start(ctx) {
    const conf = ctx.writeFile(
      'tinyproxy.conf',
      ['User nobody', 'Group nogroup', `Port ${p.tinyproxy}`, 'Listen 127.0.0.1', 'Timeout 30', 'LogLevel Info', 'MaxClients 32', 'Allow 127.0.0.1', `ViaProxyName "${edgeFacts.tinyproxy.viaName}"`, ''].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/bin/tinyproxy', args: ['-d', '-c', conf] });
  },
  async health() {
    // A request for the proxy itself answers with tinyproxy's own error page.
    const got = await exchange(p.tinyproxy, { send: 'GET / HTTP/1.0\r\n\r\n', until: (b) => b.includes('\r\n\r\n') });
    expectIncludes('tinyproxy', got, 'tinyproxy/');
  },
};

// tor with the network disabled: only its control port, with password and cookie authentication.
const tor: LabServer = {
  name: 'tor',
  area: 'edge',
  packages: ['tor'],
  ports: [p.torControl],
  async start(ctx) {
    const f = edgeFacts.tor;
    const hash = (await ctx.exec('/usr/bin/tor', ['--quiet', '--hash-password', f.password])).trim().split('\n').pop()!;
    const data = join(ctx.dir, 'data');
    mkdirSync(data, { recursive: true, mode: 0o700 });
    const torrc = ctx.writeFile(
      'torrc',
      [
        `DataDirectory ${data}`,
        'DisableNetwork 1',
        'SocksPort 0',
        `ControlPort 127.0.0.1:${p.torControl}`,
        `HashedControlPassword ${hash}`,
        'CookieAuthentication 1',
        `CookieAuthFile ${f.cookieFile}`,
        'CookieAuthFileGroupReadable 1',
        'Log notice stdout',
        'RunAsDaemon 0',
        'AvoidDiskWrites 1',
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/bin/tor', args: ['-f', torrc] });
  },
  async health() {
    const got = await exchange(p.torControl, { send: 'PROTOCOLINFO 1\r\n', until: (b) => b.includes('250 OK\r\n') });
    expectIncludes('tor', got, 'METHODS=COOKIE,SAFECOOKIE,HASHEDPASSWORD');
  },
};

// coturn: STUN and TURN on UDP and TCP, TLS with the lab certificate, long-term credentials, relays on loopback.
const coturn: LabServer = {
  name: 'coturn',
  area: 'edge',
  packages: ['coturn'],
  ports: [p.stun, p.stunTls],
  async start(ctx) {
    const f = edgeFacts.turn;
    await ctx.spawnDaemon({
      command: '/usr/bin/turnserver',
      args: [
        '-n',
        '--listening-ip=127.0.0.1',
        `--listening-port=${p.stun}`,
        `--tls-listening-port=${p.stunTls}`,
        `--cert=${ctx.tls.certPath}`,
        `--pkey=${ctx.tls.keyPath}`,
        '--no-dtls',
        '--lt-cred-mech',
        `--user=${f.user}:${f.password}`,
        `--realm=${f.realm}`,
        '--relay-ip=127.0.0.1',
        `--min-port=${f.relay.min}`,
        `--max-port=${f.relay.max}`,
        '--no-cli',
        '--log-file=stdout',
        '--simple-log',
        `--pidfile=${join(ctx.dir, 'turnserver.pid')}`,
      ],
    });
  },
  async health() {
    // A Binding request over TCP: 20-byte header, no attributes; the answer is a Binding success (0x0101).
    const request = Buffer.from('000100002112a442000102030405060708090a0b', 'hex');
    const got = await exchange(p.stun, { send: request, until: (b) => b.length >= 20 });
    if (got.readUInt16BE(0) !== 0x0101) throw new Error(`coturn: answered ${got.subarray(0, 20).toString('hex')} to a Binding request`);
  },
};

// shadowsocks-libev: one server per AEAD cipher, reaching loopback targets.
const shadowsocks: LabServer = {
  name: 'shadowsocks',
  area: 'edge',
  packages: ['shadowsocks-libev'],
  ports: [p.shadowsocksChacha, p.shadowsocksAes],
  async start(ctx) {
    const f = edgeFacts.shadowsocks;
    for (const [label, port, method] of [
      ['ss-chacha', p.shadowsocksChacha, 'chacha20-ietf-poly1305'],
      ['ss-aes', p.shadowsocksAes, 'aes-256-gcm'],
    ] as const) {
      await ctx.spawnDaemon({ label, command: '/usr/bin/ss-server', args: ['-s', '127.0.0.1', '-p', String(port), '-k', f.password, '-m', method, '-t', '60', '-v'] });
    }
  },
  async health() {
    // A server that cannot decrypt stays silent: listening is what can be seen from outside.
    for (const port of [p.shadowsocksChacha, p.shadowsocksAes]) {
      if (!(await isListening(port))) throw new Error(`ss-server: nothing listens on ${port}`);
    }
  },
};

// pptpd: the control connection only; no call is ever placed, so pppd never runs.
const pptpd: LabServer = {
  name: 'pptpd',
  area: 'edge',
  packages: ['pptpd'],
  ports: [p.pptp],
  async start(ctx) {
    const options = ctx.writeFile('options.pptpd', 'name pptpd\nrefuse-pap\nrefuse-chap\n');
    const conf = ctx.writeFile('pptpd.conf', `option ${options}\nlocalip 10.250.0.1\nremoteip 10.250.0.2-9\n`);
    await ctx.spawnDaemon({ command: '/usr/sbin/pptpd', args: ['--fg', '--conf', conf, '--listen', '127.0.0.1', '--pidfile', join(ctx.dir, 'pptpd.pid')] });
  },
  async health() {
    // A Start-Control-Connection-Request (156 bytes): the reply is 156 bytes with type 2.
    const req = Buffer.alloc(156);
    req.writeUInt16BE(156, 0);
    req.writeUInt16BE(1, 2);
    req.writeUInt32BE(0x1a2b3c4d, 4);
    req.writeUInt16BE(1, 8);
    req.writeUInt16BE(0x0100, 12);
    const got = await exchange(p.pptp, { send: req, until: (b) => b.length >= 12 });
    if (got.readUInt16BE(8) !== 2) throw new Error(`pptpd: answered ${got.subarray(0, 16).toString('hex')} to a Start-Control-Connection-Request`);
  },
};

// xl2tpd as an LNS on UDP: answers SCCRQ; no call is completed, so pppd never runs.
const L2TP_PROBE = (port: number) =>
  `const d=require('dgram').createSocket('udp4');d.on('message',b=>{if(b.readUInt16BE(0)===0xc802){console.log('ok');process.exit(0)}});d.send(Buffer.from('c80200480000000000000000800800000000000180080000000201008009000000076c6162800a000000030000000380080000000900010009000000086c616200080000000a0004','hex'),${port},'127.0.0.1');setTimeout(()=>process.exit(1),2000)`;

const xl2tpd: LabServer = {
  name: 'xl2tpd',
  area: 'edge',
  packages: ['xl2tpd'],
  ports: [p.l2tp],
  async start(ctx) {
    const f = edgeFacts.l2tp;
    const conf = ctx.writeFile(
      'xl2tpd.conf',
      ['[global]', 'listen-addr = 127.0.0.1', `port = ${p.l2tp}`, '[lns default]', 'ip range = 10.251.0.2-10.251.0.9', 'local ip = 10.251.0.1', `hostname = ${f.hostname}`, 'require authentication = no', ''].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/sbin/xl2tpd', args: ['-D', '-c', conf, '-p', join(ctx.dir, 'xl2tpd.pid'), '-C', join(ctx.dir, 'l2tp-control')] });
  },
  async health(ctx) {
    const out = await ctx.exec(process.execPath, ['-e', L2TP_PROBE(p.l2tp)]);
    if (!out.includes('ok')) throw new Error('xl2tpd: no SCCRP to an SCCRQ');
  },
};

// strongSwan charon, its own strongswan.conf (STRONGSWAN_CONF) and vici socket, on the lab's ports. Its
// sockets bind every address (socket-default has no bind option); `interfaces_use = lo` makes it ignore
// whatever arrives on another interface. No routes, no routing rules, nothing installed in the kernel:
// no IKE_SA gets past IKE_SA_INIT without the key.

/** An IKE_SA_INIT for MODP-2048 after the non-ESP marker: ok when the response carries an SA payload (33). */
const IKE_PROBE = (port: number) =>
  `const d=require('dgram').createSocket('udp4'),c=require('crypto');const pl=(n,b)=>Buffer.concat([Buffer.from([n,0,(b.length+4)>>8,(b.length+4)&255]),b]);` +
  `const t=(l,ty,id,a)=>Buffer.concat([Buffer.from([l,0,0,a?12:8,ty,0,0,id]),a?Buffer.from('800e0100','hex'):Buffer.alloc(0)]);` +
  `const ts=Buffer.concat([t(3,1,12,1),t(3,2,5),t(3,3,12),t(0,4,14)]);const sa=Buffer.concat([Buffer.from([0,0,0,8+ts.length,1,1,0,4]),ts]);` +
  `const ke=Buffer.concat([Buffer.from('000e0000','hex'),c.randomBytes(256)]);ke[4]&=127;` +
  `const body=Buffer.concat([pl(34,sa),pl(40,ke),pl(0,c.randomBytes(32))]);const h=Buffer.alloc(28);c.randomBytes(8).copy(h);h[16]=33;h[17]=32;h[18]=34;h[19]=8;h.writeUInt32BE(28+body.length,24);` +
  `d.on('message',b=>{if(b.readUInt32BE(0)===0&&b[22]===34&&b[20]===33){console.log('ok');process.exit(0)}});d.send(Buffer.concat([Buffer.alloc(4),h,body]),${port},'127.0.0.1');setTimeout(()=>process.exit(1),2000)`;

const charon: LabServer = {
  name: 'strongswan',
  area: 'edge',
  packages: ['strongswan-charon', 'strongswan-swanctl'],
  ports: [p.ike, p.ikeNatT],
  async start(ctx) {
    const vici = join(ctx.dir, 'charon.vici');
    const conf = ctx.writeFile(
      'strongswan.conf',
      `charon {
  port = ${p.ike}
  port_nat_t = ${p.ikeNatT}
  interfaces_use = lo
  install_routes = no
  install_virtual_ip = no
  routing_table = 0
  send_vendor_id = yes
  load = random nonce aes sha1 sha2 hmac gmp kdf pem pkcs1 x509 pubkey socket-default kernel-netlink vici
  plugins {
    vici {
      socket = unix://${vici}
    }
  }
  filelog {
    lab {
      path = ${join(ctx.dir, 'charon-file.log')}
      default = 1
      ike = 2
      cfg = 2
      flush_line = yes
    }
  }
}
`,
    );
    const conns = ctx.writeFile(
      'swanctl.conf',
      `connections {
${[
  ['lab', 2, '10.253.0.0/24'],
  ['lab-v1', 1, '10.253.1.0/24'],
]
  .map(
    ([name, version, ts]) => `  ${name} {
    version = ${version}
    local_addrs = 127.0.0.1
    remote_addrs = %any
    proposals = aes256-sha256-modp2048
    local {
      auth = psk
      id = responder.portolan.test
    }
    remote {
      auth = psk
    }
    children {
      ${name} {
        local_ts = ${ts}
      }
    }
  }
`,
  )
  .join('')}}
secrets {
  ike-lab {
    secret = "portolan-ike-lab"
  }
}
`,
    );
    rmSync(vici, { force: true });
    await ctx.spawnDaemon({ command: '/usr/lib/ipsec/charon', args: [], env: { STRONGSWAN_CONF: conf } });
    for (let i = 0; i < 100 && !existsSync(vici); i++) await new Promise((r) => setTimeout(r, 100));
    await ctx.exec('/usr/sbin/swanctl', ['--load-all', '--file', conns, '--uri', `unix://${vici}`]);
  },
  async health(ctx) {
    for (const port of [p.ike, p.ikeNatT]) {
      const out = await ctx.exec(process.execPath, ['-e', IKE_PROBE(port)]).catch(() => '');
      if (!out.includes('ok')) throw new Error(`charon: no IKE_SA_INIT response with an SA payload on ${port}`);
    }
  },
};

const openvpn: LabServer = {
  name: 'openvpn',
  area: 'edge',
  packages: ['openvpn'],
  ports: [p.openvpn, p.openvpnTlsAuth, p.openvpnTlsCrypt],
  async start(ctx) {
    const f = edgeFacts.openvpn;
    for (const file of [f.tlsAuthKeyFile, f.tlsCryptKeyFile]) if (!existsSync(file)) await ctx.exec('/usr/sbin/openvpn', ['--genkey', 'secret', file]);
    const instances = [
      ['openvpn', p.openvpn, 'pttun0', []],
      ['openvpn-tls-auth', p.openvpnTlsAuth, 'pttun1', ['--tls-auth', f.tlsAuthKeyFile, '0']],
      ['openvpn-tls-crypt', p.openvpnTlsCrypt, 'pttun2', ['--tls-crypt', f.tlsCryptKeyFile]],
    ] as const;
    for (const [label, port, dev, extra] of instances) {
      await ctx.spawnDaemon({
        label,
        command: '/usr/sbin/openvpn',
        args: [
          '--dev', dev, '--dev-type', 'tun', '--server', '10.252.0.0', '255.255.255.0', '--topology', 'subnet', '--ifconfig-noexec', '--route-noexec',
          '--proto', 'tcp-server', '--local', '127.0.0.1', '--port', String(port),
          '--ca', ctx.tls.caPath, '--cert', ctx.tls.certPath, '--key', ctx.tls.keyPath, '--dh', 'none', '--verb', '3', ...extra,
        ],
      });
    }
  },
  async health() {
    // A plain P_CONTROL_HARD_RESET_CLIENT_V2: the plain instance answers with HARD_RESET_SERVER_V2 (opcode 8).
    const reset = Buffer.from('000e38' + '0102030405060708' + '00' + '00000000', 'hex');
    const got = await exchange(p.openvpn, { send: reset, until: (b) => b.length >= 3 });
    if (got[2] >> 3 !== 8) throw new Error(`openvpn: answered ${got.subarray(0, 12).toString('hex')} to a hard reset`);
    for (const port of [p.openvpnTlsAuth, p.openvpnTlsCrypt]) if (!(await isListening(port))) throw new Error(`openvpn: nothing listens on ${port}`);
  },
};

export const servers: LabServer[] = [dante, squid, tinyproxy, tor, coturn, shadowsocks, pptpd, xl2tpd, charon, openvpn];
