// etcd v3 over gRPC (h2c, the project's HTTP/2 and gRPC client) against Debian's etcd 3.4: an instance without
// auth and one with auth enabled, through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call, openSession } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';
import { ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-a.ts';

const p = ports['services-a'];
const target = { host: '127.0.0.1', port: p.etcd };
const secured = { host: '127.0.0.1', port: p.etcdAuth };
const f = servicesFacts.etcd;
const upstream = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'etcd-server'], { encoding: 'utf8' }).replace(/-.*$/, '');
const base = `/portolan-${process.pid}-${Date.now()}/`;
const node = useNodeHost();

async function ok(op: string, input: Record<string, unknown>, to: Record<string, unknown> = target) {
  const r = await call('etcd', op, { ...to, ...input });
  assert.equal(r.status, 200, `${op}: ${JSON.stringify(r.body)}`);
  return r.body.result;
}

test('etcd status and members: the version, this member the leader, its URLs', async () => {
  const s = await ok('status', {});
  assert.equal(s.version, upstream);
  assert.equal(s.isLeader, true);
  assert.ok(s.dbSize > 0);
  const m = await ok('members', {});
  assert.equal(m.members.length, 1);
  assert.deepEqual([m.members[0].name, m.members[0].clientUrls, m.members[0].peerUrls], ['lab', [`http://127.0.0.1:${p.etcd}`, `https://127.0.0.1:${p.etcdTls}`], [`http://127.0.0.1:${p.etcdPeer}`]]);
  assert.equal(m.members[0].id, s.leader);
});

test('etcd put and get: one key, prefix, range, an older revision, keys only, counts, sorted and limited', async () => {
  const first = await ok('put', { key: `${base}a`, value: 'one' });
  assert.equal(first.prevKv, null);
  const second = await ok('put', { key: `${base}a`, value: 'two ⚓' });
  assert.equal(second.prevKv.value.text, 'one');
  await ok('put', { key: `${base}b`, valueBase64: Buffer.from([0, 255]).toString('base64') });
  await ok('put', { key: `${base}c`, value: 'three' });
  const a = await ok('get', { key: `${base}a` });
  assert.deepEqual([a.kvs[0].value.text, a.kvs[0].version, a.count], ['two ⚓', 2, 1]);
  assert.equal((await ok('get', { key: `${base}a`, revision: first.header.revision })).kvs[0].value.text, 'one');
  const all = await ok('get', { key: base, prefix: true });
  assert.deepEqual(all.kvs.map((kv: { key: { text: string } }) => kv.key.text), [`${base}a`, `${base}b`, `${base}c`]);
  assert.deepEqual(all.kvs[1].value, { base64: 'AP8=' });
  const range = await ok('get', { key: `${base}a`, rangeEnd: `${base}c` });
  assert.equal(range.kvs.length, 2);
  const keys = await ok('get', { key: base, prefix: true, keysOnly: true });
  assert.equal(keys.kvs[0].value, undefined);
  const count = await ok('get', { key: base, prefix: true, countOnly: true });
  assert.deepEqual([count.count, count.kvs.length], [3, 0]);
  const limited = await ok('get', { key: base, prefix: true, limit: 2, sort: 'key', order: 'descend' });
  assert.deepEqual([limited.kvs.map((kv: { key: { text: string } }) => kv.key.text), limited.more, limited.count], [[`${base}c`, `${base}b`], true, 3]);
});

test('etcd delete: one key, then the rest by prefix, with their last values', async () => {
  await ok('put', { key: `${base}del/x`, value: '1' });
  await ok('put', { key: `${base}del/y`, value: '2' });
  const one = await ok('delete', { key: `${base}del/x` });
  assert.deepEqual([one.deleted, one.prevKvs[0].value.text], [1, '1']);
  const rest = await ok('delete', { key: `${base}del/`, prefix: true });
  assert.equal(rest.deleted, 1);
  assert.equal((await ok('get', { key: `${base}del/`, prefix: true, countOnly: true })).count, 0);
});

test('etcd leases: grant, attach a key, keep alive, time to live with keys, revoke takes the key', async () => {
  const g = await ok('lease', { action: 'grant', ttl: 60 });
  assert.match(g.id, /^[0-9a-f]+$/);
  assert.equal(g.ttl, 60);
  await ok('put', { key: `${base}leased`, value: 'temporary', lease: g.id });
  assert.equal((await ok('get', { key: `${base}leased` })).kvs[0].lease, g.id);
  const k = await ok('lease', { action: 'keepAlive', id: g.id });
  assert.equal(k.ttl, 60);
  const t = await ok('lease', { action: 'timeToLive', id: g.id });
  assert.equal(t.grantedTtl, 60);
  assert.ok(t.ttl > 0 && t.ttl <= 60);
  assert.deepEqual(t.keys, [{ text: `${base}leased` }]);
  await ok('lease', { action: 'revoke', id: g.id });
  assert.equal((await ok('get', { key: `${base}leased`, countOnly: true })).count, 0);
  const gone = await call('etcd', 'lease', { ...target, action: 'revoke', id: g.id });
  assert.equal(gone.body.error.code, 'server_error');
  assert.match(gone.body.error.message, /requested lease not found/);
});

test('etcd watch: a session sees puts and deletes made by another client; a POST replays from a revision', async () => {
  const s = await openSession('etcd', 'watch', { ...target, key: `${base}w/`, prefix: true, prevKv: true });
  try {
    await s.next((m) => m.type === 'created');
    const put = await ok('put', { key: `${base}w/k`, value: 'v1' });
    const ev = await s.next((m) => m.type === 'event');
    assert.deepEqual([ev.event, ev.kv.key.text, ev.kv.value.text, ev.revision], ['PUT', `${base}w/k`, 'v1', put.header.revision]);
    await ok('delete', { key: `${base}w/k` });
    const del = await s.next((m) => m.type === 'event');
    assert.deepEqual([del.event, del.prevKv.value.text], ['DELETE', 'v1']);
    s.send({ type: 'stop' });
    await s.done;
  } finally {
    s.close();
  }
  const replay = await ok('watch', { key: `${base}a`, startRevision: 1, durationMs: 500 });
  assert.deepEqual(replay.events.map((e: { kv: { value: { text: string } } }) => e.kv.value.text), ['one', 'two ⚓']);
  assert.equal(replay.ended, 'duration');
});

test('etcd auth: a user reads its prefix; a wrong password and a missing token are auth_failed in etcd\'s words', async () => {
  const user = { username: f.user, password: f.userPassword };
  assert.equal((await ok('get', { key: `${f.userPrefix}hello`, ...user }, secured)).kvs[0].value.text, 'from the lab');
  await ok('put', { key: `${f.userPrefix}mine`, value: 'ok', ...user }, secured);
  const wrong = await call('etcd', 'get', { ...secured, key: `${f.userPrefix}hello`, username: f.user, password: 'wrong' });
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.match(wrong.body.error.message, /authentication failed, invalid user ID or password/);
  const anonymous = await call('etcd', 'get', { ...secured, key: `${f.userPrefix}hello` });
  assert.equal(anonymous.body.error.code, 'auth_failed');
  assert.match(anonymous.body.error.message, /user name is empty/);
  const outside = await call('etcd', 'put', { ...secured, key: '/elsewhere', value: 'x', ...user });
  assert.equal(outside.body.error.code, 'auth_failed');
  assert.match(outside.body.error.message, /permission denied/);
});

test('etcd over TLS (h2 by ALPN) on the Node host, and on workerd through the Portolan TLS engine; the TLS of the runtime answers 501 for lack of ALPN', async () => {
  const tls = { host: 'localhost', port: p.etcdTls, tls: 'implicit' };
  const s = await callNode(node, 'etcd', 'status', tls);
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.equal(s.body.result.version, upstream);
  const put = await callNode(node, 'etcd', 'put', { ...tls, key: `${base}tls`, value: 'over TLS' });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.equal((await ok('get', { key: `${base}tls` })).kvs[0].value.text, 'over TLS', 'the same store over h2c');
  // On Workers, Portolan's own TLS engine offers ALPN h2; the runtime's TLS cannot, and says so.
  const workers = await call('etcd', 'status', tls);
  assert.equal(workers.status, 200, JSON.stringify(workers.body));
  assert.equal(workers.body.result.version, upstream);
  const runtime = await call('etcd', 'status', { ...tls, tlsEngine: 'runtime' });
  assert.equal(runtime.status, 501, JSON.stringify(runtime.body));
  assert.deepEqual(runtime.body.error.detail.missing, ['alpn']);
});
