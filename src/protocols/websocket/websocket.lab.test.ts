import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'undici';
import { call, workerUrl } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { httpFacts } from '../../../lab/servers/http.ts';

const p = ports.http;
const viaNginx = { host: '127.0.0.1', port: p.nginx, path: httpFacts.ws };
const direct = { host: '127.0.0.1', port: p.echoBackend, path: httpFacts.ws };

async function ok(input: Record<string, unknown>, transcript = false) {
  const r = await call('websocket', 'exchange', input, { transcript });
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 2000));
  return transcript ? r.body : r.body.result;
}

test('websocket: handshake through nginx, text and binary echoed, normal close both ways', async () => {
  const r = await ok({ ...viaNginx, messages: [{ text: 'Grüße ⚓' }, { base64: 'AP8Q/gABAgM=' }], protocols: ['portolan.v1', 'chat'] });
  assert.equal(r.handshake.status, 101);
  // ws picks the first subprotocol offered; we check it is one we offered.
  assert.equal(r.handshake.protocol, 'portolan.v1');
  assert.match(r.handshake.requestHead, /Sec-WebSocket-Protocol: portolan\.v1, chat\r\n/);
  assert.ok(r.handshake.headers.some(([n, v]: [string, string]) => n === httpFacts.wsHeader[0] && v === httpFacts.wsHeader[1]));
  assert.match(r.handshake.requestHead, /Sec-WebSocket-Version: 13\r\n/);
  assert.deepEqual(r.received.slice(0, 2), [
    { type: 'text', text: 'Grüße ⚓', frames: 1 },
    { type: 'binary', base64: 'AP8Q/gABAgM=', bytes: 8, frames: 1 },
  ]);
  assert.deepEqual(r.close, { code: 1000, name: 'normal closure', reason: '', by: 'client' });
  assert.deepEqual(r.closeReply, { code: 1000, name: 'normal closure', reason: '', by: 'server' });
});

test('websocket: fragmentation both ways — our 4-byte frames reassembled by ws, its 3 frames by us', async () => {
  const r = await ok({ ...direct, messages: [{ text: 'a message in pieces' }, { text: 'fragments:3' }], fragmentSize: 4 }, true);
  const res = r.result;
  assert.deepEqual(res.received.slice(0, 2), [
    { type: 'text', text: 'a message in pieces', frames: 1 },
    { type: 'text', text: 'part0;part1;part2;', frames: 3 },
  ]);
  assert.equal(res.sent, 5 + 3);
  const out = r.transcript.entries.filter((e: { dir: string; decode?: string }) => e.dir === 'out' && /^(text|continuation)/.test(e.decode ?? ''));
  assert.match(out[0].decode, /^text \(not final\), 4 bytes, masked/);
  assert.match(out[1].decode, /^continuation \(not final\), 4 bytes, masked/);
});

test('websocket: our ping gets its pong; the server\'s ping gets ours (seen by ws as a pong)', async () => {
  const r = await ok({ ...direct, messages: [{ text: 'ping:from-server' }], ping: 'from-client', expect: 0 }, true);
  const kinds = r.result.received.map((m: { type: string; text?: string }) => `${m.type}:${m.text ?? ''}`);
  assert.ok(kinds.includes('pong:from-client'), kinds.join(' '));
  // The server's ping arrives and our pong with the same payload goes back (§5.5.2).
  assert.ok(r.transcript.entries.some((e: { dir: string; decode?: string }) => e.dir === 'in' && /^ping, 11 bytes/.test(e.decode ?? '')));
  assert.ok(r.transcript.entries.some((e: { dir: string; decode?: string }) => e.dir === 'out' && /^pong, 11 bytes, masked/.test(e.decode ?? '')));
});

test('websocket: the server closes with its own code and reason; we echo the code', async () => {
  const r = await ok({ ...direct, messages: [{ text: 'close:4001:harbour closed' }], expect: 1 });
  assert.deepEqual(r.close, { code: 4001, name: 'private use', reason: 'harbour closed', by: 'server' });
  assert.equal(r.closeReply.code, 4001);
  const ours = await ok({ ...direct, messages: [], closeCode: 3001, closeReason: 'done here' });
  assert.deepEqual(ours.close, { code: 3001, name: 'registered (libraries, frameworks, applications)', reason: 'done here', by: 'client' });
});

test('websocket: a 1 MiB binary message from the server arrives whole', async () => {
  const r = await ok({ ...direct, messages: [{ text: `binary:${1024 * 1024}` }] });
  const got = Buffer.from(r.received[0].base64, 'base64');
  assert.equal(got.length, 1024 * 1024);
  assert.ok(got.every((b, i) => b === (i & 0xff)));
});

test('websocket: wss through nginx with the lab certificate', async () => {
  const r = await ok({ host: '127.0.0.1', port: p.nginxTls, tls: 'implicit', path: httpFacts.ws, messages: [{ text: 'over TLS' }] });
  assert.equal(r.received[0].text, 'over TLS');
});

test('websocket: a refused handshake is the server\'s answer; a bad close code is invalid input', async () => {
  const r = await call('websocket', 'exchange', { host: '127.0.0.1', port: p.nginx, path: httpFacts.hello.path });
  assert.equal(r.status, 502);
  assert.equal(r.body.error.code, 'server_error');
  assert.match(r.body.error.message, /refused the WebSocket handshake: HTTP 200/);
  const bad = await call('websocket', 'exchange', { ...direct, closeCode: 1005 });
  assert.equal(bad.status, 400);
});

test('websocket: the interactive session through the API WebSocket', async () => {
  const url = `${workerUrl().replace(/^http/, 'ws')}/api/websocket/session`;
  const ws = new WebSocket(url);
  const inbox: Record<string, any>[] = [];
  let closed = false;
  ws.addEventListener('message', (ev) => {
    if (typeof ev.data === 'string') inbox.push(JSON.parse(ev.data));
  });
  ws.addEventListener('close', () => (closed = true));
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot open ${url}`)), { once: true });
  });
  const next = async (match: (m: Record<string, any>) => boolean) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const i = inbox.findIndex(match);
      if (i >= 0) return inbox.splice(i, 1)[0];
      if (closed || Date.now() > deadline) throw new Error(`no matching message; got ${JSON.stringify(inbox)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  ws.send(JSON.stringify({ type: 'start', input: viaNginx }));
  const open = await next((m) => m.type === 'open');
  assert.equal(open.handshake.status, 101);
  ws.send(JSON.stringify({ type: 'send', text: 'hello from the browser' }));
  assert.deepEqual(await next((m) => m.type === 'message'), { type: 'message', text: 'hello from the browser', frames: 1, format: 'text' });
  ws.send(JSON.stringify({ type: 'ping', text: 'p' }));
  assert.equal((await next((m) => m.type === 'pong')).text, 'p');
  ws.send(JSON.stringify({ type: 'close', code: 4000, reason: 'bye' }));
  const closeMsg = await next((m) => m.type === 'close');
  assert.equal(closeMsg.code, 4000);
  const end = await next((m) => m.type === 'end');
  assert.deepEqual(end.result.close, { code: 4000, name: 'private use', reason: 'bye', by: 'client' });
  assert.equal(end.result.ended, 'server');
  ws.close();
});
