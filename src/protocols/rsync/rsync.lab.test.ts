// rsync daemon from the lab (an open and an authenticated module), through workerd's HTTP API.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { rsyncFacts as R } from '../../../lab/servers/news.ts';
import { call } from '../../../test/harness.ts';

const host = '127.0.0.1';
const port = ports.news.rsync;
const login = { username: R.private.user, password: R.private.password };

before(() => ensureLab(['news']));

async function ok(op: string, input: Record<string, unknown>) {
  const { status, body } = await call('rsync', op, { host, port, ...input });
  assert.equal(status, 200, `rsync ${op}: ${JSON.stringify(body.error)}`);
  return body.result;
}

async function fails(op: string, input: Record<string, unknown>) {
  const { status, body } = await call('rsync', op, { host, port, ...input });
  assert.notEqual(status, 200, `rsync ${op} should fail`);
  return body.error;
}

test('modules: greeting, version, motd and the module list with comments', async () => {
  const r = await ok('modules', {});
  assert.equal(r.serverProtocol, 32);
  assert.equal(r.protocol, 31);
  assert.deepEqual(r.authDigests, ['sha512', 'sha256', 'sha1', 'md5', 'md4']);
  assert.deepEqual(r.motd, [R.motd]);
  assert.deepEqual(r.modules, [
    { name: R.public.name, comment: R.public.comment },
    { name: R.private.name, comment: R.private.comment },
  ]);
  const old = await ok('modules', { version: 27 });
  assert.equal(old.protocol, 27);
  assert.equal(old.modules.length, 2);
});

test('list: the open module, recursive and one level, matches the files the lab wrote', async () => {
  const r = await ok('list', { module: R.public.name, recursive: true });
  assert.equal(r.authenticated, false);
  assert.equal(r.ioError, 0);
  const files = r.entries.filter((e: any) => e.type === 'file');
  const expected = [...R.files.map((f) => [f.path, Buffer.byteLength(f.text)]), [R.big.path, R.big.size]].sort();
  assert.deepEqual(files.map((e: any) => [e.name, e.size]).sort(), expected);
  assert.deepEqual(r.entries.filter((e: any) => e.type === 'dir').map((e: any) => e.name).sort(), ['.', 'charts', 'logs']);
  for (const e of files) {
    assert.equal(e.mode, '0644', e.name);
    assert.ok(Math.abs(Date.parse(e.mtime) - Date.now()) < 7 * 86_400_000, `${e.name} mtime ${e.mtime}`);
  }
  const link = r.entries.find((e: any) => e.name === R.link.path);
  assert.deepEqual([link.type, link.target], ['symlink', R.link.target]);
  const one = await ok('list', { module: R.public.name, path: 'logs/' });
  assert.deepEqual(one.entries.map((e: any) => e.name).sort(), ['.', '2024-01.log', '2024-02.log']);
  const missing = await fails('list', { module: R.public.name, path: 'no/such/dir/' });
  assert.equal(missing.code, 'server_error');
  assert.match(missing.message, /change_dir .*no\/such\/dir.* failed: No such file or directory/);
});

test('list: the authenticated module with SHA-1, MD5 and MD4 challenges (protocol 31) and the MD4 of protocol 29; refusals in the daemon words', async () => {
  for (const [authDigest, expected] of [
    ['auto', 'sha1'],
    ['sha1', 'sha1'],
    ['md5', 'md5'],
    ['md4', 'md4'],
  ] as const) {
    const r = await ok('list', { module: R.private.name, authDigest, ...login });
    assert.equal(r.authenticated, true);
    assert.equal(r.authDigest, expected, authDigest);
    assert.ok(r.entries.some((e: any) => e.name === 'readme.txt' && e.size === Buffer.byteLength(R.files[0].text)), authDigest);
  }
  // Protocol 29: no digest list in the greetings, the daemon takes MD4; the login passes, the listing needs 30.
  const old = await fails('list', { module: R.private.name, version: 29, ...login });
  assert.equal(old.code, 'protocol_error');
  assert.match(old.message, /listing needs protocol 30 or later; the session speaks 29/);
  const oldWrong = await fails('list', { module: R.private.name, version: 29, username: R.private.user, password: 'wrong' });
  assert.equal(oldWrong.code, 'auth_failed');

  const wrong = await fails('list', { module: R.private.name, username: R.private.user, password: 'wrong' });
  assert.equal(wrong.code, 'auth_failed');
  assert.match(wrong.message, /@ERROR: auth failed on module ledgers/);
  const none = await fails('list', { module: R.private.name });
  assert.equal(none.code, 'auth_failed');
  const unknown = await fails('list', { module: 'nosuch' });
  assert.equal(unknown.code, 'server_error');
  assert.match(unknown.message, /@ERROR: Unknown module 'nosuch'/);
});
