// `portolan ssh forward -L` as users run it: redis-cli and plain TCP clients reach the lab's Redis and echo server
// through one `ssh forward` session in workerd (--remote), the SSH connection going to the lab sshd.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import { ensureLab, ports } from '../lab/index.ts';
import { kvFacts } from '../lab/servers/databases-kv.ts';
import { sshFacts } from '../lab/servers/ssh.ts';
import { workerUrl } from '../test/harness.ts';
import { BIN } from '../test/node-host.ts';
import { portolan, runCommand } from './run.ts';
import { parseLocalForward, parseSshForwardArgs } from './sshforward.ts';

before(() => ensureLab(['ssh', 'foundation', 'databases-kv'], { quiet: true }));

interface Running {
  ports: number[];
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Starts `portolan ssh forward` and waits for one "Forwarding" line per -L. */
async function sshForward(args: string[], count: number): Promise<Running> {
  const pw = sshFacts.users.password;
  const child = spawn(process.execPath, [BIN, 'ssh', 'forward', ...args, '--remote', workerUrl(), `${pw.user}@127.0.0.1:${sshFacts.port}`], {
    env: { ...process.env, NO_COLOR: '1', SSHPASS: pw.password },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const found = await new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no Forwarding lines within 60 s:\n${stdout}\n${stderr}`)), 60_000);
    child.stdout!.on('data', (d) => {
      stdout += d;
      const all = [...stdout.matchAll(/^Forwarding 127\.0\.0\.1:(\d+) to /gm)].map((m) => Number(m[1]));
      if (all.length === count) {
        clearTimeout(timer);
        resolve(all);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`portolan ssh forward exited (${code}):\n${stdout}\n${stderr}`));
    });
  });
  return {
    ports: found,
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGINT');
      return exited;
    },
  };
}

/** Sends `data` on a fresh connection, half-closes, and collects the answer until the other side closes. */
function exchange(port: number, data: Buffer): Promise<{ received: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('connect', () => s.end(data));
    s.on('error', (e) => resolve({ received: Buffer.concat(got), error: (e as NodeJS.ErrnoException).code ?? e.message }));
    s.on('close', () => resolve({ received: Buffer.concat(got) }));
  });
}

describe('portolan ssh forward -L', { timeout: 180_000 }, () => {
  test('the -L forms of ssh', () => {
    assert.deepEqual(parseLocalForward('16379:db.internal:6379'), { bind: '127.0.0.1', localPort: 16379, targetHost: 'db.internal', targetPort: 6379 });
    assert.deepEqual(parseLocalForward('0.0.0.0:0:[::1]:5432'), { bind: '0.0.0.0', localPort: 0, targetHost: '::1', targetPort: 5432 });
    assert.deepEqual(parseLocalForward('*:8080:web:80').bind, '0.0.0.0');
    assert.throws(() => parseLocalForward('16379:6379'), /L: "16379:6379" is not \[BIND:\]LOCAL_PORT:TARGET_HOST:TARGET_PORT/);
    assert.throws(() => parseLocalForward('1:h:99999'), /L: "99999" is not a port/);
    const a = parseSshForwardArgs(['-L1:h:2', '-p', '2222', 'me@bastion'], {});
    assert.deepEqual([a.user, a.host, a.port, a.forwards.length], ['me', 'bastion', 2222, 1]);
    assert.throws(() => parseSshForwardArgs(['bastion'], {}), /give at least one -L/);
  });

  test('redis-cli and a 2 MiB echo run at once through one SSH connection; a refused target fails alone; Ctrl-C ends it', async () => {
    const f = await sshForward(['-L', `0:127.0.0.1:${ports['databases-kv'].redis}`, '-L', `0:127.0.0.1:${ports.foundation.echo}`, '-L', `0:127.0.0.1:${ports.foundation.closedPort}`], 3);
    const [redis, echo, closed] = f.ports;
    try {
      const key = `sshfwd:${Date.now()}`;
      const cli = (...args: string[]) => runCommand('redis-cli', ['-h', '127.0.0.1', '-p', String(redis), '-a', kvFacts.redis.password, '--no-auth-warning', ...args]);
      const big = randomBytes(2 * 1024 * 1024);
      // Two redis-cli runs and the echo at the same time.
      const [set, echoed, ping] = await Promise.all([cli('SET', key, 'über SSH'), exchange(echo, big), cli('PING')]);
      assert.equal(set.stdout, 'OK\n', set.stderr);
      assert.equal(ping.stdout, 'PONG\n', ping.stderr);
      assert.equal(echoed.error, undefined);
      assert.equal(createHash('sha256').update(echoed.received).digest('hex'), createHash('sha256').update(big).digest('hex'));
      assert.equal((await cli('GET', key)).stdout, 'über SSH\n');

      const refused = await exchange(closed, Buffer.from('hello'));
      assert.equal(refused.received.length, 0);
      assert.equal(refused.error, 'ECONNRESET');
      await new Promise((r) => setTimeout(r, 200));
      assert.match(f.stderr(), new RegExp(`portolan: refused: connection from 127\\.0\\.0\\.1:\\d+: 127\\.0\\.0\\.1:${ports.foundation.closedPort} via SSH: server refused to open the channel \\(connect failed\\)`));
      // The others go on after it.
      assert.equal((await cli('GET', key)).stdout, 'über SSH\n');
    } finally {
      assert.equal(await f.stop(), 0, f.stderr());
    }
    // After Ctrl-C nothing listens any more.
    const after = await exchange(redis, Buffer.from('PING\r\n'));
    assert.equal(after.error, 'ECONNREFUSED');
  });

  test('a wrong password ends with auth_failed and its exit code', async () => {
    const { code, stderr } = await portolan(['ssh', 'forward', '-L', '0:127.0.0.1:1', '--remote', workerUrl(), `${sshFacts.users.password.user}@127.0.0.1:${sshFacts.port}`], { NO_COLOR: '1', SSHPASS: 'wrong' });
    assert.match(stderr, /portolan: auth_failed: ssh forward via sshpass@127\.0\.0\.1:\d+: /);
    assert.equal(code, 17, stderr);
  });
});
