// NFSv3 READ through the Worker under `workerd serve`, and through the Node host, beside libnfs's `nfs-cp` (a
// kernel-free client, Debian's libnfs-utils) on the same NFS-Ganesha export in the same run: a 256 MiB file, the API
// side driven by curl (a streamed download to /dev/null), nfs-cp writing to /dev/shm (it cannot write to /dev/null).
// The runtime's floor beside them: the same file from a local TCP source through a Worker that only pipes it into its
// response.
// Run: npx tsx bench/nfs.ts            (BENCH_TINY=1: a 32 MiB file, one round)
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { ensureLab, ports } from '../lab/index.ts';
import { nfsFacts } from '../lab/servers/nfs.ts';
import { bigFile, MiB } from '../test/files.ts';
import { startNodeHost } from '../test/node-host.ts';
import { cpuMs } from './lib/proc.ts';
import { finish, interleave, machine, median, pairedRatio, report, say, tiny } from './lib/report.ts';
import { reportDownloadFloor, startDownloadFloor } from './lib/transfers.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd } from './lib/workerd.ts';

const SIZE = tiny ? 32 * MiB : 256 * MiB;
const ROUNDS = tiny ? 1 : 5;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 16 * MiB }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}…: ${err.message}\n${stderr}`)) : resolve(stdout))),
  );
}

async function main(): Promise<void> {
  await ensureLab(['nfs'], { quiet: true });
  say(`machine: ${await machine()}`);
  const name = `bench-nfs-${SIZE / MiB}m.bin`;
  const file = bigFile(name, SIZE);
  const input = { host: '127.0.0.1', port: ports.nfs.nfs, mountPort: ports.nfs.mount, export: nfsFacts.transfers.export, path: name };
  const url = `nfs://127.0.0.1${nfsFacts.transfers.export}/${name}?nfsport=${ports.nfs.nfs}&mountport=${ports.nfs.mount}&version=3`;
  const shm = `/dev/shm/portolan-bench-nfs-${process.pid}.bin`;
  const bundle = buildBundle();
  const w = await startWorkerd(bundle, { vars: BENCH_VARS });
  const node = await startNodeHost();
  const floor = await startDownloadFloor(bundle, file.path);
  const download = async (base: string) => {
    const got = await run('curl', ['-sS', '-f', '-o', '/dev/null', '-w', '%{size_download}', '-H', 'accept: application/octet-stream', '-H', 'content-type: application/json', '-d', JSON.stringify(input), `${base}/api/nfs/download`]);
    if (Number(got) !== SIZE) throw new Error(`nfs download: ${got} of ${SIZE} bytes`);
  };
  const times: Record<string, number[]> = { workerd: [], node: [], 'nfs-cp': [], floor: [] };
  const cpu: number[] = [];
  try {
    for (const base of [w.url, node.url]) await run('curl', ['-sS', '-o', '/dev/null', '-H', 'accept: application/octet-stream', '-d', JSON.stringify(input), `${base}/api/nfs/download`]);
    await interleave(ROUNDS, {
      workerd: async () => {
        const c0 = cpuMs(w.pid);
        const t0 = performance.now();
        await download(w.url);
        times.workerd.push(performance.now() - t0);
        cpu.push(cpuMs(w.pid) - c0);
      },
      node: async () => {
        const t0 = performance.now();
        await download(node.url);
        times.node.push(performance.now() - t0);
      },
      'nfs-cp': async () => {
        const t0 = performance.now();
        await run('nfs-cp', [url, shm]);
        times['nfs-cp'].push(performance.now() - t0);
        rmSync(shm, { force: true });
      },
      floor: async () => {
        const t0 = performance.now();
        await floor.download();
        times.floor.push(performance.now() - t0);
      },
    });
    const rate = (ms: number) => SIZE / MiB / (ms / 1000);
    const base = times['nfs-cp'].map(rate);
    for (const [host, label] of [
      ['workerd', 'workerd'],
      ['node', 'the Node host'],
    ] as const) {
      const ours = times[host].map(rate);
      const ratio = pairedRatio(ours, base);
      report({
        name: `NFSv3 READ of ${SIZE / MiB} MiB through ${label}, streamed (whole request)`,
        value: median(ours),
        unit: 'MiB/s',
        baseline: { name: 'libnfs nfs-cp', value: median(base) },
        ratio,
        goal: '≥ 0.5x',
        pass: ratio >= 0.5,
        note: `${ROUNDS} interleaved rounds${host === 'workerd' ? `; workerd CPU ${(median(cpu) / (SIZE / MiB)).toFixed(2)} ms per MiB` : ''}`,
      });
    }
    reportDownloadFloor(SIZE, times.floor, times['nfs-cp'], 'libnfs nfs-cp');
    const floorRate = times.floor.map(rate);
    const viaWorkerd = times.workerd.map(rate);
    report({
      name: `NFSv3 READ of ${SIZE / MiB} MiB through workerd, against the floor`,
      value: median(viaWorkerd),
      unit: 'MiB/s',
      baseline: { name: 'the piping Worker', value: median(floorRate) },
      ratio: pairedRatio(viaWorkerd, floorRate),
    });
  } finally {
    await w.stop();
    await node.stop();
    await floor.stop();
    removeBundle(bundle);
    rmSync(shm, { force: true });
  }
  finish();
}

await main();
