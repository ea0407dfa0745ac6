// NATS against Debian's nats-server in the lab (JetStream and accounts, a TLS-only server, a token server), through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call, openSession, type SessionClient } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { natsFacts } from '../../../lab/servers/messaging-nats.ts';
import { encodeSeed, PREFIX } from './nkeys.ts';

const p = ports['messaging-nats'];
const f = natsFacts;
const server = { host: '127.0.0.1', port: p.nats };
const login = { ...server, user: f.user, password: f.password };
const limited = { ...server, user: f.limitedUser, password: f.limitedPassword };
/** The upstream version of Debian's nats-server, e.g. 2.9.10 from 2.9.10-1+b3. */
const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'nats-server'], { encoding: 'utf8' }).replace(/-.*$/, '');

const uniq = (name: string) => `${name}${process.pid}x${Math.floor(Math.random() * 1e9)}`;

async function ok(op: string, input: Record<string, unknown>, transcript = false) {
  const r = await call('nats', op, input, { transcript });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return transcript ? r.body : r.body.result;
}

async function fails(op: string, input: Record<string, unknown>, status: number, code: string, message: RegExp) {
  const r = await call('nats', op, input);
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error.code, code);
  assert.match(r.body.error.message, message);
  return r.body.error;
}

async function subscribed(s: SessionClient) {
  return s.next((m) => m.type === 'subscribed');
}

test('nats: probe reads INFO without signing in: version, limits, auth, nonce, JetStream', async () => {
  const r = await ok('probe', server);
  assert.equal(r.info.version, version);
  assert.equal(r.info.serverName, f.serverName);
  assert.equal(r.info.maxPayload, f.maxPayload);
  assert.equal(r.info.authRequired, true);
  assert.equal(r.info.nonce, true, 'a server with NKey users sends a nonce');
  assert.equal(r.info.jetstream, true);
  assert.equal(r.info.headers, true);
  assert.equal(r.authenticated, false);
  assert.equal(r.tls, false);
});

test('nats: user/password, token and NKey sign-in; wrong credentials are auth_failed in the server\'s words', async () => {
  const pw = await ok('probe', login);
  assert.equal(pw.authenticated, true);
  assert.equal(typeof pw.rttMs, 'number');
  const token = await ok('probe', { host: '127.0.0.1', port: p.natsToken, token: f.token });
  assert.equal(token.authenticated, true);
  assert.equal(token.info.serverName, 'portolan-nats-token');
  const nkey = await ok('probe', { ...server, nkeySeed: f.nkeySeed });
  assert.equal(nkey.authenticated, true);

  await fails('probe', { ...login, password: 'wrong' }, 502, 'auth_failed', /Authorization Violation/);
  await fails('probe', { host: '127.0.0.1', port: p.natsToken, token: 'not-the-token' }, 502, 'auth_failed', /Authorization Violation/);
  // A well-formed seed the server does not know: its signature verifies, its key is not a user.
  const stranger = encodeSeed(PREFIX.user, new Uint8Array(32).fill(7));
  await fails('probe', { ...server, nkeySeed: stranger }, 502, 'auth_failed', /Authorization Violation/);
  // A mistyped seed fails its CRC before anything is sent.
  const typo = f.nkeySeed.slice(0, 20) + (f.nkeySeed[20] === 'A' ? 'B' : 'A') + f.nkeySeed.slice(21);
  await fails('probe', { ...server, nkeySeed: typo }, 400, 'invalid_input', /^nkeySeed: fails its CRC-16 check/);
});

test('nats: the transcript masks the password and the NKey signature', async () => {
  const body = await ok('probe', login, true);
  const connect = body.transcript.entries.find((e: { decode?: string }) => e.decode?.startsWith('CONNECT'));
  assert.match(connect.decode, /"pass":"\*\*\*\*"/);
  assert.ok(!JSON.stringify(body.transcript).includes(f.password));
  const nk = await ok('probe', { ...server, nkeySeed: f.nkeySeed }, true);
  assert.match(nk.transcript.entries.find((e: { decode?: string }) => e.decode?.startsWith('CONNECT')).decode, /"sig":"\*\*\*\*","nkey":"U|"nkey":"U[A-Z2-7]{55}".*"sig":"\*\*\*\*"/);
});

test('nats: a server that requires TLS gets the upgrade after INFO; asking TLS of a plain server is tls_error', async () => {
  const r = await ok('probe', { host: 'localhost', port: p.natsTls, user: f.user, password: f.password });
  assert.equal(r.info.tlsRequired, true);
  assert.equal(r.tls, true);
  assert.equal(r.authenticated, true);
  const asked = await ok('probe', { host: 'localhost', port: p.natsTls, tls: 'starttls', nkeySeed: f.nkeySeed });
  assert.equal(asked.tls, true);
  await fails('probe', { ...server, tls: 'starttls' }, 502, 'tls_error', /offers no TLS/);
});

test('nats: a subscribe session streams messages with subject, time, size, headers and payload, and ends with UNSUB', async () => {
  const base = uniq('lab.feed.');
  const s = await openSession('nats', 'subscribe', { ...login, subject: `${base}.>` });
  const sub = await subscribed(s);
  assert.deepEqual(sub.subscriptions, [{ subject: `${base}.>`, sid: 1 }]);
  const before = Date.now();
  await ok('publish', { ...login, subject: `${base}.a.b`, payload: 'héllo ⚓', headers: { 'X-Trace': ['1', '2'], 'Content-Type': 'text/plain' } });
  await ok('publish', { ...login, subject: `${base}.bin`, payload: { hex: '00ff0d0a' } });
  const m1 = await s.next((m) => m.type === 'message' && m.subject === `${base}.a.b`);
  assert.deepEqual(m1.payload, { text: 'héllo ⚓' });
  assert.equal(m1.size, Buffer.byteLength('héllo ⚓'));
  assert.deepEqual(m1.headers, { 'X-Trace': ['1', '2'], 'Content-Type': ['text/plain'] });
  assert.ok(Math.abs(Date.parse(m1.time) - before) < 10_000);
  const m2 = await s.next((m) => m.type === 'message' && m.subject === `${base}.bin`);
  assert.deepEqual(m2.payload, { base64: Buffer.from([0, 255, 13, 10]).toString('base64') });
  s.send({ type: 'stop' });
  const end = await s.next((m) => m.type === 'end');
  assert.equal(end.result.count, 2);
  assert.equal(end.result.ended, 'client');

  // As a POST: the messages of a window, and the transcript shows the clean end (UNSUB, then PING/PONG).
  const post = call('nats', 'subscribe', { ...login, subject: `${base}.post`, durationMs: 1500 }, { transcript: true });
  await new Promise((r) => setTimeout(r, 500));
  await ok('publish', { ...login, subject: `${base}.post`, payload: 'in the window', count: 3 });
  const got = await post;
  assert.equal(got.status, 200, JSON.stringify(got.body));
  assert.equal(got.body.result.count, 3);
  assert.deepEqual(got.body.result.messages.map((m: { payload: { text: string } }) => m.payload.text), ['in the window', 'in the window', 'in the window']);
  const decodes = got.body.transcript.entries.map((e: { decode?: string }) => e.decode ?? '');
  assert.ok(decodes.some((d: string) => /^UNSUB 1$/.test(d)), decodes.join('\n'));
});

test('nats: queue groups share the messages; a plain subscriber sees them all', async () => {
  const subject = uniq('lab.q.');
  const a = await openSession('nats', 'subscribe', { ...login, subject, queue: 'workers' });
  const b = await openSession('nats', 'subscribe', { ...login, subject, queue: 'workers' });
  const all = await openSession('nats', 'subscribe', { ...login, subject });
  for (const s of [a, b, all]) await subscribed(s);
  assert.equal(a.inbox.length, 0);
  await ok('publish', { ...login, subject, payload: 'job', count: 40 });
  const count = async (s: SessionClient, n: number) => {
    const seen = [];
    while (seen.length < n) seen.push(await s.next((m) => m.type === 'message'));
    return seen;
  };
  const everyone = await count(all, 40);
  assert.equal(everyone.length, 40);
  await new Promise((r) => setTimeout(r, 300));
  const ofA = a.inbox.filter((m) => m.type === 'message');
  const ofB = b.inbox.filter((m) => m.type === 'message');
  assert.equal(ofA.length + ofB.length, 40, 'each message goes to one member of the group');
  assert.equal(ofA[0]?.queue ?? ofB[0]?.queue, 'workers');
  for (const s of [a, b, all]) s.send({ type: 'stop' });
  for (const s of [a, b, all]) await s.next((m) => m.type === 'end');
});

test('nats: request–reply through a responder session; no responders is reported', async () => {
  const subject = uniq('lab.svc.');
  const responder = await openSession('nats', 'subscribe', { ...login, subject });
  await subscribed(responder);
  const pending = call('nats', 'request', { ...login, subject, payload: 'ping?', headers: { 'X-Req': 'yes' } });
  const req = await responder.next((m) => m.type === 'message');
  assert.deepEqual(req.payload, { text: 'ping?' });
  assert.deepEqual(req.headers, { 'X-Req': ['yes'] });
  assert.match(req.reply, /^_INBOX\.[0-9a-f]{24}$/);
  responder.send({ type: 'publish', subject: req.reply, payload: 'pong!' });
  const r = await pending;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.result.reply.subject, req.reply);
  assert.deepEqual(r.body.result.reply.payload, { text: 'pong!' });
  responder.send({ type: 'stop' });
  await responder.next((m) => m.type === 'end');

  await fails('request', { ...login, subject: uniq('lab.nobody.') }, 502, 'server_error', /no responders/);
});

test('nats: permission violations come back in the server\'s words', async () => {
  assert.equal((await ok('publish', { ...limited, subject: 'public.news', payload: 'ok' })).confirmed, true);
  await fails('publish', { ...limited, subject: 'private.news', payload: 'no' }, 502, 'server_error', /Permissions Violation for Publish to "private\.news"/);
  await fails('subscribe', { ...limited, subject: 'private.>', durationMs: 200 }, 502, 'server_error', /Permissions Violation for Subscription to "private\.>"/);
});

test('nats: misplaced wildcards and bad names are 400 naming the field, before connecting', async () => {
  // Port 1 is closed: a 400 proves nothing was dialled.
  const nowhere = { host: '127.0.0.1', port: 1 };
  const e1 = await fails('subscribe', { ...nowhere, subject: 'orders.>.new' }, 400, 'invalid_input', /^subject: has ">" before the last token/);
  assert.equal(e1.detail.issues[0].field, 'subject');
  await fails('subscribe', { ...nowhere, subject: 'orders.ne*' }, 400, 'invalid_input', /^subject: has a wildcard inside the token/);
  await fails('publish', { ...nowhere, subject: 'orders.*' }, 400, 'invalid_input', /^subject: contains a wildcard/);
  await fails('publish', { ...nowhere, subject: 'orders..new' }, 400, 'invalid_input', /^subject: has an empty token/);
  await fails('subscribe', { ...nowhere, subject: 'a', queue: 'two words' }, 400, 'invalid_input', /^queue: contains whitespace/);
  await fails('publish', { ...nowhere, subject: 'a', headers: { 'Bad Name': 'x' } }, 400, 'invalid_input', /^headers\.Bad Name: name "Bad Name" is not a token/);
  await fails('fetch', { ...nowhere, stream: 'A.B' }, 400, 'invalid_input', /^stream: /);
});

test('nats: a payload over the server\'s max_payload is refused before sending; an oversized MSG is protocol_error', async () => {
  await fails('publish', { ...login, subject: 'lab.big', payload: 'x'.repeat(f.maxPayload + 1) }, 400, 'invalid_input', new RegExp(`^payload: is ${f.maxPayload + 1} bytes.*at most ${f.maxPayload}`));
  const subject = uniq('lab.cap.');
  const post = call('nats', 'subscribe', { ...login, subject, maxPayload: 1024, durationMs: 3000 });
  await new Promise((r) => setTimeout(r, 500));
  await ok('publish', { ...login, subject, payload: 'y'.repeat(4096) });
  const r = await post;
  assert.equal(r.status, 502, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'protocol_error');
  assert.match(r.body.error.message, /MSG payload size 4096 exceeds the 1024-byte limit/);
});

test('nats: a subscription faster than its client is paused at the window (reads stop), then resumes with nothing lost', async () => {
  const subject = uniq('lab.flow.');
  // A 4 KiB window and no acks: the session stops reading from nats-server once that much is unacknowledged.
  const s = await openSession('nats', 'subscribe', { ...login, subject, window: 4096 }, 'dev', { manualAck: true });
  await subscribed(s);
  const payload = 'p'.repeat(200);
  await ok('publish', { ...login, subject, payload, count: 500 });
  await new Promise((r) => setTimeout(r, 800));
  const early = s.inbox.filter((m) => m.type === 'message').length;
  assert.ok(early > 0 && early < 500, `${early} of 500 messages arrived before any ack`);
  // Acknowledge as a client does (characters of each JSON message read), until all 500 came, in order.
  const seen: number[] = [];
  for (let i = 0; i < 500; i++) {
    const m = await s.next((x) => x.type === 'message');
    assert.equal(m.payload.text, payload);
    seen.push(m.sid);
    s.send({ type: 'ack', bytes: JSON.stringify(m).length + 64 });
  }
  assert.equal(seen.length, 500);
  s.send({ type: 'stop' });
  const end = await s.next((m) => m.type === 'end');
  assert.equal(end.result.count, 500);
});

test('nats: JetStream — create a stream, publish with acks and de-duplication, list and inspect, fetch with ack and nak, delete', async () => {
  const name = uniq('LAB');
  const subj = `js.${name}`;
  const created = await ok('streamCreate', { ...login, name, subjects: [`${subj}.>`], storage: 'memory' });
  assert.equal(created.stream.config.name, name);

  const a1 = await ok('jsPublish', { ...login, subject: `${subj}.a`, payload: 'first', msgId: 'id-1' });
  assert.deepEqual({ stream: a1.stream, seq: a1.seq, duplicate: a1.duplicate }, { stream: name, seq: 1, duplicate: false });
  const again = await ok('jsPublish', { ...login, subject: `${subj}.a`, payload: 'first', msgId: 'id-1' });
  assert.deepEqual({ seq: again.seq, duplicate: again.duplicate }, { seq: 1, duplicate: true });
  const a2 = await ok('jsPublish', { ...login, subject: `${subj}.b`, payload: { hex: '00ff' }, headers: { 'X-Kind': 'binary' }, expectedLastSeq: 1 });
  assert.equal(a2.seq, 2);
  await fails('jsPublish', { ...login, subject: `${subj}.c`, payload: 'late', expectedLastSeq: 1 }, 502, 'server_error', /wrong last sequence: 2/);
  await fails('jsPublish', { ...login, subject: uniq('js.nostream.'), payload: 'x' }, 502, 'server_error', /no stream captures/);

  const list = await ok('streams', login);
  const row = list.streams.find((s: { name: string }) => s.name === name);
  assert.deepEqual({ messages: row.messages, firstSeq: row.firstSeq, lastSeq: row.lastSeq, storage: row.storage }, { messages: 2, firstSeq: 1, lastSeq: 2, storage: 'memory' });
  assert.equal(typeof list.account.memory, 'number');
  assert.ok(list.total >= 1);

  // Ephemeral consumer: every message, with its stream sequence and headers.
  const eph = await ok('fetch', { ...login, stream: name, batch: 5, expiresMs: 500 });
  assert.equal(eph.ephemeral, true);
  assert.deepEqual(eph.messages.map((m: { streamSeq: number; payload: unknown }) => [m.streamSeq, m.payload]), [[1, { text: 'first' }], [2, { base64: 'AP8=' }]]);
  assert.deepEqual(eph.messages[1].headers, { 'X-Kind': ['binary'], 'Nats-Expected-Last-Sequence': ['1'] });
  assert.equal(eph.messages[0].pending, 1);
  assert.equal(eph.ended, '408 Request Timeout');

  // Durable consumer: nak redelivers, ack consumes.
  const durable = { ...login, stream: name, consumer: 'portolan-lab', batch: 1, expiresMs: 500 };
  await fails('fetch', durable, 502, 'server_error', /consumer not found/);
  const n1 = await ok('fetch', { ...durable, createDurable: true, ack: 'nak' });
  assert.deepEqual([n1.messages[0].streamSeq, n1.messages[0].delivered], [1, 1]);
  const n2 = await ok('fetch', { ...durable, ack: 'ack' });
  assert.deepEqual([n2.messages[0].streamSeq, n2.messages[0].delivered], [1, 2]);
  const n3 = await ok('fetch', { ...durable, batch: 10, ack: 'ack' });
  assert.deepEqual(n3.messages.map((m: { streamSeq: number }) => m.streamSeq), [2]);
  const empty = await ok('fetch', { ...durable, noWait: true });
  assert.equal(empty.count, 0);
  assert.match(empty.ended, /^404/);

  const info = await ok('streams', { ...login, name });
  assert.equal(info.stream.config.name, name);
  const consumer = info.consumers.find((c: { name: string }) => c.name === 'portolan-lab');
  assert.equal(consumer.num_pending, 0);
  assert.equal(consumer.num_ack_pending, 0);

  assert.deepEqual(await ok('streamDelete', { ...login, name }), { name, deleted: true });
  await fails('streams', { ...login, name }, 502, 'server_error', /stream not found/);
});

test('nats: JetStream on an account without it says so', async () => {
  await fails('streams', { host: '127.0.0.1', port: p.natsToken, token: f.token }, 502, 'server_error', /JetStream is not enabled/);
});
