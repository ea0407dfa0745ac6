// The raw tunnel through workerd, in both protocols. Portolan's credit protocol: bytes both ways with credit-based
// flow control, limits, the target policy. websockify's `binary` subprotocol: the handshake, plain binary frames,
// close codes, 256 MiB each way byte-identical, and a client that stops reading (the isolate heap and the process).
// Tunnels the server closes run on `workerd serve` with the deployment bundle: behind Miniflare's entry Worker (the
// test run's Worker, as under `wrangler dev`), workerd logs "Network connection lost" whenever a Worker closes a
// WebSocket, even a 20-line piping Worker.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { authHeaders, workerUrl } from './harness.ts';
import { ports } from '../lab/index.ts';
import { BENCH_VARS, buildBundle, isolateHeap, removeBundle, startWorkerd, type Bundle, type RunningWorkerd } from '../bench/lib/workerd.ts';
import { rssKiB } from '../bench/lib/proc.ts';
import { MAX_MESSAGE } from '../src/api/tunnel.ts';
import { assertChargenLines, collect, echoBinary, MiB, rawTunnel, tunnelUrl, until } from './tunnel-clients.ts';

/** Tunnel limits of the Worker most tests use, small enough to reach in a test. */
const IDLE_MS = 4000;
const QUOTA_BYTES = 8 * 1024 * 1024;
const lab = ports.foundation;

let bundle: Bundle;
/** The deployment bundle with small limits. */
let limited: RunningWorkerd;
/** The deployment bundle with the default quota and binary buffer, its inspector open. */
let roomy: RunningWorkerd;
const base = () => limited.url;

before(async () => {
  bundle = buildBundle();
  [limited, roomy] = await Promise.all([
    startWorkerd(bundle, { vars: { ...BENCH_VARS, TUNNEL_IDLE_MS: String(IDLE_MS), TUNNEL_QUOTA_BYTES: String(QUOTA_BYTES) } }),
    startWorkerd(bundle, { vars: { ...BENCH_VARS, TUNNEL_IDLE_MS: '6000' }, inspector: true }),
  ]);
});

after(async () => {
  await Promise.all([limited?.stop(), roomy?.stop()]);
  if (bundle) removeBundle(bundle);
  // What the runtime logged: an uncaught error is a defect whatever the tests said.
  for (const w of [limited, roomy]) if (w) assert.doesNotMatch(w.output(), /Uncaught|exceeded (its )?memory/i);
});

interface Control {
  type: string;
  [k: string]: unknown;
}

/** Opens a tunnel and collects what arrives; acks every data frame so the server keeps sending. */
function open(query: string) {
  const ws = new WebSocket(`${base().replace('http', 'ws')}/api/tunnel?${query}`);
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

describe('credit protocol', () => {
  test('credit: bytes to the echo server come back identical, with acks for what TCP took', async () => {
    const t = open(`host=127.0.0.1&port=${ports.foundation.echo}`);
    await t.opened;
    await t.until(() => t.control.some((c) => c.type === 'open'));
    // No window asked for: the default, 8 MiB (docs/tunnel.md).
    assert.equal(t.control.find((c) => c.type === 'open')?.window, 8 * 1024 * 1024);
    const payload = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 0xff);
    for (let at = 0; at < payload.length; at += 32 * 1024) t.ws.send(payload.subarray(at, at + 32 * 1024));
    await t.until(() => t.received >= payload.length);
    const back = Buffer.concat(t.data);
    assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(payload).digest('hex'));
    // The server's acks trail its writes by up to 5 ms (docs/tunnel.md), so the echo may come back first.
    const acked = () => t.control.filter((c) => c.type === 'ack').reduce((n, c) => n + (c.bytes as number), 0);
    await t.until(() => acked() >= payload.length, 2000);
    assert.equal(acked(), payload.length);
    // Each TCP read is one message of at most MAX_MESSAGE (256 KiB).
    assert.ok(Math.max(...t.data.map((d) => d.length)) <= MAX_MESSAGE, `largest message ${Math.max(...t.data.map((d) => d.length))}`);
    t.ws.close(1000, 'done');
    await t.closed;
  });

  test('credit: data read while earlier data is unacknowledged goes out at once', async () => {
    const ws = new WebSocket(`${base().replace('http', 'ws')}/api/tunnel?host=127.0.0.1&port=${ports.foundation.echo}`);
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
    // This client never acknowledges: after 100 KiB, more than one message's worth is outstanding, and
    // the window (8 MiB) is far away. Nothing waits for an ack or a timer.
    ws.send(new Uint8Array(100 * 1024));
    assert.ok(await until(() => received === 100 * 1024, 10_000), `received ${received} of ${100 * 1024} without acking`);
    for (let i = 1; i <= 5; i++) {
      const t0 = performance.now();
      ws.send(new Uint8Array([i]));
      assert.ok(await until(() => received === 100 * 1024 + i, 2_000), `byte ${i} did not arrive while 100 KiB were unacknowledged`);
      // Two relays on loopback; generous for a loaded machine, far from "never".
      assert.ok(performance.now() - t0 < 1_000, `byte ${i} took ${(performance.now() - t0).toFixed(0)} ms`);
    }
    ws.close();
  });

  test('credit: a client that acknowledges late slows the stream but never stalls it', async () => {
    const window = 64 * 1024;
    const ws = new WebSocket(`${base().replace('http', 'ws')}/api/tunnel?host=127.0.0.1&port=${ports.foundation.echo}&window=${window}`);
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

  test('credit: the server stops at the window until the client acknowledges', async () => {
    const ws = new WebSocket(`${base().replace('http', 'ws')}/api/tunnel?host=127.0.0.1&port=${ports.foundation.chargen}&window=65536`);
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

  test('credit: the client\'s eof half-closes TCP; the answer still arrives, then eof and 1000', async () => {
    const t = open(`host=127.0.0.1&port=${ports.foundation.echo}`);
    await t.until(() => t.control.some((c) => c.type === 'open'));
    const payload = new Uint8Array(200 * 1024).map((_, i) => (i * 11) & 0xff);
    for (let at = 0; at < payload.length; at += 64 * 1024) t.ws.send(payload.subarray(at, at + 64 * 1024));
    // The echo server closes once it reads the end of its input: only the half-close can end this tunnel.
    t.ws.send(JSON.stringify({ type: 'eof' }));
    const { code } = await t.closed;
    assert.equal(code, 1000);
    assert.ok(Buffer.concat(t.data).equals(Buffer.from(payload)), `${t.received} of ${payload.length} bytes came back`);
    assert.equal(t.control.at(-1)?.type, 'eof');
  });

  test('credit: a server that closes ends the tunnel with eof and 1000', async () => {
    const t = open(`host=127.0.0.1&port=${ports.foundation.daytime}`);
    const { code } = await t.closed;
    assert.equal(code, 1000);
    assert.ok(t.control.some((c) => c.type === 'eof'));
    assert.match(Buffer.concat(t.data).toString(), /\d{2}:\d{2}:\d{2}/);
  });

  test('credit: a refused port is an error message and a 1011 close', async () => {
    const t = open(`host=127.0.0.1&port=${ports.foundation.closedPort}`);
    const { code } = await t.closed;
    assert.equal(code, 1011);
    assert.equal(t.control.find((c) => c.type === 'error')?.code, 'refused');
    assert.equal(t.control.find((c) => c.type === 'error')?.message, `connection refused by 127.0.0.1:${ports.foundation.closedPort}`);
  });

  /** A WebSocket handshake by hand, to read the status of a refused upgrade. */
  function handshake(url: string, protocol?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const offer: Record<string, string> = protocol ? { 'sec-websocket-protocol': protocol } : {};
      const req = http.get(url, { headers: { ...authHeaders(url.startsWith(workerUrl('deployment')) ? 'deployment' : 'dev'), connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...offer } });
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

  test('bad query and blocked targets are refused before the upgrade, in either protocol', async () => {
    const bad = await handshake(`${workerUrl()}/api/tunnel?host=127.0.0.1&port=0`);
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).error.message, /port/);
    for (const protocol of [undefined, 'binary']) {
      const blocked = await handshake(`${workerUrl('deployment')}/api/tunnel?host=127.0.0.1&port=${ports.foundation.echo}`, protocol);
      assert.equal(blocked.status, 403);
      assert.equal(JSON.parse(blocked.body).error.code, 'target_blocked');
    }
    const noUpgrade = await fetch(`${workerUrl()}/api/tunnel?host=127.0.0.1&port=${ports.foundation.echo}`);
    assert.equal(noUpgrade.status, 400);
    assert.match((await noUpgrade.json()).error.message, /upgrade/);
  });

  test('credit: an idle tunnel is closed with 4001', async () => {
    const t = open(`host=127.0.0.1&port=${ports.foundation.echo}`);
    const t0 = Date.now();
    const { code, reason } = await t.closed;
    assert.equal(code, 4001);
    assert.match(reason, /idle/);
    assert.ok(Date.now() - t0 >= IDLE_MS - 500);
  });

  test('credit: past the byte quota the tunnel is closed with 4002', async () => {
    const t = open(`host=127.0.0.1&port=${ports.foundation.discard}`);
    await t.opened;
    await t.until(() => t.control.some((c) => c.type === 'open'));
    const chunk = new Uint8Array(512 * 1024);
    let sent = 0;
    // Send within the window: wait for the server's acks as a client must.
    while (sent <= QUOTA_BYTES && t.ws.readyState === WebSocket.OPEN) {
      t.ws.send(chunk);
      sent += chunk.length;
      await t.until(() => t.control.filter((c) => c.type === 'ack').reduce((n, c) => n + (c.bytes as number), 0) >= sent - 512 * 1024 || t.ws.readyState !== WebSocket.OPEN);
    }
    const { code, reason } = await t.closed;
    assert.equal(code, 4002);
    assert.match(reason, /quota/);
  });

});

describe('binary subprotocol', () => {
  test('offered alone or in a list, `binary` is answered in the handshake; bytes go both ways in binary frames only', async () => {
    for (const offered of [['binary'], ['base64', 'binary']]) {
      const t = collect(tunnelUrl(base(), lab.echo), offered);
      assert.equal(await t.opened, 'binary');
      t.ws.send(Buffer.from('hello through the tunnel'));
      // A text frame's UTF-8 bytes are data too, as websockify takes them.
      t.ws.send('ünïcode text');
      const want = Buffer.concat([Buffer.from('hello through the tunnel'), Buffer.from('ünïcode text')]);
      assert.ok(await until(() => t.received() >= want.length), `${t.received()} bytes back`);
      t.ws.close(1000);
      const end = await t.ended;
      assert.deepEqual(end.text, [], 'no text frames in binary mode');
      assert.deepEqual(end.data, want);
    }
  });

  test("through the test run's Worker too: Miniflare's entry Worker passes the subprotocol on", async () => {
    const t = collect(tunnelUrl(workerUrl(), lab.echo), ['binary']);
    assert.equal(await t.opened, 'binary');
    const sent = 'via the entry Worker';
    t.ws.send(Buffer.from(sent));
    assert.ok(await until(() => t.received() >= sent.length));
    t.ws.close(1000);
    assert.equal((await t.ended).data.toString(), sent);
  });

  test('a list without `binary` is answered without a subprotocol, and the Portolan protocol applies', async () => {
    const t = await rawTunnel(tunnelUrl(base(), lab.daytime), 'base64, x-unknown');
    assert.match(t.head, /^HTTP\/1\.1 101 /);
    assert.doesNotMatch(t.head, /sec-websocket-protocol/i);
    const end = await t.drain();
    const kinds = end.messages.map((m) => (m.kind === 'text' ? JSON.parse(m.text).type : m.kind));
    assert.deepEqual([kinds[0], kinds.at(-1)], ['open', 'eof']);
    assert.equal(end.close?.code, 1000);
  });

  test('the target closing ends the tunnel with 1000; a refused port with 1011 and the reason; no JSON either way', async () => {
    const day = await collect(tunnelUrl(base(), lab.daytime), ['binary']).ended;
    assert.equal(day.code, 1000);
    assert.deepEqual(day.text, []);
    assert.match(day.data.toString(), /\d{2}:\d{2}:\d{2}/);
    const refused = await collect(tunnelUrl(base(), lab.closedPort), ['binary']).ended;
    assert.equal(refused.code, 1011);
    assert.equal(refused.reason, `refused: connection refused by 127.0.0.1:${lab.closedPort}`);
    assert.deepEqual(refused.text, []);
  });

  test('idle and quota limits close a binary tunnel too (4001, 4002)', async () => {
    const idle = collect(tunnelUrl(base(), lab.echo), ['binary']);
    const t0 = Date.now();
    const i = await idle.ended;
    assert.equal(i.code, 4001);
    assert.ok(Date.now() - t0 >= IDLE_MS - 500);
    const quota = collect(tunnelUrl(base(), lab.discard), ['binary']);
    await quota.opened;
    const chunk = Buffer.alloc(256 * 1024);
    for (let sent = 0; sent <= QUOTA_BYTES && quota.ws.readyState === quota.ws.OPEN; sent += chunk.length) {
      quota.ws.send(chunk);
      await new Promise((r) => setTimeout(r, 5));
    }
    const q = await quota.ended;
    assert.equal(q.code, 4002);
    assert.match(q.reason, /quota/);
  });

  test('256 MiB each way through the echo server arrive byte-identical', { timeout: 900_000 }, async () => {
    const r = await echoBinary(tunnelUrl(roomy.url, lab.echo), 256 * MiB);
    assert.equal(r.received, 256 * MiB);
    assert.equal(r.back, r.sent);
    assert.equal(r.textFrames, 0);
  });

  describe('a client that stops reading (Workers cannot see it: workerd has no bufferedAmount)', () => {
    const buffer = 16 * MiB;

    test(`reads stop ${buffer / MiB} MiB past the client's last message; memory stays under twice that; 4004 and the reason after the idle time, every byte sent delivered`, async () => {
      // Warm-up: the code paths compile once; that is not per tunnel.
      const warm = await echoBinary(tunnelUrl(roomy.url, lab.echo), MiB);
      assert.equal(warm.back, warm.sent);
      const heap0 = await isolateHeap(roomy);
      const rss0 = rssKiB(roomy.pid);
      const client = await rawTunnel(tunnelUrl(roomy.url, lab.chargen), 'binary');
      assert.match(client.head, /\r\nsec-websocket-protocol: binary/i);
      await new Promise((r) => setTimeout(r, 4000));
      const heap = await isolateHeap(roomy);
      const rssMiB = (rssKiB(roomy.pid) - rss0) / 1024;
      const end = await client.drain();
      const heapMiB = (heap.usedBytes + heap.embedderBytes - heap0.usedBytes - heap0.embedderBytes) / MiB;
      const buffersMiB = (heap.backingBytes - heap0.backingBytes) / MiB;
      // The queue to the client lives in workerd's memory, outside the V8 heap: the process RSS shows it.
      assert.ok(heapMiB < 1, `isolate heap grew by ${heapMiB.toFixed(2)} MiB`);
      // Array buffers: workerd copies what send() is given, so the queue holds none of the isolate's (0.00 to
      // 0.01 MiB measured); bounded by the buffer in any case, not by what the target sends (chargen never stops).
      assert.ok(buffersMiB < (2 * buffer) / MiB, `array buffers grew by ${buffersMiB.toFixed(2)} MiB`);
      assert.ok(rssMiB < (2 * buffer) / MiB, `workerd's RSS grew by ${rssMiB.toFixed(1)} MiB`);
      assert.equal(end.close?.code, 4004);
      assert.equal(end.close?.reason, 'no word from the client for 6 s after 16 MiB; Workers cannot see it read');
      // Reads stopped at the buffer (the last read may pass it by at most one read).
      assert.ok(end.bytes >= buffer && end.bytes < buffer + MAX_MESSAGE, `${end.bytes} bytes`);
      assertChargenLines(end.messages);
    });

    test('a message from the client, an empty one too, lets the stream go on past the buffer', async () => {
      const t = collect(tunnelUrl(roomy.url, lab.chargen), ['binary']);
      await t.opened;
      assert.ok(await until(() => t.received() >= buffer), `${t.received()} bytes`);
      await new Promise((r) => setTimeout(r, 500));
      const held = t.received();
      assert.ok(held >= buffer && held < buffer + MAX_MESSAGE, `held at ${held}`);
      // chargen ignores what it is sent; the message only shows the client is there.
      t.ws.send(Buffer.from(randomUUID()));
      assert.ok(await until(() => t.received() >= held + buffer), `${t.received()} after the message`);
      // Held again; an empty message (a download's keepalive, written nowhere) does the same.
      await new Promise((r) => setTimeout(r, 500));
      const again = t.received();
      assert.ok(again < held + 2 * buffer + MAX_MESSAGE, `held at ${again}`);
      t.ws.send(Buffer.alloc(0));
      assert.ok(await until(() => t.received() >= again + buffer), `${t.received()} after the empty message`);
      t.ws.close(1000);
    });
  });
});
