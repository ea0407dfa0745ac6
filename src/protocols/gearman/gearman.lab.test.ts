// Gearman against Debian's gearmand with gearman-tools workers in the lab, through the HTTP API of workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call } from '../../../test/harness.ts';
import { ports } from '../../../lab/index.ts';
import { queueFacts } from '../../../lab/servers/messaging-queues.ts';

const target = { host: '127.0.0.1', port: ports['messaging-queues'].gearman };
const g = queueFacts.gearman;
const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', 'gearman-job-server'], { encoding: 'utf8' }).replace(/-.*$/, '');

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('gearman', op, { ...target, ...input });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.result;
}

test('gearman: version, pid and ECHO; status lists the lab workers\' functions', async () => {
  const v = await ok('version', {});
  assert.equal(v.version, version);
  assert.equal(typeof v.pid, 'number');
  const status = await ok('status', {});
  for (const fn of [g.reverse, g.slow]) {
    const row = status.functions.find((f: { name: string }) => f.name === fn);
    assert.ok(row && row.workers >= 1, `${fn} has a worker: ${JSON.stringify(status)}`);
  }
  const workers = (await ok('workers', {})).workers;
  assert.ok(workers.some((w: { functions: string[] }) => w.functions.includes(g.reverse)));
});

test('gearman: foreground jobs at every priority come back with the worker\'s result, bytes kept', async () => {
  for (const priority of ['normal', 'high', 'low']) {
    const r = await ok('submit', { function: g.reverse, data: `abc ${priority}\n`, priority });
    assert.equal(r.end, 'complete');
    assert.deepEqual(r.result, { text: `${[...`abc ${priority}`].reverse().join('')}\n` });
    assert.match(r.handle, /^H:/);
  }
  // `cat` returns the workload unchanged: NUL and 0xFF survive both ways.
  const bin = await ok('submit', { function: g.slow, data: { hex: '00ff41' }, timeoutMs: 20_000 });
  assert.deepEqual(bin.result, { base64: 'AP9B' });
});

test('gearman: a background job is queued, seen running by handle and by unique id, then unknown once done', async () => {
  const unique = `lab-${process.pid}-${Date.now()}`;
  const bg = await ok('submit', { function: g.slow, data: 'later', background: true, unique });
  assert.equal(bg.background, true);
  assert.equal(bg.end, null);
  await new Promise((r) => setTimeout(r, 500));
  const running = await ok('jobStatus', { handle: bg.handle });
  assert.deepEqual({ known: running.known, running: running.running }, { known: true, running: true });
  const byUnique = await ok('jobStatus', { unique });
  assert.equal(byUnique.known, true);
  assert.equal(byUnique.handle, unique);
  await new Promise((r) => setTimeout(r, g.slowSeconds * 1000 + 500));
  const done = await ok('jobStatus', { handle: bg.handle });
  assert.deepEqual({ known: done.known, running: done.running }, { known: false, running: false });
});

test('gearman: a job for a function nobody serves waits until the deadline; bad names are 400', async () => {
  const r = await call('gearman', 'submit', { ...target, function: `nobody-${process.pid}`, data: 'x', timeoutMs: 800 });
  assert.equal(r.status, 504);
  assert.equal(r.body.error.code, 'io_timeout');
  const bad = await call('gearman', 'submit', { ...target, function: 'two words' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /^function: has whitespace/);
  const both = await call('gearman', 'jobStatus', { ...target });
  assert.equal(both.status, 400);
  assert.match(both.body.error.message, /^handle: give either handle or unique/);
});
