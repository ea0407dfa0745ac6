// Native clients through the tunnel, as users run them: OpenSSH's ssh and scp with `portolan tunnel --stdio` as
// ProxyCommand, psql and redis-cli through `portolan forward`, all against the lab's servers through workerd
// (the deployment bundle under `workerd serve`, loopback allowed, default tunnel limits); the guard's refusals
// through the test deployment (private targets blocked) and a Node host with a client rate limit.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ensureLab, ports } from '../lab/index.ts';
import { kvFacts } from '../lab/servers/databases-kv.ts';
import { sqlFacts } from '../lab/servers/databases-sql.ts';
import { sshFacts } from '../lab/servers/ssh.ts';
import { BENCH_VARS, buildBundle, removeBundle, startWorkerd, type Bundle, type RunningWorkerd } from '../bench/lib/workerd.ts';
import { DEPLOYMENT_TOKEN, workerUrl } from '../test/harness.ts';
import { BIN, startNodeHost, type RunningNodeHost } from '../test/node-host.ts';
import { EXIT_CODES } from './exit-codes.ts';

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
  });
}

interface Forward {
  port: number;
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** `portolan forward ... 0 HOST:PORT`: waits for the line that names the port it listens on. */
async function forward(args: string[]): Promise<Forward> {
  const child = spawn(process.execPath, [BIN, 'forward', ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`portolan forward printed no port within 60 s:\n${stdout}\n${stderr}`)), 60_000);
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /^Forwarding 127\.0\.0\.1:(\d+) to /m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`portolan forward exited (${code}):\n${stdout}\n${stderr}`));
    });
  });
  return {
    port,
    child,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGINT');
      return exited;
    },
  };
}

/** Connects to a forward's port and reads until the forward closes the connection: what came, and how it ended. */
function connectAndWait(port: number): Promise<{ data: Buffer; ended: string }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    let ended = 'closed';
    s.on('data', (d) => got.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => (ended = e.code ?? e.message));
    s.on('close', () => resolve({ data: Buffer.concat(got), ended }));
  });
}

async function until(check: () => boolean, ms = 20_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

let bundle: Bundle;
let wd: RunningWorkerd;
let limited: RunningNodeHost;
let dir: string;
let key: string;

before(async () => {
  await ensureLab(['ssh', 'databases-sql', 'databases-kv'], { quiet: true });
  bundle = buildBundle();
  wd = await startWorkerd(bundle, { vars: BENCH_VARS });
  limited = await startNodeHost({ args: ['--rate-limit-client', '1/600'] });
  dir = mkdtempSync(join(tmpdir(), 'portolan-tunnel-cli-'));
  // ssh takes a private key only when no one else can read it.
  key = join(dir, 'id_ed25519');
  copyFileSync(join(sshFacts.dir, 'keys', 'id_ed25519'), key);
  chmodSync(key, 0o600);
});

after(async () => {
  await wd?.stop();
  await limited?.stop();
  if (bundle) removeBundle(bundle);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const proxyCommand = (remote: string, extra = '') => `${process.execPath} ${BIN} tunnel --stdio --remote ${remote}${extra} %h:%p`;

function sshArgs(remote: string, extra = ''): string[] {
  return [
    '-o', `ProxyCommand=${proxyCommand(remote, extra)}`,
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR',
    '-i', key,
  ];
}

test('ssh through `portolan tunnel --stdio` runs a command on the lab sshd', async () => {
  const r = await run('ssh', [...sshArgs(wd.url), '-p', String(sshFacts.port), `${sshFacts.users.ed25519.user}@127.0.0.1`, 'echo "$(id -un) $((6 * 7))"']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), `${sshFacts.users.ed25519.user} 42\n`);
});

test('scp through `portolan tunnel --stdio` copies 64 MiB up and back byte-identical', { timeout: 600_000 }, async () => {
  const local = join(dir, 'up.bin');
  const back = join(dir, 'back.bin');
  const data = randomBytes(64 * 1024 * 1024);
  writeFileSync(local, data);
  const remotePath = `/tmp/portolan-scp-${randomBytes(6).toString('hex')}.bin`;
  const scp = (from: string, to: string) => run('scp', [...sshArgs(wd.url), '-q', '-P', String(sshFacts.port), from, to]);
  const dest = `${sshFacts.users.ed25519.user}@127.0.0.1:${remotePath}`;
  try {
    const up = await scp(local, dest);
    assert.equal(up.code, 0, up.stderr);
    // The file as sshd wrote it, on this machine's disk.
    assert.equal(createHash('sha256').update(readFileSync(remotePath)).digest('hex'), createHash('sha256').update(data).digest('hex'));
    const down = await scp(dest, back);
    assert.equal(down.code, 0, down.stderr);
    assert.ok(readFileSync(back).equals(data), 'the copy back differs');
  } finally {
    rmSync(remotePath, { force: true });
  }
});

test('psql through `portolan forward` reads the seeded rows', async () => {
  const f = await forward(['--remote', wd.url, '0', `127.0.0.1:${ports.databases.postgres}`]);
  try {
    const { user, password } = sqlFacts.postgres.users.scram;
    const r = await run('psql', ['-h', '127.0.0.1', '-p', String(f.port), '-U', user, '-d', sqlFacts.postgres.database, '-At', '-c', 'SELECT id, name FROM harbours ORDER BY id'], { PGPASSWORD: password, PGCONNECT_TIMEOUT: '20' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), sqlFacts.postgres.harbours.map((h) => `${h.id}|${h.name}\n`).join(''));
    // A second client is a second tunnel.
    const again = await run('psql', ['-h', '127.0.0.1', '-p', String(f.port), '-U', user, '-d', sqlFacts.postgres.database, '-At', '-c', 'SELECT count(*) FROM harbours'], { PGPASSWORD: password });
    assert.equal(again.stdout.toString(), `${sqlFacts.postgres.harbours.length}\n`, again.stderr);
  } finally {
    assert.equal(await f.stop(), 0);
  }
  assert.doesNotMatch(f.stderr(), /portolan: /);
});

test('redis-cli through `portolan forward` sets and reads back a value', async () => {
  const f = await forward(['--remote', wd.url, '0', `127.0.0.1:${ports['databases-kv'].redis}`]);
  try {
    const cli = (...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(f.port), '-a', kvFacts.redis.password, '--no-auth-warning', ...args]);
    const value = randomBytes(8).toString('hex');
    const set = await cli('SET', 'portolan:tunnel:forward', value);
    assert.equal(set.stdout.toString(), 'OK\n', set.stderr);
    const get = await cli('GET', 'portolan:tunnel:forward');
    assert.equal(get.stdout.toString(), `${value}\n`, get.stderr);
  } finally {
    await f.stop();
  }
});

test('a client that resets its own connection after its answer: forward reports nothing and goes on', async () => {
  const f = await forward(['--remote', wd.url, '0', `127.0.0.1:${ports['databases-kv'].redis}`]);
  try {
    const s = net.connect(f.port, '127.0.0.1');
    s.write('PING\r\n');
    const answer = await new Promise<string>((resolve, reject) => {
      s.once('data', (d: Buffer) => resolve(d.toString()));
      s.once('error', reject);
    });
    assert.match(answer, /^-NOAUTH /);
    // An RST, not a FIN: what psql sends when it closes with the server's last bytes unread.
    s.resetAndDestroy();
    const cli = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(f.port), '-a', kvFacts.redis.password, '--no-auth-warning', 'PING']);
    assert.equal(cli.stdout.toString(), 'PONG\n', cli.stderr);
  } finally {
    assert.equal(await f.stop(), 0);
  }
  assert.doesNotMatch(f.stderr(), /portolan: /);
});

test('a private target under the deployment policy: forward prints the reason and keeps listening', async () => {
  const f = await forward(['--remote', workerUrl('deployment'), '--token', DEPLOYMENT_TOKEN, '0', `127.0.0.1:${ports['databases-kv'].redis}`]);
  try {
    // The local client sees a reset, as from a refused connection.
    assert.deepEqual(await connectAndWait(f.port), { data: Buffer.alloc(0), ended: 'ECONNRESET' });
    assert.ok(await until(() => /target_blocked/.test(f.stderr())), f.stderr());
    assert.match(f.stderr(), /portolan: target_blocked: connection from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+: HTTP 403: .*(private|loopback|not allowed|blocked)/i);
    // Still listening: the next connection gets its own answer.
    await connectAndWait(f.port);
    assert.ok(await until(() => f.stderr().match(/target_blocked/g)!.length === 2), f.stderr());
    assert.equal(f.child.exitCode, null);
  } finally {
    assert.equal(await f.stop(), 0);
  }
});

test('a remote that answers 429: forward prints the reason and keeps listening', async () => {
  const f = await forward(['--remote', limited.url, '0', `127.0.0.1:${ports['databases-kv'].redis}`]);
  try {
    // The first tunnel takes the client's one request of the window; it works.
    const cli = (...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', String(f.port), '-a', kvFacts.redis.password, '--no-auth-warning', ...args]);
    const ok = await cli('PING');
    assert.equal(ok.stdout.toString(), 'PONG\n', ok.stderr);
    assert.deepEqual(await connectAndWait(f.port), { data: Buffer.alloc(0), ended: 'ECONNRESET' });
    assert.ok(await until(() => /rate_limited/.test(f.stderr())), f.stderr());
    assert.match(f.stderr(), /portolan: rate_limited: connection from .* HTTP 429: /);
    await connectAndWait(f.port);
    assert.ok(await until(() => f.stderr().match(/rate_limited/g)!.length === 2), f.stderr());
    assert.equal(f.child.exitCode, null);
  } finally {
    await f.stop();
  }
});

test('a refused ProxyCommand: the reason on stderr and a non-zero exit, which ssh shows', async () => {
  const deployment = workerUrl('deployment');
  const direct = await run(process.execPath, [BIN, 'tunnel', '--stdio', '--remote', deployment, '--token', DEPLOYMENT_TOKEN, `127.0.0.1:${sshFacts.port}`]);
  assert.equal(direct.code, EXIT_CODES.target_blocked, direct.stderr);
  assert.match(direct.stderr, /portolan: target_blocked: tunnel to 127\.0\.0\.1:\d+: HTTP 403: /);
  const viaSsh = await run('ssh', [...sshArgs(deployment, ` --token ${DEPLOYMENT_TOKEN}`), '-p', String(sshFacts.port), `${sshFacts.users.ed25519.user}@127.0.0.1`, 'true']);
  assert.equal(viaSsh.code, 255);
  assert.match(viaSsh.stderr, /portolan: target_blocked: tunnel to 127\.0\.0\.1:\d+: HTTP 403: /);
  // Without the token the deployment refuses too, and says why.
  const noToken = await run(process.execPath, [BIN, 'tunnel', '--stdio', '--remote', deployment, `127.0.0.1:${sshFacts.port}`]);
  assert.notEqual(noToken.code, 0);
  assert.match(noToken.stderr, /HTTP 401: .*access token/);
});

test('bad arguments: usage and exit 2', async () => {
  const r = await run(process.execPath, [BIN, 'tunnel', '--stdio', 'no-port-here']);
  assert.equal(r.code, EXIT_CODES.invalid_input);
  assert.match(r.stderr, /is not HOST:PORT/);
  const f = await run(process.execPath, [BIN, 'forward', 'x', '127.0.0.1:1']);
  assert.equal(f.code, EXIT_CODES.invalid_input);
  assert.match(f.stderr, /is not a port/);
});
