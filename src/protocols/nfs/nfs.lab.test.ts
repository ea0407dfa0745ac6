// NFS against NFS-Ganesha 4.3 (lab area nfs) through workerd's API: exports, listings, attributes, downloads
// (256 MiB streamed byte-identical, Range resume), uploads (streamed and JSON, read back), the NFSv4.1 probe, and a
// secure export refused on workerd and read through the Node host from a privileged source port.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ensureLab, ports } from '../../../lab/index.ts';
import { nfsFacts as F } from '../../../lab/servers/nfs.ts';
import { bigFile, curlUpload, MiB, scratchName, sha256File, streamDownload } from '../../../test/files.ts';
import { call, workerUrl } from '../../../test/harness.ts';
import { callNode, useNodeHost } from '../../../test/node-host.ts';

const target = { host: '127.0.0.1', port: ports.nfs.nfs, mountPort: ports.nfs.mount };
const harbour = { ...target, export: F.harbour.export };
const transfers = { ...target, export: F.transfers.export };
const node = useNodeHost();

before(() => ensureLab(['nfs']));

async function ok(op: string, input: Record<string, unknown>) {
  const r = await call('nfs', op, input);
  assert.equal(r.status, 200, `nfs ${op}: ${JSON.stringify(r.body.error)}`);
  return r.body.result;
}

test('NFS exports: MOUNT EXPORT lists the three exports by their paths', async () => {
  const r = await ok('exports', target);
  const paths = r.exports.map((e: any) => e.path).sort();
  assert.deepEqual(paths, [F.harbour.export, F.transfers.export, F.vault.export].sort());
  assert.ok(r.exports.every((e: any) => Array.isArray(e.groups)));
});

test('NFS list: READDIRPLUS names, types, sizes and modes of the export root and a subdirectory', async () => {
  const r = await ok('list', harbour);
  const byName = Object.fromEntries(r.entries.map((e: any) => [e.name, e]));
  assert.deepEqual(Object.keys(byName).sort(), [F.harbour.link.name, F.harbour.incoming, F.harbour.notes.dir, F.harbour.readme.name].sort());
  assert.equal(byName[F.harbour.readme.name].type, 'file');
  assert.equal(byName[F.harbour.readme.name].size, F.harbour.readme.text.length);
  assert.equal(byName[F.harbour.readme.name].mode, '0644');
  assert.equal(byName[F.harbour.readme.name].uid, 0);
  assert.equal(byName[F.harbour.readme.name].fileid, String(statSync(join(F.harbour.path, F.harbour.readme.name)).ino));
  assert.ok(Math.abs(Date.parse(byName[F.harbour.readme.name].mtime) - statSync(join(F.harbour.path, F.harbour.readme.name)).mtimeMs) < 1000);
  assert.equal(byName[F.harbour.notes.dir].type, 'dir');
  assert.equal(byName[F.harbour.incoming].mode, '0777');
  assert.equal(byName[F.harbour.link.name].type, 'symlink');
  assert.equal(byName[F.harbour.link.name].size, F.harbour.link.target.length);
  const sub = await ok('list', { ...harbour, path: F.harbour.notes.dir });
  assert.deepEqual(sub.entries.map((e: any) => [e.name, e.size]), [[F.harbour.notes.name, F.harbour.notes.text.length]]);
});

test('NFS stat: GETATTR of a file and of the export root; `..` is sent as typed (notes/../readme.txt)', async () => {
  const s = await ok('stat', { ...harbour, path: `${F.harbour.notes.dir}/${F.harbour.notes.name}` });
  assert.equal(s.type, 'file');
  assert.equal(s.size, F.harbour.notes.text.length);
  assert.equal(s.name, F.harbour.notes.name);
  const rootDir = await ok('stat', harbour);
  assert.equal(rootDir.type, 'dir');
  const dotdot = await ok('stat', { ...harbour, path: `${F.harbour.notes.dir}/../${F.harbour.readme.name}` });
  assert.equal(dotdot.size, F.harbour.readme.text.length);
  assert.equal(dotdot.fileid, String(statSync(join(F.harbour.path, F.harbour.readme.name)).ino));
  const r = await call('nfs', 'stat', { ...harbour, path: 'notes/../notes/missing.txt' }, { transcript: true });
  const lookups = r.body.transcript.entries.map((e: any) => e.decode ?? '').filter((d: string) => /^LOOKUP .*: call xid/.test(d)).map((d: string) => d.split(':')[0]);
  assert.deepEqual(lookups, ['LOOKUP "notes"', 'LOOKUP ".."', 'LOOKUP "notes"', 'LOOKUP "missing.txt"']);
  assert.equal(r.body.error.detail.path, 'notes/../notes/missing.txt');
});

test('NFS errors: a missing path is NFS3ERR_NOENT naming it; a missing export is MNT3ERR_NOENT; no mountPort and no portmapper is refused, saying so', async () => {
  const missing = await call('nfs', 'download', { ...harbour, path: 'notes/no-such-chart.txt' });
  assert.equal(missing.status, 502);
  assert.equal(missing.body.error.code, 'server_error');
  assert.match(missing.body.error.message, /LOOKUP "notes\/no-such-chart\.txt": NFS3ERR_NOENT \(no such file or directory\)/);
  assert.equal(missing.body.error.detail.status, 'NFS3ERR_NOENT');
  const noExport = await call('nfs', 'list', { ...target, export: '/no-such-export' });
  assert.equal(noExport.body.error.code, 'server_error');
  assert.match(noExport.body.error.message, /MOUNT "\/no-such-export": MNT3ERR_/);
  const noMount = await call('nfs', 'list', { host: target.host, port: target.port, export: F.harbour.export });
  assert.equal(noMount.body.error.code, 'refused');
  assert.match(noMount.body.error.message, /mountPort was not given and the portmapper on port 111 did not answer/);
  const dir = await call('nfs', 'download', { ...harbour, path: F.harbour.notes.dir });
  assert.equal(dir.body.error.detail.status, 'NFS3ERR_ISDIR');
});

test('NFS download: a small file in JSON, and from an offset', async () => {
  const r = await ok('download', { ...harbour, path: F.harbour.readme.name });
  assert.equal(Buffer.from(r.contentBase64, 'base64').toString(), F.harbour.readme.text);
  assert.equal(r.size, F.harbour.readme.text.length);
  const tail = await ok('download', { ...harbour, path: F.harbour.readme.name, offset: 10 });
  assert.equal(Buffer.from(tail.contentBase64, 'base64').toString(), F.harbour.readme.text.slice(10));
});

test('NFS streamed: 256 MiB down byte-identical with its size announced, and a Range resume', async () => {
  const file = bigFile('nfs-256m.bin', 256 * MiB);
  const down = await streamDownload(workerUrl('dev'), 'nfs', 'download', { ...transfers, path: 'nfs-256m.bin' });
  assert.equal(down.status, 200, JSON.stringify(down.json));
  assert.equal(down.error, null);
  assert.equal(down.headers.get('content-length'), String(file.size));
  assert.equal(down.bytes, file.size);
  assert.equal(down.sha256, file.sha256);
  const half = 100 * MiB + 12345;
  const rest = await streamDownload(workerUrl('dev'), 'nfs', 'download', { ...transfers, path: 'nfs-256m.bin' }, { range: `bytes=${half}-` });
  assert.equal(rest.status, 206);
  assert.equal(rest.headers.get('content-range'), `bytes ${half}-${file.size - 1}/${file.size}`);
  assert.equal(rest.sha256, await sha256File(file.path, half));
});

test('NFS upload: 48 MiB streamed from multipart and a JSON upload, each read back byte for byte; GUARDED create refuses an existing file', async () => {
  const file = bigFile('nfs-48m.bin', 48 * MiB);
  const name = scratchName('nfs-up');
  const up = await curlUpload(workerUrl('dev'), 'nfs', 'upload', { ...transfers, path: name }, file.path);
  assert.equal(up.status, 200, JSON.stringify(up.body));
  assert.equal(up.body.result.bytes, file.size);
  assert.equal(up.body.result.sizeOnServer, file.size);
  assert.equal(await sha256File(join(F.transfers.path, name)), file.sha256);
  const back = await streamDownload(workerUrl('dev'), 'nfs', 'download', { ...transfers, path: name });
  assert.equal(back.sha256, file.sha256);
  rmSync(join(F.transfers.path, name));

  const path = `${F.harbour.incoming}/${scratchName('log')}.txt`;
  const text = 'Sighted the lighthouse at dawn.\n';
  const j = await ok('upload', { ...harbour, path, content: text });
  assert.equal(j.bytes, text.length);
  assert.equal(readFileSync(join(F.harbour.path, path), 'utf8'), text);
  const read = await ok('download', { ...harbour, path });
  assert.equal(Buffer.from(read.contentBase64, 'base64').toString(), text);
  const s = await ok('stat', { ...harbour, path });
  assert.deepEqual([s.uid, s.gid, s.mode], [65534, 65534, '0644']);
  const replaced = await ok('upload', { ...harbour, path, content: 'Fog.\n' });
  assert.equal(replaced.replaced, true);
  assert.equal(readFileSync(join(F.harbour.path, path), 'utf8'), 'Fog.\n');
  const again = await call('nfs', 'upload', { ...harbour, path, content: 'x', overwrite: false });
  assert.equal(again.body.error.detail.status, 'NFS3ERR_EXIST');
  const refused = await call('nfs', 'upload', { ...harbour, path: F.harbour.readme.name, content: 'x' });
  assert.match(refused.body.error.detail.status, /^NFS3ERR_(ACCES|PERM)$/);
  assert.equal(readFileSync(join(F.harbour.path, F.harbour.readme.name), 'utf8'), F.harbour.readme.text);
});

test('NFS probe: NULL of versions 2, 3, 4 and the NFSv4.1 EXCHANGE_ID server owner, scope and implementation', async () => {
  const r = await ok('probe', { host: target.host, port: target.port });
  assert.deepEqual(
    r.versions.map((v: any) => [v.version, v.answered]),
    [
      [2, false],
      [3, true],
      [4, true],
    ],
  );
  assert.match(r.versions[0].status, /^PROG_MISMATCH \(versions 3-4\)$/);
  assert.equal(r.exchangeIdStatus, 'NFS4_OK');
  const x = r.exchangeId;
  assert.match(x.clientId, /^[0-9a-f]{16}$/);
  assert.equal(x.stateProtection, 'SP4_NONE');
  // Ganesha names itself by the host's name: owner "<host>", scope "<host>_NFS-Ganesha" (sent with a NUL), no implementation id.
  assert.equal(x.serverOwner.majorId, hostname());
  assert.equal(x.serverOwner.minorId, '0');
  assert.equal(x.serverScope, `${hostname()}_NFS-Ganesha`);
  assert.equal(x.serverScopeHex, Buffer.from(`${hostname()}_NFS-Ganesha\0`).toString('hex'));
  assert.equal(x.implementation, null);
  assert.ok(x.flags.includes('USE_PNFS_MDS'), x.flags.join(' '));
  assert.equal(x.released, true);
});

test('NFS secure export: AUTH_TOOWEAK on workerd, privilegedPort there unsupported_runtime, read through the Node host from a privileged port', async () => {
  const vault = { ...target, export: F.vault.export };
  const refused = await call('nfs', 'download', { ...vault, path: F.vault.file.name });
  assert.equal(refused.status, 502);
  assert.equal(refused.body.error.code, 'auth_failed');
  assert.equal(refused.body.error.detail.auth, 'AUTH_TOOWEAK');
  assert.match(refused.body.error.message, /AUTH_TOOWEAK\): a secure export accepts only calls from a privileged source port \(below 1024\), which a Worker cannot use/);
  const asked = await call('nfs', 'download', { ...vault, path: F.vault.file.name, privilegedPort: true });
  assert.equal(asked.status, 501);
  assert.deepEqual(asked.body.error.detail.missing, ['privilegedPort']);
  const viaNode = await callNode(node, 'nfs', 'download', { ...vault, path: F.vault.file.name, privilegedPort: true });
  assert.equal(viaNode.status, 200, JSON.stringify(viaNode.body));
  assert.equal(Buffer.from(viaNode.body.result.contentBase64, 'base64').toString(), F.vault.file.text);
  const unprivileged = await callNode(node, 'nfs', 'download', { ...vault, path: F.vault.file.name });
  assert.equal(unprivileged.body.error.detail.auth, 'AUTH_TOOWEAK');
});
