// ssh forward through workerd: one session, one SSH connection to the lab sshd, several TCP connections from
// it to the lab's Redis, Memcached and echo server at once, each opened, fed, half-closed and closed on its own.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { kvFacts } from '../../../lab/servers/databases-kv.ts';
import { sshFacts } from '../../../lab/servers/ssh.ts';
import WebSocket from 'ws';
import { authHeaders, openSession, workerUrl, type SessionClient } from '../../../test/harness.ts';
import { dataFrame, FORWARD_WINDOW, parseDataFrame } from './forward.ts';

before(() => ensureLab(['ssh', 'foundation', 'databases-kv'], { quiet: true }));

const login = { host: '127.0.0.1', port: sshFacts.port, username: sshFacts.users.password.user, password: sshFacts.users.password.password };

/** Bytes that came back on connection `id`, so far. */
function bytesOf(s: SessionClient, id: number): Buffer {
  return Buffer.concat(s.data.map(parseDataFrame).filter((f) => f.id === id).map((f) => f.data));
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const send = (s: SessionClient, id: number, text: string | Buffer) => s.send(dataFrame(id, typeof text === 'string' ? Buffer.from(text) : text));

/** Sends `bytes` as the contract asks: at most FORWARD_WINDOW of them unconfirmed by `sent`. */
async function sendWindowed(s: SessionClient, id: number, bytes: Buffer): Promise<void> {
  const confirmed = () => s.inbox.filter((m) => m.type === 'sent' && m.id === id).reduce((n, m) => n + m.bytes, 0);
  for (let at = 0; at < bytes.length; at += 60 * 1024) {
    const part = bytes.subarray(at, at + 60 * 1024);
    await until('room in the window', () => at + part.length - confirmed() <= FORWARD_WINDOW);
    send(s, id, part);
  }
}

describe('ssh forward: local port forwarding as a session', { timeout: 120_000 }, () => {
  test('Redis, Memcached and an echo server through one SSH connection at once; bytes checked; a refused target fails alone', async () => {
    const s = await openSession('ssh', 'forward', login);
    const connected = await s.next((m) => m.type === 'connected', 20_000);
    assert.equal(connected.auth.method, 'password');
    const redis = 1;
    const memcached = 2;
    const echo = 7;
    const refused = 3;
    s.send({ type: 'open', id: redis, host: '127.0.0.1', port: ports['databases-kv'].redis });
    s.send({ type: 'open', id: memcached, host: '127.0.0.1', port: ports['databases-kv'].memcached });
    s.send({ type: 'open', id: refused, host: '127.0.0.1', port: ports.foundation.closedPort });
    s.send({ type: 'open', id: echo, host: '127.0.0.1', port: ports.foundation.echo });
    // Bytes may follow the open at once: they go out once the server confirmed the channel.
    const key = `fwd:${Date.now()}`;
    const value = 'through one SSH connection ✓';
    const bulk = (t: string) => `$${Buffer.byteLength(t)}\r\n${t}\r\n`;
    send(s, redis, `*2\r\n${bulk('AUTH')}${bulk(kvFacts.redis.password)}*3\r\n${bulk('SET')}${bulk(key)}${bulk(value)}*2\r\n${bulk('GET')}${bulk(key)}`);
    send(s, memcached, `set ${key} 5 0 3\r\nabc\r\nget ${key}\r\n`);
    // 3 MiB through the echo server: more than the session's credit window and the SSH channel windows.
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff;
    const echoing = sendWindowed(s, echo, big);

    const failed = await s.next((m) => m.type === 'failed' && m.id === refused, 20_000);
    assert.equal(failed.error.code, 'refused');
    assert.match(failed.error.message, /127\.0\.0\.1:10001 via SSH: server refused to open the channel \(connect failed\): Connection refused/);

    const redisAnswer = `+OK\r\n+OK\r\n${bulk(value)}`;
    await until('the Redis answer', () => bytesOf(s, redis).length >= Buffer.byteLength(redisAnswer));
    assert.equal(bytesOf(s, redis).toString(), redisAnswer);
    const mcAnswer = `STORED\r\nVALUE ${key} 5 3\r\nabc\r\nEND\r\n`;
    await until('the Memcached answer', () => bytesOf(s, memcached).length >= mcAnswer.length);
    assert.equal(bytesOf(s, memcached).toString(), mcAnswer);
    await echoing;
    await until('3 MiB echoed', () => bytesOf(s, echo).length >= big.length, 60_000);
    assert.equal(createHash('sha256').update(bytesOf(s, echo)).digest('hex'), createHash('sha256').update(big).digest('hex'));
    const sent = s.inbox.filter((m) => m.type === 'sent' && m.id === echo).reduce((n, m) => n + m.bytes, 0);
    assert.equal(sent, big.length, 'every byte sent to the echo server was confirmed');

    // Closing one connection leaves the others working.
    s.send({ type: 'close', id: memcached });
    const closed = await s.next((m) => m.type === 'closed' && m.id === memcached);
    assert.ok(closed.bytesIn >= mcAnswer.length, JSON.stringify(closed));
    const before = bytesOf(s, redis).length;
    send(s, redis, `*1\r\n${bulk('PING')}`);
    await until('PONG after the other connection closed', () => bytesOf(s, redis).length >= before + 7);
    assert.equal(bytesOf(s, redis).subarray(before).toString(), '+PONG\r\n');
    // Data for a closed connection is answered, not relayed.
    send(s, memcached, 'get x\r\n');
    const notOpen = await s.next((m) => m.type === 'failed' && m.id === memcached);
    assert.match(notOpen.error.message, /connection 2 is not open/);

    // A half-close: the echo server ends its side once ours ended.
    s.send({ type: 'eof', id: echo });
    await s.next((m) => m.type === 'eof' && m.id === echo);
    await s.next((m) => m.type === 'closed' && m.id === echo);

    // Stop: the still open Redis connection closes with the session; the summary counts everything.
    s.send({ type: 'stop' });
    const end = await s.next((m) => m.type === 'end', 20_000);
    assert.deepEqual({ ...end.result, bytesIn: undefined, bytesOut: undefined, keyExchanges: undefined }, { ended: 'client', connections: 4, failed: 1, bytesIn: undefined, bytesOut: undefined, keyExchanges: undefined });
    assert.ok(end.result.bytesOut >= big.length && end.result.bytesIn >= big.length, JSON.stringify(end.result));
    assert.equal(await s.done, 1000);
  });

  test('closing the WebSocket closes the SSH connection and every forwarded connection', async () => {
    const s = await openSession('ssh', 'forward', login);
    await s.next((m) => m.type === 'connected', 20_000);
    s.send({ type: 'open', id: 1, host: '127.0.0.1', port: ports['databases-kv'].redis });
    await s.next((m) => m.type === 'opened' && m.id === 1);
    send(s, 1, `*2\r\n$4\r\nAUTH\r\n$${kvFacts.redis.password.length}\r\n${kvFacts.redis.password}\r\n*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$10\r\nfwd-closer\r\n`);
    await until('AUTH and SETNAME answered', () => bytesOf(s, 1).toString() === '+OK\r\n+OK\r\n');
    s.close();
    await s.done;
    // Redis itself says the forwarded connection is gone: CLIENT LIST no longer names it.
    const check = await openSession('ssh', 'forward', login);
    await check.next((m) => m.type === 'connected', 20_000);
    check.send({ type: 'open', id: 9, host: '127.0.0.1', port: ports['databases-kv'].redis });
    send(check, 9, `*2\r\n$4\r\nAUTH\r\n$${kvFacts.redis.password.length}\r\n${kvFacts.redis.password}\r\n`);
    await until('AUTH answered', () => bytesOf(check, 9).toString() === '+OK\r\n');
    let list = '';
    for (let round = 0; round < 40; round++) {
      check.data.length = 0;
      send(check, 9, '*2\r\n$6\r\nCLIENT\r\n$4\r\nLIST\r\n');
      await until('CLIENT LIST answered', () => {
        const m = /^\$(\d+)\r\n/.exec(bytesOf(check, 9).toString('latin1'));
        return m !== null && bytesOf(check, 9).length >= m[0].length + Number(m[1]) + 2;
      });
      list = bytesOf(check, 9).toString();
      if (!list.includes('name=fwd-closer')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(list.includes('cmd=client|list') && !list.includes('name=fwd-closer'), list);
    check.send({ type: 'stop' });
    await check.next((m) => m.type === 'end', 20_000);
  });

  test('an endless target is paused by the session\'s credit: nothing arrives past the window until the client acks', async () => {
    const s = await openSession('ssh', 'forward', { ...login, window: 256 * 1024 }, 'dev', { manualAck: true });
    try {
      await s.next((m) => m.type === 'connected', 20_000);
      s.send({ type: 'open', id: 5, host: '127.0.0.1', port: ports.foundation.chargen });
      const received = () => s.data.reduce((n, d) => n + d.length, 0);
      // The credit counts the JSON messages too (`connected`, `opened`): the window fills with them.
      await until('the window to fill', () => s.received >= 256 * 1024);
      await new Promise((r) => setTimeout(r, 1500));
      // At most one more SSH data packet (128 KiB) past the window: the relay waits before each read.
      const held = received();
      assert.ok(held <= 256 * 1024 + 128 * 1024 + 4, `${held} bytes arrived with 256 KiB of credit`);
      s.send({ type: 'ack', bytes: s.received });
      await until('more after the ack', () => received() > held + 64 * 1024);
      assert.match(Buffer.concat(s.data.map((d) => parseDataFrame(d).data)).subarray(0, 200).toString('latin1'), /^[ -~\r\n]+$/);
      s.send({ type: 'ack', bytes: 64 * 1024 * 1024 });
      s.send({ type: 'stop' });
      const end = await s.next((m) => m.type === 'end', 20_000);
      assert.equal(end.result.connections, 1);
    } finally {
      s.close();
    }
  });

  test('a client that ignores `sent` is cut off on that connection once a window waits; the others go on', async () => {
    // A target that accepts and never reads: the SSH channel's window, then ours, fill up.
    const sink = net.createServer((c) => c.pause());
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const s = await openSession('ssh', 'forward', login);
    try {
      await s.next((m) => m.type === 'connected', 20_000);
      s.send({ type: 'open', id: 1, host: '127.0.0.1', port: (sink.address() as net.AddressInfo).port });
      s.send({ type: 'open', id: 2, host: '127.0.0.1', port: ports.foundation.echo });
      await s.next((m) => m.type === 'opened' && m.id === 1);
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      for (let i = 0; i < 64; i++) send(s, 1, chunk);
      const cut = await s.next((m) => m.type === 'failed' && m.id === 1, 30_000);
      assert.match(cut.error.message, /^data: connection 1 has \d+ bytes waiting for its SSH channel, more than the 1048576-byte window: wait for "sent"$/);
      await s.next((m) => m.type === 'closed' && m.id === 1);
      send(s, 2, 'still here');
      await until('the echo', () => bytesOf(s, 2).toString() === 'still here');
      s.send({ type: 'stop' });
      await s.next((m) => m.type === 'end', 20_000);
    } finally {
      sink.close();
    }
  });

  test('the guard judges the SSH server: under the deployment policy a loopback SSH server is target_blocked', async () => {
    const ws = new WebSocket(`${workerUrl('deployment').replace(/^http/, 'ws')}/api/ssh/forward`, { headers: authHeaders('deployment') });
    const messages: { type: string; error?: { code: string; message: string } }[] = [];
    ws.on('open', () => ws.send(JSON.stringify({ type: 'start', input: login })));
    ws.on('message', (d) => messages.push(JSON.parse(String(d))));
    await new Promise((r) => ws.once('close', r));
    assert.deepEqual(
      messages.map((m) => [m.type, m.error?.code]),
      [['error', 'target_blocked']],
    );
  });

  test('bad messages are answered with the field, the session goes on', async () => {
    const s = await openSession('ssh', 'forward', login);
    await s.next((m) => m.type === 'connected', 20_000);
    s.send({ type: 'open', id: -1, host: '127.0.0.1', port: 1 });
    assert.match((await s.next((m) => m.type === 'failed')).error.message, /id: is a connection id/);
    s.send({ type: 'open', id: 4, host: '127.0.0.1', port: 70000 });
    assert.match((await s.next((m) => m.type === 'failed' && m.id === 4)).error.message, /port/);
    s.send(new Uint8Array([1, 2]));
    assert.match((await s.next((m) => m.type === 'error')).error.message, /4-byte connection id/);
    s.send({ type: 'stop' });
    assert.equal((await s.next((m) => m.type === 'end', 20_000)).result.connections, 0);
  });
});
