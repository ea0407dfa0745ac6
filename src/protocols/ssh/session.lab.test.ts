// Lab tests on the Node host (the API has no WebSocket session route or `via` yet): the WebSocket shell session
// driver and the SSH jump-host Dialer, against OpenSSH from lab/servers/ssh.ts, through the real runner.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { ensureLab } from '../../../lab/index.ts';
import { kvFacts } from '../../../lab/servers/databases-kv.ts';
import { ports } from '../../../lab/ports.ts';
import { sshFacts } from '../../../lab/servers/ssh.ts';
import { webCrypto } from '../../core/crypto.ts';
import { defineProtocol, operation, type OperationContext } from '../../core/protocol.ts';
import { runOperation, type HostEnv } from '../../core/runner.ts';
import { NodeDialer } from '../../hosts/node/dialer.ts';
import echo from '../echo/index.ts';
import redis from '../redis/index.ts';
import { withJumpHost } from './dialer.ts';
import { shellSession, type SessionSocket, type ShellSessionInput } from './session.ts';

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

/** A socket as the API would hand it over, recording what the session sends. */
function fakeSocket() {
  const sent: Array<Uint8Array | string> = [];
  let listener: (d: Uint8Array | string) => void = () => {};
  let closeListener: () => void = () => {};
  let closed: { code: number; reason: string } | null = null;
  const waiters: Array<() => void> = [];
  const socket: SessionSocket = {
    send(d) {
      sent.push(d);
      for (const w of waiters.splice(0)) w();
    },
    close(code, reason) {
      closed = { code, reason };
      for (const w of waiters.splice(0)) w();
    },
    onMessage: (l) => (listener = l),
    onClose: (l) => (closeListener = l),
  };
  const text = () => Buffer.concat(sent.filter((d): d is Uint8Array => typeof d !== 'string')).toString('utf8');
  const controls = () => sent.filter((d): d is string => typeof d === 'string').map((d) => JSON.parse(d));
  return {
    socket,
    sent,
    text,
    controls,
    closed: () => closed,
    push: (m: Uint8Array | string) => listener(m),
    goAway: () => closeListener(),
    /** Resolves once `cond` holds (checked on every send), or rejects after ms. */
    async until(cond: () => boolean, ms = 8000, what = 'condition') {
      const end = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; output so far: ${JSON.stringify(text().slice(-300))} controls: ${JSON.stringify(controls())}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
  };
}

const shellInput: ShellSessionInput = { username: pw.user, password: pw.password, term: 'xterm-256color', cols: 100, rows: 30, record: true };

describe('WebSocket shell session driver', () => {
  test('connects, echoes keystrokes, resizes, exits with the status, and hands over an asciicast v2 recording', async () => {
    const ws = fakeSocket();
    const session = inOperation((ctx) => shellSession(ctx, shellInput, ws.socket));
    await ws.until(() => ws.controls().some((c) => c.type === 'connected'), 10_000, 'connected');
    const connected = ws.controls().find((c) => c.type === 'connected');
    assert.equal(connected.auth.method, 'password');
    assert.match(connected.server.version, /OpenSSH/);
    ws.push(new TextEncoder().encode('echo hi-$((6*7))\n'));
    await ws.until(() => ws.text().includes('hi-42'), 8000, 'hi-42');
    ws.push(JSON.stringify({ type: 'resize', cols: 120, rows: 33 }));
    ws.push(new TextEncoder().encode('stty size\n'));
    await ws.until(() => ws.text().includes('33 120'), 8000, 'stty size');
    ws.push(new TextEncoder().encode('exit 3\n'));
    await session;
    const exit = ws.controls().find((c) => c.type === 'exit');
    assert.deepEqual(exit, { type: 'exit', exitStatus: 3, exitSignal: null });
    assert.deepEqual(ws.closed(), { code: 1000, reason: 'session ended' });
    const cast = ws.controls().find((c) => c.type === 'recording').asciicast.trimEnd().split('\n');
    const header = JSON.parse(cast[0]);
    assert.equal(header.version, 2);
    assert.equal(header.width, 100);
    assert.equal(header.height, 30);
    const events = cast.slice(1).map((l: string) => JSON.parse(l));
    assert.ok(events.some((e: [number, string, string]) => e[1] === 'r' && e[2] === '120x33'));
    assert.ok(events.some((e: [number, string, string]) => e[1] === 'o' && e[2].includes('hi-42')));
    const times = events.map((e: [number]) => e[0]);
    assert.deepEqual([...times].sort((a, b) => a - b), times);
  });

  test('stops reading the channel while output is unacknowledged, resumes on ack, and loses nothing', async () => {
    const ws = fakeSocket();
    const session = inOperation((ctx) => shellSession(ctx, { ...shellInput, record: false, window: 64 * 1024 }, ws.socket));
    await ws.until(() => ws.controls().some((c) => c.type === 'connected'), 10_000, 'connected');
    ws.push(new TextEncoder().encode('stty -echo; seq 1 100000; echo END-$((1+1))-SEQ\n'));
    await ws.until(() => ws.text().length > 60 * 1024, 8000, '60 KiB of output');
    await new Promise((r) => setTimeout(r, 500));
    const stalled = Buffer.concat(ws.sent.filter((d): d is Uint8Array => typeof d !== 'string')).length;
    // The window is 64 KiB; one more channel packet may be in flight.
    assert.ok(stalled < 64 * 1024 + 128 * 1024, `sent ${stalled} bytes without acks`);
    assert.ok(!ws.text().includes('END-2-SEQ'));
    let acked = 0;
    while (!ws.text().includes('END-2-SEQ')) {
      const total = Buffer.concat(ws.sent.filter((d): d is Uint8Array => typeof d !== 'string')).length;
      if (total > acked) {
        ws.push(JSON.stringify({ type: 'ack', bytes: total - acked }));
        acked = total;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const numbers = ws.text().split(/[\r\n]+/).filter((l) => /^\d+$/.test(l));
    assert.equal(numbers.length, 100000);
    assert.equal(numbers[99999], '100000');
    ws.push(new TextEncoder().encode('exit\n'));
    ws.push(JSON.stringify({ type: 'ack', bytes: 1 << 30 }));
    await session;
  });

  test('a wrong password ends the session with an error message and close code 1011', async () => {
    const ws = fakeSocket();
    await inOperation((ctx) => shellSession(ctx, { ...shellInput, password: 'wrong' }, ws.socket));
    const err = ws.controls().find((c) => c.type === 'error');
    assert.equal(err.code, 'auth_failed');
    assert.match(err.message, /wrong password/);
    assert.equal(ws.closed()?.code, 1011);
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
