// svn:// against Debian's svnserve 1.14 and the lab's repository (three revisions, an authz-protected directory), through workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { call } from '../../../test/harness.ts';
import { labDir, ports } from '../../../lab/index.ts';
import { servicesFacts } from '../../../lab/servers/services-a.ts';

const f = servicesFacts.svn;
const target = { host: '127.0.0.1', port: ports['services-a'].svn, repo: f.repo };
const alice = { username: f.user, password: f.password };
const fileUrl = `file://${labDir}/svn/repos${f.repo}`;
const svnXml = (...args: string[]) => execFileSync('svn', ['--non-interactive', ...args, '--xml'], { encoding: 'utf8' });
const uuid = execFileSync('svnlook', ['uuid', `${labDir}/svn/repos${f.repo}`], { encoding: 'utf8' }).trim();

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('svn', op, { ...target, ...input });
  assert.equal(r.status, 200, `${op}: ${JSON.stringify(r.body)}`);
  return r.body.result;
}

test('svn info: anonymous read, the repository UUID and root, the latest revision', async () => {
  const r = await ok('info', {});
  assert.deepEqual([r.uuid, r.root, r.latestRevision, r.mechanism], [uuid, `svn://127.0.0.1:${target.port}${f.repo}`, 3, 'ANONYMOUS']);
  assert.ok(r.mechanisms.includes('CRAM-MD5'));
  assert.ok(r.serverCapabilities.includes('edit-pipeline'));
  const cram = await ok('info', alice);
  assert.equal(cram.mechanism, 'CRAM-MD5');
});

test('svn CRAM-MD5: a wrong password is refused in svnserve\'s words; authz keeps anonymous users out of a path', async () => {
  const wrong = await call('svn', 'info', { ...target, username: f.user, password: 'nope' });
  assert.equal(wrong.body.error.code, 'auth_failed');
  assert.match(wrong.body.error.message, /Password incorrect/);
  const anon = await call('svn', 'list', { ...target, path: f.privatePath });
  assert.equal(anon.body.error.code, 'auth_failed');
  const mine = await ok('list', { path: f.privatePath, ...alice });
  assert.deepEqual(mine.entries.map((e: { name: string }) => e.name), ['note.txt']);
});

test('svn stat and list: kinds, sizes, revisions and authors as svn list has them', async () => {
  const readme = await ok('stat', { path: 'README' });
  assert.deepEqual([readme.exists, readme.entry.kind, readme.entry.size, readme.entry.createdRev, readme.entry.lastAuthor], [true, 'file', 'Portolan lab Subversion repository, revised\n'.length, 2, f.user]);
  assert.equal((await ok('stat', { path: 'README', revision: 1 })).entry.createdRev, 1);
  assert.equal((await ok('stat', { path: 'src' })).entry.kind, 'dir');
  assert.deepEqual(await ok('stat', { path: 'nothing-here' }), { path: 'nothing-here', exists: false, entry: null });
  const root = await ok('list', {});
  assert.equal(root.revision, 3);
  const xml = svnXml('list', fileUrl);
  const names = [...xml.matchAll(/<name>([^<]+)<\/name>/g)].map((m) => m[1]).sort();
  // authz hides the private directory from anonymous users; alice sees what svn itself lists.
  assert.deepEqual(root.entries.map((e: { name: string }) => e.name), names.filter((n) => n !== f.privatePath));
  assert.deepEqual((await ok('list', alice)).entries.map((e: { name: string }) => e.name), names);
  const guide = (await ok('list', { path: 'docs' })).entries[0];
  assert.deepEqual([guide.name, guide.size, guide.kind], ['guide.txt', 'A guide.\n'.length * 50, 'file']);
  assert.match(guide.createdDate, /^\d{4}-\d\d-\d\dT/);
});

test('svn log: revisions newest first with messages, authors, dates and changed paths', async () => {
  const r = await ok('log', alice);
  assert.deepEqual(r.entries.map((e: { revision: number }) => e.revision), [3, 2, 1]);
  assert.deepEqual(r.entries.map((e: { message: string }) => e.message), [...f.messages].reverse());
  assert.ok(r.entries.every((e: { author: string }) => e.author === f.user));
  const dates = [...svnXml('log', fileUrl).matchAll(/<date>([^<]+)<\/date>/g)].map((m) => m[1]);
  assert.deepEqual(r.entries.map((e: { date: string }) => e.date), dates);
  assert.deepEqual(r.entries[1].changed, [{ path: '/README', action: 'M', copyFrom: null, copyFromRevision: null, kind: 'file' }]);
  assert.ok(r.entries[2].changed.some((c: { path: string; action: string }) => c.path === '/src/hello.c' && c.action === 'A'));
  // Anonymous users get revision 3 (it only touched the private directory) without its message.
  const anonymous = await ok('log', {});
  assert.deepEqual([anonymous.entries[0].revision, anonymous.entries[0].message, anonymous.entries[1].message], [3, null, f.messages[1]]);
  const limited = await ok('log', { paths: ['README'], limit: 1 });
  assert.deepEqual(limited.entries.map((e: { revision: number }) => e.revision), [2]);
  const range = await ok('log', { start: 1, end: 2 });
  assert.deepEqual(range.entries.map((e: { revision: number }) => e.revision), [1, 2]);
  const missing = await call('svn', 'log', { ...target, paths: ['no-such-path'] });
  assert.equal(missing.body.error.code, 'server_error');
});

test('svn: a repository that does not exist is the server\'s error', async () => {
  const r = await call('svn', 'info', { ...target, repo: '/nope' });
  assert.equal(r.body.error.code, 'server_error');
  assert.match(r.body.error.message, /No repository found|does not exist/);
});
