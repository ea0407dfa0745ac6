// FTP lab servers (RFC 959, 2228, 2389, 2428, 4217): vsftpd with explicit FTPS, implicit FTPS, and one that
// answers PASV with a private address (a server behind NAT that was not told its public address).
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { exchange, expectIncludes, preview } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports.ftp;

/** What the FTP lab serves, for tests to assert against. */
export const ftpFacts = {
  banner: 'Portolan lab FTP server',
  /** ProFTPD's ServerName, inside its banner `220 ProFTPD Server (<name>) [127.0.0.1]`. */
  proftpdName: 'Portolan lab ProFTPD',
  user: 'ftplab',
  password: 'ftplab-secret',
  home: '/home/ftplab',
  /** Anonymous users see this tree, read-only. */
  anonymous: {
    files: {
      'welcome.txt': 'Welcome to the Portolan lab FTP server.\nThis file has known content.\n',
      'pub/harbour chart.txt': 'A chart of the harbour, with spaces in its name.\n',
    } as Record<string, string>,
    dirs: ['pub'],
  },
  /** The private address the ftpNatPasv server names in its PASV replies (never connected to: the guard refuses it). */
  natPasvAddress: '10.255.255.21',
} as const;

/** The vsftpd options every lab instance shares; `extra` adds or overrides. */
function vsftpdConfig(ctx: LabContext, extra: Record<string, string>): string {
  const options: Record<string, string> = {
    listen: 'YES',
    listen_ipv6: 'NO',
    listen_address: '127.0.0.1',
    background: 'NO',
    ftpd_banner: ftpFacts.banner,
    // Anonymous: read-only, chrooted into the lab's tree (owned by root, so not writable).
    anonymous_enable: 'YES',
    anon_root: join(ctx.dir, 'anon'),
    no_anon_password: 'YES',
    anon_upload_enable: 'NO',
    anon_mkdir_write_enable: 'NO',
    anon_other_write_enable: 'NO',
    // The lab user, authenticated through PAM (Debian's /etc/pam.d/vsftpd).
    local_enable: 'YES',
    write_enable: 'YES',
    local_umask: '022',
    chmod_enable: 'YES',
    pam_service_name: 'vsftpd',
    // Passive data connections on loopback only.
    pasv_enable: 'YES',
    pasv_min_port: String(p.ftpPassiveMin),
    pasv_max_port: String(p.ftpPassiveMax),
    pasv_address: '127.0.0.1',
    pasv_addr_resolve: 'NO',
    // Active mode (EPRT, PORT) for the Node host, which accepts the connection; from any port, not 20.
    port_enable: 'YES',
    connect_from_port_20: 'NO',
    // TYPE A translates line ends both ways, so ASCII mode is observable.
    ascii_upload_enable: 'YES',
    ascii_download_enable: 'YES',
    // RFC 2640: names are UTF-8; FEAT lists UTF8.
    utf8_filesystem: 'YES',
    // TLS with the lab certificate; plain logins stay allowed so every mode can be tested.
    ssl_enable: 'YES',
    rsa_cert_file: ctx.tls.certPath,
    rsa_private_key_file: ctx.tls.keyPath,
    allow_anon_ssl: 'YES',
    force_local_logins_ssl: 'NO',
    force_local_data_ssl: 'NO',
    force_anon_logins_ssl: 'NO',
    force_anon_data_ssl: 'NO',
    ssl_tlsv1: 'YES',
    ssl_sslv2: 'NO',
    ssl_sslv3: 'NO',
    ssl_ciphers: 'HIGH',
    // connect() cannot resume the control connection's TLS session on a data connection.
    require_ssl_reuse: 'NO',
    ssl_request_cert: 'NO',
    // The sandbox may not allow seccomp filters or new namespaces.
    seccomp_sandbox: 'NO',
    isolate: 'NO',
    isolate_network: 'NO',
    secure_chroot_dir: join(ctx.dir, 'empty'),
    nopriv_user: 'nobody',
    tcp_wrappers: 'NO',
    max_per_ip: '0',
    max_clients: '0',
    delay_failed_login: '1',
    xferlog_enable: 'YES',
    xferlog_std_format: 'NO',
    log_ftp_protocol: 'YES',
    debug_ssl: 'YES',
    ...extra,
  };
  return Object.entries(options)
    .map(([key, value]) => `${key}=${value}\n`)
    .join('');
}

async function ensureLabUser(ctx: LabContext): Promise<void> {
  const { user, password, home } = ftpFacts;
  const exists = await ctx.exec('getent', ['passwd', user]).then(
    () => true,
    () => false,
  );
  if (!exists) await ctx.exec('useradd', ['--create-home', '--home-dir', home, '--comment', 'Portolan FTP lab', '--shell', '/bin/sh', user]);
  await ctx.exec('chpasswd', [], { input: `${user}:${password}\n` });
  await ctx.exec('chmod', ['0755', home]);
  // Files a failed test run left behind (tests name theirs uniquely and delete them when they pass).
  await ctx.exec('find', [home, '-mindepth', '1', '-maxdepth', '1', '!', '-name', '.*', '-exec', 'rm', '-rf', '{}', '+']);
}

/** The anonymous tree: root-owned, world-readable (vsftpd serves anonymous users only world-readable files). */
async function writeAnonymousTree(ctx: LabContext): Promise<void> {
  await ctx.exec('rm', ['-rf', join(ctx.dir, 'anon')]);
  for (const dir of ftpFacts.anonymous.dirs) await ctx.exec('mkdir', ['-p', join(ctx.dir, 'anon', dir)]);
  for (const [path, text] of Object.entries(ftpFacts.anonymous.files)) ctx.writeFile(join('anon', path), text);
  await ctx.exec('mkdir', ['-p', join(ctx.dir, 'empty')]);
  await ctx.exec('chmod', ['0755', join(ctx.dir, 'empty')]);
}

function readsBanner(got: Buffer): boolean {
  return got.includes('\r\n');
}

async function expectBanner(port: number): Promise<void> {
  const got = await exchange(port, { until: readsBanner });
  expectIncludes(`vsftpd on ${port}`, got, `220 ${ftpFacts.banner}`);
}

/** Implicit FTPS: TLS from the first byte, then the same 220 banner. */
function expectTlsBanner(port: number, caPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(caPath), servername: 'localhost' });
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`implicit FTPS on ${port}: no banner within 3 s (got ${preview(got)})`)), 3000);
    const finish = (error: Error | null): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (readsBanner(got)) finish(got.includes(`220 ${ftpFacts.banner}`) ? null : new Error(`implicit FTPS on ${port}: unexpected banner ${preview(got)}`));
    });
    socket.on('error', (error) => finish(new Error(`implicit FTPS on ${port}: ${error.message}`)));
  });
}

const vsftpd: LabServer = {
  name: 'vsftpd',
  area: 'ftp',
  packages: ['vsftpd'],
  ports: [p.ftp],
  async start(ctx) {
    await ensureLabUser(ctx);
    await writeAnonymousTree(ctx);
    const config = ctx.writeFile('vsftpd.conf', vsftpdConfig(ctx, { listen_port: String(p.ftp), vsftpd_log_file: join(ctx.dir, 'transfer.log') }), 0o600);
    await ctx.spawnDaemon({ command: '/usr/sbin/vsftpd', args: [config] });
  },
  async health() {
    await expectBanner(p.ftp);
    const answer = await exchange(p.ftp, { send: 'FEAT\r\n', until: (got) => got.includes('211 End') });
    expectIncludes('vsftpd FEAT', answer, 'AUTH TLS');
  },
};

const vsftpdImplicit: LabServer = {
  name: 'vsftpd-implicit',
  area: 'ftp',
  packages: ['vsftpd'],
  ports: [p.ftpsImplicit],
  async start(ctx) {
    await writeAnonymousTree(ctx);
    const config = ctx.writeFile(
      'vsftpd.conf',
      vsftpdConfig(ctx, { listen_port: String(p.ftpsImplicit), implicit_ssl: 'YES', vsftpd_log_file: join(ctx.dir, 'transfer.log') }),
      0o600,
    );
    await ctx.spawnDaemon({ command: '/usr/sbin/vsftpd', args: [config] });
  },
  async health(ctx) {
    await expectTlsBanner(p.ftpsImplicit, ctx.tls.caPath);
  },
};

const vsftpdNat: LabServer = {
  name: 'vsftpd-nat',
  area: 'ftp',
  packages: ['vsftpd'],
  ports: [p.ftpNatPasv],
  async start(ctx) {
    await writeAnonymousTree(ctx);
    const config = ctx.writeFile(
      'vsftpd.conf',
      vsftpdConfig(ctx, {
        listen_port: String(p.ftpNatPasv),
        pasv_address: ftpFacts.natPasvAddress,
        ssl_enable: 'NO',
        vsftpd_log_file: join(ctx.dir, 'transfer.log'),
      }),
      0o600,
    );
    await ctx.spawnDaemon({ command: '/usr/sbin/vsftpd', args: [config] });
  },
  async health() {
    await expectBanner(p.ftpNatPasv);
  },
};

/**
 * ProFTPD: a second implementation, with MLSD/MLST (RFC 3659 §7) and, from Debian's mod_digest, HASH and
 * XCRC/XMD5/XSHA1/XSHA256/XSHA512 file digests; for the lab user only, plain.
 */
const proftpd: LabServer = {
  name: 'proftpd',
  area: 'ftp',
  // proftpd-core and vsftpd both provide and conflict with ftp-server: installing one removes the other.
  packages: [],
  unpacked: ['proftpd-core'],
  ports: [p.ftpProftpd],
  async start(ctx) {
    await ensureLabUser(ctx);
    const config = ctx.writeFile(
      'proftpd.conf',
      `ServerName "${ftpFacts.proftpdName}"
ServerType standalone
DefaultServer on
Port ${p.ftpProftpd}
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
User nobody
Group nogroup
Umask 022
MaxInstances 50
PassivePorts ${p.ftpPassiveMin} ${p.ftpPassiveMax}
ScoreboardFile ${join(ctx.dir, 'proftpd.scoreboard')}
PidFile ${join(ctx.dir, 'proftpd.pid')}
SystemLog ${join(ctx.dir, 'system.log')}
TransferLog ${join(ctx.dir, 'transfer.log')}
WtmpLog off
UseReverseDNS off
DelayEngine off
RequireValidShell off
AuthPAM off
AuthOrder mod_auth_unix.c
AllowOverwrite on
ModulePath ${join(ctx.unpacked('proftpd-core'), 'usr/lib/proftpd')}
LoadModule mod_digest.c
DigestEngine on
`,
    );
    await ctx.spawnDaemon({ command: join(ctx.unpacked('proftpd-core'), 'usr/sbin/proftpd'), args: ['--nodaemon', '--config', config] });
  },
  async health() {
    const answer = await exchange(p.ftpProftpd, { send: 'FEAT\r\n', until: (got) => got.includes('211 End') });
    expectIncludes('proftpd', answer, ftpFacts.proftpdName);
    expectIncludes('proftpd FEAT', answer, 'MLST');
    expectIncludes('proftpd FEAT (mod_digest)', answer, 'XSHA256');
  },
};

export const servers: LabServer[] = [vsftpd, vsftpdImplicit, vsftpdNat, proftpd];
