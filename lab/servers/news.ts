// Lab servers of the news area: INN 2.7 (innd taking articles on a feed port of its own, nnrpd in daemon mode for
// readers with STARTTLS, and a second nnrpd speaking NNTPS). INN runs unpacked: its maintainer scripts would start
// innd on port 119 of every interface. Configuration, spool and databases live in the server's state dir.
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import { exchange } from '../probe.ts';
import type { LabContext, LabServer } from '../server.ts';

const p = ports.news;

/** What the news server is known to hold: tests assert against these. */
export const newsFacts = {
  implementation: 'INN 2.7.1',
  pathhost: 'news.portolan.test',
  user: { name: 'pilot', password: 'tide-table-42' },
  /** Readable by everyone; articles seeded at start. */
  general: { name: 'harbour.general', description: 'General talk about the harbour.' },
  /** Readable (and listed) only after AUTHINFO. */
  crew: { name: 'harbour.private.crew', description: 'Crew only.' },
  /** Posting is for posters only (LIST ACTIVE status n). */
  notices: { name: 'harbour.notices', description: 'Notices from the harbour master.' },
  /** Seeded into harbour.general in this order (numbers 1, 2, 3). */
  seeded: [
    { messageId: '<tide-1@portolan.test>', subject: 'Tide table for Monday', from: 'Harbour Master <master@portolan.test>', body: 'High water 06:12, low water 12:30.\n' },
    { messageId: '<tide-2@portolan.test>', subject: 'Re: Tide table for Monday', from: 'Pilot <pilot@portolan.test>', references: '<tide-1@portolan.test>', body: 'Thanks.\n.A line that starts with a dot.\n..and one with two.\n' },
    { messageId: '<crates-3@portolan.test>', subject: 'Crates on quay 4', from: 'Harbour Master <master@portolan.test>', body: 'Twelve crates of tea await collection.\n' },
  ],
  crewArticle: { messageId: '<crew-1@portolan.test>', subject: 'Shift rota', from: 'Harbour Master <master@portolan.test>', body: 'Night shift: Ana, Ben.\n' },
};

const F = newsFacts;

const ihaveArticle = (a: { messageId: string; subject: string; from: string; references?: string; body: string }, group: string) =>
  [
    `Path: ${F.pathhost}!not-for-mail`,
    `From: ${a.from}`,
    `Newsgroups: ${group}`,
    `Subject: ${a.subject}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${a.messageId}`,
    ...(a.references ? [`References: ${a.references}`] : []),
    '',
    ...a.body
      .replace(/\n$/, '')
      .split('\n')
      .map((l) => (l.startsWith('.') ? `.${l}` : l)),
    '.',
    '',
  ].join('\r\n');

async function waitFor(port: number): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await exchange(port, { until: (b) => b.includes('\r\n') });
      return;
    } catch (e) {
      if (i === 50) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** One IHAVE exchange: greeting, IHAVE id, 335, the article, 235 (or 435: innd has it already). */
function ihave(port: number, messageId: string, article: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buffered = '';
    const replies: string[] = [];
    const timer = setTimeout(() => finish(new Error(`innd: IHAVE ${messageId} got no answer (${replies.join(' | ')})`)), 10_000);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.on('error', finish);
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let nl = buffered.indexOf('\r\n'); nl !== -1; nl = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 2);
        replies.push(line);
        const code = line.slice(0, 3);
        if (replies.length === 1 && code === '200') socket.write(`IHAVE ${messageId}\r\n`);
        else if (code === '335') socket.write(article);
        else if (code === '235' || code === '435') finish();
        else finish(new Error(`innd: IHAVE ${messageId}: ${replies.join(' | ')}`));
      }
    });
  });
}

function innConf(ctx: LabContext, bin: string): string {
  const d = ctx.dir;
  return [
    'organization: "Portolan lab news"',
    `pathhost: ${F.pathhost}`,
    'domain: portolan.test',
    'server: 127.0.0.1',
    `port: ${p.innd}`,
    'bindaddress: 127.0.0.1',
    `nnrpdpostport: ${p.innd}`,
    'ovmethod: tradindexed',
    'hismethod: hisv6',
    'enableoverview: true',
    'wireformat: true',
    'noreader: true',
    // The shared machine's load average often passes nnrpd's default limit of 16, where it turns readers away.
    'nnrpdloadlimit: 0',
    'allownewnews: true',
    'pgpverify: false',
    'doinnwatch: false',
    'mta: "/bin/true %s"',
    'mailcmd: /bin/true',
    'runasuser: news',
    'runasgroup: news',
    `pathnews: ${bin}`,
    `pathbin: ${bin}/bin`,
    `pathcontrol: ${bin}/bin/control`,
    `pathfilter: ${d}/etc/filter`,
    `pathetc: ${d}/etc`,
    `pathdb: ${d}/db`,
    `pathrun: ${d}/run`,
    `pathspool: ${d}/spool`,
    `patharticles: ${d}/spool/articles`,
    `pathoverview: ${d}/spool/overview`,
    `pathincoming: ${d}/spool/incoming`,
    `pathtmp: ${d}/spool/incoming/tmp`,
    `pathoutgoing: ${d}/spool/outgoing`,
    `patharchive: ${d}/spool/archive`,
    `pathlog: ${d}/log`,
    `pathhttp: ${d}/http`,
    `tlscafile: ${ctx.tls.caPath}`,
    `tlscertfile: ${ctx.tls.certPath}`,
    // nnrpd refuses a private key that others can read: a copy owned by news, mode 0600.
    `tlskeyfile: ${d}/etc/server.key`,
    '',
  ].join('\n');
}

const inn: LabServer = {
  name: 'inn',
  area: 'news',
  // postfix (the mail area's MTA) satisfies inn2's default-mta dependency before exim4 could be chosen for it.
  packages: ['postfix', 'libcanlock3', 'libmime-tools-perl', 'sasl2-bin', 'libsasl2-modules', 'libsasl2-modules-db'],
  unpacked: ['inn2', 'inn2-inews'],
  ports: [p.nntp, p.nntps, p.innd],
  async start(ctx) {
    const d = ctx.dir;
    const bin = join(ctx.unpacked('inn2'), 'usr/lib/news');
    // libinn comes with inn2-inews.
    const libs = `${bin}:${join(ctx.unpacked('inn2-inews'), 'usr/lib/news')}`;
    for (const sub of ['etc', 'db', 'run', 'spool', 'log', 'http']) rmSync(join(d, sub), { recursive: true, force: true });
    for (const sub of ['etc/filter', 'db', 'run', 'spool/articles', 'spool/overview', 'spool/incoming/tmp', 'spool/outgoing', 'spool/archive', 'log', 'http']) mkdirSync(join(d, sub), { recursive: true });
    const conf = ctx.writeFile('etc/inn.conf', innConf(ctx, bin));
    ctx.writeFile('etc/storage.conf', 'method tradspool {\n  newsgroups: *\n  class: 0\n}\n');
    ctx.writeFile('etc/newsfeeds', 'ME:*::\n');
    // The seeding below feeds innd from 127.0.0.1; readers reach nnrpd on its own ports.
    ctx.writeFile('etc/incoming.conf', 'peer ME {\n  hostname: "127.0.0.1"\n}\n');
    ctx.writeFile('etc/expire.ctl', '/remember/:10\n*:A:1:10:never\n');
    ctx.writeFile('etc/server.key', readFileSync(ctx.tls.keyPath), 0o600);
    const hash = (await ctx.exec('openssl', ['passwd', '-6', '-stdin'], { input: `${F.user.password}\n` })).trim();
    const passwd = ctx.writeFile('etc/passwd.nntp', `${F.user.name}:${hash}\n`);
    ctx.writeFile(
      'etc/readers.conf',
      [
        'auth "everyone" {',
        '  hosts: "*"',
        '  default: "<guest>"',
        '}',
        'auth "users" {',
        '  hosts: "*"',
        `  auth: "ckpasswd -f ${passwd}"`,
        '}',
        'access "guest" {',
        '  users: "<guest>"',
        `  newsgroups: "*,!${F.crew.name}"`,
        '  access: RN',
        '}',
        'access "users" {',
        '  users: "*,!<guest>"',
        '  newsgroups: "*"',
        '  access: RPN',
        '}',
        '',
      ].join('\n'),
    );
    ctx.writeFile(
      'db/active',
      [`${F.general.name} 0000000000 0000000001 y`, `${F.crew.name} 0000000000 0000000001 y`, `${F.notices.name} 0000000000 0000000001 n`, 'control 0000000000 0000000001 n', 'control.cancel 0000000000 0000000001 n', 'junk 0000000000 0000000001 n', ''].join('\n'),
    );
    ctx.writeFile('db/newsgroups', [F.general, F.crew, F.notices].map((g) => `${g.name}\t${g.description}\n`).join(''));
    ctx.writeFile('db/active.times', '');
    ctx.writeFile('db/history', '');
    await ctx.exec('chown', ['-R', 'news:news', join(d, 'etc'), join(d, 'db'), join(d, 'run'), join(d, 'spool'), join(d, 'log'), join(d, 'http')]);
    // AUTHINFO SASL (RFC 4643 2.4): Cyrus SASL reads nnrpd's INN.conf from SASL_CONF_PATH and checks passwords
    // against a sasldb of its own; the realm is the host's name as Cyrus finds it, so the user is in both forms.
    const sasldb = join(d, 'etc', 'sasldb2');
    ctx.writeFile('etc/INN.conf', ['pwcheck_method: auxprop', 'auxprop_plugin: sasldb', `sasldb_path: ${sasldb}`, 'mech_list: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256', ''].join('\n'));
    const realms = new Set([hostname(), (await ctx.exec('hostname', ['--fqdn']).catch(() => hostname())).trim()]);
    for (const realm of realms) await ctx.exec('saslpasswd2', ['-p', '-c', '-f', sasldb, '-u', realm, F.user.name], { input: F.user.password });
    await ctx.exec('chown', ['news:news', sasldb]);
    const env = { INNCONF: conf, LD_LIBRARY_PATH: libs, SASL_CONF_PATH: join(d, 'etc') };
    await ctx.exec('runuser', ['-u', 'news', '--', 'env', `INNCONF=${conf}`, `LD_LIBRARY_PATH=${libs}`, join(bin, 'bin/makedbz'), '-i', '-o']);
    await ctx.spawnDaemon({ label: 'innd', command: join(bin, 'bin/innd'), args: ['-f'], env });
    // Seed the articles through innd's feed port (IHAVE, RFC 3977 6.3.2) once it listens.
    await waitFor(p.innd);
    for (const a of F.seeded) await ihave(p.innd, a.messageId, ihaveArticle(a, F.general.name));
    await ihave(p.innd, F.crewArticle.messageId, ihaveArticle(F.crewArticle, F.crew.name));
    // nnrpd opens the spool (tradspool.map, made by innd) once, at its start.
    await ctx.spawnDaemon({ label: 'nnrpd', command: join(bin, 'bin/nnrpd'), args: ['-D', '-f', '-n', '-b', '127.0.0.1', '-p', String(p.nntp)], env });
    await ctx.spawnDaemon({ label: 'nnrpd-tls', command: join(bin, 'bin/nnrpd'), args: ['-D', '-f', '-n', '-S', '-b', '127.0.0.1', '-p', String(p.nntps)], env });
  },
  async health() {
    const got = await exchange(p.nntp, { until: (b) => b.includes('\r\n') });
    if (!got.toString('latin1').startsWith('20')) throw new Error(`nnrpd: greeting ${JSON.stringify(got.toString('latin1'))}`);
  },
};

/** What the rsync daemon serves: tests assert against these. */
export const rsyncFacts = {
  motd: 'Portolan lab rsync: harbour archives.',
  public: { name: 'archive', comment: 'Harbour archive (open)' },
  private: { name: 'ledgers', comment: 'Ledgers (login)', user: 'clerk', password: 'quill-and-ink-7' },
  /** Files in both modules: path, content. */
  files: [
    { path: 'readme.txt', text: 'The harbour archive.\n' },
    { path: 'logs/2024-01.log', text: 'Jan: 31 ships.\n' },
    { path: 'logs/2024-02.log', text: 'Feb: 29 ships, one storm.\n' },
  ],
  /** 300 KiB of a known pattern. */
  big: { path: 'charts/big.bin', size: 300 * 1024 },
  /** A file the daemon (uid nobody) may list but not read. */
  locked: { path: 'charts/locked.bin', text: 'sealed\n' },
  /** A symlink in each module. */
  link: { path: 'latest.log', target: 'logs/2024-02.log' },
  /** A module on the lab's transfer dir (test/files.ts bigFile), for large downloads. */
  transfers: { name: 'transfers', comment: 'Large files (open)', path: join(labDir, 'transfers') },
};

export function bigBytes(): Buffer {
  const b = Buffer.alloc(rsyncFacts.big.size);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + (i >> 10)) & 0xff;
  return b;
}

const rsyncd: LabServer = {
  name: 'rsyncd',
  area: 'news',
  packages: ['rsync'],
  ports: [p.rsync],
  async start(ctx) {
    const R = rsyncFacts;
    for (const m of [R.public.name, R.private.name]) {
      rmSync(join(ctx.dir, m), { recursive: true, force: true });
      for (const f of R.files) ctx.writeFile(join(m, f.path), f.text);
      ctx.writeFile(join(m, R.big.path), bigBytes());
      ctx.writeFile(join(m, R.locked.path), R.locked.text, 0o600);
      symlinkSync(R.link.target, join(ctx.dir, m, R.link.path));
    }
    mkdirSync(R.transfers.path, { recursive: true });
    chmodSync(R.transfers.path, 0o1777);
    ctx.writeFile('motd', `${R.motd}\n`);
    ctx.writeFile('secrets', `${R.private.user}:${R.private.password}\n`, 0o600);
    const conf = ctx.writeFile(
      'rsyncd.conf',
      [
        `motd file = ${join(ctx.dir, 'motd')}`,
        `pid file = ${join(ctx.dir, 'rsyncd.pid')}`,
        'use chroot = no',
        'uid = nobody',
        'gid = nogroup',
        'read only = yes',
        // Targets as they are (without chroot the daemon would prefix them with /rsyncd-munged/).
        'munge symlinks = no',
        '',
        `[${R.public.name}]`,
        `  path = ${join(ctx.dir, R.public.name)}`,
        `  comment = ${R.public.comment}`,
        '',
        `[${R.private.name}]`,
        `  path = ${join(ctx.dir, R.private.name)}`,
        `  comment = ${R.private.comment}`,
        `  auth users = ${R.private.user}`,
        `  secrets file = ${join(ctx.dir, 'secrets')}`,
        '',
        `[${R.transfers.name}]`,
        `  path = ${R.transfers.path}`,
        `  comment = ${R.transfers.comment}`,
        '',
      ].join('\n'),
    );
    await ctx.spawnDaemon({ command: '/usr/bin/rsync', args: ['--daemon', '--no-detach', `--config=${conf}`, '--address=127.0.0.1', `--port=${p.rsync}`, `--log-file=${join(ctx.dir, 'rsyncd.log')}`] });
  },
  async health() {
    const got = await exchange(p.rsync, { until: (b) => b.includes('\n') });
    if (!got.toString('latin1').startsWith('@RSYNCD: ')) throw new Error(`rsyncd: greeting ${JSON.stringify(got.toString('latin1'))}`);
  },
};

/** rpcbind runs in this network namespace (it binds port 111 on every address); a forwarder reaches it. */
export const portmapperFacts = {
  netns: 'portolan-news',
  /** Registered at start with PMAPPROC_SET (rpcbind -i allows it from the namespace's loopback). */
  registered: [
    { program: 100005, version: 3, protocol: 'tcp' as const, port: 20048 },
    { program: 100005, version: 3, protocol: 'udp' as const, port: 20048 },
    { program: 100024, version: 1, protocol: 'tcp' as const, port: 32765 },
  ],
};

/** One PMAPPROC_SET (RFC 1833 3.2) over TCP: a record-marked call, a record-marked boolean reply. */
function pmapSet(port: number, m: { program: number; version: number; protocol: 'tcp' | 'udp'; port: number }): Promise<void> {
  const call = Buffer.alloc(4 + 56);
  const words = [0x80000000 | 56, 0x4e455753, 0, 2, 100000, 2, 1, 0, 0, 0, 0, m.program, m.version, m.protocol === 'tcp' ? 6 : 17, m.port];
  words.forEach((w, i) => call.writeUInt32BE(w >>> 0, i * 4));
  return exchange(port, { send: call, until: (b) => b.length >= 4 + 28 }).then((got) => {
    if (got.readUInt32BE(4 + 20) !== 0 || got.readUInt32BE(4 + 24) !== 1) throw new Error(`rpcbind: SET ${m.program} v${m.version} ${m.protocol} answered ${got.toString('hex')}`);
  });
}

const rpcbind: LabServer = {
  name: 'rpcbind',
  area: 'news',
  packages: ['socat', 'libtirpc3', 'libwrap0', 'iproute2'],
  // Its maintainer scripts would start rpcbind on port 111 of the machine's own interfaces.
  unpacked: ['rpcbind'],
  ports: [p.portmapper],
  async start(ctx) {
    const ns = portmapperFacts.netns;
    const namespaces = await ctx.exec('ip', ['netns', 'list']);
    if (!namespaces.split('\n').some((l) => l.split(' ')[0] === ns)) await ctx.exec('ip', ['netns', 'add', ns]);
    await ctx.exec('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    const user = await ctx.exec('getent', ['passwd', '_rpc']).then(
      () => true,
      () => false,
    );
    if (!user) await ctx.exec('useradd', ['--system', '--no-create-home', '--home-dir', '/run/rpcbind', '--shell', '/usr/sbin/nologin', '_rpc']);
    await ctx.spawnDaemon({ label: 'rpcbind', command: 'ip', args: ['netns', 'exec', ns, join(ctx.unpacked('rpcbind'), 'sbin/rpcbind'), '-f', '-i'] });
    await ctx.spawnDaemon({ label: 'forwarder-udp', command: 'socat', args: [`UDP4-RECVFROM:${p.portmapper},bind=127.0.0.1,reuseaddr,fork`, `EXEC:ip netns exec ${ns} socat STDIO UDP4\\:127.0.0.1\\:111`] });
    await ctx.spawnDaemon({ label: 'forwarder', command: 'socat', args: [`TCP-LISTEN:${p.portmapper},bind=127.0.0.1,reuseaddr,fork`, `EXEC:ip netns exec ${ns} socat STDIO TCP\\:127.0.0.1\\:111`] });
    for (let i = 0; ; i++) {
      try {
        await rpcbindNull();
        break;
      } catch (e) {
        if (i === 50) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    for (const m of portmapperFacts.registered) await pmapSet(p.portmapper, m);
  },
  health: () => rpcbindNull(),
};

async function rpcbindNull(): Promise<void> {
  // PMAPPROC_NULL of version 2: an accepted, successful reply.
  const call = Buffer.alloc(4 + 40);
  [0x80000000 | 40, 0x4e554c4c, 0, 2, 100000, 2, 0, 0, 0, 0, 0].forEach((w, i) => call.writeUInt32BE(w >>> 0, i * 4));
  const got = await exchange(p.portmapper, { send: call, until: (b) => b.length >= 4 + 24 });
  if (got.readUInt32BE(4 + 8) !== 0 || got.readUInt32BE(4 + 20) !== 0) throw new Error(`rpcbind: NULL answered ${got.toString('hex')}`);
}

export const servers: LabServer[] = [inn, rsyncd, rpcbind];
