// rsync daemon from the lab (an open and an authenticated module), through workerd's HTTP API.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { bigBytes, rsyncFacts as R } from '../../../lab/servers/news.ts';
import { bigFile, MiB, streamDownload } from '../../../test/files.ts';
import { md4 } from '../dcerpc/ntlmssp.ts';
import { call, workerUrl } from '../../../test/harness.ts';

const host = '127.0.0.1';
const port = ports.news.rsync;
const login = { username: R.private.user, password: R.private.password };
const hash = (algorithm: string, b: Uint8Array | string) => createHash(algorithm).update(b).digest('hex');

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
    { name: R.transfers.name, comment: R.transfers.comment },
  ]);
  const old = await ok('modules', { version: 27 });
  assert.equal(old.protocol, 27);
  assert.equal(old.modules.length, 3);
});

test('list: the open module, recursive and one level, matches the files the lab wrote', async () => {
  const r = await ok('list', { module: R.public.name, recursive: true });
  assert.equal(r.authenticated, false);
  assert.equal(r.ioError, 0);
  const files = r.entries.filter((e: any) => e.type === 'file');
  const expected = [...[...R.files, R.locked].map((f) => [f.path, Buffer.byteLength(f.text)]), [R.big.path, R.big.size]].sort();
  assert.deepEqual(files.map((e: any) => [e.name, e.size]).sort(), expected);
  assert.deepEqual(r.entries.filter((e: any) => e.type === 'dir').map((e: any) => e.name).sort(), ['.', 'charts', 'logs']);
  for (const e of files) {
    assert.equal(e.mode, e.name === R.locked.path ? '0600' : '0644', e.name);
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

test('download: small files as JSON, bytes and SHA-256 checked, the MD5 the daemon sent verified, the session ended as rsync ends it', async () => {
  const f = R.files[0];
  const r = await ok('download', { module: R.public.name, path: f.path });
  assert.equal(Buffer.from(r.contentBase64, 'base64').toString(), f.text);
  assert.deepEqual([r.bytes, r.size, r.truncated, r.mode, r.protocol], [Buffer.byteLength(f.text), Buffer.byteLength(f.text), false, '0644', 31]);
  assert.equal(r.sha256, hash('sha256', f.text));
  assert.deepEqual(r.checksum, { algorithm: 'MD5', value: hash('md5', f.text) });
  assert.equal(r.sender.totalSize, Buffer.byteLength(f.text));
  assert.ok(Math.abs(Date.parse(r.mtime) - Date.now()) < 7 * 86_400_000, r.mtime);
  // 300 KiB: many literal-data tokens across multiplexed frames.
  const big = await ok('download', { module: R.public.name, path: R.big.path });
  assert.equal(big.bytes, R.big.size);
  assert.equal(big.sha256, hash('sha256', bigBytes()));
  assert.equal(big.checksum.value, hash('md5', bigBytes()));
  // The JSON cap: the rest is read (and checked) but not returned.
  const capped = await ok('download', { module: R.public.name, path: R.big.path, maxBytes: 1000 });
  assert.deepEqual([capped.bytes, capped.truncated, Buffer.from(capped.contentBase64, 'base64').length], [R.big.size, true, 1000]);
  assert.equal(capped.sha256, hash('sha256', bigBytes().subarray(0, 1000)));
  // The session ended as rsync's own: the sender's statistics read, the goodbye exchanged, no message from the daemon.
  // MD4 when it is the one offered (negotiated, no seed).
  const withMd4 = await ok('download', { module: R.public.name, path: R.big.path, checksum: 'md4' });
  assert.deepEqual(withMd4.checksum, { algorithm: 'MD4', value: Buffer.from(md4(bigBytes())).toString('hex') });
  assert.equal(withMd4.sha256, hash('sha256', bigBytes()));
  // Protocol 30: no second goodbye exchange.
  const v30 = await ok('download', { module: R.public.name, path: R.big.path, version: 30 });
  assert.deepEqual([v30.protocol, v30.bytes, v30.sha256], [30, R.big.size, hash('sha256', bigBytes())]);
  for (const x of [r, big, capped, withMd4, v30]) assert.deepEqual(x.messages, []);
  assert.equal(big.sender.totalSize, R.big.size);
  assert.ok(big.sender.bytesWritten > R.big.size, `the sender wrote ${big.sender.bytesWritten} bytes`);
});

test('download: 64 MiB streamed byte-identical with its size, time and mode, no resume offered', async () => {
  const file = bigFile('rsync-64m.bin', 64 * MiB);
  const t0 = Date.now();
  const down = await streamDownload(workerUrl('dev'), 'rsync', 'download', { host, port, module: R.transfers.name, path: 'rsync-64m.bin' });
  const ms = Date.now() - t0;
  assert.equal(down.status, 200, JSON.stringify(down.json));
  assert.equal(down.error, null);
  assert.equal(down.headers.get('content-length'), String(file.size));
  assert.match(down.headers.get('content-disposition') ?? '', /filename="rsync-64m.bin"/);
  assert.equal(down.headers.get('x-portolan-mode'), '0644');
  assert.ok(down.headers.get('x-portolan-modified'));
  assert.equal(down.headers.get('accept-ranges'), null, 'no resume');
  assert.equal(down.sha256, file.sha256);
  console.log(`rsync download: 64 MiB streamed in ${ms} ms (${((64 * 1000) / ms).toFixed(1)} MiB/s)`);
});

test('download: the authenticated module with the right password, refused with a wrong one', async () => {
  const f = R.files[2];
  const r = await ok('download', { module: R.private.name, path: f.path, ...login });
  assert.equal(r.authenticated, true);
  assert.equal(Buffer.from(r.contentBase64, 'base64').toString(), f.text);
  assert.equal(r.checksum.value, hash('md5', f.text));
  const wrong = await fails('download', { module: R.private.name, path: f.path, username: R.private.user, password: 'wrong' });
  assert.equal(wrong.code, 'auth_failed');
  assert.match(wrong.message, /@ERROR: auth failed on module ledgers/);
});

test('download: a missing file and an unreadable one in the daemon words, a directory and a symlink refused, protocol 29 refused', async () => {
  const missing = await fails('download', { module: R.public.name, path: 'charts/none.bin' });
  assert.equal(missing.code, 'server_error');
  assert.match(missing.message, /link_stat ".*charts\/none.bin" \(in archive\) failed: No such file or directory/);
  const streamed = await streamDownload(workerUrl('dev'), 'rsync', 'download', { host, port, module: R.public.name, path: 'charts/none.bin' });
  assert.equal(streamed.status, 502, JSON.stringify(streamed.json));
  assert.equal(streamed.json.error.code, 'server_error');
  // Listed but unreadable for the daemon's user: the sender's error and MSG_NO_SEND, then the session ends as rsync ends it.
  const locked = await fails('download', { module: R.public.name, path: R.locked.path });
  assert.equal(locked.code, 'server_error');
  assert.match(locked.message, /the daemon did not send locked.bin: .*failed to open ".*charts\/locked.bin" \(in archive\): Permission denied/);
  const dir = await fails('download', { module: R.public.name, path: 'logs' });
  assert.equal(dir.code, 'invalid_input');
  assert.match(dir.message, /logs is a directory: only a regular file can be downloaded/);
  const slash = await fails('download', { module: R.public.name, path: 'logs/' });
  assert.equal(slash.code, 'invalid_input');
  const link = await fails('download', { module: R.public.name, path: R.link.path });
  assert.equal(link.code, 'invalid_input');
  assert.match(link.message, new RegExp(`latest.log is a symlink \\(to ${R.link.target}\\)`));
  const old = await fails('download', { module: R.public.name, path: R.files[0].path, version: 29 });
  assert.equal(old.code, 'protocol_error');
  assert.match(old.message, /downloading needs protocol 30 or later; the session speaks 29/);
});
