// The CLI's command line as the native tools have it: flags before or after the operation, --user everywhere
// (--username as its alias), passwords from --password-stdin, PGPASSWORD / MYSQL_PWD / REDISCLI_AUTH or a prompt
// on a terminal, --private-key-file, IPv6 targets as [::1]:port, times as precise as the runtime's clock.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../lab/index.ts';
import { kvFacts } from '../lab/servers/databases-kv.ts';
import { sqlFacts } from '../lab/servers/databases-sql.ts';
import { sshFacts } from '../lab/servers/ssh.ts';
import { workerUrl } from '../test/harness.ts';
import { BIN } from '../test/node-host.ts';
import { portolan } from './run.ts';
import { EXIT_CODES } from './exit-codes.ts';

const pg = `127.0.0.1:${ports.databases.postgresPlain}`;
const maria = `127.0.0.1:${ports.databases.mariadbPlain}`;
const redis = `127.0.0.1:${ports['databases-kv'].redis}`;
const md5 = sqlFacts.postgres.users.md5;
const db = sqlFacts.postgres.database;
const native = sqlFacts.mariadb.users.native;

before(async () => {
  await ensureLab(['databases-sql', 'databases-kv', 'ssh'], { quiet: true });
});

test('cli: flags before, between and after the words; --username is --user for postgres', async () => {
  const before = await portolan(['--user', md5.user, '--sql', 'SELECT 40 + 2 AS answer', 'postgres', '--database', db, pg, 'query', '--password-stdin'], {}, `${md5.password}\n`);
  assert.equal(before.code, 0, before.stderr);
  assert.match(before.stdout, /^answer\n42\n/);
  const between = await portolan(['postgres', '--username', md5.user, pg, '--sql', 'SELECT 7 AS n', 'query', '--database', db, '--password-stdin', '--json'], {}, md5.password);
  assert.equal(between.code, 0, between.stderr);
  assert.deepEqual(JSON.parse(between.stdout).result.results[0].rows, [[7]]);
});

test('cli: --user names the ssh username, and --private-key-file reads the key', async () => {
  const keyFile = join(sshFacts.dir, 'keys', 'id_ed25519');
  const r = await portolan(['ssh', `127.0.0.1:${sshFacts.port}`, 'exec', '--user', sshFacts.users.ed25519.user, '--private-key-file', keyFile, '--command', 'echo key-file-ok']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /key-file-ok/);
  const missing = await portolan(['ssh', `127.0.0.1:${sshFacts.port}`, 'exec', '--user', 'x', '--private-key-file', '/nonexistent/key', '--command', 'true']);
  assert.equal(missing.code, EXIT_CODES.invalid_input);
  assert.match(missing.stderr, /privateKey: cannot read \/nonexistent\/key: ENOENT/);
});

test('cli: the native tools\' password variables: PGPASSWORD, MYSQL_PWD, REDISCLI_AUTH', async () => {
  const pgOk = await portolan(['postgres', pg, 'query', '--user', md5.user, '--database', db, '--sql', 'SELECT current_user'], { PGPASSWORD: md5.password });
  assert.equal(pgOk.code, 0, pgOk.stderr);
  assert.match(pgOk.stdout, new RegExp(`^current_user\\n${md5.user}\\n`));
  const pgNone = await portolan(['postgres', pg, 'query', '--user', md5.user, '--database', db, '--sql', 'SELECT 1']);
  assert.equal(pgNone.code, EXIT_CODES.auth_failed, 'without a terminal nothing asks, the login fails');
  const myOk = await portolan(['mysql', maria, 'query', '--user', native.user, '--sql', 'SELECT 6 * 7 AS v'], { MYSQL_PWD: native.password });
  assert.equal(myOk.code, 0, myOk.stderr);
  assert.match(myOk.stdout, /^v\n42\n/);
  const redisOk = await portolan(['redis', redis, 'command', '--line', 'PING'], { REDISCLI_AUTH: kvFacts.redis.password });
  assert.equal(redisOk.code, 0, redisOk.stderr);
  assert.match(redisOk.stdout, /PONG/);
  const flagWins = await portolan(['redis', redis, 'command', '--line', 'PING', '--password', 'wrong-one'], { REDISCLI_AUTH: kvFacts.redis.password });
  assert.equal(flagWins.code, EXIT_CODES.auth_failed, 'a password given as a flag is used, not the environment');
});

test('cli: --password-stdin takes the first line; refused for an operation without a password', async () => {
  const r = await portolan(['mysql', maria, 'query', '--user', native.user, '--sql', 'SELECT 1 AS one', '--password-stdin'], {}, `${native.password}\r\nignored second line\n`);
  assert.equal(r.code, 0, r.stderr);
  const none = await portolan(['echo', '127.0.0.1:1', '--data', 'x', '--password-stdin'], {}, 'secret\n');
  assert.equal(none.code, EXIT_CODES.invalid_input);
  assert.match(none.stderr, /password-stdin: echo send takes no password/);
});

/** Runs the CLI on a pseudo-terminal (util-linux script), typing `answer` once `prompt` appears. */
function onTerminal(args: string[], prompt: RegExp, answer: string): Promise<{ code: number; output: string; prompted: boolean }> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let prompted = false;
    const onOutput = (d: Buffer) => {
      output += d.toString();
      if (!prompted && prompt.test(output)) {
        prompted = true;
        child.stdin.write(`${answer}\r`);
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output, prompted }));
  });
}

test('cli: on a terminal, a login that needs a password asks for it without echo, then runs', async () => {
  const r = await onTerminal(['postgres', pg, 'query', '--user', md5.user, '--database', db, '--sql', 'SELECT 5 AS asked'], /Password for portolan_md5@127\.0\.0\.1: /, md5.password);
  assert.ok(r.prompted, r.output);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /asked\r?\n5/);
  assert.ok(!r.output.includes(md5.password), 'the password is not echoed');
  const ssh = await onTerminal(['ssh', `127.0.0.1:${sshFacts.port}`, 'exec', '--user', sshFacts.users.password.user, '--command', 'echo prompted-ok'], /Password for sshpass@127\.0\.0\.1: /, sshFacts.users.password.password);
  assert.ok(ssh.prompted, ssh.output);
  assert.equal(ssh.code, 0, ssh.output);
  assert.match(ssh.output, /prompted-ok/);
});

test('cli: IPv6 targets print as [::1]:port; times as precise as the runtime measures them', async () => {
  const refused = await portolan(['echo', '[::1]:1', '--data', 'x']);
  assert.equal(refused.code, EXIT_CODES.refused);
  assert.match(refused.stderr, /connection refused by \[::1\]:1\b/);
  const local = await portolan(['redis', redis, 'command', '--line', 'PING', '--password', kvFacts.redis.password]);
  assert.equal(local.code, 0, local.stderr);
  // Node measures microseconds: up to three decimals, never a padded ".0".
  assert.match(local.stderr, /^ok redis command 127\.0\.0\.1:16379 in \d+(\.\d{1,3})? ms$/m);
  assert.doesNotMatch(local.stderr, /\.\d*0 ms$/m);
  const remote = await portolan(['redis', redis, 'command', '--line', 'PING', '--password', kvFacts.redis.password, '--remote', workerUrl('dev')]);
  assert.equal(remote.code, 0, remote.stderr);
  // Workers' clock moves in whole milliseconds: no decimals are invented.
  assert.match(remote.stderr, /^ok redis command 127\.0\.0\.1:16379 in \d+ ms via /m);
});
