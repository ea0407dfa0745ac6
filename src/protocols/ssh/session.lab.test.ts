// Lab tests of the terminal session (a WebSocket through workerd) and of the SSH jump-host Dialer (on the Node
// host: the API has no `via` yet), against OpenSSH from lab/servers/ssh.ts.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as z from 'zod';
import { ensureLab } from '../../../lab/index.ts';
import { kvFacts } from '../../../lab/servers/databases-kv.ts';
import { ports } from '../../../lab/ports.ts';
import { sshFacts } from '../../../lab/servers/ssh.ts';
import { webCrypto } from '../../core/crypto.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { runOperation, type HostEnv } from '../../core/runner.ts';
import { NodeDialer } from '../../hosts/node/dialer.ts';
import { openSession, type SessionClient } from '../../../test/harness.ts';
import echo from '../echo/index.ts';
import redis from '../redis/index.ts';
import { withJumpHost } from './dialer.ts';

const env: HostEnv = { dialer: new NodeDialer(), guard: { check: async () => ({}) }, crypto: webCrypto() };
const pw = sshFacts.users.password;


before(() => ensureLab(['ssh'], { quiet: true }));

/** Runs `fn` as an operation on the Node host against the lab sshd, with the runner's deadline and transcript. */
async function inOperation<T>(fn: (ctx: OperationContext) => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const p = defineProtocol({
    id: 'ssh-test',
    title: 'test',
    category: 'remote',
    summary: 'test',
    ports: [{ port: sshFacts.port, transport: 'tcp' }],
    specs: [],
    rating: { stars: 0, reason: 'test' },
    verifiedAgainst: null,
    operations: { run: operation({ summary: 'run', input: z.object({}), output: z.any(), maxTimeoutMs: 60_000, run: (ctx) => fn(ctx) }) },
  });
  const answer = await runOperation(env, p, p.operations.run, { host: '127.0.0.1', port: sshFacts.port, timeoutMs });
  return answer.result as T;
}

const start = { host: '127.0.0.1', port: sshFacts.port, username: pw.user, password: pw.password, cols: 100, rows: 30 };

/** The terminal output so far, and a wait for it to satisfy `cond`. */
function screen(s: SessionClient) {
  const text = () => Buffer.concat(s.data).toString('utf8');
  const bytes = () => s.data.reduce((n, d) => n + d.length, 0);
  const until = async (cond: () => boolean, what: string, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`no ${what}; screen: ${JSON.stringify(text().slice(-300))}; messages: ${JSON.stringify(s.inbox)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return { text, bytes, until, type: (t: string) => s.send(new TextEncoder().encode(t)) };
}

describe('terminal session over WebSocket through workerd', () => {
  test('connects, echoes keystrokes, resizes, exits with the status, and returns an asciicast v2 recording', async () => {
    const s = await openSession('ssh', 'terminal', { ...start, record: true });
    const connected = await s.next((m) => m.type === 'connected', 15_000);
    assert.equal(connected.auth.method, 'password');
    assert.match(connected.server.version, /OpenSSH/);
    const t = screen(s);
    t.type('echo hi-$((6*7))\n');
    await t.until(() => t.text().includes('hi-42'), 'hi-42');
    s.send({ type: 'resize', cols: 120, rows: 33 });
    t.type('stty size\n');
    await t.until(() => t.text().includes('33 120'), 'the new size');
    t.type('exit 3\n');
    const end = await s.next((m) => m.type === 'end', 15_000);
    assert.equal(end.result.ended, 'server');
    assert.equal(end.result.exitStatus, 3);
    assert.equal(await s.done, 1000);
    const cast = end.result.asciicast.trimEnd().split('\n');
    const header = JSON.parse(cast[0]);
    assert.deepEqual([header.version, header.width, header.height], [2, 100, 30]);
    const events = cast.slice(1).map((l: string) => JSON.parse(l));
    assert.ok(events.some((e: [number, string, string]) => e[1] === 'r' && e[2] === '120x33'));
    assert.equal(events.filter((e: [number, string, string]) => e[1] === 'o').map((e: [number, string, string]) => e[2]).join(''), t.text());
    const times = events.map((e: [number]) => e[0]);
    assert.deepEqual([...times].sort((x, y) => x - y), times);
  });

  test('a recording holds no typed input unless asked: a password typed at a prompt is not in it', async () => {
    const secret = `pw-${process.pid}-secret`;
    const recorded = async (recordInput?: boolean) => {
      const s = await openSession('ssh', 'terminal', { ...start, record: true, ...(recordInput === undefined ? {} : { recordInput }) });
      await s.next((m) => m.type === 'connected', 15_000);
      const t = screen(s);
      // The prompt is written split in the command, so that the command's own echo (typed ahead of the shell) is not
      // taken for it; echo goes off before the prompt shows.
      t.type('stty -echo; read -r -p "Pass""word: " p; stty echo; echo; echo got-${#p}-chars\n');
      await t.until(() => t.text().includes('Password: '), 'the prompt');
      t.type(`${secret}\n`);
      await t.until(() => t.text().includes(`got-${secret.length}-chars`), 'the length of what was read');
      t.type('exit\n');
      const end = await s.next((m) => m.type === 'end', 15_000);
      return end.result.asciicast as string;
    };
    const quiet = await recorded();
    assert.ok(!quiet.includes(secret), `the password is in the recording: ${quiet}`);
    const events = quiet.trimEnd().split('\n').slice(1).map((l) => JSON.parse(l) as [number, string, string]);
    assert.deepEqual(events.filter((e) => e[1] === 'i'), []);
    assert.ok(events.some((e) => e[1] === 'o' && e[2].includes('got-')));
    // Asked for, the keys are recorded as "i" events.
    const typed = await recorded(true);
    const inputs = typed.trimEnd().split('\n').slice(1).map((l) => JSON.parse(l) as [number, string, string]).filter((e) => e[1] === 'i');
    assert.ok(inputs.map((e) => e[2]).join('').includes(secret));
  });

  test('stops reading the channel while output is unacknowledged, resumes on ack, and loses nothing', async () => {
    const s = await openSession('ssh', 'terminal', { ...start, window: 64 * 1024 }, 'dev', { manualAck: true });
    await s.next((m) => m.type === 'connected', 15_000);
    const t = screen(s);
    t.type('stty -echo; seq 1 100000; echo END-$((1+1))-SEQ\n');
    await t.until(() => t.bytes() > 60 * 1024, '60 KiB of output');
    await new Promise((r) => setTimeout(r, 700));
    // The window is 64 KiB; one more channel packet may be in flight.
    assert.ok(t.bytes() < 64 * 1024 + 128 * 1024, `sent ${t.bytes()} bytes without acks`);
    assert.ok(!t.text().includes('END-2-SEQ'));
    let acked = 0;
    const deadline = Date.now() + 20_000;
    while (!t.text().includes('END-2-SEQ')) {
      assert.ok(Date.now() < deadline, 'output did not resume after acks');
      if (t.bytes() > acked) {
        s.send({ type: 'ack', bytes: t.bytes() - acked });
        acked = t.bytes();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const numbers = t.text().split(/[\r\n]+/).filter((l) => /^\d+$/.test(l));
    assert.equal(numbers.length, 100000);
    assert.equal(numbers[99999], '100000');
    s.send({ type: 'ack', bytes: 1 << 30 });
    s.send({ type: 'stop' });
    const end = await s.next((m) => m.type === 'end', 15_000);
    assert.equal(end.result.ended, 'client');
  });

  test('an idle terminal re-keys on time (rekeyIntervalSeconds) and works afterwards; the result counts the key exchanges', async () => {
    const s = await openSession('ssh', 'terminal', { ...start, rekeyIntervalSeconds: 1, keepaliveMs: 0 });
    const connected = await s.next((m) => m.type === 'connected', 15_000);
    const t = screen(s);
    t.type('echo before-$((2*3))\n');
    await t.until(() => t.text().includes('before-6'), 'before-6');
    // 2.5 s with nothing sent either way (no keepalives): only the time limit can start the re-exchanges, at
    // about 1 s and 2 s after the first one. Typing afterwards would start at most one by itself (on send).
    await new Promise((r) => setTimeout(r, 2500));
    t.type('echo after-idle-$((6*7))\n');
    await t.until(() => t.text().includes('after-idle-42'), 'after-idle-42');
    t.type('exit 0\n');
    const end = await s.next((m) => m.type === 'end', 15_000);
    assert.equal(end.result.ended, 'server');
    assert.equal(end.result.exitStatus, 0);
    assert.ok(connected.server.keyExchanges <= 2, `${connected.server.keyExchanges} key exchanges at connect`);
    assert.ok(end.result.keyExchanges >= 3 && end.result.keyExchanges <= 5, `${end.result.keyExchanges} key exchanges`);
    console.error(`# idle terminal: ${connected.server.keyExchanges} key exchange(s) at connect, ${end.result.keyExchanges} at the end`);
  });

  test('a wrong password ends the session with auth_failed and close code 1011', async () => {
    const s = await openSession('ssh', 'terminal', { ...start, password: 'wrong' });
    const err = await s.next((m) => m.type === 'error', 15_000);
    assert.equal(err.error.code, 'auth_failed');
    assert.match(err.error.message, /wrong password/);
    assert.equal(await s.done, 1011);
  });
});

describe('SSH jump host as a Dialer (direct-tcpip)', () => {
  const servers: net.Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });
  const via = { host: '127.0.0.1', port: sshFacts.port, username: pw.user, password: pw.password };

  test('the echo protocol runs through the jump host and gets its bytes back', async () => {
    const srv = net.createServer((s) => s.pipe(s));
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const echoPort = (srv.address() as net.AddressInfo).port;
    const result = await inOperation((ctx) =>
      withJumpHost(ctx, via, async (dialer) => {
        const inner = await runOperation({ ...env, dialer }, echo, echo.operations.send, { host: '127.0.0.1', port: echoPort, data: 'through the bastion' });
        return inner.result;
      }),
    );
    assert.equal((result as { matches: boolean; text: string }).matches, true);
    assert.equal((result as { text: string }).text, 'through the bastion');
  });

  test('Redis through the jump host: SET then GET returns the value', async () => {
    await ensureLab(['databases-kv'], { quiet: true });
    const key = `via-ssh-${process.pid}`;
    const got = await inOperation((ctx) =>
      withJumpHost(ctx, via, async (dialer) => {
        const inner = { ...env, dialer };
        const target = { host: '127.0.0.1', port: ports['databases-kv'].redis, password: kvFacts.redis.password };
        await runOperation(inner, redis, redis.operations.command, { ...target, args: ['SET', key, 'through ssh'] });
        const r = await runOperation(inner, redis, redis.operations.command, { ...target, args: ['GET', key] });
        return r.result;
      }),
    );
    assert.equal(JSON.stringify(got).includes('through ssh'), true, JSON.stringify(got));
  });

  test('a port nothing listens on behind the jump host is refused, naming the jump host', async () => {
    await assert.rejects(
      inOperation((ctx) => withJumpHost(ctx, via, (dialer) => runOperation({ ...env, dialer }, echo, echo.operations.send, { host: '127.0.0.1', port: 1, data: 'x' }))),
      (e: { code: string; message: string }) => e.code === 'refused' && /via SSH 127\.0\.0\.1:12222/.test(e.message),
    );
  });
});
