// Lab servers of the nfs area: NFS-Ganesha 4.3 in userspace (FSAL_VFS) on 127.0.0.1, NFSv3 with MOUNT and NFSv4.1,
// TCP only, no NLM or RQUOTA. Ganesha must register its programs with rpcbind at start or it exits: it runs in a
// mount namespace of its own whose /run is a fresh tmpfs holding a stand-in rpcbind socket (lab/nfs/rpcbind-stub.py),
// so no real rpcbind (the portmapper area's among them) ever sees its registrations.
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ports } from '../ports.ts';
import { exchange } from '../probe.ts';
import { labDir } from '../runner.ts';
import type { LabServer } from '../server.ts';

const p = ports.nfs;
const root = join(labDir, 'ganesha');

/** What Ganesha exports: tests assert against these. */
export const nfsFacts = {
  /** PrivilegedPort = false: a Worker (unprivileged source ports) may mount it. */
  harbour: {
    export: '/harbour',
    path: join(root, 'harbour'),
    readme: { name: 'readme.txt', text: 'Portolan lab NFS export: harbour charts.\n' },
    notes: { dir: 'notes', name: 'tides.txt', text: 'High water at 06:12 and 18:40.\n' },
    link: { name: 'current', target: 'readme.txt' },
    /** Mode 0777: anyone's uploads land here. */
    incoming: 'incoming',
  },
  /** The lab's transfer dir (test/files.ts bigFile), insecure, for large files each way. */
  transfers: { export: '/transfers', path: join(labDir, 'transfers') },
  /** PrivilegedPort = true: only calls from a source port below 1024 are served. */
  vault: { export: '/vault', path: join(root, 'vault'), file: { name: 'ledger.txt', text: 'Cargo manifest: 40 barrels of pitch.\n' } },
};

function exportBlock(id: number, path: string, pseudo: string, privileged: boolean): string {
  return [
    'EXPORT {',
    `  Export_Id = ${id};`,
    `  Path = "${path}";`,
    `  Pseudo = "${pseudo}";`,
    '  Protocols = 3, 4;',
    '  Transports = TCP;',
    '  Access_Type = RW;',
    '  Squash = No_Root_Squash;',
    '  SecType = sys;',
    `  PrivilegedPort = ${privileged};`,
    '  FSAL { Name = VFS; }',
    '}',
  ].join('\n');
}

/** CALL of NFS (100003) v3 procedure NULL, AUTH_NONE, one last fragment (RFC 5531 9, 11). */
function nullCall(): Buffer {
  const b = Buffer.alloc(44);
  b.writeUInt32BE((0x80000000 | 40) >>> 0, 0);
  [0x6e667301, 0, 2, 100003, 3, 0, 0, 0, 0, 0].forEach((v, i) => b.writeUInt32BE(v, 4 + i * 4));
  return b;
}

const ganesha: LabServer = {
  name: 'ganesha',
  area: 'nfs',
  packages: ['nfs-ganesha', 'nfs-ganesha-vfs', 'python3', 'libnfs-utils'],
  ports: [p.nfs, p.mount],
  async start(ctx) {
    const F = nfsFacts;
    mkdirSync(join(F.harbour.path, F.harbour.notes.dir), { recursive: true });
    writeFileSync(join(F.harbour.path, F.harbour.readme.name), F.harbour.readme.text);
    writeFileSync(join(F.harbour.path, F.harbour.notes.dir, F.harbour.notes.name), F.harbour.notes.text);
    rmSync(join(F.harbour.path, F.harbour.link.name), { force: true });
    symlinkSync(F.harbour.link.target, join(F.harbour.path, F.harbour.link.name), 'file');
    mkdirSync(join(F.harbour.path, F.harbour.incoming), { recursive: true });
    chmodSync(join(F.harbour.path, F.harbour.incoming), 0o777);
    mkdirSync(F.vault.path, { recursive: true });
    writeFileSync(join(F.vault.path, F.vault.file.name), F.vault.file.text);
    mkdirSync(F.transfers.path, { recursive: true });
    chmodSync(F.transfers.path, 0o1777);
    const recovery = join(ctx.dir, 'recovery');
    mkdirSync(recovery, { recursive: true });
    const conf = ctx.writeFile(
      'ganesha.conf',
      [
        'NFS_CORE_PARAM {',
        '  Bind_Addr = 127.0.0.1;',
        `  NFS_Port = ${p.nfs};`,
        `  MNT_Port = ${p.mount};`,
        '  Enable_NLM = false;',
        '  Enable_RQUOTA = false;',
        '  Enable_UDP = false;',
        '  Protocols = 3, 4;',
        // MOUNT takes the pseudo paths (/harbour), as NFSv4 does.
        '  Mount_Path_Pseudo = true;',
        '  Plugins_Dir = "/usr/lib/x86_64-linux-gnu/ganesha";',
        '}',
        'NFSV4 {',
        '  Graceless = true;',
        '  RecoveryBackend = fs;',
        `  RecoveryRoot = "${recovery}";`,
        '  Minor_Versions = 1, 2;',
        '}',
        exportBlock(1, F.harbour.path, F.harbour.export, false),
        exportBlock(2, F.transfers.path, F.transfers.export, false),
        exportBlock(3, F.vault.path, F.vault.export, true),
        'LOG { Default_Log_Level = EVENT; }',
        '',
      ].join('\n'),
    );
    const stub = join(ctx.repoRoot, 'lab', 'nfs', 'rpcbind-stub.py');
    const script = [
      'mount -t tmpfs portolan-nfs-run /run',
      `/usr/bin/python3 ${stub} /run/rpcbind.sock &`,
      'for i in $(seq 50); do [ -S /run/rpcbind.sock ] && break; sleep 0.1; done',
      `exec /usr/bin/ganesha.nfsd -F -L ${join(ctx.dir, 'ganesha.log')} -f ${conf} -p ${join(ctx.dir, 'ganesha.pid')}`,
    ].join('\n');
    await ctx.spawnDaemon({ command: '/usr/bin/unshare', args: ['--mount', '--propagation', 'private', '/bin/sh', '-c', script] });
  },
  async health() {
    const got = await exchange(p.nfs, { send: nullCall(), until: (b) => b.length >= 28 });
    // xid, REPLY, MSG_ACCEPTED, verifier AUTH_NONE of length 0, SUCCESS.
    if (got.readUInt32BE(4) !== 0x6e667301 || got.readUInt32BE(8) !== 1 || got.readUInt32BE(12) !== 0 || got.readUInt32BE(24) !== 0) throw new Error(`ganesha: NULL of NFS v3 answered ${got.toString('hex')}`);
  },
};

export const servers: LabServer[] = [ganesha];
