// The `portolan` binary as a user runs it: output, exit codes, flags from the schemas, help, colors,
// progress, the guessed protocol, and --remote through a Node host and through workerd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ports } from '../lab/index.ts';
import { foundationFacts } from '../lab/servers/foundation.ts';
import { protocols } from '../src/protocols/all.ts';
import { workerUrl } from '../test/harness.ts';
import { spawn } from 'node:child_process';
import { BIN, startNodeHost, type RunningNodeHost } from '../test/node-host.ts';
import { EXIT_CODES } from './exit-codes.ts';
import { portolan } from './run.ts';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ftpFacts } from '../lab/servers/ftp.ts';
import { sshFacts } from '../lab/servers/ssh.ts';
import { bigFile, MiB, scratchName, sha256File, transferDir } from '../test/files.ts';

const dict = `127.0.0.1:${ports.foundation.dict}`;
let node: RunningNodeHost;

before(async () => {
  node = await startNodeHost({ args: ['--token', 'cli-token'] });
});
after(async () => {
  await node?.stop();
});

test('cli: dict define prints the definition, a status line on stderr, exit 0', async () => {
  const r = await portolan(['dict', dict, 'define', '--word', 'portolan']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /From Portolan Lab Dictionary \[portolan\]/);
  assert.match(r.stdout, new RegExp(foundationFacts.dict.definitions.portolan));
  assert.match(r.stderr, /^ok dict define 127\.0\.0\.1:12628 in [\d.]+ ms$/m);
});

test('cli: --json prints the API answer; nested fields as --auth.user/--auth.secret', async () => {
  const r = await portolan(['dict', dict, 'define', '--word', 'harbour', '--auth.user', foundationFacts.dict.authUser, '--auth.secret', foundationFacts.dict.authSecret, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout);
  assert.equal(body.ok, true);
  assert.equal(body.protocol, 'dict');
  assert.equal(body.target.port, ports.foundation.dict);
  assert.match(body.result.definitions[0].text, /sheltered stretch of water/);
  const bad = await portolan(['dict', dict, 'define', '--word', 'harbour', '--auth', JSON.stringify({ user: 'portolan', secret: 'wrong' }), '--json']);
  assert.equal(bad.code, EXIT_CODES.auth_failed);
  assert.equal(JSON.parse(bad.stdout).error.code, 'auth_failed');
});

test('cli: fields take the schema type — numbers, booleans, kebab-case names', async () => {
  const r = await portolan(['dict', dict, 'match', '--word', 'li', '--strategy', 'prefix', '--timeout-ms', '5000', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).result.matches, [{ database: 'portolan', word: 'lighthouse' }]);
  const notNumber = await portolan(['dict', dict, 'define', '--word', 'x', '--timeout-ms', 'soon']);
  assert.equal(notNumber.code, EXIT_CODES.invalid_input);
  assert.match(notNumber.stderr, /timeout-ms: "soon" is not a number/);
  const tooBig = await portolan(['dict', dict, 'define', '--word', 'x', '--timeout-ms', '999999']);
  assert.equal(tooBig.code, EXIT_CODES.invalid_input);
  assert.match(tooBig.stderr, /timeoutMs: timeoutMs must be at most 30000/);
});

test('cli: an unknown flag or operation is a usage error (exit 2) naming what exists', async () => {
  const flag = await portolan(['dict', dict, 'define', '--wrod', 'x']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /unknown flag --wrod; dict define takes .*--word/);
  const op = await portolan(['dict', dict, 'lookup']);
  assert.equal(op.code, 2);
  assert.match(op.stderr, /dict has no operation "lookup"; it has define, match, databases, strategies, info/);
  const missing = await portolan(['dict', dict, 'define']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /word: is required/);
});

test('cli: one exit code per outcome — refused 10, io_timeout 12, target_blocked 19 over --remote', async () => {
  const refused = await portolan(['echo', `127.0.0.1:${ports.foundation.closedPort}`, '--data', 'x']);
  assert.equal(refused.code, EXIT_CODES.refused);
  assert.match(refused.stderr, /^portolan: refused: /m);
  const silent = await portolan(['echo', `127.0.0.1:${ports.foundation.silent}`, '--data', 'x', '--timeout-ms', '400']);
  assert.equal(silent.code, EXIT_CODES.io_timeout, silent.stderr);
  assert.match(silent.stderr, /io_timeout/);
  const blocked = await portolan(['echo', '10.9.8.7:7', '--data', 'x', '--remote', node.url, '--token', 'cli-token']);
  assert.equal(blocked.code, EXIT_CODES.target_blocked, blocked.stderr);
  assert.match(blocked.stderr, /10\.9\.8\.7 is in 10\.0\.0\.0\/8 \(private network\)/);
});

test('cli: the protocol is guessed from the port when omitted', async () => {
  // Nothing listens on 127.0.0.1:7: the guess is shown, then the echo dial is refused.
  const r = await portolan(['127.0.0.1:7', '--data', 'x']);
  assert.match(r.stderr, /portolan: echo \(guessed from port 7\)/);
  assert.equal(r.code, EXIT_CODES.refused);
  const none = await portolan(['127.0.0.1:1']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no protocol is known for port 1/);
});

test('cli: --remote runs through the Node host with --token, and through workerd', async () => {
  const noToken = await portolan(['dict', dict, 'define', '--word', 'portolan', '--remote', node.url, '--json']);
  assert.equal(noToken.code, EXIT_CODES.invalid_input);
  assert.match(JSON.parse(noToken.stdout).error.message, /access token/);
  const viaNode = await portolan(['dict', dict, 'define', '--word', 'portolan', '--remote', node.url, '--token', 'cli-token']);
  assert.equal(viaNode.code, 0, viaNode.stderr);
  assert.match(viaNode.stdout, new RegExp(foundationFacts.dict.definitions.portolan));
  assert.match(viaNode.stderr, new RegExp(`via ${node.url.replace(/[.]/g, '\\.')}`));
  const viaWorker = await portolan(['dict', dict, 'define', '--word', 'lighthouse', '--remote', workerUrl('dev'), '--json', '--transcript']);
  assert.equal(viaWorker.code, 0, viaWorker.stderr);
  const body = JSON.parse(viaWorker.stdout);
  assert.match(body.result.definitions[0].text, new RegExp(foundationFacts.dict.definitions.lighthouse));
  assert.ok(body.transcript.entries.some((e: { dir: string }) => e.dir === 'out'));
});

test('cli: --remote to something that is not listening is refused', async () => {
  const r = await portolan(['dict', dict, 'define', '--word', 'x', '--remote', `http://127.0.0.1:${ports.foundation.closedPort}`]);
  assert.equal(r.code, EXIT_CODES.refused);
  assert.match(r.stderr, /could not reach http:\/\/127\.0\.0\.1:10001/);
});

test('cli: colors only when asked for, and NO_COLOR wins', async () => {
  const plain = await portolan(['dict', dict, 'define', '--word', 'portolan']);
  assert.ok(!plain.stderr.includes('\x1b['), 'no colors without a terminal');
  const forced = await portolan(['dict', dict, 'define', '--word', 'portolan'], { FORCE_COLOR: '1' });
  assert.match(forced.stderr, /\x1b\[32mok\x1b\[39m dict define/);
  const noColor = await portolan(['dict', dict, 'define', '--word', 'portolan'], { FORCE_COLOR: '1', NO_COLOR: '1' });
  assert.ok(!noColor.stderr.includes('\x1b['), noColor.stderr);
  const flag = await portolan(['echo', `127.0.0.1:${ports.foundation.closedPort}`, '--data', 'x', '--no-color'], { FORCE_COLOR: '1' });
  assert.ok(!flag.stderr.includes('\x1b['));
  const red = await portolan(['echo', `127.0.0.1:${ports.foundation.closedPort}`, '--data', 'x'], { FORCE_COLOR: '1' });
  assert.match(red.stderr, /\x1b\[31mportolan: refused\x1b\[39m/);
});

test('cli: a progress indicator with the elapsed time while a long operation runs, erased at the end', async () => {
  const r = await portolan(['ping', `127.0.0.1:${ports.foundation.echo}`, '--count', '3', '--interval-ms', '400'], { PORTOLAN_PROGRESS: '1', PORTOLAN_PROGRESS_DELAY_MS: '100' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] ping tcp 127\.0\.0\.1:10007 \d\.\d s/);
  assert.match(r.stderr, /\r\x1b\[2Kok ping tcp/);
  assert.match(r.stdout, /^3 probes transmitted, 3 connected, 0% loss$/m);
});

test('cli: a ping nobody answers prints its statistics and exits with the probes\' outcome', async () => {
  const refused = await portolan(['ping', `127.0.0.1:${ports.foundation.closedPort}`, '--count', '2', '--interval-ms', '0']);
  assert.equal(refused.code, EXIT_CODES.refused, refused.stderr);
  assert.match(refused.stdout, /^2 probes transmitted, 0 connected, 100% loss$/m);
  assert.match(refused.stderr, /^refused ping tcp/m);
  const timedOut = await portolan(['ping', `127.0.0.1:${ports.foundation.blackhole}`, '--count', '1', '--probe-timeout-ms', '200']);
  assert.equal(timedOut.code, EXIT_CODES.connect_timeout, timedOut.stderr);
  const json = await portolan(['ping', `127.0.0.1:${ports.foundation.closedPort}`, '--count', '1', '--json']);
  assert.equal(json.code, EXIT_CODES.refused);
  assert.equal(JSON.parse(json.stdout).result.stats.lossPercent, 100);
});

test('cli: help is generated from the declarations', async () => {
  const main = await portolan(['--help']);
  assert.equal(main.code, 0);
  for (const p of protocols) assert.match(main.stdout, new RegExp(`^    ${p.id} `, 'm'), `${p.id} missing from --help`);
  assert.match(main.stdout, /19  target_blocked/);
  const proto = await portolan(['dict', '--help']);
  assert.match(proto.stdout, /Verified:  dictd 1\.13\.0/);
  assert.match(proto.stdout, /define +Definitions of a word \(default\)/);
  const op = await portolan(['dict', 'define', '--help']);
  assert.match(op.stdout, /--word <string> +\(required\)/);
  assert.match(op.stdout, /--auth <object> .*or --auth\.user --auth\.secret/);
  const bare = await portolan([]);
  assert.equal(bare.code, 2);
  assert.match(bare.stdout, /Usage:/);
});

test('cli: a large --json answer arrives whole through a pipe (100 000 bytes over TFTP, base64 in the JSON)', async () => {
  const r = await portolan(['tftp', `127.0.0.1:${ports.node.tftp}`, 'read', '--filename', 'pattern-100k.bin', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.length > 130_000);
  const body = JSON.parse(r.stdout);
  assert.equal(Buffer.from(body.result.base64, 'base64').length, 100_000);
});

test('cli: UDP operations run locally; through --remote workerd they exit 20 with the reason and the alternative', async () => {
  const local = await portolan(['ntp', `127.0.0.1:${ports.node.ntp}`]);
  assert.equal(local.code, 0, local.stderr);
  assert.match(local.stdout, /^stratum 10, reference 127\.127\.1\.1, leap 0 \(no warning\)$/m);
  const remote = await portolan(['ntp', `127.0.0.1:${ports.node.ntp}`, '--remote', workerUrl('dev')]);
  assert.equal(remote.code, EXIT_CODES.unsupported_runtime);
  assert.match(remote.stderr, /^portolan: unsupported_runtime: ntp query needs udp/m);
  assert.match(remote.stderr, /^  instead: Run the Node host \(`portolan serve`\)/m);
});

test('cli: sftp-get -o FILE writes the file byte-identical, -o - writes raw bytes to stdout; --file uploads from a path; locally and through --remote workerd', async () => {
  const file = bigFile('cli-4m.bin', 4 * MiB + 11);
  const ssh = ['ssh', `127.0.0.1:${sshFacts.port}`];
  const auth = ['--username', sshFacts.users.password.user, '--password', sshFacts.users.password.password];
  for (const remote of [[], ['--remote', workerUrl('dev')]]) {
    const out = join(transferDir, `${scratchName('cli-out')}.bin`);
    try {
      const r = await portolan([...ssh, 'sftp-get', ...auth, '--path', file.path, '-o', out, ...remote]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '', 'the file goes to the file, nothing to stdout');
      assert.match(r.stderr, new RegExp(`^ok ssh sftp-get 127\\.0\\.0\\.1:${sshFacts.port}: wrote 4\\.0 MiB to ${out.replace(/[.]/g, '\\.')} in [\\d.]+ s`, 'm'));
      assert.equal(await sha256File(out), file.sha256);
      const up = join(transferDir, `${scratchName('cli-up')}.bin`);
      const u = await portolan([...ssh, 'scp-put', ...auth, '--path', up, '--file', out, ...remote]);
      assert.equal(u.code, 0, u.stderr);
      assert.match(u.stderr, /: sent 4\.0 MiB from /);
      assert.equal(await sha256File(up), file.sha256);
      rmSync(up, { force: true });
    } finally {
      rmSync(out, { force: true });
    }
  }
  const raw = await portolanBytes([...ssh, 'sftp-get', ...auth, '--path', file.path, '-o', '-']);
  assert.equal(raw.code, 0);
  assert.equal(createHash('sha256').update(raw.stdout).digest('hex'), file.sha256);
  // --json is unchanged: the JSON answer, base64 content and all.
  const json = await portolan([...ssh, 'sftp-get', ...auth, '--path', sshFacts.helloFile.path, '--json']);
  assert.equal(JSON.parse(json.stdout).result.content, Buffer.from(sshFacts.helloFile.content).toString('base64'));
});

test('cli: a transfer draws a progress bar with size, percent, rate and ETA on stderr; errors exit with their outcome and name the flag', async () => {
  const file = bigFile('cli-4m.bin', 4 * MiB + 11);
  const target = join(transferDir, `${scratchName('cli-bar')}.bin`);
  const r = await portolan(['ftp', `127.0.0.1:${ports.ftp.ftp}`, 'upload', '--user', ftpFacts.user, '--password', ftpFacts.password, '--path', target, '--file', file.path], { PORTOLAN_PROGRESS: '1' });
  rmSync(target, { force: true });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /ftp upload 127\.0\.0\.1:\d+ \[[#-]+\] +\d+% [\d.]+ (B|KiB|MiB) \/ 4\.0 MiB [\d.]+ (B|KiB|MiB)\/s ETA (\d\d:\d\d|--:--)/);
  const list = await portolan(['ftp', `127.0.0.1:${ports.ftp.ftp}`, 'list', '-o', '/tmp/x']);
  assert.equal(list.code, EXIT_CODES.invalid_input);
  assert.match(list.stderr, /^portolan: invalid_input: o: -o is for download operations; ftp list moves no file/m);
  const missing = await portolan(['ftp', `127.0.0.1:${ports.ftp.ftp}`, 'download', '--user', ftpFacts.user, '--password', ftpFacts.password, '--path', '/nonexistent.bin', '-o', '/tmp/never-written.bin']);
  assert.equal(missing.code, EXIT_CODES.server_error);
  assert.match(missing.stderr, /^portolan: server_error: RETR \/nonexistent\.bin: 550/m);
});

/** portolan with stdout kept as bytes (a file written with -o -). */
function portolanBytes(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
  });
}
