// beanstalkd against Debian's beanstalkd in the lab, through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';

const target = { host: '127.0.0.1', port: ports['messaging-queues'].beanstalkd };
const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'beanstalkd'], { encoding: 'utf8' }).replace(/-.*$/, '');
const uniq = (name: string) => `${name}-${process.pid}-${Math.floor(Math.random() * 1e9)}`;

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('beanstalkd', op, { ...target, ...input });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('beanstalkd: stats name the server version; tubes list their counts', async () => {
  const stats = (await ok('stats', {})).stats;
  assert.equal(stats.version, version);
  assert.equal(typeof stats['current-connections'], 'number');
  const tube = uniq('t');
  await ok('put', { tube, body: 'a' });
  await ok('put', { tube, body: 'b', delaySeconds: 300 });
  const row = (await ok('tubes', {})).tubes.find((t: { name: string }) => t.name === tube);
  assert.deepEqual({ ready: row.ready, delayed: row.delayed, total: row.total }, { ready: 1, delayed: 1, total: 2 });
  const st = (await ok('statsTube', { tube })).stats;
  assert.equal(st.name, tube);
  assert.equal(st['current-jobs-ready'], 1);
});

test('beanstalkd: put with priority, reserve in priority order, binary bodies kept, delete', async () => {
  const tube = uniq('prio');
  const low = await ok('put', { tube, body: 'low', priority: 2000 });
  const high = await ok('put', { tube, body: { hex: '00ff0d0a' }, priority: 1, ttrSeconds: 30 });
  const r = await ok('reserve', { tubes: [tube], then: 'delete' });
  assert.equal(r.job.id, high.ids[0]);
  assert.deepEqual(r.job.body, { base64: 'AP8NCg==' });
  assert.deepEqual({ state: r.job.stats.state, pri: r.job.stats.pri, ttr: r.job.stats.ttr, tube: r.job.stats.tube }, { state: 'reserved', pri: 1, ttr: 30, tube });
  assert.equal(r.done, 'deleted');
  const next = await ok('reserve', { tubes: [tube], then: 'delete' });
  assert.equal(next.job.id, low.ids[0]);
  assert.deepEqual(next.job.body, { text: 'low' });
  const none = await ok('reserve', { tubes: [tube], waitSeconds: 1 });
  assert.deepEqual(none, { job: null, done: null, timedOut: true });
});

test('beanstalkd: release with a delay, bury, peek buried, kick, kick-job, peek by id, delete', async () => {
  const tube = uniq('life');
  const [id] = (await ok('put', { tube, body: 'work item', priority: 7 })).ids;
  const released = await ok('reserve', { tubes: [tube], then: 'release', delaySeconds: 300 });
  assert.equal(released.done, 'released');
  const delayed = await ok('peek', { tube, which: 'delayed' });
  assert.equal(delayed.job.id, id);
  assert.equal(delayed.job.stats.state, 'delayed');
  assert.equal(delayed.job.stats.releases, 1);
  assert.equal((await ok('kick', { id })).kicked, 1, 'kick-job makes a delayed job ready');
  const buried = await ok('reserve', { tubes: [tube], then: 'bury' });
  assert.equal(buried.done, 'buried');
  const peek = await ok('peek', { tube, which: 'buried' });
  assert.deepEqual({ id: peek.job.id, state: peek.job.stats.state, pri: peek.job.stats.pri, buries: peek.job.stats.buries }, { id, state: 'buried', pri: 7, buries: 1 });
  assert.equal((await ok('kick', { tube, bound: 10 })).kicked, 1);
  assert.equal((await ok('peek', { which: 'id', id })).job.stats.state, 'ready');
  assert.deepEqual(await ok('delete', { id }), { id, deleted: true });
  assert.deepEqual(await ok('delete', { id }), { id, deleted: false });
  assert.deepEqual(await ok('peek', { which: 'id', id }), { job: null });
});

test('beanstalkd: reserve-job by id and a paused tube', async () => {
  const tube = uniq('byid');
  const [a, b] = (await ok('put', { tube, body: 'x', count: 2 })).ids;
  const r = await ok('reserve', { id: b, then: 'delete' });
  assert.equal(r.job.id, b);
  await ok('pauseTube', { tube, seconds: 60 });
  assert.equal((await ok('reserve', { tubes: [tube], waitSeconds: 1 })).timedOut, true, 'a paused tube gives no job');
  await ok('pauseTube', { tube, seconds: 0 });
  assert.equal((await ok('reserve', { tubes: [tube], then: 'delete' })).job.id, a);
});

test('beanstalkd: bad input is 400 naming the field; server refusals are in its words', async () => {
  const bad = await call('beanstalkd', 'put', { ...target, tube: '-bad', body: 'x' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^tube: must not start with "-"/);
  const missing = await call('beanstalkd', 'statsTube', { ...target, tube: uniq('nosuch') });
  assert.equal(missing.status, 502);
  assert.equal(missing.body.error.code, 'server_error');
  assert.match(missing.body.error.message, /NOT_FOUND/);
  const big = await call('beanstalkd', 'put', { ...target, body: 'x'.repeat(70_000) });
  assert.equal(big.status, 502);
  assert.match(big.body.error.message, /JOB_TOO_BIG/);
});
