// File shares through the Worker under `workerd serve`, beside the native client on the same server in the same
// run: a 1 GiB SMB download (Samba's `transfers` share) through the API as a stream (curl to /dev/null) vs
// `smbclient -c 'get … /dev/null'`, signed (the default) and on the encrypted `vault` share in AES-128-GCM. The
// runtime's floor beside them: the same file from a local TCP source through a Worker that only pipes it into its
// response, against the same `smbclient get`.
// Run: npx tsx bench/shares.ts            (BENCH_TINY=1: a 32 MiB file, one round)
import { execFile } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureLab, ports } from '../lab/index.ts';
import { sharesFacts } from '../lab/servers/shares.ts';
import { bigFile, ensureTransferDir, GiB, MiB } from '../test/files.ts';
import { finish, machine, say, tiny } from './lib/report.ts';
import { reportDownloadFloor, reportTransfers, startDownloadFloor, timeTransfers } from './lib/transfers.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd } from './lib/workerd.ts';

const SIZE = tiny ? 32 * MiB : GiB;
const ROUNDS = tiny ? 1 : 3;
const S = sharesFacts.smb;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 16 * MiB }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}…: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout))),
  );
}

async function main(): Promise<void> {
  await ensureLab(['shares'], { quiet: true });
  say(`machine: ${await machine()}`);
  ensureTransferDir();
  const name = `bench-smb-${SIZE / MiB}m.bin`;
  const file = bigFile(name, SIZE);
  // The same bytes on the encrypted share (its directory belongs to the lab, outside the transfer dir).
  const vaultCopy = join(S.vault.path, name);
  copyFileSync(file.path, vaultCopy);

  const bundle = buildBundle();
  const w = await startWorkerd(bundle, { vars: BENCH_VARS });
  const floor = await startDownloadFloor(bundle, file.path);
  const login = { host: '127.0.0.1', port: ports.shares.smb, username: S.user.name, password: S.user.password };
  const download = async (share: string) => {
    const got = await run('curl', ['-sS', '-f', '-o', '/dev/null', '-w', '%{size_download}', '-H', 'accept: application/octet-stream', '-H', 'content-type: application/json', '-d', JSON.stringify({ ...login, share, path: name }), `${w.url}/api/smb/download`]);
    if (Number(got) !== SIZE) throw new Error(`smb download from ${share}: ${got} of ${SIZE} bytes`);
  };
  const smbclient = (share: string, extra: string[] = []) =>
    run('smbclient', [`//127.0.0.1/${share}`, '-p', String(ports.shares.smb), '-U', `${S.user.name}%${S.user.password}`, ...extra, '-c', `get ${name} /dev/null`]).then(() => undefined);

  const paths = {
    'smb get, workerd': () => download(S.transfers.name),
    'smb get, smbclient': () => smbclient(S.transfers.name),
    'smb get encrypted, workerd': () => download(S.vault.name),
    'smb get encrypted, smbclient': () => smbclient(S.vault.name, ['--client-protection=encrypt']),
    'download, the piping Worker': () => floor.download(),
  } as const;
  try {
    // One untimed download of each kind compiles the Worker's paths and warms the page cache.
    await download(S.transfers.name);
    await smbclient(S.transfers.name);
    const t = await timeTransfers(ROUNDS, paths, w.pid);
    reportTransfers(SIZE, ROUNDS, t, [
      ['smb get, workerd', 'smb get, smbclient', 0.7],
      ['smb get encrypted, workerd', 'smb get encrypted, smbclient', null],
      ['smb get, workerd', 'download, the piping Worker', null],
    ]);
    reportDownloadFloor(SIZE, t.times['download, the piping Worker'], t.times['smb get, smbclient'], 'smbclient get');
  } finally {
    await w.stop();
    await floor.stop();
    removeBundle(bundle);
    rmSync(vaultCopy, { force: true });
  }
  finish();
}

await main();
