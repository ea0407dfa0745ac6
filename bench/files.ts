// File transfers through the Worker under `workerd serve`, beside the native clients on the same servers in
// the same run: a 1 GiB file down and up over SFTP (OpenSSH `sftp`) and FTP (`curl ftp://`), the API side
// driven by curl (a streamed download to /dev/null, a multipart upload from the file), and the isolate's
// heap (after a full GC, through the inspector, as the tunnel benchmark reads it) during one streamed
// transfer and during ten at once. The runtime's floors beside them: the same file streamed by a local TCP source
// through a Worker that does nothing but pipe the socket into its response, and sent by curl to a Worker that
// pipes its request body into an FTP data connection to the same vsftpd (inside the runtime, and through JavaScript).
// Run: npx tsx bench/files.ts            (BENCH_TINY=1: a 32 MiB file, one round)
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLab, ports } from '../lab/index.ts';
import { ftpFacts } from '../lab/servers/ftp.ts';
import { sshFacts } from '../lab/servers/ssh.ts';
import { bigFile, ensureTransferDir, GiB, MiB } from '../test/files.ts';
import { finish, machine, median, pairedRatio, report, say, tiny } from './lib/report.ts';
import { reportDownloadFloor, reportTransfers, startDownloadFloor, timeTransfers } from './lib/transfers.ts';
import { BENCH_VARS, buildBundle, isolateHeap, removeBundle, startMinimalTransfer, startWorkerd, type RunningWorkerd } from './lib/workerd.ts';

const SIZE = tiny ? 32 * MiB : GiB;
const ROUNDS = tiny ? 1 : 3;

function run(cmd: string, args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 16 * MiB, signal }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')}…: ${err.message}\n${stderr}`)) : resolve(stdout))),
  );
}

/**
 * Opens an FTP upload to the lab's vsftpd from Node (login, EPSV, STOR) and returns the data port for someone
 * else to send the file to; `done` resolves on the server's 226. The upload floors send into it, so they pay for
 * the same server as `curl -T` and the API.
 */
async function ftpStor(port: number, user: string, password: string, path: string): Promise<{ dataPort: number; done: Promise<void> }> {
  const control = net.connect(port, '127.0.0.1');
  control.on('error', () => {});
  let text = '';
  const waiters: (() => void)[] = [];
  control.on('data', (d) => {
    text += d.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  // The next complete reply (its last line "ddd text").
  const reply = async (): Promise<string> => {
    for (;;) {
      const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(text);
      if (m) {
        text = text.slice(m.index + m[0].length);
        return m[0].trim();
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  const send = async (line: string, ok: RegExp) => {
    control.write(`${line}\r\n`);
    const r = await reply();
    if (!ok.test(r)) throw new Error(`FTP ${line.split(' ')[0]}: ${r}`);
    return r;
  };
  await reply();
  await send(`USER ${user}`, /^331/);
  await send(`PASS ${password}`, /^230/);
  await send('TYPE I', /^200/);
  const epsv = await send('EPSV', /^229/);
  const dataPort = Number(/\|\|\|(\d+)\|/.exec(epsv)![1]);
  control.write(`STOR ${path}\r\n`);
  const done = (async () => {
    const opened = await reply();
    if (!/^1\d\d/.test(opened)) throw new Error(`FTP STOR: ${opened}`);
    const closed = await reply();
    control.end('QUIT\r\n');
    if (!/^226/.test(closed)) throw new Error(`FTP STOR: ${closed}`);
  })();
  return { dataPort, done };
}

/** Peak of the isolate heap (used + embedder, after a full GC) sampled every `everyMs` while `work` runs. */
async function peakHeap(w: RunningWorkerd, work: Promise<unknown>, everyMs: number): Promise<{ peak: number; samples: number }> {
  let done = false;
  void work.finally(() => (done = true)).catch(() => {});
  let peak = 0;
  let samples = 0;
  while (!done) {
    await new Promise((r) => setTimeout(r, everyMs));
    if (done) break;
    const h = await isolateHeap(w);
    peak = Math.max(peak, h.usedBytes + h.embedderBytes);
    samples++;
  }
  await work;
  return { peak, samples };
}

async function main(): Promise<void> {
  await ensureLab(['ssh', 'ftp'], { quiet: true });
  say(`machine: ${await machine()}`);
  const dir = ensureTransferDir();
  const file = bigFile(`bench-${SIZE / MiB}m.bin`, SIZE);
  const keyDir = mkdtempSync(join(tmpdir(), 'portolan-files-bench-'));
  const keyPath = join(keyDir, 'id_ed25519');
  copyFileSync(join(sshFacts.dir, 'keys', 'id_ed25519'), keyPath);
  chmodSync(keyPath, 0o600);
  const sshUser = sshFacts.clientKeys.ed25519.user;
  const sshOpts = ['-q', '-i', keyPath, '-P', String(sshFacts.port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];
  const ftpUrl = (path: string) => `ftp://${ftpFacts.user}:${ftpFacts.password}@127.0.0.1:${ports.ftp.ftp}/%2F${path.replace(/^\//, '')}`;
  const sshInput = { host: '127.0.0.1', port: sshFacts.port, username: sshUser, privateKey: await import('node:fs').then((fs) => fs.readFileSync(keyPath, 'utf8')) };
  const ftpInput = { host: '127.0.0.1', port: ports.ftp.ftp, user: ftpFacts.user, password: ftpFacts.password };
  const upSftp = join(dir, `bench-up-sftp-${process.pid}.bin`);
  const upFtp = join(dir, `bench-up-ftp-${process.pid}.bin`);

  const bundle = buildBundle();
  const w = await startWorkerd(bundle, { vars: BENCH_VARS, inspector: true });
  const floor = await startMinimalTransfer(bundle);
  // The file from a TCP source that sends it to whoever connects (as an FTP server's data connection does).
  const downloadFloor = await startDownloadFloor(bundle, file.path);
  // The upload floors: curl sends the file to the minimal Worker, which writes it into a STOR opened from here.
  const floorUpload = async (mode: 'pipe' | 'js') => {
    const stor = await ftpStor(ports.ftp.ftp, ftpFacts.user, ftpFacts.password, upFtp);
    await run('curl', ['-sS', '-f', '-H', 'expect:', '-X', 'POST', '-T', file.path, `${floor.url}/?mode=${mode}&port=${stor.dataPort}`]);
    await stor.done;
    if (statSync(upFtp).size !== SIZE) throw new Error(`upload floor (${mode}): ${statSync(upFtp).size} of ${SIZE} bytes on the server`);
  };
  const api = (protocol: string, op: string) => `${w.url}/api/${protocol}/${op}`;
  const download = async (protocol: string, op: string, input: object, signal?: AbortSignal) => {
    const got = await run('curl', ['-sS', '-f', '-o', '/dev/null', '-w', '%{size_download}', '-H', 'accept: application/octet-stream', '-H', 'content-type: application/json', '-d', JSON.stringify(input), api(protocol, op)], signal);
    if (Number(got) !== SIZE) throw new Error(`${protocol} ${op}: ${got} of ${SIZE} bytes`);
  };
  const upload = async (protocol: string, op: string, input: object, target: string) => {
    const body = await run('curl', ['-sS', '-H', 'expect:', '-F', `input=${JSON.stringify(input)}`, '-F', `file=@${file.path};type=application/octet-stream`, api(protocol, op)]);
    const answer = JSON.parse(body) as { ok: boolean; result?: { bytes: number }; error?: unknown };
    if (!answer.ok || answer.result?.bytes !== SIZE || statSync(target).size !== SIZE) throw new Error(`${protocol} ${op}: ${body.slice(0, 300)}`);
  };
  const sftpBatch = (line: string) => run('bash', ['-c', `echo ${JSON.stringify(line)} | sftp ${sshOpts.join(' ')} -b - ${sshUser}@127.0.0.1`]);

  const paths = {
    'sftp get, workerd': () => download('ssh', 'sftp-get', { ...sshInput, path: file.path }),
    'sftp get, OpenSSH sftp': () => sftpBatch(`get ${file.path} /dev/null`).then(() => undefined),
    'ftp get, workerd': () => download('ftp', 'download', { ...ftpInput, path: file.path }),
    'ftp get, curl ftp://': () => run('curl', ['-sS', '-o', '/dev/null', ftpUrl(file.path)]).then(() => undefined),
    'download, the piping Worker': () => downloadFloor.download(),
    'sftp put, workerd': () => upload('ssh', 'sftp-put', { ...sshInput, path: upSftp }, upSftp),
    'sftp put, OpenSSH sftp': () => sftpBatch(`put ${file.path} ${upSftp}`).then(() => undefined),
    'ftp put, workerd': () => upload('ftp', 'upload', { ...ftpInput, path: upFtp }, upFtp),
    'ftp put, curl ftp://': () => run('curl', ['-sS', '-T', file.path, ftpUrl(upFtp)]).then(() => undefined),
    'upload, the piping Worker': () => floorUpload('pipe'),
    'upload, the Worker reading in JavaScript': () => floorUpload('js'),
  } as const;
  try {
    // Warm-up: one small request of each kind compiles the Worker's paths.
    const small = bigFile('bench-warmup.bin', 1 * MiB);
    await run('curl', ['-sS', '-o', '/dev/null', '-H', 'accept: application/octet-stream', '-d', JSON.stringify({ ...sshInput, path: small.path }), api('ssh', 'sftp-get')]);
    await run('curl', ['-sS', '-o', '/dev/null', '-H', 'accept: application/octet-stream', '-d', JSON.stringify({ ...ftpInput, path: small.path }), api('ftp', 'download')]);
    const t = await timeTransfers(ROUNDS, paths, w.pid);
    reportTransfers(SIZE, ROUNDS, t, [
      ['sftp get, workerd', 'sftp get, OpenSSH sftp', 0.8],
      ['ftp get, workerd', 'ftp get, curl ftp://', 0.8],
      ['sftp put, workerd', 'sftp put, OpenSSH sftp', 0.7],
      ['ftp put, workerd', 'ftp put, curl ftp://', 0.7],
      ['ftp get, workerd', 'download, the piping Worker', null],
      ['ftp put, workerd', 'upload, the piping Worker', null],
      ['ftp put, workerd', 'upload, the Worker reading in JavaScript', null],
    ]);
    const rate = (ms: number) => SIZE / MiB / (ms / 1000);
    reportDownloadFloor(SIZE, t.times['download, the piping Worker'], t.times['ftp get, curl ftp://'], 'curl ftp://');
    for (const [path, how] of [
      ['upload, the piping Worker', 'a Worker that pipes its request body into a socket inside the runtime'],
      ['upload, the Worker reading in JavaScript', 'a Worker that reads its request body in JavaScript and writes each chunk to a socket'],
    ] as const) {
      const rates = t.times[path].map(rate);
      const putRate = t.times['ftp put, curl ftp://'].map(rate);
      report({
        name: `the runtime's floor: ${SIZE / MiB} MiB sent by curl to ${how} (an FTP data connection to the same vsftpd)`,
        value: median(rates),
        unit: 'MiB/s',
        baseline: { name: 'curl -T ftp://', value: median(putRate) },
        ratio: pairedRatio(rates, putRate),
        note: 'the highest ratio to curl ftp:// an upload through workerd can have on this machine',
      });
    }

    // Heap during one transfer, and during ten at once -----------------------------------------------
    const idle = await isolateHeap(w);
    report({ name: 'isolate heap, idle after the transfers', value: (idle.usedBytes + idle.embedderBytes) / MiB, unit: 'MiB' });
    const one = await peakHeap(w, download('ssh', 'sftp-get', { ...sshInput, path: file.path }), tiny ? 100 : 1000);
    report({ name: `isolate heap during one streamed SFTP download of ${SIZE / MiB} MiB, peak`, value: one.peak / MiB, unit: 'MiB', baseline: { name: 'idle', value: (idle.usedBytes + idle.embedderBytes) / MiB }, goal: '< 32 MiB', pass: one.peak < 32 * MiB, note: `${one.samples} samples after a full GC` });
    // Ten at once for a while (not to the end: that is ten times the file), then the clients go away.
    const stop = new AbortController();
    const ten = Promise.allSettled([
      ...Array.from({ length: 5 }, () => download('ssh', 'sftp-get', { ...sshInput, path: file.path }, stop.signal)),
      ...Array.from({ length: 5 }, () => download('ftp', 'download', { ...ftpInput, path: file.path }, stop.signal)),
    ]);
    const stopTimer = setTimeout(() => stop.abort(), tiny ? 1500 : 12_000);
    const many = await peakHeap(w, ten, tiny ? 100 : 1000);
    clearTimeout(stopTimer);
    report({ name: `isolate heap during ten streamed downloads at once (5 SFTP, 5 FTP, ${SIZE / MiB} MiB each), peak`, value: many.peak / MiB, unit: 'MiB', baseline: { name: 'idle', value: (idle.usedBytes + idle.embedderBytes) / MiB }, goal: '< 64 MiB', pass: many.peak < 64 * MiB, note: `${many.samples} samples after a full GC` });
  } finally {
    await w.stop();
    await floor.stop();
    await downloadFloor.stop();
    removeBundle(bundle);
    rmSync(keyDir, { recursive: true, force: true });
    rmSync(upSftp, { force: true });
    rmSync(upFtp, { force: true });
  }
  finish();
}

await main();
