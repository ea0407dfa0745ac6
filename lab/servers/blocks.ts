// Lab servers of the blocks area: block devices and file trees served over TCP. nbd-server 3.24 with a read-only
// export, a writable one and one served only over TLS, all backed by files in the state dir.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { utf8 } from '../../src/core/bytes.ts';
import { bencode } from '../../src/protocols/bittorrent/codec.ts';
import { ports } from '../ports.ts';
import { labDir } from '../runner.ts';
import { exchange } from '../probe.ts';
import type { LabServer } from '../server.ts';

const p = ports.blocks;

/** Known content of a block image: byte i of an image seeded `seed` (tests recompute it). */
export function blockPattern(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    // xorshift32: fast, and no two 4-byte words of a sector repeat.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    if (i + 4 <= size) out.writeUInt32LE(x, i);
    else for (let j = i; j < size; j++) out[j] = (x >>> ((j - i) * 8)) & 0xff;
  }
  return out;
}

const nbdDir = join(labDir, 'nbd-server');

/** What the blocks servers serve: tests assert against these. */
export const blocksFacts = {
  nbd: {
    /** Read-only, 32 MiB and 1000 bytes of blockPattern(size, seed). */
    harbour: { name: 'harbour', size: 32 * 1024 * 1024 + 1000, seed: 0x5eed1, path: join(nbdDir, 'harbour.img') },
    /** Writable, with FLUSH, FUA and TRIM; zeros at each lab start. */
    scratch: { name: 'scratch', size: 4 * 1024 * 1024, path: join(nbdDir, 'scratch.img') },
    /** On the TLS-only instance (port nbdTls), read-only: 64 KiB of blockPattern(size, seed). */
    vault: { name: 'vault', size: 64 * 1024, seed: 0x7a017, path: join(nbdDir, 'vault.img') },
    /** nbd-server takes TLS only from a client with a certificate of the lab CA. */
    clientCertPath: join(nbdDir, 'client.pem'),
    clientKeyPath: join(nbdDir, 'client.key'),
  },
  ninep: {
    /** The exported tree (diod's aname); attach as root, uid 0 (diod -u 0: it switches to no other user). */
    export: join(labDir, 'diod', 'export'),
    uname: 'root',
    uid: 0,
    /** A known text file and a 16 MiB file of blockPattern(size, seed) in a subdirectory. */
    notice: { path: 'notice.txt', text: 'Nine ships in the harbour.\n' },
    big: { path: 'charts/big.bin', size: 16 * 1024 * 1024, seed: 0x9b9b },
  },
  iscsi: {
    /** No authentication: LUN 1 is 8 MiB of blockPattern(size, seed) (LUN 0 is tgt's controller). */
    open: { iqn: 'iqn.2026-12.dev.portolan.lab:harbour', size: 8 * 1024 * 1024, seed: 0x15c5, path: join(labDir, 'tgtd', 'harbour.img') },
    /** CHAP required: LUN 1 is 1 MiB of blockPattern(size, seed). */
    chap: { iqn: 'iqn.2026-12.dev.portolan.lab:vault', size: 1024 * 1024, seed: 0xc4a9, path: join(labDir, 'tgtd', 'vault.img'), username: 'portolan-iscsi', password: 'quay-iscsi-4242' },
  },
  bittorrent: {
    /** The one file of the seeded torrent: 1 MiB and 3 bytes of blockPattern(size, seed) in 256 KiB pieces. */
    file: { name: 'harbour-charts.bin', size: 1024 * 1024 + 3, seed: 0xb177, pieceLength: 256 * 1024 },
    /**
     * opentracker (HTTP on tracker, UDP on trackerUdp) takes announces only for torrents on its whitelist: the lab
     * torrent, which Transmission announces, and a quiet one nobody seeds.
     */
    tracker: { quietInfoHash: createHash('sha1').update('a torrent nobody seeds').digest('hex') },
  },
};

/** The lab torrent's info dictionary, bencoded, and its info hash (hex). */
export function labTorrent(): { info: Uint8Array; infoHash: string; pieces: number } {
  const f = blocksFacts.bittorrent.file;
  const data = blockPattern(f.size, f.seed);
  const hashes: Buffer[] = [];
  for (let at = 0; at < f.size; at += f.pieceLength) hashes.push(createHash('sha1').update(data.subarray(at, at + f.pieceLength)).digest());
  const info = bencode({ length: f.size, name: utf8(f.name), 'piece length': f.pieceLength, pieces: Buffer.concat(hashes) });
  return { info, infoHash: createHash('sha1').update(info).digest('hex'), pieces: hashes.length };
}

const N = blocksFacts.nbd;

const nbdServer: LabServer = {
  name: 'nbd-server',
  area: 'blocks',
  packages: ['nbd-server'],
  ports: [p.nbd, p.nbdTls],
  async start(ctx) {
    ctx.writeFile('harbour.img', blockPattern(N.harbour.size, N.harbour.seed));
    ctx.writeFile('scratch.img', Buffer.alloc(N.scratch.size), 0o666);
    ctx.writeFile('vault.img', blockPattern(N.vault.size, N.vault.seed));
    // nbd-server's TLS (GnuTLS) refuses a client without a certificate: one signed by the lab CA.
    const csr = join(ctx.dir, 'client.csr');
    await ctx.exec('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', N.clientKeyPath, '-subj', '/O=Portolan Lab/OU=clients/CN=nbd-client', '-out', csr]);
    await ctx.exec('openssl', ['x509', '-req', '-sha256', '-days', '825', '-in', csr, '-CA', ctx.tls.caPath, '-CAkey', join(ctx.labDir, 'ca.key'), '-CAcreateserial', '-CAserial', join(ctx.dir, 'ca.srl'), '-out', N.clientCertPath]);
    const generic = (port: number, extra: string[]) => [
      '[generic]',
      `  port = ${port}`,
      '  listenaddr = 127.0.0.1',
      '  allowlist = true',
      `  certfile = ${ctx.tls.certPath}`,
      `  keyfile = ${ctx.tls.keyPath}`,
      `  cacertfile = ${ctx.tls.caPath}`,
      ...extra,
    ];
    const open = ctx.writeFile(
      'config',
      [
        ...generic(p.nbd, []),
        `[${N.harbour.name}]`,
        `  exportname = ${N.harbour.path}`,
        '  readonly = true',
        `[${N.scratch.name}]`,
        `  exportname = ${N.scratch.path}`,
        '  flush = true',
        '  fua = true',
        '  trim = true',
        '',
      ].join('\n'),
    );
    // A second instance takes nothing but NBD_OPT_STARTTLS before TLS (force_tls; 3.24 does not hold a GO to an
    // export's own tlsonly).
    const tlsOnly = ctx.writeFile('config-tls', [...generic(p.nbdTls, ['  force_tls = true']), `[${N.vault.name}]`, `  exportname = ${N.vault.path}`, '  readonly = true', ''].join('\n'));
    for (const [label, conf] of [
      ['nbd-server', open],
      ['nbd-server-tls', tlsOnly],
    ]) {
      // nbd-server serves many clients only as a daemon of its own (with -d it ends after the first): a shell stays
      // in the foreground for the lab, waits while the daemon lives, and ends it when the lab ends the shell.
      const pid = join(ctx.dir, `${label}.pid`);
      const script = [
        `/usr/bin/nbd-server -C "${conf}" -p "${pid}" || exit 1`,
        `while [ ! -s "${pid}" ]; do sleep 0.1; done`,
        `daemon=$(cat "${pid}")`,
        'trap \'kill "$daemon"; exit 0\' TERM INT',
        'while kill -0 "$daemon" 2>/dev/null; do sleep 1; done',
      ].join('\n');
      await ctx.spawnDaemon({ label, command: '/bin/sh', args: ['-c', script] });
    }
  },
  async health() {
    // The newstyle greeting: NBDMAGIC, IHAVEOPT, the handshake flags.
    for (const port of [p.nbd, p.nbdTls]) {
      const got = await exchange(port, { until: (b) => b.length >= 18 });
      if (got.subarray(0, 16).toString('latin1') !== 'NBDMAGICIHAVEOPT') throw new Error(`nbd-server on ${port}: greeting ${got.toString('hex').slice(0, 40) || 'nothing'}`);
    }
  },
};

// nbdkit serves the same image read-only and, unlike nbd-server 3.24, offers structured replies.
const nbdkit: LabServer = {
  name: 'nbdkit',
  area: 'blocks',
  packages: ['nbdkit'],
  ports: [p.nbdkit],
  async start(ctx) {
    const image = ctx.writeFile('harbour.img', blockPattern(N.harbour.size, N.harbour.seed));
    // nbdkit quits once the process that started it has exited (seen with the lab's detached spawn, not under a shell):
    // a shell stays as its parent, in the process group the lab stops as one.
    const args = ['--foreground', '--readonly', '--ipaddr', '127.0.0.1', '--port', String(p.nbdkit), '--exportname', N.harbour.name, 'file', image];
    await ctx.spawnDaemon({ command: '/bin/sh', args: ['-c', '/usr/bin/nbdkit "$@" & wait', 'sh', ...args] });
  },
  async health() {
    const got = await exchange(p.nbdkit, { until: (b) => b.length >= 18 });
    if (got.subarray(0, 16).toString('latin1') !== 'NBDMAGICIHAVEOPT') throw new Error(`nbdkit: greeting ${got.toString('hex').slice(0, 40) || 'nothing'}`);
  },
};

const F = blocksFacts.ninep;

const diod: LabServer = {
  name: 'diod',
  area: 'blocks',
  packages: ['diod'],
  ports: [p.ninep],
  async start(ctx) {
    await ctx.exec('rm', ['-rf', F.export]);
    ctx.writeFile(join('export', F.notice.path), F.notice.text);
    ctx.writeFile(join('export', F.big.path), blockPattern(F.big.size, F.big.seed));
    ctx.writeFile(join('export', 'scratch', '.keep'), '');
    // 9P2000.L only; no MUNGE authentication (-n), no user database (-N); -u 0 attaches only uid 0 and switches to
    // no other user (squashing needs setfsuid, which this container refuses).
    await ctx.spawnDaemon({ command: '/usr/sbin/diod', args: ['-f', '-n', '-N', '-u', '0', '-l', `127.0.0.1:${p.ninep}`, '-e', F.export, '-L', 'stderr', '-c', '/dev/null'] });
  },
  async health() {
    // Tversion 9P2000.L: an Rversion (type 101) means diod is up.
    const version = Buffer.from('9P2000.L');
    const msg = Buffer.alloc(4 + 1 + 2 + 4 + 2 + version.length);
    msg.writeUInt32LE(msg.length, 0);
    msg[4] = 100;
    msg.writeUInt16LE(0xffff, 5);
    msg.writeUInt32LE(8192, 7);
    msg.writeUInt16LE(version.length, 11);
    version.copy(msg, 13);
    const got = await exchange(p.ninep, { send: msg, until: (b) => b.length >= 7 });
    if (got[4] !== 101) throw new Error(`diod: Tversion answered ${got.toString('hex').slice(0, 40) || 'nothing'}`);
  },
};

const I = blocksFacts.iscsi;
/** tgtd's management socket is /var/run/tgtd/socket.<control port>: a number of the lab's own. */
const TGT_CONTROL = String(p.iscsi);

const tgtd: LabServer = {
  name: 'tgtd',
  area: 'blocks',
  packages: ['tgt'],
  ports: [p.iscsi],
  async start(ctx) {
    ctx.writeFile('harbour.img', blockPattern(I.open.size, I.open.seed));
    ctx.writeFile('vault.img', blockPattern(I.chap.size, I.chap.seed));
    // tgtd is userspace (no kernel module; iSER's RDMA fails to load and is not needed).
    await ctx.spawnDaemon({ command: '/usr/sbin/tgtd', args: ['-f', '-C', TGT_CONTROL, '--iscsi', `portal=127.0.0.1:${p.iscsi}`] });
    const adm = (args: string[]) => ctx.exec('/usr/sbin/tgtadm', ['-C', TGT_CONTROL, '--lld', 'iscsi', ...args]);
    for (let i = 0; ; i++) {
      try {
        await adm(['--op', 'show', '--mode', 'sys']);
        break;
      } catch (e) {
        if (i >= 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    for (const [tid, t] of [
      [1, I.open],
      [2, I.chap],
    ] as const) {
      await adm(['--op', 'new', '--mode', 'target', '--tid', String(tid), '-T', t.iqn]);
      await adm(['--op', 'new', '--mode', 'logicalunit', '--tid', String(tid), '--lun', '1', '-b', t.path]);
      await adm(['--op', 'bind', '--mode', 'target', '--tid', String(tid), '-I', 'ALL']);
    }
    await adm(['--op', 'new', '--mode', 'account', '--user', I.chap.username, '--password', I.chap.password]);
    await adm(['--op', 'bind', '--mode', 'account', '--tid', '2', '--user', I.chap.username]);
  },
  async health() {
    // A login request with no keys: tgtd answers with a login response (opcode 0x23).
    const login = Buffer.alloc(48);
    login[0] = 0x43;
    login[1] = 0x87;
    const got = await exchange(p.iscsi, { send: login, until: (b) => b.length >= 48 });
    if ((got[0] & 0x3f) !== 0x23) throw new Error(`tgtd: login answered ${got.toString('hex').slice(0, 40) || 'nothing'}`);
  },
};

const B = blocksFacts.bittorrent;

/** One HTTP GET to opentracker: the body. */
async function trackerGet(target: string): Promise<Buffer> {
  const got = await exchange(p.tracker, { send: Buffer.from(`GET ${target} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`), until: () => false });
  const end = got.indexOf('\r\n\r\n');
  return end < 0 ? Buffer.alloc(0) : got.subarray(end + 4);
}

const percent = (hex: string) => hex.replace(/../g, '%$&');

// The tracker and the seed start together: opentracker first, then Transmission, which announces the lab torrent to
// it. transmission-daemon runs unpacked: its maintainer scripts would start Debian's own daemon on every interface.
const transmission: LabServer = {
  name: 'transmission',
  area: 'blocks',
  packages: ['opentracker'],
  unpacked: ['transmission-daemon'],
  ports: [p.bittorrent, p.transmissionRpc, p.tracker, p.trackerUdp],
  async start(ctx) {
    const { info, infoHash } = labTorrent();
    // opentracker chroots to its directory (the whitelist path is relative to it) and runs as nobody.
    ctx.writeFile(join('opentracker', 'whitelist.txt'), `${infoHash}\n${B.tracker.quietInfoHash}\n`, 0o644);
    await ctx.exec('chmod', ['755', join(ctx.dir, 'opentracker')]);
    await ctx.spawnDaemon({ label: 'opentracker', command: '/usr/bin/opentracker', args: ['-i', '127.0.0.1', '-p', String(p.tracker), '-P', String(p.trackerUdp), '-d', join(ctx.dir, 'opentracker'), '-u', 'nobody', '-w', 'whitelist.txt'] });
    ctx.writeFile(join('data', B.file.name), blockPattern(B.file.size, B.file.seed));
    const announce = `http://127.0.0.1:${p.tracker}/announce`;
    ctx.writeFile(join('watch', 'harbour-charts.torrent'), Buffer.concat([Buffer.from(`d8:announce${announce.length}:${announce}10:created by8:Portolan4:info`), Buffer.from(info), Buffer.from('e')]));
    ctx.writeFile(
      join('config', 'settings.json'),
      JSON.stringify(
        {
          'peer-port': p.bittorrent,
          'peer-port-random-on-start': false,
          'bind-address-ipv4': '127.0.0.1',
          'bind-address-ipv6': '::1',
          'rpc-enabled': true,
          'rpc-port': p.transmissionRpc,
          'rpc-bind-address': '127.0.0.1',
          'rpc-authentication-required': false,
          'rpc-whitelist-enabled': true,
          'rpc-whitelist': '127.0.0.1',
          'rpc-host-whitelist-enabled': false,
          'dht-enabled': false,
          'lpd-enabled': false,
          'pex-enabled': false,
          'utp-enabled': false,
          'port-forwarding-enabled': false,
          encryption: 0,
          'download-dir': join(ctx.dir, 'data'),
          'incomplete-dir-enabled': false,
          'watch-dir-enabled': true,
          'watch-dir': join(ctx.dir, 'watch'),
          'start-added-torrents': true,
          'message-level': 2,
        },
        null,
        2,
      ),
    );
    await ctx.exec('rm', ['-rf', join(ctx.dir, 'config', 'torrents'), join(ctx.dir, 'config', 'resume')]);
    await ctx.spawnDaemon({ command: join(ctx.unpacked('transmission-daemon'), 'usr/bin/transmission-daemon'), args: ['--foreground', '--config-dir', join(ctx.dir, 'config'), '--log-error'] });
  },
  async health() {
    // A handshake for the lab torrent with the fast extension: a peer that has verified the data answers HAVE_ALL
    // (a peer still checking it answers its handshake but closes the next connection).
    const { infoHash } = labTorrent();
    const hello = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.from('0000000000000004', 'hex'), Buffer.from(infoHash, 'hex'), Buffer.from('-PO0100-labhealthchk')]);
    const got = await exchange(p.bittorrent, { send: hello, until: (b) => b.length >= 73 });
    if (got.length < 73 || got.subarray(28, 48).toString('hex') !== infoHash || got[72] !== 14) throw new Error(`transmission: not seeding yet (answered ${got.toString('hex').slice(0, 40) || 'nothing'}…${got.subarray(68, 80).toString('hex')})`);
    // Transmission has announced itself: opentracker's scrape counts one seeder.
    const scrape = await trackerGet(`/scrape?info_hash=${percent(infoHash)}`);
    if (!scrape.includes('8:completei1e')) throw new Error(`opentracker: the lab torrent has no seeder yet (scrape ${scrape.toString('latin1').slice(0, 80) || 'unanswered'})`);
  },
};

export const servers: LabServer[] = [nbdServer, nbdkit, diod, tgtd, transmission];
