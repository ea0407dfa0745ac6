import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'undici';
import { call, openSession, workerUrl } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { httpFacts, wsDeflateServers } from '../../../lab/servers/http.ts';

const p = ports.http;
const viaNginx = { host: '127.0.0.1', port: p.nginx, path: httpFacts.ws };
const direct = { host: '127.0.0.1', port: p.echoBackend, path: httpFacts.ws };
const deflateOpen = { host: '127.0.0.1', port: wsDeflateServers.open.port, path: httpFacts.ws };
const deflateFixed = { host: '127.0.0.1', port: wsDeflateServers.fixed.port, path: httpFacts.ws };

type Entry = { dir: string; decode?: string };
/** Data frames of one direction as the transcript shows them: wire bytes and, when compressed, the size before. */
function dataFrames(entries: Entry[], dir: 'in' | 'out'): { wire: number; compressed: boolean; plain?: number }[] {
  return entries
    .filter((e) => e.dir === dir && /^(text|binary|continuation)/.test(e.decode ?? ''))
    .map((e) => {
      const m = /, (\d+) bytes( compressed \(RSV1\)(?: from (\d+))?)?/.exec(e.decode!)!;
      return { wire: Number(m[1]), compressed: m[2] !== undefined, ...(m[3] ? { plain: Number(m[3]) } : {}) };
    });
}

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

const REPEAT = 'Portolan charts the harbour. '.repeat(100);

test('websocket permessage-deflate: offered as browsers do, agreed with context takeover; fewer bytes on the wire both ways', async () => {
  const r = await ok({ ...deflateOpen, deflate: true, messages: [{ text: REPEAT }, { text: REPEAT }, { base64: Buffer.alloc(4096, 7).toString('base64') }] }, true);
  const res = r.result;
  assert.match(res.handshake.requestHead, /Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n/);
  assert.deepEqual(res.handshake.deflate, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15, header: res.handshake.extensions });
  assert.equal(res.received[0].text, REPEAT);
  assert.equal(res.received[1].text, REPEAT);
  assert.equal(Buffer.from(res.received[2].base64, 'base64').equals(Buffer.alloc(4096, 7)), true);
  const out = dataFrames(r.transcript.entries, 'out');
  const inn = dataFrames(r.transcript.entries, 'in');
  assert.equal(out.length, 3);
  assert.ok(out.every((f) => f.compressed));
  assert.equal(out[0].plain, REPEAT.length);
  assert.ok(out[0].wire < REPEAT.length / 10, `our compressed message is ${out[0].wire} bytes for ${REPEAT.length}`);
  // With our window carried on, the second copy is a back-reference to the first: a handful of bytes.
  assert.ok(out[1].wire < out[0].wire, `second ${out[1].wire} vs first ${out[0].wire}`);
  assert.ok(inn.slice(0, 3).every((f) => f.compressed));
  assert.equal(res.received[0].compressed, inn[0].wire);
  assert.ok(inn[0].wire < REPEAT.length / 10);
  // The server's window runs on too: its second echo is smaller than its first, and we inflated it against the first.
  assert.ok(inn[1].wire < inn[0].wire, `server second ${inn[1].wire} vs first ${inn[0].wire}`);
});

test('websocket permessage-deflate: no context takeover both ways and window sizes, as offered and agreed', async () => {
  const deflate = { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 };
  const r = await ok({ ...deflateOpen, deflate, messages: [{ text: REPEAT }, { text: REPEAT }] }, true);
  const res = r.result;
  assert.match(res.handshake.requestHead, /Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12\r\n/);
  assert.deepEqual({ ...res.handshake.deflate, header: undefined }, { ...deflate, header: undefined });
  assert.deepEqual(res.received.slice(0, 2).map((m: { text: string }) => m.text), [REPEAT, REPEAT]);
  const out = dataFrames(r.transcript.entries, 'out');
  const inn = dataFrames(r.transcript.entries, 'in');
  // Each message compressed on its own: both copies take the same bytes, each way.
  assert.equal(out[0].wire, out[1].wire);
  assert.equal(inn[0].wire, inn[1].wire);
  assert.ok(inn[0].wire < REPEAT.length / 10);
});

test('websocket permessage-deflate: every combination of the four parameters is agreed as offered, and messages round-trip', async () => {
  const parts: Record<string, unknown>[] = [{ serverNoContextTakeover: true }, { clientNoContextTakeover: true }, { serverMaxWindowBits: 9 }, { clientMaxWindowBits: 11 }];
  for (let mask = 0; mask < 16; mask++) {
    const offer = Object.assign({}, ...parts.filter((_, i) => mask & (1 << i)));
    const r = await ok({ ...deflateOpen, deflate: offer, messages: [{ text: REPEAT }, { text: REPEAT }] });
    const { header: _h, ...got } = r.handshake.deflate;
    assert.deepEqual(got, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15, ...offer }, JSON.stringify(offer));
    assert.deepEqual(r.received.slice(0, 2).map((m: { text: string }) => m.text), [REPEAT, REPEAT], JSON.stringify(offer));
  }
});

test('websocket permessage-deflate: a server that imposes its terms (no context takeover, 10-bit window) is shown as it answered', async () => {
  const r = await ok({ ...deflateFixed, deflate: true, messages: [{ text: REPEAT }] });
  assert.equal(r.handshake.deflate.serverNoContextTakeover, true);
  assert.equal(r.handshake.deflate.clientNoContextTakeover, true);
  assert.equal(r.handshake.deflate.serverMaxWindowBits, 10);
  assert.equal(r.received[0].text, REPEAT);
  // Declined: a server without the extension answers without it and messages go uncompressed.
  const plain = await ok({ ...direct, deflate: true, messages: [{ text: 'plain' }] });
  assert.equal(plain.handshake.deflate, null);
  assert.deepEqual(plain.received[0], { type: 'text', text: 'plain', frames: 1 });
});

test('websocket permessage-deflate: fragmented compressed messages both ways', async () => {
  const r = await ok({ ...deflateOpen, deflate: true, messages: [{ text: REPEAT }, { text: 'fragments:3' }], fragmentSize: 16 }, true);
  const res = r.result;
  assert.equal(res.received[0].text, REPEAT);
  assert.equal(res.received[1].text, 'part0;part1;part2;');
  assert.equal(res.received[1].frames, 3);
  const out = dataFrames(r.transcript.entries, 'out');
  assert.ok(out.length > 2);
  // RSV1 only on a message's first frame (RFC 7692 §6.1).
  assert.equal(out[0].compressed, true);
  assert.equal(out[1].compressed, false);
  assert.match(r.transcript.entries.find((e: Entry) => e.dir === 'out' && /^continuation/.test(e.decode ?? '')).decode, /^continuation \(not final\), 16 bytes, masked/);
});

test('websocket permessage-deflate: a message that inflates past maxMessageBytes is a protocol error (compression bomb)', async () => {
  const r = await call('websocket', 'exchange', { ...deflateOpen, deflate: true, maxMessageBytes: 4096, messages: [{ text: "binary:200000" }] });
  assert.equal(r.status, 502, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'protocol_error');
  assert.match(r.body.error.message, /inflates to more than 4096 bytes/);
});

test('websocket: the ping round trip is timed', async () => {
  const r = await ok({ ...direct, ping: 'timing', expect: 0 });
  assert.equal(typeof r.pingMs, 'number');
  assert.ok(r.pingMs >= 0);
  assert.equal(r.received.find((m: { type: string }) => m.type === 'pong').rttMs, r.pingMs);
});

test('websocket permessage-deflate: the interactive session compresses both ways, pong timed, close code and reason', async () => {
  const s = await openSession('websocket', 'session', { ...deflateOpen, deflate: true, protocols: ['chat'] });
  try {
    const open = await s.next((m) => m.type === 'open');
    assert.equal(open.handshake.deflate.serverNoContextTakeover, false);
    assert.equal(open.handshake.protocol, 'chat');
    s.send({ type: 'send', text: REPEAT });
    const echoed = await s.next((m) => m.type === 'message');
    assert.equal(echoed.text, REPEAT);
    assert.ok(echoed.compressed < REPEAT.length / 10);
    s.send({ type: 'ping', text: 'rtt' });
    const pong = await s.next((m) => m.type === 'pong');
    assert.equal(typeof pong.rttMs, 'number');
    s.send({ type: 'close', code: 4002, reason: 'charted' });
    const end = await s.next((m) => m.type === 'end');
    assert.deepEqual(end.result.close, { code: 4002, name: 'private use', reason: 'charted', by: 'client' });
    assert.equal(end.result.closeReply.code, 4002);
  } finally {
    s.close();
  }
});
