// Redis against Debian's redis-server and redis-sentinel in the lab, through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call, openSession } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { kvFacts } from '../../../lab/servers/databases-kv.ts';

const p = ports['databases-kv'];
const facts = kvFacts.redis;
const target = { host: '127.0.0.1', port: p.redis, password: facts.password };
const limited = { host: '127.0.0.1', port: p.redis, username: facts.limitedUser, password: facts.limitedPassword };
/** The upstream version of Debian's redis-server, e.g. 7.0.15 from 5:7.0.15-1~deb12u10. */
const redisVersion = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'redis-server'], { encoding: 'utf8' }).replace(/^\d+:/, '').replace(/-.*$/, '');

const uniq = (name: string) => `${name}:${process.pid}:${Math.floor(Math.random() * 1e9)}`;
const b64 = (bytes: number[] | Uint8Array) => Buffer.from(bytes).toString('base64');

async function redis(input: Record<string, unknown>, op = 'command', transcript = false) {
  return call('redis', op, { ...target, ...input }, { transcript });
}

async function ok(input: Record<string, unknown>, op = 'command') {
  const r = await redis(input, op);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('redis: SET then GET keeps NUL, non-UTF-8 bytes and multibyte text exactly', async () => {
  const key = uniq('bin');
  const bytes = [0x00, 0xff, 0xfe, 0x0d, 0x0a, 0x00, 0x80, 0x41];
  assert.deepEqual((await ok({ args: ['SET', key, { base64: b64(bytes) }] })).reply, { type: 'simple', text: 'OK' });
  const got = (await ok({ args: ['GET', key] })).reply;
  assert.equal(got.type, 'bulk');
  assert.equal(got.length, 8);
  assert.equal(got.base64, b64(bytes), 'not UTF-8: comes back as base64');
  assert.equal((await ok({ args: ['GET', key], encoding: 'hex' })).reply.hex, '00fffe0d0a008041');
  assert.equal((await ok({ args: ['STRLEN', key] })).reply.value, 8);

  // multibyte text in both the key and the value; lengths count bytes
  const mkey = uniq('ключ🚢');
  const text = 'héllo, 世界 — ⚓ \u0000 nul inside';
  await ok({ args: ['SET', mkey, text] });
  const back = (await ok({ args: ['GET', mkey] })).reply;
  assert.equal(back.text, text);
  assert.equal(back.length, Buffer.byteLength(text));
  // a redis-cli style line with \x escapes writes the same bytes
  await ok({ line: `SET ${key}:line "\\x00\\xffA b"` });
  assert.equal((await ok({ args: ['GET', `${key}:line`], encoding: 'base64' })).reply.base64, b64([0x00, 0xff, 0x41, 0x20, 0x62]));
  // a missing key is nil
  assert.deepEqual((await ok({ args: ['GET', uniq('missing')] })).reply, { type: 'null' });
});

test('redis: RESP3 via HELLO 3 decodes maps, doubles, sets and booleans', async () => {
  const h = uniq('h3');
  await ok({ args: ['HSET', h, 'name', 'portolan', 'port', '16379'] });
  const r = await ok({ args: ['HGETALL', h], protocol: 3 });
  assert.equal(r.protocol, 3);
  assert.equal(r.reply.type, 'map');
  assert.deepEqual(
    r.reply.entries.map((e: { key: { text: string }; value: { text: string } }) => [e.key.text, e.value.text]),
    [['name', 'portolan'], ['port', '16379']],
  );
  const z = uniq('z3');
  await ok({ args: ['ZADD', z, '2.5', 'a'] });
  assert.deepEqual((await ok({ args: ['ZSCORE', z, 'a'], protocol: 3 })).reply, { type: 'double', value: 2.5 });
  assert.deepEqual((await ok({ args: ['ZSCORE', z, 'a'], protocol: 2 })).reply, { type: 'bulk', length: 3, text: '2.5' });
  const s = uniq('s3');
  await ok({ args: ['SADD', s, 'x'] });
  assert.equal((await ok({ args: ['SMEMBERS', s], protocol: 3 })).reply.type, 'set');
  assert.equal((await ok({ args: ['SMEMBERS', s], protocol: 2 })).reply.type, 'array');
  // HELLO's own answer
  const hello = await ok({}, 'hello');
  assert.equal(hello.protocol, 3);
  assert.equal(hello.authenticated, true);
  assert.equal(hello.server.version, redisVersion);
  assert.equal(hello.server.proto, '3');
  assert.equal(hello.server.role, 'master');
});

test('redis: the probe says a password is needed, with the server\'s words', async () => {
  const r = await call('redis', 'hello', { host: '127.0.0.1', port: p.redis });
  assert.equal(r.status, 200);
  assert.equal(r.body.result.authRequired, true);
  assert.match(r.body.result.message, /^NOAUTH HELLO must be called with the client already authenticated/);
});

test('redis: pipelines answer every command in order, errors in place; MULTI/EXEC runs a transaction', async () => {
  const counter = uniq('ctr');
  const commands = Array.from({ length: 1000 }, () => ['INCR', counter]);
  const r = await ok({ commands }, 'pipeline');
  assert.equal(r.count, 1000);
  assert.deepEqual(r.replies[0], { type: 'integer', value: 1 });
  assert.deepEqual(r.replies[999], { type: 'integer', value: 1000 });
  assert.equal(r.errors, 0);
  assert.ok(r.commandsPerSecond > 0);

  const list = uniq('list');
  const mixed = await ok({ commands: [['SET', counter, 'x'], ['LPUSH', list, 'a'], ['INCR', counter], ['GET', counter]] }, 'pipeline');
  assert.deepEqual(mixed.replies.map((x: { type: string }) => x.type), ['simple', 'integer', 'error', 'bulk']);
  assert.equal(mixed.replies[2].message, 'ERR value is not an integer or out of range');
  assert.equal(mixed.errors, 1);

  const tx = uniq('tx');
  const t = await ok({ commands: [['SET', tx, '10'], ['INCRBY', tx, '5'], ['GET', tx]], transaction: true }, 'pipeline');
  assert.deepEqual(t.replies, [{ type: 'simple', text: 'OK' }, { type: 'integer', value: 15 }, { type: 'bulk', length: 2, text: '15' }]);
  // a command refused while queuing aborts the whole transaction
  const bad = await redis({ commands: [['SET', tx, '1'], ['NOSUCHCOMMAND']], transaction: true }, 'pipeline');
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'server_error');
  assert.match(bad.body.error.message, /^EXECABORT Transaction discarded because of previous errors\. \(command 2: ERR unknown command 'NOSUCHCOMMAND'/);
  assert.equal((await ok({ args: ['GET', tx] })).reply.text, '15', 'the aborted transaction changed nothing');
});

test('redis: wrong or missing password is auth_failed with the server\'s message', async () => {
  const wrong = await redis({ password: 'not-the-password', args: ['PING'] });
  assert.equal(wrong.status, 502);
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.equal(wrong.body.error.message, 'WRONGPASS invalid username-password pair or user is disabled.');
  const none = await call('redis', 'command', { host: '127.0.0.1', port: p.redis, args: ['PING'] });
  assert.equal(none.body.error.code, 'auth_failed');
  assert.equal(none.body.error.message, 'NOAUTH Authentication required.');
  const wrong3 = await redis({ password: 'nope', args: ['PING'], protocol: 3 });
  assert.equal(wrong3.body.error.code, 'auth_failed');
  assert.match(wrong3.body.error.message, /^WRONGPASS/);
  const wrongUser = await call('redis', 'command', { ...limited, password: 'wrong', args: ['PING'] });
  assert.equal(wrongUser.body.error.code, 'auth_failed');
});

test('redis: an ACL user runs what it may and gets NOPERM for the rest', async () => {
  const key = `app:${process.pid}:${Math.floor(Math.random() * 1e9)}`;
  for (const protocol of [2, 3]) {
    const set = await call('redis', 'command', { ...limited, protocol, args: ['SET', key, 'v'] });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const get = await call('redis', 'command', { ...limited, protocol, args: ['GET', key] });
    assert.equal(get.body.result.reply.text, 'v');
    const whoami = await redis({ args: ['ACL', 'WHOAMI'] });
    assert.equal(whoami.body.result.reply.text, 'default');
    const del = await call('redis', 'command', { ...limited, protocol, args: ['DEL', key] });
    assert.equal(del.status, 502);
    assert.equal(del.body.error.code, 'server_error');
    assert.equal(del.body.error.message, "NOPERM this user has no permissions to run the 'del' command");
    const other = await call('redis', 'command', { ...limited, protocol, args: ['GET', 'secret:key'] });
    assert.equal(other.body.error.code, 'server_error');
    assert.equal(other.body.error.message, 'NOPERM this user has no permissions to access one of the keys used as arguments');
  }
});

test('redis: INFO comes back in sections, keyspace counted per database', async () => {
  const db = 3;
  await ok({ db, args: ['FLUSHDB'] });
  await ok({ db, commands: [['SET', 'a', '1'], ['SET', 'b', '2'], ['SET', 'c', '3', 'EX', '600']] }, 'pipeline');
  const all = await ok({}, 'info');
  assert.equal(all.sections.server.redis_version, redisVersion);
  assert.equal(all.sections.server.tcp_port, String(p.redis));
  assert.equal(all.sections.replication.role, 'master');
  assert.ok(Number(all.sections.clients.connected_clients) >= 1);
  assert.deepEqual(all.sections.keyspace[`db${db}`], { keys: '3', expires: '1', avg_ttl: all.sections.keyspace[`db${db}`].avg_ttl });
  assert.equal(all.summary.version, redisVersion);
  assert.deepEqual(all.summary.keyspace.find((k: { db: number }) => k.db === db), { db, keys: 3, expires: 1 });
  const one = await ok({ section: 'memory' }, 'info');
  assert.deepEqual(Object.keys(one.sections), ['memory']);
  assert.match(one.sections.memory.used_memory, /^\d+$/);
  const stats = await ok({ section: 'commandstats' }, 'info');
  assert.match(stats.sections.commandstats.cmdstat_set.calls, /^\d+$/);
});

test('redis: the key browser pages through SCAN with MATCH, TYPE, and each key\'s TTL', async () => {
  const db = 4;
  await ok({ db, args: ['FLUSHDB'] });
  const commands: string[][] = Array.from({ length: 150 }, (_, i) => ['SET', `scan:${i}`, String(i)]);
  commands.push(['HSET', 'scan:hash', 'f', 'v'], ['RPUSH', 'other:list', 'x'], ['EXPIRE', 'scan:7', '300']);
  await ok({ db, commands }, 'pipeline');
  const seen = new Set<string>();
  let cursor = '0';
  let pages = 0;
  do {
    const page = await ok({ db, cursor, match: 'scan:*', pageSize: 40, count: 20 }, 'scan');
    for (const k of page.keys) {
      seen.add(k.key.text);
      if (k.key.text === 'scan:7') assert.ok(k.ttl > 250 && k.ttl <= 300, `ttl ${k.ttl}`);
      else assert.equal(k.ttl, -1);
      assert.equal(k.type, k.key.text === 'scan:hash' ? 'hash' : 'string');
    }
    cursor = page.cursor;
    assert.equal(page.done, cursor === '0');
    pages++;
  } while (cursor !== '0' && pages < 50);
  assert.equal(seen.size, 151, 'every matching key once (scan:0..149 and scan:hash)');
  assert.ok(!seen.has('other:list'));
  const hashes = await ok({ db, type: 'hash', pageSize: 1000 }, 'scan');
  assert.deepEqual(hashes.keys.map((k: { key: { text: string } }) => k.key.text), ['scan:hash']);
  assert.equal(hashes.done, true);
});

test('redis: the value view shows each type, bounded by limits that it names', async () => {
  const db = 5;
  await ok({ db, args: ['FLUSHDB'] });
  await ok(
    {
      db,
      commands: [
        ['RPUSH', 'l', ...Array.from({ length: 250 }, (_, i) => `item${i}`)],
        ['SADD', 's', 'a', 'b', 'c'],
        ['ZADD', 'z', '1', 'one', '2.5', 'two'],
        ['HSET', 'h', 'k1', 'v1', 'k2', { base64: b64([0xff, 0x00]) }],
        ['XADD', 'x', '1-1', 'temp', '21'],
        ['XADD', 'x', '1-2', 'temp', '22'],
        ['SET', 'str', 'x'.repeat(5000)],
        ['EXPIRE', 'str', '1000'],
      ],
    },
    'pipeline',
  );
  const list = await ok({ db, key: 'l', limit: 100 }, 'key');
  assert.equal(list.type, 'list');
  assert.equal(list.size, 250);
  assert.equal(list.list.length, 100);
  assert.deepEqual(list.list[99], { text: 'item99' });
  assert.equal(list.truncated, true);
  assert.equal(list.limit, 'limit: 100 elements');
  // Pages by index: the third page holds the last 50.
  const last = await ok({ db, key: 'l', limit: 100, offset: 200 }, 'key');
  assert.equal(last.offset, 200);
  assert.deepEqual([last.list.length, last.list[0], last.list[49]], [50, { text: 'item200' }, { text: 'item249' }]);
  const zpage = await ok({ db, key: 'z', limit: 1, offset: 1 }, 'key');
  assert.deepEqual(zpage.zset, [{ member: { text: 'two' }, score: '2.5' }]);
  // A score range (ZRANGE BYSCORE): an exclusive lower bound, the size counts the members in it.
  const byScore = await ok({ db, key: 'z', scores: { min: '(1', max: '+inf' } }, 'key');
  assert.deepEqual([byScore.zset, byScore.size, byScore.scores], [[{ member: { text: 'two' }, score: '2.5' }], 1, { min: '(1', max: '+inf' }]);
  const badScore = await call('redis', 'key', { ...target, db, key: 'z', scores: { min: 'low', max: '+inf' } });
  assert.equal(badScore.status, 400);
  assert.match(badScore.body.error.message, /^scores\.min: a score such as 10/);
  const set = await ok({ db, key: 's' }, 'key');
  assert.deepEqual(set.set.map((x: { text: string }) => x.text).sort(), ['a', 'b', 'c']);
  assert.equal(set.truncated, false);
  for (const protocol of [2, 3]) {
    const zset = await ok({ db, key: 'z', protocol }, 'key');
    assert.deepEqual(zset.zset, [{ member: { text: 'one' }, score: '1' }, { member: { text: 'two' }, score: '2.5' }], `RESP${protocol}`);
  }
  const hash = await ok({ db, key: 'h' }, 'key');
  assert.deepEqual(
    hash.hash.sort((a: { field: { text: string } }, b: { field: { text: string } }) => a.field.text.localeCompare(b.field.text)),
    [{ field: { text: 'k1' }, value: { text: 'v1' } }, { field: { text: 'k2' }, value: { base64: b64([0xff, 0x00]) } }],
  );
  const stream = await ok({ db, key: 'x' }, 'key');
  assert.deepEqual(stream.stream, [
    { id: '1-1', fields: [{ field: { text: 'temp' }, value: { text: '21' } }] },
    { id: '1-2', fields: [{ field: { text: 'temp' }, value: { text: '22' } }] },
  ]);
  // Pages by ID: the entry after the last one shown.
  const first = await ok({ db, key: 'x', limit: 1 }, 'key');
  assert.deepEqual(first.stream.map((e: { id: string }) => e.id), ['1-1']);
  const next = await ok({ db, key: 'x', limit: 1, after: first.stream[0].id }, 'key');
  assert.deepEqual(next.stream.map((e: { id: string }) => e.id), ['1-2']);
  const bad = await call('redis', 'key', { ...target, db, key: 'x', after: 'yesterday' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^after: a stream entry ID/);
  const str = await ok({ db, key: 'str', maxBytes: 1000 }, 'key');
  assert.equal(str.size, 5000);
  assert.equal(str.string.text, 'x'.repeat(1000));
  assert.ok(str.ttl > 900 && str.ttl <= 1000);
  assert.equal(str.truncated, true);
  assert.equal(str.limit, 'maxBytes: 1000');
  const missing = await ok({ db, key: 'nope' }, 'key');
  assert.deepEqual([missing.exists, missing.type, missing.ttl], [false, 'none', -2]);
});

test('redis: a reply larger than maxReplyBytes is cut, flagged, and the limit named', async () => {
  const key = uniq('big');
  const big = 'y'.repeat(200 * 1024);
  await ok({ args: ['SET', key, big] });
  const r = await ok({ args: ['GET', key], maxReplyBytes: 64 * 1024 });
  assert.equal(r.truncated, true);
  assert.equal(r.limit, 'maxReplyBytes: 65536');
  assert.equal(r.reply.length, 200 * 1024, 'the declared length');
  assert.ok(r.reply.text.length >= 60 * 1024 && r.reply.text.length < 200 * 1024);
  assert.ok(/^y+$/.test(r.reply.text));
  const full = await ok({ args: ['GET', key] });
  assert.equal(full.truncated, false);
  assert.equal(full.reply.text, big);
  // element cap
  const l = uniq('manylist');
  await ok({ args: ['RPUSH', l, ...Array.from({ length: 50 }, (_, i) => String(i))] });
  const cut = await ok({ args: ['LRANGE', l, '0', '-1'], maxElements: 10 });
  assert.equal(cut.reply.items.length, 10);
  assert.equal(cut.reply.declared, 50);
  assert.equal(cut.truncated, true);
});

test('redis: TLS on the TLS port with the lab certificate; TLS against the plain port fails as tls_error', async () => {
  const r = await call('redis', 'command', { host: '127.0.0.1', port: p.redisTls, tls: 'implicit', password: facts.password, args: ['INFO', 'server'] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(r.body.result.reply.text, new RegExp(`redis_version:${redisVersion.replace(/\./g, '\\.')}`));
  const key = uniq('tls');
  await call('redis', 'command', { host: '127.0.0.1', port: p.redisTls, tls: 'implicit', password: facts.password, args: ['SET', key, { base64: b64([0, 1, 2, 255]) }] });
  assert.equal((await ok({ args: ['GET', key] })).reply.base64, b64([0, 1, 2, 255]), 'written over TLS, read over plain TCP');
  const info = await call('redis', 'info', { host: '127.0.0.1', port: p.redisTls, tls: 'implicit', password: facts.password, section: 'server' });
  assert.equal(info.body.result.sections.server.redis_version, redisVersion);
  // a plain Redis port never answers a ClientHello (it waits for a command line): named as a TLS failure
  const bad = await call('redis', 'command', { host: '127.0.0.1', port: p.redis, tls: 'implicit', password: facts.password, args: ['PING'], timeoutMs: 5000 });
  assert.equal(bad.status, 502);
  assert.equal(bad.body.error.code, 'tls_error', JSON.stringify(bad.body));
  assert.match(bad.body.error.message, /accepts TCP connections but did not complete a TLS handshake/);
});

test('redis: Sentinel lists its master and gives the master address', async () => {
  const m = await call('redis', 'sentinelMasters', { host: '127.0.0.1', port: p.sentinel });
  assert.equal(m.status, 200, JSON.stringify(m.body));
  const master = m.body.result.masters.find((x: { name: string }) => x.name === kvFacts.sentinel.masterName);
  assert.ok(master);
  assert.equal(master.ip, '127.0.0.1');
  assert.equal(master.port, p.redis);
  assert.ok(master.flags.includes('master'));
  assert.equal(master.quorum, 1);
  assert.equal(master.fields['role-reported'], 'master');
  const addr = await call('redis', 'sentinelMasterAddr', { host: '127.0.0.1', port: p.sentinel, name: kvFacts.sentinel.masterName });
  assert.deepEqual(addr.body.result, { name: kvFacts.sentinel.masterName, found: true, ip: '127.0.0.1', port: p.redis });
  const none = await call('redis', 'sentinelMasterAddr', { host: '127.0.0.1', port: p.sentinel, name: 'no-such-master' });
  assert.deepEqual(none.body.result, { name: 'no-such-master', found: false, ip: null, port: null });
});

test('redis: the password never reaches the transcript', async () => {
  const r = await redis({ args: ['PING'], protocol: 3 }, 'command', true);
  const text = JSON.stringify(r.body.transcript);
  assert.ok(!text.includes(facts.password), 'password in the transcript');
  assert.ok(!text.includes(Buffer.from(facts.password).toString('hex')), 'password bytes in the transcript');
  assert.ok(r.body.transcript.entries.some((e: { decode?: string }) => e.decode === 'HELLO 3 AUTH default ****'));
  const r2 = await call('redis', 'command', { ...limited, args: ['PING'] }, { transcript: true });
  assert.ok(!JSON.stringify(r2.body.transcript).includes(facts.limitedPassword));
  assert.ok(r2.body.transcript.entries.some((e: { decode?: string }) => e.decode === `AUTH ${facts.limitedUser} ****`));
});

async function publishUntilHeard(channel: string, message: unknown): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const r = await ok({ args: ['PUBLISH', channel, message] });
    if (r.reply.value >= 1) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`nobody subscribed to ${channel}`);
}

test('redis: SUBSCRIBE and PSUBSCRIBE over POST collect the messages of a time window', async () => {
  const channel = `news.${process.pid}.${Math.floor(Math.random() * 1e9)}`;
  for (const protocol of [2, 3]) {
    const listening = redis({ channels: [channel], patterns: ['news.*'], durationMs: 2500, protocol }, 'subscribe');
    await publishUntilHeard(channel, 'first');
    await ok({ args: ['PUBLISH', channel, { base64: b64([0xff, 0x00, 0x41]) }] });
    await ok({ args: ['PUBLISH', channel, 'ünïcødé ⚓'] });
    const r = await listening;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const direct = r.body.result.messages.filter((m: { kind: string }) => m.kind === 'message');
    const viaPattern = r.body.result.messages.filter((m: { kind: string }) => m.kind === 'pmessage');
    const tail = direct.slice(-3);
    assert.deepEqual(tail.map((m: { data: unknown }) => m.data), [{ text: 'first' }, { base64: b64([0xff, 0x00, 0x41]) }, { text: 'ünïcødé ⚓' }], `RESP${protocol}`);
    assert.deepEqual(tail[0].channel, { text: channel });
    assert.deepEqual(viaPattern.slice(-1)[0].pattern, { text: 'news.*' });
    assert.equal(r.body.result.subscriptions, 2);
    assert.equal(r.body.result.ended, 'duration');
  }
});

test('redis: a SUBSCRIBE WebSocket session streams messages and takes subscribe/unsubscribe', async () => {
  const channel = `news.ws.${process.pid}.${Math.floor(Math.random() * 1e9)}`;
  const s = await openSession('redis', 'subscribe', { ...target, channels: [channel] });
  const sub = await s.next((m) => m.type === 'subscription');
  assert.deepEqual(sub, { type: 'subscription', action: 'subscribe', name: { text: channel }, count: 1 });
  await publishUntilHeard(channel, 'over the socket');
  assert.deepEqual(await s.next((m) => m.type === 'message'), { type: 'message', kind: 'message', channel: { text: channel }, data: { text: 'over the socket' } });
  s.send({ type: 'psubscribe', patterns: ['news.ws.*'] });
  assert.deepEqual(await s.next((m) => m.type === 'subscription' && m.action === 'psubscribe'), { type: 'subscription', action: 'psubscribe', name: { text: 'news.ws.*' }, count: 2 });
  await ok({ args: ['PUBLISH', channel, { base64: b64([0x00, 0xff]) }] });
  const pm = await s.next((m) => m.type === 'message' && m.kind === 'pmessage');
  assert.deepEqual(pm.data, { base64: b64([0x00, 0xff]) });
  s.send({ type: 'punsubscribe' });
  await s.next((m) => m.type === 'subscription' && m.action === 'punsubscribe');
  s.send({ type: 'unsubscribe', channels: [channel] });
  await s.next((m) => m.type === 'subscription' && m.action === 'unsubscribe' && m.count === 0);
  // no subscriptions left: Redis leaves subscribed mode and the session ends with its summary
  const end = await s.next((m) => m.type === 'end');
  // "over the socket", then the 00 ff message twice: once for the channel, once for the pattern
  assert.equal(end.result.count, 3);
  assert.equal(end.result.ended, 'server');
});

test('redis: a MONITOR WebSocket session shows commands as the server runs them', async () => {
  const s = await openSession('redis', 'monitor', { ...target });
  await s.next((m) => m.type === 'monitoring');
  const key = uniq('mon');
  await ok({ args: ['SET', key, 'watched value'] });
  const seen = await s.next((m) => m.type === 'command' && m.args[0] === 'SET' && m.args[1] === key);
  assert.deepEqual(seen.args, ['SET', key, 'watched value']);
  assert.equal(seen.db, 0);
  assert.match(seen.client, /^127\.0\.0\.1:\d+$/);
  assert.ok(Math.abs(seen.time * 1000 - Date.now()) < 60_000);
  s.send({ type: 'stop' });
  const end = await s.next((m) => m.type === 'end');
  assert.equal(end.result.ended, 'client');
  assert.ok(end.result.count >= 1);
});

test('redis: MONITOR over POST returns the commands of a time window', async () => {
  const key = uniq('monpost');
  const watching = redis({ durationMs: 1500 }, 'monitor');
  await new Promise((r) => setTimeout(r, 400));
  await ok({ args: ['SET', key, 'v'] });
  const r = await watching;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.result.commands.some((c: { args: string[] }) => c.args.join(' ') === `SET ${key} v`), JSON.stringify(r.body.result.commands));
});

test('redis: bad input is invalid_input naming the field', async () => {
  const b64bad = await redis({ args: ['SET', 'k', { base64: '***' }] });
  assert.equal(b64bad.status, 400);
  assert.equal(b64bad.body.error.code, 'invalid_input');
  assert.equal(b64bad.body.error.message, 'args.2: is not valid base64');
  const both = await redis({ args: ['PING'], line: 'PING' });
  assert.equal(both.body.error.message, 'args: give either args or line');
  const quote = await redis({ line: 'GET "open' });
  assert.equal(quote.body.error.message, 'line: unbalanced double quotes in the command line');
});

test('redis: client-side caching over POST: a tracked key read then changed comes back as an invalidate push', async () => {
  const key = uniq('cached');
  const r = await ok({ commands: [['SET', key, 'v1'], ['GET', key], ['SET', key, 'v2'], ['PING']], tracking: {}, durationMs: 200 }, 'console');
  assert.deepEqual(r.replies.map((x: { reply: { text?: string } }) => x.reply.text), ['OK', 'v1', 'OK', 'PONG']);
  const inval = r.pushes.filter((p: { kind: string }) => p.kind === 'invalidate');
  assert.deepEqual(inval.map((p: { keys: { text: string }[] }) => p.keys), [[{ text: key }]]);
  assert.equal(r.invalidations, 1);
  assert.equal(inval[0].reply.type, 'push');
  // NOLOOP: changes made by this connection are not reported back to it.
  const quiet = await ok({ commands: [['GET', key], ['SET', key, 'v3']], tracking: { noloop: true }, durationMs: 200 }, 'console');
  assert.equal(quiet.invalidations, 0);
  const bad = await redis({ tracking: { optin: true, optout: true } }, 'console');
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /tracking\.optin/);
});

test('redis: a RESP3 console session shows replies, invalidations caused by another client, and Pub/Sub pushes', async () => {
  const key = uniq('tracked');
  const prefix = uniq('bc');
  await ok({ args: ['SET', key, 'before'] });
  const s = await openSession('redis', 'console', { ...target, tracking: {}, commands: [['GET', key]] });
  assert.equal((await s.next((m) => m.type === 'ready')).protocol, 3);
  assert.deepEqual((await s.next((m) => m.type === 'reply' && m.id === 0)).reply, { type: 'bulk', text: 'before', length: 6 });
  // Another connection changes the key: the server pushes an invalidation into this session.
  await ok({ args: ['SET', key, 'after'] });
  assert.deepEqual((await s.next((m) => m.type === 'invalidate')).keys, [{ text: key }]);
  // Broadcasting mode for a prefix, switched on in the session itself: keys never read are reported too.
  s.send({ type: 'command', id: 'bcast', args: ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', prefix] });
  const bcast = await s.next((m) => m.type === 'reply' && m.id === 'bcast');
  assert.equal(bcast.reply.type, 'error', 'tracking is already on in the other mode');
  assert.match(bcast.reply.message, /before disabling tracking/);
  s.send({ type: 'command', id: 'off', line: 'CLIENT TRACKING OFF' });
  assert.equal((await s.next((m) => m.type === 'reply' && m.id === 'off')).reply.text, 'OK');
  s.send({ type: 'command', id: 'on', args: ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', prefix] });
  assert.equal((await s.next((m) => m.type === 'reply' && m.id === 'on')).reply.text, 'OK');
  await ok({ args: ['SET', `${prefix}:never-read`, 'x'] });
  assert.deepEqual((await s.next((m) => m.type === 'invalidate')).keys, [{ text: `${prefix}:never-read` }]);
  // A SUBSCRIBE in RESP3 answers with pushes on the same connection, between replies.
  const channel = uniq('console');
  s.send({ type: 'command', id: 'sub', args: ['SUBSCRIBE', channel] });
  const sub = await s.next((m) => m.type === 'push' && m.kind === 'subscribe');
  assert.deepEqual(sub.reply.items[1], { type: 'bulk', text: channel, length: Buffer.byteLength(channel) });
  await ok({ args: ['PUBLISH', channel, 'pushed'] });
  const msg = await s.next((m) => m.type === 'push' && m.kind === 'message');
  assert.deepEqual(msg.reply.items[2], { type: 'bulk', text: 'pushed', length: 6 });
  s.send({ type: 'command', id: 'bad', args: [] });
  assert.match((await s.next((m) => m.type === 'error' && m.id === 'bad')).error.message, /args/);
  s.send({ type: 'stop' });
  const end = await s.next((m) => m.type === 'end');
  assert.equal(end.result.ended, 'client');
  assert.equal(end.result.invalidations, 2);
});

test('redis: Streams consumer groups: XREADGROUP, XPENDING, XACK, XCLAIM, and the groups in the value view', async () => {
  const key = uniq('stream');
  const ids: string[] = [];
  for (const n of ['1', '2', '3']) ids.push((await ok({ args: ['XADD', key, '*', 'n', n] })).reply.text);
  assert.deepEqual((await ok({ args: ['XGROUP', 'CREATE', key, 'workers', '0'] })).reply, { type: 'simple', text: 'OK' });
  const read = (await ok({ args: ['XREADGROUP', 'GROUP', 'workers', 'alice', 'COUNT', '2', 'STREAMS', key, '>'], protocol: 3 })).reply;
  // RESP3: a map of stream name to its entries
  assert.equal(read.type, 'map');
  const entries = read.entries[0].value.items;
  assert.deepEqual(entries.map((e: { items: { text: string }[] }) => e.items[0].text), ids.slice(0, 2));
  assert.deepEqual(entries[0].items[1].items.map((x: { text: string }) => x.text), ['n', '1']);
  const summary = (await ok({ args: ['XPENDING', key, 'workers'] })).reply.items;
  assert.equal(summary[0].value, 2);
  assert.deepEqual([summary[1].text, summary[2].text], [ids[0], ids[1]]);
  assert.deepEqual(summary[3].items[0].items.map((x: { text: string }) => x.text), ['alice', '2']);
  assert.equal((await ok({ args: ['XACK', key, 'workers', ids[0]] })).reply.value, 1);
  const claimed = (await ok({ args: ['XCLAIM', key, 'workers', 'bob', '0', ids[1]] })).reply.items;
  assert.equal(claimed[0].items[0].text, ids[1]);
  const detail = (await ok({ args: ['XPENDING', key, 'workers', '-', '+', '10'] })).reply.items;
  assert.equal(detail.length, 1);
  assert.equal(detail[0].items[0].text, ids[1]);
  assert.equal(detail[0].items[1].text, 'bob');
  assert.equal(detail[0].items[3].value, 2, 'delivered twice: to alice, then claimed by bob');
  // The value view shows the group, its pending count and its consumers.
  const view = await ok({ key }, 'key');
  assert.equal(view.stream.length, 3);
  assert.equal(view.groups.length, 1);
  const g = view.groups[0];
  assert.deepEqual([g.name, g.pending, g.lastDeliveredId, g.entriesRead, g.lag], ['workers', 1, ids[1], 2, 1]);
  assert.deepEqual(g.consumers.map((c: { name: string; pending: number }) => [c.name, c.pending]).sort(), [['alice', 0], ['bob', 1]]);
  // The server's own words on a group that does not exist
  const nogroup = await redis({ args: ['XREADGROUP', 'GROUP', 'nobody', 'x', 'STREAMS', key, '>'] });
  assert.equal(nogroup.body.error.code, 'server_error');
  assert.match(nogroup.body.error.message, /^NOGROUP/);
});

test('redis: Lua EVAL and EVALSHA, and a FUNCTION library called with FCALL', async () => {
  const key = uniq('lua');
  const script = "redis.call('SET', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), tonumber(ARGV[2]) * 2}";
  const r = (await ok({ args: ['EVAL', script, '1', key, 'from lua', '21'] })).reply;
  assert.deepEqual(r.items, [{ type: 'bulk', text: 'from lua', length: 8 }, { type: 'integer', value: 42 }]);
  const sha = (await ok({ args: ['SCRIPT', 'LOAD', script] })).reply.text;
  assert.match(sha, /^[0-9a-f]{40}$/);
  assert.deepEqual((await ok({ args: ['EVALSHA', sha, '1', key, 'by sha', '5'] })).reply.items[1], { type: 'integer', value: 10 });
  const missing = await redis({ args: ['EVALSHA', '0'.repeat(40), '0'] });
  assert.match(missing.body.error.message, /^NOSCRIPT/);
  const failing = await redis({ args: ['EVAL', "return redis.call('INCR', KEYS[1])", '1', key] });
  assert.equal(failing.body.error.code, 'server_error');
  assert.match(failing.body.error.message, /not an integer/);
  // Functions (Redis 7): a library loaded, called with FCALL and FCALL_RO, listed by FUNCTION LIST.
  const lib = `portolan_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const code = `#!lua name=${lib}\nredis.register_function{function_name='${lib}_echo', callback=function(keys, args) return args[1] .. '!' end, flags={'no-writes'}}`;
  assert.equal((await ok({ args: ['FUNCTION', 'LOAD', code] })).reply.text, lib);
  assert.equal((await ok({ args: ['FCALL', `${lib}_echo`, '0', 'hello'] })).reply.text, 'hello!');
  assert.equal((await ok({ args: ['FCALL_RO', `${lib}_echo`, '0', 'ro'] })).reply.text, 'ro!');
  const list = (await ok({ args: ['FUNCTION', 'LIST', 'LIBRARYNAME', lib], protocol: 3 })).reply;
  const libEntry = list.items[0].entries;
  assert.equal(libEntry.find((e: { key: { text: string } }) => e.key.text === 'library_name').value.text, lib);
  assert.equal((await ok({ args: ['FUNCTION', 'DELETE', lib] })).reply.text, 'OK');
  const gone = await redis({ args: ['FCALL', `${lib}_echo`, '0', 'x'] });
  assert.match(gone.body.error.message, /Function not found/i);
});
