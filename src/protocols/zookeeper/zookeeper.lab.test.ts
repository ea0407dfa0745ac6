// ZooKeeper against Debian's zookeeperd 3.8 in the lab (standalone, every four-letter word allowed), through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call, openSession } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const target = { host: '127.0.0.1', port: ports['services-jvm'].zookeeper };
const upstream = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'zookeeper'], { encoding: 'utf8' }).replace(/-.*$/, '');
const base = `/portolan-${process.pid}-${Date.now()}`;

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('zookeeper', op, { ...target, ...input });
  assert.equal(r.status, 200, `${op}: ${JSON.stringify(r.body)}`);
  return r.body.result;
}

async function fails(op: string, input: Record<string, unknown>) {
  const r = await call('zookeeper', op, { ...target, ...input });
  assert.notEqual(r.status, 200, JSON.stringify(r.body));
  return r.body.error;
}

test('zookeeper four-letter words: ruok, srvr, mntr, conf, envi parsed', async () => {
  assert.equal((await ok('stat', { word: 'ruok' })).text, 'imok');
  const srvr = await ok('stat', { word: 'srvr' });
  assert.equal(srvr.fields.Mode, 'standalone');
  assert.match(srvr.fields['Zookeeper version'], new RegExp(`^${upstream.replace(/\./g, '\\.')}`));
  const mntr = await ok('stat', { word: 'mntr' });
  assert.equal(mntr.fields.zk_server_state, 'standalone');
  assert.equal(typeof mntr.fields.zk_znode_count, 'number');
  const conf = await ok('stat', { word: 'conf' });
  assert.equal(conf.fields.clientPort, String(target.port));
  assert.equal((await ok('stat', { word: 'envi' })).fields['zookeeper.version'].startsWith(upstream), true);
});

test('zookeeper connect: a session id and the negotiated timeout', async () => {
  const r = await ok('connect', { sessionTimeoutMs: 6000 });
  assert.match(r.sessionId, /^0x[0-9a-f]+$/);
  assert.equal(r.timeoutMs, 6000);
  assert.equal(r.readOnly, false);
  // The server bounds the timeout by its maxSessionTimeout (60 s in the lab).
  assert.equal((await ok('connect', { sessionTimeoutMs: 120_000 })).timeoutMs, 60_000);
});

test('zookeeper znodes: create, get with Stat and ACL, children, set with version, delete', async () => {
  const made = await ok('create', { path: base, data: 'root data' });
  assert.equal(made.path, base);
  assert.equal(made.stat.version, 0);
  assert.equal(made.stat.ephemeralOwner, null);
  await ok('create', { path: `${base}/b`, dataBase64: Buffer.from([0, 255, 1]).toString('base64') });
  await ok('create', { path: `${base}/a`, data: 'ä' });
  const got = await ok('get', { path: base });
  assert.deepEqual([got.data.text, got.stat.dataLength, got.stat.numChildren], ['root data', 9, 2]);
  assert.deepEqual(got.acl, [{ perms: 'rwcda', scheme: 'world', id: 'anyone' }]);
  assert.deepEqual((await ok('get', { path: `${base}/b` })).data, { base64: 'AP8B' });
  assert.deepEqual((await ok('children', { path: base })).children, ['a', 'b']);

  const set = await ok('set', { path: base, data: 'v1', version: 0 });
  assert.equal(set.stat.version, 1);
  const stale = await fails('set', { path: base, data: 'v2', version: 0 });
  assert.equal(stale.code, 'server_error');
  assert.match(stale.message, /BADVERSION/);
  assert.equal((await ok('get', { path: base })).data.text, 'v1');

  assert.match((await fails('create', { path: base })).message, /NODEEXISTS/);
  assert.match((await fails('delete', { path: base })).message, /NOTEMPTY/);
  assert.match((await fails('get', { path: `${base}/none` })).message, /NONODE/);
  await ok('delete', { path: `${base}/a`, version: 0 });
  assert.deepEqual(await ok('exists', { path: `${base}/a` }), { path: `${base}/a`, exists: false, stat: null });
  assert.equal((await ok('exists', { path: `${base}/b` })).exists, true);
});

test('zookeeper create modes: sequential names count up; an ephemeral node is gone with its session', async () => {
  await ok('create', { path: `${base}-seq` });
  const one = await ok('create', { path: `${base}-seq/job-`, mode: 'sequential' });
  const two = await ok('create', { path: `${base}-seq/job-`, mode: 'sequential' });
  assert.match(one.path, /\/job-\d{10}$/);
  assert.equal(Number(two.path.slice(-10)), Number(one.path.slice(-10)) + 1);
  const eph = await ok('create', { path: `${base}-eph`, mode: 'ephemeral' });
  assert.equal(eph.stat.ephemeralOwner, eph.sessionId);
  // The operation closed its session: ZooKeeper removed the node with it.
  assert.equal((await ok('exists', { path: `${base}-eph` })).exists, false);
});

test('zookeeper auth: digest creator ACL; a stranger and a wrong password get NOAUTH; an unknown scheme is AUTHFAILED', async () => {
  const alice = { scheme: 'digest', credentials: 'alice:s3cret' };
  await ok('create', { path: `${base}-private`, data: 'for alice', acl: 'creator', auth: alice });
  assert.equal((await ok('get', { path: `${base}-private`, auth: alice })).data.text, 'for alice');
  const acl = (await ok('get', { path: `${base}-private`, auth: alice })).acl;
  assert.equal(acl[0].scheme, 'digest');
  assert.match(acl[0].id, /^alice:/);
  for (const auth of [undefined, { scheme: 'digest', credentials: 'alice:wrong' }]) {
    const e = await fails('get', { path: `${base}-private`, ...(auth ? { auth } : {}) });
    assert.equal(e.code, 'auth_failed');
    assert.match(e.message, /NOAUTH/);
  }
  const bad = await fails('connect', { auth: { scheme: 'no-such-scheme', credentials: 'x' } });
  assert.equal(bad.code, 'auth_failed');
  assert.match(bad.message, /AUTHFAILED/);
});

test('zookeeper watch session: data, children and creation events as another client changes the tree', async () => {
  await ok('create', { path: `${base}-w`, data: 'start' });
  const s = await openSession('zookeeper', 'watch', { ...target, watches: [{ path: `${base}-w`, on: 'data' }, { path: `${base}-w`, on: 'children' }] });
  try {
    const first = await s.next((m) => m.type === 'watching' && m.on === 'data');
    assert.equal(first.data.text, 'start');
    await s.next((m) => m.type === 'watching' && m.on === 'children');
    s.send({ type: 'watch', path: `${base}-w-later`, on: 'exists' });
    assert.equal((await s.next((m) => m.type === 'watching' && m.on === 'exists')).exists, false);

    await ok('set', { path: `${base}-w`, data: 'changed' });
    assert.deepEqual(await s.next((m) => m.type === 'event' && m.event === 'NodeDataChanged'), { type: 'event', event: 'NodeDataChanged', state: 'SyncConnected', path: `${base}-w` });
    assert.equal((await s.next((m) => m.type === 'watching' && m.on === 'data')).data.text, 'changed', 're-armed with the new data');
    await ok('create', { path: `${base}-w/child` });
    await s.next((m) => m.type === 'event' && m.event === 'NodeChildrenChanged');
    assert.deepEqual((await s.next((m) => m.type === 'watching' && m.on === 'children')).children, ['child']);
    await ok('create', { path: `${base}-w-later` });
    assert.equal((await s.next((m) => m.type === 'event' && m.event === 'NodeCreated')).path, `${base}-w-later`);
    s.send({ type: 'stop' });
    await s.done;
  } finally {
    s.close();
  }
});
