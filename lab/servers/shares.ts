// Lab servers of the shares area: Samba 4.17's smbd as a file server of its own (a user share, a guest share, a
// share that requires SMB3 encryption; srvsvc over the IPC$ pipe by samba-dcerpcd started on demand, with no TCP
// endpoints of its own).
import { chmodSync, copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import { makeSambaDirs, sambaGlobal } from './directory-samba.ts';
import { exchange } from '../probe.ts';
import type { LabServer } from '../server.ts';

const p = ports.shares;

/** What the shares servers are known to serve: tests assert against these. */
export const sharesFacts = {
  smb: {
    workgroup: 'HARBOUR',
    netbiosName: 'PORTOLAN-SHARES',
    serverString: 'Portolan lab shares',
    user: { name: 'portolan-files', password: 'quay-files-42' },
    /** The user's read-write share. */
    files: { name: 'files', path: join(labDir, 'smbd-shares', 'files'), comment: 'User files' },
    /** Guests may read it; one known file. */
    guest: { name: 'public', path: join(labDir, 'smbd-shares', 'public'), comment: 'Open to guests', file: 'notice.txt', text: 'Visitors welcome between nine and five.\n' },
    /** The lab's transfer dir (test/files.ts bigFile), for large files each way. */
    transfers: { name: 'transfers', path: join(labDir, 'transfers') },
    /** Every request to it must be encrypted (SMB3). */
    vault: { name: 'vault', path: join(labDir, 'smbd-shares', 'vault'), comment: 'Encrypted only', file: 'ledger.txt', text: 'Cargo: 12 crates of tea.\n' },
  },
};

const S = sharesFacts.smb;

/** The EICAR anti-virus test file (eicar.org), assembled here so no scanner flags this source. */
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join('');

/** clamd with a hand-made signature database: what it detects. */
export const clamavFacts = {
  eicar: { text: EICAR, signature: 'Portolan.Test.EICAR' },
  custom: { marker: 'PORTOLAN-HARBOUR-MARKER-7731', signature: 'Portolan.Test.Harbour' },
  streamMaxLength: 64 * 1024 * 1024,
};

const smbd: LabServer = {
  name: 'smbd-shares',
  area: 'shares',
  packages: ['samba', 'smbclient'],
  ports: [p.smb],
  async start(ctx) {
    const dir = ctx.dir;
    makeSambaDirs(dir);
    const conf = ctx.writeFile(
      'smb.conf',
      [
        ...sambaGlobal(dir, S, [
          '  interfaces = 127.0.0.1',
          `  smb ports = ${p.smb}`,
          '  disable netbios = yes',
        ]),
        '  server min protocol = SMB2_02',
        '  server max protocol = SMB3_11',
        '  ntlm auth = ntlmv2-only',
        '  map to guest = bad user',
        '  guest account = nobody',
        // samba-dcerpcd, started on demand for the srvsvc pipe, serves named pipes only (the directory-samba area owns 135).
        '  rpc_server:tcpip = no',
        '',
        `[${S.files.name}]`,
        `  path = ${S.files.path}`,
        `  comment = ${S.files.comment}`,
        `  valid users = ${S.user.name}`,
        '  read only = no',
        '',
        `[${S.guest.name}]`,
        `  path = ${S.guest.path}`,
        `  comment = ${S.guest.comment}`,
        '  guest ok = yes',
        '  read only = yes',
        '',
        `[${S.transfers.name}]`,
        `  path = ${S.transfers.path}`,
        `  valid users = ${S.user.name}`,
        '  read only = no',
        '',
        `[${S.vault.name}]`,
        `  path = ${S.vault.path}`,
        `  comment = ${S.vault.comment}`,
        `  valid users = ${S.user.name}`,
        '  read only = no',
        '  server smb encrypt = required',
        '',
      ].join('\n'),
    );
    const exists = await ctx.exec('getent', ['passwd', S.user.name]).then(
      () => true,
      () => false,
    );
    if (!exists) await ctx.exec('useradd', ['--no-create-home', '--home-dir', S.files.path, '--shell', '/usr/sbin/nologin', '--comment', 'Portolan shares lab', S.user.name]);
    for (const share of [S.files, S.guest, S.vault, S.transfers]) mkdirSync(share.path, { recursive: true });
    chmodSync(S.transfers.path, 0o1777);
    ctx.writeFile(join('public', S.guest.file), S.guest.text);
    ctx.writeFile(join('vault', S.vault.file), S.vault.text);
    await ctx.exec('chown', ['-R', S.user.name, S.files.path, S.vault.path]);
    await ctx.exec('pdbedit', ['--configfile', conf, '-a', '-t', '-u', S.user.name], { input: `${S.user.password}\n${S.user.password}\n` });
    await ctx.spawnDaemon({ command: '/usr/sbin/smbd', args: ['--foreground', '--no-process-group', `--configfile=${conf}`, '--debug-stdout', '--debuglevel=1'] });
  },
  async health() {
    // An SMB2 NEGOTIATE ([MS-SMB2] §2.2.3) offering 2.0.2: an SMB2 NEGOTIATE response (0xFE 'SMB') means smbd is up.
    const negotiate = Buffer.alloc(4 + 64 + 38);
    negotiate.writeUInt32BE(64 + 38, 0);
    negotiate.write('\xfeSMB', 4, 'latin1');
    negotiate.writeUInt16LE(64, 8);
    negotiate.writeUInt16LE(1, 4 + 14);
    negotiate.writeUInt16LE(36, 68);
    negotiate.writeUInt16LE(1, 70);
    negotiate.writeUInt16LE(0x0202, 4 + 64 + 36);
    const got = await exchange(p.smb, { send: negotiate, until: (b) => b.length >= 8 });
    if (got.subarray(4, 8).toString('latin1') !== '\xfeSMB') throw new Error(`smbd: NEGOTIATE answered ${got.toString('hex').slice(0, 40) || 'nothing'}`);
  },
};

const hex = (t: string) => Buffer.from(t, 'latin1').toString('hex');

const clamd: LabServer = {
  name: 'clamd',
  area: 'shares',
  packages: ['clamav-daemon'],
  ports: [p.clamd],
  async start(ctx) {
    const C = clamavFacts;
    // An extended signature database (.ndb: name, target type, offset, hex body); no download is possible here.
    ctx.writeFile(join('db', 'portolan.ndb'), [`${C.eicar.signature}:0:*:${hex(C.eicar.text)}`, `${C.custom.signature}:0:*:${hex(C.custom.marker)}`, ''].join('\n'));
    const conf = ctx.writeFile(
      'clamd.conf',
      [
        `TCPSocket ${p.clamd}`,
        'TCPAddr 127.0.0.1',
        `DatabaseDirectory ${join(ctx.dir, 'db')}`,
        'Foreground yes',
        `LogFile ${join(ctx.dir, 'clamd.log')}`,
        `PidFile ${join(ctx.dir, 'clamd.pid')}`,
        `TemporaryDirectory ${ctx.dir}`,
        `StreamMaxLength ${C.streamMaxLength / 1024 / 1024}M`,
        'MaxThreads 4',
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/sbin/clamd', args: [`--config-file=${conf}`] });
  },
  async health() {
    const got = await exchange(p.clamd, { send: 'zPING\0', until: (b) => b.includes(0) });
    if (got.toString('latin1') !== 'PONG\0') throw new Error(`clamd: PING answered ${JSON.stringify(got.toString('latin1'))}`);
  },
};

/** spamd with SpamAssassin's shipped rules, no network tests, TELL allowed, Bayes in its own dir. */
export const spamdFacts = {
  /** The GTUBE test string (spamassassin.apache.org/gtube): a message carrying it scores 1000 and more. */
  gtube: ['XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE', '-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'].join(''),
  threshold: 5,
};

const spamd: LabServer = {
  name: 'spamd',
  area: 'shares',
  packages: ['spamd', 'spamassassin'],
  ports: [p.spamd, p.spamdTls],
  async start(ctx) {
    // A site config dir of its own: Debian's plugin loaders (*.pre) and a local.cf putting Bayes under ctx.dir.
    const site = join(ctx.dir, 'site');
    mkdirSync(site, { recursive: true });
    for (const f of readdirSync('/etc/spamassassin').filter((n) => n.endsWith('.pre'))) copyFileSync(join('/etc/spamassassin', f), join(site, f));
    mkdirSync(join(ctx.dir, 'bayes'), { recursive: true });
    await ctx.exec('chown', ['-R', 'nobody', join(ctx.dir, 'bayes')]);
    ctx.writeFile(join('site', 'local.cf'), [`bayes_path ${join(ctx.dir, 'bayes', 'bayes')}`, 'bayes_file_mode 0770', `required_score ${spamdFacts.threshold}`, ''].join('\n'));
    await ctx.spawnDaemon({
      command: '/usr/sbin/spamd',
      args: [`--listen=127.0.0.1:${p.spamd}`, `--listen=ssl:127.0.0.1:${p.spamdTls}`, `--server-cert=${ctx.tls.certPath}`, `--server-key=${ctx.tls.keyPath}`, '--allowed-ips=127.0.0.1', '--allow-tell', '--nouser-config', `--siteconfigpath=${site}`, `--helper-home-dir=${join(ctx.dir, 'bayes')}`, '--username=nobody', '--max-children=3', '--syslog=stderr', '--local', `--pidfile=${join(ctx.dir, 'spamd.pid')}`],
    });
  },
  async health() {
    const got = await exchange(p.spamd, { send: 'PING SPAMC/1.5\r\n\r\n', until: (b) => b.includes('\r\n'), timeoutMs: 15_000 });
    if (!got.toString('latin1').includes('PONG')) throw new Error(`spamd: PING answered ${JSON.stringify(got.toString('latin1'))}`);
  },
};

export const servers: LabServer[] = [smbd, clamd, spamd];
