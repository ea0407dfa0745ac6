// diod 1.0.24 (lab area blocks, 9P2000.L) through workerd's API: version negotiation (and diod's refusal of the
// classic dialects), attach, stat, a listing, a 16 MiB file streamed byte-identical with a resume, writes inline
// and streamed read back, mkdir, remove, a missing path in the server's words.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { blockPattern, blocksFacts } from '../../../lab/servers/blocks.ts';
import { curlUpload, ensureTransferDir, MiB, streamDownload } from '../../../test/files.ts';
import { call, workerUrl } from '../../../test/harness.ts';

const F = blocksFacts.ninep;
const target = { host: '127.0.0.1', port: ports.blocks.ninep, aname: F.export, uname: F.uname, uid: F.uid };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

before(() => ensureLab(['blocks']));

test('9p version: auto agrees on 9P2000.L and attaches; diod refuses 9P2000 and 9P2000.u; a foreign tree or user is refused', async () => {
  const v = await call('9p', 'version', target);
  assert.equal(v.status, 200, JSON.stringify(v.body));
  assert.equal(v.body.result.dialect, '9P2000.L');
  assert.equal(v.body.result.msize, 65536);
  assert.equal(v.body.result.root.type, 0x80);
  for (const version of ['9P2000', '9P2000.u']) {
    const r = await call('9p', 'version', { ...target, version });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.dialect, null);
    assert.deepEqual(r.body.result.tried, [{ asked: version, answered: 'error: EIO: input/output error' }]);
  }
  const other = await call('9p', 'stat', { ...target, aname: '/etc' });
  assert.equal(other.body.error.code, 'server_error');
  assert.match(other.body.error.message, /^Tattach .*: EPERM/);
  const user = await call('9p', 'stat', { ...target, uname: 'nobody', uid: 65534 });
  assert.match(user.body.error.message, /^Tattach .*: EPERM/);
});

test('9p stat, list, read: a text file, the tree, a 16 MiB file streamed byte-identical and resumed, a missing path', async () => {
  const st = await call('9p', 'stat', { ...target, path: F.notice.path });
  assert.equal(st.status, 200, JSON.stringify(st.body));
  assert.deepEqual([st.body.result.type, st.body.result.size, st.body.result.mode], ['file', Buffer.byteLength(F.notice.text), '644']);
  const list = await call('9p', 'list', target);
  assert.deepEqual(list.body.result.entries.map((e: { name: string; type: string }) => `${e.name}:${e.type}`), ['charts:directory', 'notice.txt:file', 'scratch:directory']);
  const charts = await call('9p', 'list', { ...target, path: 'charts' });
  assert.deepEqual(charts.body.result.entries.map((e: { name: string; size: number }) => [e.name, e.size]), [['big.bin', F.big.size]]);
  const text = await call('9p', 'read', { ...target, path: F.notice.path });
  assert.equal(Buffer.from(text.body.result.base64, 'base64').toString(), F.notice.text);
  const big = blockPattern(F.big.size, F.big.seed);
  const down = await streamDownload(workerUrl('dev'), '9p', 'read', { ...target, path: F.big.path });
  assert.equal(down.status, 200, JSON.stringify(down.json));
  assert.equal(down.error, null);
  assert.equal(down.headers.get('content-length'), String(F.big.size));
  assert.equal(down.sha256, sha256(big));
  const half = 9 * MiB + 3;
  const rest = await streamDownload(workerUrl('dev'), '9p', 'read', { ...target, path: F.big.path }, { range: `bytes=${half}-` });
  assert.equal(rest.status, 206, JSON.stringify(rest.json));
  assert.equal(rest.sha256, sha256(big.subarray(half)));
  const missing = await call('9p', 'read', { ...target, path: 'charts/none.bin' });
  assert.equal(missing.body.error.code, 'server_error');
  assert.match(missing.body.error.message, /ENOENT: no such file or directory/);
  const up = await call('9p', 'read', { ...target, path: '../../etc/hostname' });
  assert.equal(up.body.error.code, 'server_error', 'diod keeps a walk inside the export');
});

test('9p write (inline, then a 5 MiB streamed upload), read back, mkdir, remove', async () => {
  const name = `scratch/w-${process.pid}.txt`;
  const w = await call('9p', 'write', { ...target, path: name, content: 'first words' });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.deepEqual([w.body.result.bytes, w.body.result.created, w.body.result.size], [11, true, 11]);
  assert.equal(readFileSync(join(F.export, name), 'utf8'), 'first words');
  const again = await call('9p', 'write', { ...target, path: name, content: 'new' });
  assert.deepEqual([again.body.result.created, again.body.result.size], [false, 3]);
  const file = join(ensureTransferDir(), `9p-upload-${process.pid}.bin`);
  const data = randomBytes(5 * MiB + 9);
  writeFileSync(file, data);
  try {
    const up = await curlUpload(workerUrl('dev'), '9p', 'write', { ...target, path: 'scratch/upload.bin' }, file);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.result.size, data.length);
  } finally {
    rmSync(file);
  }
  const back = await streamDownload(workerUrl('dev'), '9p', 'read', { ...target, path: 'scratch/upload.bin' });
  assert.equal(back.sha256, sha256(data));
  const dir = `scratch/d-${process.pid}`;
  const mk = await call('9p', 'mkdir', { ...target, path: dir });
  assert.equal(mk.status, 200, JSON.stringify(mk.body));
  const twice = await call('9p', 'mkdir', { ...target, path: dir });
  assert.match(twice.body.error.message, /EEXIST/);
  for (const path of [dir, name, 'scratch/upload.bin']) {
    const rm = await call('9p', 'remove', { ...target, path });
    assert.equal(rm.status, 200, JSON.stringify(rm.body));
  }
  const gone = await call('9p', 'stat', { ...target, path: name });
  assert.match(gone.body.error.message, /ENOENT/);
});
