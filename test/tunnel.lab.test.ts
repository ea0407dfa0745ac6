// The raw tunnel through workerd: bytes both ways with credit-based flow control, limits, the target policy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { TUNNEL_IDLE_MS, TUNNEL_QUOTA_BYTES, authHeaders, workerUrl } from './harness.ts';
import { ports } from '../lab/index.ts';

interface Control {
  type: string;
  [k: string]: unknown;
}

/** Opens a tunnel and collects what arrives; acks every data frame so the server keeps sending. */
function open(query: string, kind: 'dev' | 'deployment' = 'dev') {
  const ws = new WebSocket(`${workerUrl(kind).replace('http', 'ws')}/api/tunnel?${query}`);
  ws.binaryType = 'arraybuffer';
  const control: Control[] = [];
  const data: Uint8Array[] = [];
  let received = 0;
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })));
  ws.addEventListener('message', (e) => {
    if (typeof e.data === 'string') control.push(JSON.parse(e.data));
    else {
      const chunk = new Uint8Array(e.data as ArrayBuffer);
      data.push(chunk);
      received += chunk.length;
      ws.send(JSON.stringify({ type: 'ack', bytes: chunk.length }));
    }
    wake();
  });
  const until = async (pred: () => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`tunnel: timed out; control=${JSON.stringify(control)} received=${received}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
  const opened = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error('websocket error')));
  });
  return { ws, control, data, closed, until, opened, get received() { return received; } };
}

test('tunnel: bytes to the echo server come back identical, with acks for what TCP took', async () => {
  const t = open(`host=127.0.0.1&port=${ports.foundation.echo}`);
  await t.opened;
  await t.until(() => t.control.some((c) => c.type === 'open'));
  const payload = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 0xff);
  for (let at = 0; at < payload.length; at += 32 * 1024) t.ws.send(payload.subarray(at, at + 32 * 1024));
  await t.until(() => t.received >= payload.length);
  const back = Buffer.concat(t.data);
  assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(payload).digest('hex'));
  const acked = t.control.filter((c) => c.type === 'ack').reduce((n, c) => n + (c.bytes as number), 0);
  assert.equal(acked, payload.length);
  // Reads gathered while earlier data was unacknowledged make messages of at most 64 KiB.
  assert.ok(Math.max(...t.data.map((d) => d.length)) <= 64 * 1024, `largest message ${Math.max(...t.data.map((d) => d.length))}`);
  t.ws.close(1000, 'done');
  await t.closed;
});

test('tunnel: data read while earlier data is unacknowledged still goes out within the coalescing deadline', async () => {
  const ws = new WebSocket(`${workerUrl().replace('http', 'ws')}/api/tunnel?host=127.0.0.1&port=${ports.foundation.echo}`);
  ws.binaryType = 'arraybuffer';
  let received = 0;
  let opened = false;
  ws.addEventListener('message', (e) => {
    if (typeof e.data === 'string') opened ||= JSON.parse(e.data).type === 'open';
    else received += (e.data as ArrayBuffer).byteLength;
  });
  const until = async (pred: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!pred() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    return pred();
  };
  assert.ok(await until(() => opened, 10_000), 'tunnel did not open');
  // This client never acknowledges: after 100 KiB, more than one message's worth is outstanding, so no
  // ack will ever flush what the server gathers. Only the deadline (5 ms) sends it; the window (1 MiB)
  // is far away.
  ws.send(new Uint8Array(100 * 1024));
  assert.ok(await until(() => received === 100 * 1024, 10_000), `received ${received} of ${100 * 1024} without acking`);
  for (let i = 1; i <= 5; i++) {
    const t0 = performance.now();
    ws.send(new Uint8Array([i]));
    assert.ok(await until(() => received === 100 * 1024 + i, 2_000), `byte ${i} did not arrive while 100 KiB were unacknowledged`);
    // 5 ms of coalescing plus two relays on loopback; generous for a loaded machine, far from "never".
    assert.ok(performance.now() - t0 < 1_000, `byte ${i} took ${(performance.now() - t0).toFixed(0)} ms`);
  }
  ws.close();
});

test('tunnel: a client that acknowledges late slows the stream but never stalls it', async () => {
  const window = 64 * 1024;
  const ws = new WebSocket(`${workerUrl().replace('http', 'ws')}/api/tunnel?host=127.0.0.1&port=${ports.foundation.echo}&window=${window}`);
  ws.binaryType = 'arraybuffer';
  const payload = new Uint8Array(512 * 1024).map((_, i) => (i * 13) & 0xff);
  const back: Uint8Array[] = [];
  let received = 0;
  let sent = 0;
  let ackedByServer = 0;
  const done = new Promise<void>((resolve, reject) => {
    const send = () => {
      // The client's side of the credit: at most one window unacknowledged by the server.
      while (sent < payload.length && sent - ackedByServer + 16 * 1024 <= window) {
        ws.send(payload.subarray(sent, sent + 16 * 1024));
        sent += 16 * 1024;
      }
    };
    ws.addEventListener('message', (e) => {
      if (typeof e.data === 'string') {
        const m = JSON.parse(e.data);
        if (m.type === 'ack') ackedByServer += m.bytes;
        else if (m.type !== 'open') reject(new Error(e.data));
        return send();
      }
      const chunk = new Uint8Array(e.data as ArrayBuffer);
      back.push(chunk);
      received += chunk.length;
      // Acknowledged 30 ms after it arrived, one ack per message.
      setTimeout(() => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ type: 'ack', bytes: chunk.length })), 30);
      if (received === payload.length) resolve();
    });
    ws.addEventListener('close', (e) => reject(new Error(`closed ${e.code} after ${received} bytes`)));
  });
  await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`stalled at ${received} of ${payload.length}`)), 20_000))]);
  assert.equal(createHash('sha256').update(Buffer.concat(back)).digest('hex'), createHash('sha256').update(payload).digest('hex'));
  ws.close();
});

test('tunnel: the server stops at the window until the client acknowledges', async () => {
  const ws = new WebSocket(`${workerUrl().replace('http', 'ws')}/api/tunnel?host=127.0.0.1&port=${ports.foundation.chargen}&window=65536`);
  ws.binaryType = 'arraybuffer';
  let received = 0;
  ws.addEventListener('message', (e) => {
    if (typeof e.data !== 'string') received += (e.data as ArrayBuffer).byteLength;
  });
  await new Promise((r) => setTimeout(r, 1500));
  // chargen never stops, yet without acks exactly one window arrives (reads stop at its edge).
  assert.equal(received, 65536);
  ws.send(JSON.stringify({ type: 'ack', bytes: received }));
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(received > 65536, `no more data after the ack (${received})`);
  ws.close();
});

test('tunnel: a server that closes ends the tunnel with eof and 1000', async () => {
  const t = open(`host=127.0.0.1&port=${ports.foundation.daytime}`);
  const { code } = await t.closed;
  assert.equal(code, 1000);
  assert.ok(t.control.some((c) => c.type === 'eof'));
  assert.match(Buffer.concat(t.data).toString(), /\d{2}:\d{2}:\d{2}/);
});

test('tunnel: a refused port is an error message and a 1011 close', async () => {
  const t = open(`host=127.0.0.1&port=${ports.foundation.closedPort}`);
  const { code } = await t.closed;
  assert.equal(code, 1011);
  assert.equal(t.control.find((c) => c.type === 'error')?.code, 'refused');
});

/** A WebSocket handshake by hand, to read the status of a refused upgrade. */
function handshake(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { ...authHeaders(url.startsWith(workerUrl('deployment')) ? 'deployment' : 'dev'), connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, body: '' });
    });
    req.on('error', reject);
  });
}

test('tunnel: bad query and blocked targets are refused before the upgrade', async () => {
  const bad = await handshake(`${workerUrl()}/api/tunnel?host=127.0.0.1&port=0`);
  assert.equal(bad.status, 400);
  assert.match(JSON.parse(bad.body).error.message, /port/);
  const blocked = await handshake(`${workerUrl('deployment')}/api/tunnel?host=127.0.0.1&port=${ports.foundation.echo}`);
  assert.equal(blocked.status, 403);
  assert.equal(JSON.parse(blocked.body).error.code, 'target_blocked');
  const noUpgrade = await fetch(`${workerUrl()}/api/tunnel?host=127.0.0.1&port=${ports.foundation.echo}`);
  assert.equal(noUpgrade.status, 400);
  assert.match((await noUpgrade.json()).error.message, /upgrade/);
});

test('tunnel: an idle tunnel is closed with 4001', async () => {
  const t = open(`host=127.0.0.1&port=${ports.foundation.echo}`);
  const t0 = Date.now();
  const { code, reason } = await t.closed;
  assert.equal(code, 4001);
  assert.match(reason, /idle/);
  assert.ok(Date.now() - t0 >= TUNNEL_IDLE_MS - 500);
});

test('tunnel: past the byte quota the tunnel is closed with 4002', async () => {
  const t = open(`host=127.0.0.1&port=${ports.foundation.discard}`);
  await t.opened;
  await t.until(() => t.control.some((c) => c.type === 'open'));
  const chunk = new Uint8Array(512 * 1024);
  let sent = 0;
  // Send within the window: wait for the server's acks as a client must.
  while (sent <= TUNNEL_QUOTA_BYTES && t.ws.readyState === WebSocket.OPEN) {
    t.ws.send(chunk);
    sent += chunk.length;
    await t.until(() => t.control.filter((c) => c.type === 'ack').reduce((n, c) => n + (c.bytes as number), 0) >= sent - 512 * 1024 || t.ws.readyState !== WebSocket.OPEN);
  }
  const { code, reason } = await t.closed;
  assert.equal(code, 4002);
  assert.match(reason, /quota/);
});
